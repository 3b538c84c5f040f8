//! The runtime's own kernel interfaces (not `common/sys`): thin wrappers over syscalls
//! that nix 0.29 does not cover (pidfd, new mount API) and small file helpers.

use crate::{Error, Result};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::ffi::CString;
use std::fs;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant};

/// [`incus_sys::ffi::c_path`] with the runtime's error.
pub(crate) fn c_path(p: &Path) -> Result<CString> {
    incus_sys::ffi::c_path(p).map_err(|_| Error::Invalid(format!("NUL in path {}", p.display())))
}

pub(crate) fn sys_err(what: impl Into<String>, e: Errno) -> Error {
    Error::Sys {
        what: what.into(),
        errno: e,
    }
}

/// `pidfd_open(pid)`; ESRCH when the process is gone.
pub(crate) fn pidfd_open(pid: i32) -> std::result::Result<OwnedFd, Errno> {
    // SAFETY: plain syscall, returns a new fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(Errno::last());
    }
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `pidfd_send_signal`: signals the process the fd refers to, never a recycled pid.
pub(crate) fn pidfd_send_signal(fd: BorrowedFd, sig: i32) -> std::result::Result<(), Errno> {
    // SAFETY: plain syscall with a valid fd.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            sig,
            0usize,
            0u32,
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// Poll one fd for readability; returns true if readable before `timeout`.
pub(crate) fn wait_readable(fd: BorrowedFd, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = left.as_millis().min(i32::MAX as u128) as i32;
        let mut p = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(
            &mut p,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(n) if n > 0 => return true,
            Ok(_) => return false,
            Err(Errno::EINTR) => continue,
            Err(_) => return false,
        }
    }
}

/// Start time (clock ticks since boot, field 22 of /proc/PID/stat): with the pid it identifies
/// a process across pid reuse.
pub(crate) fn starttime(pid: i32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may contain spaces and parens: fields start after the last ')'
    let rest = &s[s.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}

/// A pidfd for `pid` only if it is still the process that had `start` as start time.
pub(crate) fn pidfd_checked(pid: i32, start: u64) -> Option<OwnedFd> {
    let fd = pidfd_open(pid).ok()?;
    // checked after opening the fd, so a later reuse of the pid cannot fool us
    if starttime(pid) == Some(start) && !is_zombie(pid) {
        Some(fd)
    } else {
        None
    }
}

fn is_zombie(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| s[i + 2..].starts_with('Z')))
        .unwrap_or(true)
}

/// Writes a file of the run directory atomically, through the project's one helper
/// ([`incus_sys::fsutil::atomic_write`]: no temporary file left on failure).
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    // Root only: spec.json holds the instance's environment (which may carry secrets).
    incus_sys::fsutil::atomic_write(path, data, 0o600)
        .map_err(|e| Error::io(path, std::io::Error::other(e.message)))
}

/// Write a value into a (cgroup or proc) file.
pub(crate) fn write_file(path: &Path, v: &str) -> Result<()> {
    fs::write(path, v).map_err(|e| Error::io(path, e))
}

pub(crate) const OPEN_TREE_CLONE: u32 = 1;
const AT_RECURSIVE: u32 = 0x8000;
const AT_EMPTY_PATH: u32 = 0x1000;
const MOVE_MOUNT_F_EMPTY_PATH: u32 = 4;
pub(crate) const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub(crate) const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// `open_tree(OPEN_TREE_CLONE|AT_RECURSIVE)`: a detached copy of the mount tree at `path`.
pub(crate) fn open_tree_clone(path: &Path) -> Result<OwnedFd> {
    let c = c_path(path)?;
    // SAFETY: syscall with a valid C string; returns a new fd.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            c.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as u32 | AT_RECURSIVE,
        )
    };
    if fd < 0 {
        return Err(sys_err(
            format!("open_tree {}", path.display()),
            Errno::last(),
        ));
    }
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `mount_setattr` on a detached tree: set `attr` (IDMAP needs `userns`).
pub(crate) fn mount_setattr(
    tree: BorrowedFd,
    attr: u64,
    userns: Option<BorrowedFd>,
) -> std::result::Result<(), Errno> {
    // struct mount_attr { attr_set, attr_clr, propagation, userns_fd }
    let a: [u64; 4] = [
        attr,
        0,
        0,
        userns.map(|u| u.as_raw_fd() as u64).unwrap_or(0),
    ];
    // SAFETY: syscall with a valid pointer to a 32-byte struct.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            AT_EMPTY_PATH | AT_RECURSIVE,
            a.as_ptr(),
            32usize,
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    Ok(())
}

