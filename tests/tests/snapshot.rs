//! Snapshots (`incus-snapshot`), schedules and expiry (`auto`), timers, and instance
//! `copy`/`move`, against the real tools on a dir pool: content equality after
//! restore, config revert, later snapshots kept, a running restore, two concurrent
//! `auto` runs, expiry, bad input, and `kill -9` during create and restore.

use incus_tests::{busybox_images, exit, list_dir, walk, TestEnv};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

/// An initialised installation with the busybox image as `busybox`.
fn env_with_image() -> TestEnv {
    let env = TestEnv::initialized();
    let img = busybox_images("snapshot");
    env.import(&[img.unified.as_path()], "busybox");
    env
}

/// Stops running instances when the test ends, even on failure.
struct StopOnDrop<'a>(&'a TestEnv, Vec<String>);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        for n in &self.1 {
            let _ = self.0.run("incus-instance", &["stop", "-f", n]);
        }
    }
}

fn pool_dir(env: &TestEnv, pool: &str) -> PathBuf {
    env.incus_dir.join("storage-pools").join(pool)
}

fn rootfs(env: &TestEnv, name: &str) -> PathBuf {
    pool_dir(env, "default")
        .join("containers")
        .join(name)
        .join("rootfs")
}

fn snap_dir(env: &TestEnv, inst: &str, snap: &str) -> PathBuf {
    pool_dir(env, "default")
        .join("containers-snapshots")
        .join(inst)
        .join(snap)
}

/// Every path below `dir` with its content (files), link target or "dir".
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    walk(dir)
        .into_iter()
        .map(|rel| {
            let p = dir.join(&rel);
            let m = std::fs::symlink_metadata(&p).unwrap();
            let content = if m.file_type().is_symlink() {
                std::fs::read_link(&p)
                    .unwrap()
                    .into_os_string()
                    .into_encoded_bytes()
            } else if m.is_file() {
                std::fs::read(&p).unwrap()
            } else {
                b"dir".to_vec()
            };
            (rel, content)
        })
        .collect()
}

