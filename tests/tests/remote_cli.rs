//! The client side of remotes: `incus remote add` with a join token against our
//! incus-serve over HTTPS on a loopback port, the client configuration (its own
//! INCUS_CONF), and the tools acting on `srv:NAME` through the REST API.

use incus_tests::serve::{to_output, Server};
use incus_tests::{busybox_images, Output, TestEnv};
use serde_json::Value;
use std::path::PathBuf;

/// The client side: an installation of its own (its `local`) and a config directory.
struct Client {
    env: TestEnv,
    conf: PathBuf,
}

impl Client {
    fn new() -> Client {
        let env = TestEnv::initialized();
        let conf = env.root().join("client-conf");
        Client { env, conf }
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let mut c = self.env.command(tool);
        c.args(args)
            .env("INCUS_CONF", &self.conf)
            .env_remove("INCUS_REMOTE");
        let out = c.output().expect("run a tool");
        to_output(format!("{tool} {}", args.join(" ")), out)
    }

    #[track_caller]
    fn ok(&self, tool: &str, args: &[&str]) -> Output {
        self.run(tool, args).ok()
    }

    #[track_caller]
    fn json(&self, tool: &str, args: &[&str]) -> Value {
        self.ok(tool, args).json()
    }

    fn remotes(&self) -> Value {
        self.json("incus-remote", &["list", "--format", "json"])
    }
}

fn token(server: &TestEnv, name: &str) -> String {
    server
        .ok("incus-trust", &["add", name, "-q"])
        .line()
        .to_string()
}

fn fingerprint_of(pem_path: &std::path::Path) -> String {
    let pem = std::fs::read(pem_path).expect("read certificate");
    let der = rustls_pemfile::certs(&mut &pem[..])
        .next()
        .expect("a certificate")
        .expect("valid PEM");
    incus_tests::sha256_hex(&[&der])
}

