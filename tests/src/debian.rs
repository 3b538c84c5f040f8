//! Debian 12 test images built with debootstrap from this machine's Debian mirror, cached
//! in /var/cache/incus-tests (the systemd and cloud-init tests).

use crate::notice;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

pub const CACHE: &str = "/var/cache/incus-tests";

/// The Debian mirror apt uses here (deb822 or one-line sources), else deb.debian.org.
pub fn mirror() -> String {
    let mut texts: Vec<String> = std::fs::read_to_string("/etc/apt/sources.list")
        .into_iter()
        .collect();
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "sources" || x == "list") {
                texts.extend(std::fs::read_to_string(p).ok());
            }
        }
    }
    for t in &texts {
        for l in t.lines() {
            let l = l.trim();
            let url = l.strip_prefix("URIs:").map(str::trim).or_else(|| {
                l.strip_prefix("deb ")
                    .and_then(|r| r.split_whitespace().next())
            });
            if let Some(u) = url {
                if u.ends_with("/debian") || u.ends_with("/debian/") {
                    return u.to_string();
                }
            }
        }
    }
    "http://deb.debian.org/debian".to_string()
}

fn sh(cmd: &mut Command, what: &str) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        o.status.success(),
        "{what} failed ({}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// One image template: `when: [create, copy, rename]` for /etc/hostname, `[create, copy]`
/// otherwise (as upstream's cloud-init templates), with an optional `properties.default`.
pub struct Template<'a> {
    /// Target path in the rootfs.
    pub path: &'a str,
    /// File name under templates/.
    pub name: &'a str,
    /// The template text.
    pub body: &'a str,
    /// `properties.default` of the entry.
    pub default: Option<&'a str>,
}

/// Builds (once per machine, under a lock) a unified Debian 12 image `file` in
/// /var/cache/incus-tests: debootstrap minbase with `include` (comma-separated packages),
/// the hostname template and `extra` templates; `setup`, when not empty, is a shell script
/// run in the rootfs (chroot) afterwards. Delete the file to rebuild it.
pub fn image(
    file: &str,
    include: &str,
    setup: &str,
    description: &str,
    extra: &[Template],
) -> PathBuf {
    std::fs::create_dir_all(CACHE).unwrap();
    let out = Path::new(CACHE).join(file);
    let lock = std::fs::File::create(Path::new(CACHE).join("debian.lock")).unwrap();
    // SAFETY: flock on an open file; released when `lock` is dropped.
    assert_eq!(
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) },
        0
    );
    if out.is_file() {
        return out;
    }
    assert!(
        Path::new("/usr/sbin/debootstrap").is_file(),
        "debootstrap is missing: apt-get install debootstrap (make test does)"
    );
    let t0 = Instant::now();
    let work = Path::new(CACHE).join(format!("build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let mirror = mirror();
    sh(
        Command::new("debootstrap")
            .args([
                "--variant=minbase",
                &format!("--include={include}"),
                "bookworm",
            ])
            .arg(work.join("rootfs"))
            .arg(&mirror),
        &format!("debootstrap bookworm from {mirror} (is the Debian mirror reachable?)"),
    );
    if !setup.is_empty() {
        sh(
            Command::new("chroot")
                .arg(work.join("rootfs"))
                .args(["/bin/sh", "-ec", setup]),
            "image setup script",
        );
    }
    let mut meta = format!(
        "architecture: {}\ncreation_date: {}\nproperties:\n  os: debian\n  release: bookworm\n  description: {description}\ntemplates:\n  /etc/hostname:\n    when: [create, copy, rename]\n    template: hostname.tpl\n",
        std::env::consts::ARCH,
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    );
    // As upstream's images: the hostname comes from the instance name.
    std::fs::create_dir_all(work.join("templates")).unwrap();
    std::fs::write(
        work.join("templates/hostname.tpl"),
        "{{ container.name }}\n",
    )
    .unwrap();
    for t in extra {
        meta.push_str(&format!(
            "  {}:\n    when: [create, copy]\n    template: {}\n",
            t.path, t.name
        ));
        if let Some(d) = t.default {
            meta.push_str("    properties:\n      default: |\n");
            for l in d.lines() {
                meta.push_str(&format!("        {l}\n"));
            }
        }
        std::fs::write(work.join("templates").join(t.name), t.body).unwrap();
    }
    std::fs::write(work.join("metadata.yaml"), meta).unwrap();
    let tmp = Path::new(CACHE).join(format!(".{file}.{}", std::process::id()));
    sh(
        Command::new("tar")
            .arg("-C")
            .arg(&work)
            .args(["--numeric-owner", "-I", "gzip -1", "-cf"])
            .arg(&tmp)
            .args(["metadata.yaml", "templates", "rootfs"]),
        "tar the Debian image",
    );
    std::fs::rename(&tmp, &out).unwrap();
    std::fs::remove_dir_all(&work).unwrap();
    notice(&format!(
        "debian: built {} in {:.0} s",
        out.display(),
        t0.elapsed().as_secs_f64()
    ));
    out
}
