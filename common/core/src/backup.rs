//! `backup.yaml`: the record of an instance or a custom volume kept beside its data
//! in upstream's format (`internal/server/backup/config`: `container`, `snapshots`,
//! `pool`, `profiles`, `volume`, `volume_snapshots`), rewritten atomically after each
//! change, so that `admin recover` can re-create the database rows from the disk.
//!
//! Where: an instance's in its volume (`POOL/containers/NAME/backup.yaml`, as
//! upstream; the container only sees `rootfs/`); a custom volume's beside it
//! (`POOL/custom/.NAME.backup.yaml`: the volume's own root is mounted into
//! instances). Both root-only (0600).

use crate::storage::{self, VolumeType};
use crate::{instance, profile, snapshot, Context, Result};
use incus_api::{
    Config, Devices, Instance, InstanceSnapshot, Profile, StoragePool, StorageVolume,
    StorageVolumeSnapshot,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file's name inside an instance volume.
pub const FILE: &str = "backup.yaml";

/// What is written (upstream's `config.Config`, the parts that exist here).
#[derive(Debug, Default, Serialize)]
pub struct BackupConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<Instance>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub snapshots: Vec<InstanceSnapshot>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<StoragePool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<Profile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<StorageVolume>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_snapshots: Vec<StorageVolumeSnapshot>,
}

