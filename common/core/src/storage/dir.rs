//! The `dir` driver: volumes are plain directories (upstream's layout).

use super::{check_source_location, validate_common_key, Driver, PoolInfo, VolumeType};
use crate::{Context, Error, Result};
use incus_api::{Config, ResourceUsage, StoragePoolResources};
use std::path::{Path, PathBuf};

/// Plain directories on the host filesystem.
pub struct DirDriver;

const TYPE_DIRS: &[&str] = &[
    "containers",
    "containers-snapshots",
    "custom",
    "custom-snapshots",
    "images",
    "virtual-machines",
    "virtual-machines-snapshots",
];

impl Driver for DirDriver {
    fn name(&self) -> &'static str {
        "dir"
    }

    fn validate_config(&self, config: &Config) -> Result<()> {
        for key in config.keys() {
            if !validate_common_key(key) {
                return Err(Error::invalid(format!(
                    "Invalid option for storage driver \"dir\": \"{key}\""
                )));
            }
        }
        if config.contains_key("size") {
            return Err(Error::invalid(
                "The \"dir\" driver has no size (quotas need a btrfs pool)",
            ));
        }
        Ok(())
    }

    fn create_pool(&self, ctx: &Context, pool: &mut PoolInfo) -> Result<()> {
        ctx.ensure_pools_dir()?;
        match pool.config.get("source").filter(|s| !s.is_empty()).cloned() {
            Some(source) => {
                let source = PathBuf::from(&source);
                if !source.is_absolute() {
                    return Err(Error::invalid(format!(
                        "Storage pool source must be an absolute path, not \"{}\"",
                        source.display()
                    )));
                }
                check_source_location(ctx, &source)?;
                let meta = std::fs::metadata(&source).map_err(|e| {
                    Error::invalid(format!("Source path {} is unusable: {e}", source.display()))
                })?;
                if !meta.is_dir() {
                    return Err(Error::invalid(format!(
                        "Source path {} is not a directory",
                        source.display()
                    )));
                }
                if source != pool.path {
                    if std::fs::read_dir(&source)?.next().is_some() {
                        return Err(Error::invalid(format!(
                            "Source path {} is not empty",
                            source.display()
                        )));
                    }
                    // A symlink survives reboots without a daemon to redo a bind mount.
                    std::os::unix::fs::symlink(&source, &pool.path).map_err(|e| {
                        Error::conflict(format!("Create {}: {e}", pool.path.display()))
                    })?;
                }
            }
            None => {
                std::fs::create_dir(&pool.path)
                    .map_err(|e| Error::conflict(format!("Create {}: {e}", pool.path.display())))?;
                pool.config
                    .insert("source".into(), pool.path.display().to_string());
            }
        }
        crate::context::set_traversable(&pool.path)?;
        for d in TYPE_DIRS {
            std::fs::create_dir_all(pool.path.join(d))?;
            crate::context::set_traversable(&pool.path.join(d))?;
        }
        Ok(())
    }

    fn delete_pool(&self, _ctx: &Context, pool: &PoolInfo) -> Result<()> {
        let meta = match std::fs::symlink_metadata(&pool.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if meta.file_type().is_symlink() {
            // The source belongs to the user: empty our layout out of it, keep it.
            for d in TYPE_DIRS {
                incus_sys::fsutil::remove_tree(&pool.path.join(d))?;
            }
            std::fs::remove_file(&pool.path)?;
        } else {
            incus_sys::fsutil::remove_tree(&pool.path)?;
        }
        Ok(())
    }

    fn create_volume(&self, pool: &PoolInfo, vtype: VolumeType, name: &str) -> Result<PathBuf> {
        let path = pool.volume_path(vtype, name);
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("/")))?;
        std::fs::create_dir(&path)
            .map_err(|e| Error::conflict(format!("Create volume {}: {e}", path.display())))?;
        // Upstream keeps instance volumes at 0711 (rootfs reachable by mapped ids).
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o711))?;
        Ok(path)
    }

    fn delete_volume(&self, pool: &PoolInfo, vtype: VolumeType, name: &str) -> Result<()> {
        incus_sys::fsutil::remove_tree(&pool.volume_path(vtype, name))
    }

    fn rename_volume(
        &self,
        pool: &PoolInfo,
        vtype: VolumeType,
        old: &str,
        new: &str,
    ) -> Result<()> {
        let to = pool.volume_path(vtype, new);
        if to.exists() {
            return Err(Error::conflict(format!("{} already exists", to.display())));
        }
        std::fs::rename(pool.volume_path(vtype, old), to)?;
        Ok(())
    }

    fn resources(&self, pool: &PoolInfo) -> Result<StoragePoolResources> {
        let st = statvfs(&pool.path)?;
        Ok(StoragePoolResources {
            space: ResourceUsage {
                used: (st.blocks - st.bfree) * st.frsize,
                total: st.blocks * st.frsize,
            },
            inodes: ResourceUsage {
                used: st.files - st.ffree,
                total: st.files,
            },
        })
    }
}

struct Vfs {
    blocks: u64,
    bfree: u64,
    frsize: u64,
    files: u64,
    ffree: u64,
}

fn statvfs(path: &Path) -> Result<Vfs> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::invalid("Path contains NUL"))?;
    let mut st: libc_statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid C string and a zeroed out-struct of the right type.
    let rc = unsafe { statvfs_sys(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(Vfs {
        blocks: st.f_blocks,
        bfree: st.f_bfree,
        frsize: st.f_frsize,
        files: st.f_files,
        ffree: st.f_ffree,
    })
}

#[allow(non_camel_case_types)]
type libc_statvfs = libc::statvfs;
use libc::statvfs as statvfs_sys;
