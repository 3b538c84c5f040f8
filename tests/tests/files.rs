//! `file push/pull/delete/edit/create` against real busybox instances, stopped and
//! running: ownership and modes as the guest sees them, recursion, exit codes, and
//! hostile paths (symlinks to `/`, `..`, absolute links, symlinked directories) that
//! must never read or write anything outside the rootfs.

use incus_tests::{busybox_images, exit, sha256_hex, walk, Running, TestEnv};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn setup(name: &str) -> TestEnv {
    let env = TestEnv::initialized();
    let img = busybox_images("files");
    env.import(&[&img.unified], "bb");
    env.ok("incus-instance", &["create", "bb", name]);
    env
}

fn rootfs(env: &TestEnv, name: &str) -> PathBuf {
    env.incus_dir
        .join("storage-pools/default/containers")
        .join(name)
        .join("rootfs")
}

fn write(p: &Path, data: &str, mode: u32) {
    std::fs::write(p, data).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn push_pull_keep_owner_and_mode_on_a_stopped_instance() {
    let env = setup("c1");
    let root = rootfs(&env, "c1");
    let src = env.root().join("hello.txt");
    write(&src, "hello\n", 0o640);

    // Flags win over the source's owner and mode.
    env.ok(
        "incus",
        &[
            "file",
            "push",
            src.to_str().unwrap(),
            "c1/root/hello.txt",
            "--uid",
            "1000",
            "--gid",
            "1001",
            "--mode",
            "0600",
        ],
    );
    let m = std::fs::metadata(root.join("root/hello.txt")).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1000, 1001, 0o600));
    // Without flags: the source's mode (0640) and owner (root here).
    env.ok(
        "incus-instance",
        &["file", "push", src.to_str().unwrap(), "c1/root/"],
    );
    let m = std::fs::metadata(root.join("root/hello.txt")).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (0, 0o640));

    let o = env.ok("incus", &["file", "pull", "c1/root/hello.txt", "-"]);
    assert_eq!(o.stdout, "hello\n");
    let dst = env.root().join("pulled.txt");
    env.ok(
        "incus-instance",
        &["file", "pull", "c1/root/hello.txt", dst.to_str().unwrap()],
    );
    assert_eq!(std::fs::read_to_string(&dst).unwrap(), "hello\n");
    assert_eq!(std::fs::metadata(&dst).unwrap().mode() & 0o7777, 0o640);

    // Missing: exit 3, nothing made locally.
    let miss = env.root().join("missing-out");
    env.run(
        "incus-instance",
        &["file", "pull", "c1/nope", miss.to_str().unwrap()],
    )
    .err(exit::NOT_FOUND);
    assert!(!miss.exists());
    env.run("incus-instance", &["file", "delete", "c1/nope"])
        .err(exit::NOT_FOUND);
    env.run(
        "incus-instance",
        &["file", "push", src.to_str().unwrap(), "c1/no/such/dir/f"],
    )
    .err(exit::NOT_FOUND);
    env.run("incus-instance", &["file", "pull", "nosuch/etc/hosts", "-"])
        .err(exit::NOT_FOUND);
    // A directory needs -r.
    env.run(
        "incus-instance",
        &[
            "file",
            "pull",
            "c1/etc",
            env.root().join("e").to_str().unwrap(),
        ],
    )
    .err(exit::INVALID);
    env.run(
        "incus-instance",
        &["file", "push", env.root().to_str().unwrap(), "c1/tmp/"],
    )
    .err(exit::INVALID);
    // -p makes the parents (0750, as upstream).
    env.ok(
        "incus-instance",
        &[
            "file",
            "push",
            "-p",
            src.to_str().unwrap(),
            "c1/a/b/c/hello.txt",
            "--uid",
            "5",
        ],
    );
    let m = std::fs::metadata(root.join("a/b")).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (5, 0o750));
    assert_eq!(
        std::fs::read_to_string(root.join("a/b/c/hello.txt")).unwrap(),
        "hello\n"
    );
}

