//! `lxd-to-incus` against a real LXD (Debian 12's lxd 5.0.2, `apt-get install lxd`),
//! started by `tests/scripts/lxd.sh` in a temporary LXD_DIR (never /var/lib/lxd).
//! Slow and needing a package `make deps` does not install (it adds a second `root:`
//! line to /etc/subuid and /etc/subgid), so ignored by default: `make test-slow`.
//!
//! The fast part (the preflight and the plan on recorded LXD answers) is
//! `cargo test -p lxd-to-incus`, in `make test`.

use incus_tests::{bin, busybox_images, scratch_dir, sha256_hex, TestEnv};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// One LXD at a time (each test has its own, but two daemons would race for the
/// host's shared bits: lxcfs, the `lxd` group socket permissions, cgroups).
static LXD: Mutex<()> = Mutex::new(());

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/lxd.sh")
}

/// A running LXD on a temporary LXD_DIR; stopped and removed on drop (even when the
/// test fails).
struct Lxd {
    dir: PathBuf,
    _guard: std::sync::MutexGuard<'static, ()>,
}

impl Lxd {
    fn start(what: &str) -> Lxd {
        let guard = LXD.lock().unwrap_or_else(|e| e.into_inner());
        assert!(
            Path::new("/usr/bin/lxd").exists(),
            "lxd is not installed: apt-get install lxd (and restore /etc/subuid, /etc/subgid)"
        );
        let dir = scratch_dir(&format!("lxd-{what}")).join("lxd");
        let st = Command::new(script())
            .arg("start")
            .arg(&dir)
            .status()
            .expect("run lxd.sh");
        let lxd = Lxd { dir, _guard: guard };
        assert!(st.success(), "lxd.sh start failed");
        lxd
    }