/// What is read back: lenient (every field optional), so a file written by upstream
/// or by an older version still reads. `instance` is newer upstream's name.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct Parsed {
    #[serde(alias = "instance")]
    pub container: Option<ParsedInstance>,
    pub snapshots: Vec<ParsedSnapshot>,
    pub pool: Option<ParsedPool>,
    pub profiles: Vec<ParsedProfile>,
    pub volume: Option<ParsedVolume>,
    pub volume_snapshots: Vec<ParsedVolume>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ParsedInstance {
    pub name: String,
    pub architecture: String,
    pub config: Config,
    pub devices: Devices,
    pub ephemeral: bool,
    pub stateful: bool,
    pub profiles: Vec<String>,
    pub description: String,
    pub created_at: String,
    pub last_used_at: String,
    #[serde(rename = "type")]
    pub instance_type: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ParsedSnapshot {
    pub name: String,
    pub config: Config,
    pub devices: Devices,
    pub stateful: bool,
    pub description: String,
    pub created_at: String,
    pub expires_at: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ParsedPool {
    pub name: String,
    pub driver: String,
    pub description: String,
    pub config: Config,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ParsedProfile {
    pub name: String,
    pub description: String,
    pub config: Config,
    pub devices: Devices,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ParsedVolume {
    pub name: String,
    pub description: String,
    pub config: Config,
    pub content_type: String,
    pub created_at: String,
}

/// Reads and parses a backup.yaml.
pub fn read(path: &Path) -> Result<Parsed> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::Error::internal(format!("Read {}: {e}", path.display())))?;
    serde_yaml_ng::from_str(&text)
        .map_err(|e| crate::Error::invalid(format!("Invalid {}: {e}", path.display())))
}

fn write(path: &Path, doc: &BackupConfig) -> Result<()> {
    let yaml =
        serde_yaml_ng::to_string(doc).map_err(|e| crate::Error::internal(format!("YAML: {e}")))?;
    // Derived from the database at its durability (docs/performance.md).
    incus_sys::fsutil::atomic_replace(path, yaml.as_bytes(), 0o600)
}

/// The backup.yaml of a custom volume.
pub fn volume_file(pool_path: &Path, name: &str) -> PathBuf {
    pool_path
        .join(VolumeType::Custom.dir_name())
        .join(format!(".{name}.{FILE}"))
}

/// Rewrites an instance's backup.yaml from its current records.
pub fn write_instance(ctx: &Context, name: &str) -> Result<()> {
    let row = instance::get_row(ctx, name)?;
    let doc = instance_config(ctx, name)?;
    write(&instance::volume_path(ctx, &row).join(FILE), &doc)
}

/// The record of an instance as backup.yaml holds it (also embedded in the
/// `index.yaml` of an exported backup).
pub fn instance_config(ctx: &Context, name: &str) -> Result<BackupConfig> {
    let row = instance::get_row(ctx, name)?;
    let inst = instance::get(ctx, name)?;
    let mut profiles = Vec::new();
    for p in &row.profiles {
        profiles.push(profile::get(ctx, p)?);
    }
    let doc = BackupConfig {
        snapshots: snapshot::list(ctx, name)?,
        pool: Some(storage::pool_get(ctx, &row.pool)?),
        profiles,
        volume: storage::volume::get(ctx, &row.pool, VolumeType::Container, name).ok(),
        container: Some(inst),
        ..Default::default()
    };
    Ok(doc)
}

/// Rewrites a custom volume's backup.yaml from its current records.
pub fn write_volume(ctx: &Context, pool: &str, name: &str) -> Result<()> {
    let p = storage::pool_get(ctx, pool)?;
    let doc = BackupConfig {
        volume: Some(storage::volume::get(ctx, pool, VolumeType::Custom, name)?),
        volume_snapshots: storage::volume::snapshot_list(ctx, pool, name)?,
        pool: Some(p),
        ..Default::default()
    };
    write(&volume_file(&ctx.pools_dir().join(pool), name), &doc)
}

/// [`write_instance`] after a change that is already committed: a failure is a
/// warning (the change stands; the next change of the instance rewrites it).
pub fn sync_instance(ctx: &Context, name: &str) {
    if let Err(e) = write_instance(ctx, name) {
        incus_api::warning::push(format!(
            "could not update backup.yaml of instance \"{name}\": {e}"
        ));
    }
}

/// [`write_volume`] after a committed change (warns on failure).
pub fn sync_volume(ctx: &Context, pool: &str, name: &str) {
    if let Err(e) = write_volume(ctx, pool, name) {
        incus_api::warning::push(format!(
            "could not update backup.yaml of volume \"{pool}/{name}\": {e}"
        ));
    }
}

/// Removes a custom volume's backup.yaml (volume deleted or renamed).
pub fn remove_volume(ctx: &Context, pool: &str, name: &str) {
    let _ = std::fs::remove_file(volume_file(&ctx.pools_dir().join(pool), name));
}

/// The instances using a profile get their backup.yaml rewritten (it holds the
/// profiles).
pub fn sync_profile_users(ctx: &Context, profile_name: &str) {
    let Ok(rows) = ctx.db().and_then(|mut db| {
        let project = ctx.project.clone();
        db.read(|tx| incus_db::instance_list(tx, &project))
    }) else {
        return;
    };
    for r in rows {
        if r.profiles.iter().any(|p| p == profile_name) && !r.pending {
            // Profile -> instance is the lock order; the lock keeps a concurrent
            // change of the instance from being overwritten by an older picture.
            let _l = ctx.lock_instance(&r.name);
            sync_instance(ctx, &r.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_upstream_files_with_either_instance_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        // The shape upstream writes (fields we do not know are ignored).
        let doc = "instance:
  name: c1
  architecture: x86_64
  config: {image.os: Debian, volatile.idmap.base: '1000000'}
  devices: {}
  ephemeral: false
  profiles: [default]
  stateful: false
  type: container
  backups: []
snapshots:
- name: snap0
  config: {}
  devices: {}
  created_at: 2024-01-01T00:00:00Z
pool:
  name: default
  driver: dir
  config: {source: /var/lib/incus/storage-pools/default}
profiles:
- name: default
  devices:
    root: {path: /, pool: default, type: disk}
volume:
  name: c1
  type: container
  content_type: filesystem
";
        std::fs::write(&path, doc).unwrap();
        let b = read(&path).unwrap();
        let c = b.container.unwrap();
        assert_eq!(c.name, "c1");
        assert_eq!(c.config["volatile.idmap.base"], "1000000");
        assert_eq!(b.snapshots[0].name, "snap0");
        assert_eq!(b.pool.unwrap().driver, "dir");
        assert_eq!(b.profiles[0].devices["root"]["pool"], "default");
        std::fs::write(&path, doc.replacen("instance:", "container:", 1)).unwrap();
        assert_eq!(read(&path).unwrap().container.unwrap().name, "c1");
        std::fs::write(&path, "container: [not, a, map]").unwrap();
        assert_eq!(read(&path).unwrap_err().kind, crate::ErrorKind::Invalid);
    }
}
