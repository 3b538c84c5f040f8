//! Managed networks (type `bridge`): a host bridge with dnsmasq for DHCP and DNS and
//! an nftables table for NAT, and the NICs of instances on them.
//!
//! Host-visible names carry the installation prefix: the bridge of network `N` is `N`
//! itself for the default installation (as upstream) and `<prefix>n<hash>` for any
//! other, the nft table is `inet <prefix>_<bridge>`, and generated veths are
//! `<prefix><hash>`, so two installations (tests run many at once) never collide.

pub mod addr;
pub mod addr6;
mod bridge;
mod dnsmasq;
mod nft;

use crate::{events, Context, Error, Result};
use addr::Cidr;
use addr6::Cidr6;
use incus_api::{
    keys, Config, Devices, InstanceStateNetwork, InstanceStateNetworkAddress,
    InstanceStateNetworkCounters, Network, NetworkLease, NetworkPut, NetworkState,
    NetworkStateCounters,
};
use incus_db::{NetworkRow, NETWORK_CREATED, NETWORK_PENDING};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::process::Command;

pub use incus_runtime::NicSpec;

/// Runs a host command; its stderr becomes the error.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::unsupported(format!("Cannot run {:?}: {e}", cmd.get_program())))?;
    if !out.status.success() {
        return Err(Error::internal(format!(
            "{} {}: {}",
            cmd.get_program().to_string_lossy(),
            cmd.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn short_hash(parts: &[&str], n: usize) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())[..n].to_string()
}

/// The host bridge of a network.
pub fn host_bridge(ctx: &Context, name: &str) -> String {
    if ctx.prefix == "incus" {
        name.to_string()
    } else {
        format!("{}n{}", ctx.prefix, short_hash(&[name], 6))
    }
}

fn table_name(ctx: &Context, name: &str) -> String {
    format!("{}_{}", ctx.prefix, host_bridge(ctx, name))
}

fn paths(ctx: &Context, name: &str) -> dnsmasq::Paths {
    dnsmasq::Paths {
        dir: ctx.incus_dir.join("networks").join(name),
        pid: ctx.run_dir.join("networks").join(name).join("dnsmasq.pid"),
        log: ctx.log_dir.join(format!("dnsmasq.{name}.log")),
    }
}

/// Network names become interface names: 1-15 characters, letters, digits, `-`,
/// `_`, `.`, starting with a letter.
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::invalid(format!(
            "Invalid network name \"{}\": {why}",
            name.escape_debug()
        )))
    };
    if name.is_empty() {
        return bad("name is empty");
    }
    if name.len() > 15 {
        return bad("name is longer than 15 characters (interface names are limited)");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return bad("name must start with a letter");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return bad("only ASCII letters, digits, '-', '_' and '.' are allowed");
    }
    Ok(())
}

fn bool_key(config: &Config, key: &str, default: bool) -> bool {
    config
        .get(key)
        .and_then(|v| keys::parse_bool(v))
        .unwrap_or(default)
}

fn v4(config: &Config) -> Option<Cidr> {
    config.get("ipv4.address").and_then(|v| Cidr::parse(v).ok())
}

fn v6(config: &Config) -> Option<Cidr6> {
    config
        .get("ipv6.address")
        .and_then(|v| Cidr6::parse(v).ok())
}

fn mtu(config: &Config) -> Option<u32> {
    config.get("bridge.mtu").and_then(|v| v.parse().ok())
}

