//! Files inside an instance (`file push/pull/create/delete/edit`, REST `.../files`).
//!
//! Every path is resolved with `openat2(RESOLVE_IN_ROOT)` against the instance's
//! rootfs, and every final operation is an `*at` call on the resolved parent with one
//! plain name: absolute symlinks, `..` and symlinked directories planted by the guest
//! all stay inside the rootfs. The rootfs is stored unshifted (the runtime mounts it
//! idmapped), so the uid and gid on disk are the ones the guest sees; the same holds
//! for privileged instances. Works the same for running and stopped instances (the
//! host view of the rootfs: paths under a disk device's mount point are not reached).

use crate::{instance, Context, Error, Result};
use incus_sys::ffi::c_bytes;
use incus_sys::{at, inroot};
use std::ffi::CString;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The type of an entry, with upstream's `X-Incus-type` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Directory,
    Symlink,
}

impl FileKind {
    /// Upstream's name (`file`, `directory`, `symlink`).
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Directory => "directory",
            FileKind::Symlink => "symlink",
        }
    }

    /// Parses upstream's name.
    pub fn parse(s: &str) -> Result<FileKind> {
        match s {
            "file" => Ok(FileKind::File),
            "directory" => Ok(FileKind::Directory),
            "symlink" => Ok(FileKind::Symlink),
            _ => Err(Error::invalid(format!(
                "Invalid file type \"{s}\" (file, directory or symlink)"
            ))),
        }
    }
}

/// What `get` found (upstream's `X-Incus-*` headers plus the listing or link target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub kind: FileKind,
    /// Owner as the guest sees it.
    pub uid: u32,
    pub gid: u32,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
    pub size: u64,
    /// Names in a directory, sorted.
    pub entries: Vec<String>,
    /// Target of a symlink.
    pub target: String,
}

/// What `put` writes. `None` keeps an existing entry's value, or takes the default
/// for a new one (uid/gid 0, mode 0644 for files and 0755 for directories).
#[derive(Debug, Clone)]
pub struct FilePut {
    pub kind: FileKind,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub mode: Option<u32>,
    /// Symlink target (kind `Symlink`).
    pub target: String,
    /// Append instead of truncating (upstream's `X-Incus-write: append`).
    pub append: bool,
    /// Create missing parent directories (mode 0750 as upstream's `-p`, and the owner
    /// given for the entry).
    pub make_parents: bool,
    /// Replace an existing entry of another type (or an existing symlink).
    pub force: bool,
}

impl FilePut {
    /// A regular file with defaults.
    pub fn file() -> FilePut {
        FilePut {
            kind: FileKind::File,
            uid: None,
            gid: None,
            mode: None,
            target: String::new(),
            append: false,
            make_parents: false,
            force: false,
        }
    }
}

/// A path inside the instance made of plain names: `.` and empty parts dropped, `..`
/// applied lexically and clamped at the root (as upstream's `filepath.Clean`). The
/// kernel resolves what remains inside the rootfs anyway; this only guarantees that
/// the last part is a real name that `*at` calls can act on.
fn clean(path: &str) -> Result<Vec<String>> {
    let p = clean_bytes(path.as_bytes())
        .map_err(|_| Error::invalid("Paths cannot contain NUL bytes"))?;
    Ok(p.components()
        .skip(1)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect())
}

fn join(parts: &[String]) -> PathBuf {
    let mut p = PathBuf::from("/");
    for c in parts {
        p.push(c);
    }
    p
}

fn io_err(path: &Path, e: io::Error) -> Error {
    let shown = path.display();
    match e.raw_os_error() {
        Some(libc::ENOENT) => Error::not_found(format!("No such file or directory: {shown}")),
        Some(libc::EEXIST) => Error::conflict(format!("{shown} already exists")),
        Some(libc::ENOTDIR) => {
            Error::invalid(format!("{shown}: a path component is not a directory"))
        }
        Some(libc::EISDIR) => Error::invalid(format!("{shown} is a directory")),
        Some(libc::ENOTEMPTY) => Error::invalid(format!(
            "{shown} is a non-empty directory (use --force to delete it with its contents)"
        )),
        Some(libc::ELOOP) => Error::invalid(format!("{shown}: too many levels of symbolic links")),
        _ => Error::internal(format!("{shown}: {e}")),
    }
}

