//! The `btrfs` driver: volumes are subvolumes, snapshots are read-only subvolume
//! snapshots, copies and image-based volumes are writable snapshots (constant time),
//! sizes are qgroup limits. The pool is an existing btrfs directory (`source=/path`),
//! a block device (`source=/dev/...`, formatted by us) or a loop file we create
//! (`INCUS_DIR/disks/POOL.img`), mounted at `INCUS_DIR/storage-pools/POOL` and
//! re-mounted by the first command that needs it after a reboot.
//!
//! Subvolume create, snapshot and delete use the ioctls directly (a few µs each,
//! where spawning `btrfs` costs milliseconds); quotas and formatting use btrfs-progs.

use super::{
    check_source_location, validate_common_key, DirDriver, Driver, ImageFiller, PoolInfo,
    VolumeType,
};
use crate::{Context, Error, Result};
use incus_api::{keys, Config, StoragePoolResources};
use std::ffi::CString;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Subvolumes, snapshots and qgroups on a btrfs filesystem.
pub struct BtrfsDriver;

const BTRFS_SUPER_MAGIC: i64 = 0x9123_683E;
/// Smallest loop file we format: below this mkfs.btrfs fails or leaves no room.
pub const MIN_LOOP_SIZE: u64 = 256 << 20;
/// Loop file size when `size` is not given (sparse: costs nothing until written).
const DEFAULT_LOOP_SIZE: u64 = 5 << 30;
/// Upstream's default mount options.
const DEFAULT_MOUNT_OPTIONS: &str = "user_subvol_rm_allowed";

use super::TYPE_DIRS;

// --- ioctls (linux/btrfs.h) -------------------------------------------------

use incus_sys::btrfs::{SUBVOL_NAME_MAX, SUBVOL_RDONLY, VOL_NAME_MAX};

/// A subvolume name the ioctls take: one component, shorter than `max`.
fn check_name(name: &std::ffi::OsStr, max: usize) -> Result<()> {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > max || b.contains(&0) || b.contains(&b'/') {
        return Err(Error::invalid(format!(
            "Invalid subvolume name {:?}",
            name.to_string_lossy()
        )));
    }
    Ok(())
}

fn split(path: &Path) -> Result<(std::fs::File, &std::ffi::OsStr)> {
    let parent = path
        .parent()
        .ok_or_else(|| Error::invalid(format!("No parent: {}", path.display())))?;
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("No name: {}", path.display())))?;
    let dir = std::fs::File::open(parent)
        .map_err(|e| Error::internal(format!("Open {}: {e}", parent.display())))?;
    Ok((dir, name))
}

fn ioctl_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    let msg = format!("{what} {}: {e}", path.display());
    match e.raw_os_error() {
        Some(libc::EEXIST) => Error::conflict(msg),
        Some(libc::ENOENT) => Error::not_found(msg),
        Some(libc::EDQUOT) | Some(libc::ENOSPC) => Error::invalid(msg),
        _ => Error::internal(msg),
    }
}

/// Creates an empty subvolume at `path`.
pub fn subvol_create(path: &Path) -> Result<()> {
    let (dir, name) = split(path)?;
    check_name(name, VOL_NAME_MAX)?;
    incus_sys::btrfs::subvol_create(dir.as_fd(), name)
        .map_err(|e| ioctl_err("Create subvolume", path, e))
}

/// Snapshots subvolume `src` to `dst` (read-only when asked).
pub fn subvol_snapshot(src: &Path, dst: &Path, readonly: bool) -> Result<()> {
    let source = std::fs::File::open(src)
        .map_err(|e| Error::not_found(format!("Open {}: {e}", src.display())))?;
    let (dir, name) = split(dst)?;
    check_name(name, SUBVOL_NAME_MAX)?;
    incus_sys::btrfs::snapshot_create(dir.as_fd(), name, source.as_fd(), readonly)
        .map_err(|e| ioctl_err("Snapshot into", dst, e))
}

/// Deletes subvolume `path` (read-only ones too); missing is fine.
pub fn subvol_delete(path: &Path) -> Result<()> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    let (dir, name) = split(path)?;
    check_name(name, VOL_NAME_MAX)?;
    incus_sys::btrfs::subvol_destroy(dir.as_fd(), name)
        .map_err(|e| ioctl_err("Delete subvolume", path, e))
}