/// Checks bridge keys and values as upstream documents them.
pub fn validate_config(config: &Config) -> Result<()> {
    for (k, v) in config {
        let bad = |why: &str| {
            Err(Error::invalid(format!(
                "Invalid value for network configuration key \"{k}\": {why}"
            )))
        };
        if k.starts_with("fan.") || (k == "bridge.mode" && v == "fan") {
            return Err(Error::invalid(format!(
                "The \"{k}\" key was removed in Incus (fan networking was removed)"
            )));
        }
        match k.as_str() {
            "bridge.mode" => {
                if v != "standard" && !v.is_empty() {
                    return bad("only \"standard\" is supported");
                }
            }
            "bridge.driver" => {
                if v != "native" && !v.is_empty() {
                    return Err(Error::unsupported(
                        "Only the native bridge driver is available (no openvswitch)",
                    ));
                }
            }
            "bridge.mtu" => match v.parse::<u32>() {
                Ok(m) if (68..=65535).contains(&m) => {}
                _ => return bad("must be a number between 68 and 65535"),
            },
            "bridge.hwaddr" => {
                if !incus_sys::netdev::is_mac(v) {
                    return bad("must be a MAC address");
                }
            }
            "ipv4.address" => {
                if v != "none" && v != "auto" {
                    let c = Cidr::parse(v)?;
                    if c.prefix > 30 || u32::from(c.addr) == c.network() {
                        return bad("needs a host address in a subnet of /30 or larger");
                    }
                }
            }
            "ipv6.address" => {
                if v != "none" && v != "auto" && !v.is_empty() {
                    let c = Cidr6::parse(v)?;
                    if c.prefix > 126 || u128::from(c.addr) == c.network() {
                        return bad("needs a host address in a prefix of /126 or larger");
                    }
                    // Router advertisements with SLAAC only work on a /64.
                    let slaac = bool_key(config, "ipv6.dhcp", true)
                        && !bool_key(config, "ipv6.dhcp.stateful", false);
                    if slaac && c.prefix != 64 {
                        return bad(
                            "SLAAC needs a /64 prefix (or set ipv6.dhcp.stateful=true or ipv6.dhcp=false)",
                        );
                    }
                }
            }
            "ipv4.nat" | "ipv4.dhcp" | "ipv4.firewall" | "ipv4.routing" | "ipv6.nat"
            | "ipv6.dhcp" | "ipv6.dhcp.stateful" | "ipv6.firewall" | "ipv6.routing" => {
                if keys::parse_bool(v).is_none() {
                    return bad("must be a boolean");
                }
            }
            "ipv6.nat.address" => {
                if v.parse::<std::net::Ipv6Addr>().is_err() {
                    return bad("must be an IPv6 address");
                }
            }
            "ipv6.dhcp.ranges" => {
                parse_ranges6(v)?;
            }
            "ipv4.nat.address" | "ipv4.dhcp.gateway" => {
                if v.parse::<std::net::Ipv4Addr>().is_err() {
                    return bad("must be an IPv4 address");
                }
            }
            "ipv4.nat.order" | "ipv6.nat.order" => {
                if v != "before" && v != "after" {
                    return bad("must be \"before\" or \"after\"");
                }
            }
            "ipv4.dhcp.ranges" => {
                parse_ranges(v)?;
            }
            "dns.mode" => {
                if !matches!(v.as_str(), "managed" | "dynamic" | "none") {
                    return bad("must be managed, dynamic or none");
                }
            }
            "ipv4.dhcp.expiry" | "ipv6.dhcp.expiry" => {
                if !is_lease_time(v) {
                    return bad("must be a lease time such as 1h, 30m, 3600 or infinite");
                }
            }
            "dns.domain" => crate::names::validate_dns_name(k, v)?,
            "dns.search" => {
                for d in v.split(',') {
                    crate::names::validate_dns_name(k, d)?;
                }
            }
            // Raw dnsmasq configuration, as upstream: an administrator's key (one
            // option a line) that goes verbatim into the network's `--conf-file`.
            "raw.dnsmasq" => {
                if v.contains('\0') {
                    return bad("must not contain NUL bytes");
                }
            }
            _ if k.starts_with("user.") || k.starts_with("volatile.") => {}
            _ => {
                return Err(Error::invalid(format!(
                    "Invalid network configuration key \"{k}\""
                )))
            }
        }
    }
    Ok(())
}

/// dnsmasq's lease time: a number with an optional s/m/h/d/w unit, or `infinite`.
fn is_lease_time(v: &str) -> bool {
    let n = v.strip_suffix(['s', 'm', 'h', 'd', 'w']).unwrap_or(v);
    v == "infinite" || (!n.is_empty() && n.len() <= 10 && n.bytes().all(|b| b.is_ascii_digit()))
}

fn parse_ranges(v: &str) -> Result<Vec<(String, String)>> {
    v.split(',')
        .map(|r| {
            let (a, b) = r.trim().split_once('-').ok_or_else(|| {
                Error::invalid(format!(
                    "Invalid DHCP range \"{}\" (want START-END)",
                    r.escape_debug()
                ))
            })?;
            let ip = |ip: &str| {
                ip.parse::<std::net::Ipv4Addr>().map_err(|_| {
                    Error::invalid(format!(
                        "Invalid address \"{}\" in DHCP range",
                        ip.escape_debug()
                    ))
                })
            };
            Ok((ip(a)?.to_string(), ip(b)?.to_string()))
        })
        .collect()
}

