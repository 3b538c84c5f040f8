//! Directory-fd based file system access that never follows a symlink.
//!
//! Every path inside an unpack destination or a rootfs is resolved one component at a time with
//! `openat(O_NOFOLLOW | O_DIRECTORY)`, and every final operation is an `*at` call on the parent's
//! fd with a single name. A symlink anywhere in the path therefore fails with `ELOOP`/`ENOTDIR`
//! instead of redirecting the write, whatever the archive or the guest put there. This is the same
//! guarantee as `openat2(RESOLVE_NO_SYMLINKS)` but works on every kernel.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use incus_sys::at;
pub(crate) use incus_sys::ffi::c_bytes;

/// The kind of an existing directory entry, from `fstatat(AT_SYMLINK_NOFOLLOW)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
    Symlink,
    Other,
}

/// An open directory. All operations take single names relative to it.
#[derive(Debug)]
pub(crate) struct Dir {
    fd: OwnedFd,
}

impl Dir {
    /// Open a directory given by a trusted host path (the caller's destination or rootfs).
    pub fn open(path: &Path) -> io::Result<Dir> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in path"))?;
        Ok(Dir {
            fd: at::open(&c, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC, 0)?,
        })
    }

    /// Duplicate the handle.
    pub fn try_clone(&self) -> io::Result<Dir> {
        Ok(Dir {
            fd: self.fd.try_clone()?,
        })
    }

    fn openat(&self, name: &CStr, flags: libc::c_int, mode: libc::mode_t) -> io::Result<OwnedFd> {
        let flags = flags | libc::O_CLOEXEC | libc::O_NOFOLLOW;
        at::openat(self.as_fd(), name, flags, mode)
    }

    /// Open a subdirectory; fails with ELOOP on a symlink and ENOTDIR on anything else.
    pub fn open_dir(&self, name: &CStr) -> io::Result<Dir> {
        Ok(Dir {
            fd: self.openat(name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?,
        })
    }

    /// Open an existing regular file for reading (never through a symlink).
    pub fn open_read(&self, name: &CStr) -> io::Result<File> {
        let f = File::from(self.openat(name, libc::O_RDONLY | libc::O_NONBLOCK, 0)?);
        // O_NONBLOCK above keeps a hostile fifo from hanging us; refuse anything not regular.
        if !f.metadata()?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        Ok(f)
    }

    /// Create a new regular file (`O_EXCL`, so an existing name or symlink is never reused).
    pub fn create_file(&self, name: &CStr, mode: u32) -> io::Result<File> {
        Ok(File::from(self.openat(
            name,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
            mode as libc::mode_t,
        )?))
    }

    /// Open an existing regular file for writing and truncate it.
    pub fn open_truncate(&self, name: &CStr) -> io::Result<File> {
        Ok(File::from(self.openat(
            name,
            libc::O_WRONLY | libc::O_TRUNC | libc::O_NONBLOCK,
            0,
        )?))
    }

    /// `mkdirat`.
    pub fn mkdir(&self, name: &CStr, mode: u32) -> io::Result<()> {
        at::mkdirat(self.as_fd(), name, mode)
    }

    /// `symlinkat`: the target is stored as-is and never resolved by us.
    pub fn symlink(&self, target: &CStr, name: &CStr) -> io::Result<()> {
        at::symlinkat(target, self.as_fd(), name)
    }

    /// `linkat` without AT_SYMLINK_FOLLOW: links the entry itself, never what a symlink points at.
    pub fn hard_link(&self, old: &CStr, new_dir: &Dir, new: &CStr) -> io::Result<()> {
        at::linkat(self.as_fd(), old, new_dir.as_fd(), new, 0)
    }

    /// `mknodat` for a fifo.
    pub fn mkfifo(&self, name: &CStr, mode: u32) -> io::Result<()> {
        at::mknodat(self.as_fd(), name, libc::S_IFIFO | (mode & 0o777), 0)
    }

    /// `unlinkat`, with AT_REMOVEDIR for (empty) directories.
    pub fn unlink(&self, name: &CStr, dir: bool) -> io::Result<()> {
        let flags = if dir { libc::AT_REMOVEDIR } else { 0 };
        at::unlinkat(self.as_fd(), name, flags)
    }

    /// `fstatat(AT_SYMLINK_NOFOLLOW)`; `Ok(None)` when the name does not exist.
    pub fn lstat(&self, name: &CStr) -> io::Result<Option<Kind>> {
        let st = match at::fstatat(self.as_fd(), name, libc::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            Err(e) => return Err(e),
        };
        let kind = match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => Kind::Dir,
            libc::S_IFREG => Kind::File,
            libc::S_IFLNK => Kind::Symlink,
            _ => Kind::Other,
        };
        Ok(Some(kind))
    }

    /// `fchownat(AT_SYMLINK_NOFOLLOW)`: changes a symlink itself, never its target.
    pub fn lchown(&self, name: &CStr, uid: u32, gid: u32) -> io::Result<()> {
        at::fchownat(self.as_fd(), name, uid, gid, libc::AT_SYMLINK_NOFOLLOW)
    }

    /// `fchmodat` on a name we just created as a non-symlink (fifo) in our private temp tree.
    pub fn chmod(&self, name: &CStr, mode: u32) -> io::Result<()> {
        at::fchmodat(self.as_fd(), name, mode, 0)
    }

    /// `utimensat(AT_SYMLINK_NOFOLLOW)`: sets atime and mtime to `mtime`.
    pub fn set_mtime(&self, name: &CStr, mtime: i64) -> io::Result<()> {
        at::utimensat(self.as_fd(), name, mtime, libc::AT_SYMLINK_NOFOLLOW)
    }
}

