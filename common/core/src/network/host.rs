//! The host side of a network: bridge, addresses, nftables table and dnsmasq.

use crate::{Context, Result};
use incus_api::Config;

use super::crud::load;
use super::validate::{
    bool_key, mtu, parse_ranges, parse_ranges6, v4, v6, validate_config, validate_name,
};
use super::{bridge, dnsmasq, host_bridge, nft, paths, short_hash, table_name};

/// Brings the host side up: bridge, address, nft table, dnsmasq (idempotent).
/// The configuration comes from the database: it is validated again here, so a
/// tampered row never reaches an `ip` command line, an nft ruleset or dnsmasq.
pub(super) fn setup(ctx: &Context, name: &str, config: &Config) -> Result<()> {
    validate_name(name)?;
    validate_config(config)?;
    let host = host_bridge(ctx, name);
    let cidr = v4(config);
    // A fixed MAC: a bridge otherwise takes its lowest port's, which changes as
    // instances come and go and confuses their ARP caches.
    let mac = config.get("bridge.hwaddr").cloned().unwrap_or_else(|| {
        let h = short_hash(&[&ctx.prefix, &super::disk_name(ctx, name)], 6);
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
pub(super) fn teardown(ctx: &Context, name: &str) -> Result<()> {
    let p = paths(ctx, name);
    dnsmasq::stop(&p)?;
    nft::remove(&table_name(ctx, name))?;
    bridge::remove(&host_bridge(ctx, name))?;
    let run = p.pid.parent().map(|d| d.to_path_buf()).unwrap_or_default();
    for d in [&p.dir, &run] {
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
