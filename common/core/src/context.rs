//! One value that knows every path and holds the database handle. Tests point it at a
//! temporary directory with `INCUS_DIR`.

use crate::{Error, Result};
use incus_db::Db;
use incus_sys::lock::{self, Lock};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The default state directory, as upstream.
pub const DEFAULT_INCUS_DIR: &str = "/var/lib/incus";
/// How long an operation waits for another one on the same object.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Paths, the installation prefix, the project, and the database.
pub struct Context {
    /// State directory (`INCUS_DIR`).
    pub incus_dir: PathBuf,
    /// Runtime directory (`INCUS_RUN_DIR`): locks, monitor state; cleared by a reboot.
    pub run_dir: PathBuf,
    /// Log directory (per instance logs).
    pub log_dir: PathBuf,
    /// Prefix of host-wide names (cgroups, veths, nft tables) of this installation.
    pub prefix: String,
    /// The project every call acts on.
    pub project: String,
    /// The project holding the custom volumes of `project` (`default` when its
    /// `features.storage.volumes` is off); set with the project by [`Context::set_project`].
    pub volumes_project: String,
    /// The project holding its profiles (`features.profiles`).
    pub profiles_project: String,
    /// The project holding its networks (`features.networks`).
    pub networks_project: String,
    db: RefCell<Option<Db>>,
}

