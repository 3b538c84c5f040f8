//! Safe, atomic extraction of image tarballs (and squashfs through `unsquashfs`).
//!
//! Rules (see the crate docs for the why):
//! - names with `..` or a leading `/` refuse the whole image;
//! - every parent directory is opened with `O_NOFOLLOW`, so nothing is written through a symlink;
//! - symlinks are created verbatim; hard links must name an earlier entry of the same tree, reached
//!   without symlinks, and never a directory;
//! - block and character devices are skipped: the runtime provides `/dev`, and an unprivileged
//!   container could not use image-provided nodes anyway, so no image needs them;
//! - fifos, modes (setuid included), ownership, mtimes and xattrs (best effort) are kept;
//! - everything happens in a temp dir next to the destination, renamed into place on success and
//!   removed on any error.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::format::{open_tar, read_error, Compression, ReadState};
use crate::metadata::MAX_METADATA_SIZE;
use crate::paths::split_path;
use crate::safefs::{self, c_bytes, walk, Dir, Kind, WalkError};

/// Progress callback: (bytes of the image file consumed, total bytes).
pub(crate) type Progress<'a> = Option<&'a dyn Fn(u64, u64)>;

/// Where an archive entry goes.
pub(crate) enum Route {
    /// Not wanted here.
    Skip,
    /// The image's `metadata.yaml`: captured in memory.
    Metadata,
    /// Into the destination at these components (empty = the destination root itself).
    Extract(Vec<Vec<u8>>),
}

/// Maps archive components to a [`Route`].
pub(crate) type Router<'a> = &'a dyn Fn(&[Vec<u8>]) -> Route;

/// Route for one top-level directory of a unified image (or of a split metadata tarball):
/// `metadata.yaml` is captured, `<prefix>/...` is extracted, the rest is skipped.
pub(crate) fn prefix_route(prefix: &'static str) -> impl Fn(&[Vec<u8>]) -> Route {
    move |comps: &[Vec<u8>]| {
        if comps.len() == 1 && comps[0] == b"metadata.yaml" {
            Route::Metadata
        } else if comps.first().map(|c| c.as_slice()) == Some(prefix.as_bytes()) {
            Route::Extract(comps[1..].to_vec())
        } else {
            Route::Skip
        }
    }
}

/// Route for a split rootfs tarball: everything is rootfs.
pub(crate) fn identity_route(comps: &[Vec<u8>]) -> Route {
    Route::Extract(comps.to_vec())
}

/// What a pass over a tarball found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Raw `metadata.yaml` (the last one, as tar would leave it).
    pub metadata: Option<Vec<u8>>,
    /// At least one entry was routed to `Extract`.
    pub matched: bool,
}

/// Read a tarball once, routing entries; extract them when an extractor is given.
/// `stop` ends the pass early (inspect); otherwise the stream is read to its very end so that the
/// decoder verifies its checksums and a truncated download is noticed.
pub(crate) fn scan_tar(
    path: &Path,
    compression: Compression,
    route: Router<'_>,
    mut extractor: Option<&mut Extractor>,
    progress: Progress<'_>,
    stop: Option<&dyn Fn(&Scan) -> bool>,
) -> Result<Scan> {
    let (reader, total, state) = open_tar(path, compression)?;
    let rerr = |e: io::Error| read_error(path, &state, e);
    let mut archive = tar::Archive::new(reader);
    let mut scan = Scan::default();
    let mut reported = 0;
    if let Some(p) = progress {
        p(0, total);
    }
    {
        let entries = archive.entries().map_err(rerr)?;
        for entry in entries {
            let mut entry = entry.map_err(rerr)?;
            let raw = entry.path_bytes().into_owned();
            let comps = split_path(&raw).map_err(|r| Error::unsafe_entry(&raw, r))?;
            let etype = entry.header().entry_type();
            // Global pax headers carry no file; device nodes are skipped by rule (module docs).
            if etype.is_pax_global_extensions()
                || etype.is_character_special()
                || etype.is_block_special()
            {
                continue;
            }
            match route(&comps) {
                Route::Skip => {}
                Route::Metadata => {
                    if !(etype.is_file() || etype.is_contiguous()) {
                        return Err(Error::InvalidMetadata(
                            "metadata.yaml is not a regular file".into(),
                        ));
                    }
                    if entry.size() > MAX_METADATA_SIZE {
                        return Err(Error::InvalidMetadata(format!(
                            "metadata.yaml is larger than {MAX_METADATA_SIZE} bytes"
                        )));
                    }
                    let mut buf = Vec::with_capacity(entry.size() as usize);
                    entry.read_to_end(&mut buf).map_err(rerr)?;
                    if buf.len() as u64 != entry.size() {
                        return Err(Error::corrupt(path, "truncated archive"));
                    }
                    scan.metadata = Some(buf);
                }
                Route::Extract(dest) => {
                    scan.matched = true;
                    if let Some(x) = extractor.as_deref_mut() {
                        x.entry(&mut entry, &raw, dest, route, path, &state)?;
                    }
                }
            }
            if let Some(p) = progress {
                // Report only when the position moved (entries are often smaller than a block).
                let done = state.bytes.get();
                if done != reported {
                    reported = done;
                    p(done, total);
                }
            }
            if let Some(stop) = stop {
                if stop(&scan) {
                    return Ok(scan);
                }
            }
        }
    }
    let mut inner = archive.into_inner();
    io::copy(&mut inner, &mut io::sink()).map_err(rerr)?;
    if let Some(p) = progress {
        p(total, total);
    }
    Ok(scan)
}

