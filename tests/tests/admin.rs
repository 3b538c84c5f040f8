//! `incus admin waitready`, `shutdown` (with the shipped systemd units and sysvinit
//! script), `sql` and `recover`.

use incus_tests::serve::{free_port, Server};
use incus_tests::{busybox_images, poll, Running, TestEnv};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn with_image() -> TestEnv {
    let env = TestEnv::initialized();
    let img = busybox_images("admin");
    env.import(&[&img.unified], "bb");
    env
}

/// Deletes the networks of an installation (and the NICs of its profiles and
/// instances) when dropped, so a failing test leaves no bridge, table or dnsmasq.
struct Nets<'a>(&'a TestEnv);

impl Drop for Nets<'_> {
    fn drop(&mut self) {
        let env = self.0;
        if !env.db_path().exists() {
            return;
        }
        for n in env.instance_names() {
            let _ = env.run("incus-instance", &["delete", "-f", &n]);
        }
        let profiles = env.run("incus-profile", &["list", "--format", "json"]);
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&profiles.stdout) {
            for p in v.as_array().into_iter().flatten() {
                for (dev, d) in p["devices"].as_object().into_iter().flatten() {
                    if d["type"] == "nic" {
                        let name = p["name"].as_str().unwrap_or_default();
                        let _ = env.run("incus-profile", &["device", "remove", name, dev]);
                    }
                }
            }
        }
        let nets = env.run("incus-net", &["list", "--format", "json"]);
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&nets.stdout) {
            for n in v.as_array().into_iter().flatten() {
                let _ = env.run(
                    "incus-net",
                    &["delete", n["name"].as_str().unwrap_or_default()],
                );
            }
        }
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn waitready_needs_a_usable_database_and_an_answering_server() {
    let env = TestEnv::initialized();
    // Nothing configured, nothing listening: the database is enough.
    env.ok("incus", &["admin", "waitready", "--timeout", "5"]);
    // --serve (ours) waits for the server even when it is not configured.
    let o = env
        .run("incus-admin", &["waitready", "--serve", "--timeout", "1"])
        .err(1);
    assert!(o.stderr.contains("does not listen"), "{}", o.stderr);

    // Configured for HTTPS but not running: not ready (no TCP dial decides it).
    let port = free_port();
    env.ok(
        "incus-instance",
        &[
            "config",
            "set",
            &format!("core.https_address=127.0.0.1:{port}"),
        ],
    );
    let t0 = Instant::now();
    let o = env
        .run("incus-admin", &["waitready", "--timeout", "1"])
        .err(1);
    assert!(t0.elapsed() >= Duration::from_secs(1));
    assert!(o.stderr.contains("core.https_address"), "{}", o.stderr);

    // Something accepts on the socket but never answers HTTP: not ready either.
    let sock = env.incus_dir.join("unix.socket");
    let listener = UnixListener::bind(&sock).unwrap();
    let o = env
        .run("incus-admin", &["waitready", "--timeout", "1"])
        .err(1);
    assert!(
        o.stderr.contains("does not answer GET /1.0"),
        "{}",
        o.stderr
    );
    // ... and shutdown refuses to signal a process that is not incus-serve.
    let o = env.run("incus-admin", &["shutdown"]).err(4);
    assert!(o.stderr.contains("is not incus-serve"), "{}", o.stderr);
    drop(listener);
    std::fs::remove_file(&sock).unwrap();

    // A waitready started before the server returns once it answers.
    let mut waiter = env
        .command("incus-admin")
        .args(["waitready", "--timeout", "60"])
        .spawn()
        .unwrap();
    let (server, _port) = (Server::start(&env), port);
    let st = poll(60, "waitready to return", || waiter.try_wait().unwrap());
    assert!(st.success());
    assert_eq!(server.curl("GET", "/1.0", None).0, 200);
    env.ok("incus-admin", &["waitready", "--serve", "--timeout", "5"]);
    drop(server);

    // A damaged database: not ready, and the message says why.
    std::fs::remove_file(env.incus_dir.join("unix.socket")).ok();
    let db = env.db_path();
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db.display()));
    }
    std::fs::write(&db, vec![0x5a; 8192]).unwrap();
    let o = env
        .run("incus-admin", &["waitready", "--timeout", "1"])
        .err(1);
    assert!(o.stderr.contains("state database"), "{}", o.stderr);
}

