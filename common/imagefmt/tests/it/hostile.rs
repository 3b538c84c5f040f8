//! Malformed and hostile images: each is refused, leaves the destination absent, leaves no
//! staging dir behind, and touches nothing outside.

use std::path::PathBuf;

use incus_imagefmt::{inspect, unpack_rootfs, unpack_templates, Error, ImageSource};

use crate::common::*;

struct Case {
    tmp: tempfile::TempDir,
    /// A directory outside the destination that hostile entries aim at.
    outside: PathBuf,
}

impl Case {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("victim"), b"untouched").unwrap();
        Case { tmp, outside }
    }

    fn dest(&self) -> PathBuf {
        self.tmp.path().join("work").join("rootfs")
    }

    /// Unpack `data` as a unified image and check the refusal and the clean state.
    fn refuse(&self, data: &[u8]) -> Error {
        let img = write(self.tmp.path(), "image", data);
        self.refuse_src(&ImageSource::Unified(img))
    }

    fn refuse_src(&self, src: &ImageSource) -> Error {
        let dest = self.dest();
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let err = unpack_rootfs(src, &dest, None).expect_err("image must be refused");
        assert!(err.is_image_error(), "must be an image error, got {err:?}");
        assert_clean(&dest);
        assert_eq!(
            std::fs::read_dir(dest.parent().unwrap()).unwrap().count(),
            0,
            "nothing left"
        );
        self.check_outside();
        err
    }

    fn check_outside(&self) {
        let names: Vec<_> = std::fs::read_dir(&self.outside)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            names,
            vec!["victim".to_string()],
            "outside dir was modified"
        );
        assert_eq!(
            std::fs::read(self.outside.join("victim")).unwrap(),
            b"untouched"
        );
    }

    fn outside_str(&self) -> String {
        self.outside.to_str().unwrap().to_string()
    }
}

fn is_unsafe(e: &Error) -> bool {
    matches!(e, Error::Unsafe { .. })
}

#[test]
fn dotdot_entry() {
    let c = Case::new();
    let mut t = unified_base();
    t.file("rootfs/ok", b"x", 0o644)
        .file("rootfs/../../outside/pwned", b"x", 0o644);
    let e = c.refuse(&t.bytes());
    assert!(is_unsafe(&e), "{e}");
    // Also outside the rootfs prefix: the whole image is refused.
    let mut t = unified_base();
    t.file("templates/../../x", b"x", 0o644);
    assert!(is_unsafe(&c.refuse(&t.bytes())));
}

#[test]
fn absolute_path() {
    let c = Case::new();
    let mut t = unified_base();
    t.file(&format!("{}/pwned", c.outside_str()), b"x", 0o644);
    let e = c.refuse(&xz(&t.bytes()));
    assert!(is_unsafe(&e), "{e}");
}

#[test]
fn symlink_escape_then_write() {
    let c = Case::new();
    let mut t = unified_base();
    t.symlink("rootfs/evil", &c.outside_str())
        .file("rootfs/evil/pwned", b"x", 0o644);
    let e = c.refuse(&t.bytes());
    assert!(is_unsafe(&e), "{e}");

    // Relative symlink climbing out, then a directory and a file below it.
    let mut t = unified_base();
    t.dir("rootfs/a/", 0o755)
        .symlink("rootfs/a/up", "../../../outside")
        .dir("rootfs/a/up/sub/", 0o755)
        .file("rootfs/a/up/sub/pwned", b"x", 0o644);
    assert!(is_unsafe(&c.refuse(&gz(&t.bytes()))));

    // Symlink then overwrite of an existing file through it.
    let mut t = unified_base();
    t.symlink("rootfs/v", &format!("{}/victim", c.outside_str()))
        .symlink("rootfs/d", &c.outside_str())
        .file("rootfs/d/victim", b"pwned", 0o644);
    assert!(is_unsafe(&c.refuse(&t.bytes())));
}

#[test]
fn hardlink_to_host_file() {
    let c = Case::new();
    let mut t = unified_base();
    t.hardlink("rootfs/passwd", "/etc/passwd");
    assert!(is_unsafe(&c.refuse(&t.bytes())));

    let mut t = unified_base();
    t.hardlink("rootfs/passwd", "rootfs/../../../../etc/passwd");
    assert!(is_unsafe(&c.refuse(&t.bytes())));

    // Pointing at another part of the image (outside rootfs/) is refused too.
    let mut t = unified_base();
    t.hardlink("rootfs/meta", "metadata.yaml");
    assert!(is_unsafe(&c.refuse(&t.bytes())));
}

