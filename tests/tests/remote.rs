//! The remote backend (`incus_client::remote::Remote`) against a real incus-serve,
//! through the `Backend` trait the tools use: over the unix socket and over HTTPS
//! with a trusted client certificate (and an untrusted one, and a wrong pin).

use incus_api::ErrorKind;
use incus_client::remote::{fetch_server_certificate, Remote, RemoteSpec};
use incus_client::{
    Backend, CreateOptions, ExecSpec, FileKind, FilePut, ImageSource, ImportOptions,
    SnapshotCreateOptions, TrustOptions,
};
use incus_tests::serve::*;
use incus_tests::{busybox_images, TestEnv};
use std::io::{Read, Seek};
use std::os::fd::AsRawFd;
use std::time::Duration;

fn unix(srv: &Server) -> Remote {
    Remote::connect(RemoteSpec {
        addr: format!("unix://{}", srv.socket.display()),
        ..Default::default()
    })
    .expect("connect over the unix socket")
}

struct ClientCert {
    cert: String,
    key: String,
}

fn client_cert(name: &str) -> ClientCert {
    let ck = rcgen::generate_simple_self_signed(vec![name.to_string()]).expect("rcgen");
    ClientCert {
        cert: ck.cert.pem(),
        key: ck.key_pair.serialize_pem(),
    }
}

fn https(port: u16, cert: Option<&ClientCert>, server_cert: &str) -> Remote {
    Remote::connect(RemoteSpec {
        addr: format!("https://127.0.0.1:{port}"),
        client_cert: cert.map(|c| c.cert.clone()),
        client_key: cert.map(|c| c.key.clone()),
        server_cert: Some(server_cert.to_string()),
        project: "default".into(),
    })
    .expect("connect over HTTPS")
}

fn kind<T: std::fmt::Debug>(r: incus_api::Result<T>) -> ErrorKind {
    r.expect_err("expected an error").kind
}

/// A temporary file with `data`, rewound.
fn file_with(data: &[u8]) -> std::fs::File {
    let mut f = tempfile::tempfile().unwrap();
    std::io::Write::write_all(&mut f, data).unwrap();
    f.rewind().unwrap();
    f
}

fn read_back(mut f: std::fs::File) -> String {
    f.rewind().unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    s
}

/// Runs `argv` in `name` with stdin from `input`; (exit code, stdout, stderr).
fn exec(
    b: &dyn Backend,
    name: &str,
    argv: &[&str],
    input: &[u8],
    tty: bool,
) -> (i32, String, String) {
    let (stdin, out, err) = (file_with(input), file_with(b""), file_with(b""));
    let spec = ExecSpec {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: vec![("REMOTE_TEST".into(), "yes".into())],
        tty,
        window: tty.then_some((30, 100)),
        stdin: Some(stdin.as_raw_fd()),
        stdout: Some(out.as_raw_fd()),
        stderr: Some(err.as_raw_fd()),
        ..Default::default()
    };
    let code = b.instance_exec(name, &spec).expect("exec");
    (code, read_back(out), read_back(err))
}

fn launch(b: &dyn Backend, name: &str) {
    let inst = b
        .instance_create(CreateOptions {
            name: Some(name.into()),
            image: Some("busybox".into()),
            ..Default::default()
        })
        .expect("create");
    assert_eq!(inst.name, name);
    b.instance_start(name).expect("start");
    assert_eq!(b.instance_state(name).unwrap().status, "Running");
}

fn put_file(b: &dyn Backend, inst: &str, path: &str, data: &[u8], parents: bool) {
    let put = FilePut {
        kind: FileKind::File,
        uid: None,
        gid: None,
        mode: Some(0o640),
        target: String::new(),
        append: false,
        make_parents: parents,
        force: false,
    };
    b.instance_file_put(inst, path, &put, &mut &data[..])
        .expect("file put");
}