fn stopped_order(env: &TestEnv) -> Vec<String> {
    let db = env.db();
    let mut st = db
        .prepare("SELECT metadata FROM events ORDER BY id")
        .unwrap();
    let rows: Vec<String> = st
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    rows.iter()
        .map(|m| serde_json::from_str::<serde_json::Value>(m).unwrap())
        .filter(|v| v["action"] == "instance-stopped")
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn shutdown_stops_by_priority_and_the_next_boot_starts_them_again() {
    let env = with_image();
    let _guard = Running(&env);
    let create = |name: &str, cfg: &[&str], extra: &[&str]| {
        let mut args = vec!["create", "bb", name];
        args.extend_from_slice(extra);
        for c in cfg {
            args.push("-c");
            args.push(c);
        }
        env.ok("incus-instance", &args);
    };
    create("first", &["boot.stop.priority=10"], &[]);
    create("second", &["boot.stop.priority=5"], &[]);
    create("third", &[], &[]);
    create(
        "killed",
        &[
            "boot.stop.priority=-1",
            "boot.host_shutdown_action=force-stop",
        ],
        &[],
    );
    create("eph", &["boot.stop.priority=-5"], &["--ephemeral"]);
    create("idle", &["boot.stop.priority=100"], &[]);
    create("noauto", &["boot.autostart=false"], &[]);
    let running = ["first", "second", "third", "killed", "eph", "noauto"];
    for n in running {
        env.ok("incus-instance", &["start", n]);
    }
    let server = Server::start(&env);
    let before = stopped_order(&env).len();

    let o = env.ok("incus", &["admin", "shutdown", "--timeout", "120"]);
    assert!(
        o.stdout.starts_with("Stopped incus-serve (pid "),
        "{}",
        o.stdout
    );
    let mut server = server;
    poll(10, "incus-serve to exit", || {
        server.child.try_wait().unwrap()
    });
    for n in running.iter().chain(&["idle"]) {
        assert_eq!(env.status(n), "Stopped", "{n}");
    }
    for n in running {
        assert!(env.instance_cgroups(n).is_empty(), "cgroups of {n} left");
    }
    // Highest boot.stop.priority first; one batch at a time (third and noauto share 0).
    let order: Vec<String> = stopped_order(&env)[before..].to_vec();
    assert_eq!(order.len(), 6, "{order:?}");
    assert_eq!(&order[..2], ["first", "second"]);
    let mut zero = order[2..4].to_vec();
    zero.sort();
    assert_eq!(zero, ["noauto", "third"]);
    assert_eq!(&order[4..], ["killed", "eph"]);
    // The ephemeral instance survives a host shutdown, as upstream's.
    assert!(env.instance_names().contains(&"eph".to_string()));
    let power = |n: &str| {
        env.json("incus-instance", &["show", n, "--format", "json"])["config"]
            ["volatile.last_state.power"]
            .clone()
    };
    for n in running {
        assert_eq!(power(n), "RUNNING", "{n}");
    }
    assert_ne!(power("idle"), "RUNNING");

    // A second shutdown has nothing to do.
    let o = env.ok("incus-admin", &["shutdown"]);
    assert_eq!(o.stdout, "");

    // The reboot: the run directory is gone (nothing runs any more).
    std::fs::remove_dir_all(&env.run_dir).unwrap();
    let o = env.ok("incus-admin", &["boot"]);
    let mut started: Vec<&str> = o
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("Started "))
        .collect();
    started.sort();
    assert_eq!(started, ["eph", "first", "killed", "second", "third"]);
    assert!(o.stdout.contains("Stopped noauto"), "{}", o.stdout);
    for n in ["eph", "first", "killed", "second", "third"] {
        assert_eq!(env.status(n), "Running", "{n}");
    }
    for n in ["idle", "noauto"] {
        assert_eq!(env.status(n), "Stopped", "{n}");
    }
    // A shutdown then a boot in the same host boot (a unit restart) also restarts them.
    env.ok("incus-admin", &["shutdown", "--force"]);
    assert_eq!(env.status("first"), "Stopped");
    let o = env.ok("incus-admin", &["boot"]);
    assert!(o.stdout.contains("Started first"), "{}", o.stdout);
    env.ok("incus-instance", &["stop", "--all", "-f"]);
}

