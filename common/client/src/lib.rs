//! What the tools talk to. [`Backend`] has the operations as upstream's REST API has
//! them; [`Local`] calls `incus_core` directly in-process (no daemon);
//! [`remote::Remote`] speaks REST to an `incus-serve` over its unix socket or HTTPS.
//! No business rule lives here, only the mapping.

use incus_api::{
    Certificate, Config, Image, ImageAliasesEntry, ImagePut, Instance, InstancePut,
    InstanceSnapshot, InstanceState, Network, NetworkLease, NetworkPut, NetworkState, Profile,
    ProfilePut, Result, Server, StoragePool, StoragePoolResources, StorageVolume,
};
use incus_api::{StorageVolumePut, StorageVolumeSnapshot, StorageVolumeState};
use incus_core::storage::volume;
use incus_core::Context;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod config;
pub mod enrol;
pub mod project;
pub mod target;

pub use incus_runtime::ExecSpec;
pub use target::{connect_args, connect_remote, connect_with};

pub mod remote;

/// Simplestreams image servers (`images:`), for the tools that list and copy from them.
pub use incus_simplestreams as simplestreams;
/// Temporary directories for downloads made by the tools.
pub use tempfile::TempDir;

pub use chrono::{DateTime, Utc};
pub use incus_core::backup_archive::{
    ExportOptions as BackupExportOptions, ImportOptions as BackupImportOptions,
};
pub use incus_core::boot::BootReport;
pub use incus_core::copy::CopyOptions;
pub use incus_core::files::{FileInfo, FileKind, FilePut};
pub use incus_core::filter::Filter;
pub use incus_core::image::ImportOptions;
pub use incus_core::instance::CreateOptions;
pub use incus_core::publish::PublishOptions;
pub use incus_core::snapshot::{timer, AutoReport, CreateOptions as SnapshotCreateOptions};
pub use incus_core::trust::{AddOptions as TrustOptions, JoinToken};
pub use incus_imagefmt::ImageSource;

/// The operations every front end needs, local or remote.
pub trait Backend {
    // Server
    fn server(&self) -> Result<Server>;
    fn server_config_get(&self, key: &str) -> Result<String>;
    /// Sets keys in one change; an empty value unsets.
    fn server_config_set_keys(&self, pairs: &Config) -> Result<()>;
    fn server_config_unset(&self, key: &str) -> Result<()>;
    fn server_config_replace(&self, config: &Config) -> Result<()>;
    fn admin_init_minimal(&self) -> Result<()>;
    fn admin_init_preseed(&self, yaml: &str) -> Result<()>;
    /// The id of the newest stored event.
    fn event_last_id(&self) -> Result<i64>;
    /// Events newer than `after` (id, REST event object), oldest first.
    fn events_since(&self, after: i64) -> Result<Vec<(i64, serde_json::Value)>>;
    /// Where the database, the disk and the runtime disagree (local state only).
    fn admin_check(&self) -> Result<Vec<incus_core::check::Problem>> {
        Err(incus_api::Error::unsupported(
            "check runs on the host that holds the state",
        ))
    }

    // Instances
    fn instances(&self, full: bool) -> Result<Vec<Instance>>;
    fn instance(&self, name: &str) -> Result<Instance>;
    fn instance_create(&self, opts: CreateOptions) -> Result<Instance>;
    /// Creates and starts (`launch`): one call, so that a remote does it in one request.
    fn instance_launch(&self, opts: CreateOptions) -> Result<Instance>;
    fn instance_update(&self, name: &str, put: InstancePut) -> Result<Instance>;
    fn instance_set(&self, name: &str, pairs: &Config) -> Result<Instance>;
    fn instance_unset(&self, name: &str, key: &str) -> Result<Instance>;
    fn instance_device_add(&self, name: &str, dev: &str, config: Config) -> Result<Instance>;
    fn instance_device_remove(&self, name: &str, devs: &[String]) -> Result<Instance>;
    fn instance_device_set(&self, name: &str, dev: &str, pairs: &Config) -> Result<Instance>;
    fn instance_device_override(&self, name: &str, dev: &str, pairs: &Config) -> Result<Instance>;
    fn instance_rename(&self, name: &str, new_name: &str) -> Result<()>;
    fn instance_delete(&self, name: &str) -> Result<()>;
    fn instance_start(&self, name: &str) -> Result<()>;
    fn instance_stop(&self, name: &str, timeout: Duration, force: bool) -> Result<()>;
    fn instance_restart(&self, name: &str, timeout: Duration, force: bool) -> Result<()>;
    fn instance_freeze(&self, name: &str) -> Result<()>;
    fn instance_unfreeze(&self, name: &str) -> Result<()>;
    fn instance_state(&self, name: &str) -> Result<InstanceState>;
    /// Runs a command; stdio of this process is the command's (local backend).
    fn instance_exec(&self, name: &str, spec: &ExecSpec) -> Result<i32>;
    fn instance_console_log(&self, name: &str) -> Result<Vec<u8>>;
    fn instance_console_attach(&self, name: &str) -> Result<()>;

