//! The Incus image file format.
//!
//! An image is either **unified** (one tarball with `metadata.yaml`, `rootfs/` and optional
//! `templates/`) or **split** (a metadata tarball with `metadata.yaml` and `templates/`, plus a
//! rootfs that is a tarball or a squashfs). Tarballs may be plain, gzip or xz; the kind of every
//! file is recognised by its magic bytes, never by its name.
//!
//! This crate computes fingerprints exactly as upstream, reads and validates `metadata.yaml`,
//! unpacks rootfs and templates safely and atomically, renders templates, and builds a small
//! busybox image for tests.
//!
//! # Unpack safety
//!
//! Images are untrusted input. Unpacking refuses `..` and absolute names, never writes through a
//! symlink (each path component is opened with `O_NOFOLLOW` below the destination), only allows
//! hard links to earlier non-directory entries of the same tree, and skips device nodes (the
//! runtime provides `/dev`). It works in a temp dir next to the destination and renames it into
//! place only when everything succeeded, so a bad image leaves nothing behind.

#![warn(missing_docs)]

mod busybox;
mod error;
mod format;
mod metadata;
mod paths;
mod safefs;
mod template;
mod tree;
mod unpack;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use busybox::{build_busybox_image, BuildFormat, APPLETS};
pub use error::{Error, Result};
pub use metadata::{ImageMetadata, TemplateEntry, MAX_METADATA_SIZE};
pub use template::{render_templates, TemplateContext};
pub use tree::{read_member, unpack_subtree, PackCompression, TreeWriter};
pub use unpack::remove_stale_staging;

use format::{sniff, FileKind};
use unpack::{
    check_exists, commit, identity_route, prefix_route, scan_tar, staging_dir, Extractor,
};

/// Where an image's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// One tarball with `metadata.yaml`, `rootfs/` and optional `templates/`.
    Unified(PathBuf),
    /// A metadata tarball plus a rootfs tarball or squashfs.
    Split {
        /// Tarball with `metadata.yaml` and `templates/`.
        metadata: PathBuf,
        /// Rootfs tarball or squashfs.
        rootfs: PathBuf,
    },
}

/// How a rootfs is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootfsKind {
    /// A tarball (plain, gzip or xz); always the case for unified images.
    Tar,
    /// A squashfs file system (split images only).
    Squashfs,
    /// A qcow2 disk: the image is a virtual machine's (split images only).
    Qcow2,
}

/// What [`inspect`] learns about an image without unpacking it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// SHA-256 (hex) as upstream computes it; see [`fingerprint`].
    pub fingerprint: String,
    /// Total size in bytes of the image file(s).
    pub size: u64,
    /// The parsed and validated `metadata.yaml`.
    pub metadata: ImageMetadata,
    /// How the rootfs is stored.
    pub rootfs_kind: RootfsKind,
}

/// The image fingerprint: SHA-256 (lower-case hex) of the unified tarball, or of the metadata
/// file's bytes followed by the rootfs file's bytes for a split image (as upstream).
pub fn fingerprint(src: &ImageSource) -> Result<String> {
    let mut h = Sha256::new();
    match src {
        ImageSource::Unified(p) => hash_file(&mut h, p)?,
        ImageSource::Split { metadata, rootfs } => {
            hash_file(&mut h, metadata)?;
            hash_file(&mut h, rootfs)?;
        }
    }
    Ok(hex::encode(h.finalize()))
}

fn hash_file(h: &mut Sha256, path: &Path) -> Result<()> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
}

fn tar_compression(path: &Path) -> Result<format::Compression> {
    match sniff(path)? {
        FileKind::Tar(c) => Ok(c),
        FileKind::Squashfs => Err(Error::corrupt(
            path,
            "expected a tarball, found a squashfs image",
        )),
        FileKind::Qcow2 => Err(Error::corrupt(
            path,
            "expected a tarball, found a qcow2 disk",
        )),
    }
}

fn parse_metadata(path: &Path, raw: Option<Vec<u8>>) -> Result<ImageMetadata> {
    let raw = raw.ok_or_else(|| Error::MissingMetadata {
        path: path.to_path_buf(),
    })?;
    ImageMetadata::from_yaml(&raw)
}

