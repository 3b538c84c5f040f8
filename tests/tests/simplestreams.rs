//! Simplestreams image remotes: a tree made by upstream's `incus-simplestreams add`
//! (Debian's incus-extra) from the busybox images (split with a squashfs rootfs, and
//! unified), served over HTTPS by `tests/scripts/https-static.py` with a self-signed
//! certificate. Our client lists it as upstream's client does, launches from it (the
//! second launch downloads nothing), copies images to `local:` with aliases, trusts the
//! server through `SSL_CERT_FILE` or a pinned certificate (`remote add --accept-certificate`)
//! and refuses a corrupted download by its sha256, leaving nothing behind.

use incus_tests::{busybox_images, list_dir, Output, Running, TestEnv};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The HTTPS server, killed when dropped.
struct Served {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn start(tree: &Path, cert: &Path, key: &Path, log: &Path) -> Served {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/https-static.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([tree, cert, key, log])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start python3 https-static.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("port line");
        let port = line.trim().parse().expect("the server prints its port");
        Served {
            child,
            port,
            log: log.to_path_buf(),
        }
    }

    /// The paths requested since the last call.
    fn requests(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        std::fs::write(&self.log, "").unwrap();
        text.lines().map(str::to_string).collect()
    }
}

fn sh(cmd: &mut Command, what: &str) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        o.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Our `incus` with this test's client configuration (and `extra` environment).
fn ours(env: &TestEnv, conf: &Path, args: &[&str], extra: &[(&str, &Path)]) -> Output {
    let mut c = env.command("incus");
    c.env("INCUS_CONF", conf).args(args);
    for (k, v) in extra {
        c.env(k, v);
    }
    let o = c.output().expect("run incus");
    Output::from_std(format!("incus {}", args.join(" ")), o)
}

/// Upstream's `incus` client on the same configuration directory (a simplestreams
/// remote needs no daemon).
fn upstream(conf: &Path, args: &[&str]) -> Output {
    let o = Command::new("/usr/bin/incus")
        .env("INCUS_CONF", conf)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run /usr/bin/incus");
    Output::from_std(format!("/usr/bin/incus {}", args.join(" ")), o)
}

/// fingerprint -> sorted alias names of an `image list --format json`.
fn by_fingerprint(list: &Value) -> BTreeMap<String, Vec<String>> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|i| {
            let mut names: Vec<String> = i["aliases"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|a| a["name"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            names.sort();
            (i["fingerprint"].as_str().unwrap().to_string(), names)
        })
        .collect()
}

