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
