//! Virtual machines: QEMU started and supervised by the per-instance monitor
//! (`incus-monitor --qemu RUN_DIR STATUS_FD`), driven over QMP, reached inside through
//! `incus-agent` on a virtio-serial port (docs/vm.md).
//!
//! The run directory holds `vm.json` (the [`VmSpec`]; its presence is what makes a run
//! directory a VM's), `state.json` and `lifetime.lock` exactly as for containers (the
//! running record's "init" is QEMU), `qmp.sock`, `agent.sock` and `agent.lock`.

mod agent;
mod monitor;
mod qmp;

pub use agent::{exec, file_pull, file_push, guest_state, guest_state_now, AgentFile};
pub use monitor::monitor_main;

use crate::kernel::{now_unix, pidfd_send_signal, sys_err, wait_readable, write_atomic};
use crate::spec::{ExitKind, ExitRecord, Started, Status};
use crate::state::{self, RunRecord, State};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) const VM_SPEC: &str = "vm.json";
pub(crate) const QMP_SOCK: &str = "qmp.sock";
pub(crate) const AGENT_SOCK: &str = "agent.sock";
pub(crate) const PAUSED: &str = "paused";

/// A NIC of a VM: a tap device QEMU creates, joined to `bridge`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VmNic {
    /// Device name (`eth0`), for the record.
    pub name: String,
    /// Host tap name (carries the installation prefix).
    pub host_name: String,
    /// Bridge the tap joins.
    pub bridge: String,
    /// MAC address of the guest's interface.
    pub hwaddr: String,
    /// MTU of the tap.
    #[serde(default)]
    pub mtu: Option<u32>,
}

/// Everything the monitor needs to start a VM (core decides it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VmSpec {
    /// Instance name (QEMU's `-name`).
    pub name: String,
    /// `volatile.uuid` (QEMU's `-uuid`, so the guest's product_uuid).
    pub uuid: String,
    /// Run directory (sockets, state).
    pub run_dir: PathBuf,
    /// Log directory (`qemu.log`, `console.log`, `monitor.log`).
    pub log_dir: PathBuf,
    /// The root disk (raw).
    pub root_disk: PathBuf,
    /// Direct kernel boot: kernel, initrd and command line. `None`: UEFI firmware.
    pub kernel: Option<PathBuf>,
    /// Initrd of the direct boot.
    pub initrd: Option<PathBuf>,
    /// Kernel command line of the direct boot.
    #[serde(default)]
    pub cmdline: String,
    /// UEFI code and variables (OVMF) when there is no kernel.
    #[serde(default)]
    pub firmware: Option<(PathBuf, PathBuf)>,
    /// vCPUs (`limits.cpu`).
    pub cpus: u32,
    /// Memory in bytes (`limits.memory`).
    pub memory: u64,
    /// `kvm` or `tcg`.
    pub accel: String,
    /// NICs.
    pub nics: Vec<VmNic>,
}

/// Whether a run directory belongs to a VM.
pub fn is_vm(run_dir: &Path) -> bool {
    run_dir.join(VM_SPEC).exists()
}

pub(crate) fn read_spec(run_dir: &Path) -> Result<VmSpec> {
    let p = run_dir.join(VM_SPEC);
    let s = fs::read(&p).map_err(|e| Error::io(&p, e))?;
    serde_json::from_slice(&s).map_err(|e| Error::State {
        path: p,
        msg: e.to_string(),
    })
}

