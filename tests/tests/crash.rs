//! `kill -9` in the middle of work: a create (or delete) marks its row pending first
//! and clears the mark last; a tool killed in between leaves a pending row that the
//! next command repairs by itself (the half-made instance disappears, rows and disk).
//!
//! No test hook: the real tool is killed for real. The test watches the database
//! (read-only) for the pending mark and sends SIGKILL as soon as it sees it. If the
//! tool finished first, it tries again with a bigger image, so the window between
//! mark and clear is wider.

use incus_tests::{busybox_images, exit, list_dir, noise, Output, TarBuf, TestEnv};
use std::path::PathBuf;
use std::process::{Child, Stdio};

/// `Some(true)`: pending now; `Some(false)`: the row is there and done; `None`: no row.
fn pending(db: &rusqlite::Connection, name: &str) -> Option<bool> {
    match db.query_row(
        "SELECT pending FROM instances WHERE name = ?1",
        [name],
        |r| r.get::<_, i64>(0),
    ) {
        Ok(p) => Some(p != 0),
        Err(rusqlite::Error::QueryReturnedNoRows) => None,
        Err(e) => panic!("query pending of {name}: {e}"),
    }
}

/// Watches `child` until `name` is pending and its volume directory is on disk, then
/// kills it. True when it was killed in that state; false when it exited first (too
/// quick to catch).
fn kill_when_pending(env: &TestEnv, mut child: Child, name: &str) -> bool {
    let db = env.db();
    let vol = volume_dir(env, name);
    loop {
        if let Some(p) = pending(&db, name) {
            if p && vol.exists() {
                child.kill().expect("SIGKILL");
                let status = child.wait().expect("wait");
                assert!(!status.success(), "killed tool reports failure");
                // Killed while pending, unless it finished in between.
                return pending(&db, name) == Some(true);
            }
        }
        if child.try_wait().expect("try_wait").is_some() {
            return false;
        }
        std::thread::yield_now();
    }
}

fn volume_dir(env: &TestEnv, name: &str) -> PathBuf {
    env.incus_dir
        .join("storage-pools/default/containers")
        .join(name)
}

fn spawn(env: &TestEnv, args: &[&str]) -> Child {
    env.command("incus-instance")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn incus-instance")
}

/// A big image: many small files and a few larger ones of noise, xz-compressed, so
/// unpacking takes a while. `scale` grows it on each retry.
fn big_image(env: &TestEnv, scale: usize) -> PathBuf {
    let mut t = TarBuf::unified();
    t.dir("rootfs/data", 0o755);
    for d in 0..(10 * scale) {
        let dir = format!("rootfs/data/d{d}");
        t.dir(&dir, 0o755);
        for f in 0..100 {
            t.file(
                &format!("{dir}/f{f}"),
                &noise((d * 1000 + f) as u64, 512),
                0o644,
            );
        }
    }
    for b in 0..scale {
        t.file(
            &format!("rootfs/data/blob{b}"),
            &noise(b as u64 + 7, 2 << 20),
            0o644,
        );
    }
    let p = env.root().join(format!("big-{scale}.tar.xz"));
    std::fs::write(&p, t.xz()).unwrap();
    p
}

/// Images to try, smallest first: busybox (if installed), then bigger ones built
/// here. Each is imported under an alias; yields the alias.
struct Images<'a> {
    env: &'a TestEnv,
    step: usize,
}

impl Images<'_> {
    fn next_alias(&mut self) -> String {
        self.step += 1;
        let alias = format!("img{}", self.step);
        if self.step == 1 {
            let img = busybox_images("crash (first try; bigger images are used after)");
            self.env.import(&[&img.unified], &alias);
        } else {
            let p = big_image(self.env, 1 << self.step.min(5));
            self.env.import(&[&p], &alias);
        }
        alias
    }
}

/// The instance is gone everywhere: list, show, rows, volume, disk, link.
#[track_caller]
fn assert_gone(env: &TestEnv, name: &str) {
    let names = env.instance_names();
    assert!(
        !names.contains(&name.to_string()),
        "{name} still listed: {names:?}"
    );
    env.run("incus-instance", &["show", name])
        .err(exit::NOT_FOUND);
    let db = env.db();
    assert_eq!(pending(&db, name), None, "{name}: row left in the database");
    let vols: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM storage_volumes WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(vols, 0, "{name}: volume row left");
    assert!(
        !env.container_dirs("default").contains(&name.to_string()),
        "{name}: containers/{name} left on disk: {:?}",
        env.container_dirs("default")
    );
    assert!(
        !list_dir(&env.incus_dir.join("containers")).contains(&name.to_string()),
        "{name}: INCUS_DIR/containers/{name} link left"
    );
    let vols = env.json(
        "incus-storage",
        &["volume", "list", "default", "-f", "json"],
    );
    assert!(
        !vols.as_array().unwrap().iter().any(|v| v["name"] == name),
        "{name}: volume listed"
    );
}

const ATTEMPTS: usize = 6;

