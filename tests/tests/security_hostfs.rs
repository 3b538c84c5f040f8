//! The host filesystem as a boundary (issue 13, hole 1; disk `shift`; guest paths before
//! `pivot_root`).
//!
//! - A host user (`nobody`) cannot read, list or execute anything that came from a
//!   container or an image through any path under `INCUS_DIR`: a setuid-root copy made
//!   by container root is on disk as uid 0 (the rootfs is stored unshifted), so reaching
//!   it would be local root. Checked on dir and btrfs pools, running and stopped, on the
//!   rootfs, instance snapshots, the restored and the copied instance, a custom volume
//!   and its snapshot, the pool's image volumes and `INCUS_DIR/images`, by walking the
//!   whole tree as root and asking, for each path, what `nobody` may do with it.
//! - A host directory shared as a disk is idmapped only with `shift=true`.
//! - A symlink planted by container root cannot send a disk or unix device mount (or the
//!   mount point the runtime creates for it) out of the rootfs.

use incus_tests::btrfs::{need_btrfs, Cleanup};
use incus_tests::{busybox_images, walk, TestEnv};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const NOBODY: u32 = 65534;

/// Runs `cmd` as nobody (no supplementary groups).
fn as_nobody(cmd: &mut Command) -> &mut Command {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setresgid(NOBODY, NOBODY, NOBODY) != 0
                || libc::setresuid(NOBODY, NOBODY, NOBODY) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// A fresh installation whose temp root is searchable by others, as `/var/lib` is: only
/// the modes Incus itself sets stand between `nobody` and the state directory.
fn open_env() -> TestEnv {
    let env = TestEnv::initialized();
    std::fs::set_permissions(env.root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    env
}

fn sh(env: &TestEnv, name: &str, line: &str) -> String {
    env.ok("incus", &["exec", name, "--", "sh", "-c", line])
        .stdout
}

/// Paths below `INCUS_DIR` whose content comes from a guest or an image (below a pool's
/// type directories, `images/`, `disks/`, the logs, the `containers/` links), or that
/// are themselves a pool's type directory.
fn is_guest_data(incus_dir: &Path, rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    match parts.as_slice() {
        ["storage-pools", _pool, _ty, ..] => true,
        ["images" | "disks" | "logs" | "containers", _, ..] => true,
        _ => {
            let _ = incus_dir;
            false
        }
    }
}

/// Every path under `INCUS_DIR` (walked as root) that `nobody` can read, list or
/// execute and that holds guest or image data. `test -r/-x` as nobody: the kernel's
/// own access check, symlinks followed.
fn exposed(env: &TestEnv) -> Vec<String> {
    let paths = walk(&env.incus_dir);
    let mut child = as_nobody(
        Command::new("/bin/sh")
            .arg("-c")
            .arg(
                "while IFS= read -r p; do \
                   if [ -r \"$1/$p\" ] || [ -x \"$1/$p\" ]; then echo \"$p\"; fi; \
                 done",
            )
            .arg("sh")
            .arg(&env.incus_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    )
    .spawn()
    .expect("sh as nobody");
    {
        let mut stdin = child.stdin.take().unwrap();
        for p in &paths {
            writeln!(stdin, "{p}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|p| is_guest_data(&env.incus_dir, p))
        .map(str::to_string)
        .collect()
}

/// The places a setuid copy named `rel` (relative to a volume) is found on disk.
fn copies_of(env: &TestEnv, rel: &str) -> Vec<PathBuf> {
    let mut out = vec![];
    for p in walk(&env.incus_dir) {
        if p.ends_with(rel) {
            out.push(env.incus_dir.join(p));
        }
    }
    out
}

/// `nobody` can neither execute, read nor list anything from a guest or an image.
fn assert_closed(env: &TestEnv, when: &str, min_copies: usize) {
    let copies = copies_of(env, "rootfs/tmp/suid");
    assert!(
        copies.len() >= min_copies,
        "{when}: expected at least {min_copies} copies of the setuid file, found {copies:?}"
    );
    let mut known = copies;
    known.extend(copies_of(env, "suid-vol"));
    // the same files through INCUS_DIR/containers/NAME (a symlink to the volume)
    for n in env.instance_names() {
        known.push(
            env.incus_dir
                .join(format!("containers/{n}/rootfs/tmp/suid")),
        );
    }
    for p in &known {
        let r = as_nobody(
            Command::new(p)
                .arg("id")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .status();
        assert!(
            r.is_err(),
            "{when}: nobody executed {} (setuid root on disk): {r:?}",
            p.display()
        );
        let cat = as_nobody(Command::new("cat").arg(p).stdout(Stdio::null()))
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(!cat.success(), "{when}: nobody read {}", p.display());
    }
    let open = exposed(env);
    assert!(
        open.is_empty(),
        "{when}: {} paths with guest or image data reachable by nobody, first: {:?}",
        open.len(),
        &open[..open.len().min(8)]
    );
}

/// The whole scenario on one pool: running, a custom volume and its snapshot, an
/// instance snapshot, stopped, restored, copied (and the copy running).
fn scenario(env: &TestEnv, pool: &str) {
    let img = busybox_images("security_hostfs");
    env.import(&[&img.unified], "bb");
    env.ok("incus", &["launch", "bb", "c1", "-s", pool]);
    env.ok("incus", &["storage", "volume", "create", pool, "vol1"]);
    env.ok(
        "incus",
        &[
            "config",
            "device",
            "add",
            "c1",
            "v",
            "disk",
            &format!("pool={pool}"),
            "source=vol1",
            "path=/mnt/vol",
        ],
    );
    // container root: a setuid-root copy of busybox, in its rootfs and on the volume
    sh(
        env,
        "c1",
        "cp /bin/busybox /tmp/suid && chmod 4755 /tmp/suid && \
         cp /bin/busybox /mnt/vol/suid-vol && chmod 4755 /mnt/vol/suid-vol && \
         echo guest-secret > /tmp/marker && chmod 644 /tmp/marker",
    );
    assert_eq!(sh(env, "c1", "stat -c %a:%u /tmp/suid").trim(), "4755:0");
    env.ok(
        "incus",
        &[
            "storage", "volume", "snapshot", "create", pool, "vol1", "vs1",
        ],
    );
    env.ok("incus", &["snapshot", "create", "c1", "s1"]);
    assert_closed(env, &format!("{pool}: running"), 1);
    env.ok("incus", &["stop", "c1", "--force"]);
    assert_closed(env, &format!("{pool}: stopped"), 2);
    env.ok("incus", &["snapshot", "restore", "c1", "s1"]);
    assert_closed(env, &format!("{pool}: restored"), 2);
    env.ok("incus", &["copy", "c1", "c2"]);
    assert_closed(env, &format!("{pool}: copied"), 3);
    env.ok("incus", &["start", "c2"]);
    // the copy runs (with its custom volume) and its setuid file is intact inside
    assert_eq!(sh(env, "c2", "stat -c %a:%u /tmp/suid").trim(), "4755:0");
    assert_eq!(sh(env, "c2", "cat /tmp/marker").trim(), "guest-secret");
    assert_closed(env, &format!("{pool}: copy running"), 3);
    env.ok("incus", &["delete", "--force", "c2"]);
    env.ok("incus", &["delete", "--force", "c1"]);
}

#[test]
fn nobody_reaches_no_guest_file_on_a_dir_pool() {
    let env = open_env();
    scenario(&env, "default");
}

#[test]
fn nobody_reaches_no_guest_file_on_a_btrfs_pool() {
    need_btrfs();
    let env = open_env();
    let _c = Cleanup { env: &env };
    env.ok("incus-storage", &["create", "bt", "btrfs", "size=300MiB"]);
    scenario(&env, "bt");
    // the loop file holds every byte of the pool
    let img = env.incus_dir.join("disks/bt.img");
    assert!(img.exists());
    let cat = as_nobody(Command::new("cat").arg(&img).stdout(Stdio::null()))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!cat.success(), "nobody read the pool's loop file");
}

/// An installation made before the directories were closed (modes as they were) is
/// fixed by its next command.
#[test]
fn older_installations_are_closed_on_first_use() {
    let env = open_env();
    let img = busybox_images("security_hostfs");
    env.import(&[&img.unified], "bb");
    env.ok("incus", &["launch", "bb", "c1"]);
    sh(
        &env,
        "c1",
        "cp /bin/busybox /tmp/suid && chmod 4755 /tmp/suid",
    );
    env.ok("incus", &["stop", "c1", "--force"]);
    let pool = env.incus_dir.join("storage-pools/default");
    for (p, mode) in [
        (env.incus_dir.join("images"), 0o755),
        (pool.clone(), 0o711),
        (pool.join("containers"), 0o711),
        (pool.join("images"), 0o711),
        (pool.join("containers/c1"), 0o711),
    ] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    assert!(!exposed(&env).is_empty(), "the old modes expose the rootfs");
    env.ok("incus", &["list"]);
    env.ok("incus", &["start", "c1"]);
    assert_closed(&env, "after an upgrade", 1);
    env.ok("incus", &["delete", "--force", "c1"]);
}

/// `shift=false` (the default) shows host root's files as the overflow id and does not
/// let root inside write them; `shift=true` maps them to root inside.
#[test]
fn disk_shift_is_off_by_default() {
    let env = open_env();
    let img = busybox_images("security_hostfs");
    env.import(&[&img.unified], "bb");
    let shared = env.root().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(shared.join("f"), "host").unwrap();
    let src = format!("source={}", shared.display());
    env.ok("incus", &["launch", "bb", "c1"]);
    // hot-plugged and at start
    for (dev, path, extra) in [
        ("plain", "/mnt/plain", None),
        ("off", "/mnt/off", Some("shift=false")),
        ("on", "/mnt/on", Some("shift=true")),
    ] {
        let mut args = vec![
            "config".to_string(),
            "device".into(),
            "add".into(),
            "c1".into(),
            dev.into(),
            "disk".into(),
            src.clone(),
            format!("path={path}"),
        ];
        args.extend(extra.map(String::from));
        env.ok("incus", &args);
    }
    for round in ["hot-plugged", "at start"] {
        for p in ["/mnt/plain", "/mnt/off"] {
            assert_eq!(
                sh(&env, "c1", &format!("stat -c %u:%g {p}/f")).trim(),
                "65534:65534",
                "{round}: {p}"
            );
            let o = env.run(
                "incus",
                &["exec", "c1", "--", "sh", "-c", &format!("echo x > {p}/f")],
            );
            assert_ne!(
                o.code, 0,
                "{round}: root inside wrote host root's file via {p}"
            );
        }
        assert_eq!(
            sh(&env, "c1", "stat -c %u:%g /mnt/on/f").trim(),
            "0:0",
            "{round}"
        );
        sh(&env, "c1", "echo inside > /mnt/on/f");
        assert_eq!(
            std::fs::read_to_string(shared.join("f")).unwrap(),
            "inside\n"
        );
        std::fs::write(shared.join("f"), "host").unwrap();
        env.ok("incus", &["restart", "c1", "--force"]);
    }
    env.run(
        "incus",
        &[
            "config",
            "device",
            "add",
            "c1",
            "bad",
            "disk",
            &src,
            "path=/mnt/bad",
            "shift=maybe",
        ],
    )
    .err(7);
    env.ok("incus", &["delete", "--force", "c1"]);
}

/// Container root plants links to the host's directories in its rootfs; disk and
/// unix-char devices whose paths go through them land inside the rootfs (where the link
/// resolves when the rootfs is `/`), never on the host. Privileged, so that on the old
/// code the runtime's host-side mkdir/touch through the link succeeds (as root).
#[test]
fn planted_links_do_not_send_mounts_to_the_host() {
    let env = open_env();
    // unique names: what the old code made on the host outlives its test
    let tag = env
        .root()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .replace('.', "-");
    /// Removes what a broken runtime made on the host through the links (names unique
    /// to this test), even when an assertion fails.
    struct HostLeftovers(String);
    impl Drop for HostLeftovers {
        fn drop(&mut self) {
            for p in ["/pwned-up", "/etc/pwned-etc", "/tmp/pwned-null"] {
                let p = format!("{p}-{}", self.0);
                let _ = std::fs::remove_dir_all(&p);
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    let _leftovers = HostLeftovers(tag.clone());
    let img = busybox_images("security_hostfs");
    env.import(&[&img.unified], "bb");
    let host_dir = env.root().join("hostdir");
    std::fs::create_dir(&host_dir).unwrap();
    let shared = env.root().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(shared.join("f"), "shared").unwrap();
    for privileged in ["false", "true"] {
        let name = format!("p{privileged}");
        env.ok(
            "incus",
            &[
                "launch",
                "bb",
                &name,
                "-c",
                &format!("security.privileged={privileged}"),
            ],
        );
        // absolute links (to the host's state and to a host directory) and a `..` chain
        sh(
            &env,
            &name,
            &format!(
                "mkdir -p /mnt /srv/hostdir && ln -s {} /mnt/abs && \
                 ln -s ../../../../../../../../.. /mnt/up && ln -s /etc /mnt/etc",
                host_dir.display()
            ),
        );
        env.ok("incus", &["stop", &name, "--force"]);
        let src = format!("source={}", shared.display());
        for (dev, path) in [
            ("d1", &format!("/mnt/abs/pwned-dir-{tag}")),
            ("d2", &format!("/mnt/up/pwned-up-{tag}")),
            ("d3", &format!("/mnt/etc/pwned-etc-{tag}")),
        ] {
            env.ok(
                "incus",
                &[
                    "config",
                    "device",
                    "add",
                    &name,
                    dev,
                    "disk",
                    &src,
                    &format!("path={path}"),
                ],
            );
        }
        env.ok(
            "incus",
            &[
                "config",
                "device",
                "add",
                &name,
                "n1",
                "unix-char",
                "source=/dev/null",
                &format!("path=/mnt/abs/pwned-null-{tag}"),
            ],
        );
        env.ok(
            "incus",
            &[
                "config",
                "device",
                "add",
                &name,
                "n2",
                "unix-char",
                "source=/dev/null",
                &format!("path=/mnt/up/tmp/pwned-null-{tag}"),
            ],
        );
        // the link to the host directory names a path that does not exist inside: the
        // start is refused (as upstream's), and nothing was made on the host
        let o = env.run("incus", &["start", &name]);
        assert_ne!(
            o.code, 0,
            "{name}: started with a mount point outside the rootfs"
        );
        assert_eq!(
            std::fs::read_dir(&host_dir).unwrap().count(),
            0,
            "{name}: the runtime created files in a host directory through a guest link"
        );
        // a link that resolves inside the rootfs: the mounts land there
        for dev in ["d1", "n1"] {
            env.ok("incus", &["config", "device", "remove", &name, dev]);
        }
        env.ok("incus", &["start", &name]);
        assert_eq!(
            sh(&env, &name, &format!("cat /pwned-up-{tag}/f")).trim(),
            "shared"
        );
        assert_eq!(
            sh(&env, &name, &format!("cat /etc/pwned-etc-{tag}/f")).trim(),
            "shared"
        );
        assert_eq!(
            sh(&env, &name, &format!("stat -c %t:%T /tmp/pwned-null-{tag}")).trim(),
            "1:3"
        );
        for p in ["/pwned-up", "/etc/pwned-etc", "/tmp/pwned-null"] {
            let p = format!("{p}-{tag}");
            assert!(!Path::new(&p).exists(), "{name}: {p} made on the host");
        }
        assert_eq!(std::fs::read_dir(&host_dir).unwrap().count(), 0);
        env.ok("incus", &["delete", "--force", &name]);
    }
}

/// The host nodes made for unix-char/unix-block devices carry the mode the device asks
/// for: `nobody` must not reach them in the run directory (at start and hot-plugged).
#[test]
fn device_nodes_are_not_reachable_by_host_users() {
    let env = open_env();
    let img = busybox_images("security_hostfs");
    env.import(&[&img.unified], "bb");
    env.ok("incus", &["create", "bb", "c1"]);
    // /dev/loop-control is root:disk 0660 on the host; the container asks for 0666
    let dev = |name: &str, path: &str| {
        env.ok(
            "incus",
            &[
                "config",
                "device",
                "add",
                "c1",
                name,
                "unix-char",
                "source=/dev/loop-control",
                &format!("path={path}"),
                "mode=0666",
            ],
        );
    };
    dev("lc1", "/dev/lc1");
    env.ok("incus", &["start", "c1"]);
    dev("lc2", "/dev/lc2");
    assert_eq!(
        sh(&env, "c1", "stat -c %a:%t:%T /dev/lc1 /dev/lc2"),
        "666:a:ed\n666:a:ed\n"
    );
    let nodes: Vec<PathBuf> = walk(&env.run_dir)
        .into_iter()
        .map(|p| env.run_dir.join(p))
        .filter(|p| {
            use std::os::unix::fs::FileTypeExt;
            std::fs::symlink_metadata(p)
                .map(|m| m.file_type().is_char_device() || m.file_type().is_block_device())
                .unwrap_or(false)
        })
        .collect();
    assert!(!nodes.is_empty(), "the start-time node is kept for reboots");
    for n in &nodes {
        let o = as_nobody(
            Command::new("/bin/sh")
                .arg("-c")
                .arg("[ -r \"$1\" ] || [ -w \"$1\" ] || [ -e \"$1\" ]")
                .arg("sh")
                .arg(n),
        )
        .status()
        .unwrap();
        assert!(
            !o.success(),
            "nobody reaches the device node {}",
            n.display()
        );
    }
    env.ok("incus", &["delete", "--force", "c1"]);
}