fn parse_ranges6(v: &str) -> Result<Vec<(String, String)>> {
    v.split(',')
        .map(|r| {
            let (a, b) = r.trim().split_once('-').ok_or_else(|| {
                Error::invalid(format!(
                    "Invalid DHCPv6 range \"{}\" (want START-END)",
                    r.escape_debug()
                ))
            })?;
            let ip = |ip: &str| {
                ip.parse::<std::net::Ipv6Addr>().map_err(|_| {
                    Error::invalid(format!(
                        "Invalid address \"{}\" in DHCPv6 range",
                        ip.escape_debug()
                    ))
                })
            };
            Ok((ip(a)?.to_string(), ip(b)?.to_string()))
        })
        .collect()
}

/// The IPv6 prefixes taken by other networks of this installation and by the host.
fn taken_prefixes(ctx: &Context, except: &str) -> Result<Vec<Cidr6>> {
    let project = ctx.project.clone();
    let rows = ctx.db()?.read(|tx| incus_db::network_list(tx, &project))?;
    let mut out: Vec<Cidr6> = rows
        .iter()
        .filter(|r| r.name != except)
        .filter_map(|r| v6(&r.config))
        .collect();
    out.extend(addr6::host_subnets(Some(&host_bridge(ctx, except))));
    Ok(out)
}

