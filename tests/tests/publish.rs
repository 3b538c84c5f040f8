//! `incus publish` (an image from an instance or snapshot: upstream's unified
//! tarball, fingerprint = its SHA-256, properties merged, aliases, --reuse, --expire,
//! running instances refused without --force) and `incus rebuild` (root replaced from
//! an image or empty; config, identity and snapshots kept; image keys follow).

use incus_tests::{busybox_images, sha256_hex, TestEnv};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

fn env_with_image() -> TestEnv {
    let env = TestEnv::initialized();
    let img = busybox_images("publish");
    env.import(&[img.unified.as_path()], "busybox");
    env
}

fn rootfs(env: &TestEnv, name: &str) -> PathBuf {
    env.incus_dir
        .join("storage-pools/default/containers")
        .join(name)
        .join("rootfs")
}

fn image(env: &TestEnv, alias: &str) -> serde_json::Value {
    env.json("incus-image", &["show", alias, "--format", "json"])
}

#[test]
fn publish_makes_an_image_that_launches_with_the_files() {
    let env = env_with_image();
    env.ok("incus", &["create", "busybox", "pub-c1"]);
    let root = rootfs(&env, "pub-c1");
    std::fs::write(root.join("etc/published"), b"yes\n").unwrap();
    std::os::unix::fs::chown(root.join("etc/published"), Some(1000), Some(1001)).unwrap();
    env.ok("incus", &["snapshot", "create", "pub-c1", "s0"]);
    std::fs::write(root.join("etc/after"), b"later\n").unwrap();
    env.ok(
        "incus",
        &[
            "publish",
            "pub-c1",
            "--alias",
            "pub-img",
            "os=custom",
            "extra=1",
        ],
    );
    let img = image(&env, "pub-img");
    let fp = img["fingerprint"].as_str().unwrap().to_string();
    assert_eq!(img["properties"]["os"], "custom");
    assert_eq!(img["properties"]["extra"], "1");
    // Kept from the instance's metadata.yaml.
    assert_eq!(img["properties"]["description"], "Busybox x86_64");
    // The fingerprint is the stored tarball's SHA-256, as upstream's.
    let stored = std::fs::read(env.incus_dir.join("images").join(&fp)).unwrap();
    assert_eq!(sha256_hex(&[&stored]), fp);
    assert!(stored.starts_with(&[0x1f, 0x8b]), "gzip by default");
    // It launches, with the files and their owners.
    env.ok("incus", &["create", "pub-img", "pub-c2"]);
    let m = std::fs::metadata(rootfs(&env, "pub-c2").join("etc/published")).unwrap();
    assert_eq!((m.uid(), m.gid()), (1000, 1001));
    let c2 = env.json("incus-instance", &["show", "pub-c2", "--format", "json"]);
    assert_eq!(c2["config"]["volatile.base_image"], fp.as_str());
    assert_eq!(c2["config"]["image.os"], "custom");

    // A snapshot publishes its own content; xz; an expiry.
    env.ok(
        "incus",
        &[
            "publish",
            "pub-c1/s0",
            "--alias",
            "pub-snap",
            "--compression",
            "xz",
            "--expire",
            "2099-01-01T00:00:00Z",
        ],
    );
    let snap_img = image(&env, "pub-snap");
    assert_eq!(snap_img["expires_at"], "2099-01-01T00:00:00Z");
    let sfp = snap_img["fingerprint"].as_str().unwrap();
    let stored = std::fs::read(env.incus_dir.join("images").join(sfp)).unwrap();
    assert!(stored.starts_with(&[0xfd, b'7', b'z', b'X', b'Z']), "xz");
    env.ok("incus", &["create", "pub-snap", "pub-c3"]);
    assert!(rootfs(&env, "pub-c3").join("etc/published").is_file());
    assert!(!rootfs(&env, "pub-c3").join("etc/after").exists());

    // An alias in use: refused (4), or moved with --reuse (the old image goes).
    let out = env.run("incus", &["publish", "pub-c1", "--alias", "pub-img"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    std::fs::write(root.join("etc/third"), b"3\n").unwrap();
    env.ok(
        "incus",
        &["publish", "pub-c1", "--alias", "pub-img", "--reuse"],
    );
    let new_fp = image(&env, "pub-img")["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new_fp, fp);
    let out = env.run("incus-image", &["show", &fp]);
    assert_eq!(out.code, 3, "the replaced image is deleted: {}", out.stdout);

    // Bad input changes nothing.
    let before = env.json("incus-image", &["list", "--format", "json"]);
    for bad in [
        vec!["publish", "nope"],
        vec!["publish", "pub-c1/nope"],
        vec!["publish", "pub-c1", "--compression", "zstd"],
        vec!["publish", "pub-c1", "--expire", "tomorrow"],
        vec!["publish", "pub-c1", "other:"],
    ] {
        let out = env.run("incus", &bad);
        assert!(!out.success(), "{bad:?} succeeded");
    }
    assert_eq!(
        env.json("incus-image", &["list", "--format", "json"]),
        before
    );
    let leftovers: Vec<String> = std::fs::read_dir(&env.incus_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".publish-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn publish_of_a_running_instance_needs_force() {
    let env = env_with_image();
    env.ok("incus", &["launch", "busybox", "pub-r1"]);
    let _running = incus_tests::Running(&env);
    let out = env.run("incus", &["publish", "pub-r1", "--alias", "r"]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    env.ok("incus", &["publish", "pub-r1", "--alias", "r", "--force"]);
    assert_eq!(env.status("pub-r1"), "Running", "started again");
    image(&env, "r");
}

#[test]
fn rebuild_replaces_the_root_and_keeps_the_rest() {
    let env = env_with_image();
    env.ok("incus", &["create", "busybox", "rb-c1"]);
    env.ok("incus", &["config", "set", "rb-c1", "user.keep=me"]);
    env.ok("incus", &["snapshot", "create", "rb-c1", "s0"]);
    let root = rootfs(&env, "rb-c1");
    std::fs::write(root.join("etc/old"), b"old\n").unwrap();
    let before = env.json("incus-instance", &["show", "rb-c1", "--format", "json"]);
    // Another image to rebuild from.
    env.ok(
        "incus",
        &["publish", "rb-c1", "--alias", "rb-img", "os=other"],
    );
    std::fs::remove_file(root.join("etc/old")).unwrap();
    std::fs::write(root.join("etc/gone"), b"gone\n").unwrap();
    env.ok("incus", &["rebuild", "rb-img", "rb-c1"]);
    assert!(root.join("etc/old").is_file(), "the image's files");
    assert!(!root.join("etc/gone").exists(), "the old root is gone");
    let after = env.json("incus-instance", &["show", "rb-c1", "--format", "json"]);
    let fp = image(&env, "rb-img")["fingerprint"].clone();
    assert_eq!(after["config"]["volatile.base_image"], fp);
    assert_eq!(after["config"]["image.os"], "other");
    assert_eq!(after["config"]["user.keep"], "me");
    assert_eq!(
        after["config"]["volatile.uuid"],
        before["config"]["volatile.uuid"]
    );
    assert_eq!(after["config"]["volatile.apply_template"], "create");
    let snaps = env.json("incus-snapshot", &["list", "rb-c1", "--format", "json"]);
    assert_eq!(snaps[0]["name"], "s0", "snapshots kept");
    // Nothing left beside the root.
    let vol = root.parent().unwrap();
    let names: Vec<String> = std::fs::read_dir(vol)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.contains("rebuild") && !n.contains("unpack")),
        "{names:?}"
    );

    // --empty: an empty root, no image keys.
    env.ok("incus", &["rebuild", "--empty", "rb-c1"]);
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
    let after = env.json("incus-instance", &["show", "rb-c1", "--format", "json"]);
    assert!(after["config"]["volatile.base_image"].is_null());
    assert!(after["config"]["image.os"].is_null());
    assert_eq!(after["config"]["user.keep"], "me");

    // Bad input changes nothing.
    for (args, code) in [
        (vec!["rebuild", "nope", "rb-c1"], 3),
        (vec!["rebuild", "busybox", "nope"], 3),
        (vec!["rebuild", "rb-c1"], 2),
        (vec!["rebuild", "busybox", "rb-c1", "--empty"], 2),
    ] {
        let out = env.run("incus", &args);
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
    }
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
}

#[test]
fn rebuild_of_a_running_instance_needs_force() {
    let env = env_with_image();
    env.ok("incus", &["launch", "busybox", "rb-r1"]);
    let _running = incus_tests::Running(&env);
    std::fs::write(rootfs(&env, "rb-r1").join("etc/marker"), b"m\n").unwrap();
    let out = env.run("incus", &["rebuild", "busybox", "rb-r1"]);
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert!(rootfs(&env, "rb-r1").join("etc/marker").exists());
    env.ok("incus", &["rebuild", "busybox", "rb-r1", "--force"]);
    assert_eq!(env.status("rb-r1"), "Running");
    assert!(!rootfs(&env, "rb-r1").join("etc/marker").exists());
    let out = env.ok("incus", &["exec", "rb-r1", "--", "cat", "/etc/hostname"]);
    assert_eq!(out.stdout.trim(), "rb-r1", "create templates ran again");
}

/// The upstream client's `publish` and `rebuild` against incus-serve.
#[test]
fn upstream_client_publishes_and_rebuilds_through_serve() {
    use incus_tests::serve::{assert_error, upstream_present, Server};
    upstream_present();
    let env = env_with_image();
    env.ok("incus", &["create", "busybox", "pubs-c1"]);
    std::fs::write(rootfs(&env, "pubs-c1").join("etc/srv"), b"srv\n").unwrap();
    env.ok("incus", &["snapshot", "create", "pubs-c1", "s0"]);
    let srv = Server::start(&env);
    let out = srv.incus(&["publish", "pubs-c1", "--alias", "pubs-img", "os=served"]);
    assert!(out.success(), "{}\n{}", out.stderr, srv.log());
    assert!(
        out.stdout.contains("Instance published with fingerprint"),
        "{}",
        out.stdout
    );
    let img = image(&env, "pubs-img");
    assert_eq!(img["properties"]["os"], "served");
    let out = srv.incus(&["publish", "pubs-c1/s0", "--alias", "pubs-snap"]);
    assert!(out.success(), "{}\n{}", out.stderr, srv.log());
    image(&env, "pubs-snap");
    // --reuse (the client deletes the old image and re-points the alias).
    std::fs::write(rootfs(&env, "pubs-c1").join("etc/srv2"), b"2\n").unwrap();
    let out = srv.incus(&["publish", "pubs-c1", "--alias", "pubs-img", "--reuse"]);
    assert!(out.success(), "{}\n{}", out.stderr, srv.log());
    assert_ne!(image(&env, "pubs-img")["fingerprint"], img["fingerprint"]);

    std::fs::remove_file(rootfs(&env, "pubs-c1").join("etc/srv")).unwrap();
    let out = srv.incus(&["rebuild", "pubs-snap", "pubs-c1"]);
    assert!(out.success(), "{}\n{}", out.stderr, srv.log());
    assert!(rootfs(&env, "pubs-c1").join("etc/srv").is_file());
    assert!(!rootfs(&env, "pubs-c1").join("etc/srv2").exists());
    let out = srv.incus(&["rebuild", "--empty", "pubs-c1"]);
    assert!(out.success(), "{}\n{}", out.stderr, srv.log());
    assert_eq!(
        std::fs::read_dir(rootfs(&env, "pubs-c1")).unwrap().count(),
        0
    );

    // By hand: bad sources are 400/404/501, nothing made.
    let before = env.json("incus-image", &["list", "--format", "json"]);
    assert_error(
        &srv.curl(
            "POST",
            "/1.0/images",
            Some(r#"{"source":{"type":"instance","name":"nope"}}"#),
        ),
        404,
    );
    assert_error(
        &srv.curl(
            "POST",
            "/1.0/images",
            Some(r#"{"source":{"type":"snapshot","name":"pubs-c1"}}"#),
        ),
        400,
    );
    assert_error(
        &srv.curl(
            "POST",
            "/1.0/images",
            Some(r#"{"source":{"type":"bogus"}}"#),
        ),
        501,
    );
    assert_error(
        &srv.curl(
            "POST",
            "/1.0/images",
            Some(r#"{"source":{"type":"instance","name":"../x"}}"#),
        ),
        400,
    );
    assert_eq!(
        env.json("incus-image", &["list", "--format", "json"]),
        before
    );
    assert_error(
        &srv.curl(
            "POST",
            "/1.0/instances/pubs-c1/rebuild",
            Some(r#"{"source":{"type":"image","alias":"nope"}}"#),
        ),
        404,
    );
    assert_error(
        &srv.curl(
            "POST",
            "/1.0/instances/pubs-c1/rebuild",
            Some(r#"{"source":{"type":"image","alias":"busybox","server":"https://elsewhere"}}"#),
        ),
        501,
    );
}

/// Killed right after the swap: the instance has the new root (whole), the old tree
/// waits beside it; the instance still starts, and the next rebuild clears it.
#[test]
fn killed_rebuild_leaves_a_whole_root() {
    let env = env_with_image();
    env.ok("incus", &["create", "busybox", "rb-k1"]);
    let root = rootfs(&env, "rb-k1");
    std::fs::write(root.join("etc/old"), b"old\n").unwrap();
    env.kill_at(
        "incus-instance",
        &["rebuild", "busybox", "rb-k1"],
        "rebuild-swapped",
    );
    assert!(root.join("bin/busybox").exists(), "a whole root");
    assert!(!root.join("etc/old").exists(), "the new one");
    let vol = root.parent().unwrap();
    assert!(
        vol.join("rootfs.rebuild/etc/old").exists(),
        "the old one beside it"
    );
    env.ok("incus", &["start", "rb-k1"]);
    let _running = incus_tests::Running(&env);
    env.ok("incus", &["exec", "rb-k1", "--", "true"]);
    env.ok("incus", &["stop", "-f", "rb-k1"]);
    env.ok("incus", &["rebuild", "--empty", "rb-k1"]);
    assert!(!vol.join("rootfs.rebuild").exists());
    assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
}
