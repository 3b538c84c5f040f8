//! Nodes hosted in this process through the FFI layer, reached with cowsql-client over
//! TCP loopback: three nodes form a cluster (ADD, ASSIGN), writes replicate, handover
//! moves leadership, a stopped node restarts from its data directory, recover forces
//! a new configuration.

use std::path::Path;
use std::time::{Duration, Instant};

use cowsql_client::{Cluster, Conn, Role, Value};
use cowsql_node::{Error, Node};

const TIMEOUT: Duration = Duration::from_secs(15);

/// Node ids are per process (see the crate documentation): the tests take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn free_address() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("127.0.0.1:{}", l.local_addr().unwrap().port())
}

fn start(id: u64, address: &str, dir: &Path) -> Node {
    let mut node = Node::create(id, address, dir).unwrap();
    node.set_bind_address(address).unwrap();
    node.set_network_latency_ms(5).unwrap();
    node.start().unwrap();
    node
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

fn leader_of(address: &str) -> Option<u64> {
    Conn::connect(address, TIMEOUT)
        .ok()?
        .leader()
        .ok()?
        .map(|(id, _)| id)
        .filter(|id| *id != 0)
}

fn count(cluster: &mut Cluster) -> i64 {
    match cluster
        .query("SELECT count(*), coalesce(sum(n), 0) FROM seq", &[])
        .unwrap()
        .rows[0][..]
    {
        [Value::Integer(c), Value::Integer(_)] => c,
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn three_nodes_form_a_cluster_and_replicate() {
    let _serial = serial();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let addrs: Vec<String> = (0..3).map(|_| free_address()).collect();
    let mut nodes: Vec<Option<Node>> = (0..3)
        .map(|i| Some(start(i as u64 + 1, &addrs[i], dirs[i].path())))
        .collect();
    assert_eq!(
        nodes[0].as_ref().unwrap().bind_address().as_deref(),
        Some(&addrs[0][..])
    );

    let mut cluster = Cluster::new(addrs.clone(), "global.db").with_retry_for(TIMEOUT);
    cluster
        .exec("CREATE TABLE seq (n INTEGER PRIMARY KEY)", &[])
        .unwrap();
    cluster
        .with_leader(|c| {
            for (i, a) in addrs.iter().enumerate().skip(1) {
                c.add(i as u64 + 1, a)?;
                c.assign(i as u64 + 1, Role::Voter)?;
            }
            Ok(())
        })
        .unwrap();
    let members = cluster.members().unwrap();
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(members.iter().all(|m| m.role == Role::Voter), "{members:?}");

    cluster
        .transaction(|c| {
            for n in 1..=100 {
                c.exec("INSERT INTO seq (n) VALUES (?)", &[Value::Integer(n)])?;
            }
            Ok(())
        })
        .unwrap();

    // Every node serves the same data once it leads: transfer leadership around.
    for target in [2u64, 3] {
        // A transfer is refused while the target is still catching up: ask again.
        poll("the new leader", || {
            if leader_of(&addrs[target as usize - 1]) == Some(target) {
                return Some(());
            }
            let _ = cluster.find_leader().ok()?.transfer(target);
            None
        });
        let direct =
            Cluster::new([addrs[target as usize - 1].clone()], "global.db").with_retry_for(TIMEOUT);
        let mut conn = direct.find_leader().unwrap();
        assert_eq!(conn.address(), addrs[target as usize - 1]);
        conn.open("global.db").unwrap();
        let rows = conn.query("SELECT count(*) FROM seq", &[]).unwrap();
        assert_eq!(
            rows.rows,
            vec![vec![Value::Integer(100)]],
            "on node {target}"
        );
    }

    // Handover: node 3 leads; it gives leadership away before stopping, and the two
    // others keep a quorum and take writes.
    let mut three = nodes[2].take().unwrap();
    // Without a spare to take its voter role the demotion step fails, but leadership
    // has moved.
    let e = three.handover().unwrap_err();
    assert!(
        matches!(
            e,
            Error::Call {
                call: "cowsql_node_handover",
                ..
            }
        ),
        "{e:?}"
    );
    let new = poll("a leader other than 3", || {
        leader_of(&addrs[0]).filter(|id| *id != 3)
    });
    assert!(new == 1 || new == 2);
    three.stop().unwrap();
    assert!(matches!(three.stop(), Err(Error::Invalid(_))), "stop twice");
    drop(three);
    cluster
        .exec("INSERT INTO seq (n) VALUES (101)", &[])
        .unwrap();
    assert_eq!(count(&mut cluster), 101);

    // Node 3 restarts from its data directory and catches up.
    nodes[2] = Some(start(3, &addrs[2], dirs[2].path()));
    let members = cluster.members().unwrap();
    assert!(
        members.iter().any(|m| m.id == 3 && m.role == Role::Voter),
        "{members:?}"
    );
    // The transfer is refused until node 3 has caught up with the leader's log.
    poll("node 3 to lead again", || {
        if leader_of(&addrs[2]) == Some(3) {
            return Some(());
        }
        let _ = cluster.find_leader().ok()?.transfer(3);
        None
    });
    assert_eq!(count(&mut cluster), 101);

    // Quorum loss: stop everything, recover node 1 alone, it serves all the data.
    for n in nodes.iter_mut() {
        n.take().unwrap().stop().unwrap();
    }
    let mut one = Node::create(1, &addrs[0], dirs[0].path()).unwrap();
    one.recover(&[(1, addrs[0].clone(), Role::Voter)]).unwrap();
    drop(one);
    let _one = start(1, &addrs[0], dirs[0].path());
    let mut alone = Cluster::new([addrs[0].clone()], "global.db").with_retry_for(TIMEOUT);
    assert_eq!(count(&mut alone), 101);
    alone.exec("INSERT INTO seq (n) VALUES (102)", &[]).unwrap();
    assert_eq!(alone.members().unwrap().len(), 1);
}

#[test]
fn misuse_is_refused_not_undefined() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Node::create(0, "127.0.0.1:1", dir.path()),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        Node::create(1, "127.0.0.1:1\0x", dir.path()),
        Err(Error::Invalid(_))
    ));
    let e = Node::create(1, "127.0.0.1:1", Path::new("/nonexistent/cowsql-node-test"))
        .err()
        .expect("a missing data directory is an error");
    assert!(matches!(e, Error::Invalid(_)), "{e:?}");
    // A failure inside libcowsql (an address it cannot parse) reserves the id for the
    // rest of the process: id 9 is then refused.
    let e = Node::create(9, "", dir.path()).err();
    if let Some(e) = e {
        assert!(matches!(e, Error::Call { .. }), "{e:?}");
        assert!(matches!(
            Node::create(9, "127.0.0.1:1", dir.path()),
            Err(Error::Invalid(_))
        ));
    }
    let mut n = Node::create(1, &free_address(), dir.path()).unwrap();
    let other = tempfile::tempdir().unwrap();
    let e = Node::create(1, &free_address(), other.path())
        .err()
        .unwrap();
    assert!(
        matches!(e, Error::Invalid(_)),
        "the same id twice in a process: {e:?}"
    );
    assert!(matches!(
        n.set_network_latency_ms(0),
        Err(Error::Invalid(_))
    ));
    assert!(matches!(n.handover(), Err(Error::Invalid(_))));
    assert!(n.bind_address().is_none());
    let e = n.set_bind_address("not an address").unwrap_err();
    assert!(matches!(e, Error::Call { .. }), "{e:?}");
    n.set_bind_address("@").unwrap();
    n.start().unwrap();
    assert!(n.bind_address().unwrap().starts_with('@'));
    assert!(matches!(n.set_failure_domain(1), Err(Error::Invalid(_))));
    assert!(cowsql_node::generate_node_id("127.0.0.1:1").unwrap() > 1);
}

