//! `admin recover`: after the state database is lost or damaged, re-create the rows
//! of the instances, snapshots and custom volumes found on the storage pools, from
//! the `backup.yaml` each keeps (see [`crate::backup`]). As upstream: the pools in the
//! database are scanned, pools that are not (their rows were lost too) are named by
//! the caller (we also propose the ones found under `storage-pools/`), missing
//! dependencies are reported before anything is written. Unlike upstream, a profile
//! an instance uses that is missing (or is the empty `default` of a fresh database)
//! is re-created from the copy in the instance's backup.yaml: a lost database lost
//! the profiles too. Nothing in a volume changes: rows are written, no volume is
//! touched (the `INCUS_DIR/containers/NAME` symlinks are re-made).

use crate::backup::{self, Parsed};
use crate::storage::{self, PoolInfo, VolumeType};
use crate::{instance, names, Context, Error, Result};
use incus_api::Config;
use incus_db::{InstanceRow, PoolRow, ProfileRow, SnapshotRow, VolumeRow};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A pool to scan that has no row (the caller's answer, or our proposal).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolSpec {
    pub name: String,
    pub driver: String,
    pub description: String,
    pub config: Config,
}

impl PoolSpec {
    pub fn source(&self) -> &str {
        self.config.get("source").map(String::as_str).unwrap_or("")
    }
}

/// Kind of a volume found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundKind {
    Container,
    Custom,
}

/// A volume on disk without a row.
#[derive(Debug, Clone)]
pub struct Found {
    pub pool: String,
    pub kind: FoundKind,
    pub name: String,
    /// Snapshot names found on disk.
    pub snapshots: Vec<String>,
    /// Its backup.yaml (None: a custom volume without one gets defaults).
    pub backup: Option<Parsed>,
}

/// What a scan found.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub volumes: Vec<Found>,
    /// What must exist before the import (upstream's dependency errors).
    pub dependency_errors: Vec<String>,
    /// Volumes that cannot be recovered, with why (no or a bad backup.yaml).
    pub skipped: Vec<(String, String)>,
}