fn cname(name: &str) -> io::Result<CString> {
    c_bytes(name.as_bytes())
}

pub(crate) use at::fstat;

fn lstat_at(dir: BorrowedFd<'_>, name: &str) -> io::Result<Option<libc::stat>> {
    let c = cname(name)?;
    match at::fstatat(dir, &c, libc::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(st)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

fn kind_of(st: &libc::stat) -> Option<FileKind> {
    match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => Some(FileKind::File),
        libc::S_IFDIR => Some(FileKind::Directory),
        libc::S_IFLNK => Some(FileKind::Symlink),
        _ => None,
    }
}

/// chown through an O_PATH or normal descriptor (never follows a symlink).
fn chown_fd(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // AT_EMPTY_PATH: fchownat acts on the descriptor itself.
    at::fchownat(
        fd,
        c"",
        uid,
        gid,
        libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
    )
}

fn chmod_fd(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    // An open (not O_PATH) descriptor.
    at::fchmod(fd, mode)
}

/// Creates a new regular file at `path` inside `root` with `access` flags. A final
/// symlink whose target does not exist yet is followed and its target created, inside
/// the root (`..` stops at the root, absolute targets start there), as upstream does for
/// a push through a link the guest made; any other existing name is refused (EEXIST),
/// and only a regular file is ever returned.
fn create_in_root(
    root: BorrowedFd<'_>,
    path: &Path,
    access: libc::c_int,
    mode: u32,
) -> io::Result<OwnedFd> {
    match inroot::open_in_root(root, path, access | libc::O_CREAT | libc::O_EXCL, mode) {
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
            let link = inroot::open_in_root(root, path, libc::O_PATH | libc::O_NOFOLLOW, 0)?;
            if fstat(link.as_fd())?.st_mode & libc::S_IFMT != libc::S_IFLNK {
                return Err(e);
            }
            // Without O_EXCL the kernel follows the link (resolved in the root).
            let fd = inroot::open_in_root(
                root,
                path,
                access | libc::O_CREAT | libc::O_NONBLOCK | libc::O_NOCTTY,
                mode,
            )?;
            if fstat(fd.as_fd())?.st_mode & libc::S_IFMT != libc::S_IFREG {
                return Err(io::Error::other("not a regular file"));
            }
            Ok(fd)
        }
        r => r,
    }
}

/// The rootfs of an instance, opened as the root of every lookup.
fn root_of(ctx: &Context, name: &str) -> Result<OwnedFd> {
    let row = instance::get_row(ctx, name)?;
    let rootfs = instance::rootfs_path(ctx, &row);
    inroot::open_root(&rootfs).map_err(|e| {
        Error::internal(format!(
            "Instance \"{name}\": rootfs {}: {e}",
            rootfs.display()
        ))
    })
}

/// Reads one entry: a file's bytes go to `out`; a directory gives its names, a
/// symlink its target (the link itself, as upstream: never followed).
pub fn get(ctx: &Context, name: &str, path: &str, out: &mut dyn Write) -> Result<FileInfo> {
    let (info, file) = open_get(ctx, name, path)?;
    if let Some(mut f) = file {
        let p = join(&clean(path)?);
        io::copy(&mut f, out).map_err(|e| io_err(&p, e))?;
    }
    Ok(info)
}

