//! Upstream compatibility (issue 15): commands of the upstream `incus` 6.0 client that
//! failed against incus-serve, each run with the real client.

use incus_tests::serve::*;
use incus_tests::{poll, TestEnv};
use serde_json::Value;

/// Removes the network through our tool even when the test fails half-way.
struct NetGuard<'a>(&'a TestEnv, &'static str);

impl Drop for NetGuard<'_> {
    fn drop(&mut self) {
        let _ = self.0.run("incus-net", &["delete", self.1]);
    }
}

/// Go's client sends nil maps as `null`: `profile create` and the other creates work.
#[test]
fn null_maps_from_the_go_client() {
    upstream_present();
    let env = TestEnv::initialized();
    with_image(&env);
    let srv = Server::start(&env);
    srv.incus(&["profile", "create", "p1"]).ok();
    let p = env.json("incus-profile", &["show", "p1", "--format", "json"]);
    assert_eq!(p["config"], serde_json::json!({}), "{p}");
    srv.incus(&["profile", "set", "p1", "user.a=1"]).ok();
    assert_eq!(
        srv.incus(&["profile", "get", "p1", "user.a"]).ok().line(),
        "1"
    );
    srv.incus(&["storage", "create", "cpool", "dir"]).ok();
    srv.incus(&["storage", "volume", "create", "cpool", "v1"])
        .ok();
    // Null for every map and list a client may leave nil, over raw REST.
    for (path, body) in [
        (
            "/1.0/profiles",
            r#"{"name":"p2","config":null,"devices":null,"description":""}"#,
        ),
        (
            "/1.0/storage-pools",
            r#"{"name":"cpool2","driver":"dir","config":null}"#,
        ),
        (
            "/1.0/instances",
            r#"{"name":"e1","source":{"type":"none","properties":null},"config":null,"devices":null,"profiles":null}"#,
        ),
    ] {
        let r = srv.curl("POST", path, Some(body));
        assert!(r.0 == 201 || r.0 == 202 || r.0 == 200, "{path}: {r:?}");
    }
    let r = srv.curl(
        "PUT",
        "/1.0/profiles/p2",
        Some(r#"{"config":null,"devices":null}"#),
    );
    assert_eq!(r.0, 200, "{r:?}");
    let r = srv.curl("PUT", "/1.0", Some(r#"{"config":null}"#));
    assert_eq!(r.0, 200, "{r:?}");
    poll(30, "e1 created", || {
        env.instance_names()
            .contains(&"e1".to_string())
            .then_some(())
    });
    let r = srv.curl(
        "PUT",
        "/1.0/instances/e1",
        Some(r#"{"config":null,"devices":null,"profiles":null}"#),
    );
    assert!(r.0 == 200 || r.0 == 202, "{r:?}");
    let r = srv.curl(
        "PUT",
        "/1.0/storage-pools/cpool/volumes/custom/v1",
        Some(r#"{"config":null,"description":"d"}"#),
    );
    assert_eq!(r.0, 200, "{r:?}");
    let fp = env.json("incus-image", &["show", "busybox", "--format", "json"])["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let r = srv.curl(
        "PUT",
        &format!("/1.0/images/{fp}"),
        Some(r#"{"properties":null,"profiles":null,"public":false,"auto_update":false}"#),
    );
    assert_eq!(r.0, 200, "{r:?}");
    let _ = env.run("incus-storage", &["volume", "delete", "cpool", "v1"]);
    let _ = env.run("incus-storage", &["delete", "cpool"]);
    let _ = env.run("incus-storage", &["delete", "cpool2"]);
}

/// `/1.0` announces upstream's names, only for what is served; the client's exec
/// flags that depend on them work.
#[test]
fn api_extensions_and_exec_user_group_cwd() {
    upstream_present();
    let env = TestEnv::initialized();
    with_image(&env);
    let srv = Server::start(&env);
    let (_, v) = srv.curl("GET", "/1.0", None);
    let ext: Vec<&str> = v["metadata"]["api_extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    for must in [
        "container_exec_user_group_cwd",
        "resources",
        "instance_get_full",
        "container_backup",
    ] {
        assert!(ext.contains(&must), "{must} missing: {ext:?}");
    }
    // Names upstream never used, and features we do not have, are not announced.
    for never in ["explicit_trust_token", "image_aliases", "clustering"] {
        assert!(!ext.contains(&never), "{never} announced: {ext:?}");
    }
    srv.incus(&["launch", "busybox", "x1"]).ok();
    let o = srv
        .incus(&[
            "exec",
            "x1",
            "--cwd",
            "/tmp",
            "--user",
            "1000",
            "--group",
            "1001",
            "--",
            "sh",
            "-c",
            "echo $(pwd) $(id -u) $(id -g)",
        ])
        .ok();
    assert_eq!(o.stdout.trim(), "/tmp 1000 1001", "{o:?}");
}

#[test]
fn resources_and_storage_info() {
    upstream_present();
    let env = TestEnv::initialized();
    let srv = Server::start(&env);
    let r = srv.incus(&["query", "/1.0/resources"]).ok().json();
    let ncpu = std::thread::available_parallelism().unwrap().get() as u64;
    assert_eq!(r["cpu"]["total"], ncpu, "{r}");
    assert!(r["memory"]["total"].as_u64().unwrap() > 0, "{r}");
    assert!(r["storage"]["disks"].is_array(), "{r}");
    assert!(r["network"]["cards"].is_array(), "{r}");
    let o = srv.incus(&["info", "--resources"]).ok();
    assert!(o.stdout.contains("CPU"), "{}", o.stdout);
    let o = srv.incus(&["storage", "info", "default"]).ok();
    assert!(o.stdout.contains("space used"), "{}", o.stdout);
    assert!(o.stdout.contains("total space"), "{}", o.stdout);
}

/// An alias with `/` in its name, created, shown, renamed and deleted.
#[test]
fn image_alias_with_a_slash() {
    upstream_present();
    let env = TestEnv::initialized();
    with_image(&env);
    let srv = Server::start(&env);
    let fp = env.json("incus-image", &["show", "busybox", "--format", "json"])["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    srv.incus(&["image", "alias", "create", "debian/12", &fp])
        .ok();
    let o = srv
        .incus(&["image", "alias", "list", "--format", "csv"])
        .ok();
    assert!(o.stdout.contains("debian/12"), "{}", o.stdout);
    let (code, v) = srv.curl("GET", "/1.0/images/aliases/debian%2F12", None);
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["metadata"]["target"], fp.as_str(), "{v}");
    srv.incus(&["image", "alias", "rename", "debian/12", "debian/bookworm"])
        .ok();
    srv.incus(&["init", "debian/bookworm", "a1"]).ok();
    srv.incus(&["image", "alias", "delete", "debian/bookworm"])
        .ok();
    let o = srv
        .incus(&["image", "alias", "list", "--format", "csv"])
        .ok();
    assert!(!o.stdout.contains("debian/"), "{}", o.stdout);
}

/// `config unset` of a server key, `environment.addresses`, a token over HTTPS.
#[test]
fn server_config_unset_addresses_and_token() {
    upstream_present();
    let env = TestEnv::initialized();
    let (srv, port) = Server::start_https(&env);
    srv.incus(&["config", "set", "user.foo=bar"]).ok();
    srv.incus(&["config", "set", "user.keep=1"]).ok();
    assert_eq!(srv.incus(&["config", "get", "user.foo"]).ok().line(), "bar");
    srv.incus(&["config", "unset", "user.foo"]).ok();
    assert_eq!(
        srv.incus(&["config", "get", "user.foo"]).ok().stdout.trim(),
        ""
    );
    let ours = env.ok("incus", &["config", "get", "user.foo"]);
    assert_eq!(ours.stdout.trim(), "", "{ours:?}");
    assert_eq!(srv.incus(&["config", "get", "user.keep"]).ok().line(), "1");
    // The HTTPS listener is listed.
    let (_, v) = srv.curl("GET", "/1.0", None);
    let addrs = v["metadata"]["environment"]["addresses"].clone();
    assert_eq!(
        addrs,
        serde_json::json!([format!("127.0.0.1:{port}")]),
        "{v}"
    );
    // Enrolment with a token over HTTPS, then a command through that remote.
    let token = env
        .ok("incus-trust", &["add", "laptop", "-q"])
        .line()
        .to_string();
    srv.incus(&["remote", "add", "srvt", &token]).ok();
    let info = srv.incus(&["query", "srvt:/1.0"]).ok().json();
    assert_eq!(info["auth"], "trusted", "{info}");
    let certs = env.json("incus-trust", &["list", "--format", "json"]);
    assert_eq!(certs[0]["name"], "laptop", "{certs}");
    // The same over HTTPS, and from our own CLI through that remote.
    srv.incus(&["config", "set", "srvt:", "user.remote=1"]).ok();
    srv.incus(&["config", "unset", "srvt:", "user.remote"]).ok();
    assert_eq!(
        srv.incus(&["config", "get", "user.remote"])
            .ok()
            .stdout
            .trim(),
        ""
    );
    assert_eq!(srv.incus(&["config", "get", "user.keep"]).ok().line(), "1");
}

/// The NICs of `GET .../state` carry their MAC and host-side name.
#[test]
fn instance_state_network_hwaddr() {
    upstream_present();
    let env = TestEnv::initialized();
    with_image(&env);
    let _guard = NetGuard(&env, "cpnet0");
    let srv = Server::start(&env);
    env.ok(
        "incus-net",
        &[
            "create",
            "cpnet0",
            "ipv6.address=none",
            "ipv4.address=10.231.77.1/24",
        ],
    );
    srv.incus(&["launch", "busybox", "h1", "-n", "cpnet0"]).ok();
    let mac = srv
        .incus(&["config", "get", "h1", "volatile.eth0.hwaddr"])
        .ok()
        .line()
        .to_string();
    assert!(!mac.is_empty());
    let (_, v) = srv.curl("GET", "/1.0/instances/h1/state", None);
    let eth0: &Value = &v["metadata"]["network"]["eth0"];
    assert_eq!(eth0["hwaddr"], mac.as_str(), "{v}");
    assert!(!eth0["host_name"].as_str().unwrap_or("").is_empty(), "{v}");
    assert_eq!(eth0["mtu"], 1500, "{v}");
    let o = srv.incus(&["info", "h1"]).ok();
    assert!(o.stdout.contains(&mac), "{}", o.stdout);
    let list = srv.incus(&["list", "--format", "json"]).ok().json();
    assert_eq!(list[0]["state"]["network"]["eth0"]["hwaddr"], mac.as_str());
    srv.incus(&["delete", "-f", "h1"]).ok();
}

/// pylxd's `profiles.create` (None for config and devices when not given) and edits.
#[test]
fn pylxd_profiles() {
    let python = pylxd_python();
    let env = TestEnv::initialized();
    let srv = Server::start(&env);
    let script = r#"
import json, sys, urllib.parse, pylxd
c = pylxd.Client(endpoint="http+unix://" + urllib.parse.quote(sys.argv[1], safe=""))
p = c.profiles.create("pp1")
q = c.profiles.create("pp2", config={"user.a": "1"}, devices=None, description="two")
q.config["user.b"] = "2"
q.save(wait=True)
print(json.dumps({"names": sorted(x.name for x in c.profiles.all()),
                  "pp2": c.profiles.get("pp2").config,
                  "pp1": c.profiles.get("pp1").devices}))
"#;
    let o = std::process::Command::new(python)
        .args(["-c", script])
        .arg(&srv.socket)
        .output()
        .expect("python");
    let v = to_output("pylxd profiles".into(), o).ok().json();
    assert_eq!(
        v,
        serde_json::json!({
            "names": ["default", "pp1", "pp2"],
            "pp2": {"user.a": "1", "user.b": "2"},
            "pp1": {},
        }),
        "{}",
        srv.log()
    );
    let ours = env.json("incus-profile", &["show", "pp2", "--format", "json"]);
    assert_eq!(ours["description"], "two", "{ours}");
}

/// `file push` through a symlink the guest made follows it inside the container, as
/// upstream does: the write lands in the container's /etc, and a link climbing out
/// with `..` stops at the container's root, never reaching the host.
#[test]
fn file_push_through_a_guest_symlink_stays_inside() {
    upstream_present();
    let env = TestEnv::initialized();
    with_image(&env);
    let srv = Server::start(&env);
    srv.incus(&["launch", "busybox", "f1"]).ok();
    let unique = format!("compat-escape-{}", std::process::id());
    let host_target = std::path::Path::new("/tmp").join(&unique);
    let _ = std::fs::remove_file(&host_target);
    srv.incus(&[
        "exec",
        "f1",
        "--",
        "sh",
        "-c",
        &format!(
            "ln -s /etc/x /root/lnk && ln -s ../../../../../../tmp/{unique} /root/esc && \
             ln -s /etc/y /root/rest"
        ),
    ])
    .ok();
    let src = env.root().join("payload");
    std::fs::write(&src, "inside\n").unwrap();
    let src = src.to_str().unwrap();
    srv.incus(&["file", "push", src, "f1/root/lnk"]).ok();
    let o = srv.incus(&["exec", "f1", "--", "cat", "/etc/x"]).ok();
    assert_eq!(o.stdout, "inside\n");
    // The link itself is still a link.
    let o = srv
        .incus(&["exec", "f1", "--", "readlink", "/root/lnk"])
        .ok();
    assert_eq!(o.stdout.trim(), "/etc/x");
    srv.incus(&["file", "push", src, "f1/root/esc"]).ok();
    assert!(
        !host_target.exists(),
        "a push through ../.. reached the host's {}",
        host_target.display()
    );
    let o = srv
        .incus(&["exec", "f1", "--", "cat", &format!("/tmp/{unique}")])
        .ok();
    assert_eq!(o.stdout, "inside\n");
    // The files API (POST .../files) does the same.
    let mut c = std::process::Command::new("curl");
    c.args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--unix-socket",
    ])
    .arg(&srv.socket)
    .args([
        "-X",
        "POST",
        "-H",
        "X-Incus-type: file",
        "--data-binary",
        "rest\n",
    ])
    .arg("http://incus/1.0/instances/f1/files?path=/root/rest");
    let code = String::from_utf8(c.output().unwrap().stdout).unwrap();
    assert_eq!(code, "200");
    let o = srv.incus(&["exec", "f1", "--", "cat", "/etc/y"]).ok();
    assert_eq!(o.stdout, "rest\n");
}

fn https_get(port: u16) -> u16 {
    let o = std::process::Command::new("curl")
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
        .expect("curl");
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn addresses(srv: &Server) -> Value {
    srv.curl("GET", "/1.0", None).1["metadata"]["environment"]["addresses"].clone()
}

/// `core.https_address` set while the server runs (by our tool, then over REST by the
/// upstream client) starts, moves and stops the HTTPS listener without a restart.
#[test]
fn https_address_follows_config_changes() {
    upstream_present();
    let env = TestEnv::initialized();
    let srv = Server::start(&env);
    assert_eq!(addresses(&srv), serde_json::json!([]));
    let p1 = free_port();
    env.ok(
        "incus-instance",
        &[
            "config",
            "set",
            &format!("core.https_address=127.0.0.1:{p1}"),
        ],
    );
    poll(20, "HTTPS on the first port", || {
        (https_get(p1) == 200).then_some(())
    });
    assert_eq!(
        addresses(&srv),
        serde_json::json!([format!("127.0.0.1:{p1}")])
    );
    // Over REST, with the upstream client: the listener moves.
    let p2 = free_port();
    srv.incus(&[
        "config",
        "set",
        &format!("core.https_address=127.0.0.1:{p2}"),
    ])
    .ok();
    poll(20, "HTTPS on the second port", || {
        (https_get(p2) == 200).then_some(())
    });
    poll(20, "the first port closed", || {
        (https_get(p1) == 0).then_some(())
    });
    assert_eq!(
        addresses(&srv),
        serde_json::json!([format!("127.0.0.1:{p2}")])
    );
    // An unrelated key changes nothing; unset stops it.
    srv.incus(&["config", "set", "user.x=1"]).ok();
    assert_eq!(https_get(p2), 200);
    srv.incus(&["config", "unset", "core.https_address"]).ok();
    poll(20, "HTTPS stopped", || (https_get(p2) == 0).then_some(()));
    assert_eq!(addresses(&srv), serde_json::json!([]));
    // The unix socket still serves.
    assert_eq!(srv.curl("GET", "/1.0", None).0, 200);
}
