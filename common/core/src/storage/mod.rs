//! Storage pools and volumes. Callers go through [`Driver`], so btrfs (and later
//! others) plug in without touching them.

mod btrfs;
mod dir;
pub mod volume;

use crate::{events, names, time, Context, Error, Result};
use incus_api::{Config, StoragePool, StoragePoolResources, StorageVolume};
use incus_db::{PoolRow, VolumeRow};
use std::path::{Path, PathBuf};

pub use btrfs::BtrfsDriver;
pub use dir::DirDriver;

/// Volume types, as upstream names them in URLs and on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeType {
    Container,
    Image,
    Custom,
}

impl VolumeType {
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeType::Container => "container",
            VolumeType::Image => "image",
            VolumeType::Custom => "custom",
        }
    }
    /// The directory of this type inside a pool (upstream layout).
    pub fn dir_name(self) -> &'static str {
        match self {
            VolumeType::Container => "containers",
            VolumeType::Image => "images",
            VolumeType::Custom => "custom",
        }
    }
    pub fn parse(s: &str) -> Result<VolumeType> {
        match s {
            "container" | "containers" => Ok(VolumeType::Container),
            "image" | "images" => Ok(VolumeType::Image),
            "custom" => Ok(VolumeType::Custom),
            other => Err(Error::invalid(format!(
                "Invalid storage volume type \"{other}\""
            ))),
        }
    }
}

/// What a driver needs to know about its pool.
#[derive(Debug, Clone)]
pub struct PoolInfo {
    pub name: String,
    pub driver: String,
    pub config: Config,
    /// `INCUS_DIR/storage-pools/NAME`: where the pool's tree is reached.
    pub path: PathBuf,
    /// The project of the instance volumes reached through this value, and the one
    /// holding its custom volumes (`features.storage.volumes`): names on disk are
    /// `PROJECT_NAME` outside `default` (upstream's layout).
    pub projects: DiskProjects,
}

/// The projects whose volumes a [`PoolInfo`] names (default: `default` for both).
#[derive(Debug, Clone, Default)]
pub struct DiskProjects {
    pub instances: String,
    pub custom: String,
}

impl DiskProjects {
    /// From a context: its project, and the one its custom volumes live in.
    pub fn of(ctx: &Context) -> DiskProjects {
        DiskProjects {
            instances: ctx.project.clone(),
            custom: ctx.volumes_project.clone(),
        }
    }
}

impl PoolInfo {
    /// The name on disk of a volume: `PROJECT_NAME` for instance and custom volumes of
    /// a project other than `default`; image volumes are shared by every project.
    pub fn disk_name(&self, vtype: VolumeType, name: &str) -> String {
        let project = match vtype {
            VolumeType::Container => &self.projects.instances,
            VolumeType::Custom => &self.projects.custom,
            _ => "",
        };
        crate::names::project_prefixed(project, name)
    }
    /// The directory of a volume inside the pool (upstream layout).
    pub fn volume_path(&self, vtype: VolumeType, name: &str) -> PathBuf {
        self.path
            .join(vtype.dir_name())
            .join(self.disk_name(vtype, name))
    }
    /// The directory of a volume snapshot (upstream layout:
    /// `containers-snapshots/VOL/SNAP`, `custom-snapshots/VOL/SNAP`).
    pub fn snapshot_path(&self, vtype: VolumeType, vol: &str, snap: &str) -> PathBuf {
        self.path
            .join(format!("{}-snapshots", vtype.dir_name()))
            .join(self.disk_name(vtype, vol))
            .join(snap)
    }
}

/// Fills an empty volume directory with an image's content (rootfs, templates,
/// metadata.yaml). Drivers call it once per volume (dir) or once per image (btrfs).
pub type ImageFiller<'a> = &'a dyn Fn(&Path) -> Result<()>;

/// How a driver makes, seals and drops its per-pool image volume (see [`image_volume`]).
pub(crate) struct ImageVolumeOps<'a> {
    /// Creates the empty staging volume.
    pub create: &'a dyn Fn(&Path) -> Result<()>,
    /// Runs after the fill, before the volume gets its final name (e.g. read-only).
    pub seal: &'a dyn Fn(&Path) -> Result<()>,
    /// Removes a (staging) volume; missing is fine.
    pub delete: &'a dyn Fn(&Path) -> Result<()>,
}

