//! Operations on a container through its run directory: start, status, stop (with repair),
//! freeze, live limits, disk hot-plug, info, stale cleanup.

use crate::cgroup::{container_rel, monitor_rel, Cgroups, Layout};
use crate::kernel::{now_unix, pidfd_send_signal, sys_err, wait_readable};
use crate::spec::{
    ContainerSpec, DiskMount, ExitKind, ExitRecord, Limits, NetCounters, RuntimeInfo, Started,
    Status,
};
use crate::state::{self, init_pidfd, monitor_alive, monitor_pidfd, RunRecord, State};
use crate::{Error, Result};
use incus_sys::fsutil::read_small;
use nix::sched::CloneFlags as CF;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe2, ForkResult};
use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn cgroups(spec: &ContainerSpec) -> Result<Cgroups> {
    Ok(Cgroups::new(
        Layout::detect()?,
        container_rel(&spec.host_prefix, &spec.name),
    ))
}

fn validate(spec: &ContainerSpec) -> Result<()> {
    let one_component = |s: &str| !s.is_empty() && !s.contains('/') && s != "." && s != "..";
    if !one_component(&spec.name) || !one_component(&spec.host_prefix) {
        return Err(Error::Invalid(
            "name and host_prefix must be single path components".into(),
        ));
    }
    if !spec.privileged && spec.idmap.map(|m| m.size == 0).unwrap_or(true) {
        return Err(Error::Invalid(
            "unprivileged container needs a non-empty idmap".into(),
        ));
    }
    if !spec.privileged && spec.maps_host_root() {
        return Err(Error::Invalid(
            "refusing an id map with host id 0: host root is never mapped into an unprivileged container".into(),
        ));
    }
    crate::confine::check_syscalls(&spec.syscalls)?;
    if spec.init.is_empty() {
        return Err(Error::Invalid("empty init command".into()));
    }
    for d in &spec.disks {
        if !d.path.is_absolute() {
            return Err(Error::Invalid(format!(
                "disk path {} must be absolute",
                d.path.display()
            )));
        }
    }
    if !spec.rootfs.is_dir() {
        return Err(Error::Invalid(format!(
            "rootfs {} is not a directory",
            spec.rootfs.display()
        )));
    }
    Ok(())
}

/// Path of the `incus-monitor` binary: `$INCUS_MONITOR_BIN`, else next to the current
/// executable (or its parent dir, for test binaries in target/*/deps), else `PATH`.
pub(crate) fn monitor_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("INCUS_MONITOR_BIN") {
        return p.into();
    }
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(2) {
            let p = dir.join("incus-monitor");
            if p.is_file() {
                return p;
            }
        }
    }
    PathBuf::from("incus-monitor")
}

