//! File helpers: atomic replace, and a recursive removal that stays on one filesystem.

use incus_api::{Error, Result};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Writes `data` to `path` atomically and durably: a temporary file in the same
/// directory (a name no other process or thread uses), written and fsynced, renamed
/// over `path`, then the directory fsynced so the rename itself survives a power loss.
/// On failure the temporary file is removed and `path` is untouched. Every file this
/// project replaces in place goes through here.
pub fn atomic_write(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    replace(path, data, mode, true)
}

/// [`atomic_write`] without the two fsyncs: still all or nothing for a killed process
/// (temporary file renamed over `path`), but after a power loss `path` may hold the
/// previous content. For files derived from the database, which itself commits
/// without an fsync (WAL, `synchronous=NORMAL`) and rewrites them at its next change:
/// instances' backup.yaml. Each fsync on a busy disk costs 5 to 15 ms.
pub fn atomic_replace(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    replace(path, data, mode, false)
}

fn replace(path: &Path, data: &[u8], mode: u32, durable: bool) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .ok_or_else(|| Error::internal(format!("{} has no parent", path.display())))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp{}-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("f"),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    // A file of the same name left by a killed process of the same pid.
    let _ = std::fs::remove_file(&tmp);
    let write = || -> Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(mode)
            .open(&tmp)
            .map_err(|e| Error::internal(format!("Write {}: {e}", tmp.display())))?;
        f.write_all(data)
            .and_then(|()| if durable { f.sync_all() } else { Ok(()) })
            .map_err(|e| Error::internal(format!("Write {}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, path)
            .map_err(|e| Error::internal(format!("Rename into {}: {e}", path.display())))
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if durable {
        fsync_dir(dir)?;
    }
    Ok(())
}

/// Fsyncs a directory, so the names created, renamed or removed in it are on disk.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::internal(format!("Sync {}: {e}", dir.display())))
}

/// Removes a tree without crossing into other filesystems (a bind mount left inside a
/// rootfs must never make us delete the host's files: found before anything is
/// removed). Missing is fine. The files go first, then the directories, deepest first.
pub fn remove_tree(path: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if !meta.is_dir() {
        std::fs::remove_file(path)?;
        return Ok(());
    }
    let (mut files, mut dirs) = (Vec::new(), vec![(0, path.to_path_buf())]);
    collect_on_dev(path, meta.dev(), 1, &mut files, &mut dirs)?;
    // One after another: unlinks in one directory all take its lock, and threads
    // measured slower here (docs/performance.md).
    for f in &files {
        match std::fs::remove_file(f) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    dirs.sort_by_key(|d| std::cmp::Reverse(d.0));
    for (_, d) in dirs {
        std::fs::remove_dir(d)?;
    }
    Ok(())
}

fn collect_on_dev(
    dir: &Path,
    dev: u64,
    depth: usize,
    files: &mut Vec<std::path::PathBuf>,
    dirs: &mut Vec<(usize, std::path::PathBuf)>,
) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let p = entry.path();
        // The type from the directory entry (no stat) but for directories.
        if entry.file_type()?.is_dir() {
            let m = std::fs::symlink_metadata(&p)?;
            if m.dev() != dev {
                return Err(Error::invalid(format!(
                    "Refusing to remove {}: another filesystem is mounted there",
                    p.display()
                )));
            }
            collect_on_dev(&p, dev, depth + 1, files, dirs)?;
            dirs.push((depth, p));
        } else {
            files.push(p);
        }
    }
    Ok(())
}

/// Bytes used by a tree (allocated blocks), not following symlinks or mounts.
pub fn disk_usage(path: &Path) -> u64 {
    fn walk(p: &Path, dev: u64) -> u64 {
        let Ok(m) = std::fs::symlink_metadata(p) else {
            return 0;
        };
        let mut total = m.blocks() * 512;
        if m.is_dir() && m.dev() == dev {
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    total += walk(&e.path(), dev);
                }
            }
        }
        total
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) => walk(path, m.dev()),
        Err(_) => 0,
    }
}

