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
    // A non-empty target: `admin init --minimal` made a pool.
    let env = TestEnv::initialized();
    let lxd_before = (tree(&lxd.dir), lxd.api_view());
    let target_before = tree(&env.incus_dir);

    let o = migrate(&env, &lxd, &["--yes"], None).err(4);
    for want in [
        "deprecated server configuration key \"core.trust_password\"",
        "profile \"default\" in project \"default\" using deprecated configuration key \"limits.network.priority\"",
        "Target server isn't empty (storage pools: default found)",
        "Cannot migrate: 3 problems (nothing was changed)",
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
