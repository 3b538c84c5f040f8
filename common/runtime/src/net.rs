//! NICs: a veth pair per NIC, host side on a bridge, peer created straight in the
//! container's network namespace under its final name. Addresses come from DHCP inside.

use crate::kernel::sys_err;
use crate::spec::NicSpec;
use crate::{Error, Result};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The alias a host-side veth of this runtime carries: which installation and
/// instance made it. Only an interface with exactly this alias is ever deleted, so a
/// `host_name` naming a host interface (`eth0`, another installation's veth) is
/// refused instead of removed.
pub(crate) fn owner_alias(host_prefix: &str, instance: &str) -> String {
    format!("{host_prefix}:{instance}")
}

fn check_names(nic: &NicSpec) -> Result<()> {
    use incus_sys::netdev::{is_interface_name, is_mac};
    for (what, v) in [
        ("host_name", &nic.host_name),
        ("name", &nic.name),
        ("bridge", &nic.bridge),
    ] {
        if !is_interface_name(v) {
            return Err(Error::Invalid(format!(
                "invalid NIC {what} \"{}\" (not an interface name)",
                v.escape_debug()
            )));
        }
    }
    if !nic.hwaddr.is_empty() && !is_mac(&nic.hwaddr) {
        return Err(Error::Invalid(format!(
            "invalid NIC hwaddr \"{}\"",
            nic.hwaddr.escape_debug()
        )));
    }
    Ok(())
}

/// Creates the veth pair of `nic` with its peer inside the network namespace of `pid`,
/// marked with `owner` (see [`owner_alias`]). A leftover host side of this same
/// instance (a netns still being torn down after a stop) is removed first; any other
/// interface of that name is left alone and the start is refused.
pub(crate) fn attach(pid: i32, nic: &NicSpec, owner: &str) -> Result<()> {
    check_names(nic)?;
    remove_host_side(&nic.host_name, owner)?;
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
    run(cmd)?;
    // `ip link add` ignores `alias`: set it on the interface we just made (ours, so
    // removing it on failure is safe), through sysfs (no second `ip`).
    let alias = Path::new("/sys/class/net")
        .join(&nic.host_name)
        .join("ifalias");
    if let Err(e) = std::fs::write(&alias, owner) {
        let _ = Command::new("ip")
            .args(["link", "del", &nic.host_name])
            .stderr(std::process::Stdio::null())
            .status();
        return Err(Error::io(alias, e));
    }
    Ok(())
}

/// Deletes a host-side veth of `owner` (its peer goes with it); missing is fine.
/// Waits (bounded) for a veth whose namespace the kernel is still destroying. An
/// interface of that name that `owner` did not make is never deleted: an error.
pub(crate) fn remove_host_side(host_name: &str, owner: &str) -> Result<()> {
    if !incus_sys::netdev::is_interface_name(host_name) {
        return Err(Error::Invalid(format!(
            "invalid host interface name \"{}\"",
            host_name.escape_debug()
        )));
    }
    let sys = format!("/sys/class/net/{host_name}");
    let deadline = Instant::now() + Duration::from_secs(3);
    while Path::new(&sys).exists() {
        if incus_sys::netdev::interface_alias(host_name) != owner {
            if !Path::new(&sys).exists() {
                break;
            }
            return Err(Error::Invalid(format!(
                "host interface {host_name} already exists and was not created for this instance (refusing to use or delete it)"
            )));
        }
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
