//! exec without the monitor: fork, join the container's cgroups (as host root), setns through
//! init's pidfd (user first, the kernel orders the rest), become root inside, open a pty from
//! the container's own /dev/ptmx, fork into the pid namespace, confine (caps + seccomp), exec.
//!
//! Process tree: caller -> helper (joined namespaces, relays the pty) -> command.
//! The caller itself is never moved into the container.

use crate::cgroup::{container_rel, Cgroups, Layout};
use crate::kernel::{borrow, isatty, sys_err};
use crate::spec::ExecSpec;
use crate::state::{self, init_pidfd};
use crate::{Error, Result};
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sched::CloneFlags as CF;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, Termios};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{dup2, fork, pipe2, setresgid, setresuid, ForkResult, Gid, Pid, Uid};
use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Window size of a terminal fd.
pub fn winsize_of(fd: RawFd) -> Option<(u16, u16)> {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: ioctl with a valid out pointer.
    if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 && ws.ws_row > 0 {
        Some((ws.ws_row, ws.ws_col))
    } else {
        None
    }
}

/// Sets a terminal's window size (a pty master: the command gets SIGWINCH).
pub(crate) fn set_winsize(fd: BorrowedFd, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: ioctl with a valid winsize.
    unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
}

/// Put a tty in raw mode; returns the previous settings.
pub fn raw_mode(fd: RawFd) -> Result<Termios> {
    let t = termios::tcgetattr(borrow(fd)).map_err(|e| sys_err("tcgetattr", e))?;
    let mut r = t.clone();
    termios::cfmakeraw(&mut r);
    termios::tcsetattr(borrow(fd), termios::SetArg::TCSANOW, &r)
        .map_err(|e| sys_err("tcsetattr", e))?;
    Ok(t)
}

fn env_for(spec_env: &[(String, String)], es: &ExecSpec) -> Vec<(String, String)> {
    let home = if es.uid == 0 { "/root" } else { "/" };
    let mut env: Vec<(String, String)> = vec![
        (
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        ),
        ("HOME".into(), home.into()),
        ("LANG".into(), "C.UTF-8".into()),
        ("container".into(), "lxc".into()),
    ];
    if es.tty {
        env.push((
            "TERM".into(),
            std::env::var("TERM").unwrap_or_else(|_| "xterm".into()),
        ));
    }
    for (k, v) in spec_env.iter().chain(&es.env) {
        env.retain(|(x, _)| x != k);
        env.push((k.clone(), v.clone()));
    }
    env
}

/// Resolve argv[0] in the container's PATH (we are already inside its mount namespace).
fn resolve(cmd: &str, path: &str) -> Option<PathBuf> {
    if cmd.contains('/') {
        return Some(PathBuf::from(cmd));
    }
    path.split(':')
        .map(|d| Path::new(d).join(cmd))
        .find(|p| nix::unistd::access(p, nix::unistd::AccessFlags::X_OK).is_ok())
}

