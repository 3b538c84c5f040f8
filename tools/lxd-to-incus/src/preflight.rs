//! The preflight: every reason not to migrate, found at once from what LXD's API says
//! and a few facts about this host and the target. Pure: the unit tests feed it
//! recorded API answers.

use crate::lxd::LxdState;
use serde_json::Value;

/// Oldest LXD migrated (upstream's minimum; `--ignore-version-check` does not pass it).
pub const MIN_VERSION: (u64, u64) = (4, 0);
/// Newest LXD migrated without `--ignore-version-check` (5.18.x).
pub const MAX_VERSION: (u64, u64) = (5, 18);

/// Server keys Incus removed (upstream's list).
pub const REMOVED_SERVER_KEYS: &[&str] = &[
    "candid.api.key",
    "candid.api.url",
    "candid.domains",
    "candid.expiry",
    "core.trust_password",
    "maas.api.key",
    "maas.api.url",
    "rbac.agent.url",
    "rbac.agent.username",
    "rbac.agent.private_key",
    "rbac.agent.public_key",
    "rbac.api.expiry",
    "rbac.api.key",
    "rbac.api.url",
    "rbac.expiry",
];

/// Network keys of fan bridges (upstream's list).
pub const REMOVED_NETWORK_KEYS: &[&str] = &[
    "bridge.mode",
    "fan.overlay_subnet",
    "fan.underlay_subnet",
    "fan.type",
];

/// Instance and profile keys Incus removed or renamed (upstream's list).
pub const REMOVED_INSTANCE_KEYS: &[&str] = &[
    "boot.debug_edk2",
    "limits.network.priority",
    "security.devlxd",
    "security.devlxd.images",
];

/// Device keys Incus removed (MAAS).
pub const REMOVED_DEVICE_KEYS: &[&str] = &["maas.subnet.ipv4", "maas.subnet.ipv6"];

/// Storage drivers this toolkit has.
pub const DRIVERS: &[&str] = &["dir", "btrfs"];

/// What the preflight needs to know beyond LXD's answers.
#[derive(Debug, Clone, Default)]
pub struct Host {
    /// Running as root.
    pub root: bool,
    /// `--ignore-version-check`.
    pub ignore_version: bool,
    /// The `btrfs` command is on PATH.
    pub btrfs_tool: bool,
    /// The shiftfs kernel module is loaded (`/sys/module/shiftfs`).
    pub shiftfs_module: bool,
    /// LXD's daemon directory is a symlink.
    pub source_is_symlink: Option<String>,
    /// What the target already holds ("2 instances (c1, c2)", ...); empty when empty.
    pub target_contents: Vec<String>,
}

/// The outcome: refusals, and warnings that do not stop the migration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

/// "5.0.2" -> (5, 0); None when unparsable.
pub fn parse_version(v: &str) -> Option<(u64, u64)> {
    let mut it = v.trim().split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next().unwrap_or("0").parse().ok()?;
    Some((major, minor))
}

/// True when LXD holds nothing worth migrating (upstream's test: one project, one
/// profile, no instance, no pool, no managed network).
pub fn source_empty(st: &LxdState) -> bool {
    st.projects.len() <= 1
        && st
            .projects
            .iter()
            .all(|p| p.profiles.len() <= 1 && p.instances.is_empty())
        && st.storage_pools.is_empty()
        && !st
            .networks
            .iter()
            .any(|n| n["managed"] == Value::Bool(true))
}

fn keys_of(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flatten()
}

