//! Helpers: tarballs built entry by entry with the raw header API (so hostile names are possible).

use std::io::Write;
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

pub const MTIME: u64 = 1_600_000_000;

pub const META: &str = "architecture: x86_64
creation_date: 1700000000
properties:
  os: test
  release: 1.35
templates:
  /etc/hostname:
    when: [create, copy]
    template: hostname.tpl
";

/// A tarball under construction.
pub struct TarBuf {
    b: tar::Builder<Vec<u8>>,
}

fn header(name: &[u8], kind: EntryType, mode: u32, size: u64) -> Header {
    let mut h = Header::new_gnu();
    assert!(name.len() < 100, "test names must fit the header");
    h.as_old_mut().name = [0; 100];
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(size);
    h
}

fn set_link(h: &mut Header, target: &[u8]) {
    h.as_old_mut().linkname = [0; 100];
    h.as_old_mut().linkname[..target.len()].copy_from_slice(target);
}

impl Default for TarBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl TarBuf {
    pub fn new() -> Self {
        TarBuf {
            b: tar::Builder::new(Vec::new()),
        }
    }

    fn push(&mut self, mut h: Header, data: &[u8]) -> &mut Self {
        h.set_cksum();
        self.b.append(&h, data).unwrap();
        self
    }

    pub fn dir(&mut self, name: &str, mode: u32) -> &mut Self {
        let h = header(name.as_bytes(), EntryType::Directory, mode, 0);
        self.push(h, &[])
    }

    pub fn file(&mut self, name: &str, data: &[u8], mode: u32) -> &mut Self {
        self.file_owned(name, data, mode, 0, 0)
    }

    pub fn file_owned(
        &mut self,
        name: &str,
        data: &[u8],
        mode: u32,
        uid: u64,
        gid: u64,
    ) -> &mut Self {
        let mut h = header(name.as_bytes(), EntryType::Regular, mode, data.len() as u64);
        h.set_uid(uid);
        h.set_gid(gid);
        self.push(h, data)
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        let mut h = header(name.as_bytes(), EntryType::Symlink, 0o777, 0);
        set_link(&mut h, target.as_bytes());
        self.push(h, &[])
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        let mut h = header(name.as_bytes(), EntryType::Link, 0o644, 0);
        set_link(&mut h, target.as_bytes());
        self.push(h, &[])
    }

    pub fn fifo(&mut self, name: &str, mode: u32) -> &mut Self {
        let h = header(name.as_bytes(), EntryType::Fifo, mode, 0);
        self.push(h, &[])
    }

    pub fn chardev(&mut self, name: &str, major: u32, minor: u32) -> &mut Self {
        let mut h = header(name.as_bytes(), EntryType::Char, 0o666, 0);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        self.push(h, &[])
    }

    pub fn bytes(self) -> Vec<u8> {
        self.b.into_inner().unwrap()
    }
}

pub fn xz(data: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// A tarball starting with metadata.yaml and the rootfs/ directory.
pub fn unified_base() -> TarBuf {
    let mut t = TarBuf::new();
    t.file("metadata.yaml", META.as_bytes(), 0o644);
    t.dir("rootfs/", 0o755);
    t
}

/// `dest` does not exist and no staging dir is left next to it.
pub fn assert_clean(dest: &Path) {
    assert!(
        std::fs::symlink_metadata(dest).is_err(),
        "{} must not exist",
        dest.display()
    );
    let name = dest.file_name().unwrap().to_string_lossy().into_owned();
    let prefix = format!(".{name}.unpack-");
    for e in std::fs::read_dir(dest.parent().unwrap()).unwrap() {
        let e = e.unwrap();
        assert!(
            !e.file_name().to_string_lossy().starts_with(&prefix),
            "staging dir left behind: {:?}",
            e.path()
        );
    }
}

/// Debian's static busybox; `make test` installs busybox-static, so its absence is a
/// broken test machine, not a reason to skip.
pub fn busybox() -> PathBuf {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("/bin/busybox is missing: apt-get install busybox-static (make test does)")
}
