//! Images through `incus-image`: busybox images built by `build-busybox` (unified and
//! split), fingerprints, aliases, export round trips, delete, instances created from
//! them, and hostile or malformed tarballs refused with exit 7 leaving nothing behind.

use incus_tests::{busybox_images, exit, list_dir, sha256_hex, walk, TarBuf, TestEnv};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

fn image_list(env: &TestEnv) -> Vec<Value> {
    env.json("incus-image", &["list", "--format", "json"])
        .as_array()
        .expect("array")
        .clone()
}

#[test]
fn build_busybox_outputs() {
    let img = busybox_images("build_busybox_outputs");
    for p in [&img.unified, &img.split_meta, &img.split_rootfs] {
        assert!(p.is_file(), "{} exists", p.display());
    }
    // The unified tarball holds metadata.yaml, rootfs/bin/busybox, templates/.
    let listing = tar_listing(&img.unified);
    for want in ["metadata.yaml", "rootfs/bin/busybox", "rootfs/sbin/init"] {
        assert!(
            listing.iter().any(|n| n.trim_start_matches("./") == want),
            "{want} missing from {listing:?}"
        );
    }
    let meta = tar_listing(&img.split_meta);
    assert!(meta
        .iter()
        .any(|n| n.trim_start_matches("./") == "metadata.yaml"));
    let rootfs = tar_listing(&img.split_rootfs);
    assert!(rootfs
        .iter()
        .any(|n| n.trim_start_matches("./") == "bin/busybox"));
    // A busybox that is not there is an error, not a panic.
    let env = TestEnv::new();
    let out = env.root().join("none");
    env.run(
        "incus-image",
        &[
            "build-busybox",
            out.to_str().unwrap(),
            "--busybox",
            "/nonexistent/busybox",
        ],
    )
    .err(exit::INVALID);
}

/// Entry names of an xz (or plain) tarball.
fn tar_listing(p: &Path) -> Vec<String> {
    let data = read(p);
    let plain = if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut liblzma::read::XzDecoder::new(&data[..]), &mut out)
            .expect("xz");
        out
    } else {
        data
    };
    let mut a = tar::Archive::new(&plain[..]);
    a.entries()
        .expect("tar")
        .map(|e| String::from_utf8_lossy(&e.expect("entry").path_bytes()).into_owned())
        .collect()
}

#[test]
fn import_fingerprints_are_sha256() {
    let img = busybox_images("import_fingerprints_are_sha256");
    let env = TestEnv::initialized();
    let unified = env.import(&[&img.unified], "bb");
    assert_eq!(unified, sha256_hex(&[&read(&img.unified)]));
    let split = env.import(&[&img.split_meta, &img.split_rootfs], "bbs");
    assert_eq!(
        split,
        sha256_hex(&[&read(&img.split_meta), &read(&img.split_rootfs)])
    );
    assert_ne!(unified, split);
    // Stored as upstream lays them out.
    let images = env.incus_dir.join("images");
    let mut want = vec![unified.clone(), split.clone(), format!("{split}.rootfs")];
    want.sort();
    assert_eq!(list_dir(&images), want);
    assert_eq!(read(&images.join(&unified)), read(&img.unified));
    assert_eq!(read(&images.join(&split)), read(&img.split_meta));
    assert_eq!(
        read(&images.join(format!("{split}.rootfs"))),
        read(&img.split_rootfs)
    );
    // Listed with the sizes of the files and the busybox properties.
    let list = image_list(&env);
    assert_eq!(list.len(), 2);
    let get = |fp: &str| {
        list.iter()
            .find(|i| i["fingerprint"] == fp)
            .unwrap()
            .clone()
    };
    let u = get(&unified);
    assert_eq!(u["size"], std::fs::metadata(&img.unified).unwrap().len());
    assert_eq!(u["properties"]["os"], "busybox");
    assert_eq!(u["type"], "container");
    let s = get(&split);
    assert_eq!(
        s["size"],
        std::fs::metadata(&img.split_meta).unwrap().len()
            + std::fs::metadata(&img.split_rootfs).unwrap().len()
    );
    // The same image twice is a conflict and changes nothing.
    env.run("incus-image", &["import", img.unified.to_str().unwrap()])
        .err(exit::CONFLICT);
    assert_eq!(image_list(&env).len(), 2);
    // Properties given on the command line override metadata.yaml's.
    let env2 = TestEnv::initialized();
    env2.ok(
        "incus-image",
        &[
            "import",
            img.unified.to_str().unwrap(),
            "os=custom",
            "user.note=x",
        ],
    );
    let l = image_list(&env2);
    assert_eq!(l[0]["properties"]["os"], "custom");
    assert_eq!(l[0]["properties"]["user.note"], "x");
    assert!(l[0]["aliases"].as_array().unwrap().is_empty());
}

