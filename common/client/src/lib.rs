//! What the tools talk to. [`Backend`] has the operations as upstream's REST API has
//! them; [`Local`] calls `incus_core` directly in-process (no daemon). A remote
//! implementation (REST over HTTPS or a unix socket) comes with `incus-serve`; no
//! business rule lives here, only the mapping.

use incus_api::{
    Certificate, Config, Image, ImageAliasesEntry, ImagePut, Instance, InstancePut, InstanceState,
    Profile, ProfilePut, Result, Server, StoragePool, StoragePoolResources, StorageVolume,
};
use incus_core::Context;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use incus_runtime::ExecSpec;

pub use incus_core::image::ImportOptions;
pub use incus_core::instance::CreateOptions;
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

    // Instances
    fn instances(&self, full: bool) -> Result<Vec<Instance>>;
    fn instance(&self, name: &str) -> Result<Instance>;
    fn instance_create(&self, opts: CreateOptions) -> Result<Instance>;
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

/// Connects to the backend the caller asked for (local only for now).
pub fn connect(project: &str) -> Result<Box<dyn Backend>> {
    Ok(Box::new(Local::from_env(project)?))
}

use incus_core::{admin, image, instance, lifecycle, profile, server, storage, trust};

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