/// Run a command in a running container and return its exit code (128+N when killed by signal N).
/// Errors before the command runs (not running, setns, command not found) are `Err`.
/// Forks the caller: see the crate docs about threads.
pub fn exec(run_dir: &Path, es: &ExecSpec) -> Result<i32> {
    if crate::qemu::is_vm(run_dir) {
        return crate::qemu::exec(run_dir, es);
    }
    if es.argv.is_empty() {
        return Err(Error::Invalid("exec: empty command".into()));
    }
    let spec = state::read_spec(run_dir)?;
    let st = state::read_state(run_dir)?;
    let rec = st.running.ok_or(Error::NotRunning)?;
    let init = init_pidfd(&rec).ok_or(Error::NotRunning)?;
    let cg = Cgroups::new(
        Layout::detect()?,
        container_rel(&spec.host_prefix, &spec.name),
    );
    let userns = !spec.privileged;
    let mut nsflags = CF::CLONE_NEWNS
        | CF::CLONE_NEWPID
        | CF::CLONE_NEWUTS
        | CF::CLONE_NEWIPC
        | CF::CLONE_NEWNET
        | CF::CLONE_NEWCGROUP;
    if userns {
        nsflags |= CF::CLONE_NEWUSER;
    }
    let env: Vec<CString> = env_for(&spec.env, es)
        .into_iter()
        .filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok())
        .collect();
    let path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string();
    let window = es.window.or_else(|| {
        if es.tty {
            winsize_of(es.stdin.unwrap_or(0))
        } else {
            None
        }
    });
    let (err_r, err_w) = pipe2(OFlag::O_CLOEXEC).map_err(|e| sys_err("pipe", e))?;
    let saved = if es.tty && isatty(es.stdin.unwrap_or(0)) {
        Some(raw_mode(es.stdin.unwrap_or(0))?)
    } else {
        None
    };
    // Signals for the command are blocked here and read from a signalfd while the helper
    // runs, then passed on to it (it passes them on to the command).
    let forwarded = forwarded_signals();
    let old_mask = forwarded
        .thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK)
        .map_err(|e| sys_err("sigprocmask", e))?;
    let restore_mask = |sigs: Option<&SignalFd>| {
        // What is still pending was passed on already or came too late: dropped, so it
        // does not hit this process once unblocked.
        while let Some(Ok(Some(_))) = sigs.map(|s| s.read_signal()) {}
        let _ = old_mask.thread_set_mask();
    };
    let sigs =
        match SignalFd::with_flags(&forwarded, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK) {
            Ok(s) => s,
            Err(e) => {
                restore_mask(None);
                return Err(sys_err("signalfd", e));
            }
        };
    // SAFETY: documented requirement: single-threaded caller.
    let helper = match unsafe { fork() } {
        Err(e) => {
            restore_mask(Some(&sigs));
            return Err(sys_err("fork", e));
        }
        Ok(ForkResult::Child) => {
            drop(err_r);
            let code = match helper_main(
                &cg,
                init.as_fd(),
                nsflags,
                userns,
                es,
                window,
                &env,
                &path_env,
                &spec.syscalls,
                &err_w,
            ) {
                Ok(c) => c,
                Err(e) => {
                    let _ = nix::unistd::write(&err_w, e.to_string().as_bytes());
                    126
                }
            };
            // SAFETY: leave the forked copy without running the caller's atexit handlers
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => child,
    };
    drop(err_w);
    let msg = read_passing_signals(err_r, &sigs, helper);
    let ws = waitpid(helper, None);
    restore_mask(Some(&sigs));
    if let Some(t) = saved {
        let _ = termios::tcsetattr(borrow(es.stdin.unwrap_or(0)), termios::SetArg::TCSANOW, &t);
    }
    if !msg.is_empty() {
        return Err(Error::Exec(msg));
    }
    match ws {
        Ok(WaitStatus::Exited(_, c)) => Ok(c),
        Ok(WaitStatus::Signaled(_, s, _)) => Ok(128 + s as i32),
        Ok(o) => Err(Error::Exec(format!("unexpected wait status {o:?}"))),
        Err(e) => Err(sys_err("waitpid", e)),
    }
}

/// Reads the helper's error pipe to its end (the helper's exit), passing the signals
/// this process gets on to the helper meanwhile.
fn read_passing_signals(err_r: OwnedFd, sigs: &SignalFd, helper: Pid) -> String {
    let mut msg = Vec::new();
    let mut buf = [0u8; 4096];
    pass_signals_until(err_r.as_fd(), sigs, helper, || {
        match nix::unistd::read(err_r.as_raw_fd(), &mut buf) {
            Ok(0) | Err(_) => true,
            Ok(n) => {
                msg.extend_from_slice(&buf[..n]);
                false
            }
        }
    });
    String::from_utf8_lossy(&msg).into_owned()
}

/// Convenience: run a command with stdin from /dev/null and capture its stdout (stderr
/// inherited). Returns (exit code, stdout).
pub fn exec_output(run_dir: &Path, es: &ExecSpec) -> Result<(i32, Vec<u8>)> {
    let (r, w) = pipe2(OFlag::O_CLOEXEC).map_err(|e| sys_err("pipe", e))?;
    let null = std::fs::File::open("/dev/null").map_err(|e| Error::io("/dev/null", e))?;
    let mut es = es.clone();
    es.tty = false;
    es.stdout = Some(w.as_raw_fd());
    if es.stdin.is_none() {
        es.stdin = Some(null.as_raw_fd());
    }
    // read after the command finished: output beyond the pipe buffer (64 KiB) would block it,
    // so callers with big outputs pass their own stdout to `exec`
    let code = exec(run_dir, &es)?;
    drop(w);
    let mut out = vec![];
    std::fs::File::from(r)
        .read_to_end(&mut out)
        .map_err(|e| Error::io("exec stdout", e))?;
    Ok((code, out))
}