#[test]
fn hardlink_through_symlink() {
    let c = Case::new();
    let mut t = unified_base();
    t.symlink("rootfs/etc", "/etc")
        .hardlink("rootfs/passwd", "rootfs/etc/passwd");
    assert!(is_unsafe(&c.refuse(&t.bytes())));

    let mut t = unified_base();
    t.symlink("rootfs/o", &c.outside_str())
        .hardlink("rootfs/victim", "rootfs/o/victim");
    assert!(is_unsafe(&c.refuse(&t.bytes())));
}

#[test]
fn hardlink_to_directory_or_missing() {
    let c = Case::new();
    let mut t = unified_base();
    t.dir("rootfs/d/", 0o755).hardlink("rootfs/h", "rootfs/d");
    assert!(is_unsafe(&c.refuse(&t.bytes())));
    let mut t = unified_base();
    t.hardlink("rootfs/h", "rootfs/later")
        .file("rootfs/later", b"x", 0o644);
    assert!(c.refuse(&t.bytes()).is_image_error());
}

#[test]
fn rootfs_replaced_by_symlink() {
    let c = Case::new();
    let mut t = TarBuf::new();
    t.file("metadata.yaml", META.as_bytes(), 0o644)
        .symlink("rootfs", &c.outside_str())
        .file("rootfs/pwned", b"x", 0o644);
    assert!(is_unsafe(&c.refuse(&t.bytes())));
}

#[test]
fn non_empty_dir_replaced() {
    let c = Case::new();
    let mut t = unified_base();
    t.dir("rootfs/d/", 0o755)
        .file("rootfs/d/f", b"x", 0o644)
        .symlink("rootfs/d", "/");
    assert!(is_unsafe(&c.refuse(&t.bytes())));
}

#[test]
fn missing_metadata() {
    let c = Case::new();
    let mut t = TarBuf::new();
    t.dir("rootfs/", 0o755).file("rootfs/a", b"x", 0o644);
    let e = c.refuse(&t.bytes());
    assert!(matches!(e, Error::MissingMetadata { .. }), "{e}");
}

#[test]
fn metadata_is_a_symlink() {
    let c = Case::new();
    let mut t = TarBuf::new();
    t.symlink("metadata.yaml", "/etc/shadow")
        .dir("rootfs/", 0o755);
    assert!(matches!(c.refuse(&t.bytes()), Error::InvalidMetadata(_)));
}

#[test]
fn invalid_metadata() {
    let c = Case::new();
    let mut t = TarBuf::new();
    t.file("metadata.yaml", b"architecture: [unterminated\n", 0o644)
        .dir("rootfs/", 0o755);
    let e = c.refuse(&t.bytes());
    assert!(matches!(e, Error::InvalidMetadata(_)), "{e}");
}

#[test]
fn missing_rootfs() {
    let c = Case::new();
    let mut t = TarBuf::new();
    t.file("metadata.yaml", META.as_bytes(), 0o644)
        .dir("templates/", 0o755);
    let data = t.bytes();
    let e = c.refuse(&data);
    assert!(matches!(e, Error::MissingRootfs { .. }), "{e}");
    let img = write(c.tmp.path(), "image", &data);
    assert!(matches!(
        inspect(&ImageSource::Unified(img)),
        Err(Error::MissingRootfs { .. })
    ));

    // Split image whose rootfs file does not exist.
    let meta = write(c.tmp.path(), "meta", &data);
    let e = c.refuse_src(&ImageSource::Split {
        metadata: meta,
        rootfs: c.tmp.path().join("nope"),
    });
    assert!(matches!(e, Error::MissingRootfs { .. }), "{e}");
}

#[test]
fn garbage_bytes() {
    let c = Case::new();
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    assert!(matches!(c.refuse(&garbage), Error::Corrupt { .. }));
    assert!(matches!(c.refuse(b""), Error::Corrupt { .. }));
    // Right magic, garbage after it.
    let mut fake_xz = vec![0xfd, b'7', b'z', b'X', b'Z', 0];
    fake_xz.extend_from_slice(&garbage);
    assert!(matches!(c.refuse(&fake_xz), Error::Corrupt { .. }));
    let mut fake_gz = vec![0x1f, 0x8b, 8, 0];
    fake_gz.extend_from_slice(&garbage);
    assert!(matches!(c.refuse(&fake_gz), Error::Corrupt { .. }));
    // Unsupported compression is named as such.
    let mut bz = b"BZh91AY&SY".to_vec();
    bz.extend_from_slice(&garbage);
    assert!(matches!(c.refuse(&bz), Error::Unsupported(_)));
}

