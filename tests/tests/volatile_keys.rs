//! Internal state is not client input, and security keys act or are refused:
//! `volatile.*` keys that this installation writes (idmap, repair markers) are refused
//! from every front end; a tampered database row never maps host root and never makes
//! a repair act on a path; `security.idmap.*`, `raw.idmap` and `security.syscalls.*`
//! change what the container gets; keys this host cannot honour are refused.

use incus_tests::serve::Server;
use incus_tests::{busybox_images, TestEnv};

fn image(env: &TestEnv) {
    let img = busybox_images("volatile keys");
    env.import(&[&img.unified], "bb");
}

/// The stored value of an instance key (None when unset).
fn stored(env: &TestEnv, inst: &str, key: &str) -> Option<String> {
    env.db()
        .query_row(
            "SELECT c.value FROM instances_config c JOIN instances i ON i.id = c.instance_id \
             WHERE i.name = ?1 AND c.key = ?2",
            [inst, key],
            |r| r.get(0),
        )
        .ok()
}

/// Writes a row behind the tools' backs (what an attacker with the database would do).
fn tamper(env: &TestEnv, inst: &str, key: &str, value: &str) {
    let c = rusqlite::Connection::open(env.db_path()).expect("open db");
    c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    let n = c
        .execute(
            "INSERT OR REPLACE INTO instances_config (instance_id, key, value) \
             SELECT id, ?2, ?3 FROM instances WHERE name = ?1",
            [inst, key, value],
        )
        .expect("tamper");
    assert_eq!(n, 1);
}

fn sh(env: &TestEnv, name: &str, line: &str) -> (i32, String) {
    let o = env.run("incus", &["exec", name, "--", "sh", "-c", line]);
    (o.code, format!("{}{}", o.stdout, o.stderr))
}

/// The `0 HOST SIZE` line of a running container's uid_map.
fn root_map(env: &TestEnv, name: &str) -> (u64, u64) {
    let (code, out) = sh(env, name, "cat /proc/self/uid_map");
    assert_eq!(code, 0, "{out}");
    let line = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.first() == Some(&"0"))
        .unwrap_or_else(|| panic!("no line for id 0: {out}"));
    (line[1].parse().unwrap(), line[2].parse().unwrap())
}

const INTERNAL: &[(&str, &str)] = &[
    ("volatile.idmap.base", "0"),
    ("volatile.idmap.next", "[]"),
    ("volatile.snapshot.op", "delete:/etc"),
    ("volatile.rename_from", "/etc"),
    ("volatile.apply_template", "create"),
    ("volatile.uuid", "00000000-0000-0000-0000-000000000000"),
    ("volatile.last_state.power", "RUNNING"),
];

