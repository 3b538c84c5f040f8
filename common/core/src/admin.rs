//! `admin init`: `--minimal` and `--preseed` for what exists so far.

use crate::{profile, server, storage, Context, Error, Result};
use incus_api::{Config, Devices, ProfilePut};
use serde::{Deserialize, Serialize};

/// The preseed document (upstream's `InitPreseed` without clustering; unknown
/// top-level keys are refused).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Preseed {
    #[serde(default, skip_serializing_if = "Config::is_empty")]
    pub config: Config,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<PreseedNetwork>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage_pools: Vec<PreseedPool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage_volumes: Vec<PreseedVolume>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<PreseedProfile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<PreseedProject>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<PreseedCertificate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<serde_yaml_ng::Value>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PreseedPool {
    pub name: String,
    pub driver: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub config: Config,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PreseedNetwork {
    pub name: String,
    #[serde(default, rename = "type")]
    pub network_type: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub project: String,
    #[serde(default)]
    pub config: Config,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PreseedProfile {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub project: String,
    #[serde(default)]
    pub config: Config,
    #[serde(default)]
    pub devices: Devices,
}

/// A custom volume (upstream's `InitStorageVolumesProjectPost`).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PreseedVolume {
    pub name: String,
    pub pool: String,
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub volume_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub content_type: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub project: String,
    #[serde(default)]
    pub config: Config,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PreseedProject {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub config: Config,
}

/// A trusted certificate (upstream's `CertificatesPost`).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PreseedCertificate {
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub cert_type: String,
    #[serde(default)]
    pub restricted: bool,
    #[serde(default)]
    pub projects: Vec<String>,
    pub certificate: String,
    #[serde(default)]
    pub description: String,
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

/// What a preseed run changed, undone in reverse order when a later step fails.
enum Undo {
    Config(Config),
    PoolCreated(String),
    PoolUpdated(String, Config, String),
    NetworkCreated(String),
    NetworkUpdated(String, incus_api::NetworkPut),
    VolumeCreated(String, String),
    VolumeUpdated(String, String, Config, String),
    ProfileCreated(String),
    ProfileUpdated(String, ProfilePut),
    CertificateAdded(String),
}

fn undo(ctx: &Context, steps: Vec<Undo>) {
    for step in steps.into_iter().rev() {
        let _ = match step {
            Undo::Config(old) => server::set_keys(ctx, &old),
            Undo::PoolCreated(n) => storage::pool_delete(ctx, &n),
            Undo::PoolUpdated(n, c, d) => storage::pool_update(ctx, &n, c, &d).map(|_| ()),
            Undo::NetworkCreated(n) => crate::network::delete(ctx, &n),
            Undo::NetworkUpdated(n, put) => crate::network::update(ctx, &n, put).map(|_| ()),
            Undo::VolumeCreated(p, n) => storage::volume::delete(ctx, &p, &n),
            Undo::VolumeUpdated(p, n, c, d) => {
                storage::volume::update(ctx, &p, &n, c, &d).map(|_| ())
            }
            Undo::ProfileCreated(n) => profile::delete(ctx, &n),
            Undo::ProfileUpdated(n, put) => profile::update(ctx, &n, put).map(|_| ()),
            Undo::CertificateAdded(fp) => crate::trust::remove(ctx, &fp),
        };
    }
}

fn only_default_project(what: &str, project: &str) -> Result<()> {
    if project.is_empty() || project == "default" {
        Ok(())
    } else {
        Err(Error::unsupported(format!(
            "{what}: project \"{project}\" does not exist (only the default project exists here)"
        )))
    }
}

/// Merges `new` into `old` (upstream's preseed update of an existing object).
fn merged(old: &Config, new: &Config) -> Config {
    let mut c = old.clone();
    c.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
    c
}

/// Applies a preseed: server config, networks, pools, custom volumes, profiles and
/// certificates, each created when missing or updated (config merged) when present,
/// so applying the same document twice changes nothing the second time. Everything
/// is validated before anything changes; when a step still fails, what this run
/// created is deleted and what it updated is put back.
pub fn apply_preseed(ctx: &Context, p: &Preseed) -> Result<()> {
    if p.cluster.is_some() {
        return Err(Error::unsupported("Clustering is not supported"));
    }
    // Validate all first: nothing half-applied.
    for proj in &p.projects {
        only_default_project("Project", &proj.name)?;
        if !proj.config.is_empty() {
            return Err(Error::unsupported(
                "Project configuration is not supported (only the default project exists here)",
            ));
        }
    }
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
        only_default_project("Network", &net.project)?;
    }
    for vol in &p.storage_volumes {
        crate::names::validate_object_name("storage volume", &vol.name)?;
        only_default_project("Storage volume", &vol.project)?;
        if !(vol.volume_type.is_empty() || vol.volume_type == "custom") {
            return Err(Error::invalid(format!(
                "Storage volume \"{}\": only custom volumes can be preseeded",
                vol.name
            )));
        }
        if !(vol.content_type.is_empty() || vol.content_type == "filesystem") {
            return Err(Error::unsupported(format!(
                "Storage volume \"{}\": content type \"{}\" is not supported",
                vol.name, vol.content_type
            )));
        }
        for (k, v) in &vol.config {
            storage::volume::validate_volume_key(k, v)?;
        }
        let known = p.storage_pools.iter().any(|x| x.name == vol.pool)
            || storage::pool_get(ctx, &vol.pool).is_ok();
        if !known {
            return Err(Error::not_found(format!(
                "Storage volume \"{}\": storage pool \"{}\" not found",
                vol.name, vol.pool
            )));
        }
    }
    for prof in &p.profiles {
        crate::names::validate_object_name("profile", &prof.name)?;
        only_default_project("Profile", &prof.project)?;
        profile::validate(&prof.config, &prof.devices)?;
    }
    let mut certs = Vec::new();
    for c in &p.certificates {
        let der = crate::trust::cert_der(c.certificate.as_bytes())?;
        for proj in &c.projects {
            only_default_project("Certificate", proj)?;
        }
        certs.push((crate::trust::fingerprint(&der), c));
    }
    let _lock = ctx.lock_global()?;
    let mut done = Vec::new();
    match apply_steps(ctx, p, &certs, &mut done) {
        Ok(()) => Ok(()),
        Err(e) => {
            undo(ctx, done);
            Err(e)
        }
    }
}

fn apply_steps(
    ctx: &Context,
    p: &Preseed,
    certs: &[(String, &PreseedCertificate)],
    done: &mut Vec<Undo>,
) -> Result<()> {
    let old = server::config(ctx)?;
    let changed: Config = p
        .config
        .iter()
        .filter(|(k, v)| old.get(*k).map(String::as_str).unwrap_or("") != v.as_str())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !changed.is_empty() {
        let before: Config = changed
            .keys()
            .map(|k| (k.clone(), old.get(k).cloned().unwrap_or_default()))
            .collect();
        server::set_keys(ctx, &changed)?;
        done.push(Undo::Config(before));
    }
    for pool in &p.storage_pools {
        match storage::pool_get(ctx, &pool.name) {
            Ok(existing) => {
                if existing.driver != pool.driver {
                    return Err(Error::conflict(format!(
                        "Storage pool \"{}\" exists with driver \"{}\"",
                        pool.name, existing.driver
                    )));
                }
                let config = merged(&existing.config, &pool.config);
                let description = if pool.description.is_empty() {
                    existing.description.clone()
                } else {
                    pool.description.clone()
                };
                if config != existing.config || description != existing.description {
                    storage::pool_update(ctx, &pool.name, config, &description)?;
                    done.push(Undo::PoolUpdated(
                        pool.name.clone(),
                        existing.config,
                        existing.description,
                    ));
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
                done.push(Undo::PoolCreated(pool.name.clone()));
            }
            Err(e) => return Err(e),
        }
    }
    // Networks before profiles: profile NICs refer to them.
    for net in &p.networks {
        match crate::network::get(ctx, &net.name) {
            Ok(existing) => {
                let put = incus_api::NetworkPut {
                    config: merged(&existing.config, &net.config),
                    description: if net.description.is_empty() {
                        existing.description.clone()
                    } else {
                        net.description.clone()
                    },
                };
                let old = incus_api::NetworkPut::from(&existing);
                if put.config != old.config || put.description != old.description {
                    crate::network::update(ctx, &net.name, put)?;
                    done.push(Undo::NetworkUpdated(net.name.clone(), old));
                }
            }
            Err(e) if e.kind == crate::ErrorKind::NotFound => {
                crate::network::create(
                    ctx,
                    &net.name,
                    &net.network_type,
                    net.config.clone(),
                    &net.description,
                )?;
                done.push(Undo::NetworkCreated(net.name.clone()));
            }
            Err(e) => return Err(e),
        }
    }
    for vol in &p.storage_volumes {
        match storage::volume::get(ctx, &vol.pool, storage::VolumeType::Custom, &vol.name) {
            Ok(existing) => {
                let config = merged(&existing.config, &vol.config);
                let description = if vol.description.is_empty() {
                    existing.description.clone()
                } else {
                    vol.description.clone()
                };
                if config != existing.config || description != existing.description {
                    storage::volume::update(ctx, &vol.pool, &vol.name, config, &description)?;
                    done.push(Undo::VolumeUpdated(
                        vol.pool.clone(),
                        vol.name.clone(),
                        existing.config,
                        existing.description,
                    ));
                }
            }
            Err(e) if e.kind == crate::ErrorKind::NotFound => {
                storage::volume::create(
                    ctx,
                    &vol.pool,
                    &vol.name,
                    vol.config.clone(),
                    &vol.description,
                )?;
                done.push(Undo::VolumeCreated(vol.pool.clone(), vol.name.clone()));
            }
            Err(e) => return Err(e),
        }
    }
    for prof in &p.profiles {
        match profile::get(ctx, &prof.name) {
            Ok(existing) => {
                let old = ProfilePut::from(&existing);
                let put = ProfilePut {
                    config: merged(&existing.config, &prof.config),
                    description: if prof.description.is_empty() {
                        existing.description.clone()
                    } else {
                        prof.description.clone()
                    },
                    devices: {
                        let mut d = existing.devices.clone();
                        d.extend(prof.devices.clone());
                        d
                    },
                };
                if put != old {
                    profile::update(ctx, &prof.name, put)?;
                    done.push(Undo::ProfileUpdated(prof.name.clone(), old));
                }
            }
            Err(e) if e.kind == crate::ErrorKind::NotFound => {
                let put = ProfilePut {
                    config: prof.config.clone(),
                    description: prof.description.clone(),
                    devices: prof.devices.clone(),
                };
                profile::create(ctx, &prof.name, put)?;
                done.push(Undo::ProfileCreated(prof.name.clone()));
            }
            Err(e) => return Err(e),
        }
    }
    for (fp, c) in certs {
        if crate::trust::get(ctx, fp).is_ok() {
            continue;
        }
        crate::trust::add(
            ctx,
            c.certificate.as_bytes(),
            &crate::trust::AddOptions {
                name: c.name.clone(),
                cert_type: c.cert_type.clone(),
                restricted: c.restricted,
                projects: c.projects.clone(),
                description: c.description.clone(),
            },
        )?;
        done.push(Undo::CertificateAdded(fp.clone()));
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

/// `admin init --auto` options (upstream's flags).
#[derive(Debug, Clone, Default)]
pub struct AutoOptions {
    /// `--storage-backend` (dir or btrfs; default dir).
    pub storage_backend: String,
    /// `--storage-create-loop`: size in GiB of a new loop file.
    pub storage_create_loop: Option<u64>,
    /// `--storage-create-device`: an empty block device.
    pub storage_create_device: String,
    /// `--storage-pool`: an existing source, or the pool's name with a loop/device.
    pub storage_pool: String,
    /// `--network-address` and `--network-port` (default 8443).
    pub network_address: String,
    pub network_port: Option<u16>,
}

/// `HOST:PORT` as upstream writes `core.https_address` (IPv6 in brackets; `::`
/// for all addresses).
pub fn https_address(addr: &str, port: u16) -> String {
    let addr = if addr == "all" { "::" } else { addr };
    if addr.contains(':') && !addr.starts_with('[') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

/// Upstream's `RunAuto` checks and the preseed it builds (the bridge, created
/// when no managed network exists and the default profile has no NIC, is made
/// separately by [`init_network`]).
pub fn auto_preseed(ctx: &Context, o: &AutoOptions) -> Result<Preseed> {
    let backend = if o.storage_backend.is_empty() {
        "dir"
    } else {
        o.storage_backend.as_str()
    };
    if !["dir", "btrfs", "lvm", "zfs"].contains(&backend) {
        return Err(Error::invalid(format!(
            "The requested backend '{backend}' isn't supported by init"
        )));
    }
    storage::driver(backend).map_err(|_| {
        Error::unsupported(format!(
            "The requested backend '{backend}' isn't available on your system (missing tools)"
        ))
    })?;
    if backend == "dir" {
        if o.storage_create_loop.is_some()
            || !o.storage_create_device.is_empty()
            || !o.storage_pool.is_empty()
        {
            return Err(Error::invalid("None of --storage-pool, --storage-create-device or --storage-create-loop may be used with the 'dir' backend"));
        }
    } else if o.storage_create_loop.is_some() && !o.storage_create_device.is_empty() {
        return Err(Error::invalid(
            "Only one of --storage-create-device or --storage-create-loop can be specified",
        ));
    }
    if o.network_address.is_empty() && o.network_port.is_some() {
        return Err(Error::invalid(
            "--network-port can't be used without --network-address",
        ));
    }
    if o.storage_create_loop == Some(0) {
        return Err(Error::invalid("Minimum size is 1GiB"));
    }
    let pools = storage::pool_list(ctx)?;
    let storage_flags = !o.storage_backend.is_empty()
        || o.storage_create_loop.is_some()
        || !o.storage_create_device.is_empty()
        || !o.storage_pool.is_empty();
    if !pools.is_empty() && storage_flags {
        return Err(Error::conflict("Storage has already been configured"));
    }
    let mut p = Preseed::default();
    if !o.network_address.is_empty() {
        p.config.insert(
            "core.https_address".into(),
            https_address(&o.network_address, o.network_port.unwrap_or(8443)),
        );
    }
    if pools.is_empty() {
        let mut pool = PreseedPool {
            name: "default".into(),
            driver: backend.into(),
            ..Default::default()
        };
        if !o.storage_create_device.is_empty() {
            pool.config
                .insert("source".into(), o.storage_create_device.clone());
        } else if let Some(gib) = o.storage_create_loop {
            pool.config.insert("size".into(), format!("{gib}GiB"));
        } else if !o.storage_pool.is_empty() {
            pool.config.insert("source".into(), o.storage_pool.clone());
        }
        // With a device or a loop, --storage-pool names the new pool.
        if !o.storage_pool.is_empty()
            && (!o.storage_create_device.is_empty() || o.storage_create_loop.is_some())
        {
            pool.name = o.storage_pool.clone();
        }
        let mut devices = profile::get(ctx, "default")
            .map(|p| p.devices)
            .unwrap_or_default();
        devices.entry("root".into()).or_insert_with(|| {
            [
                ("type".to_string(), "disk".to_string()),
                ("path".to_string(), "/".to_string()),
                ("pool".to_string(), pool.name.clone()),
            ]
            .into()
        });
        p.profiles.push(PreseedProfile {
            name: "default".into(),
            devices,
            ..Default::default()
        });
        p.storage_pools.push(pool);
    }
    Ok(p)
}

/// `admin init --dump`: the current configuration as a preseed document.
pub fn dump(ctx: &Context) -> Result<Preseed> {
    let mut p = Preseed {
        config: server::config(ctx)?,
        ..Default::default()
    };
    for n in crate::network::list(ctx)? {
        p.networks.push(PreseedNetwork {
            name: n.name,
            network_type: n.network_type,
            description: n.description,
            project: String::new(),
            config: n.config,
        });
    }
    for pool in storage::pool_list(ctx)? {
        for v in storage::volume::list(ctx, &pool.name)? {
            if v.volume_type != "custom" || v.name.contains('/') {
                continue;
            }
            p.storage_volumes.push(PreseedVolume {
                name: v.name,
                pool: pool.name.clone(),
                volume_type: "custom".into(),
                content_type: v.content_type,
                description: v.description,
                project: String::new(),
                config: v.config,
            });
        }
        p.storage_pools.push(PreseedPool {
            name: pool.name,
            driver: pool.driver,
            description: pool.description,
            config: pool.config,
        });
    }
    for prof in profile::list(ctx)? {
        p.profiles.push(PreseedProfile {
            name: prof.name,
            description: prof.description,
            project: String::new(),
            config: prof.config,
            devices: prof.devices,
        });
    }
    p.projects.push(PreseedProject {
        name: "default".into(),
        description: "Default Incus project".into(),
        config: Config::new(),
    });
    Ok(p)
}