/// `ipv6.address`: fills `auto` with a free random ULA /64, refuses overlaps.
fn allocate6(ctx: &Context, name: &str, config: &mut Config) -> Result<()> {
    match config.get("ipv6.address").map(String::as_str) {
        Some("auto") => {
            let taken = taken_prefixes(ctx, name)?;
            for _ in 0..64 {
                let seed = short_hash(&[&ctx.prefix, name, &uuid::Uuid::new_v4().to_string()], 16);
                let c = addr6::random_ula(u64::from_str_radix(&seed, 16).unwrap_or(0));
                if !taken.iter().any(|t| t.overlaps(&c)) {
                    config.insert("ipv6.address".into(), c.to_string());
                    if !config.contains_key("ipv6.nat") {
                        config.insert("ipv6.nat".into(), "true".into());
                    }
                    return Ok(());
                }
            }
            Err(Error::conflict("Failed to find a free IPv6 prefix"))
        }
        Some(v) if v != "none" => {
            let c = Cidr6::parse(v)?;
            if let Some(t) = taken_prefixes(ctx, name)?.iter().find(|t| t.overlaps(&c)) {
                return Err(Error::conflict(format!(
                    "Subnet {} overlaps {} (used by another network or a host route)",
                    c.subnet_string(),
                    t.subnet_string()
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The subnets taken by other networks of this installation and by the host.
fn taken_subnets(ctx: &Context, except: &str) -> Result<Vec<Cidr>> {
    let project = ctx.project.clone();
    let rows = ctx.db()?.read(|tx| incus_db::network_list(tx, &project))?;
    let mut out: Vec<Cidr> = rows
        .iter()
        .filter(|r| r.name != except)
        .filter_map(|r| v4(&r.config))
        .collect();
    out.extend(addr::host_subnets(Some(&host_bridge(ctx, except))));
    Ok(out)
}

/// Fills `auto`, checks overlaps; call under the allocation lock.
fn allocate(ctx: &Context, name: &str, config: &mut Config) -> Result<()> {
    allocate6(ctx, name, config)?;
    let taken = taken_subnets(ctx, name)?;
    match config.get("ipv4.address").map(String::as_str) {
        Some("auto") => {
            // Random 10.x.y.1/24 as upstream, checked against what the host routes.
            let seed = short_hash(&[&ctx.prefix, name, &uuid::Uuid::new_v4().to_string()], 8);
            let mut n = u32::from_str_radix(&seed, 16).unwrap_or(0);
            for _ in 0..1024 {
                let (x, y) = ((n >> 8) & 0xff, n & 0xff);
                n = n.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let c = Cidr::parse(&format!("10.{x}.{y}.1/24"))?;
                if !taken.iter().any(|t| t.overlaps(&c)) {
                    config.insert("ipv4.address".into(), c.to_string());
                    if !config.contains_key("ipv4.nat") {
                        config.insert("ipv4.nat".into(), "true".into());
                    }
                    return Ok(());
                }
            }
            Err(Error::conflict("Failed to find a free IPv4 subnet"))
        }
        Some(v) if v != "none" => {
            let c = Cidr::parse(v)?;
            if let Some(t) = taken.iter().find(|t| t.overlaps(&c)) {
                return Err(Error::conflict(format!(
                    "Subnet {} overlaps {} (used by another network or a host route)",
                    c.subnet_string(),
                    t.subnet_string()
                )));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Brings the host side up: bridge, address, nft table, dnsmasq (idempotent).
/// The configuration comes from the database: it is validated again here, so a
/// tampered row never reaches an `ip` command line, an nft ruleset or dnsmasq.
fn setup(ctx: &Context, name: &str, config: &Config) -> Result<()> {
    validate_name(name)?;
    validate_config(config)?;
    let host = host_bridge(ctx, name);
    let cidr = v4(config);
    // A fixed MAC: a bridge otherwise takes its lowest port's, which changes as
    // instances come and go and confuses their ARP caches.
    let mac = config.get("bridge.hwaddr").cloned().unwrap_or_else(|| {
        let h = short_hash(&[&ctx.prefix, name], 6);
        format!("00:16:3e:{}:{}:{}", &h[0..2], &h[2..4], &h[4..6])
    });
    bridge::ensure(&host, mtu(config), Some(&mac), cidr.as_ref())?;
    let cidr6 = v6(config);
    bridge::ensure_v6(&host, cidr6.as_ref())?;
    if cidr6.is_some() && bool_key(config, "ipv6.routing", true) {
        if let Err(why) = bridge::enable_v6_forwarding() {
            incus_api::warning::push(format!("network {name}: {why}"));
        }
    }
    if cidr.is_some() && bool_key(config, "ipv4.routing", true) {
        // Forwarding is host-wide; upstream turns it on for routed bridges too.
        let _ = std::fs::write("/proc/sys/net/ipv4/ip_forward", "1");
    }
    let nat6 = bool_key(config, "ipv6.nat", false);
    if bool_key(config, "ipv4.firewall", true) || bool_key(config, "ipv4.nat", false) || nat6 {
        nft::apply(&nft::Rules {
            table: &table_name(ctx, name),
            bridge: &host,
            subnet: cidr,
            nat: bool_key(config, "ipv4.nat", false),
            nat_address: config.get("ipv4.nat.address").map(String::as_str),
            subnet6: cidr6,
            nat6,
            nat6_address: config.get("ipv6.nat.address").map(String::as_str),
        })?;
    } else {
        nft::remove(&table_name(ctx, name))?;
    }
    start_dnsmasq(ctx, name, config)
}

fn start_dnsmasq(ctx: &Context, name: &str, config: &Config) -> Result<()> {
    validate_name(name)?;
    validate_config(config)?;
    let p = paths(ctx, name);
    let cidr = v4(config);
    let dns_mode = config
        .get("dns.mode")
        .map(String::as_str)
        .unwrap_or("managed");
    let cidr6 = v6(config);
    if cidr.is_none() && cidr6.is_none() {
        return dnsmasq::stop(&p);
    }
    let ranges6 = match (config.get("ipv6.dhcp.ranges"), cidr6) {
        (Some(r), _) => parse_ranges6(r)?,
        (None, Some(c)) => {
            let (a, b) = c.dhcp_range();
            vec![(a.to_string(), b.to_string())]
        }
        _ => vec![],
    };
    let ranges = match config.get("ipv4.dhcp.ranges") {
        Some(r) => parse_ranges(r)?,
        None => cidr
            .and_then(|c| c.dhcp_range())
            .map(|(a, b)| vec![(a.to_string(), b.to_string())])
            .unwrap_or_default(),
    };
    let host = host_bridge(ctx, name);
    let domain = config
        .get("dns.domain")
        .map(String::as_str)
        .unwrap_or("incus");
    std::fs::create_dir_all(&p.dir)?;
    if let Some(raw) = config.get("raw.dnsmasq") {
        std::fs::write(p.raw(), format!("{raw}\n"))?;
    } else {
        std::fs::write(p.raw(), "")?;
    }
    let user = dnsmasq::user_for(&p);
    dnsmasq::start(
        &dnsmasq::Setup {
            bridge: &host,
            v4: cidr,
            dhcp: bool_key(config, "ipv4.dhcp", true),
            ranges,
            expiry: config
                .get("ipv4.dhcp.expiry")
                .map(String::as_str)
                .unwrap_or("1h"),
            gateway_option: config.get("ipv4.dhcp.gateway").map(String::as_str),
            mtu: mtu(config),
            dns_search: config.get("dns.search").map(String::as_str),
            domain: (dns_mode != "none").then_some(domain),
            user,
            v6: cidr6,
            dhcp6: bool_key(config, "ipv6.dhcp", true),
            stateful6: bool_key(config, "ipv6.dhcp.stateful", false),
            ranges6,
            expiry6: config
                .get("ipv6.dhcp.expiry")
                .map(String::as_str)
                .unwrap_or("1h"),
        },
        &p,
    )
}

/// Removes everything of a network on the host; missing parts are fine.
fn teardown(ctx: &Context, name: &str) -> Result<()> {
    let p = paths(ctx, name);
    dnsmasq::stop(&p)?;
    nft::remove(&table_name(ctx, name))?;
    bridge::remove(&host_bridge(ctx, name))?;
    for d in [&p.dir, &ctx.run_dir.join("networks").join(name)] {
        if d.exists() {
            std::fs::remove_dir_all(d)?;
        }
    }
    let _ = std::fs::remove_file(&p.log);
    Ok(())
}

/// Makes sure a network's bridge and dnsmasq run (after a reboot, or when dnsmasq
/// died). Cheap when they do: a sysfs look and a pid-file check.
pub fn ensure_up(ctx: &Context, name: &str) -> Result<()> {
    let row = load(ctx, name)?;
    let host = host_bridge(ctx, name);
    let needs_dns = v4(&row.config).is_some() || v6(&row.config).is_some();
    if bridge::exists(&host) && (!needs_dns || dnsmasq::running(&paths(ctx, name)).is_some()) {
        return Ok(());
    }
    let _up = ctx.lock_network_up(name)?;
    if !bridge::exists(&host) {
        setup(ctx, name, &row.config)
    } else if needs_dns && dnsmasq::running(&paths(ctx, name)).is_none() {
        start_dnsmasq(ctx, name, &row.config)
    } else {
        Ok(())
    }
}

/// Finishes what a killed create or delete left (row still pending, lock free).
fn repair(ctx: &Context, row: &NetworkRow) -> Result<bool> {
    if row.state != NETWORK_PENDING {
        return Ok(false);
    }
    let Some(_lock) = ctx.try_lock_network(&row.name)? else {
        return Ok(false);
    };
    // Re-read under the lock: the owner may have finished meanwhile.
    let project = ctx.project.clone();
    let now = ctx
        .db()?
        .read(|tx| incus_db::network_get(tx, &project, &row.name))?;
    match now {
        Some(r) if r.state == NETWORK_PENDING => {
            teardown(ctx, &r.name)?;
            ctx.db()?.write(|tx| incus_db::network_delete(tx, r.id))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn load(ctx: &Context, name: &str) -> Result<NetworkRow> {
    let project = ctx.project.clone();
    let row = ctx
        .db()?
        .read(|tx| incus_db::network_get(tx, &project, name))?;
    match row {
        Some(r) if !repair(ctx, &r)? && r.state != NETWORK_PENDING => Ok(r),
        _ => Err(Error::not_found(format!("Network \"{name}\" not found"))),
    }
}

/// Does a NIC device use network `name` (by `network=` or as a bridged parent)?
fn nic_uses(ctx: &Context, dev: &Config, name: &str) -> bool {
    if dev.get("type").map(String::as_str) != Some("nic") {
        return false;
    }
    match (dev.get("network"), dev.get("parent")) {
        (Some(n), _) => n == name,
        (None, Some(p)) => p == name || *p == host_bridge(ctx, name),
        _ => false,
    }
}

/// Instances and profiles that use a network, as upstream's URLs.
fn used_by(ctx: &Context, name: &str) -> Result<Vec<String>> {
    let project = ctx.project.clone();
    let (instances, profiles) = ctx.db()?.read(|tx| {
        Ok((
            incus_db::instance_list(tx, &project)?,
            incus_db::profile_list(tx, &project)?,
        ))
    })?;
    let mut out = Vec::new();
    for p in &profiles {
        if p.devices.values().any(|d| nic_uses(ctx, d, name)) {
            out.push(format!("/1.0/profiles/{}", p.name));
        }
    }
    for i in &instances {
        let profs = i
            .profiles
            .iter()
            .filter_map(|n| profiles.iter().find(|p| &p.name == n));
        let (_, devices) = crate::instance::expand(profs, &i.config, &i.devices);
        if devices.values().any(|d| nic_uses(ctx, d, name)) {
            out.push(format!("/1.0/instances/{}", i.name));
        }
    }
    out.sort();
    Ok(out)
}

fn to_api(ctx: &Context, row: NetworkRow) -> Result<Network> {
    let used_by = used_by(ctx, &row.name)?;
    Ok(Network {
        config: row.config,
        description: row.description,
        name: row.name,
        network_type: row.network_type,
        used_by,
        managed: true,
        status: "Created".into(),
        locations: vec!["none".into()],
        project: row.project,
    })
}

/// `network list` (managed networks).
pub fn list(ctx: &Context) -> Result<Vec<Network>> {
    let project = ctx.project.clone();
    let rows = ctx.db()?.read(|tx| incus_db::network_list(tx, &project))?;
    let mut out = Vec::new();
    for r in rows {
        if r.state == NETWORK_PENDING {
            repair(ctx, &r)?;
            continue;
        }
        out.push(to_api(ctx, r)?);
    }
    Ok(out)
}

/// `network show`.
pub fn get(ctx: &Context, name: &str) -> Result<Network> {
    to_api(ctx, load(ctx, name)?)
}

/// `network create NAME [k=v...]`: nothing is left behind when it fails.
pub fn create(
    ctx: &Context,
    name: &str,
    network_type: &str,
    mut config: Config,
    description: &str,
) -> Result<Network> {
    validate_name(name)?;
    match network_type {
        "bridge" | "" => {}
        "macvlan" | "sriov" | "ovn" | "physical" => {
            return Err(Error::unsupported(format!(
                "Network type \"{network_type}\" is not supported yet (only bridge)"
            )))
        }
        other => return Err(Error::invalid(format!("Invalid network type \"{other}\""))),
    }
    config
        .entry("ipv4.address".into())
        .or_insert_with(|| "auto".into());
    config
        .entry("ipv6.address".into())
        .or_insert_with(|| "none".into());
    validate_config(&config)?;
    let _lock = ctx.lock_network(name)?;
    let project = ctx.project.clone();
    if let Some(r) = ctx
        .db()?
        .read(|tx| incus_db::network_get(tx, &project, name))?
    {
        if !repair(ctx, &r)? {
            return Err(Error::conflict(format!(
                "Network \"{name}\" already exists"
            )));
        }
    }
    let host = host_bridge(ctx, name);
    if bridge::exists(&host) {
        return Err(Error::conflict(format!(
            "The host already has an interface named \"{host}\""
        )));
    }
    let row = {
        let _alloc = ctx.lock_network_alloc()?;
        allocate(ctx, name, &mut config)?;
        let row = NetworkRow {
            name: name.to_string(),
            project: project.clone(),
            description: description.to_string(),
            network_type: "bridge".into(),
            state: NETWORK_PENDING,
            config,
            ..Default::default()
        };
        // The row first (pending): a kill from here on is undone by the next command.
        let id = ctx
            .db()?
            .write_durable(|tx| incus_db::network_create(tx, &row))?;
        NetworkRow { id, ..row }
    };
    let up = {
        let _up = ctx.lock_network_up(name)?;
        setup(ctx, name, &row.config)
    };
    if let Err(e) = up {
        let _ = teardown(ctx, name);
        ctx.db()?.write(|tx| incus_db::network_delete(tx, row.id))?;
        return Err(e);
    }
    ctx.db()?.write(|tx| {
        incus_db::network_set_state(tx, row.id, NETWORK_CREATED)?;
        events::record(
            tx,
            &project,
            "network-created",
            &format!("/1.0/networks/{name}"),
            serde_json::json!({}),
        )
    })?;
    get(ctx, name)
}

/// `network edit` / PUT: replaces config and description, then re-applies the host
/// side (dnsmasq restarts; instances keep their veths on the bridge).
pub fn update(ctx: &Context, name: &str, put: NetworkPut) -> Result<Network> {
    let _lock = ctx.lock_network(name)?;
    update_locked(ctx, name, put)
}

fn update_locked(ctx: &Context, name: &str, put: NetworkPut) -> Result<Network> {
    let row = load(ctx, name)?;
    let mut config = put.config;
    // volatile keys are ours: an edit that drops them keeps the stored values.
    for (k, v) in &row.config {
        if k.starts_with("volatile.") && !config.contains_key(k) {
            config.insert(k.clone(), v.clone());
        }
    }
    validate_config(&config)?;
    {
        let _alloc = ctx.lock_network_alloc()?;
        allocate(ctx, name, &mut config)?;
    }
    let changed = config != row.config;
    let project = ctx.project.clone();
    if changed {
        let _up = ctx.lock_network_up(name)?;
        if let Err(e) = setup(ctx, name, &config) {
            // Back to what the database says.
            let _ = setup(ctx, name, &row.config);
            return Err(e);
        }
    }
    ctx.db()?.write(|tx| {
        let mut r = row.clone();
        r.config = config;
        r.description = put.description;
        incus_db::network_update(tx, &r)?;
        events::record(
            tx,
            &project,
            "network-updated",
            &format!("/1.0/networks/{name}"),
            serde_json::json!({}),
        )
    })?;
    get(ctx, name)
}

/// `network set/unset`: read-modify-write under the network lock (empty value unsets).
pub fn set_keys(ctx: &Context, name: &str, pairs: &Config) -> Result<Network> {
    let _lock = ctx.lock_network(name)?;
    let row = load(ctx, name)?;
    let mut config = row.config.clone();
    for (k, v) in pairs {
        if v.is_empty() {
            if config.remove(k).is_none() {
                return Err(Error::not_found(format!(
                    "Key \"{k}\" is not set on network \"{name}\""
                )));
            }
        } else {
            config.insert(k.clone(), v.clone());
        }
    }
    update_locked(
        ctx,
        name,
        NetworkPut {
            config,
            description: row.description,
        },
    )
}

/// `network delete`: refused while anything uses it.
pub fn delete(ctx: &Context, name: &str) -> Result<()> {
    let _lock = ctx.lock_network(name)?;
    let row = load(ctx, name)?;
    let users = used_by(ctx, name)?;
    if !users.is_empty() {
        return Err(Error::conflict(format!(
            "The network is currently in use (used by: {})",
            users.join(", ")
        )));
    }
    // Pending first: a kill during teardown is finished by the next command.
    ctx.db()?
        .write_durable(|tx| incus_db::network_set_state(tx, row.id, NETWORK_PENDING))?;
    {
        let _up = ctx.lock_network_up(name)?;
        teardown(ctx, name)?;
    }
    let project = ctx.project.clone();
    ctx.db()?.write(|tx| {
        incus_db::network_delete(tx, row.id)?;
        events::record(
            tx,
            &project,
            "network-deleted",
            &format!("/1.0/networks/{name}"),
            serde_json::json!({}),
        )
    })
}

/// `network rename`: refused while in use (as upstream); the host side is rebuilt
/// under the new name.
pub fn rename(ctx: &Context, name: &str, new_name: &str) -> Result<()> {
    validate_name(new_name)?;
    let (a, b) = if name < new_name {
        (name, new_name)
    } else {
        (new_name, name)
    };
    let _l1 = ctx.lock_network(a)?;
    let _l2 = ctx.lock_network(b)?;
    let row = load(ctx, name)?;
    let project = ctx.project.clone();
    if ctx
        .db()?
        .read(|tx| incus_db::network_get(tx, &project, new_name))?
        .is_some()
    {
        return Err(Error::conflict(format!(
            "Network \"{new_name}\" already exists"
        )));
    }
    if !used_by(ctx, name)?.is_empty() {
        return Err(Error::invalid(
            "Renaming a network that is in use is not allowed",
        ));
    }
    {
        let _up = ctx.lock_network_up(name)?;
        teardown(ctx, name)?;
    }
    ctx.db()?.write(|tx| {
        incus_db::network_rename(tx, row.id, new_name)?;
        events::record(
            tx,
            &project,
            "network-renamed",
            &format!("/1.0/networks/{new_name}"),
            serde_json::json!({"old_name": name}),
        )
    })?;
    let _up = ctx.lock_network_up(new_name)?;
    setup(ctx, new_name, &row.config)
}

/// `network info`: addresses and counters of the bridge.
pub fn state(ctx: &Context, name: &str) -> Result<NetworkState> {
    let row = load(ctx, name)?;
    let host = host_bridge(ctx, name);
    let up = bridge::exists(&host);
    let mut addresses = Vec::new();
    if let (true, Some(c)) = (up, v4(&row.config)) {
        addresses.push(InstanceStateNetworkAddress {
            family: "inet".into(),
            address: c.addr.to_string(),
            netmask: c.prefix.to_string(),
            scope: "global".into(),
        });
    }
    if let (true, Some(c)) = (up, v6(&row.config)) {
        addresses.push(InstanceStateNetworkAddress {
            family: "inet6".into(),
            address: c.addr.to_string(),
            netmask: c.prefix.to_string(),
            scope: "global".into(),
        });
    }
    Ok(NetworkState {
        addresses,
        counters: NetworkStateCounters {
            bytes_received: bridge::counter(&host, "rx_bytes"),
            bytes_sent: bridge::counter(&host, "tx_bytes"),
            packets_received: bridge::counter(&host, "rx_packets"),
            packets_sent: bridge::counter(&host, "tx_packets"),
        },
        hwaddr: bridge::attr(&host, "address"),
        mtu: bridge::attr(&host, "mtu").parse().unwrap_or(0),
        // IFF_UP, as upstream: a bridge without ports has no carrier but is up.
        state: if up
            && u32::from_str_radix(bridge::attr(&host, "flags").trim_start_matches("0x"), 16)
                .unwrap_or(0)
                & 1
                == 1
        {
            "up".into()
        } else {
            "down".into()
        },
        network_type: "broadcast".into(),
    })
}

/// `network list-leases`: gateway, static (NIC ipv4.address) and dynamic leases.
pub fn leases(ctx: &Context, name: &str) -> Result<Vec<NetworkLease>> {
    let row = load(ctx, name)?;
    let host = host_bridge(ctx, name);
    let project = ctx.project.clone();
    let mut out = Vec::new();
    if let Some(c) = v4(&row.config) {
        out.push(NetworkLease {
            hostname: format!("{name}.gw"),
            hwaddr: bridge::attr(&host, "address"),
            address: c.addr.to_string(),
            lease_type: "gateway".into(),
            location: "none".into(),
            project: project.clone(),
        });
    }
    if let Some(c) = v6(&row.config) {
        out.push(NetworkLease {
            hostname: format!("{name}.gw"),
            hwaddr: bridge::attr(&host, "address"),
            address: c.addr.to_string(),
            lease_type: "gateway".into(),
            location: "none".into(),
            project: project.clone(),
        });
    }
    let instances = ctx.db()?.read(|tx| incus_db::instance_list(tx, &project))?;
    let mut static_macs = Vec::new();
    for i in &instances {
        let profiles = crate::instance::load_profiles(ctx, &i.profiles)?;
        let (config, devices) = crate::instance::expand(&profiles, &i.config, &i.devices);
        for (dev, d) in &devices {
            if !nic_uses(ctx, d, name) {
                continue;
            }
            let mac = d
                .get("hwaddr")
                .or_else(|| config.get(&format!("volatile.{dev}.hwaddr")))
                .cloned()
                .unwrap_or_default();
            if let Some(ip) = d.get("ipv4.address") {
                static_macs.push(mac.clone());
                out.push(NetworkLease {
                    hostname: i.name.clone(),
                    hwaddr: mac,
                    address: ip.clone(),
                    lease_type: "static".into(),
                    location: "none".into(),
                    project: project.clone(),
                });
            }
        }
    }
    let text = std::fs::read_to_string(paths(ctx, name).leases()).unwrap_or_default();
    for (mac, ip, host_name) in dnsmasq::parse_leases(&text) {
        if static_macs.contains(&mac) {
            continue;
        }
        out.push(NetworkLease {
            hostname: host_name,
            hwaddr: mac,
            address: ip,
            lease_type: "dynamic".into(),
            location: "none".into(),
            project: project.clone(),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Instance NICs.

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
                    short_hash(&[instance, dev], 15 - ctx.prefix.len().min(9))
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
        managed_dns.then_some(instance),
    );
    let file = p.hosts().join(format!("{instance}.{}", nic.device));
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
    let current = incus_runtime::nics(&run_dir).map_err(crate::lifecycle::rt_err)?;
    let (want, volatile) = prepare_nics(ctx, instance, config, devices)?;
    for c in &current {
        if !want.contains(c) {
            incus_runtime::hot_remove_nic(&run_dir, &c.name).map_err(crate::lifecycle::rt_err)?;
        }
    }
    for w in &want {
        if !current.contains(w) {
            incus_runtime::hot_add_nic(&run_dir, w).map_err(crate::lifecycle::rt_err)?;
        }
    }
    Ok(volatile)
}

/// Drops the dnsmasq host entries of an instance (deleted or renamed).
pub fn forget_instance(ctx: &Context, instance: &str) -> Result<()> {
    let project = ctx.project.clone();
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

/// The state directory of a network (tests and `admin` look here).
pub fn state_dir(ctx: &Context, name: &str) -> PathBuf {
    paths(ctx, name).dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dnsmasq_values_are_checked() {
        let cfg = |k: &str, v: &str| -> Config { [(k.to_string(), v.to_string())].into() };
        for (k, v) in [
            ("dns.domain", "incus.lan"),
            ("dns.search", "a.example,b"),
            ("ipv4.dhcp.expiry", "1h"),
            ("ipv4.dhcp.expiry", "3600"),
            ("ipv6.dhcp.expiry", "infinite"),
            ("ipv4.dhcp.ranges", "10.0.0.2-10.0.0.9"),
        ] {
            validate_config(&cfg(k, v)).unwrap_or_else(|e| panic!("{k}={v}: {e:?}"));
        }
        for (k, v) in [
            ("dns.domain", "incus,lo"),
            ("dns.search", "a,b c"),
            ("ipv4.dhcp.expiry", "1h,x"),
            ("ipv4.dhcp.expiry", "h"),
            ("ipv4.dhcp.ranges", "10.0.0.2-10.0.0.9,x"),
            ("raw.dnsmasq", "a\0b"),
        ] {
            assert!(validate_config(&cfg(k, v)).is_err(), "{k}={v:?}");
        }
        assert_eq!(
            parse_ranges(" 10.0.0.2-10.0.0.9").unwrap(),
            [("10.0.0.2".to_string(), "10.0.0.9".to_string())]
        );
    }
}