/// The QEMU binary (`INCUS_QEMU_BIN` overrides).
pub fn qemu_bin() -> PathBuf {
    std::env::var_os("INCUS_QEMU_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("qemu-system-x86_64"))
}

/// Whether KVM runs a guest here: QEMU with `accel=kvm`, paused, is told over QMP (on
/// its stdin) to run its firmware for a moment and then to quit. On this host class
/// QEMU aborts at the first vCPU start (an MSR KVM refuses); that reads as no KVM.
pub fn probe_kvm() -> bool {
    use std::io::Write;
    use std::process::{Command, Stdio};
    if fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        return false;
    }
    let Ok(mut child) = Command::new(qemu_bin())
        .args([
            "-machine",
            "q35,accel=kvm",
            "-cpu",
            "host",
            "-m",
            "64",
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-S",
            "-qmp",
            "stdio",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let mut stdin = child.stdin.take();
    if let Some(i) = stdin.as_mut() {
        let _ = i.write_all(b"{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"cont\"}\n");
    }
    let deadline = std::time::Instant::now() + Duration::from_millis(1500);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false; // died while running the guest
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some(i) = stdin.as_mut() {
        let _ = i.write_all(b"{\"execute\":\"quit\"}\n");
    }
    drop(stdin);
    let ok = matches!(child.try_wait(), Ok(None) | Ok(Some(_)));
    let _ = child.kill();
    let _ = child.wait();
    ok
}

/// The QEMU command line of a spec.
pub(crate) fn qemu_args(spec: &VmSpec) -> Vec<String> {
    let run = |f: &str| spec.run_dir.join(f).to_string_lossy().into_owned();
    let mut a: Vec<String> = vec![
        "-name".into(),
        spec.name.clone(),
        "-machine".into(),
        format!("q35,accel={}", spec.accel),
        "-cpu".into(),
        if spec.accel == "kvm" { "host" } else { "max" }.into(),
        "-smp".into(),
        spec.cpus.max(1).to_string(),
        "-m".into(),
        format!("{}M", (spec.memory >> 20).max(64)),
        "-nodefaults".into(),
        "-no-user-config".into(),
        "-display".into(),
        "none".into(),
        "-no-reboot".into(),
        "-smbios".into(),
        "type=1,manufacturer=Linux Containers,product=Incus".into(),
        "-chardev".into(),
        format!("socket,id=qmp,path={},server=on,wait=off", run(QMP_SOCK)),
        "-mon".into(),
        "chardev=qmp,mode=control".into(),
        "-chardev".into(),
        format!(
            "file,id=console,path={}",
            spec.log_dir.join("console.log").display()
        ),
        "-serial".into(),
        "chardev:console".into(),
        "-device".into(),
        "virtio-serial-pci,id=vserial".into(),
        "-chardev".into(),
        format!(
            "socket,id=agent,path={},server=on,wait=off",
            run(AGENT_SOCK)
        ),
        "-device".into(),
        format!(
            "virtserialport,chardev=agent,name={}",
            incus_api::agent::PORT_NAME
        ),
        "-drive".into(),
        format!(
            "file={},format=raw,if=none,id=root,discard=unmap",
            spec.root_disk.display()
        ),
        "-device".into(),
        "virtio-blk-pci,drive=root".into(),
    ];
    if !spec.uuid.is_empty() {
        a.extend(["-uuid".into(), spec.uuid.clone()]);
    }
    match (&spec.kernel, &spec.firmware) {
        (Some(k), _) => {
            a.extend(["-kernel".into(), k.to_string_lossy().into_owned()]);
            if let Some(i) = &spec.initrd {
                a.extend(["-initrd".into(), i.to_string_lossy().into_owned()]);
            }
            a.extend(["-append".into(), spec.cmdline.clone()]);
        }
        (None, Some((code, vars))) => {
            a.extend([
                "-drive".into(),
                format!(
                    "if=pflash,format=raw,unit=0,readonly=on,file={}",
                    code.display()
                ),
                "-drive".into(),
                format!("if=pflash,format=raw,unit=1,file={}", vars.display()),
            ]);
        }
        (None, None) => {}
    }
    for (i, n) in spec.nics.iter().enumerate() {
        a.extend([
            "-netdev".into(),
            format!(
                "tap,id=net{i},ifname={},script=no,downscript=no",
                n.host_name
            ),
            "-device".into(),
            format!("virtio-net-pci,netdev=net{i},mac={}", n.hwaddr),
        ]);
    }
    a
}

/// Start the VM: writes `vm.json`, spawns the monitor, returns once QEMU runs and its
/// QMP socket answers. Refuses when already running; cleans a dead run first.
pub fn start(spec: &VmSpec) -> Result<Started> {
    let run_dir = &spec.run_dir;
    fs::create_dir_all(run_dir).map_err(|e| Error::io(run_dir, e))?;
    fs::create_dir_all(&spec.log_dir).map_err(|e| Error::io(&spec.log_dir, e))?;
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&spec.log_dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(&spec.log_dir, e))?;
    }
    match crate::status(run_dir) {
        Status::Stopped { .. } => {}
        Status::Orphaned { .. } => {
            repair(run_dir)?;
        }
        _ => return Err(Error::AlreadyRunning),
    }
    // A container of the same name ran here before: its spec is not ours.
    let _ = fs::remove_file(run_dir.join(state::SPEC));
    let _ = fs::remove_file(run_dir.join(PAUSED));
    let data = serde_json::to_vec_pretty(spec).map_err(|e| Error::Invalid(e.to_string()))?;
    write_atomic(&run_dir.join(VM_SPEC), &data)?;
    let (r, w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| sys_err("pipe", e))?;
    let wfd = w.as_raw_fd();
    let mut cmd = std::process::Command::new(crate::ops::monitor_bin());
    cmd.arg("--qemu")
        .arg(run_dir)
        .arg("3")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: dup2 is async-signal-safe; the status pipe becomes the monitor's fd 3.
    unsafe {
        cmd.pre_exec(move || {
            if libc::dup2(wfd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| {
        Error::Start(format!(
            "spawning {}: {e}",
            crate::ops::monitor_bin().display()
        ))
    })?;
    drop(w);
    let mut msg = String::new();
    let _ = fs::File::from(r).read_to_string(&mut msg);
    let _ = child.wait();
    if let Some(rest) = msg.strip_prefix("OK ") {
        let mut it = rest
            .split_whitespace()
            .map(|x| x.parse::<i32>().unwrap_or(0));
        return Ok(Started {
            init_pid: it.next().unwrap_or(0),
            monitor_pid: it.next().unwrap_or(0),
        });
    }
    let msg = msg.strip_prefix("ERR ").unwrap_or(&msg).to_string();
    if msg.is_empty() {
        return Err(Error::Start(format!(
            "monitor exited without reporting (see {})",
            spec.log_dir.join("monitor.log").display()
        )));
    }
    Err(Error::Start(msg))
}

/// Stop: ACPI power button (QMP `system_powerdown`) and a wait of up to `timeout` for
/// QEMU to end; then, or at once with `force`, QEMU is killed. A dead monitor is
/// repaired here (QEMU killed, state recorded).
pub fn stop(run_dir: &Path, timeout: Duration, force: bool) -> Result<ExitRecord> {
    let st = state::read_state(run_dir)?;
    let Some(rec) = st.running else {
        return Err(Error::NotRunning);
    };
    let mon = if state::monitor_alive(run_dir) {
        state::monitor_pidfd(&rec)
    } else {
        None
    };
    let Some(mon) = mon else {
        return repair(run_dir);
    };
    let _ = fs::remove_file(run_dir.join(PAUSED));
    let mut done = false;
    if !force {
        // A paused guest cannot see the button.
        let _ = qmp::command(run_dir, "cont");
        if qmp::command(run_dir, "system_powerdown").is_ok() {
            done = wait_readable(mon.as_fd(), timeout);
        }
    }
    if !done {
        if let Some(q) = state::init_pidfd(&rec) {
            let _ = pidfd_send_signal(q.as_fd(), libc::SIGKILL);
        }
        if !wait_readable(mon.as_fd(), Duration::from_secs(10)) {
            return Err(Error::Timeout(
                "monitor did not exit after killing QEMU".into(),
            ));
        }
    }
    state::read_state(run_dir)?
        .last
        .ok_or_else(|| Error::State {
            path: run_dir.join(state::STATE),
            msg: "monitor exited without a record".into(),
        })
}

/// The monitor is gone: kill QEMU if it still runs (pidfd: never a recycled pid), record.
pub(crate) fn repair(run_dir: &Path) -> Result<ExitRecord> {
    let st = state::read_state(run_dir)?;
    let mut kind = ExitKind::MonitorLost;
    if let Some(rec) = st.running {
        if let Some(q) = state::init_pidfd(&rec) {
            pidfd_send_signal(q.as_fd(), libc::SIGKILL).map_err(|e| sys_err("kill qemu", e))?;
            if !wait_readable(q.as_fd(), Duration::from_secs(10)) {
                return Err(Error::Timeout("QEMU did not die".into()));
            }
            kind = ExitKind::Signaled {
                signal: libc::SIGKILL,
            };
        }
    }
    for f in [QMP_SOCK, AGENT_SOCK, PAUSED] {
        let _ = fs::remove_file(run_dir.join(f));
    }
    let r = ExitRecord {
        kind,
        at: now_unix(),
        repaired: true,
    };
    state::write_state(
        run_dir,
        &State {
            running: None,
            last: Some(r),
        },
    )?;
    Ok(r)
}

/// Pause (QMP `stop`); recorded by a `paused` file that the status reads.
pub fn freeze(run_dir: &Path) -> Result<()> {
    qmp::command(run_dir, "stop")?;
    write_atomic(&run_dir.join(PAUSED), b"")
}

/// Resume (QMP `cont`).
pub fn unfreeze(run_dir: &Path) -> Result<()> {
    qmp::command(run_dir, "cont")?;
    let _ = fs::remove_file(run_dir.join(PAUSED));
    Ok(())
}

/// Whether the VM of a running record is paused.
pub(crate) fn is_paused(run_dir: &Path) -> bool {
    run_dir.join(PAUSED).exists()
}

/// QMP `query-status` of a running VM (`running`, `paused`, ...).
pub fn query_status(run_dir: &Path) -> Result<String> {
    let v = qmp::command(run_dir, "query-status")?;
    Ok(v.get("status")
        .and_then(|s| s.as_str())
        .unwrap_or_default()
        .to_string())
}

pub(crate) fn record_running(run_dir: &Path, qemu_pid: i32) -> Result<RunRecord> {
    let me = std::process::id() as i32;
    let rec = RunRecord {
        init_pid: qemu_pid,
        init_start: crate::kernel::starttime(qemu_pid).unwrap_or(0),
        monitor_pid: me,
        monitor_start: crate::kernel::starttime(me).unwrap_or(0),
        stop_signal: 0,
        started_at: now_unix(),
        restarts: 0,
    };
    state::write_state(
        run_dir,
        &State {
            running: Some(rec),
            last: None,
        },
    )?;
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_has_the_smbios_agent_port_and_limits() {
        let spec = VmSpec {
            name: "v1".into(),
            uuid: "u".into(),
            run_dir: "/run/x".into(),
            log_dir: "/log/x".into(),
            root_disk: "/d/root.img".into(),
            kernel: Some("/d/boot/vmlinuz".into()),
            initrd: Some("/d/boot/initrd.img".into()),
            cmdline: "console=ttyS0".into(),
            firmware: None,
            cpus: 2,
            memory: 1 << 30,
            accel: "tcg".into(),
            nics: vec![VmNic {
                name: "eth0".into(),
                host_name: "tap1".into(),
                bridge: "br".into(),
                hwaddr: "00:16:3e:00:00:01".into(),
                mtu: None,
            }],
        };
        let a = qemu_args(&spec).join(" ");
        for want in [
            "-machine q35,accel=tcg",
            "-smp 2",
            "-m 1024M",
            "type=1,manufacturer=Linux Containers,product=Incus",
            "name=org.linuxcontainers.incus",
            "ifname=tap1,script=no",
            "mac=00:16:3e:00:00:01",
            "-kernel /d/boot/vmlinuz",
        ] {
            assert!(a.contains(want), "{want} missing in {a}");
        }
    }
}
