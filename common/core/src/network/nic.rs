//! Instance NICs: resolving NIC devices against their networks, dnsmasq host
//! entries, hot-plug, and the network state of a running instance.

use crate::{Context, Error, Result};
use incus_api::{
    Config, Devices, InstanceStateNetwork, InstanceStateNetworkAddress,
    InstanceStateNetworkCounters,
};
use incus_db::NETWORK_CREATED;
use incus_runtime::NicSpec;

use super::crud::load;
use super::host::ensure_up;
use super::validate::{mtu, v4};
use super::{addr, addr6, bridge, dnsmasq, host_bridge, paths, short_hash};

/// A NIC device of an instance, resolved against its network.
struct ResolvedNic {
    device: String,
    spec: NicSpec,
    network: Option<String>,
    ipv4: Option<String>,
}

fn generate_mac() -> String {
    let b = uuid::Uuid::new_v4();
    let b = b.as_bytes();
    format!("00:16:3e:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
}

/// Resolves the NIC devices of an instance: bridge, names, MAC (from volatile, or
/// generated), MTU. Returns the volatile keys to record.
fn resolve_nics(
    ctx: &Context,
    instance: &str,
    config: &Config,
    devices: &Devices,
) -> Result<(Vec<ResolvedNic>, Config)> {
    let mut nics = Vec::new();
    let mut volatile = Config::new();
    for (dev, d) in devices {
        if d.get("type").map(String::as_str) != Some("nic") {
            continue;
        }
        // Values read back from the database are checked again before they reach
        // `ip`, dnsmasq or nft (a tampered row is refused, not used).
        crate::devices::validate_device(dev, d)?;
        let (bridge, network, net_mtu) = match (d.get("network"), d.get("nictype")) {
            (Some(net), _) => {
                let row = load(ctx, net)
                    .map_err(|e| Error::invalid(format!("Device \"{dev}\": {}", e.message)))?;
                if let (Some(ip), Some(c)) = (d.get("ipv4.address"), v4(&row.config)) {
                    let inside = ip
                        .parse::<std::net::Ipv4Addr>()
                        .is_ok_and(|a| c.contains(a) && a != c.addr);
                    if !inside {
                        return Err(Error::invalid(format!(
                            "Device \"{dev}\": ipv4.address {ip} is not a host address of {} ({net})",
                            c.subnet_string()
                        )));
                    }
                }
                (host_bridge(ctx, net), Some(net.clone()), mtu(&row.config))
            }
            (None, Some(t)) if t == "bridged" => {
                let parent = d.get("parent").ok_or_else(|| {
                    Error::invalid(format!("Device \"{dev}\": bridged NICs need a \"parent\""))
                })?;
                // A managed network's name works as parent too (its bridge is prefixed).
                let project = ctx.project.clone();
                let managed = ctx
                    .db()?
                    .read(|tx| incus_db::network_get(tx, &project, parent))?
                    .filter(|r| r.state == NETWORK_CREATED);
                match managed {
                    Some(r) => (host_bridge(ctx, parent), Some(r.name), mtu(&r.config)),
                    None => (parent.clone(), None, None),
                }
            }
            (None, Some(t)) => {
                return Err(Error::unsupported(format!(
                    "Device \"{dev}\": nictype \"{t}\" is not supported yet (only bridged)"
                )))
            }
            (None, None) => {
                return Err(Error::invalid(format!(
                    "Device \"{dev}\": nic devices need a \"nictype\" or a \"network\""
                )))
            }
        };
        let hw_key = format!("volatile.{dev}.hwaddr");
        let hwaddr = match d.get("hwaddr").or_else(|| config.get(&hw_key)) {
            Some(m) => m.clone(),
            None => {
                let m = generate_mac();
                volatile.insert(hw_key, m.clone());
                m
            }
        };
        let hn_key = format!("volatile.{dev}.host_name");
        let host_name = match d.get("host_name") {
            Some(h) => h.clone(),
            None => {
                let h = format!(
                    "{}{}",
                    ctx.prefix,
                    short_hash(
                        &[&ctx.host_name(instance), dev],
                        15 - ctx.prefix.len().min(9)
                    )
                );
                if config.get(&hn_key) != Some(&h) {
                    volatile.insert(hn_key, h.clone());
                }
                h
            }
        };
        let nic_mtu =
            match d.get("mtu") {
                Some(m) => Some(m.parse::<u32>().map_err(|_| {
                    Error::invalid(format!("Device \"{dev}\": mtu must be a number"))
                })?),
                None => net_mtu,
            };
        if let Some(ip) = d.get("ipv4.address") {
            ip.parse::<std::net::Ipv4Addr>().map_err(|_| {
                Error::invalid(format!("Device \"{dev}\": invalid ipv4.address \"{ip}\""))
            })?;
        }
        crate::names::validate_mac(&format!("hwaddr of device {dev}"), &hwaddr)?;
        crate::names::validate_interface_name(&format!("host_name of device {dev}"), &host_name)?;
        let inside = d.get("name").cloned().unwrap_or_else(|| dev.clone());
        crate::names::validate_interface_name(&format!("interface name of device {dev}"), &inside)?;
        crate::names::validate_interface_name(&format!("bridge of device {dev}"), &bridge)?;
        nics.push(ResolvedNic {
            device: dev.clone(),
            spec: NicSpec {
                name: inside,
                host_name,
                bridge,
                hwaddr,
                mtu: nic_mtu,
            },
            network,
            ipv4: d.get("ipv4.address").cloned(),
        });
    }
    Ok((nics, volatile))
}

/// Writes the dnsmasq host entry of a NIC (static address, name for DNS) and
/// reloads that network's dnsmasq.
fn write_host_entry(ctx: &Context, instance: &str, nic: &ResolvedNic) -> Result<()> {
    let Some(net) = &nic.network else {
        return Ok(());
    };
    // The name goes into the hosts file (and names the file): checked like the rest.
    crate::names::validate_instance_name(instance)?;
    crate::names::validate_object_name("device", &nic.device)?;
    let row = load(ctx, net)?;
    let p = paths(ctx, net);
    let managed_dns = row
        .config
        .get("dns.mode")
        .map(String::as_str)
        .unwrap_or("managed")
        == "managed";
    let line = dnsmasq::host_line(
        &nic.spec.hwaddr,
        nic.ipv4.as_deref(),
        // Outside `default` no DNS name: two projects may both have the name.
        (managed_dns && ctx.project == "default").then_some(instance),
    );
    let file = p
        .hosts()
        .join(format!("{}.{}", ctx.host_name(instance), nic.device));
    if std::fs::read_to_string(&file).ok().as_deref() != Some(line.as_str()) {
        std::fs::create_dir_all(p.hosts())?;
        incus_sys::fsutil::atomic_write(&file, line.as_bytes(), 0o644)?;
        dnsmasq::reload(&p);
    }
    Ok(())
}

/// For `start`: brings each used network up, writes host entries, and returns the
/// runtime NICs plus volatile keys (generated MACs and veth names) to record.
pub fn prepare_nics(
    ctx: &Context,
    instance: &str,
    config: &Config,
    devices: &Devices,
) -> Result<(Vec<NicSpec>, Config)> {
    let (nics, volatile) = resolve_nics(ctx, instance, config, devices)?;
    for n in &nics {
        if let Some(net) = &n.network {
            ensure_up(ctx, net)?;
        }
        if !bridge::exists(&n.spec.bridge) {
            return Err(Error::invalid(format!(
                "Device \"{}\": parent bridge \"{}\" does not exist",
                n.device, n.spec.bridge
            )));
        }
        write_host_entry(ctx, instance, n)?;
    }
    Ok((nics.into_iter().map(|n| n.spec).collect(), volatile))
}

/// Checks the NICs of an expanded device set (networks exist, nictypes known).
pub fn validate_nics(
    ctx: &Context,
    instance: &str,
    config: &Config,
    devices: &Devices,
) -> Result<()> {
    resolve_nics(ctx, instance, config, devices).map(|_| ())
}

/// Hot-plug: makes a running instance's NICs match its devices. Returns volatile
/// keys to record.
pub fn sync_running(
    ctx: &Context,
    instance: &str,
    config: &Config,
    devices: &Devices,
) -> Result<Config> {
    let run_dir = ctx.instance_run_dir(instance);
    let current = incus_runtime::nics(&run_dir).map_err(crate::convert::runtime_error)?;
    let (want, volatile) = prepare_nics(ctx, instance, config, devices)?;
    for c in &current {
        if !want.contains(c) {
            incus_runtime::hot_remove_nic(&run_dir, &c.name)
                .map_err(crate::convert::runtime_error)?;
        }
    }
    for w in &want {
        if !current.contains(w) {
            incus_runtime::hot_add_nic(&run_dir, w).map_err(crate::convert::runtime_error)?;
        }
    }
    Ok(volatile)
}

/// Drops the dnsmasq host entries of an instance (deleted or renamed).
pub fn forget_instance(ctx: &Context, instance: &str) -> Result<()> {
    let project = ctx.project.clone();
    let host = ctx.host_name(instance);
    let instance = host.as_str();
    let rows = ctx.db()?.read(|tx| incus_db::network_list(tx, &project))?;
    for r in rows {
        let p = paths(ctx, &r.name);
        let Ok(rd) = std::fs::read_dir(p.hosts()) else {
            continue;
        };
        let mut removed = false;
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.split_once('.').map(|(i, _)| i) == Some(instance) {
                let _ = std::fs::remove_file(e.path());
                removed = true;
            }
        }
        if removed {
            dnsmasq::reload(&p);
        }
    }
    Ok(())
}

