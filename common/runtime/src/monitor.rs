//! The per-container monitor (`incus-monitor RUN_DIR STATUS_FD`): double-forked, setsid, child
//! subreaper, parent of init, holder of the lifetime lock, owner of the console pty. Its stdio
//! is `<log_dir>/monitor.log`; that log is the only place this crate writes text to.

use crate::cgroup::{container_rel, monitor_rel, Cgroups, Layout};
use crate::console::{ConsoleServer, RING};
use crate::kernel::{
    mount_setattr, now_unix, open_ro, open_tree_clone, pidfd_open, recv_fds, send_fds, starttime,
    sys_err, write_file, MOUNT_ATTR_IDMAP, MOUNT_ATTR_RDONLY,
};
use crate::rootfs::{setup, ChildCtx};
use crate::spec::{ContainerSpec, ExitKind, ExitRecord};
use crate::state::{self, RunRecord, State};
use crate::{Error, Result};
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sched::CloneFlags as CF;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{dup2, fork, getpid, pipe2, read, setsid, write, ForkResult, Gid, Pid, Uid};
use std::ffi::CString;
use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

macro_rules! log {
    ($($t:tt)*) => { eprintln!("[{}] {}", crate::kernel::now_unix(), format!($($t)*)) };
}

/// Entry point of the `incus-monitor` binary. `args = [RUN_DIR, STATUS_FD]`. Returns the exit
/// code. The first process returns at once (after forking), so `start` can reap it; the
/// grandchild becomes the monitor.
pub fn monitor_main(args: &[String]) -> i32 {
    if args.first().map(String::as_str) == Some("--hotplug") {
        return crate::hotplug::helper_main(args.get(1));
    }
    if args.first().map(String::as_str) == Some("--qemu") {
        return crate::qemu::monitor_main(&args[1..]);
    }
    let (Some(run_dir), Some(fd)) = (
        args.first(),
        args.get(1).and_then(|s| s.parse::<RawFd>().ok()),
    ) else {
        return 2;
    };
    // SAFETY: the binary is single-threaded here.
    match unsafe { fork() } {
        Ok(ForkResult::Parent { .. }) => return 0,
        Ok(ForkResult::Child) => {}
        Err(_) => return 1,
    }
    let _ = setsid();
    // second fork: the monitor is not a session leader, so it can never acquire a ctty
    match unsafe { fork() } {
        Ok(ForkResult::Parent { .. }) => unsafe { libc::_exit(0) },
        Ok(ForkResult::Child) => {}
        Err(_) => unsafe { libc::_exit(1) },
    }
    // SAFETY: fd was inherited from start() for us.
    let status = unsafe { OwnedFd::from_raw_fd(fd) };
    let _ = fcntl(status.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
    let mut status = Some(status);
    let r = run(Path::new(run_dir), &mut status);
    if let Err(e) = &r {
        log!("monitor: {e}");
        if let Some(s) = &status {
            let _ = write(s, format!("ERR {e}").as_bytes());
        }
    }
    std::process::exit(r.is_err() as i32)
}

struct Monitor {
    spec: ContainerSpec,
    layout: Layout,
    cg: Cgroups,
    pty_master: OwnedFd,
    pty_slave: OwnedFd,
    slave_path: PathBuf,
    device_nodes: Vec<PathBuf>,
}

pub(crate) fn redirect_stdio(log_dir: &Path) -> Result<()> {
    fs::create_dir_all(log_dir).map_err(|e| Error::io(log_dir, e))?;
    let p = log_dir.join("monitor.log");
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
        .map_err(|e| Error::io(&p, e))?;
    let null = fs::File::open("/dev/null").map_err(|e| Error::io("/dev/null", e))?;
    dup2(null.as_raw_fd(), 0).map_err(|e| sys_err("dup2", e))?;
    dup2(log.as_raw_fd(), 1).map_err(|e| sys_err("dup2", e))?;
    dup2(log.as_raw_fd(), 2).map_err(|e| sys_err("dup2", e))?;
    Ok(())
}

/// SIGRTMIN+3 when /sbin/init (resolved inside the rootfs) is systemd, SIGPWR otherwise.
pub(crate) fn detect_stop_signal(spec: &ContainerSpec) -> i32 {
    if let Some(s) = spec.stop_signal {
        return s;
    }
    let mut p = PathBuf::from(
        spec.init
            .first()
            .map(String::as_str)
            .unwrap_or("/sbin/init"),
    );
    for _ in 0..10 {
        let host = crate::rootfs::in_root(&spec.rootfs, &p);
        match fs::read_link(&host) {
            Ok(t) => {
                p = if t.is_absolute() {
                    t
                } else {
                    p.parent().unwrap_or(Path::new("/")).join(t)
                }
            }
            Err(_) => break,
        }
    }
    if p.to_string_lossy().contains("systemd") {
        libc::SIGRTMIN() + 3
    } else {
        libc::SIGPWR
    }
}

fn run(run_dir: &Path, status: &mut Option<OwnedFd>) -> Result<()> {
    let spec = state::read_spec(run_dir)?;
    redirect_stdio(&spec.log_dir)?;
    let _lock = state::take_lifetime_lock(run_dir)?;
    log!("monitor {} starting {}", getpid(), spec.name);
    // SAFETY: prctl with constant arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR2, // guestapi::DATA_CHANGED
    ] {
        mask.add(s);
    }
    mask.thread_block().map_err(|e| sys_err("sigprocmask", e))?;
    // SAFETY: ignoring SIGPIPE so writes to vanished console clients return EPIPE.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| sys_err("signalfd", e))?;

    let layout = Layout::detect()?;
    let cg = Cgroups::new(layout.clone(), container_rel(&spec.host_prefix, &spec.name));
    cg.remove()?; // stale leftovers of a crashed run
    cg.create(false)?;
    cg.apply_limits(&spec.limits)?;
    if !cg.apply_devices(&spec.unix_devices)? {
        log!("warning: no device cgroup confinement (no v1 devices controller)");
    }
    if let Some(m) = spec.idmap.filter(|_| !spec.privileged) {
        cg.delegate(m.host_base, m.host_base)?;
    }
    let pty = nix::pty::openpty(None, None).map_err(|e| sys_err("openpty", e))?;
    for f in [&pty.master, &pty.slave] {
        fcntl(f.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
            .map_err(|e| sys_err("cloexec", e))?;
    }
    let slave_path = fs::read_link(format!("/proc/self/fd/{}", pty.slave.as_raw_fd()))
        .map_err(|e| Error::io("ptsname", e))?;
    if let Some(m) = spec.idmap.filter(|_| !spec.privileged) {
        // tty group (5) inside
        nix::unistd::chown(
            &slave_path,
            Some(Uid::from_raw(m.host_id(0))),
            Some(Gid::from_raw(m.host_id(5))),
        )
        .map_err(|e| sys_err("chown console", e))?;
    }
    let device_nodes = prepare_devices(&spec, run_dir)?;
    let mut mon = Monitor {
        spec,
        layout,
        cg,
        pty_master: pty.master,
        pty_slave: pty.slave,
        slave_path,
        device_nodes,
    };
    let stop_signal = detect_stop_signal(&mon.spec);
    // before init: the socket directory is bind-mounted on /dev/incus by the child
    let mut guest = crate::guestapi::GuestServer::new(&mon.spec);

    let (mut init, mut init_start) = match mon.launch() {
        Ok(x) => x,
        Err(e) => {
            let _ = mon.cg.remove();
            return Err(e);
        }
    };
    guest.set_init(init.as_raw());
    let me = getpid().as_raw();
    let mut rec = RunRecord {
        init_pid: init.as_raw(),
        init_start,
        monitor_pid: me,
        monitor_start: starttime(me).unwrap_or(0),
        stop_signal,
        started_at: now_unix(),
        restarts: 0,
    };
    let prev = state::read_state(run_dir).unwrap_or_default();
    state::write_state(
        run_dir,
        &State {
            running: Some(rec),
            last: prev.last,
        },
    )?;
    let sock = state::path(run_dir, state::CONSOLE_SOCK);
    let _ = fs::remove_file(&sock);
    let mut console = ConsoleServer::new(&sock, &mon.spec.log_dir, RING)?;
    if let Some(s) = status.take() {
        // The caller may have been killed meanwhile (EPIPE): the container runs on,
        // as its recorded state says; a monitor that gave up here would leave init
        // without its monitor.
        if let Err(e) = write(&s, format!("OK {} {}", init.as_raw(), me).as_bytes()) {
            log!("monitor: the caller of start is gone ({e}); the container runs on");
        }
    }
    log!("init {} running", init);
    // off the critical path: moving a task costs an RCU grace period on v1
    let mon_cg = Cgroups::new(
        mon.layout.clone(),
        monitor_rel(&mon.spec.host_prefix, &mon.spec.name),
    );
    if let Err(e) = mon_cg.create(true).and_then(|_| mon_cg.join(me, true)) {
        log!("monitor cgroup: {e}");
    }

    let mut init_fd = pidfd_open(init.as_raw()).map_err(|e| sys_err("pidfd_open init", e))?;
    let end = loop {
        let mut fds = vec![
            PollFd::new(mon.pty_master.as_fd(), PollFlags::POLLIN),
            PollFd::new(console.listener_fd(), PollFlags::POLLIN),
            PollFd::new(init_fd.as_fd(), PollFlags::POLLIN),
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
        ];
        let client_fds = console.client_fds();
        fds.extend(
            client_fds
                .iter()
                .map(|f| PollFd::new(*f, PollFlags::POLLIN)),
        );
        let guest_fds = guest.poll_fds();
        fds.extend(
            guest_fds
                .iter()
                .map(|(f, ev)| PollFd::new(crate::kernel::borrow(*f), *ev)),
        );
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(sys_err("poll", e)),
        }
        let rev: Vec<PollFlags> = fds
            .iter()
            .map(|p| p.revents().unwrap_or(PollFlags::empty()))
            .collect();
        drop(fds);
        if !rev[0].is_empty() {
            console.drain_master(mon.pty_master.as_fd());
        }
        if !rev[1].is_empty() {
            console.accept(mon.pty_master.as_fd());
        }
        let nclients = client_fds.len();
        for (i, r) in rev[4..4 + nclients].iter().enumerate() {
            if !r.is_empty() {
                console.client_input(client_fds[i], mon.pty_master.as_fd());
            }
        }
        for (i, r) in rev[4 + nclients..].iter().enumerate() {
            if !r.is_empty() {
                guest.ready_fd(guest_fds[i].0, *r);
            }
        }
        let mut check_children = !rev[2].is_empty();
        if !rev[3].is_empty() {
            while let Ok(Some(si)) = sfd.read_signal() {
                match si.ssi_signo as i32 {
                    libc::SIGCHLD => check_children = true,
                    libc::SIGTERM | libc::SIGINT | libc::SIGQUIT => {
                        log!("signal {}: asking init to halt", si.ssi_signo);
                        let _ = crate::kernel::pidfd_send_signal(init_fd.as_fd(), stop_signal);
                    }
                    crate::guestapi::DATA_CHANGED => guest.data_changed(),
                    _ => {}
                }
            }
        }
        if !check_children {
            continue;
        }
        // reap everything (we are a subreaper); watch for init
        let mut init_status = None;
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(ws) if ws.pid() == Some(init) => init_status = Some(ws),
                Ok(_) => {}
            }
        }
        let Some(ws) = init_status else { continue };
        let kind = match ws {
            WaitStatus::Exited(_, c) => ExitKind::Exited { code: c },
            WaitStatus::Signaled(_, Signal::SIGINT, _) => ExitKind::Halt,
            WaitStatus::Signaled(_, Signal::SIGHUP, _) => ExitKind::Reboot,
            WaitStatus::Signaled(_, s, _) => ExitKind::Signaled { signal: s as i32 },
            _ => ExitKind::Signaled { signal: 0 },
        };
        log!("init {init} ended: {kind:?}");
        if kind == ExitKind::Reboot {
            // reboot inside: restart in place, same monitor, console, cgroups; NICs as
            // spec.json has them now (hot-plug updates it)
            if let Ok(s) = state::read_spec(run_dir) {
                mon.spec.nics = s.nics;
            }
            match mon.launch() {
                Ok((p, s)) => {
                    init = p;
                    init_start = s;
                    rec.init_pid = p.as_raw();
                    rec.init_start = init_start;
                    rec.restarts += 1;
                    let _ = state::write_state(
                        run_dir,
                        &State {
                            running: Some(rec),
                            last: Some(ExitRecord {
                                kind,
                                at: now_unix(),
                                repaired: false,
                            }),
                        },
                    );
                    init_fd = pidfd_open(p.as_raw()).map_err(|e| sys_err("pidfd_open init", e))?;
                    guest.set_init(p.as_raw());
                    log!("rebooted: init {p}");
                    continue;
                }
                Err(e) => log!("restart after reboot failed: {e}"),
            }
        }
        break kind;
    };
    // final console output, then cleanup
    console.drain_master(mon.pty_master.as_fd());
    let _ = fs::remove_file(&sock);
    guest.shutdown();
    if let Err(e) = mon.cg.remove() {
        log!("cgroup removal: {e}");
    }
    let _ = fs::remove_dir_all(state::path(run_dir, state::DEVICES));
    state::write_state(
        run_dir,
        &State {
            running: None,
            last: Some(ExitRecord {
                kind: end,
                at: now_unix(),
                repaired: false,
            }),
        },
    )?;
    leave_monitor_cgroup(&mon_cg);
    log!("monitor exiting");
    Ok(())
}

