//! Running instances: start, stop, restart, freeze, exec, console log, live state.
//! The container work is `incus_runtime`'s; this module turns instance rows into a
//! runtime spec and keeps the database in step.

use crate::instance::{self, IDMAP_SIZE};
use crate::{events, time, Context, Error, Result};
use incus_api::{keys, Config, Devices, InstanceState, StatusCode};
use incus_runtime::{ContainerSpec, DeviceKind, DiskMount, IdMap, Limits, UnixDevice};
use std::path::PathBuf;
use std::time::Duration;

pub(crate) fn rt_err(e: incus_runtime::Error) -> Error {
    use incus_runtime::Error as E;
    match e {
        E::AlreadyRunning => Error::invalid("The instance is already running"),
        E::NotRunning => Error::invalid("The instance is not running"),
        E::Invalid(m) => Error::invalid(m),
        E::Unsupported(m) => Error::unsupported(m),
        other => Error::internal(other.to_string()),
    }
}

/// The status of an instance from its run directory (monitor lock, state file).
pub fn status(ctx: &Context, name: &str) -> StatusCode {
    match incus_runtime::status(&ctx.instance_run_dir(name)) {
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
        110 => StatusCode::Frozen,
        _ => StatusCode::Stopped,
    }
}

/// Runtime limits from an expanded config.
pub fn limits_of(config: &Config) -> Result<Limits> {
    let get = |k: &str| config.get(k).filter(|v| !v.is_empty());
    Ok(Limits {
        memory: match get("limits.memory") {
            Some(v) if v.ends_with('%') => {
                let pct: u64 = v.trim_end_matches('%').parse().map_err(|_| {
                    Error::invalid(format!("Invalid value for limits.memory: \"{v}\""))
                })?;
                Some(host_memory() / 100 * pct)
            }
            Some(v) => Some(keys::parse_size(v)?),
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

fn host_memory() -> u64 {
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
) -> Result<ContainerSpec> {
    let flag = |k: &str| {
        config
            .get(k)
            .and_then(|v| keys::parse_bool(v))
            .unwrap_or(false)
    };
    let privileged = flag("security.privileged");
    let idmap = if privileged {
        None
    } else {
        let base: u32 = config
            .get("volatile.idmap.base")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Error::internal("volatile.idmap.base is missing"))?;
        Some(IdMap {
            host_base: base,
            size: IDMAP_SIZE as u32,
        })
    };
    let (disks, unix_devices) = devices_of(devices)?;
    Ok(ContainerSpec {
        name: row.name.clone(),
        host_prefix: ctx.prefix.clone(),
        rootfs: instance::rootfs_path(ctx, row),
        run_dir: ctx.instance_run_dir(&row.name),
        log_dir: ctx.instance_log_dir(&row.name),
        privileged,
        idmap,
        hostname: row.name.clone(),
        init: vec!["/sbin/init".into()],
        env: config
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("environment.")?.to_string(), v.clone())))
            .collect(),
        limits: limits_of(config)?,
        disks,
        unix_devices,
        nesting: flag("security.nesting"),
        stop_signal: None,
    })
}

