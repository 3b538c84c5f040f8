//! Instance snapshots: create, delete, list, show, rename, restore, the scheduled
//! `auto` run, and the repair of half-done snapshot work.
//!
//! Crash safety: every operation writes a mark on the instance
//! (`volatile.snapshot.op = create:NAME | delete:NAME | restore:NAME | rename:OLD/NEW`)
//! in the same transaction as its first row change, does the disk work, and clears
//! the mark in its last transaction. The next command that meets a mark whose owner
//! died (the instance lock is free) finishes the job: a create is rolled back, a
//! delete, restore or rename is rolled forward.

pub mod schedule;
pub mod timer;

use crate::instance;
use crate::storage::{self, VolumeType};
use crate::{events, lifecycle, Context, Error, Result};
use chrono::{DateTime, Utc};
use incus_api::{keys, Config, InstanceSnapshot, StatusCode};
use incus_db::{InstanceRow, SnapshotRow};
use schedule::{Expiry, Schedule};
use std::time::Duration;

/// The mark of snapshot work in flight on an instance.
pub const OP_MARK: &str = "volatile.snapshot.op";
/// The last scheduled slot taken by `auto` (RFC 3339, to the minute).
pub const LAST_AUTO: &str = "volatile.snapshot.last_auto";

/// What `create` takes.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// `None`: from `snapshots.pattern` (default `snap%d`).
    pub name: Option<String>,
    pub stateful: bool,
    /// `--no-expiry`: ignore `snapshots.expiry`.
    pub no_expiry: bool,
    /// `--reuse`: replace a snapshot of the same name.
    pub reuse: bool,
    pub description: String,
}

/// Whether CRIU (stateful snapshots) is installed.
fn criu_present() -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("criu").is_file()))
        .unwrap_or(false)
}

fn check_stateful(stateful: bool) -> Result<()> {
    if stateful && !criu_present() {
        return Err(Error::unsupported(
            "Stateful snapshots are not supported on this host (CRIU is not installed)",
        ));
    }
    if stateful {
        return Err(Error::unsupported(
            "Stateful snapshots are not supported on this host yet (CRIU checkpointing is not implemented)",
        ));
    }
    Ok(())
}