fn snap_names(env: &TestEnv, inst: &str) -> Vec<String> {
    env.json("incus-snapshot", &["list", inst, "-f", "json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

fn config(env: &TestEnv, inst: &str, key: &str) -> String {
    env.ok("incus-instance", &["config", "get", inst, key])
        .line()
        .to_string()
}

#[test]
fn restore_brings_back_content_and_config_and_keeps_later_snapshots() {
    let env = env_with_image();
    env.ok("incus-instance", &["create", "busybox", "c1"]);
    let root = rootfs(&env, "c1");
    std::fs::write(root.join("root/f"), b"one").unwrap();
    env.ok(
        "incus-instance",
        &["config", "set", "c1", "limits.cpu=1", "user.k=a"],
    );
    env.ok(
        "incus-instance",
        &[
            "config",
            "device",
            "add",
            "c1",
            "extra",
            "disk",
            "source=/tmp",
            "path=/mnt",
        ],
    );
    let before = tree(&root);
    let uuid = config(&env, "c1", "volatile.uuid");
    let generation = config(&env, "c1", "volatile.uuid.generation");
    let out = env.ok("incus-snapshot", &["create", "c1"]);
    assert!(out.stdout.contains("snap0"), "{}", out.stdout);
    // The snapshot holds the same tree.
    assert_eq!(tree(&snap_dir(&env, "c1", "snap0").join("rootfs")), before);

    std::fs::write(root.join("root/f"), b"two").unwrap();
    std::fs::write(root.join("root/new"), b"new").unwrap();
    std::fs::remove_file(root.join("bin/sh")).unwrap();
    env.ok(
        "incus-instance",
        &["config", "set", "c1", "limits.cpu=2", "user.k=b"],
    );
    env.ok(
        "incus-instance",
        &["config", "device", "remove", "c1", "extra"],
    );
    env.ok(
        "incus-snapshot",
        &["create", "c1", "later", "--description", "after"],
    );

    env.ok("incus-snapshot", &["restore", "c1", "snap0"]);
    assert_eq!(tree(&root), before, "rootfs equals the snapshot");
    assert_eq!(config(&env, "c1", "limits.cpu"), "1");
    assert_eq!(config(&env, "c1", "user.k"), "a");
    let inst = env.json("incus-instance", &["show", "c1", "-f", "json"]);
    assert_eq!(inst["devices"]["extra"]["source"], "/tmp", "devices revert");
    assert_eq!(config(&env, "c1", "volatile.uuid"), uuid, "uuid kept");
    assert_ne!(
        config(&env, "c1", "volatile.uuid.generation"),
        generation,
        "generation changes"
    );
    assert_eq!(
        snap_names(&env, "c1"),
        ["snap0", "later"],
        "later snapshot kept"
    );

    let show = env.json("incus-snapshot", &["show", "c1", "later", "-f", "json"]);
    assert_eq!(show["name"], "later");
    assert_eq!(show["description"], "after");
    assert_eq!(show["config"]["limits.cpu"], "2");
    assert_eq!(show["expires_at"], "0001-01-01T00:00:00Z");
    assert_eq!(show["stateful"], false);
    assert!(show["size"].as_i64().unwrap() > 0);
    assert!(show["expanded_config"]["image.os"].is_string());
    let list = env.json("incus-instance", &["list", "-f", "json"]);
    assert_eq!(list[0]["snapshots"].as_array().unwrap().len(), 2);

    // Rename and delete, disk included.
    env.ok("incus-snapshot", &["rename", "c1", "later", "l2"]);
    assert!(snap_dir(&env, "c1", "l2").is_dir());
    assert!(!snap_dir(&env, "c1", "later").exists());
    env.ok("incus-snapshot", &["delete", "c1", "snap0", "l2"]);
    assert!(snap_names(&env, "c1").is_empty());
    assert!(!pool_dir(&env, "default")
        .join("containers-snapshots/c1")
        .exists());
}

#[test]
fn bad_input_changes_nothing() {
    let env = env_with_image();
    env.ok("incus-instance", &["create", "busybox", "c1"]);
    env.ok("incus-snapshot", &["create", "c1", "s1"]);
    let long = "x".repeat(256);
    for bad in ["a/b", "a b", long.as_str()] {
        env.run("incus-snapshot", &["create", "c1", bad])
            .err(exit::INVALID);
    }
    env.run("incus-snapshot", &["create", "c1", "s1"])
        .err(exit::CONFLICT);
    env.run("incus-snapshot", &["create", "nope"])
        .err(exit::NOT_FOUND);
    env.run("incus-snapshot", &["list", "nope"])
        .err(exit::NOT_FOUND);
    env.run("incus-snapshot", &["show", "c1", "nope"])
        .err(exit::NOT_FOUND);
    env.run("incus-snapshot", &["restore", "c1", "nope"])
        .err(exit::NOT_FOUND);
    env.run("incus-snapshot", &["rename", "c1", "s1", "a/b"])
        .err(exit::INVALID);
    env.ok("incus-snapshot", &["create", "c1", "s2"]);
    env.run("incus-snapshot", &["rename", "c1", "s1", "s2"])
        .err(exit::CONFLICT);
    // All or nothing: s1 stays when one name is unknown.
    env.run("incus-snapshot", &["delete", "c1", "s1", "nope"])
        .err(exit::NOT_FOUND);
    env.run("incus-snapshot", &["create", "c1", "s3", "--stateful"])
        .err(exit::UNSUPPORTED);
    env.run("incus-snapshot", &["restore", "c1", "s1", "--stateful"])
        .err(exit::UNSUPPORTED);
    assert_eq!(snap_names(&env, "c1"), ["s1", "s2"]);
    assert_eq!(env.db_rows("instances_snapshots"), 2);
    assert_eq!(
        list_dir(&pool_dir(&env, "default").join("containers-snapshots/c1")),
        ["s1", "s2"]
    );
    for (k, v) in [
        ("snapshots.schedule", "61 * * * *"),
        ("snapshots.schedule", "@sometimes"),
        ("snapshots.expiry", "3x"),
        ("snapshots.pattern", "a%db%d"),
    ] {
        env.run(
            "incus-instance",
            &["config", "set", "c1", &format!("{k}={v}")],
        )
        .err(exit::INVALID);
        env.run("incus-profile", &["set", "default", &format!("{k}={v}")])
            .err(exit::INVALID);
    }
    let inst = env.json("incus-instance", &["show", "c1", "-f", "json"]);
    assert!(inst["config"]["snapshots.schedule"].is_null());
    env.run("incus-snapshot", &["auto", "--now", "yesterday"])
        .err(exit::INVALID);
    // --reuse replaces.
    env.ok("incus-snapshot", &["create", "c1", "s1", "--reuse"]);
    assert_eq!(snap_names(&env, "c1"), ["s2", "s1"]);
}

#[test]
fn names_from_pattern_and_expiry() {
    let env = env_with_image();
    env.ok("incus-instance", &["create", "busybox", "c1"]);
    env.ok("incus-snapshot", &["create", "c1"]);
    env.ok("incus-snapshot", &["create", "c1"]);
    assert_eq!(snap_names(&env, "c1"), ["snap0", "snap1"]);
    env.ok(
        "incus-instance",
        &[
            "config",
            "set",
            "c1",
            "snapshots.pattern=b-{{ creation_date|date:'2006' }}-%d",
            "snapshots.expiry=2d",
        ],
    );
    env.ok("incus-snapshot", &["create", "c1"]);
    let year = chrono_year();
    let name = format!("b-{year}-0");
    let s = env.json("incus-snapshot", &["show", "c1", &name, "-f", "json"]);
    assert_ne!(s["expires_at"], "0001-01-01T00:00:00Z", "expiry applied");
    env.ok("incus-snapshot", &["create", "c1", "--no-expiry"]);
    let s = env.json(
        "incus-snapshot",
        &["show", "c1", &format!("b-{year}-1"), "-f", "json"],
    );
    assert_eq!(s["expires_at"], "0001-01-01T00:00:00Z", "--no-expiry");
}

fn chrono_year() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn auto_takes_due_slots_once_and_prunes_expired() {
    let env = env_with_image();
    env.ok("incus-instance", &["create", "busybox", "c1"]);
    env.ok("incus-instance", &["create", "busybox", "off"]);
    env.ok(
        "incus-instance",
        &[
            "config",
            "set",
            "c1",
            "snapshots.schedule=*/5 * * * *",
            "snapshots.schedule.stopped=true",
            "snapshots.expiry=10M",
        ],
    );
    // Stopped and not opted in: skipped.
    env.ok(
        "incus-instance",
        &["config", "set", "off", "snapshots.schedule=@hourly"],
    );
    let auto = |now: &str| env.json("incus-snapshot", &["auto", "--now", now, "-f", "json"]);
    let r = auto("2030-01-01T00:02:00Z");
    assert_eq!(r["created"], serde_json::json!(["c1/snap0"]));
    let r = auto("2030-01-01T00:02:00Z");
    assert_eq!(r["created"], serde_json::json!([]), "idempotent");
    let r = auto("2030-01-01T00:04:59Z");
    assert_eq!(r["created"], serde_json::json!([]), "no slot in between");
    let r = auto("2030-01-01T00:05:00Z");
    assert_eq!(r["created"], serde_json::json!(["c1/snap1"]));
    assert!(snap_names(&env, "off").is_empty());
    let s = env.json("incus-snapshot", &["show", "c1", "snap1", "-f", "json"]);
    assert_eq!(s["expires_at"].as_str().unwrap(), "2030-01-01T00:15:00Z");
    // 00:13: snap0 (expires 00:12) goes; the 00:10 slot is taken.
    let r = auto("2030-01-01T00:13:00Z");
    assert_eq!(r["deleted"], serde_json::json!(["c1/snap0"]));
    assert_eq!(r["created"], serde_json::json!(["c1/snap2"]));
    assert_eq!(snap_names(&env, "c1"), ["snap1", "snap2"]);
    assert!(!snap_dir(&env, "c1", "snap0").exists());
    // Through the dispatcher, as a timer would run it.
    env.ok(
        "incus",
        &["snapshot", "auto", "--now", "2030-01-01T00:13:30Z"],
    );
    assert_eq!(snap_names(&env, "c1"), ["snap1", "snap2"]);
}

#[test]
fn two_concurrent_autos_never_take_a_slot_twice() {
    let env = env_with_image();
    let names: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
    for n in &names {
        env.ok("incus-instance", &["create", "busybox", n]);
        env.ok(
            "incus-instance",
            &[
                "config",
                "set",
                n,
                "snapshots.schedule=@hourly",
                "snapshots.schedule.stopped=true",
            ],
        );
    }
    for round in 0..3 {
        let now = format!("2030-01-01T0{round}:30:00Z");
        let spawn = || -> Child {
            env.command("incus-snapshot")
                .args(["auto", "--now", &now, "-f", "json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        assert!(a.status.success() && b.status.success());
        let count = |o: &std::process::Output| {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            v["created"].as_array().unwrap().len()
        };
        assert_eq!(count(&a) + count(&b), names.len(), "each slot taken once");
    }
    for n in &names {
        assert_eq!(snap_names(&env, n).len(), 3, "{n}");
    }
}

#[test]
fn running_instance_restore_and_startup_snapshot() {
    let env = env_with_image();
    let _guard = StopOnDrop(&env, vec!["r1".into()]);
    env.ok(
        "incus-instance",
        &[
            "create",
            "busybox",
            "r1",
            "-c",
            "snapshots.schedule=@startup",
        ],
    );
    env.ok("incus-instance", &["start", "r1"]);
    assert_eq!(snap_names(&env, "r1"), ["snap0"], "@startup snapshot");
    env.ok(
        "incus-instance",
        &["exec", "r1", "--", "sh", "-c", "echo one > /root/f"],
    );
    env.ok("incus-snapshot", &["create", "r1", "good"]);
    env.ok(
        "incus-instance",
        &["exec", "r1", "--", "sh", "-c", "echo two > /root/f"],
    );
    // Frozen for the copy and thawed after: the instance still runs commands.
    env.ok("incus-instance", &["exec", "r1", "--", "true"]);
    env.ok("incus-snapshot", &["restore", "r1", "good"]);
    let st = env.json("incus-instance", &["show", "r1", "-f", "json"]);
    assert_eq!(st["status"], "Running", "started again");
    let out = env.ok("incus-instance", &["exec", "r1", "--", "cat", "/root/f"]);
    assert_eq!(out.line(), "one");
    // The restart took another @startup snapshot.
    assert_eq!(snap_names(&env, "r1"), ["snap0", "good", "snap1"]);
}

#[test]
fn instance_rename_and_delete_carry_snapshots() {
    let env = env_with_image();
    env.ok("incus-instance", &["create", "busybox", "c1"]);
    env.ok("incus-snapshot", &["create", "c1", "s"]);
    env.ok("incus-instance", &["rename", "c1", "c2"]);
    assert!(snap_dir(&env, "c2", "s").is_dir());
    assert!(!pool_dir(&env, "default")
        .join("containers-snapshots/c1")
        .exists());
    assert_eq!(snap_names(&env, "c2"), ["s"]);
    env.ok("incus", &["snapshot", "restore", "c2", "s"]);
    env.ok("incus-instance", &["delete", "c2"]);
    assert_eq!(env.db_rows("instances_snapshots"), 0);
    assert!(list_dir(&pool_dir(&env, "default").join("containers-snapshots")).is_empty());
}

#[test]
fn copy_and_move() {
    let env = env_with_image();
    env.ok(
        "incus-instance",
        &["create", "busybox", "c1", "-c", "user.k=v"],
    );
    let root = rootfs(&env, "c1");
    std::fs::write(root.join("root/f"), b"snap").unwrap();
    env.ok("incus-snapshot", &["create", "c1", "s0"]);
    std::fs::write(root.join("root/f"), b"live").unwrap();

    env.ok("incus", &["copy", "c1", "c2"]);
    assert_eq!(tree(&rootfs(&env, "c2")), tree(&root));
    assert_eq!(snap_names(&env, "c2"), ["s0"]);
    assert_eq!(
        std::fs::read(snap_dir(&env, "c2", "s0").join("rootfs/root/f")).unwrap(),
        b"snap"
    );
    assert_eq!(config(&env, "c2", "user.k"), "v");
    assert_ne!(
        config(&env, "c2", "volatile.uuid"),
        config(&env, "c1", "volatile.uuid")
    );
    assert_ne!(
        config(&env, "c2", "volatile.idmap.base"),
        config(&env, "c1", "volatile.idmap.base")
    );
    assert_eq!(config(&env, "c2", "volatile.apply_template"), "copy");

    env.ok(
        "incus-instance",
        &["copy", "c1/s0", "c3", "-c", "user.k=w", "--ephemeral"],
    );
    assert_eq!(
        std::fs::read(rootfs(&env, "c3").join("root/f")).unwrap(),
        b"snap"
    );
    assert!(
        snap_names(&env, "c3").is_empty(),
        "a snapshot copy has none"
    );
    assert_eq!(config(&env, "c3", "user.k"), "w");
    let c3 = env.json("incus-instance", &["show", "c3", "-f", "json"]);
    assert_eq!(c3["ephemeral"], true);

    env.ok("incus-instance", &["copy", "c1", "c4", "--instance-only"]);
    assert!(snap_names(&env, "c4").is_empty());

    // Errors change nothing.
    env.run("incus-instance", &["copy", "c1", "c2"])
        .err(exit::CONFLICT);
    env.run("incus-instance", &["copy", "nope", "c9"])
        .err(exit::NOT_FOUND);
    env.run("incus-instance", &["copy", "c1/nope", "c9"])
        .err(exit::NOT_FOUND);
    env.run("incus-instance", &["copy", "c1", "bad_name"])
        .err(exit::INVALID);
    env.run("incus-instance", &["copy", "c1", "c9", "-s", "nopool"])
        .err(exit::NOT_FOUND);
    assert_eq!(env.instance_names(), ["c1", "c2", "c3", "c4"]);

    // To another pool: a file copy into the target driver's fresh volume.
    env.ok("incus-storage", &["create", "p2", "dir"]);
    env.ok("incus-instance", &["copy", "c1", "c5", "-s", "p2"]);
    assert_eq!(
        tree(&pool_dir(&env, "p2").join("containers/c5/rootfs")),
        tree(&root)
    );
    assert!(pool_dir(&env, "p2")
        .join("containers-snapshots/c5/s0")
        .is_dir());

    // move: a rename, or to another pool keeping the identity.
    let uuid = config(&env, "c2", "volatile.uuid");
    env.ok("incus", &["move", "c2", "c6"]);
    assert_eq!(config(&env, "c6", "volatile.uuid"), uuid);
    env.ok("incus", &["move", "c6", "-s", "p2"]);
    assert_eq!(
        config(&env, "c6", "volatile.uuid"),
        uuid,
        "a move keeps the uuid"
    );
    let c6 = env.json("incus-instance", &["show", "c6", "-f", "json"]);
    assert_eq!(c6["expanded_devices"]["root"]["pool"], "p2");
    assert!(pool_dir(&env, "p2")
        .join("containers/c6/rootfs/root/f")
        .is_file());
    assert!(!pool_dir(&env, "default").join("containers/c6").exists());
    assert_eq!(snap_names(&env, "c6"), ["s0"]);
    assert!(pool_dir(&env, "p2")
        .join("containers-snapshots/c6/s0")
        .is_dir());
    assert_eq!(env.instance_names(), ["c1", "c3", "c4", "c5", "c6"]);
}

/// Waits until the instance carries the snapshot op mark `prefix...` (read-only look
/// at the database), then kills the tool. False when it finished first.
fn kill_when_marked(env: &TestEnv, mut child: Child, inst: &str, prefix: &str) -> bool {
    let db = env.db();
    loop {
        let mark: Option<String> = db
            .query_row(
                "SELECT c.value FROM instances_config c JOIN instances i ON i.id = c.instance_id
                 WHERE i.name = ?1 AND c.key = 'volatile.snapshot.op'",
                [inst],
                |r| r.get(0),
            )
            .ok();
        if mark.as_deref().is_some_and(|m| m.starts_with(prefix)) {
            child.kill().unwrap();
            child.wait().unwrap();
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::yield_now();
    }
}

/// Many small files, so a copy takes long enough to be killed in the middle.
fn fill(root: &Path, n: usize) {
    let d = root.join("data");
    std::fs::create_dir_all(&d).unwrap();
    for i in 0..n {
        std::fs::write(d.join(format!("f{i}")), i.to_string()).unwrap();
    }
}

#[test]
fn kill_during_create_is_rolled_back() {
    let env = env_with_image();
    env.ok("incus-instance", &["create", "busybox", "c1"]);
    fill(&rootfs(&env, "c1"), 20_000);
    let mut caught = false;
    for attempt in 0..5 {
        let name = format!("k{attempt}");
        let child = env
            .command("incus-snapshot")
            .args(["create", "c1", &name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if kill_when_marked(&env, child, "c1", "create:") {
            caught = true;
            // The next command rolls the half-made snapshot back.
            assert!(snap_names(&env, "c1").iter().all(|n| *n != name));
            assert!(!snap_dir(&env, "c1", &name).exists());
            assert!(!pool_dir(&env, "default")
                .join(format!("containers-snapshots/.c1.{name}.tmp"))
                .exists());
            assert_eq!(config(&env, "c1", "volatile.snapshot.op"), "");
            env.ok("incus-snapshot", &["create", "c1", &name]);
            break;
        }
    }
    assert!(caught, "never caught a create in the middle");
}

#[test]
fn kill_during_restore_is_rolled_forward() {
    let env = env_with_image();
    env.ok("incus-instance", &["create", "busybox", "c1"]);
    let root = rootfs(&env, "c1");
    fill(&root, 20_000);
    env.ok("incus-instance", &["config", "set", "c1", "user.v=snap"]);
    env.ok("incus-snapshot", &["create", "c1", "s"]);
    let snap_tree = tree(&root);
    let mut caught = false;
    for _ in 0..5 {
        std::fs::write(root.join("changed"), b"x").unwrap();
        env.ok("incus-instance", &["config", "set", "c1", "user.v=live"]);
        let child = env
            .command("incus-snapshot")
            .args(["restore", "c1", "s"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if kill_when_marked(&env, child, "c1", "restore:") {
            caught = true;
            // The next command finishes the restore: disk and config together.
            assert_eq!(config(&env, "c1", "user.v"), "snap");
            assert_eq!(tree(&root), snap_tree);
            assert!(!pool_dir(&env, "default")
                .join("containers/.c1.restore")
                .exists());
            break;
        }
    }
    assert!(caught, "never caught a restore in the middle");
}

#[test]
fn timer_install_writes_units_and_remove_undoes_them() {
    let env = TestEnv::new();
    let root = env.root().join("sysroot");
    let root_s = root.to_str().unwrap();
    let out = env.ok(
        "incus-snapshot",
        &["timer", "install", "--systemd", "--root", root_s],
    );
    let units = root.join("etc/systemd/system");
    let files = list_dir(&units);
    let service = files
        .iter()
        .find(|f| f.ends_with(".service"))
        .expect("service");
    let timer = files.iter().find(|f| f.ends_with(".timer")).expect("timer");
    assert!(out.stdout.contains(service.as_str()));
    let svc = std::fs::read_to_string(units.join(service)).unwrap();
    assert!(svc.contains(&format!(
        "Environment=INCUS_DIR={}",
        env.incus_dir.display()
    )));
    assert!(svc.contains(&format!(
        "Environment=INCUS_RUN_DIR={}",
        env.run_dir.display()
    )));
    assert!(svc.contains(&format!(
        "ExecStart={} auto",
        incus_tests::bin("incus-snapshot").display()
    )));
    let tmr = std::fs::read_to_string(units.join(timer)).unwrap();
    assert!(tmr.contains("OnCalendar=*-*-* *:*:00"));
    assert!(units.join("timers.target.wants").join(timer).exists());
    // make deps installs the systemd package (not as init): the check always runs.
    let analyze = which("systemd-analyze")
        .expect("systemd-analyze is missing: apt-get install systemd (make deps does)");
    {
        let verify = |dir: &Path, names: &[&str]| {
            std::process::Command::new(&analyze)
                .arg("verify")
                .arg("--man=no")
                .args(names.iter().map(|n| dir.join(n)))
                .output()
                .unwrap()
        };
        let o = verify(&units, &[timer, service]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // The check can fail: a broken copy of the service is refused.
        let broken = env.root().join("broken");
        std::fs::create_dir_all(&broken).unwrap();
        std::fs::write(
            broken.join("x.service"),
            svc.replace("ExecStart=/", "ExecStart="),
        )
        .unwrap();
        assert!(!verify(&broken, &["x.service"]).status.success());
    }
    env.ok(
        "incus-snapshot",
        &["timer", "install", "--cron", "--root", root_s],
    );
    let cron = list_dir(&root.join("etc/cron.d"));
    assert_eq!(cron.len(), 1);
    let line = std::fs::read_to_string(root.join("etc/cron.d").join(&cron[0])).unwrap();
    assert!(line.contains("* * * * * root INCUS_DIR="), "{line}");
    env.ok("incus", &["snapshot", "timer", "remove", "--root", root_s]);
    assert!(list_dir(&units)
        .iter()
        .all(|f| !f.ends_with(".service") && !f.ends_with(".timer")));
    assert!(list_dir(&root.join("etc/cron.d")).is_empty());
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

#[test]
fn kill_during_copy_is_removed_by_the_next_command() {
    let env = env_with_image();
    env.ok("incus-instance", &["create", "busybox", "c1"]);
    fill(&rootfs(&env, "c1"), 20_000);
    env.ok("incus-snapshot", &["create", "c1", "s0"]);
    let db = env.db();
    let pending = |name: &str| -> Option<bool> {
        db.query_row(
            "SELECT pending FROM instances WHERE name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .ok()
        .map(|p| p != 0)
    };
    let mut caught = false;
    for attempt in 0..5 {
        let name = format!("k{attempt}");
        let mut child = env
            .command("incus-instance")
            .args(["copy", "c1", &name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let killed = loop {
            if pending(&name) == Some(true) {
                child.kill().unwrap();
                child.wait().unwrap();
                break pending(&name) == Some(true);
            }
            if child.try_wait().unwrap().is_some() {
                break false;
            }
            std::thread::yield_now();
        };
        if killed {
            caught = true;
            assert_eq!(env.instance_names(), ["c1"], "the half copy is gone");
            let pool = pool_dir(&env, "default");
            assert!(!pool.join("containers").join(&name).exists());
            assert!(!pool.join(format!("containers/.{name}.copy")).exists());
            assert!(!pool.join("containers-snapshots").join(&name).exists());
            assert_eq!(env.db_rows("instances_snapshots"), 1);
            break;
        }
    }
    assert!(caught, "never caught a copy in the middle");
}
