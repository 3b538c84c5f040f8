//! NICs: a veth pair per NIC, host side on a bridge, peer created straight in the
//! container's network namespace under its final name. Addresses come from DHCP inside.

use crate::spec::NicSpec;
use crate::sys::sys_err;
use crate::{Error, Result};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Creates the veth pair of `nic` with its peer inside the network namespace of `pid`.
/// A leftover host side (a netns still being torn down after a stop) is removed first.
pub(crate) fn attach(pid: i32, nic: &NicSpec) -> Result<()> {
    remove_host_side(&nic.host_name)?;
    let mut cmd = Command::new("ip");
    cmd.args(["link", "add", "name", &nic.host_name]);
    let mtu = nic.mtu.map(|m| m.to_string());
    if let Some(m) = &mtu {
        cmd.args(["mtu", m]);
    }
    cmd.args(["master", &nic.bridge, "up", "type", "veth", "peer", "name"]);
    cmd.arg(&nic.name);
    if !nic.hwaddr.is_empty() {
        cmd.args(["address", &nic.hwaddr]);
    }
    if let Some(m) = &mtu {
        cmd.args(["mtu", m]);
    }
    cmd.args(["netns", &pid.to_string()]);
    run(cmd)
}

/// Deletes a host-side veth (its peer goes with it); missing is fine. Waits (bounded)
/// for a veth whose namespace the kernel is still destroying.
pub(crate) fn remove_host_side(host_name: &str) -> Result<()> {
    let sys = format!("/sys/class/net/{host_name}");
    let deadline = Instant::now() + Duration::from_secs(3);
    while Path::new(&sys).exists() {
        let _ = Command::new("ip")
            .args(["link", "del", host_name])
            .stderr(std::process::Stdio::null())
            .status();
        if !Path::new(&sys).exists() {
            break;
        }
        if Instant::now() > deadline {
            return Err(Error::Invalid(format!(
                "host interface {host_name} is still in use"
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn run(mut cmd: Command) -> Result<()> {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io("ip", e))?;
    if !out.status.success() {
        return Err(Error::Invalid(format!(
            "{:?}: {}",
            cmd,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Sets an interface of the calling process's network namespace up (ioctl, no fork:
/// the container's setup calls it between clone and exec).
pub(crate) fn link_up(name: &str) -> Result<()> {
    // SAFETY: plain socket/ioctl calls on a zeroed ifreq we own.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(sys_err("socket", nix::errno::Errno::last()));
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in name.bytes().take(libc::IFNAMSIZ - 1).enumerate() {
            req.ifr_name[i] = b as libc::c_char;
        }
        let mut r = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req);
        if r == 0 {
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            r = libc::ioctl(fd, libc::SIOCSIFFLAGS, &req);
        }
        let err = nix::errno::Errno::last();
        libc::close(fd);
        if r != 0 {
            return Err(sys_err(format!("set {name} up"), err));
        }
    }
    Ok(())
}