#[test]
fn internal_volatile_keys_are_refused_from_every_front_end() {
    let env = TestEnv::initialized();
    image(&env);
    env.ok("incus", &["create", "bb", "c1"]);
    let base = stored(&env, "c1", "volatile.idmap.base").expect("a recorded base");

    for (k, v) in INTERNAL {
        let kv = format!("{k}={v}");
        // CLI config set, create -c, copy -c, profile set.
        let o = env.run("incus", &["config", "set", "c1", &kv]);
        assert_eq!(o.code, 7, "config set {kv}: {}{}", o.stdout, o.stderr);
        assert!(o.stderr.contains("internal state"), "{}", o.stderr);
        assert_eq!(env.run("incus", &["config", "unset", "c1", k]).code, 7);
        assert_ne!(
            env.run("incus", &["create", "bb", "c2", "-c", &kv]).code,
            0,
            "create -c {kv}"
        );
        assert_ne!(
            env.run("incus", &["copy", "c1", "c3", "-c", &kv]).code,
            0,
            "copy -c {kv}"
        );
        assert_ne!(
            env.run("incus", &["profile", "set", "default", &kv]).code,
            0,
            "profile {kv}"
        );
    }
    assert_eq!(env.instance_names(), vec!["c1".to_string()]);
    // Custom volumes: their rename mark is not client input either.
    assert_ne!(
        env.run(
            "incus",
            &[
                "storage",
                "volume",
                "create",
                "default",
                "v1",
                "volatile.rename_from=/etc"
            ]
        )
        .code,
        0
    );
    // admin init --preseed: a profile with an internal key changes nothing.
    let preseed = "profiles:\n- name: default\n  config:\n    volatile.idmap.base: \"0\"\n";
    let o = env.run_stdin("incus", &["admin", "init", "--preseed"], preseed);
    assert_ne!(o.code, 0, "preseed: {}{}", o.stdout, o.stderr);
    let o = env.run_stdin(
        "incus",
        &["admin", "init", "--preseed"],
        &preseed.replace("volatile.idmap.base", "raw.lxc"),
    );
    assert!(o.stderr.contains("not supported here"), "{}", o.stderr);
    // Upstream's user-settable ones still are.
    env.ok(
        "incus",
        &[
            "config",
            "set",
            "c1",
            "volatile.eth0.hwaddr=00:16:3e:00:00:01",
        ],
    );
    assert_eq!(
        stored(&env, "c1", "volatile.eth0.hwaddr").as_deref(),
        Some("00:16:3e:00:00:01")
    );
    env.ok("incus", &["config", "unset", "c1", "volatile.eth0.hwaddr"]);
    assert_eq!(stored(&env, "c1", "volatile.eth0.hwaddr"), None);

    // REST: PUT and PATCH through incus-serve, and the upstream client.
    let srv = Server::start(&env);
    let (code, inst) = srv.curl("GET", "/1.0/instances/c1", None);
    assert_eq!(code, 200);
    let mut put = inst["metadata"].clone();
    put["config"]["volatile.idmap.base"] = "0".into();
    // Async requests report through their operation: it must fail with the reason.
    let failed = |(code, v): (u16, serde_json::Value)| -> String {
        if code >= 400 {
            return v.to_string();
        }
        assert_eq!(code, 202, "{v}");
        let op = v["operation"].as_str().unwrap().to_string();
        let (_, w) = srv.curl("GET", &format!("{op}/wait?timeout=60"), None);
        assert_eq!(w["metadata"]["status"], "Failure", "{w}");
        w.to_string()
    };
    let why = failed(srv.curl("PUT", "/1.0/instances/c1", Some(&put.to_string())));
    assert!(why.contains("internal state"), "{why}");
    // REST create and copy with an internal key.
    let create = serde_json::json!({"name": "c9", "source": {"type": "image", "alias": "bb"},
        "config": {"volatile.idmap.base": "0"}});
    let why = failed(srv.curl("POST", "/1.0/instances", Some(&create.to_string())));
    assert!(why.contains("internal state"), "{why}");
    // A REST copy drops the source's volatile keys the client echoes (as upstream's
    // server does): nothing internal reaches the new row.
    let copy = serde_json::json!({"name": "c8", "source": {"type": "copy", "source": "c1"},
        "config": {"volatile.rename_from": "/etc", "volatile.idmap.base": "0"}});
    let (code, v) = srv.curl("POST", "/1.0/instances", Some(&copy.to_string()));
    assert_eq!(code, 202, "{v}");
    let op = v["operation"].as_str().unwrap().to_string();
    srv.curl("GET", &format!("{op}/wait?timeout=60"), None);
    assert_eq!(stored(&env, "c8", "volatile.rename_from"), None);
    assert_ne!(
        stored(&env, "c8", "volatile.idmap.base").as_deref(),
        Some("0")
    );
    env.ok("incus", &["delete", "c8"]);
    assert_eq!(env.instance_names(), vec!["c1".to_string()]);
    // Profiles over REST.
    let prof = serde_json::json!({"config": {"volatile.idmap.base": "0"}, "devices": {}});
    let (code, _) = srv.curl("PATCH", "/1.0/profiles/default", Some(&prof.to_string()));
    assert_eq!(code, 400, "profile PATCH of a volatile key");
    let patch = serde_json::json!({"config": {"volatile.snapshot.op": "delete:/etc"}});
    let (code, _) = srv.curl("PATCH", "/1.0/instances/c1", Some(&patch.to_string()));
    assert_eq!(code, 400, "PATCH of an internal key");
    let o = srv.incus(&["config", "set", "c1", "volatile.idmap.base=0"]);
    assert_ne!(o.code, 0, "upstream client: {}{}", o.stdout, o.stderr);
    // A whole-config round trip (what upstream's `config set` sends) still works.
    srv.incus(&["config", "set", "c1", "user.note=kept"]).ok();

    assert_eq!(stored(&env, "c1", "volatile.idmap.base"), Some(base));
    assert_eq!(stored(&env, "c1", "user.note").as_deref(), Some("kept"));
    for k in ["volatile.snapshot.op", "volatile.rename_from"] {
        assert_eq!(stored(&env, "c1", k), None, "{k}");
    }
    drop(srv);
}

