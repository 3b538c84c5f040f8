//! Whole trees in and out of tarballs: the instance backups of upstream's format
//! (`backup/index.yaml`, `backup/container/...`, `backup/snapshots/NAME/...`) and the
//! unified images made by `publish`.
//!
//! Packing walks a directory without following symlinks and stores numeric owners as
//! they are on disk (rootfs are stored unshifted, as upstream's tarballs hold them),
//! modes, mtimes, symlinks verbatim and hard links once. Sockets and device nodes are
//! left out (unpacking skips device nodes anyway; the runtime provides `/dev`).
//!
//! Unpacking reuses the image extractor (no `..`, no absolute names, nothing written
//! through a symlink, hard links only inside the subtree) with a byte budget, so a
//! tarball bomb is refused before it fills the pool.

use std::collections::HashMap;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::format::sniff;
use crate::format::FileKind;
use crate::unpack::{scan_tar, Extractor, Route};

/// Compression of a tarball we write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PackCompression {
    /// Plain tar.
    None,
    /// gzip (upstream's default for backups and images).
    #[default]
    Gzip,
    /// xz.
    Xz,
}

impl PackCompression {
    /// Parses upstream's `--compression` names; the ones we cannot read back are refused.
    pub fn parse(s: &str) -> Result<PackCompression> {
        match s {
            "none" | "" => Ok(PackCompression::None),
            "gzip" | "gz" => Ok(PackCompression::Gzip),
            "xz" => Ok(PackCompression::Xz),
            other => Err(Error::Unsupported(format!(
                "compression {other:?} is not supported (use none, gzip or xz)"
            ))),
        }
    }

    /// The usual file suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            PackCompression::None => ".tar",
            PackCompression::Gzip => ".tar.gz",
            PackCompression::Xz => ".tar.xz",
        }
    }
}

enum Enc<W: Write> {
    Plain(W),
    Gzip(flate2::write::GzEncoder<W>),
    Xz(liblzma::write::XzEncoder<W>),
}

impl<W: Write> Write for Enc<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Enc::Plain(w) => w.write(buf),
            Enc::Gzip(w) => w.write(buf),
            Enc::Xz(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Enc::Plain(w) => w.flush(),
            Enc::Gzip(w) => w.flush(),
            Enc::Xz(w) => w.flush(),
        }
    }
}

/// A tarball being written.
pub struct TreeWriter<W: Write> {
    tar: tar::Builder<Enc<W>>,
    out: PathBuf,
}

impl<W: Write> TreeWriter<W> {
    /// Starts a tarball on `w`; `name` only names it in errors.
    pub fn new(w: W, compression: PackCompression, name: &Path) -> TreeWriter<W> {
        let enc = match compression {
            PackCompression::None => Enc::Plain(w),
            PackCompression::Gzip => Enc::Gzip(flate2::write::GzEncoder::new(
                w,
                flate2::Compression::default(),
            )),
            PackCompression::Xz => Enc::Xz(liblzma::write::XzEncoder::new(w, 6)),
        };
        let mut tar = tar::Builder::new(enc);
        tar.follow_symlinks(false);
        TreeWriter {
            tar,
            out: name.to_path_buf(),
        }
    }

    fn err(&self, e: io::Error) -> Error {
        Error::io(&self.out, e)
    }

