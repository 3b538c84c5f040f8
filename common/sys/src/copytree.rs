//! A tree copy with `cp -a` semantics: owners, modes (setuid included), timestamps,
//! extended attributes, hard links, symlinks, device nodes, fifos and sockets. Regular
//! files go through `copy_file_range`, which reflinks where the filesystem can (the
//! kernel tries a clone first on the same filesystem). It stays on the source's
//! filesystem: a mount point inside the tree becomes an empty directory, as a rootfs
//! snapshot should not hold the host's files.
//!
//! Fast path: every entry is made relative to its directory's descriptor (`*at` calls,
//! no path walk per call), each file's owner, xattrs, mode and times are set on its
//! open descriptor, and directories are copied by a few threads at once (a work list
//! of directories). Directories get their owner, mode and times last, deepest first,
//! once nothing is created in them any more. No per-file fsync (the callers rename the
//! finished copy into place; see docs/performance.md).

use crate::ffi::{c_bytes, c_path};
use incus_api::{Error, Result};
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

/// What is copied of an entry's inode.
#[derive(Clone, Copy)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    dev: u64,
    ino: u64,
    nlink: u64,
    rdev: u64,
    size: i64,
    /// 512-byte blocks allocated: fewer than the size needs means holes.
    blocks: i64,
    times: [libc::timespec; 2],
}

impl Meta {
    fn from(st: &libc::stat) -> Meta {
        Meta {
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            dev: st.st_dev,
            ino: st.st_ino,
            nlink: st.st_nlink,
            rdev: st.st_rdev,
            size: st.st_size,
            blocks: st.st_blocks,
            times: [
                libc::timespec {
                    tv_sec: st.st_atime,
                    tv_nsec: st.st_atime_nsec,
                },
                libc::timespec {
                    tv_sec: st.st_mtime,
                    tv_nsec: st.st_mtime_nsec,
                },
            ],
        }
    }
    fn kind(&self) -> u32 {
        self.mode & libc::S_IFMT
    }
}

fn os_err(what: &str, p: &Path) -> Error {
    Error::internal(format!(
        "{what} {}: {}",
        p.display(),
        std::io::Error::last_os_error()
    ))
}

fn cpath(p: &Path) -> Result<CString> {
    c_path(p).map_err(|_| Error::invalid(format!("{} contains NUL", p.display())))
}

fn lstat(p: &Path) -> Result<Meta> {
    let c = cpath(p)?;
    // SAFETY: valid C string and out pointer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::lstat(c.as_ptr(), &mut st) } != 0 {
        return Err(os_err("Copy", p));
    }
    Ok(Meta::from(&st))
}

fn open_dir(p: &Path) -> Result<OwnedFd> {
    let c = cpath(p)?;
    // SAFETY: valid C string; the descriptor is owned below.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(os_err("Open", p));
    }
    // SAFETY: a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Copies `src` (a directory) to `dst`, which must not exist yet.
pub fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    let meta = lstat(src)?;
    if meta.kind() != libc::S_IFDIR {
        return Err(Error::invalid(format!(
            "Copy {}: not a directory",
            src.display()
        )));
    }
    // Created 0700 until the contents are in: nobody else sees a half-made tree.
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dst)
        .map_err(|e| Error::internal(format!("Create {}: {e}", dst.display())))?;
    copy_into(src, dst, &meta)
}

/// Copies the contents of directory `src` into the existing directory `dst` (a fresh
/// volume of another driver), then gives `dst` the source's owner, mode and times.
pub fn copy_contents(src: &Path, dst: &Path) -> Result<()> {
    let meta = lstat(src)?;
    copy_into(src, dst, &meta)
}

use std::os::unix::fs::DirBuilderExt;

/// A directory whose entries are still to be copied: all of them, or a chunk.
struct Job {
    src: PathBuf,
    dst: PathBuf,
    names: Option<Vec<std::ffi::OsString>>,
}

/// Entries per job: a large directory (busybox's /bin: ~300 symlinks) is shared out,
/// since each metadata change on a busy disk waits for the journal (0.1 to 1 ms), and
/// several threads wait at once (in different directories: creations in one directory
/// take its lock).
const CHUNK: usize = 24;

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// Workers copying a directory now (they may add jobs).
    busy: usize,
    error: Option<Error>,
}

struct Walk {
    dev: u64,
    queue: Mutex<Queue>,
    wake: Condvar,
    /// First copy of each multiply-linked inode (held while that copy is made).
    links: Mutex<HashMap<(u64, u64), PathBuf>>,
    /// Every directory made, with its depth, for the final metadata pass.
    dirs: Mutex<Vec<(usize, PathBuf, PathBuf, Meta)>>,
}