#[test]
fn a_tampered_idmap_never_maps_host_root() {
    let env = TestEnv::initialized();
    image(&env);
    env.ok("incus", &["create", "bb", "c1"]);
    let good = stored(&env, "c1", "volatile.idmap.base").unwrap();
    for bad in ["0", "1", "999999", "not-a-number", "4294967295"] {
        tamper(&env, "c1", "volatile.idmap.base", bad);
        let o = env.run("incus", &["start", "c1"]);
        assert_ne!(o.code, 0, "start with volatile.idmap.base={bad}");
        assert!(
            o.stderr.contains("id map") || o.stderr.contains("idmap"),
            "{bad}: {}",
            o.stderr
        );
        assert_eq!(env.status("c1"), "Stopped");
        let check = env.run("incus", &["admin", "check", "--format", "json"]);
        assert_ne!(
            check.code, 0,
            "admin check misses volatile.idmap.base={bad}"
        );
    }
    tamper(&env, "c1", "volatile.idmap.base", &good);
    env.ok("incus", &["start", "c1"]);
    let (host, size) = root_map(&env, "c1");
    assert_eq!(host.to_string(), good);
    assert_eq!(size, 65536);
    env.ok("incus", &["delete", "-f", "c1"]);
}

#[test]
fn tampered_repair_markers_are_refused_and_reported() {
    let env = TestEnv::initialized();
    image(&env);
    env.ok("incus", &["create", "bb", "c1"]);
    let canary_dir = env.root().join("canary-dir");
    std::fs::create_dir_all(canary_dir.join("sub")).unwrap();
    std::fs::write(canary_dir.join("sub/file"), b"host").unwrap();
    let canary_file = env.root().join("canary-file");
    std::fs::write(&canary_file, b"host").unwrap();

    let cases = [
        (
            "volatile.snapshot.op",
            format!("delete:{}", canary_dir.display()),
        ),
        ("volatile.snapshot.op", "delete:..".to_string()),
        (
            "volatile.snapshot.op",
            format!("rename:x/{}", canary_dir.display()),
        ),
        ("volatile.rename_from", canary_file.display().to_string()),
        ("volatile.rename_from", "../../canary-file".to_string()),
    ];
    for (k, v) in &cases {
        tamper(&env, "c1", k, v);
        // list lists it without acting; commands on it refuse with the reason.
        let list = env.run("incus", &["list", "--format", "csv"]);
        assert_eq!(list.code, 0, "{k}={v}: {}", list.stderr);
        let o = env.run("incus", &["start", "c1"]);
        assert_ne!(o.code, 0, "{k}={v} was acted on");
        assert!(
            o.stderr.contains("refusing to act"),
            "{k}={v}: {}",
            o.stderr
        );
        let check = env.run("incus", &["admin", "check", "--format", "json"]);
        assert_ne!(check.code, 0, "admin check misses {k}={v}");
        assert!(check.stdout.contains(k), "{}", check.stdout);
        assert_eq!(std::fs::read(canary_dir.join("sub/file")).unwrap(), b"host");
        assert_eq!(std::fs::read(&canary_file).unwrap(), b"host");
        let c = rusqlite::Connection::open(env.db_path()).unwrap();
        c.execute("DELETE FROM instances_config WHERE key = ?1", [k])
            .unwrap();
    }
    env.ok("incus", &["start", "c1"]);
    env.ok("incus", &["delete", "-f", "c1"]);
}