impl Context {
    /// Builds the context from the environment (`INCUS_DIR`, `INCUS_RUN_DIR`).
    pub fn from_env() -> Result<Context> {
        let incus_dir = std::env::var_os("INCUS_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_INCUS_DIR));
        let run_dir = std::env::var_os("INCUS_RUN_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Context::new(&incus_dir, run_dir.as_deref())
    }

    /// Builds a context for `incus_dir`; the run directory defaults to `/run/incus` for
    /// the default installation and to a directory of its own for any other.
    pub fn new(incus_dir: &Path, run_dir: Option<&Path>) -> Result<Context> {
        let incus_dir = if incus_dir.is_absolute() {
            incus_dir.to_path_buf()
        } else {
            std::env::current_dir()?.join(incus_dir)
        };
        let digest = hex::encode(Sha256::digest(incus_dir.as_os_str().as_encoded_bytes()));
        let is_default = incus_dir == Path::new(DEFAULT_INCUS_DIR);
        let run_dir = match run_dir {
            Some(r) => r.to_path_buf(),
            None if is_default => PathBuf::from("/run/incus"),
            None => PathBuf::from(format!("/run/incus-{}", &digest[..12])),
        };
        let log_dir = if is_default {
            PathBuf::from("/var/log/incus")
        } else {
            incus_dir.join("logs")
        };
        // Short enough to leave room in 15-character interface names.
        let prefix = if is_default {
            "incus".to_string()
        } else {
            format!("ix{}", &digest[..6])
        };
        Ok(Context {
            incus_dir,
            run_dir,
            log_dir,
            prefix,
            project: "default".to_string(),
            volumes_project: "default".to_string(),
            profiles_project: "default".to_string(),
            networks_project: "default".to_string(),
            db: RefCell::new(None),
        })
    }

    /// Selects the project (NotFound when it does not exist); one indexed query.
    pub fn set_project(&mut self, project: &str) -> Result<()> {
        if project == "default" {
            self.project = project.to_string();
            self.volumes_project = project.to_string();
            self.profiles_project = project.to_string();
            self.networks_project = project.to_string();
            return Ok(());
        }
        let ((_, volumes), (_, profiles), (_, networks)) = self.db()?.read(|tx| {
            Ok((
                incus_db::feature_project(tx, project, "features.storage.volumes")?,
                incus_db::feature_project(tx, project, "features.profiles")?,
                incus_db::feature_project(tx, project, "features.networks")?,
            ))
        })?;
        self.project = project.to_string();
        self.volumes_project = volumes;
        self.profiles_project = profiles;
        self.networks_project = networks;
        Ok(())
    }

    /// A context on the same installation acting in another project (listings across
    /// projects); it opens its own database connection.
    pub fn in_project(&self, project: &str) -> Result<Context> {
        let mut ctx = Context::new(&self.incus_dir, Some(&self.run_dir))?;
        ctx.log_dir = self.log_dir.clone();
        ctx.prefix = self.prefix.clone();
        ctx.set_project(project)?;
        Ok(ctx)
    }

    /// The host-wide name of an object of this context's project (`PROJECT_NAME`
    /// outside `default`): run and log directories, locks, the runtime's cgroups and
    /// interface aliases.
    pub fn host_name(&self, name: &str) -> String {
        crate::names::project_prefixed(&self.project, name)
    }

    /// The state database file (upstream's local and global databases in one).
    pub fn db_path(&self) -> PathBuf {
        self.incus_dir.join("database/local.db")
    }

    /// The database, opened (and migrated) on first use.
    pub fn db(&self) -> Result<std::cell::RefMut<'_, Db>> {
        {
            let mut slot = self.db.borrow_mut();
            if slot.is_none() {
                std::fs::create_dir_all(&self.incus_dir).map_err(|e| {
                    Error::internal(format!("Create {}: {e}", self.incus_dir.display()))
                })?;
                // 0711 as upstream (the runtime itself needs no search permission:
                // it mounts the rootfs from a descriptor, docs/security.md).
                set_traversable(&self.incus_dir)?;
                self.close_guest_dirs()?;
                *slot = Some(Db::open(&self.db_path())?);
            }
        }
        Ok(std::cell::RefMut::map(self.db.borrow_mut(), |d| {
            d.as_mut().expect("opened above")
        }))
    }

    /// Directories holding image or guest files are root's alone (upstream's modes:
    /// `images/`, `disks/` and the log directory 0700, every pool's type directories);
    /// applied at every first use, so an installation made by an older version is fixed
    /// by its next command.
    fn close_guest_dirs(&self) -> Result<()> {
        for d in [
            self.images_dir(),
            self.incus_dir.join("disks"),
            self.log_dir.clone(),
        ] {
            crate::storage::set_mode(&d, 0o700)?;
        }
        crate::storage::close_pools(&self.pools_dir())
    }

    /// `storage-pools/` under the state directory, created traversable (0711).
    pub fn ensure_pools_dir(&self) -> Result<PathBuf> {
        let dir = self.pools_dir();
        std::fs::create_dir_all(&dir)?;
        set_traversable(&dir)?;
        Ok(dir)
    }

    /// `storage-pools/` under the state directory.
    pub fn pools_dir(&self) -> PathBuf {
        self.incus_dir.join("storage-pools")
    }

    /// `images/` under the state directory.
    pub fn images_dir(&self) -> PathBuf {
        self.incus_dir.join("images")
    }

    /// The run directory of one instance.
    pub fn instance_run_dir(&self, name: &str) -> PathBuf {
        self.run_dir.join("instances").join(self.host_name(name))
    }

    /// The log directory of one instance.
    pub fn instance_log_dir(&self, name: &str) -> PathBuf {
        self.log_dir.join(self.host_name(name))
    }

    fn lock_path(&self, kind: &str, name: &str) -> PathBuf {
        self.run_dir
            .join("locks")
            .join(format!("{kind}-{name}.lock"))
    }

    /// The global lock (schema-wide changes such as `admin init`).
    pub fn lock_global(&self) -> Result<Lock> {
        lock::lock(&self.lock_path("global", "all"), LOCK_TIMEOUT, "The server")
    }

    // Lock order, always: global -> pool -> network -> profile -> image -> image volume
    // -> custom volume -> instance, each taken before any write transaction; pool-mount,
    // network-up and address-allocation locks are leaves (nothing is taken under them). Shared locks mark users of an object that must not
    // vanish meanwhile (a pool or image during an instance create).

    /// The lock of a storage pool, exclusive (pool create, update, delete).
    pub fn lock_pool(&self, name: &str) -> Result<Lock> {
        lock::lock(
            &self.lock_path("pool", name),
            LOCK_TIMEOUT,
            &format!("Storage pool \"{name}\""),
        )
    }

    /// The lock of a storage pool, shared (its users: instance create).
    pub fn lock_pool_shared(&self, name: &str) -> Result<Lock> {
        lock::lock_shared(
            &self.lock_path("pool", name),
            LOCK_TIMEOUT,
            &format!("Storage pool \"{name}\""),
        )
    }

    /// The lock of an image, shared (instance create unpacking it).
    pub fn lock_image_shared(&self, fingerprint: &str) -> Result<Lock> {
        lock::lock_shared(
            &self.lock_path("image", fingerprint),
            LOCK_TIMEOUT,
            &format!("Image \"{fingerprint}\""),
        )
    }

    /// The lock of a profile (read-modify-write of its config and devices).
    pub fn lock_profile(&self, name: &str) -> Result<Lock> {
        lock::lock(
            &self.lock_path(
                "profile",
                &crate::names::project_prefixed(&self.profiles_project, name),
            ),
            LOCK_TIMEOUT,
            &format!("Profile \"{name}\""),
        )
    }

    /// The lock of an image (import, delete).
    pub fn lock_image(&self, fingerprint: &str) -> Result<Lock> {
        lock::lock(
            &self.lock_path("image", fingerprint),
            LOCK_TIMEOUT,
            &format!("Image \"{fingerprint}\""),
        )
    }

    /// The lock of an instance.
    pub fn lock_instance(&self, name: &str) -> Result<Lock> {
        lock::lock(
            &self.lock_path("instance", &self.host_name(name)),
            LOCK_TIMEOUT,
            &format!("Instance \"{name}\""),
        )
    }

    /// The lock of one pool's image volume (btrfs: filled once per pool). Separate
    /// from the image lock, which instance creates hold shared meanwhile.
    pub fn lock_image_volume(&self, pool: &str, fingerprint: &str) -> Result<Lock> {
        lock::lock(
            &self.lock_path("imagevol", &format!("{pool}-{fingerprint}")),
            LOCK_TIMEOUT,
            &format!("Image volume \"{fingerprint}\" of pool \"{pool}\""),
        )
    }

    /// Serialises re-mounting a pool after a reboot (taken under any pool lock).
    pub fn lock_pool_mount(&self, pool: &str) -> Result<Lock> {
        lock::lock(
            &self.lock_path("poolmount", pool),
            LOCK_TIMEOUT,
            &format!("Mount of storage pool \"{pool}\""),
        )
    }

    /// The lock of a custom storage volume (after the pool's, before instances').
    /// Tries a custom volume's lock without waiting (repair of half-done work).
    pub fn try_lock_volume(&self, pool: &str, name: &str) -> Result<Option<Lock>> {
        lock::try_lock(&self.lock_path("volume", &self.volume_lock_name(pool, name)))
    }

    fn volume_lock_name(&self, pool: &str, name: &str) -> String {
        format!(
            "{pool}-{}",
            crate::names::project_prefixed(&self.volumes_project, name)
        )
    }

    pub fn lock_volume(&self, pool: &str, name: &str) -> Result<Lock> {
        lock::lock(
            &self.lock_path("volume", &self.volume_lock_name(pool, name)),
            LOCK_TIMEOUT,
            &format!("Storage volume \"{name}\" of pool \"{pool}\""),
        )
    }

    /// Tries the lock of an image without waiting (repair of half-done imports).
    pub fn try_lock_image(&self, fingerprint: &str) -> Result<Option<Lock>> {
        lock::try_lock(&self.lock_path("image", fingerprint))
    }

    /// Tries the lock of an instance without waiting (repair of half-done work).
    pub fn try_lock_instance(&self, name: &str) -> Result<Option<Lock>> {
        lock::try_lock(&self.lock_path("instance", &self.host_name(name)))
    }

    /// Whether some process holds an instance's lock now (its marks are work in
    /// flight, not left by a killed command).
    pub fn instance_lock_held(&self, name: &str) -> bool {
        lock::is_held(&self.lock_path("instance", &self.host_name(name)))
    }

    // --- network ---
    // A network's lock sits between pool and image in the order. Its `netup` lock
    // (bridge, dnsmasq and nft bring-up) and `netalloc` (subnet choice) are leaves:
    // nothing is taken after them, so an instance start may take `netup` under its
    // instance lock.

    /// The lock of a network (create, update, rename, delete).
    pub fn lock_network(&self, name: &str) -> Result<Lock> {
        lock::lock(
            &self.lock_path(
                "network",
                &crate::names::project_prefixed(&self.networks_project, name),
            ),
            LOCK_TIMEOUT,
            &format!("Network \"{name}\""),
        )
    }

    /// Tries the lock of a network without waiting (repair of half-done work).
    pub fn try_lock_network(&self, name: &str) -> Result<Option<Lock>> {
        lock::try_lock(&self.lock_path(
            "network",
            &crate::names::project_prefixed(&self.networks_project, name),
        ))
    }

    /// The leaf lock guarding a network's host side (bridge, dnsmasq, nft).
    pub fn lock_network_up(&self, name: &str) -> Result<Lock> {
        lock::lock(
            &self.lock_path(
                "netup",
                &crate::names::project_prefixed(&self.networks_project, name),
            ),
            LOCK_TIMEOUT,
            &format!("Network \"{name}\""),
        )
    }

    /// The leaf lock serialising subnet choices and overlap checks.
    pub fn lock_network_alloc(&self) -> Result<Lock> {
        lock::lock(
            &self.lock_path("netalloc", "all"),
            LOCK_TIMEOUT,
            "Network address allocation",
        )
    }
}

/// Adds search permission for everyone (mode |= 0o111) without opening reads.
pub fn set_traversable(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o111 != 0o111 {
        std::fs::set_permissions(
            dir,
            std::fs::Permissions::from_mode((mode | 0o111) & 0o7777),
        )?;
    }
    Ok(())
}