fn copy_into(src: &Path, dst: &Path, meta: &Meta) -> Result<()> {
    let walk = Walk {
        dev: meta.dev,
        queue: Mutex::new(Queue {
            jobs: vec![Job {
                src: src.to_path_buf(),
                dst: dst.to_path_buf(),
                names: None,
            }],
            ..Default::default()
        }),
        wake: Condvar::new(),
        links: Mutex::new(HashMap::new()),
        dirs: Mutex::new(Vec::new()),
    };
    // The threads mostly wait (journal, inode locks), not compute: twice the cores, at
    // most 4 (entries of one directory serialise on its lock anyway).
    let threads = std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(1)
        .clamp(2, 4);
    if threads == 1 {
        walk.work();
    } else {
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(|| walk.work());
            }
            walk.work();
        });
    }
    if let Some(e) = walk.queue.into_inner().unwrap().error {
        return Err(e);
    }
    let mut dirs = walk.dirs.into_inner().unwrap();
    // Deepest first: setting a child's times or mode does not touch its parent.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.0));
    for (_, s, d, m) in &dirs {
        finish_path(s, d, m)?;
    }
    finish_path(src, dst, meta)
}

impl Walk {
    fn work(&self) {
        loop {
            let job = {
                let mut q = self.queue.lock().unwrap();
                loop {
                    if q.error.is_some() {
                        return;
                    }
                    if let Some(j) = q.jobs.pop() {
                        q.busy += 1;
                        break j;
                    }
                    if q.busy == 0 {
                        return;
                    }
                    q = self.wake.wait(q).unwrap();
                }
            };
            let r = self.copy_dir(&job);
            let mut q = self.queue.lock().unwrap();
            q.busy -= 1;
            if let Err(e) = r {
                q.error.get_or_insert(e);
            }
            self.wake.notify_all();
        }
    }

    fn push(&self, job: Job) {
        let mut q = self.queue.lock().unwrap();
        q.jobs.push(job);
        self.wake.notify_one();
    }

    fn copy_dir(&self, job: &Job) -> Result<()> {
        let sfd = open_dir(&job.src)?;
        let dfd = open_dir(&job.dst)?;
        let depth = job.dst.components().count();
        let names = match &job.names {
            Some(n) => n.clone(),
            None => {
                let mut names = Vec::new();
                let rd = std::fs::read_dir(&job.src)
                    .map_err(|e| Error::internal(format!("Read {}: {e}", job.src.display())))?;
                for entry in rd {
                    let entry = entry
                        .map_err(|e| Error::internal(format!("Read {}: {e}", job.src.display())))?;
                    names.push(entry.file_name());
                }
                if names.len() > CHUNK {
                    for chunk in names[CHUNK..].chunks(CHUNK) {
                        self.push(Job {
                            src: job.src.clone(),
                            dst: job.dst.clone(),
                            names: Some(chunk.to_vec()),
                        });
                    }
                    names.truncate(CHUNK);
                }
                names
            }
        };
        for file_name in names {
            let name =
                c_bytes(file_name.as_bytes()).map_err(|_| Error::invalid("Name contains NUL"))?;
            let (s, d) = (job.src.join(&file_name), job.dst.join(&file_name));
            // SAFETY: valid descriptor, C string and out pointer.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            if unsafe {
                libc::fstatat(
                    sfd.as_raw_fd(),
                    name.as_ptr(),
                    &mut st,
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            } != 0
            {
                return Err(os_err("Copy", &s));
            }
            let m = Meta::from(&st);
            if m.kind() == libc::S_IFDIR {
                // SAFETY: valid descriptor and C string.
                if unsafe { libc::mkdirat(dfd.as_raw_fd(), name.as_ptr(), 0o700) } != 0 {
                    return Err(os_err("Create", &d));
                }
                self.dirs
                    .lock()
                    .unwrap()
                    .push((depth, s.clone(), d.clone(), m));
                // A mount point inside the tree stays an empty directory.
                if m.dev == self.dev {
                    self.push(Job {
                        src: s,
                        dst: d,
                        names: None,
                    });
                }
                continue;
            }
            if m.nlink > 1 {
                let mut links = self.links.lock().unwrap();
                if let Some(first) = links.get(&(m.dev, m.ino)) {
                    std::fs::hard_link(first, &d)
                        .map_err(|e| Error::internal(format!("Link {}: {e}", d.display())))?;
                    continue;
                }
                // Made while the map is held: another thread meeting the same inode
                // links to a complete file.
                copy_leaf(sfd.as_raw_fd(), dfd.as_raw_fd(), &name, &s, &d, &m)?;
                links.insert((m.dev, m.ino), d);
                continue;
            }
            copy_leaf(sfd.as_raw_fd(), dfd.as_raw_fd(), &name, &s, &d, &m)?;
        }
        Ok(())
    }
}