#[allow(clippy::too_many_arguments)]
fn helper_main(
    cg: &Cgroups,
    init: BorrowedFd,
    nsflags: CF,
    userns: bool,
    es: &ExecSpec,
    window: Option<(u16, u16)>,
    env: &[CString],
    path_env: &str,
    syscalls: &crate::spec::Syscalls,
    err_w: &OwnedFd,
) -> Result<i32> {
    // join the cgroups while still host root (afterwards the files are out of reach)
    cg.join(nix::unistd::getpid().as_raw(), false)?;
    nix::sched::setns(init, nsflags).map_err(|e| sys_err("setns", e))?;
    if userns {
        setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
            .map_err(|e| sys_err("setresgid", e))?;
        setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
            .map_err(|e| sys_err("setresuid", e))?;
        nix::unistd::setgroups(&[]).map_err(|e| sys_err("setgroups", e))?;
    }
    // pty from the container's devpts, allocated as root of the container so it owns the slave
    let master = if es.tty {
        let m = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
            .map_err(|e| sys_err("open /dev/ptmx in container", e))?;
        nix::pty::grantpt(&m).map_err(|e| sys_err("grantpt", e))?;
        nix::pty::unlockpt(&m).map_err(|e| sys_err("unlockpt", e))?;
        if let Some((r, c)) = window {
            set_winsize(m.as_fd(), r, c);
        }
        Some(m)
    } else {
        None
    };
    let slave_name = match &master {
        // SAFETY: single-threaded, ptsname's static buffer is fine
        Some(m) => Some(unsafe { nix::pty::ptsname(m) }.map_err(|e| sys_err("ptsname", e))?),
        None => None,
    };
    // The forwarded signals (blocked since the caller) and, with a pty, SIGWINCH are read
    // from a signalfd and passed on to the command.
    let mut mask = forwarded_signals();
    if master.is_some() {
        mask.add(Signal::SIGWINCH);
    }
    mask.thread_block().map_err(|e| sys_err("sigprocmask", e))?;
    let sigs = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| sys_err("signalfd", e))?;
    // SAFETY: the helper is single-threaded.
    match unsafe { fork() }.map_err(|e| sys_err("fork", e))? {
        ForkResult::Child => {
            let r = (|| -> Result<()> {
                let _ = mask.thread_unblock();
                nix::unistd::setsid().map_err(|e| sys_err("setsid", e))?;
                if let Some(p) = &slave_name {
                    let s =
                        nix::fcntl::open(p.as_str(), OFlag::O_RDWR, nix::sys::stat::Mode::empty())
                            .map_err(|e| sys_err("open pty slave", e))?;
                    // SAFETY: ioctl on the slave we just opened; exec'd commands get a ctty
                    unsafe { libc::ioctl(s, libc::TIOCSCTTY, 0) };
                    for i in 0..3 {
                        dup2(s, i).map_err(|e| sys_err("dup2", e))?;
                    }
                    if s > 2 {
                        let _ = nix::unistd::close(s);
                    }
                } else {
                    for (i, fd) in [es.stdin, es.stdout, es.stderr].iter().enumerate() {
                        if let Some(fd) = fd {
                            dup2(*fd, i as RawFd).map_err(|e| sys_err("dup2", e))?;
                        }
                    }
                }
                let cwd = es
                    .cwd
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(if es.uid == 0 { "/root" } else { "/" }));
                if nix::unistd::chdir(&cwd).is_err() {
                    nix::unistd::chdir("/").map_err(|e| sys_err("chdir /", e))?;
                }
                crate::kernel::cloexec_from_3();
                crate::confine::confine(syscalls)?;
                if es.uid != 0 || es.gid != 0 {
                    nix::unistd::setgroups(&[]).map_err(|e| sys_err("setgroups", e))?;
                    setresgid(
                        Gid::from_raw(es.gid),
                        Gid::from_raw(es.gid),
                        Gid::from_raw(es.gid),
                    )
                    .map_err(|e| sys_err("setresgid", e))?;
                    setresuid(
                        Uid::from_raw(es.uid),
                        Uid::from_raw(es.uid),
                        Uid::from_raw(es.uid),
                    )
                    .map_err(|e| sys_err("setresuid", e))?;
                }
                // From here on a failure is the command's, not ours: like a shell, say
                // so on the command's stderr and exit 127 (not found) or 126 (cannot run).
                let fail = |code: i32, why: String| -> ! {
                    let _ = nix::unistd::write(
                        unsafe { std::os::fd::BorrowedFd::borrow_raw(2) },
                        format!("{}: {why}\n", es.argv[0]).as_bytes(),
                    );
                    // SAFETY: leave the forked copy immediately
                    unsafe { libc::_exit(code) }
                };
                let Some(prog) = resolve(&es.argv[0], path_env) else {
                    fail(127, "command not found".into())
                };
                let argv: Vec<CString> = es
                    .argv
                    .iter()
                    .filter_map(|a| CString::new(a.as_str()).ok())
                    .collect();
                let p = CString::new(prog.as_os_str().as_bytes())
                    .map_err(|_| Error::Invalid("NUL in command".into()))?;
                let e = nix::unistd::execve(&p, &argv, env).unwrap_err();
                let code = if e == nix::errno::Errno::ENOENT {
                    127
                } else {
                    126
                };
                fail(code, e.desc().to_string())
            })();
            if let Err(e) = r {
                let _ = nix::unistd::write(
                    err_w,
                    e.to_string().replace("exec failed: ", "").as_bytes(),
                );
            }
            // SAFETY: leave the forked copy immediately
            unsafe { libc::_exit(127) }
        }
        ForkResult::Parent { child } => {
            match &master {
                Some(m) => relay(m.as_fd(), child, es, &sigs),
                None => forward_until_exit(child, &sigs),
            }
            Ok(match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, c)) => c,
                Ok(WaitStatus::Signaled(_, s, _)) => 128 + s as i32,
                _ => 255,
            })
        }
    }
}

