//! The incus-serve test harness shared by tests/serve*.rs: a server on a temporary
//! installation, curl over its unix socket, and the upstream `incus` client.

use crate::{busybox_images, Output, TestEnv};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The upstream client; the tests fail (not skip) without it.
pub const UPSTREAM: &str = "/usr/bin/incus";

pub fn upstream_present() {
    assert!(
        Path::new(UPSTREAM).is_file(),
        "{UPSTREAM} is missing: apt-get install -t bookworm-backports incus-client (make deps does)"
    );
}

/// A loopback TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running incus-serve; on drop it is killed and every instance is force-deleted.
pub struct Server<'a> {
    pub env: &'a TestEnv,
    pub child: Child,
    pub socket: PathBuf,
}

impl<'a> Server<'a> {
    pub fn start(env: &'a TestEnv) -> Server<'a> {
        Server::start_with(env, &[])
    }

    /// Also on HTTPS, on a free loopback port (`core.https_address`); returns the port.
    pub fn start_https(env: &'a TestEnv) -> (Server<'a>, u16) {
        let port = free_port();
        env.ok(
            "incus-instance",
            &[
                "config",
                "set",
                &format!("core.https_address=127.0.0.1:{port}"),
            ],
        );
        (Server::start(env), port)
    }

    /// With extra environment (e.g. `INCUS_TEST_PAUSE` for the crash tests).
    pub fn start_with(env: &'a TestEnv, vars: &[(&str, &std::ffi::OsStr)]) -> Server<'a> {
        let log = std::fs::File::create(env.root().join("serve.log")).expect("log file");
        let child = env
            .command("incus-serve")
            .envs(vars.iter().copied())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("spawn incus-serve");
        let socket = env.incus_dir.join("unix.socket");
        let mut server = Server { env, child, socket };
        let deadline = Instant::now() + Duration::from_secs(20);
        // Ready when it answers GET /1.0 (not merely when the socket file exists).
        loop {
            if let Ok(Some(st)) = server.child.try_wait() {
                panic!("incus-serve exited early ({st}): {}", server.log());
            }
            if server.curl("GET", "/1.0", None).0 == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "incus-serve not ready: {}",
                server.log()
            );
            std::thread::yield_now();
        }
        server
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.env.root().join("serve.log")).unwrap_or_default()
    }

    /// (HTTP status, body as JSON or a string) of one request over the unix socket.
    pub fn curl(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let mut c = Command::new("curl");
        c.args(["-s", "--max-time", "60", "--unix-socket"])
            .arg(&self.socket)
            .args(["-X", method, "-w", "\n%{http_code}"]);
        if let Some(b) = body {
            c.args(["-H", "Content-Type: application/json", "--data-binary", b]);
        }
        c.arg(format!("http://incus{path}"));
        parse_curl(c.output().expect("curl (apt-get install curl)"))
    }

    /// The upstream client against this server's socket, with its own config dir.
    pub fn incus(&self, args: &[&str]) -> Output {
        self.incus_stdin(args, Stdio::null())
    }

    pub fn incus_stdin(&self, args: &[&str], stdin: Stdio) -> Output {
        let conf = self.env.root().join("client-conf");
        let out = Command::new(UPSTREAM)
            .args(args)
            .env("INCUS_DIR", &self.env.incus_dir)
            .env("INCUS_CONF", &conf)
            .env("HOME", self.env.root())
            .env_remove("INCUS_PROJECT")
            .env_remove("INCUS_REMOTE")
            .stdin(stdin)
            .output()
            .expect("run upstream incus");
        to_output(format!("incus {}", args.join(" ")), out)
    }
}

impl Drop for Server<'_> {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for name in self.env.instance_names() {
            let _ = self.env.run("incus-instance", &["delete", "-f", &name]);
        }
    }
}

pub fn to_output(cmdline: String, o: std::process::Output) -> Output {
    use std::os::unix::process::ExitStatusExt;
    Output {
        code: o
            .status
            .code()
            .unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0)),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        cmdline,
    }
}

pub fn parse_curl(o: std::process::Output) -> (u16, Value) {
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    let code: u16 = code.trim().parse().unwrap_or(0);
    let v = serde_json::from_str(body).unwrap_or(Value::String(body.to_string()));
    (code, v)
}

pub fn assert_error(resp: &(u16, Value), status: u16) {
    assert_eq!(resp.0, status, "{resp:?}");
    let v = &resp.1;
    assert_eq!(v["type"], "error", "{v}");
    assert_eq!(v["error_code"], status, "{v}");
    assert_eq!(v["status_code"], 0, "{v}");
    assert!(v["metadata"].is_null(), "{v}");
    assert!(!v["error"].as_str().unwrap_or("").is_empty(), "{v}");
}

pub fn with_image(env: &TestEnv) {
    let img = busybox_images("serve");
    env.import(&[&img.unified], "busybox");
}

/// The venv with pylxd that `make deps` makes (`PYLXD_VENV` in the Makefile): the test
/// itself never reaches the package index, so `make test` runs offline after set-up.
pub fn pylxd_python() -> PathBuf {
    let venv = std::env::var_os("INCUS_TEST_PYLXD_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/pylxd-venv"));
    let python = venv.join("bin/python");
    let o = Command::new(&python).args(["-c", "import pylxd"]).output();
    assert!(
        matches!(&o, Ok(o) if o.status.success()),
        "no pylxd in {} (run `make deps`): {o:?}",
        venv.display()
    );
    python
}
