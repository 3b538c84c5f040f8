//! End to end against real libcowsql nodes: a small C program (tests/node.c), compiled at
//! test time with `cc -lcowsql`, runs each node; the client talks to it over TCP.
//! Needs libcowsql-dev and libraft-dev from bookworm-backports (`make deps`).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cowsql_client::codec::{Request, Response};
use cowsql_client::{Cluster, Conn, Error, Role, Value};

const TIMEOUT: Duration = Duration::from_secs(10);

/// The node program, built once per test run.
fn node_program() -> &'static PathBuf {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/node.c");
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("cowsql-test-node-{}", std::process::id()));
        let res = Command::new("cc")
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .arg("-lcowsql")
            .output()
            .expect("run cc");
        assert!(
            res.status.success(),
            "compiling tests/node.c against libcowsql failed (install libcowsql-dev and \
             libraft-dev from bookworm-backports: make deps):\n{}",
            String::from_utf8_lossy(&res.stderr)
        );
        out
    })
}

struct Node {
    child: Child,
    id: u64,
    address: String,
    _dir: tempfile::TempDir,
}

impl Node {
    /// Starts node `id` on a free loopback port in a fresh data directory. Id 1
    /// bootstraps a one-member cluster; any other id waits to be added.
    fn start(id: u64) -> Node {
        Node::start_at(id, || {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            format!("127.0.0.1:{port}")
        })
    }

    fn start_at(id: u64, address: impl Fn() -> String) -> Node {
        let mut last = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let address = address();
            let mut child = Command::new(node_program())
                .arg(id.to_string())
                .arg(&address)
                .arg(dir.path())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn the node program");
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut line = String::new();
                let _ = BufReader::new(stdout).read_line(&mut line);
                let _ = tx.send(line);
            });
            match rx.recv_timeout(TIMEOUT) {
                Ok(line) if line.starts_with("ready") => {
                    return Node {
                        child,
                        id,
                        address,
                        _dir: dir,
                    }
                }
                other => {
                    let _ = child.kill();
                    let out = child.wait_with_output().unwrap();
                    last = format!("{other:?}: {}", String::from_utf8_lossy(&out.stderr));
                }
            }
        }
        panic!("the cowsql node did not start: {last}");
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Closing stdin stops the node cleanly; kill it if it does not stop in time.
        drop(self.child.stdin.take());
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

fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn one_node_sql_round_trip_and_membership() {
    let node = Node::start(1);
    // Right after start the node may still be electing itself: Cluster retries NoLeader.
    let mut cluster = Cluster::new([node.address.clone()], "test.db").with_retry_for(TIMEOUT);
    cluster
        .exec(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, f REAL, s TEXT, b BLOB, \
             n TEXT, u DATETIME, d DATETIME, o BOOLEAN)",
            &[],
        )
        .unwrap();

    let params = vec![
        Value::Integer(-42),
        Value::Float(2.5),
        Value::Text("héllo, wörld".into()),
        Value::Blob(vec![0, 1, 2, 255, 0]),
        Value::Null,
        Value::UnixTime(1_700_000_000),
        Value::Iso8601("2024-02-29 12:34:56".into()),
        Value::Boolean(true),
    ];
    let r = cluster
        .exec(
            "INSERT INTO t (i, f, s, b, n, u, d, o) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            &params,
        )
        .unwrap();
    assert_eq!(r.rows_affected, 1);
    assert_eq!(r.last_insert_id, 1);
    cluster
        .exec(
            "INSERT INTO t (i, f, s, b, n, u, d, o) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                Value::Integer(7),
                Value::Float(-0.125),
                Value::Text(String::new()),
                Value::Blob(vec![]),
                Value::Text("not null".into()),
                Value::UnixTime(0),
                Value::Iso8601("1970-01-01".into()),
                Value::Boolean(false),
            ],
        )
        .unwrap();

    let rows = cluster
        .query(
            "SELECT i, f, s, b, n, u, d, o FROM t WHERE id = ?",
            &[Value::Integer(1)],
        )
        .unwrap();
    assert_eq!(rows.columns, ["i", "f", "s", "b", "n", "u", "d", "o"]);
    // Every type comes back as sent: the DATETIME and BOOLEAN declarations give the
    // protocol's time and boolean types.
    assert_eq!(rows.rows, vec![params.clone()]);
    let rows = cluster
        .query("SELECT o, u, b, s FROM t WHERE id = 2", &[])
        .unwrap();
    assert_eq!(
        rows.rows,
        vec![vec![
            Value::Boolean(false),
            Value::UnixTime(0),
            Value::Blob(vec![]),
            Value::Text(String::new())
        ]]
    );

    // A direct connection: errors, prepared statements, many batches, interrupt.
    let mut conn = cluster.find_leader().unwrap();
    conn.open("test.db").unwrap();
    let e = conn.exec("SELEC nonsense", &[]).unwrap_err();
    assert!(
        matches!(&e, Error::Server { code: 1, message } if message.contains("syntax error")),
        "{e:?}"
    );
    assert!(conn.is_usable(), "a FAILURE leaves the connection usable");
    let e = conn.exec("INSERT INTO t (id) VALUES (1)", &[]).unwrap_err();
    assert_eq!(e.code().map(|c| c & 0xff), Some(19), "constraint: {e:?}");

    // The server has no decoder for UNIXTIME parameters: sent raw, it is refused,
    // which is why Conn sends them as integers.
    let raw = Request::ExecSql {
        db: 0,
        sql: "INSERT INTO t (u) VALUES (?)".into(),
        params: vec![Value::UnixTime(5)],
    };
    let e = conn.request(&raw).unwrap_err();
    assert!(
        matches!(&e, Error::Server { code: 1005, message } if message == "bind parameters"),
        "{e:?}"
    );

    // NULL in columns declared DATETIME and BOOLEAN comes back typed: "" and false.
    conn.exec("INSERT INTO t (id, d, o) VALUES (3, NULL, NULL)", &[])
        .unwrap();
    let rows = conn.query("SELECT d, o FROM t WHERE id = 3", &[]).unwrap();
    assert_eq!(
        rows.rows,
        vec![vec![Value::Iso8601(String::new()), Value::Boolean(false)]]
    );

    let stmt = conn.prepare("INSERT INTO t (i, s) VALUES (?, ?)").unwrap();
    assert_eq!(stmt.params, 2);
    for i in 0..3 {
        conn.exec_stmt(
            &stmt,
            &[Value::Integer(100 + i), Value::Text(format!("p{i}"))],
        )
        .unwrap();
    }
    conn.finalize(stmt).unwrap();
    let sel = conn
        .prepare("SELECT s FROM t WHERE i >= ? ORDER BY i")
        .unwrap();
    let rows = conn.query_stmt(&sel, &[Value::Integer(101)]).unwrap();
    assert_eq!(
        rows.rows,
        vec![
            vec![Value::Text("p1".into())],
            vec![Value::Text("p2".into())]
        ]
    );
    conn.finalize(sel).unwrap();

    // 3000 rows do not fit one batch: PART batches, then DONE.
    conn.exec(
        "CREATE TABLE big (n INTEGER, pad TEXT); \
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) \
         INSERT INTO big SELECT x, 'some padding to fill pages' FROM c",
        &[],
    )
    .unwrap();
    let mut batches = 0;
    let mut seen = 0;
    conn.query_batches("SELECT n, pad FROM big ORDER BY n", &[], |b| {
        batches += 1;
        seen += b.rows.len();
        true
    })
    .unwrap();
    assert_eq!(seen, 3000);
    assert!(batches > 1, "expected several batches, got {batches}");
    let all = conn.query("SELECT n FROM big ORDER BY n", &[]).unwrap();
    assert_eq!(all.rows.len(), 3000);
    assert_eq!(all.rows[2999], vec![Value::Integer(3000)]);
    // Stopping after the first batch interrupts; the connection stays in step.
    let mut first = 0;
    conn.query_batches("SELECT n FROM big", &[], |b| {
        first = b.rows.len();
        false
    })
    .unwrap();
    assert!(first > 0 && first < 3000);
    let rows = conn.query("SELECT count(*) FROM big", &[]).unwrap();
    assert_eq!(rows.rows, vec![vec![Value::Integer(3000)]]);

    // Transactions: an error inside rolls everything back; success commits all.
    let e = cluster
        .transaction(|c| {
            c.exec("INSERT INTO t (id, i) VALUES (10, 1)", &[])?;
            c.exec("INSERT INTO t (id, i) VALUES (11, 1)", &[])?;
            c.exec("INSERT INTO t (id, i) VALUES (10, 2)", &[])
        })
        .unwrap_err();
    assert_eq!(e.code().map(|c| c & 0xff), Some(19), "{e:?}");
    let count = |c: &mut Cluster| {
        c.query("SELECT count(*) FROM t WHERE id >= 10 AND id < 20", &[])
            .unwrap()
            .rows
    };
    assert_eq!(
        count(&mut cluster),
        vec![vec![Value::Integer(0)]],
        "rolled back"
    );
    cluster
        .transaction(|c| {
            c.exec("INSERT INTO t (id, i) VALUES (10, 1)", &[])?;
            c.exec("INSERT INTO t (id, i) VALUES (11, 1)", &[])
        })
        .unwrap();
    assert_eq!(count(&mut cluster), vec![vec![Value::Integer(2)]]);

    // Membership: the node is the only voter; a spare can be added and removed.
    assert_eq!(conn.leader().unwrap(), Some((1, node.address.clone())));
    let members = conn.cluster().unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!((members[0].id, members[0].role), (1, Role::Voter));
    assert_eq!(members[0].address, node.address);
    conn.add(2, "127.0.0.1:1").unwrap();
    let members = cluster.members().unwrap();
    assert!(
        members.iter().any(|m| m.id == 2 && m.role == Role::Spare),
        "{members:?}"
    );
    conn.remove(2).unwrap();
    assert_eq!(conn.cluster().unwrap().len(), 1);
    let e = conn.add(1, "127.0.0.1:1").unwrap_err();
    assert!(
        matches!(e, Error::Server { .. }),
        "adding an existing id: {e:?}"
    );

    // DUMP: the database file and its WAL.
    let files = conn.dump("test.db").unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["test.db", "test.db-wal"]);
    assert!(files.iter().map(|f| f.data.len()).sum::<usize>() > 0);
    if !files[0].data.is_empty() {
        assert!(files[0].data.starts_with(b"SQLite format 3\0"));
    }
}