#[test]
fn token_enrolment_and_remote_management() {
    let server = TestEnv::initialized();
    let (_srv, port) = Server::start_https(&server);
    let client = Client::new();

    // Before anything: upstream's defaults, `local` (current, static) and `images`
    // (simplestreams); no file written by reading.
    let r = client.remotes();
    assert_eq!(r["local"]["Addr"], "unix://");
    assert_eq!(r["local"]["Static"], true);
    assert_eq!(r["images"]["Protocol"], "simplestreams");
    assert_eq!(r.as_object().unwrap().len(), 2);
    assert_eq!(client.ok("incus-remote", &["get-default"]).line(), "local");

    // A URL whose certificate nobody accepted: refused, nothing recorded.
    let url = format!("https://127.0.0.1:{port}");
    let o = client.run("incus-remote", &["add", "srv", &url]).err(6);
    assert!(o.stderr.contains("fingerprint"), "{}", o.stderr);
    assert!(client.remotes().get("srv").is_none());
    // Trust passwords are gone upstream.
    client
        .run("incus-remote", &["add", "srv", &url, "--password", "x"])
        .err(8);

    // A token whose fingerprint is not the server's: refused, and the token survives.
    let tok = token(&server, "laptop");
    let mut forged: Value = serde_json::from_slice(&base64_decode(&tok)).unwrap();
    forged["fingerprint"] = Value::from("00".repeat(32));
    let forged = base64_encode(forged.to_string().as_bytes());
    let o = client.run("incus-remote", &["add", "srv", &forged]).err(6);
    assert!(o.stderr.contains("mismatch"), "{}", o.stderr);
    assert!(client.remotes().get("srv").is_none());

    // The real token: the server now trusts the client certificate, pinned locally.
    let o = client.ok("incus", &["remote", "add", "srv", &tok]);
    assert!(o.stdout.contains("now trusted"), "{}", o.stdout);
    let r = client.remotes();
    assert_eq!(r["srv"]["Addr"], url.as_str());
    assert_eq!(r["srv"]["Protocol"], "incus");
    assert_eq!(r["srv"]["AuthType"], "tls");
    assert_eq!(r["srv"]["Static"], false);
    assert_eq!(
        fingerprint_of(&client.conf.join("servercerts/srv.crt")),
        fingerprint_of(&server.incus_dir.join("server.crt"))
    );
    let client_fp = fingerprint_of(&client.conf.join("client.crt"));
    let certs = server.json("incus-trust", &["list", "--format", "json"]);
    assert!(
        certs
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["fingerprint"] == client_fp.as_str() && c["name"] == "laptop"),
        "{certs}"
    );
    let yml = std::fs::read_to_string(client.conf.join("config.yml")).unwrap();
    assert!(yml.contains("default-remote: local"), "{yml}");
    assert!(yml.contains(&format!("addr: {url}")), "{yml}");

    // The token works once: another client replaying it is refused.
    let other = Client::new();
    let o = other.run("incus-remote", &["add", "srv", &tok]).err(6);
    assert!(o.stderr.contains("certificate"), "{}", o.stderr);
    assert!(other.remotes().get("srv").is_none());

    // incus query, through the dispatcher.
    let info = client.json("incus", &["query", "srv:/1.0"]);
    assert_eq!(info["auth"], "trusted");
    let raw = client.json("incus", &["query", "--raw", "srv:/1.0/certificates"]);
    assert_eq!(raw["status_code"], 200);
    client.run("incus", &["query", "nope:/1.0"]).err(3);
    let v = client.ok("incus", &["version", "srv:"]).stdout;
    let server_version = server.json("incus-remote", &["query", "/1.0"])["environment"]
        ["server_version"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!server_version.is_empty());
    assert!(
        v.contains(&format!("\nServer version: {server_version}\n")),
        "{v}"
    );

    // A user alias (config.yml `aliases`) through the dispatcher; not recursive.
    client.ok("incus", &["alias", "add", "srvinfo", "query srv:/1.0"]);
    assert_eq!(client.json("incus", &["srvinfo"])["auth"], "trusted");
    client.ok("incus", &["alias", "add", "again", "srvinfo2"]);
    client.ok("incus", &["alias", "add", "srvinfo2", "again"]);
    client.run("incus", &["again"]).err(2);
    client.run("incus", &["alias", "add", "again", "x"]).err(4);
    let yml = std::fs::read_to_string(client.conf.join("config.yml")).unwrap();
    assert!(yml.contains("srvinfo: query srv:/1.0"), "{yml}");

    // switch, get-default, rename, set-url, remove.
    client.ok("incus-remote", &["switch", "srv"]);
    assert_eq!(client.ok("incus-remote", &["get-default"]).line(), "srv");
    let table = client
        .ok("incus-remote", &["list", "--format", "csv"])
        .stdout;
    assert!(table.contains("srv (current),"), "{table}");
    client.ok("incus-remote", &["rename", "srv", "prod"]);
    assert_eq!(client.ok("incus-remote", &["get-default"]).line(), "prod");
    assert!(client.conf.join("servercerts/prod.crt").is_file());
    assert!(!client.conf.join("servercerts/srv.crt").exists());
    // Plain paths go to the default remote now.
    assert_eq!(client.json("incus", &["query", "/1.0"])["auth"], "trusted");
    client.run("incus-remote", &["remove", "prod"]).err(7);
    client.run("incus-remote", &["remove", "local"]).err(7);
    client.run("incus-remote", &["rename", "local", "x"]).err(7);
    client.ok("incus-remote", &["set-url", "prod", "127.0.0.1:1"]);
    assert_eq!(client.remotes()["prod"]["Addr"], "https://127.0.0.1:1");
    client.ok("incus-remote", &["set-url", "prod", &url]);
    client.ok("incus-remote", &["switch", "local"]);

    // A revoked certificate: forbidden (exit 6) from then on.
    server.ok("incus-trust", &["remove", &client_fp[..16]]);
    client
        .run("incus-remote", &["query", "prod:/1.0/instances"])
        .err(6);
    client.run("incus", &["list", "prod:"]).err(6);
    client.run("incus", &["profile", "list", "prod:"]).err(6);
    client.ok("incus-remote", &["remove", "prod"]);
    assert!(client.remotes().get("prod").is_none());
    assert!(!client.conf.join("servercerts/prod.crt").exists());
}

