//! Safe wrappers of the descriptor-relative file syscalls (`fstatat`, `mkdirat`,
//! `openat`, `unlinkat`, `renameat2`, ...). Each takes descriptors and C-string names
//! and returns an `io::Result`; the rules (which names, which flags) stay with the
//! caller.

use crate::ffi::check_errno;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `fstat(2)` (works on `O_PATH` descriptors).
pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    // SAFETY: fstat fills the zeroed struct it is given.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    check_errno(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(st)
}

/// `fstatat(2)`.
pub fn fstatat(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<libc::stat> {
    // SAFETY: fstatat fills the zeroed struct; `name` is NUL-terminated.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    check_errno(unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), &mut st, flags) })?;
    Ok(st)
}

/// `fstatvfs(2)` (works on `O_PATH` descriptors).
pub fn fstatvfs(fd: BorrowedFd<'_>) -> io::Result<libc::statvfs> {
    // SAFETY: fstatvfs fills the zeroed struct it is given.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    check_errno(unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) })?;
    Ok(st)
}

/// `statvfs(3)` of a path.
pub fn statvfs(path: &CStr) -> io::Result<libc::statvfs> {
    // SAFETY: statvfs fills the zeroed struct; `path` is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    check_errno(unsafe { libc::statvfs(path.as_ptr(), &mut st) })?;
    Ok(st)
}

/// `fchownat(2)`.
pub fn fchownat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    uid: u32,
    gid: u32,
    flags: libc::c_int,
) -> io::Result<()> {
    // SAFETY: plain syscall on a descriptor and a NUL-terminated name.
    check_errno(unsafe { libc::fchownat(dir.as_raw_fd(), name.as_ptr(), uid, gid, flags) })
        .map(drop)
}

/// `fchmod(2)` (an open descriptor, not `O_PATH`).
pub fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    // SAFETY: plain syscall on a descriptor.
    check_errno(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) }).map(drop)
}

/// `chmod(2)` of a path.
pub fn chmod(path: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: plain syscall on a NUL-terminated path.
    check_errno(unsafe { libc::chmod(path.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// `truncate(2)` of a path.
pub fn truncate(path: &CStr, size: u64) -> io::Result<()> {
    // SAFETY: plain syscall on a NUL-terminated path.
    check_errno(unsafe { libc::truncate(path.as_ptr(), size as libc::off_t) }).map(drop)
}

/// `utimensat(AT_FDCWD, path, [atime, mtime], 0)` with whole seconds.
pub fn set_times(path: &CStr, atime: i64, mtime: i64) -> io::Result<()> {
    let ts = [
        libc::timespec {
            tv_sec: atime as libc::time_t,
            tv_nsec: 0,
        },
        libc::timespec {
            tv_sec: mtime as libc::time_t,
            tv_nsec: 0,
        },
    ];
    // SAFETY: utimensat reads two timespecs and a NUL-terminated path.
    check_errno(unsafe { libc::utimensat(libc::AT_FDCWD, path.as_ptr(), ts.as_ptr(), 0) }).map(drop)
}

/// `readlinkat(2)` (an empty name reads an `O_PATH` symlink descriptor itself).
pub fn readlinkat(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: readlinkat writes at most buf.len() bytes into buf.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

/// `fchmodat(2)`.
pub fn fchmodat(dir: BorrowedFd<'_>, name: &CStr, mode: u32, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: plain syscall on a descriptor and a NUL-terminated name.
    check_errno(unsafe {
        libc::fchmodat(dir.as_raw_fd(), name.as_ptr(), mode as libc::mode_t, flags)
    })
    .map(drop)
}

/// `mknodat(2)` (`mode` carries the file type, e.g. `S_IFIFO`).
pub fn mknodat(dir: BorrowedFd<'_>, name: &CStr, mode: u32, dev: u64) -> io::Result<()> {
    // SAFETY: plain syscall on a descriptor and a NUL-terminated name.
    check_errno(unsafe {
        libc::mknodat(
            dir.as_raw_fd(),
            name.as_ptr(),
            mode as libc::mode_t,
            dev as libc::dev_t,
        )
    })
    .map(drop)
}

fn whole_seconds(secs: i64) -> libc::timespec {
    libc::timespec {
        tv_sec: secs as libc::time_t,
        tv_nsec: 0,
    }
}

/// `utimensat(2)`: atime and mtime both set to `secs` (whole seconds).
pub fn utimensat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    secs: i64,
    flags: libc::c_int,
) -> io::Result<()> {
    let ts = [whole_seconds(secs), whole_seconds(secs)];
    // SAFETY: two valid timespecs, a descriptor and a NUL-terminated name.
    check_errno(unsafe { libc::utimensat(dir.as_raw_fd(), name.as_ptr(), ts.as_ptr(), flags) })
        .map(drop)
}

/// `futimens(3)`: atime and mtime both set to `secs` (whole seconds).
pub fn futimens(fd: BorrowedFd<'_>, secs: i64) -> io::Result<()> {
    let ts = [whole_seconds(secs), whole_seconds(secs)];
    // SAFETY: two valid timespecs and a descriptor.
    check_errno(unsafe { libc::futimens(fd.as_raw_fd(), ts.as_ptr()) }).map(drop)
}

/// `fchown(2)`.
pub fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: plain syscall on a descriptor.
    check_errno(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) }).map(drop)
}

/// `fsetxattr(2)`.
pub fn fsetxattr(fd: BorrowedFd<'_>, name: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: a descriptor, a NUL-terminated name and a buffer with its length.
    check_errno(unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
    .map(drop)
}

/// `mkdirat(2)`.
pub fn mkdirat(dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: plain syscall on a descriptor and a NUL-terminated name.
    check_errno(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode as libc::mode_t) })
        .map(drop)
}