#[test]
fn aliases() {
    let img = busybox_images("aliases");
    let env = TestEnv::initialized();
    let fp = env.import(&[&img.unified], "bb");
    let short = &fp[..12];
    // Reachable by alias, full fingerprint and prefix.
    for r in ["bb", fp.as_str(), short] {
        let v = env.json("incus-image", &["show", r, "--format", "json"]);
        assert_eq!(v["fingerprint"], fp.as_str(), "by {r}");
    }
    env.ok("incus-image", &["alias", "create", "second", short]);
    env.ok(
        "incus-image",
        &[
            "alias",
            "create",
            "third",
            &fp,
            "--description",
            "the third",
        ],
    );
    let aliases = env.json("incus-image", &["alias", "list", "--format", "json"]);
    let names: Vec<&str> = aliases
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bb", "second", "third"]);
    assert!(aliases
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["target"] == fp.as_str() && a["type"] == "container"));
    let show = env.json("incus-image", &["show", "bb", "--format", "json"]);
    assert_eq!(show["aliases"].as_array().unwrap().len(), 3);
    // Duplicates, dangling targets, bad names.
    env.run("incus-image", &["alias", "create", "bb", &fp])
        .err(exit::CONFLICT);
    env.run("incus-image", &["alias", "create", "x", "0000000000"])
        .err(exit::NOT_FOUND);
    env.run("incus-image", &["alias", "create", "has space", &fp])
        .err(exit::INVALID);
    env.run("incus-image", &["alias", "rename", "second", "bb"])
        .err(exit::CONFLICT);
    env.run("incus-image", &["alias", "delete", "nope"])
        .err(exit::NOT_FOUND);
    // Rename and delete.
    env.ok("incus-image", &["alias", "rename", "second", "renamed"]);
    env.ok("incus-image", &["alias", "delete", "third"]);
    let aliases = env.json("incus-image", &["alias", "list", "--format", "json"]);
    let names: Vec<&str> = aliases
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bb", "renamed"]);
    // Instances can be created by alias.
    env.ok("incus-instance", &["create", "renamed", "c1"]);
    let c1 = env.json("incus-instance", &["show", "c1", "--format", "json"]);
    assert_eq!(c1["config"]["volatile.base_image"], fp.as_str());
    // A second import under a taken alias is refused whole.
    env.run(
        "incus-image",
        &[
            "import",
            img.split_meta.to_str().unwrap(),
            img.split_rootfs.to_str().unwrap(),
            "--alias",
            "bb",
        ],
    )
    .err(exit::CONFLICT);
    assert_eq!(image_list(&env).len(), 1);
    assert_eq!(list_dir(&env.incus_dir.join("images")), vec![fp.clone()]);
    // Properties.
    env.ok("incus-image", &["set-property", "bb", "user.x", "1"]);
    assert_eq!(
        env.ok("incus-image", &["get-property", "bb", "user.x"])
            .line(),
        "1"
    );
    env.ok("incus-image", &["unset-property", "bb", "user.x"]);
    assert_eq!(
        env.ok("incus-image", &["get-property", "bb", "user.x"])
            .line(),
        ""
    );
}