    // Images
    fn images(&self) -> Result<Vec<Image>>;
    fn image(&self, name: &str) -> Result<Image>;
    fn image_import(
        &self,
        src: &ImageSource,
        opts: &ImportOptions,
        progress: Option<&dyn Fn(u64, u64)>,
    ) -> Result<Image>;
    fn image_delete(&self, name: &str) -> Result<()>;
    fn image_export(&self, name: &str, target: &Path) -> Result<Vec<PathBuf>>;
    fn image_update(&self, name: &str, put: ImagePut) -> Result<Image>;
    fn image_aliases(&self) -> Result<Vec<ImageAliasesEntry>>;
    fn image_alias_create(&self, name: &str, target: &str, description: &str) -> Result<()>;
    fn image_alias_delete(&self, name: &str) -> Result<()>;
    fn image_alias_rename(&self, name: &str, new_name: &str) -> Result<()>;

    // Storage
    fn pools(&self) -> Result<Vec<StoragePool>>;
    fn pool(&self, name: &str) -> Result<StoragePool>;
    fn pool_create(
        &self,
        name: &str,
        driver: &str,
        config: Config,
        description: &str,
    ) -> Result<StoragePool>;
    fn pool_update(&self, name: &str, config: Config, description: &str) -> Result<StoragePool>;
    fn pool_set_keys(&self, name: &str, pairs: &Config) -> Result<StoragePool>;
    fn pool_delete(&self, name: &str) -> Result<()>;
    fn pool_resources(&self, name: &str) -> Result<StoragePoolResources>;
    fn volumes(&self, pool: &str) -> Result<Vec<StorageVolume>>;

    // Profiles
    fn profiles(&self) -> Result<Vec<Profile>>;
    fn profile(&self, name: &str) -> Result<Profile>;
    fn profile_create(&self, name: &str, put: ProfilePut) -> Result<Profile>;
    fn profile_update(&self, name: &str, put: ProfilePut) -> Result<Profile>;
    /// Sets keys in one change; an empty value unsets.
    fn profile_set_keys(&self, name: &str, pairs: &Config) -> Result<Profile>;
    fn profile_unset(&self, name: &str, key: &str) -> Result<Profile>;
    fn profile_rename(&self, name: &str, new_name: &str) -> Result<()>;
    fn profile_delete(&self, name: &str) -> Result<()>;
    fn profile_copy(&self, name: &str, target: &str) -> Result<Profile>;
    fn profile_device_add(&self, name: &str, dev: &str, config: Config) -> Result<Profile>;
    fn profile_device_remove(&self, name: &str, devs: &[String]) -> Result<Profile>;
    fn profile_device_set(&self, name: &str, dev: &str, pairs: Config) -> Result<Profile>;