fn big_image() -> Vec<u8> {
    let mut t = unified_base();
    // Incompressible-ish content so that a cut lands inside file data.
    let blob: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8)
        .collect();
    t.dir("rootfs/bin/", 0o755)
        .file("rootfs/bin/a", &blob, 0o755)
        .file("rootfs/bin/b", &blob[..1000], 0o755);
    t.bytes()
}

#[test]
fn truncated_tar_xz() {
    let c = Case::new();
    let data = xz(&big_image());
    for cut in [
        data.len() / 3,
        data.len() / 2,
        data.len() - 20,
        data.len() - 1,
    ] {
        let e = c.refuse(&data[..cut]);
        assert!(matches!(e, Error::Corrupt { .. }), "cut {cut}: {e}");
    }
}

#[test]
fn truncated_tar_gz_and_plain() {
    let c = Case::new();
    let data = gz(&big_image());
    for cut in [data.len() / 2, data.len() - 4] {
        let e = c.refuse(&data[..cut]);
        assert!(matches!(e, Error::Corrupt { .. }), "gz cut {cut}: {e}");
    }
    let plain = big_image();
    // Cut inside bin/a's data: the short entry is noticed.
    let e = c.refuse(&plain[..100_000]);
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
}

#[test]
fn split_with_hostile_rootfs() {
    let c = Case::new();
    let mut m = TarBuf::new();
    m.file("metadata.yaml", META.as_bytes(), 0o644);
    let meta = write(c.tmp.path(), "meta", &m.bytes());
    let mut r = TarBuf::new();
    r.symlink("x", &c.outside_str())
        .file("x/pwned", b"1", 0o644);
    let rootfs = write(c.tmp.path(), "rootfs", &xz(&r.bytes()));
    let e = c.refuse_src(&ImageSource::Split {
        metadata: meta.clone(),
        rootfs,
    });
    assert!(is_unsafe(&e), "{e}");

    // Metadata tarball without metadata.yaml.
    let empty = write(c.tmp.path(), "empty-meta", &TarBuf::new().bytes());
    let mut r = TarBuf::new();
    r.file("ok", b"1", 0o644);
    let rootfs = write(c.tmp.path(), "rootfs2", &r.bytes());
    let e = c.refuse_src(&ImageSource::Split {
        metadata: empty,
        rootfs,
    });
    assert!(matches!(e, Error::MissingMetadata { .. }), "{e}");
}

#[test]
fn hostile_templates_dir() {
    let c = Case::new();
    let mut t = unified_base();
    t.dir("templates/", 0o755)
        .symlink("templates/sub", &c.outside_str())
        .file("templates/sub/pwned", b"x", 0o644);
    let img = write(c.tmp.path(), "image", &t.bytes());
    let dest = c.tmp.path().join("templates");
    let e = unpack_templates(&ImageSource::Unified(img), &dest).unwrap_err();
    assert!(is_unsafe(&e), "{e}");
    assert_clean(&dest);
    c.check_outside();
}

#[test]
fn stale_staging_dirs_are_removed() {
    let c = Case::new();
    let dest = c.dest();
    let parent = dest.parent().unwrap();
    let stale = parent.join(".rootfs.unpack-XYZ123");
    std::fs::create_dir_all(stale.join("sub")).unwrap();
    std::fs::write(stale.join("sub/f"), b"x").unwrap();
    // remove_dir_all must not follow this into the outside dir.
    std::os::unix::fs::symlink(&c.outside, stale.join("sub/link")).unwrap();
    std::fs::create_dir(parent.join("unrelated")).unwrap();
    assert_eq!(incus_imagefmt::remove_stale_staging(&dest).unwrap(), 1);
    assert_clean(&dest);
    assert!(parent.join("unrelated").is_dir());
    c.check_outside();
}

/// A directory later replaced by a symlink is accepted, but its deferred mode/owner/mtime must not
/// be applied through the symlink.
#[test]
fn deferred_dir_metadata_not_applied_through_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let c = Case::new();
    std::fs::set_permissions(&c.outside, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = std::fs::metadata(&c.outside).unwrap().modified().unwrap();
    let mut t = unified_base();
    t.dir("rootfs/o/", 0o777)
        .symlink("rootfs/o", &c.outside_str());
    let img = write(c.tmp.path(), "image", &t.bytes());
    let dest = c.tmp.path().join("rootfs");
    incus_imagefmt::unpack_rootfs(&ImageSource::Unified(img), &dest, None).unwrap();
    assert_eq!(std::fs::read_link(dest.join("o")).unwrap(), c.outside);
    let md = std::fs::metadata(&c.outside).unwrap();
    assert_eq!(md.permissions().mode() & 0o7777, 0o755);
    assert_eq!(md.modified().unwrap(), before);
    c.check_outside();
}
