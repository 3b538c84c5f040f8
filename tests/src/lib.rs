//! Helpers shared by the integration tests in `tests/tests/`: where the built tools
//! are, a throwaway installation (`INCUS_DIR` and `INCUS_RUN_DIR` in a temporary
//! directory, removed on drop), running a tool and capturing what it printed, busybox
//! test images, and tarballs built entry by entry (hostile names included).
//!
//! The tests drive the real binaries, so they must be built first
//! (`cargo build --workspace`; `make test` does it). `INCUS_BIN_DIR` points the tests
//! at another build. `INCUS_TESTS_KEEP=1` keeps the temporary installations for a
//! post-mortem.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The user-facing tools that exist today (the dispatcher first).
pub const TOOLS: &[&str] = &[
    "incus",
    "incus-instance",
    "incus-image",
    "incus-storage",
    "incus-profile",
    "incus-admin",
    "incus-snapshot",
    "incus-net",
    "incus-trust",
    "incus-remote",
    "incus-events",
    "incus-benchmark",
    "lxd-to-incus",
];

/// Exit codes of the table in docs/architecture.md.
pub mod btrfs;
pub mod debian;
pub mod serve;

pub mod exit {
    pub const OK: i32 = 0;
    pub const INTERNAL: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const NOT_FOUND: i32 = 3;
    pub const CONFLICT: i32 = 4;
    pub const BUSY: i32 = 5;
    pub const FORBIDDEN: i32 = 6;
    pub const INVALID: i32 = 7;
    pub const UNSUPPORTED: i32 = 8;
}

fn has_tools(dir: &Path) -> bool {
    dir.join("incus-instance").is_file() && dir.join("incus").is_file()
}

/// The directory holding the built tools: `INCUS_BIN_DIR` if set, else the profile
/// directory this test binary was built into (`target/debug` or `target/release`,
/// found from the test executable, which lives in `target/PROFILE/deps`), else
/// `target/debug` or `target/release` next to this crate.
pub fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(d) = std::env::var_os("INCUS_BIN_DIR").filter(|d| !d.is_empty()) {
            let d = PathBuf::from(d);
            assert!(
                has_tools(&d),
                "INCUS_BIN_DIR={} does not hold the incus tools",
                d.display()
            );
            return d;
        }
        let mut candidates = Vec::new();
        if let Ok(exe) = std::env::current_exe() {
            if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
                candidates.push(profile_dir.to_path_buf());
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        candidates.push(root.join("target/debug"));
        candidates.push(root.join("target/release"));
        candidates
            .iter()
            .find(|d| has_tools(d))
            .cloned()
            .unwrap_or_else(|| {
                panic!(
                    "the incus-* binaries are not built (looked in {candidates:?}): \
                     run `cargo build --workspace` first, or set INCUS_BIN_DIR"
                )
            })
    })
}

/// The path of one tool.
pub fn bin(tool: &str) -> PathBuf {
    bin_dir().join(tool)
}

/// A line on the real stderr, past the test harness's capture (SKIP notices).
pub fn notice(msg: &str) {
    let mut e = std::io::stderr().lock();
    let _ = writeln!(e, "{msg}");
}

/// What a finished tool left: exit code, stdout, stderr.
#[derive(Debug, Clone)]
pub struct Output {
    /// Exit code; a process killed by a signal gets 128 + signal, as in a shell.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for failure messages.
    pub cmdline: String,
}

impl Output {
    pub fn from_std(cmdline: String, o: std::process::Output) -> Output {
        use std::os::unix::process::ExitStatusExt;
        let code = o
            .status
            .code()
            .unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0));
        Output {
            code,
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            cmdline,
        }
    }

    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// Panics unless the exit code is `code`.
    #[track_caller]
    pub fn code(self, code: i32) -> Output {
        assert_eq!(
            self.code, code,
            "`{}` exited {} (want {code})\n--- stdout\n{}--- stderr\n{}",
            self.cmdline, self.code, self.stdout, self.stderr
        );
        self
    }

    /// Panics unless the tool succeeded.
    #[track_caller]
    pub fn ok(self) -> Output {
        self.code(0)
    }

    /// Panics unless the tool failed with `code` and said `Error: ...` on stderr.
    #[track_caller]
    pub fn err(self, code: i32) -> Output {
        let o = self.code(code);
        assert!(
            o.stderr.contains("Error: ") || o.stderr.contains("error: "),
            "`{}`: no error message on stderr: {:?}",
            o.cmdline,
            o.stderr
        );
        o
    }

    /// stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`{}`: stdout is not JSON ({e}):\n{}",
                self.cmdline, self.stdout
            )
        })
    }

    /// stdout without the trailing newline.
    pub fn line(&self) -> &str {
        self.stdout.trim_end_matches('\n')
    }
}