impl AsFd for Dir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// `fchown` on an open fd.
pub(crate) fn fchown(fd: &impl AsFd, uid: u32, gid: u32) -> io::Result<()> {
    at::fchown(fd.as_fd(), uid, gid)
}

/// `fchmod` on an open fd (after fchown, which clears setuid/setgid bits).
pub(crate) fn fchmod(fd: &impl AsFd, mode: u32) -> io::Result<()> {
    at::fchmod(fd.as_fd(), mode)
}

/// `futimens` on an open fd: sets atime and mtime to `mtime`.
pub(crate) fn futimens(fd: &impl AsFd, mtime: i64) -> io::Result<()> {
    at::futimens(fd.as_fd(), mtime)
}

/// `fsetxattr` on an open fd.
pub(crate) fn fsetxattr(fd: &impl AsFd, name: &CStr, value: &[u8]) -> io::Result<()> {
    at::fsetxattr(fd.as_fd(), name, value)
}

/// True when we may change ownership (root). Ownership failures are ignored otherwise so the
/// crate stays usable (and testable) without privileges.
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Why a path walk failed.
#[derive(Debug)]
pub(crate) enum WalkError {
    /// A component is a symlink or not a directory: the path would leave the tree or is bogus.
    NotADirectory(Vec<u8>),
    /// A component does not exist (only when not creating).
    Missing(Vec<u8>),
    /// Any other I/O error.
    Io(io::Error),
}

/// Walk `comps` from `root` without following symlinks and return the last directory.
/// Missing directories are created with `mode` when `create` is set.
pub(crate) fn walk(root: &Dir, comps: &[Vec<u8>], create: Option<u32>) -> Result<Dir, WalkError> {
    let mut cur = root.try_clone().map_err(WalkError::Io)?;
    for comp in comps {
        let name = c_bytes(comp).map_err(WalkError::Io)?;
        let next = match cur.open_dir(&name) {
            Ok(d) => d,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => match create {
                Some(mode) => {
                    match cur.mkdir(&name, mode) {
                        Ok(()) => {}
                        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                        Err(e) => return Err(WalkError::Io(e)),
                    }
                    cur.open_dir(&name).map_err(|e| classify(e, comp))?
                }
                None => return Err(WalkError::Missing(comp.clone())),
            },
            Err(e) => return Err(classify(e, comp)),
        };
        cur = next;
    }
    Ok(cur)
}

fn classify(e: io::Error, comp: &[u8]) -> WalkError {
    match e.raw_os_error() {
        Some(libc::ELOOP) | Some(libc::ENOTDIR) => WalkError::NotADirectory(comp.to_vec()),
        _ => WalkError::Io(e),
    }
}
