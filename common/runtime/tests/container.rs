//! Real containers (root required): start, status, exec, confinement, stop.
mod common;
use common::*;
use incus_runtime::*;
use std::time::Duration;

#[test]
fn unprivileged_lifecycle() {
    let _g = serial();
    let ct = Ct::new("life", false);
    let s = ct.start();
    assert_eq!(
        status(ct.run()),
        Status::Running {
            init_pid: s.init_pid,
            monitor_pid: s.monitor_pid
        }
    );
    let (c, out) = ct.sh("cat /proc/self/uid_map");
    assert_eq!(c, 0);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "1000000", "65536"]
    );
    assert_eq!(ct.sh("exit 7").0, 7);
    assert_eq!(ct.sh("kill -9 $$").0, 128 + 9);
    let (_, st) = ct.sh("cat /proc/self/status");
    assert_eq!(status_line(&st, "Seccomp:"), "2");
    assert_eq!(status_line(&st, "NoNewPrivs:"), "0");
    assert_eq!(
        u64::from_str_radix(&status_line(&st, "CapBnd:"), 16).unwrap(),
        expected_capbnd(full_capset())
    );
    assert_eq!(ct.sh("echo $FOO").1.trim(), "bar");
    assert_eq!(ct.sh("hostname").1.trim(), ct.spec.name);
    let (c, _) = ct.sh("mknod /tmp/sda b 8 0 2>/dev/null");
    assert_ne!(c, 0, "mknod of a block device must fail");
    let es = ExecSpec {
        argv: vec!["id".into(), "-u".into()],
        uid: 1000,
        gid: 1000,
        ..Default::default()
    };
    assert_eq!(
        String::from_utf8_lossy(&exec_output(ct.run(), &es).unwrap().1).trim(),
        "1000"
    );
    // A command that cannot be found exits 127, as in a shell (the message goes to
    // its stderr).
    assert!(matches!(
        exec(
            ct.run(),
            &ExecSpec {
                argv: vec!["nonexistent-cmd".into()],
                ..Default::default()
            }
        ),
        Ok(127)
    ));
    assert!(matches!(start(&ct.spec), Err(Error::AlreadyRunning)));
    // pty from the container's devpts with the caller's window size
    let (r, w) = nix::unistd::pipe().unwrap();
    let null = std::fs::File::open("/dev/null").unwrap();
    use std::os::fd::AsRawFd;
    let es = ExecSpec {
        argv: vec!["sh".into(), "-c".into(), "tty; stty size; exit 3".into()],
        tty: true,
        window: Some((45, 123)),
        stdin: Some(null.as_raw_fd()),
        stdout: Some(w.as_raw_fd()),
        ..Default::default()
    };
    assert_eq!(exec(ct.run(), &es).unwrap(), 3);
    drop(w);
    let mut out = String::new();
    std::io::Read::read_to_string(&mut std::fs::File::from(r), &mut out).unwrap();
    assert!(
        out.contains("/dev/pts/") && out.contains("45 123"),
        "{out:?}"
    );
    let rec = stop(ct.run(), Duration::from_secs(30), false).unwrap();
    assert_eq!(rec.kind, ExitKind::Halt);
    assert!(
        matches!(status(ct.run()), Status::Stopped { last: Some(r) } if r.kind == ExitKind::Halt)
    );
    assert!(
        ct.leftover_cgroups().is_empty(),
        "{:?}",
        ct.leftover_cgroups()
    );
}

#[test]
fn privileged_force_stop_and_console() {
    let _g = serial();
    let ct = Ct::new("priv", true);
    let s = ct.start();
    let (_, m) = ct.sh("cat /proc/self/uid_map");
    assert_eq!(
        m.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "4294967295"]
    );
    let (_, st) = ct.sh("cat /proc/self/status");
    assert_eq!(status_line(&st, "Seccomp:"), "2");
    assert_eq!(
        u64::from_str_radix(&status_line(&st, "CapBnd:"), 16).unwrap(),
        expected_capbnd(host_capbnd())
    );
    // /proc/sys read-only, /sys read-only (proc:mixed, sys:mixed)
    assert_ne!(ct.sh("echo 1 > /proc/sys/kernel/hostname 2>/dev/null").0, 0);
    assert_ne!(ct.sh("touch /sys/kernel/x 2>/dev/null").0, 0);
    // device cgroup: block devices may be created (m) but not opened
    assert_eq!(ct.sh("mknod /tmp/sda b 8 0").0, 0);
    assert_ne!(ct.sh("head -c1 /tmp/sda >/dev/null 2>&1").0, 0);
    // console: the respawned shell on /dev/console answers
    let mut c = console_connect(ct.run(), Some((30, 100))).unwrap();
    use std::io::{Read, Write};
    c.write_all(b"echo hello-$((40+2))\n").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 1024];
    while !seen.contains("hello-42") {
        let n = c.read(&mut buf).expect("console output");
        assert!(n > 0, "console closed");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    drop(c);
    assert!(String::from_utf8_lossy(&console_ring(ct.run()).unwrap()).contains("hello-42"));
    let t = std::time::Instant::now();
    let rec = stop(ct.run(), Duration::from_secs(10), true).unwrap();
    assert_eq!(rec.kind, ExitKind::Signaled { signal: 9 });
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(String::from_utf8_lossy(&console_log(&ct.spec.log_dir).unwrap()).contains("hello-42"));
    assert!(ct.leftover_cgroups().is_empty());
    assert!(
        std::fs::metadata(format!("/proc/{}", s.init_pid)).is_err()
            || incus_runtime::status(ct.run())
                != Status::Orphaned {
                    init_pid: s.init_pid
                }
    );
}

