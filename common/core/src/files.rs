//! Files inside an instance (the REST `files` API): read, write and delete paths of the
//! rootfs without ever leaving it. Every path is resolved with `openat2` and
//! `RESOLVE_IN_ROOT` from a descriptor of the rootfs, so `..` and symlinks (absolute
//! or relative) stay inside it. The rootfs holds container ids as they are (it is
//! idmapped at mount time), so ownership is written as given.

use crate::{instance, Context, Error, Result};
use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Directory,
    Symlink,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Directory => "directory",
            FileKind::Symlink => "symlink",
        }
    }
    pub fn parse(s: &str) -> Result<FileKind> {
        match s {
            "" | "file" => Ok(FileKind::File),
            "directory" => Ok(FileKind::Directory),
            "symlink" => Ok(FileKind::Symlink),
            _ => Err(Error::invalid(format!("Invalid file type \"{s}\""))),
        }
    }
}

/// A path read from an instance.
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub kind: FileKind,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    /// File content, or the symlink's target.
    pub content: Vec<u8>,
    /// Directory entries, sorted.
    pub entries: Vec<String>,
}

/// How to write a path.
#[derive(Debug, Clone)]
pub struct PushOptions {
    pub kind: FileKind,
    /// Owner inside the instance; `None` leaves it (root for new paths).
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Permission bits; `None` leaves them (0644 or 0755 for new paths).
    pub mode: Option<u32>,
    pub append: bool,
}

fn errno_err(what: &str, path: &str) -> Error {
    let e = std::io::Error::last_os_error();
    let kind = match e.raw_os_error() {
        Some(libc::ENOENT) => crate::ErrorKind::NotFound,
        Some(libc::EEXIST) | Some(libc::ENOTEMPTY) => crate::ErrorKind::Conflict,
        Some(libc::EXDEV) | Some(libc::ELOOP) | Some(libc::ENOTDIR) | Some(libc::EISDIR) => {
            crate::ErrorKind::Invalid
        }
        _ => crate::ErrorKind::Internal,
    };
    Error::new(kind, format!("{what} {path}: {e}"))
}

fn rootfs(ctx: &Context, name: &str) -> Result<OwnedFd> {
    let row = instance::get_row(ctx, name)?;
    let p = instance::rootfs_path(ctx, &row);
    let c = CString::new(p.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::internal("rootfs path with NUL"))?;
    // SAFETY: open with a valid C string; the result is checked.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(errno_err("Open rootfs of", name));
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The kernel's `struct open_how` (libc's is non-exhaustive).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// `openat2(root, path, flags)` confined to `root`.
fn open_in(root: &OwnedFd, path: &str, flags: i32, mode: u32) -> Result<OwnedFd> {
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    let c = CString::new(rel).map_err(|_| Error::invalid("Path with NUL"))?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: if flags & libc::O_CREAT != 0 {
            mode as u64
        } else {
            0
        },
        resolve: libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
    };
    // SAFETY: openat2 with a valid dirfd, C string and open_how of the right size.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return Err(errno_err("Open", path));
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The parent directory (confined) and the last component of `path`.
fn parent_of(root: &OwnedFd, path: &str) -> Result<(OwnedFd, CString)> {
    let trimmed = path.trim_end_matches('/');
    let (dir, leaf) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
    if leaf.is_empty() || leaf == "." || leaf == ".." {
        return Err(Error::invalid(format!("Invalid path \"{path}\"")));
    }
    let dirfd = open_in(root, dir, libc::O_PATH | libc::O_DIRECTORY, 0)?;
    let leaf = CString::new(leaf).map_err(|_| Error::invalid("Path with NUL"))?;
    Ok((dirfd, leaf))
}

fn proc_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// Reads a path: a file's content, a directory's entries or a symlink's target.
pub fn pull(ctx: &Context, name: &str, path: &str) -> Result<FileInfo> {
    if !path.starts_with('/') {
        return Err(Error::invalid("The path must be absolute"));
    }
    let root = rootfs(ctx, name)?;
    let fd = open_in(&root, path, libc::O_PATH | libc::O_NOFOLLOW, 0)?;
    let mut info = FileInfo {
        kind: FileKind::File,
        uid: 0,
        gid: 0,
        mode: 0,
        content: vec![],
        entries: vec![],
    };
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat on our descriptor into a zeroed struct.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(errno_err("Stat", path));
    }
    {
        info.uid = st.st_uid;
        info.gid = st.st_gid;
        info.mode = st.st_mode & 0o7777;
        match st.st_mode & libc::S_IFMT {
            libc::S_IFLNK => {
                info.kind = FileKind::Symlink;
                let mut buf = vec![0u8; 4096];
                let empty = CString::default();
                // SAFETY: readlinkat on an O_PATH symlink descriptor with an empty path.
                let n = unsafe {
                    libc::readlinkat(
                        fd.as_raw_fd(),
                        empty.as_ptr(),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                    )
                };
                if n < 0 {
                    return Err(errno_err("Read link", path));
                }
                buf.truncate(n as usize);
                info.content = buf;
                return Ok(info);
            }
            libc::S_IFDIR => {
                info.kind = FileKind::Directory;
                let dir = open_in(&root, path, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
                let mut entries: Vec<String> = std::fs::read_dir(proc_path(&dir))?
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                entries.sort();
                info.entries = entries;
                return Ok(info);
            }
            libc::S_IFREG => {}
            _ => return Err(Error::invalid(format!("{path} is not a regular file"))),
        }
    }
    let file = open_in(&root, path, libc::O_RDONLY | libc::O_NOFOLLOW, 0)?;
    std::fs::File::from(file).read_to_end(&mut info.content)?;
    Ok(info)
}

