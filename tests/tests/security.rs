//! What a process inside a default (unprivileged) container cannot do: make block
//! devices, load kernel modules, trigger sysrq or change kernel sysctls, reach the
//! host's state directory, or escape its id range. Each attempt is made for real
//! and must fail; the capability and seccomp sets are compared with LXC's in
//! common/runtime/tests/lxc_compare.rs.

use incus_tests::{busybox_images, TestEnv};

fn running(env: &TestEnv, name: &str) {
    let img = busybox_images("security (image part)");
    env.import(&[&img.unified], "bb");
    env.ok("incus", &["launch", "bb", name]);
}

/// Runs a shell line inside; returns (exit code, stdout+stderr).
fn sh(env: &TestEnv, name: &str, line: &str) -> (i32, String) {
    let o = env.run("incus", &["exec", name, "--", "sh", "-c", line]);
    (o.code, format!("{}{}", o.stdout, o.stderr))
}

#[test]
fn an_unprivileged_container_cannot_reach_the_host() {
    let env = TestEnv::initialized();
    running(&env, "sec");
    let canary = env.root().join("canary");
    std::fs::write(&canary, b"host").unwrap();

    let denied = [
        ("block device", "mknod /tmp/sda b 8 0"),
        ("char device outside the allow list", "mknod /tmp/mem c 1 1"),
        (
            "kernel module",
            "printf '\\177ELF' > /tmp/m.ko && insmod /tmp/m.ko",
        ),
        ("sysrq", "echo h > /proc/sysrq-trigger"),
        ("kernel sysctl", "echo 1 > /proc/sys/kernel/sysrq"),
        (
            "host disks or memory",
            "test -e /dev/vda -o -e /dev/sda -o -e /dev/mem -o -e /dev/kmsg",
        ),
        // busybox date exits 0 even when refused: look at the clock instead.
        (
            "host clock",
            "date -s 2001-01-01 >/dev/null 2>&1; [ \"$(date +%Y)\" = 2001 ]",
        ),
    ];
    for (what, line) in denied {
        let (code, out) = sh(&env, "sec", line);
        // Refused by the kernel, not missing from the image.
        assert!(!out.contains("not found"), "{what}: `{line}`: {out}");
        assert_ne!(
            code, 0,
            "{what}: `{line}` succeeded inside the container: {out}"
        );
    }

    // The host's state directory and our canary do not exist inside.
    for path in [
        env.incus_dir.display().to_string(),
        canary.display().to_string(),
    ] {
        let (code, out) = sh(&env, "sec", &format!("ls -d {path}"));
        assert_ne!(code, 0, "{path} is visible inside: {out}");
    }
    assert_eq!(std::fs::read(&canary).unwrap(), b"host");

    // Root inside is an unprivileged id outside; seccomp is on.
    let (code, out) = sh(&env, "sec", "cat /proc/self/uid_map");
    assert_eq!(code, 0, "{out}");
    let fields: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(fields[0], "0", "{out}");
    assert_ne!(
        fields[1], "0",
        "root inside must not be root outside: {out}"
    );
    let (_, status) = sh(&env, "sec", "cat /proc/self/status");
    assert!(
        status.contains("Seccomp:\t2"),
        "seccomp filter mode: {status}"
    );

    // What the container does to itself stays inside: its hostname changes, the host's does not.
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let (code, out) = sh(&env, "sec", "hostname inside-only && hostname");
    assert_eq!((code, out.trim()), (0, "inside-only"));
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_name
    );
    env.ok("incus", &["stop", "-f", "sec"]);
}