/// Sets or clears the read-only flag of a subvolume.
pub fn subvol_set_readonly(path: &Path, readonly: bool) -> Result<()> {
    let f = std::fs::File::open(path)
        .map_err(|e| Error::not_found(format!("Open {}: {e}", path.display())))?;
    let flags = incus_sys::btrfs::subvol_flags(f.as_fd())
        .map_err(|e| ioctl_err("Read flags of", path, e))?;
    let flags = if readonly {
        flags | SUBVOL_RDONLY
    } else {
        flags & !SUBVOL_RDONLY
    };
    incus_sys::btrfs::set_subvol_flags(f.as_fd(), flags)
        .map_err(|e| ioctl_err("Set flags of", path, e))
}

/// A subvolume's root directory always has inode 256 on btrfs.
fn is_subvolume(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .map(|m| m.is_dir() && m.ino() == 256)
        .unwrap_or(false)
}

/// Deletes a volume whether it is a subvolume or (left by a crash) a plain directory.
/// Subvolumes made inside it (e.g. by systemd or docker in a container) go first.
fn delete_any(path: &Path) -> Result<()> {
    if !is_subvolume(path) {
        return incus_sys::fsutil::remove_tree(path);
    }
    match subvol_delete(path) {
        Err(_) if has_nested(path) => {
            delete_nested(path)?;
            subvol_delete(path)
        }
        r => r,
    }
}

fn has_nested(path: &Path) -> bool {
    let mut found = false;
    walk_nested(path, &mut |_| found = true);
    found
}

/// Calls `f` on every subvolume root strictly inside `dir` (not descending into them).
fn walk_nested(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            if is_subvolume(&p) {
                f(&p);
            } else {
                walk_nested(&p, f);
            }
        }
    }
}

fn delete_nested(dir: &Path) -> Result<()> {
    let mut nested = Vec::new();
    walk_nested(dir, &mut |p| nested.push(p.to_path_buf()));
    for p in nested {
        // Read-only nested snapshots must be made writable to empty them.
        let _ = subvol_set_readonly(&p, false);
        delete_any(&p)?;
    }
    Ok(())
}

fn is_btrfs(path: &Path) -> Result<bool> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::invalid("Path contains NUL"))?;
    let st = incus_sys::at::statfs(&c)
        .map_err(|e| Error::invalid(format!("Source path {} is unusable: {e}", path.display())))?;
    Ok(st.f_type as i64 == BTRFS_SUPER_MAGIC)
}

/// True when something is mounted on `path` (its device differs from its parent's).
fn is_mountpoint(path: &Path) -> bool {
    match (
        std::fs::metadata(path),
        path.parent().map(std::fs::metadata),
    ) {
        (Ok(m), Some(Ok(p))) => m.dev() != p.dev(),
        _ => false,
    }
}

