//! The run directory: spec.json, state.json (atomic), the monitor's lifetime lock.

use crate::kernel::{pidfd_checked, write_atomic};
use crate::spec::{ContainerSpec, ExitRecord};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

pub(crate) const SPEC: &str = "spec.json";
pub(crate) const STATE: &str = "state.json";
pub(crate) const LOCK: &str = "lifetime.lock";
pub(crate) const CONSOLE_SOCK: &str = "console.sock";
pub(crate) const DEVICES: &str = "devices";

/// A live run, written by the monitor once init has exec'd.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct RunRecord {
    pub init_pid: i32,
    pub init_start: u64,
    pub monitor_pid: i32,
    pub monitor_start: u64,
    pub stop_signal: i32,
    pub started_at: u64,
    #[serde(default)]
    pub restarts: u32,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct State {
    pub running: Option<RunRecord>,
    pub last: Option<ExitRecord>,
}

pub(crate) fn path(run_dir: &Path, f: &str) -> PathBuf {
    run_dir.join(f)
}

/// The directory of the host device nodes made for unix-char/unix-block devices, created
/// root-only (0700): a node carries the mode the device asks for (0666 is common), so a
/// host user who could reach it would open the host device itself. The container gets
/// the nodes as mount trees, never by path.
pub(crate) fn devices_dir(run_dir: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let dir = path(run_dir, DEVICES);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .and_then(|_| fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)))
        .map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}

pub(crate) fn read_spec(run_dir: &Path) -> Result<ContainerSpec> {
    let p = path(run_dir, SPEC);
    let s = incus_sys::fsutil::read_small_bytes(&p).map_err(|e| Error::io(&p, e))?;
    serde_json::from_slice(&s).map_err(|e| Error::State {
        path: p,
        msg: e.to_string(),
    })
}

pub(crate) fn write_spec(run_dir: &Path, spec: &ContainerSpec) -> Result<()> {
    let data = serde_json::to_vec_pretty(spec).map_err(|e| Error::Invalid(e.to_string()))?;
    write_atomic(&path(run_dir, SPEC), &data)
}

pub(crate) fn read_state(run_dir: &Path) -> Result<State> {
    let p = path(run_dir, STATE);
    match incus_sys::fsutil::read_small_bytes(&p) {
        Ok(s) => serde_json::from_slice(&s).map_err(|e| Error::State {
            path: p,
            msg: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(Error::io(&p, e)),
    }
}

pub(crate) fn write_state(run_dir: &Path, st: &State) -> Result<()> {
    let data = serde_json::to_vec_pretty(st).map_err(|e| Error::Invalid(e.to_string()))?;
    write_atomic(&path(run_dir, STATE), &data)
}

fn flock(fd: &OwnedFd, op: i32) -> std::result::Result<(), nix::errno::Errno> {
    // SAFETY: flock on a valid fd.
    if unsafe { libc::flock(fd.as_raw_fd(), op) } == 0 {
        Ok(())
    } else {
        Err(nix::errno::Errno::last())
    }
}

/// Take the lifetime lock for the monitor's whole life. Probers ([`monitor_alive`]) hold a shared
/// lock for microseconds, so EWOULDBLOCK is retried briefly before concluding another monitor
/// runs.
pub(crate) fn take_lifetime_lock(run_dir: &Path) -> Result<OwnedFd> {
    let p = path(run_dir, LOCK);
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| Error::io(&p, e))?;
    let fd: OwnedFd = f.into();
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(200);
    loop {
        match flock(&fd, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(()) => return Ok(fd),
            Err(nix::errno::Errno::EWOULDBLOCK) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(1))
            }
            Err(nix::errno::Errno::EWOULDBLOCK) => return Err(Error::AlreadyRunning),
            Err(e) => return Err(crate::kernel::sys_err("flock lifetime lock", e)),
        }
    }
}

/// Is a monitor holding the lifetime lock of `run_dir`?
pub(crate) fn monitor_alive(run_dir: &Path) -> bool {
    let Ok(f) = fs::File::open(path(run_dir, LOCK)) else {
        return false;
    };
    let fd: OwnedFd = f.into();
    match flock(&fd, libc::LOCK_SH | libc::LOCK_NB) {
        Ok(()) => false, // released when fd drops
        Err(_) => true,
    }
}

/// Liveness of the recorded init: a pidfd if it is still the same process.
pub(crate) fn init_pidfd(r: &RunRecord) -> Option<OwnedFd> {
    pidfd_checked(r.init_pid, r.init_start)
}

pub(crate) fn monitor_pidfd(r: &RunRecord) -> Option<OwnedFd> {
    pidfd_checked(r.monitor_pid, r.monitor_start)
}
