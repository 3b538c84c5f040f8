//! A minimal system-container image made from a static busybox: the image used by tests, demos and
//! benchmarks (no network access needed to get one).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::metadata::{ImageMetadata, TemplateEntry};
use crate::ImageSource;

/// Which image layout [`build_busybox_image`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildFormat {
    /// One `busybox.tar.xz` holding `metadata.yaml`, `rootfs/` and `templates/`.
    Unified,
    /// `meta.tar.xz` (metadata.yaml, templates/) plus `rootfs.tar.xz`.
    Split,
}

/// Applets linked in `bin/` (all present in Debian's busybox-static).
pub const APPLETS: &[&str] = &[
    "[", "ash", "cat", "chmod", "chown", "cp", "date", "df", "dmesg", "echo", "env", "false",
    "free", "grep", "halt", "head", "hostname", "id", "ifconfig", "init", "ip", "kill", "ln", "ls",
    "mkdir", "mount", "mv", "ping", "poweroff", "ps", "pwd", "reboot", "rm", "route", "sed", "sh",
    "sleep", "sync", "tail", "test", "top", "touch", "true", "udhcpc", "umount", "uname", "wc",
];

const INITTAB: &str = "\
# busybox init for a system container.
# proc and sys may already be mounted by the runtime; mount them only if not.
::sysinit:/bin/sh -c '[ -e /proc/self ] || mount -t proc proc /proc'
::sysinit:/bin/sh -c '[ -e /sys/kernel ] || mount -t sysfs sysfs /sys'
::sysinit:/bin/hostname -F /etc/hostname
::sysinit:/bin/touch /run/ready
# DHCP on eth0 when the instance has a NIC (kept running to renew the lease).
::once:/bin/sh -c '[ -e /sys/class/net/eth0 ] && exec /bin/udhcpc -f -i eth0'
console::respawn:-/bin/sh
::ctrlaltdel:/bin/reboot
::shutdown:/bin/sync
";

const PASSWD: &str =
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP: &str = "root:x:0:\nnogroup:x:65534:\n";
const HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

/// udhcpc applies a lease only through this script.
const UDHCPC_SCRIPT: &str = r#"#!/bin/sh
# Minimal udhcpc hook: configure the address, default route and resolvers.
# IPv4 only: flushing all addresses would drop the link-local and SLAAC ones.
case "$1" in
deconfig)
	ip -4 addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound|renew)
	ip -4 addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	if [ -n "$router" ]; then
		ip route replace default via "${router%% *}" dev "$interface"
	fi
	if [ -n "$dns" ]; then
		: > /etc/resolv.conf
		for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
	fi
	;;
esac
exit 0
"#;

const HOSTNAME_TPL: &str = "{{ instance.name }}\n";

/// (directory, applet) pairs from `busybox --list-full`; empty when the binary cannot
/// run here (another architecture): the image then has only [`APPLETS`].
fn installed_applets(busybox: &Path) -> Vec<(String, String)> {
    let Ok(out) = std::process::Command::new(busybox)
        .arg("--list-full")
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.rsplit_once('/'))
        .filter(|(dir, applet)| {
            !applet.is_empty()
                && !dir
                    .split('/')
                    .any(|c| c.is_empty() || c == "." || c == "..")
        })
        .map(|(d, a)| (d.to_string(), a.to_string()))
        .collect()
}

enum Node {
    Dir(u32),
    File(Vec<u8>, u32),
    Symlink(String),
}