/// Copies a non-directory entry `name` of `sfd` into `dfd`, metadata included.
fn copy_leaf(sfd: RawFd, dfd: RawFd, name: &CStr, s: &Path, d: &Path, m: &Meta) -> Result<()> {
    match m.kind() {
        libc::S_IFREG => copy_file(sfd, dfd, name, s, d, m),
        libc::S_IFLNK => {
            let target = std::fs::read_link(s)
                .map_err(|e| Error::internal(format!("Read link {}: {e}", s.display())))?;
            let t = c_bytes(target.as_os_str().as_bytes())
                .map_err(|_| Error::invalid("Link target contains NUL"))?;
            // SAFETY: valid C strings and descriptor.
            if unsafe { libc::symlinkat(t.as_ptr(), dfd, name.as_ptr()) } != 0 {
                return Err(os_err("Symlink", d));
            }
            finish_at(dfd, name, s, d, m, true)
        }
        _ => {
            // Device nodes, fifos and sockets.
            // SAFETY: valid descriptor and C string; mode and rdev from the source.
            if unsafe {
                libc::mknodat(
                    dfd,
                    name.as_ptr(),
                    m.mode as libc::mode_t,
                    m.rdev as libc::dev_t,
                )
            } != 0
            {
                return Err(os_err("Mknod", d));
            }
            finish_at(dfd, name, s, d, m, false)
        }
    }
}

fn copy_file(sfd: RawFd, dfd: RawFd, name: &CStr, s: &Path, d: &Path, m: &Meta) -> Result<()> {
    let open = |dir: RawFd, flags: libc::c_int, p: &Path| -> Result<OwnedFd> {
        // SAFETY: valid descriptor and C string; the descriptor is owned below.
        let fd = unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_CLOEXEC, 0o600) };
        if fd < 0 {
            return Err(os_err("Open", p));
        }
        // SAFETY: a fresh descriptor.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    };
    let from = open(sfd, libc::O_RDONLY | libc::O_NOFOLLOW, s)?;
    let to = open(dfd, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, d)?;
    if m.size > 0 && m.blocks * 512 < m.size {
        // A file with holes (a VM's raw disk) keeps them.
        copy_sparse(&from, &to, m.size)
            .map_err(|e| Error::internal(format!("Copy {}: {e}", s.display())))?;
    } else if m.size > 0 {
        copy_data(&from, &to).map_err(|e| Error::internal(format!("Copy {}: {e}", s.display())))?;
    }
    let fd = to.as_raw_fd();
    // SAFETY: valid descriptor.
    if unsafe { libc::fchown(fd, m.uid, m.gid) } != 0 {
        return Err(os_err("Chown", d));
    }
    copy_xattrs(Xattrs::Fd(from.as_raw_fd()), Xattrs::Fd(fd), s, d)?;
    // SAFETY: valid descriptor.
    if unsafe { libc::fchmod(fd, m.mode & 0o7777) } != 0 {
        return Err(os_err("Chmod", d));
    }
    // SAFETY: valid descriptor and a two-element timespec array.
    if unsafe { libc::futimens(fd, m.times.as_ptr()) } != 0 {
        return Err(os_err("Set times of", d));
    }
    Ok(())
}

