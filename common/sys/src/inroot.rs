//! Paths resolved inside a directory as if it were `/`: `openat2(RESOLVE_IN_ROOT)`.
//! Absolute symlinks, `..` and symlinked directories all stay below the root, so a
//! container's own links can never send a host-side file operation outside its rootfs.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::ffi::c_path;

/// Opens a trusted host directory (a rootfs) as the root of later lookups; the
/// directory itself must not be a symlink.
pub fn open_root(path: &Path) -> io::Result<OwnedFd> {
    let c = c_path(path)?;
    // SAFETY: plain syscall on a valid C string; the fd is owned below.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by open and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `openat2(root, path, flags, mode)` with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`:
/// `path` (absolute or not) is looked up as if `root` were `/`. `flags` may hold
/// `O_NOFOLLOW` to open a final symlink itself (with `O_PATH`).
pub fn open_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    flags: libc::c_int,
    mode: u32,
) -> io::Result<OwnedFd> {
    let c = c_path(path)?;
    // SAFETY: open_how is plain data; all-zero is its documented empty value.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    if flags & (libc::O_CREAT | libc::O_TMPFILE) != 0 {
        how.mode = mode as u64;
    }
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    loop {
        // SAFETY: openat2 reads `how` (of the size passed) and the C string.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd >= 0 {
            // SAFETY: a new descriptor owned by nobody else.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) });
        }
        let e = io::Error::last_os_error();
        // EAGAIN: a concurrent rename raced the `..` check; the kernel asks to retry.
        if e.raw_os_error() != Some(libc::EAGAIN) {
            return Err(e);
        }
    }
}

fn name_of(c: &std::ffi::OsStr) -> io::Result<CString> {
    c_path(Path::new(c))
}

/// Resolves the directory `path` inside `root` (as [`open_in_root`] does), creating each
/// missing component with `mode` below its parent as resolved so far: a symlink the
/// guest planted on the way is followed inside `root` only, never to the host.
/// Returns an `O_PATH` descriptor of the directory.
pub fn mkdir_all_in_root(root: BorrowedFd<'_>, path: &Path, mode: u32) -> io::Result<OwnedFd> {
    use std::path::{Component, PathBuf};
    let dir = libc::O_PATH | libc::O_DIRECTORY;
    let mut cur = PathBuf::from("/");
    let mut fd = open_in_root(root, &cur, dir, 0)?;
    for comp in path.components() {
        let name = match comp {
            Component::Normal(n) => n,
            Component::ParentDir => {
                cur.push("..");
                fd = open_in_root(root, &cur, dir, 0)?;
                continue;
            }
            _ => continue,
        };
        cur.push(name);
        match open_in_root(root, &cur, dir, 0) {
            Ok(f) => fd = f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let c = name_of(name)?;
                // SAFETY: mkdirat on a directory descriptor with one plain name.
                let r = unsafe { libc::mkdirat(fd.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) };
                if r < 0 {
                    let e = io::Error::last_os_error();
                    // EEXIST: a dangling symlink (or a racing mkdir); the lookup below decides.
                    if e.raw_os_error() != Some(libc::EEXIST) {
                        return Err(e);
                    }
                }
                fd = open_in_root(root, &cur, dir, 0)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(fd)
}

/// Resolves `path` inside `root` as a mount point for a file: an existing entry of any
/// kind is returned as is (`O_PATH`); a missing one is created as an empty regular file
/// (`mode`) below its parent directory, itself made with [`mkdir_all_in_root`].
pub fn mkfile_in_root(root: BorrowedFd<'_>, path: &Path, mode: u32) -> io::Result<OwnedFd> {
    match open_in_root(root, path, libc::O_PATH, 0) {
        Ok(f) => return Ok(f),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let name = match path.components().next_back() {
        Some(std::path::Component::Normal(n)) => n,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} does not name a file", path.display()),
            ))
        }
    };
    let parent = mkdir_all_in_root(root, path.parent().unwrap_or(Path::new("/")), 0o755)?;
    let c = name_of(name)?;
    // SAFETY: openat on a directory descriptor with one plain name; the fd is closed below.
    let fd = unsafe {
        libc::openat(
            parent.as_raw_fd(),
            c.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    };
    if fd >= 0 {
        // SAFETY: a new descriptor owned by nobody else.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
    } else {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(e);
        }
    }
    open_in_root(root, path, libc::O_PATH, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn planted_links_stay_inside() {
        let host = tempfile::tempdir().unwrap();
        let root = host.path().join("root");
        let outside = host.path().join("outside");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::create_dir_all(root.join("mnt")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("mnt/abs")).unwrap();
        std::os::unix::fs::symlink("../../../../../..", root.join("mnt/up")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("mnt/host")).unwrap();
        let r = open_root(&root).unwrap();
        mkdir_all_in_root(r.as_fd(), Path::new("/mnt/abs/d1/d2"), 0o755).unwrap();
        mkdir_all_in_root(r.as_fd(), Path::new("/mnt/up/d3"), 0o755).unwrap();
        mkfile_in_root(r.as_fd(), Path::new("/mnt/abs/f"), 0o644).unwrap();
        mkfile_in_root(r.as_fd(), Path::new("/mnt/up/../f2"), 0o644).unwrap();
        // a link to a host path that does not exist inside: refused, nothing made outside
        assert!(mkdir_all_in_root(r.as_fd(), Path::new("/mnt/host/d4"), 0o755).is_err());
        assert!(mkfile_in_root(r.as_fd(), Path::new("/mnt/host/f3"), 0o644).is_err());
        assert!(root.join("etc/d1/d2").is_dir());
        assert!(root.join("d3").is_dir());
        assert!(root.join("etc/f").is_file());
        assert!(root.join("f2").is_file());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        // an existing entry is returned as is
        mkfile_in_root(r.as_fd(), Path::new("/etc"), 0o644).unwrap();
        assert!(root.join("etc").is_dir());
    }
}