/// Ownership, mode and mtime of one entry.
#[derive(Debug, Clone, Copy)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
}

/// Writes entries into a private root directory.
pub(crate) struct Extractor {
    root: Dir,
    root_path: PathBuf,
    /// Directory metadata is applied at the end: adding entries would change mtimes, and a
    /// read-only mode would get in the way of a non-root caller. Later entries win, as in tar.
    dirs: BTreeMap<Vec<Vec<u8>>, Meta>,
    privileged: bool,
    /// The parent directory of the last entry (and its components), so the files of one
    /// directory do not re-walk the path each time. Only a child of it is ever removed (when an
    /// entry replaces another), so it stays valid.
    parent_comps: Vec<Vec<u8>>,
    parent: Dir,
    /// Copy buffer, reused across files.
    buf: Vec<u8>,
    /// Bytes of file data allowed (tarball bombs), and written so far.
    budget: Option<u64>,
    written: u64,
}

impl Extractor {
    /// Start extracting into `root_path` (an empty directory we own).
    pub fn new(root_path: &Path) -> Result<Self> {
        let root = Dir::open(root_path).map_err(|e| Error::io(root_path, e))?;
        let parent = root.try_clone().map_err(|e| Error::io(root_path, e))?;
        Ok(Extractor {
            root,
            root_path: root_path.to_path_buf(),
            dirs: BTreeMap::new(),
            privileged: safefs::is_root(),
            parent_comps: Vec::new(),
            parent,
            buf: vec![0u8; 128 << 10],
            budget: None,
            written: 0,
        })
    }

    /// Bounds the bytes of file data written (`None`: no bound).
    pub fn set_budget(&mut self, budget: Option<u64>) {
        self.budget = budget;
    }

    fn host_path(&self, comps: &[Vec<u8>]) -> PathBuf {
        let mut p = self.root_path.clone();
        for c in comps {
            p.push(String::from_utf8_lossy(c).as_ref());
        }
        p
    }

    fn io(&self, comps: &[Vec<u8>], e: io::Error) -> Error {
        Error::io(self.host_path(comps), e)
    }

    /// Ownership changes need root; without it they are skipped so tests and tools can still run.
    fn chown_result(&self, r: io::Result<()>, comps: &[Vec<u8>]) -> Result<()> {
        match r {
            Err(e) if self.privileged => Err(self.io(comps, e)),
            _ => Ok(()),
        }
    }

    /// Make `self.parent` the (created as needed) parent of `dest`; return the final name.
    fn enter_parent(&mut self, raw: &[u8], dest: &[Vec<u8>]) -> Result<CString> {
        let Some((last, parents)) = dest.split_last() else {
            return Err(Error::unsafe_entry(raw, "replaces the image root"));
        };
        let name = c_bytes(last).map_err(|e| self.io(dest, e))?;
        if self.parent_comps.as_slice() != parents {
            self.parent = walk(&self.root, parents, Some(0o755))
                .map_err(|e| self.walk_error(raw, dest, e))?;
            self.parent_comps = parents.to_vec();
        }
        Ok(name)
    }