/// Checks `snapshots.*` values (called by instance and profile validation).
pub fn validate_key(key: &str, value: &str) -> Result<()> {
    match key {
        "snapshots.schedule" => Schedule::parse(value).map(|_| ()),
        "snapshots.expiry" => Expiry::parse(value).map(|_| ()),
        "snapshots.pattern" if value.matches("%d").count() > 1 => Err(Error::invalid(
            "Invalid value for snapshots.pattern: '%d' may appear only once",
        )),
        "snapshots.pattern" => schedule::render_pattern(value, Utc::now()).map(|_| ()),
        _ => Ok(()),
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// The instance's expanded config (profiles then local).
fn expanded(ctx: &Context, row: &InstanceRow) -> Result<Config> {
    let profiles = crate::profile::load_all(ctx, &row.profiles)?;
    Ok(crate::profile::expand(&profiles, &row.config, &row.devices).0)
}

fn to_api(ctx: &Context, row: &InstanceRow, s: SnapshotRow) -> Result<InstanceSnapshot> {
    let profiles = crate::profile::load_all(ctx, &row.profiles)?;
    Ok(api_of(row, &profiles, s))
}

/// The REST object of a snapshot of `row`, expanded with the instance's profiles
/// (also used by the instance list, which has the profiles at hand).
pub(crate) fn api_of<'a>(
    row: &InstanceRow,
    profiles: impl IntoIterator<Item = &'a incus_db::ProfileRow>,
    s: SnapshotRow,
) -> InstanceSnapshot {
    let (expanded_config, expanded_devices) =
        crate::profile::expand(profiles, &s.config, &s.devices);
    InstanceSnapshot {
        architecture: row.architecture.clone(),
        config: s.config,
        created_at: s.created_at,
        devices: s.devices,
        ephemeral: row.ephemeral,
        expanded_config,
        expanded_devices,
        expires_at: s.expires_at,
        last_used_at: incus_api::EPOCH_TIME.into(),
        name: s.name,
        profiles: row.profiles.clone(),
        size: 0,
        stateful: s.stateful,
        description: s.description,
    }
}

fn not_found(inst: &str, snap: &str) -> Error {
    Error::not_found(format!(
        "Snapshot \"{snap}\" of instance \"{inst}\" not found"
    ))
}

/// Loads an instance (repairing its half-done work first when its owner died).
fn load(ctx: &Context, name: &str) -> Result<InstanceRow> {
    instance::get_row(ctx, name)
}

fn rows(ctx: &Context, row: &InstanceRow) -> Result<Vec<SnapshotRow>> {
    let id = row.id;
    ctx.db()?.read(|tx| incus_db::snapshot_list(tx, id))
}

fn one(ctx: &Context, row: &InstanceRow, snap: &str) -> Result<SnapshotRow> {
    let id = row.id;
    ctx.db()?
        .read(|tx| incus_db::snapshot_get(tx, id, snap))?
        .ok_or_else(|| not_found(&row.name, snap))
}

/// `snapshot list INSTANCE`.
pub fn list(ctx: &Context, inst: &str) -> Result<Vec<InstanceSnapshot>> {
    let row = load(ctx, inst)?;
    rows(ctx, &row)?
        .into_iter()
        .map(|s| to_api(ctx, &row, s))
        .collect()
}

/// `snapshot show INSTANCE SNAP` (with its size on disk).
pub fn get(ctx: &Context, inst: &str, snap: &str) -> Result<InstanceSnapshot> {
    let row = load(ctx, inst)?;
    let s = one(ctx, &row, snap)?;
    let mut api = to_api(ctx, &row, s)?;
    let (pool, _) = storage::load_pool(ctx, &row.pool)?;
    api.size = incus_sys::fsutil::disk_usage(&pool.snapshot_path(VolumeType::Container, inst, snap))
        as i64;
    Ok(api)
}

/// `snapshot create INSTANCE [NAME]`.
pub fn create(ctx: &Context, inst: &str, opts: CreateOptions) -> Result<InstanceSnapshot> {
    crate::project::check_snapshots_allowed(ctx)?;
    let _lock = instance::lock(ctx, inst)?;
    let row = load(ctx, inst)?;
    let name = create_locked(ctx, &row, &opts, Utc::now(), None)?;
    to_api(ctx, &row, one(ctx, &row, &name)?)
}

/// Takes a snapshot while the caller holds the instance lock; `slot` is the
/// scheduled minute an `auto` run takes (recorded in the same commit). Returns the
/// snapshot's name.
fn create_locked(
    ctx: &Context,
    row: &InstanceRow,
    opts: &CreateOptions,
    now: DateTime<Utc>,
    slot: Option<DateTime<Utc>>,
) -> Result<String> {
    check_stateful(opts.stateful)?;
    let config = expanded(ctx, row)?;
    let existing: Vec<String> = rows(ctx, row)?.into_iter().map(|s| s.name).collect();
    let name = match &opts.name {
        Some(n) => n.clone(),
        None => {
            let pattern = config
                .get("snapshots.pattern")
                .filter(|p| !p.is_empty())
                .map(String::as_str)
                .unwrap_or("snap%d");
            schedule::next_name(&schedule::render_pattern(pattern, now)?, &existing)?
        }
    };
    crate::names::validate_snapshot_name(&name)?;
    if existing.contains(&name) {
        if !opts.reuse {
            return Err(Error::conflict(format!(
                "Snapshot \"{name}\" already exists"
            )));
        }
        delete_locked(ctx, row, &name)?;
    }
    let expires_at = match Expiry::parse(config.get("snapshots.expiry").map_or("", |v| v))? {
        Some(e) if !opts.no_expiry => fmt_time(e.after(now)),
        _ => incus_api::ZERO_TIME.to_string(),
    };
    let (pool, driver) = storage::load_pool(ctx, &row.pool)?;
    let mut snap_config = row.config.clone();
    snap_config.remove(OP_MARK);
    snap_config.remove(LAST_AUTO);
    snap_config.remove(lifecycle::POWER_MARK);
    let srow = SnapshotRow {
        instance_id: row.id,
        name: name.clone(),
        created_at: fmt_time(now),
        expires_at,
        stateful: opts.stateful,
        description: opts.description.clone(),
        config: snap_config,
        devices: row.devices.clone(),
        ..Default::default()
    };
    let mark = format!("create:{name}");
    // dir copies files: a running instance is frozen so the copy is consistent. The
    // freeze is marked in the same commit as the snapshot, before it happens, so a
    // kill while frozen is thawed by the next command.
    let freeze =
        driver.snapshot_needs_freeze() && instance::status(ctx, &row.name) == StatusCode::Running;
    ctx.db()?.write_durable(|tx| {
        incus_db::snapshot_create(tx, &srow)?;
        if freeze {
            incus_db::instance_config_set(
                tx,
                row.id,
                lifecycle::POWER_MARK,
                Some(lifecycle::POWER_FREEZE),
            )?;
        }
        incus_db::instance_config_set(tx, row.id, OP_MARK, Some(&mark))
    })?;
    let disk = (|| -> Result<()> {
        let run_dir = ctx.instance_run_dir(&row.name);
        if freeze {
            incus_runtime::freeze(&run_dir).map_err(crate::convert::runtime_error)?;
            incus_sys::testhook::pause_point("snapshot-create-frozen");
        }
        let made = driver.create_snapshot(&pool, VolumeType::Container, &row.name, &name);
        if freeze {
            incus_runtime::unfreeze(&run_dir).map_err(crate::convert::runtime_error)?;
        }
        made
    })();
    if let Err(e) = disk {
        let _ = rollback_create(ctx, row, &name);
        if freeze {
            // Thawed if the freeze held, and the mark cleared.
            let _ = lifecycle::finish_power_op(ctx, &row.name);
        }
        return Err(e);
    }
    incus_sys::testhook::pause_point("snapshot-create-before-record");
    let project = ctx.project.clone();
    ctx.db()?.write(|tx| {
        incus_db::instance_config_set(tx, row.id, OP_MARK, None)?;
        if freeze {
            incus_db::instance_config_set(tx, row.id, lifecycle::POWER_MARK, None)?;
        }
        if let Some(slot) = slot {
            incus_db::instance_config_set(tx, row.id, LAST_AUTO, Some(&fmt_time(slot)))?;
        }
        events::record(
            tx,
            &project,
            "instance-snapshot-created",
            &format!("/1.0/instances/{}/snapshots/{name}", row.name),
            serde_json::json!({}),
        )
    })?;
    crate::backup::sync_instance(ctx, &row.name);
    Ok(name)
}

fn rollback_create(ctx: &Context, row: &InstanceRow, snap: &str) -> Result<()> {
    if let Ok((pool, driver)) = storage::load_pool(ctx, &row.pool) {
        driver.delete_snapshot(&pool, VolumeType::Container, &row.name, snap)?;
    }
    let id = row.id;
    ctx.db()?.write(|tx| {
        if let Some(s) = incus_db::snapshot_get(tx, id, snap)? {
            incus_db::snapshot_delete(tx, s.id)?;
        }
        incus_db::instance_config_set(tx, id, OP_MARK, None)
    })
}

/// `snapshot delete INSTANCE SNAP...`: all named snapshots must exist, or nothing
/// is deleted.
pub fn delete(ctx: &Context, inst: &str, snaps: &[String]) -> Result<()> {
    let _lock = instance::lock(ctx, inst)?;
    let row = load(ctx, inst)?;
    for s in snaps {
        one(ctx, &row, s)?;
    }
    for s in snaps {
        delete_locked(ctx, &row, s)?;
    }
    Ok(())
}

fn delete_locked(ctx: &Context, row: &InstanceRow, snap: &str) -> Result<()> {
    let mark = format!("delete:{snap}");
    ctx.db()?
        .write_durable(|tx| incus_db::instance_config_set(tx, row.id, OP_MARK, Some(&mark)))?;
    finish_delete(ctx, row, snap)
}

/// Disk first, then the row with the mark cleared (idempotent: repair reruns it).
fn finish_delete(ctx: &Context, row: &InstanceRow, snap: &str) -> Result<()> {
    let (pool, driver) = storage::load_pool(ctx, &row.pool)?;
    driver.delete_snapshot(&pool, VolumeType::Container, &row.name, snap)?;
    let (id, project) = (row.id, ctx.project.clone());
    ctx.db()?.write(|tx| {
        if let Some(s) = incus_db::snapshot_get(tx, id, snap)? {
            incus_db::snapshot_delete(tx, s.id)?;
        }
        incus_db::instance_config_set(tx, id, OP_MARK, None)?;
        events::record(
            tx,
            &project,
            "instance-snapshot-deleted",
            &format!("/1.0/instances/{}/snapshots/{snap}", row.name),
            serde_json::json!({}),
        )
    })?;
    crate::backup::sync_instance(ctx, &row.name);
    Ok(())
}

/// `snapshot rename INSTANCE OLD NEW`.
pub fn rename(ctx: &Context, inst: &str, old: &str, new: &str) -> Result<()> {
    crate::names::validate_snapshot_name(new)?;
    let _lock = instance::lock(ctx, inst)?;
    let row = load(ctx, inst)?;
    let s = one(ctx, &row, old)?;
    let mark = format!("rename:{old}/{new}");
    ctx.db()?.write_durable(|tx| {
        incus_db::snapshot_rename(tx, s.id, new)?;
        incus_db::instance_config_set(tx, row.id, OP_MARK, Some(&mark))
    })?;
    finish_rename(ctx, &row, old, new)
}

fn finish_rename(ctx: &Context, row: &InstanceRow, old: &str, new: &str) -> Result<()> {
    let (pool, driver) = storage::load_pool(ctx, &row.pool)?;
    let from = pool.snapshot_path(VolumeType::Container, &row.name, old);
    let to = pool.snapshot_path(VolumeType::Container, &row.name, new);
    if from.exists() && !to.exists() {
        driver.rename_snapshot(&pool, VolumeType::Container, &row.name, old, new)?;
    }
    let project = ctx.project.clone();
    ctx.db()?.write(|tx| {
        incus_db::instance_config_set(tx, row.id, OP_MARK, None)?;
        events::record(
            tx,
            &project,
            "instance-snapshot-renamed",
            &format!("/1.0/instances/{}/snapshots/{new}", row.name),
            serde_json::json!({"old_name": old}),
        )
    })?;
    crate::backup::sync_instance(ctx, &row.name);
    Ok(())
}

/// `snapshot restore INSTANCE SNAP`: a running instance is stopped, restored and
/// started again, as upstream. The rootfs becomes the snapshot's; config and devices
/// revert; `volatile.uuid` stays and `volatile.uuid.generation` changes; later
/// snapshots remain.
pub fn restore(ctx: &Context, inst: &str, snap: &str, stateful: bool) -> Result<()> {
    check_stateful(stateful)?;
    let _lock = instance::lock(ctx, inst)?;
    let row = load(ctx, inst)?;
    one(ctx, &row, snap)?;
    let restore = || -> Result<()> {
        let mark = format!("restore:{snap}");
        ctx.db()?
            .write_durable(|tx| incus_db::instance_config_set(tx, row.id, OP_MARK, Some(&mark)))?;
        finish_restore(ctx, &row, snap)
    };
    if instance::status(ctx, inst) == StatusCode::Stopped {
        return restore();
    }
    // Stopped, restored, started again; a kill at any point is finished by the next
    // command: the restore rolled forward (its mark), then the start (the power mark).
    lifecycle::restart_locked(ctx, &row, Duration::from_secs(30), true, restore)
}

/// Disk (crash-safe in the driver), then config and devices with the mark cleared in
/// one commit. Idempotent: repair reruns it.
fn finish_restore(ctx: &Context, row: &InstanceRow, snap: &str) -> Result<()> {
    let s = one(ctx, row, snap)?;
    let (pool, driver) = storage::load_pool(ctx, &row.pool)?;
    driver.restore_snapshot(&pool, VolumeType::Container, &row.name, snap)?;
    let mut current = row.clone();
    let project = ctx.project.clone();
    ctx.db()?.write(|tx| {
        // Re-read: the mark was written after `row` was loaded.
        let fresh = incus_db::instance_get(tx, &project, &row.name)?
            .ok_or_else(|| Error::not_found(format!("Instance \"{}\" not found", row.name)))?;
        let mut config: Config = s
            .config
            .iter()
            .filter(|(k, _)| !k.starts_with("volatile."))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in &fresh.config {
            if k.starts_with("volatile.") && k != OP_MARK {
                config.insert(k.clone(), v.clone());
            }
        }
        config.insert(
            "volatile.uuid.generation".into(),
            uuid::Uuid::new_v4().to_string(),
        );
        current = fresh;
        current.config = config;
        current.devices = s.devices.clone();
        incus_db::instance_update(tx, &current)?;
        events::record(
            tx,
            &project,
            "instance-restored",
            &format!("/1.0/instances/{}", row.name),
            serde_json::json!({"snapshot": snap}),
        )
    })?;
    // The restored volume holds the snapshot's copy of backup.yaml: rewrite it.
    crate::backup::sync_instance(ctx, &row.name);
    Ok(())
}

/// Finishes the snapshot work a killed tool left on `row` (the caller holds the
/// instance lock): a create is rolled back; delete, rename and restore are finished.
pub(crate) fn finish_op(ctx: &Context, row: &InstanceRow) -> Result<()> {
    let Some(op) = row.config.get(OP_MARK).cloned() else {
        return Ok(());
    };
    // Validated before anything acts on it: names only, never a path.
    use crate::volatile::SnapshotOp;
    match crate::volatile::parse_snapshot_op(OP_MARK, &op)? {
        SnapshotOp::Create(name) => rollback_create(ctx, row, &name),
        SnapshotOp::Delete(name) => finish_delete(ctx, row, &name),
        SnapshotOp::Rename(old, new) => finish_rename(ctx, row, &old, &new),
        SnapshotOp::Restore(name) => match finish_restore(ctx, row, &name) {
            // The snapshot went away meanwhile: nothing left to roll forward.
            Err(e) if e.kind == incus_api::ErrorKind::NotFound => ctx
                .db()?
                .write(|tx| incus_db::instance_config_set(tx, row.id, OP_MARK, None)),
            other => other,
        },
    }
}

/// Removes every snapshot's disk data of an instance being deleted (its rows go
/// with the instance row).
pub(crate) fn delete_all_disk(ctx: &Context, row: &InstanceRow) -> Result<()> {
    let Ok((pool, driver)) = storage::load_pool(ctx, &row.pool) else {
        return Ok(());
    };
    for s in rows(ctx, row)? {
        driver.delete_snapshot(&pool, VolumeType::Container, &row.name, &s.name)?;
    }
    // Leftovers without rows (a killed create) and the per-instance directory.
    let dir = pool
        .snapshot_path(VolumeType::Container, &row.name, "x")
        .with_file_name("");
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let snap = e.file_name().to_string_lossy().into_owned();
            driver.delete_snapshot(&pool, VolumeType::Container, &row.name, &snap)?;
        }
    }
    incus_sys::fsutil::remove_tree(&dir)
}