/// `move_mount` a detached tree onto `target` (resolved in the caller's mount namespace).
pub(crate) fn move_mount(tree: BorrowedFd, target: &Path) -> Result<()> {
    let c = c_path(target)?;
    // SAFETY: syscall with a valid fd and C string.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            c.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(sys_err(
            format!("move_mount onto {}", target.display()),
            Errno::last(),
        ));
    }
    Ok(())
}

/// `move_mount` a detached tree onto the file or directory `target` refers to (an
/// `O_PATH` descriptor, or `AT_FDCWD` for the working directory): no path lookup.
pub(crate) fn move_mount_fd(tree: BorrowedFd, target: RawFd) -> Result<()> {
    const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;
    // SAFETY: syscall with valid fds and empty C strings.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            target,
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(sys_err("move_mount", Errno::last()));
    }
    Ok(())
}

/// Open a file read-only with O_CLOEXEC.
pub(crate) fn open_ro(path: &str) -> std::result::Result<OwnedFd, Errno> {
    nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    // SAFETY: open returned a fresh fd.
    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Borrow a raw fd (for fds known to be open for the duration of the call).
pub(crate) fn borrow(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: callers only pass fds that stay open while used (stdio, fds we own).
    unsafe { BorrowedFd::borrow_raw(fd) }
}

pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Send fds over a unix socket (SCM_RIGHTS) with a one-byte payload.
pub(crate) fn send_fds(sock: BorrowedFd, fds: &[RawFd]) -> Result<()> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    let iov = [std::io::IoSlice::new(b"f")];
    let cm = [ControlMessage::ScmRights(fds)];
    let cms: &[ControlMessage] = if fds.is_empty() { &[] } else { &cm };
    sendmsg::<()>(sock.as_raw_fd(), &iov, cms, MsgFlags::empty(), None)
        .map_err(|e| sys_err("sendmsg fds", e))?;
    Ok(())
}

/// Receive up to `max` fds sent by [`send_fds`].
pub(crate) fn recv_fds(sock: BorrowedFd, max: usize) -> Result<Vec<OwnedFd>> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut space = vec![0u8; unsafe { libc::CMSG_SPACE((max.max(1) * 4) as u32) } as usize];
    let mut b = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut b)];
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| sys_err("recvmsg fds", e))?;
    let mut out = vec![];
    for c in msg.cmsgs().map_err(|e| sys_err("cmsgs", e))? {
        if let ControlMessageOwned::ScmRights(f) = c {
            // SAFETY: the kernel installed these fds for us.
            out.extend(f.into_iter().map(|x| unsafe { OwnedFd::from_raw_fd(x) }));
        }
    }
    Ok(out)
}

/// Ensure `fd` is readable-or-closed semantics helper: true if the fd is a tty.
pub(crate) fn isatty(fd: RawFd) -> bool {
    nix::unistd::isatty(fd).unwrap_or(false)
}

/// Keep `AsFd` imported for callers using generic helpers.
#[allow(dead_code)]
pub(crate) fn raw<F: AsFd>(f: &F) -> RawFd {
    f.as_fd().as_raw_fd()
}

/// Mark every fd from 3 up close-on-exec, so nothing of the caller leaks into the container.
pub(crate) fn cloexec_from_3() {
    // SAFETY: close_range(3, ~0, CLOSE_RANGE_CLOEXEC) only changes fd flags.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            4u32, /* CLOSE_RANGE_CLOEXEC */
        )
    };
}

/// A handle on a process that signals that process and never one that later got its
/// pid (front ends signalling the tool they spawned: `incus-serve`'s exec `signal`).
/// Open it while the child is unreaped, so the pid cannot have been recycled yet.
#[derive(Debug)]
pub struct PidHandle(OwnedFd);

impl PidHandle {
    /// `pidfd_open(pid)`.
    pub fn open(pid: u32) -> std::io::Result<PidHandle> {
        pidfd_open(pid as i32)
            .map(PidHandle)
            .map_err(std::io::Error::from)
    }

    /// Sends `sig`; ESRCH once the process has exited and been reaped.
    pub fn signal(&self, sig: i32) -> std::io::Result<()> {
        pidfd_send_signal(self.0.as_fd(), sig).map_err(std::io::Error::from)
    }
}
