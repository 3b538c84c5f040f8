//! The `dir` driver: volumes are plain directories (upstream's layout).

use super::{
    check_source_location, validate_common_key, Driver, ImageFiller, PoolInfo, VolumeType,
};
use crate::{Context, Error, Result};
use incus_api::{Config, ResourceUsage, StoragePoolResources};
use std::path::{Path, PathBuf};

/// Plain directories on the host filesystem.
pub struct DirDriver;

use super::TYPE_DIRS;

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
        super::make_layout(&pool.path)
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
        super::set_mode(&path, super::volume_mode(vtype))?;
        Ok(path)
    }

    fn delete_volume(&self, pool: &PoolInfo, vtype: VolumeType, name: &str) -> Result<()> {
        // A copy killed midway leaves its staging directory: it goes too.
        incus_sys::fsutil::remove_tree(&staging(&pool.volume_path(vtype, name), "copy"))?;
        incus_sys::fsutil::remove_tree(&pool.volume_path(vtype, name))
    }

    fn create_snapshot(
        &self,
        pool: &PoolInfo,
        vtype: VolumeType,
        vol: &str,
        snap: &str,
    ) -> Result<()> {
        let to = pool.snapshot_path(vtype, vol, snap);
        if to.exists() {
            return Err(Error::conflict(format!(
                "Snapshot \"{snap}\" already exists on disk"
            )));
        }
        std::fs::create_dir_all(to.parent().unwrap_or(Path::new("/")))?;
        // Copied under a staging name and renamed into place: a snapshot directory
        // that exists is complete.
        let tmp = snapshot_staging(pool, vtype, vol, snap);
        incus_sys::fsutil::remove_tree(&tmp)?;
        incus_sys::copytree::copy_tree(&pool.volume_path(vtype, vol), &tmp)?;
        std::fs::rename(&tmp, &to)?;
        Ok(())
    }

    fn delete_snapshot(
        &self,
        pool: &PoolInfo,
        vtype: VolumeType,
        vol: &str,
        snap: &str,
    ) -> Result<()> {
        let path = pool.snapshot_path(vtype, vol, snap);
        incus_sys::fsutil::remove_tree(&snapshot_staging(pool, vtype, vol, snap))?;
        incus_sys::fsutil::remove_tree(&path)?;
        // The per-volume directory goes with its last snapshot.
        if let Some(parent) = path.parent() {
            let _ = std::fs::remove_dir(parent);
        }
        Ok(())
    }

    fn restore_snapshot(
        &self,
        pool: &PoolInfo,
        vtype: VolumeType,
        vol: &str,
        snap: &str,
    ) -> Result<()> {
        let from = pool.snapshot_path(vtype, vol, snap);
        if !from.is_dir() {
            return Err(Error::not_found(format!(
                "Snapshot \"{snap}\" has no data on disk"
            )));
        }
        let live = pool.volume_path(vtype, vol);
        // Copy beside, swap in one step, remove the old: a crash leaves the old or
        // the new content in place, and at worst a staging directory that the next
        // restore (or delete) removes.
        let tmp = staging(&live, "restore");
        incus_sys::fsutil::remove_tree(&tmp)?;
        incus_sys::copytree::copy_tree(&from, &tmp)?;
        incus_sys::copytree::exchange(&tmp, &live)?;
        incus_sys::fsutil::remove_tree(&tmp)
    }

    fn copy_volume(
        &self,
        pool: &PoolInfo,
        vtype: VolumeType,
        src: &str,
        src_snap: Option<&str>,
        dst: &str,
    ) -> Result<PathBuf> {
        let from = match src_snap {
            Some(s) => pool.snapshot_path(vtype, src, s),
            None => pool.volume_path(vtype, src),
        };
        copy_new_volume(&from, &pool.volume_path(vtype, dst))
    }

    /// One unpacked copy of the image per pool, copied for each new volume: a copy
    /// costs a fraction of decompressing the image again (busybox: ~150 -> ~30 ms).
    fn create_volume_from_image(
        &self,
        ctx: &Context,
        pool: &PoolInfo,
        vtype: VolumeType,
        name: &str,
        fingerprint: &str,
        fill: ImageFiller,
    ) -> Result<PathBuf> {
        let image = super::image_volume(
            ctx,
            pool,
            fingerprint,
            fill,
            super::ImageVolumeOps {
                create: &|p| Ok(std::fs::create_dir(p)?),
                seal: &|_| Ok(()),
                delete: &|p| incus_sys::fsutil::remove_tree(p),
            },
        )?;
        copy_new_volume(&image, &pool.volume_path(vtype, name))
    }

    fn delete_image_volume(&self, pool: &PoolInfo, fingerprint: &str) -> Result<()> {
        incus_sys::fsutil::remove_tree(&super::image_volume_staging(pool, fingerprint))?;
        incus_sys::fsutil::remove_tree(&pool.volume_path(VolumeType::Image, fingerprint))
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

/// Copies `from` to the new volume `to` through a staging directory, so a killed copy
/// never leaves a partial volume under the final name.
fn copy_new_volume(from: &Path, to: &Path) -> Result<PathBuf> {
    if to.exists() {
        return Err(Error::conflict(format!(
            "Create volume {}: already exists",
            to.display()
        )));
    }
    std::fs::create_dir_all(to.parent().unwrap_or(Path::new("/")))?;
    let tmp = staging(to, "copy");
    incus_sys::fsutil::remove_tree(&tmp)?;
    incus_sys::copytree::copy_tree(from, &tmp)?;
    std::fs::rename(&tmp, to)?;
    Ok(to.to_path_buf())
}

/// A staging path beside `path` (`.NAME.what`): instance names never start with a
/// dot or contain one, so it cannot collide with a volume or snapshot.
fn staging(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{what}"))
}

/// Where a snapshot is copied before it is renamed into place: beside the volumes'
/// snapshot directories (`.VOL.SNAP.tmp`; a volume name has no dot, so the pair is
/// unambiguous, and snapshot names may start with a dot so it cannot live inside).
fn snapshot_staging(pool: &PoolInfo, vtype: VolumeType, vol: &str, snap: &str) -> PathBuf {
    pool.path
        .join(format!("{}-snapshots", vtype.dir_name()))
        .join(format!(".{vol}.{snap}.tmp"))
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
    let st = incus_sys::at::statvfs(&c)?;
    Ok(Vfs {
        blocks: st.f_blocks,
        bfree: st.f_bfree,
        frsize: st.f_frsize,
        files: st.f_files,
        ffree: st.f_ffree,
    })
}

#[allow(non_camel_case_types)]
#[cfg(test)]
mod tests {
    use super::*;

    fn pool(dir: &Path) -> PoolInfo {
        for d in TYPE_DIRS {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        PoolInfo {
            name: "p".into(),
            driver: "dir".into(),
            config: Config::new(),
            path: dir.to_path_buf(),
            projects: Default::default(),
        }
    }

    #[test]
    fn snapshot_restore_copy_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = pool(dir.path());
        let d = DirDriver;
        let ct = VolumeType::Container;
        let vol = d.create_volume(&p, ct, "c1").unwrap();
        std::fs::create_dir(vol.join("rootfs")).unwrap();
        std::fs::write(vol.join("rootfs/f"), b"one").unwrap();
        d.create_snapshot(&p, ct, "c1", "snap0").unwrap();
        assert!(d.create_snapshot(&p, ct, "c1", "snap0").is_err());
        std::fs::write(vol.join("rootfs/f"), b"two").unwrap();
        std::fs::write(vol.join("rootfs/g"), b"new").unwrap();
        // A stale staging directory from a killed restore is cleared first.
        std::fs::create_dir(dir.path().join("containers/.c1.restore")).unwrap();
        d.restore_snapshot(&p, ct, "c1", "snap0").unwrap();
        assert_eq!(std::fs::read(vol.join("rootfs/f")).unwrap(), b"one");
        assert!(!vol.join("rootfs/g").exists());
        assert!(!dir.path().join("containers/.c1.restore").exists());
        let c2 = d.copy_volume(&p, ct, "c1", Some("snap0"), "c2").unwrap();
        assert_eq!(std::fs::read(c2.join("rootfs/f")).unwrap(), b"one");
        d.rename_snapshot(&p, ct, "c1", "snap0", "s1").unwrap();
        d.delete_snapshot(&p, ct, "c1", "s1").unwrap();
        d.delete_snapshot(&p, ct, "c1", "s1").unwrap();
        assert!(!dir.path().join("containers-snapshots/c1").exists());
    }
}
