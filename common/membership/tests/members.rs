//! Three members on loopback in one process (each with its node, its HTTPS listener
//! and its directory): tokens, joins through `/internal/join`, raft and client traffic
//! through the mutual-TLS `/internal/database` upgrade, roles, heartbeats, ONLINE and
//! OFFLINE, and the refusals (token reuse, wrong name, expired token, no cluster
//! certificate).

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use cowsql_client::Value;
use incus_membership::tls::ClusterCert;
use incus_membership::{JoinToken, Member, MemberConfig};

/// Raft id 1 bootstraps a cluster, and node ids are per process: one test at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn free_address() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("127.0.0.1:{}", l.local_addr().unwrap().port())
}

fn config(name: &str, dir: &std::path::Path) -> MemberConfig {
    let mut c = MemberConfig::new(name, &free_address(), dir.join(name));
    c.heartbeat = Duration::from_millis(200);
    c.offline_threshold = Duration::from_secs(2);
    c.latency_ms = 5;
    c
}

fn poll<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn three_members_form_a_cluster_over_mutual_tls() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let c1 = config("m1", dir.path());
    let m1 = Member::bootstrap(c1.clone()).unwrap();
    assert_eq!(m1.id(), 1);
    assert!(matches!(
        Member::bootstrap(c1.clone()),
        Err(e) if e.kind == incus_api::ErrorKind::Conflict
    ));

    let t2 = m1.add_token("m2").unwrap();
    let tok = JoinToken::decode(&t2).unwrap();
    assert_eq!(tok.server_name, "m2");
    assert_eq!(tok.fingerprint, m1.fingerprint());
    assert_eq!(tok.addresses, vec![c1.address.clone()]);
    assert_eq!(m1.tokens().unwrap().len(), 1);
    // A second token for the same name is refused.
    assert!(m1.add_token("m2").is_err());

    // The token names m2: another name cannot use it.
    let wrong = config("m9", dir.path());
    let e = Member::join(wrong, &t2).err().unwrap();
    assert_eq!(e.kind, incus_api::ErrorKind::Invalid, "{e:?}");

    let m2 = Member::join(config("m2", dir.path()), &t2).unwrap();
    assert!(m1.tokens().unwrap().is_empty(), "the token is consumed");
    // Single use: the same token again (from a fresh directory) is refused by the cluster.
    let again = Member::join(config("m2", &dir.path().join("again")), &t2)
        .err()
        .unwrap();
    assert_eq!(again.kind, incus_api::ErrorKind::Forbidden, "{again:?}");

    let t3 = m2.add_token("m3").unwrap();
    assert_eq!(JoinToken::decode(&t3).unwrap().addresses.len(), 2);
    let m3 = Member::join(config("m3", dir.path()), &t3).unwrap();

    // Every member sees three ONLINE members, three voters, one leader.
    for m in [&m1, &m2, &m3] {
        let list = poll("three voters", Duration::from_secs(15), || {
            let l = m.list().ok()?;
            (l.len() == 3 && l.iter().all(|i| i.roles.contains(&"database".to_string())))
                .then_some(l)
        });
        let names: Vec<_> = list.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["m1", "m2", "m3"]);
        assert!(list.iter().all(|i| i.status == "ONLINE"), "{list:?}");
        assert_eq!(
            list.iter()
                .filter(|i| i.roles.contains(&"database-leader".to_string()))
                .count(),
            1
        );
        assert!(list.iter().all(|i| i.url.starts_with("https://127.0.0.1:")));
    }

    // Writes from one member are read from the others (through the TLS tunnel).
    let mut c2 = m2.cluster();
    c2.exec("CREATE TABLE seq (n INTEGER PRIMARY KEY)", &[])
        .unwrap();
    for n in 1..=20 {
        c2.exec("INSERT INTO seq (n) VALUES (?)", &[Value::Integer(n)])
            .unwrap();
    }
    let mut c3 = m3.cluster();
    assert_eq!(
        c3.query("SELECT count(*) FROM seq", &[]).unwrap().rows,
        vec![vec![Value::Integer(20)]]
    );

    // Without the cluster certificate, /internal/database is refused.
    let other = ClusterCert::generate("intruder").unwrap();
    let cfg = incus_membership::tls::join_client_config(&m1.fingerprint()).unwrap();
    let mut tcp = std::net::TcpStream::connect(&c1.address).unwrap();
    let mut conn =
        rustls::ClientConnection::new(cfg, incus_membership::tls::server_name()).unwrap();
    let mut s = rustls::Stream::new(&mut conn, &mut tcp);
    s.write_all(b"POST /internal/database HTTP/1.1\r\nUpgrade: dqlite\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    // A client presenting another certificate is refused the member's own (pinned).
    let bad = other.client_config().unwrap();
    let mut tcp = std::net::TcpStream::connect(&c1.address).unwrap();
    let mut conn =
        rustls::ClientConnection::new(bad, incus_membership::tls::server_name()).unwrap();
    let mut s = rustls::Stream::new(&mut conn, &mut tcp);
    assert!(
        s.write_all(b"POST /internal/database HTTP/1.1\r\n\r\n")
            .is_err()
            || s.read_to_string(&mut String::new()).is_err(),
        "a client pinned to another certificate must not complete the handshake"
    );

    // A member stops: the two others keep the database and see it OFFLINE.
    let mut c2 = m2.cluster();
    m3.stop();
    c2.exec("INSERT INTO seq (n) VALUES (21)", &[]).unwrap();
    let list = poll("m3 OFFLINE", Duration::from_secs(15), || {
        let l = m1.list().ok()?;
        l.iter()
            .any(|i| i.name == "m3" && i.status == "OFFLINE")
            .then_some(l)
    });
    assert!(list
        .iter()
        .filter(|i| i.name != "m3")
        .all(|i| i.status == "ONLINE"));

    // It restarts from its directory, catches up and is ONLINE again.
    let m3 = Member::restart(config_at("m3", dir.path(), &list)).unwrap();
    poll("m3 ONLINE again", Duration::from_secs(15), || {
        let l = m1.list().ok()?;
        l.iter().all(|i| i.status == "ONLINE").then_some(())
    });
    let mut c3 = m3.cluster();
    assert_eq!(
        c3.query("SELECT count(*) FROM seq", &[]).unwrap().rows,
        vec![vec![Value::Integer(21)]]
    );
    drop(m2);
    drop(m1);
}

