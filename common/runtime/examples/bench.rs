//! Ad-hoc timings for NOTES.md (root; needs busybox-static and a built incus-monitor):
//! `cargo build --release -p incus-monitor && INCUS_MONITOR_BIN=target/release/incus-monitor \
//!  cargo run --release -p incus-runtime --example bench -- [N]`
//! Prints median/min/max in ms of start, exec `true`, stop -f (and a clean stop on 3 runs).
use incus_runtime::*;
use std::path::Path;
use std::time::{Duration, Instant};

fn rootfs(dir: &Path) {
    for d in [
        "bin", "sbin", "etc", "proc", "sys", "dev", "run", "tmp", "root",
    ] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", dir.join("bin/busybox")).unwrap();
    let list = std::process::Command::new("/bin/busybox")
        .arg("--list-full")
        .output()
        .unwrap();
    for l in String::from_utf8_lossy(&list.stdout).lines() {
        let p = dir.join(l);
        if !p.exists() {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink("/bin/busybox", &p).unwrap();
        }
    }
    std::fs::write(dir.join("etc/inittab"), "::sysinit:/bin/mount -t tmpfs tmpfs /run\n::sysinit:/bin/touch /run/ready\n::respawn:-/bin/sh\n").unwrap();
}

fn stats(name: &str, mut v: Vec<f64>) {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{name:<28} median {:7.2}  min {:7.2}  max {:7.2}  (n={})",
        v[v.len() / 2],
        v[0],
        v[v.len() - 1],
        v.len()
    );
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    rootfs(&tmp.path().join("rootfs"));
    let spec = ContainerSpec {
        name: format!("bench{}", std::process::id()),
        host_prefix: "incus-rt-bench".into(),
        rootfs: tmp.path().join("rootfs"),
        run_dir: tmp.path().join("run"),
        log_dir: tmp.path().join("log"),
        privileged: false,
        idmap: Some(IdMap {
            host_base: 1_000_000,
            size: 65536,
        }),
        hostname: "bench".into(),
        init: vec!["/sbin/init".into()],
        env: vec![],
        limits: Limits {
            memory: Some(256 << 20),
            processes: Some(512),
            ..Default::default()
        },
        disks: vec![],
        unix_devices: vec![],
        nics: vec![],
        nesting: false,
        stop_signal: None,
        raw_idmap: vec![],
        syscalls: Default::default(),
        guestapi: false,
    };
    let (mut st, mut ex, mut sf, mut ready) = (vec![], vec![], vec![], vec![]);
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;
    for _ in 0..n {
        let t = Instant::now();
        let s = start(&spec).expect("start");
        st.push(ms(t));
        let p = format!("/proc/{}/root/run/ready", s.init_pid);
        while !Path::new(&p).exists() {
            std::thread::sleep(Duration::from_micros(200));
        }
        ready.push(ms(t));
        for _ in 0..3 {
            let t = Instant::now();
            let c = exec(
                &spec.run_dir,
                &ExecSpec {
                    argv: vec!["/bin/true".into()],
                    ..Default::default()
                },
            )
            .unwrap();
            ex.push(ms(t));
            assert_eq!(c, 0);
        }
        let t = Instant::now();
        stop(&spec.run_dir, Duration::from_secs(10), true).unwrap();
        sf.push(ms(t));
    }
    let mut clean = vec![];
    for _ in 0..3 {
        let s = start(&spec).unwrap();
        let p = format!("/proc/{}/root/run/ready", s.init_pid);
        while !Path::new(&p).exists() {
            std::thread::sleep(Duration::from_micros(200));
        }
        let t = Instant::now();
        stop(&spec.run_dir, Duration::from_secs(30), false).unwrap();
        clean.push(ms(t));
    }
    stats("start (returns)", st);
    stats("start -> /run/ready", ready);
    stats("exec /bin/true", ex);
    stats("stop -f", sf);
    stats("stop (SIGPWR, busybox)", clean);
    for e in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let _ = std::fs::remove_dir(e.path().join("incus-rt-bench"));
        let _ = std::fs::remove_dir(e.path().join("incus-rt-bench.monitor"));
    }
}
