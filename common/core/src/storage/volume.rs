//! Custom storage volumes: create/list/show/set/delete/rename/copy/move, attach to
//! instances and profiles as `disk` devices (`pool=`, `source=`), snapshots, usage.
//!
//! A volume snapshot is a `storage_volumes` row named `VOL/SNAP` (upstream's older
//! layout; the slash cannot appear in a volume name), so no schema change is needed.
//! Disk work happens before the row is written on create and after it is removed on
//! delete: a tool killed in between leaves an unlisted directory that the next create
//! of that name removes (it holds the volume lock, so the maker is gone).

use super::{load_pool, volume_row, Driver, PoolInfo, VolumeType};
use crate::{events, instance, names, Context, Error, Result};
use incus_api::{
    keys, Config, Devices, StorageVolume, StorageVolumeSnapshot, StorageVolumeState,
    StorageVolumeStateUsage,
};
use incus_db::VolumeRow;
use std::path::PathBuf;

/// Checks one volume key (also reached as `volume.KEY` on pools).
pub fn validate_volume_key(key: &str, value: &str) -> Result<()> {
    match key {
        "size" => {
            if !value.is_empty() {
                keys::parse_size(value)?;
            }
        }
        "security.shifted" | "security.unmapped" => {
            if keys::parse_bool(value).is_none() {
                return Err(Error::invalid(format!(
                    "Invalid value for \"{key}\": \"{value}\""
                )));
            }
        }
        "snapshots.expiry" | "snapshots.pattern" | "snapshots.schedule" => {}
        k if k.starts_with("user.") || k.starts_with("volatile.") => {}
        _ => {
            return Err(Error::invalid(format!(
                "Invalid storage volume configuration key \"{key}\""
            )))
        }
    }
    Ok(())
}

fn validate_config(config: &Config) -> Result<()> {
    for (k, v) in config {
        validate_volume_key(k, v)?;
    }
    Ok(())
}

fn size_of(config: &Config) -> Result<Option<u64>> {
    match config.get("size").filter(|v| !v.is_empty()) {
        Some(v) => Ok(Some(keys::parse_size(v)?)),
        None => Ok(None),
    }
}

fn not_found(pool: &str, name: &str) -> Error {
    Error::not_found(format!(
        "Storage volume \"{name}\" of type \"custom\" not found in pool \"{pool}\""
    ))
}

/// Set on a renamed volume's row until its directories carry the new name too.
const RENAME_MARK: &str = "volatile.rename_from";

fn get_row(ctx: &Context, pool: &str, vtype: VolumeType, name: &str) -> Result<VolumeRow> {
    let row = ctx
        .db()?
        .read(|tx| incus_db::volume_get(tx, &ctx.project, pool, vtype.as_str(), name))?
        .ok_or_else(|| not_found(pool, name))?;
    if row.config.contains_key(RENAME_MARK) {
        finish_rename(ctx, &row)?;
        return get_row(ctx, pool, vtype, name);
    }
    Ok(row)
}

/// Rolls an interrupted rename forward: the rows have the new name, the directories
/// may still have the old one. Idempotent; a concurrent finisher is fine.
fn finish_rename(ctx: &Context, row: &VolumeRow) -> Result<()> {
    let old = &row.config[RENAME_MARK];
    crate::volatile::validate_volume_rename_mark(RENAME_MARK, old)?;
    let (info, drv) = load_pool(ctx, &row.pool)?;
    let vol = |n: &str| info.volume_path(VolumeType::Custom, n);
    if vol(old).exists() && !vol(&row.name).exists() {
        drv.rename_volume(&info, VolumeType::Custom, old, &row.name)
            .or_else(|e| {
                if vol(&row.name).exists() {
                    Ok(())
                } else {
                    Err(e)
                }
            })?;
    }
    let snaps = |n: &str| info.path.join("custom-snapshots").join(n);
    if snaps(old).exists() && !snaps(&row.name).exists() {
        std::fs::rename(snaps(old), snaps(&row.name)).or_else(|e| {
            if snaps(&row.name).exists() {
                Ok(())
            } else {
                Err(e)
            }
        })?;
    }
    let id = row.id;
    ctx.db()?.write(|tx| {
        if let Some(mut r) = incus_db::volume_get(tx, &row.project, &row.pool, "custom", &row.name)?
        {
            if r.id == id && r.config.remove(RENAME_MARK).is_some() {
                incus_db::volume_update(tx, &r)?;
            }
        }
        Ok(())
    })?;
    crate::backup::remove_volume(ctx, &row.pool, old);
    crate::backup_store::rename_volume(ctx, &row.pool, old, &row.name);
    crate::backup::sync_volume(ctx, &row.pool, &row.name);
    Ok(())
}