#[test]
fn recursive_push_and_pull_keep_the_tree() {
    let env = setup("c1");
    let root = rootfs(&env, "c1");
    let tree = env.root().join("tree");
    std::fs::create_dir_all(tree.join("sub/deeper")).unwrap();
    write(&tree.join("top.txt"), "top", 0o600);
    write(&tree.join("sub/deeper/x.sh"), "#!/bin/sh\n", 0o755);
    std::os::unix::fs::symlink("../top.txt", tree.join("sub/link")).unwrap();
    std::fs::set_permissions(tree.join("sub"), std::fs::Permissions::from_mode(0o710)).unwrap();

    env.ok(
        "incus",
        &["file", "push", "-r", tree.to_str().unwrap(), "c1/tmp"],
    );
    let r = root.join("tmp/tree");
    assert_eq!(std::fs::read_to_string(r.join("top.txt")).unwrap(), "top");
    assert_eq!(
        std::fs::metadata(r.join("top.txt")).unwrap().mode() & 0o7777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(r.join("sub")).unwrap().mode() & 0o7777,
        0o710
    );
    assert_eq!(
        std::fs::metadata(r.join("sub/deeper/x.sh")).unwrap().mode() & 0o7777,
        0o755
    );
    assert_eq!(
        std::fs::read_link(r.join("sub/link")).unwrap(),
        Path::new("../top.txt")
    );

    let out = env.root().join("out");
    std::fs::create_dir(&out).unwrap();
    env.ok(
        "incus",
        &["file", "pull", "-r", "c1/tmp/tree", out.to_str().unwrap()],
    );
    assert_eq!(walk(&out.join("tree")), walk(&tree));
    assert_eq!(
        std::fs::read_to_string(out.join("tree/top.txt")).unwrap(),
        "top"
    );
    assert_eq!(
        std::fs::read_link(out.join("tree/sub/link")).unwrap(),
        Path::new("../top.txt")
    );

    // delete: a non-empty directory needs -f; -f removes the tree.
    env.run("incus", &["file", "delete", "c1/tmp/tree"])
        .err(exit::INVALID);
    assert!(r.join("top.txt").exists());
    env.ok("incus", &["file", "delete", "-f", "c1/tmp/tree"]);
    assert!(!r.exists());
}

#[test]
fn create_and_edit() {
    let env = setup("c1");
    let root = rootfs(&env, "c1");
    env.ok(
        "incus-instance",
        &[
            "file",
            "create",
            "-p",
            "--type=directory",
            "c1/opt/d",
            "--mode",
            "0700",
            "--uid",
            "7",
        ],
    );
    let m = std::fs::symlink_metadata(root.join("opt/d")).unwrap();
    assert!(m.is_dir());
    assert_eq!((m.uid(), m.mode() & 0o7777), (7, 0o700));
    env.ok("incus-instance", &["file", "create", "c1/opt/d/empty"]);
    assert_eq!(std::fs::read(root.join("opt/d/empty")).unwrap(), b"");
    env.ok(
        "incus-instance",
        &["file", "create", "c1/opt/l", "/etc/hostname"],
    );
    assert_eq!(
        std::fs::read_link(root.join("opt/l")).unwrap(),
        Path::new("/etc/hostname")
    );
    // Exists already: conflict, unless --force.
    env.run("incus-instance", &["file", "create", "c1/opt/l", "/x"])
        .err(exit::CONFLICT);
    env.ok(
        "incus-instance",
        &["file", "create", "-f", "c1/opt/l", "/x"],
    );
    assert_eq!(
        std::fs::read_link(root.join("opt/l")).unwrap(),
        Path::new("/x")
    );
    env.run(
        "incus-instance",
        &["file", "create", "--type=bogus", "c1/opt/z"],
    )
    .err(exit::INVALID);

    // edit from standard input keeps the owner and mode.
    env.ok(
        "incus-instance",
        &[
            "file",
            "create",
            "c1/opt/conf",
            "--mode",
            "0604",
            "--uid",
            "3",
        ],
    );
    env.run_stdin("incus", &["file", "edit", "c1/opt/conf"], "new text\n")
        .ok();
    let m = std::fs::metadata(root.join("opt/conf")).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (3, 0o604));
    assert_eq!(
        std::fs::read_to_string(root.join("opt/conf")).unwrap(),
        "new text\n"
    );
}

