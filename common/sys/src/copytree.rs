//! A tree copy with `cp -a` semantics: owners, modes (setuid included), timestamps,
//! extended attributes, hard links, symlinks, device nodes, fifos and sockets. Regular
//! files go through `copy_file_range` (std::fs::copy), which reflinks where the
//! filesystem can. It stays on the source's filesystem: a mount point inside the tree
//! becomes an empty directory, as a rootfs snapshot should not hold the host's files.

use incus_api::{Error, Result};
use std::collections::HashMap;
use std::ffi::CString;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Copies `src` (a directory) to `dst`, which must not exist yet.
pub fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(src)
        .map_err(|e| Error::internal(format!("Copy {}: {e}", src.display())))?;
    if !meta.is_dir() {
        return Err(Error::invalid(format!(
            "Copy {}: not a directory",
            src.display()
        )));
    }
    let mut links = HashMap::new();
    copy_dir(src, dst, &meta, meta.dev(), &mut links)
}

/// Copies the contents of directory `src` into the existing directory `dst` (a fresh
/// volume of another driver), then gives `dst` the source's owner, mode and times.
pub fn copy_contents(src: &Path, dst: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(src)
        .map_err(|e| Error::internal(format!("Copy {}: {e}", src.display())))?;
    let mut links = HashMap::new();
    let rd = std::fs::read_dir(src)
        .map_err(|e| Error::internal(format!("Read {}: {e}", src.display())))?;
    for entry in rd {
        let entry = entry?;
        let (s, d) = (entry.path(), dst.join(entry.file_name()));
        let m = std::fs::symlink_metadata(&s)?;
        copy_entry(&s, &d, &m, meta.dev(), &mut links)?;
    }
    finish(src, dst, &meta, false)
}

/// [`crate::ffi::c_path`] with this module's error.
fn c_path(p: &Path) -> Result<CString> {
    crate::ffi::c_path(p).map_err(|_| Error::invalid(format!("{} contains NUL", p.display())))
}

fn os_err(what: &str, p: &Path) -> Error {
    Error::internal(format!(
        "{what} {}: {}",
        p.display(),
        std::io::Error::last_os_error()
    ))
}

fn copy_dir(
    src: &Path,
    dst: &Path,
    meta: &std::fs::Metadata,
    dev: u64,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<()> {
    // Created 0700 until the contents are in: nobody else sees a half-made tree.
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dst)
        .map_err(|e| Error::internal(format!("Create {}: {e}", dst.display())))?;
    if meta.dev() == dev {
        let rd = std::fs::read_dir(src)
            .map_err(|e| Error::internal(format!("Read {}: {e}", src.display())))?;
        for entry in rd {
            let entry = entry?;
            let (s, d) = (entry.path(), dst.join(entry.file_name()));
            let m = std::fs::symlink_metadata(&s)?;
            copy_entry(&s, &d, &m, dev, links)?;
        }
    }
    finish(src, dst, meta, false)
}