    // --- snapshot ---
    fn snapshots(&self, instance: &str) -> Result<Vec<InstanceSnapshot>>;
    fn snapshot(&self, instance: &str, name: &str) -> Result<InstanceSnapshot>;
    fn snapshot_create(
        &self,
        instance: &str,
        opts: SnapshotCreateOptions,
    ) -> Result<InstanceSnapshot>;
    /// Deletes several; all must exist or none is deleted.
    fn snapshot_delete(&self, instance: &str, names: &[String]) -> Result<()>;
    fn snapshot_rename(&self, instance: &str, name: &str, new_name: &str) -> Result<()>;
    fn snapshot_restore(&self, instance: &str, name: &str, stateful: bool) -> Result<()>;
    /// Takes due scheduled snapshots and prunes expired ones, as of `now`.
    fn snapshot_auto(&self, now: DateTime<Utc>) -> Result<AutoReport>;
    /// `copy SRC[/SNAP] DST`.
    fn instance_copy(&self, opts: CopyOptions) -> Result<Instance>;
    /// `move`: a rename, or to another pool with `pool`.
    fn instance_move(&self, name: &str, new_name: &str, pool: Option<&str>) -> Result<()>;
    /// `export`: the backup tarball of an instance, written to `out`.
    fn instance_export(
        &self,
        _name: &str,
        _opts: &BackupExportOptions,
        _out: &mut dyn Write,
    ) -> Result<()> {
        Err(incus_api::Error::unsupported(
            "export is not supported by this remote yet",
        ))
    }
    /// `import`: a new instance from a backup tarball.
    fn instance_import(&self, _file: &Path, _opts: &BackupImportOptions) -> Result<Instance> {
        Err(incus_api::Error::unsupported(
            "import is not supported by this remote yet",
        ))
    }
    /// `storage volume export`: a custom volume's backup tarball, written to `out`.
    fn volume_export(
        &self,
        _pool: &str,
        _name: &str,
        _opts: &BackupExportOptions,
        _out: &mut dyn Write,
    ) -> Result<()> {
        Err(incus_api::Error::unsupported(
            "storage volume export is not supported through a remote yet",
        ))
    }
    /// `storage volume import`: a custom volume from a backup tarball.
    fn volume_import(
        &self,
        _pool: &str,
        _file: &Path,
        _name: Option<&str>,
    ) -> Result<StorageVolume> {
        Err(incus_api::Error::unsupported(
            "storage volume import is not supported through a remote yet",
        ))
    }
    /// `publish`: a new image from an instance or a snapshot.
    fn instance_publish(&self, _opts: &PublishOptions) -> Result<Image> {
        Err(incus_api::Error::unsupported(
            "publish is not supported by this remote yet",
        ))
    }
    /// `rebuild`: a stopped instance's root replaced by an image's (`None`: empty).
    fn instance_rebuild(&self, _name: &str, _image: Option<&str>) -> Result<Instance> {
        Err(incus_api::Error::unsupported(
            "rebuild is not supported by this remote yet",
        ))
    }
    // --- storage volumes ---
    fn volume(&self, pool: &str, vtype: &str, name: &str) -> Result<StorageVolume>;
    fn volume_create(
        &self,
        pool: &str,
        name: &str,
        config: Config,
        description: &str,
    ) -> Result<StorageVolume>;
    fn volume_update(&self, pool: &str, name: &str, put: StorageVolumePut)
        -> Result<StorageVolume>;
    /// Sets keys in one change; an empty value unsets.
    fn volume_set_keys(&self, pool: &str, name: &str, pairs: &Config) -> Result<StorageVolume>;
    fn volume_delete(&self, pool: &str, name: &str) -> Result<()>;
    fn volume_rename(&self, pool: &str, name: &str, new_name: &str) -> Result<()>;
    fn volume_copy(
        &self,
        src_pool: &str,
        src: &str,
        dst_pool: &str,
        dst: &str,
    ) -> Result<StorageVolume>;
    fn volume_move(
        &self,
        src_pool: &str,
        src: &str,
        dst_pool: &str,
        dst: &str,
    ) -> Result<StorageVolume>;
    /// Attaches to an instance (`profile` false) or a profile.
    fn volume_attach(
        &self,
        pool: &str,
        vol: &str,
        target: &str,
        profile: bool,
        device: Option<&str>,
        path: &str,
    ) -> Result<()>;
    fn volume_detach(
        &self,
        pool: &str,
        vol: &str,
        target: &str,
        profile: bool,
        device: Option<&str>,
    ) -> Result<()>;
    fn volume_state(&self, pool: &str, name: &str) -> Result<StorageVolumeState>;
    fn volume_snapshots(&self, pool: &str, vol: &str) -> Result<Vec<StorageVolumeSnapshot>>;
    fn volume_snapshot_create(
        &self,
        pool: &str,
        vol: &str,
        snap: Option<&str>,
    ) -> Result<StorageVolumeSnapshot>;
    fn volume_snapshot_delete(&self, pool: &str, vol: &str, snap: &str) -> Result<()>;
    fn volume_snapshot_rename(&self, pool: &str, vol: &str, snap: &str, new: &str) -> Result<()>;
    fn volume_snapshot_restore(&self, pool: &str, vol: &str, snap: &str) -> Result<()>;
    // --- lifecycle (files, boot) ---
    /// Reads one entry of an instance (`GET .../files`): a file's bytes go to `out`.
    fn instance_file_get(&self, name: &str, path: &str, out: &mut dyn Write) -> Result<FileInfo>;
    /// Writes one entry (`POST .../files`): a file from `input`, a directory or a symlink.
    fn instance_file_put(
        &self,
        name: &str,
        path: &str,
        put: &FilePut,
        input: &mut dyn Read,
    ) -> Result<()>;
    /// Deletes one entry (`DELETE .../files`); a directory's contents too when `recursive`.
    fn instance_file_delete(&self, name: &str, path: &str, recursive: bool) -> Result<()>;
    /// After a host boot: repair what the reboot left, start the autostart instances.
    fn admin_boot(&self, force: bool) -> Result<BootReport>;
    // --- network ---
    fn networks(&self) -> Result<Vec<Network>>;
    fn network(&self, name: &str) -> Result<Network>;
    fn network_create(
        &self,
        name: &str,
        network_type: &str,
        config: Config,
        description: &str,
    ) -> Result<Network>;
    fn network_update(&self, name: &str, put: NetworkPut) -> Result<Network>;
    /// Sets keys in one change; an empty value unsets.
    fn network_set_keys(&self, name: &str, pairs: &Config) -> Result<Network>;
    fn network_rename(&self, name: &str, new_name: &str) -> Result<()>;
    fn network_delete(&self, name: &str) -> Result<()>;
    fn network_state(&self, name: &str) -> Result<NetworkState>;
    fn network_leases(&self, name: &str) -> Result<Vec<NetworkLease>>;
    /// `admin init --network`: upstream's default bridge and `eth0` in the default profile.
    fn admin_init_network(&self) -> Result<()>;
    // --- trust ---
    fn certificates(&self) -> Result<Vec<Certificate>>;
    fn certificate(&self, fingerprint: &str) -> Result<Certificate>;
    fn certificate_add(&self, cert: &[u8], opts: &TrustOptions) -> Result<Certificate>;
    fn certificate_update(&self, fingerprint: &str, opts: &TrustOptions) -> Result<Certificate>;
    fn certificate_remove(&self, fingerprint: &str) -> Result<()>;
    /// A join token for a new client: (token id, token).
    fn trust_token_create(
        &self,
        client_name: &str,
        opts: &TrustOptions,
    ) -> Result<(String, JoinToken)>;
    fn trust_tokens(&self) -> Result<Vec<(String, JoinToken)>>;
    fn trust_token_revoke(&self, name: &str) -> Result<()>;
    // --- remote ---
    /// Follows new events of `types` (all when empty), oldest first, until `f` returns
    /// false. By default the events table is polled; the remote backend reads the
    /// server's `/1.0/events` websocket.
    fn events_follow(
        &self,
        types: &[&str],
        f: &mut dyn FnMut(serde_json::Value) -> bool,
    ) -> Result<()> {
        // Fast enough to feel live, cheap when idle.
        const POLL: Duration = Duration::from_millis(100);
        let mut last = self.event_last_id()?;
        loop {
            for (id, ev) in self.events_since(last)? {
                last = id;
                let t = ev["type"].as_str().unwrap_or("");
                if (types.is_empty() || types.contains(&t)) && !f(ev) {
                    return Ok(());
                }
            }
            std::thread::sleep(POLL);
        }
    }
}