    fn walk_error(&self, raw: &[u8], dest: &[Vec<u8>], e: WalkError) -> Error {
        match e {
            WalkError::NotADirectory(c) => Error::unsafe_entry(
                raw,
                format!(
                    "path goes through {:?}, which is a symlink or not a directory",
                    String::from_utf8_lossy(&c)
                ),
            ),
            WalkError::Missing(c) => Error::unsafe_entry(
                raw,
                format!("{:?} does not exist", String::from_utf8_lossy(&c)),
            ),
            WalkError::Io(e) => self.io(dest, e),
        }
    }

    /// Run `create` in the current parent; if the name exists, remove what is there (a later
    /// tar entry replaces an earlier one) and try once more. Removing never follows a symlink,
    /// and a non-empty directory is never replaced. An existing directory is kept (and `false`
    /// returned) when `keep_dir` is set, for repeated directory entries.
    fn create_replacing(
        &self,
        raw: &[u8],
        dest: &[Vec<u8>],
        name: &CStr,
        keep_dir: bool,
        mut create: impl FnMut(&Dir) -> io::Result<()>,
    ) -> Result<bool> {
        let dir = &self.parent;
        match create(dir) {
            Ok(()) => return Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(self.io(dest, e)),
        }
        match dir.lstat(name).map_err(|e| self.io(dest, e))? {
            None => {}
            Some(Kind::Dir) if keep_dir => return Ok(false),
            Some(Kind::Dir) => match dir.unlink(name, true) {
                Ok(()) => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST)) => {
                    return Err(Error::unsafe_entry(raw, "replaces a non-empty directory"))
                }
                Err(e) => return Err(self.io(dest, e)),
            },
            Some(_) => dir.unlink(name, false).map_err(|e| self.io(dest, e))?,
        }
        create(dir).map_err(|e| self.io(dest, e))?;
        Ok(true)
    }

    /// Extract one entry already routed to `dest`.
    pub(crate) fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        raw: &[u8],
        dest: Vec<Vec<u8>>,
        route: Router<'_>,
        src: &Path,
        state: &ReadState,
    ) -> Result<()> {
        let rerr = |e: io::Error| read_error(src, state, e);
        let bad = |what: &str, e: io::Error| {
            Error::corrupt(
                src,
                format!("{what} of {:?}: {e}", String::from_utf8_lossy(raw)),
            )
        };
        let header = entry.header();
        let etype = header.entry_type();
        let mut meta = Meta {
            mode: header.mode().map_err(|e| bad("mode", e))? & 0o7777,
            uid: u32::try_from(header.uid().map_err(|e| bad("uid", e))?)
                .map_err(|_| Error::corrupt(src, "uid out of range"))?,
            gid: u32::try_from(header.gid().map_err(|e| bad("gid", e))?)
                .map_err(|_| Error::corrupt(src, "gid out of range"))?,
            mtime: i64::try_from(header.mtime().map_err(|e| bad("mtime", e))?).unwrap_or(i64::MAX),
        };
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        let mut xattrs = Vec::new();
        if let Some(exts) = entry.pax_extensions().map_err(rerr)? {
            for ext in exts {
                let ext = ext.map_err(rerr)?;
                let key = ext.key_bytes();
                if key == b"mtime" {
                    // pax mtime is decimal seconds with an optional fraction.
                    let v = String::from_utf8_lossy(ext.value_bytes()).into_owned();
                    if let Ok(secs) = v.split('.').next().unwrap_or("").parse::<i64>() {
                        meta.mtime = secs;
                    }
                } else if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
                    xattrs.push((name.to_vec(), ext.value_bytes().to_vec()));
                }
            }
        }

        let is_dir = etype.is_dir() || (etype.is_file() && raw.last() == Some(&b'/'));
        if is_dir {
            self.directory(raw, dest, meta, &xattrs)
        } else if etype.is_file() || etype.is_contiguous() || etype.is_gnu_sparse() {
            self.file(entry, raw, &dest, meta, &xattrs, src, state)
        } else if etype.is_symlink() {
            let target = link
                .filter(|l| !l.is_empty())
                .ok_or_else(|| Error::corrupt(src, "symlink without a target"))?;
            self.symlink(raw, &dest, &target, meta)
        } else if etype.is_hard_link() {
            let target = link
                .filter(|l| !l.is_empty())
                .ok_or_else(|| Error::corrupt(src, "hard link without a target"))?;
            let tcomps = split_path(&target)
                .map_err(|r| Error::unsafe_entry(raw, format!("hard link target: {r}")))?;
            match route(&tcomps) {
                Route::Extract(t) => self.hard_link(raw, &dest, &t),
                _ => Err(Error::unsafe_entry(
                    raw,
                    "hard link target is outside the tree being unpacked",
                )),
            }
        } else if etype.is_fifo() {
            self.fifo(raw, &dest, meta)
        } else {
            Err(Error::corrupt(
                src,
                format!(
                    "unsupported tar entry type {:?} for {:?}",
                    etype,
                    String::from_utf8_lossy(raw)
                ),
            ))
        }
    }

    fn directory(
        &mut self,
        raw: &[u8],
        dest: Vec<Vec<u8>>,
        meta: Meta,
        xattrs: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<()> {
        if !dest.is_empty() {
            let name = self.enter_parent(raw, &dest)?;
            self.create_replacing(raw, &dest, &name, true, |d| d.mkdir(&name, 0o700))?;
            if !xattrs.is_empty() {
                let d = self.parent.open_dir(&name).map_err(|e| self.io(&dest, e))?;
                set_xattrs(&d, xattrs);
            }
        }
        self.dirs.insert(dest, meta);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn file<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        raw: &[u8],
        dest: &[Vec<u8>],
        meta: Meta,
        xattrs: &[(Vec<u8>, Vec<u8>)],
        src: &Path,
        state: &ReadState,
    ) -> Result<()> {
        let name = self.enter_parent(raw, dest)?;
        let mut file = None;
        self.create_replacing(raw, dest, &name, false, |d| {
            d.create_file(&name, 0o600).map(|f| file = Some(f))
        })?;
        let mut f = file.ok_or_else(|| self.io(dest, io::Error::other("file not created")))?;
        let expected = entry.size();
        if let Some(b) = self.budget {
            // The header's size is checked first, and the bytes really read below.
            if self.written.saturating_add(expected) > b {
                return Err(Error::unsafe_entry(
                    raw,
                    format!("the archive unpacks to more than {b} bytes (the space allowed)"),
                ));
            }
        }
        let mut buf = std::mem::take(&mut self.buf);
        let mut done: u64 = 0;
        let copied = loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(read_error(src, state, e)),
            };
            if let Err(e) = f.write_all(&buf[..n]) {
                break Err(self.io(dest, e));
            }
            done += n as u64;
        };
        self.buf = buf;
        copied?;
        // The entry reader just stops at end of input, so a short file means a cut-off archive.
        if done != expected {
            return Err(Error::corrupt(src, "truncated archive"));
        }
        self.written += done;
        self.chown_result(safefs::fchown(&f, meta.uid, meta.gid), dest)?;
        // After chown, which clears setuid/setgid.
        safefs::fchmod(&f, meta.mode).map_err(|e| self.io(dest, e))?;
        set_xattrs(&f, xattrs);
        safefs::futimens(&f, meta.mtime).map_err(|e| self.io(dest, e))?;
        Ok(())
    }

    fn symlink(&mut self, raw: &[u8], dest: &[Vec<u8>], target: &[u8], meta: Meta) -> Result<()> {
        let target = CString::new(target)
            .map_err(|_| Error::unsafe_entry(raw, "NUL byte in symlink target"))?;
        let name = self.enter_parent(raw, dest)?;
        self.create_replacing(raw, dest, &name, false, |d| d.symlink(&target, &name))?;
        self.chown_result(self.parent.lchown(&name, meta.uid, meta.gid), dest)?;
        self.parent
            .set_mtime(&name, meta.mtime)
            .map_err(|e| self.io(dest, e))?;
        Ok(())
    }

    fn hard_link(&mut self, raw: &[u8], dest: &[Vec<u8>], target: &[Vec<u8>]) -> Result<()> {
        let Some((tlast, tparents)) = target.split_last() else {
            return Err(Error::unsafe_entry(raw, "hard link to the image root"));
        };
        if dest == target {
            return Ok(());
        }
        let tdir = walk(&self.root, tparents, None).map_err(|e| match e {
            WalkError::NotADirectory(_) => Error::unsafe_entry(
                raw,
                "hard link target goes through a symlink or non-directory",
            ),
            WalkError::Missing(_) => Error::unsafe_entry(raw, "hard link target does not exist"),
            WalkError::Io(e) => self.io(target, e),
        })?;
        let tname = c_bytes(tlast).map_err(|e| self.io(target, e))?;
        match tdir.lstat(&tname).map_err(|e| self.io(target, e))? {
            None => {
                return Err(Error::unsafe_entry(
                    raw,
                    "hard link target does not exist (it must come earlier in the archive)",
                ))
            }
            Some(Kind::Dir) => return Err(Error::unsafe_entry(raw, "hard link to a directory")),
            Some(_) => {}
        }
        let name = self.enter_parent(raw, dest)?;
        self.create_replacing(raw, dest, &name, false, |d| {
            tdir.hard_link(&tname, d, &name)
        })?;
        Ok(())
    }

    fn fifo(&mut self, raw: &[u8], dest: &[Vec<u8>], meta: Meta) -> Result<()> {
        let name = self.enter_parent(raw, dest)?;
        self.create_replacing(raw, dest, &name, false, |d| d.mkfifo(&name, 0o600))?;
        self.chown_result(self.parent.lchown(&name, meta.uid, meta.gid), dest)?;
        self.parent
            .chmod(&name, meta.mode)
            .map_err(|e| self.io(dest, e))?;
        self.parent
            .set_mtime(&name, meta.mtime)
            .map_err(|e| self.io(dest, e))?;
        Ok(())
    }

    /// Apply deferred directory metadata. Without an entry for the root, the root just gets
    /// 0755 (the temp dir starts as 0700).
    pub fn finish(self) -> Result<()> {
        if !self.dirs.contains_key(&Vec::new()) {
            safefs::fchmod(&self.root, 0o755).map_err(|e| self.io(&[], e))?;
        }
        for (comps, meta) in &self.dirs {
            let dir = match comps.split_last() {
                None => self.root.try_clone().map_err(|e| self.io(comps, e))?,
                Some((last, parents)) => {
                    // A later entry may have replaced the directory (even by a symlink): skip it.
                    let Ok(parent) = walk(&self.root, parents, None) else {
                        continue;
                    };
                    let name = c_bytes(last).map_err(|e| self.io(comps, e))?;
                    match parent.open_dir(&name) {
                        Ok(d) => d,
                        Err(e)
                            if matches!(
                                e.raw_os_error(),
                                Some(libc::ENOENT | libc::ELOOP | libc::ENOTDIR)
                            ) =>
                        {
                            continue
                        }
                        Err(e) => return Err(self.io(comps, e)),
                    }
                }
            };
            self.chown_result(safefs::fchown(&dir, meta.uid, meta.gid), comps)?;
            safefs::fchmod(&dir, meta.mode).map_err(|e| self.io(comps, e))?;
            safefs::futimens(&dir, meta.mtime).map_err(|e| self.io(comps, e))?;
        }
        Ok(())
    }
}