/// Moves the snapshots directory with an instance rename (rows follow by id).
pub(crate) fn rename_disk(ctx: &Context, pool_name: &str, old: &str, new: &str) -> Result<()> {
    let (pool, _) = storage::load_pool(ctx, pool_name)?;
    let from = pool
        .snapshot_path(VolumeType::Container, old, "x")
        .with_file_name("");
    let to = pool
        .snapshot_path(VolumeType::Container, new, "x")
        .with_file_name("");
    if from.exists() && !to.exists() {
        std::fs::rename(&from, &to)?;
    }
    Ok(())
}

/// The `@startup` hook: a snapshot when an instance starts (the caller holds the
/// instance lock). A failure is reported: the instance is running regardless.
pub(crate) fn on_start(ctx: &Context, name: &str, config: &Config) -> Result<()> {
    let sched = config.get("snapshots.schedule").map_or("", |v| v);
    if sched.is_empty() || !Schedule::parse(sched)?.startup {
        return Ok(());
    }
    let row = instance::get_row(ctx, name)?;
    create_locked(ctx, &row, &CreateOptions::default(), Utc::now(), None)
        .map(|_| ())
        .map_err(|e| e.context("The instance started, but its @startup snapshot failed"))
}

/// What one `auto` run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AutoReport {
    /// `INSTANCE/SNAP` taken.
    pub created: Vec<String>,
    /// `INSTANCE/SNAP` pruned as expired.
    pub deleted: Vec<String>,
    /// `INSTANCE/SNAP: what` for snapshots whose row and disk disagreed.
    pub repaired: Vec<String>,
    /// `INSTANCE: error` for instances that failed (the run goes on).
    pub errors: Vec<String>,
}