fn get_file(b: &dyn Backend, inst: &str, path: &str) -> incus_api::Result<Vec<u8>> {
    let mut out = Vec::new();
    b.instance_file_get(inst, path, &mut out).map(|_| out)
}

#[test]
fn remote_over_unix_socket() {
    let env = TestEnv::initialized();
    with_image(&env);
    let srv = Server::start(&env);
    let r = unix(&srv);
    let b: &dyn Backend = &r;

    let info = b.server().unwrap();
    assert_eq!(info.auth, "trusted");
    b.server_config_set_keys(
        &[(
            "images.compression_algorithm".to_string(),
            "gzip".to_string(),
        )]
        .into(),
    )
    .unwrap();
    assert_eq!(
        b.server_config_get("images.compression_algorithm").unwrap(),
        "gzip"
    );
    b.server_config_unset("images.compression_algorithm")
        .unwrap();
    assert_eq!(
        b.server_config_get("images.compression_algorithm").unwrap(),
        ""
    );

    // Errors keep their kinds (so the tools' exit codes match the local ones).
    assert_eq!(kind(b.instance("ru-missing")), ErrorKind::NotFound);
    assert_eq!(kind(b.instance_start("ru-missing")), ErrorKind::NotFound);
    assert_eq!(kind(b.profile("ru-missing")), ErrorKind::NotFound);
    let e = b.instance_state("ru-missing").unwrap_err();
    assert!(!e.message.is_empty() && e.message != "HTTP 404", "{e:?}");
    assert_eq!(
        kind(b.admin_check()),
        ErrorKind::Unsupported,
        "admin check is the host's"
    );

    launch(b, "ru1");
    assert_eq!(
        kind(b.instance_create(CreateOptions {
            name: Some("ru1".into()),
            image: Some("busybox".into()),
            ..Default::default()
        })),
        ErrorKind::Conflict
    );
    // A failed operation keeps its kind too (start is an operation; a running
    // instance makes it fail with Invalid, exit 7, as the local tool).
    let e = b.instance_start("ru1").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid, "{e:?}");
    assert!(e.message.contains("already running"), "{e:?}");
    b.instance_console_log("ru1").unwrap();
    assert_eq!(
        kind(b.instance_console_log("ru-missing")),
        ErrorKind::NotFound
    );

    // exec: stdio are the given fds, exit code from the operation.
    let (code, out, err) = exec(
        b,
        "ru1",
        &[
            "sh",
            "-c",
            "read l; echo out:$l:$REMOTE_TEST; echo err >&2; exit 3",
        ],
        b"abc\n",
        false,
    );
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (3, "out:abc:yes\n", "err\n")
    );
    // Interactive: one pty; the command sees a terminal of the given size.
    let (code, out, _) = exec(
        b,
        "ru1",
        &["sh", "-c", "test -t 0 && stty size; exit 5"],
        b"",
        true,
    );
    assert_eq!(code, 5);
    assert!(out.contains("30 100"), "{out:?}");
    // The end of input reaches a command reading the pty (an EOT, as upstream).
    let (code, out, _) = exec(b, "ru1", &["cat"], b"typed\n", true);
    assert_eq!(code, 0);
    assert!(out.contains("typed"), "{out:?}");
    // The local tool ends the same way (its runtime sends the EOT).
    let o = env.run_stdin(
        "incus-instance",
        &["exec", "-t", "ru1", "--", "cat"],
        "local\n",
    );
    assert_eq!(o.code, 0, "{o:?}");
    assert!(o.stdout.contains("local"), "{o:?}");
    // A command that does not exist: upstream's 127.
    let (code, _, _) = exec(b, "ru1", &["/nonexistent"], b"", false);
    assert_eq!(code, 127);

    // Config.
    let inst = b
        .instance_set(
            "ru1",
            &[("user.remote".to_string(), "1".to_string())].into(),
        )
        .unwrap();
    assert_eq!(
        inst.config.get("user.remote").map(String::as_str),
        Some("1")
    );
    let inst = b.instance_unset("ru1", "user.remote").unwrap();
    assert!(!inst.config.contains_key("user.remote"));
    assert_eq!(
        kind(b.instance_set("ru1", &[("nope.key".to_string(), "1".to_string())].into())),
        ErrorKind::Invalid
    );

    // Files.
    put_file(b, "ru1", "/root/d1/d2/f.txt", b"hello remote\n", true);
    assert_eq!(
        get_file(b, "ru1", "/root/d1/d2/f.txt").unwrap(),
        b"hello remote\n"
    );
    let mut sink = Vec::new();
    let fi = b
        .instance_file_get("ru1", "/root/d1/d2/f.txt", &mut sink)
        .unwrap();
    assert_eq!((fi.kind, fi.mode, fi.size), (FileKind::File, 0o640, 13));
    let di = b.instance_file_get("ru1", "/root/d1", &mut sink).unwrap();
    assert_eq!(
        (di.kind, di.entries.clone()),
        (FileKind::Directory, vec!["d2".to_string()])
    );
    let (code, out, _) = exec(b, "ru1", &["cat", "/root/d1/d2/f.txt"], b"", false);
    assert_eq!((code, out.as_str()), (0, "hello remote\n"));
    b.instance_file_delete("ru1", "/root/d1", true).unwrap();
    assert_eq!(kind(get_file(b, "ru1", "/root/d1")), ErrorKind::NotFound);
    assert_eq!(
        kind(get_file(b, "ru-missing", "/etc/hostname")),
        ErrorKind::NotFound
    );

    // Snapshots: create, list, restore, delete.
    put_file(b, "ru1", "/root/state", b"one", false);
    let s = b
        .snapshot_create(
            "ru1",
            SnapshotCreateOptions {
                name: Some("s1".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(s.name, "s1");
    assert_eq!(
        kind(b.snapshot_create(
            "ru1",
            SnapshotCreateOptions {
                name: Some("s1".into()),
                ..Default::default()
            }
        )),
        ErrorKind::Conflict
    );
    let auto = b
        .snapshot_create("ru1", SnapshotCreateOptions::default())
        .unwrap();
    let names: Vec<String> = b
        .snapshots("ru1")
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"s1".to_string()) && names.contains(&auto.name));
    put_file(b, "ru1", "/root/state", b"two", false);
    b.instance_stop("ru1", Duration::from_secs(10), true)
        .unwrap();
    assert_eq!(b.instance_state("ru1").unwrap().status, "Stopped");
    b.snapshot_restore("ru1", "s1", false).unwrap();
    assert_eq!(get_file(b, "ru1", "/root/state").unwrap(), b"one");
    b.snapshot_delete("ru1", &["s1".to_string(), auto.name.clone()])
        .unwrap();
    assert!(b.snapshots("ru1").unwrap().is_empty());
    assert_eq!(kind(b.snapshot("ru1", "s1")), ErrorKind::NotFound);

    // Images: list, export, import (split, as multipart) with progress, aliases.
    let imgs = b.images().unwrap();
    assert_eq!(imgs.len(), 1);
    let fp = imgs[0].fingerprint.clone();
    let out_dir = env.root().join("export");
    let files = b.image_export("busybox", &out_dir).unwrap();
    assert_eq!(files.len(), 1);
    assert!(files[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with(&fp));
    let img = busybox_images("remote");
    assert_eq!(
        std::fs::metadata(&files[0]).unwrap().len(),
        std::fs::metadata(&img.unified).unwrap().len()
    );
    let seen = std::cell::Cell::new((0u64, 0u64));
    let progress = |sent: u64, total: u64| seen.set((sent, total));
    let split = b
        .image_import(
            &ImageSource::Split {
                metadata: img.split_meta.clone(),
                rootfs: img.split_rootfs.clone(),
            },
            &ImportOptions {
                aliases: vec!["ru-split".into()],
                public: false,
                properties: Default::default(),
            },
            Some(&progress),
        )
        .unwrap();
    let (sent, total) = seen.get();
    assert!(
        sent == total && total > std::fs::metadata(&img.split_rootfs).unwrap().len(),
        "{sent}/{total}"
    );
    assert_ne!(split.fingerprint, fp);
    assert_eq!(b.image("ru-split").unwrap().fingerprint, split.fingerprint);
    b.image_alias_rename("ru-split", "ru-split2").unwrap();
    assert!(b
        .image_aliases()
        .unwrap()
        .iter()
        .any(|a| a.name == "ru-split2"));
    b.image_alias_delete("ru-split2").unwrap();
    b.image_delete(&split.fingerprint).unwrap();
    assert_eq!(b.images().unwrap().len(), 1);
    assert_eq!(kind(b.image("ru-split")), ErrorKind::NotFound);

    // Profiles.
    b.profile_create("ru-p1", Default::default()).unwrap();
    b.profile_set_keys(
        "ru-p1",
        &[("limits.cpu".to_string(), "1".to_string())].into(),
    )
    .unwrap();
    b.profile_device_add(
        "ru-p1",
        "d0",
        [("type".to_string(), "none".to_string())].into(),
    )
    .unwrap();
    assert_eq!(
        kind(b.profile_device_add(
            "ru-p1",
            "d0",
            [("type".to_string(), "none".to_string())].into()
        )),
        ErrorKind::Conflict
    );
    let copy = b.profile_copy("ru-p1", "ru-p2").unwrap();
    assert_eq!(copy.config.get("limits.cpu").map(String::as_str), Some("1"));
    assert!(copy.devices.contains_key("d0"));
    b.profile_rename("ru-p2", "ru-p3").unwrap();
    assert_eq!(kind(b.profile_unset("ru-p3", "nope")), ErrorKind::NotFound);
    b.profile_delete("ru-p3").unwrap();
    b.profile_delete("ru-p1").unwrap();
    assert!(!b
        .profiles()
        .unwrap()
        .iter()
        .any(|p| p.name.starts_with("ru-")));

    // Pools and volumes.
    assert!(b.pools().unwrap().iter().any(|p| p.name == "default"));
    b.volume_create("default", "ru-v1", Default::default(), "vol")
        .unwrap();
    let v = b
        .volume_set_keys(
            "default",
            "ru-v1",
            &[("user.k".to_string(), "v".to_string())].into(),
        )
        .unwrap();
    assert_eq!(v.config.get("user.k").map(String::as_str), Some("v"));
    let vs = b.volume_snapshot_create("default", "ru-v1", None).unwrap();
    assert_eq!(b.volume_snapshots("default", "ru-v1").unwrap().len(), 1);
    b.volume_attach("default", "ru-v1", "ru1", false, None, "/mnt/v")
        .unwrap();
    assert!(b.instance("ru1").unwrap().devices.contains_key("ru-v1"));
    b.volume_detach("default", "ru-v1", "ru1", false, None)
        .unwrap();
    assert!(!b.instance("ru1").unwrap().devices.contains_key("ru-v1"));
    b.volume_snapshot_delete("default", "ru-v1", &vs.name)
        .unwrap();
    b.volume_delete("default", "ru-v1").unwrap();
    assert_eq!(
        kind(b.volume("default", "custom", "ru-v1")),
        ErrorKind::NotFound
    );

    // Lists of the rest.
    b.networks().unwrap();
    assert!(b.certificates().unwrap().is_empty());

    // Events: lifecycle events of what this client does arrive on the websocket.
    let (tx, rx) = std::sync::mpsc::channel();
    let spec_addr = format!("unix://{}", srv.socket.display());
    let follower = std::thread::spawn(move || {
        let r = Remote::connect(RemoteSpec {
            addr: spec_addr,
            ..Default::default()
        })
        .unwrap();
        let res = r.events_follow(&["lifecycle"], &mut |ev| {
            let hit = ev["metadata"]["source"] == "/1.0/profiles/ru-ev";
            if hit {
                tx.send(ev.clone()).unwrap();
            }
            !hit
        });
        res.unwrap();
    });
    let ev = incus_tests::poll(20, "the profile-created event", || {
        let _ = b.profile_create("ru-ev", Default::default());
        rx.recv_timeout(Duration::from_millis(500)).ok()
    });
    assert_eq!(ev["metadata"]["action"], "profile-created", "{ev}");
    follower.join().unwrap();
    b.profile_delete("ru-ev").unwrap();

    b.instance_delete("ru1").unwrap();
    assert_eq!(kind(b.instance("ru1")), ErrorKind::NotFound);
}

#[test]
fn remote_over_https_with_client_certificates() {
    let env = TestEnv::initialized();
    with_image(&env);
    let (srv, port) = Server::start_https(&env);
    let addr = format!("https://127.0.0.1:{port}");

    // The certificate the server presents is its server.crt.
    let server_pem = fetch_server_certificate(&addr).unwrap();
    let on_disk = std::fs::read_to_string(env.incus_dir.join("server.crt")).unwrap();
    assert_eq!(server_pem.trim(), on_disk.trim());

    let trusted = client_cert("ru-trusted");
    let local = unix(&srv);
    let cert = local
        .certificate_add(
            trusted.cert.as_bytes(),
            &TrustOptions {
                name: "ru-trusted".into(),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(cert.name, "ru-trusted");

    let r = https(port, Some(&trusted), &server_pem);
    let b: &dyn Backend = &r;
    let info = b.server().unwrap();
    assert_eq!(info.auth, "trusted");
    assert_eq!(info.auth_user_name, cert.fingerprint);
    assert_eq!(b.certificates().unwrap().len(), 1);
    assert_eq!(kind(b.instance("rh-missing")), ErrorKind::NotFound);

    // A container, exec (websockets over TLS) and files.
    launch(b, "rh1");
    let (code, out, err) = exec(
        b,
        "rh1",
        &["sh", "-c", "cat; echo e >&2; exit 7"],
        b"over tls\n",
        false,
    );
    assert_eq!((code, out.as_str(), err.as_str()), (7, "over tls\n", "e\n"));
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    put_file(b, "rh1", "/root/big", &big, false);
    assert_eq!(get_file(b, "rh1", "/root/big").unwrap(), big);
    b.snapshot_create(
        "rh1",
        SnapshotCreateOptions {
            name: Some("snap0".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(b.snapshots("rh1").unwrap().len(), 1);
    b.profile_create("rh-p", Default::default()).unwrap();
    b.profile_delete("rh-p").unwrap();
    assert_eq!(b.images().unwrap().len(), 1);
    let token = b
        .trust_token_create("rh-client", &TrustOptions::default())
        .unwrap();
    assert_eq!(token.1.client_name, "rh-client");
    assert!(b
        .trust_tokens()
        .unwrap()
        .iter()
        .any(|(id, _)| *id == token.0));
    b.trust_token_revoke("rh-client").unwrap();
    assert!(b.trust_tokens().unwrap().is_empty());

    // Untrusted certificates (and none at all) reach only GET /1.0.
    let stranger = client_cert("ru-stranger");
    for r in [
        https(port, Some(&stranger), &server_pem),
        https(port, None, &server_pem),
    ] {
        let info = r.server().unwrap();
        assert_eq!(info.auth, "untrusted");
        assert_eq!(kind(r.instances(false)), ErrorKind::Forbidden);
        assert_eq!(kind(r.instance("rh1")), ErrorKind::Forbidden);
        assert_eq!(kind(r.instance_start("rh1")), ErrorKind::Forbidden);
        assert_eq!(kind(r.profiles()), ErrorKind::Forbidden);
        assert_eq!(kind(r.images()), ErrorKind::Forbidden);
        assert_eq!(kind(r.certificates()), ErrorKind::Forbidden);
        assert_eq!(kind(r.instance_console_log("rh1")), ErrorKind::Forbidden);
        assert_eq!(kind(get_file(&r, "rh1", "/root/big")), ErrorKind::Forbidden);
        let spec = ExecSpec {
            argv: vec!["true".into()],
            ..Default::default()
        };
        assert_eq!(kind(r.instance_exec("rh1", &spec)), ErrorKind::Forbidden);
        assert_eq!(
            kind(r.events_follow(&[], &mut |_| false)),
            ErrorKind::Forbidden
        );
        assert_eq!(
            kind(r.profile_create("rh-x", Default::default())),
            ErrorKind::Forbidden
        );
    }
    assert!(!local.profiles().unwrap().iter().any(|p| p.name == "rh-x"));

    // A wrong pinned certificate: the handshake is refused with a clear error.
    let wrong = client_cert("not-the-server");
    let e = https(port, Some(&trusted), &wrong.cert)
        .server()
        .unwrap_err();
    assert!(e.message.contains("pinned"), "{e:?}");
    // No pin at all is refused before any connection.
    let e = Remote::connect(RemoteSpec {
        addr: addr.clone(),
        ..Default::default()
    })
    .err()
    .unwrap();
    assert_eq!(e.kind, ErrorKind::Invalid);

    // Revoked: the same client is refused at once.
    local.certificate_remove(&cert.fingerprint[..12]).unwrap();
    assert_eq!(kind(b.instances(false)), ErrorKind::Forbidden);
    local.instance_delete("rh1").unwrap_or_else(|_| {
        local
            .instance_stop("rh1", Duration::from_secs(5), true)
            .unwrap();
        local.instance_delete("rh1").unwrap();
    });
}

#[test]
fn remote_kept_alive_connection_survives_a_server_restart() {
    let env = TestEnv::initialized();
    let srv = Server::start(&env);
    let r = unix(&srv);
    r.profile_create("rk-p1", Default::default()).unwrap();
    // The idle kept-alive connection dies with the server; the next call (a POST too)
    // goes out again on a new connection, once.
    drop(srv);
    let srv = Server::start(&env);
    r.profile_create("rk-p2", Default::default()).unwrap();
    let names: Vec<String> = r.profiles().unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(
        names.iter().filter(|n| *n == "rk-p2").count(),
        1,
        "{names:?}"
    );
    drop(srv);
    // No server at all: a clear error, not a hang.
    let e = r.profiles().unwrap_err();
    assert!(e.message.contains("Connect to"), "{e:?}");
}

/// `remote-probe` (a `Remote` call owning its stdio) under a terminal made by
/// `script`; input through a pipe, output into a file.
struct Probe {
    child: std::process::Child,
    input: std::process::ChildStdin,
    out: std::path::PathBuf,
}

impl Probe {
    fn start(env: &TestEnv, args: &str) -> Probe {
        let out = env.root().join(format!("probe-{}.out", std::process::id()));
        let cmd = format!("{} {args}", env!("CARGO_BIN_EXE_remote-probe"));
        let mut child = std::process::Command::new("script")
            .args(["-qefc", &cmd, "/dev/null"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("script (bsdutils)");
        let input = child.stdin.take().unwrap();
        Probe { child, input, out }
    }

    fn send(&mut self, data: &[u8]) {
        std::io::Write::write_all(&mut self.input, data).unwrap();
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Polls until the output has `what` (sending `nudge` each time).
    fn wait_for(&mut self, what: &str, nudge: &[u8]) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !self.output().contains(what) {
            assert!(
                std::time::Instant::now() < deadline,
                "no {what:?} in the probe's output: {:?}",
                self.output()
            );
            if !nudge.is_empty() {
                self.send(nudge);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn exit_code(&mut self) -> i32 {
        incus_tests::poll(30, "the probe to exit", || self.child.try_wait().unwrap())
            .code()
            .unwrap_or(-1)
    }

    /// The terminal the probe runs on (the pty `script` made).
    fn tty(&self) -> std::path::PathBuf {
        let script = self.child.id();
        incus_tests::poll(10, "the probe's process", || {
            let kids = std::fs::read_to_string(format!("/proc/{script}/task/{script}/children"))
                .unwrap_or_default();
            kids.split_whitespace()
                .next()
                .and_then(|pid| std::fs::read_link(format!("/proc/{pid}/fd/0")).ok())
        })
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn remote_console_and_exec_on_a_terminal() {
    let env = TestEnv::initialized();
    with_image(&env);
    let srv = Server::start(&env);
    let r = unix(&srv);
    launch(&r, "rt1");
    let addr = format!("unix://{}", srv.socket.display());

    // Console: what is typed reaches the console's shell; ctrl+a q detaches.
    let mut p = Probe::start(&env, &format!("{addr} console rt1"));
    p.wait_for("MARK42", b"echo MARK$((40+2))\n");
    p.send(b"\x01q");
    assert_eq!(p.exit_code(), 0, "{}", p.output());
    incus_tests::poll(30, "the console operation to end", || {
        let (_, v) = srv.curl("GET", "/1.0/operations?recursion=1", None);
        v["metadata"]["success"]
            .as_array()
            .is_some_and(|ops| ops.iter().any(|o| o["description"] == "Showing console"))
            .then_some(())
    });
    drop(p);

    // exec -t: a window change (SIGWINCH) reaches the command's terminal; ctrl+d
    // ends its input; the exit code is the command's.
    let mut p = Probe::start(
        &env,
        &format!("{addr} exec rt1 -t -- sh -c 'while read l; do stty size; done; exit 4'"),
    );
    p.wait_for("\n", b"\n");
    let tty = p.tty();
    let st = std::process::Command::new("stty")
        .arg("-F")
        .arg(&tty)
        .args(["rows", "41", "cols", "121"])
        .status()
        .unwrap();
    assert!(st.success());
    p.wait_for("41 121", b"\n");
    p.send(b"\x04");
    assert_eq!(p.exit_code(), 4, "{}", p.output());
    r.instance_stop("rt1", Duration::from_secs(5), true)
        .unwrap();
    r.instance_delete("rt1").unwrap();
}

/// 20 remote `config set`s of distinct keys at once, on one instance and on the
/// server: every key is there afterwards (a read-modify-write done as GET-modify-PUT
/// by the client would lose some; the server runs core's closure under the lock).
#[test]
fn concurrent_remote_config_sets_keep_every_key() {
    let env = TestEnv::initialized();
    with_image(&env);
    let srv = Server::start(&env);
    unix(&srv)
        .instance_create(CreateOptions {
            name: Some("rc-wire1".into()),
            image: Some("busybox".into()),
            ..Default::default()
        })
        .expect("create");
    std::thread::scope(|s| {
        for i in 0..20 {
            let srv = &srv;
            s.spawn(move || {
                let r = unix(srv);
                let pair = |k: &str| [(format!("user.{k}{i}"), format!("v{i}"))].into();
                r.instance_set("rc-wire1", &pair("inst"))
                    .expect("instance set");
                r.server_config_set_keys(&pair("srv")).expect("server set");
            });
        }
    });
    let r = unix(&srv);
    let inst = r.instance("rc-wire1").unwrap();
    let server = r.server().unwrap();
    for i in 0..20 {
        let v = format!("v{i}");
        assert_eq!(
            inst.config.get(&format!("user.inst{i}")),
            Some(&v),
            "{:?}",
            inst.config
        );
        assert_eq!(
            server.config.get(&format!("user.srv{i}")),
            Some(&v),
            "{:?}",
            server.config
        );
    }
}