/// The in-process backend.
pub struct Local {
    pub ctx: Context,
}

impl Local {
    /// From the environment (`INCUS_DIR`, `INCUS_RUN_DIR`) and a project.
    pub fn from_env(project: &str) -> Result<Local> {
        let mut ctx = Context::from_env()?;
        ctx.set_project(project)?;
        Ok(Local { ctx })
    }
}

/// This installation's host-wide name prefix, and its `INCUS_DIR` when it is not the
/// default one (what a timer must pass on to `incus-snapshot auto`).
pub fn installation_prefix() -> Result<(String, Option<PathBuf>)> {
    let ctx = Context::from_env()?;
    let default = Path::new(incus_core::context::DEFAULT_INCUS_DIR);
    let dir = (ctx.incus_dir != default).then(|| ctx.incus_dir.clone());
    Ok((ctx.prefix.clone(), dir))
}

/// The local backend (what `incus-admin` uses: it always acts on this host). Tools
/// that take `[REMOTE:]NAME` use [`connect_args`].
pub fn connect(project: &str) -> Result<Box<dyn Backend>> {
    Ok(Box::new(Local::from_env(project)?))
}

use incus_core::{
    admin, copy, image, instance, lifecycle, network, profile, server, snapshot, storage, trust,
};

impl Backend for Local {
    fn server(&self) -> Result<Server> {
        server::info(&self.ctx)
    }
    fn server_config_get(&self, key: &str) -> Result<String> {
        server::get(&self.ctx, key)
    }
    fn server_config_set_keys(&self, pairs: &Config) -> Result<()> {
        server::set_keys(&self.ctx, pairs)
    }
    fn server_config_unset(&self, key: &str) -> Result<()> {
        server::unset(&self.ctx, key)
    }
    fn server_config_replace(&self, config: &Config) -> Result<()> {
        server::replace(&self.ctx, config)
    }
    fn admin_init_minimal(&self) -> Result<()> {
        admin::init_minimal(&self.ctx)
    }
    fn admin_init_preseed(&self, yaml: &str) -> Result<()> {
        admin::apply_preseed(&self.ctx, &admin::parse_preseed(yaml)?)
    }
    fn admin_check(&self) -> Result<Vec<incus_core::check::Problem>> {
        incus_core::check::check(&self.ctx)
    }
    fn event_last_id(&self) -> Result<i64> {
        incus_core::events::last_id(&self.ctx)
    }
    fn events_since(&self, after: i64) -> Result<Vec<(i64, serde_json::Value)>> {
        incus_core::events::since(&self.ctx, after)
    }

