//! [`Backend`] over REST: each method is one route of the server.

use super::Remote;
use crate::*;
use incus_api::{Error, Result};

fn todo(what: &str) -> Error {
    Error::unsupported(format!("{what} is not available remotely yet"))
}

impl Backend for Remote {
    fn server(&self) -> Result<Server> {
        Err(todo("server"))
    }

    fn server_config_get(&self, _key: &str) -> Result<String> {
        Err(todo("server_config_get"))
    }

    fn server_config_set_keys(&self, _pairs: &Config) -> Result<()> {
        Err(todo("server_config_set_keys"))
    }

    fn server_config_unset(&self, _key: &str) -> Result<()> {
        Err(todo("server_config_unset"))
    }

    fn server_config_replace(&self, _config: &Config) -> Result<()> {
        Err(todo("server_config_replace"))
    }

    fn admin_init_minimal(&self) -> Result<()> {
        Err(todo("admin_init_minimal"))
    }

    fn admin_init_preseed(&self, _yaml: &str) -> Result<()> {
        Err(todo("admin_init_preseed"))
    }

    fn event_last_id(&self) -> Result<i64> {
        Err(todo("event_last_id"))
    }

    fn events_since(&self, _after: i64) -> Result<Vec<(i64, serde_json::Value)>> {
        Err(todo("events_since"))
    }

    fn instances(&self, _full: bool) -> Result<Vec<Instance>> {
        Err(todo("instances"))
    }

    fn instance(&self, _name: &str) -> Result<Instance> {
        Err(todo("instance"))
    }

    fn instance_create(&self, _opts: CreateOptions) -> Result<Instance> {
        Err(todo("instance_create"))
    }

    fn instance_update(&self, _name: &str, _put: InstancePut) -> Result<Instance> {
        Err(todo("instance_update"))
    }

    fn instance_set(&self, _name: &str, _pairs: &Config) -> Result<Instance> {
        Err(todo("instance_set"))
    }

    fn instance_unset(&self, _name: &str, _key: &str) -> Result<Instance> {
        Err(todo("instance_unset"))
    }

    fn instance_device_add(&self, _name: &str, _dev: &str, _config: Config) -> Result<Instance> {
        Err(todo("instance_device_add"))
    }

    fn instance_device_remove(&self, _name: &str, _devs: &[String]) -> Result<Instance> {
        Err(todo("instance_device_remove"))
    }

    fn instance_device_set(&self, _name: &str, _dev: &str, _pairs: &Config) -> Result<Instance> {
        Err(todo("instance_device_set"))
    }

    fn instance_device_override(
        &self,
        _name: &str,
        _dev: &str,
        _pairs: &Config,
    ) -> Result<Instance> {
        Err(todo("instance_device_override"))
    }

    fn instance_rename(&self, _name: &str, _new_name: &str) -> Result<()> {
        Err(todo("instance_rename"))
    }

    fn instance_delete(&self, _name: &str) -> Result<()> {
        Err(todo("instance_delete"))
    }

    fn instance_start(&self, _name: &str) -> Result<()> {
        Err(todo("instance_start"))
    }

    fn instance_stop(&self, _name: &str, _timeout: Duration, _force: bool) -> Result<()> {
        Err(todo("instance_stop"))
    }

    fn instance_restart(&self, _name: &str, _timeout: Duration, _force: bool) -> Result<()> {
        Err(todo("instance_restart"))
    }

    fn instance_freeze(&self, _name: &str) -> Result<()> {
        Err(todo("instance_freeze"))
    }

    fn instance_unfreeze(&self, _name: &str) -> Result<()> {
        Err(todo("instance_unfreeze"))
    }

    fn instance_state(&self, _name: &str) -> Result<InstanceState> {
        Err(todo("instance_state"))
    }

    fn instance_exec(&self, _name: &str, _spec: &ExecSpec) -> Result<i32> {
        Err(todo("instance_exec"))
    }

