//! The state files and the REST server as an attacker sees them: a host user (`nobody`)
//! reading the database or the socket, a token thief reading the disk, clients holding
//! restricted or metrics certificates, and a remote peer that connects and says nothing
//! or hammers the join-token route.

use incus_tests::serve::*;
use incus_tests::{poll, TestEnv};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `argv` as nobody with no supplementary groups.
fn as_nobody(argv: &[&str]) -> std::process::Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(argv)
        .output()
        .expect("setpriv (util-linux)")
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// The test's temp root traversable (a mktemp dir is 0700), so that only the modes
/// under INCUS_DIR stand between nobody and the state.
fn open_root(env: &TestEnv) {
    std::fs::set_permissions(env.root(), std::fs::Permissions::from_mode(0o711)).unwrap();
}

/// Every file under `dir` that contains `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                if let Ok(data) = std::fs::read(&p) {
                    if data.windows(needle.len()).any(|w| w == needle) {
                        out.push(p);
                    }
                }
            }
        }
    }
    out
}

fn secret_of(token: &str) -> String {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .unwrap();
    let v: Value = serde_json::from_slice(&raw).unwrap();
    v["secret"].as_str().unwrap().to_string()
}

#[test]
fn state_files_are_private_and_token_secrets_are_not_on_disk() {
    let env = TestEnv::initialized();
    open_root(&env);
    let port = free_port();
    env.ok(
        "incus-instance",
        &[
            "config",
            "set",
            &format!("core.https_address=127.0.0.1:{port}"),
        ],
    );
    let token = env
        .ok("incus-trust", &["add", "thief-target", "-q"])
        .line()
        .to_string();
    let secret = secret_of(&token);
    assert_eq!(secret.len(), 64);

    let db_dir = env.incus_dir.join("database");
    let db = db_dir.join("local.db");
    assert_eq!(mode(&db_dir), 0o700, "database/");
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
    assert_eq!(mode(&env.incus_dir.join("server.key")), 0o600);

    // nobody reads neither the database nor the key.
    for p in [&db, &env.incus_dir.join("server.key")] {
        let o = as_nobody(&["cat", p.to_str().unwrap()]);
        assert!(
            !o.status.success(),
            "nobody read {}: {} bytes",
            p.display(),
            o.stdout.len()
        );
    }
    let o = as_nobody(&["ls", db_dir.to_str().unwrap()]);
    assert!(!o.status.success(), "nobody listed database/");

    // The secret is nowhere on disk (root reading every file of the installation): the
    // database keeps a hash.
    let srv = Server::start(&env);
    let found = files_containing(env.root(), secret.as_bytes());
    assert!(found.is_empty(), "token secret found in {found:?}");

    // nobody cannot talk to the socket.
    let o = as_nobody(&[
        "curl",
        "-s",
        "--max-time",
        "5",
        "--unix-socket",
        srv.socket.to_str().unwrap(),
        "http://incus/1.0/instances",
    ]);
    assert!(
        !o.status.success(),
        "nobody reached the socket: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(mode(&srv.socket), 0o660);

    // The token still redeems (over HTTPS, with the upstream client), once.
    srv.incus(&["remote", "add", "srv", &token]).ok();
    let certs = env.json("incus-trust", &["list", "--format", "json"]);
    assert_eq!(certs[0]["name"], "thief-target", "{certs}");
    srv.incus(&["remote", "add", "srv2", &token]).code(1);

    // A guessed secret (right length, wrong bytes) is refused.
    let mut forged: Value = {
        use base64::Engine;
        serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(token.trim())
                .unwrap(),
        )
        .unwrap()
    };
    let _ = env.ok("incus-trust", &["add", "other", "-q"]);
    forged["secret"] = Value::String("0".repeat(64));
    let forged = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(forged.to_string())
    };
    srv.incus(&["remote", "add", "srv3", &forged]).code(1);
    assert_eq!(
        env.json("incus-trust", &["list", "--format", "json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn an_old_installation_is_made_private_and_its_tokens_hashed() {
    let env = TestEnv::initialized();
    open_root(&env);
    let port = free_port();
    env.ok(
        "incus-instance",
        &[
            "config",
            "set",
            &format!("core.https_address=127.0.0.1:{port}"),
        ],
    );
    // A token as the old code stored it: the secret in clear, schema version 1.
    let fp = {
        let pem = std::fs::read_to_string(env.incus_dir.join("server.crt")).unwrap_or_default();
        let pem = if pem.is_empty() {
            // Made on first use: a token made now creates it.
            env.ok("incus-trust", &["add", "warmup", "-q"]);
            env.ok("incus-trust", &["revoke-token", "warmup"]);
            std::fs::read_to_string(env.incus_dir.join("server.crt")).unwrap()
        } else {
            pem
        };
        let der = rustls_pemfile::certs(&mut pem.as_bytes())
            .next()
            .unwrap()
            .unwrap();
        incus_tests::sha256_hex(&[&der])
    };
    let secret = "ab".repeat(32);
    let token_json = serde_json::json!({
        "client_name": "old-client",
        "fingerprint": fp,
        "addresses": [format!("127.0.0.1:{port}")],
        "secret": secret,
        "expires_at": "0001-01-01T00:00:00Z",
    });
    {
        let conn = rusqlite::Connection::open(env.db_path()).unwrap();
        let meta = serde_json::json!({
            "request": {"name": "old-client", "type": "client", "restricted": false, "projects": []},
            "token": token_json,
        });
        conn.execute(
            "INSERT INTO operations (uuid, class, description, created_at, updated_at, status_code, metadata) \
             VALUES ('old-token', 'token', 'Certificate add token', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 103, ?1)",
            [meta.to_string()],
        )
        .unwrap();
        conn.execute_batch("PRAGMA user_version = 1").unwrap();
    }
    let db_dir = env.incus_dir.join("database");
    let db = db_dir.join("local.db");
    std::fs::set_permissions(&db_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();

    // Any tool's first use fixes the modes and hashes the row.
    let listed = env.ok("incus-trust", &["list-tokens", "--format", "csv"]);
    assert!(listed.stdout.starts_with("old-client,"), "{listed:?}");
    assert!(!listed.stdout.contains(&secret), "{listed:?}");
    assert_eq!(mode(&db_dir), 0o700);
    assert_eq!(mode(&db), 0o600);
    let meta: String = env
        .db()
        .query_row(
            "SELECT metadata FROM operations WHERE uuid = 'old-token'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!meta.contains(&secret), "{meta}");
    let meta: Value = serde_json::from_str(&meta).unwrap();
    assert_eq!(
        meta["token"]["secret_sha256"],
        incus_tests::sha256_hex(&[secret.as_bytes()])
    );

    // The old token still redeems.
    let token = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(token_json.to_string())
    };
    let srv = Server::start(&env);
    srv.incus(&["remote", "add", "srv", &token]).ok();
    let certs = env.json("incus-trust", &["list", "--format", "json"]);
    assert_eq!(certs[0]["name"], "old-client", "{certs}");
}

/// A client certificate written to `dir` as NAME.crt / NAME.key; (crt, key, fingerprint).
fn client_cert(dir: &Path, name: &str) -> (PathBuf, PathBuf, String) {
    let ck = rcgen::generate_simple_self_signed(vec![name.to_string()]).expect("rcgen");
    let (crt, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&crt, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    (crt, key, incus_tests::sha256_hex(&[ck.cert.der()]))
}

/// One HTTPS request presenting `cert`; (status, body).
fn curl_as(
    port: u16,
    cert: &(PathBuf, PathBuf, String),
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, Value) {
    let mut c = Command::new("curl");
    c.args([
        "-sk",
        "--max-time",
        "20",
        "-X",
        method,
        "-w",
        "\n%{http_code}",
    ])
    .arg("--cert")
    .arg(&cert.0)
    .arg("--key")
    .arg(&cert.1);
    if let Some(b) = body {
        c.args(["-H", "Content-Type: application/json", "--data-binary", b]);
    }
    c.arg(format!("https://127.0.0.1:{port}{path}"));
    parse_curl(c.output().expect("curl"))
}

/// The `[PATH]?project=P` form of a route (its own query kept).
fn in_project(path: &str, project: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}project={project}")
}

#[test]
fn restricted_and_metrics_certificates_are_confined() {
    let env = TestEnv::initialized();
    let (srv, port) = Server::start_https(&env);
    let dir = env.root();
    let admin = client_cert(dir, "admin");
    let restricted = client_cert(dir, "restricted");
    let metrics = client_cert(dir, "metrics");
    for p in ["prj-a", "prj-b"] {
        env.ok("incus", &["project", "create", p]);
        env.ok(
            "incus-profile",
            &[
                "--project",
                p,
                "device",
                "add",
                "default",
                "root",
                "disk",
                "path=/",
                "pool=default",
            ],
        );
        env.ok(
            "incus-instance",
            &["--project", p, "create", "--empty", &format!("{p}-c1")],
        );
    }
    env.ok("incus-instance", &["create", "--empty", "prj-default-c1"]);

    // Projects belong to restricted certificates only, and must exist.
    let o = env
        .run(
            "incus-trust",
            &[
                "add-certificate",
                restricted.0.to_str().unwrap(),
                "--projects",
                "prj-a",
            ],
        )
        .err(7);
    assert!(o.stderr.contains("restricted"), "{o:?}");
    let o = env
        .run(
            "incus-trust",
            &[
                "add-certificate",
                restricted.0.to_str().unwrap(),
                "--restricted",
                "--projects",
                "prj-none",
            ],
        )
        .err(3);
    assert!(o.stderr.contains("prj-none"), "{o:?}");
    assert_eq!(env.db_rows("certificates"), 0);
    // Tokens carry them too.
    env.ok(
        "incus-trust",
        &["add", "tok", "--restricted", "--projects", "prj-a"],
    );

    env.ok(
        "incus-trust",
        &[
            "add-certificate",
            admin.0.to_str().unwrap(),
            "--name",
            "admin",
        ],
    );
    env.ok(
        "incus-trust",
        &[
            "add-certificate",
            metrics.0.to_str().unwrap(),
            "--name",
            "metrics",
            "--type",
            "metrics",
        ],
    );
    env.ok(
        "incus",
        &[
            "config",
            "trust",
            "add-certificate",
            restricted.0.to_str().unwrap(),
            "--name",
            "restricted",
            "--restricted",
            "--projects",
            "prj-a",
        ],
    );
    let certs = env.json("incus-trust", &["list", "--format", "json"]);
    let by_name = |n: &str| {
        certs
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_name("restricted")["restricted"], true, "{certs}");
    assert_eq!(
        by_name("restricted")["projects"],
        serde_json::json!(["prj-a"]),
        "{certs}"
    );

    // The restricted client is trusted (without the server config) and sees its project.
    let (code, v) = curl_as(port, &restricted, "GET", "/1.0", None);
    assert_eq!(code, 200);
    assert_eq!(v["metadata"]["auth"], "trusted", "{v}");
    assert!(
        v["metadata"]["config"]
            .as_object()
            .is_none_or(|c| c.is_empty()),
        "{v}"
    );
    let (code, v) = curl_as(
        port,
        &restricted,
        "GET",
        "/1.0/instances?project=prj-a",
        None,
    );
    assert_eq!(code, 200);
    assert_eq!(
        v["metadata"],
        serde_json::json!(["/1.0/instances/prj-a-c1?project=prj-a"])
    );
    let (_, v) = curl_as(port, &restricted, "GET", "/1.0/projects?recursion=1", None);
    let names: Vec<&str> = v["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["prj-a"]);
    // Its own project's objects by another project's name are not found.
    let r = curl_as(
        port,
        &restricted,
        "GET",
        "/1.0/instances/prj-b-c1?project=prj-a",
        None,
    );
    assert_error(&r, 404);

    // Every route of upstream's API in project prj-b (and default, and all projects):
    // refused, or (operations, addressed by id) not found. Nothing readable, nothing
    // changed.
    let routes = include_str!("../data/rest-routes.txt");
    let before_instances = env.db_rows("instances");
    let before_profiles = env.db_rows("profiles");
    let mut walked = 0;
    for line in routes.lines().filter(|l| !l.starts_with('#')) {
        let (method, path) = line.split_once(' ').unwrap();
        let resource = path.split('?').next().unwrap();
        for target in [
            in_project(path, "prj-b"),
            path.to_string(),
            format!("{}&all-projects=true", in_project(path, "prj-a")),
        ] {
            let (code, v) = curl_as(port, &restricted, method, &target, Some("{}"));
            walked += 1;
            let text = v.to_string();
            assert!(
                !text.contains("prj-b-c1") && !text.contains("prj-default-c1"),
                "{method} {target}: {text}"
            );
            match (method, resource) {
                ("GET", "/" | "/1.0") => assert_eq!(code, 200, "{method} {target}: {v}"),
                (_, r) if r.starts_with("/1.0/operations/") && !target.contains("all-projects") => {
                    assert!(
                        matches!(code, 400 | 403 | 404),
                        "{method} {target}: {code} {v}"
                    )
                }
                (_, "/1.0/projects") if method == "GET" && !target.contains("all-projects") => {
                    assert_eq!(code, 200, "{method} {target}: {v}")
                }
                (_, "/1.0/storage-pools" | "/1.0/storage-pools/x1")
                    if method == "GET" && !target.contains("all-projects") =>
                {
                    assert!(code == 200 || code == 404, "{method} {target}: {code} {v}")
                }
                _ => assert_eq!(code, 403, "{method} {target}: {v}"),
            }
        }
    }
    assert!(walked > 750, "only {walked} requests");
    assert_eq!(env.db_rows("instances"), before_instances);
    assert_eq!(env.db_rows("profiles"), before_profiles);
    assert_eq!(env.db_rows("certificates"), 3);

    // Metrics reach GET /1.0 (as untrusted) and /1.0/metrics (not implemented: 404).
    let (code, v) = curl_as(port, &metrics, "GET", "/1.0", None);
    assert_eq!(code, 200);
    assert_eq!(v["metadata"]["auth"], "untrusted", "{v}");
    for (m, p) in [
        ("GET", "/1.0/instances"),
        ("GET", "/1.0/certificates"),
        ("POST", "/1.0/instances"),
    ] {
        assert_error(&curl_as(port, &metrics, m, p, Some("{}")), 403);
    }
    assert_error(&curl_as(port, &metrics, "GET", "/1.0/metrics", None), 404);
    assert_error(
        &curl_as(port, &restricted, "GET", "/1.0/metrics", None),
        403,
    );

    // No client lifts its own restriction or changes its certificate's type.
    let own = format!("/1.0/certificates/{}", restricted.2);
    let lift = serde_json::json!({"name": "restricted", "type": "client", "restricted": false});
    for m in ["PUT", "PATCH", "DELETE"] {
        assert_error(
            &curl_as(port, &restricted, m, &own, Some(&lift.to_string())),
            403,
        );
        assert_error(
            &curl_as(
                port,
                &restricted,
                m,
                &in_project(&own, "prj-a"),
                Some(&lift.to_string()),
            ),
            403,
        );
    }
    let own = format!("/1.0/certificates/{}", metrics.2);
    let promote = serde_json::json!({"name": "metrics", "type": "client"});
    assert_error(
        &curl_as(port, &metrics, "PUT", &own, Some(&promote.to_string())),
        403,
    );
    // Not even an admin turns a metrics certificate into a client one (as upstream).
    assert_error(
        &curl_as(port, &admin, "PUT", &own, Some(&promote.to_string())),
        400,
    );
    let certs = env.json("incus-trust", &["list", "--format", "json"]);
    let by_name = |n: &str| {
        certs
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_name("restricted")["restricted"], true, "{certs}");
    assert_eq!(by_name("metrics")["type"], "metrics", "{certs}");
    assert_eq!(by_name("admin")["restricted"], false, "{certs}");
    assert_eq!(
        curl_as(port, &admin, "GET", "/1.0/certificates", None).0,
        200
    );
    drop(srv);
    for p in ["prj-a", "prj-b"] {
        env.ok(
            "incus-instance",
            &["--project", p, "delete", "-f", &format!("{p}-c1")],
        );
    }
}

/// Hot-plug through the (multi-threaded) server runs in the runtime helper, not in a
/// fork of the server: disks and unix-char devices still come and go live.
#[test]
fn hot_plug_through_the_server_works() {
    let env = TestEnv::initialized();
    with_image(&env);
    let srv = Server::start(&env);
    srv.incus(&["launch", "busybox", "shp1"]).ok();
    let share = env.root().join("share");
    std::fs::create_dir(&share).unwrap();
    std::fs::write(share.join("f"), "shared\n").unwrap();
    let exec = |cmd: &str| srv.incus(&["exec", "shp1", "--", "sh", "-c", cmd]);
    let src = format!("source={}", share.display());
    srv.incus(&[
        "config",
        "device",
        "add",
        "shp1",
        "data",
        "disk",
        &src,
        "path=/mnt/data",
    ])
    .ok();
    assert_eq!(exec("cat /mnt/data/f").ok().stdout, "shared\n");
    srv.incus(&[
        "config",
        "device",
        "add",
        "shp1",
        "nul",
        "unix-char",
        "source=/dev/null",
        "path=/dev/hp-null",
    ])
    .ok();
    exec("test -c /dev/hp-null").ok();
    srv.incus(&["config", "device", "remove", "shp1", "data"])
        .ok();
    srv.incus(&["config", "device", "remove", "shp1", "nul"])
        .ok();
    exec("test -e /mnt/data/f").code(1);
    exec("test -c /dev/hp-null").code(1);
    // A failing step reports the helper's error.
    let o = srv
        .incus(&[
            "config",
            "device",
            "add",
            "shp1",
            "bad",
            "disk",
            "source=/nonexistent-hp",
            "path=/mnt/bad",
        ])
        .code(1);
    assert!(!o.stderr.trim().is_empty(), "{o:?}");
    srv.incus(&["delete", "-f", "shp1"]).ok();
}

/// Starts incus-serve with HTTPS on a free port and extra environment; returns the port.
fn https_server<'a>(env: &'a TestEnv, vars: &[(&str, &str)]) -> (Server<'a>, u16) {
    let port = free_port();
    env.ok(
        "incus-instance",
        &[
            "config",
            "set",
            &format!("core.https_address=127.0.0.1:{port}"),
        ],
    );
    let vars: Vec<(&str, &std::ffi::OsStr)> = vars
        .iter()
        .map(|(k, v)| (*k, std::ffi::OsStr::new(*v)))
        .collect();
    (Server::start_with(env, &vars), port)
}

/// Blocks until the server closes `s` (EOF or reset) or `limit` passes; how long it took,
/// or None when it was still open at the limit.
fn closed_within(
    s: &mut impl std::io::Read,
    limit: std::time::Duration,
) -> Option<std::time::Duration> {
    let start = std::time::Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if start.elapsed() >= limit {
                    return None;
                }
            }
            Err(_) => return Some(start.elapsed()),
        }
    }
}