/// Every check, every problem.
pub fn check(st: &LxdState, host: &Host) -> Report {
    let mut r = Report::default();
    let p = &mut r.problems;
    if !host.root {
        p.push("This tool must be run as root".into());
    }

    // Version.
    let env = &st.server["environment"];
    let version = s(env, "server_version");
    match parse_version(version) {
        None => p.push(format!("Couldn't parse source server version {version:?}")),
        Some(v) if v < MIN_VERSION => p.push(format!(
            "LXD version {version} is lower than minimal version {}.{}",
            MIN_VERSION.0, MIN_VERSION.1
        )),
        Some(v) if v > MAX_VERSION && !host.ignore_version => p.push(format!(
            "LXD version {version} is newer than maximum version {}.{} (--ignore-version-check to try anyway)",
            MAX_VERSION.0, MAX_VERSION.1
        )),
        Some(v) if v > MAX_VERSION => r
            .warnings
            .push("User asked to bypass version check".to_string()),
        Some(_) => {}
    }

    // Projects: the migration moves the default project only.
    let others: Vec<&str> = st
        .projects
        .iter()
        .map(|ps| s(&ps.project, "name"))
        .filter(|n| *n != "default")
        .collect();
    if !others.is_empty() {
        p.push(format!(
            "Source server has projects other than \"default\" ({}): this version migrates the default project only",
            others.join(", ")
        ));
    }

    // Names become paths and rows here: each must be one we accept (a crafted answer
    // such as "../x" never reaches a rename).
    let mut name_problem = |r: incus_api::Result<()>| {
        if let Err(e) = r {
            p.push(format!(
                "Source server has an object this toolkit cannot hold: {}",
                e.message
            ));
        }
    };
    use incus_core::names::{validate_instance_name, validate_object_name, validate_snapshot_name};
    for ps in &st.projects {
        for i in &ps.instances {
            let inst = s(i, "name");
            name_problem(validate_instance_name(inst));
            if s(i, "type") == "virtual-machine" {
                name_problem(Err(incus_api::Error::unsupported(format!(
                    "virtual machine \"{}\" (this version migrates containers only)",
                    inst.escape_debug()
                ))));
            }
            for sn in i["snapshots"].as_array().into_iter().flatten() {
                // "INSTANCE/SNAP", one slash (the snapshot rule refuses '/').
                let full = s(sn, "name");
                let snap = full.strip_prefix(&format!("{inst}/")).unwrap_or(full);
                name_problem(validate_snapshot_name(snap));
            }
        }
        for pr in &ps.profiles {
            name_problem(validate_object_name("profile", s(pr, "name")));
        }
        for img in &ps.images {
            let fp = s(img, "fingerprint");
            if fp.len() != 64 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
                name_problem(Err(incus_api::Error::invalid(format!(
                    "Invalid image fingerprint \"{}\"",
                    fp.escape_debug()
                ))));
            }
        }
    }
    for n in &st.networks {
        if n["managed"] == Value::Bool(true) {
            name_problem(validate_object_name("network", s(n, "name")));
        }
    }
    for pool in &st.storage_pools {
        name_problem(validate_object_name("storage pool", s(pool, "name")));
        for v in pool["volumes"].as_array().into_iter().flatten() {
            let name = s(v, "name");
            if s(v, "type") == "image" {
                // A pool's cached image volume, named by its fingerprint.
                if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
                    name_problem(Err(incus_api::Error::invalid(format!(
                        "Invalid image volume name \"{}\"",
                        name.escape_debug()
                    ))));
                }
                continue;
            }
            match name.split_once('/') {
                Some((vol, snap)) => {
                    name_problem(validate_object_name("storage volume", vol));
                    name_problem(validate_snapshot_name(snap));
                }
                None => name_problem(validate_object_name("storage volume", name)),
            }
        }
    }

    // Clustering.
    if env["server_clustered"] == Value::Bool(true) {
        p.push(format!(
            "LXD is clustered (member {:?}): clusters are not supported by this toolkit",
            s(env, "server_name")
        ));
    }

    // Source and target.
    if source_empty(st) {
        p.push("Source server is empty, migration not needed".into());
    }
    if !host.target_contents.is_empty() {
        p.push(format!(
            "Target server isn't empty ({} found), can't proceed with migration",
            host.target_contents.join(", ")
        ));
    }
    if let Some(path) = &host.source_is_symlink {
        p.push(format!(
            "The source path {path:?} is a symlink. Incus does not support its daemon directory being a symlink, please switch to a bind-mount."
        ));
    }

    // Server configuration.
    let config = &st.server["config"];
    for (k, v) in keys_of(config) {
        // LXD answers some keys as booleans (core.trust_password: true); the removed
        // ones are reported below, once.
        if !v.is_string() && !REMOVED_SERVER_KEYS.contains(&k.as_str()) {
            p.push(format!(
                "Source server configuration key {k:?} is not a string ({v}): unset it with `lxc config unset {k}`"
            ));
        }
    }
    for key in REMOVED_SERVER_KEYS {
        if config.get(key).is_some() {
            p.push(format!(
                "Source server is using deprecated server configuration key {key:?}"
            ));
        }
    }

    // Networks.
    for n in &st.networks {
        if n["managed"] != Value::Bool(true) {
            continue;
        }
        for key in REMOVED_NETWORK_KEYS {
            if n["config"].get(key).is_some() {
                let what = if *key == "bridge.mode" && s(&n["config"], key) == "fan" {
                    " (a fan bridge)"
                } else {
                    ""
                };
                p.push(format!(
                    "Source server has network {:?} using deprecated configuration key {key:?}{what}",
                    s(n, "name")
                ));
            }
        }
    }

    // Storage pools.
    for pool in &st.storage_pools {
        let (name, driver) = (s(pool, "name"), s(pool, "driver"));
        if !DRIVERS.contains(&driver) {
            p.push(format!(
                "Storage pool {name:?} uses driver {driver:?}, which this toolkit does not have (only {})",
                DRIVERS.join(" and ")
            ));
        }
        if driver == "btrfs" && !host.btrfs_tool {
            p.push(format!(
                "Required command \"btrfs\" is missing for storage pool {name:?} (install btrfs-progs)"
            ));
        }
    }

    // Instances and profiles of every project.
    let mut shifted = Vec::new();
    for ps in &st.projects {
        let project = s(&ps.project, "name");
        for (what, objs) in [("instance", &ps.instances), ("profile", &ps.profiles)] {
            for o in objs.iter() {
                let name = s(o, "name");
                for key in REMOVED_INSTANCE_KEYS {
                    if o["config"].get(key).is_some() {
                        p.push(format!(
                            "Source server has {what} {name:?} in project {project:?} using deprecated configuration key {key:?}"
                        ));
                    }
                }
                for (dev, d) in keys_of(&o["devices"]) {
                    for key in REMOVED_DEVICE_KEYS {
                        if d.get(key).is_some() {
                            p.push(format!(
                                "Source server has device {dev:?} for {what} {name:?} in project {project:?} using deprecated configuration key {key:?}"
                            ));
                        }
                    }
                    if s(d, "type") == "disk" && s(d, "shift") == "true" {
                        shifted.push(format!("device {dev:?} of {what} {name:?}"));
                    }
                }
            }
        }
    }
    for pool in &st.storage_pools {
        for v in pool["volumes"].as_array().into_iter().flatten() {
            if s(&v["config"], "security.shifted") == "true" {
                shifted.push(format!(
                    "volume {:?} of pool {:?}",
                    s(v, "name"),
                    s(pool, "name")
                ));
            }
        }
    }
    let shiftfs_kernel = s(&env["kernel_features"], "shiftfs") == "true";
    if (host.shiftfs_module || shiftfs_kernel) && !shifted.is_empty() {
        p.push(format!(
            "shiftfs is in use ({}): this toolkit does not support shiftfs, only idmapped mounts",
            shifted.join(", ")
        ));
    } else if host.shiftfs_module {
        r.warnings.push(
            "The shiftfs kernel module was detected on your system; nothing LXD holds asks for it, but Incus does not support shiftfs (it relies on VFS idmapped mounts)".into(),
        );
    }
    r
}