/// [`get`] without the copy: a file comes back open, for a caller that streams it
/// (`incus-serve` never holds a whole file in memory).
pub fn open_get(
    ctx: &Context,
    name: &str,
    path: &str,
) -> Result<(FileInfo, Option<std::fs::File>)> {
    if crate::vm::is_vm(&instance::get_row(ctx, name)?) {
        return crate::vm::file_get(ctx, name, &join(&clean(path)?).to_string_lossy());
    }
    let root = root_of(ctx, name)?;
    let parts = clean(path)?;
    let p = join(&parts);
    // O_PATH | O_NOFOLLOW: the last part is looked at, not followed.
    let fd = inroot::open_in_root(root.as_fd(), &p, libc::O_PATH | libc::O_NOFOLLOW, 0)
        .map_err(|e| io_err(&p, e))?;
    let st = fstat(fd.as_fd()).map_err(|e| io_err(&p, e))?;
    let kind = kind_of(&st).ok_or_else(|| {
        Error::unsupported(format!(
            "{}: only files, directories and symlinks can be read",
            p.display()
        ))
    })?;
    let mut info = FileInfo {
        kind,
        uid: st.st_uid,
        gid: st.st_gid,
        mode: st.st_mode & 0o7777,
        size: st.st_size as u64,
        entries: vec![],
        target: String::new(),
    };
    // Reopen the very inode through our own descriptor (never through the path again).
    let proc_path = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    match kind {
        FileKind::Symlink => {
            // An empty name reads the O_PATH link itself.
            let buf = at::readlinkat(fd.as_fd(), c"").map_err(|e| io_err(&p, e))?;
            info.target = String::from_utf8_lossy(&buf).into_owned();
        }
        FileKind::Directory => {
            let mut names: Vec<String> = std::fs::read_dir(&proc_path)
                .map_err(|e| io_err(&p, e))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            info.entries = names;
        }
        FileKind::File => {
            let f = std::fs::File::open(&proc_path).map_err(|e| io_err(&p, e))?;
            return Ok((info, Some(f)));
        }
    }
    Ok((info, None))
}

/// The parent directory of `parts` (resolved in the root) and the last name; missing
/// parents are made when asked.
fn parent_of(
    root: BorrowedFd<'_>,
    parts: &[String],
    put: Option<&FilePut>,
) -> Result<(OwnedFd, String)> {
    let (last, dirs) = parts
        .split_last()
        .ok_or_else(|| Error::invalid("The instance's root directory itself cannot be changed"))?;
    let dflags = libc::O_PATH | libc::O_DIRECTORY;
    let full = join(dirs);
    match inroot::open_in_root(root, &full, dflags, 0) {
        Ok(fd) => return Ok((fd, last.clone())),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) && put.is_some_and(|p| p.make_parents) => {
        }
        Err(e) => return Err(io_err(&full, e)),
    }
    let put = put.expect("checked above");
    let mut dir = inroot::open_in_root(root, Path::new("/"), dflags, 0)
        .map_err(|e| io_err(Path::new("/"), e))?;
    for (i, d) in dirs.iter().enumerate() {
        let here = join(&dirs[..=i]);
        let c = cname(d).map_err(|e| io_err(&here, e))?;
        match at::mkdirat(dir.as_fd(), &c, 0o750) {
            Ok(()) => {
                let sub = inroot::open_in_root(root, &here, dflags | libc::O_NOFOLLOW, 0)
                    .map_err(|e| io_err(&here, e))?;
                chown_fd(sub.as_fd(), put.uid.unwrap_or(0), put.gid.unwrap_or(0))
                    .map_err(|e| io_err(&here, e))?;
            }
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(io_err(&here, e)),
        }
        // The next step resolves in the root again (an existing symlink stays inside).
        dir = inroot::open_in_root(root, &here, dflags, 0).map_err(|e| io_err(&here, e))?;
    }
    Ok((dir, last.clone()))
}