#[test]
fn kill_9_during_create_is_repaired_by_the_next_command() {
    let env = TestEnv::initialized();
    env.ok("incus-instance", &["create", "--empty", "bystander"]);
    let mut images = Images { env: &env, step: 0 };
    let mut caught = None;
    for attempt in 0..ATTEMPTS {
        let alias = images.next_alias();
        let name = format!("c{attempt}");
        let child = spawn(&env, &["create", &alias, &name]);
        if kill_when_pending(&env, child, &name) {
            caught = Some(name);
            break;
        }
        // Too quick: it finished; clean up and retry bigger.
        env.ok("incus-instance", &["delete", &name]);
    }
    let name = caught.unwrap_or_else(|| {
        panic!("create always finished before it could be killed ({ATTEMPTS} attempts)")
    });
    // The crash state is real: a pending row and a volume on disk (the next command
    // has not run yet).
    assert_eq!(pending(&env.db(), &name), Some(true));
    assert!(volume_dir(&env, &name).exists());
    // The next command (a plain list) repairs it.
    let list = env.json("incus-instance", &["list", "--format", "json"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bystander"], "only the finished instance is listed");
    assert_gone(&env, &name);
    assert_eq!(env.container_dirs("default"), ["bystander"]);
    // The name is free again, and the new instance is whole.
    env.ok("incus-instance", &["create", "--empty", &name]);
    assert_eq!(env.instance_names(), vec!["bystander".to_string(), name]);
}

#[test]
fn kill_9_during_create_is_repaired_by_show() {
    // Another first command: `show` of the half-made instance answers not-found and
    // cleans up.
    let env = TestEnv::initialized();
    let mut images = Images { env: &env, step: 0 };
    for attempt in 0..ATTEMPTS {
        let alias = images.next_alias();
        let name = format!("s{attempt}");
        let child = spawn(&env, &["create", &alias, &name]);
        if kill_when_pending(&env, child, &name) {
            env.run("incus-instance", &["show", &name])
                .err(exit::NOT_FOUND);
            let db = env.db();
            assert_eq!(pending(&db, &name), None, "show removed the pending row");
            assert!(env.container_dirs("default").is_empty());
            return;
        }
        env.ok("incus-instance", &["delete", &name]);
    }
    panic!("create always finished before it could be killed ({ATTEMPTS} attempts)");
}

#[test]
fn kill_9_during_delete_is_finished_by_the_next_command() {
    let env = TestEnv::initialized();
    let mut images = Images { env: &env, step: 0 };
    for attempt in 0..ATTEMPTS {
        let alias = images.next_alias();
        let name = format!("d{attempt}");
        env.ok("incus-instance", &["create", &alias, &name]);
        let child = spawn(&env, &["delete", &name]);
        if kill_when_pending(&env, child, &name) {
            let o: Output = env.ok("incus-instance", &["list", "-f", "csv", "-c", "n"]);
            assert_eq!(o.stdout, "", "the half-deleted instance is gone");
            assert_gone(&env, &name);
            return;
        }
        // Too quick: the delete finished.
        assert_gone(&env, &name);
    }
    panic!("delete always finished before it could be killed ({ATTEMPTS} attempts)");
}

#[test]
fn kill_9_during_image_import_leaves_nothing() {
    let env = TestEnv::initialized();
    let images = env.incus_dir.join("images");
    for scale in [2, 4, 8, 16] {
        let img = big_image(&env, scale);
        let mut child = env
            .command("incus-image")
            .args(["import", img.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn incus-image");
        let killed = loop {
            if list_dir(&images).iter().any(|n| n.starts_with('.')) {
                child.kill().expect("SIGKILL");
                child.wait().expect("wait");
                break true;
            }
            if child.try_wait().expect("try_wait").is_some() {
                break false;
            }
            std::thread::yield_now();
        };
        if !killed {
            // Too quick: it finished; remove it and retry bigger.
            let list = env.json("incus-image", &["list", "-f", "json"]);
            let fp = list[0]["fingerprint"].as_str().unwrap().to_string();
            env.ok("incus-image", &["delete", &fp]);
            continue;
        }
        // The next commands: a list, then the same import again.
        env.ok("incus-image", &["list", "-f", "json"]);
        env.ok(
            "incus-image",
            &["import", img.to_str().unwrap(), "--alias", "big"],
        );
        let left: Vec<String> = list_dir(&images)
            .into_iter()
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(left.is_empty(), "left in images/ after a kill -9: {left:?}");
        return;
    }
    panic!("import always finished before it could be killed");
}

/// A file under images/ without a row (an import killed between placing the file and
/// recording it) is removed by the next `image list`; images with rows stay.
#[test]
fn orphan_image_files_are_removed_by_the_next_list() {
    let env = TestEnv::initialized();
    let img = busybox_images("orphan_image_files_are_removed_by_the_next_list");
    let kept = env.import(&[&img.unified], "bb");
    let images = env.incus_dir.join("images");
    let orphan = "b".repeat(64);
    std::fs::write(images.join(&orphan), b"half an import").unwrap();
    std::fs::write(images.join(format!("{orphan}.rootfs")), b"rootfs").unwrap();
    env.ok("incus-image", &["list", "-f", "json"]);
    assert_eq!(list_dir(&images), vec![kept]);
}
