//! Virtual machines (docs/vm.md): the rules core keeps for them. The volume of a VM is a
//! directory on its pool, like a container's, holding `root.img` (a raw sparse disk,
//! converted once per pool from the image's qcow2 by `qemu-img`: the pool's image
//! volume is filled by the conversion and instances are copies of it), `boot/` (the
//! kernel and initrd of a direct-boot image), `metadata.yaml` and `templates/`.

use crate::instance;
use crate::{Context, Error, Result};
use incus_api::{keys, Config, Devices};
use incus_db::InstanceRow;
use incus_imagefmt::ImageSource;
use incus_runtime::qemu::{VmNic, VmSpec};
use incus_runtime::NicSpec;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The instance and image type of VMs.
pub const VM: &str = "virtual-machine";
/// The root disk of a VM, inside its volume.
pub const ROOT_IMG: &str = "root.img";
/// Largest kernel or initrd taken from an image.
const MAX_BOOT_FILE: u64 = 512 << 20;

/// Whether an instance row is a VM's.
pub fn is_vm(row: &InstanceRow) -> bool {
    row.instance_type == VM
}

/// The instance type a create asked for: `""`/`container` or `virtual-machine`.
pub fn check_type(t: &str) -> Result<&'static str> {
    match t {
        "" | "container" => Ok("container"),
        VM => Ok(VM),
        other => Err(Error::invalid(format!("Unknown instance type \"{other}\""))),
    }
}

