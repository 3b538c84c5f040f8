//! `export` and `import`: instance backups as upstream's tarballs.
//!
//! ```text
//! backup/index.yaml                  name, backend, pool, snapshots, optimized, type,
//!                                    config (the backup.yaml record, embedded)
//! backup/snapshots/SNAP/             each snapshot's volume (oldest first)
//! backup/container/                  the instance volume: backup.yaml, metadata.yaml,
//!                                    rootfs/, templates/
//! ```
//!
//! The rootfs is stored as it is on disk, which here is unshifted (owners as the
//! container sees them), the way upstream's tarballs hold it, so backups move both
//! ways between upstream and us.
//!
//! Import is crash-safe like `create`: the rows (instance pending, volume, snapshots)
//! are written first, then each volume is unpacked (snapshots first, through the
//! driver's own snapshot call), then the pending mark is cleared; a killed import
//! leaves a pending row that the next command removes with whatever reached the disk.
//! The tarball is untrusted: it is unpacked by the image extractor (no `..`, absolute
//! names, writes through symlinks or hard links out of the tree; device nodes are
//! dropped) under a byte budget (the pool's free space), and names and config are
//! validated as for `create` before anything is written.

use crate::backup::{self, BackupConfig, Parsed};
use crate::instance;
use crate::storage::{self, VolumeType};
use crate::{devices, events, names, time, Context, Error, Result};
use incus_api::{keys, Config, Instance, StatusCode};
use incus_db::{InstanceRow, SnapshotRow};
use incus_imagefmt::{PackCompression, TreeWriter};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// The index's path in the tarball.
pub const INDEX: &str = "backup/index.yaml";

/// `backup/index.yaml` as written (upstream's `backup.Info`).
#[derive(Debug, Serialize)]
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

/// `backup/index.yaml` as read (lenient: older upstream files lack fields).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Index {
    pub name: String,
    pub backend: String,
    pub pool: String,
    pub snapshots: Vec<String>,
    pub optimized: Option<bool>,
    pub optimized_header: Option<bool>,
    #[serde(rename = "type")]
    pub kind: String,
    pub config: Option<Parsed>,
}

/// What `export` takes.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// `--instance-only`: no snapshots.
    pub instance_only: bool,
    /// `--optimized-storage`: refused (no driver stream format here yet).
    pub optimized_storage: bool,
    /// `--compression`: none, gzip (default) or xz.
    pub compression: Option<String>,
}

impl ExportOptions {
    /// The compression, parsed (gzip by default, as upstream's
    /// `backups.compression_algorithm`).
    pub fn compression(&self) -> Result<PackCompression> {
        match &self.compression {
            None => Ok(PackCompression::Gzip),
            Some(c) => PackCompression::parse(c).map_err(|e| Error::invalid(e.to_string())),
        }
    }
}

fn check_options(opts: &ExportOptions) -> Result<PackCompression> {
    if opts.optimized_storage {
        return Err(Error::unsupported(
            "Optimized storage backups (driver send streams) are not supported: export \
             without --optimized-storage (the tarball restores on any pool)",
        ));
    }
    opts.compression()
}

/// Writes the backup tarball of instance `name` to `out`; returns `out`. A running
/// instance is frozen while its volume is read (snapshots are read as they are).
pub fn export<W: Write>(ctx: &Context, name: &str, opts: &ExportOptions, out: W) -> Result<W> {
    let compression = check_options(opts)?;
    let row = instance::get_row(ctx, name)?;
    let _pool_lock = ctx.lock_pool_shared(&row.pool)?;
    let _lock = instance::lock(ctx, name)?;
    let row = instance::get_row(ctx, name)?;
    let (pool, driver) = storage::load_pool(ctx, &row.pool)?;
    // The record inside the volume is brought up to date first.
    backup::write_instance(ctx, name)?;
    let mut doc = backup::instance_config(ctx, name)?;
    if opts.instance_only {
        doc.snapshots.clear();
    }
    let snaps: Vec<String> = doc.snapshots.iter().map(|s| s.name.clone()).collect();
    let index = IndexOut {
        name,
        backend: driver.name(),
        pool: &row.pool,
        snapshots: snaps.clone(),
        optimized: false,
        optimized_header: false,
        kind: "container",
        config: &doc,
    };
    let yaml =
        serde_yaml_ng::to_string(&index).map_err(|e| Error::internal(format!("YAML: {e}")))?;
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut w = TreeWriter::new(out, compression, Path::new(name));
    w.add_bytes(INDEX, yaml.as_bytes(), 0o644, mtime)
        .map_err(crate::convert::backup_format_error)?;
    for s in &snaps {
        let path = pool.snapshot_path(VolumeType::Container, name, s);
        w.add_tree(&format!("backup/snapshots/{s}"), &path)
            .map_err(crate::convert::backup_format_error)?;
    }
    let vol = instance::volume_path(ctx, &row);
    let freeze = instance::status(ctx, name) == StatusCode::Running;
    let run_dir = ctx.instance_run_dir(name);
    if freeze {
        incus_runtime::freeze(&run_dir).map_err(crate::convert::runtime_error)?;
    }
    let packed = w.add_tree("backup/container", &vol);
    if freeze {
        incus_runtime::unfreeze(&run_dir).map_err(crate::convert::runtime_error)?;
    }
    packed.map_err(crate::convert::backup_format_error)?;
    w.finish().map_err(crate::convert::backup_format_error)
}