/// The shipped units, with their binaries pointed at this build, pass
/// `systemd-analyze verify`; a broken copy does not.
#[test]
fn shipped_systemd_units_verify() {
    let env = TestEnv::new();
    let analyze = Path::new("/usr/bin/systemd-analyze");
    assert!(
        analyze.is_file(),
        "systemd-analyze is missing: apt-get install systemd (make deps does)"
    );
    let dir = env.root().join("units");
    std::fs::create_dir_all(&dir).unwrap();
    let bin = incus_tests::bin_dir().display().to_string();
    let names = ["incus-boot.service", "incus-serve.service"];
    for n in names {
        let text = std::fs::read_to_string(repo().join("contrib/systemd").join(n)).unwrap();
        assert!(text.contains("/usr/bin/incus"), "{n}");
        std::fs::write(dir.join(n), text.replace("/usr/bin/", &format!("{bin}/"))).unwrap();
    }
    let boot = std::fs::read_to_string(dir.join("incus-boot.service")).unwrap();
    assert!(boot.contains(&format!("ExecStart={bin}/incus admin boot\n")));
    assert!(boot.contains(&format!("ExecStop={bin}/incus admin shutdown\n")));
    assert!(boot.contains("RemainAfterExit=yes"));
    let verify = |files: &[PathBuf]| {
        std::process::Command::new(analyze)
            .arg("verify")
            .arg("--man=no")
            .args(files)
            .output()
            .unwrap()
    };
    let o = verify(&names.map(|n| dir.join(n)));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(
        dir.join("broken.service"),
        boot.replace("ExecStart=/", "ExecStart="),
    )
    .unwrap();
    assert!(!verify(&[dir.join("broken.service")]).status.success());
}

/// The sysvinit script: start runs `admin boot` and incus-serve, status asks
/// waitready, stop runs `admin shutdown` (which stops the server too).
#[test]
fn sysvinit_script_starts_and_stops() {
    let env = with_image();
    let _guard = Running(&env);
    env.ok(
        "incus-instance",
        &["create", "bb", "c1", "-c", "boot.autostart=true"],
    );
    let script = repo().join("contrib/sysvinit/incus");
    let pidfile = env.root().join("serve.pid");
    let run = |arg: &str| {
        let mut c = std::process::Command::new("/bin/sh");
        c.arg(&script)
            .arg(arg)
            .env("INCUS_DIR", &env.incus_dir)
            .env("INCUS_RUN_DIR", &env.run_dir)
            .env("INCUS_BIN", incus_tests::bin_dir())
            .env("INCUS_SERVE_PIDFILE", &pidfile)
            .env("INCUS_WAIT", "30");
        incus_tests::serve::to_output(format!("init.d/incus {arg}"), c.output().unwrap())
    };
    run("start").ok();
    assert_eq!(env.status("c1"), "Running");
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let alive = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.rsplit_once(')').unwrap().1.trim_start().starts_with('Z'))
            .unwrap_or(false)
    };
    assert!(alive(pid));
    run("status").ok();
    // start again: nothing new (the boot is handled, the server runs).
    run("start").ok();
    assert_eq!(
        std::fs::read_to_string(&pidfile).unwrap().trim(),
        pid.to_string()
    );
    run("stop").ok();
    assert_eq!(env.status("c1"), "Stopped");
    poll(10, "incus-serve to exit", || (!alive(pid)).then_some(()));
    run("restart").ok();
    assert_eq!(env.status("c1"), "Running");
    run("stop").ok();
    run("bogus").code(3);
}

