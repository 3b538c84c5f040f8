//! incus-serve's SFTP endpoint (`GET /1.0/instances/NAME/sftp`, `Upgrade: sftp`) driven
//! by the real upstream client: in 6.0 every `incus file` command (push, pull, `-r`,
//! `-p`, create, delete, edit) speaks SFTP to it, over the unix socket and over HTTPS.
//! Hostile paths (`..`, symlinks to `/` and up the tree) must never reach a host file.

use incus_tests::serve::*;
use incus_tests::{noise, poll, Running, TestEnv};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Owner, mode and size as the container sees them: "uid gid mode size" (from
/// `ls -lnd`; the image's busybox has no `stat`).
fn guest_stat(srv: &Server, inst: &str, path: &str) -> String {
    let o = srv.incus(&["exec", inst, "--", "ls", "-lnd", path]).ok();
    let f: Vec<&str> = o.stdout.split_whitespace().collect();
    let mut mode = 0u32;
    for (i, c) in f[0].chars().skip(1).take(9).enumerate() {
        if c != '-' {
            mode |= 1 << (8 - i);
        }
    }
    format!("{} {} {:o} {}", f[2], f[3], mode, f[4])
}

#[test]
fn push_pull_create_delete_with_the_upstream_client() {
    upstream_present();
    let env = TestEnv::initialized();
    with_image(&env);
    let _running = Running(&env);
    let srv = Server::start(&env);
    srv.incus(&["launch", "busybox", "c1"]).ok();
    let local = env.root().join("local");
    std::fs::create_dir(&local).unwrap();

    // A file of several SFTP writes, with owner and mode as the guest sees them.
    let blob = noise(7, 300_000);
    let src = local.join("blob");
    std::fs::write(&src, &blob).unwrap();
    srv.incus(&[
        "file",
        "push",
        src.to_str().unwrap(),
        "c1/root/blob",
        "--uid",
        "1000",
        "--gid",
        "1001",
        "--mode",
        "0640",
    ])
    .ok();
    assert_eq!(guest_stat(&srv, "c1", "/root/blob"), "1000 1001 640 300000");
    let back = local.join("back");
    srv.incus(&["file", "pull", "c1/root/blob", back.to_str().unwrap()])
        .ok();
    assert_eq!(std::fs::read(&back).unwrap(), blob);
    // Pushing again truncates (a shorter file leaves no tail).
    std::fs::write(&src, "short\n").unwrap();
    srv.incus(&["file", "push", src.to_str().unwrap(), "c1/root/blob"])
        .ok();
    let o = srv.incus(&["exec", "c1", "--", "cat", "/root/blob"]).ok();
    assert_eq!(o.stdout, "short\n");
    // Without --uid/--gid/--mode the local file's own are kept.
    std::fs::set_permissions(&src, std::os::unix::fs::PermissionsExt::from_mode(0o604)).unwrap();
    srv.incus(&["file", "push", src.to_str().unwrap(), "c1/root/"])
        .ok();
    assert_eq!(guest_stat(&srv, "c1", "/root/blob"), "0 0 604 6");

    // Pull to stdout.
    let hostname = srv
        .incus(&["exec", "c1", "--", "cat", "/etc/hostname"])
        .ok();
    let o = srv.incus(&["file", "pull", "c1/etc/hostname", "-"]).ok();
    assert_eq!(o.stdout, hostname.stdout);
    assert!(!o.stdout.is_empty());

    // -p makes the missing parents.
    srv.incus(&[
        "file",
        "push",
        "-p",
        src.to_str().unwrap(),
        "c1/new/deep/dir/f",
    ])
    .ok();
    let o = srv
        .incus(&["exec", "c1", "--", "cat", "/new/deep/dir/f"])
        .ok();
    assert_eq!(o.stdout, "short\n");
    // Without -p a missing parent is an error.
    srv.incus(&["file", "push", src.to_str().unwrap(), "c1/nope/f"])
        .code(1);

    // -r: a tree with a subdirectory and a symlink, pushed and pulled back.
    let tree = local.join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("a.txt"), "a\n").unwrap();
    std::fs::write(tree.join("sub/b.txt"), "b\n").unwrap();
    std::os::unix::fs::symlink("a.txt", tree.join("link")).unwrap();
    srv.incus(&["file", "push", "-r", tree.to_str().unwrap(), "c1/root/"])
        .ok();
    let o = srv
        .incus(&[
            "exec",
            "c1",
            "--",
            "sh",
            "-c",
            "cat /root/tree/sub/b.txt; readlink /root/tree/link; cat /root/tree/link",
        ])
        .ok();
    assert_eq!(o.stdout, "b\na.txt\na\n");
    let pulled = local.join("pulled");
    std::fs::create_dir(&pulled).unwrap();
    srv.incus(&[
        "file",
        "pull",
        "-r",
        "c1/root/tree",
        pulled.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(
        std::fs::read_to_string(pulled.join("tree/sub/b.txt")).unwrap(),
        "b\n"
    );
    assert_eq!(
        std::fs::read_link(pulled.join("tree/link")).unwrap(),
        Path::new("a.txt")
    );

    // create: a file, a directory with a mode, a symlink.
    srv.incus(&["file", "create", "c1/root/empty"]).ok();
    assert_eq!(guest_stat(&srv, "c1", "/root/empty"), "0 0 644 0");
    srv.incus(&[
        "file",
        "create",
        "--type=directory",
        "--mode=0700",
        "--uid=5",
        "c1/root/newdir",
    ])
    .ok();
    assert_eq!(
        guest_stat(&srv, "c1", "/root/newdir")
            .split(' ')
            .take(3)
            .collect::<Vec<_>>(),
        ["5", "0", "700"]
    );
    srv.incus(&[
        "file",
        "create",
        "--type=symlink",
        "c1/root/sl",
        "/root/empty",
    ])
    .ok();
    let o = srv
        .incus(&["exec", "c1", "--", "sh", "-c", "readlink /root/sl"])
        .ok();
    assert_eq!(o.line(), "/root/empty");

    // edit with stdin not a terminal: the input becomes the file.
    let input = local.join("edit-input");
    std::fs::write(&input, "edited\n").unwrap();
    let o = srv.incus_stdin(
        &["file", "edit", "c1/root/empty"],
        Stdio::from(std::fs::File::open(&input).unwrap()),
    );
    assert_eq!(o.code, 0, "{o:?}");
    let o = srv.incus(&["exec", "c1", "--", "cat", "/root/empty"]).ok();
    assert_eq!(o.stdout, "edited\n");

    // delete: a file, an empty directory; a missing path is an error.
    srv.incus(&["file", "delete", "c1/root/blob"]).ok();
    srv.incus(&["file", "delete", "c1/root/newdir"]).ok();
    srv.incus(&["exec", "c1", "--", "test", "!", "-e", "/root/blob"])
        .ok();
    srv.incus(&["exec", "c1", "--", "test", "!", "-e", "/root/newdir"])
        .ok();
    srv.incus(&["file", "delete", "c1/root/blob"]).code(1);
    // A non-empty directory needs -f.
    srv.incus(&["file", "delete", "c1/root/tree"]).code(1);
    srv.incus(&["file", "delete", "-f", "c1/root/tree"]).ok();
    srv.incus(&["exec", "c1", "--", "test", "!", "-e", "/root/tree"])
        .ok();
}

#[test]
fn stopped_instance_and_bad_requests() {
    upstream_present();
    let env = TestEnv::initialized();
    with_image(&env);
    env.ok("incus-instance", &["create", "busybox", "s1"]);
    let srv = Server::start(&env);
    let rootfs = env
        .incus_dir
        .join("storage-pools/default/containers/s1/rootfs");
    let src = env.root().join("f");
    std::fs::write(&src, "stopped\n").unwrap();
    srv.incus(&[
        "file",
        "push",
        src.to_str().unwrap(),
        "s1/root/f",
        "--uid",
        "1000",
        "--gid",
        "100",
        "--mode",
        "0750",
    ])
    .ok();
    let m = std::fs::metadata(rootfs.join("root/f")).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1000, 100, 0o750));
    assert_eq!(std::fs::read(rootfs.join("root/f")).unwrap(), b"stopped\n");
    let o = srv.incus(&["file", "pull", "s1/root/f", "-"]).ok();
    assert_eq!(o.stdout, "stopped\n");

    // Plain HTTP on the endpoint: no Upgrade header is a 400; unknown instance 404.
    assert_error(&srv.curl("GET", "/1.0/instances/s1/sftp", None), 400);
    let o = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "20",
            "-w",
            "\n%{http_code}",
            "--unix-socket",
        ])
        .arg(&srv.socket)
        .args(["-H", "Upgrade: sftp", "-H", "Connection: Upgrade"])
        .arg("http://incus/1.0/instances/nope/sftp")
        .output()
        .unwrap();
    assert_error(&parse_curl(o), 404);
    srv.incus(&["file", "push", src.to_str().unwrap(), "nope/root/f"])
        .code(1);

    // A raw session: 101 with `Upgrade: sftp`, then SFTP's VERSION answers INIT.
    let mut srv = srv;
    let mut sock = std::os::unix::net::UnixStream::connect(&srv.socket).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    sock.write_all(
        b"GET /1.0/instances/s1/sftp HTTP/1.1\r\nHost: incus\r\n\
          Upgrade: sftp\r\nConnection: Upgrade\r\n\r\n",
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        sock.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_lowercase();
    assert!(head.starts_with("http/1.1 101"), "{head}");
    assert!(head.contains("upgrade: sftp"), "{head}");
    sock.write_all(&[0, 0, 0, 5, 1, 0, 0, 0, 3]).unwrap();
    let mut answer = [0u8; 9];
    sock.read_exact(&mut answer).unwrap();
    assert_eq!(answer[4], 2, "SSH_FXP_VERSION");
    assert_eq!(&answer[5..9], &3u32.to_be_bytes());

    // SIGTERM with the session open: the server still exits.
    // SAFETY: kill has no memory effects.
    unsafe { libc::kill(srv.child.id() as i32, libc::SIGTERM) };
    let status = poll(20, "incus-serve exits on SIGTERM", || {
        srv.child.try_wait().unwrap()
    });
    assert!(status.success(), "{status}");
}