/// Network state of a running instance: per interface, IPv4 and IPv6 addresses (read from
/// `/proc/PID/net/fib_trie`, `route` and `if_inet6`, no fork, no setns) and counters.
pub fn instance_network_state(
    pid: i32,
    counters: &[incus_runtime::NetCounters],
) -> std::collections::BTreeMap<String, InstanceStateNetwork> {
    let routes = addr::parse_routes(
        &incus_sys::fsutil::read_small(format!("/proc/{pid}/net/route")).unwrap_or_default(),
    );
    // An IPv4 address is listed only under a device with a route to it: with no routes
    // (a container with only lo) the local addresses are not needed.
    let fib = if routes.is_empty() {
        String::new()
    } else {
        incus_sys::fsutil::read_small(format!("/proc/{pid}/net/fib_trie")).unwrap_or_default()
    };
    let locals = addr::local_addresses(&fib);
    let inet6 = addr6::parse_if_inet6(
        &incus_sys::fsutil::read_small(format!("/proc/{pid}/net/if_inet6")).unwrap_or_default(),
    );
    let mut out = std::collections::BTreeMap::new();
    for c in counters {
        let mut addresses = Vec::new();
        if c.name == "lo" {
            addresses.push(InstanceStateNetworkAddress {
                family: "inet".into(),
                address: "127.0.0.1".into(),
                netmask: "8".into(),
                scope: "local".into(),
            });
        }
        for a in &locals {
            if let Some((_, r)) = routes
                .iter()
                .filter(|(dev, r)| dev == &c.name && r.prefix > 0 && r.contains(*a))
                .max_by_key(|(_, r)| r.prefix)
            {
                addresses.push(InstanceStateNetworkAddress {
                    family: "inet".into(),
                    address: a.to_string(),
                    netmask: r.prefix.to_string(),
                    scope: "global".into(),
                });
            }
        }
        for a in inet6.iter().filter(|a| a.device == c.name) {
            addresses.push(InstanceStateNetworkAddress {
                family: "inet6".into(),
                address: a.cidr.addr.to_string(),
                netmask: a.cidr.prefix.to_string(),
                scope: a.scope.into(),
            });
        }
        out.insert(
            c.name.clone(),
            InstanceStateNetwork {
                addresses,
                counters: InstanceStateNetworkCounters {
                    bytes_received: c.rx_bytes as i64,
                    bytes_sent: c.tx_bytes as i64,
                    packets_received: c.rx_packets as i64,
                    packets_sent: c.tx_packets as i64,
                    ..Default::default()
                },
                hwaddr: String::new(),
                host_name: String::new(),
                mtu: 0,
                state: "up".into(),
                net_type: if c.name == "lo" {
                    "loopback"
                } else {
                    "broadcast"
                }
                .into(),
            },
        );
    }
    out
}
