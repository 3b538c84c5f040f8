//! The guest API (`/dev/incus/sock`, upstream's devIncus), served by each instance's
//! monitor: every route answered inside a busybox container (through a small static
//! client pushed into it), `PATCH /1.0` Ready seen on the host, events for changes made
//! by the CLI (instance and profile), `security.guestapi=false`, a host process and a
//! non-root process inside denied, and the monitor's memory.

use incus_tests::{busybox_images, poll, scratch_dir, Output, Running, TestEnv};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The client, built once per test process with glibc, statically (busybox has no
/// unix-socket HTTP client).
fn client() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin/dev-incus-client.rs");
        let out = scratch_dir("dev-incus-client").join("dev-incus-client");
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let o = Command::new(rustc)
            .args([
                "--edition",
                "2021",
                "-O",
                "-C",
                "target-feature=+crt-static",
                "-o",
            ])
            .arg(&out)
            .arg(&src)
            .output()
            .expect("run rustc");
        assert!(
            o.status.success(),
            "static build of the client failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    })
}

/// `dev-incus-client ARGS` inside `name`: (status, content type, body).
fn guest(env: &TestEnv, name: &str, args: &[&str]) -> (u16, String, String) {
    let mut a = vec!["exec", name, "--", "/bin/dev-incus-client"];
    a.extend_from_slice(args);
    parse(&env.ok("incus", &a))
}

fn parse(o: &Output) -> (u16, String, String) {
    let (head, body) = o
        .stdout
        .split_once("\n\n")
        .unwrap_or_else(|| panic!("client output: {o:?}"));
    let (code, ctype) = head.split_once(' ').unwrap_or((head, ""));
    (code.parse().unwrap(), ctype.to_string(), body.to_string())
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body:?}"))
}

fn launch(env: &TestEnv, name: &str, extra: &[&str]) {
    let mut a = vec!["launch", "bb", name];
    a.extend_from_slice(extra);
    env.ok("incus", &a);
    env.ok(
        "incus",
        &[
            "file",
            "push",
            client().to_str().unwrap(),
            &format!("{name}/bin/dev-incus-client"),
        ],
    );
}

fn host_sock(env: &TestEnv, name: &str) -> PathBuf {
    env.run_dir
        .join("instances")
        .join(name)
        .join("guestapi/sock")
}