/// `openat(2)`; the new descriptor is owned by the caller.
pub fn openat(
    dir: BorrowedFd<'_>,
    name: &CStr,
    flags: libc::c_int,
    mode: u32,
) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall on a descriptor and a NUL-terminated name.
    let fd = check_errno(unsafe {
        libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, mode as libc::c_uint)
    })?;
    // SAFETY: a new descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `open(2)` of a path; the new descriptor is owned by the caller.
pub fn open(path: &CStr, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall on a NUL-terminated path.
    let fd = check_errno(unsafe { libc::open(path.as_ptr(), flags, mode as libc::c_uint) })?;
    // SAFETY: a new descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `unlinkat(2)` (`AT_REMOVEDIR` in `flags` for a directory).
pub fn unlinkat(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: plain syscall on a descriptor and a NUL-terminated name.
    check_errno(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) }).map(drop)
}

/// `symlinkat(2)`: a link `name` in `dir` holding `target`.
pub fn symlinkat(target: &CStr, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    // SAFETY: plain syscall on NUL-terminated strings and a descriptor.
    check_errno(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) })
        .map(drop)
}

/// `renameat2(2)` (`RENAME_NOREPLACE`, `RENAME_EXCHANGE` in `flags`).
pub fn renameat2(
    from_dir: BorrowedFd<'_>,
    from: &CStr,
    to_dir: BorrowedFd<'_>,
    to: &CStr,
    flags: libc::c_uint,
) -> io::Result<()> {
    // SAFETY: plain syscall on descriptors and NUL-terminated names.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            from_dir.as_raw_fd(),
            from.as_ptr(),
            to_dir.as_raw_fd(),
            to.as_ptr(),
            flags,
        )
    };
    check_errno(rc as libc::c_int).map(drop)
}

/// `linkat(2)`.
pub fn linkat(
    from_dir: BorrowedFd<'_>,
    from: &CStr,
    to_dir: BorrowedFd<'_>,
    to: &CStr,
    flags: libc::c_int,
) -> io::Result<()> {
    // SAFETY: plain syscall on descriptors and NUL-terminated names.
    check_errno(unsafe {
        libc::linkat(
            from_dir.as_raw_fd(),
            from.as_ptr(),
            to_dir.as_raw_fd(),
            to.as_ptr(),
            flags,
        )
    })
    .map(drop)
}

/// `statfs(2)` of a path.
pub fn statfs(path: &CStr) -> io::Result<libc::statfs> {
    // SAFETY: statfs fills the zeroed struct; `path` is NUL-terminated.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    check_errno(unsafe { libc::statfs(path.as_ptr(), &mut st) })?;
    Ok(st)
}

/// `syncfs(2)`: commits the filesystem holding `fd`.
pub fn syncfs(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: plain syscall on a descriptor.
    check_errno(unsafe { libc::syncfs(fd.as_raw_fd()) }).map(drop)
}

/// `renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)`: swaps two paths atomically.
pub fn exchange(a: &CStr, b: &CStr) -> io::Result<()> {
    // SAFETY: plain syscall on NUL-terminated paths.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    check_errno(rc as libc::c_int).map(drop)
}