#[test]
fn a_running_instance_sees_pushed_files_with_their_owner() {
    let env = setup("c1");
    let _guard = Running(&env);
    env.ok("incus-instance", &["start", "c1"]);
    let src = env.root().join("f");
    write(&src, "from host\n", 0o644);
    env.ok(
        "incus",
        &[
            "file",
            "push",
            src.to_str().unwrap(),
            "c1/tmp/f",
            "--uid",
            "1000",
            "--gid",
            "1000",
            "--mode",
            "0640",
        ],
    );
    // Inside, through the idmapped rootfs: the owner is 1000, the mode kept.
    let o = env.ok("incus", &["exec", "c1", "--", "ls", "-lnd", "/tmp/f"]);
    let fields: Vec<&str> = o.stdout.split_whitespace().collect();
    assert_eq!(
        (fields[0], fields[2], fields[3]),
        ("-rw-r-----", "1000", "1000"),
        "{}",
        o.stdout
    );
    let o = env.ok(
        "incus",
        &["exec", "c1", "--user", "1000", "--", "cat", "/tmp/f"],
    );
    assert_eq!(o.stdout, "from host\n");
    // Written inside, pulled outside.
    env.ok(
        "incus",
        &[
            "exec",
            "c1",
            "--",
            "sh",
            "-c",
            "echo inside > /root/made; chown 42:43 /root/made",
        ],
    );
    let o = env.ok("incus", &["file", "pull", "c1/root/made", "-"]);
    assert_eq!(o.stdout, "inside\n");
    let m = std::fs::metadata(rootfs(&env, "c1").join("root/made")).unwrap();
    assert_eq!(
        (m.uid(), m.gid()),
        (42, 43),
        "the rootfs is stored unshifted"
    );
    env.ok("incus", &["file", "delete", "c1/tmp/f"]);
    env.run("incus", &["exec", "c1", "--", "test", "-e", "/tmp/f"])
        .code(1);
    env.ok("incus-instance", &["stop", "-f", "c1"]);
}

/// Everything under `dir` with its content hash (links by target).
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    walk(dir)
        .into_iter()
        .map(|rel| {
            let p = dir.join(&rel);
            let m = std::fs::symlink_metadata(&p).unwrap();
            let h = if m.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_file() {
                sha256_hex(&[&std::fs::read(&p).unwrap()])
            } else {
                format!("dir {:o}", m.mode())
            };
            (rel, h)
        })
        .collect()
}