#[test]
fn silent_and_trickling_clients_are_cut_off() {
    use std::io::Write;
    use std::time::Duration;
    let env = TestEnv::initialized();
    let (srv, port) = https_server(
        &env,
        &[
            ("INCUS_SERVE_HANDSHAKE_TIMEOUT", "2"),
            ("INCUS_SERVE_HEADER_TIMEOUT", "2"),
        ],
    );
    // Connects over TCP and never starts the TLS handshake.
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let took = closed_within(&mut tcp, Duration::from_secs(10))
        .expect("a silent TCP client was still connected after 10 s");
    assert!(
        took >= Duration::from_millis(1500),
        "closed too early: {took:?}"
    );
    assert!(took < Duration::from_secs(6), "{took:?}");

    // Starts a request and trickles its header, one line at a time, never ending it.
    let mut unix = std::os::unix::net::UnixStream::connect(&srv.socket).unwrap();
    unix.write_all(b"GET /1.0 HTTP/1.1\r\nHost: incus\r\n")
        .unwrap();
    let start = std::time::Instant::now();
    let cut = loop {
        // The pace of an attacker, not a synchronisation.
        std::thread::sleep(Duration::from_millis(200));
        if unix.write_all(b"X-Slow: a\r\n").is_err() {
            break start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "a trickled header was still read after 10 s"
        );
    };
    assert!(cut < Duration::from_secs(6), "{cut:?}");

    // Well-behaved clients are served as before.
    assert_eq!(srv.curl("GET", "/1.0", None).0, 200);
}