#[test]
fn idmap_keys_act() {
    let env = TestEnv::initialized();
    image(&env);
    env.ok(
        "incus",
        &[
            "launch",
            "bb",
            "i1",
            "-c",
            "security.idmap.isolated=true",
            "-c",
            "security.idmap.size=100000",
        ],
    );
    env.ok(
        "incus",
        &["launch", "bb", "i2", "-c", "security.idmap.isolated=true"],
    );
    let (b1, s1) = root_map(&env, "i1");
    let (b2, s2) = root_map(&env, "i2");
    assert_eq!((s1, s2), (100000, 65536));
    assert!(
        b1 + s1 <= b2 || b2 + s2 <= b1,
        "ranges overlap: {b1}+{s1} {b2}+{s2}"
    );
    assert!(b1 > 0 && b2 > 0);

    // Base and size change at the next start; base 0 is refused when set.
    assert_ne!(
        env.run("incus", &["config", "set", "i2", "security.idmap.base=0"])
            .code,
        0
    );
    env.ok("incus", &["stop", "-f", "i2"]);
    env.ok(
        "incus",
        &[
            "config",
            "set",
            "i2",
            "security.idmap.base=900000000",
            "security.idmap.size=70000",
        ],
    );
    env.ok("incus", &["start", "i2"]);
    assert_eq!(root_map(&env, "i2"), (900000000, 70000));

    // raw.idmap: a host id of root's subordinate range appears as id 1000 inside.
    env.ok("incus", &["stop", "-f", "i2"]);
    env.ok(
        "incus",
        &["config", "set", "i2", "raw.idmap=both 1000900000 1000"],
    );
    env.ok("incus", &["start", "i2"]);
    let (_, map) = sh(&env, "i2", "cat /proc/self/uid_map /proc/self/gid_map");
    let lines: Vec<Vec<&str>> = map
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines
            .iter()
            .filter(|f| f[..] == ["1000", "1000900000", "1"])
            .count(),
        2,
        "{map}"
    );
    // A host id outside root's subordinate ranges (here: a real host user) is refused.
    env.ok("incus", &["stop", "-f", "i2"]);
    env.ok(
        "incus",
        &["config", "set", "i2", "raw.idmap=both 1000 1000"],
    );
    let o = env.run("incus", &["start", "i2"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("/etc/subuid"), "{}", o.stderr);
    assert_ne!(
        env.run("incus", &["config", "set", "i2", "raw.idmap=uid 0 1000"])
            .code,
        0
    );
    env.ok("incus", &["delete", "-f", "i1", "i2"]);
}

