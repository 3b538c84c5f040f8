//! A Debian 12 rootfs with systemd (debootstrap, from this machine's Debian mirror)
//! boots under our runtime: `systemctl is-system-running` reaches running (or
//! degraded, with the failed units shown), exec works, and a clean stop (SIGRTMIN+3
//! to systemd) halts it within the timeout.
//!
//! The image is built once per machine into /var/cache/incus-tests (under a lock, so
//! parallel test processes build it once) and reused by later runs; delete the file to
//! rebuild it. `make test` installs debootstrap.

use incus_tests::{debian, notice, poll, Running, TestEnv};
use std::path::PathBuf;
use std::time::Instant;

const IMAGE: &str = "debian-bookworm-systemd-v2.tar.gz";

/// Builds (once) and returns the unified image tarball.
fn debian_image() -> PathBuf {
    debian::image(
        IMAGE,
        "systemd,systemd-sysv,udev,procps",
        "",
        "Debian 12 with systemd (debootstrap minbase)",
        &[],
    )
}

#[test]
fn debian_with_systemd_boots_and_stops_cleanly() {
    let image = debian_image();
    let env = TestEnv::initialized();
    let t0 = Instant::now();
    env.import(&[&image], "debian");
    let import = t0.elapsed();
    let _guard = Running(&env);
    let t0 = Instant::now();
    env.ok("incus", &["launch", "debian", "d1"]);
    let state = poll(180, "systemctl is-system-running to settle", || {
        let o = env.run(
            "incus",
            &["exec", "d1", "--", "systemctl", "is-system-running"],
        );
        let s = o.line().to_string();
        matches!(s.as_str(), "running" | "degraded").then_some(s)
    });
    let booted = t0.elapsed();
    let failed = env
        .run(
            "incus",
            &[
                "exec",
                "d1",
                "--",
                "systemctl",
                "--failed",
                "--no-legend",
                "--plain",
            ],
        )
        .stdout;
    notice(&format!(
        "systemd: import {:.1} s, boot to \"{state}\" {:.1} s; failed units: {}",
        import.as_secs_f64(),
        booted.as_secs_f64(),
        if failed.trim().is_empty() {
            "none"
        } else {
            failed.trim()
        }
    ));
    assert!(
        state == "running" || !failed.trim().is_empty(),
        "degraded with no failed unit listed"
    );
    let o = env.ok("incus", &["exec", "d1", "--", "cat", "/etc/os-release"]);
    assert!(o.stdout.contains("bookworm"), "{}", o.stdout);
    let o = env.ok("incus", &["exec", "d1", "--", "hostname"]);
    assert_eq!(o.line(), "d1");
    let o = env.ok(
        "incus",
        &["exec", "d1", "--", "ps", "-o", "comm=", "-p", "1"],
    );
    assert_eq!(o.line(), "systemd");

    // Clean stop: SIGRTMIN+3, systemd halts by itself well within the timeout.
    let t0 = Instant::now();
    env.ok("incus", &["stop", "d1", "--timeout", "60"]);
    let took = t0.elapsed();
    notice(&format!("systemd: clean stop {:.1} s", took.as_secs_f64()));
    assert_eq!(env.status("d1"), "Stopped");
    let st: serde_json::Value = serde_json::from_slice(
        &std::fs::read(env.run_dir.join("instances/d1/state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(st["last"]["kind"], "halt", "not a clean halt: {st}");
    assert!(env.instance_cgroups("d1").is_empty());
}