/// What `import` takes.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The new instance's name (the backup's by default).
    pub name: Option<String>,
    /// `--storage POOL`: the root pool (the backup's if it exists here, else the
    /// profiles' root pool).
    pub pool: Option<String>,
}

/// Reads and checks a backup's index (and the record it embeds, or the one in
/// `backup/container/backup.yaml` for older tarballs).
pub fn read_index(file: &Path) -> Result<(Index, Parsed)> {
    let raw = incus_imagefmt::read_member(file, INDEX)
        .map_err(crate::convert::backup_format_error)?
        .ok_or_else(|| {
            Error::invalid(format!(
                "{} is not an instance backup: it has no {INDEX}",
                file.display()
            ))
        })?;
    let mut index: Index = serde_yaml_ng::from_slice(&raw)
        .map_err(|e| Error::invalid(format!("Invalid {INDEX}: {e}")))?;
    if index.optimized == Some(true) {
        return Err(Error::unsupported(format!(
            "Optimized backups (made with --optimized-storage, backend \"{}\") are not \
             supported: export again without --optimized-storage",
            index.backend
        )));
    }
    match index.kind.as_str() {
        "" | "container" => {}
        "virtual-machine" => {
            return Err(Error::unsupported(
                "Virtual-machine backups are not supported (containers only)",
            ))
        }
        other => {
            return Err(Error::invalid(format!(
                "Backup type \"{other}\" is not an instance backup"
            )))
        }
    }
    let parsed = match index.config.take() {
        Some(p) if p.container.is_some() => p,
        _ => {
            let raw = incus_imagefmt::read_member(file, "backup/container/backup.yaml")
                .map_err(crate::convert::backup_format_error)?
                .ok_or_else(|| Error::invalid("The backup has no instance record (backup.yaml)"))?;
            serde_yaml_ng::from_slice(&raw)
                .map_err(|e| Error::invalid(format!("Invalid backup.yaml: {e}")))?
        }
    };
    if parsed.container.is_none() {
        return Err(Error::invalid("The backup has no instance record"));
    }
    for s in &index.snapshots {
        names::validate_snapshot_name(s)?;
    }
    Ok((index, parsed))
}

