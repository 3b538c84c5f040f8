//! Per-object `flock` files. Locks are taken in the order global -> pool -> network ->
//! instance -> snapshot, before any write transaction; a wait that times out is
//! `Busy`, never a hang. The kernel drops a flock when its holder dies, so a killed
//! tool never leaves a lock behind.

use incus_api::{Error, Result};
use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A held lock; released on drop (or by the kernel when the process dies).
#[derive(Debug)]
pub struct Lock {
    _file: File,
    path: PathBuf,
}

impl Lock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open_lock_file(path: &Path) -> Result<File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::internal(format!("Create {}: {e}", parent.display())))?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::internal(format!("Open lock {}: {e}", path.display())))
}

fn flock(file: &File, op: libc::c_int) -> std::io::Result<()> {
    // SAFETY: flock on a valid open descriptor has no memory effects.
    let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Takes the lock without waiting; `None` when someone else holds it.
pub fn try_lock(path: &Path) -> Result<Option<Lock>> {
    try_lock_mode(path, libc::LOCK_EX)
}

fn try_lock_mode(path: &Path, mode: libc::c_int) -> Result<Option<Lock>> {
    let file = open_lock_file(path)?;
    match flock(&file, mode | libc::LOCK_NB) {
        Ok(()) => Ok(Some(Lock {
            _file: file,
            path: path.to_path_buf(),
        })),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(None),
        Err(e) => Err(Error::internal(format!("flock {}: {e}", path.display()))),
    }
}

/// Whether somebody holds the lock right now (used as a liveness signal).
pub fn is_held(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    match flock(&file, libc::LOCK_SH | libc::LOCK_NB) {
        Ok(()) => false,
        Err(e) => e.raw_os_error() == Some(libc::EWOULDBLOCK),
    }
}

/// Takes the lock exclusively, waiting up to `timeout`; `Busy` names `what` when it
/// cannot.
pub fn lock(path: &Path, timeout: Duration, what: &str) -> Result<Lock> {
    lock_mode(path, libc::LOCK_EX, timeout, what)
}

/// Takes the lock shared: many users of an object at once (instances being created
/// on a pool), none while someone holds it exclusively (the pool being deleted).
pub fn lock_shared(path: &Path, timeout: Duration, what: &str) -> Result<Lock> {
    lock_mode(path, libc::LOCK_SH, timeout, what)
}

fn lock_mode(path: &Path, mode: libc::c_int, timeout: Duration, what: &str) -> Result<Lock> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(500);
    loop {
        if let Some(l) = try_lock_mode(path, mode)? {
            return Ok(l);
        }
        if Instant::now() >= deadline {
            return Err(Error::busy(format!(
                "{what} is busy: another operation holds its lock ({}); try again",
                path.display()
            )));
        }
        // Back off up to 20 ms: contention here is short operations of other tools.
        std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_taker_waits_then_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.lock");
        let held = lock(&p, Duration::from_secs(1), "x").unwrap();
        assert!(is_held(&p));
        assert!(try_lock(&p).unwrap().is_none());
        let err = lock(&p, Duration::from_millis(30), "Instance \"c1\"").unwrap_err();
        assert_eq!(err.kind, incus_api::ErrorKind::Busy);
        assert!(err.message.contains("c1"));
        drop(held);
        assert!(!is_held(&p));
        assert!(try_lock(&p).unwrap().is_some());
    }

    #[test]
    fn shared_holders_coexist_and_exclude_an_exclusive_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pool.lock");
        let a = lock_shared(&p, Duration::from_secs(1), "pool").unwrap();
        let b = lock_shared(&p, Duration::from_secs(1), "pool").unwrap();
        let err = lock(&p, Duration::from_millis(20), "pool").unwrap_err();
        assert_eq!(err.kind, incus_api::ErrorKind::Busy);
        drop(a);
        drop(b);
        let ex = lock(&p, Duration::from_secs(1), "pool").unwrap();
        assert!(lock_shared(&p, Duration::from_millis(20), "pool").is_err());
        drop(ex);
    }
}