/// Runs a btrfs-progs (or util-linux) command; its stderr becomes the error.
fn run(prog: &str, args: &[&std::ffi::OsStr]) -> Result<String> {
    let out = Command::new(prog).args(args).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::unsupported(format!("{prog} is not installed (install btrfs-progs)"))
        } else {
            Error::internal(format!("Run {prog}: {e}"))
        }
    })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err.trim();
        return Err(Error::invalid(format!(
            "{prog} {} failed: {}",
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            if err.is_empty() {
                String::from_utf8_lossy(&out.stdout).trim().to_string()
            } else {
                err.to_string()
            }
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

/// Where the pool's filesystem comes from.
enum Source {
    /// An existing btrfs directory (reached through a symlink, like `dir`).
    Dir(PathBuf),
    /// A block device we formatted and mount.
    Block(PathBuf),
    /// A loop file we created, formatted and mount.
    Loop(PathBuf),
}

fn source_of(ctx: &Context, pool: &PoolInfo) -> Source {
    match pool.config.get("source").filter(|s| !s.is_empty()) {
        None => Source::Loop(loop_file(ctx, &pool.name)),
        Some(s) => {
            let p = PathBuf::from(s);
            let meta = std::fs::metadata(&p);
            if meta.as_ref().is_ok_and(|m| m.file_type().is_block_device())
                || s.starts_with("/dev/")
            {
                Source::Block(p)
            } else if meta.map(|m| m.is_file()).unwrap_or(false) || p.starts_with(disks_dir(ctx)) {
                Source::Loop(p)
            } else {
                Source::Dir(p)
            }
        }
    }
}

fn disks_dir(ctx: &Context) -> PathBuf {
    ctx.incus_dir.join("disks")
}

fn loop_file(ctx: &Context, pool: &str) -> PathBuf {
    disks_dir(ctx).join(format!("{pool}.img"))
}

fn mount_options(pool: &PoolInfo) -> String {
    pool.config
        .get("btrfs.mount_options")
        .cloned()
        .unwrap_or_else(|| DEFAULT_MOUNT_OPTIONS.to_string())
}

fn mount(dev: &Path, target: &Path, looped: bool, options: &str) -> Result<()> {
    let opts = if looped {
        // util-linux sets autoclear: unmounting detaches the loop device.
        format!("loop,{options}")
    } else {
        options.to_string()
    };
    run(
        "mount",
        &[
            os("-t"),
            os("btrfs"),
            os("-o"),
            os(&opts),
            dev.as_os_str(),
            target.as_os_str(),
        ],
    )?;
    Ok(())
}

fn umount(target: &Path) -> Result<()> {
    if is_mountpoint(target) {
        run("umount", &[target.as_os_str()])?;
    }
    Ok(())
}

fn make_layout(root: &Path) -> Result<()> {
    super::make_layout(root)
}

/// The referenced bytes and limit of a subvolume's qgroup; `None` when quotas are off.
fn qgroup_of(path: &Path) -> Result<Option<(u64, Option<u64>)>> {
    let out = Command::new("btrfs")
        .args([
            os("qgroup"),
            os("show"),
            os("--raw"),
            os("-r"),
            os("-f"),
            path.as_os_str(),
        ])
        .output()
        .map_err(|e| Error::unsupported(format!("Run btrfs (install btrfs-progs): {e}")))?;
    if !out.status.success() {
        return Ok(None);
    }
    // "Qgroupid Referenced Exclusive MaxRfer [Path]": the first 0/ID row is ours.
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() >= 4 && cols[0].starts_with("0/") {
            let used = cols[1].parse().unwrap_or(0);
            let limit = cols[3].parse().ok();
            return Ok(Some((used, limit)));
        }
    }
    Ok(None)
}

/// Turns quotas on for the pool's filesystem the first time a size is set.
fn ensure_quota(pool: &Path, vol: &Path) -> Result<()> {
    if qgroup_of(vol)?.is_some() {
        return Ok(());
    }
    run("btrfs", &[os("quota"), os("enable"), pool.as_os_str()])?;
    run(
        "btrfs",
        &[os("quota"), os("rescan"), os("-w"), pool.as_os_str()],
    )?;
    Ok(())
}

/// Swaps two paths atomically (`renameat2(RENAME_EXCHANGE)`).
fn exchange(a: &Path, b: &Path) -> Result<()> {
    let ca = CString::new(a.as_os_str().as_bytes()).map_err(|_| Error::invalid("NUL"))?;
    let cb = CString::new(b.as_os_str().as_bytes()).map_err(|_| Error::invalid("NUL"))?;
    incus_sys::at::exchange(&ca, &cb).map_err(|e| ioctl_err("Exchange with", a, e))
}

/// The temporary name a restore builds the new content under; leftovers are removed
/// by the next restore of the same volume (they hold either old or new content, and
/// the volume path always holds a complete one).
fn restore_tmp(pool: &PoolInfo, vtype: VolumeType, vol: &str) -> PathBuf {
    pool.path
        .join(vtype.dir_name())
        .join(format!(".{}.restore", pool.disk_name(vtype, vol)))
}

impl BtrfsDriver {
    fn create_loop(&self, ctx: &Context, pool: &mut PoolInfo) -> Result<()> {
        let size = match pool.config.get("size") {
            Some(s) => keys::parse_size(s)?,
            None => DEFAULT_LOOP_SIZE,
        };
        if size < MIN_LOOP_SIZE {
            return Err(Error::invalid(format!(
                "Pool size {} is too small: a btrfs loop file needs at least {} MiB",
                pool.config.get("size").cloned().unwrap_or_default(),
                MIN_LOOP_SIZE >> 20
            )));
        }
        let file = loop_file(ctx, &pool.name);
        // the loop file holds every volume's bytes: root only, as upstream's disks/ (0700)
        std::fs::create_dir_all(disks_dir(ctx))?;
        super::set_mode(&disks_dir(ctx), 0o700)?;
        // The caller holds the pool lock and found no row: a file or mount left here
        // is a killed create's, ours to remove.
        if file.exists() {
            umount(&pool.path)?;
            let _ = std::fs::remove_dir(&pool.path);
            std::fs::remove_file(&file)?;
        }
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file)
            .map_err(|e| Error::conflict(format!("Create {}: {e}", file.display())))?;
        let made = (|| -> Result<()> {
            f.set_len(size)?;
            drop(f);
            run("mkfs.btrfs", &[os("-q"), file.as_os_str()])?;
            std::fs::create_dir(&pool.path)
                .map_err(|e| Error::conflict(format!("Create {}: {e}", pool.path.display())))?;
            if let Err(e) = mount(&file, &pool.path, true, &mount_options(pool)) {
                let _ = std::fs::remove_dir(&pool.path);
                return Err(e);
            }
            if let Err(e) = make_layout(&pool.path) {
                let _ = umount(&pool.path);
                let _ = std::fs::remove_dir(&pool.path);
                return Err(e);
            }
            Ok(())
        })();
        if let Err(e) = made {
            let _ = std::fs::remove_file(&file);
            return Err(e);
        }
        pool.config
            .insert("source".into(), file.display().to_string());
        pool.config
            .entry("size".into())
            .or_insert_with(|| format!("{}GiB", DEFAULT_LOOP_SIZE >> 30));
        Ok(())
    }

    fn create_block(&self, pool: &PoolInfo, dev: &Path) -> Result<()> {
        let meta = std::fs::metadata(dev).map_err(|e| {
            Error::invalid(format!("Source device {} is unusable: {e}", dev.display()))
        })?;
        if !meta.file_type().is_block_device() {
            return Err(Error::invalid(format!(
                "Source {} is not a block device",
                dev.display()
            )));
        }
        let wipe = pool
            .config
            .get("source.wipe")
            .and_then(|v| keys::parse_bool(v))
            .unwrap_or(false);
        // Without source.wipe, mkfs.btrfs refuses a device that holds a filesystem.
        let mut args = vec![os("-q")];
        if wipe {
            args.push(os("-f"));
        }
        args.push(dev.as_os_str());
        run("mkfs.btrfs", &args)?;
        std::fs::create_dir(&pool.path)
            .map_err(|e| Error::conflict(format!("Create {}: {e}", pool.path.display())))?;
        if let Err(e) = mount(dev, &pool.path, false, &mount_options(pool))
            .and_then(|_| make_layout(&pool.path))
        {
            let _ = umount(&pool.path);
            let _ = std::fs::remove_dir(&pool.path);
            return Err(e);
        }
        Ok(())
    }

    fn create_on_dir(&self, ctx: &Context, pool: &PoolInfo, source: &Path) -> Result<()> {
        if !source.is_absolute() {
            return Err(Error::invalid(format!(
                "Storage pool source must be an absolute path, not \"{}\"",
                source.display()
            )));
        }
        check_source_location(ctx, source)?;
        let meta = std::fs::metadata(source).map_err(|e| {
            Error::invalid(format!("Source path {} is unusable: {e}", source.display()))
        })?;
        if !meta.is_dir() {
            return Err(Error::invalid(format!(
                "Source path {} is not a directory",
                source.display()
            )));
        }
        if !is_btrfs(source)? {
            return Err(Error::invalid(format!(
                "Source path {} is not on a btrfs filesystem",
                source.display()
            )));
        }
        if std::fs::read_dir(source)?.next().is_some() {
            return Err(Error::invalid(format!(
                "Source path {} is not empty",
                source.display()
            )));
        }
        if pool.config.contains_key("size") {
            return Err(Error::invalid(
                "\"size\" only applies to a loop file pool (no source)",
            ));
        }
        std::os::unix::fs::symlink(source, &pool.path)
            .map_err(|e| Error::conflict(format!("Create {}: {e}", pool.path.display())))?;
        if let Err(e) = make_layout(&pool.path) {
            for d in TYPE_DIRS {
                let _ = std::fs::remove_dir(source.join(d));
            }
            let _ = std::fs::remove_file(&pool.path);
            return Err(e);
        }
        Ok(())
    }

    fn vol_path(&self, pool: &PoolInfo, vtype: VolumeType, name: &str) -> PathBuf {
        pool.volume_path(vtype, name)
    }
}

impl Driver for BtrfsDriver {
    fn name(&self) -> &'static str {
        "btrfs"
    }

    fn validate_config(&self, config: &Config) -> Result<()> {
        for (key, value) in config {
            if !(validate_common_key(key) || key == "btrfs.mount_options") {
                return Err(Error::invalid(format!(
                    "Invalid option for storage driver \"btrfs\": \"{key}\""
                )));
            }
            match key.as_str() {
                "size" | "volume.size" if !value.is_empty() => {
                    keys::parse_size(value)?;
                }
                "source.wipe" if keys::parse_bool(value).is_none() => {
                    return Err(Error::invalid(format!(
                        "Invalid value for \"source.wipe\": \"{value}\""
                    )))
                }
                _ => {}
            }
            if let Some(vkey) = key.strip_prefix("volume.") {
                super::volume::validate_volume_key(vkey, value)?;
            }
        }
        Ok(())
    }

    fn create_pool(&self, ctx: &Context, pool: &mut PoolInfo) -> Result<()> {
        ctx.ensure_pools_dir()?;
        if which("mkfs.btrfs").is_none() {
            return Err(Error::unsupported(
                "The btrfs driver needs btrfs-progs (mkfs.btrfs, btrfs): install it",
            ));
        }
        let leftover = matches!(source_of(ctx, pool), Source::Loop(_))
            && !pool.config.contains_key("source")
            && loop_file(ctx, &pool.name).exists();
        if !leftover && std::fs::symlink_metadata(&pool.path).is_ok() {
            return Err(Error::conflict(format!(
                "{} already exists",
                pool.path.display()
            )));
        }
        match source_of(ctx, pool) {
            Source::Loop(_) if pool.config.contains_key("source") => Err(Error::invalid(
                "A btrfs pool source must be a directory on btrfs or a block device",
            )),
            Source::Loop(_) => self.create_loop(ctx, pool),
            Source::Block(dev) => {
                if pool.config.contains_key("size") {
                    return Err(Error::invalid(
                        "\"size\" only applies to a loop file pool (no source)",
                    ));
                }
                self.create_block(pool, &dev)
            }
            Source::Dir(dir) => self.create_on_dir(ctx, pool, &dir),
        }
    }

    fn delete_pool(&self, ctx: &Context, pool: &PoolInfo) -> Result<()> {
        let meta = match std::fs::symlink_metadata(&pool.path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if !meta.file_type().is_symlink() && self.mount_pool(ctx, pool).is_err() {
            // The source is gone (or unusable): nothing of ours to empty; drop the rest.
            if let Source::Loop(file) = source_of(ctx, pool) {
                let _ = std::fs::remove_file(file);
            }
            let _ = std::fs::remove_dir(&pool.path);
            return Ok(());
        }
        // Only cached image volumes (and their leftovers) can remain in an unused pool.
        let images = pool.path.join("images");
        if let Ok(rd) = std::fs::read_dir(&images) {
            for e in rd.flatten() {
                delete_any(&e.path())?;
            }
        }
        for d in TYPE_DIRS {
            let p = pool.path.join(d);
            if let Ok(rd) = std::fs::read_dir(&p) {
                for e in rd.flatten() {
                    if is_subvolume(&e.path()) {
                        subvol_delete(&e.path())?;
                    }
                }
            }
            incus_sys::fsutil::remove_tree(&p)?;
        }
        match source_of(ctx, pool) {
            Source::Dir(_) => std::fs::remove_file(&pool.path)?,
            Source::Block(_) => {
                umount(&pool.path)?;
                std::fs::remove_dir(&pool.path)?;
            }
            Source::Loop(file) => {
                umount(&pool.path)?;
                std::fs::remove_dir(&pool.path)?;
                match std::fs::remove_file(&file) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn create_volume(&self, pool: &PoolInfo, vtype: VolumeType, name: &str) -> Result<PathBuf> {
        let path = self.vol_path(pool, vtype, name);
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("/")))?;
        subvol_create(&path)?;
        super::set_mode(&path, super::volume_mode(vtype))?;
        Ok(path)
    }

    fn delete_volume(&self, pool: &PoolInfo, vtype: VolumeType, name: &str) -> Result<()> {
        // With the leftover of a restore killed after its swap (the old content).
        delete_any(&restore_tmp(pool, vtype, name))?;
        delete_any(&self.vol_path(pool, vtype, name))
    }

    fn rename_volume(
        &self,
        pool: &PoolInfo,
        vtype: VolumeType,
        old: &str,
        new: &str,
    ) -> Result<()> {
        let to = self.vol_path(pool, vtype, new);
        if to.exists() {
            return Err(Error::conflict(format!("{} already exists", to.display())));
        }
        std::fs::rename(self.vol_path(pool, vtype, old), to)?;
        Ok(())
    }

    fn resources(&self, pool: &PoolInfo) -> Result<StoragePoolResources> {
        // statvfs of the mounted filesystem, as for dir.
        DirDriver.resources(pool)
    }

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
                create: &|p| subvol_create(p),
                seal: &|p| subvol_set_readonly(p, true),
                delete: &|p| delete_any(p),
            },
        )?;
        let path = self.vol_path(pool, vtype, name);
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new("/")))?;
        subvol_snapshot(&image, &path, false)?;
        Ok(path)
    }

    fn delete_image_volume(&self, pool: &PoolInfo, fingerprint: &str) -> Result<()> {
        delete_any(&super::image_volume_staging(pool, fingerprint))?;
        delete_any(&pool.volume_path(VolumeType::Image, fingerprint))
    }

    fn snapshot_needs_freeze(&self) -> bool {
        false
    }

    fn create_snapshot(
        &self,
        pool: &PoolInfo,
        vtype: VolumeType,
        vol: &str,
        snap: &str,
    ) -> Result<()> {
        let dst = pool.snapshot_path(vtype, vol, snap);
        std::fs::create_dir_all(dst.parent().unwrap_or(Path::new("/")))?;
        subvol_snapshot(&self.vol_path(pool, vtype, vol), &dst, true)
    }

    fn delete_snapshot(
        &self,
        pool: &PoolInfo,
        vtype: VolumeType,
        vol: &str,
        snap: &str,
    ) -> Result<()> {
        let path = pool.snapshot_path(vtype, vol, snap);
        delete_any(&path)?;
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
        let snap_path = pool.snapshot_path(vtype, vol, snap);
        if !snap_path.exists() {
            return Err(Error::not_found(format!(
                "Snapshot {} not found",
                snap_path.display()
            )));
        }
        let cur = self.vol_path(pool, vtype, vol);
        let tmp = restore_tmp(pool, vtype, vol);
        // A leftover of a killed restore holds old or new content; the volume path
        // holds a complete one either way.
        delete_any(&tmp)?;
        subvol_snapshot(&snap_path, &tmp, false)?;
        incus_sys::testhook::pause_point("btrfs-restore-before-swap");
        exchange(&cur, &tmp)?;
        incus_sys::testhook::pause_point("btrfs-restore-after-swap");
        // The restore is done; the old content may still be busy (mounted by a running
        // instance): then the next restore or the volume's delete removes it.
        let _ = delete_any(&tmp);
        Ok(())
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
            None => self.vol_path(pool, vtype, src),
        };
        let to = self.vol_path(pool, vtype, dst);
        std::fs::create_dir_all(to.parent().unwrap_or(Path::new("/")))?;
        subvol_snapshot(&from, &to, false)?;
        Ok(to)
    }

    fn set_quota(
        &self,
        pool: &PoolInfo,
        vtype: VolumeType,
        vol: &str,
        size: Option<u64>,
    ) -> Result<()> {
        let path = self.vol_path(pool, vtype, vol);
        match size {
            None => {
                if qgroup_of(&path)?.is_some() {
                    run(
                        "btrfs",
                        &[os("qgroup"), os("limit"), os("none"), path.as_os_str()],
                    )?;
                }
            }
            Some(size) => {
                ensure_quota(&pool.path, &path)?;
                let used = self.volume_usage(pool, vtype, vol)?;
                if size < used {
                    return Err(Error::invalid(format!(
                        "Size {size} is below the volume's current usage ({used} bytes)"
                    )));
                }
                run(
                    "btrfs",
                    &[
                        os("qgroup"),
                        os("limit"),
                        os(&size.to_string()),
                        path.as_os_str(),
                    ],
                )?;
            }
        }
        Ok(())
    }

    fn volume_usage(&self, pool: &PoolInfo, vtype: VolumeType, vol: &str) -> Result<u64> {
        let path = self.vol_path(pool, vtype, vol);
        // Accounting is updated at commit: sync first so the number is current.
        if let Ok(f) = std::fs::File::open(&path) {
            let _ = incus_sys::at::syncfs(f.as_fd());
        }
        match qgroup_of(&path)? {
            Some((used, _)) => Ok(used),
            None => Ok(incus_sys::fsutil::disk_usage(&path)),
        }
    }

    fn update_pool(&self, ctx: &Context, pool: &PoolInfo, new: &Config) -> Result<()> {
        if pool.config.get("size") == new.get("size") {
            return Ok(());
        }
        let Source::Loop(file) = source_of(ctx, pool) else {
            return Err(Error::invalid(
                "\"size\" only applies to a loop file pool (no source)",
            ));
        };
        let size = match new.get("size") {
            Some(v) => keys::parse_size(v)?,
            None => {
                return Err(Error::invalid(
                    "The size of a loop file pool cannot be unset",
                ))
            }
        };
        let cur = std::fs::metadata(&file)?.len();
        if size < cur {
            return Err(Error::invalid(format!(
                "Cannot shrink storage pool \"{}\" ({cur} bytes now, {size} asked)",
                pool.name
            )));
        }
        if size == cur {
            return Ok(());
        }
        self.mount_pool(ctx, pool)?;
        let dev = loop_device_of(&file)
            .ok_or_else(|| Error::internal(format!("No loop device backs {}", file.display())))?;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&file)?
            .set_len(size)?;
        // The loop device learns the new size, then the filesystem takes it.
        run("losetup", &[os("-c"), dev.as_os_str()])?;
        run(
            "btrfs",
            &[
                os("filesystem"),
                os("resize"),
                os("max"),
                pool.path.as_os_str(),
            ],
        )?;
        Ok(())
    }

    fn mount_pool(&self, ctx: &Context, pool: &PoolInfo) -> Result<()> {
        let (dev, looped) = match source_of(ctx, pool) {
            Source::Dir(_) => return Ok(()),
            Source::Block(d) => (d, false),
            Source::Loop(f) => (f, true),
        };
        if is_mountpoint(&pool.path) {
            return Ok(());
        }
        // Two commands after a reboot may both find it unmounted: one mounts.
        let _lock = ctx.lock_pool_mount(&pool.name)?;
        if is_mountpoint(&pool.path) {
            return Ok(());
        }
        if !dev.exists() {
            return Err(Error::not_found(format!(
                "The source of storage pool \"{}\" is missing: {}",
                pool.name,
                dev.display()
            )));
        }
        std::fs::create_dir_all(&pool.path)?;
        mount(&dev, &pool.path, looped, &mount_options(pool))
    }
}

/// The loop device whose backing file is `file` (from sysfs).
fn loop_device_of(file: &Path) -> Option<PathBuf> {
    let file = std::fs::canonicalize(file).ok()?;
    std::fs::read_dir("/sys/block")
        .ok()?
        .flatten()
        .find_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let backing = std::fs::read_to_string(e.path().join("loop/backing_file")).ok()?;
            (name.starts_with("loop") && Path::new(backing.trim()) == file)
                .then(|| PathBuf::from("/dev").join(name))
        })
}

fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(prog))
        .find(|p| p.is_file())
}