#[test]
fn simplestreams_remote_from_upstreams_tree() {
    for tool in [
        "/usr/bin/incus-simplestreams",
        "/usr/bin/sqfstar",
        "/usr/bin/incus",
    ] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing (make deps installs incus-extra, squashfs-tools, incus-client)"
        );
    }
    let env = TestEnv::initialized();
    let _running = Running(&env);
    let root = env.root().to_path_buf();
    let img = busybox_images("simplestreams_remote_from_upstreams_tree");

    // The squashfs rootfs upstream's tool wants, from the split image's tarball.
    let squashfs = root.join("rootfs.squashfs");
    sh(
        Command::new("sh").arg("-c").arg(format!(
            "xz -dc '{}' | sqfstar -quiet -no-progress '{}'",
            img.split_rootfs.display(),
            squashfs.display()
        )),
        "sqfstar",
    );
    let tree = root.join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let meta = img.split_meta.to_str().unwrap();
    sh(
        Command::new("incus-simplestreams")
            .current_dir(&tree)
            .args([
                "add",
                meta,
                squashfs.to_str().unwrap(),
                "--alias",
                "bb/split",
            ]),
        "incus-simplestreams add (split)",
    );
    sh(
        Command::new("incus-simplestreams")
            .current_dir(&tree)
            .args(["add", img.unified.to_str().unwrap()]),
        "incus-simplestreams add (unified)",
    );
    let sha = |parts: &[&Path]| {
        let bytes: Vec<Vec<u8>> = parts.iter().map(|p| std::fs::read(p).unwrap()).collect();
        let refs: Vec<&[u8]> = bytes.iter().map(|b| b.as_slice()).collect();
        incus_tests::sha256_hex(&refs)
    };
    let split_fp = sha(&[&img.split_meta, &squashfs]);
    let unified_fp = sha(&[&img.unified]);

    // A self-signed server certificate for 127.0.0.1 (not a CA).
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let (cert, key) = (root.join("cert.pem"), root.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let server = Served::start(&tree, &cert, &key, &root.join("requests.log"));
    let url = format!("https://127.0.0.1:{}", server.port);
    let conf = root.join("conf");

    // Upstream's predefined `images` remote, before any file is written.
    let remotes = ours(&env, &conf, &["remote", "list", "--format", "json"], &[]).json();
    assert_eq!(remotes["images"]["Protocol"], "simplestreams", "{remotes}");
    assert_eq!(
        remotes["images"]["Addr"],
        "https://images.linuxcontainers.org"
    );

    // Trusted by the system CAs only: refused (exit 6), until SSL_CERT_FILE has it.
    ours(
        &env,
        &conf,
        &["remote", "add", "ss", &url, "--protocol", "simplestreams"],
        &[],
    )
    .ok();
    let refused = ours(&env, &conf, &["image", "list", "ss:"], &[]).err(6);
    assert!(refused.stderr.contains("not trusted"), "{}", refused.stderr);
    let listed = ours(
        &env,
        &conf,
        &["image", "list", "ss:", "--format", "json"],
        &[("SSL_CERT_FILE", &cert)],
    )
    .json();
    assert_eq!(by_fingerprint(&listed).len(), 2, "{listed}");
    // http is refused as upstream refuses it.
    ours(
        &env,
        &conf,
        &[
            "remote",
            "add",
            "plain",
            "http://127.0.0.1:1",
            "--protocol",
            "simplestreams",
        ],
        &[],
    )
    .err(7);

    // Pinned: the certificate the server presents now, as servercerts/NAME.crt.
    ours(
        &env,
        &conf,
        &[
            "remote",
            "add",
            "pin",
            &url,
            "--protocol",
            "simplestreams",
            "--accept-certificate",
        ],
        &[],
    )
    .ok();
    assert!(conf.join("servercerts/pin.crt").is_file());

    // The same catalog as upstream's client reads it from the same configuration.
    let mine = by_fingerprint(
        &ours(
            &env,
            &conf,
            &["image", "list", "pin:", "--format", "json"],
            &[],
        )
        .json(),
    );
    let theirs = by_fingerprint(
        &upstream(&conf, &["image", "list", "pin:", "--format", "json"])
            .ok()
            .json(),
    );
    assert_eq!(mine, theirs);
    assert!(
        mine[&split_fp].contains(&"bb/split".to_string()),
        "{mine:?}"
    );
    assert!(mine.contains_key(&unified_fp), "{mine:?}");
    let info = ours(&env, &conf, &["image", "info", "pin:bb/split"], &[]).ok();
    assert!(info.stdout.contains(&split_fp), "{}", info.stdout);
    assert!(info.stdout.contains("type: squashfs"), "{}", info.stdout);
    server.requests();

    // launch downloads the split image (squashfs preferred), once.
    ours(&env, &conf, &["launch", "pin:bb/split", "imgs-ss1"], &[]).ok();
    assert_eq!(env.status("imgs-ss1"), "Running");
    let got = server.requests();
    assert!(
        got.iter().any(|p| p.ends_with(".squashfs")),
        "the rootfs was downloaded: {got:?}"
    );
    ours(&env, &conf, &["init", "pin:bb/split", "imgs-ss2"], &[]).ok();
    let got = server.requests();
    assert!(
        got.iter().all(|p| p.starts_with("/streams/")),
        "the second create reads only the index: {got:?}"
    );
    let local =
        by_fingerprint(&ours(&env, &conf, &["image", "list", "--format", "json"], &[]).json());
    assert_eq!(local.keys().collect::<Vec<_>>(), [&split_fp]);

    // image copy with an alias, by fingerprint prefix; a second copy only adds aliases.
    ours(
        &env,
        &conf,
        &[
            "image",
            "copy",
            &format!("pin:{}", &unified_fp[..12]),
            "local:",
            "--alias",
            "uni",
        ],
        &[],
    )
    .ok();
    assert!(server.requests().iter().any(|p| p.ends_with(".tar.gz")));
    ours(
        &env,
        &conf,
        &[
            "image",
            "copy",
            &format!("pin:{unified_fp}"),
            "local:",
            "--alias",
            "uni2",
        ],
        &[],
    )
    .ok();
    assert!(server.requests().iter().all(|p| p.starts_with("/streams/")));
    let local =
        by_fingerprint(&ours(&env, &conf, &["image", "list", "--format", "json"], &[]).json());
    assert_eq!(local[&unified_fp], ["uni", "uni2"]);

    // Upstream's client through incus-serve: the server pulls from the image server
    // (POST /1.0/images and /1.0/instances with source.server, protocol simplestreams,
    // and the pinned certificate as source.certificate).
    ours(&env, &conf, &["delete", "-f", "imgs-ss1", "imgs-ss2"], &[]).ok();
    ours(&env, &conf, &["image", "delete", &split_fp], &[]).ok();
    {
        let srv = incus_tests::serve::Server::start(&env);
        let sock = format!("unix://{}", srv.socket.display());
        ours(&env, &conf, &["remote", "add", "srv", &sock], &[]).ok();
        upstream(
            &conf,
            &["image", "copy", "pin:bb/split", "srv:", "--alias", "up"],
        )
        .ok();
        let got = server.requests();
        assert!(got.iter().any(|p| p.ends_with(".squashfs")), "{got:?}");
        let local =
            by_fingerprint(&ours(&env, &conf, &["image", "list", "--format", "json"], &[]).json());
        assert_eq!(local[&split_fp], ["up"], "{local:?}");
        upstream(&conf, &["launch", "pin:bb/split", "srv:imgs-ss4"]).ok();
        assert_eq!(env.status("imgs-ss4"), "Running");
        let got = server.requests();
        assert!(got.iter().all(|p| p.starts_with("/streams/")), "{got:?}");
        upstream(&conf, &["delete", "-f", "srv:imgs-ss4"]).ok();
    }
    ours(&env, &conf, &["image", "delete", &split_fp], &[]).ok();

    // A corrupted rootfs on the server: refused by its sha256, nothing left behind.
    let served_rootfs = tree
        .join("images")
        .read_dir()
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "squashfs"))
        .unwrap();
    let mut bytes = std::fs::read(&served_rootfs).unwrap();
    bytes[5000] ^= 0xff;
    std::fs::write(&served_rootfs, &bytes).unwrap();
    let before = list_dir(&env.incus_dir.join("images"));
    let out = ours(&env, &conf, &["init", "pin:bb/split", "imgs-ss3"], &[]).err(7);
    assert!(out.stderr.contains("sha256 mismatch"), "{}", out.stderr);
    assert_eq!(list_dir(&env.incus_dir.join("images")), before);
    assert_eq!(env.db_rows("images"), 1);
    assert_eq!(env.db_rows("instances"), 0);

    // `image import URL` as upstream: the URL's HEAD names the image and its hash.
    ours(&env, &conf, &["image", "delete", &unified_fp], &[]).ok();
    std::fs::copy(&img.unified, tree.join("unified.tar.xz")).unwrap();
    std::fs::write(tree.join("direct"), "").unwrap();
    let headers = |hash: &str| {
        std::fs::write(
            tree.join("direct.headers"),
            format!("Incus-Image-Hash: {hash}\nIncus-Image-URL: {url}/unified.tar.xz\n"),
        )
        .unwrap()
    };
    let direct = format!("{url}/direct");
    let trust: &[(&str, &Path)] = &[("SSL_CERT_FILE", &cert)];
    // A hash that is not the file's: refused, nothing imported.
    headers(&split_fp);
    let out = ours(&env, &conf, &["image", "import", &direct], trust).err(7);
    assert!(out.stderr.contains("sha256 mismatch"), "{}", out.stderr);
    assert_eq!(env.db_rows("images"), 0);
    headers(&unified_fp);
    ours(
        &env,
        &conf,
        &["image", "import", &direct, "--alias", "direct"],
        trust,
    )
    .ok();
    let local =
        by_fingerprint(&ours(&env, &conf, &["image", "list", "--format", "json"], &[]).json());
    assert_eq!(local[&unified_fp], ["direct"]);
    ours(&env, &conf, &["image", "delete", &unified_fp], &[]).ok();
    // Upstream's client through incus-serve: the server downloads (POST source.type=url).
    let _srv = incus_tests::serve::Server::start_with(&env, &[("SSL_CERT_FILE", cert.as_os_str())]);
    upstream(&conf, &["image", "import", &direct, "srv:"]).ok();
    let local =
        by_fingerprint(&ours(&env, &conf, &["image", "list", "--format", "json"], &[]).json());
    assert!(local.contains_key(&unified_fp), "{local:?}");
}

