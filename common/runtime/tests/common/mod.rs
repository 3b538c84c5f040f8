//! Shared helpers of the integration tests: busybox rootfs, unique names, a guard that
//! force-stops and cleans up even when a test fails. Tests need root.
#![allow(dead_code)]

use incus_runtime::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

pub const PREFIX: &str = "incus-rt-test";
pub const BASE: u32 = 1_000_000;

static SERIAL: Mutex<()> = Mutex::new(());
static COUNTER: AtomicU32 = AtomicU32::new(0);
static BUILD: Once = Once::new();

/// exec/hot-plug fork the caller: run container tests one at a time so the test process has no
/// other busy thread while it forks.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Make sure `incus-monitor` is built and point the runtime at it.
pub fn monitor_bin() {
    BUILD.call_once(|| {
        if std::env::var_os("INCUS_MONITOR_BIN").is_some() {
            return;
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = std::process::Command::new(cargo)
            .args(["build", "-q", "-p", "incus-monitor"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo build incus-monitor");
        assert!(st.success(), "building incus-monitor failed");
        let exe = std::env::current_exe().unwrap();
        let bin = exe
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("incus-monitor");
        assert!(bin.is_file(), "{} missing", bin.display());
        std::env::set_var("INCUS_MONITOR_BIN", bin);
    });
}

pub fn unique(tag: &str) -> String {
    format!(
        "t{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        tag
    )
}

/// A static-busybox system: init with an inittab whose sysinit touches /run/ready and a
/// respawning shell on the console.
pub fn busybox_rootfs(dir: &Path) {
    let bb = Path::new("/bin/busybox");
    assert!(bb.exists(), "apt-get install -y busybox-static");
    for d in [
        "bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "run", "tmp", "root",
        "mnt", "var",
    ] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::copy(bb, dir.join("bin/busybox")).unwrap();
    let list = std::process::Command::new(bb)
        .arg("--list-full")
        .output()
        .unwrap();
    for l in String::from_utf8_lossy(&list.stdout).lines() {
        let p = dir.join(l);
        if l == "bin/busybox" || p.exists() {
            continue;
        }
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink("/bin/busybox", &p).unwrap();
    }
    std::fs::write(
        dir.join("etc/inittab"),
        "::sysinit:/bin/mount -t tmpfs -o mode=755 tmpfs /run\n::sysinit:/bin/touch /run/ready\n::respawn:-/bin/sh\n::ctrlaltdel:/sbin/reboot\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(dir.join("etc/group"), "root:x:0:\ntty:x:5:\nuser:x:1000:\n").unwrap();
    std::fs::set_permissions(
        dir.join("tmp"),
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
}

/// One test container with its temp dirs. Dropping it force-stops and removes everything.
pub struct Ct {
    pub spec: ContainerSpec,
    pub tmp: tempfile::TempDir,
}

impl Ct {
    pub fn new(tag: &str, privileged: bool) -> Ct {
        monitor_bin();
        let tmp = tempfile::Builder::new()
            .prefix("incus-rt-")
            .tempdir()
            .unwrap();
        // closed to everyone but root (as instance volumes are): the runtime must reach the
        // rootfs without the container's ids searching any directory above it
        std::fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let rootfs = tmp.path().join("rootfs");
        busybox_rootfs(&rootfs);
        let name = unique(tag);
        let spec = ContainerSpec {
            name: name.clone(),
            host_prefix: PREFIX.into(),
            rootfs,
            run_dir: tmp.path().join("run"),
            log_dir: tmp.path().join("log"),
            privileged,
            idmap: if privileged {
                None
            } else {
                Some(IdMap {
                    host_base: BASE,
                    size: 65536,
                })
            },
            hostname: name,
            init: vec!["/sbin/init".into()],
            env: vec![("FOO".into(), "bar".into())],
            limits: Limits::default(),
            disks: vec![],
            unix_devices: vec![],
            nics: vec![],
            nesting: false,
            stop_signal: None,
            raw_idmap: vec![],
            syscalls: Default::default(),
            guestapi: false,
        };
        Ct { spec, tmp }
    }

    pub fn run(&self) -> &Path {
        &self.spec.run_dir
    }

    pub fn start(&self) -> Started {
        let s = start(&self.spec).expect("start");
        self.wait_ready(s.init_pid);
        s
    }

    /// Poll (bounded) for busybox's sysinit marker.
    pub fn wait_ready(&self, init_pid: i32) {
        let p = PathBuf::from(format!("/proc/{init_pid}/root/run/ready"));
        wait_until(Duration::from_secs(10), || p.exists(), "container ready");
    }

    pub fn sh(&self, cmd: &str) -> (i32, String) {
        let es = ExecSpec {
            argv: vec!["/bin/sh".into(), "-c".into(), cmd.into()],
            ..Default::default()
        };
        let (c, out) = exec_output(self.run(), &es).expect("exec");
        (c, String::from_utf8_lossy(&out).into_owned())
    }

    pub fn cgroup_file(&self, ctrl: &str, file: &str) -> PathBuf {
        PathBuf::from(format!(
            "/sys/fs/cgroup/{ctrl}/{PREFIX}/{}/{file}",
            self.spec.name
        ))
    }

    /// Container or monitor cgroup dirs still present.
    pub fn leftover_cgroups(&self) -> Vec<PathBuf> {
        let mut v = vec![];
        for e in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            for p in [
                e.path().join(PREFIX).join(&self.spec.name),
                e.path()
                    .join(format!("{PREFIX}.monitor"))
                    .join(&self.spec.name),
            ] {
                if p.exists() {
                    v.push(p);
                }
            }
        }
        v
    }
}

impl Drop for Ct {
    fn drop(&mut self) {
        if matches!(
            status(self.run()),
            Status::Running { .. } | Status::Frozen { .. } | Status::Orphaned { .. }
        ) {
            let _ = stop(self.run(), Duration::from_secs(0), true);
        }
        let _ = cleanup_stale(self.run(), &self.spec);
        // best effort: the shared prefix dirs go when empty
        for e in std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = std::fs::remove_dir(e.path().join(PREFIX));
            let _ = std::fs::remove_dir(e.path().join(format!("{PREFIX}.monitor")));
        }
    }
}

pub fn wait_until(d: Duration, mut f: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + d;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub fn status_line(s: &str, key: &str) -> String {
    s.lines()
        .find(|l| l.starts_with(key))
        .map(|l| l[key.len()..].trim().to_string())
        .unwrap_or_default()
}

pub fn host_capbnd() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    u64::from_str_radix(&status_line(&s, "CapBnd:"), 16).unwrap()
}

/// Bounding set a fresh user namespace starts with: every cap the kernel knows
/// (the kernel resets cap_bset to the full set on entering a userns).
pub fn full_capset() -> u64 {
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (1u64 << (last + 1)) - 1
}
