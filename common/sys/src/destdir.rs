//! Writing a tree that someone else describes (a `file pull -r` from a guest or a
//! server) under a destination directory: every entry is made relative to its parent
//! directory's descriptor, with `O_NOFOLLOW`/`O_EXCL`, from a single name that is
//! checked first. A symlink the source planted (`link -> /etc`, followed by
//! `link/passwd`, or by a regular file named like our temporary file) is never
//! followed, so nothing is written outside the destination.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// One directory entry name: not empty, no `/` or NUL, not `.` or `..`.
pub fn is_entry_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

/// An entry name (checked by [`is_entry_name`]) as a C string.
fn entry_c_name(name: &str) -> io::Result<CString> {
    if !is_entry_name(name) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("refusing entry name \"{}\"", name.escape_debug()),
        ));
    }
    CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

use crate::ffi::check_errno;

/// A directory open by descriptor; entries are made below it, never through a path.
#[derive(Debug)]
pub struct DestDir(OwnedFd);

impl AsFd for DestDir {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl DestDir {
    /// Opens the destination the user named (symlinks in *that* path are the user's
    /// own and are followed).
    pub fn open(path: &Path) -> io::Result<DestDir> {
        let p = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: plain open(2) of a NUL-terminated path.
        let fd = check_errno(unsafe {
            libc::open(
                p.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: a new descriptor that we own.
        Ok(DestDir(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Creates `name` as a new regular file (mode 0600 until [`DestDir::chmod_file`]):
    /// an existing entry of that name, a symlink included, is an error (`EEXIST`).
    pub fn create_new(&self, name: &str) -> io::Result<File> {
        let c = entry_c_name(name)?;
        // SAFETY: openat(2) relative to our descriptor, with a checked single name.
        let fd = check_errno(unsafe {
            libc::openat(
                self.0.as_raw_fd(),
                c.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                0o600 as libc::c_uint,
            )
        })?;
        // SAFETY: a new descriptor that we own.
        Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Removes the entry `name` if it is not a directory (a symlink itself, never its
    /// target); missing is fine.
    pub fn remove(&self, name: &str) -> io::Result<()> {
        let c = entry_c_name(name)?;
        // SAFETY: unlinkat(2) relative to our descriptor.
        match check_errno(unsafe { libc::unlinkat(self.0.as_raw_fd(), c.as_ptr(), 0) }) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Renames `from` to `to` within this directory (replacing `to` if it is not a
    /// directory; a symlink at `to` is replaced, not followed).
    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let (f, t) = (entry_c_name(from)?, entry_c_name(to)?);
        let d = self.0.as_raw_fd();
        // SAFETY: renameat(2) of two checked names in the same directory.
        check_errno(unsafe { libc::renameat(d, f.as_ptr(), d, t.as_ptr()) }).map(|_| ())
    }

    /// Makes `name` a symlink to `target` (the target is stored, never followed).
    pub fn symlink(&self, target: &str, name: &str) -> io::Result<()> {
        let c = entry_c_name(name)?;
        let t = CString::new(target).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: symlinkat(2) relative to our descriptor.
        check_errno(unsafe { libc::symlinkat(t.as_ptr(), self.0.as_raw_fd(), c.as_ptr()) })
            .map(|_| ())
    }

    /// Opens the subdirectory `name`, making it (mode 0700) when missing. A symlink
    /// of that name is refused (`ELOOP`/`ENOTDIR`), never followed.
    pub fn subdir(&self, name: &str) -> io::Result<DestDir> {
        let c = entry_c_name(name)?;
        // SAFETY: mkdirat(2) relative to our descriptor.
        match check_errno(unsafe { libc::mkdirat(self.0.as_raw_fd(), c.as_ptr(), 0o700) }) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        // SAFETY: openat(2) relative to our descriptor.
        let fd = check_errno(unsafe {
            libc::openat(
                self.0.as_raw_fd(),
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: a new descriptor that we own.
        Ok(DestDir(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Sets this directory's permission bits.
    pub fn chmod(&self, mode: u32) -> io::Result<()> {
        // SAFETY: fchmod(2) on our descriptor.
        check_errno(unsafe { libc::fchmod(self.0.as_raw_fd(), mode as libc::mode_t) }).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn entry_names() {
        for ok in ["a", ".a", "..a", "a b", "é"] {
            assert!(is_entry_name(ok), "{ok:?}");
        }
        for bad in ["", ".", "..", "a/b", "/", "../x", "x/..", "a\0b"] {
            assert!(!is_entry_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn planted_symlinks_are_never_followed() {
        let t = tempfile::tempdir().unwrap();
        let outside = t.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("canary"), "host").unwrap();
        let dest = t.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        let d = DestDir::open(&dest).unwrap();
        d.symlink(outside.to_str().unwrap(), "link").unwrap();
        d.symlink(outside.join("canary").to_str().unwrap(), "f")
            .unwrap();
        // Through a symlinked directory: refused.
        assert!(d.subdir("link").is_err());
        // Creating over a symlink: refused (EEXIST), the target untouched.
        assert!(d.create_new("f").is_err());
        // Replacing it by rename replaces the link itself.
        let mut f = d.create_new(".tmp").unwrap();
        f.write_all(b"guest").unwrap();
        d.rename(".tmp", "f").unwrap();
        assert_eq!(
            std::fs::read_to_string(outside.join("canary")).unwrap(),
            "host"
        );
        assert_eq!(std::fs::read_to_string(dest.join("f")).unwrap(), "guest");
        // Hostile names.
        for bad in ["../x", "..", "a/b", ""] {
            assert!(d.create_new(bad).is_err(), "{bad:?}");
            assert!(d.subdir(bad).is_err(), "{bad:?}");
            assert!(d.symlink("/", bad).is_err(), "{bad:?}");
        }
        assert!(!t.path().join("x").exists());
    }
}
