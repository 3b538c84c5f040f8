//! A Debian 12 rootfs with systemd (debootstrap, from this machine's Debian mirror)
//! boots under our runtime: `systemctl is-system-running` reaches running (or
//! degraded, with the failed units shown), exec works, and a clean stop (SIGRTMIN+3
//! to systemd) halts it within the timeout.
//!
//! The image is built once per machine into /var/cache/incus-tests (under a lock, so
//! parallel test processes build it once) and reused by later runs; delete the file to
//! rebuild it. `make test` installs debootstrap.

use incus_tests::{notice, poll, Running, TestEnv};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const CACHE: &str = "/var/cache/incus-tests";
const IMAGE: &str = "debian-bookworm-systemd-v2.tar.gz";

/// The Debian mirror apt uses here (deb822 or one-line sources), else deb.debian.org.
fn mirror() -> String {
    let mut texts: Vec<String> = std::fs::read_to_string("/etc/apt/sources.list")
        .into_iter()
        .collect();
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "sources" || x == "list") {
                texts.extend(std::fs::read_to_string(p).ok());
            }
        }
    }
    for t in &texts {
        for l in t.lines() {
            let l = l.trim();
            let url = l.strip_prefix("URIs:").map(str::trim).or_else(|| {
                l.strip_prefix("deb ")
                    .and_then(|r| r.split_whitespace().next())
            });
            if let Some(u) = url {
                if u.ends_with("/debian") || u.ends_with("/debian/") {
                    return u.to_string();
                }
            }
        }
    }
    "http://deb.debian.org/debian".to_string()
}

fn sh(cmd: &mut Command, what: &str) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        o.status.success(),
        "{what} failed ({}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Builds (once) and returns the unified image tarball.
fn debian_image() -> PathBuf {
    std::fs::create_dir_all(CACHE).unwrap();
    let out = Path::new(CACHE).join(IMAGE);
    let lock = std::fs::File::create(Path::new(CACHE).join("debian.lock")).unwrap();
    // SAFETY: flock on an open file; released when `lock` is dropped.
    assert_eq!(
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) },
        0
    );
    if out.is_file() {
        return out;
    }
    assert!(
        Path::new("/usr/sbin/debootstrap").is_file(),
        "debootstrap is missing: apt-get install debootstrap (make test does)"
    );
    let t0 = Instant::now();
    let work = Path::new(CACHE).join(format!("build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let mirror = mirror();
    sh(
        Command::new("debootstrap")
            .args([
                "--variant=minbase",
                "--include=systemd,systemd-sysv,udev,procps",
                "bookworm",
            ])
            .arg(work.join("rootfs"))
            .arg(&mirror),
        &format!("debootstrap bookworm from {mirror} (is the Debian mirror reachable?)"),
    );
    std::fs::write(
        work.join("metadata.yaml"),
        format!(
            "architecture: {}\ncreation_date: {}\nproperties:\n  os: debian\n  release: bookworm\n  description: Debian 12 with systemd (debootstrap minbase)\ntemplates:\n  /etc/hostname:\n    when: [create, copy, rename]\n    template: hostname.tpl\n",
            std::env::consts::ARCH,
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        ),
    )
    .unwrap();
    // As upstream's images: the hostname comes from the instance name.
    std::fs::create_dir_all(work.join("templates")).unwrap();
    std::fs::write(
        work.join("templates/hostname.tpl"),
        "{{ container.name }}\n",
    )
    .unwrap();
    let tmp = Path::new(CACHE).join(format!(".{IMAGE}.{}", std::process::id()));
    sh(
        Command::new("tar")
            .arg("-C")
            .arg(&work)
            .args(["--numeric-owner", "-I", "gzip -1", "-cf"])
            .arg(&tmp)
            .args(["metadata.yaml", "templates", "rootfs"]),
        "tar the Debian image",
    );
    std::fs::rename(&tmp, &out).unwrap();
    std::fs::remove_dir_all(&work).unwrap();
    notice(&format!(
        "systemd: built {} in {:.0} s",
        out.display(),
        t0.elapsed().as_secs_f64()
    ));
    out
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