/// Writes one entry (a file from `input`, a directory, or a symlink).
pub fn put(
    ctx: &Context,
    name: &str,
    path: &str,
    put: &FilePut,
    input: &mut dyn Read,
) -> Result<()> {
    if crate::vm::is_vm(&instance::get_row(ctx, name)?) {
        return crate::vm::file_put(
            ctx,
            name,
            &join(&clean(path)?).to_string_lossy(),
            put,
            input,
        );
    }
    let root = root_of(ctx, name)?;
    let parts = clean(path)?;
    let p = join(&parts);
    let (dir, last) = parent_of(root.as_fd(), &parts, Some(put))?;
    let c = cname(&last).map_err(|e| io_err(&p, e))?;
    let existing = lstat_at(dir.as_fd(), &last).map_err(|e| io_err(&p, e))?;
    let existing_kind = existing.as_ref().and_then(kind_of);
    if let Some(st) = &existing {
        let same = existing_kind == Some(put.kind)
            // A file written through an existing symlink lands on its target, inside.
            || (put.kind == FileKind::File && existing_kind == Some(FileKind::Symlink) && !put.force);
        if !same {
            if !put.force {
                return Err(Error::conflict(format!(
                    "{} already exists as a {} (use --force to replace it)",
                    p.display(),
                    existing_kind
                        .map(FileKind::as_str)
                        .unwrap_or("special file")
                )));
            }
            let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
            remove_at(dir.as_fd(), &last, is_dir, true).map_err(|e| io_err(&p, e))?;
        }
    }
    let keep = |cur: Option<u32>, new: Option<u32>, default: u32| new.or(cur).unwrap_or(default);
    let cur = existing
        .as_ref()
        .filter(|_| existing_kind == Some(put.kind));
    let uid = keep(cur.map(|s| s.st_uid), put.uid, 0);
    let gid = keep(cur.map(|s| s.st_gid), put.gid, 0);
    match put.kind {
        FileKind::File => {
            let mode = keep(cur.map(|s| s.st_mode & 0o7777), put.mode, 0o644);
            // Resolve first (a final symlink is followed, inside the root) and write
            // only to a regular file: never open a device or fifo the guest planted.
            let f = match inroot::open_in_root(root.as_fd(), &p, libc::O_PATH, 0) {
                Ok(fd) => {
                    let st = fstat(fd.as_fd()).map_err(|e| io_err(&p, e))?;
                    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
                        return Err(Error::invalid(format!(
                            "{} is not a regular file",
                            p.display()
                        )));
                    }
                    // Reopen that very inode through our descriptor.
                    std::fs::OpenOptions::new()
                        .write(true)
                        .append(put.append)
                        .truncate(!put.append)
                        .open(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                        .map_err(|e| io_err(&p, e))?
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => std::fs::File::from(
                    create_in_root(root.as_fd(), &p, libc::O_WRONLY, mode)
                        .map_err(|e| io_err(&p, e))?,
                ),
                Err(e) => return Err(io_err(&p, e)),
            };
            // Owner first: chown clears setuid/setgid bits that chmod then restores.
            chown_fd(f.as_fd(), uid, gid).map_err(|e| io_err(&p, e))?;
            chmod_fd(f.as_fd(), mode).map_err(|e| io_err(&p, e))?;
            let mut f = f;
            io::copy(input, &mut f).map_err(|e| io_err(&p, e))?;
        }
        FileKind::Directory => {
            let mode = keep(cur.map(|s| s.st_mode & 0o7777), put.mode, 0o755);
            if cur.is_none() {
                at::mkdirat(dir.as_fd(), &c, 0o700).map_err(|e| io_err(&p, e))?;
            }
            let fd = inroot::open_in_root(
                root.as_fd(),
                &p,
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                0,
            )
            .map_err(|e| io_err(&p, e))?;
            chown_fd(fd.as_fd(), uid, gid).map_err(|e| io_err(&p, e))?;
            chmod_fd(fd.as_fd(), mode).map_err(|e| io_err(&p, e))?;
        }
        FileKind::Symlink => {
            if put.target.is_empty() {
                return Err(Error::invalid("A symlink needs a target"));
            }
            if existing_kind == Some(FileKind::Symlink) {
                if !put.force {
                    return Err(Error::conflict(format!(
                        "{} already exists (use --force to replace it)",
                        p.display()
                    )));
                }
                remove_at(dir.as_fd(), &last, false, false).map_err(|e| io_err(&p, e))?;
            }
            let t = cname(&put.target).map_err(|e| io_err(&p, e))?;
            at::symlinkat(&t, dir.as_fd(), &c).map_err(|e| io_err(&p, e))?;
            let fd = inroot::open_in_root(root.as_fd(), &p, libc::O_PATH | libc::O_NOFOLLOW, 0)
                .map_err(|e| io_err(&p, e))?;
            chown_fd(fd.as_fd(), uid, gid).map_err(|e| io_err(&p, e))?;
        }
    }
    Ok(())
}

/// Removes `name` in `dir`; a directory's contents too when `recursive`, without
/// ever following a symlink or leaving the filesystem of the directory.
fn remove_at(dir: BorrowedFd<'_>, name: &str, is_dir: bool, recursive: bool) -> io::Result<()> {
    let c = cname(name)?;
    if is_dir && recursive {
        // O_NOFOLLOW refuses a swapped-in symlink.
        let sub = at::openat(
            dir,
            &c,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0,
        )?;
        let raw = sub.as_raw_fd();
        let dev = fstat(sub.as_fd())?.st_dev;
        let names: Vec<_> = std::fs::read_dir(format!("/proc/self/fd/{raw}"))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        for n in names {
            let n = n.to_string_lossy().into_owned();
            let Some(st) = lstat_at(sub.as_fd(), &n)? else {
                continue;
            };
            let child_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
            if child_dir && st.st_dev != dev {
                return Err(io::Error::other(format!(
                    "refusing to cross into another filesystem at {n}"
                )));
            }
            remove_at(sub.as_fd(), &n, child_dir, true)?;
        }
    }
    let flags = if is_dir { libc::AT_REMOVEDIR } else { 0 };
    at::unlinkat(dir, &c, flags)
}

/// Deletes one entry (a symlink itself, never its target); a non-empty directory only
/// when `recursive` (`file delete -f`).
pub fn delete(ctx: &Context, name: &str, path: &str, recursive: bool) -> Result<()> {
    let root = root_of(ctx, name)?;
    let parts = clean(path)?;
    let p = join(&parts);
    let (dir, last) = parent_of(root.as_fd(), &parts, None)?;
    let st = lstat_at(dir.as_fd(), &last)
        .map_err(|e| io_err(&p, e))?
        .ok_or_else(|| Error::not_found(format!("No such file or directory: {}", p.display())))?;
    let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
    remove_at(dir.as_fd(), &last, is_dir, recursive).map_err(|e| io_err(&p, e))
}

/// An instance's rootfs opened once, for sessions of many operations (the SFTP
/// endpoint). Paths are bytes (guest names need not be UTF-8), cleaned as [`clean`]
/// does and resolved in the root; errors keep their errno for the protocol's codes.
pub struct Rootfs {
    root: OwnedFd,
}

/// What `set_attrs` changes (`None`: left alone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetAttrs {
    pub size: Option<u64>,
    /// uid and gid as the guest sees them (the rootfs is stored unshifted).
    pub owner: Option<(u32, u32)>,
    /// Permission bits (`0o7777` at most).
    pub mode: Option<u32>,
    /// (atime, mtime) in seconds.
    pub times: Option<(i64, i64)>,
}