/// Reads a small text file (of /proc, cgroupfs, a run directory) into a page-sized
/// buffer: open, one read, the read that sees the end, close. (`fs::read_to_string`
/// also asks for the size and the offset first and, as /proc and cgroupfs report 0,
/// then reads in small probing steps; a list reads several such files per instance.)
pub fn read_small(path: impl AsRef<Path>) -> std::io::Result<String> {
    String::from_utf8(read_small_bytes(path)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// [`read_small`] as bytes.
pub fn read_small_bytes(path: impl AsRef<Path>) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(len * 2, 0);
        }
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// Swaps two paths atomically (`renameat2(RENAME_EXCHANGE)`): at every instant each
/// name holds one of the two trees, so a crash never leaves either name missing.
pub fn exchange(a: &Path, b: &Path) -> Result<()> {
    use std::os::fd::BorrowedFd;
    let (ca, cb) = (crate::ffi::c_path(a)?, crate::ffi::c_path(b)?);
    // SAFETY: AT_FDCWD is a valid "descriptor" for the *at calls for the whole call.
    let cwd = unsafe { BorrowedFd::borrow_raw(libc::AT_FDCWD) };
    crate::at::renameat2(cwd, &ca, cwd, &cb, libc::RENAME_EXCHANGE)
        .map_err(|e| Error::internal(format!("Exchange {} and {}: {e}", a.display(), b.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_remove_tree_cleans() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a/b/state.json");
        atomic_write(&f, b"one", 0o600).unwrap();
        atomic_write(&f, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"two");
        atomic_replace(&f, b"three", 0o640).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"three");
        remove_tree(&dir.path().join("missing")).unwrap();
    }

    /// Names in `dir` that look like atomic_write's temporary files.
    fn temps(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp"))
            .collect()
    }

    #[test]
    fn a_failed_atomic_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // The rename fails: a non-empty directory sits at the target.
        let target = dir.path().join("state.json");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("x"), b"x").unwrap();
        assert!(atomic_write(&target, b"data", 0o600).is_err());
        assert_eq!(temps(dir.path()), Vec::<String>::new());
        assert!(target.join("x").is_file(), "the target is untouched");
        // A success leaves none either, and two writes in a row use distinct names.
        let f = dir.path().join("ok");
        atomic_write(&f, b"1", 0o600).unwrap();
        atomic_write(&f, b"2", 0o600).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"2");
        assert_eq!(temps(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn remove_tree_never_follows_a_symlink_out() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("keep"), b"x").unwrap();
        let tree = dir.path().join("tree/sub");
        std::fs::create_dir_all(&tree).unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("link")).unwrap();
        remove_tree(&dir.path().join("tree")).unwrap();
        assert!(!dir.path().join("tree").exists());
        assert!(
            outside.join("keep").is_file(),
            "the link's target is untouched"
        );
    }

    /// Many files in nested directories; a tree with a
    /// mount inside is refused before anything in it is removed.
    #[test]
    fn remove_tree_many_files_and_a_mount_inside() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        for i in 0..10 {
            let d = tree.join(format!("d{i}/e"));
            std::fs::create_dir_all(&d).unwrap();
            for j in 0..30 {
                std::fs::write(d.join(format!("f{j}")), b"x").unwrap();
                std::os::unix::fs::symlink("f0", d.join(format!("l{j}"))).unwrap();
            }
        }
        remove_tree(&tree).unwrap();
        assert!(!tree.exists());
        let tree = dir.path().join("mounted");
        std::fs::create_dir_all(tree.join("a/mnt")).unwrap();
        std::fs::write(tree.join("a/keep"), b"x").unwrap();
        let c = crate::ffi::c_path(&tree.join("a/mnt")).unwrap();
        let t = std::ffi::CString::new("tmpfs").unwrap();
        // SAFETY: valid C strings (the tests run as root).
        let mounted =
            unsafe { libc::mount(t.as_ptr(), c.as_ptr(), t.as_ptr(), 0, std::ptr::null()) } == 0;
        if mounted {
            std::fs::write(tree.join("a/mnt/host"), b"x").unwrap();
            assert!(remove_tree(&tree).is_err());
            assert!(tree.join("a/keep").is_file(), "nothing removed");
            assert!(tree.join("a/mnt/host").is_file());
            // SAFETY: valid C string.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
            remove_tree(&tree).unwrap();
        }
        assert!(mounted, "mount tmpfs: {}", std::io::Error::last_os_error());
    }

    #[test]
    fn read_small_reads_past_the_first_buffer() {
        let dir = std::env::temp_dir().join(format!("read-small-{}", std::process::id()));
        let data: String = (0..3000).map(|i| format!("{i}\n")).collect();
        std::fs::write(&dir, &data).unwrap();
        let got = super::read_small(&dir);
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(got.unwrap(), data);
        let mounts = super::read_small("/proc/self/mounts").unwrap();
        assert_eq!(
            mounts,
            std::fs::read_to_string("/proc/self/mounts").unwrap()
        );
        assert!(super::read_small("/nonexistent/x").is_err());
    }

    #[test]
    fn exchange_swaps_two_trees() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::create_dir(&a).unwrap();
        std::fs::write(a.join("f"), b"a").unwrap();
        std::fs::create_dir(&b).unwrap();
        exchange(&a, &b).unwrap();
        assert!(b.join("f").is_file());
        assert!(!a.join("f").exists());
        assert!(exchange(&a, &d.path().join("missing")).is_err());
    }
}
