//! `storage volume export` / `import`: custom volume backups as upstream's tarballs.
//!
//! ```text
//! backup/index.yaml              name, backend, pool, snapshots, type: custom,
//!                                config: {volume, volume_snapshots, pool}
//! backup/volume-snapshots/SNAP/  each snapshot (oldest first)
//! backup/volume/                 the volume's files
//! ```
//!
//! Import follows the volume create pattern (disk first, then the rows in one
//! commit): a killed import leaves directories without rows, which the next import
//! of that name, or `storage volume list` (the volume itself), removes. The tarball
//! is unpacked by the image extractor with the pool's free space as budget, as for
//! instance backups.

use crate::backup::{BackupConfig, Parsed};
use crate::backup_archive::ExportOptions;
use crate::storage::{self, VolumeType};
use crate::{events, names, time, Context, Error, Result};
use incus_api::StorageVolume;
use incus_imagefmt::TreeWriter;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

const INDEX: &str = "backup/index.yaml";

#[derive(Serialize)]
struct IndexOut<'a> {
    name: &'a str,
    backend: &'a str,
    pool: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    snapshots: Vec<String>,
    optimized: bool,
    optimized_header: bool,
    #[serde(rename = "type")]
    kind: &'static str,
    config: &'a BackupConfig,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Index {
    name: String,
    snapshots: Vec<String>,
    optimized: Option<bool>,
    #[serde(rename = "type")]
    kind: String,
    config: Option<Parsed>,
}

/// Writes the backup tarball of custom volume `pool/name` to `out`
/// (`instance_only` of the options is `--volume-only`: no snapshots).
pub fn export<W: Write>(
    ctx: &Context,
    pool: &str,
    name: &str,
    opts: &ExportOptions,
    out: W,
) -> Result<W> {
    if opts.optimized_storage {
        return Err(Error::unsupported(
            "Optimized storage backups (driver send streams) are not supported: export \
             without --optimized-storage",
        ));
    }
    let compression = opts.compression()?;
    let _pool_lock = ctx.lock_pool_shared(pool)?;
    let (info, drv) = storage::load_pool(ctx, pool)?;
    let _lock = ctx.lock_volume(pool, name)?;
    let volume = storage::volume::get(ctx, pool, VolumeType::Custom, name)?;
    let mut doc = BackupConfig {
        volume: Some(volume),
        volume_snapshots: storage::volume::snapshot_list(ctx, pool, name)?,
        pool: Some(storage::pool_get(ctx, pool)?),
        ..Default::default()
    };
    if opts.instance_only {
        doc.volume_snapshots.clear();
    }
    let snaps: Vec<String> = doc
        .volume_snapshots
        .iter()
        .map(|s| s.name.clone())
        .collect();
    let index = IndexOut {
        name,
        backend: drv.name(),
        pool,
        snapshots: snaps.clone(),
        optimized: false,
        optimized_header: false,
        kind: "custom",
        config: &doc,
    };
    let yaml =
        serde_yaml_ng::to_string(&index).map_err(|e| Error::internal(format!("YAML: {e}")))?;
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let mut w = TreeWriter::new(out, compression, Path::new(name));
    w.add_bytes(INDEX, yaml.as_bytes(), 0o644, now)
        .map_err(crate::convert::backup_format_error)?;
    for s in &snaps {
        let p = info.snapshot_path(VolumeType::Custom, name, s);
        w.add_tree(&format!("backup/volume-snapshots/{s}"), &p)
            .map_err(crate::convert::backup_format_error)?;
    }
    w.add_tree("backup/volume", &info.volume_path(VolumeType::Custom, name))
        .map_err(crate::convert::backup_format_error)?;
    w.finish().map_err(crate::convert::backup_format_error)
}

