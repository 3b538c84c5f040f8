//! The VM's monitor: `incus-monitor --qemu RUN_DIR STATUS_FD`. Double-forked and setsid
//! like the container monitor; holds the lifetime lock, starts QEMU as its child, joins
//! its taps to their bridges, records the run, waits for QEMU and records its end.

use super::{qemu_args, qemu_bin, qmp, read_spec, record_running, AGENT_SOCK, PAUSED, QMP_SOCK};
use crate::kernel::now_unix;
use crate::spec::{ExitKind, ExitRecord};
use crate::state::{self, State};
use crate::{Error, Result};
use nix::unistd::{fork, setsid, write, ForkResult};
use std::fs;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

macro_rules! log {
    ($($t:tt)*) => { eprintln!("[{}] {}", crate::kernel::now_unix(), format!($($t)*)) };
}

/// `args = [RUN_DIR, STATUS_FD]` (after `--qemu`).
pub fn monitor_main(args: &[String]) -> i32 {
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
    match unsafe { fork() } {
        Ok(ForkResult::Parent { .. }) => unsafe { libc::_exit(0) },
        Ok(ForkResult::Child) => {}
        Err(_) => unsafe { libc::_exit(1) },
    }
    // SAFETY: fd was inherited from start() for us.
    let status = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: fcntl on our own fd.
    unsafe { libc::fcntl(status.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
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

fn log_tail(p: &Path) -> String {
    let s = fs::read_to_string(p).unwrap_or_default();
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join("; ")
}

fn run(run_dir: &Path, status: &mut Option<OwnedFd>) -> Result<()> {
    let spec = read_spec(run_dir)?;
    crate::monitor::redirect_stdio(&spec.log_dir)?;
    let _lock = state::take_lifetime_lock(run_dir)?;
    log!("monitor {} starting VM {}", std::process::id(), spec.name);
    for f in [QMP_SOCK, AGENT_SOCK, PAUSED] {
        let _ = fs::remove_file(run_dir.join(f));
    }
    // QEMU's sockets (QMP, agent) and files: root's alone.
    // SAFETY: umask has no failure mode.
    unsafe { libc::umask(0o077) };
    let qlog_path = spec.log_dir.join("qemu.log");
    let qlog = fs::File::create(&qlog_path).map_err(|e| Error::io(&qlog_path, e))?;
    let qlog2 = qlog.try_clone().map_err(|e| Error::io(&qlog_path, e))?;
    let mut child = Command::new(qemu_bin())
        .args(qemu_args(&spec))
        .stdin(Stdio::null())
        .stdout(qlog)
        .stderr(qlog2)
        .spawn()
        .map_err(|e| Error::Start(format!("{}: {e}", qemu_bin().display())))?;
    let pid = child.id() as i32;
    let ready = (|| -> Result<()> {
        let sock = run_dir.join(QMP_SOCK);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                return Err(Error::Start(format!(
                    "QEMU exited ({st}): {}",
                    log_tail(&qlog_path)
                )));
            }
            if sock.exists()
                && qmp::command_at(&sock, "query-status", Duration::from_secs(5)).is_ok()
            {
                break;
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout("QEMU's QMP socket did not answer".into()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for n in &spec.nics {
            join_bridge(n)?;
        }
        Ok(())
    })();
    if let Err(e) = ready {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    record_running(run_dir, pid)?;
    if let Some(s) = status.take() {
        let _ = write(&s, format!("OK {pid} {}", std::process::id()).as_bytes());
    }
    log!("QEMU {pid} running");
    let last = wait_end(&mut child);
    log!("QEMU ended: {last:?}");
    for f in [QMP_SOCK, AGENT_SOCK, PAUSED] {
        let _ = fs::remove_file(run_dir.join(f));
    }
    state::write_state(
        run_dir,
        &State {
            running: None,
            last: Some(last),
        },
    )
}

fn wait_end(child: &mut Child) -> ExitRecord {
    let kind = match child.wait() {
        Ok(st) => match (st.code(), st.signal()) {
            (Some(0), _) => ExitKind::Halt,
            (Some(code), _) => ExitKind::Exited { code },
            (None, Some(signal)) => ExitKind::Signaled { signal },
            _ => ExitKind::MonitorLost,
        },
        Err(_) => ExitKind::MonitorLost,
    };
    ExitRecord {
        kind,
        at: now_unix(),
        repaired: false,
    }
}

/// The tap QEMU made joins its bridge, with the NIC's MTU, and comes up.
fn join_bridge(n: &super::VmNic) -> Result<()> {
    let mut args = vec!["link", "set", "dev", &n.host_name, "master", &n.bridge];
    let mtu = n.mtu.map(|m| m.to_string());
    if let Some(m) = &mtu {
        args.extend(["mtu", m]);
    }
    args.push("up");
    let out = Command::new("ip")
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Start(format!("ip: {e}")))?;
    if !out.status.success() {
        return Err(Error::Start(format!(
            "joining {} to {}: {}",
            n.host_name,
            n.bridge,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}