fn errno(e: libc::c_int) -> io::Error {
    io::Error::from_raw_os_error(e)
}

/// `/` plus the cleaned parts of a guest path (`..` clamped at the root).
pub fn clean_bytes(path: &[u8]) -> io::Result<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    if path.contains(&0) {
        return Err(errno(libc::EINVAL));
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in path.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut p = PathBuf::from("/");
    for c in parts {
        p.push(std::ffi::OsStr::from_bytes(c));
    }
    Ok(p)
}

/// The descriptor's own path in /proc (it names that very inode, whatever happens to
/// the path it was resolved from).
fn proc_fd(fd: BorrowedFd<'_>) -> CString {
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("no NUL")
}

impl Rootfs {
    /// The rootfs of an instance (running or stopped: the host view of its files).
    pub fn open(ctx: &Context, name: &str) -> Result<Rootfs> {
        if crate::vm::is_vm(&instance::get_row(ctx, name)?) {
            return Err(Error::unsupported(
                "Files of virtual machines go through their agent (file push/pull); SFTP to a VM is not supported yet",
            ));
        }
        Ok(Rootfs {
            root: root_of(ctx, name)?,
        })
    }

    /// Any trusted host directory as the root.
    pub fn from_dir(dir: &Path) -> io::Result<Rootfs> {
        Ok(Rootfs {
            root: inroot::open_root(dir)?,
        })
    }

    fn at(&self, path: &[u8], flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
        inroot::open_in_root(self.root.as_fd(), &clean_bytes(path)?, flags, mode)
    }