/// Relay between the caller's stdio and the pty master until the command exits and the master
/// is drained. SIGWINCH copies the caller's window size.
fn relay(m: BorrowedFd, child: Pid, es: &ExecSpec, sigs: &SignalFd) {
    let (inp, out) = (es.stdin.unwrap_or(0), es.stdout.unwrap_or(1));
    let Ok(cfd) = crate::kernel::pidfd_open(child.as_raw()) else {
        return;
    };
    let mut buf = [0u8; 8192];
    let mut stdin_open = true;
    let mut exited = false;
    loop {
        let mut p = vec![PollFd::new(m, PollFlags::POLLIN)];
        p.push(PollFd::new(cfd.as_fd(), PollFlags::POLLIN));
        p.push(PollFd::new(sigs.as_fd(), PollFlags::POLLIN));
        let stdin_idx = p.len();
        if stdin_open {
            p.push(PollFd::new(borrow(inp), PollFlags::POLLIN));
        }
        let timeout = if exited {
            PollTimeout::ZERO
        } else {
            PollTimeout::NONE
        };
        match poll(&mut p, timeout) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
            Ok(_) => {}
        }
        let rev: Vec<PollFlags> = p
            .iter()
            .map(|x| x.revents().unwrap_or(PollFlags::empty()))
            .collect();
        let mut got = false;
        if !rev[0].is_empty() {
            if let Ok(n) = nix::unistd::read(m.as_raw_fd(), &mut buf) {
                if n > 0 {
                    got = true;
                    let _ = write_all(out, &buf[..n]);
                }
            }
        }
        if !rev[2].is_empty() {
            while let Ok(Some(si)) = sigs.read_signal() {
                if si.ssi_signo != Signal::SIGWINCH as u32 {
                    pass_on(child, si.ssi_signo);
                    continue;
                }
                if let Some((r, c)) = winsize_of(inp) {
                    set_winsize(m, r, c);
                }
            }
        }
        if stdin_open && !rev[stdin_idx].is_empty() {
            match nix::unistd::read(inp, &mut buf) {
                Ok(n) if n > 0 => {
                    let _ = write_all(m.as_raw_fd(), &buf[..n]);
                }
                _ => {
                    // The end of input is an EOT on the terminal, as upstream makes
                    // it, so `echo x | exec -t c -- cat` ends.
                    stdin_open = false;
                    let _ = write_all(m.as_raw_fd(), &[4]);
                }
            }
        }
        if !rev[1].is_empty() {
            exited = true;
        }
        if exited && !got {
            return;
        }
    }
}

/// Signals `exec` passes on to the command, as upstream's `incus exec` does: the command
/// runs in its own session, so a terminal's ^C or a `kill` of the tool reaches it only so.
pub(crate) fn forwarded_signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGTERM,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ] {
        set.add(s);
    }
    set
}

fn pass_on(to: Pid, signo: u32) {
    if let Ok(sig) = Signal::try_from(signo as i32) {
        let _ = nix::sys::signal::kill(to, sig);
    }
}

/// Without a pty: passes signals on to the command until it exits.
fn forward_until_exit(child: Pid, sigs: &SignalFd) {
    if let Ok(cfd) = crate::kernel::pidfd_open(child.as_raw()) {
        pass_signals_until(cfd.as_fd(), sigs, child, || true);
    }
}

/// Passes the signals read from `sigs` on to `to` while waiting for `fd`; each time
/// `fd` is readable `ready` runs, and the wait ends when it returns true.
fn pass_signals_until(fd: BorrowedFd, sigs: &SignalFd, to: Pid, mut ready: impl FnMut() -> bool) {
    loop {
        let mut p = [
            PollFd::new(fd, PollFlags::POLLIN),
            PollFd::new(sigs.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut p, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
            Ok(_) => {}
        }
        if p[1].revents().is_some_and(|r| !r.is_empty()) {
            while let Ok(Some(si)) = sigs.read_signal() {
                pass_on(to, si.ssi_signo);
            }
        }
        if p[0].revents().is_some_and(|r| !r.is_empty()) && ready() {
            return;
        }
    }
}

fn write_all(fd: RawFd, mut d: &[u8]) -> nix::Result<()> {
    while !d.is_empty() {
        let n = nix::unistd::write(borrow(fd), d)?;
        d = &d[n..];
    }
    Ok(())
}