#[test]
fn connections_over_the_cap_are_closed_at_once() {
    use std::time::Duration;
    let env = TestEnv::initialized();
    let (srv, port) = https_server(
        &env,
        &[
            ("INCUS_SERVE_MAX_CONNECTIONS", "4"),
            ("INCUS_SERVE_HANDSHAKE_TIMEOUT", "60"),
        ],
    );
    let connect = || {
        let s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        s
    };
    let mut held: Vec<_> = (0..4).map(|_| connect()).collect();
    // The fifth is closed at once, whenever the server has taken the first four.
    poll(20, "the fifth connection closed at once", || {
        let mut extra = connect();
        closed_within(&mut extra, Duration::from_millis(500)).map(|_| ())
    });
    // The four stay open.
    for s in held.iter_mut() {
        assert!(closed_within(s, Duration::from_millis(300)).is_none());
    }
    assert!(srv.log().contains("refusing"), "{}", srv.log());
    // One goes: a real client gets in again.
    held.pop();
    poll(20, "a client served once a slot is free", || {
        let o = Command::new("curl")
            .args([
                "-sk",
                "--max-time",
                "5",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ])
            .arg(format!("https://127.0.0.1:{port}/1.0"))
            .output()
            .unwrap();
        (String::from_utf8_lossy(&o.stdout) == "200").then_some(())
    });
}