#[test]
fn hostile_paths_stay_inside_the_rootfs() {
    let env = setup("c1");
    let root = rootfs(&env, "c1");
    // The host canary: a file and a directory outside the rootfs.
    let canary_dir = env.root().join("canary");
    std::fs::create_dir(&canary_dir).unwrap();
    let canary = canary_dir.join("secret");
    write(&canary, "host secret\n", 0o600);
    let before = snapshot(&canary_dir);
    let canary_abs = canary.to_str().unwrap().to_string();
    let depth = canary_abs.matches('/').count() + 8;
    let ups = "../".repeat(depth);

    // What a hostile guest plants in its rootfs.
    let s = |target: &str, link: &str| std::os::unix::fs::symlink(target, root.join(link)).unwrap();
    s("/", "to-root");
    s(&format!("{ups}{}", &canary_abs[1..]), "dotdot");
    s(&canary_abs, "abs");
    s(canary_dir.to_str().unwrap(), "absdir");
    s(
        &format!("{ups}{}", &canary_dir.to_str().unwrap()[1..]),
        "dotdotdir",
    );

    let src = env.root().join("payload");
    write(&src, "PAYLOAD\n", 0o644);
    let srcs = src.to_str().unwrap();
    let inside = |p: &str| format!("c1{p}");
    // Writes: whatever they reach is inside the rootfs (or they fail).
    for target in [
        format!("/to-root{canary_abs}"),
        "/dotdot".to_string(),
        "/abs".to_string(),
        "/absdir/secret".to_string(),
        "/dotdotdir/secret".to_string(),
        format!("/{ups}{}", &canary_abs[1..]),
        format!("/../../..{canary_abs}"),
    ] {
        let _ = env.run(
            "incus-instance",
            &["file", "push", "-p", srcs, &inside(&target)],
        );
        let _ = env.run(
            "incus-instance",
            &[
                "file",
                "create",
                "-p",
                "-f",
                &inside(&format!("{target}.new")),
            ],
        );
        let _ = env.run(
            "incus-instance",
            &[
                "file",
                "create",
                "-p",
                "--type=directory",
                &inside(&format!("{target}.d")),
            ],
        );
        let _ = env.run_stdin(
            "incus-instance",
            &["file", "edit", &inside(&target)],
            "EDITED\n",
        );
        // Reads never show the host's file.
        let o = env.run("incus-instance", &["file", "pull", &inside(&target), "-"]);
        assert!(
            !o.stdout.contains("host secret"),
            "{target} read the host canary"
        );
    }
    // What the writes made landed inside: e.g. /to-root<canary> is <rootfs><canary>.
    assert_eq!(
        std::fs::read_to_string(root.join(&canary_abs[1..])).unwrap(),
        "EDITED\n"
    );
    // Deletes remove the guest's links, never their targets.
    for link in ["abs", "absdir", "to-root"] {
        env.ok(
            "incus-instance",
            &["file", "delete", &inside(&format!("/{link}"))],
        );
        assert!(!root.join(link).exists() && root.join(link).symlink_metadata().is_err());
    }
    let _ = env.run(
        "incus-instance",
        &["file", "delete", "-f", &inside("/dotdotdir/secret")],
    );
    let _ = env.run(
        "incus-instance",
        &["file", "delete", "-f", &inside(&format!("/{ups}tmp"))],
    );

    assert_eq!(snapshot(&canary_dir), before, "the host canary changed");
    assert_eq!(std::fs::read_to_string(&canary).unwrap(), "host secret\n");
    assert!(
        root.exists() && root.join("bin").exists(),
        "the rootfs itself survived"
    );
}

/// What a hostile guest plants for a recursive pull: a symlink named like the
/// client's temporary file, pointing at a host file, then the regular file it
/// belongs to; a symlink to a host directory; a setuid file.
fn plant_pull_traps(root: &Path, host_file: &Path, host_dir: &Path) {
    let d = root.join("d");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::os::unix::fs::symlink(host_file, d.join(".f.incus-pull")).unwrap();
    write(&d.join("f"), "guest", 0o644);
    std::os::unix::fs::symlink(host_dir, d.join("link")).unwrap();
    std::os::unix::fs::symlink(host_file, d.join("sub/.g.incus-pull")).unwrap();
    write(&d.join("sub/g"), "guest", 0o644);
    write(&d.join("suid"), "#!/bin/sh\n", 0o4755);
}

/// The host side after pulling `d` into `out`: canaries untouched, links kept as
/// links, the setuid bit dropped (as upstream's client).
fn check_pulled(out: &Path, host_file: &Path, host_dir: &Path) {
    assert_eq!(
        std::fs::read_to_string(host_file).unwrap(),
        "host",
        "the pull wrote through a planted symlink"
    );
    assert_eq!(
        incus_tests::list_dir(host_dir),
        ["keep"],
        "the pull wrote into the host dir"
    );
    let d = out.join("d");
    assert_eq!(std::fs::read_to_string(d.join("f")).unwrap(), "guest");
    assert_eq!(std::fs::read_to_string(d.join("sub/g")).unwrap(), "guest");
    assert!(d
        .join("f")
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_file());
    assert_eq!(std::fs::read_link(d.join("link")).unwrap(), host_dir);
    let m = std::fs::metadata(d.join("suid")).unwrap().mode() & 0o7777;
    assert_eq!(m, 0o755, "a guest's setuid bit reached the host");
}