#[test]
fn connect_func_carries_raft_traffic() {
    let _serial = serial();
    // Two nodes whose raft addresses are names, resolved by the connect function: the
    // hook the HTTPS upgrade uses between members.
    use std::sync::{Arc, Mutex};
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let real: Vec<String> = (0..2).map(|_| free_address()).collect();
    let dialed = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut nodes = Vec::new();
    for i in 0..2 {
        let mut n =
            Node::create(i as u64 + 1, &format!("member{}", i + 1), dirs[i].path()).unwrap();
        n.set_bind_address(&real[i]).unwrap();
        n.set_network_latency_ms(5).unwrap();
        let (real, dialed) = (real.clone(), dialed.clone());
        n.set_connect_func(Box::new(move |name: &str| {
            dialed.lock().unwrap().push(name.to_string());
            let i: usize = name
                .strip_prefix("member")
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, name.to_string())
                })?;
            let s = std::net::TcpStream::connect(&real[i - 1])?;
            Ok(s.into())
        }))
        .unwrap();
        n.start().unwrap();
        nodes.push(n);
    }
    // Clients know members by name too: the dialer resolves them (as the HTTPS
    // upgrade does between members).
    let resolve = {
        let real = real.clone();
        move |name: &str, timeout: Duration| {
            let a = match name {
                "member1" => real[0].clone(),
                "member2" => real[1].clone(),
                other => other.to_string(),
            };
            cowsql_client::dial(&a, timeout)
        }
    };
    let mut cluster = Cluster::new(real.clone(), "db")
        .with_retry_for(TIMEOUT)
        .with_dialer(resolve.clone());
    cluster.exec("CREATE TABLE t (x INTEGER)", &[]).unwrap();
    cluster
        .with_leader(|c| {
            c.add(2, "member2")?;
            c.assign(2, Role::Voter)
        })
        .unwrap();
    cluster.exec("INSERT INTO t VALUES (7)", &[]).unwrap();
    poll("node 2 to lead", || {
        if leader_of(&real[1]) == Some(2) {
            return Some(());
        }
        let _ = Conn::connect(&real[0], TIMEOUT).ok()?.transfer(2);
        None
    });
    let two = Cluster::new([real[1].clone()], "db")
        .with_retry_for(TIMEOUT)
        .with_dialer(resolve);
    let mut conn = two.find_leader().unwrap();
    conn.open("db").unwrap();
    assert_eq!(
        conn.query("SELECT x FROM t", &[]).unwrap().rows,
        vec![vec![Value::Integer(7)]]
    );
    assert!(dialed.lock().unwrap().iter().any(|d| d == "member2"));
}