fn copy_entry(
    s: &Path,
    d: &Path,
    m: &std::fs::Metadata,
    dev: u64,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<()> {
    let ft = m.file_type();
    if ft.is_dir() {
        return copy_dir(s, d, m, dev, links);
    }
    if m.nlink() > 1 {
        if let Some(first) = links.get(&(m.dev(), m.ino())) {
            std::fs::hard_link(first, d)
                .map_err(|e| Error::internal(format!("Link {}: {e}", d.display())))?;
            return Ok(());
        }
        links.insert((m.dev(), m.ino()), d.to_path_buf());
    }
    if ft.is_symlink() {
        let target = std::fs::read_link(s)?;
        std::os::unix::fs::symlink(&target, d)
            .map_err(|e| Error::internal(format!("Symlink {}: {e}", d.display())))?;
        return finish(s, d, m, true);
    }
    if ft.is_file() {
        // A file with holes (a VM's raw disk) keeps them.
        let copied = if m.blocks() * 512 < m.size() {
            copy_sparse(s, d)
        } else {
            std::fs::copy(s, d).map(|_| ())
        };
        copied.map_err(|e| Error::internal(format!("Copy {}: {e}", s.display())))?;
    } else if ft.is_block_device() || ft.is_char_device() || ft.is_fifo() || ft.is_socket() {
        let c = c_path(d)?;
        // SAFETY: valid C string; mode and rdev come from the source's stat.
        if unsafe {
            libc::mknod(
                c.as_ptr(),
                m.mode() as libc::mode_t,
                m.rdev() as libc::dev_t,
            )
        } != 0
        {
            return Err(os_err("Mknod", d));
        }
    }
    finish(s, d, m, false)
}

/// Owner, xattrs, mode, then times (in that order: chown clears setuid bits and
/// writing xattrs changes ctime/mtime on some filesystems).
fn finish(s: &Path, d: &Path, m: &std::fs::Metadata, symlink: bool) -> Result<()> {
    let c = c_path(d)?;
    // SAFETY: valid C string.
    if unsafe { libc::lchown(c.as_ptr(), m.uid(), m.gid()) } != 0 {
        return Err(os_err("Chown", d));
    }
    copy_xattrs(s, d)?;
    if !symlink {
        // SAFETY: valid C string.
        if unsafe { libc::chmod(c.as_ptr(), m.mode() & 0o7777) } != 0 {
            return Err(os_err("Chmod", d));
        }
    }
    let times = [
        libc::timespec {
            tv_sec: m.atime(),
            tv_nsec: m.atime_nsec(),
        },
        libc::timespec {
            tv_sec: m.mtime(),
            tv_nsec: m.mtime_nsec(),
        },
    ];
    // SAFETY: valid C string and a two-element timespec array.
    if unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    } != 0
    {
        return Err(os_err("Set times of", d));
    }
    Ok(())
}

fn copy_xattrs(s: &Path, d: &Path) -> Result<()> {
    let (cs, cd) = (c_path(s)?, c_path(d)?);
    let mut names = vec![0u8; 1024];
    let len = loop {
        // SAFETY: the buffer is valid for its length.
        let n = unsafe { libc::llistxattr(cs.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
        if n >= 0 {
            break n as usize;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::ERANGE) => names.resize(names.len() * 4, 0),
            Some(libc::ENOTSUP) => return Ok(()),
            _ => return Err(os_err("List xattrs of", s)),
        }
    };
    let mut value = vec![0u8; 4096];
    for name in names[..len].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let cname = CString::new(name).expect("split at NUL");
        let vlen = loop {
            // SAFETY: valid C strings; the buffer is valid for its length.
            let n = unsafe {
                libc::lgetxattr(
                    cs.as_ptr(),
                    cname.as_ptr(),
                    value.as_mut_ptr().cast(),
                    value.len(),
                )
            };
            if n >= 0 {
                break n as usize;
            }
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::ERANGE) => value.resize(value.len() * 4, 0),
                // Gone meanwhile (a running instance): nothing to copy.
                Some(libc::ENODATA) => break usize::MAX,
                _ => return Err(os_err("Read xattrs of", s)),
            }
        };
        if vlen == usize::MAX {
            continue;
        }
        // SAFETY: valid C strings; the value slice is valid for vlen bytes.
        if unsafe { libc::lsetxattr(cd.as_ptr(), cname.as_ptr(), value.as_ptr().cast(), vlen, 0) }
            != 0
        {
            let err = std::io::Error::last_os_error();
            // Symlinks cannot carry user.* attributes on Linux; cp -a skips them too.
            if err.raw_os_error() == Some(libc::EPERM) && name.starts_with(b"user.") {
                continue;
            }
            return Err(Error::internal(format!(
                "Write xattr {} of {}: {err}",
                String::from_utf8_lossy(name),
                d.display()
            )));
        }
    }
    Ok(())
}