#[test]
fn concurrent_remote_adds_keep_every_remote() {
    let server = TestEnv::initialized();
    let (_srv, port) = Server::start_https(&server);
    let client = Client::new();
    client.ok("incus-remote", &["add", "srv", &token(&server, "c")]);
    let url = format!("https://127.0.0.1:{port}");
    let sock = format!("unix://{}", server.incus_dir.join("unix.socket").display());
    let names: Vec<String> = (0..8).map(|i| format!("r{i}")).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let (client, url, sock) = (&client, &url, &sock);
                s.spawn(move || {
                    // Half by HTTPS (already trusted), half by the unix socket.
                    if i % 2 == 0 {
                        client.run("incus-remote", &["add", n, url, "--accept-certificate"])
                    } else {
                        client.run("incus-remote", &["add", n, sock])
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap().ok();
        }
    });
    let r = client.remotes();
    for n in &names {
        assert!(r.get(n).is_some(), "{n} lost: {r}");
    }
    // + local, srv and upstream's predefined `images`.
    assert_eq!(r.as_object().unwrap().len(), names.len() + 3, "{r}");
    for (i, n) in names.iter().enumerate() {
        assert_eq!(
            client.conf.join(format!("servercerts/{n}.crt")).is_file(),
            i % 2 == 0,
            "{n}"
        );
        assert_eq!(
            client.json("incus", &["query", &format!("{n}:/1.0")])["auth"],
            "trusted"
        );
    }
    // A fresh configuration used by several commands at once gets one certificate.
    let fresh = Client::new();
    let certs: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| fresh.ok("incus-remote", &["get-client-certificate"]).stdout))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        certs[0].starts_with("-----BEGIN CERTIFICATE-----"),
        "{}",
        certs[0]
    );
    assert!(certs.iter().all(|c| *c == certs[0]), "{certs:?}");
    assert_eq!(
        std::fs::read_to_string(fresh.conf.join("client.crt")).unwrap(),
        certs[0]
    );

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(fresh.conf.join("client.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // Adding a name twice is a conflict and changes nothing; a dead socket is refused.
    client.run("incus-remote", &["add", "r1", &sock]).err(4);
    let dead = format!(
        "unix://{}",
        client.env.root().join("nothing.socket").display()
    );
    client.run("incus-remote", &["add", "dead", &dead]).err(3);
    assert!(client.remotes().get("dead").is_none());
}

#[test]
fn instances_on_a_remote() {
    let server = TestEnv::initialized();
    let (_srv, _port) = Server::start_https(&server);
    let client = Client::new();
    client.ok("incus", &["remote", "add", "srv", &token(&server, "c")]);
    let img = busybox_images("remote_cli");

    // Images: imported onto the remote, listed there, not here.
    client.ok(
        "incus",
        &[
            "image",
            "import",
            img.unified.to_str().unwrap(),
            "srv:",
            "--alias",
            "bb",
        ],
    );
    let images = client.json("incus", &["image", "list", "srv:", "--format", "json"]);
    assert_eq!(images.as_array().unwrap().len(), 1, "{images}");
    assert_eq!(
        client.json("incus", &["image", "list", "--format", "json"]),
        Value::Array(vec![])
    );
    assert_eq!(
        server
            .json("incus-image", &["list", "--format", "json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // As upstream, an image without REMOTE: is the default remote's (local here, where
    // there is none of that name): not found, nothing made on srv.
    client.run("incus", &["launch", "bb", "srv:c0"]).code(3);
    assert!(server.instance_names().is_empty());
    client.ok("incus", &["launch", "srv:bb", "srv:c1"]);
    assert_eq!(
        server.json("incus-instance", &["list", "c1", "--format", "json"])[0]["status"],
        "Running"
    );
    let list = client.json("incus", &["list", "srv:", "--format", "json"]);
    assert_eq!(list[0]["name"], "c1");
    assert_eq!(list[0]["status"], "Running");
    assert_eq!(
        client.json("incus", &["list", "--format", "json"]),
        Value::Array(vec![])
    );

    // exec: stdout and the exit code come back.
    let o = client.ok("incus", &["exec", "srv:c1", "--", "cat", "/etc/hostname"]);
    assert_eq!(o.line(), "c1");
    client
        .run("incus", &["exec", "srv:c1", "--", "sh", "-c", "exit 7"])
        .code(7);

    // config set/get.
    client.ok("incus", &["config", "set", "srv:c1", "user.where=remote"]);
    assert_eq!(
        client
            .ok("incus", &["config", "get", "srv:c1", "user.where"])
            .line(),
        "remote"
    );
    assert_eq!(
        server
            .ok("incus-instance", &["config", "get", "c1", "user.where"])
            .line(),
        "remote"
    );

    // Files both ways.
    let f = client.env.root().join("hello.txt");
    std::fs::write(&f, "hello remote\n").unwrap();
    client.ok(
        "incus",
        &["file", "push", f.to_str().unwrap(), "srv:c1/root/hello.txt"],
    );
    assert_eq!(
        client
            .ok("incus", &["exec", "srv:c1", "--", "cat", "/root/hello.txt"])
            .stdout,
        "hello remote\n"
    );
    let back = client.env.root().join("back.txt");
    client.ok(
        "incus",
        &[
            "file",
            "pull",
            "srv:c1/root/hello.txt",
            back.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "hello remote\n");

    // Snapshots: create, list, restore.
    client.ok("incus", &["snapshot", "create", "srv:c1", "s1"]);
    client.ok("incus", &["exec", "srv:c1", "--", "rm", "/root/hello.txt"]);
    let snaps = client.json("incus", &["snapshot", "list", "srv:c1", "--format", "json"]);
    assert_eq!(snaps[0]["name"], "s1", "{snaps}");
    client.ok("incus", &["snapshot", "restore", "srv:c1", "s1"]);
    assert_eq!(
        client
            .ok("incus", &["exec", "srv:c1", "--", "cat", "/root/hello.txt"])
            .stdout,
        "hello remote\n"
    );

    // Lists of the other areas come from the server.
    let pools = client.json("incus", &["storage", "list", "srv:", "--format", "json"]);
    assert_eq!(pools[0]["name"], "default");
    let profiles = client.json("incus", &["profile", "list", "srv:", "--format", "json"]);
    assert_eq!(profiles[0]["name"], "default");
    client.ok("incus", &["network", "list", "srv:", "--format", "json"]);
    client.ok("incus", &["profile", "create", "srv:remote-only"]);
    assert!(server
        .ok("incus-profile", &["list", "--format", "csv"])
        .stdout
        .contains("remote-only"));
    assert!(!client
        .ok("incus-profile", &["list", "--format", "csv"])
        .stdout
        .contains("remote-only"));

    // An image of the client's own store launched onto the remote: uploaded once.
    client
        .env
        .import(&[&img.split_meta, &img.split_rootfs], "bbsplit");
    client.ok("incus", &["launch", "local:bbsplit", "srv:c2"]);
    client.ok("incus", &["init", "local:bbsplit", "srv:c3"]);
    let on_server = server.json("incus-image", &["list", "--format", "json"]);
    assert_eq!(on_server.as_array().unwrap().len(), 2, "{on_server}");
    let c2 = server.json("incus-instance", &["list", "c2", "--format", "json"]);
    assert_eq!(c2[0]["status"], "Running");
    assert_eq!(
        server.json("incus-instance", &["list", "c3", "--format", "json"])[0]["status"],
        "Stopped"
    );
    // The same image named without a remote: the default remote's (local), and the
    // server has its fingerprint already, so nothing is uploaded again.
    client.ok("incus", &["init", "bbsplit", "srv:c4"]);
    let on_server = server.json("incus-image", &["list", "--format", "json"]);
    assert_eq!(on_server.as_array().unwrap().len(), 2, "{on_server}");
    client.ok("incus", &["delete", "-f", "srv:c2", "srv:c3", "srv:c4"]);
    // image copy both ways: an alias on the copy that exists; a download to here.
    client.ok(
        "incus",
        &["image", "copy", "bbsplit", "srv:", "--alias", "copied"],
    );
    let shown = server.json("incus-image", &["show", "copied", "--format", "json"]);
    assert_eq!(shown["type"], "container");
    client.ok(
        "incus",
        &["image", "copy", "srv:bb", "local:", "--copy-aliases"],
    );
    assert_eq!(
        client.json("incus-image", &["show", "bb", "--format", "json"])["fingerprint"],
        server.json("incus-image", &["show", "bb", "--format", "json"])["fingerprint"]
    );
    client
        .run("incus", &["image", "copy", "srv:bb", "srv:"])
        .err(7);

    // copy and move within the remote; server config and trust through `srv:`.
    client.ok("incus", &["copy", "srv:c1", "srv:c1copy"]);
    client.ok("incus", &["move", "srv:c1copy", "srv:c1moved"]);
    let names: Vec<String> = server
        .json("incus-instance", &["list", "--format", "json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["c1", "c1moved"]);
    // To another pool of the server (instance_pool_move over REST).
    let p2 = server.root().join("p2src");
    std::fs::create_dir(&p2).unwrap();
    server.ok(
        "incus-storage",
        &["create", "p2", "dir", &format!("source={}", p2.display())],
    );
    client.ok("incus", &["move", "srv:c1moved", "--storage", "p2"]);
    let shown = server.json("incus-instance", &["show", "c1moved", "-f", "json"]);
    assert_eq!(shown["expanded_devices"]["root"]["pool"], "p2");
    assert!(p2.join("containers/c1moved/rootfs/bin/busybox").is_file());
    client.ok("incus", &["delete", "srv:c1moved"]);
    let addr = client.ok("incus", &["config", "get", "srv:", "core.https_address"]);
    assert!(addr.line().starts_with("127.0.0.1:"), "{}", addr.stdout);
    client.ok("incus", &["config", "set", "srv:", "user.site=remote"]);
    assert_eq!(
        server
            .ok("incus-instance", &["config", "get", "user.site"])
            .line(),
        "remote"
    );
    assert_eq!(
        client.ok("incus", &["config", "get", "user.site"]).line(),
        ""
    );
    let certs = client.json(
        "incus",
        &["config", "trust", "list", "srv:", "--format", "json"],
    );
    assert_eq!(certs[0]["name"], "c", "{certs}");

    // Mixing remotes in one command is refused, naming both.
    let o = client.run("incus", &["copy", "srv:c1", "c2"]).err(8);
    assert!(
        o.stderr.contains("srv") && o.stderr.contains("local"),
        "{}",
        o.stderr
    );
    client.run("incus", &["list", "nope:"]).err(3);

    // The default remote: plain names go to srv.
    client.ok("incus", &["remote", "switch", "srv"]);
    assert_eq!(
        client
            .ok("incus", &["exec", "c1", "--", "cat", "/etc/hostname"])
            .line(),
        "c1"
    );
    client.ok("incus", &["delete", "-f", "c1"]);
    assert_eq!(
        server.json("incus-instance", &["list", "--format", "json"]),
        Value::Array(vec![])
    );
    client.ok("incus", &["remote", "switch", "local"]);
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .expect("base64")
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The upstream client on a configuration directory: its own HOME, no INCUS_DIR.
fn upstream(conf: &std::path::Path, args: &[&str]) -> Output {
    let out = std::process::Command::new(incus_tests::serve::UPSTREAM)
        .args(args)
        .env("INCUS_CONF", conf)
        .env("HOME", conf.parent().unwrap())
        .env_remove("INCUS_DIR")
        .env_remove("INCUS_REMOTE")
        .env_remove("INCUS_PROJECT")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run upstream incus");
    to_output(format!("incus {}", args.join(" ")), out)
}

#[test]
fn configuration_shared_with_the_upstream_client() {
    incus_tests::serve::upstream_present();
    let server = TestEnv::initialized();
    let (_srv, _port) = Server::start_https(&server);
    server.ok("incus-profile", &["create", "extra"]);

    // Ours enrols; upstream's client uses the same directory (config.yml, client
    // certificate, pinned server certificate) and sees the same answers.
    let ours = Client::new();
    ours.ok("incus-remote", &["add", "srv", &token(&server, "ours")]);
    let listed = upstream(&ours.conf, &["remote", "list", "--format", "json"]).ok();
    assert_eq!(listed.json()["srv"], ours.remotes()["srv"]);
    let up = upstream(&ours.conf, &["query", "srv:/1.0/profiles"]).ok();
    let mine = ours.ok("incus-remote", &["query", "srv:/1.0/profiles"]);
    assert_eq!(up.stdout, mine.stdout);
    let up = upstream(&ours.conf, &["profile", "list", "srv:", "--format", "csv"]).ok();
    assert!(up.stdout.contains("extra,"), "{}", up.stdout);

    // Upstream enrols; our tools use its directory.
    let theirs = Client::new();
    std::fs::create_dir_all(&theirs.conf).unwrap();
    upstream(
        &theirs.conf,
        &["remote", "add", "srv", &token(&server, "theirs")],
    )
    .ok();
    let profiles = theirs.json("incus-profile", &["list", "srv:", "--format", "json"]);
    assert!(
        profiles
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "extra"),
        "{profiles}"
    );
    // Its `images` remote is listed and used as a simplestreams server (which this
    // machine cannot reach: the error names it).
    assert_eq!(theirs.remotes()["images"]["Protocol"], "simplestreams");
    let out = theirs.run("incus", &["image", "list", "images:"]);
    assert!(!out.success());
    assert!(
        out.stderr
            .contains("images.linuxcontainers.org/streams/v1/index.json"),
        "{}",
        out.stderr
    );
    // Writing keeps what upstream wrote.
    theirs.ok("incus-remote", &["switch", "srv"]);
    let yml = std::fs::read_to_string(theirs.conf.join("config.yml")).unwrap();
    assert!(yml.contains("images.linuxcontainers.org"), "{yml}");
    assert_eq!(
        upstream(&theirs.conf, &["remote", "get-default"])
            .ok()
            .line(),
        "srv"
    );
}