/// Whether a disk device refers to custom volume `vol` of `pool`.
fn refers_to(dev: &Config, pool: &str, vol: &str) -> bool {
    dev.get("type").map(String::as_str) == Some("disk")
        && dev.get("pool").map(String::as_str) == Some(pool)
        && dev.get("source").map(String::as_str) == Some(vol)
        && dev.get("path").map(String::as_str) != Some("/")
}

/// Instances and profiles with a disk device on the volume (upstream's `used_by`).
fn users(ctx: &Context, pool: &str, vol: &str) -> Result<Vec<String>> {
    let project = ctx.project.clone();
    ctx.db()?.read(|tx| {
        let profiles = incus_db::profile_list(tx, &project)?;
        let mut out = Vec::new();
        for i in incus_db::instance_list(tx, &project)? {
            let via_profile = profiles
                .iter()
                .filter(|p| i.profiles.contains(&p.name))
                .any(|p| p.devices.values().any(|d| refers_to(d, pool, vol)));
            if via_profile || i.devices.values().any(|d| refers_to(d, pool, vol)) {
                out.push(format!("/1.0/instances/{}", i.name));
            }
        }
        for p in &profiles {
            if p.devices.values().any(|d| refers_to(d, pool, vol)) {
                out.push(format!("/1.0/profiles/{}", p.name));
            }
        }
        Ok(out)
    })
}

fn to_api(ctx: &Context, v: VolumeRow) -> Result<StorageVolume> {
    let used_by = match v.volume_type.as_str() {
        "container" => vec![format!("/1.0/instances/{}", v.name)],
        "custom" => users(ctx, &v.pool, &v.name)?,
        _ => vec![],
    };
    Ok(StorageVolume {
        config: v.config,
        description: v.description,
        name: v.name,
        volume_type: v.volume_type,
        used_by,
        location: "none".into(),
        content_type: v.content_type,
        project: v.project,
        created_at: v.created_at,
    })
}

/// `storage volume list POOL` (snapshots are not volumes).
pub fn list(ctx: &Context, pool: &str) -> Result<Vec<StorageVolume>> {
    let (info, drv) = load_pool(ctx, pool)?;
    let rows = ctx
        .db()?
        .read(|tx| incus_db::volume_list(tx, Some(pool), Some(&ctx.project)))?;
    sweep_orphans(ctx, &info, drv.as_ref(), &rows)?;
    rows.into_iter()
        .filter(|r| !r.name.contains('/'))
        .map(|r| to_api(ctx, r))
        .collect()
}

/// `storage volume show POOL [TYPE/]NAME`.
pub fn get(ctx: &Context, pool: &str, vtype: VolumeType, name: &str) -> Result<StorageVolume> {
    if name.contains('/') {
        return Err(not_found(pool, name));
    }
    to_api(ctx, get_row(ctx, pool, vtype, name)?)
}

/// Removes a leftover of a killed create or delete: disk without a row.
fn clear_orphan(ctx: &Context, info: &PoolInfo, drv: &dyn Driver, name: &str) -> Result<()> {
    let path = info.volume_path(VolumeType::Custom, name);
    if std::fs::symlink_metadata(&path).is_ok()
        && ctx
            .db()?
            .read(|tx| incus_db::volume_get(tx, &ctx.project, &info.name, "custom", name))?
            .is_none()
    {
        drv.delete_volume(info, VolumeType::Custom, name)?;
    }
    Ok(())
}

/// Removes the custom volume directories without a row whose lock is free: what a
/// create (disk first) or a delete (row first) killed midway left, which `admin check`
/// reports until then. Run by `storage volume list`, the next command on the pool.
fn sweep_orphans(
    ctx: &Context,
    info: &PoolInfo,
    drv: &dyn Driver,
    rows: &[VolumeRow],
) -> Result<()> {
    let dir = info.volume_path(VolumeType::Custom, "x").with_file_name("");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(());
    };
    let orphans: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        // A rename's old name is not an orphan: its row carries it until it moves.
        .filter(|n| {
            !rows.iter().any(|r| {
                r.volume_type == "custom" && (&r.name == n || r.config.get(RENAME_MARK) == Some(n))
            })
        })
        .collect();
    if orphans.is_empty() {
        return Ok(());
    }
    let _pool_lock = ctx.lock_pool_shared(&info.name)?;
    for name in orphans {
        if let Some(_lock) = ctx.try_lock_volume(&info.name, &name)? {
            clear_orphan(ctx, info, drv, &name)?;
        }
    }
    Ok(())
}