    /// Adds a regular file from memory (root-owned).
    pub fn add_bytes(&mut self, path: &str, bytes: &[u8], mode: u32, mtime: u64) -> Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(bytes.len() as u64);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        self.tar
            .append_data(&mut h, path, bytes)
            .map_err(|e| self.err(e))
    }

    /// Adds `root` (a directory) and everything below it under the name `prefix`.
    pub fn add_tree(&mut self, prefix: &str, root: &Path) -> Result<()> {
        let mut links: HashMap<(u64, u64), PathBuf> = HashMap::new();
        self.add_entry(Path::new(prefix), root, &mut links)
    }

    fn add_entry(
        &mut self,
        name: &Path,
        path: &Path,
        links: &mut HashMap<(u64, u64), PathBuf>,
    ) -> Result<()> {
        let meta = std::fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
        let ft = meta.file_type();
        if ft.is_socket() || ft.is_block_device() || ft.is_char_device() {
            return Ok(());
        }
        let mut h = tar::Header::new_gnu();
        h.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
        let werr = |e: io::Error| Error::io(path, e);
        if ft.is_dir() {
            h.set_size(0);
            self.tar
                .append_data(&mut h, name, io::empty())
                .map_err(werr)?;
            let mut children: Vec<_> = std::fs::read_dir(path)
                .map_err(werr)?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<io::Result<_>>()
                .map_err(werr)?;
            children.sort();
            for c in children {
                self.add_entry(&name.join(&c), &path.join(&c), links)?;
            }
            return Ok(());
        }
        if ft.is_symlink() {
            let target = std::fs::read_link(path).map_err(werr)?;
            h.set_size(0);
            return self.tar.append_link(&mut h, name, &target).map_err(werr);
        }
        if meta.nlink() > 1 {
            let key = (meta.dev(), meta.ino());
            if let Some(first) = links.get(&key) {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                let first = first.clone();
                return self.tar.append_link(&mut h, name, &first).map_err(werr);
            }
            links.insert(key, name.to_path_buf());
        }
        if ft.is_fifo() {
            h.set_size(0);
            return self
                .tar
                .append_data(&mut h, name, io::empty())
                .map_err(werr);
        }
        // Opened without following a symlink swapped in since the lstat.
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(werr)?;
        self.tar.append_data(&mut h, name, f).map_err(werr)
    }

    /// Ends the archive and the compression stream; returns the writer.
    pub fn finish(self) -> Result<W> {
        let out = self.out.clone();
        let enc = self.tar.into_inner().map_err(|e| Error::io(&out, e))?;
        match enc {
            Enc::Plain(w) => Ok(w),
            Enc::Gzip(g) => g.finish().map_err(|e| Error::io(&out, e)),
            Enc::Xz(x) => x.finish().map_err(|e| Error::io(&out, e)),
        }
    }
}

fn tar_kind(path: &Path) -> Result<crate::format::Compression> {
    match sniff(path)? {
        FileKind::Tar(c) => Ok(c),
        FileKind::Squashfs => Err(Error::corrupt(path, "expected a tarball, found squashfs")),
        FileKind::Qcow2 => Err(Error::corrupt(
            path,
            "expected a tarball, found a qcow2 disk",
        )),
    }
}

fn components(prefix: &str) -> Vec<Vec<u8>> {
    prefix
        .split('/')
        .filter(|c| !c.is_empty())
        .map(|c| c.as_bytes().to_vec())
        .collect()
}

/// Reads the regular file `name` (e.g. `backup/index.yaml`) of a tarball into memory
/// (at most 8 MiB); `None` when absent. Stops reading at the file.
pub fn read_member(path: &Path, name: &str) -> Result<Option<Vec<u8>>> {
    let c = tar_kind(path)?;
    let want = components(name);
    let route = |comps: &[Vec<u8>]| {
        if comps == want.as_slice() {
            Route::Metadata
        } else {
            Route::Skip
        }
    };
    let stop = |s: &crate::unpack::Scan| s.metadata.is_some();
    let scan = scan_tar(path, c, &route, None, None, Some(&stop))?;
    Ok(scan.metadata)
}

