//! Device validation, as upstream: a `type` and the keys that type knows.

use crate::{Error, Result};
use incus_api::{Config, Devices};

fn allowed(dtype: &str, key: &str) -> bool {
    let common = matches!(key, "type" | "required" | "boot.priority") || key.starts_with("user.");
    common
        || match dtype {
            "disk" => {
                matches!(
                    key,
                    "path"
                        | "source"
                        | "pool"
                        | "readonly"
                        | "size"
                        | "size.state"
                        | "recursive"
                        | "propagation"
                        | "shift"
                        | "raw.mount.options"
                        | "ceph.cluster_name"
                        | "ceph.user_name"
                        | "io.cache"
                        | "io.bus"
                        | "initial.size"
                ) || key.starts_with("limits.")
            }
            "nic" => {
                matches!(
                    key,
                    "nictype"
                        | "network"
                        | "parent"
                        | "name"
                        | "hwaddr"
                        | "host_name"
                        | "mtu"
                        | "vlan"
                        | "ipv4.address"
                        | "ipv6.address"
                        | "ipv4.routes"
                        | "ipv6.routes"
                        | "ipv4.routes.external"
                        | "ipv6.routes.external"
                        | "queue.tx.length"
                        | "mode"
                ) || key.starts_with("security.")
                    || key.starts_with("limits.")
            }
            "unix-char" | "unix-block" => matches!(
                key,
                "source" | "path" | "major" | "minor" | "uid" | "gid" | "mode"
            ),
            "unix-hotplug" => matches!(key, "vendorid" | "productid" | "uid" | "gid" | "mode"),
            "none" => false,
            "proxy" => matches!(
                key,
                "listen"
                    | "connect"
                    | "bind"
                    | "nat"
                    | "proxy_protocol"
                    | "uid"
                    | "gid"
                    | "mode"
                    | "security.uid"
                    | "security.gid"
            ),
            "gpu" | "usb" | "infiniband" | "pci" | "tpm" => true,
            _ => false,
        }
}

const TYPES: &[&str] = &[
    "disk",
    "nic",
    "unix-char",
    "unix-block",
    "unix-hotplug",
    "none",
    "proxy",
    "gpu",
    "usb",
    "infiniband",
    "pci",
    "tpm",
];

/// Validates one device.
pub fn validate_device(name: &str, dev: &Config) -> Result<()> {
    crate::names::validate_object_name("device", name)?;
    let dtype = dev
        .get("type")
        .ok_or_else(|| Error::invalid(format!("Device \"{name}\" has no type")))?;
    if !TYPES.contains(&dtype.as_str()) {
        return Err(Error::invalid(format!(
            "Device \"{name}\": invalid device type \"{dtype}\""
        )));
    }
    for key in dev.keys() {
        if !allowed(dtype, key) {
            return Err(Error::invalid(format!(
                "Device \"{name}\" (type {dtype}): invalid key \"{key}\""
            )));
        }
    }
    match dtype.as_str() {
        "disk" => {
            let path = dev.get("path").map(String::as_str).unwrap_or("");
            if path.is_empty() {
                return Err(Error::invalid(format!(
                    "Device \"{name}\": disk devices need a \"path\""
                )));
            }
            if path != "/" && !dev.contains_key("source") {
                return Err(Error::invalid(format!(
                    "Device \"{name}\": disk devices other than the root disk need a \"source\""
                )));
            }
            if path == "/" && dev.contains_key("source") {
                return Err(Error::invalid(format!(
                    "Device \"{name}\": the root disk cannot have a \"source\""
                )));
            }
            for k in ["readonly", "shift"] {
                if let Some(v) = dev.get(k) {
                    incus_api::keys::parse_bool(v).ok_or_else(|| {
                        Error::invalid(format!("Device \"{name}\": {k} must be a boolean"))
                    })?;
                }
            }
            if dev.contains_key("shift") && dev.contains_key("pool") {
                return Err(Error::invalid(format!(
                    "Device \"{name}\": the \"shift\" property cannot be used with custom storage \
                     volumes (they are always mapped to the instance)"
                )));
            }
        }
        "unix-char" | "unix-block" => {
            if !dev.contains_key("source") && !dev.contains_key("path") {
                return Err(Error::invalid(format!(
                    "Device \"{name}\": {dtype} devices need a \"source\" or a \"path\""
                )));
            }
            for k in ["major", "minor", "uid", "gid"] {
                if let Some(v) = dev.get(k) {
                    v.parse::<u32>().map_err(|_| {
                        Error::invalid(format!("Device \"{name}\": {k} must be a number"))
                    })?;
                }
            }
        }
        "nic" if !dev.contains_key("nictype") && !dev.contains_key("network") => {
            return Err(Error::invalid(format!(
                "Device \"{name}\": nic devices need a \"nictype\" or a \"network\""
            )));
        }
        "nic" => validate_nic(name, dev)?,
        _ => {}
    }
    Ok(())
}