#[test]
fn hostile_paths_never_reach_the_host() {
    upstream_present();
    let env = TestEnv::initialized();
    with_image(&env);
    env.ok("incus-instance", &["create", "busybox", "h1"]);
    let srv = Server::start(&env);
    let rootfs = env
        .incus_dir
        .join("storage-pools/default/containers/h1/rootfs");

    // A canary on the host, and guest symlinks aimed at it, at / and up the tree.
    let canary_dir = env.root().join("canary");
    std::fs::create_dir(&canary_dir).unwrap();
    let canary = canary_dir.join("c.txt");
    std::fs::write(&canary, "secret").unwrap();
    let rel = canary
        .strip_prefix("/")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let rel_dir = canary_dir
        .strip_prefix("/")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    std::os::unix::fs::symlink("/", rootfs.join("root/slash")).unwrap();
    std::os::unix::fs::symlink("../../../../../../../..", rootfs.join("root/up")).unwrap();
    std::os::unix::fs::symlink(&canary, rootfs.join("root/abs")).unwrap();
    std::os::unix::fs::symlink(&canary_dir, rootfs.join("root/absdir")).unwrap();

    let payload = env.root().join("payload");
    std::fs::write(&payload, "pwned").unwrap();
    let p = payload.to_str().unwrap();
    let targets = [
        format!("h1/root/slash/{rel}"),
        format!("h1/root/up/{rel}"),
        format!("h1/../../../../../{rel}"),
        "h1/root/abs".to_string(),
        "h1/root/absdir/c.txt".to_string(),
        format!("h1/root/slash/{rel_dir}/new.txt"),
    ];
    for t in &targets {
        // Writes fail (no such directory inside) or land inside; never on the host.
        let _ = srv.incus(&["file", "push", p, t]);
        let _ = srv.incus(&["file", "push", "-p", p, t]);
        let _ = srv.incus(&["file", "create", &format!("{t}.2")]);
        let _ = srv.incus(&["file", "delete", t]);
        let o = srv.incus(&["file", "pull", t, "-"]);
        assert!(!o.stdout.contains("secret"), "{t}: {o:?}");
        assert_eq!(std::fs::read_to_string(&canary).unwrap(), "secret", "{t}");
        assert_eq!(
            std::fs::read_dir(&canary_dir).unwrap().count(),
            1,
            "{t}: a file appeared next to the canary"
        );
    }
    let m = std::fs::metadata(&canary).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o777), (0, 0o644));
    // A push through the up-link with -p makes its directories inside the rootfs.
    srv.incus(&["file", "push", "-p", p, &format!("h1/root/up/{rel}")])
        .ok();
    assert_eq!(std::fs::read_to_string(&canary).unwrap(), "secret");
    assert_eq!(
        std::fs::read_to_string(rootfs.join(&rel)).unwrap(),
        "pwned",
        "the write through the up-link belongs inside"
    );
    // A recursive delete through the links removes the inside copy only.
    srv.incus(&["file", "delete", "-f", &format!("h1/root/up/{rel_dir}")])
        .ok();
    assert!(!rootfs.join(&rel_dir).exists());
    assert_eq!(std::fs::read_to_string(&canary).unwrap(), "secret");
}