    fn instance_console_log(&self, _name: &str) -> Result<Vec<u8>> {
        Err(todo("instance_console_log"))
    }

    fn instance_console_attach(&self, _name: &str) -> Result<()> {
        Err(todo("instance_console_attach"))
    }

    fn images(&self) -> Result<Vec<Image>> {
        Err(todo("images"))
    }

    fn image(&self, _name: &str) -> Result<Image> {
        Err(todo("image"))
    }

    fn image_import(
        &self,
        _src: &ImageSource,
        _opts: &ImportOptions,
        _progress: Option<&dyn Fn(u64, u64)>,
    ) -> Result<Image> {
        Err(todo("image_import"))
    }

    fn image_delete(&self, _name: &str) -> Result<()> {
        Err(todo("image_delete"))
    }

    fn image_export(&self, _name: &str, _target: &Path) -> Result<Vec<PathBuf>> {
        Err(todo("image_export"))
    }

    fn image_update(&self, _name: &str, _put: ImagePut) -> Result<Image> {
        Err(todo("image_update"))
    }

    fn image_aliases(&self) -> Result<Vec<ImageAliasesEntry>> {
        Err(todo("image_aliases"))
    }

    fn image_alias_create(&self, _name: &str, _target: &str, _description: &str) -> Result<()> {
        Err(todo("image_alias_create"))
    }

    fn image_alias_delete(&self, _name: &str) -> Result<()> {
        Err(todo("image_alias_delete"))
    }

    fn image_alias_rename(&self, _name: &str, _new_name: &str) -> Result<()> {
        Err(todo("image_alias_rename"))
    }

    fn pools(&self) -> Result<Vec<StoragePool>> {
        Err(todo("pools"))
    }

    fn pool(&self, _name: &str) -> Result<StoragePool> {
        Err(todo("pool"))
    }

    fn pool_create(
        &self,
        _name: &str,
        _driver: &str,
        _config: Config,
        _description: &str,
    ) -> Result<StoragePool> {
        Err(todo("pool_create"))
    }

    fn pool_update(&self, _name: &str, _config: Config, _description: &str) -> Result<StoragePool> {
        Err(todo("pool_update"))
    }

    fn pool_set_keys(&self, _name: &str, _pairs: &Config) -> Result<StoragePool> {
        Err(todo("pool_set_keys"))
    }

    fn pool_delete(&self, _name: &str) -> Result<()> {
        Err(todo("pool_delete"))
    }

    fn pool_resources(&self, _name: &str) -> Result<StoragePoolResources> {
        Err(todo("pool_resources"))
    }

    fn volumes(&self, _pool: &str) -> Result<Vec<StorageVolume>> {
        Err(todo("volumes"))
    }

    fn profiles(&self) -> Result<Vec<Profile>> {
        Err(todo("profiles"))
    }

    fn profile(&self, _name: &str) -> Result<Profile> {
        Err(todo("profile"))
    }

    fn profile_create(&self, _name: &str, _put: ProfilePut) -> Result<Profile> {
        Err(todo("profile_create"))
    }

    fn profile_update(&self, _name: &str, _put: ProfilePut) -> Result<Profile> {
        Err(todo("profile_update"))
    }

    fn profile_set_keys(&self, _name: &str, _pairs: &Config) -> Result<Profile> {
        Err(todo("profile_set_keys"))
    }

    fn profile_unset(&self, _name: &str, _key: &str) -> Result<Profile> {
        Err(todo("profile_unset"))
    }

    fn profile_rename(&self, _name: &str, _new_name: &str) -> Result<()> {
        Err(todo("profile_rename"))
    }

    fn profile_delete(&self, _name: &str) -> Result<()> {
        Err(todo("profile_delete"))
    }

    fn profile_copy(&self, _name: &str, _target: &str) -> Result<Profile> {
        Err(todo("profile_copy"))
    }

    fn profile_device_add(&self, _name: &str, _dev: &str, _config: Config) -> Result<Profile> {
        Err(todo("profile_device_add"))
    }