/// Start the container: writes `spec.json` into `spec.run_dir`, spawns `incus-monitor`, and
/// returns once init has exec'd. Error text from the monitor or from init's setup is returned
/// verbatim in [`Error::Start`]. Refuses when already running; cleans stale state first.
/// Safe to call from a threaded process (it only spawns a binary).
pub fn start(spec: &ContainerSpec) -> Result<Started> {
    validate(spec)?;
    let run_dir = &spec.run_dir;
    fs::create_dir_all(run_dir).map_err(|e| Error::io(run_dir, e))?;
    fs::create_dir_all(&spec.log_dir).map_err(|e| Error::io(&spec.log_dir, e))?;
    // The console log is the container's output: root only (as upstream's log dir).
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&spec.log_dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(&spec.log_dir, e))?;
    }
    match status(run_dir) {
        Status::Running { .. } | Status::Frozen { .. } | Status::Orphaned { .. } => {
            return Err(Error::AlreadyRunning)
        }
        Status::Stopped { .. } => {}
    }
    if state::read_state(run_dir)
        .map(|s| s.running.is_some())
        .unwrap_or(true)
        || cgroups(spec)?.exists()
    {
        cleanup_stale(run_dir, spec)?;
    }
    // A VM of the same name ran here before: its spec is not ours.
    let _ = fs::remove_file(run_dir.join(crate::qemu::VM_SPEC));
    state::write_spec(run_dir, spec)?;
    let (r, w) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| sys_err("pipe", e))?;
    let wfd = w.as_raw_fd();
    let mut cmd = std::process::Command::new(monitor_bin());
    cmd.arg(run_dir)
        .arg("3")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: dup2 is async-signal-safe; it hands the status pipe to the monitor as fd 3
    // (dup2 clears CLOEXEC on the copy).
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(wfd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::Start(format!("spawning {}: {e}", monitor_bin().display())))?;
    drop(w);
    incus_sys::testhook::pause_point("start-spawned");
    let mut msg = String::new();
    let _ = fs::File::from(r).read_to_string(&mut msg);
    let _ = child.wait();
    if let Some(rest) = msg.strip_prefix("OK ") {
        let mut it = rest
            .split_whitespace()
            .map(|x| x.parse::<i32>().unwrap_or(0));
        return Ok(Started {
            init_pid: it.next().unwrap_or(0),
            monitor_pid: it.next().unwrap_or(0),
        });
    }
    let msg = msg.strip_prefix("ERR ").unwrap_or(&msg).to_string();
    let msg = msg
        .strip_prefix("start failed: ")
        .unwrap_or(&msg)
        .to_string();
    if msg.is_empty() {
        let log = spec.log_dir.join("monitor.log");
        return Err(Error::Start(format!(
            "monitor exited without reporting (see {})",
            log.display()
        )));
    }
    Err(Error::Start(msg))
}