/// xattrs are best effort: file systems and LSMs differ in what they accept, and no image we
/// care about depends on them to boot.
fn set_xattrs(fd: &impl std::os::fd::AsFd, xattrs: &[(Vec<u8>, Vec<u8>)]) {
    for (name, value) in xattrs {
        if let Ok(n) = CString::new(name.as_slice()) {
            let _ = safefs::fsetxattr(fd, &n, value);
        }
    }
}

/// A temp dir next to `dest` (same file system, so the final rename is atomic), after checking
/// that `dest` is absent or an empty directory.
pub(crate) fn staging_dir(dest: &Path) -> Result<tempfile::TempDir> {
    match std::fs::symlink_metadata(dest) {
        Ok(m) if m.is_dir() => {
            let mut it = std::fs::read_dir(dest).map_err(|e| Error::io(dest, e))?;
            if it.next().is_some() {
                return Err(Error::DestinationExists(dest.to_path_buf()));
            }
        }
        Ok(_) => return Err(Error::DestinationExists(dest.to_path_buf())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(dest, e)),
    }
    let name = dest.file_name().ok_or_else(|| {
        Error::io(
            dest,
            io::Error::new(io::ErrorKind::InvalidInput, "destination has no file name"),
        )
    })?;
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(&format!(".{}.unpack-", name.to_string_lossy()))
        .tempdir_in(parent)
        .map_err(|e| Error::io(parent, e))
}

