//! The host bridge: `ip` for changes, `/sys/class/net` for reads.

use super::addr::Cidr;
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