#[test]
fn two_nodes_leader_following_and_transfer() {
    let one = Node::start(1);
    let two = Node::start(2);
    let mut leader = Cluster::new([one.address.clone()], "db").with_retry_for(TIMEOUT);
    leader.exec("CREATE TABLE seq (n INTEGER)", &[]).unwrap();
    leader
        .with_leader(|c| {
            c.add(two.id, &two.address)?;
            c.assign(two.id, Role::Voter)
        })
        .unwrap();
    let members = leader.members().unwrap();
    assert!(
        members.iter().all(|m| m.role == Role::Voter) && members.len() == 2,
        "{members:?}"
    );

    // Asking the follower first: it names node 1, and the client follows.
    let mut cluster =
        Cluster::new([two.address.clone(), one.address.clone()], "db").with_retry_for(TIMEOUT);
    poll("node 2 to know the leader", || {
        Conn::connect(&two.address, TIMEOUT)
            .ok()?
            .leader()
            .ok()?
            .filter(|(id, _)| *id == 1)
    });
    let conn = cluster.find_leader().unwrap();
    assert_eq!(conn.address(), one.address);
    drop(conn);
    cluster.exec("INSERT INTO seq VALUES (1)", &[]).unwrap();

    // A follower refuses statements with NOT_LEADER.
    let mut follower = Conn::connect(&two.address, TIMEOUT).unwrap();
    follower.open("db").unwrap();
    let e = follower
        .exec("INSERT INTO seq VALUES (99)", &[])
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some(cowsql_client::SQLITE_IOERR_NOT_LEADER),
        "{e:?}"
    );
    assert!(e.is_leadership());

    // Leadership moves to node 2; the cluster's cached connection to node 1 now gets
    // NOT_LEADER and the client finds node 2.
    let mut old = Conn::connect(&one.address, TIMEOUT).unwrap();
    old.transfer(two.id).unwrap();
    poll("node 2 to lead", || {
        Conn::connect(&one.address, TIMEOUT)
            .ok()?
            .leader()
            .ok()?
            .filter(|(id, _)| *id == 2)
    });
    cluster.exec("INSERT INTO seq VALUES (2)", &[]).unwrap();
    let rows = cluster.query("SELECT n FROM seq ORDER BY n", &[]).unwrap();
    assert_eq!(
        rows.rows,
        vec![vec![Value::Integer(1)], vec![Value::Integer(2)]]
    );
    let conn = cluster.find_leader().unwrap();
    assert_eq!(conn.address(), two.address);
    let Response::Server { id, .. } = Conn::connect(&one.address, TIMEOUT)
        .unwrap()
        .request(&Request::Leader)
        .unwrap()
    else {
        panic!("not a SERVER response")
    };
    assert_eq!(id, 2);
    drop(conn);

    // Leadership moves back to node 1 in the middle of a transaction on node 2: nothing
    // was committed, so the whole transaction runs again on node 1, and once.
    let mut runs = 0;
    cluster
        .transaction(|c| {
            runs += 1;
            c.exec("INSERT INTO seq VALUES (3)", &[])?;
            if runs == 1 {
                Conn::connect(&two.address, TIMEOUT)?.transfer(one.id)?;
                poll("node 1 to lead again", || {
                    Conn::connect(&two.address, TIMEOUT)
                        .ok()?
                        .leader()
                        .ok()?
                        .filter(|(id, _)| *id == 1)
                });
            }
            c.exec("INSERT INTO seq VALUES (4)", &[])
        })
        .unwrap();
    assert_eq!(runs, 2, "the first run met the leadership change");
    let rows = cluster.query("SELECT n FROM seq ORDER BY n", &[]).unwrap();
    let seq: Vec<i64> = rows.rows.iter().filter_map(|r| r[0].as_i64()).collect();
    assert_eq!(seq, [1, 2, 3, 4], "committed once");
}