#[test]
fn syscall_keys_act() {
    let env = TestEnv::initialized();
    image(&env);
    env.ok("incus", &["launch", "bb", "plain"]);
    env.ok(
        "incus",
        &[
            "launch",
            "bb",
            "nomkdir",
            "-c",
            "security.syscalls.deny=mkdir\nmkdirat",
        ],
    );
    // The same call works in the plain container and fails with EPERM in the other.
    let line = "mkdir /tmp/t";
    let (code, out) = sh(&env, "plain", line);
    assert_eq!(code, 0, "control: {out}");
    let (code, out) = sh(&env, "nomkdir", line);
    assert_ne!(code, 0);
    assert!(out.contains("Operation not permitted"), "{out}");

    // An allow list: what is not on it kills the caller (LXC's allowlist).
    let names: Vec<String> =
        std::fs::read_to_string("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
            .unwrap()
            .lines()
            .filter_map(|l| {
                l.strip_prefix("#define __NR_")?
                    .split_whitespace()
                    .next()
                    .map(str::to_string)
            })
            .filter(|n| n != "mkdir" && n != "mkdirat")
            .collect();
    env.ok(
        "incus",
        &[
            "create",
            "bb",
            "allow",
            "-c",
            &format!("security.syscalls.allow={}", names.join("\n")),
        ],
    );
    env.ok("incus", &["start", "allow"]);
    assert_eq!(sh(&env, "allow", "echo ok").0, 0);
    assert_ne!(sh(&env, "allow", "mkdir /tmp/x").0, 0);
    assert_ne!(sh(&env, "allow", "test -d /tmp/x").0, 0);

    // Refused with a reason: unknown names, allow with deny, keys this host cannot honour.
    for kv in [
        "security.syscalls.deny=nosuchcall",
        "security.syscalls.deny=mount",
        "raw.lxc=lxc.apparmor.profile=unconfined",
        "raw.apparmor=deny /x rw,",
        "security.syscalls.intercept.mknod=true",
        "security.syscalls.intercept.mount=true",
        "raw.seccomp=2",
    ] {
        let o = env.run("incus", &["config", "set", "allow", kv]);
        assert_ne!(o.code, 0, "{kv} accepted");
    }
    let o = env.run(
        "incus",
        &[
            "config",
            "set",
            "plain",
            "raw.lxc=lxc.apparmor.profile=unconfined",
        ],
    );
    assert!(o.stderr.contains("not supported here"), "{}", o.stderr);
    env.ok("incus", &["delete", "-f", "plain", "nomkdir", "allow"]);
}

/// A custom volume's rename mark is validated too: a tampered one naming a host
/// directory never moves it into the pool.
#[test]
fn a_tampered_volume_rename_mark_is_refused() {
    let env = TestEnv::initialized();
    env.ok("incus", &["storage", "volume", "create", "default", "v1"]);
    let canary = env.root().join("canary-vol");
    std::fs::create_dir_all(&canary).unwrap();
    std::fs::write(canary.join("file"), b"host").unwrap();
    let c = rusqlite::Connection::open(env.db_path()).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    c.execute(
        "INSERT INTO storage_volumes_config (storage_volume_id, key, value) \
         SELECT id, 'volatile.rename_from', ?1 FROM storage_volumes WHERE name = 'v1'",
        [canary.display().to_string()],
    )
    .unwrap();
    let o = env.run("incus", &["storage", "volume", "show", "default", "v1"]);
    assert_ne!(o.code, 0, "{}", o.stdout);
    assert!(o.stderr.contains("refusing to act"), "{}", o.stderr);
    let check = env.run("incus", &["admin", "check", "--format", "json"]);
    assert!(
        check.stdout.contains("volatile.rename_from"),
        "{}",
        check.stdout
    );
    assert_eq!(std::fs::read(canary.join("file")).unwrap(), b"host");
}

/// Lines appended to /etc/subuid and /etc/subgid for one test, removed (only them)
/// when dropped, even on failure.
struct SubidLine(String);

impl SubidLine {
    fn add(line: &str) -> SubidLine {
        for f in ["/etc/subuid", "/etc/subgid"] {
            let mut text = std::fs::read_to_string(f).unwrap();
            if !text.ends_with('\n') && !text.is_empty() {
                text.push('\n');
            }
            text.push_str(line);
            text.push('\n');
            std::fs::write(f, text).unwrap();
        }
        SubidLine(line.to_string())
    }
}

impl Drop for SubidLine {
    fn drop(&mut self) {
        for f in ["/etc/subuid", "/etc/subgid"] {
            if let Ok(text) = std::fs::read_to_string(f) {
                let kept: String = text
                    .lines()
                    .filter(|l| *l != self.0)
                    .map(|l| format!("{l}\n"))
                    .collect();
                let _ = std::fs::write(f, kept);
            }
        }
    }
}

/// raw.idmap shares a host user once root may map it (as upstream documents: a
/// `root:ID:1` line in /etc/subuid and /etc/subgid); a file of that host user shows
/// with its id inside.
#[test]
fn raw_idmap_shares_an_allowed_host_user() {
    let env = TestEnv::initialized();
    image(&env);
    const HOST: &str = "42431";
    env.ok(
        "incus",
        &[
            "create",
            "bb",
            "r1",
            "-c",
            &format!("raw.idmap=both {HOST} 1000"),
        ],
    );
    let o = env.run("incus", &["start", "r1"]);
    assert_ne!(o.code, 0, "host id {HOST} is not root's to map yet");
    assert!(o.stderr.contains("/etc/subuid"), "{}", o.stderr);
    {
        let _line = SubidLine::add(&format!("root:{HOST}:1"));
        env.ok("incus", &["start", "r1"]);
        let (_, map) = sh(&env, "r1", "cat /proc/self/uid_map");
        assert!(
            map.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1000", HOST, "1"]),
            "{map}"
        );
        // A file the host user owns, seen inside through the idmapped rootfs.
        let rootfs = env
            .incus_dir
            .join("storage-pools/default/containers/r1/rootfs");
        let f = rootfs.join("tmp/shared");
        std::fs::write(&f, b"x").unwrap();
        std::os::unix::fs::chown(&f, Some(1000), Some(1000)).unwrap();
        let (_, ls) = sh(&env, "r1", "stat -c %u:%g /tmp/shared");
        assert_eq!(ls.trim(), "1000:1000");
        env.ok("incus", &["stop", "-f", "r1"]);
    }
    env.ok("incus", &["delete", "-f", "r1"]);
}
