//! Errors of this crate.
//!
//! The variants are split so that callers can map them to exit codes: everything that is the image's
//! fault (malformed, hostile, unsupported) is a user error ([`Error::is_image_error`]); `Io` and
//! `Command` failures are problems of this host.

use std::io;
use std::path::PathBuf;

/// Result alias used by every function of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading, unpacking, rendering or building an image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image has no `metadata.yaml`.
    #[error("invalid image {path}: metadata.yaml is missing")]
    MissingMetadata {
        /// The image file that was read.
        path: PathBuf,
    },

    /// `metadata.yaml` is not valid YAML or fails validation.
    #[error("invalid image metadata: {0}")]
    InvalidMetadata(String),

    /// A unified image has no `rootfs/`, or a split image has no rootfs file.
    #[error("invalid image {path}: no rootfs")]
    MissingRootfs {
        /// The image file that was read.
        path: PathBuf,
    },

    /// The file is not a tarball or squashfs we can read (bad magic, damaged or truncated stream).
    #[error("invalid image {path}: {reason}")]
    Corrupt {
        /// The image file that was read.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },

    /// An archive entry tries to escape the destination or is otherwise dangerous
    /// (`..`, absolute path, write through a symlink, hard link outside the rootfs).
    #[error("refusing unsafe image entry {entry:?}: {reason}")]
    Unsafe {
        /// The entry name as stored in the archive (lossy UTF-8).
        entry: String,
        /// Why it was refused.
        reason: String,
    },

    /// A format or feature this crate does not handle (bzip2, zstd, qcow2 VM images, ...).
    #[error("unsupported image: {0}")]
    Unsupported(String),

    /// A template listed in `metadata.yaml` could not be read or rendered.
    #[error("template {template:?} for {path:?}: {reason}")]
    Template {
        /// The guest path the template renders to.
        path: String,
        /// The template file name (under `templates/`).
        template: String,
        /// What went wrong.
        reason: String,
    },

    /// The destination already exists and is not an empty directory.
    #[error("destination {0} already exists")]
    DestinationExists(PathBuf),

    /// An I/O error on this host (reading the image file, writing the destination).
    #[error("{path}: {source}")]
    Io {
        /// The path being accessed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// An external command (unsquashfs) could not be run or failed for a host reason.
    #[error("{command}: {reason}")]
    Command {
        /// The command that was run.
        command: String,
        /// What went wrong.
        reason: String,
    },
}

impl Error {
    /// True when the error is the image's fault (malformed, hostile or unsupported input),
    /// false when it is a problem of this host (I/O, missing tools, destination in the way).
    pub fn is_image_error(&self) -> bool {
        matches!(
            self,
            Error::MissingMetadata { .. }
                | Error::InvalidMetadata(_)
                | Error::MissingRootfs { .. }
                | Error::Corrupt { .. }
                | Error::Unsafe { .. }
                | Error::Unsupported(_)
                | Error::Template { .. }
        )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unsafe_entry(entry: &[u8], reason: impl Into<String>) -> Self {
        Error::Unsafe {
            entry: String::from_utf8_lossy(entry).into_owned(),
            reason: reason.into(),
        }
    }
}