/// Writes a file, makes a directory or a symlink (`data` is then the target).
pub fn push(ctx: &Context, name: &str, path: &str, data: &[u8], opts: &PushOptions) -> Result<()> {
    if !path.starts_with('/') {
        return Err(Error::invalid("The path must be absolute"));
    }
    let _lock = ctx.lock_instance(name)?;
    let root = rootfs(ctx, name)?;
    let (dir, leaf) = parent_of(&root, path)?;
    let (uid, gid) = (opts.uid.unwrap_or(u32::MAX), opts.gid.unwrap_or(u32::MAX));
    match opts.kind {
        FileKind::File => {
            let mode = opts.mode.unwrap_or(0o644);
            let flags = libc::O_WRONLY
                | libc::O_CREAT
                | libc::O_NOFOLLOW
                | libc::O_CLOEXEC
                | if opts.append {
                    libc::O_APPEND
                } else {
                    libc::O_TRUNC
                };
            // SAFETY: openat on our directory descriptor with a single component.
            let fd = unsafe { libc::openat(dir.as_raw_fd(), leaf.as_ptr(), flags, mode) };
            if fd < 0 {
                return Err(errno_err("Write", path));
            }
            // SAFETY: a fresh descriptor we own.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            // SAFETY: fchown/fchmod on our descriptor (u32::MAX is -1: unchanged).
            unsafe {
                if libc::fchown(fd.as_raw_fd(), uid, gid) != 0
                    || (opts.mode.is_some() && libc::fchmod(fd.as_raw_fd(), mode) != 0)
                {
                    return Err(errno_err("Set owner of", path));
                }
            }
            std::fs::File::from(fd).write_all(data)?;
        }
        FileKind::Directory => {
            let mode = opts.mode.unwrap_or(0o755);
            // SAFETY: mkdirat with a single component.
            if unsafe { libc::mkdirat(dir.as_raw_fd(), leaf.as_ptr(), mode) } != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EEXIST) {
                    return Err(errno_err("Create directory", path));
                }
            }
            // SAFETY: fchownat without following a symlink at the leaf.
            if unsafe {
                libc::fchownat(
                    dir.as_raw_fd(),
                    leaf.as_ptr(),
                    uid,
                    gid,
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            } != 0
            {
                return Err(errno_err("Set owner of", path));
            }
        }
        FileKind::Symlink => {
            let target =
                CString::new(data).map_err(|_| Error::invalid("Symlink target with NUL"))?;
            // SAFETY: symlinkat with a single component.
            if unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), leaf.as_ptr()) } != 0 {
                return Err(errno_err("Create symlink", path));
            }
            // SAFETY: fchownat of the link itself.
            if unsafe {
                libc::fchownat(
                    dir.as_raw_fd(),
                    leaf.as_ptr(),
                    uid,
                    gid,
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            } != 0
            {
                return Err(errno_err("Set owner of", path));
            }
        }
    }
    Ok(())
}

/// Removes a file, a symlink or an empty directory.
pub fn delete(ctx: &Context, name: &str, path: &str) -> Result<()> {
    if !path.starts_with('/') {
        return Err(Error::invalid("The path must be absolute"));
    }
    let _lock = ctx.lock_instance(name)?;
    let root = rootfs(ctx, name)?;
    let (dir, leaf) = parent_of(&root, path)?;
    // SAFETY: unlinkat with a single component.
    if unsafe { libc::unlinkat(dir.as_raw_fd(), leaf.as_ptr(), 0) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EISDIR) {
            return Err(errno_err("Delete", path));
        }
        // SAFETY: as above, for a directory.
        if unsafe { libc::unlinkat(dir.as_raw_fd(), leaf.as_ptr(), libc::AT_REMOVEDIR) } != 0 {
            return Err(errno_err("Delete", path));
        }
    }
    Ok(())
}
