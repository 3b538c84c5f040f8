//! One `inet` table per network of this installation: masquerade for `ipv4.nat`, and
//! DNS/DHCP accepted on the bridge. Replaced atomically with `nft -f -`.

use super::addr::Cidr;
use super::addr6::Cidr6;
use crate::{Error, Result};
use std::io::Write;
use std::process::{Command, Stdio};

/// What the table needs to know.
pub struct Rules<'a> {
    pub table: &'a str,
    pub bridge: &'a str,
    pub subnet: Option<Cidr>,
    pub nat: bool,
    pub nat_address: Option<&'a str>,
    pub subnet6: Option<Cidr6>,
    pub nat6: bool,
    pub nat6_address: Option<&'a str>,
}

/// The ruleset: (re)creates the table in one transaction (add, delete, add).
pub fn ruleset(r: &Rules) -> String {
    let t = r.table;
    let br = r.bridge;
    let mut s = format!("table inet {t} {{}}\ndelete table inet {t}\ntable inet {t} {{\n");
    s.push_str(&format!(
        "  chain netin {{\n    type filter hook input priority 0; policy accept;\n    \
         iifname \"{br}\" tcp dport 53 accept\n    iifname \"{br}\" udp dport {{53, 67, 547}} accept\n  }}\n"
    ));
    s.push_str(&format!(
        "  chain netout {{\n    type filter hook output priority 0; policy accept;\n    \
         oifname \"{br}\" tcp sport 53 accept\n    oifname \"{br}\" udp sport {{53, 67, 547}} accept\n  }}\n"
    ));
    s.push_str(&format!(
        "  chain netfwd {{\n    type filter hook forward priority 0; policy accept;\n    \
         iifname \"{br}\" accept\n    oifname \"{br}\" accept\n  }}\n"
    ));
    let mut nat = Vec::new();
    if let (true, Some(c)) = (r.nat, r.subnet) {
        let sub = c.subnet_string();
        let action = match r.nat_address {
            Some(a) => format!("snat ip to {a}"),
            None => "masquerade".to_string(),
        };
        nat.push(format!("ip saddr {sub} ip daddr != {sub} {action}"));
    }
    if let (true, Some(c)) = (r.nat6, r.subnet6) {
        let sub = c.subnet_string();
        let action = match r.nat6_address {
            Some(a) => format!("snat ip6 to {a}"),
            None => "masquerade".to_string(),
        };
        nat.push(format!("ip6 saddr {sub} ip6 daddr != {sub} {action}"));
    }
    if !nat.is_empty() {
        s.push_str(&format!(
            "  chain netpstrt {{\n    type nat hook postrouting priority 100; policy accept;\n    {}\n  }}\n",
            nat.join("\n    ")
        ));
    }
    s.push_str("}\n");
    s
}

fn nft(script: &str) -> Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::unsupported(format!("Cannot run nft (install nftables): {e}")))?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(Error::internal(format!(
            "nft: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

pub fn apply(r: &Rules) -> Result<()> {
    nft(&ruleset(r))
}

/// Removes the table; missing is fine (add-then-delete in one transaction).
pub fn remove(table: &str) -> Result<()> {
    nft(&format!(
        "table inet {table} {{}}\ndelete table inet {table}\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruleset_masquerades_the_subnet() {
        let s = ruleset(&Rules {
            table: "ix1_br",
            bridge: "ix1n0",
            subnet: Some(Cidr::parse("10.3.4.1/24").unwrap()),
            nat: true,
            nat_address: None,
            subnet6: Some(Cidr6::parse("fd42:1:2:3::1/64").unwrap()),
            nat6: true,
            nat6_address: None,
        });
        assert!(s.starts_with("table inet ix1_br {}\ndelete table inet ix1_br\n"));
        assert!(s.contains("ip saddr 10.3.4.0/24 ip daddr != 10.3.4.0/24 masquerade"));
        assert!(s.contains("iifname \"ix1n0\" udp dport {53, 67, 547} accept"));
        assert!(s.contains("ip6 saddr fd42:1:2:3::/64 ip6 daddr != fd42:1:2:3::/64 masquerade"));
    }
}