/// Unpacks the entries below `prefix` of a tarball into `dest`, an existing empty
/// directory (a fresh volume). They go first into a private directory inside `dest`,
/// whose children are renamed into place when everything succeeded; on any error
/// that directory is removed and `dest` is left empty. `budget` bounds the bytes of
/// file data written. Returns false when the tarball has nothing below `prefix`.
pub fn unpack_subtree(path: &Path, prefix: &str, dest: &Path, budget: Option<u64>) -> Result<bool> {
    let c = tar_kind(path)?;
    let want = components(prefix);
    let route = |comps: &[Vec<u8>]| {
        if comps.len() >= want.len() && comps[..want.len()] == want[..] {
            Route::Extract(comps[want.len()..].to_vec())
        } else {
            Route::Skip
        }
    };
    let staging = tempfile::Builder::new()
        .prefix(".unpack-")
        .tempdir_in(dest)
        .map_err(|e| Error::io(dest, e))?;
    let mut x = Extractor::new(staging.path())?;
    x.set_budget(budget);
    let scan = scan_tar(path, c, &route, Some(&mut x), None, None)?;
    if !scan.matched {
        return Ok(false);
    }
    x.finish()?;
    let rd = std::fs::read_dir(staging.path()).map_err(|e| Error::io(staging.path(), e))?;
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(staging.path(), e))?;
        let to = dest.join(ent.file_name());
        std::fs::rename(ent.path(), &to).map_err(|e| Error::io(&to, e))?;
    }
    drop(staging);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn sample(root: &Path) {
        std::fs::create_dir_all(root.join("rootfs/etc")).unwrap();
        std::fs::write(root.join("rootfs/etc/a"), b"alpha").unwrap();
        std::fs::hard_link(root.join("rootfs/etc/a"), root.join("rootfs/etc/a2")).unwrap();
        std::os::unix::fs::symlink("/etc/a", root.join("rootfs/abs")).unwrap();
        std::fs::write(root.join("metadata.yaml"), b"x: 1\n").unwrap();
    }

    #[test]
    fn pack_then_unpack_a_subtree_round_trips() {
        for c in [
            PackCompression::None,
            PackCompression::Gzip,
            PackCompression::Xz,
        ] {
            let d = tempfile::tempdir().unwrap();
            let src = d.path().join("src");
            sample(&src);
            let tarball = d.path().join("t");
            let f = std::fs::File::create(&tarball).unwrap();
            let mut w = TreeWriter::new(f, c, &tarball);
            w.add_bytes("backup/index.yaml", b"name: x\n", 0o644, 0)
                .unwrap();
            w.add_tree("backup/container", &src).unwrap();
            w.finish().unwrap();
            assert_eq!(
                read_member(&tarball, "backup/index.yaml").unwrap().unwrap(),
                b"name: x\n"
            );
            assert_eq!(read_member(&tarball, "backup/none").unwrap(), None);
            let dest = d.path().join("dest");
            std::fs::create_dir(&dest).unwrap();
            assert!(unpack_subtree(&tarball, "backup/container", &dest, None).unwrap());
            assert_eq!(std::fs::read(dest.join("rootfs/etc/a")).unwrap(), b"alpha");
            let (a, b) = (
                std::fs::metadata(dest.join("rootfs/etc/a")).unwrap(),
                std::fs::metadata(dest.join("rootfs/etc/a2")).unwrap(),
            );
            assert_eq!(a.ino(), b.ino(), "hard links stay one file");
            assert_eq!(
                std::fs::read_link(dest.join("rootfs/abs")).unwrap(),
                Path::new("/etc/a")
            );
            // Nothing else in the destination (the staging directory is gone).
            let mut names: Vec<String> = std::fs::read_dir(&dest)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            assert_eq!(names, ["metadata.yaml", "rootfs"]);
            // A prefix with no entries: false, nothing written.
            let empty = d.path().join("empty");
            std::fs::create_dir(&empty).unwrap();
            assert!(!unpack_subtree(&tarball, "backup/snapshots/s", &empty, None).unwrap());
            assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
        }
    }

    #[test]
    fn the_budget_refuses_and_leaves_the_destination_empty() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        sample(&src);
        let tarball = d.path().join("t.tar");
        let f = std::fs::File::create(&tarball).unwrap();
        let mut w = TreeWriter::new(f, PackCompression::None, &tarball);
        w.add_tree("backup/container", &src).unwrap();
        w.finish().unwrap();
        let dest = d.path().join("dest");
        std::fs::create_dir(&dest).unwrap();
        let e = unpack_subtree(&tarball, "backup/container", &dest, Some(3)).unwrap_err();
        assert!(e.is_image_error(), "{e}");
        assert!(e.to_string().contains("more than 3 bytes"), "{e}");
        assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);
    }

    #[test]
    fn compression_names() {
        assert_eq!(
            PackCompression::parse("gzip").unwrap(),
            PackCompression::Gzip
        );
        assert_eq!(PackCompression::parse("none").unwrap().suffix(), ".tar");
        assert!(PackCompression::parse("zstd").is_err());
        assert!(PackCompression::parse("bzip2").is_err());
    }
}