/// A throwaway installation: its own `INCUS_DIR` and `INCUS_RUN_DIR`, removed on drop
/// (kept when `INCUS_TESTS_KEEP` is set).
pub struct TestEnv {
    root: Option<tempfile::TempDir>,
    root_path: PathBuf,
    pub incus_dir: PathBuf,
    pub run_dir: PathBuf,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    /// A fresh, empty installation (nothing initialised).
    pub fn new() -> TestEnv {
        let root = tempfile::Builder::new()
            .prefix("incus-tests-")
            .tempdir()
            .expect("temporary directory");
        let root_path = root.path().to_path_buf();
        TestEnv {
            incus_dir: root_path.join("state"),
            run_dir: root_path.join("run"),
            root: Some(root),
            root_path,
        }
    }

    /// A fresh installation after `incus admin init --minimal` (a dir pool `default`
    /// and the root disk in the default profile).
    pub fn initialized() -> TestEnv {
        let env = TestEnv::new();
        env.ok("incus-admin", &["init", "--minimal"]);
        env
    }

    /// The temporary directory holding this installation (free for scratch files).
    pub fn root(&self) -> &Path {
        &self.root_path
    }

    /// The state database.
    pub fn db_path(&self) -> PathBuf {
        self.incus_dir.join("database/local.db")
    }

    /// Opens the state database read-only (what the tests check behind the tools'
    /// backs: rows left over, pending marks).
    pub fn db(&self) -> rusqlite::Connection {
        let c = rusqlite::Connection::open_with_flags(
            self.db_path(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .unwrap_or_else(|e| panic!("open {}: {e}", self.db_path().display()));
        c.busy_timeout(std::time::Duration::from_secs(10))
            .expect("busy_timeout");
        c
    }

    /// The number of rows of a table of the state database.
    pub fn db_rows(&self, table: &str) -> i64 {
        self.db()
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("count {table}: {e}"))
    }

    /// A command for `tool` in this installation (stdin is empty, not a terminal).
    pub fn command(&self, tool: &str) -> Command {
        let mut c = Command::new(bin(tool));
        let mut path = std::ffi::OsString::from(bin_dir());
        if let Some(p) = std::env::var_os("PATH") {
            path.push(":");
            path.push(p);
        }
        c.env("INCUS_DIR", &self.incus_dir)
            .env("INCUS_RUN_DIR", &self.run_dir)
            .env("PATH", path)
            .env_remove("INCUS_PROJECT")
            .env_remove("VISUAL")
            .env_remove("EDITOR")
            .stdin(Stdio::null());
        c
    }

    /// Runs `tool ARGS...` to completion.
    pub fn run<S: AsRef<OsStr>>(&self, tool: &str, args: &[S]) -> Output {
        let mut c = self.command(tool);
        c.args(args);
        Self::finish(tool, args, c, None)
    }

    /// Runs `tool ARGS...` with `input` on stdin.
    pub fn run_stdin<S: AsRef<OsStr>>(&self, tool: &str, args: &[S], input: &str) -> Output {
        let mut c = self.command(tool);
        c.args(args);
        Self::finish(tool, args, c, Some(input))
    }

    fn finish<S: AsRef<OsStr>>(
        tool: &str,
        args: &[S],
        mut c: Command,
        input: Option<&str>,
    ) -> Output {
        let cmdline = std::iter::once(tool.to_string())
            .chain(
                args.iter()
                    .map(|a| a.as_ref().to_string_lossy().into_owned()),
            )
            .collect::<Vec<_>>()
            .join(" ");
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        if input.is_some() {
            c.stdin(Stdio::piped());
        }
        let mut child = c
            .spawn()
            .unwrap_or_else(|e| panic!("spawn `{cmdline}`: {e}"));
        if let Some(text) = input {
            let mut stdin = child.stdin.take().expect("piped stdin");
            stdin.write_all(text.as_bytes()).expect("write stdin");
        }
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("wait for `{cmdline}`: {e}"));
        Output::from_std(cmdline, out)
    }