fn devices_of(devices: &Devices) -> Result<(Vec<DiskMount>, Vec<UnixDevice>)> {
    let mut disks = Vec::new();
    let mut unix = Vec::new();
    for (dname, d) in devices {
        match d.get("type").map(String::as_str) {
            Some("disk") if d.get("path").map(String::as_str) != Some("/") => {
                let source = d.get("source").cloned().unwrap_or_default();
                if d.contains_key("pool") {
                    return Err(Error::unsupported(format!(
                        "Device \"{dname}\": custom volumes are not supported yet"
                    )));
                }
                disks.push(DiskMount {
                    source: PathBuf::from(source),
                    path: PathBuf::from(d.get("path").cloned().unwrap_or_default()),
                    readonly: d
                        .get("readonly")
                        .and_then(|v| keys::parse_bool(v))
                        .unwrap_or(false),
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
            Some("nic") => {
                return Err(Error::unsupported(format!(
                    "Device \"{dname}\": nic devices need incus-net, which is not installed yet"
                )))
            }
            Some("disk") | Some("none") => {}
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

/// `start`: renders pending templates, starts the container, then records the start
/// (pending trigger cleared, power state, last use, event) in one transaction.
pub fn start(ctx: &Context, name: &str) -> Result<()> {
    let _lock = ctx.lock_instance(name)?;
    if status(ctx, name) != StatusCode::Stopped {
        return Err(Error::invalid("The instance is already running"));
    }
    let row = instance::get_row(ctx, name)?;
    let profiles = instance::load_profiles(ctx, &row.profiles)?;
    let (config, devices) = instance::expand(&profiles, &row.config, &row.devices);
    instance::render_templates(ctx, &row, &config, &devices)?;
    incus_runtime::start(&spec_of(ctx, &row, &config, &devices)?).map_err(rt_err)?;
    let now = time::now();
    let project = ctx.project.clone();
    ctx.db()?.write(|tx| {
        if row.config.contains_key("volatile.apply_template") {
            incus_db::instance_config_set(tx, row.id, "volatile.apply_template", None)?;
        }
        incus_db::instance_config_set(tx, row.id, "volatile.last_state.power", Some("RUNNING"))?;
        incus_db::instance_set_last_used(tx, row.id, &now)?;
        events::record(
            tx,
            &project,
            "instance-started",
            &format!("/1.0/instances/{name}"),
            serde_json::json!({}),
        )
    })
}

/// `stop`: a clean halt within `timeout` (then SIGKILL), or at once with `force`.
/// Ephemeral instances are deleted afterwards.
pub fn stop(ctx: &Context, name: &str, timeout: Duration, force: bool) -> Result<()> {
    let row = {
        let _lock = ctx.lock_instance(name)?;
        let row = instance::get_row(ctx, name)?;
        if status(ctx, name) == StatusCode::Stopped {
            return Err(Error::invalid("The instance is already stopped"));
        }
        incus_runtime::stop(&ctx.instance_run_dir(name), timeout, force).map_err(rt_err)?;
        let project = ctx.project.clone();
        ctx.db()?.write(|tx| {
            incus_db::instance_config_set(
                tx,
                row.id,
                "volatile.last_state.power",
                Some("STOPPED"),
            )?;
            events::record(
                tx,
                &project,
                "instance-stopped",
                &format!("/1.0/instances/{name}"),
                serde_json::json!({}),
            )
        })?;
        row
    };
    if row.ephemeral {
        instance::delete(ctx, name)?;
    }
    Ok(())
}

/// `restart`.
pub fn restart(ctx: &Context, name: &str, timeout: Duration, force: bool) -> Result<()> {
    let ephemeral = instance::get_row(ctx, name)?.ephemeral;
    if ephemeral {
        return Err(Error::invalid(
            "Ephemeral instances cannot be restarted (they are deleted on stop)",
        ));
    }
    if status(ctx, name) != StatusCode::Stopped {
        stop(ctx, name, timeout, force)?;
    }
    start(ctx, name)
}

/// `pause` / `freeze`.
pub fn freeze(ctx: &Context, name: &str) -> Result<()> {
    let _lock = ctx.lock_instance(name)?;
    instance::get_row(ctx, name)?;
    incus_runtime::freeze(&ctx.instance_run_dir(name)).map_err(rt_err)?;
    events::lifecycle(
        ctx,
        "instance-paused",
        &format!("/1.0/instances/{name}"),
        serde_json::json!({}),
    )
}

/// `resume` / `unfreeze`.
pub fn unfreeze(ctx: &Context, name: &str) -> Result<()> {
    let _lock = ctx.lock_instance(name)?;
    instance::get_row(ctx, name)?;
    incus_runtime::unfreeze(&ctx.instance_run_dir(name)).map_err(rt_err)?;
    events::lifecycle(
        ctx,
        "instance-resumed",
        &format!("/1.0/instances/{name}"),
        serde_json::json!({}),
    )
}

/// `exec`: runs a command in a running instance; returns its exit code.
pub fn exec(ctx: &Context, name: &str, spec: &incus_runtime::ExecSpec) -> Result<i32> {
    instance::get_row(ctx, name)?;
    if status(ctx, name) != StatusCode::Running {
        return Err(Error::invalid("Instance is not running"));
    }
    incus_runtime::exec(&ctx.instance_run_dir(name), spec).map_err(rt_err)
}

/// `console --show-log`.
pub fn console_log(ctx: &Context, name: &str) -> Result<Vec<u8>> {
    instance::get_row(ctx, name)?;
    incus_runtime::console_log(&ctx.instance_log_dir(name)).map_err(rt_err)
}

/// `console`: attaches the terminal (detach with ctrl+a q).
pub fn console_attach(ctx: &Context, name: &str) -> Result<()> {
    instance::get_row(ctx, name)?;
    incus_runtime::console_attach(&ctx.instance_run_dir(name)).map_err(rt_err)
}

/// A connection to a running instance's console (output out, input in), for the REST
/// server's console websocket; `size` is (rows, cols).
pub fn console_connect(
    ctx: &Context,
    name: &str,
    size: Option<(u16, u16)>,
) -> Result<std::os::unix::net::UnixStream> {
    instance::get_row(ctx, name)?;
    incus_runtime::console_connect(&ctx.instance_run_dir(name), size).map_err(rt_err)
}

/// Live state (`GET .../state`).
pub fn state(ctx: &Context, name: &str) -> Result<InstanceState> {
    let st = status(ctx, name);
    let mut out = InstanceState {
        status: st.as_str().into(),
        status_code: st.code(),
        network: None,
        ..Default::default()
    };
    // A stopped instance keeps pid and processes at 0, as upstream reports them.
    if st != StatusCode::Stopped {
        if let Ok(info) = incus_runtime::info(&ctx.instance_run_dir(name)) {
            out.pid = info.init_pid as i64;
            out.processes = info.processes as i64;
            out.memory.usage = info.memory_usage as i64;
            out.memory.usage_peak = info.memory_peak as i64;
            out.cpu.usage = info.cpu_usage_ns as i64;
        }
    }
    Ok(out)
}

/// Applies changed limits to a running instance (after `config set`).
pub fn apply_live(ctx: &Context, name: &str) -> Result<()> {
    if status(ctx, name) == StatusCode::Stopped {
        return Ok(());
    }
    let inst = instance::get(ctx, name)?;
    incus_runtime::apply_limits(
        &ctx.instance_run_dir(name),
        &limits_of(&inst.expanded_config)?,
    )
    .map_err(rt_err)
}