fn dirs(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Pools that are on disk (`storage-pools/NAME`) but have no row, with what their
/// files say about them: a `pool` section of a backup.yaml inside, else a guess (a
/// loop file `disks/NAME.img` is a btrfs pool; anything else a dir pool).
pub fn proposed_pools(ctx: &Context) -> Result<Vec<PoolSpec>> {
    let known: Vec<String> = storage::pool_list(ctx)?
        .into_iter()
        .map(|p| p.name)
        .collect();
    let mut out = Vec::new();
    let entries = std::fs::read_dir(ctx.pools_dir())
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let mut entries = entries;
    entries.sort();
    for name in entries {
        if known.contains(&name) || names::validate_object_name("storage pool", &name).is_err() {
            continue;
        }
        let path = ctx.pools_dir().join(&name);
        let loop_file = ctx.incus_dir.join("disks").join(format!("{name}.img"));
        let mut spec = PoolSpec {
            name: name.clone(),
            ..Default::default()
        };
        if loop_file.is_file() {
            spec.driver = "btrfs".into();
            spec.config
                .insert("source".into(), loop_file.display().to_string());
        } else {
            spec.driver = "dir".into();
            let source = std::fs::read_link(&path).unwrap_or_else(|_| path.clone());
            spec.config
                .insert("source".into(), source.display().to_string());
        }
        // What a backup.yaml says wins (it has the whole config), when readable now.
        if let Some(p) = pool_from_backups(&path) {
            if p.name == name && !p.driver.is_empty() {
                spec.driver = p.driver;
                spec.config = p.config;
                spec.description = p.description;
            }
        }
        out.push(spec);
    }
    Ok(out)
}

fn pool_from_backups(path: &Path) -> Option<backup::ParsedPool> {
    let containers = path.join(VolumeType::Container.dir_name());
    for n in dirs(&containers) {
        if let Ok(b) = backup::read(&containers.join(n).join(backup::FILE)) {
            if b.pool.is_some() {
                return b.pool;
            }
        }
    }
    let custom = path.join(VolumeType::Custom.dir_name());
    for n in dirs(&custom) {
        if let Ok(b) = backup::read(&backup::volume_file(path, &n)) {
            if b.pool.is_some() {
                return b.pool;
            }
        }
    }
    None
}

fn info_of(ctx: &Context, spec: &PoolSpec) -> PoolInfo {
    PoolInfo {
        name: spec.name.clone(),
        driver: spec.driver.clone(),
        config: spec.config.clone(),
        path: ctx.pools_dir().join(&spec.name),
        projects: Default::default(),
    }
}

/// Checks and mounts the new pools (mounting changes no volume).
fn prepare_new_pool(ctx: &Context, spec: &PoolSpec) -> Result<()> {
    names::validate_object_name("storage pool", &spec.name)?;
    let drv = storage::driver(&spec.driver)?;
    drv.validate_config(&spec.config)?;
    let info = info_of(ctx, spec);
    if spec.driver == "dir" && !info.path.exists() {
        let source = PathBuf::from(spec.source());
        if !spec.source().is_empty() && source.is_dir() {
            ctx.ensure_pools_dir()?;
            std::os::unix::fs::symlink(&source, &info.path)?;
        }
    }
    drv.mount_pool(ctx, &info)?;
    if !info.path.is_dir() {
        return Err(Error::not_found(format!(
            "Storage pool \"{}\": {} is not a directory",
            spec.name,
            info.path.display()
        )));
    }
    Ok(())
}

/// Scans the pools in the database and `new_pools` for volumes without rows.
pub fn scan(ctx: &Context, new_pools: &[PoolSpec]) -> Result<Scan> {
    let mut pools: Vec<PoolSpec> = Vec::new();
    for p in storage::pool_list(ctx)? {
        // Mounted (a loop pool after a reboot) through the usual path.
        storage::load_pool(ctx, &p.name)?;
        pools.push(PoolSpec {
            name: p.name,
            driver: p.driver,
            description: p.description,
            config: p.config,
        });
    }
    for spec in new_pools {
        if pools.iter().any(|p| p.name == spec.name) {
            return Err(Error::conflict(format!(
                "Storage pool \"{}\" already exists",
                spec.name
            )));
        }
        prepare_new_pool(ctx, spec)?;
        pools.push(spec.clone());
    }
    let project = ctx.project.clone();
    let (rows, volumes, profiles, networks) = ctx.db()?.read(|tx| {
        Ok((
            incus_db::instance_list(tx, &project)?,
            incus_db::volume_list(tx, None, None)?,
            incus_db::profile_list(tx, &project)?,
            incus_db::network_list(tx, &project)?,
        ))
    })?;
    let mut out = Scan::default();
    for pool in &pools {
        let base = ctx.pools_dir().join(&pool.name);
        let cdir = base.join(VolumeType::Container.dir_name());
        for name in dirs(&cdir) {
            if rows.iter().any(|r| r.name == name) {
                continue;
            }
            if let Err(e) = names::validate_instance_name(&name) {
                out.skipped
                    .push((format!("{}/{name}", pool.name), e.message));
                continue;
            }
            let path = cdir.join(&name).join(backup::FILE);
            let parsed = match backup::read(&path) {
                Ok(b) if b.container.is_some() => b,
                Ok(_) => {
                    out.skipped.push((
                        format!("{}/{name}", pool.name),
                        "backup.yaml has no instance".into(),
                    ));
                    continue;
                }
                Err(e) => {
                    out.skipped
                        .push((format!("{}/{name}", pool.name), e.message));
                    continue;
                }
            };
            if out
                .volumes
                .iter()
                .any(|f| f.kind == FoundKind::Container && f.name == name)
            {
                out.dependency_errors.push(format!(
                    "Instance \"{name}\" is on more than one pool (keep one)"
                ));
            }
            let snapshots: Vec<String> = dirs(&base.join("containers-snapshots").join(&name))
                .into_iter()
                .filter(|s| names::validate_snapshot_name(s).is_ok())
                .collect();
            out.volumes.push(Found {
                pool: pool.name.clone(),
                kind: FoundKind::Container,
                name,
                snapshots,
                backup: Some(parsed),
            });
        }
        let vdir = base.join(VolumeType::Custom.dir_name());
        for name in dirs(&vdir) {
            let has_row = volumes
                .iter()
                .any(|v| v.pool == pool.name && v.volume_type == "custom" && v.name == name);
            if has_row {
                continue;
            }
            if let Err(e) = names::validate_object_name("storage volume", &name) {
                out.skipped
                    .push((format!("{}/custom/{name}", pool.name), e.message));
                continue;
            }
            let file = backup::volume_file(&base, &name);
            let parsed = if file.exists() {
                match backup::read(&file) {
                    Ok(b) => Some(b),
                    Err(e) => {
                        out.skipped
                            .push((format!("{}/custom/{name}", pool.name), e.message));
                        continue;
                    }
                }
            } else {
                None
            };
            let snapshots: Vec<String> = dirs(&base.join("custom-snapshots").join(&name))
                .into_iter()
                .filter(|s| names::validate_object_name("snapshot", s).is_ok())
                .collect();
            out.volumes.push(Found {
                pool: pool.name.clone(),
                kind: FoundKind::Custom,
                name,
                snapshots,
                backup: parsed,
            });
        }
    }
    // Dependencies: profiles come back from the backups; networks and pools named by
    // devices must exist.
    let pool_names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
    let net_names: Vec<&str> = networks.iter().map(|n| n.name.as_str()).collect();
    let mut missing: Vec<String> = Vec::new();
    for f in &out.volumes {
        let Some(inst) = f.backup.as_ref().and_then(|b| b.container.as_ref()) else {
            continue;
        };
        let b = f.backup.as_ref().expect("checked");
        for p in &inst.profiles {
            let known = profiles.iter().any(|r| &r.name == p);
            let carried = b.profiles.iter().any(|r| &r.name == p);
            if !known && !carried {
                missing.push(format!("Profile \"{p}\" in project \"default\""));
            }
        }
        let mut devices: Vec<&Config> = inst.devices.values().collect();
        for p in &b.profiles {
            if inst.profiles.contains(&p.name) {
                devices.extend(p.devices.values());
            }
        }
        for d in devices {
            match d.get("type").map(String::as_str) {
                Some("nic") => {
                    if let Some(n) = d.get("network") {
                        if !net_names.contains(&n.as_str()) {
                            missing.push(format!("Network \"{n}\" in project \"default\""));
                        }
                    }
                }
                Some("disk") => {
                    if let Some(p) = d.get("pool") {
                        if !pool_names.contains(&p.as_str()) {
                            missing.push(format!("Storage pool \"{p}\""));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    missing.sort();
    missing.dedup();
    out.dependency_errors.extend(missing);
    Ok(out)
}

/// What `import` re-created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Imported {
    pub pools: Vec<String>,
    pub profiles: Vec<String>,
    pub instances: Vec<String>,
    pub volumes: Vec<String>,
}

fn or_now(s: &str) -> String {
    if s.is_empty() {
        crate::time::now()
    } else {
        s.to_string()
    }
}

/// Scans again and writes the rows: the new pools, the profiles carried by the
/// backups that are missing (or the empty `default` of a fresh database), then each
/// instance with its volume and snapshot rows and each custom volume with its
/// snapshots, all in one transaction (all or nothing). Refused while a dependency
/// is missing.
pub fn import(ctx: &Context, new_pools: &[PoolSpec]) -> Result<Imported> {
    let _global = ctx.lock_global()?;
    let scan = scan(ctx, new_pools)?;
    if !scan.dependency_errors.is_empty() {
        return Err(Error::invalid(format!(
            "Missing dependencies: {}",
            scan.dependency_errors.join("; ")
        )));
    }
    let project = ctx.project.clone();
    let mut done = Imported::default();
    // Profiles carried by the backups, first definition wins.
    let mut carried: BTreeMap<String, backup::ParsedProfile> = BTreeMap::new();
    for f in &scan.volumes {
        if let Some(b) = &f.backup {
            for p in &b.profiles {
                carried.entry(p.name.clone()).or_insert_with(|| p.clone());
            }
        }
    }
    let arch = incus_sys::architecture();
    let mut instance_rows: Vec<InstanceRow> = Vec::new();
    ctx.db()?.write(|tx| {
        for spec in new_pools {
            incus_db::pool_create(
                tx,
                &PoolRow {
                    id: 0,
                    name: spec.name.clone(),
                    driver: spec.driver.clone(),
                    description: spec.description.clone(),
                    config: spec.config.clone(),
                },
            )?;
            done.pools.push(spec.name.clone());
        }
        for (name, p) in &carried {
            let used = scan.volumes.iter().any(|f| {
                f.backup
                    .as_ref()
                    .and_then(|b| b.container.as_ref())
                    .is_some_and(|c| c.profiles.contains(name))
            });
            if !used {
                continue;
            }
            match incus_db::profile_get(tx, &project, name)? {
                None => {
                    incus_db::profile_create(
                        tx,
                        &project,
                        &ProfileRow {
                            id: 0,
                            name: name.clone(),
                            description: p.description.clone(),
                            config: p.config.clone(),
                            devices: p.devices.clone(),
                        },
                    )?;
                    done.profiles.push(name.clone());
                }
                Some(existing) if existing.config.is_empty() && existing.devices.is_empty() => {
                    if !p.config.is_empty() || !p.devices.is_empty() {
                        incus_db::profile_update(
                            tx,
                            &ProfileRow {
                                id: existing.id,
                                name: name.clone(),
                                description: p.description.clone(),
                                config: p.config.clone(),
                                devices: p.devices.clone(),
                            },
                        )?;
                        done.profiles.push(name.clone());
                    }
                }
                Some(_) => {}
            }
        }
        for f in &scan.volumes {
            match f.kind {
                FoundKind::Container => {
                    let b = f.backup.as_ref().expect("instances have a backup");
                    let c = b.container.as_ref().expect("checked by scan");
                    let row = InstanceRow {
                        id: 0,
                        name: f.name.clone(),
                        project: project.clone(),
                        instance_type: "container".into(),
                        architecture: if c.architecture.is_empty() {
                            arch.clone()
                        } else {
                            c.architecture.clone()
                        },
                        ephemeral: c.ephemeral,
                        stateful: c.stateful,
                        created_at: or_now(&c.created_at),
                        last_used_at: if c.last_used_at.is_empty() {
                            incus_api::EPOCH_TIME.into()
                        } else {
                            c.last_used_at.clone()
                        },
                        description: c.description.clone(),
                        pool: f.pool.clone(),
                        pending: false,
                        config: c.config.clone(),
                        devices: c.devices.clone(),
                        profiles: c.profiles.clone(),
                    };
                    let id = incus_db::instance_create(tx, &row)?;
                    incus_db::volume_create(
                        tx,
                        &VolumeRow {
                            pool: f.pool.clone(),
                            name: f.name.clone(),
                            volume_type: "container".into(),
                            content_type: "filesystem".into(),
                            created_at: b
                                .volume
                                .as_ref()
                                .map(|v| v.created_at.clone())
                                .filter(|c| !c.is_empty())
                                .unwrap_or_else(|| row.created_at.clone()),
                            project: project.clone(),
                            config: b
                                .volume
                                .as_ref()
                                .map(|v| v.config.clone())
                                .unwrap_or_default(),
                            description: b
                                .volume
                                .as_ref()
                                .map(|v| v.description.clone())
                                .unwrap_or_default(),
                            ..Default::default()
                        },
                    )?;
                    for snap in &f.snapshots {
                        let s = b.snapshots.iter().find(|s| &s.name == snap);
                        incus_db::snapshot_create(
                            tx,
                            &SnapshotRow {
                                id: 0,
                                instance_id: id,
                                name: snap.clone(),
                                created_at: or_now(s.map_or("", |s| s.created_at.as_str())),
                                expires_at: s
                                    .map(|s| s.expires_at.clone())
                                    .filter(|e| !e.is_empty())
                                    .unwrap_or_else(|| incus_api::ZERO_TIME.into()),
                                stateful: s.is_some_and(|s| s.stateful),
                                description: s.map(|s| s.description.clone()).unwrap_or_default(),
                                config: s.map_or_else(|| c.config.clone(), |s| s.config.clone()),
                                devices: s.map_or_else(|| c.devices.clone(), |s| s.devices.clone()),
                            },
                        )?;
                    }
                    let mut r = row;
                    r.id = id;
                    instance_rows.push(r);
                    done.instances.push(f.name.clone());
                }
                FoundKind::Custom => {
                    let v = f
                        .backup
                        .as_ref()
                        .and_then(|b| b.volume.clone())
                        .unwrap_or_default();
                    let row = VolumeRow {
                        pool: f.pool.clone(),
                        name: f.name.clone(),
                        volume_type: "custom".into(),
                        description: v.description.clone(),
                        content_type: if v.content_type.is_empty() {
                            "filesystem".into()
                        } else {
                            v.content_type.clone()
                        },
                        created_at: or_now(&v.created_at),
                        project: project.clone(),
                        config: v.config.clone(),
                        ..Default::default()
                    };
                    incus_db::volume_create(tx, &row)?;
                    for snap in &f.snapshots {
                        let s = f
                            .backup
                            .as_ref()
                            .and_then(|b| b.volume_snapshots.iter().find(|s| &s.name == snap));
                        incus_db::volume_create(
                            tx,
                            &VolumeRow {
                                name: format!("{}/{snap}", f.name),
                                description: s.map(|s| s.description.clone()).unwrap_or_default(),
                                created_at: or_now(s.map_or("", |s| s.created_at.as_str())),
                                config: s.map_or_else(|| row.config.clone(), |s| s.config.clone()),
                                ..row.clone()
                            },
                        )?;
                    }
                    done.volumes.push(format!("{}/{}", f.pool, f.name));
                }
            }
        }
        Ok(())
    })?;
    for r in &instance_rows {
        instance::symlink_instance(ctx, r)?;
    }
    Ok(done)
}
