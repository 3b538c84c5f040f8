//! Faults with members in their own processes (this test binary run again in member
//! mode: `harness = false`, `INCUS_TEST_MEMBER=1 faults bootstrap|join|restart NAME
//! ADDRESS DIR [TOKEN]`, which prints `ready ID` and answers `token NAME` and `list`
//! lines on stdin, stopping gracefully at end of input): kill -9 of the
//! leader during a stream of writes; a new leader is elected, writes continue, no
//! acknowledged write is lost (a writer with sequence numbers checks), and the killed
//! member restarts from its directory and catches up.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use incus_membership::{Member, MemberConfig};

use cowsql_client::Value;
use incus_membership::member::external_client;
use incus_membership::tls::ClusterCert;

const TIMEOUT: Duration = Duration::from_secs(20);

fn member_program() -> PathBuf {
    std::env::current_exe().unwrap()
}

struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    name: String,
    address: String,
    id: u64,
}

impl Proc {
    fn spawn(verb: &str, name: &str, address: &str, dir: &Path, token: Option<&str>) -> Proc {
        let mut cmd = Command::new(member_program());
        cmd.env("INCUS_TEST_MEMBER", "1")
            .args([verb, name, address])
            .arg(dir.join(name));
        if let Some(t) = token {
            cmd.arg(t);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut p = Proc {
            child,
            stdin,
            lines,
            name: name.into(),
            address: address.into(),
            id: 0,
        };
        let ready = p.line();
        p.id = ready
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("{name}: {ready}"))
            .parse()
            .unwrap();
        p
    }

    fn line(&mut self) -> String {
        match self.lines.recv_timeout(TIMEOUT) {
            Ok(l) => l,
            Err(RecvTimeoutError::Timeout) => panic!("{}: no answer", self.name),
            Err(RecvTimeoutError::Disconnected) => panic!("{}: exited", self.name),
        }
    }

    fn ask(&mut self, cmd: &str) -> String {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{cmd}").unwrap();
        stdin.flush().unwrap();
        self.line()
    }

    fn kill9(&mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_address() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("127.0.0.1:{}", l.local_addr().unwrap().port())
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

fn main() {
    if std::env::var_os("INCUS_TEST_MEMBER").is_some() {
        return member_main(std::env::args().collect());
    }
    // `cargo test` passes harness flags; a filter that does not match skips the test.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let name = "kill_9_of_the_leader_during_writes_loses_no_acknowledged_write";
    if std::env::args().any(|a| a == "--list") {
        println!("{name}: test");
        return;
    }
    if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
        println!("test result: ok. 0 passed; 0 failed; 1 filtered out");
        return;
    }
    kill_9_of_the_leader_during_writes_loses_no_acknowledged_write();
    println!("test {name} ... ok");
}

fn kill_9_of_the_leader_during_writes_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut m1 = Proc::spawn("bootstrap", "f1", &free_address(), dir.path(), None);
    let token = |m: &mut Proc, name: &str| {
        let t = m.ask(&format!("token {name}"));
        t.strip_prefix("token ")
            .unwrap_or_else(|| panic!("token {name}: {t}"))
            .to_string()
    };
    let t2 = token(&mut m1, "f2");
    let mut m2 = Proc::spawn("join", "f2", &free_address(), dir.path(), Some(&t2));
    let t3 = token(&mut m1, "f3");
    let m3 = Proc::spawn("join", "f3", &free_address(), dir.path(), Some(&t3));
    poll("three ONLINE voters", || {
        let l = m1.ask("list");
        (l.matches("=ONLINE/").count() == 3 && l.matches("database").count() >= 3).then_some(l)
    });

    let read = |f: &str| std::fs::read_to_string(dir.path().join("f1").join(f)).unwrap();
    let cert = ClusterCert::from_pem(&read("cluster.crt"), &read("cluster.key")).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let all = vec![m1.address.clone(), m2.address.clone(), m3.address.clone()];
    let mut c = external_client(&cert, all.clone(), rt.handle().clone(), TIMEOUT).unwrap();
    c.exec("CREATE TABLE seq (n INTEGER PRIMARY KEY)", &[])
        .unwrap();
    let leader = c.find_leader().unwrap().leader().unwrap().unwrap();
    let victim = [m1.id, m2.id, m3.id]
        .iter()
        .position(|id| *id == leader.0)
        .unwrap();

