//! The reliability suite's mixed load: many processes doing create, start, config
//! set, snapshot, stop and delete on a small shared set of names at once. Every
//! command either succeeds or fails with a clear, expected refusal (not found,
//! exists, already running/stopped); none reports lock trouble or an internal error;
//! at the end `incus admin check` finds the database, disk and runtime in agreement.
//!
//! `make test` runs a small version; `make stress` sets STRESS_WORKERS=20 and
//! STRESS_OPS=50 (the 20 x 50).

use incus_tests::{busybox_images, exit, Output, TestEnv};
use std::sync::Barrier;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A tiny deterministic generator per worker (reproducible runs, no extra crate).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// Refusals a racing user may see; anything else is a bug.
fn expected_refusal(o: &Output) -> bool {
    matches!(o.code, exit::NOT_FOUND | exit::CONFLICT | exit::INVALID)
        && !o.stderr.to_lowercase().contains("locked")
}

#[test]
fn mixed_operations_leave_a_consistent_installation() {
    let workers = knob("STRESS_WORKERS", 6);
    let ops = knob("STRESS_OPS", 12);
    let names: Vec<String> = (0..8).map(|i| format!("m{i}")).collect();
    let env = TestEnv::initialized();
    let img = busybox_images("mixed_operations (image part)");
    env.import(&[&img.unified], "bb");
    let snapshots = incus_tests::bin_dir().join("incus-snapshot").is_file();
    let barrier = Barrier::new(workers);
    let outs: Vec<Output> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (env, barrier, names) = (&env, &barrier, &names);
                s.spawn(move || {
                    let mut rng = Lcg(w as u64 + 1);
                    let mut outs = Vec::new();
                    barrier.wait();
                    for op in 0..ops {
                        let name = names[rng.next(names.len())].as_str();
                        let value = format!("user.w{w}=op{op}");
                        let snap = format!("w{w}o{op}");
                        let args: Vec<&str> = match rng.next(if snapshots { 7 } else { 6 }) {
                            0 | 1 => vec!["launch", "bb", name],
                            2 => vec!["start", name],
                            3 => vec!["config", "set", name, &value],
                            4 => vec!["stop", "-f", name],
                            5 => vec!["delete", "-f", name],
                            _ => vec!["snapshot", "create", name, &snap],
                        };
                        outs.push(env.run("incus", &args));
                    }
                    outs
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });

    let mut done = 0;
    for o in &outs {
        if o.success() {
            done += 1;
            continue;
        }
        assert!(
            expected_refusal(o),
            "`{}` failed unexpectedly (exit {}): {}",
            o.cmdline,
            o.code,
            o.stderr
        );
    }
    incus_tests::notice(&format!(
        "mixed load: {workers} workers x {ops} ops, {done} succeeded, {} refused as expected",
        outs.len() - done
    ));
    assert!(done > 0, "some operations must succeed");

    // Every row is finished and agrees with the disk and the runtime, running or not.
    let check = env.run("incus", &["admin", "check", "--format", "json"]);
    assert_eq!(
        check.code, 0,
        "admin check: {}{}",
        check.stdout, check.stderr
    );
    env.ok("incus", &["stop", "--all", "-f"]);
    let check = env.run("incus", &["admin", "check", "--format", "json"]);
    assert_eq!(
        check.code, 0,
        "admin check after stop: {}{}",
        check.stdout, check.stderr
    );
}

