//! `admin init`: `--minimal` and `--preseed` for what exists so far.

use crate::{profile, server, storage, Context, Error, Result};
use incus_api::{Config, Devices, ProfilePut};
use serde::Deserialize;

/// The preseed document (the parts we support; unknown top-level keys are refused).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preseed {
    #[serde(default)]
    pub config: Config,
    #[serde(default)]
    pub storage_pools: Vec<PreseedPool>,
    #[serde(default)]
    pub profiles: Vec<PreseedProfile>,
    #[serde(default)]
    pub networks: Vec<PreseedNetwork>,
    #[serde(default)]
    pub projects: Vec<serde_yaml_ng::Value>,
    #[serde(default)]
    pub cluster: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreseedPool {
    pub name: String,
    pub driver: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub config: Config,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreseedNetwork {
    pub name: String,
    #[serde(default, rename = "type")]
    pub network_type: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub config: Config,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreseedProfile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub config: Config,
    #[serde(default)]
    pub devices: Devices,
}

/// `admin init --minimal`: a `default` dir pool and a root disk in the default
/// profile. Idempotent: what exists is left as it is.
pub fn init_minimal(ctx: &Context) -> Result<()> {
    // Devices already in the default profile (e.g. eth0 from `--network`) stay.
    let mut devices = profile::get(ctx, "default")
        .map(|p| p.devices)
        .unwrap_or_default();
    devices.entry("root".to_string()).or_insert_with(|| {
        [
            ("type".to_string(), "disk".to_string()),
            ("path".to_string(), "/".to_string()),
            ("pool".to_string(), "default".to_string()),
        ]
        .into()
    });
    let preseed = Preseed {
        storage_pools: vec![PreseedPool {
            name: "default".into(),
            driver: "dir".into(),
            ..Default::default()
        }],
        profiles: vec![PreseedProfile {
            name: "default".into(),
            description: "Default Incus profile".into(),
            devices,
            ..Default::default()
        }],
        ..Default::default()
    };
    apply_preseed(ctx, &preseed)
}

/// Parses a preseed YAML document.
pub fn parse_preseed(text: &str) -> Result<Preseed> {
    serde_yaml_ng::from_str(text).map_err(|e| Error::invalid(format!("Invalid preseed: {e}")))
}

/// Applies a preseed: server config, pools (created when missing), profiles (created
/// or updated). Everything is validated before anything changes.
pub fn apply_preseed(ctx: &Context, p: &Preseed) -> Result<()> {
    if p.cluster.is_some() {
        return Err(Error::unsupported("Clustering is not supported"));
    }
    if !p.projects.is_empty() {
        return Err(Error::unsupported(
            "Only the default project exists for now",
        ));
    }
    // Validate all first: nothing half-applied.
    for (k, v) in &p.config {
        incus_api::keys::validate_server(k, v)?;
    }
    for pool in &p.storage_pools {
        crate::names::validate_object_name("storage pool", &pool.name)?;
        storage::driver(&pool.driver)?.validate_config(&pool.config)?;
    }
    for net in &p.networks {
        crate::network::validate_name(&net.name)?;
        crate::network::validate_config(&net.config)?;
        if !net.project.is_empty() && net.project != "default" {
            return Err(Error::unsupported(
                "Only the default project exists for now",
            ));
        }
    }
    for prof in &p.profiles {
        crate::names::validate_object_name("profile", &prof.name)?;
        profile::validate(&prof.config, &prof.devices)?;
    }
    let _lock = ctx.lock_global()?;
    server::set_keys(ctx, &p.config)?;
    for pool in &p.storage_pools {
        match storage::pool_get(ctx, &pool.name) {
            Ok(existing) => {
                if existing.driver != pool.driver {
                    return Err(Error::conflict(format!(
                        "Storage pool \"{}\" exists with driver \"{}\"",
                        pool.name, existing.driver
                    )));
                }
            }
            Err(e) if e.kind == crate::ErrorKind::NotFound => {
                storage::pool_create(
                    ctx,
                    &pool.name,
                    &pool.driver,
                    pool.config.clone(),
                    &pool.description,
                )?;
            }
            Err(e) => return Err(e),
        }
    }
    // Networks before profiles: profile NICs refer to them.
    for net in &p.networks {
        match crate::network::get(ctx, &net.name) {
            Ok(_) => {
                crate::network::update(
                    ctx,
                    &net.name,
                    incus_api::NetworkPut {
                        config: net.config.clone(),
                        description: net.description.clone(),
                    },
                )?;
            }
            Err(e) if e.kind == crate::ErrorKind::NotFound => {
                crate::network::create(
                    ctx,
                    &net.name,
                    &net.network_type,
                    net.config.clone(),
                    &net.description,
                )?;
            }
            Err(e) => return Err(e),
        }
    }
    for prof in &p.profiles {
        let put = ProfilePut {
            config: prof.config.clone(),
            description: prof.description.clone(),
            devices: prof.devices.clone(),
        };
        match profile::get(ctx, &prof.name) {
            Ok(_) => {
                profile::update(ctx, &prof.name, put)?;
            }
            Err(e) if e.kind == crate::ErrorKind::NotFound => {
                profile::create(ctx, &prof.name, put)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `admin init --minimal --network`: upstream's default network, a bridge `incusbrN`
/// (first free N) with `ipv4.address=auto` and NAT, and `eth0` on it in the default
/// profile; only when no managed network exists and the default profile has no NIC.
pub fn init_network(ctx: &Context) -> Result<()> {
    let _lock = ctx.lock_global()?;
    let nets = crate::network::list(ctx)?;
    let prof = profile::get(ctx, "default")?;
    let has_nic = prof
        .devices
        .values()
        .any(|d| d.get("type").map(String::as_str) == Some("nic"));
    if !nets.is_empty() || has_nic {
        return Ok(());
    }
    let name = (0..100)
        .map(|n| format!("incusbr{n}"))
        .find(|n| {
            !std::path::Path::new("/sys/class/net")
                .join(crate::network::host_bridge(ctx, n))
                .exists()
        })
        .ok_or_else(|| Error::conflict("No free incusbrN name"))?;
    let config: Config = [
        ("ipv4.address".to_string(), "auto".to_string()),
        ("ipv6.address".to_string(), "none".to_string()),
    ]
    .into();
    crate::network::create(ctx, &name, "bridge", config, "")?;
    let nic: Config = [
        ("type".to_string(), "nic".to_string()),
        ("network".to_string(), name.clone()),
        ("name".to_string(), "eth0".to_string()),
    ]
    .into();
    if let Err(e) = profile::device_add(ctx, "default", "eth0", nic) {
        let _ = crate::network::delete(ctx, &name);
        return Err(e);
    }
    Ok(())
}