/// Split images are exported over REST as upstream sends them (multipart parts
/// `metadata` and `rootfs`); our client and upstream's write the same two files.
#[test]
fn split_image_export_over_rest() {
    let env = TestEnv::initialized();
    let img = busybox_images("split_image_export_over_rest");
    let fp = env.import(&[&img.split_meta, &img.split_rootfs], "bb-split");
    let srv = incus_tests::serve::Server::start(&env);
    let conf = env.root().join("conf");
    let sock = format!("unix://{}", srv.socket.display());
    ours(&env, &conf, &["remote", "add", "srv", &sock], &[]).ok();
    let meta = std::fs::read(&img.split_meta).unwrap();
    let rootfs = std::fs::read(&img.split_rootfs).unwrap();
    for (who, dir) in [("ours", "out-ours"), ("upstream", "out-upstream")] {
        let out = env.root().join(dir);
        // An existing directory: upstream's client then keeps the server's names.
        std::fs::create_dir_all(&out).unwrap();
        let target = out.to_str().unwrap();
        let args = ["image", "export", &format!("srv:{fp}"), target];
        match who {
            "ours" => ours(&env, &conf, &args, &[]).ok(),
            _ => upstream(&conf, &args).ok(),
        };
        let mut files = list_dir(&out);
        files.sort();
        assert_eq!(
            files,
            [format!("{fp}.tar.xz"), format!("meta-{fp}.tar.xz")],
            "{who}"
        );
        assert_eq!(std::fs::read(out.join(&files[1])).unwrap(), meta, "{who}");
        assert_eq!(std::fs::read(out.join(&files[0])).unwrap(), rootfs, "{who}");
    }
}