/// Remove staging dirs that a killed unpack into `dest` left behind. Call it while holding the
/// lock of the object that owns `dest`, so that no unpack into `dest` is running.
pub fn remove_stale_staging(dest: &Path) -> Result<usize> {
    let Some(name) = dest.file_name() else {
        return Ok(0);
    };
    let prefix = format!(".{}.unpack-", name.to_string_lossy());
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let rd = match std::fs::read_dir(parent) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::io(parent, e)),
    };
    let mut removed = 0;
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(parent, e))?;
        if !ent.file_name().to_string_lossy().starts_with(&prefix) {
            continue;
        }
        let ft = ent.file_type().map_err(|e| Error::io(ent.path(), e))?;
        // remove_dir_all does not follow symlinks inside the tree.
        let r = if ft.is_dir() {
            std::fs::remove_dir_all(ent.path())
        } else {
            std::fs::remove_file(ent.path())
        };
        r.map_err(|e| Error::io(ent.path(), e))?;
        removed += 1;
    }
    Ok(removed)
}

/// Move the finished tree `from` (inside or equal to `staging`) to `dest`.
pub(crate) fn commit(staging: tempfile::TempDir, from: &Path, dest: &Path) -> Result<()> {
    if let Err(e) = std::fs::rename(from, dest) {
        return Err(match e.raw_os_error() {
            Some(libc::ENOTEMPTY | libc::EEXIST | libc::ENOTDIR | libc::EISDIR) => {
                Error::DestinationExists(dest.to_path_buf())
            }
            _ => Error::io(dest, e),
        });
    }
    if from == staging.path() {
        // Renamed away: nothing left to clean.
        let _ = staging.keep();
    }
    Ok(())
}