/// `storage volume create POOL NAME [k=v...]`: pool `volume.*` keys are the defaults.
pub fn create(
    ctx: &Context,
    pool: &str,
    name: &str,
    config: Config,
    description: &str,
) -> Result<StorageVolume> {
    names::validate_object_name("storage volume", name)?;
    validate_config(&config)?;
    crate::volatile::check_client_volume_config(&Config::new(), &config)?;
    let _pool_lock = ctx.lock_pool_shared(pool)?;
    let (info, drv) = load_pool(ctx, pool)?;
    let mut config = config;
    for (k, v) in &info.config {
        if let Some(vk) = k.strip_prefix("volume.") {
            config.entry(vk.to_string()).or_insert_with(|| v.clone());
        }
    }
    let size = size_of(&config)?;
    let _lock = ctx.lock_volume(pool, name)?;
    if ctx
        .db()?
        .read(|tx| incus_db::volume_get(tx, &ctx.project, pool, "custom", name))?
        .is_some()
    {
        return Err(Error::conflict(format!(
            "Storage volume \"{name}\" of type \"custom\" already exists in pool \"{pool}\""
        )));
    }
    clear_orphan(ctx, &info, drv.as_ref(), name)?;
    drv.create_volume(&info, VolumeType::Custom, name)?;
    let mut row = volume_row(ctx, pool, VolumeType::Custom, name);
    row.config = config;
    row.description = description.to_string();
    finish_create(ctx, drv.as_ref(), &info, &row, size)
}

/// The last steps of a create or copy once the volume is on disk: its size limit,
/// then the row and the event in one commit. On failure the volume is removed again.
fn finish_create(
    ctx: &Context,
    drv: &dyn Driver,
    info: &PoolInfo,
    row: &VolumeRow,
    size: Option<u64>,
) -> Result<StorageVolume> {
    let (pool, name) = (&row.pool, &row.name);
    let project = ctx.project.clone();
    let done = size
        .map_or(Ok(()), |s| {
            apply_size(drv, info, VolumeType::Custom, name, Some(s))
        })
        .and_then(|_| {
            ctx.db()?.write(|tx| {
                incus_db::volume_create(tx, row)?;
                events::record(
                    tx,
                    &project,
                    "storage-volume-created",
                    &format!("/1.0/storage-pools/{pool}/volumes/custom/{name}"),
                    serde_json::json!({}),
                )
            })
        });
    if let Err(e) = done {
        let _ = drv.delete_volume(info, VolumeType::Custom, name);
        return Err(e);
    }
    crate::backup::sync_volume(ctx, pool, name);
    get(ctx, pool, VolumeType::Custom, name)
}

fn update_locked(
    ctx: &Context,
    pool: &str,
    name: &str,
    config: Config,
    description: &str,
) -> Result<StorageVolume> {
    validate_config(&config)?;
    let (info, drv) = load_pool(ctx, pool)?;
    let mut row = get_row(ctx, pool, VolumeType::Custom, name)?;
    crate::volatile::check_client_volume_config(&row.config, &config)?;
    let (old, new) = (size_of(&row.config)?, size_of(&config)?);
    if old != new {
        // Refused below current usage by the driver; nothing is written then.
        apply_size(drv.as_ref(), &info, VolumeType::Custom, name, new)?;
    }
    row.config = config;
    row.description = description.to_string();
    let project = ctx.project.clone();
    ctx.db()?.write(|tx| {
        incus_db::volume_update(tx, &row)?;
        events::record(
            tx,
            &project,
            "storage-volume-updated",
            &format!("/1.0/storage-pools/{pool}/volumes/custom/{name}"),
            serde_json::json!({}),
        )
    })?;
    crate::backup::sync_volume(ctx, pool, name);
    get(ctx, pool, VolumeType::Custom, name)
}

/// `storage volume edit`: replaces config and description.
pub fn update(
    ctx: &Context,
    pool: &str,
    name: &str,
    config: Config,
    description: &str,
) -> Result<StorageVolume> {
    let _pool_lock = ctx.lock_pool_shared(pool)?;
    let _lock = ctx.lock_volume(pool, name)?;
    update_locked(ctx, pool, name, config, description)
}