#[test]
fn sql_is_read_only_unless_write() {
    let env = TestEnv::initialized();
    let before = env.ok("incus", &["admin", "sql", "global", ".dump"]).stdout;
    assert!(
        before.contains("INSERT INTO \"storage_pools\" VALUES("),
        "{before}"
    );
    for q in [
        "DELETE FROM profiles",
        "SELECT 1; DROP TABLE instances",
        "UPDATE config SET value = 'x'",
        "ATTACH '/tmp/incus-sql-attack.db' AS x",
        "PRAGMA user_version = 1",
    ] {
        let o = env.run("incus-admin", &["sql", "local", q]);
        assert_ne!(o.code, 0, "{q}: {}", o.stdout);
        assert!(o.stderr.contains("Error: "), "{q}: {}", o.stderr);
    }
    assert!(!Path::new("/tmp/incus-sql-attack.db").exists());
    assert_eq!(
        env.ok("incus-admin", &["sql", "local", ".dump"]).stdout,
        before
    );
    // local and global are the same database.
    let o = env.ok(
        "incus-admin",
        &[
            "sql",
            "local",
            "SELECT name FROM profiles",
            "--format",
            "csv",
        ],
    );
    assert_eq!(o.stdout, "default\n");
    let o = env.ok(
        "incus-admin",
        &[
            "sql",
            "global",
            "--write",
            "UPDATE profiles SET description = 'd'",
        ],
    );
    assert_eq!(o.stdout, "Rows affected: 1\n");
    let p = env.json("incus-profile", &["show", "default", "--format", "json"]);
    assert_eq!(p["description"], "d");
    // A host user who is not root cannot read it.
    let o = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(incus_tests::bin("incus-admin"))
        .args(["sql", "local", "SELECT * FROM config"])
        .env("INCUS_DIR", &env.incus_dir)
        .env("INCUS_RUN_DIR", &env.run_dir)
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

/// Every file, directory and link below `dir` with its mode, owner and content hash.
fn tree_digest(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    incus_tests::walk(dir)
        .into_iter()
        .map(|rel| {
            let p = dir.join(&rel);
            let m = std::fs::symlink_metadata(&p).unwrap();
            let what = if m.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_file() {
                incus_tests::sha256_hex(&[&std::fs::read(&p).unwrap()])
            } else {
                String::new()
            };
            format!("{rel} {:o} {}:{} {what}", m.mode(), m.uid(), m.gid())
        })
        .collect()
}

/// The records a recovery must bring back, as the tools print them.
fn records(env: &TestEnv, pools: &[&str]) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    for n in env.instance_names() {
        out.push((
            format!("instance {n}"),
            env.json("incus-instance", &["show", &n, "--format", "json"]),
        ));
        out.push((
            format!("snapshots {n}"),
            env.json("incus-snapshot", &["list", &n, "--format", "json"]),
        ));
    }
    for p in pools {
        out.push((
            format!("volumes {p}"),
            env.json("incus-storage", &["volume", "list", p, "--format", "json"]),
        ));
        out.push((
            format!("pool {p}"),
            env.json("incus-storage", &["show", p, "--format", "json"]),
        ));
    }
    out.push((
        "profiles".into(),
        env.json("incus-profile", &["list", "--format", "json"]),
    ));
    out
}

fn init_pid(env: &TestEnv, name: &str) -> i64 {
    let p = env.run_dir.join("instances").join(name).join("state.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    v["running"]["init_pid"].as_i64().unwrap()
}

fn delete_database(env: &TestEnv) {
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", env.db_path().display()));
    }
}

