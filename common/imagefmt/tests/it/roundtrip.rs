//! Fingerprints, inspect and faithful unpacking.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use incus_imagefmt::{
    fingerprint, inspect, unpack_rootfs, unpack_templates, Error, ImageMetadata, ImageSource,
    RootfsKind,
};
use sha2::{Digest, Sha256};

use crate::common::*;

fn rich_rootfs(t: &mut TarBuf, prefix: &str) {
    let p = |s: &str| format!("{prefix}{s}");
    t.dir(&p("bin/"), 0o755)
        .file_owned(&p("bin/tool"), b"#!/bin/sh\necho hi\n", 0o4755, 0, 0)
        .dir(&p("home/"), 0o755)
        .dir(&p("home/user/"), 0o750)
        .file_owned(&p("home/user/notes"), b"private", 0o600, 1000, 1001)
        .symlink(&p("home/user/abs"), "/etc/passwd")
        .symlink(&p("home/user/rel"), "../../bin/tool")
        .hardlink(&p("bin/tool2"), &p("bin/tool"))
        .fifo(&p("run-fifo"), 0o640)
        .dir(&p("dev/"), 0o755)
        .chardev(&p("dev/null"), 1, 3)
        .dir(&p("tmp/"), 0o1777);
}

fn check_rich(root: &Path) {
    let md = |s: &str| std::fs::symlink_metadata(root.join(s)).unwrap();
    assert_eq!(md("").mode() & 0o7777, 0o755);
    let tool = md("bin/tool");
    assert!(tool.is_file());
    assert_eq!(tool.mode() & 0o7777, 0o4755, "setuid kept");
    assert_eq!(
        std::fs::read(root.join("bin/tool")).unwrap(),
        b"#!/bin/sh\necho hi\n"
    );
    assert_eq!(tool.mtime(), MTIME as i64);
    let notes = md("home/user/notes");
    assert_eq!((notes.uid(), notes.gid()), (1000, 1001));
    assert_eq!(notes.mode() & 0o7777, 0o600);
    assert_eq!(md("home/user").mode() & 0o7777, 0o750);
    assert_eq!(
        md("home/user").mtime(),
        MTIME as i64,
        "dir mtime set after its children"
    );
    assert_eq!(md("tmp").mode() & 0o7777, 0o1777);
    assert_eq!(
        std::fs::read_link(root.join("home/user/abs"))
            .unwrap()
            .to_str(),
        Some("/etc/passwd")
    );
    assert_eq!(
        std::fs::read_link(root.join("home/user/rel"))
            .unwrap()
            .to_str(),
        Some("../../bin/tool")
    );
    assert_eq!(
        md("bin/tool2").ino(),
        tool.ino(),
        "hard link shares the inode"
    );
    assert!(md("run-fifo").file_type().is_fifo());
    assert_eq!(md("run-fifo").mode() & 0o7777, 0o640);
    assert!(!root.join("dev/null").exists(), "device nodes are skipped");
}

#[test]
fn fingerprint_unified_is_sha256_of_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = xz(&unified_base().bytes());
    let p = write(tmp.path(), "img", &data);
    let expected = hex::encode(Sha256::digest(&data));
    assert_eq!(fingerprint(&ImageSource::Unified(p)).unwrap(), expected);
}

#[test]
fn fingerprint_split_is_sha256_of_concatenation() {
    let tmp = tempfile::tempdir().unwrap();
    let mut m = TarBuf::new();
    m.file("metadata.yaml", META.as_bytes(), 0o644);
    let meta = gz(&m.bytes());
    let mut r = TarBuf::new();
    r.dir("bin/", 0o755).file("bin/x", b"x", 0o755);
    let rootfs = xz(&r.bytes());
    let src = ImageSource::Split {
        metadata: write(tmp.path(), "meta", &meta),
        rootfs: write(tmp.path(), "rootfs", &rootfs),
    };
    let mut h = Sha256::new();
    h.update(&meta);
    h.update(&rootfs);
    assert_eq!(fingerprint(&src).unwrap(), hex::encode(h.finalize()));
    let info = inspect(&src).unwrap();
    assert_eq!(info.fingerprint, fingerprint(&src).unwrap());
    assert_eq!(info.size, (meta.len() + rootfs.len()) as u64);
    assert_eq!(info.rootfs_kind, RootfsKind::Tar);
}

#[test]
fn inspect_unified_reads_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write(tmp.path(), "img.bin", &gz(&unified_base().bytes()));
    let info = inspect(&ImageSource::Unified(p.clone())).unwrap();
    assert_eq!(info.metadata.architecture, "x86_64");
    assert_eq!(info.metadata.creation_date, 1_700_000_000);
    // Go's yaml reads `release: 1.35` into a string; so do we.
    assert_eq!(info.metadata.properties["release"], "1.35");
    assert_eq!(
        info.metadata.templates["/etc/hostname"].template,
        "hostname.tpl"
    );
    assert_eq!(info.rootfs_kind, RootfsKind::Tar);
    assert_eq!(info.size, std::fs::metadata(&p).unwrap().len());
}