/// `storage volume set/unset`: read-modify-write under the volume lock (empty unsets).
pub fn set_keys(ctx: &Context, pool: &str, name: &str, pairs: &Config) -> Result<StorageVolume> {
    let _pool_lock = ctx.lock_pool_shared(pool)?;
    let _lock = ctx.lock_volume(pool, name)?;
    let row = get_row(ctx, pool, VolumeType::Custom, name)?;
    let mut config = row.config.clone();
    for (k, v) in pairs {
        if v.is_empty() {
            if config.remove(k).is_none() {
                return Err(Error::not_found(format!(
                    "Key \"{k}\" is not set on storage volume \"{name}\""
                )));
            }
        } else {
            config.insert(k.clone(), v.clone());
        }
    }
    update_locked(ctx, pool, name, config, &row.description)
}

fn snapshot_rows(ctx: &Context, pool: &str, vol: &str) -> Result<Vec<VolumeRow>> {
    let prefix = format!("{vol}/");
    let rows = ctx
        .db()?
        .read(|tx| incus_db::volume_list(tx, Some(pool), Some(&ctx.project)))?;
    Ok(rows
        .into_iter()
        .filter(|r| r.volume_type == "custom" && r.name.starts_with(&prefix))
        .collect())
}

fn refuse_in_use(ctx: &Context, pool: &str, name: &str, what: &str) -> Result<()> {
    let used = users(ctx, pool, name)?;
    if !used.is_empty() {
        return Err(Error::conflict(format!(
            "Cannot {what} storage volume \"{name}\": it is in use (used by: {})",
            used.join(", ")
        )));
    }
    Ok(())
}

/// `storage volume delete`: refused while attached; snapshots go with it.
pub fn delete(ctx: &Context, pool: &str, name: &str) -> Result<()> {
    let _pool_lock = ctx.lock_pool_shared(pool)?;
    let (info, drv) = load_pool(ctx, pool)?;
    let _lock = ctx.lock_volume(pool, name)?;
    let row = get_row(ctx, pool, VolumeType::Custom, name)?;
    refuse_in_use(ctx, pool, name, "delete")?;
    let snaps = snapshot_rows(ctx, pool, name)?;
    let project = ctx.project.clone();
    // Rows first: a crash leaves an unlisted directory the next create removes.
    ctx.db()?.write(|tx| {
        for s in &snaps {
            incus_db::volume_delete(tx, s.id)?;
        }
        incus_db::volume_delete(tx, row.id)?;
        events::record(
            tx,
            &project,
            "storage-volume-deleted",
            &format!("/1.0/storage-pools/{pool}/volumes/custom/{name}"),
            serde_json::json!({}),
        )
    })?;
    // Snapshot directories without rows (a killed snapshot create) go as well.
    let dir = info.path.join("custom-snapshots").join(name);
    let on_disk = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for snap in snaps
        .iter()
        .filter_map(|s| s.name.split_once('/').map(|x| x.1.to_string()))
        .chain(on_disk)
    {
        drv.delete_snapshot(&info, VolumeType::Custom, name, &snap)?;
    }
    drv.delete_volume(&info, VolumeType::Custom, name)?;
    crate::backup::remove_volume(ctx, pool, name);
    crate::backup_store::remove_all_of(ctx, crate::backup_store::Owner::Volume { pool, name });
    Ok(())
}

/// `storage volume rename POOL OLD NEW`: refused while attached.
pub fn rename(ctx: &Context, pool: &str, name: &str, new_name: &str) -> Result<()> {
    names::validate_object_name("storage volume", new_name)?;
    let _pool_lock = ctx.lock_pool_shared(pool)?;
    let (info, drv) = load_pool(ctx, pool)?;
    let _lock = ctx.lock_volume(pool, name)?;
    let _new_lock = ctx.lock_volume(pool, new_name)?;
    let row = get_row(ctx, pool, VolumeType::Custom, name)?;
    refuse_in_use(ctx, pool, name, "rename")?;
    if ctx
        .db()?
        .read(|tx| incus_db::volume_get(tx, &ctx.project, pool, "custom", new_name))?
        .is_some()
    {
        return Err(Error::conflict(format!(
            "Storage volume \"{new_name}\" already exists in pool \"{pool}\""
        )));
    }
    clear_orphan(ctx, &info, drv.as_ref(), new_name)?;
    let snaps = snapshot_rows(ctx, pool, name)?;
    // Rows first, marked; then the directories; then the mark goes. A kill in between
    // is rolled forward by the next command that loads the volume.
    let project = ctx.project.clone();
    let mut renamed = row.clone();
    renamed.config.insert(RENAME_MARK.into(), name.to_string());
    ctx.db()?.write_durable(|tx| {
        incus_db::volume_rename(tx, row.id, new_name)?;
        incus_db::volume_update(tx, &renamed)?;
        for s in &snaps {
            let snap = s.name.split_once('/').map(|x| x.1).unwrap_or_default();
            incus_db::volume_rename(tx, s.id, &format!("{new_name}/{snap}"))?;
        }
        events::record(
            tx,
            &project,
            "storage-volume-renamed",
            &format!("/1.0/storage-pools/{pool}/volumes/custom/{new_name}"),
            serde_json::json!({"old_name": name}),
        )
    })?;
    incus_sys::testhook::pause_point("volume-rename-rows-written");
    renamed.name = new_name.to_string();
    finish_rename(ctx, &renamed)
}