/// Build a busybox system-container image in `out_dir` from a static `busybox` binary
/// (e.g. `/bin/busybox` from Debian's busybox-static).
///
/// The rootfs has `bin/busybox` with applet symlinks ([`APPLETS`] in `bin/`, the others where
/// `busybox --install -s` puts them), `sbin/init -> ../bin/busybox`,
/// an `etc/inittab` that mounts proc/sys when needed, sets the hostname from `/etc/hostname` and
/// touches `/run/ready`, plus passwd/group/hostname/hosts and the usual empty directories.
/// `metadata.yaml` carries the host architecture (uname), the build time (or `SOURCE_DATE_EPOCH`,
/// which makes the output byte-for-byte reproducible) and a `/etc/hostname` template.
/// Entries are written in sorted order with root ownership and fixed modes.
pub fn build_busybox_image(
    busybox: &Path,
    out_dir: &Path,
    format: BuildFormat,
) -> Result<ImageSource> {
    let bin = std::fs::read(busybox).map_err(|e| Error::io(busybox, e))?;
    if bin.len() < 4 || &bin[..4] != b"\x7fELF" {
        return Err(Error::io(
            busybox,
            io::Error::new(io::ErrorKind::InvalidInput, "not an ELF binary"),
        ));
    }
    let arch = machine_arch();
    let now = build_time();
    let release = busybox_release(&bin).unwrap_or_else(|| "1.35".to_string());

    let mut rootfs: BTreeMap<String, Node> = BTreeMap::new();
    for (d, mode) in [
        ("bin", 0o755),
        ("dev", 0o755),
        ("etc", 0o755),
        ("etc/udhcpc", 0o755),
        ("proc", 0o555),
        ("root", 0o700),
        ("run", 0o755),
        ("sbin", 0o755),
        ("sys", 0o555),
        ("tmp", 0o1777),
        ("usr", 0o755),
        ("usr/share", 0o755),
        ("usr/share/udhcpc", 0o755),
        ("var", 0o755),
    ] {
        rootfs.insert(d.into(), Node::Dir(mode));
    }
    rootfs.insert("bin/busybox".into(), Node::File(bin, 0o755));
    for applet in APPLETS {
        rootfs.insert(format!("bin/{applet}"), Node::Symlink("busybox".into()));
    }
    // Every other applet where busybox itself would install it (`--install -s`), as
    // upstream's busybox image has them (stty, vi, wget...).
    for (dir, applet) in installed_applets(busybox) {
        if APPLETS.contains(&applet.as_str()) {
            continue;
        }
        let up = "../".repeat(dir.matches('/').count() + 1);
        for (i, _) in dir.match_indices('/').chain([(dir.len(), "")]) {
            rootfs
                .entry(dir[..i].to_string())
                .or_insert(Node::Dir(0o755));
        }
        rootfs
            .entry(format!("{dir}/{applet}"))
            .or_insert(Node::Symlink(format!("{up}bin/busybox")));
    }
    rootfs.insert("sbin/init".into(), Node::Symlink("../bin/busybox".into()));
    for (f, body) in [
        ("etc/inittab", INITTAB),
        ("etc/passwd", PASSWD),
        ("etc/group", GROUP),
        ("etc/hosts", HOSTS),
        ("etc/hostname", "busybox\n"),
    ] {
        rootfs.insert(f.into(), Node::File(body.as_bytes().to_vec(), 0o644));
    }
    rootfs.insert(
        "usr/share/udhcpc/default.script".into(),
        Node::File(UDHCPC_SCRIPT.as_bytes().to_vec(), 0o755),
    );
    // Where Debian's busybox looks for it by default.
    rootfs.insert(
        "etc/udhcpc/default.script".into(),
        Node::Symlink("../../usr/share/udhcpc/default.script".into()),
    );

    let meta = ImageMetadata {
        architecture: arch.clone(),
        creation_date: now,
        expiry_date: 0,
        properties: BTreeMap::from([
            ("architecture".to_string(), arch.clone()),
            ("description".to_string(), format!("Busybox {arch}")),
            ("os".to_string(), "busybox".to_string()),
            ("release".to_string(), release),
            // What upstream's `incus-simplestreams add` requires of an image.
            ("variant".to_string(), "default".to_string()),
        ]),
        templates: BTreeMap::from([(
            "/etc/hostname".to_string(),
            TemplateEntry {
                when: vec!["create".into(), "copy".into(), "rename".into()],
                template: "hostname.tpl".into(),
                ..Default::default()
            },
        )]),
    };
    let yaml = meta.to_yaml()?;

    // metadata.yaml first so that readers looking only for it stop early.
    let mut meta_entries: Vec<(String, Node)> = vec![
        ("metadata.yaml".into(), Node::File(yaml.into_bytes(), 0o644)),
        ("templates".into(), Node::Dir(0o755)),
        (
            "templates/hostname.tpl".into(),
            Node::File(HOSTNAME_TPL.as_bytes().to_vec(), 0o644),
        ),
    ];
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    match format {
        BuildFormat::Unified => {
            let templates = meta_entries.split_off(1);
            let mut all = meta_entries;
            all.push(("rootfs".into(), Node::Dir(0o755)));
            all.extend(rootfs.into_iter().map(|(p, n)| (format!("rootfs/{p}"), n)));
            all.extend(templates);
            let path = out_dir.join("busybox.tar.xz");
            write_tar_xz(&path, &all, now)?;
            Ok(ImageSource::Unified(path))
        }
        BuildFormat::Split => {
            let mpath = out_dir.join("meta.tar.xz");
            let rpath = out_dir.join("rootfs.tar.xz");
            write_tar_xz(&mpath, &meta_entries, now)?;
            let entries: Vec<(String, Node)> = rootfs.into_iter().collect();
            write_tar_xz(&rpath, &entries, now)?;
            Ok(ImageSource::Split {
                metadata: mpath,
                rootfs: rpath,
            })
        }
    }
}

