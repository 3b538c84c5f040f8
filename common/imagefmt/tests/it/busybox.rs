//! The busybox image: builds in both formats, inspects, unpacks, renders, runs.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use incus_imagefmt::{
    build_busybox_image, fingerprint, inspect, render_templates, unpack_rootfs, unpack_templates,
    BuildFormat, ImageSource, RootfsKind, TemplateContext, APPLETS,
};

use crate::common::busybox;

fn check_rootfs(root: &Path) {
    let bb = std::fs::symlink_metadata(root.join("bin/busybox")).unwrap();
    assert!(bb.is_file());
    assert_eq!(bb.mode() & 0o7777, 0o755);
    assert_eq!(bb.uid(), 0);
    for applet in [
        "sh", "init", "mount", "ls", "cat", "echo", "hostname", "ip", "udhcpc", "ps", "sleep",
        "mkdir", "poweroff", "reboot", "halt", "true", "false", "id", "touch", "rm", "wc", "sync",
        "env", "uname", "ping",
    ] {
        assert_eq!(
            std::fs::read_link(root.join("bin").join(applet))
                .unwrap()
                .to_str(),
            Some("busybox"),
            "{applet}"
        );
    }
    assert_eq!(
        std::fs::read_link(root.join("sbin/init")).unwrap().to_str(),
        Some("../bin/busybox")
    );
    // Every applet is linked: the few in bin/, the rest where `--install -s` puts them,
    // each link leading to bin/busybox.
    let full = Command::new(busybox()).arg("--list-full").output().unwrap();
    let busybox_real = root.join("bin/busybox").canonicalize().unwrap();
    let mut linked = 0;
    for path in String::from_utf8_lossy(&full.stdout).lines() {
        let Some((_, applet)) = path.rsplit_once('/') else {
            continue;
        };
        let link = if APPLETS.contains(&applet) {
            root.join("bin").join(applet)
        } else {
            root.join(path)
        };
        assert_eq!(link.canonicalize().unwrap(), busybox_real, "{path}");
        linked += 1;
    }
    assert!(linked > 200, "only {linked} applets linked");
    let inittab = std::fs::read_to_string(root.join("etc/inittab")).unwrap();
    for needle in [
        "mount -t proc",
        "mount -t sysfs",
        "hostname -F /etc/hostname",
        "touch /run/ready",
        "console::respawn:",
        "::ctrlaltdel:",
        "::shutdown:",
    ] {
        assert!(inittab.contains(needle), "inittab lacks {needle}");
    }
    assert!(std::fs::read_to_string(root.join("etc/passwd"))
        .unwrap()
        .starts_with("root:x:0:0:"));
    assert!(std::fs::read_to_string(root.join("etc/group"))
        .unwrap()
        .starts_with("root:x:0:"));
    assert_eq!(
        std::fs::read_to_string(root.join("etc/hostname")).unwrap(),
        "busybox\n"
    );
    for d in ["dev", "proc", "sys", "tmp", "run", "root"] {
        assert!(
            std::fs::symlink_metadata(root.join(d)).unwrap().is_dir(),
            "{d}"
        );
    }
    assert_eq!(
        std::fs::metadata(root.join("tmp"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o1777
    );
    // The binary really runs from the unpacked tree.
    let out = Command::new(root.join("bin/busybox"))
        .args(["echo", "alive"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "alive\n");
}

fn roundtrip(format: BuildFormat) {
    let bb = busybox();
    let tmp = tempfile::tempdir().unwrap();
    let src = build_busybox_image(&bb, &tmp.path().join("out"), format).unwrap();
    match (&src, format) {
        (ImageSource::Unified(p), BuildFormat::Unified) => assert!(p.ends_with("busybox.tar.xz")),
        (ImageSource::Split { metadata, rootfs }, BuildFormat::Split) => {
            assert!(metadata.ends_with("meta.tar.xz"));
            assert!(rootfs.ends_with("rootfs.tar.xz"));
        }
        other => panic!("unexpected source {other:?}"),
    }
    let info = inspect(&src).unwrap();
    assert_eq!(info.fingerprint, fingerprint(&src).unwrap());
    assert_eq!(info.rootfs_kind, RootfsKind::Tar);
    let m = &info.metadata;
    let arch = String::from_utf8(Command::new("uname").arg("-m").output().unwrap().stdout).unwrap();
    assert_eq!(m.architecture, arch.trim());
    assert_eq!(m.properties["os"], "busybox");
    assert_eq!(m.properties["release"], "1.35");
    assert_eq!(
        m.properties["description"],
        format!("Busybox {}", arch.trim())
    );
    assert_eq!(m.properties["architecture"], arch.trim());
    assert!(m.creation_date > 0);
    let tpl = &m.templates["/etc/hostname"];
    assert_eq!(tpl.when, ["create", "copy", "rename"]);
    assert_eq!(tpl.template, "hostname.tpl");

    let rootfs = tmp.path().join("rootfs");
    let templates = tmp.path().join("templates");
    unpack_rootfs(&src, &rootfs, None).unwrap();
    unpack_templates(&src, &templates).unwrap();
    check_rootfs(&rootfs);

    let ctx = TemplateContext {
        instance_name: "bb1".into(),
        instance_type: "container".into(),
        ..Default::default()
    };
    render_templates(&rootfs, &templates, m, "create", &ctx, true).unwrap();
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/hostname")).unwrap(),
        "bb1\n"
    );
}

#[test]
fn busybox_unified() {
    roundtrip(BuildFormat::Unified);
}

#[test]
fn busybox_split() {
    roundtrip(BuildFormat::Split);
}

#[test]
fn busybox_has_all_applets() {
    let bb = busybox();
    let out = Command::new(&bb).arg("--list").output().unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    let have: Vec<&str> = list.lines().collect();
    for a in APPLETS {
        assert!(have.contains(a), "busybox lacks applet {a}");
    }
}

/// A split image whose rootfs is a squashfs (needs squashfs-tools).
#[test]
fn busybox_split_squashfs() {
    let bb = busybox();
    assert!(
        Command::new("mksquashfs").arg("-version").output().is_ok(),
        "mksquashfs is missing: apt-get install squashfs-tools (make test does)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let src = build_busybox_image(&bb, &tmp.path().join("out"), BuildFormat::Split).unwrap();
    let ImageSource::Split { metadata, rootfs } = src else {
        unreachable!()
    };
    let tree = tmp.path().join("tree");
    unpack_rootfs(
        &ImageSource::Split {
            metadata: metadata.clone(),
            rootfs,
        },
        &tree,
        None,
    )
    .unwrap();
    // A device node in the squashfs must be dropped on unpack.
    let made = Command::new("mknod")
        .arg(tree.join("dev/null"))
        .args(["c", "1", "3"])
        .status();
    let sqfs = tmp.path().join("rootfs.squashfs");
    let st = Command::new("mksquashfs")
        .arg(&tree)
        .arg(&sqfs)
        .args(["-noappend", "-quiet", "-no-progress", "-comp", "gzip"])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let src = ImageSource::Split {
        metadata,
        rootfs: sqfs,
    };
    assert_eq!(inspect(&src).unwrap().rootfs_kind, RootfsKind::Squashfs);
    let dest = tmp.path().join("unsquashed");
    let last = std::cell::Cell::new((0, 0));
    let progress = |d: u64, t: u64| last.set((d, t));
    unpack_rootfs(&src, &dest, Some(&progress)).unwrap();
    check_rootfs(&dest);
    assert_eq!(last.get().0, last.get().1);
    if made.map(|s| s.success()).unwrap_or(false) {
        assert!(
            std::fs::symlink_metadata(dest.join("dev/null")).is_err(),
            "device kept"
        );
    }

    // Garbage with squashfs magic is refused and leaves nothing.
    let mut bad = b"hsqs".to_vec();
    bad.extend(std::iter::repeat_n(7u8, 4096));
    std::fs::write(tmp.path().join("bad.sqfs"), bad).unwrap();
    let ImageSource::Split { metadata, .. } = src else {
        unreachable!()
    };
    let dest = tmp.path().join("bad-dest");
    let e = unpack_rootfs(
        &ImageSource::Split {
            metadata,
            rootfs: tmp.path().join("bad.sqfs"),
        },
        &dest,
        None,
    )
    .unwrap_err();
    assert!(e.is_image_error(), "{e}");
    crate::common::assert_clean(&dest);
}