/// `storage volume copy SRCPOOL/VOL[/SNAP] DSTPOOL/NEW`: a subvolume snapshot within a
/// btrfs pool, a file copy across pools. Only the volume (not its snapshots) is copied.
pub fn copy(
    ctx: &Context,
    src_pool: &str,
    src: &str,
    dst_pool: &str,
    dst: &str,
) -> Result<StorageVolume> {
    let (src_vol, src_snap) = match src.split_once('/') {
        Some((v, s)) => (v, Some(s)),
        None => (src, None),
    };
    names::validate_object_name("storage volume", dst)?;
    // Lock order: pools by name, then volumes.
    let mut pools = [src_pool, dst_pool];
    pools.sort();
    let _p1 = ctx.lock_pool_shared(pools[0])?;
    let _p2 = if pools[0] != pools[1] {
        Some(ctx.lock_pool_shared(pools[1])?)
    } else {
        None
    };
    let (sinfo, sdrv) = load_pool(ctx, src_pool)?;
    let (dinfo, ddrv) = load_pool(ctx, dst_pool)?;
    let _src_lock = ctx.lock_volume(src_pool, src_vol)?;
    let _dst_lock = ctx.lock_volume(dst_pool, dst)?;
    let src_row = get_row(ctx, src_pool, VolumeType::Custom, src)?;
    if ctx
        .db()?
        .read(|tx| incus_db::volume_get(tx, &ctx.project, dst_pool, "custom", dst))?
        .is_some()
    {
        return Err(Error::conflict(format!(
            "Storage volume \"{dst}\" already exists in pool \"{dst_pool}\""
        )));
    }
    clear_orphan(ctx, &dinfo, ddrv.as_ref(), dst)?;
    let made = if src_pool == dst_pool {
        sdrv.copy_volume(&sinfo, VolumeType::Custom, src_vol, src_snap, dst)
            .or_else(|e| {
                if e.kind == incus_api::ErrorKind::Unsupported {
                    copy_files(&sinfo, src_vol, src_snap, &dinfo, ddrv.as_ref(), dst)
                } else {
                    Err(e)
                }
            })?
    } else {
        copy_files(&sinfo, src_vol, src_snap, &dinfo, ddrv.as_ref(), dst)?
    };
    let _ = made;
    let mut row = volume_row(ctx, dst_pool, VolumeType::Custom, dst);
    row.config = src_row
        .config
        .into_iter()
        .filter(|(k, _)| !k.starts_with("volatile."))
        .collect();
    row.description = src_row.description;
    let size = size_of(&row.config)?;
    finish_create(ctx, ddrv.as_ref(), &dinfo, &row, size)
}

/// Copies a volume's files into a new volume of another pool (`cp -a`: keeps owners,
/// modes, xattrs, hard links, sparse files).
fn copy_files(
    sinfo: &PoolInfo,
    src: &str,
    src_snap: Option<&str>,
    dinfo: &PoolInfo,
    ddrv: &dyn Driver,
    dst: &str,
) -> Result<PathBuf> {
    let from = match src_snap {
        Some(s) => sinfo.snapshot_path(VolumeType::Custom, src, s),
        None => sinfo.volume_path(VolumeType::Custom, src),
    };
    let to = ddrv.create_volume(dinfo, VolumeType::Custom, dst)?;
    let out = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(&to)
        .output();
    match out {
        Ok(o) if o.status.success() => Ok(to),
        Ok(o) => {
            let _ = ddrv.delete_volume(dinfo, VolumeType::Custom, dst);
            Err(Error::internal(format!(
                "Copy {}: {}",
                from.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            )))
        }
        Err(e) => {
            let _ = ddrv.delete_volume(dinfo, VolumeType::Custom, dst);
            Err(Error::internal(format!("Run cp: {e}")))
        }
    }
}