/// The pool's image volume of `fingerprint`, filled once per pool under its own lock.
/// It gets its final name (the "complete" mark) only once fully filled and sealed, so
/// a crash never leaves a half image volume in use; the next call starts over.
pub(crate) fn image_volume(
    ctx: &Context,
    pool: &PoolInfo,
    fingerprint: &str,
    fill: ImageFiller,
    ops: ImageVolumeOps,
) -> Result<PathBuf> {
    let image = pool.volume_path(VolumeType::Image, fingerprint);
    if image.exists() {
        return Ok(image);
    }
    let _lock = ctx.lock_image_volume(&pool.name, fingerprint)?;
    if image.exists() {
        return Ok(image);
    }
    let tmp = image_volume_staging(pool, fingerprint);
    (ops.delete)(&tmp)?;
    std::fs::create_dir_all(tmp.parent().unwrap_or(Path::new("/")))?;
    (ops.create)(&tmp)?;
    // upstream's image volumes are 0711; `images/` above is 0700
    set_mode(&tmp, 0o711)?;
    if let Err(e) = fill(&tmp) {
        let _ = (ops.delete)(&tmp);
        return Err(e);
    }
    incus_sys::testhook::pause_point("image-volume-filled");
    (ops.seal)(&tmp)?;
    std::fs::rename(&tmp, &image)?;
    Ok(image)
}

/// Where [`image_volume`] fills an image volume before it is complete.
pub(crate) fn image_volume_staging(pool: &PoolInfo, fingerprint: &str) -> PathBuf {
    pool.path
        .join("images")
        .join(format!(".{fingerprint}.partial"))
}

/// The type directories at a pool's root (upstream's layout, every driver).
pub(crate) const TYPE_DIRS: &[&str] = &[
    "containers",
    "containers-snapshots",
    "custom",
    "custom-snapshots",
    "images",
    "virtual-machines",
    "virtual-machines-snapshots",
];

/// Closes the type directories of every pool under `pools_dir` (no database read):
/// run at each first use of the state, so an installation made before they were closed
/// is fixed by whatever command comes next.
pub(crate) fn close_pools(pools_dir: &Path) -> Result<()> {
    let Ok(rd) = std::fs::read_dir(pools_dir) else {
        return Ok(());
    };
    for e in rd.flatten() {
        for d in TYPE_DIRS {
            set_mode(&e.path().join(d), TYPE_DIR_MODE)?;
        }
    }
    Ok(())
}

/// Mode of a pool's root (upstream's 0711): the type directories below it are named,
/// never guest data.
pub(crate) const POOL_ROOT_MODE: u32 = 0o711;
/// Mode of every type directory of a pool (`containers`, `custom`, `images`, their
/// `-snapshots`): guest and image files live only below them and only root enters.
/// Upstream keeps `containers` and `containers-snapshots` at 0711 (their runtime walks
/// to the rootfs) and the rest at 0700; our runtime mounts the rootfs from a descriptor,
/// so every type directory is closed, and a staging copy (`.NAME.copy`) is never exposed.
pub(crate) const TYPE_DIR_MODE: u32 = 0o700;
/// Mode of an instance volume (upstream's 0100): even with a type directory opened by
/// hand, nobody but root may list or enter it.
pub const INSTANCE_VOLUME_MODE: u32 = 0o100;

/// The mode a new volume of `vtype` gets: instances 0100, others upstream's 0711.
pub(crate) fn volume_mode(vtype: VolumeType) -> u32 {
    match vtype {
        VolumeType::Container => INSTANCE_VOLUME_MODE,
        _ => 0o711,
    }
}