/// Copies the data extents only (SEEK_DATA/SEEK_HOLE, then `copy_file_range`), so
/// the holes of a sparse file stay holes.
fn copy_sparse(from: &OwnedFd, to: &OwnedFd, len: i64) -> std::io::Result<()> {
    let (src, dst) = (from.as_raw_fd(), to.as_raw_fd());
    // SAFETY: a valid descriptor.
    if unsafe { libc::ftruncate(dst, len) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut off: i64 = 0;
    while off < len {
        // SAFETY: lseek on a valid descriptor.
        let data = unsafe { libc::lseek(src, off, libc::SEEK_DATA) };
        if data < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENXIO) {
                break; // only a hole is left
            }
            return Err(e);
        }
        // SAFETY: as above.
        let hole = unsafe { libc::lseek(src, data, libc::SEEK_HOLE) };
        if hole < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let (mut f, mut t) = (data, data);
        while f < hole {
            // SAFETY: valid descriptors; the offsets are locals.
            let n =
                unsafe { libc::copy_file_range(src, &mut f, dst, &mut t, (hole - f) as usize, 0) };
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

/// The file's data: `copy_file_range` (a clone where the filesystem can), else
/// read/write (another filesystem on an old kernel, or one without the call).
fn copy_data(from: &OwnedFd, to: &OwnedFd) -> std::io::Result<()> {
    loop {
        // SAFETY: valid descriptors; null offsets use and move the file positions.
        let n = unsafe {
            libc::copy_file_range(
                from.as_raw_fd(),
                std::ptr::null_mut(),
                to.as_raw_fd(),
                std::ptr::null_mut(),
                1 << 30,
                0,
            )
        };
        if n == 0 {
            return Ok(());
        }
        if n < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EXDEV | libc::ENOSYS | libc::EOPNOTSUPP | libc::EINVAL) => break,
                _ => return Err(e),
            }
        }
    }
    // Whatever copy_file_range left (from the current positions on).
    let (mut f, mut t) = (
        std::fs::File::from(from.try_clone()?),
        std::fs::File::from(to.try_clone()?),
    );
    std::io::copy(&mut f, &mut t).map(drop)
}

/// Owner, xattrs, mode, then times of an entry made in `dfd` (in that order: chown
/// clears setuid bits and writing xattrs changes ctime/mtime on some filesystems).
fn finish_at(dfd: RawFd, name: &CStr, s: &Path, d: &Path, m: &Meta, symlink: bool) -> Result<()> {
    // SAFETY: valid descriptor and C string.
    if unsafe { libc::fchownat(dfd, name.as_ptr(), m.uid, m.gid, libc::AT_SYMLINK_NOFOLLOW) } != 0 {
        return Err(os_err("Chown", d));
    }
    copy_xattrs(Xattrs::Path(s), Xattrs::Path(d), s, d)?;
    // SAFETY: valid descriptor and C string (never a symlink here).
    if !symlink && unsafe { libc::fchmodat(dfd, name.as_ptr(), m.mode & 0o7777, 0) } != 0 {
        return Err(os_err("Chmod", d));
    }
    // SAFETY: valid descriptor, C string and a two-element timespec array.
    if unsafe {
        libc::utimensat(
            dfd,
            name.as_ptr(),
            m.times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    } != 0
    {
        return Err(os_err("Set times of", d));
    }
    Ok(())
}

/// [`finish_at`] of a directory, by path.
fn finish_path(s: &Path, d: &Path, m: &Meta) -> Result<()> {
    let c = cpath(d)?;
    // SAFETY: valid C string.
    if unsafe { libc::lchown(c.as_ptr(), m.uid, m.gid) } != 0 {
        return Err(os_err("Chown", d));
    }
    copy_xattrs(Xattrs::Path(s), Xattrs::Path(d), s, d)?;
    // SAFETY: valid C string.
    if unsafe { libc::chmod(c.as_ptr(), m.mode & 0o7777) } != 0 {
        return Err(os_err("Chmod", d));
    }
    // SAFETY: valid C string and a two-element timespec array.
    if unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            m.times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    } != 0
    {
        return Err(os_err("Set times of", d));
    }
    Ok(())
}

/// Where xattrs are read or written: an open file, or a path (not followed).
#[derive(Clone, Copy)]
enum Xattrs<'a> {
    Fd(RawFd),
    Path(&'a Path),
}