/// `storage volume import POOL FILE [NAME]`.
pub fn import(ctx: &Context, pool: &str, file: &Path, name: Option<&str>) -> Result<StorageVolume> {
    let raw = incus_imagefmt::read_member(file, INDEX)
        .map_err(crate::convert::backup_format_error)?
        .ok_or_else(|| {
            Error::invalid(format!(
                "{} is not a volume backup: it has no {INDEX}",
                file.display()
            ))
        })?;
    let index: Index = serde_yaml_ng::from_slice(&raw)
        .map_err(|e| Error::invalid(format!("Invalid {INDEX}: {e}")))?;
    if index.optimized == Some(true) {
        return Err(Error::unsupported(
            "Optimized backups are not supported: export again without --optimized-storage",
        ));
    }
    if index.kind != "custom" {
        return Err(Error::invalid(format!(
            "Not a custom volume backup (type \"{}\"): use `incus import` for instances",
            index.kind
        )));
    }
    let name = name.map(str::to_string).unwrap_or(index.name.clone());
    names::validate_object_name("storage volume", &name)?;
    for s in &index.snapshots {
        names::validate_object_name("snapshot", s)?;
    }
    let parsed = index.config.unwrap_or_default();
    let vol = parsed.volume.clone().unwrap_or_default();
    let content_type = if vol.content_type.is_empty() {
        "filesystem".to_string()
    } else {
        vol.content_type.clone()
    };
    if content_type != "filesystem" {
        return Err(Error::unsupported(format!(
            "Volumes of content type \"{content_type}\" are not supported (filesystem only)"
        )));
    }
    let config: incus_api::Config = vol
        .config
        .iter()
        .filter(|(k, _)| !k.starts_with("volatile."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in &config {
        storage::volume::validate_volume_key(k, v)?;
    }

    let _pool_lock = ctx.lock_pool_shared(pool)?;
    let (info, drv) = storage::load_pool(ctx, pool)?;
    let _lock = ctx.lock_volume(pool, &name)?;
    if ctx
        .db()?
        .read(|tx| incus_db::volume_get(tx, &ctx.project, pool, "custom", &name))?
        .is_some()
    {
        return Err(Error::conflict(format!(
            "Storage volume \"{name}\" of type \"custom\" already exists in pool \"{pool}\""
        )));
    }
    let ct = VolumeType::Custom;
    // What a killed import (or create) of this name left: disk without rows.
    let clear = || -> Result<()> {
        let snap_dir = info.snapshot_path(ct, &name, "x").with_file_name("");
        if let Ok(rd) = std::fs::read_dir(&snap_dir) {
            for e in rd.flatten() {
                let s = e.file_name().to_string_lossy().into_owned();
                drv.delete_snapshot(&info, ct, &name, &s)?;
            }
            let _ = std::fs::remove_dir(&snap_dir);
        }
        if std::fs::symlink_metadata(info.volume_path(ct, &name)).is_ok() {
            drv.delete_volume(&info, ct, &name)?;
        }
        Ok(())
    };
    clear()?;
    let built = (|| -> Result<()> {
        let budget = || -> Result<Option<u64>> {
            let r = drv.resources(&info)?;
            Ok(Some(r.space.total.saturating_sub(r.space.used)))
        };
        let fill = |prefix: &str| -> Result<()> {
            let path = drv.create_volume(&info, ct, &name)?;
            incus_imagefmt::unpack_subtree(file, prefix, &path, budget()?)
                .map_err(crate::convert::backup_format_error)?;
            Ok(())
        };
        for s in &index.snapshots {
            fill(&format!("backup/volume-snapshots/{s}"))?;
            drv.create_snapshot(&info, ct, &name, s)?;
            drv.delete_volume(&info, ct, &name)?;
        }
        fill("backup/volume")?;
        incus_sys::testhook::pause_point("volume-import-unpacked");
        let project = ctx.project.clone();
        let mut row = storage::volume_row(ctx, pool, ct, &name);
        row.config = config.clone();
        row.description = vol.description.clone();
        if !vol.created_at.is_empty() {
            row.created_at = vol.created_at.clone();
        }
        ctx.db()?.write(|tx| {
            incus_db::volume_create(tx, &row)?;
            for s in &index.snapshots {
                let rec = parsed.volume_snapshots.iter().find(|r| &r.name == s);
                let mut srow = row.clone();
                srow.name = format!("{name}/{s}");
                srow.created_at = rec
                    .map(|r| r.created_at.clone())
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(time::now);
                srow.description = rec.map(|r| r.description.clone()).unwrap_or_default();
                incus_db::volume_create(tx, &srow)?;
            }
            events::record(
                tx,
                &project,
                "storage-volume-created",
                &format!("/1.0/storage-pools/{pool}/volumes/custom/{name}"),
                serde_json::json!({"source": "backup"}),
            )
        })
    })();
    if let Err(e) = built {
        let _ = clear();
        return Err(e);
    }
    crate::backup::sync_volume(ctx, pool, &name);
    storage::volume::get(ctx, pool, ct, &name)
}