fn qemu_img(args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new("qemu-img")
        .args(args)
        .output()
        .map_err(|e| Error::unsupported(format!("qemu-img: {e} (install qemu-utils)")))?;
    if !out.status.success() {
        return Err(Error::invalid(format!(
            "qemu-img {}: {}",
            args.first().copied().unwrap_or(""),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

/// Checks a VM image's disk before it is imported: a qcow2 file with no backing file and
/// no external data file (either would make QEMU read a host file into the guest).
pub fn check_disk(path: &Path) -> Result<u64> {
    let p = path.to_string_lossy();
    let out = qemu_img(&["info", "--output=json", "-f", "qcow2", &p])?;
    let v: serde_json::Value =
        serde_json::from_slice(&out).map_err(|e| Error::invalid(format!("qemu-img info: {e}")))?;
    if v.get("format").and_then(|f| f.as_str()) != Some("qcow2") {
        return Err(Error::invalid("The VM image's disk is not a qcow2 file"));
    }
    if v.get("backing-filename").is_some() || v.get("full-backing-filename").is_some() {
        return Err(Error::invalid(
            "The VM image's disk has a backing file (refused: it would read a host file)",
        ));
    }
    let data_file = v
        .pointer("/format-specific/data/data-file")
        .and_then(|d| d.as_str());
    if data_file.is_some() {
        return Err(Error::invalid(
            "The VM image's disk has an external data file (refused)",
        ));
    }
    Ok(v.get("virtual-size").and_then(|s| s.as_u64()).unwrap_or(0))
}

/// Fills a new VM volume (or the pool's image volume) from an image: metadata,
/// templates, boot files and the raw root disk.
pub fn fill_volume(src: &ImageSource, vol: &Path) -> Result<()> {
    let ImageSource::Split { metadata, rootfs } = src else {
        return Err(Error::invalid(
            "A virtual machine needs a split image (metadata tarball and qcow2 disk)",
        ));
    };
    check_disk(rootfs)?;
    incus_imagefmt::unpack_templates(src, &vol.join("templates"))
        .map_err(crate::convert::image_format_error)?;
    let meta = incus_imagefmt::read_metadata(src).map_err(crate::convert::image_format_error)?;
    std::fs::write(
        vol.join("metadata.yaml"),
        meta.to_yaml().map_err(crate::convert::image_format_error)?,
    )?;
    let boot = vol.join("boot");
    std::fs::create_dir(&boot)?;
    // Direct kernel boot when the image carries a kernel (ours); UEFI otherwise.
    if incus_imagefmt::extract_files(
        metadata,
        &["boot/vmlinuz", "boot/initrd.img"],
        &boot,
        MAX_BOOT_FILE,
    )
    .is_err()
    {
        let _ = incus_sys::fsutil::remove_tree(&boot);
        std::fs::create_dir(&boot)?;
    }
    let dst = vol.join(ROOT_IMG);
    qemu_img(&[
        "convert",
        "-f",
        "qcow2",
        "-O",
        "raw",
        "-S",
        "4k",
        &rootfs.to_string_lossy(),
        &dst.to_string_lossy(),
    ])?;
    Ok(())
}

/// The accelerator: `INCUS_VM_ACCEL` (`kvm` or `tcg`) when set; else KVM when a probe
/// QEMU runs a guest with it, TCG (software emulation, with a warning) otherwise. The
/// probe's answer is cached in the run directory for the current boot.
fn accel(ctx: &Context) -> String {
    match std::env::var("INCUS_VM_ACCEL").as_deref() {
        Ok("kvm") => return "kvm".into(),
        Ok("tcg") => return "tcg".into(),
        _ => {}
    }
    let cache = ctx.run_dir.join("vm-accel");
    let boot = incus_sys::boot_id();
    let cached = std::fs::read_to_string(&cache).ok().and_then(|s| {
        let (b, a) = s.trim().split_once(' ')?;
        (b == boot).then(|| a.to_string())
    });
    let a = cached.unwrap_or_else(|| {
        let a = if incus_runtime::qemu::probe_kvm() {
            "kvm"
        } else {
            "tcg"
        };
        let _ = incus_sys::fsutil::atomic_write(&cache, format!("{boot} {a}\n").as_bytes(), 0o644);
        a.to_string()
    });
    if a == "tcg" {
        incus_api::warning::push(
            "KVM is not usable on this host: the VM runs under TCG (software emulation, much slower)",
        );
    }
    a
}

/// vCPUs of `limits.cpu` (a count or a set such as `0-1,3`); 1 when unset, as upstream.
pub fn cpus_of(config: &Config) -> Result<u32> {
    let Some(v) = config.get("limits.cpu").filter(|v| !v.is_empty()) else {
        return Ok(1);
    };
    let bad = || Error::invalid(format!("Invalid value for limits.cpu: \"{v}\""));
    if let Ok(n) = v.parse::<u32>() {
        return if (1..=512).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let mut n = 0u32;
    for part in v.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) =
                    (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
                if b < a {
                    return Err(bad());
                }
                n += b - a + 1;
            }
            None => {
                part.parse::<u32>().map_err(|_| bad())?;
                n += 1;
            }
        }
    }
    Ok(n.clamp(1, 512))
}

/// Memory of `limits.memory`; 1 GiB when unset, as upstream.
pub fn memory_of(config: &Config) -> Result<u64> {
    match config.get("limits.memory").filter(|v| !v.is_empty()) {
        Some(v) => {
            let total = crate::lifecycle::host_memory();
            let b = keys::MemoryLimit::parse(v)?.bytes(total);
            if b < (64 << 20) {
                return Err(Error::invalid(format!(
                    "limits.memory {v} is below the 64MiB a VM needs"
                )));
            }
            Ok(b)
        }
        None => Ok(1 << 30),
    }
}

/// The runtime spec of a VM start.
pub(crate) fn spec_of(
    ctx: &Context,
    row: &InstanceRow,
    config: &Config,
    _devices: &Devices,
    nics: Vec<NicSpec>,
) -> Result<VmSpec> {
    let vol = instance::volume_path(ctx, row);
    let boot = vol.join("boot");
    let kernel = boot.join("vmlinuz");
    let (kernel, initrd, firmware) = if kernel.exists() {
        let initrd = boot.join("initrd.img");
        (Some(kernel), initrd.exists().then_some(initrd), None)
    } else {
        (None, None, Some(firmware(ctx, row)?))
    };
    Ok(VmSpec {
        name: row.name.clone(),
        uuid: config.get("volatile.uuid").cloned().unwrap_or_default(),
        run_dir: ctx.instance_run_dir(&row.name),
        log_dir: ctx.instance_log_dir(&row.name),
        root_disk: vol.join(ROOT_IMG),
        kernel,
        initrd,
        cmdline: "console=ttyS0 panic=-1 quiet".into(),
        firmware,
        cpus: cpus_of(config)?,
        memory: memory_of(config)?,
        accel: accel(ctx),
        nics: nics
            .into_iter()
            .map(|n| VmNic {
                name: n.name,
                host_name: n.host_name,
                bridge: n.bridge,
                hwaddr: n.hwaddr,
                mtu: n.mtu,
            })
            .collect(),
    })
}

/// The record of a VM start (as a container's): pending template trigger and power
/// mark cleared, last use, event.
pub(crate) fn record_start(ctx: &Context, row: &InstanceRow, _config: &Config) -> Result<()> {
    let now = crate::time::now();
    let project = ctx.project.clone();
    let name = row.name.clone();
    ctx.db()?.write(|tx| {
        if row.config.contains_key("volatile.apply_template") {
            incus_db::instance_config_set(tx, row.id, "volatile.apply_template", None)?;
        }
        incus_db::instance_config_set(tx, row.id, crate::lifecycle::POWER_MARK, None)?;
        incus_db::instance_set_last_used(tx, row.id, &now)?;
        crate::events::record(
            tx,
            &project,
            "instance-started",
            &format!("/1.0/instances/{name}"),
            serde_json::json!({}),
        )
    })?;
    crate::backup::sync_instance(ctx, &name);
    Ok(())
}

/// OVMF code (shared, read-only) and a per-instance copy of its variables.
fn firmware(ctx: &Context, row: &InstanceRow) -> Result<(PathBuf, PathBuf)> {
    let dir = Path::new("/usr/share/OVMF");
    let code = dir.join("OVMF_CODE_4M.fd");
    let vars = dir.join("OVMF_VARS_4M.fd");
    if !code.exists() || !vars.exists() {
        return Err(Error::unsupported(
            "UEFI firmware not found (install ovmf) and the image has no kernel",
        ));
    }
    let mine = instance::volume_path(ctx, row).join("qemu.nvram");
    if !mine.exists() {
        std::fs::copy(&vars, &mine)?;
    }
    Ok((code, mine))
}

/// A running VM's state from its agent: processes, memory, interfaces and addresses
/// (nothing when the agent is busy or not up yet); `pid` is QEMU's.
pub(crate) fn state_into(out: &mut incus_api::InstanceState, run_dir: &Path, qemu_pid: i32) {
    use incus_api::{InstanceStateNetwork, InstanceStateNetworkAddress};
    out.pid = qemu_pid as i64;
    let Some(g) = incus_runtime::qemu::guest_state_now(run_dir) else {
        return;
    };
    out.processes = g.processes;
    out.memory.usage = g.memory_used;
    let mut net = std::collections::BTreeMap::new();
    for (name, mac, addrs) in g.interfaces {
        let addresses = addrs
            .iter()
            .filter_map(|a| {
                let (addr, prefix) = a.split_once('/')?;
                let v6 = addr.contains(':');
                let scope = if name == "lo" {
                    "local"
                } else if v6 && addr.starts_with("fe80") {
                    "link"
                } else {
                    "global"
                };
                Some(InstanceStateNetworkAddress {
                    family: if v6 { "inet6" } else { "inet" }.into(),
                    address: addr.into(),
                    netmask: prefix.into(),
                    scope: scope.into(),
                })
            })
            .collect();
        net.insert(
            name.clone(),
            InstanceStateNetwork {
                addresses,
                hwaddr: mac,
                state: "up".into(),
                net_type: if name == "lo" {
                    "loopback"
                } else {
                    "broadcast"
                }
                .into(),
                ..Default::default()
            },
        );
    }
    out.network = Some(net);
}

/// `file pull` from a running VM, through its agent.
pub fn file_pull(ctx: &Context, name: &str, path: &str) -> Result<incus_runtime::qemu::AgentFile> {
    running(ctx, name)?;
    incus_runtime::qemu::file_pull(&ctx.instance_run_dir(name), path)
        .map_err(crate::convert::runtime_error)
}

/// `file push` into a running VM, through its agent.
pub fn file_push(
    ctx: &Context,
    name: &str,
    path: &str,
    data: &[u8],
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Result<()> {
    running(ctx, name)?;
    if !path.starts_with('/') {
        return Err(Error::invalid(format!("{path}: not an absolute path")));
    }
    incus_runtime::qemu::file_push(&ctx.instance_run_dir(name), path, data, mode, uid, gid)
        .map_err(crate::convert::runtime_error)
}

/// `files::open_get` of a VM: the agent's answer, a file's content in an unlinked
/// temporary file of the run directory.
pub(crate) fn file_get(
    ctx: &Context,
    name: &str,
    path: &str,
) -> Result<(crate::files::FileInfo, Option<std::fs::File>)> {
    use crate::files::{FileInfo, FileKind};
    let f = file_pull(ctx, name, path)?;
    let kind = FileKind::parse(&f.info.kind)?;
    let mut info = FileInfo {
        kind,
        uid: f.info.uid,
        gid: f.info.gid,
        mode: f.info.mode,
        size: f.content.len() as u64,
        entries: vec![],
        target: String::new(),
    };
    match kind {
        FileKind::Directory => info.entries = f.info.entries,
        FileKind::Symlink => info.target = f.info.entries.into_iter().next().unwrap_or_default(),
        FileKind::File => {
            use std::io::{Seek, Write};
            let dir = ctx.instance_run_dir(name);
            let tmp = dir.join(format!(".pull-{}", uuid::Uuid::new_v4()));
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            let _ = std::fs::remove_file(&tmp);
            file.write_all(&f.content)?;
            file.rewind()?;
            return Ok((info, Some(file)));
        }
    }
    Ok((info, None))
}

/// `files::put` of a VM: regular files only (through the agent).
pub(crate) fn file_put(
    ctx: &Context,
    name: &str,
    path: &str,
    put: &crate::files::FilePut,
    input: &mut dyn std::io::Read,
) -> Result<()> {
    if put.kind != crate::files::FileKind::File || put.append || put.make_parents {
        return Err(Error::unsupported(
            "Only whole regular files can be pushed into virtual machines yet",
        ));
    }
    let mut data = Vec::new();
    input.read_to_end(&mut data)?;
    file_push(ctx, name, path, &data, put.mode, put.uid, put.gid)
}

fn running(ctx: &Context, name: &str) -> Result<()> {
    let row = instance::get_row(ctx, name)?;
    if !is_vm(&row) {
        return Err(Error::invalid(format!("{name} is not a virtual machine")));
    }
    if instance::status(ctx, name) != incus_api::StatusCode::Running {
        return Err(Error::invalid("Instance is not running"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_and_memory_limits() {
        let mut c = Config::new();
        assert_eq!(cpus_of(&c).unwrap(), 1);
        assert_eq!(memory_of(&c).unwrap(), 1 << 30);
        c.insert("limits.cpu".into(), "2".into());
        c.insert("limits.memory".into(), "512MiB".into());
        assert_eq!(cpus_of(&c).unwrap(), 2);
        assert_eq!(memory_of(&c).unwrap(), 512 << 20);
        c.insert("limits.cpu".into(), "0-1,3".into());
        assert_eq!(cpus_of(&c).unwrap(), 3);
        for bad in ["0", "x", "3-1"] {
            c.insert("limits.cpu".into(), bad.into());
            assert!(cpus_of(&c).is_err(), "{bad}");
        }
        c.insert("limits.memory".into(), "1MiB".into());
        assert!(memory_of(&c).is_err());
    }
}