#[test]
fn recover_after_the_database_is_deleted_brings_back_every_record() {
    incus_tests::btrfs::need_btrfs();
    let env = with_image();
    let _cleanup = incus_tests::btrfs::Cleanup { env: &env };
    let _guard = Running(&env);
    env.ok("incus-storage", &["create", "bt", "btrfs", "size=300MiB"]);
    env.ok("incus-profile", &["create", "extra"]);
    env.ok("incus-profile", &["set", "extra", "user.profile=yes"]);
    env.ok("incus-profile", &["set", "default", "user.from-default=1"]);
    // dir pool: a running one with a snapshot, a stopped one.
    env.ok(
        "incus-instance",
        &["create", "bb", "run-dir", "-p", "default", "-p", "extra"],
    );
    env.ok(
        "incus-instance",
        &[
            "config",
            "set",
            "run-dir",
            "user.k=v",
            "boot.stop.priority=3",
        ],
    );
    env.ok("incus-snapshot", &["create", "run-dir", "s0"]);
    env.ok("incus-instance", &["start", "run-dir"]);
    env.ok("incus-instance", &["create", "bb", "stopped-dir"]);
    // btrfs pool: a running one with two snapshots, a stopped ephemeral-free one.
    env.ok("incus-instance", &["create", "bb", "run-bt", "-s", "bt"]);
    env.ok("incus-snapshot", &["create", "run-bt", "a"]);
    env.ok("incus-snapshot", &["create", "run-bt", "b"]);
    env.ok("incus-snapshot", &["rename", "run-bt", "b", "bb"]);
    env.ok("incus-instance", &["start", "run-bt"]);
    env.ok(
        "incus-instance",
        &["create", "bb", "stopped-bt", "-s", "bt"],
    );
    // Custom volumes with snapshots on both, one attached.
    env.ok(
        "incus-storage",
        &["volume", "create", "default", "vd", "user.v=1"],
    );
    env.ok(
        "incus-storage",
        &["volume", "snapshot", "create", "default", "vd", "vs"],
    );
    env.ok(
        "incus-storage",
        &["volume", "create", "bt", "vb", "size=20MiB"],
    );
    env.ok(
        "incus-storage",
        &["volume", "snapshot", "create", "bt", "vb"],
    );
    env.ok(
        "incus-storage",
        &["volume", "attach", "bt", "vb", "stopped-bt", "/data"],
    );
    env.ok(
        "incus-storage",
        &["volume", "rename", "default", "vd", "vd2"],
    );
    let pools = ["default", "bt"];
    let before = records(&env, &pools);
    let pids = (init_pid(&env, "run-dir"), init_pid(&env, "run-bt"));
    // backup.yaml files are root-only, beside the data.
    for f in [
        env.incus_dir
            .join("storage-pools/default/containers/run-dir/backup.yaml"),
        env.incus_dir
            .join("storage-pools/bt/containers/run-bt/backup.yaml"),
        env.incus_dir
            .join("storage-pools/default/custom/.vd2.backup.yaml"),
        env.incus_dir
            .join("storage-pools/bt/custom/.vb.backup.yaml"),
    ] {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert_eq!(m.permissions().mode() & 0o777, 0o600, "{}", f.display());
    }
    assert!(!env
        .incus_dir
        .join("storage-pools/default/custom/.vd.backup.yaml")
        .exists());
    let disk_before: Vec<Vec<String>> = pools
        .iter()
        .map(|p| tree_digest(&env.incus_dir.join("storage-pools").join(p)))
        .collect();

    delete_database(&env);
    assert!(env.instance_names().is_empty());
    // The monitors kept running without the database.
    assert_eq!((init_pid(&env, "run-dir"), init_pid(&env, "run-bt")), pids);

    // Answers on stdin: take both proposed pools, no other, scan, recover.
    let o = env
        .run_stdin("incus", &["admin", "recover"], "yes\nyes\nno\nyes\nyes\n")
        .ok();
    for want in [
        "Found storage pool \"bt\" that is not in the database (backend=\"btrfs\"",
        " - NEW: \"default\" (backend=\"dir\"",
        " - Container \"run-bt\" on pool \"bt\" in project \"default\" (includes 2 snapshots)",
        " - Container \"run-dir\" on pool \"default\" in project \"default\" (includes 1 snapshots)",
        " - Custom \"vd2\" on pool \"default\" in project \"default\" (includes 1 snapshots)",
        "Starting recovery...",
    ] {
        assert!(o.stdout.contains(want), "{want:?} not in:\n{}", o.stdout);
    }
    let after = records(&env, &pools);
    for ((what, b), (_, a)) in before.iter().zip(&after) {
        assert_eq!(a, b, "{what} differs after recover");
    }
    assert_eq!(before.len(), after.len());
    assert_eq!(env.status("run-dir"), "Running");
    assert_eq!(env.status("run-bt"), "Running");
    assert_eq!((init_pid(&env, "run-dir"), init_pid(&env, "run-bt")), pids);
    let disk_after: Vec<Vec<String>> = pools
        .iter()
        .map(|p| tree_digest(&env.incus_dir.join("storage-pools").join(p)))
        .collect();
    for (b, a) in disk_before.iter().zip(&disk_after) {
        let changed: Vec<_> = b.iter().filter(|l| !a.contains(l)).collect();
        let added: Vec<_> = a.iter().filter(|l| !b.contains(l)).collect();
        assert!(
            changed.is_empty() && added.is_empty(),
            "changed {changed:?} added {added:?}"
        );
    }
    // The recovered installation agrees with itself, except for the image file:
    // images are not recovered (as upstream; the instances do not need them).
    let o = env.run("incus-admin", &["check", "--format", "csv"]);
    let problems: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(problems.len(), 1, "{}", o.stdout);
    assert!(problems[0].starts_with("image,"), "{}", o.stdout);
    let o = env.ok("incus", &["exec", "run-bt", "--", "hostname"]);
    assert_eq!(o.line(), "run-bt");
    env.ok("incus-instance", &["stop", "-f", "run-dir"]);
    env.ok("incus-instance", &["start", "stopped-bt"]);
    // A second run finds nothing.
    let o = env.ok("incus-admin", &["recover", "--yes"]);
    assert!(o.stdout.contains("Nothing to do"), "{}", o.stdout);
}

