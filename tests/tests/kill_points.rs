//! `kill -9` of `start`, `stop`, `restart`, `snapshot create` and `snapshot restore`
//! at named points inside them. The tools are run with `INCUS_TEST_PAUSE=<point>` (see
//! `incus_sys::testhook`): at that point the tool writes a marker and blocks, the test
//! kills it, and the next command must find the instance in the old or the new state
//! with the power state the user asked for (`volatile.last_state.power`), never frozen
//! or stopped in between; then it comes back to a clean STOPPED: no cgroup, no
//! monitor, no host mount, no held lock (a start, an exec and a stop work after).

use incus_tests::{busybox_images, poll, Running, TestEnv};
use std::path::Path;

/// The live `incus-monitor` processes of one instance (zombies have no cmdline).
fn monitors_of(env: &TestEnv, name: &str) -> Vec<u32> {
    let want = env.run_dir.join("instances").join(name);
    let mut out = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
        if args.len() > 1
            && args[0].ends_with(b"incus-monitor")
            && Path::new(std::str::from_utf8(args[1]).unwrap_or("")) == want
        {
            out.push(pid);
        }
    }
    out
}

/// Host mounts under this installation's temporary directory (there must be none).
fn host_mounts(env: &TestEnv) -> Vec<String> {
    let root = env.root().to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&root))
        .map(String::from)
        .collect()
}

/// After a kill: the next command (the list of `env.status`) finishes the killed
/// command's work: the state is one of the two, and `volatile.last_state.power` (what a
/// host boot restores, the user's intent) agrees with it. Then nothing is left behind.
#[track_caller]
fn repaired(env: &TestEnv, name: &str, expect: &str) {
    let st = env.status(name);
    assert_eq!(st, expect, "{name} after the kill and the next command");
    let power = env.ok(
        "incus-instance",
        &["config", "get", name, "volatile.last_state.power"],
    );
    let agrees = if st == "Running" {
        "RUNNING"
    } else {
        "STOPPED"
    };
    assert_eq!(power.line(), agrees, "{name}: volatile.last_state.power");
    let mark = env.ok(
        "incus-instance",
        &["config", "get", name, "volatile.power.op"],
    );
    assert_eq!(mark.line(), "", "{name}: the power mark is finished");
    if st == "Running" {
        // Running with its monitor: a monitor that gave up when its killed caller's
        // pipe closed used to leave init orphaned (listed as running).
        assert_eq!(monitors_of(env, name).len(), 1, "{name}: its monitor runs");
        env.ok("incus-instance", &["stop", "-f", name]);
    }
    assert_eq!(env.status(name), "Stopped");
    assert!(
        env.instance_cgroups(name).is_empty(),
        "{name}: cgroups left: {:?}",
        env.instance_cgroups(name)
    );
    assert!(
        monitors_of(env, name).is_empty(),
        "{name}: a monitor is left"
    );
    assert!(
        host_mounts(env).is_empty(),
        "host mounts: {:?}",
        host_mounts(env)
    );
    // Nothing is held or stale: the instance works again.
    env.ok("incus-instance", &["start", name]);
    let o = env.ok("incus", &["exec", name, "--", "echo", "alive"]);
    assert_eq!(o.line(), "alive");
    env.ok("incus-instance", &["stop", "-f", name]);
    assert!(env.instance_cgroups(name).is_empty());
    assert!(monitors_of(env, name).is_empty());
}

#[test]
fn kill9_inside_start_and_stop_is_repaired() {
    let env = TestEnv::initialized();
    let img = busybox_images("kill_points");
    env.import(&[&img.unified], "bb");
    let _guard = Running(&env);

    // start: (point, state right after the kill)
    for (i, (point, expect)) in [
        // Killed before the runtime acted: rolled back (STOPPED again).
        ("start-before-runtime", "Stopped"),
        ("start-spawned", "Running"),
        ("start-before-record", "Running"),
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("s{i}");
        env.ok("incus-instance", &["create", "bb", &name]);
        env.kill_at("incus-instance", &["start", &name], point);
        if point == "start-spawned" {
            // The monitor goes on without its caller: wait until it has settled.
            poll(30, "the orphaned start to settle", || {
                (env.status(&name) == "Running"
                    && env
                        .run_dir
                        .join("instances")
                        .join(&name)
                        .join("state.json")
                        .exists())
                .then_some(())
            });
        }
        repaired(&env, &name, expect);
    }

    // stop: the instance runs first.
    for (i, (point, args)) in [
        ("stop-before-runtime", vec!["stop", "-f"]),
        ("stop-signaled", vec!["stop", "--timeout", "30"]),
        ("stop-before-record", vec!["stop", "-f"]),
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("t{i}");
        env.ok("incus-instance", &["create", "bb", &name]);
        env.ok("incus-instance", &["start", &name]);
        let mut a = args.clone();
        a.push(&name);
        env.kill_at("incus-instance", &a, point);
        // Every killed stop is finished by the next command: stopped (at once, even
        // when the halt signal was sent and not waited for).
        repaired(&env, &name, "Stopped");
    }
}