/// Keeps the identity of the backed-up instance (uuid, MACs, base image, pending
/// templates) and drops the host-bound state (id maps, which this host allocates,
/// interface names, power state).
fn imported_config(config: &Config) -> Config {
    config
        .iter()
        .filter(|(k, _)| {
            let Some(v) = k.strip_prefix("volatile.") else {
                return true;
            };
            matches!(
                v,
                "uuid"
                    | "uuid.generation"
                    | "base_image"
                    | "apply_template"
                    | "cloud-init.instance-id"
            ) || v.ends_with(".hwaddr")
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `import FILE [NAME] [--storage POOL]`.
pub fn import(ctx: &Context, file: &Path, opts: &ImportOptions) -> Result<Instance> {
    let (index, parsed) = read_index(file)?;
    let c = parsed.container.clone().expect("checked by read_index");
    let name = opts.name.clone().unwrap_or_else(|| {
        if index.name.is_empty() {
            c.name.clone()
        } else {
            index.name.clone()
        }
    });
    names::validate_instance_name(&name)?;
    if !c.instance_type.is_empty() && c.instance_type != "container" {
        return Err(Error::unsupported(
            "Virtual-machine backups are not supported (containers only)",
        ));
    }
    let config = imported_config(&c.config);
    let user_config: Config = config
        .iter()
        .filter(|(k, _)| !k.starts_with("volatile."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    instance::validate_config(&user_config)?;
    devices::validate_devices(&c.devices)?;
    let profile_names = c.profiles.clone();
    let profiles = crate::profile::load_all(ctx, &profile_names)?;
    let mut local_devices = c.devices.clone();
    let (_, expanded) = crate::profile::expand(&profiles, &config, &local_devices);
    let root = devices::root_disk(&expanded).map(|(n, d)| (n.clone(), d.clone()));
    let root_pool = root.as_ref().and_then(|(_, d)| d.get("pool").cloned());
    let pool_exists = |p: &str| storage::pool_get(ctx, p).is_ok();
    let pool = match &opts.pool {
        Some(p) => p.clone(),
        None if !index.pool.is_empty() && pool_exists(&index.pool) => index.pool.clone(),
        None => root_pool.clone().ok_or_else(|| {
            Error::invalid(format!(
                "Storage pool \"{}\" of the backup does not exist here and no profile \
                 gives a root disk: pass --storage POOL",
                index.pool
            ))
        })?,
    };
    storage::pool_get(ctx, &pool)?;
    if root_pool.as_deref() != Some(pool.as_str()) {
        // As `create -s POOL`: a local root device names the pool.
        let (dev_name, mut dev) = root.unwrap_or_else(|| ("root".into(), Config::new()));
        dev.insert("type".into(), "disk".into());
        dev.insert("path".into(), "/".into());
        dev.insert("pool".into(), pool.clone());
        local_devices.insert(dev_name, dev);
    }
    // Snapshots: those the index lists (in its order), with their records.
    let mut snaps: Vec<SnapshotRow> = Vec::new();
    for s in &index.snapshots {
        let rec = parsed.snapshots.iter().find(|r| &r.name == s);
        snaps.push(SnapshotRow {
            id: 0,
            instance_id: 0,
            name: s.clone(),
            created_at: rec
                .map(|r| r.created_at.clone())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(time::now),
            expires_at: rec
                .map(|r| r.expires_at.clone())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| incus_api::ZERO_TIME.into()),
            stateful: false,
            description: rec.map(|r| r.description.clone()).unwrap_or_default(),
            config: rec.map_or_else(|| config.clone(), |r| imported_config(&r.config)),
            devices: rec.map_or_else(|| c.devices.clone(), |r| r.devices.clone()),
        });
    }
    let (expanded_config, _) = crate::profile::expand(&profiles, &config, &local_devices);
    let privileged = expanded_config
        .get("security.privileged")
        .and_then(|v| keys::parse_bool(v))
        .unwrap_or(false);

    let _pool_lock = ctx.lock_pool_shared(&pool)?;
    let (pool_info, driver) = storage::load_pool(ctx, &pool)?;
    let _lock = instance::lock(ctx, &name)?;
    let project = ctx.project.clone();
    if ctx
        .db()?
        .read(|tx| incus_db::instance_get(tx, &project, &name))?
        .is_some()
    {
        return Err(Error::conflict(format!(
            "Instance \"{name}\" already exists"
        )));
    }
    if pool_info.volume_path(VolumeType::Container, &name).exists() {
        return Err(Error::conflict(format!(
            "A volume for instance \"{name}\" already exists on pool \"{pool}\" (see incus admin recover)"
        )));
    }
    let row = ctx.db()?.write_durable(|tx| {
        let mut row = InstanceRow {
            name: name.clone(),
            project: project.clone(),
            instance_type: "container".into(),
            architecture: if c.architecture.is_empty() {
                incus_sys::architecture()
            } else {
                c.architecture.clone()
            },
            ephemeral: c.ephemeral,
            stateful: false,
            created_at: if c.created_at.is_empty() {
                time::now()
            } else {
                c.created_at.clone()
            },
            last_used_at: incus_api::EPOCH_TIME.into(),
            description: c.description.clone(),
            pool: pool.clone(),
            pending: true,
            config: config.clone(),
            devices: local_devices.clone(),
            profiles: profile_names.clone(),
            ..Default::default()
        };
        if !privileged {
            instance::record_idmap(tx, &project, 0, &expanded_config, &mut row.config)?;
        }
        row.id = incus_db::instance_create(tx, &row)?;
        incus_db::volume_create(
            tx,
            &storage::volume_row(ctx, &pool, VolumeType::Container, &name),
        )?;
        for s in &snaps {
            let mut s = s.clone();
            s.instance_id = row.id;
            incus_db::snapshot_create(tx, &s)?;
        }
        Ok(row)
    })?;

    let ct = VolumeType::Container;
    let built = (|| -> Result<()> {
        let budget = || -> Result<Option<u64>> {
            let r = driver.resources(&pool_info)?;
            Ok(Some(r.space.total.saturating_sub(r.space.used)))
        };
        let fill = |prefix: &str| -> Result<()> {
            let vol = driver.create_volume(&pool_info, ct, &name)?;
            let found = incus_imagefmt::unpack_subtree(file, prefix, &vol, budget()?)
                .map_err(crate::convert::backup_format_error)?;
            // The volume's own entries (rootfs, templates, metadata.yaml, backup.yaml)
            // are read by the host: none may be a symlink, rootfs a real directory.
            for ent in std::fs::read_dir(&vol)? {
                let ent = ent?;
                if ent.file_type()?.is_symlink() {
                    return Err(Error::invalid(format!(
                        "Invalid backup: {prefix}/{} is a symbolic link",
                        ent.file_name().to_string_lossy()
                    )));
                }
            }
            let rootfs_is_dir = std::fs::symlink_metadata(vol.join("rootfs"))
                .map(|m| m.is_dir())
                .unwrap_or(false);
            if !found || !rootfs_is_dir {
                return Err(Error::invalid(format!(
                    "Invalid backup: {prefix}/rootfs is missing"
                )));
            }
            Ok(())
        };
        for s in &snaps {
            fill(&format!("backup/snapshots/{}", s.name))?;
            driver.create_snapshot(&pool_info, ct, &name, &s.name)?;
            driver.delete_volume(&pool_info, ct, &name)?;
        }
        fill("backup/container")?;
        incus_sys::testhook::pause_point("import-unpacked");
        if let Some(size) = storage::volume::new_root_size(&expanded, &pool_info)? {
            storage::volume::apply_size(driver.as_ref(), &pool_info, ct, &name, Some(size))?;
        }
        instance::symlink_instance(ctx, &row)?;
        ctx.db()?.write(|tx| {
            incus_db::instance_set_pending(tx, row.id, false)?;
            events::record(
                tx,
                &project,
                "instance-created",
                &format!("/1.0/instances/{name}"),
                serde_json::json!({"type": "container", "source": "backup"}),
            )
        })
    })();
    if let Err(e) = built {
        let _ = instance::remove_everything(ctx, &row);
        return Err(e);
    }
    backup::sync_instance(ctx, &name);
    instance::get(ctx, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imported_config_keeps_identity_and_drops_host_state() {
        let mut c = Config::new();
        for (k, v) in [
            ("user.a", "1"),
            ("volatile.uuid", "u"),
            ("volatile.eth0.hwaddr", "10:66:6a:00:00:01"),
            ("volatile.eth0.host_name", "veth1"),
            ("volatile.idmap.base", "0"),
            ("volatile.idmap.next", "[]"),
            ("volatile.last_state.power", "RUNNING"),
            ("volatile.base_image", "abc"),
        ] {
            c.insert(k.into(), v.into());
        }
        let out = imported_config(&c);
        let keys: Vec<&str> = out.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "user.a",
                "volatile.base_image",
                "volatile.eth0.hwaddr",
                "volatile.uuid"
            ]
        );
    }

    #[test]
    fn export_options_refuse_what_cannot_be_read_back() {
        let o = ExportOptions {
            compression: Some("zstd".into()),
            ..Default::default()
        };
        assert_eq!(
            check_options(&o).unwrap_err().kind,
            crate::ErrorKind::Invalid
        );
        let o = ExportOptions {
            optimized_storage: true,
            ..Default::default()
        };
        assert_eq!(
            check_options(&o).unwrap_err().kind,
            crate::ErrorKind::Unsupported
        );
        assert_eq!(
            check_options(&ExportOptions::default()).unwrap(),
            PackCompression::Gzip
        );
    }
}