#[test]
fn https_trusted_push_and_untrusted_403() {
    upstream_present();
    let env = TestEnv::initialized();
    with_image(&env);
    env.ok("incus-instance", &["create", "busybox", "t1"]);
    let (srv, port) = Server::start_https(&env);

    // Untrusted (no certificate, or an unknown one): 403, no upgrade.
    let o = Command::new("curl")
        .args(["-sk", "--max-time", "20", "-w", "\n%{http_code}"])
        .args(["-H", "Upgrade: sftp", "-H", "Connection: Upgrade"])
        .arg(format!("https://127.0.0.1:{port}/1.0/instances/t1/sftp"))
        .output()
        .unwrap();
    assert_error(&parse_curl(o), 403);

    // Trusted through a join token: push over HTTPS lands in the rootfs.
    let token = env
        .ok("incus-trust", &["add", "laptop", "-q"])
        .line()
        .to_string();
    srv.incus(&["remote", "add", "srv", &token]).ok();
    let src = env.root().join("f");
    std::fs::write(&src, "over tls\n").unwrap();
    srv.incus(&["file", "push", src.to_str().unwrap(), "srv:t1/root/tls"])
        .ok();
    let rootfs = env
        .incus_dir
        .join("storage-pools/default/containers/t1/rootfs");
    assert_eq!(
        std::fs::read_to_string(rootfs.join("root/tls")).unwrap(),
        "over tls\n"
    );
    srv.incus(&["file", "delete", "srv:t1/root/tls"]).ok();
    assert!(!rootfs.join("root/tls").exists());

    // Revoked: the same client is refused.
    let certs = env.json("incus-trust", &["list", "--format", "json"]);
    let fp = certs[0]["fingerprint"].as_str().unwrap().to_string();
    env.ok("incus-trust", &["remove", &fp[..12]]);
    srv.incus(&["file", "push", src.to_str().unwrap(), "srv:t1/root/tls"])
        .code(1);
    assert!(!rootfs.join("root/tls").exists());
}