fn export(env: &TestEnv, image: &str, dir: &Path) -> Vec<PathBuf> {
    let o = env.ok("incus-image", &["export", image, dir.to_str().unwrap()]);
    let mut files: Vec<PathBuf> = o.stdout.lines().map(PathBuf::from).collect();
    files.sort();
    assert_eq!(
        list_dir(dir).len(),
        files.len(),
        "export printed what it wrote"
    );
    files
}

#[test]
fn export_round_trip() {
    let img = busybox_images("export_round_trip");
    let env = TestEnv::initialized();
    let unified = env.import(&[&img.unified], "bb");
    let split = env.import(&[&img.split_meta, &img.split_rootfs], "bbs");

    // Unified: one file, the same bytes.
    let out = env.root().join("export-unified");
    std::fs::create_dir(&out).unwrap();
    let files = export(&env, "bb", &out);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(read(&files[0]), read(&img.unified));
    assert!(
        files[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with(&unified),
        "named after the fingerprint: {files:?}"
    );
    let fresh = TestEnv::initialized();
    assert_eq!(fresh.import(&[&files[0]], "again"), unified);

    // Split: metadata and rootfs, the same bytes; the metadata file sorts first?
    // Not assumed: the one holding metadata.yaml is the metadata tarball.
    let out = env.root().join("export-split");
    std::fs::create_dir(&out).unwrap();
    let files = export(&env, &split[..12], &out);
    assert_eq!(files.len(), 2, "{files:?}");
    let (meta, rootfs) = if read(&files[0]) == read(&img.split_meta) {
        (&files[0], &files[1])
    } else {
        (&files[1], &files[0])
    };
    assert_eq!(read(meta), read(&img.split_meta));
    assert_eq!(read(rootfs), read(&img.split_rootfs));
    let fresh = TestEnv::initialized();
    assert_eq!(fresh.import(&[meta, rootfs], "again"), split);

    // Exporting into the current directory (no target).
    let cwd = env.root().join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    let o = env
        .command("incus-image")
        .args(["export", "bb"])
        .current_dir(&cwd)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(list_dir(&cwd).len(), 1);
    env.run("incus-image", &["export", "nope", out.to_str().unwrap()])
        .err(exit::NOT_FOUND);
}

#[test]
fn delete_removes_files_and_rows() {
    let img = busybox_images("delete_removes_files_and_rows");
    let env = TestEnv::initialized();
    let unified = env.import(&[&img.unified], "bb");
    let split = env.import(&[&img.split_meta, &img.split_rootfs], "bbs");
    env.ok("incus-instance", &["create", "bb", "c1"]);
    // By alias, then by fingerprint prefix.
    env.ok("incus-image", &["delete", "bb"]);
    env.ok("incus-image", &["delete", &split[..12]]);
    assert!(image_list(&env).is_empty());
    assert!(list_dir(&env.incus_dir.join("images")).is_empty());
    assert_eq!(env.db_rows("images"), 0);
    assert_eq!(env.db_rows("images_aliases"), 0);
    assert_eq!(env.db_rows("images_properties"), 0);
    assert!(env
        .json("incus-image", &["alias", "list", "-f", "json"])
        .as_array()
        .unwrap()
        .is_empty());
    env.run("incus-image", &["delete", &unified])
        .err(exit::NOT_FOUND);
    // The instance made from it keeps its own copy.
    assert_eq!(env.instance_names(), ["c1"]);
    let rootfs = env
        .incus_dir
        .join("storage-pools/default/containers/c1/rootfs");
    assert!(rootfs.join("bin/busybox").is_file());
    // And the image can come back.
    assert_eq!(env.import(&[&img.unified], "bb"), unified);
}

#[test]
fn instance_from_image_has_the_rootfs() {
    let img = busybox_images("instance_from_image_has_the_rootfs");
    let env = TestEnv::initialized();
    let unified = env.import(&[&img.unified], "bb");
    let split = env.import(&[&img.split_meta, &img.split_rootfs], "bbs");
    env.ok("incus-instance", &["create", "bb", "c1"]);
    env.ok("incus-instance", &["init", "bbs", "c2"]);
    let busybox = read(Path::new("/bin/busybox"));
    for (name, fp) in [("c1", &unified), ("c2", &split)] {
        let vol = env
            .incus_dir
            .join("storage-pools/default/containers")
            .join(name);
        let bin = vol.join("rootfs/bin/busybox");
        let meta = std::fs::symlink_metadata(&bin).unwrap();
        assert!(meta.file_type().is_file(), "{name}: bin/busybox is a file");
        assert!(
            std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0,
            "{name}: bin/busybox is executable"
        );
        assert_eq!(read(&bin), busybox, "{name}: bin/busybox is /bin/busybox");
        let sh = std::fs::read_link(vol.join("rootfs/bin/sh")).unwrap();
        assert_eq!(sh, Path::new("busybox"), "{name}: applets are links");
        assert!(vol.join("rootfs/sbin/init").symlink_metadata().is_ok());
        let yaml = std::fs::read_to_string(vol.join("metadata.yaml")).unwrap();
        let meta: Value = serde_yaml_ng::from_str(&yaml).unwrap();
        assert_eq!(meta["architecture"], std::env::consts::ARCH);
        assert!(vol.join("templates").is_dir(), "{name}: templates/");
        // $INCUS_DIR/containers/NAME points at the volume, as upstream.
        let link = std::fs::read_link(env.incus_dir.join("containers").join(name)).unwrap();
        assert_eq!(link, vol);
        let inst = env.json("incus-instance", &["show", name, "--format", "json"]);
        assert_eq!(inst["config"]["volatile.base_image"], fp.as_str());
        assert_eq!(inst["config"]["image.os"], "busybox");
        assert_eq!(inst["architecture"], std::env::consts::ARCH);
    }
    // The image's last use is recorded.
    let list = image_list(&env);
    assert!(list
        .iter()
        .all(|i| !i["last_used_at"].as_str().unwrap().starts_with("1970")));
    // Delete removes the volume and the link.
    env.ok("incus-instance", &["delete", "c1", "c2"]);
    assert!(env.container_dirs("default").is_empty());
    assert!(list_dir(&env.incus_dir.join("containers")).is_empty());
}

// ---- hostile and malformed images ---------------------------------------------------

/// An installation and a directory outside it that hostile entries aim at.
struct Hostile {
    env: TestEnv,
    outside: PathBuf,
    before: Vec<String>,
}

impl Hostile {
    fn new() -> Hostile {
        let env = TestEnv::initialized();
        let outside = env.root().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("victim"), b"untouched").unwrap();
        let before = Self::state(&env);
        Hostile {
            env,
            outside,
            before,
        }
    }

    /// Files of the installation, without the database (its WAL comes and goes).
    fn state(env: &TestEnv) -> Vec<String> {
        walk(&env.incus_dir)
            .into_iter()
            .filter(|p| !p.starts_with("database") && p != "images")
            .collect()
    }

    fn outside(&self) -> &str {
        self.outside.to_str().unwrap()
    }

    /// Imports `files` and checks the refusal and that nothing was left.
    #[track_caller]
    fn refuse(&self, what: &str, files: &[(&str, Vec<u8>)]) {
        let mut args = vec!["import".to_string()];
        for (name, data) in files {
            let p = self.env.root().join(name);
            std::fs::write(&p, data).unwrap();
            args.push(p.to_str().unwrap().to_string());
        }
        args.extend(["--alias".to_string(), "hostile".to_string()]);
        let o = self.env.run("incus-image", &args);
        assert_eq!(
            o.code,
            exit::INVALID,
            "{what}: import must be refused with exit 7, got {}\nstdout: {}\nstderr: {}",
            o.code,
            o.stdout,
            o.stderr
        );
        assert!(o.stderr.starts_with("Error: "), "{what}: {:?}", o.stderr);
        // Nothing recorded, nothing on disk, nothing outside touched.
        assert!(image_list(&self.env).is_empty(), "{what}: image listed");
        assert_eq!(self.env.db_rows("images"), 0, "{what}: image row");
        assert_eq!(self.env.db_rows("images_aliases"), 0, "{what}: alias row");
        assert_eq!(
            self.env.db_rows("images_properties"),
            0,
            "{what}: property rows"
        );
        let images = walk(&self.env.incus_dir.join("images"));
        assert!(images.is_empty(), "{what}: left in images/: {images:?}");
        assert_eq!(
            Self::state(&self.env),
            self.before,
            "{what}: INCUS_DIR changed"
        );
        assert_eq!(
            list_dir(&self.outside),
            ["victim"],
            "{what}: outside dir changed"
        );
        assert_eq!(
            read(&self.outside.join("victim")),
            b"untouched",
            "{what}: victim"
        );
        for p in [PathBuf::from("/pwned"), PathBuf::from("/tmp/pwned")] {
            assert!(!p.exists(), "{what}: {} was written", p.display());
        }
    }
}

