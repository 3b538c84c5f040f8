//! IPv4 subnets: parsing, overlap, and what the host already routes (read from
//! /proc, never by sending anything).

use crate::{Error, Result};
use std::net::Ipv4Addr;

/// An address with its prefix length (`10.1.2.1/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr> {
        let bad = || Error::invalid(format!("Invalid IPv4 CIDR address \"{s}\""));
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        if prefix > 32 || p.starts_with('+') {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }
    pub fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }
    pub fn network(&self) -> u32 {
        u32::from(self.addr) & self.mask()
    }
    pub fn broadcast(&self) -> u32 {
        self.network() | !self.mask()
    }
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == self.network()
    }
    pub fn overlaps(&self, other: &Cidr) -> bool {
        let m = self.mask() & other.mask();
        self.network() & m == other.network() & m
    }
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask())
    }
    /// `10.1.2.0/24`.
    pub fn subnet_string(&self) -> String {
        format!("{}/{}", Ipv4Addr::from(self.network()), self.prefix)
    }
    /// The default DHCP range: second address to second-to-last, as upstream.
    pub fn dhcp_range(&self) -> Option<(Ipv4Addr, Ipv4Addr)> {
        if self.prefix > 30 {
            return None;
        }
        Some((
            Ipv4Addr::from(self.network() + 2),
            Ipv4Addr::from(self.broadcast() - 1),
        ))
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Subnets the host routes or holds addresses in, except through `skip_dev`
/// (`/proc/net/route`: hex little-endian destination and mask per line).
pub fn host_subnets(skip_dev: Option<&str>) -> Vec<Cidr> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    parse_routes(&text)
        .into_iter()
        .filter(|(dev, c)| Some(dev.as_str()) != skip_dev && c.prefix > 0)
        .map(|(_, c)| c)
        .collect()
}

/// `(device, subnet)` pairs of a `/proc/net/route` table.
pub fn parse_routes(text: &str) -> Vec<(String, Cidr)> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            let dest = u32::from_str_radix(f[1], 16).ok()?.swap_bytes();
            let mask = u32::from_str_radix(f[7], 16).ok()?.swap_bytes();
            Some((
                f[0].to_string(),
                Cidr {
                    addr: Ipv4Addr::from(dest),
                    prefix: mask.count_ones() as u8,
                },
            ))
        })
        .collect()
}

/// Local IPv4 addresses of a network namespace from its `fib_trie` (`/32 host LOCAL`
/// leaves), without entering it.
pub fn local_addresses(fib_trie: &str) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    let mut last: Option<Ipv4Addr> = None;
    for line in fib_trie.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("|-- ") {
            last = rest.trim().parse().ok();
        } else if t.starts_with("/32 host LOCAL") {
            if let Some(a) = last {
                if !a.is_loopback() && !out.contains(&a) {
                    out.push(a);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_rules() {
        let c = Cidr::parse("10.1.2.1/24").unwrap();
        assert_eq!(c.subnet_string(), "10.1.2.0/24");
        assert!(c.contains("10.1.2.200".parse().unwrap()));
        assert!(!c.contains("10.1.3.1".parse().unwrap()));
        assert!(c.overlaps(&Cidr::parse("10.1.0.1/16").unwrap()));
        assert!(!c.overlaps(&Cidr::parse("10.1.3.1/24").unwrap()));
        assert_eq!(
            c.dhcp_range().unwrap(),
            ("10.1.2.2".parse().unwrap(), "10.1.2.254".parse().unwrap())
        );
        for bad in [
            "10.1.2.1",
            "10.1.2.1/33",
            "10.1.2/24",
            "x/24",
            "10.1.2.1/+4",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn routes_and_fib() {
        let routes =
            "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n\
            eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
            eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        let r = parse_routes(routes);
        assert_eq!(r[1].1.subnet_string(), "192.168.2.0/24");
        let fib = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 10.9.8.7\n        /32 host LOCAL\n     |-- 127.0.0.1\n        /32 host LOCAL\n";
        assert_eq!(
            local_addresses(fib),
            vec!["10.9.8.7".parse::<Ipv4Addr>().unwrap()]
        );
    }
}