/// The check itself can fail: it sees a volume without a row, a snapshot left on
/// disk, a staging file and a cgroup without its instance.
#[test]
fn admin_check_reports_disagreements() {
    let env = TestEnv::initialized();
    let clean = env.run("incus", &["admin", "check", "--format", "json"]);
    assert_eq!(clean.code, 0, "{}", clean.stderr);
    assert_eq!(clean.json(), serde_json::json!([]));

    let pool = env.incus_dir.join("storage-pools/default");
    std::fs::create_dir_all(pool.join("containers/ghost/rootfs")).unwrap();
    std::fs::create_dir_all(pool.join("containers-snapshots/ghost/s0")).unwrap();
    std::fs::create_dir_all(env.incus_dir.join("images")).unwrap();
    std::fs::write(env.incus_dir.join("images/.staging-1"), b"x").unwrap();
    let o = env.run("incus", &["admin", "check", "--format", "json"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    let found: Vec<(String, String)> = o
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for want in [
        ("volume", "default/container/ghost"),
        ("snapshot", "ghost"),
        ("image", ".staging-1"),
    ] {
        assert!(
            found.iter().any(|(k, n)| k == want.0 && n == want.1),
            "{want:?} in {found:?}"
        );
    }
}

/// The state of every instance, as a list reports it (a list also finishes any
/// half-done work it meets).
fn statuses(env: &TestEnv) -> std::collections::BTreeMap<String, String> {
    env.json("incus", &["list", "--format", "json"])
        .as_array()
        .expect("array")
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Random mutating commands killed with SIGKILL at a random moment (uniform in
/// 0..KILL_MAX_MS ms after the start), each followed by one next command on the same
/// instance. After that next command the instance is in the old or the new state of
/// the killed command, with `volatile.last_state.power` agreeing (never frozen by a
/// snapshot, never stopped by a restore or a restart); at the end every instance
/// starts, runs a command and stops, and `admin check` is clean.
///
/// `make test` runs 20 rounds; `make stress` KILL_ROUNDS=400. The seed is printed;
/// KILL_SEED=N reruns a failure.
#[test]
fn random_kills_then_the_next_command_leave_a_consistent_installation() {
    let rounds = knob("KILL_ROUNDS", 20);
    let max_ms = knob("KILL_MAX_MS", 250) as u64;
    let seed = std::env::var("KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                % 1_000_000
        });
    incus_tests::notice(&format!(
        "random kills: {rounds} rounds, kill at 0..{max_ms} ms, KILL_SEED={seed}"
    ));
    let env = TestEnv::initialized();
    let img = busybox_images("random kills");
    env.import(&[&img.unified], "bb");
    let _guard = incus_tests::Running(&env);
    let share = env.root().join("share");
    std::fs::create_dir_all(&share).unwrap();
    let share = share.to_string_lossy().into_owned();
    let names = ["k0", "k1", "k2"];
    // Running instances with some data: a snapshot's copy (the freeze) and a restore
    // take long enough for a random kill to land inside them.
    let populate = |n: &str| {
        env.ok("incus", &["launch", "bb", n]);
        env.ok(
            "incus",
            &[
                "exec",
                n,
                "--",
                "dd",
                "if=/dev/urandom",
                "of=/root/data",
                "bs=1M",
                "count=24",
            ],
        );
        env.ok("incus", &["snapshot", "create", n, "base"]);
    };
    for n in names {
        populate(n);
    }
    // Instances a (possibly killed) `pause` may have frozen: frozen is right for them.
    let mut paused = std::collections::BTreeSet::new();
    let mut rng = Lcg(seed.wrapping_add(1));
    for round in 0..rounds {
        let name = names[rng.next(names.len())];
        let other = names[rng.next(names.len())];
        let snap = format!("s{round}");
        let limit = format!("limits.memory={}MiB", 64 + 32 * rng.next(4));
        let user = format!("user.r={round}");
        let source = format!("source={share}");
        let dev = format!("d{}", rng.next(2));
        let path = format!("path=/mnt/{dev}");
        let vol = format!("v{}", rng.next(2));
        let args: Vec<&str> = match rng.next(17) {
            0 => vec!["start", name],
            1 => vec!["stop", "-f", name],
            2 => vec!["stop", "--timeout", "5", name],
            3 => vec!["restart", "-f", name],
            4 => vec!["pause", name],
            5 => vec!["resume", name],
            6 | 7 => vec!["snapshot", "create", name, &snap],
            8 | 9 => vec!["snapshot", "restore", name, "base"],
            10 => vec!["config", "set", name, &limit, &user],
            11 => vec![
                "config", "device", "add", name, &dev, "disk", &source, &path,
            ],
            12 => vec!["config", "device", "remove", name, &dev],
            13 => vec!["delete", "-f", name],
            14 => vec!["launch", "bb", name],
            15 => vec!["copy", other, name],
            _ => {
                if rng.next(2) == 0 {
                    vec!["storage", "volume", "create", "default", &vol]
                } else {
                    vec!["storage", "volume", "delete", "default", &vol]
                }
            }
        };
        let before = statuses(&env).get(name).cloned();
        let wait = rng.next(max_ms as usize + 1) as u64;
        let mut child = env
            .command("incus")
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Not a synchronisation: the random moment of the kill is what is tested.
        std::thread::sleep(std::time::Duration::from_millis(wait));
        let _ = child.kill();
        let _ = child.wait();
        if args[0] == "pause" {
            paused.insert(name);
        }
        let next_user = format!("user.next={round}");
        let next: Vec<&str> = match rng.next(5) {
            // A volume's next command is on its pool.
            _ if args[0] == "storage" => vec!["storage", "volume", "list", "default"],
            0 => vec!["list"],
            1 => vec!["info", name],
            2 => vec!["config", "set", name, &next_user],
            3 => vec!["snapshot", "list", name],
            _ => vec!["config", "show", name],
        };
        let o = env.run("incus", &next);
        let after = statuses(&env).get(name).cloned();
        // One line a round (shown with --nocapture, and on failure).
        println!(
            "round {round}: {name} {before:?} -> `incus {}` killed at {wait} ms -> `{}` (exit {}) -> {after:?}",
            args.join(" "),
            o.cmdline,
            o.code
        );
        let what = format!(
            "KILL_SEED={seed} round {round}: `incus {}` killed after {wait} ms, then `{}`",
            args.join(" "),
            o.cmdline
        );
        assert!(
            o.success() || (o.code == exit::NOT_FOUND && after.is_none()),
            "{what}: the next command failed (exit {}): {}",
            o.code,
            o.stderr
        );
        let (b, a) = (before.as_deref(), after.as_deref());
        // The old state or the new one of the killed command.
        let ok = match args[0] {
            _ if a.is_none() => matches!(args[0], "delete" | "launch" | "copy") || b.is_none(),
            _ if b.is_none() => matches!(args[0], "launch" | "copy"),
            "start" => a == b || a == Some("Running"),
            "stop" => a == b || a == Some("Stopped"),
            "restart" => a == b || a == Some("Running"),
            "pause" => a == b || a == Some("Frozen"),
            "resume" => a == b || a == Some("Running"),
            "delete" => a == b || a == Some("Stopped"),
            "snapshot" if args[1] == "restore" && b == Some("Frozen") => {
                a == b || a == Some("Running")
            }
            _ => a == b,
        };
        assert!(ok, "{what}: {name} was {b:?}, is {a:?}");
        if let Some(a) = a {
            let power = env.ok(
                "incus",
                &["config", "get", name, "volatile.last_state.power"],
            );
            let want: &[&str] = if a == "Stopped" {
                &["STOPPED", ""]
            } else {
                &["RUNNING"]
            };
            assert!(
                want.contains(&power.line()),
                "{what}: {name} is {a} with volatile.last_state.power={}",
                power.line()
            );
            if a == "Frozen" {
                assert!(
                    paused.contains(name),
                    "{what}: {name} is frozen, and no pause was asked for"
                );
            } else {
                paused.remove(name);
            }
        }
        // Keep the population running, so most kills meet a running instance.
        match after.as_deref() {
            None => populate(name),
            Some("Stopped") if rng.next(3) > 0 => {
                env.ok("incus", &["start", name]);
            }
            _ => {}
        }
    }

    // Every instance is usable, and nothing is left for the check to find.
    for (name, st) in statuses(&env) {
        if st == "Frozen" {
            env.ok("incus", &["resume", &name]);
        }
        if st != "Stopped" {
            env.ok("incus", &["stop", "-f", &name]);
        }
        env.ok("incus", &["start", &name]);
        let o = env.ok("incus", &["exec", &name, "--", "echo", "alive"]);
        assert_eq!(o.line(), "alive", "{name}");
        env.ok("incus", &["stop", "-f", &name]);
    }
    let check = env.run("incus", &["admin", "check", "--format", "json"]);
    assert_eq!(
        check.code, 0,
        "KILL_SEED={seed}: admin check: {}{}",
        check.stdout, check.stderr
    );
}