/// `storage volume move SRCPOOL/VOL DSTPOOL/NEW`: a rename within a pool, copy then
/// delete across pools. Refused while attached.
pub fn move_volume(
    ctx: &Context,
    src_pool: &str,
    src: &str,
    dst_pool: &str,
    dst: &str,
) -> Result<StorageVolume> {
    refuse_in_use(ctx, src_pool, src, "move")?;
    if src_pool == dst_pool {
        rename(ctx, src_pool, src, dst)?;
    } else {
        if !snapshot_rows(ctx, src_pool, src)?.is_empty() {
            return Err(Error::unsupported(
                "Moving a volume with snapshots to another pool is not supported yet",
            ));
        }
        copy(ctx, src_pool, src, dst_pool, dst)?;
        delete(ctx, src_pool, src)?;
    }
    get(ctx, dst_pool, VolumeType::Custom, dst)
}

/// The host path of custom volume `source` of `pool` (disk devices with `pool=`),
/// re-mounting the pool after a reboot if needed.
pub fn disk_source(ctx: &Context, pool: &str, source: &str) -> Result<PathBuf> {
    let (info, _) = load_pool(ctx, pool)?;
    get_row(ctx, pool, VolumeType::Custom, source)?;
    Ok(info.volume_path(VolumeType::Custom, source))
}