#[test]
fn hostile_dotdot() {
    let h = Hostile::new();
    let mut t = TarBuf::unified();
    t.file("rootfs/ok", b"x", 0o644)
        .file("rootfs/../../outside/pwned", b"x", 0o644);
    h.refuse("rootfs/../../", &[("img.tar", t.bytes())]);

    let mut t = TarBuf::unified();
    t.file("../outside/pwned", b"x", 0o644);
    h.refuse("top-level ../", &[("img.tar.xz", t.xz())]);

    let mut t = TarBuf::unified();
    t.dir("templates", 0o755)
        .file("templates/../../outside/pwned", b"x", 0o644);
    h.refuse("templates/../../", &[("img.tar.gz", t.gz())]);

    let mut t = TarBuf::unified();
    t.dir("rootfs/a", 0o755)
        .file("rootfs/a/../../../pwned", b"x", 0o644);
    h.refuse("deep ..", &[("img.tar", t.bytes())]);
}

#[test]
fn hostile_absolute_paths() {
    let h = Hostile::new();
    let mut t = TarBuf::unified();
    t.file(&format!("{}/pwned", h.outside()), b"x", 0o644);
    h.refuse("absolute file", &[("img.tar", t.bytes())]);

    let mut t = TarBuf::unified();
    t.file("/tmp/pwned", b"x", 0o644);
    h.refuse("absolute /tmp", &[("img.tar.xz", t.xz())]);

    let mut t = TarBuf::unified();
    t.dir(&format!("{}/newdir", h.outside()), 0o755);
    h.refuse("absolute dir", &[("img.tar", t.bytes())]);
}

