//! Network names and configuration keys, checked as upstream documents them.

use crate::{Error, Result};
use incus_api::{keys, Config};

use super::addr::Cidr;
use super::addr6::Cidr6;

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

pub(super) fn bool_key(config: &Config, key: &str, default: bool) -> bool {
    config
        .get(key)
        .and_then(|v| keys::parse_bool(v))
        .unwrap_or(default)
}

pub(super) fn v4(config: &Config) -> Option<Cidr> {
    config.get("ipv4.address").and_then(|v| Cidr::parse(v).ok())
}

pub(super) fn v6(config: &Config) -> Option<Cidr6> {
    config
        .get("ipv6.address")
        .and_then(|v| Cidr6::parse(v).ok())
}

pub(super) fn mtu(config: &Config) -> Option<u32> {
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

pub(super) fn parse_ranges(v: &str) -> Result<Vec<(String, String)>> {
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

pub(super) fn parse_ranges6(v: &str) -> Result<Vec<(String, String)>> {
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
