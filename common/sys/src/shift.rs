//! Un-shifting a tree an older manager stored shifted (LXD without idmapped mounts
//! chowns a container's rootfs into its host range; ours are stored unshifted and
//! mounted idmapped): every owner inside `[base, base + range)` loses `base`.
//!
//! Meant for a stopped container's files (nothing inside runs and swaps a directory
//! for a link while this walks): links are never followed (`lchown`), no other
//! filesystem is entered. Not handled yet: POSIX ACL entries and v3 file
//! capabilities (`security.capability` with a root id), which keep their shifted ids.

use incus_api::{Error, Result};
use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// What [`unshift_tree`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShiftReport {
    /// Entries whose owner or group changed.
    pub changed: u64,
    /// Entries with an owner or group outside the range (left as they were).
    pub outside: u64,
}

fn cstr(p: &Path) -> Result<CString> {
    crate::ffi::c_path(p).map_err(|_| Error::invalid(format!("{} contains NUL", p.display())))
}

fn unshift_id(id: u32, base: u32, range: u32) -> Option<u32> {
    (id >= base && id - base < range).then(|| id - base)
}

/// Un-shifts `root` and everything below it on the same filesystem.
pub fn unshift_tree(root: &Path, uid_base: u32, gid_base: u32, range: u32) -> Result<ShiftReport> {
    let mut report = ShiftReport::default();
    let dev = std::fs::symlink_metadata(root)
        .map_err(|e| Error::internal(format!("Stat {}: {e}", root.display())))?
        .dev();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let m = std::fs::symlink_metadata(&p)
            .map_err(|e| Error::internal(format!("Stat {}: {e}", p.display())))?;
        if m.dev() != dev {
            continue;
        }
        let (uid, gid) = (
            unshift_id(m.uid(), uid_base, range),
            unshift_id(m.gid(), gid_base, range),
        );
        if uid.is_none() || gid.is_none() {
            report.outside += 1;
        }
        if uid.is_some() || gid.is_some() {
            let c = cstr(&p)?;
            let (u, g) = (uid.unwrap_or(m.uid()), gid.unwrap_or(m.gid()));
            // SAFETY: valid C string; lchown never follows a link.
            if unsafe { libc::lchown(c.as_ptr(), u, g) } != 0 {
                return Err(Error::internal(format!(
                    "Chown {}: {}",
                    p.display(),
                    std::io::Error::last_os_error()
                )));
            }
            // chown clears the setuid and setgid bits: put them back.
            if !m.file_type().is_symlink() && m.mode() & 0o6000 != 0 {
                // SAFETY: valid C string; not a link (checked above).
                if unsafe { libc::chmod(c.as_ptr(), m.mode() & 0o7777) } != 0 {
                    return Err(Error::internal(format!(
                        "Chmod {}: {}",
                        p.display(),
                        std::io::Error::last_os_error()
                    )));
                }
            }
            report.changed += 1;
        }
        if m.is_dir() {
            let rd = std::fs::read_dir(&p)
                .map_err(|e| Error::internal(format!("Read {}: {e}", p.display())))?;
            for e in rd {
                let e = e.map_err(|e| Error::internal(format!("Read {}: {e}", p.display())))?;
                stack.push(e.path());
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chown(p: &Path, u: u32, g: u32) {
        let c = cstr(p).unwrap();
        assert_eq!(
            unsafe { libc::lchown(c.as_ptr(), u, g) },
            0,
            "{}",
            p.display()
        );
    }

    fn owner(p: &Path) -> (u32, u32) {
        let m = std::fs::symlink_metadata(p).unwrap();
        (m.uid(), m.gid())
    }

    #[test]
    fn unshifts_owners_in_range_keeps_modes_and_links() {
        if unsafe { libc::geteuid() } != 0 {
            panic!("this test needs root (chown)");
        }
        let t = tempfile::tempdir().unwrap();
        let r = t.path().join("rootfs");
        std::fs::create_dir_all(r.join("root")).unwrap();
        std::fs::write(r.join("root/f"), b"x").unwrap();
        std::fs::write(r.join("suid"), b"x").unwrap();
        std::fs::write(r.join("host"), b"x").unwrap();
        // A link inside pointing at a host file: the link is chowned, never its target.
        let outside = t.path().join("outside");
        std::fs::write(&outside, b"x").unwrap();
        std::os::unix::fs::symlink(&outside, r.join("link")).unwrap();
        chown(&r, 1_000_000, 1_000_000);
        chown(&r.join("root"), 1_000_000, 1_000_000);
        chown(&r.join("root/f"), 1_001_234, 1_005_678);
        chown(&r.join("suid"), 1_000_000, 1_000_000);
        std::fs::set_permissions(r.join("suid"), std::fs::Permissions::from_mode(0o4755)).unwrap();
        chown(&r.join("host"), 65534, 65534);
        chown(&r.join("link"), 1_000_000, 1_000_000);
        chown(&outside, 1_000_000, 1_000_000);

        let rep = unshift_tree(&r, 1_000_000, 1_000_000, 65536).unwrap();
        assert_eq!(owner(&r), (0, 0));
        assert_eq!(owner(&r.join("root")), (0, 0));
        assert_eq!(owner(&r.join("root/f")), (1234, 5678));
        assert_eq!(owner(&r.join("suid")), (0, 0));
        let mode = std::fs::metadata(r.join("suid")).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o4755, "setuid kept");
        assert_eq!(
            owner(&r.join("host")),
            (65534, 65534),
            "outside the range: kept"
        );
        assert_eq!(owner(&r.join("link")), (0, 0));
        assert_eq!(
            owner(&outside),
            (1_000_000, 1_000_000),
            "link target untouched"
        );
        assert_eq!(
            rep,
            ShiftReport {
                changed: 5,
                outside: 1
            }
        );
        // Running it again changes nothing more in range (ids now below base).
        let rep = unshift_tree(&r, 1_000_000, 1_000_000, 65536).unwrap();
        assert_eq!(rep.changed, 0);
    }

    #[test]
    fn range_bounds() {
        assert_eq!(unshift_id(999_999, 1_000_000, 10), None);
        assert_eq!(unshift_id(1_000_000, 1_000_000, 10), Some(0));
        assert_eq!(unshift_id(1_000_009, 1_000_000, 10), Some(9));
        assert_eq!(unshift_id(1_000_010, 1_000_000, 10), None);
        assert_eq!(
            unshift_id(u32::MAX, 1_000_000, u32::MAX),
            Some(u32::MAX - 1_000_000)
        );
    }
}