/// A node bound to an abstract socket has no file permissions to protect it: cowsql
/// instead drops connections from any other process. This is why tools will reach the
/// node through a proxy socket in incus-serve (docs/cluster.md).
#[test]
fn abstract_socket_node_refuses_other_processes() {
    let node = Node::start_at(1, || format!("@cowsql-client-test-{}", std::process::id()));
    // The node closes the connection right after accepting it: the handshake's write
    // may already fail (EPIPE), or else the first request does.
    let e = match Conn::connect(&node.address, TIMEOUT) {
        Err(e) => e,
        Ok(mut conn) => {
            let e = conn.leader().unwrap_err();
            assert!(!conn.is_usable());
            e
        }
    };
    assert!(
        matches!(e, Error::Io(_)),
        "expected the connection dropped: {e:?}"
    );
}

/// Rough latencies of single statements on a one-node cluster (printed, not asserted).
#[test]
fn one_node_latency_figures() {
    let node = Node::start(1);
    let mut cluster = Cluster::new([node.address.clone()], "bench.db").with_retry_for(TIMEOUT);
    cluster
        .exec("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)", &[])
        .unwrap();
    let n = 200;
    let start = Instant::now();
    for i in 0..n {
        cluster
            .exec(
                "INSERT INTO kv VALUES (?, ?)",
                &[Value::Integer(i), Value::Text("value".into())],
            )
            .unwrap();
    }
    let write = start.elapsed() / n as u32;
    let start = Instant::now();
    for i in 0..n {
        let r = cluster
            .query("SELECT v FROM kv WHERE k = ?", &[Value::Integer(i)])
            .unwrap();
        assert_eq!(r.rows.len(), 1);
    }
    let read = start.elapsed() / n as u32;
    eprintln!("cowsql one node over TCP loopback: write {write:?}, read {read:?} per statement");
}