    fn instances(&self, full: bool) -> Result<Vec<Instance>> {
        if full {
            instance::list_full(&self.ctx)
        } else {
            instance::list(&self.ctx)
        }
    }
    fn instance(&self, name: &str) -> Result<Instance> {
        instance::get(&self.ctx, name)
    }
    fn instance_create(&self, opts: CreateOptions) -> Result<Instance> {
        instance::create(&self.ctx, opts)
    }
    fn instance_launch(&self, opts: CreateOptions) -> Result<Instance> {
        lifecycle::launch(&self.ctx, opts)
    }
    fn instance_update(&self, name: &str, put: InstancePut) -> Result<Instance> {
        instance::update(&self.ctx, name, put)
    }
    fn instance_set(&self, name: &str, pairs: &Config) -> Result<Instance> {
        instance::set_config(&self.ctx, name, pairs)
    }
    fn instance_unset(&self, name: &str, key: &str) -> Result<Instance> {
        instance::unset_config(&self.ctx, name, key)
    }
    fn instance_device_add(&self, name: &str, dev: &str, config: Config) -> Result<Instance> {
        instance::device_add(&self.ctx, name, dev, config)
    }
    fn instance_device_remove(&self, name: &str, devs: &[String]) -> Result<Instance> {
        instance::device_remove(&self.ctx, name, devs)
    }
    fn instance_device_set(&self, name: &str, dev: &str, pairs: &Config) -> Result<Instance> {
        instance::device_set(&self.ctx, name, dev, pairs)
    }
    fn instance_device_override(&self, name: &str, dev: &str, pairs: &Config) -> Result<Instance> {
        instance::device_override(&self.ctx, name, dev, pairs)
    }
    fn instance_rename(&self, name: &str, new_name: &str) -> Result<()> {
        instance::rename(&self.ctx, name, new_name)
    }
    fn instance_delete(&self, name: &str) -> Result<()> {
        instance::delete(&self.ctx, name)
    }
    fn instance_start(&self, name: &str) -> Result<()> {
        lifecycle::start(&self.ctx, name)
    }
    fn instance_stop(&self, name: &str, timeout: Duration, force: bool) -> Result<()> {
        lifecycle::stop(&self.ctx, name, timeout, force)
    }
    fn instance_restart(&self, name: &str, timeout: Duration, force: bool) -> Result<()> {
        lifecycle::restart(&self.ctx, name, timeout, force)
    }
    fn instance_freeze(&self, name: &str) -> Result<()> {
        lifecycle::freeze(&self.ctx, name)
    }
    fn instance_unfreeze(&self, name: &str) -> Result<()> {
        lifecycle::unfreeze(&self.ctx, name)
    }
    fn instance_state(&self, name: &str) -> Result<InstanceState> {
        lifecycle::state(&self.ctx, name)
    }
    fn instance_exec(&self, name: &str, spec: &ExecSpec) -> Result<i32> {
        lifecycle::exec(&self.ctx, name, spec)
    }
    fn instance_console_log(&self, name: &str) -> Result<Vec<u8>> {
        lifecycle::console_log(&self.ctx, name)
    }
    fn instance_console_attach(&self, name: &str) -> Result<()> {
        lifecycle::console_attach(&self.ctx, name)
    }