    fn profile_device_remove(&self, _name: &str, _devs: &[String]) -> Result<Profile> {
        Err(todo("profile_device_remove"))
    }

    fn profile_device_set(&self, _name: &str, _dev: &str, _pairs: Config) -> Result<Profile> {
        Err(todo("profile_device_set"))
    }

    fn snapshots(&self, _instance: &str) -> Result<Vec<InstanceSnapshot>> {
        Err(todo("snapshots"))
    }

    fn snapshot(&self, _instance: &str, _name: &str) -> Result<InstanceSnapshot> {
        Err(todo("snapshot"))
    }

    fn snapshot_create(
        &self,
        _instance: &str,
        _opts: SnapshotCreateOptions,
    ) -> Result<InstanceSnapshot> {
        Err(todo("snapshot_create"))
    }

    fn snapshot_delete(&self, _instance: &str, _names: &[String]) -> Result<()> {
        Err(todo("snapshot_delete"))
    }

    fn snapshot_rename(&self, _instance: &str, _name: &str, _new_name: &str) -> Result<()> {
        Err(todo("snapshot_rename"))
    }

    fn snapshot_restore(&self, _instance: &str, _name: &str, _stateful: bool) -> Result<()> {
        Err(todo("snapshot_restore"))
    }

    fn snapshot_auto(&self, _now: DateTime<Utc>) -> Result<AutoReport> {
        Err(todo("snapshot_auto"))
    }

    fn instance_copy(&self, _opts: CopyOptions) -> Result<Instance> {
        Err(todo("instance_copy"))
    }

    fn instance_move(&self, _name: &str, _new_name: &str, _pool: Option<&str>) -> Result<()> {
        Err(todo("instance_move"))
    }

    fn volume(&self, _pool: &str, _vtype: &str, _name: &str) -> Result<StorageVolume> {
        Err(todo("volume"))
    }

    fn volume_create(
        &self,
        _pool: &str,
        _name: &str,
        _config: Config,
        _description: &str,
    ) -> Result<StorageVolume> {
        Err(todo("volume_create"))
    }

    fn volume_update(
        &self,
        _pool: &str,
        _name: &str,
        _put: StorageVolumePut,
    ) -> Result<StorageVolume> {
        Err(todo("volume_update"))
    }

    fn volume_set_keys(&self, _pool: &str, _name: &str, _pairs: &Config) -> Result<StorageVolume> {
        Err(todo("volume_set_keys"))
    }

    fn volume_delete(&self, _pool: &str, _name: &str) -> Result<()> {
        Err(todo("volume_delete"))
    }

    fn volume_rename(&self, _pool: &str, _name: &str, _new_name: &str) -> Result<()> {
        Err(todo("volume_rename"))
    }

    fn volume_copy(
        &self,
        _src_pool: &str,
        _src: &str,
        _dst_pool: &str,
        _dst: &str,
    ) -> Result<StorageVolume> {
        Err(todo("volume_copy"))
    }

    fn volume_move(
        &self,
        _src_pool: &str,
        _src: &str,
        _dst_pool: &str,
        _dst: &str,
    ) -> Result<StorageVolume> {
        Err(todo("volume_move"))
    }

    fn volume_attach(
        &self,
        _pool: &str,
        _vol: &str,
        _target: &str,
        _profile: bool,
        _device: Option<&str>,
        _path: &str,
    ) -> Result<()> {
        Err(todo("volume_attach"))
    }

    fn volume_detach(
        &self,
        _pool: &str,
        _vol: &str,
        _target: &str,
        _profile: bool,
        _device: Option<&str>,
    ) -> Result<()> {
        Err(todo("volume_detach"))
    }

    fn volume_state(&self, _pool: &str, _name: &str) -> Result<StorageVolumeState> {
        Err(todo("volume_state"))
    }

    fn volume_snapshots(&self, _pool: &str, _vol: &str) -> Result<Vec<StorageVolumeSnapshot>> {
        Err(todo("volume_snapshots"))
    }

