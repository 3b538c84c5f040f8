//! The small conversions every syscall wrapper needs: a C return code to an
//! `io::Result`, and Rust paths and names to C strings.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A libc return code: negative means `errno` holds the error.
pub fn check_errno(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// A path as a C string (`InvalidInput` when it holds a NUL byte).
pub fn c_path(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in path"))
}

/// Bytes (a name, a symlink target) as a C string (`InvalidInput` when they hold a NUL).
pub fn c_bytes(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in name"))
}