/// Write entries as a tar.xz, through a temp file renamed into place.
fn write_tar_xz(path: &Path, entries: &[(String, Node)], mtime: i64) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    let io_err = |e: io::Error| Error::io(path, e);
    let file = tmp.reopen().map_err(io_err)?;
    let xz = liblzma::write::XzEncoder::new(file, 6);
    let mut b = tar::Builder::new(xz);
    let mtime = u64::try_from(mtime).unwrap_or(0);
    for (name, node) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        h.set_username("root").map_err(io_err)?;
        h.set_groupname("root").map_err(io_err)?;
        match node {
            Node::Dir(mode) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*mode);
                h.set_size(0);
                b.append_data(&mut h, format!("{name}/"), io::empty())
                    .map_err(io_err)?;
            }
            Node::File(data, mode) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, name, data.as_slice())
                    .map_err(io_err)?;
            }
            Node::Symlink(target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, name, target).map_err(io_err)?;
            }
        }
    }
    let xz = b.into_inner().map_err(io_err)?;
    let mut file: File = xz.finish().map_err(io_err)?;
    file.flush().map_err(io_err)?;
    file.sync_all().map_err(io_err)?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// `uname -m`.
fn machine_arch() -> String {
    let mut uts = std::mem::MaybeUninit::<libc::utsname>::uninit();
    // SAFETY: uname fills the struct on success.
    if unsafe { libc::uname(uts.as_mut_ptr()) } == 0 {
        // SAFETY: initialised by the successful call above; machine is NUL-terminated.
        let uts = unsafe { uts.assume_init() };
        let machine = unsafe { std::ffi::CStr::from_ptr(uts.machine.as_ptr()) };
        if let Ok(s) = machine.to_str() {
            if !s.is_empty() {
                return s.to_string();
            }
        }
    }
    std::env::consts::ARCH.to_string()
}

/// `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
fn build_time() -> i64 {
    if let Some(t) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        return t;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// "1.35" from the "BusyBox v1.35.0 (...)" banner inside the binary.
fn busybox_release(bin: &[u8]) -> Option<String> {
    let needle = b"BusyBox v";
    let at = bin.windows(needle.len()).position(|w| w == needle)? + needle.len();
    let version: String = bin[at..]
        .iter()
        .take(32)
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .map(|b| *b as char)
        .collect();
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => Some(format!("{a}.{b}")),
        _ => None,
    }
}