#[test]
fn recover_without_questions_reports_missing_dependencies_first() {
    let env = with_image();
    env.ok(
        "incus-net",
        &["create", "rnet0", "ipv4.address=none", "ipv6.address=none"],
    );
    env.ok("incus-instance", &["create", "bb", "c1"]);
    env.ok(
        "incus-instance",
        &[
            "config",
            "device",
            "add",
            "c1",
            "eth0",
            "nic",
            "network=rnet0",
        ],
    );
    env.ok("incus-storage", &["volume", "create", "default", "v1"]);
    let ours = |prefix: &str| -> Vec<String> {
        incus_tests::list_dir(Path::new("/sys/class/net"))
            .into_iter()
            .filter(|n| n.starts_with(prefix))
            .collect()
    };
    let bridges = ours(&env.prefix());
    assert_eq!(bridges.len(), 1, "{bridges:?}");
    delete_database(&env);
    // What a reboot would have removed: the bridge (its table goes with a re-create).
    assert!(std::process::Command::new("ip")
        .args(["link", "del", &bridges[0]])
        .status()
        .unwrap()
        .success());
    // The network is missing: nothing is written.
    let o = env.run("incus-admin", &["recover", "--yes"]).err(7);
    assert!(
        o.stdout
            .contains("Network \"rnet0\" in project \"default\""),
        "{}",
        o.stdout
    );
    assert!(env.instance_names().is_empty());
    assert_eq!(env.db_rows("storage_pools"), 0);
    // Created again, the recovery goes through.
    env.ok(
        "incus-net",
        &["create", "rnet0", "ipv4.address=none", "ipv6.address=none"],
    );
    let o = env.ok("incus-admin", &["recover", "--yes"]);
    assert!(
        o.stdout.contains("1 instance(s), 1 custom volume(s)"),
        "{}",
        o.stdout
    );
    assert_eq!(env.instance_names(), ["c1"]);
    env.ok("incus-instance", &["delete", "c1"]);
    env.ok("incus-net", &["delete", "rnet0"]);
}

#[test]
fn interactive_init_takes_answers_from_stdin() {
    let env = TestEnv::new();
    let _nets = Nets(&env);
    let port = free_port();
    let answers = format!(
        "no\nyes\np1\ndir\n\nyes\nibr0\n10.201.7.1/24\nno\nnone\nyes\n127.0.0.1\n{port}\nno\nyes\n"
    );
    let o = env.run_stdin("incus", &["admin", "init"], &answers).ok();
    assert!(
        o.stdout
            .contains("Would you like to NAT IPv4 traffic on your bridge? [default=yes]: "),
        "{}",
        o.stdout
    );
    // The printed preseed is what was applied.
    let yaml = o.stdout.rsplit("[default=no]: ").next().unwrap();
    let printed: serde_yaml_ng::Value = serde_yaml_ng::from_str(yaml).unwrap();
    assert_eq!(printed["storage_pools"][0]["name"], "p1");
    let pool = env.json("incus-storage", &["show", "p1", "--format", "json"]);
    assert_eq!(pool["driver"], "dir");
    let net = env.json("incus-net", &["show", "ibr0", "--format", "json"]);
    assert_eq!(net["config"]["ipv4.address"], "10.201.7.1/24");
    assert_eq!(net["config"]["ipv4.nat"], "false");
    assert_eq!(net["config"]["ipv6.address"], "none");
    let prof = env.json("incus-profile", &["show", "default", "--format", "json"]);
    assert_eq!(prof["devices"]["root"]["pool"], "p1");
    assert_eq!(prof["devices"]["eth0"]["network"], "ibr0");
    let dump: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&env.ok("incus-admin", &["init", "--dump"]).stdout).unwrap();
    assert_eq!(
        dump["config"]["core.https_address"],
        format!("127.0.0.1:{port}").as_str()
    );
    assert_eq!(dump["config"]["images.auto_update_interval"], "0");
    // A bad answer is asked again; the end of the input aborts with nothing applied.
    let before = env.ok("incus-admin", &["init", "--dump"]).stdout;
    let o = env
        .run_stdin("incus-admin", &["init"], "no\nyes\np1\np2\nbogus\n")
        .err(2);
    assert!(
        o.stdout
            .contains("The requested storage pool \"p1\" already exists"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("Invalid input"), "{}", o.stdout);
    assert!(o.stderr.contains("end of input"), "{}", o.stderr);
    assert_eq!(env.ok("incus-admin", &["init", "--dump"]).stdout, before);
    let o = env.run_stdin("incus-admin", &["init"], "yes\n").err(8);
    assert!(o.stderr.contains("Clustering"), "{}", o.stderr);
    env.ok("incus-profile", &["device", "remove", "default", "eth0"]);
    env.ok("incus-net", &["delete", "ibr0"]);
}

