//! `incus-serve` hosts the member of a clustered installation (its node reachable over
//! the cluster address with the cluster certificate) and maps no libcowsql on a
//! standalone one. Uses target/debug/incus-serve (`make build`, part of `make test`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cowsql_client::Value;
use incus_membership::member::{external_client, member_dir};
use incus_membership::tls::ClusterCert;
use incus_membership::{Member, MemberConfig};

const TIMEOUT: Duration = Duration::from_secs(20);

fn serve_program() -> PathBuf {
    // target/debug/deps/serve-HASH -> target/debug/incus-serve
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("incus-serve");
    assert!(
        p.is_file(),
        "{} missing: build it first (make build)",
        p.display()
    );
    p
}

struct Serve(Child);

impl Serve {
    fn start(incus_dir: &std::path::Path, run_dir: &std::path::Path) -> Serve {
        let child = Command::new(serve_program())
            .env("INCUS_DIR", incus_dir)
            .env("INCUS_RUN_DIR", run_dir)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let s = Serve(child);
        let socket = incus_dir.join("unix.socket");
        poll("the unix socket", || {
            std::os::unix::net::UnixStream::connect(&socket).ok()
        });
        s
    }

    fn maps_cowsql(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/maps", self.0.id()))
            .unwrap()
            .contains("libcowsql")
    }

    fn term(mut self) -> std::process::ExitStatus {
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(s) = self.0.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "incus-serve did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn incus_serve_hosts_the_member_and_only_then_loads_libcowsql() {
    // Standalone: serves, maps no libcowsql.
    let standalone = tempfile::tempdir().unwrap();
    let run = tempfile::tempdir().unwrap();
    let s = Serve::start(standalone.path(), run.path());
    assert!(
        !s.maps_cowsql(),
        "a standalone incus-serve loaded libcowsql"
    );
    assert!(s.term().success());

    // Clustered: the member state made by bootstrap, then incus-serve hosts it.
    let incus_dir = tempfile::tempdir().unwrap();
    let run = tempfile::tempdir().unwrap();
    let address = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let mut cfg = MemberConfig::new("s1", &address, member_dir(incus_dir.path()));
    cfg.latency_ms = 5;
    let m = Member::bootstrap(cfg).unwrap();
    m.cluster().exec("CREATE TABLE t (x INTEGER)", &[]).unwrap();
    m.stop();

    let s = Serve::start(incus_dir.path(), run.path());
    assert!(s.maps_cowsql());
    let dir = member_dir(incus_dir.path());
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let cert = ClusterCert::from_pem(&read("cluster.crt"), &read("cluster.key")).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut c = external_client(&cert, vec![address], rt.handle().clone(), TIMEOUT).unwrap();
    c.exec("INSERT INTO t VALUES (1)", &[]).unwrap();
    let rows = c.query("SELECT name FROM nodes", &[]).unwrap().rows;
    assert_eq!(rows, vec![vec![Value::Text("s1".into())]]);
    drop(c);
    assert!(s.term().success(), "a clean stop (handover, node stopped)");
    rt.shutdown_background();
}