/// The config of a member at the address the cluster knows it by.
fn config_at(
    name: &str,
    dir: &std::path::Path,
    list: &[incus_membership::MemberInfo],
) -> MemberConfig {
    let mut c = config(name, dir);
    c.address = list
        .iter()
        .find(|i| i.name == name)
        .unwrap()
        .url
        .trim_start_matches("https://")
        .to_string();
    c
}

#[test]
fn an_expired_token_is_refused() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let mut c1 = config("e1", dir.path());
    c1.token_expiry = "1S".into();
    let m1 = Member::bootstrap(c1).unwrap();
    let t = m1.add_token("e2").unwrap();
    // Wall-clock expiry is what is tested: wait past it.
    std::thread::sleep(Duration::from_millis(2100));
    let e = Member::join(config("e2", dir.path()), &t).err().unwrap();
    assert_eq!(e.kind, incus_api::ErrorKind::Forbidden, "{e:?}");
    assert!(e.message.contains("expired"), "{e:?}");

    // Crafted requests to /internal/join: refused, nothing recorded.
    let address = JoinToken::decode(&t).unwrap().addresses[0].clone();
    let raw = |req: &[u8]| {
        let cfg = incus_membership::tls::join_client_config(&m1.fingerprint()).unwrap();
        let mut tcp = std::net::TcpStream::connect(&address).unwrap();
        let mut conn =
            rustls::ClientConnection::new(cfg, incus_membership::tls::server_name()).unwrap();
        let mut s = rustls::Stream::new(&mut conn, &mut tcp);
        s.write_all(req).unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer
    };
    let huge = raw(b"POST /internal/join HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n");
    assert!(huge.starts_with("HTTP/1.1 400"), "{huge}");
    let junk = raw(b"POST /internal/join HTTP/1.1\r\nContent-Length: 5\r\n\r\n{{{{{");
    assert!(junk.starts_with("HTTP/1.1 400"), "{junk}");
    let body = br#"{"secret":"00","name":"e3","address":"127.0.0.1:1","arch":"x"}"#;
    let mut req = format!(
        "POST /internal/join HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    let wrong = raw(&req);
    assert!(wrong.starts_with("HTTP/1.1 403"), "{wrong}");
    let long = raw(&[b'A'; 9000]);
    assert!(long.is_empty() || long.starts_with("HTTP/1.1 4"), "{long}");
    let nf = raw(b"GET /1.0 HTTP/1.1\r\n\r\n");
    assert!(nf.starts_with("HTTP/1.1 404"), "{nf}");
    let names: Vec<_> = m1.list().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["e1"], "nothing was recorded");
}

#[test]
fn host_starts_the_member_of_an_installation_again() {
    let _s = serial();
    let incus_dir = tempfile::tempdir().unwrap();
    let mut cfg = config("h1", incus_dir.path());
    cfg.dir = incus_membership::member::member_dir(incus_dir.path());
    let m = Member::bootstrap(cfg).unwrap();
    m.cluster()
        .exec("CREATE TABLE t (x INTEGER); ", &[])
        .unwrap();
    m.stop();
    let m = incus_membership::member::host(incus_dir.path())
        .unwrap()
        .expect("a clustered installation");
    assert_eq!(m.id(), 1);
    let l = m.list().unwrap();
    assert_eq!((l[0].name.as_str(), l[0].status.as_str()), ("h1", "ONLINE"));
    m.cluster().exec("INSERT INTO t VALUES (1)", &[]).unwrap();
}