/// Swaps two paths atomically (`renameat2(RENAME_EXCHANGE)`): both must exist.
pub fn exchange(a: &Path, b: &Path) -> Result<()> {
    let (ca, cb) = (c_path(a)?, c_path(b)?);
    // SAFETY: valid C strings.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc != 0 {
        return Err(os_err("Exchange", a));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn copies_like_cp_a() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("sub/f"), b"data").unwrap();
        std::fs::hard_link(src.join("sub/f"), src.join("hard")).unwrap();
        std::os::unix::fs::symlink("sub/f", src.join("link")).unwrap();
        let c = c_path(&src.join("fifo")).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o640) }, 0);
        let f = c_path(&src.join("sub/f")).unwrap();
        assert_eq!(unsafe { libc::lchown(f.as_ptr(), 1234, 5678) }, 0);
        std::fs::set_permissions(src.join("sub/f"), std::fs::Permissions::from_mode(0o4755))
            .unwrap();
        // trusted.* works on tmpfs and ext4 alike (the tests run as root).
        let (k, v) = (CString::new("trusted.incus").unwrap(), b"v1");
        assert_eq!(
            unsafe { libc::lsetxattr(f.as_ptr(), k.as_ptr(), v.as_ptr().cast(), v.len(), 0) },
            0,
            "set xattr: {}",
            std::io::Error::last_os_error()
        );
        let dst = dir.path().join("dst");
        copy_tree(&src, &dst).unwrap();
        let m = std::fs::metadata(dst.join("sub/f")).unwrap();
        assert_eq!((m.uid(), m.gid()), (1234, 5678));
        assert_eq!(m.mode() & 0o7777, 0o4755, "setuid survives the chown");
        let d = c_path(&dst.join("sub/f")).unwrap();
        let mut buf = [0u8; 16];
        let n = unsafe { libc::lgetxattr(d.as_ptr(), k.as_ptr(), buf.as_mut_ptr().cast(), 16) };
        assert_eq!(&buf[..n.max(0) as usize], v, "xattrs are copied");
        assert_eq!(std::fs::read(dst.join("hard")).unwrap(), b"data");
        assert_eq!(
            std::fs::metadata(dst.join("hard")).unwrap().ino(),
            m.ino(),
            "hard links stay links"
        );
        assert_eq!(
            std::fs::read_link(dst.join("link")).unwrap(),
            Path::new("sub/f")
        );
        assert!(std::fs::symlink_metadata(dst.join("fifo"))
            .unwrap()
            .file_type()
            .is_fifo());
        assert_eq!(
            std::fs::metadata(dst.join("sub")).unwrap().mtime(),
            std::fs::metadata(src.join("sub")).unwrap().mtime()
        );
        assert!(copy_tree(&src, &dst).is_err(), "the target must not exist");
    }

    #[test]
    fn exchange_swaps() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"A").unwrap();
        std::fs::create_dir(&b).unwrap();
        exchange(&a, &b).unwrap();
        assert!(a.is_dir());
        assert_eq!(std::fs::read(&b).unwrap(), b"A");
    }
}

/// Copies the data extents of `s` only (SEEK_DATA/SEEK_HOLE, then `copy_file_range`),
/// so the holes of a sparse file stay holes.
fn copy_sparse(s: &Path, d: &Path) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let src = std::fs::File::open(s)?;
    let dst = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(d)?;
    let len = src.metadata()?.len() as i64;
    dst.set_len(len as u64)?;
    let mut off: i64 = 0;
    while off < len {
        // SAFETY: lseek on our own descriptor.
        let data = unsafe { libc::lseek(src.as_raw_fd(), off, libc::SEEK_DATA) };
        if data < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENXIO) {
                break; // only a hole is left
            }
            return Err(e);
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(src.as_raw_fd(), data, libc::SEEK_HOLE) };
        if hole < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let (mut from, mut to) = (data, data);
        while from < hole {
            // SAFETY: both descriptors are ours; the offsets are locals.
            let n = unsafe {
                libc::copy_file_range(
                    src.as_raw_fd(),
                    &mut from,
                    dst.as_raw_fd(),
                    &mut to,
                    (hole - from) as usize,
                    0,
                )
            };
            if n < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if n == 0 {
                break;
            }
        }
        off = hole;
    }
    Ok(())
}

#[cfg(test)]
mod sparse_tests {
    #[test]
    fn sparse_files_stay_sparse() {
        use std::io::{Seek, SeekFrom, Write};
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("copy-sparse-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a")).unwrap();
        let mut f = std::fs::File::create(dir.join("a/disk")).unwrap();
        f.set_len(64 << 20).unwrap();
        f.seek(SeekFrom::Start(32 << 20)).unwrap();
        f.write_all(b"middle").unwrap();
        drop(f);
        super::copy_tree(&dir.join("a"), &dir.join("b")).unwrap();
        let m = std::fs::metadata(dir.join("b/disk")).unwrap();
        let data = std::fs::read(dir.join("b/disk")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(m.len(), 64 << 20);
        assert!(m.blocks() * 512 < 1 << 20, "{} blocks", m.blocks());
        assert_eq!(&data[32 << 20..(32 << 20) + 6], b"middle");
    }
}
