//! incus-serve: the REST API on the unix socket and HTTPS, driven with curl, the real
//! upstream client (`incus` from incus-client, Debian bookworm-backports; `make deps`
//! installs it) and the trust store. Each test runs its own server on a temporary
//! installation and kills it (and stops its containers) on drop.

use incus_tests::serve::*;
use incus_tests::{busybox_images, TestEnv};
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn envelopes_and_errors() {
    let env = TestEnv::initialized();
    let srv = Server::start(&env);

    let (code, v) = srv.curl("GET", "/", None);
    assert_eq!(
        (code, v["metadata"].clone()),
        (200, serde_json::json!(["/1.0"]))
    );

    let (code, v) = srv.curl("GET", "/1.0", None);
    assert_eq!(code, 200);
    for key in [
        "type",
        "status",
        "status_code",
        "operation",
        "error_code",
        "error",
        "metadata",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["type"], "sync");
    assert_eq!(v["status_code"], 200);
    assert_eq!(v["metadata"]["auth"], "trusted");
    assert_eq!(v["metadata"]["api_version"], "1.0");

    // Gone upstream, gone here.
    assert_error(&srv.curl("GET", "/1.0/containers", None), 404);
    assert_error(&srv.curl("GET", "/1.0/virtual-machines", None), 404);
    assert_error(&srv.curl("GET", "/1.0/instances/nope", None), 404);

    // Bad input: a clear 400 and nothing changed.
    let before = env.db_rows("instances");
    assert_error(
        &srv.curl("POST", "/1.0/instances", Some("{\"name\": ")),
        400,
    );
    assert_error(
        &srv.curl(
            "POST",
            "/1.0/instances/nope/exec",
            Some("{\"command\":[\"true\"],\"bogus\":1}"),
        ),
        400,
    );
    assert_eq!(env.db_rows("instances"), before);
    let r = srv.curl("PUT", "/1.0", Some(r#"{"config":{"no.such.key":"1"}}"#));
    assert_error(&r, 400);
    assert_error(&srv.curl("GET", "/1.0/instances?project=other", None), 404);
    assert_error(&srv.curl("PATCH", "/1.0/events", None), 405);
    // Not a websocket request, and an oversized body: envelopes too.
    assert_error(&srv.curl("GET", "/1.0/events", None), 400);
    let big = format!("{{\"name\":\"{}\"}}", "a".repeat(5 << 20));
    let big_file = env.root().join("big.json");
    std::fs::write(&big_file, big).unwrap();
    let o = Command::new("curl")
        .args(["-s", "--unix-socket"])
        .arg(&srv.socket)
        .args(["-X", "POST", "-w", "\n%{http_code}", "--data-binary"])
        .arg(format!("@{}", big_file.display()))
        .arg("http://incus/1.0/profiles")
        .output()
        .unwrap();
    assert_error(&parse_curl(o), 413);

    // Server config: PATCH merges and is what the tools see.
    let (code, _) = srv.curl(
        "PATCH",
        "/1.0",
        Some(r#"{"config":{"images.auto_update_interval":"7"}}"#),
    );
    assert_eq!(code, 200);
    assert_eq!(
        env.ok(
            "incus-instance",
            &["config", "get", "images.auto_update_interval"]
        )
        .line(),
        "7"
    );

    // Profiles: create (201 + Location), list at both recursion levels, conflict, delete.
    let (code, _) = srv.curl(
        "POST",
        "/1.0/profiles",
        Some(r#"{"name":"p1","config":{"limits.cpu":"1"}}"#),
    );
    assert_eq!(code, 201);
    assert_error(
        &srv.curl("POST", "/1.0/profiles", Some(r#"{"name":"p1"}"#)),
        409,
    );
    let (_, v) = srv.curl("GET", "/1.0/profiles", None);
    assert!(
        v["metadata"]
            .as_array()
            .unwrap()
            .contains(&Value::from("/1.0/profiles/p1")),
        "{v}"
    );
    let (_, v) = srv.curl("GET", "/1.0/profiles/p1", None);
    assert_eq!(v["metadata"]["config"]["limits.cpu"], "1");
    let (code, _) = srv.curl(
        "PATCH",
        "/1.0/profiles/p1",
        Some(r#"{"config":{"limits.memory":"64MiB"}}"#),
    );
    assert_eq!(code, 200);
    let p = env.json("incus-profile", &["show", "p1", "--format", "json"]);
    assert_eq!(p["config"]["limits.cpu"], "1", "{p}");
    assert_eq!(p["config"]["limits.memory"], "64MiB", "{p}");
    assert_eq!(srv.curl("DELETE", "/1.0/profiles/p1", None).0, 200);
    assert_error(&srv.curl("DELETE", "/1.0/profiles/default", None), 403);

    // Storage pools and projects (default only).
    let (_, v) = srv.curl("GET", "/1.0/storage-pools?recursion=1", None);
    assert_eq!(v["metadata"][0]["name"], "default", "{v}");
    let (_, v) = srv.curl("GET", "/1.0/projects", None);
    assert_eq!(v["metadata"], serde_json::json!(["/1.0/projects/default"]));
    assert_error(&srv.curl("GET", "/1.0/projects/other", None), 404);

    // Operations: an async create of a bad image fails as an operation with its error.
    let (code, v) = srv.curl(
        "POST",
        "/1.0/instances",
        Some(r#"{"name":"x1","source":{"type":"image","alias":"no-such-image"}}"#),
    );
    assert_eq!(code, 202, "{v}");
    assert_eq!(v["type"], "async");
    assert_eq!(v["status_code"], 100);
    let op = v["operation"].as_str().unwrap().to_string();
    assert!(op.starts_with("/1.0/operations/"), "{op}");
    let (code, w) = srv.curl("GET", &format!("{op}/wait?timeout=30"), None);
    assert_eq!(code, 200);
    assert_eq!(w["metadata"]["status"], "Failure", "{w}");
    assert!(
        w["metadata"]["err"]
            .as_str()
            .unwrap()
            .contains("no-such-image"),
        "{w}"
    );
    let (_, l) = srv.curl("GET", "/1.0/operations", None);
    assert!(
        l["metadata"]["failure"]
            .as_array()
            .unwrap()
            .contains(&Value::from(op.clone())),
        "{l}"
    );
    assert_eq!(env.db_rows("instances"), before);
}

#[test]
fn upstream_client_drives_instances() {
    upstream_present();
    let env = TestEnv::initialized();
    with_image(&env);
    let srv = Server::start(&env);

    srv.incus(&["launch", "busybox", "c1"]).ok();
    let list = srv.incus(&["list", "--format", "json"]).ok().json();
    assert_eq!(list[0]["name"], "c1", "{list}");
    assert_eq!(list[0]["status"], "Running", "{list}");
    // The same answer as our own tool.
    let ours = env.json("incus-instance", &["list", "--format", "json"]);
    assert_eq!(ours[0]["name"], list[0]["name"]);
    assert_eq!(ours[0]["expanded_config"], list[0]["expanded_config"]);

    // Recursion levels and filters over the socket.
    let (_, v) = srv.curl("GET", "/1.0/instances", None);
    assert_eq!(v["metadata"], serde_json::json!(["/1.0/instances/c1"]));
    let (_, v) = srv.curl("GET", "/1.0/instances?recursion=1", None);
    assert!(v["metadata"][0].get("state").is_none(), "{v}");
    let (_, v) = srv.curl("GET", "/1.0/instances?recursion=2", None);
    assert!(
        v["metadata"][0]["state"]["pid"].as_i64().unwrap() > 0,
        "{v}"
    );
    let (_, v) = srv.curl(
        "GET",
        "/1.0/instances?recursion=1&filter=status+eq+Stopped",
        None,
    );
    assert_eq!(v["metadata"], serde_json::json!([]));
    let (_, v) = srv.curl("GET", "/1.0/instances?recursion=1&filter=name+eq+c1", None);
    assert_eq!(v["metadata"][0]["name"], "c1");

    // exec, non-interactive: stdout, stderr and the exit code apart; stdin reaches it.
    let o = srv.incus(&[
        "exec",
        "c1",
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    assert_eq!(o.code, 7, "{o:?}");
    assert_eq!(o.stdout, "out\n");
    assert!(o.stderr.contains("err"), "{o:?}");
    let input = env.root().join("stdin.txt");
    std::fs::write(&input, "x".repeat(100_000)).unwrap();
    let stdin = Stdio::from(std::fs::File::open(&input).unwrap());
    let o = srv.incus_stdin(&["exec", "c1", "-T", "--", "wc", "-c"], stdin);
    assert_eq!(o.code, 0, "{o:?}");
    assert_eq!(o.stdout.trim(), "100000", "{o:?}");

    // exec with a pty: `script` gives the client a terminal.
    let o = Command::new("script")
        .args([
            "-qec",
            &format!("{UPSTREAM} exec c1 -- sh -c 'tty; exit 3'"),
            "/dev/null",
        ])
        .env("INCUS_DIR", &env.incus_dir)
        .env("INCUS_CONF", env.root().join("client-conf"))
        .env("HOME", env.root())
        .stdin(Stdio::null())
        .output()
        .expect("script (bsdutils)");
    let o = to_output("script incus exec -t".into(), o);
    assert_eq!(o.code, 3, "{o:?}");
    assert!(o.stdout.contains("/dev/pts/"), "{o:?}");

    // config set is a live change the tools see.
    srv.incus(&["config", "set", "c1", "limits.memory=64MiB"])
        .ok();
    assert_eq!(
        srv.incus(&["config", "get", "c1", "limits.memory"])
            .ok()
            .line(),
        "64MiB"
    );
    assert_eq!(
        env.ok("incus-instance", &["config", "get", "c1", "limits.memory"])
            .line(),
        "64MiB"
    );
    // The upstream client's unset PUTs the key with "": the key is gone, not empty.
    srv.incus(&["config", "set", "c1", "user.tmp=1"]).ok();
    srv.incus(&["config", "unset", "c1", "user.tmp"]).ok();
    let shown = env.json("incus-instance", &["show", "c1", "--format", "json"]);
    assert!(
        shown["config"].get("user.tmp").is_none(),
        "{}",
        shown["config"]
    );

    let images = srv.incus(&["image", "list", "--format", "csv"]).ok();
    assert!(images.stdout.contains("busybox"), "{images:?}");
    let profiles = srv.incus(&["profile", "list", "--format", "csv"]).ok();
    assert!(profiles.stdout.contains("default"), "{profiles:?}");
    let info = srv.incus(&["info", "c1"]).ok();
    assert!(info.stdout.contains("Status: RUNNING"), "{info:?}");
    srv.incus(&["storage", "list"]).ok();
    let q = srv.incus(&["query", "/1.0"]).ok().json();
    assert_eq!(q["api_version"], "1.0");
    srv.incus(&["console", "c1", "--show-log"]).ok();
    srv.incus(&["pause", "c1"]).ok();
    assert_eq!(
        srv.incus(&["list", "c1", "-c", "s", "-f", "csv"])
            .ok()
            .line(),
        "FROZEN"
    );
    srv.incus(&["resume", "c1"]).ok();
    srv.incus(&["restart", "c1", "-f"]).ok();
    assert_eq!(
        srv.incus(&["list", "c1", "-c", "s", "-f", "csv"])
            .ok()
            .line(),
        "RUNNING"
    );

    // Images: export, delete and import again by upload.
    let exported = env.root().join("exported");
    srv.incus(&["image", "export", "busybox", exported.to_str().unwrap()])
        .ok();
    let img = busybox_images("serve");
    let file = std::fs::read_dir(env.root())
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("exported"))
        .expect("exported file");
    assert_eq!(
        std::fs::read(file.path()).unwrap(),
        std::fs::read(&img.unified).unwrap()
    );
    srv.incus(&["image", "delete", "busybox"]).ok();
    assert!(env
        .json("incus-image", &["list", "--format", "json"])
        .as_array()
        .unwrap()
        .is_empty());
    srv.incus(&[
        "image",
        "import",
        img.unified.to_str().unwrap(),
        "--alias",
        "busybox",
    ])
    .ok();
    assert_eq!(
        env.json("incus-image", &["list", "--format", "json"])[0]["aliases"][0]["name"],
        "busybox"
    );
    // A split image goes up as multipart.
    srv.incus(&[
        "image",
        "import",
        img.split_meta.to_str().unwrap(),
        img.split_rootfs.to_str().unwrap(),
        "--alias",
        "split1",
    ])
    .ok();
    let split = env.json("incus-image", &["show", "split1", "--format", "json"]);
    assert_eq!(split["aliases"][0]["name"], "split1", "{split}");

    srv.incus(&["stop", "c1", "-f"]).ok();
    assert_eq!(
        env.json("incus-instance", &["list", "--format", "json"])[0]["status"],
        "Stopped"
    );
    // Rename (POST /1.0/instances/NAME) of the stopped instance, then back.
    srv.incus(&["rename", "c1", "c9"]).ok();
    assert_eq!(env.instance_names(), vec!["c9".to_string()]);
    srv.incus(&["move", "c9", "c1"]).ok();
    srv.incus(&["start", "c1"]).ok();
    // delete refuses a running instance; -f stops it first.
    srv.incus(&["delete", "c1"]).code(1);
    srv.incus(&["delete", "-f", "c1"]).ok();
    assert!(env.instance_names().is_empty());
}

#[test]
fn exec_record_output() {
    let env = TestEnv::initialized();
    with_image(&env);
    env.ok("incus-instance", &["launch", "busybox", "r1"]);
    let srv = Server::start(&env);
    let (code, v) = srv.curl(
        "POST",
        "/1.0/instances/r1/exec",
        Some(r#"{"command":["sh","-c","echo hi; echo oops >&2; exit 5"],"record-output":true,"wait-for-websocket":false}"#),
    );
    assert_eq!(code, 202, "{v}");
    let op = v["operation"].as_str().unwrap();
    let (_, w) = srv.curl("GET", &format!("{op}/wait"), None);
    assert_eq!(w["metadata"]["status"], "Success", "{w}");
    assert_eq!(w["metadata"]["metadata"]["return"], 5, "{w}");
    let out = w["metadata"]["metadata"]["output"]["1"]
        .as_str()
        .unwrap()
        .to_string();
    let err = w["metadata"]["metadata"]["output"]["2"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(srv.curl("GET", &out, None).1, Value::String("hi\n".into()));
    assert_eq!(
        srv.curl("GET", &err, None).1,
        Value::String("oops\n".into())
    );
    // A missing command fails (upstream says 127; incus-instance exec says 1 for now).
    let (_, v) = srv.curl(
        "POST",
        "/1.0/instances/r1/exec",
        Some(r#"{"command":["/no/such"]}"#),
    );
    let (_, w) = srv.curl(
        "GET",
        &format!("{}/wait", v["operation"].as_str().unwrap()),
        None,
    );
    assert_eq!(w["metadata"]["status"], "Success", "{w} {}", srv.log());
    assert_ne!(w["metadata"]["metadata"]["return"], 0, "{w}");
    // Log names cannot leave the log directory.
    let (code, _) = srv.curl(
        "GET",
        "/1.0/instances/r1/logs/exec-output/..%2F..%2Fx",
        None,
    );
    assert!(code == 400 || code == 404, "{code}");
}

#[test]
fn events_from_tools_reach_the_monitor() {
    upstream_present();
    let env = TestEnv::initialized();
    let srv = Server::start(&env);
    let out_path = env.root().join("monitor.out");
    let monitor = Command::new(UPSTREAM)
        .args(["monitor", "--type", "lifecycle", "--format", "json"])
        .env("INCUS_DIR", &env.incus_dir)
        .env("INCUS_CONF", env.root().join("client-conf"))
        .env("HOME", env.root())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("incus monitor");
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _guard = Kill(monitor);
    // A tool run from a shell (not through the server) writes the event; the monitor
    // may connect late, so keep making profiles until one shows up.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 0;
    loop {
        n += 1;
        env.ok("incus-profile", &["create", &format!("ev{n}")]);
        let text = std::fs::read_to_string(&out_path).unwrap_or_default();
        if text.contains("profile-created") && text.contains("/1.0/profiles/ev") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no lifecycle event seen: {text:?} {}",
            srv.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn curl_https(port: u16, method: &str, path: &str) -> (u16, Value) {
    let o = Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "20",
            "-X",
            method,
            "-w",
            "\n%{http_code}",
        ])
        .arg(format!("https://127.0.0.1:{port}{path}"))
        .output()
        .expect("curl");
    parse_curl(o)
}

#[test]
fn https_trust_token_with_the_upstream_client() {
    upstream_present();
    let env = TestEnv::initialized();
    let (srv, port) = Server::start_https(&env);
    assert!(env.incus_dir.join("server.crt").is_file());

    // Untrusted: only GET /1.0, without environment; 403 everywhere else.
    let (code, v) = curl_https(port, "GET", "/1.0");
    assert_eq!(code, 200);
    assert_eq!(v["metadata"]["auth"], "untrusted");
    assert!(v["metadata"].get("environment").is_none(), "{v}");
    for (m, p) in [
        ("GET", "/1.0/instances"),
        ("POST", "/1.0/instances"),
        ("GET", "/1.0/instances/c1"),
        ("DELETE", "/1.0/instances/c1"),
        ("PUT", "/1.0/instances/c1/state"),
        ("POST", "/1.0/instances/c1/exec"),
        ("GET", "/1.0/images"),
        ("GET", "/1.0/images/aliases"),
        ("GET", "/1.0/profiles"),
        ("GET", "/1.0/storage-pools"),
        ("GET", "/1.0/projects"),
        ("GET", "/1.0/certificates"),
        ("GET", "/1.0/operations"),
        ("GET", "/1.0/events"),
        ("PUT", "/1.0"),
        ("PATCH", "/1.0"),
        ("GET", "/1.0/nope"),
    ] {
        assert_error(&curl_https(port, m, p), 403);
    }

    // A join token made by the tool, redeemed by the upstream client.
    let token = env
        .ok("incus-trust", &["add", "laptop", "-q"])
        .line()
        .to_string();
    assert_eq!(
        env.ok(
            "incus",
            &["config", "trust", "list-tokens", "--format", "csv"]
        )
        .stdout
        .lines()
        .count(),
        1
    );
    srv.incus(&["remote", "add", "srv", &token]).ok();
    let list = srv.incus(&["list", "srv:", "--format", "json"]).ok().json();
    assert_eq!(list, serde_json::json!([]));
    let certs = env.json("incus-trust", &["list", "--format", "json"]);
    assert_eq!(certs[0]["name"], "laptop", "{certs}");
    assert!(env
        .ok("incus-trust", &["list-tokens", "--format", "csv"])
        .stdout
        .is_empty());
    // Single use.
    srv.incus(&["remote", "add", "srv2", &token]).code(1);

    // The certificate the client made is what the server trusts (curl presents it).
    let conf = env.root().join("client-conf");
    let with_cert = || {
        let o = Command::new("curl")
            .args(["-sk", "--max-time", "20", "-w", "\n%{http_code}", "--cert"])
            .arg(conf.join("client.crt"))
            .arg("--key")
            .arg(conf.join("client.key"))
            .arg(format!("https://127.0.0.1:{port}/1.0/instances"))
            .output()
            .expect("curl");
        parse_curl(o)
    };
    assert_eq!(with_cert().0, 200);

    // Revoked: the client is untrusted again.
    let fp = certs[0]["fingerprint"].as_str().unwrap().to_string();
    env.ok("incus-trust", &["remove", &fp[..12]]);
    srv.incus(&["list", "srv:"]).code(1);
    assert_error(&with_cert(), 403);

    // An expired token is refused and dropped.
    env.ok(
        "incus-instance",
        &["config", "set", "core.remote_token_expiry=1S"],
    );
    let token = env
        .ok("incus-trust", &["add", "late", "-q"])
        .line()
        .to_string();
    let expires: String = env.json("incus-trust", &["list-tokens", "--format", "json"])[0]
        ["expires_at"]
        .as_str()
        .unwrap()
        .to_string();
    // Waits for the clock, not for another process.
    incus_tests::poll(10, "the token's expiry time", || chrono_now_after(&expires));
    srv.incus(&["remote", "add", "srv3", &token]).code(1);
    assert!(env
        .ok("incus-trust", &["list-tokens", "--format", "csv"])
        .stdout
        .is_empty());

    // The upstream client manages tokens through the API (token operations).
    let t = srv.incus(&["config", "trust", "add", "web", "-q"]).ok();
    assert!(!t.line().is_empty());
    let listed = env.ok("incus-trust", &["list-tokens", "--format", "csv"]);
    assert!(listed.stdout.starts_with("web,"), "{listed:?}");
    let up = srv
        .incus(&["config", "trust", "list-tokens", "--format", "csv"])
        .ok();
    assert!(up.stdout.starts_with("web,"), "{up:?}");
    srv.incus(&["config", "trust", "revoke-token", "web"]).ok();
    assert!(env
        .ok("incus-trust", &["list-tokens", "--format", "csv"])
        .stdout
        .is_empty());

    // Bad tool input.
    env.run("incus-trust", &["remove", "ffff"]).err(3);
    env.run(
        "incus-trust",
        &["add", "x", "--projects", "other", "--restricted"],
    )
    .err(3);
}

/// Some(()) once the wall clock is past an RFC 3339 UTC time (`...Z`).
fn chrono_now_after(t: &str) -> Option<()> {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .ok()?;
    let now = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (now.as_str() > t).then_some(())
}

const PYLXD_SCRIPT: &str = r#"
import json, sys, urllib.parse, pylxd
c = pylxd.Client(endpoint="http+unix://" + urllib.parse.quote(sys.argv[1], safe=""))
out = {"trusted": c.trusted}
inst = c.instances.create({"name": "py1", "source": {"type": "image", "alias": "busybox"}}, wait=True)
inst.start(wait=True)
out["running"] = c.instances.get("py1").status
r = inst.execute(["sh", "-c", "echo hello; echo oops >&2; exit 3"])
out["exec"] = [r.exit_code, r.stdout, r.stderr]
inst.stop(wait=True, force=True)
out["stopped"] = c.instances.get("py1").status
inst.delete(wait=True)
out["after"] = [i.name for i in c.instances.all()]
print(json.dumps(out))
"#;

#[test]
fn pylxd_basics() {
    let python = pylxd_python();
    let env = TestEnv::initialized();
    with_image(&env);
    let srv = Server::start(&env);
    let o = Command::new(python)
        .args(["-c", PYLXD_SCRIPT])
        .arg(&srv.socket)
        .output()
        .expect("python");
    let o = to_output("pylxd script".into(), o).ok();
    let v = o.json();
    assert_eq!(
        v,
        serde_json::json!({
            "trusted": true,
            "running": "Running",
            "exec": [3, "hello\n", "oops\n"],
            "stopped": "Stopped",
            "after": [],
        }),
        "{}",
        srv.log()
    );
}

#[test]
fn console_websocket_with_the_upstream_client() {
    upstream_present();
    let env = TestEnv::initialized();
    with_image(&env);
    env.ok("incus-instance", &["launch", "busybox", "k1"]);
    let srv = Server::start(&env);
    let input = env.root().join("console.in");
    std::fs::write(&input, "echo MARK$((40+2))\n").unwrap();
    let out_path = env.root().join("console.out");
    let child = Command::new("script")
        .args(["-qec", &format!("{UPSTREAM} console k1"), "/dev/null"])
        .env("INCUS_DIR", &env.incus_dir)
        .env("INCUS_CONF", env.root().join("client-conf"))
        .env("HOME", env.root())
        .stdin(std::fs::File::open(&input).unwrap())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (bsdutils)");
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut client = Kill(child);
    // What was typed reached the console's shell, and its answer came back.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&out_path).unwrap_or_default();
        if text.contains("MARK42") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no console output: {text:?} {}",
            srv.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The client going away ends the console operation.
    let _ = client.0.kill();
    let _ = client.0.wait();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, v) = srv.curl("GET", "/1.0/operations?recursion=1", None);
        let done = v["metadata"]["success"]
            .as_array()
            .is_some_and(|ops| ops.iter().any(|o| o["description"] == "Showing console"));
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "console op still running: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // A stopped instance has no console: a plain error, no operation.
    env.ok("incus-instance", &["stop", "-f", "k1"]);
    assert_error(
        &srv.curl("POST", "/1.0/instances/k1/console", Some("{}")),
        400,
    );
    // The log outlives the run; DELETE empties it (upstream's `console` log DELETE).
    let (code, log, _) = curl_raw(&srv, &[], "/1.0/instances/k1/console");
    assert_eq!(code, 200);
    assert!(String::from_utf8_lossy(&log).contains("MARK42"));
    let (code, v) = srv.curl("DELETE", "/1.0/instances/k1/console", None);
    assert_eq!(code, 200, "{v}");
    let (code, log, _) = curl_raw(&srv, &[], "/1.0/instances/k1/console");
    assert_eq!((code, log.len()), (200, 0));
    assert_error(
        &srv.curl("DELETE", "/1.0/instances/nope/console", None),
        404,
    );
}

/// curl with raw bytes out (file pulls).
fn curl_raw(srv: &Server, args: &[&str], path: &str) -> (u16, Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    let headers = dir.path().join("h");
    let body = dir.path().join("b");
    let o = Command::new("curl")
        .args(["-s", "--unix-socket"])
        .arg(&srv.socket)
        .args(args)
        .arg("-D")
        .arg(&headers)
        .arg("-o")
        .arg(&body)
        .args(["-w", "%{http_code}"])
        .arg(format!("http://incus{path}"))
        .output()
        .unwrap();
    let code = String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    (
        code,
        std::fs::read(&body).unwrap_or_default(),
        std::fs::read_to_string(&headers)
            .unwrap_or_default()
            .to_lowercase(),
    )
}

#[test]
fn files_api_stays_in_the_rootfs() {
    let env = TestEnv::initialized();
    with_image(&env);
    env.ok("incus-instance", &["create", "busybox", "f1"]);
    let srv = Server::start(&env);
    let rootfs = env
        .incus_dir
        .join("storage-pools/default/containers/f1/rootfs");
    let url = |p: &str| format!("/1.0/instances/f1/files?path={p}");

    // Push with owner and mode; the bytes and the ownership land in the rootfs.
    let (code, _, _) = curl_raw(
        &srv,
        &[
            "-X",
            "POST",
            "--data-binary",
            "hello\n",
            "-H",
            "X-Incus-uid: 1000",
            "-H",
            "X-Incus-gid: 1001",
            "-H",
            "X-Incus-mode: 0600",
        ],
        &url("/root/f.txt"),
    );
    assert_eq!(code, 200);
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(rootfs.join("root/f.txt")).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1000, 1001, 0o600));
    curl_raw(
        &srv,
        &[
            "-X",
            "POST",
            "--data-binary",
            "more\n",
            "-H",
            "X-Incus-write: append",
        ],
        &url("/root/f.txt"),
    );
    let (code, body, headers) = curl_raw(&srv, &[], &url("/root/f.txt"));
    assert_eq!((code, body.as_slice()), (200, b"hello\nmore\n".as_slice()));
    assert!(
        headers.contains("x-incus-uid: 1000") && headers.contains("x-incus-type: file"),
        "{headers}"
    );
    assert!(headers.contains("x-incus-mode: 600"), "{headers}");

    // Directories list as JSON; directories and symlinks are made by type.
    curl_raw(
        &srv,
        &["-X", "POST", "-H", "X-Incus-type: directory"],
        &url("/root/d"),
    );
    assert!(rootfs.join("root/d").is_dir());
    let (_, v) = srv.curl("GET", &url("/root"), None);
    assert_eq!(v["metadata"], serde_json::json!(["d", "f.txt"]));

    // Escapes: .., absolute and relative symlinks all resolve inside the rootfs.
    let outside = env.root().join("outside.txt");
    std::fs::write(&outside, "secret").unwrap();
    std::os::unix::fs::symlink(&outside, rootfs.join("root/abs")).unwrap();
    std::os::unix::fs::symlink("../../../../../../../..", rootfs.join("root/up")).unwrap();
    let outside_rel = outside
        .strip_prefix("/")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for p in [
        format!("/../../../../../../{outside_rel}"),
        format!("/root/up/{outside_rel}"),
    ] {
        let (code, body, _) = curl_raw(&srv, &[], &url(&p));
        assert_eq!(code, 404, "{p}: {}", String::from_utf8_lossy(&body));
    }
    // A symlink is returned as a symlink, not followed out.
    let (code, body, headers) = curl_raw(&srv, &[], &url("/root/abs"));
    assert_eq!(code, 200);
    assert!(headers.contains("x-incus-type: symlink"), "{headers}");
    assert_eq!(body, outside.to_str().unwrap().as_bytes());
    // Writing through a symlink at the leaf follows it inside the rootfs (as upstream
    // does in the container): the host path it names is untouched.
    let inside = rootfs.join(&outside_rel);
    std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
    let (code, _, _) = curl_raw(
        &srv,
        &["-X", "POST", "--data-binary", "x"],
        &url("/root/abs"),
    );
    assert_eq!(code, 200);
    assert_eq!(std::fs::read_to_string(&inside).unwrap(), "x");
    assert!(std::fs::symlink_metadata(rootfs.join("root/abs"))
        .unwrap()
        .file_type()
        .is_symlink());
    let (code, _, _) = curl_raw(
        &srv,
        &["-X", "POST", "--data-binary", "y"],
        &url(&format!("/root/up/{outside_rel}")),
    );
    // Under an up-link, the same name inside the rootfs.
    assert_eq!(code, 200);
    assert_eq!(std::fs::read_to_string(&inside).unwrap(), "y");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "secret");

    // Delete.
    assert_eq!(srv.curl("DELETE", &url("/root/f.txt"), None).0, 200);
    assert!(!rootfs.join("root/f.txt").exists());
    assert_error(&srv.curl("DELETE", &url("/root/f.txt"), None), 404);
    assert_error(&srv.curl("GET", "/1.0/instances/f1/files", None), 400);
}

/// Hostile REST bodies: random JSON (plausible objects with hostile values, and
/// garbage) sent to the writing endpoints. Every request gets an answer (never a
/// dropped connection), errors are error envelopes and never 5xx, the server survives,
/// and the installation stays consistent.
#[test]
fn random_json_bodies_get_answers() {
    let env = TestEnv::initialized();
    let srv = Server::start(&env);
    env.ok("incus-instance", &["create", "--empty", "fz"]);
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    const STRINGS: &[&str] = &[
        "",
        "x",
        "c2",
        "../../etc",
        "/",
        "a/b",
        "\u{0}",
        "é😀",
        "default",
        "none",
        "-1",
        "true",
        "limits.memory",
        "security.privileged",
        "core.trust_password",
        "image",
        "copy",
        "start",
        "stop",
        "freeze",
        "dir",
        "btrfs",
    ];
    fn value(next: &mut dyn FnMut(usize) -> usize, depth: usize) -> Value {
        match next(if depth > 2 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(next(2) == 0),
            2 => serde_json::json!(next(1 << 20) as i64 - (1 << 19)),
            3 | 4 => {
                Value::String(STRINGS[next(STRINGS.len())].repeat(1 + next(3) * next(2) * 700))
            }
            5 => Value::Array((0..next(3)).map(|_| value(next, depth + 1)).collect()),
            _ => {
                const KEYS: &[&str] = &[
                    "name",
                    "config",
                    "devices",
                    "profiles",
                    "source",
                    "type",
                    "action",
                    "timeout",
                    "force",
                    "description",
                    "driver",
                    "restore",
                    "ephemeral",
                    "stateful",
                    "architecture",
                    "instance_only",
                    "path",
                    "pool",
                ];
                let mut m = serde_json::Map::new();
                for _ in 0..next(5) {
                    m.insert(KEYS[next(KEYS.len())].to_string(), value(next, depth + 1));
                }
                Value::Object(m)
            }
        }
    }
    let targets = [
        ("POST", "/1.0/instances"),
        ("PUT", "/1.0"),
        ("PATCH", "/1.0"),
        ("POST", "/1.0/profiles"),
        ("PATCH", "/1.0/profiles/default"),
        ("POST", "/1.0/storage-pools"),
        ("PUT", "/1.0/instances/fz/state"),
        ("PATCH", "/1.0/instances/fz"),
        ("POST", "/1.0/instances/fz/exec"),
        ("POST", "/1.0/images/aliases"),
    ];
    let rounds = std::env::var("FUZZ_REST_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..rounds {
        let (method, path) = targets[i % targets.len()];
        let body = if next(8) == 0 {
            // Not JSON at all.
            "{\"name\": [".to_string()
        } else {
            value(&mut next, 0).to_string()
        };
        let (code, v) = srv.curl(method, path, Some(&body));
        assert!(code != 0, "{method} {path} {body}: no answer (crash?)");
        // 501 is upstream's answer for a feature it has and we have not built
        // (migration, VMs); anything else at 5xx is a bug.
        assert!(
            code < 500 || code == 501,
            "{method} {path} {body}: {code} {v}"
        );
        if code >= 400 {
            assert_eq!(v["type"], "error", "{method} {path} {body}: {v}");
        }
        *statuses.entry(code).or_insert(0) += 1;
    }
    incus_tests::notice(&format!(
        "REST fuzz: {rounds} bodies, statuses {statuses:?}"
    ));
    assert_eq!(srv.curl("GET", "/1.0", None).0, 200, "the server survives");
    drop(srv);
    env.run("incus", &["stop", "--all", "-f"]);
    let check = env.run("incus", &["admin", "check", "--format", "json"]);
    assert_eq!(check.code, 0, "admin check: {}", check.stdout);
}

/// Every method and path of upstream's API (tests/data/rest-routes.txt, from the 6.0
/// OpenAPI) as an untrusted HTTPS client: 403, except `GET /`, `GET /1.0` and adding a
/// certificate (which needs a token: refused without one). Nothing changes.
#[test]
fn untrusted_client_is_refused_on_every_upstream_route() {
    let env = TestEnv::initialized();
    let (_srv, port) = Server::start_https(&env);
    let routes = include_str!("../data/rest-routes.txt");
    let mut walked = 0;
    for line in routes.lines().filter(|l| !l.starts_with('#')) {
        let (method, path) = line.split_once(' ').unwrap();
        let (code, v) = curl_https(port, method, path);
        walked += 1;
        let resource = path.split('?').next().unwrap();
        match (method, resource) {
            ("GET", "/" | "/1.0") => assert_eq!(code, 200, "{line}: {v}"),
            ("POST", p) if p.starts_with("/1.0/certificates") => {
                assert!(code == 400 || code == 403, "{line}: {code} {v}")
            }
            _ => assert_eq!(code, 403, "{line}: {v}"),
        }
    }
    assert!(walked > 250, "only {walked} routes");
    assert_eq!(env.db_rows("certificates"), 0);
    assert_eq!(env.db_rows("instances"), 0);
    assert_eq!(
        env.ok("incus-instance", &["config", "get", "core.https_address"])
            .line(),
        format!("127.0.0.1:{port}")
    );
}

/// The upstream 6.0 client sends `incus list status=running` as `filter=status eq
/// running`: the server's filter (core's, shared with our CLI) compares without case.
#[test]
fn upstream_list_filters_run_on_the_server() {
    upstream_present();
    let env = TestEnv::initialized();
    with_image(&env);
    env.ok("incus-instance", &["launch", "busybox", "f1"]);
    env.ok("incus-instance", &["init", "busybox", "f2"]);
    let srv = Server::start(&env);
    let names = |args: &[&str]| {
        let mut a = vec!["list", "-c", "n", "-f", "csv"];
        a.extend_from_slice(args);
        srv.incus(&a).ok().stdout
    };
    assert_eq!(names(&["status=running"]), "f1\n", "{}", srv.log());
    assert_eq!(names(&["status=STOPPED"]), "f2\n", "{}", srv.log());
    assert_eq!(names(&["type=container"]), "f1\nf2\n");
    let (_, v) = srv.curl("GET", "/1.0/instances?filter=status+eq+running", None);
    assert_eq!(v["metadata"], serde_json::json!(["/1.0/instances/f1"]));
    let (code, _) = srv.curl("GET", "/1.0/instances?filter=status+eq", None);
    assert_eq!(code, 400);
    env.ok("incus-instance", &["stop", "-f", "f1"]);
}

/// `/1.0/instances/NAME/logs`: the files of the log directory (core's `logs::list`),
/// each readable; names that would leave the directory are refused.
#[test]
fn instance_logs_are_listed_and_read() {
    let env = TestEnv::initialized();
    with_image(&env);
    env.ok("incus-instance", &["init", "busybox", "l1"]);
    let dir = env.incus_dir.join("logs/l1");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("probe.log"), "logged\n").unwrap();
    let srv = Server::start(&env);
    let (code, v) = srv.curl("GET", "/1.0/instances/l1/logs", None);
    assert_eq!(code, 200, "{v}");
    let listed: Vec<&str> = v["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u.as_str())
        .collect();
    assert!(listed.contains(&"/1.0/instances/l1/logs/probe.log"), "{v}");
    let (code, v) = srv.curl("GET", "/1.0/instances/l1/logs/probe.log", None);
    assert_eq!((code, v), (200, Value::String("logged\n".into())));
    assert_eq!(
        srv.curl("GET", "/1.0/instances/l1/logs/.probe", None).0,
        400
    );
    assert_eq!(
        srv.curl("GET", "/1.0/instances/l1/logs/nope.log", None).0,
        404
    );
    assert_eq!(srv.curl("GET", "/1.0/instances/zz/logs", None).0, 404);
}