#[test]
fn hostile_symlink_escape_then_write() {
    let h = Hostile::new();
    let mut t = TarBuf::unified();
    t.symlink("rootfs/evil", h.outside())
        .file("rootfs/evil/pwned", b"x", 0o644);
    h.refuse("absolute symlink then write", &[("img.tar", t.bytes())]);

    let mut t = TarBuf::unified();
    t.dir("rootfs/a", 0o755)
        .symlink("rootfs/a/up", "../../../outside")
        .dir("rootfs/a/up/sub", 0o755)
        .file("rootfs/a/up/sub/pwned", b"x", 0o644);
    h.refuse("relative symlink climbing out", &[("img.tar.gz", t.gz())]);

    let mut t = TarBuf::unified();
    t.symlink("rootfs/d", h.outside())
        .file("rootfs/d/victim", b"pwned", 0o644);
    h.refuse("overwrite through symlink", &[("img.tar", t.bytes())]);

    // A symlink replacing rootfs itself.
    let mut t = TarBuf::new();
    t.file(
        "metadata.yaml",
        incus_tests::metadata_yaml("x").as_bytes(),
        0o644,
    )
    .symlink("rootfs", h.outside())
    .file("rootfs/pwned", b"x", 0o644);
    h.refuse("rootfs is a symlink", &[("img.tar.xz", t.xz())]);
}

