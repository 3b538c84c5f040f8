//! inotify on one directory: a non-blocking descriptor that becomes readable when a
//! name in it is written, renamed into place or has its attributes changed. The
//! server waits on it (no polling) for changes that other tools announce there.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

pub struct DirWatch {
    fd: OwnedFd,
}

impl DirWatch {
    pub fn new(dir: &Path) -> io::Result<DirWatch> {
        // SAFETY: inotify_init1 takes flags only; the descriptor is owned below.
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a new descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let c = CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: a valid descriptor and C string.
        let wd = unsafe {
            libc::inotify_add_watch(
                fd.as_raw_fd(),
                c.as_ptr(),
                libc::IN_CLOSE_WRITE | libc::IN_MOVED_TO | libc::IN_ATTRIB | libc::IN_ONLYDIR,
            )
        };
        if wd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(DirWatch { fd })
    }

    /// The names of the events pending now (empty: none; `WouldBlock` is not an error).
    pub fn drain(&self) -> io::Result<Vec<OsString>> {
        let mut names = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: read into a buffer of the length passed.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::WouldBlock {
                    return Ok(names);
                }
                return Err(e);
            }
            let n = n as usize;
            let head = std::mem::size_of::<libc::inotify_event>();
            let mut off = 0;
            while off + head <= n {
                // SAFETY: the kernel wrote a whole event header at `off` (unaligned read).
                let ev: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buf[off..].as_ptr().cast()) };
                let len = ev.len as usize;
                let name = &buf[off + head..(off + head + len).min(n)];
                let end = name.iter().position(|b| *b == 0).unwrap_or(name.len());
                names.push(OsString::from_vec(name[..end].to_vec()));
                off += head + len;
            }
        }
    }
}

impl AsRawFd for DirWatch {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sees_a_write() {
        let dir = std::env::temp_dir().join(format!("dirwatch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let w = super::DirWatch::new(&dir).unwrap();
        assert!(w.drain().unwrap().is_empty());
        std::fs::write(dir.join("stamp"), "1").unwrap();
        assert!(w.drain().unwrap().iter().any(|n| n == "stamp"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