/// Unpack a squashfs rootfs with Debian's `unsquashfs` (squashfs-tools). We use the tool rather
/// than a crate because it is what upstream uses, it handles every compressor, and 4.5.1+ refuses
/// `..` names and writing through symlinks. Its output goes into a private temp dir next to
/// `dest`; then device nodes and sockets are removed (same rule as for tarballs) and the tree is
/// renamed into place.
pub(crate) fn unsquash(src: &Path, dest: &Path, progress: Progress<'_>) -> Result<()> {
    let total = std::fs::metadata(src).map_err(|e| Error::io(src, e))?.len();
    if let Some(p) = progress {
        p(0, total);
    }
    let staging = staging_dir(dest)?;
    let out = staging.path().join("rootfs");
    let output = Command::new("unsquashfs")
        .args(["-n", "-q", "-d"])
        .arg(&out)
        .arg(src)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Error::Unsupported(
                "squashfs images need unsquashfs (Debian package squashfs-tools)".into(),
            ))
        }
        Err(e) => {
            return Err(Error::Command {
                command: "unsquashfs".into(),
                reason: e.to_string(),
            })
        }
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(Error::corrupt(
            src,
            format!("unsquashfs failed ({}): {}", output.status, tail.join("; ")),
        ));
    }
    match std::fs::symlink_metadata(&out) {
        Ok(m) if m.is_dir() => {}
        _ => return Err(Error::corrupt(src, "squashfs root is not a directory")),
    }
    remove_special(&out)?;
    commit(staging, &out, dest)?;
    if let Some(p) = progress {
        p(total, total);
    }
    Ok(())
}

/// Remove block/char devices and sockets from a tree (never following symlinks).
fn remove_special(dir: &Path) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(dir, e))?;
        let ft = ent.file_type().map_err(|e| Error::io(ent.path(), e))?;
        if ft.is_dir() {
            remove_special(&ent.path())?;
        } else if ft.is_block_device() || ft.is_char_device() || ft.is_socket() {
            std::fs::remove_file(ent.path()).map_err(|e| Error::io(ent.path(), e))?;
        }
    }
    Ok(())
}

/// Open the image file `path` checking it exists, for clear "missing" errors.
pub(crate) fn check_exists(path: &Path, missing: impl FnOnce() -> Error) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(missing()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Read a whole regular file below `root` by components, never through a symlink.
pub(crate) fn read_in_tree(root: &Dir, comps: &[Vec<u8>], limit: u64) -> io::Result<Vec<u8>> {
    let Some((last, parents)) = comps.split_last() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty path"));
    };
    let dir = walk(root, parents, None).map_err(|e| match e {
        WalkError::NotADirectory(_) => io::Error::new(
            io::ErrorKind::InvalidInput,
            "path goes through a symlink or non-directory",
        ),
        WalkError::Missing(_) => io::Error::from(io::ErrorKind::NotFound),
        WalkError::Io(e) => e,
    })?;
    let f: File = dir.open_read(&c_bytes(last)?)?;
    let mut buf = Vec::new();
    f.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes"),
        ));
    }
    Ok(buf)
}