fn copy_xattrs(from: Xattrs, to: Xattrs, s: &Path, d: &Path) -> Result<()> {
    let (cs, cd) = (
        match from {
            Xattrs::Path(p) => Some(cpath(p)?),
            Xattrs::Fd(_) => None,
        },
        match to {
            Xattrs::Path(p) => Some(cpath(p)?),
            Xattrs::Fd(_) => None,
        },
    );
    let list = |buf: &mut [u8]| -> isize {
        // SAFETY: valid descriptor or C string; the buffer is valid for its length.
        unsafe {
            match (from, &cs) {
                (Xattrs::Fd(fd), _) => libc::flistxattr(fd, buf.as_mut_ptr().cast(), buf.len()),
                (_, Some(c)) => libc::llistxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()),
                _ => unreachable!(),
            }
        }
    };
    let mut names = vec![0u8; 1024];
    let len = loop {
        let n = list(&mut names);
        if n >= 0 {
            break n as usize;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::ERANGE) => names.resize(names.len() * 4, 0),
            Some(libc::ENOTSUP) => return Ok(()),
            _ => return Err(os_err("List xattrs of", s)),
        }
    };
    if len == 0 {
        return Ok(());
    }
    let mut value = vec![0u8; 4096];
    for name in names[..len].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let cname = CString::new(name).expect("split at NUL");
        let vlen = loop {
            // SAFETY: valid descriptor or C strings; the buffer is valid for its length.
            let n = unsafe {
                match (from, &cs) {
                    (Xattrs::Fd(fd), _) => {
                        libc::fgetxattr(fd, cname.as_ptr(), value.as_mut_ptr().cast(), value.len())
                    }
                    (_, Some(c)) => libc::lgetxattr(
                        c.as_ptr(),
                        cname.as_ptr(),
                        value.as_mut_ptr().cast(),
                        value.len(),
                    ),
                    _ => unreachable!(),
                }
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
        // SAFETY: valid descriptor or C strings; the value slice is valid for vlen bytes.
        let rc = unsafe {
            match (to, &cd) {
                (Xattrs::Fd(fd), _) => {
                    libc::fsetxattr(fd, cname.as_ptr(), value.as_ptr().cast(), vlen, 0)
                }
                (_, Some(c)) => {
                    libc::lsetxattr(c.as_ptr(), cname.as_ptr(), value.as_ptr().cast(), vlen, 0)
                }
                _ => unreachable!(),
            }
        };
        if rc != 0 {
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
    let (ca, cb) = (cpath(a)?, cpath(b)?);
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
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

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

    /// Many directories (copied by several threads), hard links across them, empty and
    /// large files, and every directory's times and modes as in the source.
    #[test]
    fn parallel_walk_keeps_links_data_and_directory_times() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        for i in 0..40 {
            let d = src.join(format!("d{i}/e{}", i % 3));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("f"), format!("file {i}")).unwrap();
            std::fs::write(d.join("empty"), b"").unwrap();
            std::os::unix::fs::symlink(format!("../../d{}/e0/f", (i + 1) % 40), d.join("l"))
                .unwrap();
        }
        std::fs::write(src.join("big"), &big).unwrap();
        for i in 0..40 {
            std::fs::hard_link(src.join("big"), src.join(format!("d{i}/big"))).unwrap();
        }
        for i in 0..40 {
            let p = src.join(format!("d{i}"));
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o750 + i % 8)).unwrap();
            let c = c_path(&p).unwrap();
            let t = [libc::timespec {
                tv_sec: 1_000_000 + i as i64,
                tv_nsec: 5,
            }; 2];
            assert_eq!(
                unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), t.as_ptr(), 0) },
                0
            );
        }
        let dst = dir.path().join("dst");
        copy_tree(&src, &dst).unwrap();
        let big_ino = std::fs::metadata(dst.join("big")).unwrap().ino();
        for i in 0..40 {
            let (s, d) = (src.join(format!("d{i}")), dst.join(format!("d{i}")));
            let (ms, md) = (
                std::fs::metadata(&s).unwrap(),
                std::fs::metadata(&d).unwrap(),
            );
            assert_eq!(
                (md.mode(), md.mtime(), md.mtime_nsec()),
                (ms.mode(), ms.mtime(), 5)
            );
            let e = d.join(format!("e{}", i % 3));
            assert_eq!(
                std::fs::read(e.join("f")).unwrap(),
                format!("file {i}").as_bytes()
            );
            assert_eq!(std::fs::metadata(e.join("empty")).unwrap().len(), 0);
            assert_eq!(
                std::fs::read_link(e.join("l")).unwrap(),
                Path::new(&format!("../../d{}/e0/f", (i + 1) % 40))
            );
            let m = std::fs::metadata(d.join("big")).unwrap();
            assert_eq!(m.ino(), big_ino, "one inode for every link");
        }
        assert_eq!(std::fs::metadata(dst.join("big")).unwrap().nlink(), 41);
        assert_eq!(std::fs::read(dst.join("big")).unwrap(), big);
        // The copy of a copy's contents into an existing directory.
        let again = dir.path().join("again");
        std::fs::create_dir(&again).unwrap();
        copy_contents(&dst, &again).unwrap();
        assert_eq!(std::fs::read(again.join("d7/big")).unwrap(), big);
        assert_eq!(
            std::fs::metadata(&again).unwrap().mode(),
            std::fs::metadata(&src).unwrap().mode()
        );
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