#[test]
fn unpack_roundtrip_all_compressions() {
    let mut t = unified_base();
    rich_rootfs(&mut t, "rootfs/");
    t.dir("templates/", 0o755)
        .file("templates/hostname.tpl", b"{{ instance.name }}\n", 0o644);
    let plain = t.bytes();
    for (name, data) in [
        ("plain", plain.clone()),
        ("gz", gz(&plain)),
        ("xz", xz(&plain)),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let src = ImageSource::Unified(write(tmp.path(), &format!("image-{name}"), &data));
        let dest = tmp.path().join("rootfs");
        let calls = std::cell::RefCell::new(Vec::new());
        let progress = |done: u64, total: u64| calls.borrow_mut().push((done, total));
        unpack_rootfs(&src, &dest, Some(&progress)).unwrap();
        check_rich(&dest);
        let calls = calls.into_inner();
        let total = data.len() as u64;
        assert_eq!(
            calls.last(),
            Some(&(total, total)),
            "{name}: final progress"
        );
        assert!(
            calls.windows(2).all(|w| w[0].0 <= w[1].0),
            "{name}: monotonic"
        );

        let tpl = tmp.path().join("templates");
        unpack_templates(&src, &tpl).unwrap();
        assert_eq!(
            std::fs::read_to_string(tpl.join("hostname.tpl")).unwrap(),
            "{{ instance.name }}\n"
        );
    }
}

#[test]
fn unpack_split_tar_rootfs_and_templates() {
    let tmp = tempfile::tempdir().unwrap();
    let mut m = TarBuf::new();
    m.file("metadata.yaml", META.as_bytes(), 0o644)
        .dir("templates/", 0o755)
        .file("templates/hostname.tpl", b"{{ instance.name }}\n", 0o644);
    let mut r = TarBuf::new();
    r.dir("./", 0o755);
    rich_rootfs(&mut r, "./");
    let src = ImageSource::Split {
        metadata: write(tmp.path(), "meta.tar.xz", &xz(&m.bytes())),
        rootfs: write(tmp.path(), "rootfs.tar", &r.bytes()),
    };
    let dest = tmp.path().join("rootfs");
    unpack_rootfs(&src, &dest, None).unwrap();
    check_rich(&dest);
    unpack_templates(&src, &tmp.path().join("templates")).unwrap();
    assert!(tmp.path().join("templates/hostname.tpl").is_file());
}

#[test]
fn image_without_templates_gives_empty_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let src = ImageSource::Unified(write(tmp.path(), "img", &unified_base().bytes()));
    let dest = tmp.path().join("templates");
    unpack_templates(&src, &dest).unwrap();
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);
}

#[test]
fn destination_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let mut t = unified_base();
    t.file("rootfs/a", b"a", 0o644);
    let src = ImageSource::Unified(write(tmp.path(), "img", &t.bytes()));

    // An existing empty directory (as a storage driver may create) is replaced.
    let dest = tmp.path().join("empty");
    std::fs::create_dir(&dest).unwrap();
    unpack_rootfs(&src, &dest, None).unwrap();
    assert!(dest.join("a").is_file());

    // A non-empty one is refused and kept as it was.
    let err = unpack_rootfs(&src, &dest, None).unwrap_err();
    assert!(matches!(err, Error::DestinationExists(_)), "{err}");
    assert!(!err.is_image_error());
    assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 1);
}

#[test]
fn later_entries_replace_earlier_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let mut t = unified_base();
    t.file("rootfs/f", b"old", 0o644)
        .file("rootfs/f", b"new", 0o600)
        .symlink("rootfs/l", "f")
        // A file entry over a symlink replaces the link; it must not write to its target.
        .file("rootfs/l", b"replaced", 0o644)
        .dir("rootfs/d/", 0o700)
        .dir("rootfs/d/", 0o755);
    let src = ImageSource::Unified(write(tmp.path(), "img", &t.bytes()));
    let dest = tmp.path().join("rootfs");
    unpack_rootfs(&src, &dest, None).unwrap();
    assert_eq!(std::fs::read(dest.join("f")).unwrap(), b"new");
    assert_eq!(std::fs::read(dest.join("l")).unwrap(), b"replaced");
    assert!(std::fs::symlink_metadata(dest.join("l")).unwrap().is_file());
    assert_eq!(
        std::fs::metadata(dest.join("d"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o755
    );
}

#[test]
fn metadata_validation() {
    let ok = ImageMetadata::from_yaml(META.as_bytes()).unwrap();
    let yaml = ok.to_yaml().unwrap();
    assert_eq!(ImageMetadata::from_yaml(yaml.as_bytes()).unwrap(), ok);

    for (bad, why) in [
        ("creation_date: 1\n", "no architecture"),
        ("architecture: ''\ncreation_date: 1\n", "empty architecture"),
        ("architecture: x86_64\n", "no creation_date"),
        ("architecture: [x\n", "invalid yaml"),
        (
            "architecture: x86_64\ncreation_date: 1\ntemplates:\n  /etc/../../x:\n    template: a\n",
            "dotdot guest path",
        ),
        (
            "architecture: x86_64\ncreation_date: 1\ntemplates:\n  /etc/x:\n    template: ../../etc/shadow\n",
            "template escapes templates/",
        ),
        (
            "architecture: x86_64\ncreation_date: 1\ntemplates:\n  /etc/x:\n    template: a\n    mode: rwx\n",
            "bad mode",
        ),
    ] {
        let err = ImageMetadata::from_yaml(bad.as_bytes()).unwrap_err();
        assert!(matches!(err, Error::InvalidMetadata(_)), "{why}: {err}");
        assert!(err.is_image_error());
    }

    let m = ImageMetadata::from_yaml(
        b"architecture: x86_64\ncreation_date: 1\ntemplates:\n  /a:\n    template: a\n    mode: 0640\n    uid: 1000\n",
    )
    .unwrap();
    assert_eq!(m.templates["/a"].file_mode(), Ok(0o640));
    assert_eq!(m.templates["/a"].file_uid(), Ok(1000));
    assert_eq!(m.templates["/a"].file_gid(), Ok(0));
}