/// Move ourselves back to the root cgroups so our own cgroup can be removed.
fn leave_monitor_cgroup(mon_cg: &Cgroups) {
    let root = Cgroups::new(mon_cg.layout.clone(), PathBuf::new());
    let _ = root.join(getpid().as_raw(), true);
    let _ = mon_cg.remove();
}

/// Host device nodes for unix-char/unix-block devices, owned by the mapped ids, bind-mounted
/// by the child (mknod is impossible inside a user namespace).
fn prepare_devices(spec: &ContainerSpec, run_dir: &Path) -> Result<Vec<PathBuf>> {
    let dir = state::path(run_dir, state::DEVICES);
    let _ = fs::remove_dir_all(&dir);
    if spec.unix_devices.is_empty() {
        return Ok(vec![]);
    }
    let dir = state::devices_dir(run_dir)?;
    let mut out = vec![];
    for (i, d) in spec.unix_devices.iter().enumerate() {
        let p = dir.join(format!("dev{i}"));
        make_device_node(spec, d, &p)?;
        out.push(p);
    }
    Ok(out)
}

/// One host device node at `p` with the device's mode and its owner mapped to host ids.
pub(crate) fn make_device_node(
    spec: &ContainerSpec,
    d: &crate::spec::UnixDevice,
    p: &Path,
) -> Result<()> {
    let kind = if d.kind == crate::spec::DeviceKind::Char {
        nix::sys::stat::SFlag::S_IFCHR
    } else {
        nix::sys::stat::SFlag::S_IFBLK
    };
    nix::sys::stat::mknod(
        p,
        kind,
        nix::sys::stat::Mode::from_bits_truncate(d.mode),
        nix::sys::stat::makedev(d.major as u64, d.minor as u64),
    )
    .map_err(|e| sys_err(format!("mknod {}", p.display()), e))?;
    fs::set_permissions(p, fs::Permissions::from_mode(d.mode)).map_err(|e| Error::io(p, e))?;
    let (u, g) = match spec.idmap.filter(|_| !spec.privileged) {
        Some(m) => (m.host_id(d.uid), m.host_id(d.gid)),
        None => (d.uid, d.gid),
    };
    nix::unistd::chown(p, Some(Uid::from_raw(u)), Some(Gid::from_raw(g)))
        .map_err(|e| sys_err("chown device", e))
}