/// `snapshot auto [--now T]`: takes every due scheduled snapshot and prunes every
/// expired one, across all instances. Each instance is handled under its lock and
/// re-read there, and the slot taken is recorded with the snapshot in one commit, so
/// concurrent runs never take a slot twice and running every minute is exact.
///
/// "Due": the latest minute matched by `snapshots.schedule` that is later than the
/// last slot taken (or the instance's creation) and not after `now`. A slot missed
/// while nothing ran is taken once, late; a stopped instance skips its slots unless
/// `snapshots.schedule.stopped` is true.
pub fn auto(ctx: &Context, now: DateTime<Utc>) -> Result<AutoReport> {
    let mut report = AutoReport::default();
    // Every project's instances (one timer per installation).
    for (project, c) in crate::project::contexts(ctx)? {
        let names = c.db()?.read(|tx| incus_db::instance_names(tx, &project))?;
        for name in names {
            if let Err(e) = auto_one(&c, &name, now, &mut report) {
                if e.kind != incus_api::ErrorKind::NotFound {
                    let q = crate::project::qualified(&project, &name);
                    report.errors.push(format!("{q}: {}", e.message));
                }
            }
        }
    }
    Ok(report)
}

fn auto_one(ctx: &Context, name: &str, now: DateTime<Utc>, report: &mut AutoReport) -> Result<()> {
    let _lock = instance::lock(ctx, name)?;
    let row = load(ctx, name)?;
    if row.pending {
        return Ok(());
    }
    reconcile(ctx, &row, report)?;
    // Prune first: expiry is about the clock, not the schedule.
    for s in rows(ctx, &row)? {
        if let Some(exp) = parse_time(&s.expires_at) {
            if s.expires_at != incus_api::ZERO_TIME && exp <= now {
                delete_locked(ctx, &row, &s.name)?;
                report.deleted.push(format!("{name}/{}", s.name));
            }
        }
    }
    let config = expanded(ctx, &row)?;
    let sched = Schedule::parse(config.get("snapshots.schedule").map_or("", |v| v))?;
    if !sched.is_timed() {
        return Ok(());
    }
    let after = row
        .config
        .get(LAST_AUTO)
        .and_then(|v| parse_time(v))
        .or_else(|| parse_time(&row.created_at))
        .unwrap_or(now);
    let Some(slot) = sched.due(after, now) else {
        return Ok(());
    };
    let take_stopped = config
        .get("snapshots.schedule.stopped")
        .and_then(|v| keys::parse_bool(v))
        .unwrap_or(false);
    if !take_stopped && instance::status(ctx, name) == StatusCode::Stopped {
        // Skipped, as upstream: the slot is spent, not caught up at the next start.
        ctx.db()?.write(|tx| {
            incus_db::instance_config_set(tx, row.id, LAST_AUTO, Some(&fmt_time(slot)))
        })?;
        return Ok(());
    }
    let snap = create_locked(ctx, &row, &CreateOptions::default(), now, Some(slot))?;
    report.created.push(format!("{name}/{snap}"));
    Ok(())
}

