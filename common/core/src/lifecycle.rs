//! Running instances: start, stop, restart, freeze, exec, console log, live state.
//! The container work is `incus_runtime`'s; this module turns instance rows into a
//! runtime spec and keeps the database in step.

use crate::instance;
use crate::{events, time, Context, Error, Result};
use incus_api::{keys, Config, Devices, InstanceState, StatusCode};
use incus_runtime::{ContainerSpec, DeviceKind, DiskMount, IdMap, Limits, UnixDevice};
use incus_sys::testhook::pause_point;
use std::path::PathBuf;
use std::time::Duration;

/// The status of an instance from its run directory (monitor lock, state file), for
/// decisions: a guest that reported Ready is `Running` here.
pub fn status(ctx: &Context, name: &str) -> StatusCode {
    status_code(&incus_runtime::status(&ctx.instance_run_dir(name)), false)
}

/// The status shown (`list`, `info`, REST): `Ready` once the guest said so through
/// `/dev/incus` (upstream's `volatile.last_state.ready`), until its init ends.
pub fn status_at(run_dir: &std::path::Path) -> StatusCode {
    status_code(
        &incus_runtime::status(run_dir),
        incus_runtime::guest_ready(run_dir),
    )
}

fn status_code(st: &incus_runtime::Status, ready: bool) -> StatusCode {
    match st {
        incus_runtime::Status::Running { .. } if ready => StatusCode::Ready,
        incus_runtime::Status::Running { .. } | incus_runtime::Status::Orphaned { .. } => {
            StatusCode::Running
        }
        incus_runtime::Status::Frozen { .. } => StatusCode::Frozen,
        incus_runtime::Status::Stopped { .. } => StatusCode::Stopped,
    }
}

/// The status a state reports (so callers holding a state do not look again).
pub fn status_of(state: &InstanceState) -> StatusCode {
    match state.status_code {
        103 => StatusCode::Running,
        113 => StatusCode::Ready,
        110 => StatusCode::Frozen,
        _ => StatusCode::Stopped,
    }
}

/// Runtime limits from an expanded config.
pub fn limits_of(config: &Config) -> Result<Limits> {
    let get = |k: &str| config.get(k).filter(|v| !v.is_empty());
    Ok(Limits {
        memory: match get("limits.memory") {
            Some(v) => Some(keys::MemoryLimit::parse(v)?.bytes(host_memory())),
            None => None,
        },
        memory_swap: get("limits.memory.swap").and_then(|v| keys::parse_bool(v)),
        cpus: get("limits.cpu").cloned(),
        cpu_allowance: get("limits.cpu.allowance").cloned(),
        processes: match get("limits.processes") {
            Some(v) => Some(v.parse().map_err(|_| {
                Error::invalid(format!("Invalid value for limits.processes: \"{v}\""))
            })?),
            None => None,
        },
    })
}

pub(crate) fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

fn device_num(path: &str) -> Result<(DeviceKind, u32, u32)> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let m = std::fs::metadata(path)
        .map_err(|e| Error::invalid(format!("Device source {path}: {e}")))?;
    let kind = if m.file_type().is_block_device() {
        DeviceKind::Block
    } else if m.file_type().is_char_device() {
        DeviceKind::Char
    } else {
        return Err(Error::invalid(format!("{path} is not a device node")));
    };
    let rdev = m.rdev();
    Ok((kind, libc::major(rdev), libc::minor(rdev)))
}

/// Builds the runtime spec of an instance from its row and expanded config and devices.
fn spec_of(
    ctx: &Context,
    row: &incus_db::InstanceRow,
    config: &Config,
    devices: &Devices,
    nics: Vec<incus_runtime::NicSpec>,
) -> Result<ContainerSpec> {
    let flag = |k: &str| {
        config
            .get(k)
            .and_then(|v| keys::parse_bool(v))
            .unwrap_or(false)
    };
    let privileged = flag("security.privileged");
    let (idmap, raw_idmap) = if privileged {
        (None, vec![])
    } else {
        start_idmap(ctx, row, config)?
    };
    let (disks, unix_devices) = devices_of(ctx, devices)?;
    Ok(ContainerSpec {
        name: ctx.host_name(&row.name),
        host_prefix: ctx.prefix.clone(),
        rootfs: instance::rootfs_path(ctx, row),
        run_dir: ctx.instance_run_dir(&row.name),
        log_dir: ctx.instance_log_dir(&row.name),
        privileged,
        idmap,
        raw_idmap,
        syscalls: crate::security::syscalls_of(config)?,
        hostname: row.name.clone(),
        init: vec!["/sbin/init".into()],
        env: config
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("environment.")?.to_string(), v.clone())))
            .collect(),
        limits: limits_of(config)?,
        disks,
        unix_devices,
        nics,
        nesting: flag("security.nesting"),
        stop_signal: None,
        guestapi: config
            .get("security.guestapi")
            .and_then(|v| keys::parse_bool(v))
            .unwrap_or(true),
    })
}

