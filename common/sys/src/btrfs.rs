//! Safe wrappers of the btrfs subvolume ioctls (`linux/btrfs.h`). Names are single
//! path components; the caller checks them against its rules first (the lengths
//! below are the kernel's limits).

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;

/// Longest name of `BTRFS_IOC_SUBVOL_CREATE` / `SNAP_DESTROY` (`BTRFS_PATH_NAME_MAX`).
pub const VOL_NAME_MAX: usize = 4087;
/// Longest name of `BTRFS_IOC_SNAP_CREATE_V2` (`BTRFS_SUBVOL_NAME_MAX`).
pub const SUBVOL_NAME_MAX: usize = 4039;
/// `BTRFS_SUBVOL_RDONLY`.
pub const SUBVOL_RDONLY: u64 = 1 << 1;

#[repr(C)]
struct VolArgs {
    fd: i64,
    name: [u8; VOL_NAME_MAX + 1],
}

#[repr(C)]
struct VolArgsV2 {
    fd: i64,
    transid: u64,
    flags: u64,
    unused: [u64; 4],
    name: [u8; SUBVOL_NAME_MAX + 1],
}

// _IOW(0x94, nr, 4096-byte struct) and _IOR/_IOW(0x94, nr, u64).
const IOC_SUBVOL_CREATE: libc::c_ulong = 0x5000_940E;
const IOC_SNAP_DESTROY: libc::c_ulong = 0x5000_940F;
const IOC_SNAP_CREATE_V2: libc::c_ulong = 0x5000_9417;
const IOC_SUBVOL_GETFLAGS: libc::c_ulong = 0x8008_9419;
const IOC_SUBVOL_SETFLAGS: libc::c_ulong = 0x4008_941A;

fn name_bytes<const N: usize>(name: &OsStr) -> io::Result<[u8; N]> {
    let b = name.as_bytes();
    if b.is_empty() || b.len() >= N || b.contains(&0) || b.contains(&b'/') {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    let mut out = [0u8; N];
    out[..b.len()].copy_from_slice(b);
    Ok(out)
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc != 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `BTRFS_IOC_SUBVOL_CREATE`: an empty subvolume `name` in directory `dir`.
pub fn subvol_create(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let mut args = VolArgs {
        fd: 0,
        name: name_bytes(name)?,
    };
    // SAFETY: a valid fd and a fully initialised struct of the size the ioctl encodes.
    check(unsafe { libc::ioctl(dir.as_raw_fd(), IOC_SUBVOL_CREATE, &mut args) })
}

/// `BTRFS_IOC_SNAP_CREATE_V2`: a snapshot `name` in `dir` of the subvolume open as
/// `source` (read-only when asked).
pub fn snapshot_create(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    source: BorrowedFd<'_>,
    readonly: bool,
) -> io::Result<()> {
    let mut args = VolArgsV2 {
        fd: source.as_raw_fd() as i64,
        transid: 0,
        flags: if readonly { SUBVOL_RDONLY } else { 0 },
        unused: [0; 4],
        name: name_bytes(name)?,
    };
    // SAFETY: as above.
    check(unsafe { libc::ioctl(dir.as_raw_fd(), IOC_SNAP_CREATE_V2, &mut args) })
}

/// `BTRFS_IOC_SNAP_DESTROY`: deletes subvolume `name` in `dir`.
pub fn subvol_destroy(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let mut args = VolArgs {
        fd: 0,
        name: name_bytes(name)?,
    };
    // SAFETY: as above.
    check(unsafe { libc::ioctl(dir.as_raw_fd(), IOC_SNAP_DESTROY, &mut args) })
}

/// `BTRFS_IOC_SUBVOL_GETFLAGS` of an open subvolume.
pub fn subvol_flags(fd: BorrowedFd<'_>) -> io::Result<u64> {
    let mut flags: u64 = 0;
    // SAFETY: the ioctl writes one u64.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), IOC_SUBVOL_GETFLAGS, &mut flags) })?;
    Ok(flags)
}

/// `BTRFS_IOC_SUBVOL_SETFLAGS` of an open subvolume.
pub fn set_subvol_flags(fd: BorrowedFd<'_>, flags: u64) -> io::Result<()> {
    // SAFETY: the ioctl reads one u64.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), IOC_SUBVOL_SETFLAGS, &flags) })
}
