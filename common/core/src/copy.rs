//! `copy SRC[/SNAP] DST` and `move`: a new instance from an instance or a snapshot,
//! on the same pool (the driver's copy) or another (a file copy into a fresh volume).
//!
//! Crash safety as `create`: the rows (instance pending, volume, snapshots) are
//! written first, then the disk, then the pending mark is cleared; a killed copy is
//! removed by the next command.

use crate::instance;
use crate::storage::{self, VolumeType};
use crate::{devices, events, names, time, Context, Error, Result};
use incus_api::{keys, Config, Instance, StatusCode};
use incus_db::{InstanceRow, SnapshotRow};

/// What `copy` takes.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    pub source: String,
    /// Copy from this snapshot of the source instead of its current state.
    pub source_snapshot: Option<String>,
    pub target: String,
    /// `--instance-only`: no snapshots.
    pub instance_only: bool,
    pub ephemeral: bool,
    /// `-c k=v`: applied over the source's config.
    pub config: Config,
    /// `-p`/`--no-profiles`; `None` keeps the source's.
    pub profiles: Option<Vec<String>>,
    /// `-s POOL`: the target's root pool.
    pub pool: Option<String>,
    /// Keep `volatile.uuid` and the id map (a move, not a copy).
    pub keep_identity: bool,
}