    fn volume_snapshot_create(
        &self,
        _pool: &str,
        _vol: &str,
        _snap: Option<&str>,
    ) -> Result<StorageVolumeSnapshot> {
        Err(todo("volume_snapshot_create"))
    }

    fn volume_snapshot_delete(&self, _pool: &str, _vol: &str, _snap: &str) -> Result<()> {
        Err(todo("volume_snapshot_delete"))
    }

    fn volume_snapshot_rename(
        &self,
        _pool: &str,
        _vol: &str,
        _snap: &str,
        _new: &str,
    ) -> Result<()> {
        Err(todo("volume_snapshot_rename"))
    }

    fn volume_snapshot_restore(&self, _pool: &str, _vol: &str, _snap: &str) -> Result<()> {
        Err(todo("volume_snapshot_restore"))
    }

    fn instance_file_get(
        &self,
        _name: &str,
        _path: &str,
        _out: &mut dyn Write,
    ) -> Result<FileInfo> {
        Err(todo("instance_file_get"))
    }

    fn instance_file_put(
        &self,
        _name: &str,
        _path: &str,
        _put: &FilePut,
        _input: &mut dyn Read,
    ) -> Result<()> {
        Err(todo("instance_file_put"))
    }

    fn instance_file_delete(&self, _name: &str, _path: &str, _recursive: bool) -> Result<()> {
        Err(todo("instance_file_delete"))
    }

    fn admin_boot(&self, _force: bool) -> Result<BootReport> {
        Err(todo("admin_boot"))
    }

    fn networks(&self) -> Result<Vec<Network>> {
        Err(todo("networks"))
    }

    fn network(&self, _name: &str) -> Result<Network> {
        Err(todo("network"))
    }

    fn network_create(
        &self,
        _name: &str,
        _network_type: &str,
        _config: Config,
        _description: &str,
    ) -> Result<Network> {
        Err(todo("network_create"))
    }

    fn network_update(&self, _name: &str, _put: NetworkPut) -> Result<Network> {
        Err(todo("network_update"))
    }

    fn network_set_keys(&self, _name: &str, _pairs: &Config) -> Result<Network> {
        Err(todo("network_set_keys"))
    }

    fn network_rename(&self, _name: &str, _new_name: &str) -> Result<()> {
        Err(todo("network_rename"))
    }

    fn network_delete(&self, _name: &str) -> Result<()> {
        Err(todo("network_delete"))
    }

    fn network_state(&self, _name: &str) -> Result<NetworkState> {
        Err(todo("network_state"))
    }

    fn network_leases(&self, _name: &str) -> Result<Vec<NetworkLease>> {
        Err(todo("network_leases"))
    }

    fn admin_init_network(&self) -> Result<()> {
        Err(todo("admin_init_network"))
    }

    fn certificates(&self) -> Result<Vec<Certificate>> {
        Err(todo("certificates"))
    }

    fn certificate(&self, _fingerprint: &str) -> Result<Certificate> {
        Err(todo("certificate"))
    }

    fn certificate_add(&self, _cert: &[u8], _opts: &TrustOptions) -> Result<Certificate> {
        Err(todo("certificate_add"))
    }

    fn certificate_update(&self, _fingerprint: &str, _opts: &TrustOptions) -> Result<Certificate> {
        Err(todo("certificate_update"))
    }

    fn certificate_remove(&self, _fingerprint: &str) -> Result<()> {
        Err(todo("certificate_remove"))
    }

    fn trust_token_create(
        &self,
        _client_name: &str,
        _opts: &TrustOptions,
    ) -> Result<(String, JoinToken)> {
        Err(todo("trust_token_create"))
    }

    fn trust_tokens(&self) -> Result<Vec<(String, JoinToken)>> {
        Err(todo("trust_tokens"))
    }

    fn trust_token_revoke(&self, _name: &str) -> Result<()> {
        Err(todo("trust_token_revoke"))
    }
}