    fn images(&self) -> Result<Vec<Image>> {
        image::list(&self.ctx)
    }
    fn image(&self, name: &str) -> Result<Image> {
        image::get(&self.ctx, name)
    }
    fn image_import(
        &self,
        src: &ImageSource,
        opts: &ImportOptions,
        progress: Option<&dyn Fn(u64, u64)>,
    ) -> Result<Image> {
        image::import(&self.ctx, src, opts, progress)
    }
    fn image_delete(&self, name: &str) -> Result<()> {
        image::delete(&self.ctx, name)
    }
    fn image_export(&self, name: &str, target: &Path) -> Result<Vec<PathBuf>> {
        image::export(&self.ctx, name, target)
    }
    fn image_update(&self, name: &str, put: ImagePut) -> Result<Image> {
        image::update(&self.ctx, name, put)
    }
    fn image_aliases(&self) -> Result<Vec<ImageAliasesEntry>> {
        image::alias_list(&self.ctx)
    }
    fn image_alias_create(&self, name: &str, target: &str, description: &str) -> Result<()> {
        image::alias_create(&self.ctx, name, target, description)
    }
    fn image_alias_delete(&self, name: &str) -> Result<()> {
        image::alias_delete(&self.ctx, name)
    }
    fn image_alias_rename(&self, name: &str, new_name: &str) -> Result<()> {
        image::alias_rename(&self.ctx, name, new_name)
    }

    fn pools(&self) -> Result<Vec<StoragePool>> {
        storage::pool_list(&self.ctx)
    }
    fn pool(&self, name: &str) -> Result<StoragePool> {
        storage::pool_get(&self.ctx, name)
    }
    fn pool_create(
        &self,
        name: &str,
        driver: &str,
        config: Config,
        description: &str,
    ) -> Result<StoragePool> {
        storage::pool_create(&self.ctx, name, driver, config, description)
    }
    fn pool_update(&self, name: &str, config: Config, description: &str) -> Result<StoragePool> {
        storage::pool_update(&self.ctx, name, config, description)
    }
    fn pool_set_keys(&self, name: &str, pairs: &Config) -> Result<StoragePool> {
        storage::pool_set_keys(&self.ctx, name, pairs)
    }
    fn pool_delete(&self, name: &str) -> Result<()> {
        storage::pool_delete(&self.ctx, name)
    }
    fn pool_resources(&self, name: &str) -> Result<StoragePoolResources> {
        storage::pool_resources(&self.ctx, name)
    }
    fn volumes(&self, pool: &str) -> Result<Vec<StorageVolume>> {
        storage::volume_list(&self.ctx, pool)
    }

    fn profiles(&self) -> Result<Vec<Profile>> {
        profile::list(&self.ctx)
    }
    fn profile(&self, name: &str) -> Result<Profile> {
        profile::get(&self.ctx, name)
    }
    fn profile_create(&self, name: &str, put: ProfilePut) -> Result<Profile> {
        profile::create(&self.ctx, name, put)
    }
    fn profile_update(&self, name: &str, put: ProfilePut) -> Result<Profile> {
        profile::update(&self.ctx, name, put)
    }
    fn profile_set_keys(&self, name: &str, pairs: &Config) -> Result<Profile> {
        profile::set_keys(&self.ctx, name, pairs)
    }
    fn profile_unset(&self, name: &str, key: &str) -> Result<Profile> {
        profile::unset_key(&self.ctx, name, key)
    }
    fn profile_rename(&self, name: &str, new_name: &str) -> Result<()> {
        profile::rename(&self.ctx, name, new_name)
    }
    fn profile_delete(&self, name: &str) -> Result<()> {
        profile::delete(&self.ctx, name)
    }
    fn profile_copy(&self, name: &str, target: &str) -> Result<Profile> {
        profile::copy(&self.ctx, name, target)
    }
    fn profile_device_add(&self, name: &str, dev: &str, config: Config) -> Result<Profile> {
        profile::device_add(&self.ctx, name, dev, config)
    }
    fn profile_device_remove(&self, name: &str, devs: &[String]) -> Result<Profile> {
        profile::device_remove(&self.ctx, name, devs)
    }
    fn profile_device_set(&self, name: &str, dev: &str, pairs: Config) -> Result<Profile> {
        profile::device_set(&self.ctx, name, dev, pairs)
    }