fn token_of(v: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(v.to_string())
}

#[test]
fn a_burst_of_bad_token_redemptions_is_throttled() {
    let env = TestEnv::initialized();
    let (srv, port) = https_server(&env, &[]);
    let good = env
        .ok("incus-trust", &["add", "legit", "-q"])
        .line()
        .to_string();
    let mut bad: Value = {
        use base64::Engine;
        serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(good.trim())
                .unwrap(),
        )
        .unwrap()
    };
    let cert = client_cert(env.root(), "guesser");
    let redeem = |token: &str, from: &str| {
        let body = serde_json::json!({"type": "client", "trust_token": token});
        let o = Command::new("curl")
            .args(["-sk", "--max-time", "20", "--interface", from, "-X", "POST"])
            .args(["-w", "\n%{http_code}", "--cert"])
            .arg(&cert.0)
            .arg("--key")
            .arg(&cert.1)
            .args(["-H", "Content-Type: application/json", "--data-binary"])
            .arg(body.to_string())
            .arg(format!("https://127.0.0.1:{port}/1.0/certificates"))
            .output()
            .expect("curl");
        parse_curl(o)
    };
    let mut codes = vec![];
    for i in 0..20 {
        bad["secret"] = Value::String(format!("{i:064x}"));
        codes.push(redeem(&token_of(&bad), "127.0.0.1").0);
    }
    assert!(codes.iter().all(|c| *c == 403 || *c == 429), "{codes:?}");
    let throttled = codes.iter().filter(|c| **c == 429).count();
    assert!(
        throttled >= 10,
        "only {throttled} of 20 throttled: {codes:?}"
    );
    assert!(srv.log().contains("throttling"), "{}", srv.log());
    // The throttled address is refused even with the right token...
    let r = redeem(&good, "127.0.0.1");
    assert_eq!(r.0, 429, "{r:?}");
    assert_eq!(r.1["error_code"], 429, "{r:?}");
    // ...which still works from another address.
    let r = redeem(&good, "127.0.0.2");
    assert_eq!(r.0, 201, "{r:?}");
    assert_eq!(env.db_rows("certificates"), 1);
}

