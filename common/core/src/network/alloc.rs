//! Address allocation: `auto` subnets and prefixes, and overlap checks against the
//! other networks of the installation and the host's routes.

use crate::{Context, Error, Result};
use incus_api::Config;

use super::addr::{self, Cidr};
use super::addr6::{self, Cidr6};
use super::validate::{v4, v6};
use super::{host_bridge, short_hash};

/// The IPv6 prefixes taken by other networks of this installation and by the host.
fn taken_prefixes(ctx: &Context, except: &str) -> Result<Vec<Cidr6>> {
    // Every project's networks: subnets are host-wide.
    let rows = ctx.db()?.read(incus_db::network_list_all)?;
    let mut out: Vec<Cidr6> = rows
        .iter()
        .filter(|r| r.name != except || r.project != ctx.networks_project)
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
    // Every project's networks: subnets are host-wide.
    let rows = ctx.db()?.read(incus_db::network_list_all)?;
    let mut out: Vec<Cidr> = rows
        .iter()
        .filter(|r| r.name != except || r.project != ctx.networks_project)
        .filter_map(|r| v4(&r.config))
        .collect();
    out.extend(addr::host_subnets(Some(&host_bridge(ctx, except))));
    Ok(out)
}

/// Fills `auto`, checks overlaps; call under the allocation lock.
pub(super) fn allocate(ctx: &Context, name: &str, config: &mut Config) -> Result<()> {
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
