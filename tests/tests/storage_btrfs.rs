//! The btrfs driver on real btrfs: loop files made in the test (inside the test's own
//! INCUS_DIR), subvolumes, read-only snapshots, qgroup quotas, the image volume shared
//! by instances, custom volumes attached to running containers, and kill -9 in the
//! middle of a restore.
//!
//! Every test holds a [`Cleanup`] declared after its [`TestEnv`], so it runs first on
//! drop, even on failure: it force-deletes instances and unmounts whatever is mounted
//! under the test's directory (loop devices go with the mount: autoclear).

use incus_tests::btrfs::{need_btrfs, Cleanup};
use incus_tests::{busybox_images, exit, TestEnv};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// A fresh installation with a btrfs loop pool `pool` (300 MiB, sparse).
fn btrfs_env() -> TestEnv {
    need_btrfs();
    let env = TestEnv::initialized();
    env.ok("incus-storage", &["create", "bt", "btrfs", "size=300MiB"]);
    env
}

fn pool_path(env: &TestEnv) -> PathBuf {
    env.incus_dir.join("storage-pools/bt")
}

fn is_mountpoint(p: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(p), std::fs::metadata(p.join(".."))) {
        (Ok(a), Ok(b)) => a.dev() != b.dev(),
        _ => false,
    }
}

/// `btrfs subvolume show` fields (UUID, Parent UUID, Flags...).
fn subvol_field(path: &Path, field: &str) -> String {
    let out = Command::new("btrfs")
        .args(["subvolume", "show"])
        .arg(path)
        .output()
        .expect("btrfs subvolume show");
    assert!(
        out.status.success(),
        "{} is not a subvolume: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            (k.trim() == field).then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no {field} for {}", path.display()))
}

fn import_busybox(env: &TestEnv) -> String {
    let img = busybox_images("storage_btrfs");
    env.import(&[img.unified.as_path()], "bb")
}

#[test]
fn pool_create_refuses_bad_input_and_leaves_nothing() {
    need_btrfs();
    let env = TestEnv::initialized();
    let _c = Cleanup { env: &env };
    let plain = env.root().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let missing = env.root().join("missing");
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["create", "p1", "btrfs", "size=10MiB"],
            exit::INVALID,
            "too small",
        ),
        (
            &["create", "p1", "btrfs", "size=lots"],
            exit::INVALID,
            "Invalid size",
        ),
        (
            &[
                "create",
                "p1",
                "btrfs",
                &format!("source={}", plain.display()),
            ],
            exit::INVALID,
            "not on a btrfs filesystem",
        ),
        (
            &[
                "create",
                "p1",
                "btrfs",
                &format!("source={}", missing.display()),
            ],
            exit::INVALID,
            "unusable",
        ),
        (
            &["create", "p1", "btrfs", "zfs.pool_name=x"],
            exit::INVALID,
            "Invalid option",
        ),
        (
            &["create", "p1", "btrfs", "volume.bogus=1"],
            exit::INVALID,
            "bogus",
        ),
        (&["create", "p1", "zfs"], exit::UNSUPPORTED, "not available"),
        (&["create", "p1", "lvm"], exit::UNSUPPORTED, "not available"),
        (
            &["create", "p1", "ceph"],
            exit::UNSUPPORTED,
            "not available",
        ),
    ];
    for (args, code, msg) in cases {
        let out = env.run("incus-storage", args).err(*code);
        assert!(out.stderr.contains(msg), "{args:?}: {}", out.stderr);
        assert!(!env.incus_dir.join("storage-pools/p1").exists(), "{args:?}");
        assert!(!env.incus_dir.join("disks/p1.img").exists(), "{args:?}");
    }
    assert_eq!(env.db_rows("storage_pools"), 1, "only the default pool");
    assert!(std::fs::read_dir(&plain).unwrap().next().is_none());
}