/// Rows without disk data lose their row; snapshot directories without a row are
/// removed (what a hand-edited pool or a restored backup of the database leaves;
/// the operations' own crashes are handled by their marks). Caller holds the lock.
fn reconcile(ctx: &Context, row: &InstanceRow, report: &mut AutoReport) -> Result<()> {
    let (pool, driver) = storage::load_pool(ctx, &row.pool)?;
    let snaps = rows(ctx, row)?;
    let ct = VolumeType::Container;
    for s in &snaps {
        if !pool.snapshot_path(ct, &row.name, &s.name).exists() {
            let id = s.id;
            ctx.db()?.write(|tx| incus_db::snapshot_delete(tx, id))?;
            report.repaired.push(format!(
                "{}/{}: no data on disk, row removed",
                row.name, s.name
            ));
        }
    }
    let dir = pool.snapshot_path(ct, &row.name, "x").with_file_name("");
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !snaps.iter().any(|s| s.name == name) {
                driver.delete_snapshot(&pool, ct, &row.name, &name)?;
                report
                    .repaired
                    .push(format!("{}/{name}: data without a row, removed", row.name));
            }
        }
    }
    Ok(())
}

/// `PUT|PATCH /1.0/instances/NAME/snapshots/SNAP`: the expiry (RFC 3339; empty or the
/// zero time: never) and the description.
pub fn update(
    ctx: &Context,
    inst: &str,
    snap: &str,
    expires_at: &str,
    description: &str,
) -> Result<InstanceSnapshot> {
    let expires_at = if expires_at.is_empty() || expires_at.starts_with("0001-01-01") {
        incus_api::ZERO_TIME.to_string()
    } else {
        let t = parse_time(expires_at)
            .ok_or_else(|| Error::invalid(format!("Invalid expires_at \"{expires_at}\"")))?;
        fmt_time(t)
    };
    let _lock = instance::lock(ctx, inst)?;
    let row = load(ctx, inst)?;
    let s = one(ctx, &row, snap)?;
    let project = ctx.project.clone();
    ctx.db()?.write(|tx| {
        incus_db::snapshot_update(tx, s.id, &expires_at, description)?;
        events::record(
            tx,
            &project,
            "instance-snapshot-updated",
            &format!("/1.0/instances/{}/snapshots/{snap}", row.name),
            serde_json::json!({}),
        )
    })?;
    crate::backup::sync_instance(ctx, &row.name);
    to_api(ctx, &row, one(ctx, &row, snap)?)
}