/// `volatile.*` and other keys of an instance as `config get` prints them.
fn config_get(env: &TestEnv, name: &str, key: &str) -> String {
    env.ok("incus-instance", &["config", "get", name, key])
        .line()
        .to_string()
}

/// After a kill and one next command: running as the user had it, no mark left,
/// commands work, `admin check` is clean.
#[track_caller]
fn back_running(env: &TestEnv, name: &str) {
    assert_eq!(env.status(name), "Running", "{name} after the next command");
    assert_eq!(
        config_get(env, name, "volatile.last_state.power"),
        "RUNNING"
    );
    for mark in ["volatile.power.op", "volatile.snapshot.op"] {
        assert_eq!(config_get(env, name, mark), "", "{name}: {mark} left");
    }
    let o = env.ok("incus", &["exec", name, "--", "echo", "alive"]);
    assert_eq!(o.line(), "alive");
    let check = env.run("incus", &["admin", "check", "--format", "json"]);
    assert_eq!(
        check.code, 0,
        "admin check: {}{}",
        check.stdout, check.stderr
    );
}

/// `admin check` right after a kill (it repairs nothing): the state is reported.
#[track_caller]
fn check_reports(env: &TestEnv, name: &str, what: &str) {
    let o = env.run("incus", &["admin", "check", "--format", "json"]);
    assert_eq!(o.code, 1, "admin check must report {name}: {}", o.stdout);
    let found = o
        .json()
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == name && p["problem"].as_str().unwrap_or("").contains(what));
    assert!(found, "{name}: \"{what}\" in {}", o.stdout);
}

/// A snapshot of a running instance on a `dir` pool freezes it for the copy: a kill
/// while frozen used to leave it FROZEN for good. The next command, whichever it is,
/// thaws it and rolls the snapshot back.
#[test]
fn kill9_inside_snapshot_create_thaws() {
    let env = TestEnv::initialized();
    let img = busybox_images("kill_points (snapshot create)");
    env.import(&[&img.unified], "bb");
    let _guard = Running(&env);
    // The next command: a list (repairs without the lock), a lock-taking command.
    for (name, next) in [
        ("f0", vec!["list"]),
        ("f1", vec!["config", "set", "f1", "user.x=1"]),
    ] {
        env.ok("incus-instance", &["create", "bb", name]);
        env.ok("incus-instance", &["start", name]);
        env.kill_at(
            "incus-snapshot",
            &["create", name, "s0"],
            "snapshot-create-frozen",
        );
        check_reports(&env, name, "frozen, and no snapshot is in progress");
        env.ok("incus-instance", &next);
        back_running(&env, name);
        let snaps = env.json("incus-snapshot", &["list", name, "--format", "json"]);
        assert_eq!(
            snaps,
            serde_json::json!([]),
            "{name}: the snapshot is rolled back"
        );
        // And a snapshot works again.
        env.ok("incus-snapshot", &["create", name, "s0"]);
        back_running(&env, name);
    }
}

/// `snapshot restore` of a running instance stops, restores and starts it: a kill
/// after the stop used to leave it STOPPED. Before the restore's mark the next
/// command starts the old content; after it, it finishes the restore and starts.
#[test]
fn kill9_inside_snapshot_restore_and_restart_starts_again() {
    let env = TestEnv::initialized();
    let img = busybox_images("kill_points (restore)");
    env.import(&[&img.unified], "bb");
    let _guard = Running(&env);
    let cat = |name: &str| {
        env.ok("incus", &["exec", name, "--", "cat", "/root/f"])
            .line()
            .to_string()
    };
    for (i, (point, want)) in [("restart-stopped", "new"), ("restart-before-start", "old")]
        .into_iter()
        .enumerate()
    {
        let name = format!("r{i}");
        env.ok("incus-instance", &["create", "bb", &name]);
        env.ok("incus-instance", &["start", &name]);
        env.ok(
            "incus",
            &["exec", &name, "--", "sh", "-c", "echo old > /root/f"],
        );
        env.ok("incus-snapshot", &["create", &name, "s0"]);
        env.ok(
            "incus",
            &["exec", &name, "--", "sh", "-c", "echo new > /root/f"],
        );
        env.kill_at("incus-snapshot", &["restore", &name, "s0"], point);
        check_reports(&env, &name, "stopped, and nothing is starting it again");
        // Right after the kill: stopped; the next command (a lock-taking one) starts it.
        env.ok("incus-instance", &["config", "set", &name, "user.x=1"]);
        back_running(&env, &name);
        assert_eq!(cat(&name), want, "{name}: content after a kill at {point}");
    }
    // restart: stopped between its stop and its start.
    env.ok("incus-instance", &["create", "bb", "q0"]);
    env.ok("incus-instance", &["start", "q0"]);
    env.kill_at("incus-instance", &["restart", "q0"], "restart-stopped");
    assert_eq!(
        env.status("q0"),
        "Running",
        "the next command (list) started it"
    );
    back_running(&env, "q0");
}