    /// `lxc ARGS` (or `lxd ARGS` when `cmd` is "lxd") on this LXD; asserts success.
    fn run(&self, cmd: &str, args: &[&str], stdin: Option<&str>) -> String {
        let mut c = Command::new(cmd);
        c.args(args)
            .env("LXD_DIR", &self.dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        let mut child = c.spawn().expect("spawn lxc");
        if let Some(text) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        let o = child.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "{cmd} {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn lxc(&self, args: &[&str]) -> String {
        self.run("lxc", args, None)
    }

    /// A dir pool `default`, the default profile's root disk, the busybox image as
    /// `bb`, and a container `c1` started once (so LXD shifts its rootfs on disk) and
    /// stopped, with a snapshot `s1` and a file owned by 1234:5678 inside.
    fn populate(&self) {
        self.run(
            "lxd",
            &["init", "--preseed"],
            Some(
                "storage_pools:\n- name: default\n  driver: dir\nprofiles:\n- name: default\n  devices:\n    root: {path: /, pool: default, type: disk}\n",
            ),
        );
        let img = &busybox_images("lxd_to_incus").unified;
        self.lxc(&["image", "import", img.to_str().unwrap(), "--alias", "bb"]);
        self.lxc(&["launch", "bb", "c1"]);
        self.lxc(&[
            "exec",
            "c1",
            "--",
            "sh",
            "-c",
            "echo data > /root/f && chown 1234:5678 /root/f",
        ]);
        self.lxc(&["stop", "c1", "--force"]);
        self.lxc(&["snapshot", "c1", "s1"]);
    }

    /// What LXD says about itself, for before/after comparisons.
    fn api_view(&self) -> String {
        [
            self.lxc(&["config", "show"]),
            self.lxc(&["list", "--format", "json"]),
            self.lxc(&["profile", "show", "default"]),
            self.lxc(&["storage", "list", "--format", "json"]),
            self.lxc(&["image", "list", "--format", "json"]),
        ]
        .join("\n")
    }
}

impl Drop for Lxd {
    fn drop(&mut self) {
        let st = Command::new(script()).arg("stop").arg(&self.dir).status();
        if !std::thread::panicking() {
            assert!(st.is_ok_and(|s| s.success()), "lxd.sh stop failed");
        }
    }
}

/// Every path below `dir` with its type, mode, owner and (files) sha256; LXD's own
/// log and database (which LXD itself writes while running) left out.
fn tree(dir: &Path) -> Vec<String> {
    fn go(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd {
            let e = e.unwrap();
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            if rel == "lxd.log"
                || rel == "lxd.out"
                || rel == "database"
                || rel.starts_with("database/")
            {
                continue;
            }
            let m = std::fs::symlink_metadata(&p).unwrap();
            let sum = if m.is_file() {
                sha256_hex(&[&std::fs::read(&p).unwrap()])
            } else if m.file_type().is_symlink() {
                std::fs::read_link(&p).unwrap().display().to_string()
            } else {
                String::new()
            };
            out.push(format!(
                "{rel} {:o} {}:{} {sum}",
                m.mode(),
                m.uid(),
                m.gid()
            ));
            if m.is_dir() {
                go(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    go(dir, dir, &mut out);
    out.sort();
    out
}

fn migrate(env: &TestEnv, lxd: &Lxd, args: &[&str], stdin: Option<&str>) -> incus_tests::Output {
    let mut a: Vec<&str> = vec!["--source-dir", lxd.dir.to_str().unwrap()];
    a.extend_from_slice(args);
    match stdin {
        Some(s) => env.run_stdin("lxd-to-incus", &a, s),
        None => env.run("lxd-to-incus", &a),
    }
}

#[test]
#[ignore = "needs Debian's lxd package and a running LXD: make test-slow"]
fn preflight_lists_every_problem_and_changes_nothing() {
    let lxd = Lxd::start("preflight");
    lxd.populate();
    lxd.lxc(&["config", "set", "core.trust_password", "s3cret"]);
    lxd.lxc(&["profile", "set", "default", "limits.network.priority", "5"]);
    // A fan bridge: this kernel cannot make one (no fan support), so a plain managed
    // bridge gets `bridge.mode=fan` in LXD's own database, which its API then reports.
    lxd.lxc(&[
        "network",
        "create",
        "lxdhfan0",
        "ipv4.address=10.231.79.1/24",
        "ipv6.address=none",
    ]);
    lxd.run(
        "lxd",
        &[
            "sql",
            "global",
            "INSERT INTO networks_config (network_id, node_id, key, value) SELECT id, NULL, 'bridge.mode', 'fan' FROM networks WHERE name='lxdhfan0'",
        ],
        None,
    );
    // A non-empty target: `admin init --minimal` made a pool.
    let env = TestEnv::initialized();
    let lxd_before = (tree(&lxd.dir), lxd.api_view());
    let target_before = tree(&env.incus_dir);

    let o = migrate(&env, &lxd, &["--yes"], None).err(4);
    for want in [
        "deprecated server configuration key \"core.trust_password\"",
        "profile \"default\" in project \"default\" using deprecated configuration key \"limits.network.priority\"",
        "Target server isn't empty (storage pools: default found)",
        "network \"lxdhfan0\" using deprecated configuration key \"bridge.mode\" (a fan bridge)",
        "Cannot migrate: 4 problems (nothing was changed)",
    ] {
        assert!(o.stderr.contains(want), "missing {want:?} in:\n{}", o.stderr);
    }
    assert!(o.stdout.is_empty(), "no plan on a refusal: {}", o.stdout);

    // Not root: refused too (and it says why), before anything is read.
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin("lxd-to-incus"))
        .arg("--source-dir")
        .arg(&lxd.dir)
        .arg("--dry-run")
        .env("INCUS_DIR", &env.incus_dir)
        .env("INCUS_RUN_DIR", &env.run_dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("This tool must be run as root"), "{err}");

    assert_eq!(tree(&lxd.dir), lxd_before.0, "LXD's files changed");
    assert_eq!(lxd.api_view(), lxd_before.1, "LXD's objects changed");
    assert_eq!(tree(&env.incus_dir), target_before, "the target changed");
}

#[test]
#[ignore = "needs Debian's lxd package and a running LXD: make test-slow"]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let lxd = Lxd::start("dryrun");
    lxd.populate();
    let env = TestEnv::new();
    let before = (tree(&lxd.dir), lxd.api_view());
    // LXD stored c1 shifted: the file made as 1234 inside is 1001234 on the host.
    let f = lxd
        .dir
        .join("storage-pools/default/containers/c1/rootfs/root/f");
    assert_eq!(std::fs::metadata(&f).unwrap().uid(), 1_001_234);

    let o = migrate(&env, &lxd, &["--dry-run"], None).ok();
    let d = lxd.dir.display();
    let t = env.incus_dir.display();
    for want in [
        format!("Migration plan: LXD in {d} -> {t}"),
        "default/c1 (container, stopped), snapshots: s1, stored shifted by 1000000: files un-shifted".into(),
        format!("{d}/storage-pools/default -> {t}/storage-pools/default"),
        format!("{d}/images -> {t}/images"),
        "default/alias bb ->".into(),
        "\"Default LXD profile\" -> \"Default Incus profile\"".into(),
        "Instances stopped and restarted (0)".into(),
    ] {
        assert!(o.stdout.contains(&want), "missing {want:?} in:\n{}", o.stdout);
    }
    assert!(
        o.stderr.contains("Dry run: nothing was changed."),
        "{}",
        o.stderr
    );

    // Without --yes it asks; "no" aborts, an unknown answer too.
    let o = migrate(&env, &lxd, &[], Some("no\n")).err(4);
    assert!(
        o.stderr
            .contains("Proceed with the migration? [default=no]"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("User aborted migration"), "{}", o.stderr);
    migrate(&env, &lxd, &[], Some("\n")).err(4);

    assert_eq!(tree(&lxd.dir), before.0, "LXD's files changed");
    assert_eq!(lxd.api_view(), before.1, "LXD's objects changed");
    assert!(!env.incus_dir.exists(), "the target was created");
}

/// The full host of issue 18, on LXD `lxd` with bridge `net` (10.231.`octet`.1/24):
/// a dir pool `default` and a btrfs loop pool `bt`; `c1` running on `default` with a
/// NIC, a lease, profile `p1` (a disk device: custom volume `v1`, with data); `c2`
/// on `bt`, stopped, with snapshots `s1` and `s2` and custom volume `v2` (data);
/// `c3` privileged and stopped; the busybox image as `bb`; a trusted client
/// certificate (`DIR/client.crt`, `DIR/client.key`).
fn populate_full(lxd: &Lxd, net: &str, octet: u8) {
    let preseed = format!(
        "storage_pools:
- name: default
  driver: dir
- name: bt
  driver: btrfs
  config: {{size: 1GiB}}
networks:
- name: {net}
  type: bridge
  config: {{ipv4.address: 10.231.{octet}.1/24, ipv4.nat: \"true\", ipv6.address: none}}
profiles:
- name: default
  devices:
    root: {{path: /, pool: default, type: disk}}
    eth0: {{name: eth0, network: {net}, type: nic}}
"
    );
    lxd.run("lxd", &["init", "--preseed"], Some(&preseed));
    let img = &busybox_images("lxd_to_incus").unified;
    lxd.lxc(&["image", "import", img.to_str().unwrap(), "--alias", "bb"]);
    lxd.lxc(&["storage", "volume", "create", "default", "v1"]);
    lxd.lxc(&["storage", "volume", "create", "bt", "v2"]);
    lxd.lxc(&["profile", "create", "p1"]);
    lxd.lxc(&[
        "profile",
        "device",
        "add",
        "p1",
        "data",
        "disk",
        "pool=default",
        "source=v1",
        "path=/mnt/v1",
    ]);
    lxd.lxc(&["launch", "bb", "c1", "-p", "default", "-p", "p1"]);
    lxd.lxc(&[
        "exec", "c1", "--", "sh", "-c",
        "echo data > /root/f && chown 1234:5678 /root/f && echo vol > /mnt/v1/f && chown 1234:5678 /mnt/v1/f",
    ]);
    lxd.lxc(&["launch", "bb", "c2", "-s", "bt"]);
    lxd.lxc(&["storage", "volume", "attach", "bt", "v2", "c2", "/mnt/v2"]);
    lxd.lxc(&[
        "exec", "c2", "--", "sh", "-c",
        "echo one > /root/g && chown 4321:8765 /root/g && echo v2 > /mnt/v2/h && chown 99:99 /mnt/v2/h",
    ]);
    lxd.lxc(&["stop", "c2", "--force"]);
    lxd.lxc(&["snapshot", "c2", "s1"]);
    lxd.lxc(&["start", "c2"]);
    lxd.lxc(&["exec", "c2", "--", "sh", "-c", "echo two > /root/g"]);
    lxd.lxc(&["stop", "c2", "--force"]);
    lxd.lxc(&["snapshot", "c2", "s2"]);
    lxd.lxc(&["init", "bb", "c3", "-c", "security.privileged=true"]);
    // A privileged container's files are stored as seen inside.
    let f = lxd
        .dir
        .join("storage-pools/default/containers/c3/rootfs/root/p");
    std::fs::write(&f, "priv").unwrap();
    std::os::unix::fs::chown(&f, Some(1234), Some(5678)).unwrap();
    let (crt, key) = (lxd.dir.with_extension("crt"), lxd.dir.with_extension("key"));
    let o = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:secp384r1",
        ])
        .args([
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=lxd-helper-client",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    lxd.lxc(&["config", "trust", "add", crt.to_str().unwrap()]);
    // c1's lease.
    incus_tests::poll(60, "c1's lease from LXD", || {
        lxd.lxc(&["network", "list-leases", net, "--format", "csv"])
            .lines()
            .any(|l| l.starts_with("c1,"))
            .then_some(())
    });
}

/// Every entry below `dir` on its filesystem: path, type, mode, owner as seen inside
/// (`shift` subtracted when in range), sha256 of files, targets of links.
fn inside_tree(dir: &Path, shift: u32) -> Vec<String> {
    fn go(base: &Path, dir: &Path, dev: u64, shift: u32, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.dev() != dev {
                continue;
            }
            let un = |id: u32| {
                if shift > 0 && id >= shift {
                    id - shift
                } else {
                    id
                }
            };
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            // Each manager rewrites its backup.yaml at a start or stop.
            if rel == "backup.yaml" {
                continue;
            }
            let sum = if m.is_file() {
                sha256_hex(&[&std::fs::read(&p).unwrap()])
            } else if m.file_type().is_symlink() {
                std::fs::read_link(&p).unwrap().display().to_string()
            } else {
                String::new()
            };
            out.push(format!(
                "{rel} {:o} {}:{} {sum}",
                m.mode(),
                un(m.uid()),
                un(m.gid())
            ));
            if m.is_dir() {
                go(base, &p, dev, shift, out);
            }
        }
    }
    let dev = std::fs::symlink_metadata(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .dev();
    let mut out = Vec::new();
    go(dir, dir, dev, shift, &mut out);
    out.sort();
    out
}

/// The trees compared before and after: (LXD's path, ours, shift LXD applied).
fn data_trees(lxd: &Lxd, env: &TestEnv) -> Vec<(PathBuf, PathBuf, u32)> {
    let (l, t) = (
        lxd.dir.join("storage-pools"),
        env.incus_dir.join("storage-pools"),
    );
    vec![
        (
            l.join("default/containers/c1"),
            t.join("default/containers/c1"),
            1_000_000,
        ),
        (
            l.join("default/containers/c3"),
            t.join("default/containers/c3"),
            0,
        ),
        (
            l.join("bt/containers/c2"),
            t.join("bt/containers/c2"),
            1_000_000,
        ),
        (
            l.join("bt/containers-snapshots/c2/s1"),
            t.join("bt/containers-snapshots/c2/s1"),
            1_000_000,
        ),
        (
            l.join("bt/containers-snapshots/c2/s2"),
            t.join("bt/containers-snapshots/c2/s2"),
            1_000_000,
        ),
        (
            l.join("default/custom/default_v1"),
            t.join("default/custom/v1"),
            1_000_000,
        ),
        (
            l.join("bt/custom/default_v2"),
            t.join("bt/custom/v2"),
            1_000_000,
        ),
        (lxd.dir.join("images"), env.incus_dir.join("images"), 0),
    ]
}

/// What the migrated objects must keep: LXD's view of each, LXD-only keys dropped.
fn lxd_objects(lxd: &Lxd) -> serde_json::Value {
    let q =
        |p: &str| -> serde_json::Value { serde_json::from_str(&lxd.lxc(&["query", p])).unwrap() };
    serde_json::json!({
        "c1": q("/1.0/instances/c1"),
        "c2": q("/1.0/instances/c2"),
        "c3": q("/1.0/instances/c3"),
    })
}

fn config_without_lxd_keys(v: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    v.as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| {
            !(k.starts_with("volatile.idmap.")
                || *k == "volatile.last_state.idmap"
                || *k == "volatile.last_state.power"
                || (k.starts_with("volatile.") && k.ends_with(".host_name")))
        })
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// Removes what the migrated installation holds on the host (bridge, dnsmasq, loop
/// mount), even when the test failed.
struct Migrated<'a> {
    env: &'a TestEnv,
    net: &'a str,
}

impl Drop for Migrated<'_> {
    fn drop(&mut self) {
        let e = self.env;
        let _ = e.run("incus", &["delete", "-f", "c1", "c2", "c3"]);
        let _ = e.run("incus", &["profile", "device", "remove", "default", "eth0"]);
        let _ = e.run("incus", &["network", "delete", self.net]);
        let pool = e.incus_dir.join("storage-pools/bt");
        if std::fs::read_to_string("/proc/mounts")
            .unwrap_or_default()
            .contains(&format!(" {} ", pool.display()))
        {
            let _ = Command::new("umount").arg(&pool).status();
        }
    }
}

fn lxd_answers(lxd: &Lxd) -> bool {
    Command::new("lxc")
        .args(["query", "/1.0"])
        .env("LXD_DIR", &lxd.dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
#[ignore = "needs Debian's lxd package and a running LXD: make test-slow"]
fn migrates_everything_killed_after_the_commit_and_finished_by_a_rerun() {
    let net = "lxdhbr1";
    let lxd = Lxd::start("full");
    populate_full(&lxd, net, 77);
    let env = TestEnv::new();
    let _migrated = Migrated { env: &env, net };
    let before: Vec<Vec<String>> = data_trees(&lxd, &env)
        .iter()
        .map(|(l, _, shift)| inside_tree(l, *shift))
        .collect();
    let objs = lxd_objects(&lxd);
    let leases: serde_json::Value =
        serde_json::from_str(&lxd.lxc(&["query", &format!("/1.0/networks/{net}/leases")])).unwrap();
    let lease = |v: &serde_json::Value, host: &str| -> (String, String) {
        let l = v
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["hostname"] == host)
            .unwrap_or_else(|| panic!("no lease of {host} in {v}"));
        (
            l["hwaddr"].as_str().unwrap().to_string(),
            l["address"].as_str().unwrap().to_string(),
        )
    };
    let c1_lease = lease(&leases, "c1");
    assert_eq!(
        c1_lease.0,
        objs["c1"]["config"]["volatile.eth0.hwaddr"]
            .as_str()
            .unwrap()
    );

    // Killed right after our rows are written: LXD is stopped, the data moved.
    let src = lxd.dir.to_str().unwrap().to_string();
    env.kill_at(
        "lxd-to-incus",
        &["--source-dir", &src, "--yes"],
        "lxd-to-incus-committed",
    );
    assert!(!lxd_answers(&lxd), "LXD runs after the stop");
    // A re-run killed after un-shifting the first tree, then one more that finishes
    // (each tree is un-shifted once: the owners below are checked).
    env.kill_at(
        "lxd-to-incus",
        &["--source-dir", &src, "--yes"],
        "lxd-to-incus-unshifted",
    );
    // The re-run finishes (un-shift, networks, instances).
    let o = env
        .run("lxd-to-incus", &["--source-dir", &src, "--yes"])
        .ok();
    assert!(
        o.stderr.contains("Finishing an interrupted migration"),
        "{}",
        o.stderr
    );
    assert!(
        !env.incus_dir.join(".lxd-to-incus").exists(),
        "journal left"
    );
    // A third run: nothing to do, LXD is gone.
    let o = env
        .run("lxd-to-incus", &["--source-dir", &src, "--yes"])
        .err(4);
    assert!(o.stderr.contains("Cannot read LXD's API"), "{}", o.stderr);
    assert!(!lxd_answers(&lxd), "LXD runs after the migration");

    // --purge: LXD's leftovers (database, logs) go; the directory stays.
    assert!(lxd.dir.join("database").is_dir());
    let o = env
        .run("lxd-to-incus", &["--source-dir", &src, "--purge"])
        .ok();
    assert!(o.stderr.contains("LXD purged"), "{}", o.stderr);
    assert_eq!(incus_tests::list_dir(&lxd.dir), Vec::<String>::new());
    let tables = Command::new("nft")
        .args(["list", "tables"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&tables.stdout).contains("inet lxd\n"),
        "LXD's nftables table left"
    );

    // Files: byte-identical, owners as seen inside unchanged.
    for ((l, t, _), want) in data_trees(&lxd, &env).iter().zip(&before) {
        assert!(!l.exists(), "{} left behind", l.display());
        let got = inside_tree(t, 0);
        let only = |a: &[String], b: &[String]| -> Vec<String> {
            a.iter().filter(|l| !b.contains(l)).cloned().collect()
        };
        assert!(
            got == *want,
            "{} differs: before only {:?}, after only {:?}",
            t.display(),
            only(want, &got),
            only(&got, want)
        );
    }

    // Objects, with LXD's config.
    let list = env.json("incus", &["list", "--format", "json"]);
    for name in ["c1", "c2", "c3"] {
        let ours = list
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {list}"));
        let theirs = &objs[name];
        let mine = config_without_lxd_keys(&ours["config"]);
        for (k, v) in config_without_lxd_keys(&theirs["config"]) {
            assert_eq!(mine.get(&k), Some(&v), "{name} {k}");
        }
        assert_eq!(ours["devices"], theirs["devices"], "{name}");
        assert_eq!(ours["profiles"], theirs["profiles"], "{name}");
        assert_eq!(ours["created_at"], theirs["created_at"], "{name}");
        let status = if name == "c1" { "Running" } else { "Stopped" };
        assert_eq!(ours["status"], status, "{name}");
    }
    // c1 runs with its MAC and gets its lease again on the migrated bridge.
    let l = incus_tests::poll(60, "c1's lease on the migrated bridge", || {
        let v = env.json(
            "incus",
            &["network", "list-leases", net, "--format", "json"],
        );
        v.as_array()
            .unwrap()
            .iter()
            .any(|l| l["hostname"] == "c1")
            .then_some(v)
    });
    assert_eq!(lease(&l, "c1"), c1_lease);
    incus_tests::poll(60, "c1's address in its state", || {
        let v = env.json("incus", &["list", "c1", "--format", "json"]);
        v.to_string().contains(&c1_lease.1).then_some(())
    });
    // Owners inside, seen from inside.
    let o = env
        .run(
            "incus",
            &[
                "exec",
                "c1",
                "--",
                "stat",
                "-c",
                "%u:%g",
                "/root/f",
                "/mnt/v1/f",
            ],
        )
        .ok();
    assert_eq!(o.stdout, "1234:5678\n1234:5678\n");
    env.ok("incus", &["start", "c3"]);
    let o = env
        .run(
            "incus",
            &["exec", "c3", "--", "stat", "-c", "%u:%g", "/root/p"],
        )
        .ok();
    assert_eq!(o.stdout, "1234:5678\n");
    // Snapshots restorable.
    env.ok("incus", &["snapshot", "restore", "c2", "s1"]);
    env.ok("incus", &["start", "c2"]);
    let o = env
        .run(
            "incus",
            &[
                "exec",
                "c2",
                "--",
                "sh",
                "-c",
                "cat /root/g; stat -c %u:%g /root/g /mnt/v2/h",
            ],
        )
        .ok();
    assert_eq!(o.stdout, "one\n4321:8765\n99:99\n");

    // Pools re-pointed, volumes, profiles, image and alias, network.
    let pools = env.json("incus", &["storage", "list", "--format", "json"]);
    let bt = pools
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "bt")
        .unwrap();
    assert_eq!(
        bt["config"]["source"],
        env.incus_dir.join("disks/bt.img").display().to_string()
    );
    let find = |v: &serde_json::Value, name: &str| -> serde_json::Value {
        v.as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing in {v}"))
            .clone()
    };
    for (pool, vol) in [("default", "v1"), ("bt", "v2")] {
        let vols = env.json(
            "incus",
            &["storage", "volume", "list", pool, "--format", "json"],
        );
        let v = find(&vols, vol);
        assert_eq!(v["type"], "custom");
        let cfg = v["config"].as_object().unwrap();
        assert!(cfg.keys().all(|k| !k.starts_with("volatile.idmap")), "{v}");
    }
    let profiles = env.json("incus", &["profile", "list", "--format", "json"]);
    assert_eq!(
        find(&profiles, "default")["description"],
        "Default Incus profile"
    );
    assert_eq!(find(&profiles, "p1")["devices"]["data"]["source"], "v1");
    let images = env.json("incus", &["image", "list", "--format", "json"]);
    assert_eq!(images[0]["aliases"][0]["name"], "bb", "{images}");
    let nets = env.json("incus", &["network", "list", "--format", "json"]);
    assert_eq!(find(&nets, net)["config"]["ipv4.address"], "10.231.77.1/24");

    // The client certificate is trusted by incus-serve.
    let (_serve, port) = incus_tests::serve::Server::start_https(&env);
    let o = Command::new("curl")
        .args(["-sk", "--max-time", "20", "--cert"])
        .arg(lxd.dir.with_extension("crt"))
        .arg("--key")
        .arg(lxd.dir.with_extension("key"))
        .arg(format!("https://127.0.0.1:{port}/1.0"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["metadata"]["auth"], "trusted", "{v}");
}

/// LXD as it must be after a rollback: answering, c1 running with its lease, the
/// data where it was, byte for byte with its owners; our side without a row.
fn assert_restored(lxd: &Lxd, env: &TestEnv, trees: &[Vec<String>], what: &str) {
    assert!(lxd_answers(lxd), "{what}: LXD is not running");
    incus_tests::poll(60, "c1 running under LXD again", || {
        lxd.lxc(&["list", "c1", "--format", "csv", "-c", "s"])
            .contains("RUNNING")
            .then_some(())
    });
    for ((l, _, _), want) in data_trees(lxd, env).iter().zip(trees) {
        assert_eq!(&inside_tree(l, 0), want, "{what}: {} differs", l.display());
    }
    assert_eq!(
        incus_tests::list_dir(&env.incus_dir),
        Vec::<String>::new(),
        "{what}: left on our side"
    );
    if env.db_path().exists() {
        assert_eq!(env.db_rows("instances"), 0, "{what}");
        assert_eq!(env.db_rows("storage_pools"), 0, "{what}");
    }
}

#[test]
#[ignore = "needs Debian's lxd package and a running LXD: make test-slow"]
fn failures_and_kills_before_the_commit_put_lxd_back() {
    let net = "lxdhbr2";
    let lxd = Lxd::start("rollback");
    populate_full(&lxd, net, 78);
    let env = TestEnv::new();
    let _migrated = Migrated { env: &env, net };
    let trees: Vec<Vec<String>> = data_trees(&lxd, &env)
        .iter()
        .map(|(l, _, _)| inside_tree(l, 0))
        .collect();
    let src = lxd.dir.to_str().unwrap().to_string();
    let args = ["--source-dir", src.as_str(), "--yes"];
    // --purge before a migration: refused, every reason listed, nothing removed.
    let o = env
        .run("lxd-to-incus", &["--source-dir", &src, "--purge"])
        .err(4);
    for want in [
        "LXD is running",
        "Nothing was migrated into",
        "LXD's directory still holds data",
    ] {
        assert!(o.stderr.contains(want), "{want}: {}", o.stderr);
    }

    // A failure after the data moved: everything goes back, LXD restarts c1.
    let o = env
        .command("lxd-to-incus")
        .args(args)
        .env("INCUS_TEST_LXD_TO_INCUS_FAIL", "moved")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("Migration failed; LXD's data was put back and LXD restarted"),
        "{err}"
    );
    assert_restored(&lxd, &env, &trees, "after a failure");

    // Killed at each step before the commit: the next run rolls back first (then
    // asks, and is told no).
    for point in [
        "lxd-to-incus-begin",
        "lxd-to-incus-stopped",
        "lxd-to-incus-moved",
    ] {
        env.kill_at("lxd-to-incus", &args, point);
        assert!(
            env.incus_dir.join(".lxd-to-incus/journal").exists(),
            "{point}"
        );
        let o = env
            .run_stdin("lxd-to-incus", &["--source-dir", &src], "no\n")
            .err(4);
        assert!(
            o.stderr.contains("Rolling back an interrupted migration"),
            "{point}: {}",
            o.stderr
        );
        assert!(o.stderr.contains("User aborted migration"), "{}", o.stderr);
        assert_restored(&lxd, &env, &trees, point);
    }

    // Killed after the first move, then re-run with --yes: rolled back, migrated.
    env.kill_at("lxd-to-incus", &args, "lxd-to-incus-moved");
    let o = env.run("lxd-to-incus", &args).ok();
    assert!(o.stderr.contains("Rolling back an interrupted migration"));
    assert!(o.stderr.contains("Migration done"), "{}", o.stderr);
    assert!(!lxd_answers(&lxd));
    assert_eq!(env.status("c1"), "Running");
    let o = env
        .run(
            "incus",
            &["exec", "c1", "--", "stat", "-c", "%u:%g", "/root/f"],
        )
        .ok();
    assert_eq!(o.stdout, "1234:5678\n");
}