    // --- snapshot ---
    fn snapshots(&self, instance: &str) -> Result<Vec<InstanceSnapshot>> {
        snapshot::list(&self.ctx, instance)
    }
    fn snapshot(&self, instance: &str, name: &str) -> Result<InstanceSnapshot> {
        snapshot::get(&self.ctx, instance, name)
    }
    fn snapshot_create(
        &self,
        instance: &str,
        opts: SnapshotCreateOptions,
    ) -> Result<InstanceSnapshot> {
        snapshot::create(&self.ctx, instance, opts)
    }
    fn snapshot_delete(&self, instance: &str, names: &[String]) -> Result<()> {
        snapshot::delete(&self.ctx, instance, names)
    }
    fn snapshot_rename(&self, instance: &str, name: &str, new_name: &str) -> Result<()> {
        snapshot::rename(&self.ctx, instance, name, new_name)
    }
    fn snapshot_restore(&self, instance: &str, name: &str, stateful: bool) -> Result<()> {
        snapshot::restore(&self.ctx, instance, name, stateful)
    }
    fn snapshot_auto(&self, now: DateTime<Utc>) -> Result<AutoReport> {
        snapshot::auto(&self.ctx, now)
    }
    fn instance_copy(&self, opts: CopyOptions) -> Result<Instance> {
        copy::copy(&self.ctx, opts)
    }
    fn instance_move(&self, name: &str, new_name: &str, pool: Option<&str>) -> Result<()> {
        copy::move_instance(&self.ctx, name, new_name, pool)
    }
    fn instance_export(
        &self,
        name: &str,
        opts: &BackupExportOptions,
        out: &mut dyn Write,
    ) -> Result<()> {
        incus_core::backup_archive::export(&self.ctx, name, opts, out).map(|_| ())
    }
    fn instance_import(&self, file: &Path, opts: &BackupImportOptions) -> Result<Instance> {
        incus_core::backup_archive::import(&self.ctx, file, opts)
    }
    fn instance_publish(&self, opts: &PublishOptions) -> Result<Image> {
        incus_core::publish::publish(&self.ctx, opts)
    }
    fn volume_export(
        &self,
        pool: &str,
        name: &str,
        opts: &BackupExportOptions,
        out: &mut dyn Write,
    ) -> Result<()> {
        incus_core::backup_volume::export(&self.ctx, pool, name, opts, out).map(|_| ())
    }
    fn volume_import(&self, pool: &str, file: &Path, name: Option<&str>) -> Result<StorageVolume> {
        incus_core::backup_volume::import(&self.ctx, pool, file, name)
    }
    fn instance_rebuild(&self, name: &str, image: Option<&str>) -> Result<Instance> {
        incus_core::rebuild::rebuild(&self.ctx, name, image)
    }