/// Read and validate `metadata.yaml` from a split image's metadata tarball.
fn split_metadata(path: &Path) -> Result<ImageMetadata> {
    check_exists(path, || Error::MissingMetadata {
        path: path.to_path_buf(),
    })?;
    let c = tar_compression(path)?;
    let route = prefix_route("templates");
    let stop = |s: &unpack::Scan| s.metadata.is_some();
    let scan = scan_tar(path, c, &route, None, None, Some(&stop))?;
    parse_metadata(path, scan.metadata)
}

fn split_rootfs_kind(rootfs: &Path) -> Result<FileKind> {
    check_exists(rootfs, || Error::MissingRootfs {
        path: rootfs.to_path_buf(),
    })?;
    sniff(rootfs)
}

/// Fingerprint, size, validated metadata and rootfs kind of an image. Reads `metadata.yaml` and
/// checks that a rootfs is present, without extracting anything.
pub fn inspect(src: &ImageSource) -> Result<ImageInfo> {
    let (metadata, rootfs_kind, size) = read_metadata_kind(src)?;
    Ok(ImageInfo {
        fingerprint: fingerprint(src)?,
        size,
        metadata,
        rootfs_kind,
    })
}

/// Reads and validates `metadata.yaml` only: unlike [`inspect`], no hash of the whole
/// image (instance creation needs the metadata, not the fingerprint it already knows).
pub fn read_metadata(src: &ImageSource) -> Result<ImageMetadata> {
    Ok(read_metadata_kind(src)?.0)
}

fn read_metadata_kind(src: &ImageSource) -> Result<(ImageMetadata, RootfsKind, u64)> {
    Ok(match src {
        ImageSource::Unified(p) => {
            let c = tar_compression(p)?;
            let route = prefix_route("rootfs");
            // metadata.yaml normally comes first and rootfs/ right after: stop there.
            let stop = |s: &unpack::Scan| s.metadata.is_some() && s.matched;
            let scan = scan_tar(p, c, &route, None, None, Some(&stop))?;
            let matched = scan.matched;
            let meta = parse_metadata(p, scan.metadata)?;
            if !matched {
                return Err(Error::MissingRootfs { path: p.clone() });
            }
            (meta, RootfsKind::Tar, file_size(p)?)
        }
        ImageSource::Split { metadata, rootfs } => {
            let meta = split_metadata(metadata)?;
            let kind = match split_rootfs_kind(rootfs)? {
                FileKind::Tar(_) => RootfsKind::Tar,
                FileKind::Squashfs => RootfsKind::Squashfs,
                FileKind::Qcow2 => RootfsKind::Qcow2,
            };
            (meta, kind, file_size(metadata)? + file_size(rootfs)?)
        }
    })
}

fn file_size(p: &Path) -> Result<u64> {
    Ok(std::fs::metadata(p).map_err(|e| Error::io(p, e))?.len())
}

/// Unpack the image's rootfs into `dest` (the instance or image volume's `rootfs` directory).
///
/// `dest` must not exist or be an empty directory. The image is validated as a whole (metadata
/// present and valid, rootfs present, every entry safe) and extracted into a temp dir next to
/// `dest`, which is renamed to `dest` only on success; on any error nothing is left behind.
/// `progress` is called with (image bytes consumed, image size).
pub fn unpack_rootfs(
    src: &ImageSource,
    dest: &Path,
    progress: Option<&dyn Fn(u64, u64)>,
) -> Result<()> {
    match src {
        ImageSource::Unified(p) => {
            let c = tar_compression(p)?;
            let route = prefix_route("rootfs");
            let (scan, staging, x) = extract_tar(p, c, &route, dest, progress)?;
            let matched = scan.matched;
            parse_metadata(p, scan.metadata)?;
            if !matched {
                return Err(Error::MissingRootfs { path: p.clone() });
            }
            x.finish()?;
            let from = staging.path().to_path_buf();
            commit(staging, &from, dest)
        }
        ImageSource::Split { metadata, rootfs } => {
            split_metadata(metadata)?;
            match split_rootfs_kind(rootfs)? {
                FileKind::Squashfs => unpack::unsquash(rootfs, dest, progress),
                FileKind::Qcow2 => Err(Error::Unsupported(format!(
                    "{}: a virtual machine's disk is not unpacked",
                    rootfs.display()
                ))),
                FileKind::Tar(c) => {
                    let (scan, staging, x) =
                        extract_tar(rootfs, c, &identity_route, dest, progress)?;
                    if !scan.matched {
                        return Err(Error::MissingRootfs {
                            path: rootfs.clone(),
                        });
                    }
                    x.finish()?;
                    let from = staging.path().to_path_buf();
                    commit(staging, &from, dest)
                }
            }
        }
    }
}