    // The writer goes through the two survivors only.
    let survivors: Vec<String> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != victim)
        .map(|(_, a)| a.clone())
        .collect();
    let mut w = external_client(&cert, survivors, rt.handle().clone(), TIMEOUT).unwrap();
    let mut acked = Vec::new();
    let mut failed = 0;
    let mut killed_at = None;
    let mut kill_time: Option<Instant> = None;
    let mut resumed: Option<Duration> = None;
    let mut n = 0i64;
    let mut victim_proc = match victim {
        0 => Some(&mut m1),
        1 => Some(&mut m2),
        _ => None,
    };
    let mut m3 = m3;
    while acked.len() < 150 || killed_at.is_none() {
        n += 1;
        match w.exec("INSERT INTO seq (n) VALUES (?)", &[Value::Integer(n)]) {
            Ok(_) => {
                if let (Some(k), None) = (kill_time, resumed) {
                    resumed = Some(k.elapsed());
                }
                acked.push(n)
            }
            // Ambiguous (leadership lost mid-commit) or refused: not acknowledged.
            Err(_) => failed += 1,
        }
        if n == 50 {
            match victim_proc.as_mut() {
                Some(p) => p.kill9(),
                None => m3.kill9(),
            }
            killed_at = Some(acked.len());
            kill_time = Some(Instant::now());
        }
        assert!(n < 2000, "writes do not resume after the election");
    }
    let rows = w.query("SELECT n FROM seq ORDER BY n", &[]).unwrap().rows;
    let present: std::collections::BTreeSet<i64> =
        rows.iter().filter_map(|r| r[0].as_i64()).collect();
    let lost: Vec<_> = acked.iter().filter(|n| !present.contains(n)).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    assert!(acked.len() >= 150, "{} acked, {failed} failed", acked.len());
    let new_leader = w.find_leader().unwrap().leader().unwrap().unwrap();
    assert_ne!(new_leader.0, leader.0, "a new leader was elected");
    eprintln!(
        "acked {} writes, {failed} failed around the kill, first write {:?} after the kill, leader {} -> {}",
        acked.len(),
        resumed.unwrap(),
        leader.0,
        new_leader.0
    );

    // The killed member restarts from its directory and catches up.
    let (name, address) = match victim {
        0 => (m1.name.clone(), m1.address.clone()),
        1 => (m2.name.clone(), m2.address.clone()),
        _ => (m3.name.clone(), m3.address.clone()),
    };
    let back = Proc::spawn("restart", &name, &address, dir.path(), None);
    assert_eq!(back.id, leader.0);
    let mut only =
        external_client(&cert, vec![address.clone()], rt.handle().clone(), TIMEOUT).unwrap();
    // Leadership moves to the restarted member once it has caught up; it then serves
    // every acknowledged write itself.
    poll("the restarted member to lead", || {
        let mut conn = w.find_leader().ok()?;
        if conn.leader().ok()??.0 == back.id {
            return Some(());
        }
        let _ = conn.transfer(back.id);
        None
    });
    let rows = only.query("SELECT count(*) FROM seq", &[]).unwrap().rows;
    assert_eq!(rows[0][0].as_i64().unwrap() as usize, present.len());
    drop(back);
    drop(m3);
    rt.shutdown_background();
}

fn member_main(args: Vec<String>) {
    if args.len() < 5 {
        eprintln!("usage: member bootstrap|join|restart NAME ADDRESS DIR [TOKEN]");
        std::process::exit(2);
    }
    let mut cfg = MemberConfig::new(&args[2], &args[3], &args[4]);
    cfg.heartbeat = Duration::from_millis(200);
    cfg.offline_threshold = Duration::from_secs(2);
    cfg.latency_ms = 5;
    let m = match args[1].as_str() {
        "bootstrap" => Member::bootstrap(cfg),
        "join" => Member::join(cfg, args.get(5).map(String::as_str).unwrap_or("")),
        "restart" => Member::restart(cfg),
        _ => {
            eprintln!("unknown verb");
            std::process::exit(2);
        }
    };
    let m = match m {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let mut out = std::io::stdout();
    writeln!(out, "ready {}", m.id()).unwrap();
    out.flush().unwrap();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("token"), Some(name)) => match m.add_token(name) {
                Ok(t) => writeln!(out, "token {t}").unwrap(),
                Err(e) => writeln!(out, "error {e}").unwrap(),
            },
            (Some("list"), _) => match m.list() {
                Ok(l) => {
                    let rows: Vec<String> = l
                        .iter()
                        .map(|i| format!("{}={}/{}", i.name, i.status, i.roles.join("+")))
                        .collect();
                    writeln!(out, "list {}", rows.join(" ")).unwrap()
                }
                Err(e) => writeln!(out, "error {e}").unwrap(),
            },
            _ => writeln!(out, "error unknown command").unwrap(),
        }
        out.flush().unwrap();
    }
    m.stop();
}