#[test]
fn init_auto_flags_as_upstream() {
    incus_tests::btrfs::need_btrfs();
    let env = TestEnv::new();
    let _cleanup = incus_tests::btrfs::Cleanup { env: &env };
    let _nets = Nets(&env);
    for (args, want) in [
        (
            vec![
                "--auto",
                "--storage-backend",
                "dir",
                "--storage-create-loop",
                "1",
            ],
            "'dir' backend",
        ),
        (
            vec!["--auto", "--network-port", "9000"],
            "without --network-address",
        ),
        (vec!["--auto", "--storage-backend", "zfs"], "zfs"),
        (
            vec!["--auto", "--storage-backend", "nope"],
            "isn't supported by init",
        ),
    ] {
        let mut a = vec!["init"];
        a.extend(args);
        let o = env.run("incus-admin", &a);
        assert!(
            !o.success() && o.stderr.contains(want),
            "{a:?}: {}",
            o.stderr
        );
    }
    env.run("incus-admin", &["init", "--storage-backend", "dir"])
        .code(2);
    assert!(!env.db_path().exists() || env.db_rows("storage_pools") == 0);
    let port = free_port();
    env.ok(
        "incus",
        &[
            "admin",
            "init",
            "--auto",
            "--storage-backend",
            "btrfs",
            "--storage-create-loop",
            "1",
            "--network-address",
            "127.0.0.1",
            "--network-port",
            &port.to_string(),
        ],
    );
    let pool = env.json("incus-storage", &["show", "default", "--format", "json"]);
    assert_eq!(pool["driver"], "btrfs");
    assert_eq!(pool["config"]["size"], "1GiB");
    let nets = env.json("incus-net", &["list", "--format", "json"]);
    let net = nets[0]["name"].as_str().unwrap().to_string();
    assert!(net.starts_with("incusbr"), "{nets}");
    let prof = env.json("incus-profile", &["show", "default", "--format", "json"]);
    assert_eq!(prof["devices"]["root"]["pool"], "default");
    assert_eq!(prof["devices"]["eth0"]["network"], net.as_str());
    let o = env.ok("incus-admin", &["init", "--dump"]);
    assert!(
        o.stdout
            .contains(&format!("core.https_address: 127.0.0.1:{port}")),
        "{}",
        o.stdout
    );
    // Storage is configured now: storage flags are refused, a plain --auto is a no-op.
    let o = env.run(
        "incus-admin",
        &["init", "--auto", "--storage-backend", "btrfs"],
    );
    assert!(
        o.stderr.contains("Storage has already been configured"),
        "{}",
        o.stderr
    );
    env.ok("incus-admin", &["init", "--auto"]);
    env.ok("incus-profile", &["device", "remove", "default", "eth0"]);
    env.ok("incus-net", &["delete", &net]);
}