#[test]
fn hostile_hardlinks() {
    let h = Hostile::new();
    let mut t = TarBuf::unified();
    t.hardlink("rootfs/shadow", "/etc/shadow");
    h.refuse(
        "hardlink to an absolute host file",
        &[("img.tar", t.bytes())],
    );

    let mut t = TarBuf::unified();
    t.hardlink("rootfs/v", "../outside/victim");
    h.refuse("hardlink climbing out", &[("img.tar", t.bytes())]);

    let victim = format!("{}/victim", h.outside());
    let mut t = TarBuf::unified();
    t.hardlink("rootfs/v", &victim)
        .file("rootfs/v", b"pwned", 0o644);
    h.refuse("hardlink to outside then write", &[("img.tar.gz", t.gz())]);

    let mut t = TarBuf::unified();
    t.symlink("rootfs/s", h.outside())
        .hardlink("rootfs/v", "rootfs/s/victim");
    h.refuse("hardlink through a symlink", &[("img.tar", t.bytes())]);

    let mut t = TarBuf::unified();
    t.hardlink("rootfs/m", "metadata.yaml");
    h.refuse(
        "hardlink out of rootfs/ to metadata.yaml",
        &[("img.tar", t.bytes())],
    );
}

#[test]
fn hostile_split_rootfs() {
    let h = Hostile::new();
    let mut meta = TarBuf::new();
    meta.file(
        "metadata.yaml",
        incus_tests::metadata_yaml("x").as_bytes(),
        0o644,
    );
    let meta = meta.xz();

    let mut r = TarBuf::new();
    r.file("bin/ok", b"x", 0o755)
        .file("../outside/pwned", b"x", 0o644);
    h.refuse(
        "split rootfs with ..",
        &[("meta.tar.xz", meta.clone()), ("rootfs.tar", r.bytes())],
    );

    let mut r = TarBuf::new();
    r.symlink("evil", h.outside())
        .file("evil/pwned", b"x", 0o644);
    h.refuse(
        "split rootfs symlink escape",
        &[("meta.tar.xz", meta.clone()), ("rootfs.tar.xz", r.xz())],
    );

    let mut r = TarBuf::new();
    r.file(&format!("{}/pwned", h.outside()), b"x", 0o644);
    h.refuse(
        "split rootfs absolute",
        &[("meta.tar.xz", meta.clone()), ("rootfs.tar", r.bytes())],
    );

    // Garbage as the rootfs.
    h.refuse(
        "split rootfs garbage",
        &[
            ("meta.tar.xz", meta),
            ("rootfs.bin", incus_tests::noise(7, 4096)),
        ],
    );
}

#[test]
fn malformed_images() {
    let h = Hostile::new();
    h.refuse(
        "random bytes",
        &[("garbage.tar", incus_tests::noise(1, 10_000))],
    );
    h.refuse("text", &[("notes.txt", b"this is not an image\n".to_vec())]);
    h.refuse("empty file", &[("empty.tar", Vec::new())]);

    let mut t = TarBuf::unified();
    t.file("rootfs/big", &incus_tests::noise(2, 200_000), 0o644);
    let xz = t.xz();
    h.refuse(
        "truncated xz",
        &[("trunc.tar.xz", xz[..xz.len() / 2].to_vec())],
    );
    let mut bad = xz.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    h.refuse("corrupted xz", &[("bad.tar.xz", bad)]);

    let mut t = TarBuf::new();
    t.dir("rootfs", 0o755).file("rootfs/x", b"x", 0o644);
    h.refuse("no metadata.yaml", &[("nometa.tar", t.bytes())]);

    let mut t = TarBuf::new();
    t.file("metadata.yaml", b"architecture: [unclosed\n", 0o644)
        .dir("rootfs", 0o755);
    h.refuse("metadata.yaml not YAML", &[("badmeta.tar", t.bytes())]);

    let mut t = TarBuf::new();
    t.file(
        "metadata.yaml",
        incus_tests::metadata_yaml("x").as_bytes(),
        0o644,
    );
    h.refuse("no rootfs", &[("norootfs.tar", t.bytes())]);

    let mut t = TarBuf::unified();
    let mut plain = {
        t.file("rootfs/x", b"x", 0o644);
        t.bytes()
    };
    // The header of rootfs/x (after metadata.yaml's header and data block, and
    // rootfs/'s header) with a broken checksum.
    let at = 512 * 3;
    assert_eq!(&plain[at..at + 8], b"rootfs/x");
    plain[at + 148] ^= 0x11;
    h.refuse("bad header checksum", &[("cksum.tar", plain)]);
}