/// VmHWM (peak resident set) of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM")
}

#[test]
fn file_pull_streams_without_buffering_the_file() {
    let env = TestEnv::initialized();
    with_image(&env);
    let srv = Server::start(&env);
    srv.incus(&["init", "busybox", "fstream"]).ok();
    let size: u64 = 200 << 20;
    let big = env
        .incus_dir
        .join("storage-pools/default/containers/fstream/rootfs/root/big");
    std::fs::File::create(&big).unwrap().set_len(size).unwrap();
    let before = peak_rss_kib(srv.child.id());
    let o = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "120",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{size_download}",
        ])
        .arg("--unix-socket")
        .arg(&srv.socket)
        .arg("http://incus/1.0/instances/fstream/files?path=/root/big")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("200 {size}"),
        "{o:?}"
    );
    let after = peak_rss_kib(srv.child.id());
    eprintln!("incus-serve VmHWM: {before} KiB before, {after} KiB after a 200 MiB pull");
    assert!(
        after < before + 64 * 1024,
        "the server's peak RSS grew from {before} to {after} KiB for a 200 MiB file"
    );
    srv.incus(&["delete", "fstream"]).ok();
}

/// A running instance's runtime state (spec.json carries its environment) and console
/// log are root's only.
#[test]
fn instance_runtime_files_are_private() {
    let env = TestEnv::initialized();
    open_root(&env);
    with_image(&env);
    let _guard = incus_tests::Running(&env);
    env.ok(
        "incus",
        &[
            "launch",
            "busybox",
            "rtp1",
            "-c",
            "environment.API_KEY=s3cr3t-rtp1",
        ],
    );
    let run = env.run_dir.join("instances/rtp1");
    let spec = run.join("spec.json");
    assert!(std::fs::read_to_string(&spec)
        .unwrap()
        .contains("s3cr3t-rtp1"));
    assert_eq!(mode(&spec), 0o600);
    let o = as_nobody(&["cat", spec.to_str().unwrap()]);
    assert!(!o.status.success(), "nobody read spec.json");
    let o = as_nobody(&["grep", "-rl", "s3cr3t-rtp1", env.run_dir.to_str().unwrap()]);
    assert!(
        o.stdout.is_empty(),
        "nobody found the secret in {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let logs = env.incus_dir.join("logs/rtp1");
    assert_eq!(mode(&logs), 0o700);
    let o = as_nobody(&["ls", logs.to_str().unwrap()]);
    assert!(!o.status.success(), "nobody listed the instance's logs");
    env.ok("incus", &["delete", "-f", "rtp1"]);
}

/// The exec `signal` control (sent through the pidfd of the tool the server spawned):
/// SIGTERM to the upstream client reaches the command in the container.
#[test]
fn exec_signal_control_reaches_the_command() {
    let env = TestEnv::initialized();
    with_image(&env);
    let srv = Server::start(&env);
    srv.incus(&["launch", "busybox", "sig1"]).ok();
    let conf = env.root().join("client-conf");
    let mut client = Command::new(UPSTREAM)
        .args(["exec", "sig1", "-T", "--", "sleep", "300"])
        .env("INCUS_DIR", &env.incus_dir)
        .env("INCUS_CONF", &conf)
        .env("HOME", env.root())
        .env_remove("INCUS_PROJECT")
        .env_remove("INCUS_REMOTE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    poll(30, "sleep running in the container", || {
        let o = srv.incus(&["exec", "sig1", "--", "pidof", "sleep"]);
        (o.code == 0 && !o.stdout.trim().is_empty()).then_some(())
    });
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(client.id() as i32, libc::SIGTERM) };
    let status = poll(30, "the client to end after SIGTERM", || {
        client.try_wait().unwrap()
    });
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.code(),
        Some(128 + 15),
        "{status:?} {:?}",
        status.signal()
    );
    poll(30, "sleep gone from the container", || {
        srv.incus(&["exec", "sig1", "--", "pidof", "sleep"])
            .stdout
            .trim()
            .is_empty()
            .then_some(())
    });
    srv.incus(&["delete", "-f", "sig1"]).ok();
}

#[test]
fn one_address_cannot_take_every_connection() {
    use std::time::Duration;
    let env = TestEnv::initialized();
    let (srv, port) = https_server(
        &env,
        &[
            ("INCUS_SERVE_MAX_PER_ADDRESS", "3"),
            ("INCUS_SERVE_HANDSHAKE_TIMEOUT", "60"),
        ],
    );
    let connect = || {
        let s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        s
    };
    let mut held: Vec<_> = (0..3).map(|_| connect()).collect();
    poll(
        20,
        "a fourth connection from the same address closed at once",
        || {
            let mut extra = connect();
            closed_within(&mut extra, Duration::from_millis(500)).map(|_| ())
        },
    );
    for s in held.iter_mut() {
        assert!(closed_within(s, Duration::from_millis(300)).is_none());
    }
    assert!(srv.log().contains("limit per address"), "{}", srv.log());
    // Another address is served meanwhile.
    let o = Command::new("curl")
        .args(["-sk", "--max-time", "10", "--interface", "127.0.0.2"])
        .args(["-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("https://127.0.0.1:{port}/1.0"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "200");
}