#[test]
fn preseed_applies_every_section_idempotently_and_rolls_back_on_failure() {
    let env = TestEnv::new();
    let _nets = Nets(&env);
    let cert = rcgen::generate_simple_self_signed(vec!["preseed".into()])
        .unwrap()
        .cert
        .pem();
    let mut doc = String::from(
        "config:
  images.auto_update_interval: '12'
networks:
- name: pbr0
  type: bridge
  config:
    ipv4.address: 10.201.9.1/24
    ipv6.address: none
storage_pools:
- name: pp
  driver: dir
storage_volumes:
- name: vol1
  pool: pp
  config:
    user.a: b
profiles:
- name: default
  devices:
    root: {type: disk, path: /, pool: pp}
- name: web
  project: default
  config:
    user.web: 'yes'
  devices:
    eth0: {type: nic, network: pbr0, name: eth0}
projects:
- name: default
certificates:
- name: ops
  type: client
  certificate: |
",
    );
    for l in cert.lines() {
        doc.push_str("    ");
        doc.push_str(l);
        doc.push('\n');
    }
    env.run_stdin("incus-admin", &["init", "--preseed"], &doc)
        .ok();
    let dump1 = env.ok("incus-admin", &["init", "--dump"]).stdout;
    for want in [
        "name: pbr0",
        "name: pp",
        "name: vol1",
        "user.a: b",
        "name: web",
        "images.auto_update_interval: '12'",
    ] {
        assert!(dump1.contains(want), "{want}: {dump1}");
    }
    let certs = env.json("incus-trust", &["list", "--format", "json"]);
    assert_eq!(certs.as_array().unwrap().len(), 1);
    assert_eq!(certs[0]["name"], "ops");
    // Idempotent: the same document again changes nothing (no new event either).
    let events = env.db_rows("events");
    env.run_stdin("incus-admin", &["init", "--preseed"], &doc)
        .ok();
    assert_eq!(env.ok("incus-admin", &["init", "--dump"]).stdout, dump1);
    assert_eq!(env.db_rows("events"), events);
    assert_eq!(
        env.json("incus-trust", &["list", "--format", "json"]),
        certs
    );

    // Another project is refused clearly, before anything changes.
    let o = env
        .run_stdin(
            "incus-admin",
            &["init", "--preseed"],
            "storage_pools:\n- {name: other, driver: dir}\nprojects:\n- name: dev\n",
        )
        .err(8);
    assert!(o.stderr.contains("project \"dev\""), "{}", o.stderr);
    // A failure in a late step undoes the run: new pool, volume, network and profile
    // go, the updated profile and server key come back.
    let o = env.run_stdin(
        "incus-admin",
        &["init", "--preseed"],
        "config:
  images.auto_update_interval: '3'
networks:
- {name: pbr1, type: bridge, config: {ipv4.address: none, ipv6.address: none}}
storage_pools:
- {name: other, driver: dir}
storage_volumes:
- {name: vol2, pool: other}
profiles:
- name: web
  config: {user.web: 'changed'}
- name: broken
  devices:
    data: {type: disk, path: /data, pool: nosuchpool, source: v}
",
    );
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("nosuchpool"), "{}", o.stderr);
    assert_eq!(env.ok("incus-admin", &["init", "--dump"]).stdout, dump1);
    assert!(!env.incus_dir.join("storage-pools/other").exists());
    env.ok("incus-profile", &["device", "remove", "web", "eth0"]);
    env.ok("incus-net", &["delete", "pbr0"]);
}

/// After a reboot the loop pool is not mounted and its row is gone with the
/// database: recover proposes it from its loop file, mounts it and brings back what
/// is inside.
#[test]
fn recover_mounts_an_unmounted_loop_pool_it_proposes() {
    incus_tests::btrfs::need_btrfs();
    let env = with_image();
    let _cleanup = incus_tests::btrfs::Cleanup { env: &env };
    env.ok("incus-storage", &["create", "lp", "btrfs", "size=300MiB"]);
    env.ok(
        "incus-instance",
        &["create", "bb", "c1", "-s", "lp", "-c", "user.x=1"],
    );
    env.ok("incus-snapshot", &["create", "c1", "s1"]);
    env.ok("incus-storage", &["volume", "create", "lp", "data"]);
    let before = records(&env, &["lp"]);
    let mnt = env.incus_dir.join("storage-pools/lp");
    delete_database(&env);
    assert!(std::process::Command::new("umount")
        .arg(&mnt)
        .status()
        .unwrap()
        .success());
    assert!(!mnt.join("containers").exists());
    // Declined at the last question: nothing is written.
    let o = env
        .run_stdin("incus-admin", &["recover"], "yes\nyes\nno\nyes\nno\n")
        .ok();
    assert!(
        o.stdout.contains(
            " - Container \"c1\" on pool \"lp\" in project \"default\" (includes 1 snapshots)"
        ),
        "{}",
        o.stdout
    );
    assert_eq!(env.db_rows("storage_pools"), 0);
    assert_eq!(env.db_rows("instances"), 0);
    let o = env.ok("incus-admin", &["recover", "--yes"]);
    assert!(
        o.stdout.contains("Found storage pool \"lp\""),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("backend=\"btrfs\""), "{}", o.stdout);
    // The default dir pool was proposed too.
    assert!(o.stdout.contains(" - NEW: \"default\""), "{}", o.stdout);
    assert_eq!(records(&env, &["lp"]), before);
    env.ok("incus-instance", &["start", "c1"]);
    env.ok("incus-instance", &["stop", "-f", "c1"]);
}