/// Sets `path`'s permission bits to `mode` unless they already are (one stat when so).
/// Missing is fine: the caller creates the directory where it needs one.
pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o7777 == mode => Ok(()),
        Ok(_) => Ok(std::fs::set_permissions(
            path,
            std::fs::Permissions::from_mode(mode),
        )?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Creates a pool's layout (`root` and its type directories `dirs`) with the modes above;
/// on an existing pool (every load) it only corrects modes, so installations made before
/// the directories were closed are fixed on first use.
pub(crate) fn make_layout(root: &Path) -> Result<()> {
    set_mode(root, POOL_ROOT_MODE)?;
    for d in TYPE_DIRS {
        let p = root.join(d);
        match std::fs::create_dir(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
        set_mode(&p, TYPE_DIR_MODE)?;
    }
    Ok(())
}

/// A storage backend.
pub trait Driver {
    /// Upstream's driver name.
    fn name(&self) -> &'static str;
    /// Checks driver-specific keys at create and set.
    fn validate_config(&self, config: &Config) -> Result<()>;
    /// Creates the pool on disk; fills in defaults (e.g. `source`).
    fn create_pool(&self, ctx: &Context, pool: &mut PoolInfo) -> Result<()>;
    /// Removes the pool from disk (the pool is known to be unused).
    fn delete_pool(&self, ctx: &Context, pool: &PoolInfo) -> Result<()>;
    /// Creates an empty filesystem volume and returns its path.
    fn create_volume(&self, pool: &PoolInfo, vtype: VolumeType, name: &str) -> Result<PathBuf>;
    /// Deletes a volume; missing is fine (repair of half-done work calls this).
    fn delete_volume(&self, pool: &PoolInfo, vtype: VolumeType, name: &str) -> Result<()>;
    /// Renames a volume.
    fn rename_volume(&self, pool: &PoolInfo, vtype: VolumeType, old: &str, new: &str)
        -> Result<()>;
    /// Space and inode usage of the pool.
    fn resources(&self, pool: &PoolInfo) -> Result<StoragePoolResources>;

    /// Creates a volume holding image `fingerprint`'s content. The default unpacks
    /// into a fresh volume; btrfs keeps one image volume per pool and snapshots it.
    fn create_volume_from_image(
        &self,
        ctx: &Context,
        pool: &PoolInfo,
        vtype: VolumeType,
        name: &str,
        fingerprint: &str,
        fill: ImageFiller,
    ) -> Result<PathBuf> {
        let _ = (ctx, fingerprint);
        let path = self.create_volume(pool, vtype, name)?;
        fill(&path)?;
        Ok(path)
    }
    /// Drops a cached image volume (image deleted); missing is fine.
    fn delete_image_volume(&self, pool: &PoolInfo, fingerprint: &str) -> Result<()> {
        let _ = (pool, fingerprint);
        Ok(())
    }
    /// Whether a running instance must be frozen while its snapshot is taken
    /// (dir copies files; btrfs snapshots are atomic).
    fn snapshot_needs_freeze(&self) -> bool {
        true
    }
    /// Takes a read-only, consistent snapshot of a volume at
    /// [`PoolInfo::snapshot_path`].
    fn create_snapshot(
        &self,
        pool: &PoolInfo,
        vtype: VolumeType,
        vol: &str,
        snap: &str,
    ) -> Result<()> {
        let _ = (pool, vtype, vol, snap);
        Err(Error::unsupported(format!(
            "Snapshots are not supported by the {} driver",
            self.name()
        )))
    }
    /// Deletes a snapshot; missing is fine.
    fn delete_snapshot(
        &self,
        pool: &PoolInfo,
        vtype: VolumeType,
        vol: &str,
        snap: &str,
    ) -> Result<()> {
        let _ = (pool, vtype, vol, snap);
        Err(Error::unsupported(format!(
            "Snapshots are not supported by the {} driver",
            self.name()
        )))
    }
    /// Renames a snapshot (a directory or subvolume renamed in place).
    fn rename_snapshot(
        &self,
        pool: &PoolInfo,
        vtype: VolumeType,
        vol: &str,
        old: &str,
        new: &str,
    ) -> Result<()> {
        let to = pool.snapshot_path(vtype, vol, new);
        if to.exists() {
            return Err(Error::conflict(format!("{} already exists", to.display())));
        }
        std::fs::rename(pool.snapshot_path(vtype, vol, old), to)?;
        Ok(())
    }
    /// Makes the volume's content equal to the snapshot's. A crash at any point
    /// leaves either the old or the new content in place, never none.
    fn restore_snapshot(
        &self,
        pool: &PoolInfo,
        vtype: VolumeType,
        vol: &str,
        snap: &str,
    ) -> Result<()> {
        let _ = (pool, vtype, vol, snap);
        Err(Error::unsupported(format!(
            "Snapshots are not supported by the {} driver",
            self.name()
        )))
    }
    /// Copies a volume (or one of its snapshots, when `src_snap` is set) to a new
    /// volume `dst` in the same pool.
    fn copy_volume(
        &self,
        pool: &PoolInfo,
        vtype: VolumeType,
        src: &str,
        src_snap: Option<&str>,
        dst: &str,
    ) -> Result<PathBuf> {
        let _ = (pool, vtype, src, src_snap, dst);
        Err(Error::unsupported(format!(
            "Copying volumes is not supported by the {} driver",
            self.name()
        )))
    }
    /// Applies a size limit (`None` removes it); drivers without quotas refuse a limit.
    fn set_quota(
        &self,
        pool: &PoolInfo,
        vtype: VolumeType,
        vol: &str,
        size: Option<u64>,
    ) -> Result<()> {
        let _ = (pool, vtype, vol);
        match size {
            None => Ok(()),
            Some(_) => Err(Error::unsupported(format!(
                "The {} driver does not support size limits",
                self.name()
            ))),
        }
    }
    /// Bytes used by a volume.
    fn volume_usage(&self, pool: &PoolInfo, vtype: VolumeType, vol: &str) -> Result<u64> {
        Ok(incus_sys::fsutil::disk_usage(&pool.volume_path(vtype, vol)))
    }
    /// Applies a config change to an existing pool (btrfs: grow its loop file) before
    /// it is recorded; the default needs no disk work.
    fn update_pool(&self, ctx: &Context, pool: &PoolInfo, new: &Config) -> Result<()> {
        let _ = (ctx, pool, new);
        Ok(())
    }
    /// Brings the pool back after a reboot (e.g. re-mount a loop file); idempotent.
    fn mount_pool(&self, ctx: &Context, pool: &PoolInfo) -> Result<()> {
        let _ = (ctx, pool);
        Ok(())
    }
}

/// Copies a volume (or one of its snapshots) to a new volume `dst` on `to`: through
/// the driver when both are the same pool, else a file copy into a fresh volume of
/// the target driver (what upstream's migration does with rsync). A failed copy
/// leaves no target volume.
#[allow(clippy::too_many_arguments)]
pub fn copy_volume_between(
    from: &PoolInfo,
    from_driver: &dyn Driver,
    to: &PoolInfo,
    to_driver: &dyn Driver,
    vtype: VolumeType,
    src: &str,
    src_snap: Option<&str>,
    dst: &str,
) -> Result<PathBuf> {
    if from.name == to.name {
        return from_driver.copy_volume(from, vtype, src, src_snap, dst);
    }
    let src_path = match src_snap {
        Some(s) => from.snapshot_path(vtype, src, s),
        None => from.volume_path(vtype, src),
    };
    let path = to_driver.create_volume(to, vtype, dst)?;
    if let Err(e) = incus_sys::copytree::copy_contents(&src_path, &path) {
        let _ = to_driver.delete_volume(to, vtype, dst);
        return Err(e);
    }
    Ok(path)
}

/// The driver for a name; known upstream drivers this host cannot run say so.
pub fn driver(name: &str) -> Result<Box<dyn Driver>> {
    match name {
        "dir" => Ok(Box::new(DirDriver)),
        "btrfs" => Ok(Box::new(BtrfsDriver)),
        "zfs" | "lvm" | "lvmcluster" | "ceph" | "cephfs" | "cephobject" => {
            Err(Error::unsupported(format!(
                "Storage driver \"{name}\" is not available on this host (no kernel support; available: dir, btrfs)"
            )))
        }
        other => Err(Error::invalid(format!(
            "Unknown storage driver \"{other}\""
        ))),
    }
}

/// Pool keys every driver accepts.
pub(crate) fn validate_common_key(key: &str) -> bool {
    matches!(
        key,
        "source" | "size" | "source.wipe" | "rsync.bwlimit" | "rsync.compression"
    ) || key.starts_with("user.")
        || key.starts_with("volume.")
        || key.starts_with("volatile.")
}

fn pool_info(ctx: &Context, row: &PoolRow) -> PoolInfo {
    PoolInfo {
        name: row.name.clone(),
        driver: row.driver.clone(),
        config: row.config.clone(),
        path: ctx.pools_dir().join(&row.name),
        projects: DiskProjects::of(ctx),
    }
}

/// Loads a pool and its driver.
pub fn load_pool(ctx: &Context, name: &str) -> Result<(PoolInfo, Box<dyn Driver>)> {
    let row = ctx
        .db()?
        .read(|tx| incus_db::pool_get(tx, name))?
        .ok_or_else(|| Error::not_found(format!("Storage pool \"{name}\" not found")))?;
    let info = pool_info(ctx, &row);
    let drv = driver(&row.driver)?;
    // Cheap when mounted (two stats); re-mounts a loop or device pool after a reboot.
    drv.mount_pool(ctx, &info)?;
    // A few stats: closes the layout of a pool made by an older version.
    make_layout(&info.path)?;
    Ok((info, drv))
}

/// Drops the cached image volumes of an image in every pool (image delete; the
/// caller holds the image lock exclusively, so no create is using them).
pub fn delete_image_volumes(ctx: &Context, fingerprint: &str) -> Result<()> {
    for row in ctx.db()?.read(incus_db::pool_list)? {
        if let Ok(drv) = driver(&row.driver) {
            let info = pool_info(ctx, &row);
            drv.mount_pool(ctx, &info)?;
            drv.delete_image_volume(&info, fingerprint)?;
        }
    }
    Ok(())
}

fn used_by(ctx: &Context, pool: &str) -> Result<Vec<String>> {
    let project = ctx.project.clone();
    let pool = pool.to_string();
    ctx.db()?.read(|tx| {
        let mut out = Vec::new();
        // Volume snapshots (`VOL/SNAP` rows) come with their volume.
        for v in incus_db::volume_list(tx, Some(&pool), None)?
            .into_iter()
            .filter(|v| !v.name.contains('/'))
        {
            out.push(match v.volume_type.as_str() {
                "container" => format!("/1.0/instances/{}", v.name),
                "image" => format!("/1.0/images/{}", v.name),
                t => format!("/1.0/storage-pools/{pool}/volumes/{t}/{}", v.name),
            });
        }
        for p in incus_db::profile_list(tx, &project)? {
            if p.devices.values().any(|d| d.get("pool") == Some(&pool)) {
                out.push(format!("/1.0/profiles/{}", p.name));
            }
        }
        Ok(out)
    })
}

fn to_api(ctx: &Context, row: PoolRow) -> Result<StoragePool> {
    let used_by = used_by(ctx, &row.name)?;
    Ok(StoragePool {
        config: row.config,
        description: row.description,
        name: row.name,
        driver: row.driver,
        used_by,
        status: "Created".into(),
        locations: vec!["none".into()],
    })
}

/// `storage list`.
pub fn pool_list(ctx: &Context) -> Result<Vec<StoragePool>> {
    let rows = ctx.db()?.read(incus_db::pool_list)?;
    rows.into_iter().map(|r| to_api(ctx, r)).collect()
}

/// `storage show`.
pub fn pool_get(ctx: &Context, name: &str) -> Result<StoragePool> {
    let row = ctx
        .db()?
        .read(|tx| incus_db::pool_get(tx, name))?
        .ok_or_else(|| Error::not_found(format!("Storage pool \"{name}\" not found")))?;
    to_api(ctx, row)
}

/// `storage create NAME DRIVER [k=v...]`.
pub fn pool_create(
    ctx: &Context,
    name: &str,
    driver_name: &str,
    config: Config,
    description: &str,
) -> Result<StoragePool> {
    names::validate_object_name("storage pool", name)?;
    let drv = driver(driver_name)?;
    drv.validate_config(&config)?;
    let _lock = ctx.lock_pool(name)?;
    if ctx.db()?.read(|tx| incus_db::pool_get(tx, name))?.is_some() {
        return Err(Error::conflict(format!(
            "Storage pool \"{name}\" already exists"
        )));
    }
    let mut info = PoolInfo {
        name: name.to_string(),
        driver: driver_name.to_string(),
        config,
        path: ctx.pools_dir().join(name),
        projects: DiskProjects::of(ctx),
    };
    drv.create_pool(ctx, &mut info)?;
    let row = PoolRow {
        id: 0,
        name: name.to_string(),
        driver: driver_name.to_string(),
        description: description.to_string(),
        config: info.config.clone(),
    };
    if let Err(e) = ctx.db()?.write(|tx| incus_db::pool_create(tx, &row)) {
        // Nothing half-made: undo the disk side.
        let _ = drv.delete_pool(ctx, &info);
        return Err(e);
    }
    events::lifecycle(
        ctx,
        "storage-pool-created",
        &format!("/1.0/storage-pools/{name}"),
        serde_json::json!({}),
    )?;
    pool_get(ctx, name)
}

/// `storage set/unset/edit`: replaces config and description.
pub fn pool_update(
    ctx: &Context,
    name: &str,
    config: Config,
    description: &str,
) -> Result<StoragePool> {
    let _lock = ctx.lock_pool(name)?;
    update_locked(ctx, name, config, description)
}

fn update_locked(
    ctx: &Context,
    name: &str,
    config: Config,
    description: &str,
) -> Result<StoragePool> {
    let (info, drv) = load_pool(ctx, name)?;
    drv.validate_config(&config)?;
    if info.config.get("source") != config.get("source") {
        return Err(Error::invalid(
            "Cannot change \"source\" of an existing storage pool",
        ));
    }
    drv.update_pool(ctx, &info, &config)?;
    ctx.db()?.write(|tx| {
        let mut row = incus_db::pool_get(tx, name)?
            .ok_or_else(|| Error::not_found(format!("Storage pool \"{name}\" not found")))?;
        row.config = config;
        row.description = description.to_string();
        incus_db::pool_update(tx, &row)
    })?;
    events::lifecycle(
        ctx,
        "storage-pool-updated",
        &format!("/1.0/storage-pools/{name}"),
        serde_json::json!({}),
    )?;
    pool_get(ctx, name)
}

/// `storage set/unset`: read-modify-write of keys under the pool lock (an empty value
/// unsets), so concurrent setters never lose each other's keys.
pub fn pool_set_keys(ctx: &Context, name: &str, pairs: &Config) -> Result<StoragePool> {
    let _lock = ctx.lock_pool(name)?;
    let (info, _) = load_pool(ctx, name)?;
    let mut config = info.config.clone();
    for (k, v) in pairs {
        if v.is_empty() {
            if config.remove(k).is_none() {
                return Err(Error::not_found(format!(
                    "Key \"{k}\" is not set on storage pool \"{name}\""
                )));
            }
        } else {
            config.insert(k.clone(), v.clone());
        }
    }
    let description = pool_get(ctx, name)?.description;
    update_locked(ctx, name, config, &description)
}

/// `storage delete`: refused while anything uses the pool.
pub fn pool_delete(ctx: &Context, name: &str) -> Result<()> {
    let _lock = ctx.lock_pool(name)?;
    // Not load_pool: a pool whose source vanished must still be deletable.
    let row = ctx
        .db()?
        .read(|tx| incus_db::pool_get(tx, name))?
        .ok_or_else(|| Error::not_found(format!("Storage pool \"{name}\" not found")))?;
    let (info, drv) = (pool_info(ctx, &row), driver(&row.driver)?);
    let users = used_by(ctx, name)?;
    if !users.is_empty() {
        return Err(Error::conflict(format!(
            "The storage pool is currently in use (used by: {})",
            users.join(", ")
        )));
    }
    drv.delete_pool(ctx, &info)?;
    ctx.db()?.write(|tx| {
        let row = incus_db::pool_get(tx, name)?
            .ok_or_else(|| Error::not_found(format!("Storage pool \"{name}\" not found")))?;
        incus_db::pool_delete(tx, row.id)
    })?;
    events::lifecycle(
        ctx,
        "storage-pool-deleted",
        &format!("/1.0/storage-pools/{name}"),
        serde_json::json!({}),
    )?;
    Ok(())
}

/// `storage info`: usage of the pool.
pub fn pool_resources(ctx: &Context, name: &str) -> Result<StoragePoolResources> {
    let (info, drv) = load_pool(ctx, name)?;
    drv.resources(&info)
}

/// `storage volume list POOL`.
pub fn volume_list(ctx: &Context, pool: &str) -> Result<Vec<StorageVolume>> {
    volume::list(ctx, pool)
}

/// Records a volume row (callers create the disk side through the driver).
pub(crate) fn volume_row(ctx: &Context, pool: &str, vtype: VolumeType, name: &str) -> VolumeRow {
    VolumeRow {
        pool: pool.to_string(),
        name: name.to_string(),
        volume_type: vtype.as_str().to_string(),
        content_type: "filesystem".into(),
        created_at: time::now(),
        project: ctx.project.clone(),
        ..Default::default()
    }
}

/// A `dir` pool may not live inside INCUS_DIR except under `storage-pools/`.
pub(crate) fn check_source_location(ctx: &Context, source: &Path) -> Result<()> {
    let pools = ctx.pools_dir();
    if source.starts_with(&ctx.incus_dir) && !source.starts_with(&pools) {
        return Err(Error::invalid(format!(
            "Storage pool source {} is inside {} but not under {}",
            source.display(),
            ctx.incus_dir.display(),
            pools.display()
        )));
    }
    Ok(())
}
