//! LXC 5.0 as the oracle: start the same busybox rootfs under `lxc-start` (userns, idmapped
//! rootfs, configured as Incus configures LXC: common.conf + userns.conf + Incus' cap drop list)
//! and under our runtime, then compare what a process sees in /proc/self/status and
//! /proc/1/status. Skipped (with a message) when lxc is not installed or cannot start here
//! (e.g. no `root:` entry in /etc/subuid while newuidmap is installed).
mod common;
use common::*;
use incus_runtime::*;
use std::process::Command;
use std::time::Duration;

const KEYS: &[&str] = &[
    "CapInh:",
    "CapPrm:",
    "CapEff:",
    "CapBnd:",
    "CapAmb:",
    "NoNewPrivs:",
    "Seccomp:",
    "Seccomp_filters:",
];

fn pick(status: &str) -> Vec<String> {
    KEYS.iter()
        .map(|k| format!("{k} {}", status_line(status, k)))
        .collect()
}

fn lxc(args: &[&str]) -> std::process::Output {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("run lxc tool")
}

#[test]
fn same_confinement_as_lxc() {
    let _g = serial();
    // LXC is the oracle: `make test` installs it, so its absence fails the test.
    assert!(
        Command::new("lxc-start").arg("--version").output().is_ok(),
        "lxc is missing: apt-get install lxc (make test does)"
    );
    let ct = Ct::new("lxc", false);
    let script = "cat /proc/self/status; echo ===; cat /proc/1/status; echo ===; cat /proc/self/uid_map; echo ===; grep -E ' /proc/sys(/net)? ' /proc/self/mounts | cut -d' ' -f2,4 | cut -d, -f1; echo ===; umount -f /proc/sys 2>&1";
    ct.start();
    let ours = ct.sh(script).1;
    stop(ct.run(), Duration::from_secs(5), true).unwrap();

    // LXC (the oracle) reaches the rootfs by path as the container's root, so it needs
    // the search bit above it, which our runtime does not (the test dir is 0700).
    std::fs::set_permissions(
        ct.tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o711),
    )
    .unwrap();
    let lxcpath = ct.tmp.path().join("lxc");
    let name = "c";
    std::fs::create_dir_all(lxcpath.join(name)).unwrap();
    std::fs::write(
        lxcpath.join(name).join("config"),
        format!(
            "lxc.include = /usr/share/lxc/config/common.conf\n\
             lxc.include = /usr/share/lxc/config/userns.conf\n\
             lxc.cap.drop = mac_admin mac_override sys_time sys_module sys_rawio\n\
             lxc.apparmor.profile = unconfined\n\
             lxc.idmap = u 0 {BASE} 65536\nlxc.idmap = g 0 {BASE} 65536\n\
             lxc.rootfs.path = dir:{}\nlxc.rootfs.options = idmap=container\n\
             lxc.uts.name = c\nlxc.net.0.type = empty\n",
            ct.spec.rootfs.display()
        ),
    )
    .unwrap();
    let p = lxcpath.to_str().unwrap();
    let log = lxcpath.join("log");
    let st = lxc(&[
        "lxc-start",
        "-P",
        p,
        "-n",
        name,
        "-d",
        "-o",
        log.to_str().unwrap(),
        "-l",
        "ERROR",
    ]);
    assert!(
        st.status.success(),
        "lxc-start failed (root needs subordinate ids in /etc/subuid and /etc/subgid; make test adds them): {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let theirs = lxc(&["lxc-attach", "-P", p, "-n", name, "--", "sh", "-c", script]);
    let _ = lxc(&["lxc-stop", "-P", p, "-n", name, "-k"]);
    let theirs = String::from_utf8_lossy(&theirs.stdout).to_string();

    let o: Vec<&str> = ours.split("===\n").collect();
    let t: Vec<&str> = theirs.split("===\n").collect();
    assert_eq!(o.len(), 5, "{ours}");
    assert_eq!(t.len(), 5, "{theirs}");
    assert_eq!(pick(o[0]), pick(t[0]), "exec'd process vs lxc-attach");
    assert_eq!(pick(o[1]), pick(t[1]), "init vs LXC init");
    assert_eq!(
        o[2].split_whitespace().collect::<Vec<_>>(),
        t[2].split_whitespace().collect::<Vec<_>>(),
        "uid_map"
    );
    // proc:mixed: /proc/sys ro with /proc/sys/net rw, in both
    let mut om: Vec<&str> = o[3].lines().collect();
    let mut tm: Vec<&str> = t[3].lines().collect();
    om.sort_unstable();
    tm.sort_unstable();
    assert_eq!(om, tm, "/proc/sys mounts");
    // reject_force_umount answers the same way
    assert_eq!(o[4].trim(), t[4].trim());
}
