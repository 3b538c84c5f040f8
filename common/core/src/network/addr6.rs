//! IPv6 prefixes: parsing, overlap, random ULAs, and what the host already routes
//! (`/proc/net/ipv6_route`, `/proc/PID/net/if_inet6`; never by sending anything).

use crate::{Error, Result};
use std::net::Ipv6Addr;

/// An address with its prefix length (`fd42:1:2:3::1/64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr6 {
    pub addr: Ipv6Addr,
    pub prefix: u8,
}

impl Cidr6 {
    pub fn parse(s: &str) -> Result<Cidr6> {
        let bad = || Error::invalid(format!("Invalid IPv6 CIDR address \"{s}\""));
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv6Addr = a.parse().map_err(|_| bad())?;
        if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        if prefix > 128 {
            return Err(bad());
        }
        Ok(Cidr6 { addr, prefix })
    }
    pub fn mask(&self) -> u128 {
        if self.prefix == 0 {
            0
        } else {
            u128::MAX << (128 - self.prefix)
        }
    }
    pub fn network(&self) -> u128 {
        u128::from(self.addr) & self.mask()
    }
    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & self.mask() == self.network()
    }
    pub fn overlaps(&self, other: &Cidr6) -> bool {
        let m = self.mask() & other.mask();
        self.network() & m == other.network() & m
    }
    /// `fd42:1:2:3::/64`.
    pub fn subnet_string(&self) -> String {
        format!("{}/{}", Ipv6Addr::from(self.network()), self.prefix)
    }
    /// Stateful DHCPv6 range: network+2 .. last address of the prefix (as upstream).
    pub fn dhcp_range(&self) -> (Ipv6Addr, Ipv6Addr) {
        let n = self.network();
        (Ipv6Addr::from(n + 2), Ipv6Addr::from(n | !self.mask()))
    }
}

impl std::fmt::Display for Cidr6 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A random ULA `fd42:XXXX:XXXX:XXXX::1/64` (upstream's `auto`) from `seed`.
pub fn random_ula(seed: u64) -> Cidr6 {
    let s = seed.to_be_bytes();
    let segs = [
        0xfd42,
        u16::from_be_bytes([s[0], s[1]]),
        u16::from_be_bytes([s[2], s[3]]),
        u16::from_be_bytes([s[4], s[5]]),
        0,
        0,
        0,
        1,
    ];
    Cidr6 {
        addr: Ipv6Addr::new(
            segs[0], segs[1], segs[2], segs[3], segs[4], segs[5], segs[6], segs[7],
        ),
        prefix: 64,
    }
}

fn hex128(s: &str) -> Option<u128> {
    (s.len() == 32).then_some(())?;
    u128::from_str_radix(s, 16).ok()
}

/// `(device, prefix)` pairs of a `/proc/net/ipv6_route` table.
pub fn parse_routes(text: &str) -> Vec<(String, Cidr6)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 10 {
                return None;
            }
            let dest = hex128(f[0])?;
            let prefix = u8::from_str_radix(f[1], 16).ok()?;
            Some((
                f[9].to_string(),
                Cidr6 {
                    addr: Ipv6Addr::from(dest),
                    prefix,
                },
            ))
        })
        .collect()
}

/// Prefixes the host routes (and so holds addresses in), except through `skip_dev`:
/// no default route, no link-local, no multicast, no host routes of local addresses.
pub fn host_subnets(skip_dev: Option<&str>) -> Vec<Cidr6> {
    let text = std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    let mut out: Vec<Cidr6> = parse_routes(&text)
        .into_iter()
        .filter(|(dev, c)| {
            Some(dev.as_str()) != skip_dev
                && dev != "lo"
                && c.prefix > 0
                && !is_link_local(c.addr)
                && c.addr.segments()[0] & 0xff00 != 0xff00
        })
        .map(|(_, c)| c)
        .collect();
    // Addresses without a route of their own (e.g. /128 on some device).
    let inet6 = std::fs::read_to_string("/proc/net/if_inet6").unwrap_or_default();
    for a in parse_if_inet6(&inet6) {
        if Some(a.device.as_str()) != skip_dev && a.scope == "global" {
            out.push(a.cidr);
        }
    }
    out
}

fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// One line of `if_inet6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr6 {
    pub device: String,
    pub cidr: Cidr6,
    /// `global`, `link`, `local` (host) as upstream names them.
    pub scope: &'static str,
}

/// `/proc/PID/net/if_inet6`: `ADDR IFINDEX PREFIX SCOPE FLAGS DEVICE`, hex fields.
pub fn parse_if_inet6(text: &str) -> Vec<IfAddr6> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 6 {
                return None;
            }
            let addr = Ipv6Addr::from(hex128(f[0])?);
            let prefix = u8::from_str_radix(f[2], 16).ok()?;
            let scope = match u8::from_str_radix(f[3], 16).ok()? {
                0x00 => "global",
                0x20 => "link",
                0x10 => "local",
                _ => "site",
            };
            Some(IfAddr6 {
                device: f[5].to_string(),
                cidr: Cidr6 { addr, prefix },
                scope,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr6_rules() {
        let c = Cidr6::parse("fd42:1:2:3::1/64").unwrap();
        assert_eq!(c.subnet_string(), "fd42:1:2:3::/64");
        assert!(c.contains("fd42:1:2:3::abcd".parse().unwrap()));
        assert!(!c.contains("fd42:1:2:4::1".parse().unwrap()));
        assert!(c.overlaps(&Cidr6::parse("fd42:1::1/32").unwrap()));
        assert!(!c.overlaps(&Cidr6::parse("fd42:1:2:4::1/64").unwrap()));
        let (a, b) = c.dhcp_range();
        assert_eq!(a.to_string(), "fd42:1:2:3::2");
        assert_eq!(b.to_string(), "fd42:1:2:3:ffff:ffff:ffff:ffff");
        for bad in [
            "fd42::1",
            "fd42::1/129",
            "fd42::1/+4",
            "x/64",
            "10.0.0.1/24",
        ] {
            assert!(Cidr6::parse(bad).is_err(), "{bad}");
        }
        let u = random_ula(0x1234_5678_9abc_def0);
        assert_eq!(u.to_string(), "fd42:1234:5678:9abc::1/64");
    }

    #[test]
    fn proc_tables() {
        let routes = "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n\
            00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n";
        let r = parse_routes(routes);
        assert_eq!(r[0].1.subnet_string(), "fd00::/64");
        assert_eq!(r[1].1.prefix, 0);
        let inet6 = "fd4200010002000302163efffe000001 02 40 00 00 eth0\nfe800000000000000216THISISBAD000 02 40 20 80 eth0\nfe80000000000000021 02 40 20 80 eth0\n";
        let a = parse_if_inet6(inet6);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].cidr.to_string(), "fd42:1:2:3:216:3eff:fe00:1/64");
        assert_eq!(a[0].scope, "global");
    }
}