#[test]
fn good_image_after_hostile_ones() {
    // The refusals leave the installation usable: a sound image then imports.
    let h = Hostile::new();
    let mut t = TarBuf::unified();
    t.file("rootfs/../x", b"x", 0o644);
    h.refuse("..", &[("bad.tar", t.bytes())]);
    let mut t = TarBuf::unified();
    t.dir("rootfs/etc", 0o755)
        .file("rootfs/etc/hostname", b"fine\n", 0o644)
        .symlink("rootfs/etc/link", "hostname")
        .hardlink("rootfs/etc/hard", "rootfs/etc/hostname");
    let bytes = t.bytes();
    let p = h.env.root().join("good.tar");
    std::fs::write(&p, &bytes).unwrap();
    assert_eq!(h.env.import(&[&p], "good"), sha256_hex(&[&bytes]));
    h.env.ok("incus-instance", &["create", "good", "c1"]);
    let etc = h
        .env
        .incus_dir
        .join("storage-pools/default/containers/c1/rootfs/etc");
    assert_eq!(read(&etc.join("hostname")), b"fine\n");
    assert_eq!(read(&etc.join("hard")), b"fine\n");
    assert_eq!(
        std::fs::read_link(etc.join("link")).unwrap(),
        Path::new("hostname")
    );
}

/// A dir pool keeps one unpacked copy of an image (filled once, crash-safe) and copies
/// it for each instance; the copy is the instance's own, and it goes with the image.
#[test]
fn dir_pool_caches_the_unpacked_image() {
    use std::os::unix::fs::MetadataExt;
    let img = busybox_images("dir_pool_caches_the_unpacked_image");
    let env = TestEnv::initialized();
    let fp = env.import(&[&img.unified], "bb");
    let pool = env.incus_dir.join("storage-pools/default");
    let cache = pool.join("images").join(&fp);

    // Killed while filling: only the staging is left, never a cache in use.
    env.kill_at(
        "incus-instance",
        &["init", "bb", "k1"],
        "image-volume-filled",
    );
    assert_eq!(list_dir(&pool.join("images")), [format!(".{fp}.partial")]);

    env.ok("incus-instance", &["create", "bb", "c1"]);
    assert_eq!(list_dir(&pool.join("images")), std::slice::from_ref(&fp));
    let ino = std::fs::metadata(cache.join("rootfs/bin/busybox"))
        .unwrap()
        .ino();
    env.ok("incus-instance", &["create", "bb", "c2"]);
    // Not unpacked again, and each instance has its own files.
    assert_eq!(
        std::fs::metadata(cache.join("rootfs/bin/busybox"))
            .unwrap()
            .ino(),
        ino
    );
    let c1 = pool.join("containers/c1/rootfs");
    assert_ne!(
        std::fs::metadata(c1.join("bin/busybox")).unwrap().ino(),
        ino
    );
    std::fs::write(c1.join("etc/hostname"), "changed\n").unwrap();
    assert_eq!(read(&cache.join("rootfs/etc/hostname")), b"busybox\n");
    assert_eq!(
        read(&pool.join("containers/c2/rootfs/etc/hostname")),
        b"busybox\n"
    );
    assert_eq!(
        read(&c1.join("bin/busybox")),
        read(Path::new("/bin/busybox"))
    );
    assert_eq!(env.instance_names(), ["c1", "c2"]);

    env.ok("incus-image", &["delete", "bb"]);
    assert_eq!(list_dir(&pool.join("images")), Vec::<String>::new());
    assert!(pool.join("containers/c2/rootfs/bin/busybox").is_file());
}