    /// Runs and asserts exit 0.
    #[track_caller]
    pub fn ok<S: AsRef<OsStr>>(&self, tool: &str, args: &[S]) -> Output {
        self.run(tool, args).ok()
    }

    /// Runs and returns stdout as JSON (asserting exit 0).
    #[track_caller]
    pub fn json<S: AsRef<OsStr>>(&self, tool: &str, args: &[S]) -> serde_json::Value {
        self.ok(tool, args).json()
    }

    /// The names of the instances `incus-instance list` shows, sorted.
    #[track_caller]
    pub fn instance_names(&self) -> Vec<String> {
        let v = self.json("incus-instance", &["list", "--format", "json"]);
        let mut names: Vec<String> = v
            .as_array()
            .expect("list json is an array")
            .iter()
            .map(|i| i["name"].as_str().expect("name").to_string())
            .collect();
        names.sort();
        names
    }

    /// The entries of `INCUS_DIR/storage-pools/POOL/containers`, sorted.
    pub fn container_dirs(&self, pool: &str) -> Vec<String> {
        list_dir(
            &self
                .incus_dir
                .join("storage-pools")
                .join(pool)
                .join("containers"),
        )
    }

    /// Imports `files` (one unified tarball, or metadata then rootfs) with an alias and
    /// returns the fingerprint.
    #[track_caller]
    pub fn import(&self, files: &[&Path], alias: &str) -> String {
        let mut args: Vec<&OsStr> = vec![OsStr::new("import")];
        args.extend(files.iter().map(|f| f.as_os_str()));
        args.push(OsStr::new("--alias"));
        args.push(OsStr::new(alias));
        self.ok("incus-image", &args);
        let img = self.json("incus-image", &["show", alias, "--format", "json"]);
        img["fingerprint"]
            .as_str()
            .expect("fingerprint")
            .to_string()
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if std::env::var_os("INCUS_TESTS_KEEP").is_some() {
            if let Some(root) = self.root.take() {
                notice(&format!("INCUS_TESTS_KEEP: kept {}", root.keep().display()));
            }
            return;
        }
        // A test that failed half-way must not leave containers running on the host:
        // stop what still runs (only when something of ours is left), then remove
        // this installation's now empty cgroup directories.
        let cgroups = self.cgroups();
        if cgroups.is_empty() {
            return;
        }
        if self.db_path().exists() {
            let _ = self
                .command("incus-instance")
                .args(["stop", "--all", "--force"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
        for dir in self.cgroups() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// The names in a directory, sorted (empty when it does not exist).
pub fn list_dir(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        Err(_) => vec![],
    };
    names.sort();
    names
}

/// Every path below `dir` (files, links and directories), relative, sorted.
pub fn walk(dir: &Path) -> Vec<String> {
    fn go(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd {
            let e = e.expect("dir entry");
            let p = e.path();
            out.push(
                p.strip_prefix(base)
                    .expect("below base")
                    .to_string_lossy()
                    .into_owned(),
            );
            if e.file_type().expect("file type").is_dir() {
                go(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    go(dir, dir, &mut out);
    out.sort();
    out
}

/// Hex sha256 of bytes.
pub fn sha256_hex(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// The static busybox the test images are built from, if installed.
/// Debian's static busybox. `make test` installs busybox-static, so its absence is a
/// broken test machine: the test fails instead of skipping.
pub fn busybox() -> PathBuf {
    let p = PathBuf::from("/bin/busybox");
    assert!(
        p.is_file(),
        "/bin/busybox is missing: apt-get install busybox-static (make test does)"
    );
    p
}

/// Busybox images made by `incus-image build-busybox`.
#[derive(Debug)]
pub struct BusyboxImages {
    /// The unified tarball.
    pub unified: PathBuf,
    /// The metadata tarball of the split image.
    pub split_meta: PathBuf,
    /// The rootfs tarball of the split image.
    pub split_rootfs: PathBuf,
}

/// Builds the busybox images once per test process (in a [`scratch_dir`]); `test`
/// names the caller in the failure message when busybox is missing.
pub fn busybox_images(test: &str) -> &'static BusyboxImages {
    static IMAGES: OnceLock<BusyboxImages> = OnceLock::new();
    IMAGES.get_or_init(|| {
        assert!(
            Path::new("/bin/busybox").is_file(),
            "{test}: /bin/busybox is missing: apt-get install busybox-static (make test does)"
        );
        let bb = busybox();
        let dir = scratch_dir("busybox");
        let run = |out: &Path, split: bool| -> Vec<PathBuf> {
            let mut c = Command::new(bin("incus-image"));
            c.arg("build-busybox")
                .arg(out)
                .arg("--busybox")
                .arg(&bb)
                .env_remove("INCUS_DIR");
            if split {
                c.arg("--split");
            }
            let o = c.output().expect("run incus-image build-busybox");
            assert!(
                o.status.success(),
                "build-busybox failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(PathBuf::from)
                .collect()
        };
        let unified = run(&dir.join("unified"), false);
        let split = run(&dir.join("split"), true);
        assert_eq!(
            unified.len(),
            1,
            "build-busybox prints one file: {unified:?}"
        );
        assert_eq!(
            split.len(),
            2,
            "build-busybox --split prints two files: {split:?}"
        );
        BusyboxImages {
            unified: unified[0].clone(),
            split_meta: split[0].clone(),
            split_rootfs: split[1].clone(),
        }
    })
}

/// A scratch directory of this test process, `what` naming its use. It lives under
/// `$TMPDIR/incus-tests-scratch/PID-what`; a test binary cannot clean up at exit
/// (statics are never dropped), so each call first removes the directories of
/// processes that are gone. Bounded: at most one set per live test process.
pub fn scratch_dir(what: &str) -> PathBuf {
    let base = std::env::temp_dir().join("incus-tests-scratch");
    std::fs::create_dir_all(&base).expect("scratch base dir");
    for name in list_dir(&base) {
        let alive = name
            .split('-')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok())
            .map(|pid| Path::new("/proc").join(pid.to_string()).exists())
            .unwrap_or(false);
        if !alive {
            let _ = std::fs::remove_dir_all(base.join(&name));
        }
    }
    let dir = base.join(format!("{}-{what}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A tarball built entry by entry with tar's raw header API: the name and link bytes
/// are written as given, bypassing the crate's own path checks, so hostile entries
/// (`..`, absolute paths, links out) can be made.
pub struct TarBuf {
    b: tar::Builder<Vec<u8>>,
}

/// A container metadata.yaml for this machine's architecture.
pub fn metadata_yaml(description: &str) -> String {
    format!(
        "architecture: {}\ncreation_date: 1700000000\nproperties:\n  os: test\n  description: {description}\n",
        std::env::consts::ARCH
    )
}

impl Default for TarBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl TarBuf {
    pub fn new() -> Self {
        TarBuf {
            b: tar::Builder::new(Vec::new()),
        }
    }

    /// A unified image's start: metadata.yaml and rootfs/.
    pub fn unified() -> Self {
        let mut t = TarBuf::new();
        t.file("metadata.yaml", metadata_yaml("test").as_bytes(), 0o644)
            .dir("rootfs", 0o755);
        t
    }

    fn header(name: &[u8], kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        assert!(name.len() < 100, "names must fit the old header");
        let old = h.as_old_mut();
        old.name = [0; 100];
        old.name[..name.len()].copy_from_slice(name);
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_600_000_000);
        h.set_size(size);
        h
    }

    fn push(&mut self, mut h: tar::Header, data: &[u8]) -> &mut Self {
        h.set_cksum();
        self.b.append(&h, data).expect("append to a Vec");
        self
    }

    pub fn dir(&mut self, name: &str, mode: u32) -> &mut Self {
        let h = Self::header(name.as_bytes(), tar::EntryType::Directory, mode, 0);
        self.push(h, &[])
    }

    pub fn file(&mut self, name: &str, data: &[u8], mode: u32) -> &mut Self {
        let h = Self::header(
            name.as_bytes(),
            tar::EntryType::Regular,
            mode,
            data.len() as u64,
        );
        self.push(h, data)
    }

    fn link(&mut self, kind: tar::EntryType, name: &str, target: &str) -> &mut Self {
        let mut h = Self::header(name.as_bytes(), kind, 0o777, 0);
        assert!(target.len() < 100, "link targets must fit the old header");
        let old = h.as_old_mut();
        old.linkname = [0; 100];
        old.linkname[..target.len()].copy_from_slice(target.as_bytes());
        self.push(h, &[])
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.link(tar::EntryType::Symlink, name, target)
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.link(tar::EntryType::Link, name, target)
    }

    /// The plain tar bytes.
    pub fn bytes(self) -> Vec<u8> {
        self.b.into_inner().expect("finish tar")
    }

    /// The tar, xz-compressed (level 0: fast).
    pub fn xz(self) -> Vec<u8> {
        let mut e = liblzma::write::XzEncoder::new(Vec::new(), 0);
        e.write_all(&self.bytes()).expect("xz");
        e.finish().expect("xz")
    }

    /// The tar, gzip-compressed.
    pub fn gz(self) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&self.bytes()).expect("gz");
        e.finish().expect("gz")
    }
}

/// Deterministic pseudo-random bytes (xorshift), incompressible enough for xz.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

// --- lifecycle: running containers in tests ---

impl TestEnv {
    /// The installation's prefix of host-wide names (cgroups), as `Context::new` makes it.
    pub fn prefix(&self) -> String {
        format!(
            "ix{}",
            &sha256_hex(&[self.incus_dir.as_os_str().as_encoded_bytes()])[..6]
        )
    }

    /// The cgroup directories of this installation still on the host (containers and
    /// monitors), deepest first.
    pub fn cgroups(&self) -> Vec<PathBuf> {
        let prefix = self.prefix();
        let mut out = Vec::new();
        for ctrl in list_dir(Path::new("/sys/fs/cgroup")) {
            for top in [prefix.clone(), format!("{prefix}.monitor")] {
                let d = Path::new("/sys/fs/cgroup").join(&ctrl).join(top);
                if d.is_dir() {
                    for sub in walk(&d) {
                        let p = d.join(sub);
                        if p.is_dir() {
                            out.push(p);
                        }
                    }
                    out.push(d);
                }
            }
        }
        out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        out
    }

    /// The cgroup directories of one instance (container and monitor) on the host.
    pub fn instance_cgroups(&self, name: &str) -> Vec<PathBuf> {
        let prefix = self.prefix();
        self.cgroups()
            .into_iter()
            .filter(|p| {
                p.ends_with(Path::new(&prefix).join(name))
                    || p.ends_with(Path::new(&format!("{prefix}.monitor")).join(name))
            })
            .collect()
    }

    /// Runs `tool ARGS` until it reaches the pause point `point` (`INCUS_TEST_PAUSE`),
    /// then kills it there with SIGKILL (crash tests).
    #[track_caller]
    pub fn kill_at(&self, tool: &str, args: &[&str], point: &str) {
        let marker = self.root().join(format!("marker-{point}"));
        let _ = std::fs::remove_file(&marker);
        let mut child = self
            .command(tool)
            .args(args)
            .env("INCUS_TEST_PAUSE", point)
            .env("INCUS_TEST_PAUSE_MARKER", &marker)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        poll(60, &format!("{tool} to reach {point}"), || {
            if let Some(st) = child.try_wait().unwrap() {
                let mut err = String::new();
                use std::io::Read;
                let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                panic!("{tool} {args:?} ended ({st}) before reaching {point}: {err}");
            }
            marker.exists().then_some(())
        });
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// The status of an instance as `list --format json` reports it.
    #[track_caller]
    pub fn status(&self, name: &str) -> String {
        let v = self.json("incus-instance", &["list", "--format", "json"]);
        v.as_array()
            .expect("array")
            .iter()
            .find(|i| i["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not listed"))["status"]
            .as_str()
            .expect("status")
            .to_string()
    }
}

/// Stops every instance of an installation (kill) when dropped, and removes the
/// cgroups a killed monitor left, so a failing test leaves nothing running.
pub struct Running<'a>(pub &'a TestEnv);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let _ = self.0.run("incus-instance", &["stop", "--all", "-f"]);
        for d in self.0.cgroups() {
            // Kill what a killed monitor left, then remove the (now empty) directory.
            if let Ok(procs) = std::fs::read_to_string(d.join("cgroup.procs")) {
                for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                    // SAFETY: kill has no memory effects.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while std::fs::remove_dir(&d).is_err() && std::time::Instant::now() < deadline {
                std::thread::yield_now();
            }
        }
    }
}

/// Polls `f` until it returns `Some` or `secs` pass (then panics with `what`).
#[track_caller]
pub fn poll<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