/// `config device add/remove` on a running instance writes the row, then hot-plugs: a
/// kill in between used to leave the new device recorded and not plugged (or removed
/// and still mounted). The next command makes the live state match the row.
#[test]
fn kill9_between_device_row_and_hot_plug_is_replugged() {
    let env = TestEnv::initialized();
    let img = busybox_images("kill_points (hot-plug)");
    env.import(&[&img.unified], "bb");
    let _guard = Running(&env);
    let share = env.root().join("share");
    std::fs::create_dir_all(&share).unwrap();
    std::fs::write(share.join("marker"), b"here").unwrap();
    let source = format!("source={}", share.display());
    env.ok("incus-instance", &["create", "bb", "h0"]);
    env.ok("incus-instance", &["start", "h0"]);
    let seen = |env: &TestEnv| {
        env.run("incus", &["exec", "h0", "--", "cat", "/mnt/d/marker"])
            .success()
    };
    env.kill_at(
        "incus",
        &[
            "config",
            "device",
            "add",
            "h0",
            "d",
            "disk",
            &source,
            "path=/mnt/d",
        ],
        "live-apply-before-runtime",
    );
    // (`exec` itself would repair: the check does not.)
    check_reports(&env, "h0", "volatile.power.op=live");
    env.ok("incus-instance", &["config", "set", "h0", "user.x=1"]);
    assert!(seen(&env), "the next command plugged the recorded device");
    back_running(&env, "h0");

    env.kill_at(
        "incus",
        &["config", "device", "remove", "h0", "d"],
        "live-apply-before-runtime",
    );
    check_reports(&env, "h0", "volatile.power.op=live");
    env.ok("incus-instance", &["list"]);
    assert!(!seen(&env), "the next command unplugged the removed device");
    back_running(&env, "h0");
}

/// An ephemeral instance is deleted when it stops: a kill between its stop and its
/// delete used to leave it stopped for good; the next command deletes it.
#[test]
fn kill9_between_ephemeral_stop_and_delete_deletes() {
    let env = TestEnv::initialized();
    let img = busybox_images("kill_points (ephemeral)");
    env.import(&[&img.unified], "bb");
    let _guard = Running(&env);
    env.ok("incus-instance", &["create", "bb", "e0", "--ephemeral"]);
    env.ok("incus-instance", &["start", "e0"]);
    env.kill_at("incus-instance", &["stop", "-f", "e0"], "ephemeral-stopped");
    check_reports(&env, "e0", "volatile.power.op=stop");
    assert_eq!(
        env.instance_names(),
        Vec::<String>::new(),
        "the next command deleted it"
    );
    let check = env.run("incus", &["admin", "check", "--format", "json"]);
    assert_eq!(
        check.code, 0,
        "admin check: {}{}",
        check.stdout, check.stderr
    );
}

/// A custom volume create (disk first) or delete (row first) killed midway leaves a
/// directory without a row, which `admin check` reports: the next `storage volume
/// list` of the pool removes it, but never the old directory of a rename in flight.
#[test]
fn orphan_volume_directories_are_removed_by_the_next_list() {
    let env = TestEnv::initialized();
    let custom = env.incus_dir.join("storage-pools/default/custom");
    // What a killed create leaves: the directory, no row.
    std::fs::create_dir_all(custom.join("ghost")).unwrap();
    std::fs::write(custom.join("ghost/f"), b"x").unwrap();
    let o = env.run("incus", &["admin", "check", "--format", "json"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    // A rename killed after its rows: the old directory still holds the data.
    env.ok("incus-storage", &["volume", "create", "default", "old"]);
    std::fs::write(custom.join("old/f"), b"data").unwrap();
    env.kill_at(
        "incus-storage",
        &["volume", "rename", "default", "old", "new"],
        "volume-rename-rows-written",
    );
    env.ok("incus-storage", &["volume", "list", "default"]);
    assert!(!custom.join("ghost").exists(), "the orphan is removed");
    let v = env.json(
        "incus-storage",
        &["volume", "show", "default", "new", "-f", "json"],
    );
    assert!(v["config"].get("volatile.rename_from").is_none(), "{v}");
    assert_eq!(std::fs::read(custom.join("new/f")).unwrap(), b"data");
    let check = env.run("incus", &["admin", "check", "--format", "json"]);
    assert_eq!(
        check.code, 0,
        "admin check: {}{}",
        check.stdout, check.stderr
    );
}