/// The id map of a start. The recorded range (`volatile.idmap.*`) and `raw.idmap` are
/// checked against root's subordinate ranges: a range outside them, or host id 0,
/// refuses the start (a tampered row never maps host root). A range that no longer
/// matches `security.idmap.size`/`.base` (changed on the instance or a profile) is
/// allocated again and recorded.
fn start_idmap(
    ctx: &Context,
    row: &incus_db::InstanceRow,
    config: &Config,
) -> Result<(Option<IdMap>, Vec<incus_runtime::RawIdMap>)> {
    use crate::idmap;
    let host = idmap::HostIds::load()?;
    let want = idmap::wanted(config)?;
    let raw = idmap::parse_raw(config.get("raw.idmap").map_or("", |v| v))?;
    let recorded = match idmap::recorded(&row.config) {
        Some(r) => {
            let (base, size) = r?;
            idmap::check(&host, base, size, &[]).map_err(|e| {
                Error::forbidden(format!(
                    "Refusing to start \"{}\" with its recorded id map: {}",
                    row.name, e.message
                ))
            })?;
            Some((base, size))
        }
        None => None,
    };
    let (base, size) = match recorded {
        Some((b, n)) if n == want.size && want.base.is_none_or(|w| w == b) => (b, n),
        _ => {
            let project = ctx.project.clone();
            let mut fresh = Config::new();
            ctx.db()?.write(|tx| {
                instance::record_idmap(tx, &project, row.id, config, &mut fresh)?;
                for (k, v) in &fresh {
                    incus_db::instance_config_set(tx, row.id, k, Some(v))?;
                }
                Ok(())
            })?;
            match idmap::recorded(&fresh) {
                Some(Ok(r)) => r,
                _ => return Err(Error::internal("no id map recorded")),
            }
        }
    };
    idmap::check(&host, base, size, &raw)?;
    let u32_of = |v: u64| u32::try_from(v).map_err(|_| Error::invalid("id out of range"));
    let raw = raw
        .iter()
        .map(|e| {
            Ok(incus_runtime::RawIdMap {
                uid: e.uid,
                gid: e.gid,
                host: u32_of(e.host)?,
                ns: u32_of(e.ns)?,
                count: u32_of(e.count)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((
        Some(IdMap {
            host_base: u32_of(base)?,
            size: u32_of(size)?,
        }),
        raw,
    ))
}

fn devices_of(ctx: &Context, devices: &Devices) -> Result<(Vec<DiskMount>, Vec<UnixDevice>)> {
    let mut disks = Vec::new();
    let mut unix = Vec::new();
    for (dname, d) in devices {
        match d.get("type").map(String::as_str) {
            Some("disk") if d.get("path").map(String::as_str) != Some("/") => {
                let source = d.get("source").cloned().unwrap_or_default();
                // pool= names a custom volume: mount its directory in the pool.
                let source = match d.get("pool") {
                    Some(pool) => crate::storage::volume::disk_source(ctx, pool, &source)
                        .map_err(|e| e.context(format!("Device \"{dname}\"")))?,
                    None => PathBuf::from(source),
                };
                let flag = |k: &str| d.get(k).and_then(|v| keys::parse_bool(v)).unwrap_or(false);
                disks.push(DiskMount {
                    source,
                    path: PathBuf::from(d.get("path").cloned().unwrap_or_default()),
                    readonly: flag("readonly"),
                    // A host path is idmapped only with shift=true (upstream's default is
                    // false); a custom volume is stored unshifted and always idmapped, where
                    // upstream shifts its files on disk to the same effect.
                    shift: d.contains_key("pool") || flag("shift"),
                });
            }
            Some(t @ ("unix-char" | "unix-block")) => {
                let source = d
                    .get("source")
                    .or_else(|| d.get("path"))
                    .cloned()
                    .unwrap_or_default();
                let path = d
                    .get("path")
                    .or_else(|| d.get("source"))
                    .cloned()
                    .unwrap_or_default();
                let (kind, major, minor) = match (d.get("major"), d.get("minor")) {
                    (Some(a), Some(b)) => (
                        if t == "unix-block" {
                            DeviceKind::Block
                        } else {
                            DeviceKind::Char
                        },
                        a.parse()
                            .map_err(|_| Error::invalid("major must be a number"))?,
                        b.parse()
                            .map_err(|_| Error::invalid("minor must be a number"))?,
                    ),
                    _ => device_num(&source)?,
                };
                let num = |k: &str, default: u32| -> Result<u32> {
                    d.get(k).map_or(Ok(default), |v| {
                        u32::from_str_radix(
                            v.trim_start_matches("0o"),
                            if k == "mode" { 8 } else { 10 },
                        )
                        .map_err(|_| Error::invalid(format!("Device \"{dname}\": bad {k}")))
                    })
                };
                unix.push(UnixDevice {
                    path: PathBuf::from(path),
                    kind,
                    major,
                    minor,
                    uid: num("uid", 0)?,
                    gid: num("gid", 0)?,
                    mode: num("mode", 0o660)?,
                });
            }
            Some("disk") | Some("none") | Some("nic") => {}
            Some(other) => {
                return Err(Error::unsupported(format!(
                    "Device \"{dname}\": type \"{other}\" is not supported yet"
                )))
            }
            None => {}
        }
    }
    Ok((disks, unix))
}

/// The mark of a power change that a command makes for a moment and undoes itself:
/// `freeze` (a snapshot freezes a running instance to copy it) and `restart` (a
/// restore or a restart stops a running instance and starts it again). It is written
/// before the freeze or the stop and cleared once the instance is back; when its
/// owner died, the next command that takes the instance's lock puts the instance back
/// as the user had it ([`finish_power_op`]). `volatile.last_state.power` (the user's
/// intent) does not change meanwhile.
pub const POWER_MARK: &str = "volatile.power.op";
/// [`POWER_MARK`] of a snapshot's freeze.
pub(crate) const POWER_FREEZE: &str = "freeze";
/// [`POWER_MARK`] of a stop that a start follows.
pub(crate) const POWER_RESTART: &str = "restart";
/// [`POWER_MARK`] of a `start` between its intent and its record: a kill before the
/// runtime acted is rolled back (the intent is STOPPED again), after it rolled forward.
pub(crate) const POWER_START: &str = "start";
/// [`POWER_MARK`] of a `stop` between its intent and its record: rolled forward (the
/// instance is stopped, at once).
pub(crate) const POWER_STOP: &str = "stop";
/// [`POWER_MARK`] of a configuration change being applied to a running instance
/// (limits, hot-plugged devices and NICs): recorded with the new row, cleared once the
/// live state matches it; a kill in between is finished by making the live state
/// match the row ([`resync_live`]).
pub(crate) const POWER_LIVE: &str = "live";

/// Sets or clears [`POWER_MARK`] on its own (callers that have no transaction of
/// their own to put it in).
pub(crate) fn set_power_mark(ctx: &Context, id: i64, op: Option<&str>) -> Result<()> {
    ctx.db()?
        .write(|tx| incus_db::instance_config_set(tx, id, POWER_MARK, op))
}

/// Puts an instance back as its user had it after the command that froze or stopped
/// it for a moment died (the caller holds the instance lock and has finished the
/// snapshot mark first, so a restore's disk work is done): a `freeze` is thawed, a
/// `restart` is started again, then the mark is cleared. An unknown value acts on
/// nothing and is cleared.
pub(crate) fn finish_power_op(ctx: &Context, name: &str) -> Result<()> {
    let row = instance::get_row(ctx, name)?;
    let Some(op) = row.config.get(POWER_MARK).cloned() else {
        return Ok(());
    };
    let run_dir = ctx.instance_run_dir(name);
    // A killed start may have left its monitor still bringing the container up.
    let st = status_code(
        &incus_runtime::status_settled(&run_dir, Duration::from_secs(30)),
        false,
    );
    let done = match op.as_str() {
        POWER_FREEZE if st == StatusCode::Frozen => {
            incus_runtime::unfreeze(&run_dir).map_err(crate::convert::runtime_error)
        }
        POWER_RESTART if st == StatusCode::Stopped => start_locked(ctx, name),
        POWER_START if st == StatusCode::Stopped => ctx.db()?.write(|tx| {
            incus_db::instance_config_set(tx, row.id, "volatile.last_state.power", Some("STOPPED"))
        }),
        POWER_START => ctx
            .db()?
            .write(|tx| incus_db::instance_config_set(tx, row.id, "volatile.apply_template", None)),
        POWER_STOP => {
            let stopped = if st != StatusCode::Stopped {
                incus_runtime::stop(&run_dir, Duration::ZERO, true)
                    .map(|_| ())
                    .map_err(crate::convert::runtime_error)
            } else {
                Ok(())
            };
            // An ephemeral instance goes with its stop (the row and the mark with it).
            if row.ephemeral && stopped.is_ok() && instance::delete_locked(ctx, name).is_ok() {
                return Ok(());
            }
            stopped
        }
        POWER_LIVE if st != StatusCode::Stopped => resync_live(ctx, name),
        _ => Ok(()),
    };
    // Cleared even when that failed: an instance that cannot start again must not
    // make every later command on it fail; it stays as it is, and says why once.
    set_power_mark(ctx, row.id, None)?;
    if let Err(e) = done {
        incus_api::warning::push(format!(
            "instance \"{name}\" could not be put back after an interrupted command ({op}): {}",
            e.message
        ));
    }
    Ok(())
}

/// `start`: renders pending templates, starts the container, then records the start
/// (pending trigger cleared, power state, last use, event) in one transaction.
pub fn start(ctx: &Context, name: &str) -> Result<()> {
    let _lock = instance::lock(ctx, name)?;
    start_locked(ctx, name)
}

/// `start` for a caller that holds the instance lock (snapshot restore).
pub(crate) fn start_locked(ctx: &Context, name: &str) -> Result<()> {
    if status(ctx, name) != StatusCode::Stopped {
        return Err(Error::invalid("The instance is already running"));
    }
    let row = instance::get_row(ctx, name)?;
    let profiles = crate::profile::load_all(ctx, &row.profiles)?;
    let (config, devices) = crate::profile::expand(&profiles, &row.config, &row.devices);
    let is_vm = crate::vm::is_vm(&row);
    if !is_vm {
        instance::render_templates(ctx, &row, &config, &devices)?;
    }
    // Generated NIC MACs and veth names are recorded first, so they stay stable
    // even when the start fails.
    let (nics, nic_volatile) = crate::network::prepare_nics(ctx, name, &config, &devices)?;
    let mut config = config;
    // what the guest reported belongs to its previous run
    let ready_key = "volatile.last_state.ready";
    if !nic_volatile.is_empty() || row.config.contains_key(ready_key) {
        ctx.db()?.write(|tx| {
            for (k, v) in &nic_volatile {
                incus_db::instance_config_set(tx, row.id, k, Some(v))?;
            }
            if row.config.contains_key(ready_key) {
                incus_db::instance_config_set(tx, row.id, ready_key, None)?;
            }
            Ok(())
        })?;
        config.extend(nic_volatile);
        config.remove(ready_key);
    }
    if is_vm {
        let spec = crate::vm::spec_of(ctx, &row, &config, &devices, nics)?;
        std::fs::create_dir_all(&ctx.log_dir)?;
        crate::storage::set_mode(&ctx.log_dir, 0o700)?;
        with_power_intent(ctx, &row, "RUNNING", || {
            pause_point("start-before-runtime");
            incus_runtime::qemu::start(&spec).map_err(crate::convert::runtime_error)
        })?;
        return crate::vm::record_start(ctx, &row, &config);
    }
    let spec = spec_of(ctx, &row, &config, &devices, nics)?;
    // The runtime needs no search permission above the rootfs: the volume stays 0100 and
    // the logs (guest console output) root's; fixes volumes made by an older version.
    crate::storage::set_mode(
        &instance::volume_path(ctx, &row),
        crate::storage::INSTANCE_VOLUME_MODE,
    )?;
    std::fs::create_dir_all(&ctx.log_dir)?;
    crate::storage::set_mode(&ctx.log_dir, 0o700)?;
    crate::guestapi::publish_with(ctx, name, &config, &devices)?;
    with_power_intent(ctx, &row, "RUNNING", || {
        pause_point("start-before-runtime");
        incus_runtime::start(&spec).map_err(crate::convert::runtime_error)
    })?;
    pause_point("start-before-record");
    let now = time::now();
    let project = ctx.project.clone();
    ctx.db()?.write(|tx| {
        if row.config.contains_key("volatile.apply_template") {
            incus_db::instance_config_set(tx, row.id, "volatile.apply_template", None)?;
        }
        // The start is done: its mark (or a restart's) goes with the record.
        incus_db::instance_config_set(tx, row.id, POWER_MARK, None)?;
        incus_db::instance_set_last_used(tx, row.id, &now)?;
        events::record(
            tx,
            &project,
            "instance-started",
            &format!("/1.0/instances/{name}"),
            serde_json::json!({}),
        )
    })?;
    crate::backup::sync_instance(ctx, name);
    // `snapshots.schedule` with @startup: a snapshot of the started instance.
    crate::snapshot::on_start(ctx, name, &config)
}

/// `stop`: a clean halt within `timeout` (then SIGKILL), or at once with `force`.
/// Ephemeral instances are deleted afterwards.
pub fn stop(ctx: &Context, name: &str, timeout: Duration, force: bool) -> Result<()> {
    // One lock across the stop and an ephemeral instance's delete; the stop's mark
    // stays until the delete, so a kill in between is deleted by the next command.
    let _lock = instance::lock(ctx, name)?;
    let row = stop_locked(ctx, name, timeout, force)?;
    if row.ephemeral {
        pause_point("ephemeral-stopped");
        instance::delete_locked(ctx, name)?;
    }
    Ok(())
}

/// `stop` for a caller that holds the instance lock; never deletes an ephemeral
/// instance (snapshot restore starts it again).
pub(crate) fn stop_locked(
    ctx: &Context,
    name: &str,
    timeout: Duration,
    force: bool,
) -> Result<incus_db::InstanceRow> {
    let row = instance::get_row(ctx, name)?;
    if status(ctx, name) == StatusCode::Stopped {
        return Err(Error::invalid("The instance is already stopped"));
    }
    with_power_intent(ctx, &row, "STOPPED", || {
        pause_point("stop-before-runtime");
        incus_runtime::stop(&ctx.instance_run_dir(name), timeout, force)
            .map_err(crate::convert::runtime_error)
    })?;
    pause_point("stop-before-record");
    record_stop(ctx, name, !row.ephemeral)?;
    Ok(row)
}

/// Stops a running instance for a moment (a restore, a restart; the caller holds the
/// instance lock and has recorded [`POWER_RESTART`]): the user's intent
/// (`volatile.last_state.power`) stays as it is, since a start follows.
pub(crate) fn stop_for_restart(
    ctx: &Context,
    name: &str,
    timeout: Duration,
    force: bool,
) -> Result<()> {
    if status(ctx, name) == StatusCode::Stopped {
        return Ok(());
    }
    incus_runtime::stop(&ctx.instance_run_dir(name), timeout, force)
        .map_err(crate::convert::runtime_error)?;
    record_stop(ctx, name, false)
}

/// The stop's event; `done` clears the stop's [`POWER_MARK`] with it.
fn record_stop(ctx: &Context, name: &str, done: bool) -> Result<()> {
    let project = ctx.project.clone();
    let id = instance::get_row(ctx, name)?.id;
    ctx.db()?.write(|tx| {
        if done {
            incus_db::instance_config_set(tx, id, POWER_MARK, None)?;
        }
        events::record(
            tx,
            &project,
            "instance-stopped",
            &format!("/1.0/instances/{name}"),
            serde_json::json!({}),
        )
    })?;
    crate::backup::sync_instance(ctx, name);
    Ok(())
}

/// `restart`: stop and start under one lock, with [`POWER_RESTART`] recorded before
/// the stop, so a kill in between is started again by the next command.
pub fn restart(ctx: &Context, name: &str, timeout: Duration, force: bool) -> Result<()> {
    let _lock = instance::lock(ctx, name)?;
    let row = instance::get_row(ctx, name)?;
    if row.ephemeral {
        return Err(Error::invalid(
            "Ephemeral instances cannot be restarted (they are deleted on stop)",
        ));
    }
    if status(ctx, name) == StatusCode::Stopped {
        return start_locked(ctx, name);
    }
    restart_locked(ctx, &row, timeout, force, || Ok(()))
}

/// Stops a running instance, runs `between` (a restore's disk work), starts it again.
/// [`POWER_RESTART`] is recorded before the stop and cleared after the start; the
/// caller holds the instance lock.
pub(crate) fn restart_locked(
    ctx: &Context,
    row: &incus_db::InstanceRow,
    timeout: Duration,
    force: bool,
    between: impl FnOnce() -> Result<()>,
) -> Result<()> {
    set_power_mark(ctx, row.id, Some(POWER_RESTART))?;
    if let Err(e) = stop_for_restart(ctx, &row.name, timeout, force) {
        // Still running (or stopped by itself): put it back as it was.
        finish_power_op(ctx, &row.name)?;
        return Err(e);
    }
    pause_point("restart-stopped");
    between()?;
    pause_point("restart-before-start");
    // A start clears the mark with its record; a failed one leaves it to clear here.
    start_locked(ctx, &row.name).inspect_err(|_| {
        let _ = set_power_mark(ctx, row.id, None);
    })
}

/// `pause` / `freeze`.
pub fn freeze(ctx: &Context, name: &str) -> Result<()> {
    let _lock = instance::lock(ctx, name)?;
    instance::get_row(ctx, name)?;
    incus_runtime::freeze(&ctx.instance_run_dir(name)).map_err(crate::convert::runtime_error)?;
    events::lifecycle(
        ctx,
        "instance-paused",
        &format!("/1.0/instances/{name}"),
        serde_json::json!({}),
    )
}

/// `resume` / `unfreeze`.
pub fn unfreeze(ctx: &Context, name: &str) -> Result<()> {
    let _lock = instance::lock(ctx, name)?;
    instance::get_row(ctx, name)?;
    incus_runtime::unfreeze(&ctx.instance_run_dir(name)).map_err(crate::convert::runtime_error)?;
    events::lifecycle(
        ctx,
        "instance-resumed",
        &format!("/1.0/instances/{name}"),
        serde_json::json!({}),
    )
}

/// `exec`: runs a command in a running instance; returns its exit code.
pub fn exec(ctx: &Context, name: &str, spec: &incus_runtime::ExecSpec) -> Result<i32> {
    exec_ready(ctx, name)?;
    incus_runtime::exec(&ctx.instance_run_dir(name), spec).map_err(crate::convert::runtime_error)
}

/// Whether a command can run in the instance now: it exists and is running (the
/// server asks before it opens an exec operation).
pub fn exec_ready(ctx: &Context, name: &str) -> Result<()> {
    instance::get_row(ctx, name)?;
    if status(ctx, name) != StatusCode::Running {
        return Err(Error::invalid("Instance is not running"));
    }
    Ok(())
}

/// `console --show-log`.
pub fn console_log(ctx: &Context, name: &str) -> Result<Vec<u8>> {
    instance::get_row(ctx, name)?;
    incus_runtime::console_log(&ctx.instance_log_dir(name)).map_err(crate::convert::runtime_error)
}

/// Empties the console log (`DELETE /1.0/instances/NAME/console`).
pub fn console_log_clear(ctx: &Context, name: &str) -> Result<()> {
    instance::get_row(ctx, name)?;
    incus_runtime::console_log_clear(&ctx.instance_log_dir(name))
        .map_err(crate::convert::runtime_error)
}

/// `console`: attaches the terminal (detach with ctrl+a q).
pub fn console_attach(ctx: &Context, name: &str) -> Result<()> {
    instance::get_row(ctx, name)?;
    incus_runtime::console_attach(&ctx.instance_run_dir(name))
        .map_err(crate::convert::runtime_error)
}

/// A connection to a running instance's console (output out, input in), for the REST
/// server's console websocket; `size` is (rows, cols).
pub fn console_connect(
    ctx: &Context,
    name: &str,
    size: Option<(u16, u16)>,
) -> Result<std::os::unix::net::UnixStream> {
    instance::get_row(ctx, name)?;
    incus_runtime::console_connect(&ctx.instance_run_dir(name), size)
        .map_err(crate::convert::runtime_error)
}

/// Live state (`GET .../state`).
pub fn state(ctx: &Context, name: &str) -> Result<InstanceState> {
    let mut st = state_at(&ctx.instance_run_dir(name));
    nic_details(&mut st, &instance::get(ctx, name)?);
    Ok(st)
}

/// Fills `hwaddr` and `host_name` of the NICs in a state from the instance's devices
/// and volatile keys (what the runtime configured; the guest's own sysfs is not read).
pub fn nic_details(st: &mut InstanceState, inst: &incus_api::Instance) {
    let Some(net) = st.network.as_mut() else {
        return;
    };
    for (dev, d) in &inst.expanded_devices {
        if d.get("type").map(String::as_str) != Some("nic") {
            continue;
        }
        let ifname = d.get("name").unwrap_or(dev);
        let Some(n) = net.get_mut(ifname) else {
            continue;
        };
        let volatile = |k: &str| inst.config.get(&format!("volatile.{dev}.{k}")).cloned();
        if let Some(h) = d.get("hwaddr").cloned().or_else(|| volatile("hwaddr")) {
            n.hwaddr = h;
        }
        if let Some(h) = volatile("host_name") {
            n.host_name = h;
        }
        if let Some(m) = d.get("mtu").and_then(|m| m.parse().ok()) {
            n.mtu = m;
        } else if incus_sys::netdev::is_interface_name(&n.host_name) {
            // The MTU the veth pair was made with (read on the host end; a guest that
            // changes its own end is not seen).
            let path = format!("/sys/class/net/{}/mtu", n.host_name);
            if let Some(m) = incus_sys::fsutil::read_small(path)
                .ok()
                .and_then(|m| m.trim().parse().ok())
            {
                n.mtu = m;
            }
        }
    }
}

/// The live state from an instance's run directory: one look at it for the status and
/// the usage figures (lists call this for every instance, from several threads).
pub fn state_at(run_dir: &std::path::Path) -> InstanceState {
    let (rt, info) = incus_runtime::status_info(run_dir);
    let st = status_code(&rt, incus_runtime::guest_ready(run_dir));
    let mut out = InstanceState {
        status: st.as_str().into(),
        status_code: st.code(),
        network: None,
        ..Default::default()
    };
    // A stopped instance keeps pid and processes at 0, as upstream reports them.
    if st != StatusCode::Stopped {
        if let incus_runtime::Status::Running { init_pid, .. } = rt {
            if incus_runtime::qemu::is_vm(run_dir) {
                crate::vm::state_into(&mut out, run_dir, init_pid);
                return out;
            }
        }
        if let Some(info) = info {
            out.pid = info.init_pid as i64;
            out.processes = info.processes as i64;
            out.memory.usage = info.memory_usage as i64;
            out.memory.usage_peak = info.memory_peak as i64;
            out.cpu.usage = info.cpu_usage_ns as i64;
            out.network = Some(crate::network::instance_network_state(
                info.init_pid,
                &info.network,
            ));
        }
    }
    out
}

/// Applies changed limits to a running instance (after `config set`).
pub fn apply_live(ctx: &Context, name: &str) -> Result<()> {
    if status(ctx, name) == StatusCode::Stopped {
        return Ok(());
    }
    let inst = instance::get(ctx, name)?;
    if inst.instance_type == crate::vm::VM {
        // A VM's vCPUs and memory are fixed for a run: the next start takes them.
        return Ok(());
    }
    incus_runtime::apply_limits(
        &ctx.instance_run_dir(name),
        &limits_of(&inst.expanded_config)?,
    )
    .map_err(crate::convert::runtime_error)
}

/// Runs `act` with `volatile.last_state.power` (what a host boot restores) already set
/// to the user's intent, so a kill between the runtime acting and the record cannot leave
/// the old value; the old value is put back when `act` fails.
fn with_power_intent<T>(
    ctx: &Context,
    row: &incus_db::InstanceRow,
    power: &str,
    act: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let before = row.config.get("volatile.last_state.power").cloned();
    // With the intent, the mark of the change in flight ([`POWER_START`],
    // [`POWER_STOP`]), cleared by the record: a kill in between is finished by the
    // next command, which makes state and intent agree again.
    let set = |v: Option<&str>, mark: Option<&str>| {
        ctx.db()?.write(|tx| {
            incus_db::instance_config_set(tx, row.id, "volatile.last_state.power", v)?;
            incus_db::instance_config_set(tx, row.id, POWER_MARK, mark)
        })
    };
    if before.as_deref() == Some(power) {
        return act();
    }
    let mark = if power == "RUNNING" {
        POWER_START
    } else {
        POWER_STOP
    };
    set(Some(power), Some(mark))?;
    act().inspect_err(|_| {
        if let Err(e) = set(before.as_deref(), None) {
            incus_api::warning::push(format!("could not put back volatile.last_state.power: {e}"));
        }
    })
}

/// Records `volatile.last_state.power` (what a boot restores) without other changes.
pub fn record_power(ctx: &Context, name: &str, power: &str) -> Result<()> {
    let _lock = instance::lock(ctx, name)?;
    let row = instance::get_row(ctx, name)?;
    ctx.db()?.write(|tx| {
        incus_db::instance_config_set(tx, row.id, "volatile.last_state.power", Some(power))
    })?;
    crate::backup::sync_instance(ctx, name);
    Ok(())
}

/// Plugs and unplugs devices of a running instance after a change (`config device
/// add/remove/set`, `config edit`): disks and unix-char/block devices whose definition
/// changed are removed, then the new ones added. On failure, what this call plugged
/// is unplugged again and what it unplugged is plugged back.
pub fn apply_live_devices(ctx: &Context, name: &str, old: &Devices, new: &Devices) -> Result<()> {
    if status(ctx, name) == StatusCode::Stopped {
        return Ok(());
    }
    let run_dir = ctx.instance_run_dir(name);
    let changed = |a: &Devices, b: &Devices| -> Devices {
        a.iter()
            .filter(|(k, v)| b.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let (gone_disks, gone_unix) = devices_of(ctx, &changed(old, new))?;
    let (new_disks, new_unix) = devices_of(ctx, &changed(new, old))?;
    let mut done: Vec<Box<dyn Fn() -> incus_runtime::Result<()>>> = Vec::new();
    let res = (|| -> incus_runtime::Result<()> {
        for d in &gone_disks {
            incus_runtime::hot_remove_disk(&run_dir, &d.path)?;
            let (r, d) = (run_dir.clone(), d.clone());
            done.push(Box::new(move || incus_runtime::hot_add_disk(&r, &d)));
        }
        for d in &gone_unix {
            incus_runtime::hot_remove_unix(&run_dir, &d.path)?;
            let (r, d) = (run_dir.clone(), d.clone());
            done.push(Box::new(move || incus_runtime::hot_add_unix(&r, &d)));
        }
        for d in &new_disks {
            incus_runtime::hot_add_disk(&run_dir, d)?;
            let (r, p) = (run_dir.clone(), d.path.clone());
            done.push(Box::new(move || incus_runtime::hot_remove_disk(&r, &p)));
        }
        for d in &new_unix {
            incus_runtime::hot_add_unix(&run_dir, d)?;
            let (r, p) = (run_dir.clone(), d.path.clone());
            done.push(Box::new(move || incus_runtime::hot_remove_unix(&r, &p)));
        }
        Ok(())
    })();
    if let Err(e) = res {
        for undo in done.iter().rev() {
            let _ = undo();
        }
        return Err(match crate::convert::runtime_error(e) {
            e if e.kind == crate::ErrorKind::Internal => {
                Error::invalid(format!("Failed to hot-plug a device: {}", e.message))
            }
            e => e,
        });
    }
    Ok(())
}

/// Makes a running instance's live disks, unix devices, limits and NICs match its row
/// (what a configuration change killed between its row and its hot-plug leaves): what
/// the runtime has and the row does not is unplugged, what the row has and the
/// runtime does not is plugged.
pub(crate) fn resync_live(ctx: &Context, name: &str) -> Result<()> {
    let run_dir = ctx.instance_run_dir(name);
    let row = instance::get_row(ctx, name)?;
    let profiles = crate::profile::load_all(ctx, &row.profiles)?;
    let (_, devices) = crate::profile::expand(&profiles, &row.config, &row.devices);
    let (want_disks, want_unix) = devices_of(ctx, &devices)?;
    let (have_disks, have_unix) =
        incus_runtime::live_devices(&run_dir).map_err(crate::convert::runtime_error)?;
    for d in have_disks.iter().filter(|d| !want_disks.contains(d)) {
        incus_runtime::hot_remove_disk(&run_dir, &d.path).map_err(crate::convert::runtime_error)?;
    }
    for d in have_unix.iter().filter(|d| !want_unix.contains(d)) {
        incus_runtime::hot_remove_unix(&run_dir, &d.path).map_err(crate::convert::runtime_error)?;
    }
    for d in want_disks.iter().filter(|d| !have_disks.contains(d)) {
        incus_runtime::hot_add_disk(&run_dir, d).map_err(crate::convert::runtime_error)?;
    }
    for d in want_unix.iter().filter(|d| !have_unix.contains(d)) {
        incus_runtime::hot_add_unix(&run_dir, d).map_err(crate::convert::runtime_error)?;
    }
    apply_live(ctx, name)?;
    apply_live_nics(ctx, name)
}

/// Hot-plugs NIC changes into a running instance (after a device change) and records
/// the volatile keys of new NICs.
pub fn apply_live_nics(ctx: &Context, name: &str) -> Result<()> {
    if status(ctx, name) == StatusCode::Stopped {
        return Ok(());
    }
    let row = instance::get_row(ctx, name)?;
    let profiles = crate::profile::load_all(ctx, &row.profiles)?;
    let (config, devices) = crate::profile::expand(&profiles, &row.config, &row.devices);
    let volatile = crate::network::sync_running(ctx, name, &config, &devices)?;
    if !volatile.is_empty() {
        ctx.db()?.write(|tx| {
            for (k, v) in &volatile {
                incus_db::instance_config_set(tx, row.id, k, Some(v))?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// `launch`, and REST's create with `"start": true`: create, then start (the one place
/// that composes the two). A failed start leaves the instance created and stopped, as
/// upstream. Returns the instance as it is after the start.
pub fn launch(ctx: &Context, opts: instance::CreateOptions) -> Result<incus_api::Instance> {
    let created = instance::create(ctx, opts)?;
    start(ctx, &created.name)?;
    instance::get(ctx, &created.name)
}