#[test]
fn loop_pool_is_remounted_after_unmount_and_deleted_cleanly() {
    let env = btrfs_env();
    let _c = Cleanup { env: &env };
    let path = pool_path(&env);
    let img = env.incus_dir.join("disks/bt.img");
    assert!(img.is_file());
    assert!(is_mountpoint(&path), "pool mounted after create");
    let pool = env.json("incus-storage", &["show", "bt", "--format", "json"]);
    assert_eq!(pool["config"]["source"], img.display().to_string());
    assert_eq!(pool["config"]["size"], "300MiB");
    env.ok("incus-storage", &["volume", "create", "bt", "v1"]);
    std::fs::write(path.join("custom/v1/f"), b"kept").unwrap();
    let info = env.json("incus-storage", &["info", "bt", "--bytes", "-f", "json"]);
    let total: u64 = info["info"]["total space"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let used: u64 = info["info"]["space used"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(total > 200 << 20 && total <= 300 << 20, "{info}");
    assert!(used > 0 && used < total, "{info}");

    // A reboot, as far as the pool can tell.
    let st = Command::new("umount").arg(&path).status().unwrap();
    assert!(st.success());
    assert!(!is_mountpoint(&path));
    env.ok("incus-storage", &["volume", "list", "bt"]);
    assert!(is_mountpoint(&path), "the next command re-mounts the pool");
    assert_eq!(std::fs::read(path.join("custom/v1/f")).unwrap(), b"kept");

    // Growing the loop file grows the filesystem; shrinking is refused.
    env.ok("incus-storage", &["set", "bt", "size=400MiB"]);
    let info = env.json("incus-storage", &["info", "bt", "--bytes", "-f", "json"]);
    let grown: u64 = info["info"]["total space"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(grown > total + (50 << 20), "{total} -> {grown}");
    assert_eq!(std::fs::metadata(&img).unwrap().len(), 400 << 20);
    let out = env
        .run("incus-storage", &["set", "bt", "size=300MiB"])
        .err(exit::INVALID);
    assert!(out.stderr.contains("shrink"), "{}", out.stderr);
    assert_eq!(
        env.ok("incus-storage", &["get", "bt", "size"])
            .stdout
            .trim(),
        "400MiB"
    );

    let out = env
        .run("incus-storage", &["delete", "bt"])
        .err(exit::CONFLICT);
    assert!(out.stderr.contains("custom/v1"), "{}", out.stderr);
    env.ok("incus-storage", &["volume", "delete", "bt", "v1"]);
    env.ok("incus-storage", &["delete", "bt"]);
    assert!(!path.exists());
    assert!(!img.exists());
}

#[test]
fn image_volume_is_filled_once_and_snapshotted_per_instance() {
    let env = btrfs_env();
    let _c = Cleanup { env: &env };
    let fp = import_busybox(&env);
    let path = pool_path(&env);
    let image_vol = path.join("images").join(&fp);

    env.ok("incus-instance", &["init", "bb", "c1", "-s", "bt"]);
    let uuid = subvol_field(&image_vol, "UUID");
    let gen = subvol_field(&image_vol, "Gen at creation");
    assert!(subvol_field(&image_vol, "Flags").contains("readonly"));
    std::fs::write(path.join("containers/c1/rootfs/mine"), b"c1").unwrap();

    let t = Instant::now();
    env.ok("incus-instance", &["init", "bb", "c2", "-s", "bt"]);
    let second = t.elapsed();
    // The second create did not unpack: the image volume is the same subvolume,
    // untouched since, and c2 is a snapshot of it.
    assert_eq!(subvol_field(&image_vol, "UUID"), uuid);
    assert_eq!(subvol_field(&image_vol, "Gen at creation"), gen);
    assert_eq!(
        subvol_field(&path.join("containers/c2"), "Parent UUID"),
        uuid
    );
    assert_eq!(
        subvol_field(&path.join("containers/c1"), "Parent UUID"),
        uuid
    );
    assert!(
        !path.join("containers/c2/rootfs/mine").exists(),
        "independent"
    );
    assert!(path.join("containers/c2/rootfs/bin/busybox").is_file());
    assert_eq!(
        incus_tests::list_dir(&path.join("images")),
        vec![fp.clone()],
        "no staging left"
    );
    incus_tests::notice(&format!("second create on btrfs: {second:?}"));

    // Deleting the image drops its volume; the instances keep their content.
    env.ok("incus-image", &["delete", "bb"]);
    assert!(!image_vol.exists());
    assert!(path.join("containers/c2/rootfs/bin/busybox").is_file());
    env.ok("incus-instance", &["delete", "c1", "c2"]);
    assert!(incus_tests::list_dir(&path.join("containers")).is_empty());
}

#[test]
fn quotas_are_enforced_and_never_below_usage() {
    let env = btrfs_env();
    let _c = Cleanup { env: &env };
    let path = pool_path(&env);
    env.ok("incus-storage", &["set", "bt", "volume.size=20MiB"]);
    env.ok("incus-storage", &["volume", "create", "bt", "q"]);
    let vol = env.json(
        "incus-storage",
        &["volume", "show", "bt", "q", "-f", "json"],
    );
    assert_eq!(vol["config"]["size"], "20MiB", "inherited from volume.size");

    let dd = |file: &Path, mib: u32| {
        Command::new("dd")
            .arg("if=/dev/zero")
            .arg(format!("of={}", file.display()))
            .args(["bs=1M", &format!("count={mib}"), "conv=fsync"])
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    };
    let out = dd(&path.join("custom/q/big"), 40);
    assert!(!out.status.success(), "writing past the size fails");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("quota"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = env.json(
        "incus-storage",
        &["volume", "info", "bt", "q", "--bytes", "-f", "json"],
    );
    let used: u64 = info["Usage"].as_str().unwrap().parse().unwrap();
    assert!(used > 15 << 20, "usage shown: {info}");
    assert_eq!(info["Total"], (20u64 << 20).to_string());

    let out = env
        .run("incus-storage", &["volume", "set", "bt", "q", "size=5MiB"])
        .err(exit::INVALID);
    assert!(out.stderr.contains("below"), "{}", out.stderr);
    assert_eq!(
        env.ok("incus-storage", &["volume", "get", "bt", "q", "size"])
            .stdout
            .trim(),
        "20MiB",
        "nothing changed"
    );
    // Raising it lets the write through.
    std::fs::remove_file(path.join("custom/q/big")).unwrap();
    env.ok("incus-storage", &["volume", "set", "bt", "q", "size=60MiB"]);
    assert!(dd(&path.join("custom/q/big"), 40).status.success());

    // The root disk's size, on an instance.
    import_busybox(&env);
    env.ok(
        "incus-instance",
        &["init", "bb", "r1", "-s", "bt", "-d", "root,size=30MiB"],
    );
    let out = dd(&path.join("containers/r1/rootfs/big"), 50);
    assert!(!out.status.success(), "root disk size enforced");
    std::fs::remove_file(path.join("containers/r1/rootfs/big")).unwrap();
    env.ok(
        "incus-instance",
        &["config", "device", "set", "r1", "root", "size=100MiB"],
    );
    assert!(dd(&path.join("containers/r1/rootfs/big"), 50)
        .status
        .success());
    let out = env
        .run(
            "incus-instance",
            &["config", "device", "set", "r1", "root", "size=10MiB"],
        )
        .err(exit::INVALID);
    assert!(out.stderr.contains("below"), "{}", out.stderr);
    let inst = env.json("incus-instance", &["config", "show", "r1", "-f", "json"]);
    assert_eq!(inst["devices"]["root"]["size"], "100MiB", "{inst}");

    // Without a size of its own, a new instance volume gets the pool's volume.size.
    env.ok("incus-instance", &["init", "bb", "r2", "-s", "bt"]);
    let out = dd(&path.join("containers/r2/rootfs/big"), 30);
    assert!(
        !out.status.success(),
        "volume.size applies to instance volumes"
    );

    // The dir driver has no quotas: the key is kept without a limit, as upstream does
    // on a filesystem without project quotas.
    env.ok(
        "incus-storage",
        &["volume", "create", "default", "d", "size=1MiB"],
    );
    let dir_vol = env.incus_dir.join("storage-pools/default/custom/d");
    assert!(dd(&dir_vol.join("big"), 4).status.success());
    env.ok("incus-storage", &["volume", "delete", "default", "d"]);
}

#[test]
fn custom_volume_lifecycle() {
    let env = btrfs_env();
    let _c = Cleanup { env: &env };
    let path = pool_path(&env);
    let s = |args: &[&str]| env.ok("incus-storage", args);
    s(&[
        "volume",
        "create",
        "bt",
        "v",
        "user.a=1",
        "--description",
        "first",
    ]);
    let out = env
        .run("incus-storage", &["volume", "create", "bt", "v"])
        .err(exit::CONFLICT);
    assert!(out.stderr.contains("already exists"));
    env.run("incus-storage", &["volume", "create", "bt", "w", "bogus=1"])
        .err(exit::INVALID);
    env.run("incus-storage", &["volume", "show", "bt", "nope"])
        .err(exit::NOT_FOUND);
    assert_eq!(
        s(&["volume", "get", "bt", "v", "user.a"]).stdout.trim(),
        "1"
    );
    s(&["volume", "set", "bt", "v", "user.b=2"]);
    s(&["volume", "unset", "bt", "v", "user.a"]);
    env.run_stdin(
        "incus-storage",
        &["volume", "edit", "bt", "v"],
        "config:\n  user.b: '3'\ndescription: edited\n",
    )
    .ok();
    let v = env.json(
        "incus-storage",
        &["volume", "show", "bt", "custom/v", "-f", "json"],
    );
    assert_eq!(v["config"], serde_json::json!({"user.b": "3"}));
    assert_eq!(v["description"], "edited");
    assert_eq!(v["type"], "custom");

    // Snapshots: read-only subvolumes.
    std::fs::write(path.join("custom/v/f"), b"one").unwrap();
    s(&["volume", "snapshot", "create", "bt", "v", "s1"]);
    s(&["volume", "snapshot", "create", "bt", "v"]);
    let snaps = env.json(
        "incus-storage",
        &["volume", "snapshot", "list", "bt", "v", "-f", "json"],
    );
    let names: Vec<&str> = snaps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["s1", "snap0"]);
    let snap = path.join("custom-snapshots/v/s1");
    assert!(subvol_field(&snap, "Flags").contains("readonly"));
    assert!(std::fs::write(snap.join("g"), b"x").is_err(), "read-only");
    s(&["volume", "snapshot", "rename", "bt", "v", "snap0", "s2"]);
    s(&["volume", "snapshot", "delete", "bt", "v", "s2"]);
    assert!(!path.join("custom-snapshots/v/s2").exists());
    std::fs::write(path.join("custom/v/f"), b"two").unwrap();
    s(&["volume", "snapshot", "restore", "bt", "v", "s1"]);
    assert_eq!(std::fs::read(path.join("custom/v/f")).unwrap(), b"one");
    let vols = env.json("incus-storage", &["volume", "list", "bt", "-f", "json"]);
    assert_eq!(
        vols.as_array().unwrap().len(),
        1,
        "snapshots are not volumes"
    );

    // Copy is a snapshot (independent), rename carries the snapshots.
    s(&["volume", "copy", "bt/v", "bt/c"]);
    assert_eq!(
        subvol_field(&path.join("custom/c"), "Parent UUID"),
        subvol_field(&path.join("custom/v"), "UUID")
    );
    std::fs::write(path.join("custom/c/f"), b"changed").unwrap();
    assert_eq!(std::fs::read(path.join("custom/v/f")).unwrap(), b"one");
    s(&["volume", "copy", "bt/v/s1", "default/fromsnap"]);
    assert_eq!(
        std::fs::read(
            env.incus_dir
                .join("storage-pools/default/custom/fromsnap/f")
        )
        .unwrap(),
        b"one"
    );
    s(&["volume", "rename", "bt", "v", "v2"]);
    assert!(path.join("custom-snapshots/v2/s1").exists());
    assert_eq!(
        env.json(
            "incus-storage",
            &["volume", "snapshot", "list", "bt", "v2", "-f", "json"]
        )[0]["name"],
        "s1"
    );
    s(&["volume", "move", "bt/c", "default/moved"]);
    assert!(!path.join("custom/c").exists());
    assert_eq!(
        std::fs::read(env.incus_dir.join("storage-pools/default/custom/moved/f")).unwrap(),
        b"changed"
    );
    // A subvolume made inside the volume (as systemd or docker do) does not block it.
    assert!(Command::new("btrfs")
        .args(["subvolume", "create"])
        .arg(path.join("custom/v2/nested"))
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success());
    s(&["volume", "delete", "bt", "v2"]);
    s(&["volume", "delete", "default", "moved", "fromsnap"]);
    assert!(incus_tests::list_dir(&path.join("custom")).is_empty());
    assert!(incus_tests::list_dir(&path.join("custom-snapshots")).is_empty());
    assert_eq!(env.db_rows("storage_volumes"), 0);
}

/// Waits (with a deadline) for the hook file a tool writes when it reaches the point.

#[test]
fn restore_killed_at_any_point_leaves_old_or_new_content() {
    let env = btrfs_env();
    let _c = Cleanup { env: &env };
    let path = pool_path(&env);
    env.ok("incus-storage", &["volume", "create", "bt", "v"]);
    std::fs::write(path.join("custom/v/f"), b"snapshot").unwrap();
    env.ok(
        "incus-storage",
        &["volume", "snapshot", "create", "bt", "v", "s"],
    );
    std::fs::write(path.join("custom/v/f"), b"current").unwrap();

    for (hook, expect) in [
        ("btrfs-restore-before-swap", &b"current"[..]),
        ("btrfs-restore-after-swap", &b"snapshot"[..]),
    ] {
        env.kill_at(
            "incus-storage",
            &["volume", "snapshot", "restore", "bt", "v", "s"],
            hook,
        );
        assert_eq!(
            std::fs::read(path.join("custom/v/f")).unwrap(),
            expect,
            "killed at {hook}"
        );
        // The kernel released its locks: the next restore works and cleans up.
        std::fs::write(path.join("custom/v/f"), b"current").unwrap();
        env.ok(
            "incus-storage",
            &["volume", "snapshot", "restore", "bt", "v", "s"],
        );
        assert_eq!(std::fs::read(path.join("custom/v/f")).unwrap(), b"snapshot");
        // (`.v.backup.yaml` is the volume's record for `admin recover`.)
        assert_eq!(
            incus_tests::list_dir(&path.join("custom")),
            vec![".v.backup.yaml".to_string(), "v".to_string()],
            "no leftover after {hook}"
        );
        std::fs::write(path.join("custom/v/f"), b"current").unwrap();
    }
}

#[test]
fn volume_attached_to_running_container_is_seen_inside() {
    let env = btrfs_env();
    let _c = Cleanup { env: &env };
    let path = pool_path(&env);
    import_busybox(&env);
    env.ok("incus-instance", &["launch", "bb", "c1", "-s", "bt"]);
    env.ok("incus-storage", &["volume", "create", "bt", "data"]);
    std::fs::write(path.join("custom/data/hello"), b"from host\n").unwrap();

    env.ok(
        "incus-storage",
        &["volume", "attach", "bt", "data", "c1", "/mnt/data"],
    );
    let out = env.ok(
        "incus-instance",
        &["exec", "c1", "--", "cat", "/mnt/data/hello"],
    );
    assert_eq!(out.stdout, "from host\n");
    let v = env.json(
        "incus-storage",
        &["volume", "show", "bt", "data", "-f", "json"],
    );
    assert_eq!(v["used_by"], serde_json::json!(["/1.0/instances/c1"]));

    let out = env
        .run("incus-storage", &["volume", "delete", "bt", "data"])
        .err(exit::CONFLICT);
    assert!(out.stderr.contains("in use"), "{}", out.stderr);
    env.ok(
        "incus-storage",
        &["volume", "snapshot", "create", "bt", "data", "s"],
    );
    env.run(
        "incus-storage",
        &["volume", "snapshot", "restore", "bt", "data", "s"],
    )
    .err(exit::CONFLICT);
    assert!(path.join("custom/data/hello").exists(), "nothing changed");

    env.ok("incus-storage", &["volume", "detach", "bt", "data", "c1"]);
    env.run(
        "incus-instance",
        &["exec", "c1", "--", "test", "-e", "/mnt/data/hello"],
    )
    .code(1);

    // Mounted at start from the device (pool= resolved to the volume).
    env.ok("incus-instance", &["stop", "-f", "c1"]);
    env.ok(
        "incus-storage",
        &["volume", "attach", "bt", "data", "c1", "dev1", "/srv"],
    );
    env.ok("incus-instance", &["start", "c1"]);
    let out = env.ok("incus-instance", &["exec", "c1", "--", "cat", "/srv/hello"]);
    assert_eq!(out.stdout, "from host\n");
    env.ok(
        "incus-instance",
        &["exec", "c1", "--", "sh", "-c", "echo in > /srv/w"],
    );
    assert!(path.join("custom/data/w").exists());
    env.ok("incus-instance", &["delete", "--force", "c1"]);
    env.ok("incus-storage", &["volume", "delete", "bt", "data"]);
}

/// A loop device made by the test, detached on drop.
struct LoopDev(String);

impl LoopDev {
    fn new(file: &Path, size: u64) -> LoopDev {
        std::fs::File::create(file).unwrap().set_len(size).unwrap();
        let out = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "losetup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        LoopDev(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.0]).status();
    }
}

#[test]
fn pools_on_a_block_device_and_on_a_btrfs_directory() {
    need_btrfs();
    let env = TestEnv::initialized();
    let dev = LoopDev::new(&env.root().join("blk.img"), 300 << 20);
    let _c = Cleanup { env: &env };

    // A block device: formatted and mounted by us, survives an unmount.
    env.ok(
        "incus-storage",
        &["create", "blk", "btrfs", &format!("source={}", dev.0)],
    );
    let blk = env.incus_dir.join("storage-pools/blk");
    assert!(is_mountpoint(&blk));
    env.ok("incus-storage", &["volume", "create", "blk", "v"]);
    assert_eq!(subvol_field(&blk.join("custom/v"), "Name"), "v");
    assert!(Command::new("umount").arg(&blk).status().unwrap().success());
    env.ok("incus-storage", &["volume", "info", "blk", "v"]);
    assert!(is_mountpoint(&blk), "re-mounted");
    // A device holding a filesystem is refused without source.wipe.
    env.ok("incus-storage", &["volume", "delete", "blk", "v"]);
    env.ok("incus-storage", &["delete", "blk"]);
    assert!(!blk.exists());
    let out = env
        .run(
            "incus-storage",
            &["create", "blk2", "btrfs", &format!("source={}", dev.0)],
        )
        .err(exit::INVALID);
    assert!(out.stderr.contains("mkfs.btrfs"), "{}", out.stderr);
    assert!(!env.incus_dir.join("storage-pools/blk2").exists());
    env.ok(
        "incus-storage",
        &[
            "create",
            "blk2",
            "btrfs",
            &format!("source={}", dev.0),
            "source.wipe=true",
        ],
    );
    env.ok("incus-storage", &["delete", "blk2"]);

    // An existing btrfs directory (mounted by the test): used through a symlink.
    let mnt = env.root().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let st = Command::new("mount")
        .arg(&dev.0)
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(st.success());
    let src = mnt.join("pool");
    std::fs::create_dir(&src).unwrap();
    env.ok(
        "incus-storage",
        &[
            "create",
            "onbtrfs",
            "btrfs",
            &format!("source={}", src.display()),
        ],
    );
    env.ok("incus-storage", &["volume", "create", "onbtrfs", "v"]);
    assert!(src.join("custom/v").is_dir());
    assert_eq!(subvol_field(&src.join("custom/v"), "Name"), "v");
    env.ok("incus-storage", &["volume", "delete", "onbtrfs", "v"]);
    env.ok("incus-storage", &["delete", "onbtrfs"]);
    assert!(src.is_dir(), "the user's directory stays");
    assert!(incus_tests::list_dir(&src).is_empty());
    assert!(Command::new("umount").arg(&mnt).status().unwrap().success());
}

#[test]
fn killed_pool_create_and_vanished_source_are_repaired() {
    need_btrfs();
    let env = TestEnv::initialized();
    let _c = Cleanup { env: &env };
    // What a create killed after mkfs and mount leaves: file and mount, no row.
    let img = env.incus_dir.join("disks/p.img");
    std::fs::create_dir_all(img.parent().unwrap()).unwrap();
    std::fs::File::create(&img)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    assert!(Command::new("mkfs.btrfs")
        .arg("-q")
        .arg(&img)
        .stdout(Stdio::null())
        .status()
        .unwrap()
        .success());
    let path = env.incus_dir.join("storage-pools/p");
    std::fs::create_dir_all(&path).unwrap();
    assert!(Command::new("mount")
        .args(["-o", "loop"])
        .arg(&img)
        .arg(&path)
        .status()
        .unwrap()
        .success());
    env.ok("incus-storage", &["create", "p", "btrfs", "size=256MiB"]);
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert_eq!(
        mounts
            .lines()
            .filter(|l| l.contains(path.to_str().unwrap()))
            .count(),
        1,
        "one mount, the new one"
    );
    assert_eq!(std::fs::metadata(&img).unwrap().len(), 256 << 20);

    // The loop file vanished (and the pool is not mounted): delete still works.
    assert!(Command::new("umount")
        .arg(&path)
        .status()
        .unwrap()
        .success());
    std::fs::remove_file(&img).unwrap();
    let out = env
        .run("incus-storage", &["volume", "list", "p"])
        .err(exit::NOT_FOUND);
    assert!(out.stderr.contains("missing"), "{}", out.stderr);
    env.ok("incus-storage", &["delete", "p"]);
    assert!(!path.exists());
}

#[test]
fn parallel_first_creates_fill_the_image_volume_once() {
    let env = btrfs_env();
    let _c = Cleanup { env: &env };
    let fp = import_busybox(&env);
    let path = pool_path(&env);
    let children: Vec<_> = (0..4)
        .map(|i| {
            env.command("incus-instance")
                .args(["init", "bb", &format!("p{i}"), "-s", "bt"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        incus_tests::list_dir(&path.join("images")),
        vec![fp.clone()]
    );
    let uuid = subvol_field(&path.join("images").join(&fp), "UUID");
    for i in 0..4 {
        assert_eq!(
            subvol_field(&path.join(format!("containers/p{i}")), "Parent UUID"),
            uuid
        );
    }
}

#[test]
fn create_killed_while_filling_the_image_volume_never_leaves_it_in_use() {
    let env = btrfs_env();
    let _c = Cleanup { env: &env };
    let fp = import_busybox(&env);
    let path = pool_path(&env);
    env.kill_at(
        "incus-instance",
        &["init", "bb", "k1", "-s", "bt"],
        "image-volume-filled",
    );
    assert!(
        !path.join("images").join(&fp).exists(),
        "not complete, not in use"
    );
    assert_eq!(
        incus_tests::list_dir(&path.join("images")),
        vec![format!(".{fp}.partial")]
    );
    // The next create replaces the staging and the pending k1 is repaired away.
    env.ok("incus-instance", &["init", "bb", "k2", "-s", "bt"]);
    assert_eq!(
        incus_tests::list_dir(&path.join("images")),
        vec![fp.clone()]
    );
    assert_eq!(env.instance_names(), vec!["k2".to_string()]);
    assert!(path.join("containers/k2/rootfs/bin/busybox").is_file());
}

#[test]
fn rename_killed_after_its_rows_is_rolled_forward() {
    let env = btrfs_env();
    let _c = Cleanup { env: &env };
    let path = pool_path(&env);
    env.ok("incus-storage", &["volume", "create", "bt", "old"]);
    std::fs::write(path.join("custom/old/f"), b"data").unwrap();
    env.ok(
        "incus-storage",
        &["volume", "snapshot", "create", "bt", "old", "s"],
    );
    env.kill_at(
        "incus-storage",
        &["volume", "rename", "bt", "old", "new"],
        "volume-rename-rows-written",
    );
    assert!(
        path.join("custom/old").exists(),
        "killed before the disk rename"
    );
    // The next command on the volume finishes the job.
    let v = env.json(
        "incus-storage",
        &["volume", "show", "bt", "new", "-f", "json"],
    );
    assert!(v["config"].get("volatile.rename_from").is_none(), "{v}");
    assert_eq!(std::fs::read(path.join("custom/new/f")).unwrap(), b"data");
    assert!(!path.join("custom/old").exists());
    assert!(path.join("custom-snapshots/new/s").exists());
    env.run("incus-storage", &["volume", "show", "bt", "old"])
        .err(exit::NOT_FOUND);
    env.ok("incus-storage", &["volume", "delete", "bt", "new"]);
    assert!(incus_tests::list_dir(&path.join("custom-snapshots")).is_empty());
}

/// Instances cross drivers: a dir instance with a snapshot is copied to btrfs (the
/// copy's root and snapshot become subvolumes with the same content), and moved back.
#[test]
fn instances_copy_and_move_between_dir_and_btrfs() {
    let env = btrfs_env();
    let _cleanup = Cleanup { env: &env };
    import_busybox(&env);
    let i = |args: &[&str]| env.ok("incus", args);
    i(&["create", "bb", "d1"]);
    let dir_root = env
        .incus_dir
        .join("storage-pools/default/containers/d1/rootfs");
    std::fs::write(dir_root.join("root/marker"), b"from dir").unwrap();
    i(&["snapshot", "create", "d1", "s0"]);
    std::fs::write(dir_root.join("root/marker"), b"after snapshot").unwrap();

    i(&["copy", "d1", "b1", "-s", "bt"]);
    let vol = pool_path(&env).join("containers/b1");
    assert!(
        subvol_field(&vol, "UUID").len() > 8,
        "the copy is a subvolume"
    );
    assert_eq!(
        std::fs::read(vol.join("rootfs/root/marker")).unwrap(),
        b"after snapshot"
    );
    let snap = pool_path(&env).join("containers-snapshots/b1/s0");
    assert!(subvol_field(&snap, "Flags").contains("readonly"));
    assert_eq!(
        std::fs::read(snap.join("rootfs/root/marker")).unwrap(),
        b"from dir"
    );
    let b1 = env.json("incus", &["list", "b1", "-f", "json"]);
    assert_eq!(
        b1[0]["snapshots"].as_array().map(|s| s.len()),
        Some(1),
        "{b1}"
    );
    // The copy runs and is independent of its source.
    i(&["start", "b1"]);
    let o = env.ok("incus", &["exec", "b1", "--", "cat", "/root/marker"]);
    assert_eq!(o.stdout, "after snapshot");
    i(&["stop", "-f", "b1"]);
    i(&["delete", "d1"]);

    // Back to dir under a new name; nothing is left on btrfs.
    i(&["move", "b1", "d2", "-s", "default"]);
    assert!(!vol.exists() && !snap.exists());
    let d2 = env
        .incus_dir
        .join("storage-pools/default/containers/d2/rootfs/root/marker");
    assert_eq!(std::fs::read(&d2).unwrap(), b"after snapshot");
    let check = env.run("incus", &["admin", "check", "-f", "json"]);
    assert_eq!(check.code, 0, "{}", check.stdout);
}