    // --- storage volumes ---
    fn volume(&self, pool: &str, vtype: &str, name: &str) -> Result<StorageVolume> {
        volume::get(&self.ctx, pool, storage::VolumeType::parse(vtype)?, name)
    }
    fn volume_create(
        &self,
        pool: &str,
        name: &str,
        config: Config,
        description: &str,
    ) -> Result<StorageVolume> {
        volume::create(&self.ctx, pool, name, config, description)
    }
    fn volume_update(
        &self,
        pool: &str,
        name: &str,
        put: StorageVolumePut,
    ) -> Result<StorageVolume> {
        volume::update(&self.ctx, pool, name, put.config, &put.description)
    }
    fn volume_set_keys(&self, pool: &str, name: &str, pairs: &Config) -> Result<StorageVolume> {
        volume::set_keys(&self.ctx, pool, name, pairs)
    }
    fn volume_delete(&self, pool: &str, name: &str) -> Result<()> {
        volume::delete(&self.ctx, pool, name)
    }
    fn volume_rename(&self, pool: &str, name: &str, new_name: &str) -> Result<()> {
        volume::rename(&self.ctx, pool, name, new_name)
    }
    fn volume_copy(
        &self,
        src_pool: &str,
        src: &str,
        dst_pool: &str,
        dst: &str,
    ) -> Result<StorageVolume> {
        volume::copy(&self.ctx, src_pool, src, dst_pool, dst)
    }
    fn volume_move(
        &self,
        src_pool: &str,
        src: &str,
        dst_pool: &str,
        dst: &str,
    ) -> Result<StorageVolume> {
        volume::move_volume(&self.ctx, src_pool, src, dst_pool, dst)
    }
    fn volume_attach(
        &self,
        pool: &str,
        vol: &str,
        target: &str,
        profile: bool,
        device: Option<&str>,
        path: &str,
    ) -> Result<()> {
        if profile {
            volume::attach_profile(&self.ctx, pool, vol, target, device, path)
        } else {
            volume::attach(&self.ctx, pool, vol, target, device, path)
        }
    }
    fn volume_detach(
        &self,
        pool: &str,
        vol: &str,
        target: &str,
        profile: bool,
        device: Option<&str>,
    ) -> Result<()> {
        if profile {
            volume::detach_profile(&self.ctx, pool, vol, target, device)
        } else {
            volume::detach(&self.ctx, pool, vol, target, device)
        }
    }
    fn volume_state(&self, pool: &str, name: &str) -> Result<StorageVolumeState> {
        volume::state(&self.ctx, pool, name)
    }
    fn volume_snapshots(&self, pool: &str, vol: &str) -> Result<Vec<StorageVolumeSnapshot>> {
        volume::snapshot_list(&self.ctx, pool, vol)
    }
    fn volume_snapshot_create(
        &self,
        pool: &str,
        vol: &str,
        snap: Option<&str>,
    ) -> Result<StorageVolumeSnapshot> {
        volume::snapshot_create(&self.ctx, pool, vol, snap)
    }
    fn volume_snapshot_delete(&self, pool: &str, vol: &str, snap: &str) -> Result<()> {
        volume::snapshot_delete(&self.ctx, pool, vol, snap)
    }
    fn volume_snapshot_rename(&self, pool: &str, vol: &str, snap: &str, new: &str) -> Result<()> {
        volume::snapshot_rename(&self.ctx, pool, vol, snap, new)
    }
    fn volume_snapshot_restore(&self, pool: &str, vol: &str, snap: &str) -> Result<()> {
        volume::snapshot_restore(&self.ctx, pool, vol, snap)
    }
    // --- lifecycle (files, boot) ---
    fn instance_file_get(&self, name: &str, path: &str, out: &mut dyn Write) -> Result<FileInfo> {
        incus_core::files::get(&self.ctx, name, path, out)
    }
    fn instance_file_put(
        &self,
        name: &str,
        path: &str,
        put: &FilePut,
        input: &mut dyn Read,
    ) -> Result<()> {
        incus_core::files::put(&self.ctx, name, path, put, input)
    }
    fn instance_file_delete(&self, name: &str, path: &str, recursive: bool) -> Result<()> {
        incus_core::files::delete(&self.ctx, name, path, recursive)
    }
    fn admin_boot(&self, force: bool) -> Result<BootReport> {
        incus_core::boot::boot(&self.ctx, force)
    }
    // --- network ---
    fn networks(&self) -> Result<Vec<Network>> {
        network::list(&self.ctx)
    }
    fn network(&self, name: &str) -> Result<Network> {
        network::get(&self.ctx, name)
    }
    fn network_create(
        &self,
        name: &str,
        network_type: &str,
        config: Config,
        description: &str,
    ) -> Result<Network> {
        network::create(&self.ctx, name, network_type, config, description)
    }
    fn network_update(&self, name: &str, put: NetworkPut) -> Result<Network> {
        network::update(&self.ctx, name, put)
    }
    fn network_set_keys(&self, name: &str, pairs: &Config) -> Result<Network> {
        network::set_keys(&self.ctx, name, pairs)
    }
    fn network_rename(&self, name: &str, new_name: &str) -> Result<()> {
        network::rename(&self.ctx, name, new_name)
    }
    fn network_delete(&self, name: &str) -> Result<()> {
        network::delete(&self.ctx, name)
    }
    fn network_state(&self, name: &str) -> Result<NetworkState> {
        network::state(&self.ctx, name)
    }
    fn network_leases(&self, name: &str) -> Result<Vec<NetworkLease>> {
        network::leases(&self.ctx, name)
    }
    fn admin_init_network(&self) -> Result<()> {
        admin::init_network(&self.ctx)
    }
    // --- trust ---
    fn certificates(&self) -> Result<Vec<Certificate>> {
        trust::list(&self.ctx)
    }
    fn certificate(&self, fingerprint: &str) -> Result<Certificate> {
        trust::get(&self.ctx, fingerprint)
    }
    fn certificate_add(&self, cert: &[u8], opts: &TrustOptions) -> Result<Certificate> {
        trust::add(&self.ctx, cert, opts)
    }
    fn certificate_update(&self, fingerprint: &str, opts: &TrustOptions) -> Result<Certificate> {
        trust::update(&self.ctx, fingerprint, opts)
    }
    fn certificate_remove(&self, fingerprint: &str) -> Result<()> {
        trust::remove(&self.ctx, fingerprint)
    }
    fn trust_token_create(
        &self,
        client_name: &str,
        opts: &TrustOptions,
    ) -> Result<(String, JoinToken)> {
        trust::token_create(&self.ctx, client_name, opts)
    }
    fn trust_tokens(&self) -> Result<Vec<(String, JoinToken)>> {
        trust::token_list(&self.ctx)
    }
    fn trust_token_revoke(&self, name: &str) -> Result<()> {
        trust::token_revoke(&self.ctx, name)
    }
}