/// The NIC keys whose values reach `ip` command lines, dnsmasq host files and nft
/// rules: interface names, MAC, addresses, MTU (as upstream's `nic_bridged` rules).
fn validate_nic(name: &str, dev: &Config) -> Result<()> {
    let ctx = |e: Error| Error::invalid(format!("Device \"{name}\": {}", e.message));
    for k in ["host_name", "parent", "name"] {
        if let Some(v) = dev.get(k) {
            crate::names::validate_interface_name(k, v).map_err(ctx)?;
        }
    }
    if let Some(v) = dev.get("hwaddr") {
        crate::names::validate_mac("hwaddr", v).map_err(ctx)?;
    }
    if let Some(v) = dev.get("network") {
        crate::names::validate_object_name("network", v).map_err(ctx)?;
    }
    if let Some(v) = dev.get("ipv4.address") {
        if v.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(Error::invalid(format!(
                "Device \"{name}\": invalid ipv4.address \"{}\"",
                v.escape_debug()
            )));
        }
    }
    if let Some(v) = dev.get("ipv6.address") {
        if v.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(Error::invalid(format!(
                "Device \"{name}\": invalid ipv6.address \"{}\"",
                v.escape_debug()
            )));
        }
    }
    if let Some(v) = dev.get("mtu") {
        if !v.parse::<u32>().is_ok_and(|m| (68..=65535).contains(&m)) {
            return Err(Error::invalid(format!(
                "Device \"{name}\": mtu must be a number between 68 and 65535"
            )));
        }
    }
    if let Some(v) = dev.get("vlan") {
        if !v.parse::<u16>().is_ok_and(|m| (1..=4094).contains(&m)) {
            return Err(Error::invalid(format!(
                "Device \"{name}\": vlan must be a number between 1 and 4094"
            )));
        }
    }
    Ok(())
}

/// Validates every device of a set; at most one root disk.
pub fn validate_devices(devices: &Devices) -> Result<()> {
    let mut roots = 0;
    for (name, dev) in devices {
        validate_device(name, dev)?;
        if dev.get("type").map(String::as_str) == Some("disk")
            && dev.get("path").map(String::as_str) == Some("/")
        {
            roots += 1;
        }
    }
    if roots > 1 {
        return Err(Error::invalid("More than one root disk device"));
    }
    Ok(())
}

/// The root disk of an expanded device set: (device name, config).
pub fn root_disk(devices: &Devices) -> Option<(&String, &Config)> {
    devices.iter().find(|(_, d)| {
        d.get("type").map(String::as_str) == Some("disk")
            && d.get("path").map(String::as_str) == Some("/")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(pairs: &[(&str, &str)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn device_rules() {
        validate_device(
            "root",
            &dev(&[("type", "disk"), ("path", "/"), ("pool", "default")]),
        )
        .unwrap();
        validate_device(
            "data",
            &dev(&[("type", "disk"), ("path", "/mnt"), ("source", "/srv")]),
        )
        .unwrap();
        assert!(validate_device("data", &dev(&[("type", "disk"), ("path", "/mnt")])).is_err());
        assert!(validate_device("x", &dev(&[("type", "bogus")])).is_err());
        assert!(validate_device("x", &dev(&[("type", "none"), ("path", "/")])).is_err());
        assert!(validate_device("x", &dev(&[("path", "/")])).is_err());
        assert!(validate_device(
            "eth0",
            &dev(&[("type", "nic"), ("nictype", "bridged"), ("parent", "br0")])
        )
        .is_ok());
        assert!(validate_device(
            "d",
            &dev(&[
                ("type", "unix-char"),
                ("source", "/dev/null"),
                ("major", "x")
            ])
        )
        .is_err());
    }
}