pub fn disk_device(pool: &str, vol: &str, path: &str) -> Result<Config> {
    if !path.starts_with('/') || path == "/" {
        return Err(Error::invalid(format!(
            "Invalid mount path \"{path}\": it must be absolute and not /"
        )));
    }
    Ok([
        ("type", "disk"),
        ("pool", pool),
        ("source", vol),
        ("path", path),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect())
}

/// `storage volume attach POOL VOL INSTANCE [DEVICE] PATH`: adds the disk device;
/// adding a device to a running instance mounts it at once (instance::update).
pub fn attach(
    ctx: &Context,
    pool: &str,
    vol: &str,
    inst: &str,
    device: Option<&str>,
    path: &str,
) -> Result<()> {
    let dev = disk_device(pool, vol, path)?;
    let _pool_lock = ctx.lock_pool_shared(pool)?;
    let _lock = ctx.lock_volume(pool, vol)?;
    disk_source(ctx, pool, vol)?;
    instance::device_add(ctx, inst, device.unwrap_or(vol), dev)?;
    Ok(())
}

/// `storage volume attach-profile POOL VOL PROFILE [DEVICE] PATH`.
pub fn attach_profile(
    ctx: &Context,
    pool: &str,
    vol: &str,
    profile: &str,
    device: Option<&str>,
    path: &str,
) -> Result<()> {
    let dev = disk_device(pool, vol, path)?;
    let _pool_lock = ctx.lock_pool_shared(pool)?;
    let _lock = ctx.lock_volume(pool, vol)?;
    disk_source(ctx, pool, vol)?;
    crate::profile::device_add(ctx, profile, device.unwrap_or(vol), dev)?;
    Ok(())
}

pub fn find_device(
    devices: &Devices,
    pool: &str,
    vol: &str,
    device: Option<&str>,
) -> Result<String> {
    match device {
        Some(d) => match devices.get(d) {
            Some(dev) if refers_to(dev, pool, vol) => Ok(d.to_string()),
            _ => Err(Error::not_found(format!(
                "No device \"{d}\" for storage volume \"{vol}\""
            ))),
        },
        None => {
            let found: Vec<&String> = devices
                .iter()
                .filter(|(_, d)| refers_to(d, pool, vol))
                .map(|(n, _)| n)
                .collect();
            match found.as_slice() {
                [one] => Ok(one.to_string()),
                [] => Err(Error::not_found(format!(
                    "Storage volume \"{vol}\" is not attached"
                ))),
                _ => Err(Error::invalid(
                    "More than one device uses the volume: name the device",
                )),
            }
        }
    }
}

/// `storage volume detach POOL VOL INSTANCE [DEVICE]`: unmounts it from a running
/// instance and removes the device.
pub fn detach(
    ctx: &Context,
    pool: &str,
    vol: &str,
    inst: &str,
    device: Option<&str>,
) -> Result<()> {
    let _lock = ctx.lock_volume(pool, vol)?;
    let i = instance::get(ctx, inst)?;
    let dname = find_device(&i.devices, pool, vol, device)?;
    // Removing the device unmounts it from a running instance (instance::update).
    instance::device_remove(ctx, inst, &[dname])?;
    Ok(())
}

/// `storage volume detach-profile POOL VOL PROFILE [DEVICE]`.
pub fn detach_profile(
    ctx: &Context,
    pool: &str,
    vol: &str,
    profile: &str,
    device: Option<&str>,
) -> Result<()> {
    let _lock = ctx.lock_volume(pool, vol)?;
    let p = crate::profile::get(ctx, profile)?;
    let dname = find_device(&p.devices, pool, vol, device)?;
    crate::profile::device_remove(ctx, profile, &[dname])?;
    Ok(())
}

/// `storage volume info`: usage (and the limit, 0 when none).
pub fn state(ctx: &Context, pool: &str, name: &str) -> Result<StorageVolumeState> {
    let (info, drv) = load_pool(ctx, pool)?;
    let row = get_row(ctx, pool, VolumeType::Custom, name)?;
    Ok(StorageVolumeState {
        usage: StorageVolumeStateUsage {
            used: drv.volume_usage(&info, VolumeType::Custom, name)?,
            total: size_of(&row.config)?.map_or(0, |s| s as i64),
        },
    })
}

// --- snapshots ---

fn snap_to_api(r: VolumeRow) -> StorageVolumeSnapshot {
    StorageVolumeSnapshot {
        name: r
            .name
            .split_once('/')
            .map(|x| x.1)
            .unwrap_or_default()
            .into(),
        config: r.config,
        content_type: r.content_type,
        created_at: r.created_at,
        description: r.description,
        expires_at: incus_api::ZERO_TIME.into(),
    }
}

/// `storage volume snapshot list POOL VOL`.
pub fn snapshot_list(ctx: &Context, pool: &str, vol: &str) -> Result<Vec<StorageVolumeSnapshot>> {
    get_row(ctx, pool, VolumeType::Custom, vol)?;
    Ok(snapshot_rows(ctx, pool, vol)?
        .into_iter()
        .map(snap_to_api)
        .collect())
}

fn snapshot_name(ctx: &Context, pool: &str, vol: &str, snap: Option<&str>) -> Result<String> {
    if let Some(s) = snap {
        names::validate_object_name("snapshot", s)?;
        return Ok(s.to_string());
    }
    let taken = snapshot_rows(ctx, pool, vol)?;
    Ok((0..)
        .map(|i| format!("snap{i}"))
        .find(|n| !taken.iter().any(|r| r.name == format!("{vol}/{n}")))
        .expect("an unused name"))
}

/// `storage volume snapshot create POOL VOL [SNAP]`.
pub fn snapshot_create(
    ctx: &Context,
    pool: &str,
    vol: &str,
    snap: Option<&str>,
) -> Result<StorageVolumeSnapshot> {
    let _pool_lock = ctx.lock_pool_shared(pool)?;
    let (info, drv) = load_pool(ctx, pool)?;
    let _lock = ctx.lock_volume(pool, vol)?;
    let row = get_row(ctx, pool, VolumeType::Custom, vol)?;
    let snap = snapshot_name(ctx, pool, vol, snap)?;
    let full = format!("{vol}/{snap}");
    if snapshot_rows(ctx, pool, vol)?
        .iter()
        .any(|r| r.name == full)
    {
        return Err(Error::conflict(format!(
            "Snapshot \"{snap}\" of volume \"{vol}\" already exists"
        )));
    }
    // A leftover of a killed create (disk, no row) is ours to replace.
    drv.delete_snapshot(&info, VolumeType::Custom, vol, &snap)
        .or_else(|e| {
            if e.kind == incus_api::ErrorKind::Unsupported {
                Ok(())
            } else {
                Err(e)
            }
        })?;
    drv.create_snapshot(&info, VolumeType::Custom, vol, &snap)?;
    let mut srow = volume_row(ctx, pool, VolumeType::Custom, &full);
    srow.config = row.config;
    srow.description = row.description;
    let project = ctx.project.clone();
    let done = ctx.db()?.write(|tx| {
        incus_db::volume_create(tx, &srow)?;
        events::record(
            tx,
            &project,
            "storage-volume-snapshot-created",
            &format!("/1.0/storage-pools/{pool}/volumes/custom/{vol}/snapshots/{snap}"),
            serde_json::json!({}),
        )
    });
    if let Err(e) = done {
        let _ = drv.delete_snapshot(&info, VolumeType::Custom, vol, &snap);
        return Err(e);
    }
    crate::backup::sync_volume(ctx, pool, vol);
    Ok(snap_to_api(get_row(ctx, pool, VolumeType::Custom, &full)?))
}

fn snap_row(ctx: &Context, pool: &str, vol: &str, snap: &str) -> Result<VolumeRow> {
    ctx.db()?
        .read(|tx| {
            incus_db::volume_get(tx, &ctx.project, pool, "custom", &format!("{vol}/{snap}"))
        })?
        .ok_or_else(|| {
            Error::not_found(format!(
                "Snapshot \"{snap}\" of storage volume \"{vol}\" not found"
            ))
        })
}

/// `storage volume snapshot delete POOL VOL SNAP`.
pub fn snapshot_delete(ctx: &Context, pool: &str, vol: &str, snap: &str) -> Result<()> {
    let _pool_lock = ctx.lock_pool_shared(pool)?;
    let (info, drv) = load_pool(ctx, pool)?;
    let _lock = ctx.lock_volume(pool, vol)?;
    let row = snap_row(ctx, pool, vol, snap)?;
    let project = ctx.project.clone();
    ctx.db()?.write(|tx| {
        incus_db::volume_delete(tx, row.id)?;
        events::record(
            tx,
            &project,
            "storage-volume-snapshot-deleted",
            &format!("/1.0/storage-pools/{pool}/volumes/custom/{vol}/snapshots/{snap}"),
            serde_json::json!({}),
        )
    })?;
    crate::backup::sync_volume(ctx, pool, vol);
    drv.delete_snapshot(&info, VolumeType::Custom, vol, snap)
}

/// `storage volume snapshot rename POOL VOL OLD NEW`.
pub fn snapshot_rename(ctx: &Context, pool: &str, vol: &str, snap: &str, new: &str) -> Result<()> {
    names::validate_object_name("snapshot", new)?;
    let _pool_lock = ctx.lock_pool_shared(pool)?;
    let (info, drv) = load_pool(ctx, pool)?;
    let _lock = ctx.lock_volume(pool, vol)?;
    let row = snap_row(ctx, pool, vol, snap)?;
    if snap_row(ctx, pool, vol, new).is_ok() {
        return Err(Error::conflict(format!(
            "Snapshot \"{new}\" of volume \"{vol}\" already exists"
        )));
    }
    drv.rename_snapshot(&info, VolumeType::Custom, vol, snap, new)?;
    let project = ctx.project.clone();
    let done = ctx.db()?.write(|tx| {
        incus_db::volume_rename(tx, row.id, &format!("{vol}/{new}"))?;
        events::record(
            tx,
            &project,
            "storage-volume-snapshot-renamed",
            &format!("/1.0/storage-pools/{pool}/volumes/custom/{vol}/snapshots/{new}"),
            serde_json::json!({"old_name": snap}),
        )
    });
    if let Err(e) = done {
        let _ = drv.rename_snapshot(&info, VolumeType::Custom, vol, new, snap);
        return Err(e);
    }
    crate::backup::sync_volume(ctx, pool, vol);
    Ok(())
}

/// `storage volume snapshot restore POOL VOL SNAP`: refused while attached (as
/// upstream); the driver swaps the content atomically.
pub fn snapshot_restore(ctx: &Context, pool: &str, vol: &str, snap: &str) -> Result<()> {
    let _pool_lock = ctx.lock_pool_shared(pool)?;
    let (info, drv) = load_pool(ctx, pool)?;
    let _lock = ctx.lock_volume(pool, vol)?;
    snap_row(ctx, pool, vol, snap)?;
    refuse_in_use(ctx, pool, vol, "restore")?;
    drv.restore_snapshot(&info, VolumeType::Custom, vol, snap)?;
    events::lifecycle(
        ctx,
        "storage-volume-restored",
        &format!("/1.0/storage-pools/{pool}/volumes/custom/{vol}"),
        serde_json::json!({"snapshot": snap}),
    )
}

/// Applies a volume size. A driver without quotas (dir) keeps the key without a limit,
/// as upstream does on a filesystem without project quotas.
pub(crate) fn apply_size(
    drv: &dyn Driver,
    pool: &PoolInfo,
    vtype: VolumeType,
    name: &str,
    size: Option<u64>,
) -> Result<()> {
    match drv.set_quota(pool, vtype, name, size) {
        Err(e) if e.kind == incus_api::ErrorKind::Unsupported => Ok(()),
        r => r,
    }
}

/// The `size` of an instance's root disk device, if any.
pub(crate) fn root_size(devices: &Devices) -> Result<Option<u64>> {
    match crate::devices::root_disk(devices) {
        Some((_, d)) => size_of(d),
        None => Ok(None),
    }
}

/// The size a new instance volume gets: its root disk's, else the pool's `volume.size`.
pub(crate) fn new_root_size(devices: &Devices, pool: &PoolInfo) -> Result<Option<u64>> {
    match root_size(devices)? {
        Some(s) => Ok(Some(s)),
        None => match pool.config.get("volume.size").filter(|v| !v.is_empty()) {
            Some(v) => Ok(Some(keys::parse_size(v)?)),
            None => Ok(None),
        },
    }
}
