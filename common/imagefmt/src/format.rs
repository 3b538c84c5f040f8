//! Recognising image files by their magic bytes, and opening tarballs through the right decoder.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use crate::error::{Error, Result};

/// Compression of a tarball.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Xz,
}

/// What an image file is, judged by content (never by its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Tar(Compression),
    Squashfs,
    /// A virtual machine's disk (split VM images only).
    Qcow2,
}

/// Read the first bytes of `path` and decide what it is.
pub(crate) fn sniff(path: &Path) -> Result<FileKind> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = [0u8; 512];
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    let b = &buf[..n];
    if b.is_empty() {
        return Err(Error::corrupt(path, "empty file"));
    }
    if b.starts_with(&[0x1f, 0x8b]) {
        return Ok(FileKind::Tar(Compression::Gzip));
    }
    if b.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        return Ok(FileKind::Tar(Compression::Xz));
    }
    if b.starts_with(b"hsqs") {
        return Ok(FileKind::Squashfs);
    }
    if b.starts_with(b"QFI\xfb") {
        return Ok(FileKind::Qcow2);
    }
    // POSIX "ustar\0" and old GNU "ustar " both start with "ustar" at offset 257.
    if b.len() >= 262 && &b[257..262] == b"ustar" {
        return Ok(FileKind::Tar(Compression::None));
    }
    // An empty archive is just zero blocks (no header, so no magic).
    if b.len() == 512 && b.iter().all(|x| *x == 0) {
        return Ok(FileKind::Tar(Compression::None));
    }
    let unsupported = if b.starts_with(b"BZh") {
        Some("bzip2")
    } else if b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("zstd")
    } else if b.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        Some("lz4")
    } else if b.starts_with(&[0x5d, 0x00, 0x00]) {
        Some("lzma (legacy)")
    } else {
        None
    };
    match unsupported {
        Some(what) => Err(Error::Unsupported(format!(
            "{}: {what} is not supported (use tar, tar.gz or tar.xz)",
            path.display()
        ))),
        None => Err(Error::corrupt(
            path,
            "not a tarball (plain, gzip or xz) or squashfs image",
        )),
    }
}

/// Shared between the counting reader at the bottom of a decoder stack and its user: how many
/// compressed bytes were read (for progress) and whether the file itself failed (so a read error
/// can be told apart from a decoding error).
#[derive(Debug, Default)]
pub(crate) struct ReadState {
    pub bytes: Cell<u64>,
    pub file_error: Cell<bool>,
}

struct Counting {
    inner: File,
    state: Rc<ReadState>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.state.bytes.set(self.state.bytes.get() + n as u64);
                Ok(n)
            }
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.state.file_error.set(true);
                }
                Err(e)
            }
        }
    }
}

/// Open `path` and return a reader of the decompressed tar stream, plus its file size and state.
pub(crate) fn open_tar(
    path: &Path,
    compression: Compression,
) -> Result<(Box<dyn Read>, u64, Rc<ReadState>)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let state = Rc::new(ReadState::default());
    let counting = Counting {
        inner: file,
        state: Rc::clone(&state),
    };
    let reader: Box<dyn Read> = match compression {
        Compression::None => Box::new(BufReader::with_capacity(64 << 10, counting)),
        // Multi-member/multi-stream decoders: pigz and parallel xz write concatenated streams.
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(counting)),
        Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(counting)),
    };
    Ok((reader, size, state))
}

/// Map an error from reading the (decoded) archive stream: a failing file is an I/O error,
/// anything else (bad checksum, truncated stream, bad header) means the image is corrupt.
pub(crate) fn read_error(path: &Path, state: &ReadState, e: io::Error) -> Error {
    if state.file_error.get() {
        Error::io(path, e)
    } else if e.kind() == io::ErrorKind::UnexpectedEof {
        Error::corrupt(path, format!("truncated archive ({e})"))
    } else {
        Error::corrupt(path, e.to_string())
    }
}