/// Extract the routed entries of a tarball into a fresh staging dir for `dest`.
fn extract_tar(
    path: &Path,
    c: format::Compression,
    route: unpack::Router<'_>,
    dest: &Path,
    progress: Option<&dyn Fn(u64, u64)>,
) -> Result<(unpack::Scan, tempfile::TempDir, Extractor)> {
    let staging = staging_dir(dest)?;
    let mut x = Extractor::new(staging.path())?;
    let scan = scan_tar(path, c, route, Some(&mut x), progress, None)?;
    Ok((scan, staging, x))
}

/// Unpack the image's `templates/` directory into `dest` (atomically, with the same safety rules
/// as [`unpack_rootfs`]). For a split image the templates come from the metadata tarball. An
/// image without templates yields an empty `dest`.
pub fn unpack_templates(src: &ImageSource, dest: &Path) -> Result<()> {
    let path = match src {
        ImageSource::Unified(p) => p,
        ImageSource::Split { metadata, .. } => {
            check_exists(metadata, || Error::MissingMetadata {
                path: metadata.clone(),
            })?;
            metadata
        }
    };
    let c = tar_compression(path)?;
    let route = prefix_route("templates");
    let (scan, staging, x) = extract_tar(path, c, &route, dest, None)?;
    parse_metadata(path, scan.metadata)?;
    x.finish()?;
    let from = staging.path().to_path_buf();
    commit(staging, &from, dest)
}

/// Copies the regular files `names` (paths inside the tarball, without a leading `./`)
/// of a split image's metadata tarball into `dest` under their base names, each at most
/// `max` bytes: a VM image's `boot/vmlinuz` and `boot/initrd.img`. Links, devices and
/// anything else under those names are refused; a missing name is an error.
pub fn extract_files(metadata: &Path, names: &[&str], dest: &Path, max: u64) -> Result<()> {
    let c = tar_compression(metadata)?;
    let (reader, _, state) = format::open_tar(metadata, c)?;
    let mut ar = tar::Archive::new(reader);
    let mut found = vec![false; names.len()];
    let entries = ar
        .entries()
        .map_err(|e| format::read_error(metadata, &state, e))?;
    for e in entries {
        let mut e = e.map_err(|e| format::read_error(metadata, &state, e))?;
        let path = e
            .path()
            .map_err(|e| format::read_error(metadata, &state, e))?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        let Some(i) = names.iter().position(|n| *n == path) else {
            continue;
        };
        if !e.header().entry_type().is_file() {
            return Err(Error::corrupt(
                metadata,
                format!("{path} is not a regular file"),
            ));
        }
        if e.size() > max {
            return Err(Error::corrupt(
                metadata,
                format!("{path} is larger than {max} bytes"),
            ));
        }
        let base = Path::new(&path)
            .file_name()
            .ok_or_else(|| Error::corrupt(metadata, format!("bad name {path}")))?;
        let to = dest.join(base);
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&to)
            .map_err(|e| Error::io(&to, e))?;
        io::copy(&mut e, &mut out).map_err(|e| format::read_error(metadata, &state, e))?;
        found[i] = true;
    }
    if let Some(i) = found.iter().position(|f| !f) {
        return Err(Error::corrupt(metadata, format!("{} is missing", names[i])));
    }
    Ok(())
}
