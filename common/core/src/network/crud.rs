//! Network objects: list, get, create, update, rename, delete, state and leases,
//! and the repair of what a killed create or delete left.

use crate::{events, Context, Error, Result};
use incus_api::{
    Config, InstanceStateNetworkAddress, Network, NetworkLease, NetworkPut, NetworkState,
    NetworkStateCounters,
};
use incus_db::{NetworkRow, NETWORK_CREATED, NETWORK_PENDING};

use super::alloc::allocate;
use super::host::{setup, teardown};
use super::validate::{v4, v6, validate_config, validate_name};
use super::{bridge, dnsmasq, host_bridge, paths};

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

pub(super) fn load(ctx: &Context, name: &str) -> Result<NetworkRow> {
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
    // Every project whose networks are this network's project's (a project without
    // features.networks uses default's).
    let owner = ctx.networks_project.clone();
    let per_project = ctx.db()?.read(|tx| {
        let mut out = Vec::new();
        for (p, _) in incus_db::project_names(tx)? {
            if incus_db::feature_project(tx, &p, "features.networks")?.1 != owner {
                continue;
            }
            out.push((
                p.clone(),
                incus_db::feature_project(tx, &p, "features.profiles")?.1,
                incus_db::instance_list(tx, &p)?,
                incus_db::profile_list(tx, &p)?,
            ));
        }
        Ok(out)
    })?;
    let suffix = |p: &str| {
        if p == "default" {
            String::new()
        } else {
            format!("?project={p}")
        }
    };
    let mut out = Vec::new();
    let mut seen_profiles = std::collections::HashSet::new();
    for (project, profiles_owner, instances, profiles) in &per_project {
        for p in profiles {
            if p.devices.values().any(|d| nic_uses(ctx, d, name)) && seen_profiles.insert(p.id) {
                out.push(format!(
                    "/1.0/profiles/{}{}",
                    p.name,
                    suffix(profiles_owner)
                ));
            }
        }
        for i in instances {
            let profs = i
                .profiles
                .iter()
                .filter_map(|n| profiles.iter().find(|p| &p.name == n));
            let (_, devices) = crate::profile::expand(profs, &i.config, &i.devices);
            if devices.values().any(|d| nic_uses(ctx, d, name)) {
                out.push(format!("/1.0/instances/{}{}", i.name, suffix(project)));
            }
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
        let id = ctx.db()?.write_durable(|tx| {
            crate::project::check_network(tx, &row.project)?;
            incus_db::network_create(tx, &row)
        })?;
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
        let profiles = crate::profile::load_all(ctx, &i.profiles)?;
        let (config, devices) = crate::profile::expand(&profiles, &i.config, &i.devices);
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
