//! The host bridge: `ip` for changes, `/sys/class/net` for reads.

use super::addr::Cidr;
use super::addr6::Cidr6;
use super::run;
use crate::Result;
use std::path::Path;
use std::process::Command;

pub fn exists(host: &str) -> bool {
    Path::new("/sys/class/net").join(host).exists()
}

/// Creates the bridge if missing and applies MTU, MAC and the IPv4 address.
pub fn ensure(host: &str, mtu: Option<u32>, hwaddr: Option<&str>, v4: Option<&Cidr>) -> Result<()> {
    if !exists(host) {
        run(Command::new("ip").args(["link", "add", "name", host, "type", "bridge"]))?;
    }
    let mut set = Command::new("ip");
    set.args(["link", "set", "dev", host]);
    let mtu_s = mtu.unwrap_or(1500).to_string();
    set.args(["mtu", &mtu_s]);
    if let Some(mac) = hwaddr {
        set.args(["address", mac]);
    }
    set.arg("up");
    run(&mut set)?;
    run(Command::new("ip").args(["-4", "addr", "flush", "dev", host]))?;
    if let Some(c) = v4 {
        run(Command::new("ip").args(["-4", "addr", "add", &c.to_string(), "dev", host]))?;
    }
    Ok(())
}

/// Sets a per-bridge IPv6 sysctl (only ever on our own bridge).
fn sysctl6(host: &str, key: &str, value: &str) -> Result<()> {
    std::fs::write(format!("/proc/sys/net/ipv6/conf/{host}/{key}"), value).map_err(|e| {
        crate::Error::unsupported(format!("Cannot set net.ipv6.conf.{host}.{key}: {e}"))
    })
}

/// The bridge's IPv6 address, as upstream: IPv6 on, no SLAAC or DAD of its own (it is
/// the router), the global address replaced. `None` removes global addresses.
pub fn ensure_v6(host: &str, v6: Option<&Cidr6>) -> Result<()> {
    if v6.is_some() {
        sysctl6(host, "disable_ipv6", "0")?;
        sysctl6(host, "autoconf", "0")?;
        sysctl6(host, "accept_dad", "0")?;
        sysctl6(host, "accept_ra", "0")?;
    }
    if std::path::Path::new("/proc/sys/net/ipv6/conf")
        .join(host)
        .exists()
    {
        run(Command::new("ip").args(["-6", "addr", "flush", "dev", host, "scope", "global"]))?;
    }
    if let Some(c) = v6 {
        run(Command::new("ip").args(["-6", "addr", "add", &c.to_string(), "dev", host, "nodad"]))?;
    }
    Ok(())
}

/// Turns on host-wide IPv6 forwarding as upstream does for `ipv6.routing`, unless
/// the host holds routes learned from router advertisements (RTF_ADDRCONF or
/// RTF_DEFAULT in `/proc/net/ipv6_route`): with forwarding on the kernel ignores
/// RAs and those routes would expire. Upstream then rewrites accept_ra to 2 on such
/// interfaces; we leave the host alone and say why.
pub fn enable_v6_forwarding() -> std::result::Result<(), String> {
    let all = "/proc/sys/net/ipv6/conf/all/forwarding";
    if std::fs::read_to_string(all).is_ok_and(|v| v.trim() == "1") {
        return Ok(());
    }
    let routes = std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    let ra: Vec<&str> = routes
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let flags = u32::from_str_radix(f.get(8)?, 16).ok()?;
            (flags & (0x4_0000 | 0x1_0000) != 0).then(|| *f.get(9).unwrap_or(&"?"))
        })
        .collect();
    if !ra.is_empty() {
        return Err(format!(
            "IPv6 forwarding left off: routes learned from router advertisements on {}",
            ra.join(", ")
        ));
    }
    std::fs::write(all, "1").map_err(|e| e.to_string())
}

/// Deletes the bridge; missing is fine.
pub fn remove(host: &str) -> Result<()> {
    if exists(host) {
        run(Command::new("ip").args(["link", "del", "dev", host]))?;
    }
    Ok(())
}

fn read(host: &str, file: &str) -> String {
    std::fs::read_to_string(Path::new("/sys/class/net").join(host).join(file))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// A sysfs attribute or counter of an interface.
pub fn attr(host: &str, file: &str) -> String {
    read(host, file)
}

/// A statistics counter (`rx_bytes`, ...).
pub fn counter(host: &str, name: &str) -> i64 {
    read(host, &format!("statistics/{name}"))
        .parse()
        .unwrap_or(0)
}