#[test]
fn start_error_is_reported_verbatim() {
    let _g = serial();
    let mut ct = Ct::new("err", false);
    ct.spec.init = vec!["/nonexistent-init".into()];
    match start(&ct.spec) {
        Err(Error::Start(m)) => assert!(
            m.contains("exec /nonexistent-init") && m.contains("ENOENT"),
            "{m}"
        ),
        o => panic!("unexpected {o:?}"),
    }
    assert!(matches!(status(ct.run()), Status::Stopped { .. }));
    assert!(
        ct.leftover_cgroups().is_empty(),
        "{:?}",
        ct.leftover_cgroups()
    );
}

#[test]
fn limits_live_and_freeze() {
    let _g = serial();
    let mut ct = Ct::new("lim", false);
    ct.spec.limits = Limits {
        memory: Some(64 << 20),
        processes: Some(20),
        ..Default::default()
    };
    ct.start();
    let rd = |c: &str, f: &str| {
        std::fs::read_to_string(ct.cgroup_file(c, f))
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(
        rd("memory", "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    assert_eq!(rd("pids", "pids.max"), "20");
    // visible inside through the cgroup namespace
    assert_eq!(
        ct.sh("cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
            .1
            .trim(),
        (64u64 << 20).to_string()
    );
    // fork bomb is capped by pids.max
    let (_, out) = ct.sh("for i in $(seq 40); do sleep 30 >/dev/null 2>&1 & done 2>&1; echo done");
    assert!(
        out.contains("can't fork") || out.contains("Resource temporarily unavailable"),
        "{out}"
    );
    assert!(rd("pids", "pids.current").parse::<u32>().unwrap() <= 20);
    // the cgroup is full: clean the sleeps from the host side, again on every poll, since
    // a shell of the bomb may fork a new sleep as soon as a slot frees up
    let kill_sleeps = || {
        for pid in std::fs::read_to_string(ct.cgroup_file("pids", "cgroup.procs"))
            .unwrap_or_default()
            .lines()
        {
            if std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .map(|c| c.trim() == "sleep")
                .unwrap_or(false)
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid.parse().unwrap()),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    };
    wait_until(
        Duration::from_secs(30),
        || {
            kill_sleeps();
            rd("pids", "pids.current").parse::<u32>().unwrap() <= 3
        },
        "sleeps reaped",
    );
    let info = info(ct.run()).unwrap();
    assert!(
        info.processes >= 2 && info.memory_usage > 0 && info.cpu_usage_ns > 0,
        "{info:?}"
    );
    assert!(info.network.iter().any(|n| n.name == "lo"));
    apply_limits(
        ct.run(),
        &Limits {
            memory: Some(128 << 20),
            memory_swap: Some(false),
            processes: Some(100),
            cpus: Some("1".into()),
            cpu_allowance: Some("25ms/100ms".into()),
        },
    )
    .unwrap();
    assert_eq!(
        rd("memory", "memory.limit_in_bytes"),
        (128u64 << 20).to_string()
    );
    assert_eq!(rd("pids", "pids.max"), "100");
    assert_eq!(rd("cpuset", "cpuset.cpus"), "0");
    assert_eq!(rd("cpu", "cpu.cfs_quota_us"), "25000");
    apply_limits(ct.run(), &Limits::default()).unwrap();
    assert_eq!(rd("pids", "pids.max"), "max");
    freeze(ct.run()).unwrap();
    assert!(matches!(status(ct.run()), Status::Frozen { .. }));
    assert_eq!(rd("freezer", "freezer.state"), "FROZEN");
    unfreeze(ct.run()).unwrap();
    assert!(matches!(status(ct.run()), Status::Running { .. }));
    assert_eq!(ct.sh("true").0, 0);
    // a frozen container can still be force-stopped
    freeze(ct.run()).unwrap();
    stop(ct.run(), Duration::from_secs(5), true).unwrap();
    assert!(ct.leftover_cgroups().is_empty());
}

#[test]
fn disks_devices_hotplug() {
    let _g = serial();
    let mut ct = Ct::new("disk", false);
    let ro = ct.tmp.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::write(ro.join("f"), "read-only-data").unwrap();
    let plain = ct.tmp.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    std::fs::write(plain.join("f"), "host-data").unwrap();
    ct.spec.disks = vec![
        DiskMount {
            source: ro,
            path: "/mnt/ro".into(),
            readonly: true,
            shift: true,
        },
        DiskMount {
            source: plain,
            path: "/mnt/plain".into(),
            readonly: false,
            shift: false,
        },
    ];
    ct.spec.unix_devices = vec![UnixDevice {
        path: "/dev/mynull".into(),
        kind: DeviceKind::Char,
        major: 1,
        minor: 3,
        uid: 0,
        gid: 0,
        mode: 0o666,
    }];
    ct.start();
    assert_eq!(ct.sh("cat /mnt/ro/f").1, "read-only-data");
    assert_ne!(ct.sh("touch /mnt/ro/g 2>/dev/null").0, 0);
    // idmapped (shift): host root-owned files are root-owned inside
    assert_eq!(ct.sh("stat -c %u /mnt/ro/f").1.trim(), "0");
    // not shifted: host root's files belong to the overflow id, root inside cannot write
    assert_eq!(ct.sh("stat -c %u:%g /mnt/plain/f").1.trim(), "65534:65534");
    assert_eq!(ct.sh("cat /mnt/plain/f").1, "host-data");
    assert_ne!(ct.sh("echo x > /mnt/plain/f 2>/dev/null").0, 0);
    assert_ne!(ct.sh("touch /mnt/plain/new 2>/dev/null").0, 0);
    assert_eq!(
        ct.sh("echo x > /dev/mynull && stat -c %t:%T /dev/mynull")
            .1
            .trim(),
        "1:3"
    );
    let hot = ct.tmp.path().join("hot");
    std::fs::create_dir(&hot).unwrap();
    std::fs::write(hot.join("h"), "hot-data").unwrap();
    hot_add_disk(
        ct.run(),
        &DiskMount {
            source: hot.clone(),
            path: "/mnt/hot".into(),
            readonly: false,
            shift: true,
        },
    )
    .unwrap();
    assert_eq!(ct.sh("cat /mnt/hot/h").1, "hot-data");
    assert_eq!(ct.sh("echo w > /mnt/hot/w").0, 0);
    let meta = std::fs::metadata(hot.join("w")).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&meta),
        0,
        "written as container root -> host root through the idmap"
    );
    hot_remove_disk(ct.run(), std::path::Path::new("/mnt/hot")).unwrap();
    assert_ne!(ct.sh("test -e /mnt/hot/h").0, 0);
}

#[test]
fn monitor_kill9_repair_and_restart() {
    let _g = serial();
    let ct = Ct::new("crash", false);
    let s = ct.start();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(s.monitor_pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_until(
        Duration::from_secs(5),
        || !matches!(status(ct.run()), Status::Running { .. }),
        "monitor death noticed",
    );
    assert_eq!(
        status(ct.run()),
        Status::Orphaned {
            init_pid: s.init_pid
        }
    );
    assert!(matches!(start(&ct.spec), Err(Error::AlreadyRunning)));
    let rec = stop(ct.run(), Duration::from_secs(5), false).unwrap();
    assert!(rec.repaired);
    assert!(matches!(status(ct.run()), Status::Stopped { .. }));
    assert!(
        ct.leftover_cgroups().is_empty(),
        "{:?}",
        ct.leftover_cgroups()
    );
    // init gone (or a zombie waiting for PID 1)
    let gone = || {
        std::fs::read_to_string(format!("/proc/{}/stat", s.init_pid))
            .map(|x| x.contains(") Z"))
            .unwrap_or(true)
    };
    assert!(gone());
    // start again after the repair
    let s2 = ct.start();
    assert_ne!(s2.init_pid, s.init_pid);
    stop(ct.run(), Duration::from_secs(5), true).unwrap();
}

#[test]
fn reboot_restarts_in_place() {
    let _g = serial();
    let ct = Ct::new("reboot", false);
    let s = ct.start();
    let _ = ct.sh("reboot -f");
    let mut new = 0;
    wait_until(
        Duration::from_secs(10),
        || match status(ct.run()) {
            Status::Running {
                init_pid,
                monitor_pid,
            } if init_pid != s.init_pid => {
                assert_eq!(monitor_pid, s.monitor_pid);
                new = init_pid;
                true
            }
            _ => false,
        },
        "restart after reboot",
    );
    ct.wait_ready(new);
    assert_eq!(
        ct.sh("cat /proc/self/uid_map").1.split_whitespace().nth(1),
        Some("1000000")
    );
    let rec = stop(ct.run(), Duration::from_secs(5), true).unwrap();
    assert_eq!(rec.kind, ExitKind::Signaled { signal: 9 });
}

#[test]
fn halt_inside_is_recorded() {
    let _g = serial();
    let ct = Ct::new("halt", false);
    let s = ct.start();
    let _ = ct.sh("poweroff -f");
    let fd = wait_pid_exit(s.monitor_pid);
    assert!(fd);
    assert!(
        matches!(status(ct.run()), Status::Stopped { last: Some(r) } if r.kind == ExitKind::Halt)
    );
    assert!(ct.leftover_cgroups().is_empty());
}

fn wait_pid_exit(pid: i32) -> bool {
    let mut ok = false;
    wait_until(
        Duration::from_secs(10),
        || {
            ok = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|x| x.contains(") Z"))
                .unwrap_or(true);
            ok
        },
        "monitor exit",
    );
    ok
}