fn canaries(env: &TestEnv) -> (PathBuf, PathBuf) {
    let host_file = env.root().join("host-canary");
    std::fs::write(&host_file, "host").unwrap();
    let host_dir = env.root().join("host-dir");
    std::fs::create_dir(&host_dir).unwrap();
    std::fs::write(host_dir.join("keep"), "host").unwrap();
    (host_file, host_dir)
}

#[test]
fn recursive_pull_never_writes_through_guest_symlinks() {
    let env = setup("c1");
    let (host_file, host_dir) = canaries(&env);
    plant_pull_traps(&rootfs(&env, "c1"), &host_file, &host_dir);
    let out = env.root().join("out");
    std::fs::create_dir(&out).unwrap();
    env.ok(
        "incus",
        &["file", "pull", "-r", "c1/d", out.to_str().unwrap()],
    );
    check_pulled(&out, &host_file, &host_dir);

    // Again over an existing copy (the planted names now exist on the host side).
    env.ok(
        "incus",
        &["file", "pull", "-r", "c1/d", out.to_str().unwrap()],
    );
    check_pulled(&out, &host_file, &host_dir);
}

/// The same through the remote backend: incus-serve on the unix socket, our client
/// with its own configuration.
#[test]
fn remote_recursive_pull_never_writes_through_guest_symlinks() {
    let env = setup("c1");
    let (host_file, host_dir) = canaries(&env);
    plant_pull_traps(&rootfs(&env, "c1"), &host_file, &host_dir);
    let _srv = incus_tests::serve::Server::start(&env);
    let conf = env.root().join("client-conf");
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(
        conf.join("config.yml"),
        format!(
            "default-remote: local\nremotes:\n  srv:\n    addr: unix://{}\n    protocol: incus\n",
            env.incus_dir.join("unix.socket").display()
        ),
    )
    .unwrap();
    let out = env.root().join("out");
    std::fs::create_dir(&out).unwrap();
    let o = env
        .command("incus")
        .args(["file", "pull", "-r", "srv:c1/d", out.to_str().unwrap()])
        .env("INCUS_CONF", &conf)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    check_pulled(&out, &host_file, &host_dir);
}

/// A hostile server lists `../x` (and `a/b`) in a directory: the client refuses
/// and writes nothing beside the destination.
#[test]
fn a_server_listing_parent_names_is_refused() {
    use std::io::{BufRead, BufReader, Write};
    let env = TestEnv::new();
    let sock = env.root().join("evil.socket");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            // Headers until the blank line (GET requests carry no body).
            while r.read_line(&mut line).is_ok_and(|n| n > 0) {
                if line == "\r\n" {
                    break;
                }
                line.clear();
            }
            let body = r#"{"type":"sync","status":"Success","status_code":200,"metadata":["../x","a/b","ok"]}"#;
            let mut w = conn;
            let _ = write!(
                w,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Incus-Type: directory\r\nX-Incus-Uid: 0\r\nX-Incus-Gid: 0\r\nX-Incus-Mode: 0755\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let conf = env.root().join("client-conf");
    std::fs::create_dir(&conf).unwrap();
    std::fs::write(
        conf.join("config.yml"),
        format!(
            "default-remote: local\nremotes:\n  evil:\n    addr: unix://{}\n    protocol: incus\n",
            sock.display()
        ),
    )
    .unwrap();
    let out = env.root().join("out");
    std::fs::create_dir(&out).unwrap();
    let o = env
        .command("incus")
        .args(["file", "pull", "-r", "evil:c1/d", out.to_str().unwrap()])
        .env("INCUS_CONF", &conf)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "pulled a hostile listing");
    assert!(stderr.contains("invalid entry name"), "{stderr}");
    assert!(!env.root().join("x").exists() && !out.join("x").exists());
    assert!(!out.join("d/a").exists());
}