    /// An `O_PATH` descriptor of `path`; a final symlink is followed (inside the root)
    /// or, without `follow`, is what the descriptor names.
    pub fn resolve(&self, path: &[u8], follow: bool) -> io::Result<OwnedFd> {
        let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
        self.at(path, libc::O_PATH | nofollow, 0)
    }

    /// stat (`follow`) or lstat of a path.
    pub fn stat(&self, path: &[u8], follow: bool) -> io::Result<libc::stat> {
        fstat(self.resolve(path, follow)?.as_fd())
    }

    /// statvfs of the filesystem holding `path`.
    pub fn statvfs(&self, path: &[u8]) -> io::Result<libc::statvfs> {
        let fd = self.resolve(path, true)?;
        at::fstatvfs(fd.as_fd())
    }

    /// The parent directory (resolved in the root) and the last name: what the `*at`
    /// calls act on. The root itself has no parent (EPERM).
    fn parent(&self, path: &[u8]) -> io::Result<(OwnedFd, CString)> {
        let p = clean_bytes(path)?;
        let name = p.file_name().ok_or_else(|| errno(libc::EPERM))?;
        let name = CString::new(std::os::unix::ffi::OsStrExt::as_bytes(name))
            .map_err(|_| errno(libc::EINVAL))?;
        let dir = p.parent().unwrap_or(Path::new("/"));
        let fd = inroot::open_in_root(self.root.as_fd(), dir, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        Ok((fd, name))
    }

    /// Opens a regular file with `flags` (access mode, `O_APPEND`, `O_TRUNC`, `O_CREAT`,
    /// `O_EXCL`), or a directory read-only; a new file gets exactly `mode` (no umask).
    /// Nothing else is ever opened: a device or fifo the guest planted is refused.
    pub fn open_file(
        &self,
        path: &[u8],
        flags: libc::c_int,
        mode: u32,
    ) -> io::Result<std::fs::File> {
        let access = flags & (libc::O_ACCMODE | libc::O_APPEND | libc::O_TRUNC);
        let create = flags & libc::O_CREAT != 0;
        match self.resolve(path, true) {
            Ok(fd) => {
                if create && flags & libc::O_EXCL != 0 {
                    return Err(errno(libc::EEXIST));
                }
                let st = fstat(fd.as_fd())?;
                let read_only = access == libc::O_RDONLY;
                let access = match st.st_mode & libc::S_IFMT {
                    libc::S_IFREG => access,
                    // Clients open a path before they look at its type (as open(2) can).
                    libc::S_IFDIR if read_only => access | libc::O_DIRECTORY,
                    libc::S_IFDIR => return Err(errno(libc::EISDIR)),
                    _ => return Err(io::Error::other("not a regular file")),
                };
                // Reopen that very inode through our descriptor (never the path again).
                let c = proc_fd(fd.as_fd());
                let fd = at::open(
                    &c,
                    access | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC,
                    0,
                )?;
                Ok(std::fs::File::from(fd))
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && create => {
                // A name that appeared meanwhile is refused rather than opened; a
                // dangling symlink is followed inside the root (unless O_EXCL).
                let mode = mode & 0o7777;
                let fd = if flags & libc::O_EXCL != 0 {
                    self.at(path, access | libc::O_CREAT | libc::O_EXCL, mode)?
                } else {
                    create_in_root(self.root.as_fd(), &clean_bytes(path)?, access, mode)?
                };
                chmod_fd(fd.as_fd(), mode)?;
                Ok(std::fs::File::from(fd))
            }
            Err(e) => Err(e),
        }
    }

    /// The entries of a directory (a final symlink followed inside the root), without
    /// `.` and `..`, each with its lstat.
    pub fn read_dir(&self, path: &[u8]) -> io::Result<Vec<(Vec<u8>, libc::stat)>> {
        use std::os::unix::ffi::OsStrExt;
        let dir = self.at(path, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
        let proc_path = format!("/proc/self/fd/{}", dir.as_raw_fd());
        let mut out = Vec::new();
        for e in std::fs::read_dir(proc_path)? {
            let e = e?;
            let name = e.file_name();
            let c = CString::new(name.as_bytes()).map_err(|_| errno(libc::EINVAL))?;
            // An entry removed meanwhile is skipped.
            if let Ok(st) = at::fstatat(dir.as_fd(), &c, libc::AT_SYMLINK_NOFOLLOW) {
                out.push((name.as_bytes().to_vec(), st));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// mkdir with exactly `mode` (no umask).
    pub fn mkdir(&self, path: &[u8], mode: u32) -> io::Result<()> {
        let (dir, name) = self.parent(path)?;
        at::mkdirat(dir.as_fd(), &name, 0o700)?;
        // O_NOFOLLOW refuses a swapped-in symlink.
        let fd = at::openat(
            dir.as_fd(),
            &name,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0,
        )?;
        chmod_fd(fd.as_fd(), mode & 0o7777)
    }

    /// Removes a non-directory (a symlink itself, never its target).
    pub fn remove(&self, path: &[u8]) -> io::Result<()> {
        let (dir, name) = self.parent(path)?;
        at::unlinkat(dir.as_fd(), &name, 0)
    }

    /// Removes an empty directory.
    pub fn rmdir(&self, path: &[u8]) -> io::Result<()> {
        let (dir, name) = self.parent(path)?;
        at::unlinkat(dir.as_fd(), &name, libc::AT_REMOVEDIR)
    }

    /// Renames; an existing target is replaced only when `replace`.
    pub fn rename(&self, from: &[u8], to: &[u8], replace: bool) -> io::Result<()> {
        let (fd, fname) = self.parent(from)?;
        let (td, tname) = self.parent(to)?;
        let flags = if replace { 0 } else { libc::RENAME_NOREPLACE };
        at::renameat2(fd.as_fd(), &fname, td.as_fd(), &tname, flags)
    }

    /// A hard link `to` of `from` (a symlink at `from` is linked itself).
    pub fn link(&self, from: &[u8], to: &[u8]) -> io::Result<()> {
        let (fd, fname) = self.parent(from)?;
        let (td, tname) = self.parent(to)?;
        at::linkat(fd.as_fd(), &fname, td.as_fd(), &tname, 0)
    }

    /// A symlink at `link` holding `target` verbatim (resolved in the root when used).
    pub fn symlink(&self, target: &[u8], link: &[u8]) -> io::Result<()> {
        let t = CString::new(target).map_err(|_| errno(libc::EINVAL))?;
        let (dir, name) = self.parent(link)?;
        at::symlinkat(&t, dir.as_fd(), &name)
    }

    /// The target of a symlink.
    pub fn readlink(&self, path: &[u8]) -> io::Result<Vec<u8>> {
        let fd = self.resolve(path, false)?;
        // An empty name reads the O_PATH link itself.
        at::readlinkat(fd.as_fd(), c"")
    }

    /// Changes what `a` asks of the inode behind `fd` (an `O_PATH` descriptor from
    /// [`Rootfs::resolve`] or an open file): owner first, as chown clears the
    /// setuid/setgid bits that the mode then sets.
    pub fn set_attrs(fd: BorrowedFd<'_>, a: &SetAttrs) -> io::Result<()> {
        let st = fstat(fd)?;
        let is_link = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
        let c = proc_fd(fd);
        if let Some(size) = a.size {
            if st.st_mode & libc::S_IFMT != libc::S_IFREG {
                return Err(errno(libc::EINVAL));
            }
            // Through our own descriptor's /proc path (no open).
            at::truncate(&c, size)?;
        }
        if let Some((uid, gid)) = a.owner {
            chown_fd(fd, uid, gid)?;
        }
        if let (Some(mode), false) = (a.mode, is_link) {
            // Through our own descriptor's /proc path (works for O_PATH).
            at::chmod(&c, mode & 0o7777)?;
        }
        if let (Some((atime, mtime)), false) = (a.times, is_link) {
            // The path is our descriptor's.
            at::set_times(&c, atime, mtime)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_clamps_at_root() {
        assert_eq!(clean("/a/./b//c/").unwrap(), ["a", "b", "c"]);
        assert_eq!(clean("../../etc/passwd").unwrap(), ["etc", "passwd"]);
        assert_eq!(clean("/a/../../b").unwrap(), ["b"]);
        assert!(clean("/").unwrap().is_empty());
        assert!(clean("a\0b").is_err());
    }
}