fn proc_kib(pid: i64, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

#[test]
fn every_route_answers_inside_and_ready_reaches_the_host() {
    let env = TestEnv::initialized();
    let img = busybox_images("guestapi");
    let o = env.ok(
        "incus",
        &[
            "image",
            "import",
            img.unified.to_str().unwrap(),
            "--public",
            "--alias",
            "bb",
        ],
    );
    let public_fp = o.stdout.trim().rsplit(' ').next().unwrap().to_string();
    let private_fp = env.import(&[&img.split_meta, &img.split_rootfs], "private");
    let _guard = Running(&env);
    launch(
        &env,
        "c1",
        &[
            "-c",
            "user.foo=bar",
            "-c",
            "user.meta-data=zone: z1",
            "-c",
            "cloud-init.user-data=#cloud-config\n",
            "-c",
            "security.guestapi.images=true",
        ],
    );
    let inside = env.ok("incus", &["exec", "c1", "--", "ls", "-ln", "/dev/incus"]);
    assert!(inside.stdout.contains("srw-rw-rw-"), "{inside:?}");

    assert_eq!(
        guest(&env, "c1", &["GET", "/"]),
        (200, "application/json".into(), "[\"/1.0\"]\n".into())
    );
    let (code, ctype, body) = guest(&env, "c1", &["GET", "/1.0"]);
    assert_eq!((code, ctype.as_str()), (200, "application/json"));
    let v = json(&body);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(v["api_version"], "1.0");
    assert_eq!(v["instance_type"], "container");
    assert_eq!(v["location"], host.trim());
    assert_eq!(v["state"], "Started");

    let (code, _, body) = guest(&env, "c1", &["GET", "/1.0/config"]);
    assert_eq!(code, 200);
    let keys: Vec<String> = serde_json::from_value(json(&body)).unwrap();
    assert_eq!(
        keys,
        [
            "/1.0/config/cloud-init.user-data",
            "/1.0/config/user.foo",
            "/1.0/config/user.meta-data"
        ],
        "only user.* and cloud-init.* keys"
    );
    assert_eq!(
        guest(&env, "c1", &["GET", "/1.0/config/user.foo"]),
        (200, "application/octet-stream".into(), "bar".into())
    );
    assert_eq!(
        guest(&env, "c1", &["GET", "/1.0/config/cloud-init.user-data"]).2,
        "#cloud-config\n"
    );
    let (code, _, body) = guest(&env, "c1", &["GET", "/1.0/config/security.guestapi.images"]);
    assert_eq!((code, body.as_str()), (403, "not authorized\n"));
    let (code, _, body) = guest(&env, "c1", &["GET", "/1.0/config/volatile.idmap.base"]);
    assert_eq!((code, body.as_str()), (403, "not authorized\n"));
    let (code, _, body) = guest(&env, "c1", &["GET", "/1.0/config/user.missing"]);
    assert_eq!((code, body.as_str()), (404, "not found\n"));

    let (code, _, body) = guest(&env, "c1", &["GET", "/1.0/meta-data"]);
    assert_eq!(code, 200);
    assert_eq!(
        body,
        "#cloud-config\ninstance-id: c1\nlocal-hostname: c1\nzone: z1"
    );
    let (code, _, body) = guest(&env, "c1", &["GET", "/1.0/devices"]);
    assert_eq!(code, 200);
    assert_eq!(
        json(&body)["root"],
        serde_json::json!({"path": "/", "pool": "default", "type": "disk"})
    );
    assert_eq!(guest(&env, "c1", &["GET", "/1.0/nothing"]).0, 404);
    let (code, _, body) = guest(&env, "c1", &["PUT", "/1.0", "{}"]);
    assert_eq!((code, body.as_str()), (405, "method \"PUT\" not allowed\n"));
    let (code, _, body) = guest(&env, "c1", &["PATCH", "/1.0", "{\"state\":\"Sleepy\"}"]);
    assert_eq!((code, body.as_str()), (400, "Invalid state \"Sleepy\"\n"));

    // images: the public one, exactly by fingerprint; a private one is "not found"
    let (code, _, _) = guest(
        &env,
        "c1",
        &[
            "--out",
            "/tmp/img",
            "GET",
            &format!("/1.0/images/{public_fp}/export"),
        ],
    );
    assert_eq!(code, 200);
    let sum = env.ok("incus", &["exec", "c1", "--", "sha256sum", "/tmp/img"]);
    let want = incus_tests::sha256_hex(&[&std::fs::read(&img.unified).unwrap()]);
    assert!(sum.stdout.starts_with(&want), "{sum:?} != {want}");
    for fp in [&private_fp, &public_fp[..12].to_string()] {
        let (code, _, body) = guest(&env, "c1", &["GET", &format!("/1.0/images/{fp}/export")]);
        assert_eq!(
            (code, body.as_str()),
            (404, format!("Image \"{fp}\" not found\n").as_str())
        );
    }
    env.ok(
        "incus",
        &["config", "unset", "c1", "security.guestapi.images"],
    );
    let (code, _, _) = guest(
        &env,
        "c1",
        &["GET", &format!("/1.0/images/{public_fp}/export")],
    );
    assert_eq!(code, 403);

    // a process inside that is not root: denied, as upstream
    let o = env.ok(
        "incus",
        &[
            "exec",
            "c1",
            "--user",
            "1000",
            "--",
            "/bin/dev-incus-client",
            "GET",
            "/1.0",
        ],
    );
    let (code, _, body) = parse(&o);
    assert_eq!(
        (code, body.as_str()),
        (401, "Access denied for non-root user\n")
    );

    // a host process reaching the socket through the run directory: denied
    let mut s = std::os::unix::net::UnixStream::connect(host_sock(&env, "c1")).unwrap();
    s.write_all(b"GET /1.0/config/user.foo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 500 "), "{answer}");
    assert!(answer.ends_with("pid not in container?\n"), "{answer}");
    assert!(!answer.contains("bar"));

    // Ready: the status on the host, the volatile key, a lifecycle event
    assert_eq!(env.status("c1"), "Running");
    let (code, _, body) = guest(&env, "c1", &["PATCH", "/1.0", "{\"state\":\"Ready\"}"]);
    assert_eq!((code, body.as_str()), (200, ""));
    assert_eq!(
        json(&guest(&env, "c1", &["GET", "/1.0"]).2)["state"],
        "Ready"
    );
    assert_eq!(env.status("c1"), "Ready");
    let list = env.json("incus", &["list", "--format", "json"]);
    assert_eq!(list[0]["state"]["status_code"], 113);
    assert!(env
        .ok("incus", &["info", "c1"])
        .stdout
        .contains("Status: READY"));
    // over REST too (the server reads the same state; it lives to the end of the test:
    // its drop deletes the instances)
    let server = incus_tests::serve::Server::start(&env);
    let (code, v) = server.curl("GET", "/1.0/instances/c1", None);
    assert_eq!(code, 200);
    assert_eq!(v["metadata"]["status"], "Ready");
    assert_eq!(v["metadata"]["status_code"], 113);
    poll(10, "volatile.last_state.ready and instance-ready", || {
        let got = env
            .run(
                "incus",
                &["config", "get", "c1", "volatile.last_state.ready"],
            )
            .stdout;
        let events: i64 = env
            .db()
            .query_row(
                "SELECT COUNT(*) FROM events WHERE metadata LIKE '%\"instance-ready\"%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        (got.trim() == "true" && events == 1).then_some(())
    });
    // commands that need a running instance still see one
    env.ok("incus", &["exec", "c1", "--", "true"]);

    // the monitor serves all this in its own process, within 2 MiB
    let init = list[0]["state"]["pid"].as_i64().unwrap();
    let monitor = proc_kib(init, "PPid:") as i64;
    let cmdline = std::fs::read_to_string(format!("/proc/{monitor}/cmdline")).unwrap();
    assert!(cmdline.contains("incus-monitor"), "{cmdline}");
    let rss = proc_kib(monitor, "VmRSS:");
    let anon = proc_kib(monitor, "RssAnon:");
    incus_tests::notice(&format!(
        "guestapi: monitor VmRSS {rss} KiB (anonymous {anon} KiB) after serving every route"
    ));
    let release = incus_tests::bin_dir().ends_with("release");
    if release {
        assert!(rss < 2048, "monitor VmRSS {rss} KiB");
    }
    assert!(anon < 1024, "monitor anonymous memory {anon} KiB");

    // stop and start: Ready belongs to the previous run
    env.ok("incus", &["restart", "c1", "-f"]);
    assert_eq!(env.status("c1"), "Running");
    assert_eq!(
        env.run(
            "incus",
            &["config", "get", "c1", "volatile.last_state.ready"]
        )
        .stdout
        .trim(),
        ""
    );
}

/// A websocket listener inside: returns the child and its stdout lines.
fn listen(
    env: &TestEnv,
    name: &str,
    query: &str,
    count: usize,
) -> (std::process::Child, impl Iterator<Item = String>) {
    let mut c = env.command("incus");
    c.args([
        "exec",
        name,
        "--",
        "/bin/dev-incus-client",
        "events",
        query,
        &count.to_string(),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| l.unwrap());
    assert_eq!(
        lines.next().as_deref(),
        Some("ready true"),
        "websocket upgrade"
    );
    (child, lines)
}

#[test]
fn events_see_changes_made_by_any_tool() {
    let env = TestEnv::initialized();
    let img = busybox_images("guestapi");
    env.import(&[&img.unified], "bb");
    let _guard = Running(&env);
    launch(&env, "c1", &[]);

    let (mut cfg, mut cfg_lines) = listen(&env, "c1", "type=config", 3);
    let (mut dev, mut dev_lines) = listen(&env, "c1", "type=device", 2);
    env.ok("incus", &["config", "set", "c1", "user.foo=bar"]);
    env.ok("incus", &["config", "set", "c1", "limits.processes=500"]); // no event
    env.ok(
        "incus",
        &["profile", "set", "default", "user.from-profile=1"],
    );
    let share = env.root().join("share");
    std::fs::create_dir(&share).unwrap();
    env.ok(
        "incus",
        &[
            "config",
            "device",
            "add",
            "c1",
            "data",
            "disk",
            &format!("source={}", share.display()),
            "path=/mnt",
        ],
    );
    env.ok("incus", &["config", "unset", "c1", "user.foo"]);
    env.ok("incus", &["config", "device", "remove", "c1", "data"]);

    let got: Vec<serde_json::Value> = (0..3).map(|_| json(&cfg_lines.next().unwrap())).collect();
    assert!(cfg.wait().unwrap().success());
    for e in &got {
        assert_eq!(e["type"], "config");
        assert!(e["timestamp"].as_str().unwrap().starts_with("20"));
    }
    let md: Vec<&serde_json::Value> = got.iter().map(|e| &e["metadata"]).collect();
    assert_eq!(
        md,
        [
            &serde_json::json!({"key": "user.foo", "old_value": "", "value": "bar"}),
            &serde_json::json!({"key": "user.from-profile", "old_value": "", "value": "1"}),
            &serde_json::json!({"key": "user.foo", "old_value": "bar", "value": ""}),
        ]
    );
    let got: Vec<serde_json::Value> = (0..2).map(|_| json(&dev_lines.next().unwrap())).collect();
    assert!(dev.wait().unwrap().success());
    let disk =
        serde_json::json!({"path": "/mnt", "source": share.display().to_string(), "type": "disk"});
    assert_eq!(got[0]["type"], "device");
    assert_eq!(
        got[0]["metadata"],
        serde_json::json!({"action": "added", "config": disk, "name": "data"})
    );
    assert_eq!(
        got[1]["metadata"],
        serde_json::json!({"action": "removed", "config": disk, "name": "data"})
    );
}

#[test]
fn guestapi_false_means_no_socket() {
    let env = TestEnv::initialized();
    let img = busybox_images("guestapi");
    env.import(&[&img.unified], "bb");
    let _guard = Running(&env);
    launch(&env, "off", &["-c", "security.guestapi=false"]);
    env.run("incus", &["exec", "off", "--", "test", "-e", "/dev/incus"])
        .code(1);
    assert!(!host_sock(&env, "off").exists());

    // switched off while running: the socket goes away; back on: it returns
    launch(&env, "on", &[]);
    env.ok(
        "incus",
        &["exec", "on", "--", "test", "-S", "/dev/incus/sock"],
    );
    env.ok("incus", &["config", "set", "on", "security.guestapi=false"]);
    poll(10, "the socket to go", || {
        env.run(
            "incus",
            &["exec", "on", "--", "test", "-e", "/dev/incus/sock"],
        )
        .code
        .eq(&1)
        .then_some(())
    });
    env.ok("incus", &["config", "set", "on", "security.guestapi=true"]);
    poll(10, "the socket to come back", || {
        env.run(
            "incus",
            &["exec", "on", "--", "test", "-S", "/dev/incus/sock"],
        )
        .success()
        .then_some(())
    });
    assert_eq!(guest(&env, "on", &["GET", "/1.0/config"]).0, 200);
    // and it is gone from the run directory once the instance stops
    env.ok("incus", &["stop", "on", "-f"]);
    assert!(!host_sock(&env, "on").exists());
}

#[test]
fn a_guest_toggling_its_state_cannot_flood_the_host() {
    let env = TestEnv::initialized();
    let img = busybox_images("guestapi");
    env.import(&[&img.unified], "bb");
    let _guard = Running(&env);
    launch(&env, "c1", &[]);
    // 100 changes as fast as the guest can: the monitor runs one helper at a time and
    // records the last state, so the host sees far fewer writes and events
    let script = "for i in $(seq 50); do \
        /bin/dev-incus-client PATCH /1.0 '{\"state\":\"Ready\"}' >/dev/null; \
        /bin/dev-incus-client PATCH /1.0 '{\"state\":\"Started\"}' >/dev/null; done; \
        /bin/dev-incus-client PATCH /1.0 '{\"state\":\"Ready\"}'";
    let o = env.ok("incus", &["exec", "c1", "--", "sh", "-c", script]);
    assert!(o.stdout.starts_with("200 "), "{o:?}");
    poll(20, "the last state recorded", || {
        let v = env.run(
            "incus",
            &["config", "get", "c1", "volatile.last_state.ready"],
        );
        (v.stdout.trim() == "true").then_some(())
    });
    assert_eq!(env.status("c1"), "Ready");
    let events: i64 = env
        .db()
        .query_row(
            "SELECT COUNT(*) FROM events WHERE metadata LIKE '%\"instance-ready\"%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    incus_tests::notice(&format!("guestapi: 51 Ready reports, {events} recorded"));
    assert!((1..=40).contains(&events), "{events} instance-ready events");
}

/// In a privileged container root is uid 0 inside and out: only the pid check keeps a host
/// root process out.
#[test]
fn host_root_is_denied_by_a_privileged_container() {
    let env = TestEnv::initialized();
    let img = busybox_images("guestapi");
    env.import(&[&img.unified], "bb");
    let _guard = Running(&env);
    launch(
        &env,
        "priv",
        &["-c", "security.privileged=true", "-c", "user.secret=s3"],
    );
    assert_eq!(
        guest(&env, "priv", &["GET", "/1.0/config/user.secret"]),
        (200, "application/octet-stream".into(), "s3".into())
    );
    let mut s = std::os::unix::net::UnixStream::connect(host_sock(&env, "priv")).unwrap();
    s.write_all(b"GET /1.0/config/user.secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 500 "), "{answer}");
    assert!(!answer.contains("s3"), "{answer}");
}