/// [`status`] once a start or an end in progress has settled: while the monitor lives
/// without a running init recorded (it is starting init, or recording its end) the
/// status is waited for, up to `timeout`. A caller that finishes the work of a killed
/// `start` asks this, so a container still coming up is not taken for stopped.
pub fn status_settled(run_dir: &Path, timeout: Duration) -> Status {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let st = status(run_dir);
        let settling = matches!(st, Status::Stopped { .. })
            && monitor_alive(run_dir)
            && state::read_state(run_dir).map_or(true, |s| s.running.is_none());
        if !settling || std::time::Instant::now() >= deadline {
            return st;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Current state. Detects a dead monitor (lifetime lock free) and an orphaned init (pid +
/// start time still match). Never fails: unreadable state reads as stopped.
pub fn status(run_dir: &Path) -> Status {
    probe(run_dir, false).0
}

/// [`status`] and, when the monitor runs, [`info`]: one read of the run directory for
/// both (a list asks this of every instance).
pub fn status_info(run_dir: &Path) -> (Status, Option<RuntimeInfo>) {
    probe(run_dir, true)
}

fn probe(run_dir: &Path, want_info: bool) -> (Status, Option<RuntimeInfo>) {
    let st = state::read_state(run_dir).unwrap_or_default();
    let alive = monitor_alive(run_dir);
    match (alive, st.running) {
        (true, Some(r)) => {
            let cg = state::read_spec(run_dir).ok().and_then(|s| {
                Layout::detect_cached()
                    .ok()
                    .map(|l| Cgroups::new(l, container_rel(&s.host_prefix, &s.name)))
            });
            let frozen =
                cg.as_ref().is_some_and(|c| c.is_frozen()) || crate::qemu::is_paused(run_dir);
            let status = if frozen {
                Status::Frozen {
                    init_pid: r.init_pid,
                    monitor_pid: r.monitor_pid,
                }
            } else {
                Status::Running {
                    init_pid: r.init_pid,
                    monitor_pid: r.monitor_pid,
                }
            };
            (status, cg.filter(|_| want_info).map(|cg| usage(&cg, &r)))
        }
        (false, Some(r)) => {
            let status = if init_pidfd(&r).is_some() {
                Status::Orphaned {
                    init_pid: r.init_pid,
                }
            } else {
                Status::Stopped {
                    last: Some(ExitRecord {
                        kind: ExitKind::MonitorLost,
                        at: now_unix(),
                        repaired: false,
                    }),
                }
            };
            (status, None)
        }
        (_, None) => (Status::Stopped { last: st.last }, None),
    }
}

/// Stop: send the halt signal to init and wait (on the monitor's pidfd) up to `timeout`;
/// then, or at once when `force`, SIGKILL init through its pidfd. If the monitor is dead,
/// kill init and clean cgroups and state here (repair). Returns how init ended.
pub fn stop(run_dir: &Path, timeout: Duration, force: bool) -> Result<ExitRecord> {
    if crate::qemu::is_vm(run_dir) {
        return crate::qemu::stop(run_dir, timeout, force);
    }
    let spec = state::read_spec(run_dir)?;
    let st = state::read_state(run_dir)?;
    let Some(rec) = st.running else {
        return Err(Error::NotRunning);
    };
    let mon = if monitor_alive(run_dir) {
        monitor_pidfd(&rec)
    } else {
        None
    };
    let Some(mon) = mon else {
        return repair(run_dir, &spec, &rec);
    };
    let cg = cgroups(&spec)?;
    if cg.is_frozen() {
        // frozen tasks cannot act on signals
        cg.set_frozen(false)?;
    }
    let Some(init) = init_pidfd(&rec) else {
        // init already gone: the monitor is finishing
        if !wait_readable(mon.as_fd(), Duration::from_secs(10)) {
            return Err(Error::Timeout("monitor did not exit".into()));
        }
        return last_record(run_dir);
    };
    let mut done = false;
    if !force && pidfd_send_signal(init.as_fd(), rec.stop_signal).is_ok() {
        incus_sys::testhook::pause_point("stop-signaled");
        done = wait_readable(mon.as_fd(), timeout);
    }
    if !done {
        let _ = pidfd_send_signal(init.as_fd(), libc::SIGKILL);
        if !wait_readable(mon.as_fd(), Duration::from_secs(10)) {
            return Err(Error::Timeout(
                "monitor did not exit after SIGKILL of init".into(),
            ));
        }
    }
    last_record(run_dir)
}

fn last_record(run_dir: &Path) -> Result<ExitRecord> {
    state::read_state(run_dir)?
        .last
        .ok_or_else(|| Error::State {
            path: run_dir.join(state::STATE),
            msg: "monitor exited without a record".into(),
        })
}

/// The monitor is gone: kill init (pidfd, so never a recycled pid), remove cgroups, record.
fn repair(run_dir: &Path, spec: &ContainerSpec, rec: &RunRecord) -> Result<ExitRecord> {
    let mut kind = ExitKind::MonitorLost;
    if let Some(init) = init_pidfd(rec) {
        let cg = cgroups(spec)?;
        if cg.is_frozen() {
            let _ = cg.set_frozen(false);
        }
        pidfd_send_signal(init.as_fd(), libc::SIGKILL).map_err(|e| sys_err("kill init", e))?;
        if !wait_readable(init.as_fd(), Duration::from_secs(10)) {
            return Err(Error::Timeout("init did not die".into()));
        }
        kind = ExitKind::Signaled {
            signal: libc::SIGKILL,
        };
    }
    cleanup_stale(run_dir, spec)?;
    let r = ExitRecord {
        kind,
        at: now_unix(),
        repaired: true,
    };
    state::write_state(
        run_dir,
        &State {
            running: None,
            last: Some(r),
        },
    )?;
    Ok(r)
}

/// Remove what a dead run left behind: container cgroups (recursively), the monitor's cgroup,
/// the console socket, device nodes, the running record. Idempotent. Refuses while a monitor
/// is alive.
pub fn cleanup_stale(run_dir: &Path, spec: &ContainerSpec) -> Result<()> {
    if monitor_alive(run_dir) {
        return Err(Error::AlreadyRunning);
    }
    let layout = Layout::detect()?;
    let st = state::read_state(run_dir).unwrap_or_default();
    if let Some(r) = st.running {
        if init_pidfd(&r).is_some() {
            return Err(Error::Invalid(format!(
                "init {} of a dead monitor still runs: use stop",
                r.init_pid
            )));
        }
    }
    Cgroups::new(layout.clone(), container_rel(&spec.host_prefix, &spec.name)).remove()?;
    Cgroups::new(layout, monitor_rel(&spec.host_prefix, &spec.name)).remove()?;
    let _ = fs::remove_file(run_dir.join(state::CONSOLE_SOCK));
    let _ = fs::remove_dir_all(run_dir.join(state::DEVICES));
    crate::guestapi::cleanup(run_dir);
    if st.running.is_some() {
        // the monitor died before recording how init ended
        let last = ExitRecord {
            kind: ExitKind::MonitorLost,
            at: now_unix(),
            repaired: true,
        };
        state::write_state(
            run_dir,
            &State {
                running: None,
                last: Some(last),
            },
        )?;
    }
    Ok(())
}

fn running(run_dir: &Path) -> Result<(ContainerSpec, RunRecord, Cgroups)> {
    let spec = state::read_spec(run_dir)?;
    let rec = state::read_state(run_dir)?
        .running
        .ok_or(Error::NotRunning)?;
    if !monitor_alive(run_dir) {
        return Err(Error::NotRunning);
    }
    let cg = cgroups(&spec)?;
    Ok((spec, rec, cg))
}

/// Freeze all processes of the container (v1 freezer / v2 cgroup.freeze).
pub fn freeze(run_dir: &Path) -> Result<()> {
    if crate::qemu::is_vm(run_dir) {
        return crate::qemu::freeze(run_dir);
    }
    running(run_dir)?.2.set_frozen(true)
}

/// Thaw a frozen container.
pub fn unfreeze(run_dir: &Path) -> Result<()> {
    if crate::qemu::is_vm(run_dir) {
        return crate::qemu::unfreeze(run_dir);
    }
    running(run_dir)?.2.set_frozen(false)
}

/// Live update of all cgroup limits (`None` fields reset to unlimited). Also stored in
/// spec.json so a reboot inside keeps them.
pub fn apply_limits(run_dir: &Path, limits: &Limits) -> Result<()> {
    let (mut spec, _, cg) = running(run_dir)?;
    cg.apply_limits(limits)?;
    spec.limits = limits.clone();
    state::write_spec(run_dir, &spec)
}

/// Run `f` in a forked child that joined the container's namespaces (`flags` via init's pidfd);
/// the child's error text comes back through a pipe.
fn in_container(rec: &RunRecord, flags: CF, f: impl FnOnce() -> Result<()>) -> Result<()> {
    // The fork below is safe only without other threads (hotplug.rs delegates first).
    if crate::hotplug::threaded() {
        return Err(Error::Invalid(
            "internal: in_container called from a threaded process".into(),
        ));
    }
    let init = init_pidfd(rec).ok_or(Error::NotRunning)?;
    let (r, w) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| sys_err("pipe", e))?;
    // SAFETY: documented: single-threaded callers only.
    match unsafe { fork() }.map_err(|e| sys_err("fork", e))? {
        ForkResult::Child => {
            drop(r);
            let res = nix::sched::setns(init.as_fd(), flags)
                .map_err(|e| sys_err("setns", e))
                .and_then(|_| f());
            if let Err(e) = res {
                let _ = nix::unistd::write(&w, e.to_string().as_bytes());
                unsafe { libc::_exit(1) }
            }
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(w);
            let mut msg = String::new();
            let _ = fs::File::from(r).read_to_string(&mut msg);
            let ws = waitpid(child, None).map_err(|e| sys_err("waitpid", e))?;
            if !msg.is_empty() {
                return Err(Error::Invalid(msg));
            }
            if ws != WaitStatus::Exited(child, 0) {
                return Err(Error::Invalid(format!("helper ended with {ws:?}")));
            }
            Ok(())
        }
    }
}

/// Mount a host path into the running container (idmapped like the rootfs when unprivileged
/// and `shift` is set, read-only if asked): the tree is cloned here as host root, then attached from inside the
/// container's namespaces with move_mount. Also recorded in spec.json.
/// Forks the caller; a threaded caller goes through the helper (hotplug.rs).
pub fn hot_add_disk(run_dir: &Path, disk: &DiskMount) -> Result<()> {
    if let Some(r) =
        crate::hotplug::delegate(|| crate::hotplug::HotPlug::AddDisk(run_dir.into(), disk.clone()))
    {
        return r;
    }
    let (mut spec, rec, _) = running(run_dir)?;
    if !disk.path.is_absolute() {
        return Err(Error::Invalid("disk path must be absolute".into()));
    }
    let userns = !spec.privileged;
    let uns: Option<OwnedFd> = if userns {
        Some(
            crate::kernel::open_ro(&format!("/proc/{}/ns/user", rec.init_pid))
                .map_err(|e| sys_err("open userns", e))?,
        )
    } else {
        None
    };
    // re-check identity after opening the ns fd
    init_pidfd(&rec).ok_or(Error::NotRunning)?;
    let tree = crate::monitor::prepare_tree(
        &disk.source,
        uns.as_ref().filter(|_| disk.shift).map(|u| u.as_fd()),
        disk.readonly,
        false,
    )?;
    let flags = if userns {
        CF::CLONE_NEWUSER | CF::CLONE_NEWNS
    } else {
        CF::CLONE_NEWNS
    };
    // Looked at here: the host path is not visible from inside.
    let source_is_dir = fs::metadata(&disk.source)
        .map(|m| m.is_dir())
        .map_err(|e| Error::io(&disk.source, e))?;
    in_container(&rec, flags, || {
        if userns {
            // root of the container: creates the mount point through the idmapped rootfs
            nix::unistd::setresgid(0.into(), 0.into(), 0.into())
                .map_err(|e| sys_err("setresgid", e))?;
            nix::unistd::setresuid(0.into(), 0.into(), 0.into())
                .map_err(|e| sys_err("setresuid", e))?;
        }
        crate::rootfs::make_mountpoint_kind(source_is_dir, &disk.path)?;
        crate::kernel::move_mount(tree.as_fd(), &disk.path)
    })?;
    spec.disks.retain(|d| d.path != disk.path);
    spec.disks.push(disk.clone());
    state::write_spec(run_dir, &spec)
}

/// Adds a NIC to the running container (veth pair, peer up inside) and records it in
/// spec.json. Forks the caller; a threaded caller goes through the helper (hotplug.rs).
pub fn hot_add_nic(run_dir: &Path, nic: &crate::spec::NicSpec) -> Result<()> {
    if let Some(r) =
        crate::hotplug::delegate(|| crate::hotplug::HotPlug::AddNic(run_dir.into(), nic.clone()))
    {
        return r;
    }
    let (mut spec, rec, _) = running(run_dir)?;
    if spec.nics.iter().any(|n| n.name == nic.name) {
        return Err(Error::Invalid(format!(
            "interface {} already exists in the container",
            nic.name
        )));
    }
    let owner = crate::net::owner_alias(&spec.host_prefix, &spec.name);
    crate::net::attach(rec.init_pid, nic, &owner)?;
    if let Err(e) = in_container(&rec, CF::CLONE_NEWNET, || crate::net::link_up(&nic.name)) {
        let _ = crate::net::remove_host_side(&nic.host_name, &owner);
        return Err(e);
    }
    spec.nics.push(nic.clone());
    state::write_spec(run_dir, &spec)
}

/// The disks and unix devices a running container has now (from spec.json, which the
/// hot-plug calls keep up to date); none when stopped.
pub fn live_devices(
    run_dir: &Path,
) -> Result<(Vec<crate::spec::DiskMount>, Vec<crate::spec::UnixDevice>)> {
    match running(run_dir) {
        Ok((spec, _, _)) => Ok((spec.disks, spec.unix_devices)),
        Err(Error::NotRunning) => Ok((vec![], vec![])),
        Err(e) => Err(e),
    }
}

/// The NICs of a running container (from spec.json); none when stopped.
pub fn nics(run_dir: &Path) -> Result<Vec<crate::spec::NicSpec>> {
    match running(run_dir) {
        Ok((spec, _, _)) => Ok(spec.nics),
        Err(Error::NotRunning) => Ok(vec![]),
        Err(e) => Err(e),
    }
}

/// Removes a NIC (by its name inside) from the running container and from spec.json.
pub fn hot_remove_nic(run_dir: &Path, name: &str) -> Result<()> {
    let (mut spec, _, _) = running(run_dir)?;
    if let Some(n) = spec.nics.iter().find(|n| n.name == name) {
        let owner = crate::net::owner_alias(&spec.host_prefix, &spec.name);
        crate::net::remove_host_side(&n.host_name, &owner)?;
    }
    spec.nics.retain(|n| n.name != name);
    state::write_spec(run_dir, &spec)
}

/// Unmount a disk from the running container (lazy detach) and drop it from spec.json.
/// Forks the caller; a threaded caller goes through the helper (hotplug.rs).
pub fn hot_remove_disk(run_dir: &Path, path: &Path) -> Result<()> {
    if let Some(r) = crate::hotplug::delegate(|| {
        crate::hotplug::HotPlug::RemoveDisk(run_dir.into(), path.into())
    }) {
        return r;
    }
    let (mut spec, rec, _) = running(run_dir)?;
    let userns = !spec.privileged;
    let flags = if userns {
        CF::CLONE_NEWUSER | CF::CLONE_NEWNS
    } else {
        CF::CLONE_NEWNS
    };
    in_container(&rec, flags, || {
        nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH)
            .map_err(|e| sys_err(format!("umount {}", path.display()), e))
    })?;
    spec.disks.retain(|d| d.path != path);
    state::write_spec(run_dir, &spec)
}

/// Make a unix-char/unix-block device appear in the running container: a host node
/// (owned by the mapped ids) bind-mounted at its path, and allowed in the device cgroup.
/// Also recorded in spec.json. Forks the caller; a threaded caller goes through the helper (hotplug.rs).
pub fn hot_add_unix(run_dir: &Path, dev: &crate::spec::UnixDevice) -> Result<()> {
    if let Some(r) =
        crate::hotplug::delegate(|| crate::hotplug::HotPlug::AddUnix(run_dir.into(), dev.clone()))
    {
        return r;
    }
    let (mut spec, rec, cg) = running(run_dir)?;
    if !dev.path.is_absolute() {
        return Err(Error::Invalid("device path must be absolute".into()));
    }
    let dir = state::devices_dir(run_dir)?;
    let node = dir.join(format!("hot-{}-{}", std::process::id(), now_unix()));
    let _ = fs::remove_file(&node);
    crate::monitor::make_device_node(&spec, dev, &node)?;
    let res = (|| {
        if cg.layout.kind == crate::cgroup::Kind::V2 {
            // A new program with the whole list replaces the old one.
            let mut all = spec.unix_devices.clone();
            all.retain(|d| d.path != dev.path);
            all.push(dev.clone());
            cg.apply_devices(&all)?;
        } else {
            // Only this device's rule: rewriting the list would deny everything for a moment.
            if let Some(d) = cg.dir("devices") {
                let rule = crate::cgroup::device_rules(std::slice::from_ref(dev))
                    .pop()
                    .expect("one rule per device");
                fs::write(d.join("devices.allow"), rule)
                    .map_err(|e| Error::io(d.join("devices.allow"), e))?;
            }
        }
        let tree = crate::monitor::prepare_tree(&node, None, false, false)?;
        let userns = !spec.privileged;
        let flags = if userns {
            CF::CLONE_NEWUSER | CF::CLONE_NEWNS
        } else {
            CF::CLONE_NEWNS
        };
        in_container(&rec, flags, || {
            if userns {
                nix::unistd::setresgid(0.into(), 0.into(), 0.into())
                    .map_err(|e| sys_err("setresgid", e))?;
                nix::unistd::setresuid(0.into(), 0.into(), 0.into())
                    .map_err(|e| sys_err("setresuid", e))?;
            }
            crate::rootfs::make_mountpoint_kind(false, &dev.path)?;
            crate::kernel::move_mount(tree.as_fd(), &dev.path)
        })
    })();
    // The mount holds the node; the name is not needed any more.
    let _ = fs::remove_file(&node);
    res?;
    spec.unix_devices.retain(|d| d.path != dev.path);
    spec.unix_devices.push(dev.clone());
    state::write_spec(run_dir, &spec)
}

/// Remove a unix device from the running container: unmount it, deny it in the device
/// cgroup, drop it from spec.json. Forks the caller; a threaded caller goes through the helper (hotplug.rs).
pub fn hot_remove_unix(run_dir: &Path, path: &Path) -> Result<()> {
    if let Some(r) = crate::hotplug::delegate(|| {
        crate::hotplug::HotPlug::RemoveUnix(run_dir.into(), path.into())
    }) {
        return r;
    }
    let (mut spec, _, cg) = running(run_dir)?;
    let gone: Vec<_> = spec
        .unix_devices
        .iter()
        .filter(|d| d.path == path)
        .cloned()
        .collect();
    hot_remove_disk(run_dir, path)?;
    if cg.layout.kind == crate::cgroup::Kind::V2 {
        let rest: Vec<_> = spec
            .unix_devices
            .iter()
            .filter(|d| d.path != path)
            .cloned()
            .collect();
        cg.apply_devices(&rest)?;
    } else {
        if let Some(d) = cg.dir("devices") {
            for dev in &gone {
                let rule = crate::cgroup::device_rules(std::slice::from_ref(dev))
                    .pop()
                    .expect("one rule per device");
                fs::write(d.join("devices.deny"), rule)
                    .map_err(|e| Error::io(d.join("devices.deny"), e))?;
            }
        }
    }
    spec = state::read_spec(run_dir)?;
    spec.unix_devices.retain(|d| d.path != path);
    state::write_spec(run_dir, &spec)
}

/// Usage figures of a running container.
pub fn info(run_dir: &Path) -> Result<RuntimeInfo> {
    let (_, rec, cg) = running(run_dir)?;
    Ok(usage(&cg, &rec))
}

/// One read of each cgroup file the figures need, and of init's /proc/PID/net/dev.
fn usage(cg: &Cgroups, rec: &RunRecord) -> RuntimeInfo {
    let v2 = cg.layout.kind == crate::cgroup::Kind::V2;
    let (mem, peak, cpu) = if v2 {
        let cpu = read_small(cg.dir("cpu").unwrap_or_default().join("cpu.stat"))
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| {
                    l.strip_prefix("usage_usec ")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                })
            })
            .unwrap_or(0)
            * 1000;
        (
            cg.read_u64("memory", "memory.current"),
            cg.read_u64("memory", "memory.peak"),
            cpu,
        )
    } else {
        (
            cg.read_u64("memory", "memory.usage_in_bytes"),
            cg.read_u64("memory", "memory.max_usage_in_bytes"),
            cg.read_u64("cpuacct", "cpuacct.usage").unwrap_or(0),
        )
    };
    RuntimeInfo {
        init_pid: rec.init_pid,
        monitor_pid: rec.monitor_pid,
        processes: cg.read_u64("pids", "pids.current").unwrap_or(0),
        memory_usage: mem.unwrap_or(0),
        memory_peak: peak.unwrap_or(0),
        cpu_usage_ns: cpu,
        network: parse_net_dev(
            &read_small(format!("/proc/{}/net/dev", rec.init_pid)).unwrap_or_default(),
        ),
        lxcfs: false,
    }
}

pub(crate) fn parse_net_dev(s: &str) -> Vec<NetCounters> {
    s.lines()
        .skip(2)
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let v: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            (v.len() >= 10).then(|| NetCounters {
                name: name.trim().to_string(),
                rx_bytes: v[0],
                rx_packets: v[1],
                tx_bytes: v[8],
                tx_packets: v[9],
            })
        })
        .collect()
}

/// Names of the containers that have a cgroup under `host_prefix` in any hierarchy
/// (consistency checks compare them with the running instances).
pub fn cgroup_names(host_prefix: &str) -> Result<Vec<String>> {
    let layout = Layout::detect()?;
    let mut names = std::collections::BTreeSet::new();
    for h in &layout.hier {
        let Ok(entries) = fs::read_dir(h.mount.join(host_prefix)) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                names.insert(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    Ok(names.into_iter().collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn net_dev() {
        let s = "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0\n";
        let v = super::parse_net_dev(s);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].name, "lo");
        assert_eq!((v[0].rx_bytes, v[0].tx_packets), (120, 2));
    }
}