/// `copy`.
pub fn copy(ctx: &Context, opts: CopyOptions) -> Result<Instance> {
    names::validate_instance_name(&opts.target)?;
    let src = instance::get_row(ctx, &opts.source)?;
    let snap_row = match &opts.source_snapshot {
        Some(s) => Some(
            snapshot_rows(ctx, &src)?
                .into_iter()
                .find(|r| r.name == *s)
                .ok_or_else(|| {
                    Error::not_found(format!(
                        "Snapshot \"{s}\" of instance \"{}\" not found",
                        src.name
                    ))
                })?,
        ),
        None => None,
    };
    let (mut config, mut local_devices) = match &snap_row {
        Some(s) => (s.config.clone(), s.devices.clone()),
        None => (src.config.clone(), src.devices.clone()),
    };
    let old_volatile: Config = config
        .iter()
        .filter(|(k, _)| k.starts_with("volatile."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // A copy is a new machine: fresh volatile state (no hwaddr, no power state).
    config.retain(|k, _| !k.starts_with("volatile."));
    crate::volatile::check_client_config(&Config::new(), &opts.config)?;
    for (k, v) in &opts.config {
        if v.is_empty() {
            config.remove(k);
        } else {
            config.insert(k.clone(), v.clone());
        }
    }
    instance::validate_config(&config)?;
    if let Some(b) = old_volatile.get("volatile.base_image") {
        config.insert("volatile.base_image".into(), b.clone());
    }
    if opts.keep_identity {
        for k in ["volatile.uuid", "volatile.uuid.generation"] {
            if let Some(v) = old_volatile.get(k) {
                config.insert(k.into(), v.clone());
            }
        }
    } else {
        config.insert("volatile.uuid".into(), uuid::Uuid::new_v4().to_string());
        config.insert(
            "volatile.uuid.generation".into(),
            uuid::Uuid::new_v4().to_string(),
        );
        // Templates with the copy trigger run at the first start.
        config.insert("volatile.apply_template".into(), "copy".into());
    }
    let profile_names = opts
        .profiles
        .clone()
        .unwrap_or_else(|| src.profiles.clone());
    let profiles = crate::profile::load_all(ctx, &profile_names)?;
    let (_, expanded) = crate::profile::expand(&profiles, &config, &local_devices);
    let pool = match (&opts.pool, devices::root_disk(&expanded)) {
        (Some(p), root) => {
            let dev_name = root
                .map(|(n, _)| n.clone())
                .unwrap_or_else(|| "root".into());
            let mut dev = root.map(|(_, d)| d.clone()).unwrap_or_default();
            dev.insert("type".into(), "disk".into());
            dev.insert("path".into(), "/".into());
            dev.insert("pool".into(), p.clone());
            local_devices.insert(dev_name, dev);
            p.clone()
        }
        (None, Some(_)) if opts.profiles.is_none() => src.pool.clone(),
        (None, Some((_, root))) => root
            .get("pool")
            .cloned()
            .ok_or_else(|| Error::invalid("The root disk device has no \"pool\" property"))?,
        (None, None) => {
            return Err(Error::invalid(
                "No root device could be found: pass -s POOL or a profile with a root disk",
            ))
        }
    };
    let (expanded_config, expanded_devices) =
        crate::profile::expand(&profiles, &config, &local_devices);
    let privileged = expanded_config
        .get("security.privileged")
        .and_then(|v| keys::parse_bool(v))
        .unwrap_or(false);

    // Lock order: pools (shared, in name order) -> instances (in name order).
    let mut pools = vec![src.pool.clone(), pool.clone()];
    pools.sort();
    pools.dedup();
    let _pool_locks = pools
        .iter()
        .map(|p| ctx.lock_pool_shared(p))
        .collect::<Result<Vec<_>>>()?;
    let (a, b) = if opts.source < opts.target {
        (&opts.source, &opts.target)
    } else {
        (&opts.target, &opts.source)
    };
    let _l1 = crate::instance::lock(ctx, a)?;
    let _l2 = (a != b)
        .then(|| crate::instance::lock(ctx, b))
        .transpose()?;
    let project = ctx.project.clone();
    if ctx
        .db()?
        .read(|tx| incus_db::instance_get(tx, &project, &opts.target))?
        .is_some()
    {
        return Err(Error::conflict(format!(
            "Instance \"{}\" already exists",
            opts.target
        )));
    }
    let (src_pool, src_driver) = storage::load_pool(ctx, &src.pool)?;
    let (dst_pool, dst_driver) = storage::load_pool(ctx, &pool)?;
    let snaps: Vec<SnapshotRow> = if opts.instance_only || snap_row.is_some() {
        vec![]
    } else {
        snapshot_rows(ctx, &src)?
    };

    let row = ctx.db()?.write_durable(|tx| {
        crate::project::check_instance(
            tx,
            &project,
            &opts.target,
            &src.instance_type,
            &expanded_config,
            true,
        )?;
        crate::project::check_restricted(tx, &project, &expanded_config, &expanded_devices)?;
        let mut row = InstanceRow {
            name: opts.target.clone(),
            project: project.clone(),
            instance_type: src.instance_type.clone(),
            architecture: src.architecture.clone(),
            ephemeral: opts.ephemeral,
            created_at: time::now(),
            last_used_at: incus_api::EPOCH_TIME.into(),
            description: src.description.clone(),
            pool: pool.clone(),
            pending: true,
            config: config.clone(),
            devices: local_devices.clone(),
            profiles: profile_names.clone(),
            ..Default::default()
        };
        if !privileged {
            // A move keeps its range (the source row goes away afterwards); the next
            // start checks it against the host like any other.
            if opts.keep_identity && old_volatile.contains_key("volatile.idmap.base") {
                for k in ["volatile.idmap.base", "volatile.idmap.next"] {
                    if let Some(v) = old_volatile.get(k) {
                        row.config.insert(k.into(), v.clone());
                    }
                }
            } else {
                instance::record_idmap(tx, &project, 0, &expanded_config, &mut row.config)?;
            }
        }
        row.id = incus_db::instance_create(tx, &row)?;
        incus_db::volume_create(
            tx,
            &storage::volume_row(ctx, &pool, VolumeType::Container, &opts.target),
        )?;
        for s in &snaps {
            let mut c = s.clone();
            c.instance_id = row.id;
            incus_db::snapshot_create(tx, &c)?;
        }
        Ok(row)
    })?;

    let built = (|| -> Result<()> {
        let ct = VolumeType::Container;
        let copy = |snap: Option<&str>| {
            storage::copy_volume_between(
                &src_pool,
                src_driver.as_ref(),
                &dst_pool,
                dst_driver.as_ref(),
                ct,
                &opts.source,
                snap,
                &opts.target,
            )
        };
        // Each snapshot through the target driver's own snapshot call, oldest
        // first, so btrfs targets get real subvolume snapshots.
        for s in &snaps {
            copy(Some(&s.name))?;
            dst_driver.create_snapshot(&dst_pool, ct, &opts.target, &s.name)?;
            dst_driver.delete_volume(&dst_pool, ct, &opts.target)?;
        }
        let run_dir = ctx.instance_run_dir(&opts.source);
        let freeze = opts.source_snapshot.is_none()
            && src_driver.snapshot_needs_freeze()
            && instance::status(ctx, &opts.source) == StatusCode::Running;
        if freeze {
            incus_runtime::freeze(&run_dir).map_err(crate::convert::runtime_error)?;
        }
        let made = copy(opts.source_snapshot.as_deref());
        if freeze {
            incus_runtime::unfreeze(&run_dir).map_err(crate::convert::runtime_error)?;
        }
        made?;
        instance::symlink_instance(ctx, &row)?;
        ctx.db()?.write(|tx| {
            incus_db::instance_set_pending(tx, row.id, false)?;
            events::record(
                tx,
                &project,
                "instance-created",
                &format!("/1.0/instances/{}", opts.target),
                serde_json::json!({"type": "container", "source": opts.source}),
            )
        })
    })();
    if let Err(e) = built {
        let _ = instance::remove_everything(ctx, &row);
        return Err(e);
    }
    crate::backup::sync_instance(ctx, &opts.target);
    instance::get(ctx, &opts.target)
}

fn snapshot_rows(ctx: &Context, row: &InstanceRow) -> Result<Vec<SnapshotRow>> {
    let id = row.id;
    ctx.db()?.read(|tx| incus_db::snapshot_list(tx, id))
}

/// `move NAME NEW` (a rename) or `move NAME [NEW] -s POOL` (a copy to the pool with
/// the same identity and snapshots, then the source is deleted). Stopped only.
pub fn move_instance(ctx: &Context, name: &str, new_name: &str, pool: Option<&str>) -> Result<()> {
    let src = instance::get_row(ctx, name)?;
    let pool = pool.filter(|p| *p != src.pool);
    let Some(pool) = pool else {
        if name == new_name {
            return Err(Error::invalid(format!(
                "Instance \"{name}\" is already on pool \"{}\"",
                src.pool
            )));
        }
        return instance::rename(ctx, name, new_name);
    };
    if instance::status(ctx, name) != StatusCode::Stopped {
        return Err(Error::invalid(
            "Moving a running instance to another pool is not allowed: stop it first",
        ));
    }
    // Same name: through a temporary name (instance names hold no '.', so a
    // suffix after a dash that upstream could never produce is enough to stay unique).
    let target = if name == new_name {
        let mut t = name.chars().take(50).collect::<String>();
        t.push_str("-mv");
        t.push_str(&uuid::Uuid::new_v4().simple().to_string()[..8]);
        t
    } else {
        new_name.to_string()
    };
    copy(
        ctx,
        CopyOptions {
            source: name.to_string(),
            target: target.clone(),
            pool: Some(pool.to_string()),
            ephemeral: src.ephemeral,
            keep_identity: true,
            ..Default::default()
        },
    )?;
    // The source goes, then the temporary name becomes the real one.
    instance::delete(ctx, name)?;
    if target != new_name {
        instance::rename(ctx, &target, new_name)?;
    }
    Ok(())
}