/// A detached mount tree of `source`, idmapped to the user namespace `userns` when given,
/// read-only when asked. Filesystems without idmap support fall back to a plain bind.
pub(crate) fn prepare_tree(
    source: &Path,
    userns: Option<BorrowedFd>,
    readonly: bool,
    must_idmap: bool,
) -> Result<OwnedFd> {
    let tree = open_tree_clone(source)?;
    if let Some(u) = userns {
        if let Err(e) = mount_setattr(tree.as_fd(), MOUNT_ATTR_IDMAP, Some(u)) {
            if must_idmap {
                return Err(sys_err(
                    format!("idmapped mount of {}", source.display()),
                    e,
                ));
            }
            log!(
                "no idmapped mount for {} ({e}): ownership shows as nobody inside",
                source.display()
            );
        }
    }
    if readonly {
        mount_setattr(tree.as_fd(), MOUNT_ATTR_RDONLY, None)
            .map_err(|e| sys_err("read-only mount", e))?;
    }
    Ok(tree)
}

const ENV_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl Monitor {
    /// Clone init into new namespaces, place it in the cgroups, write its id maps, hand it the
    /// rootfs and disk trees, release it and wait for its exec (CLOEXEC error pipe: EOF = exec'd).
    fn launch(&mut self) -> Result<(Pid, u64)> {
        let spec = self.spec.clone();
        let userns = !spec.privileged;
        let idmap = match (userns, spec.idmap) {
            (true, Some(m)) => Some(m),
            (true, None) => {
                return Err(Error::Invalid(
                    "unprivileged container needs an idmap".into(),
                ))
            }
            _ => None,
        };
        let (go_r, go_w) = pipe2(OFlag::O_CLOEXEC).map_err(|e| sys_err("pipe", e))?;
        let (err_r, err_w) = pipe2(OFlag::O_CLOEXEC).map_err(|e| sys_err("pipe", e))?;
        let (sp, sc) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| sys_err("socketpair", e))?;
        let mut flags = CF::CLONE_NEWNS
            | CF::CLONE_NEWPID
            | CF::CLONE_NEWUTS
            | CF::CLONE_NEWIPC
            | CF::CLONE_NEWNET;
        if userns {
            flags |= CF::CLONE_NEWUSER;
        }
        let argv: Vec<CString> = spec
            .init
            .iter()
            .map(|s| CString::new(s.as_str()).unwrap_or_default())
            .collect();
        let mut env: Vec<CString> = vec![
            CString::new(ENV_PATH).unwrap_or_default(),
            c"container=lxc".into(),
            c"TERM=linux".into(),
        ];
        env.extend(
            spec.env
                .iter()
                .filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok()),
        );
        let ctx_base = (self.layout.clone(), self.slave_path.clone());
        let ntrees = 1 + spec.disks.len() + self.device_nodes.len();
        let slave = self.pty_slave.as_raw_fd();
        let mut stack = vec![0u8; 256 * 1024];
        let cb = Box::new(|| -> isize {
            let r = (|| -> Result<()> {
                let mut b = [0u8; 1];
                read(go_r.as_raw_fd(), &mut b).map_err(|e| sys_err("wait for monitor", e))?;
                if b[0] != b'g' {
                    return Err(Error::Start("monitor aborted".into()));
                }
                if userns {
                    nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
                        .map_err(|e| sys_err("setresgid", e))?;
                    nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
                        .map_err(|e| sys_err("setresuid", e))?;
                    nix::unistd::setgroups(&[]).map_err(|e| sys_err("setgroups", e))?;
                }
                nix::sched::unshare(CF::CLONE_NEWCGROUP)
                    .map_err(|e| sys_err("unshare cgroupns", e))?;
                // the monitor made the NICs before releasing us: up with loopback
                crate::net::link_up("lo")?;
                for n in &spec.nics {
                    crate::net::link_up(&n.name)?;
                }
                let trees = recv_fds(sc.as_fd(), ntrees)?;
                let ctx = ChildCtx {
                    spec: &spec,
                    layout: &ctx_base.0,
                    console_slave: ctx_base.1.clone(),
                    trees,
                };
                setup(&ctx)?;
                drop(ctx);
                nix::unistd::setsid().map_err(|e| sys_err("setsid", e))?;
                // no TIOCSCTTY: init's children (getty/sh) must be able to take the console as ctty
                for i in 0..3 {
                    dup2(slave, i).map_err(|e| sys_err("dup2 console", e))?;
                }
                crate::kernel::cloexec_from_3();
                crate::confine::confine(&spec.syscalls)?;
                let e = nix::unistd::execve(&argv[0], &argv, &env).unwrap_err();
                Err(sys_err(format!("exec {}", spec.init.join(" ")), e))
            })();
            if let Err(e) = r {
                let _ = write(&err_w, e.to_string().as_bytes());
            }
            1
        });
        // The child starts in the rootfs directory (its working directory follows into the
        // new mount namespace) and mounts the rootfs tree there without a path lookup: the
        // directories above stay closed to the container's ids (instance volumes are 0100).
        nix::unistd::chdir(&spec.rootfs).map_err(|e| sys_err("chdir rootfs", e))?;
        // SAFETY: the monitor is single-threaded; the child only uses memory it owns.
        let pid = unsafe { nix::sched::clone(cb, &mut stack, flags, Some(libc::SIGCHLD)) };
        let _ = nix::unistd::chdir("/");
        let pid = pid.map_err(|e| sys_err("clone", e))?;
        let abort = |e: Error| -> Error {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
            e
        };
        let start = starttime(pid.as_raw()).unwrap_or(0);
        let r = (|| -> Result<()> {
            self.cg.join(pid.as_raw(), false)?;
            let mut trees = vec![];
            if let Some(m) = idmap {
                write_file(
                    Path::new(&format!("/proc/{pid}/uid_map")),
                    &spec.map_lines(&m, false),
                )?;
                write_file(
                    Path::new(&format!("/proc/{pid}/gid_map")),
                    &spec.map_lines(&m, true),
                )?;
                // idmapped mounts need CAP_SYS_ADMIN in the initial userns: done here, not in the child
                let uns = open_ro(&format!("/proc/{pid}/ns/user"))
                    .map_err(|e| sys_err("open userns", e))?;
                trees.push(prepare_tree(&spec.rootfs, Some(uns.as_fd()), false, true)?);
                for d in &spec.disks {
                    // idmapped only with shift=true (custom volumes: always), as upstream
                    let u = d.shift.then(|| uns.as_fd());
                    trees.push(prepare_tree(&d.source, u, d.readonly, false)?);
                }
            } else {
                trees.push(prepare_tree(&spec.rootfs, None, false, true)?);
                for d in &spec.disks {
                    trees.push(prepare_tree(&d.source, None, d.readonly, false)?);
                }
            }
            // device nodes as trees too: the child never looks up a host path
            for n in &self.device_nodes {
                trees.push(prepare_tree(n, None, false, false)?);
            }
            for n in &spec.nics {
                crate::net::attach(
                    pid.as_raw(),
                    n,
                    &crate::net::owner_alias(&spec.host_prefix, &spec.name),
                )?;
            }
            let raw: Vec<RawFd> = trees.iter().map(|t| t.as_raw_fd()).collect();
            send_fds(sp.as_fd(), &raw)?;
            write(&go_w, b"g").map_err(|e| sys_err("release init", e))?;
            Ok(())
        })();
        drop(go_w);
        drop(err_w);
        drop(sc);
        if let Err(e) = r {
            return Err(abort(e));
        }
        let mut msg = String::new();
        let _ = fs::File::from(err_r).read_to_string(&mut msg);
        if !msg.is_empty() {
            return Err(abort(Error::Start(msg)));
        }
        Ok((pid, start))
    }
}
