//! `incus admin boot` after a simulated host reboot: the monitors and inits are
//! killed, their cgroups and this installation's run directory removed (what a reboot
//! takes away); then the boot command starts what upstream's daemon would start, in
//! `boot.autostart.priority` order, and records the rest as STOPPED. Also `start
//! --all` / `stop --all`.

use incus_tests::{busybox_images, poll, Running, TestEnv};
use std::path::Path;
use std::time::{Duration, Instant};

fn setup() -> TestEnv {
    let env = TestEnv::initialized();
    let img = busybox_images("autostart");
    env.import(&[&img.unified], "bb");
    env
}

fn state_json(env: &TestEnv, name: &str) -> serde_json::Value {
    let p = env.run_dir.join("instances").join(name).join("state.json");
    serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
}

fn alive(pid: i64) -> bool {
    // A zombie still has /proc/PID: only a process that is not one counts.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| !r.trim_start().starts_with('Z'))
                .unwrap_or(false)
        })
        .unwrap_or(false)
}

/// What a reboot does to this installation: every process of its containers and
/// monitors dies, cgroups and the run directory vanish. Only this test's own pids,
/// cgroups and run directory are touched.
fn simulate_reboot(env: &TestEnv, running: &[&str]) {
    for name in running {
        let st = state_json(env, name);
        let run = &st["running"];
        let (init, mon) = (
            run["init_pid"].as_i64().unwrap(),
            run["monitor_pid"].as_i64().unwrap(),
        );
        // The monitor first, so it cannot record a clean end or clean up.
        for pid in [mon, init] {
            // SAFETY: kill has no memory effects; the pids are this test's containers'.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        }
        poll(10, "the killed init and monitor to die", || {
            (!alive(init) && !alive(mon)).then_some(())
        });
    }
    for d in env.cgroups() {
        poll(10, "an emptied cgroup to be removable", || {
            std::fs::remove_dir(&d).ok()
        });
    }
    std::fs::remove_dir_all(&env.run_dir).unwrap();
}

#[test]
fn boot_starts_autostart_instances_by_priority_after_a_reboot() {
    let env = setup();
    let _guard = Running(&env);
    let create = |name: &str, cfg: &[&str]| {
        let mut args = vec!["create", "bb", name];
        for c in cfg {
            args.push("-c");
            args.push(c);
        }
        env.ok("incus-instance", &args);
    };
    create("low", &["boot.autostart=true", "boot.autostart.priority=1"]);
    create(
        "high",
        &[
            "boot.autostart=true",
            "boot.autostart.priority=5",
            "boot.autostart.delay=1",
        ],
    );
    create("never", &["boot.autostart=false"]);
    create("was-running", &[]);
    create("was-stopped", &[]);
    create("auto-stopped", &["boot.autostart=true"]);
    let running = ["low", "high", "never", "was-running"];
    for n in running {
        env.ok("incus-instance", &["start", n]);
    }

    simulate_reboot(&env, &running);
    for n in running {
        assert_eq!(env.status(n), "Stopped", "{n} after the reboot");
    }
    assert!(env.cgroups().is_empty());

    let t0 = Instant::now();
    let o = env.ok("incus-admin", &["boot"]);
    let took = t0.elapsed();
    // Highest priority first, then by name; the delay of `high` is waited for.
    assert_eq!(
        o.stdout,
        "Started high\nStarted low\nStarted auto-stopped\nStarted was-running\nStopped never\n"
    );
    assert!(
        took >= Duration::from_secs(1),
        "boot.autostart.delay: {took:?}"
    );
    for n in ["high", "low", "was-running", "auto-stopped"] {
        assert_eq!(env.status(n), "Running", "{n}");
    }
    for n in ["never", "was-stopped"] {
        assert_eq!(env.status(n), "Stopped", "{n}");
    }
    let power = |n: &str| {
        env.json("incus-instance", &["show", n, "--format", "json"])["config"]
            ["volatile.last_state.power"]
            .clone()
    };
    assert_eq!(power("never"), "STOPPED");
    assert_eq!(power("low"), "RUNNING");
    assert!(env.run_dir.join("boot_id").is_file());
    // The started ones work.
    let o = env.ok("incus", &["exec", "low", "--", "hostname"]);
    assert_eq!(o.line(), "low");

    // Same boot: nothing happens, even for a stopped autostart instance.
    env.ok("incus-instance", &["stop", "-f", "low"]);
    let o = env.ok("incus-admin", &["boot"]);
    assert_eq!(o.stdout, "This boot was already handled\n");
    assert_eq!(env.status("low"), "Stopped");
    // --force runs again: `low` autostarts, what runs is left alone.
    let o = env.ok("incus-admin", &["boot", "--force"]);
    assert_eq!(o.stdout, "Started low\n");

    // stop --all / start --all.
    env.ok("incus", &["stop", "--all", "-f"]);
    let v = env.json("incus-instance", &["list", "--format", "json"]);
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["status"] == "Stopped"));
    for n in env.instance_names() {
        assert!(
            env.instance_cgroups(&n).is_empty(),
            "stop --all left cgroups of {n}"
        );
    }
    env.ok("incus", &["start", "--all"]);
    let v = env.json("incus-instance", &["list", "--format", "json"]);
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["status"] == "Running"));
    env.ok("incus", &["stop", "--all", "-f"]);
    assert!(Path::new(&env.run_dir).is_dir());
}
