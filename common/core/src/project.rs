//! Projects (upstream's multi-tenancy): create, update, rename, delete, their features
//! and their limits. Every rule lives here, so the tools and the REST API obey the same.
//!
//! What a project holds is found through `incus_db`: instances always in their
//! project; profiles, images (and aliases), custom volumes and networks in the project
//! when its `features.*` key is true, else in `default`. Host-wide names (volume
//! directories, run and log directories, locks, cgroups, veths) are `PROJECT_NAME`
//! outside `default` ([`crate::names::project_prefixed`]).

use crate::{events, Context, Error, Result};
use incus_api::{keys, Config, Project};
use incus_db::{ProjectRow, Tx};

/// The default project's name.
pub const DEFAULT: &str = "default";

/// The feature keys, as upstream 6.0.
pub const FEATURES: &[&str] = &[
    "features.images",
    "features.networks",
    "features.networks.zones",
    "features.profiles",
    "features.storage.buckets",
    "features.storage.volumes",
];

/// Features a new project gets when its config does not say (upstream's initial values).
const NEW_PROJECT_FEATURES: &[&str] = &[
    "features.images",
    "features.profiles",
    "features.storage.buckets",
    "features.storage.volumes",
];

/// Count limits: key -> what is counted.
const COUNT_LIMITS: &[(&str, &str)] = &[
    ("limits.instances", "instances"),
    ("limits.containers", "containers"),
    ("limits.virtual-machines", "virtual-machines"),
    ("limits.networks", "networks"),
];

/// `restricted.*` keys and their allowed values (upstream 6.0).
const RESTRICTED: &[(&str, &[&str])] = &[
    ("restricted.backups", &["block", "allow"]),
    ("restricted.cluster.target", &["block", "allow"]),
    (
        "restricted.containers.interception",
        &["block", "allow", "full"],
    ),
    ("restricted.containers.lowlevel", &["block", "allow"]),
    ("restricted.containers.nesting", &["block", "allow"]),
    (
        "restricted.containers.privilege",
        &["unprivileged", "isolated", "allow"],
    ),
    ("restricted.devices.disk", &["block", "allow", "managed"]),
    ("restricted.devices.gpu", &["block", "allow"]),
    ("restricted.devices.infiniband", &["block", "allow"]),
    ("restricted.devices.nic", &["block", "allow", "managed"]),
    ("restricted.devices.pci", &["block", "allow"]),
    ("restricted.devices.proxy", &["block", "allow"]),
    ("restricted.devices.unix-block", &["block", "allow"]),
    ("restricted.devices.unix-char", &["block", "allow"]),
    ("restricted.devices.unix-hotplug", &["block", "allow"]),
    ("restricted.devices.usb", &["block", "allow"]),
    ("restricted.networks.subnets", &[]),
    ("restricted.networks.zones", &[]),
    ("restricted.snapshots", &["block", "allow"]),
    ("restricted.virtual-machines.lowlevel", &["block", "allow"]),
];

/// Free-form keys (lists, ranges) checked only for being strings.
const FREE_KEYS: &[&str] = &[
    "restricted.cluster.groups",
    "restricted.devices.disk.paths",
    "restricted.idmap.uid",
    "restricted.idmap.gid",
    "restricted.networks.access",
    "restricted.networks.integrations",
    "restricted.networks.uplinks",
    "backups.compression_algorithm",
    "images.compression_algorithm",
    "images.default_architecture",
];

/// Upstream's name rules for projects.
pub fn validate_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid("No name provided"));
    }
    if name.contains('/') {
        return Err(Error::invalid("Project names may not contain slashes"));
    }
    if name.contains(' ') {
        return Err(Error::invalid("Project names may not contain spaces"));
    }
    if name.contains('_') {
        return Err(Error::invalid("Project names may not contain underscores"));
    }
    if name.contains('\'') || name.contains('"') {
        return Err(Error::invalid("Project names may not contain quotes"));
    }
    if name == "*" {
        return Err(Error::invalid("Reserved project name"));
    }
    if name == "." || name == ".." {
        return Err(Error::invalid(format!("Invalid project name \"{name}\"")));
    }
    if name.len() > 63 || name.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(format!(
            "Invalid project name \"{}\": at most 63 characters, no control characters",
            name.escape_debug()
        )));
    }
    Ok(())
}

/// Checks every key and value of a project config (upstream's messages).
pub fn validate_config(config: &Config) -> Result<()> {
    for (k, v) in config {
        let bad = |why: String| {
            Err(Error::invalid(format!(
                "Invalid project configuration key \"{k}\" value: {why}"
            )))
        };
        if FEATURES.contains(&k.as_str()) || k == "restricted" || k == "images.auto_update_cached" {
            if !v.is_empty() && keys::parse_bool(v).is_none() {
                return bad(format!("Invalid value for a boolean \"{v}\""));
            }
        } else if COUNT_LIMITS.iter().any(|(key, _)| key == k)
            || matches!(
                k.as_str(),
                "limits.cpu"
                    | "limits.processes"
                    | "images.auto_update_interval"
                    | "images.remote_cache_expiry"
            )
        {
            if !v.is_empty() && v.parse::<u32>().is_err() {
                return bad(format!("Invalid value for uint32 \"{v}\""));
            }
        } else if k == "limits.memory" || k == "limits.disk" {
            if !v.is_empty() {
                if k == "limits.memory" {
                    if let Err(e) = keys::MemoryLimit::parse(v) {
                        return bad(e.message);
                    }
                } else if let Err(e) = keys::parse_size(v) {
                    return bad(e.message);
                }
            }
        } else if let Some((_, allowed)) = RESTRICTED.iter().find(|(key, _)| key == k) {
            if !v.is_empty() && !allowed.is_empty() && !allowed.contains(&v.as_str()) {
                return bad(format!(
                    "Invalid value \"{v}\" (one of {})",
                    allowed.join(", ")
                ));
            }
        } else if FREE_KEYS.contains(&k.as_str()) || k.starts_with("user.") {
        } else {
            return Err(Error::invalid(format!(
                "Invalid project configuration key \"{k}\""
            )));
        }
    }
    Ok(())
}

/// A project's lifecycle event, recorded in that project.
fn event(
    ctx: &Context,
    project: &str,
    action: &str,
    source: &str,
    extra: serde_json::Value,
) -> Result<()> {
    ctx.db()?
        .write(|tx| events::record(tx, project, action, source, extra))
}

fn flag(config: &Config, key: &str) -> bool {
    config
        .get(key)
        .and_then(|v| keys::parse_bool(v))
        .unwrap_or(false)
}

fn to_api(tx: &Tx, row: ProjectRow) -> Result<Project> {
    let used_by = incus_db::project_used_by(tx, row.id, &row.name)?;
    Ok(Project {
        config: row.config,
        description: row.description,
        name: row.name,
        used_by,
    })
}

fn load(tx: &Tx, name: &str) -> Result<ProjectRow> {
    incus_db::project_get(tx, name)?.ok_or_else(|| Error::not_found("Project not found"))
}

/// Every project.
pub fn list(ctx: &Context) -> Result<Vec<Project>> {
    ctx.db()?.read(|tx| {
        incus_db::project_list(tx)?
            .into_iter()
            .map(|r| to_api(tx, r))
            .collect()
    })
}

/// Names of every project.
pub fn names(ctx: &Context) -> Result<Vec<String>> {
    Ok(ctx
        .db()?
        .read(incus_db::project_names)?
        .into_iter()
        .map(|(n, _)| n)
        .collect())
}

/// One project.
pub fn get(ctx: &Context, name: &str) -> Result<Project> {
    ctx.db()?.read(|tx| {
        let row = load(tx, name)?;
        to_api(tx, row)
    })
}

fn default_profile(tx: &Tx, project: &str) -> Result<()> {
    incus_db::profile_create(
        tx,
        project,
        &incus_db::ProfileRow {
            name: "default".into(),
            description: format!("Default Incus profile for project {project}"),
            ..Default::default()
        },
    )?;
    Ok(())
}

/// Creates a project: the initial features of upstream for keys the config leaves
/// out, and its own `default` profile when `features.profiles` is on.
pub fn create(ctx: &Context, name: &str, description: &str, config: Config) -> Result<Project> {
    validate_name(name)?;
    let mut config = config;
    for f in NEW_PROJECT_FEATURES {
        config.entry(f.to_string()).or_insert_with(|| "true".into());
    }
    validate_config(&config)?;
    let row = ProjectRow {
        id: 0,
        name: name.to_string(),
        description: description.to_string(),
        config,
    };
    ctx.db()?.write(|tx| {
        incus_db::project_create(tx, &row).map_err(|e| {
            if e.kind == incus_api::ErrorKind::Conflict {
                Error::conflict(format!("Project \"{name}\" already exists"))
            } else {
                e
            }
        })?;
        if flag(&row.config, "features.profiles") {
            default_profile(tx, name)?;
        }
        Ok(())
    })?;
    event(
        ctx,
        name,
        "project-created",
        &format!("/1.0/projects/{name}"),
        serde_json::json!({}),
    )?;
    get(ctx, name)
}

/// The objects a project holds itself, the `default` profile aside (a project holding
/// only that counts as empty, as upstream).
fn holds_objects(tx: &Tx, row: &ProjectRow) -> Result<bool> {
    Ok(incus_db::project_used_by(tx, row.id, &row.name)?
        .iter()
        .any(|u| !u.starts_with("/1.0/profiles/default")))
}

/// Replaces a project's description and config (PUT; PATCH merges before calling).
/// Features change only on an empty project and never on `default`; a limit below
/// what the project uses now is refused. All in one write transaction.
pub fn update(ctx: &Context, name: &str, description: &str, config: Config) -> Result<Project> {
    validate_config(&config)?;
    ctx.db()?.write(|tx| {
        let mut row = load(tx, name)?;
        let changed: Vec<&str> = FEATURES
            .iter()
            .copied()
            .filter(|f| row.config.get(*f) != config.get(*f))
            .collect();
        if !changed.is_empty() {
            if name == DEFAULT {
                return Err(Error::invalid(
                    "You can't change the features of the default project",
                ));
            }
            if holds_objects(tx, &row)? {
                return Err(Error::invalid(
                    "Features can only be changed on empty projects",
                ));
            }
        }
        check_limits_against_usage(tx, name, &config)?;
        let profiles_before = flag(&row.config, "features.profiles");
        row.description = description.to_string();
        row.config = config.clone();
        incus_db::project_update(tx, &row)?;
        let profiles_after = flag(&row.config, "features.profiles");
        if profiles_after && !profiles_before {
            default_profile(tx, name)?;
        } else if profiles_before && !profiles_after {
            // Its own default profile goes; `default`'s applies from now on.
            let own = tx_profile_id(tx, row.id, "default")?;
            if let Some(id) = own {
                incus_db::profile_delete(tx, id)?;
            }
        }
        Ok(())
    })?;
    event(
        ctx,
        name,
        "project-updated",
        &format!("/1.0/projects/{name}"),
        serde_json::json!({}),
    )?;
    get(ctx, name)
}

fn tx_profile_id(tx: &Tx, project_id: i64, name: &str) -> Result<Option<i64>> {
    incus_db::profile_id_in(tx, project_id, name)
}

/// Renames a project: never `default`, only an empty one (its objects' host-wide
/// names carry the project name).
pub fn rename(ctx: &Context, name: &str, new_name: &str) -> Result<Project> {
    if name == DEFAULT {
        return Err(Error::invalid("The 'default' project cannot be renamed"));
    }
    validate_name(new_name)?;
    ctx.db()?.write(|tx| {
        let row = load(tx, name)?;
        if holds_objects(tx, &row)? {
            return Err(Error::invalid("Only empty projects can be renamed"));
        }
        if incus_db::project_get(tx, new_name)?.is_some() {
            return Err(Error::conflict(format!(
                "A project named \"{new_name}\" already exists"
            )));
        }
        incus_db::project_rename(tx, row.id, new_name)?;
        // Its default profile's description names the project.
        if let Some(id) = tx_profile_id(tx, row.id, "default")? {
            incus_db::profile_describe(
                tx,
                id,
                &format!("Default Incus profile for project {new_name}"),
            )?;
        }
        Ok(())
    })?;
    event(
        ctx,
        new_name,
        "project-renamed",
        &format!("/1.0/projects/{new_name}"),
        serde_json::json!({ "old_name": name }),
    )?;
    get(ctx, new_name)
}

/// Deletes a project: never `default`, only an empty one.
pub fn delete(ctx: &Context, name: &str) -> Result<()> {
    if name == DEFAULT {
        return Err(Error::invalid("The 'default' project cannot be deleted"));
    }
    ctx.db()?.write(|tx| {
        let row = load(tx, name)?;
        if holds_objects(tx, &row)? {
            return Err(Error::invalid("Only empty projects can be removed"));
        }
        incus_db::project_delete(tx, row.id)
    })?;
    event(
        ctx,
        name,
        "project-deleted",
        &format!("/1.0/projects/{name}"),
        serde_json::json!({}),
    )
}

/// One resource of `GET /1.0/projects/NAME/state`: limit (-1: none) and usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Resource {
    #[serde(rename = "Limit")]
    pub limit: i64,
    #[serde(rename = "Usage")]
    pub usage: i64,
}

/// What a project uses now, per limit key (without the `limits.` prefix).
#[derive(Debug, Clone, Default)]
struct Usage {
    counts: std::collections::BTreeMap<&'static str, i64>,
    cpu: i64,
    memory: i64,
    processes: i64,
    disk: i64,
}

/// The sum of one limit over instances: their expanded config (profiles, then their own).
fn expanded_limits(tx: &Tx, project: &str) -> Result<Vec<Config>> {
    let profiles = incus_db::profile_list(tx, project)?;
    Ok(incus_db::instance_list(tx, project)?
        .into_iter()
        .map(|i| {
            let ps = i
                .profiles
                .iter()
                .filter_map(|n| profiles.iter().find(|p| &p.name == n));
            crate::profile::expand(ps, &i.config, &i.devices).0
        })
        .collect())
}

fn instance_sums(configs: &[Config]) -> (i64, i64, i64) {
    let (mut cpu, mut memory, mut processes) = (0i64, 0i64, 0i64);
    for c in configs {
        if let Some(v) = c.get("limits.cpu") {
            // A count, or a set of CPUs ("0-3,5") counted by members.
            cpu += v.parse::<i64>().unwrap_or_else(|_| cpu_set_size(v));
        }
        if let Some(Ok(keys::MemoryLimit::Bytes(b))) =
            c.get("limits.memory").map(|v| keys::MemoryLimit::parse(v))
        {
            memory += b as i64;
        }
        if let Some(Ok(n)) = c.get("limits.processes").map(|v| v.parse::<i64>()) {
            processes += n;
        }
    }
    (cpu, memory, processes)
}

fn cpu_set_size(v: &str) -> i64 {
    v.split(',')
        .map(|part| match part.split_once('-') {
            Some((a, b)) => match (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 0,
            },
            None => i64::from(part.trim().parse::<i64>().is_ok()),
        })
        .sum()
}

fn usage(tx: &Tx, project: &str) -> Result<Usage> {
    let id = incus_db::project_id(tx, project)?;
    let mut u = Usage::default();
    for (_, kind) in COUNT_LIMITS {
        u.counts
            .insert(kind, incus_db::project_count(tx, id, kind)?);
    }
    let (cpu, memory, processes) = instance_sums(&expanded_limits(tx, project)?);
    u.cpu = cpu;
    u.memory = memory;
    u.processes = processes;
    u.disk = incus_db::project_disk_limits(tx, id)?
        .iter()
        .filter_map(|s| keys::parse_size(s).ok())
        .sum::<u64>() as i64;
    Ok(u)
}

fn limit_of(config: &Config, key: &str) -> Option<i64> {
    let v = config.get(key).filter(|v| !v.is_empty())?;
    match key {
        "limits.memory" => match keys::MemoryLimit::parse(v).ok()? {
            keys::MemoryLimit::Bytes(b) => Some(b as i64),
            keys::MemoryLimit::Percent(p) => {
                Some((crate::resources::host_memory_bytes().unwrap_or(0) * p / 100) as i64)
            }
        },
        "limits.disk" => keys::parse_size(v).ok().map(|b| b as i64),
        _ => v.parse().ok(),
    }
}

/// A new limit may not be below what the project uses now (upstream refuses it).
fn check_limits_against_usage(tx: &Tx, project: &str, config: &Config) -> Result<()> {
    let u = usage(tx, project)?;
    let mut pairs: Vec<(&str, i64)> = COUNT_LIMITS
        .iter()
        .map(|(k, kind)| (*k, u.counts[kind]))
        .collect();
    pairs.extend([
        ("limits.cpu", u.cpu),
        ("limits.memory", u.memory),
        ("limits.processes", u.processes),
        ("limits.disk", u.disk),
    ]);
    for (key, used) in pairs {
        if let Some(limit) = limit_of(config, key) {
            if used > limit {
                return Err(Error::invalid(format!(
                    "\"{key}\" is too low: current usage is {used}"
                )));
            }
        }
    }
    Ok(())
}

/// `GET /1.0/projects/NAME/state`: every limit (-1 when unset) with its usage.
pub fn state(ctx: &Context, name: &str) -> Result<std::collections::BTreeMap<String, Resource>> {
    ctx.db()?.read(|tx| {
        let row = load(tx, name)?;
        let u = usage(tx, name)?;
        let mut out = std::collections::BTreeMap::new();
        for (key, kind) in COUNT_LIMITS {
            out.insert(
                key.trim_start_matches("limits.").to_string(),
                Resource {
                    limit: limit_of(&row.config, key).unwrap_or(-1),
                    usage: u.counts[kind],
                },
            );
        }
        for (key, used) in [
            ("limits.cpu", u.cpu),
            ("limits.memory", u.memory),
            ("limits.processes", u.processes),
            ("limits.disk", u.disk),
        ] {
            out.insert(
                key.trim_start_matches("limits.").to_string(),
                Resource {
                    limit: limit_of(&row.config, key).unwrap_or(-1),
                    usage: used,
                },
            );
        }
        Ok(out)
    })
}

/// Checked inside the write transaction that adds or changes an instance (so
/// concurrent creates cannot pass a limit together: writers are serialised by
/// `BEGIN IMMEDIATE`): counts of instances, containers and VMs with this one added,
/// and the sums of `limits.cpu|memory|processes` with `expanded` (its config after
/// profiles) replacing the instance's current one. `adding` is false for a change of
/// an existing instance `name`.
pub fn check_instance(
    tx: &Tx,
    project: &str,
    name: &str,
    instance_type: &str,
    expanded: &Config,
    adding: bool,
) -> Result<()> {
    let Some(row) = incus_db::project_get(tx, project)? else {
        return Err(Error::not_found(format!("Project \"{project}\" not found")));
    };
    let limited = |k: &str| row.config.get(k).is_some_and(|v| !v.is_empty());
    if adding {
        let kind = if instance_type == "virtual-machine" {
            "virtual-machines"
        } else {
            "containers"
        };
        for (key, what) in [
            ("limits.instances", "instances"),
            (&*format!("limits.{kind}"), kind),
        ] {
            if let Some(limit) = limit_of(&row.config, key) {
                let used = incus_db::project_count(tx, row.id, what)?;
                if used + 1 > limit {
                    return Err(Error::forbidden(format!(
                        "Reached maximum number of {} in project \"{project}\" ({key}={limit})",
                        what.replace('-', " ")
                    )));
                }
            }
        }
    }
    let sums_limited = ["limits.cpu", "limits.memory", "limits.processes"]
        .iter()
        .any(|k| limited(k));
    if !sums_limited {
        return Ok(());
    }
    let others: Vec<Config> = {
        let profiles = incus_db::profile_list(tx, project)?;
        incus_db::instance_list(tx, project)?
            .into_iter()
            .filter(|i| i.name != name)
            .map(|i| {
                let ps = i
                    .profiles
                    .iter()
                    .filter_map(|n| profiles.iter().find(|p| &p.name == n));
                crate::profile::expand(ps, &i.config, &i.devices).0
            })
            .collect()
    };
    for key in ["limits.cpu", "limits.memory", "limits.processes"] {
        if limited(key) && expanded.get(key).is_none_or(|v| v.is_empty()) {
            return Err(Error::invalid(format!(
                "Instance \"{name}\": the project \"{project}\" sets {key}, so the instance must set {key} too (directly or through a profile)"
            )));
        }
    }
    let mut all = others;
    all.push(expanded.clone());
    let (cpu, memory, processes) = instance_sums(&all);
    for (key, used) in [
        ("limits.cpu", cpu),
        ("limits.memory", memory),
        ("limits.processes", processes),
    ] {
        if let Some(limit) = limit_of(&row.config, key) {
            if used > limit {
                return Err(Error::forbidden(format!(
                    "Reached {key}={} of project \"{project}\" (the instances would use {used})",
                    row.config[key]
                )));
            }
        }
    }
    Ok(())
}

/// Checked inside the write transaction that creates a network.
pub fn check_network(tx: &Tx, project: &str) -> Result<()> {
    let Some(row) = incus_db::project_get(tx, project)? else {
        return Ok(());
    };
    if let Some(limit) = limit_of(&row.config, "limits.networks") {
        let used = incus_db::project_count(tx, row.id, "networks")?;
        if used + 1 > limit {
            return Err(Error::forbidden(format!(
                "Reached maximum number of networks in project \"{project}\" (limits.networks={limit})"
            )));
        }
    }
    Ok(())
}

/// `f` in every project, results concatenated by project name (`--all-projects`,
/// `?all-projects=true`): each project through a context of its own, so host-wide
/// names (run directories) resolve for its instances.
pub fn across<T>(ctx: &Context, f: impl Fn(&Context) -> Result<Vec<T>>) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for p in names(ctx)? {
        if p == ctx.project {
            out.extend(f(ctx)?);
        } else {
            out.extend(f(&ctx.in_project(&p)?)?);
        }
    }
    Ok(out)
}

/// A context per project (host-wide runs: boot, shutdown, scheduled snapshots).
pub fn contexts(ctx: &Context) -> Result<std::collections::BTreeMap<String, Context>> {
    names(ctx)?
        .into_iter()
        .map(|p| {
            let c = ctx.in_project(&p)?;
            Ok((p, c))
        })
        .collect()
}

/// An instance's name in host-wide reports: `PROJECT/NAME` outside `default`.
pub fn qualified(project: &str, name: &str) -> String {
    if project == DEFAULT {
        name.to_string()
    } else {
        format!("{project}/{name}")
    }
}

/// The project holding `project`'s objects of `feature` (itself, or `default` when the
/// feature is off).
pub fn feature_owner(ctx: &Context, project: &str, feature: &str) -> Result<String> {
    Ok(ctx
        .db()?
        .read(|tx| incus_db::feature_project(tx, project, feature))?
        .1)
}

/// A restriction key's value in a project (`restricted=true` only), or its default.
fn restriction<'a>(config: &'a Config, key: &str) -> &'a str {
    let default = match key {
        "restricted.containers.privilege" => "unprivileged",
        "restricted.devices.disk" | "restricted.devices.nic" => "managed",
        _ => "block",
    };
    config
        .get(key)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .unwrap_or(default)
}

/// The `restricted` project of `project`'s config, when `restricted=true`.
fn restricted_config(tx: &Tx, project: &str) -> Result<Option<Config>> {
    let Some(row) = incus_db::project_get(tx, project)? else {
        return Ok(None);
    };
    Ok(flag(&row.config, "restricted").then_some(row.config))
}

fn refused(what: &str, key: &str, value: &str) -> Error {
    Error::forbidden(format!(
        "{what} is not allowed: the project has {key}={value} (restricted=true)"
    ))
}

/// `restricted=true` and the `restricted.containers.*` and `restricted.devices.*` keys
/// on an instance's expanded config and devices; each refusal names the key. Checked
/// in the transaction that writes the instance.
pub fn check_restricted(
    tx: &Tx,
    project: &str,
    config: &Config,
    devices: &incus_api::Devices,
) -> Result<()> {
    let Some(pc) = restricted_config(tx, project)? else {
        return Ok(());
    };
    let on = |k: &str| {
        config
            .get(k)
            .and_then(|v| keys::parse_bool(v))
            .unwrap_or(false)
    };
    let key = "restricted.containers.nesting";
    if on("security.nesting") && restriction(&pc, key) != "allow" {
        return Err(refused("security.nesting=true", key, restriction(&pc, key)));
    }
    let key = "restricted.containers.privilege";
    match restriction(&pc, key) {
        "allow" => {}
        v => {
            if on("security.privileged") {
                return Err(refused("security.privileged=true", key, v));
            }
            if v == "isolated" && !on("security.idmap.isolated") {
                return Err(refused(
                    "An instance without security.idmap.isolated=true",
                    key,
                    v,
                ));
            }
        }
    }
    let key = "restricted.containers.lowlevel";
    if restriction(&pc, key) != "allow" {
        if let Some(k) = config.keys().find(|k| {
            k.starts_with("raw.")
                || k.as_str() == "security.idmap.base"
                || k.starts_with("linux.kernel_modules")
        }) {
            return Err(refused(&format!("The key {k}"), key, restriction(&pc, key)));
        }
    }
    let key = "restricted.containers.interception";
    let interception = restriction(&pc, key);
    if interception != "full" {
        if let Some(k) = config.keys().find(|k| {
            k.starts_with("security.syscalls.intercept.")
                && on(k)
                && !(interception == "allow"
                    && matches!(
                        k.as_str(),
                        "security.syscalls.intercept.mknod"
                            | "security.syscalls.intercept.setxattr"
                    ))
        }) {
            return Err(refused(&format!("{k}=true"), key, interception));
        }
    }
    for (name, dev) in devices {
        let dtype = dev.get("type").map(String::as_str).unwrap_or("");
        let key = format!("restricted.devices.{dtype}");
        let value = restriction(&pc, &key);
        let what = format!("Device \"{name}\" (type {dtype})");
        match (dtype, value) {
            (_, "allow") if dtype != "disk" => {}
            ("disk", _) => {
                // Managed: the root disk and pool volumes; anything else is a host path.
                let host_path = dev.get("pool").is_none() && dev.get("source").is_some();
                if !host_path {
                    continue;
                }
                match value {
                    "allow" => {
                        let paths = pc
                            .get("restricted.devices.disk.paths")
                            .map(String::as_str)
                            .unwrap_or("");
                        let src = dev.get("source").map(String::as_str).unwrap_or("");
                        if !paths.is_empty() && !path_within(src, paths) {
                            return Err(refused(
                                &format!("{what} with source {src}"),
                                "restricted.devices.disk.paths",
                                paths,
                            ));
                        }
                    }
                    v => return Err(refused(&format!("{what} with a host source"), &key, v)),
                }
            }
            ("nic", "managed") => {
                if dev.get("network").is_none() {
                    return Err(refused(&format!("{what} without network="), &key, value));
                }
            }
            (_, v) => return Err(refused(&what, &key, v)),
        }
    }
    Ok(())
}

/// Whether `src` is one of the comma-separated `paths` or below one (by components).
fn path_within(src: &str, paths: &str) -> bool {
    let src = std::path::Path::new(src);
    src.is_absolute()
        && !src
            .components()
            .any(|c| c == std::path::Component::ParentDir)
        && paths
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .any(|p| src.starts_with(p))
}

/// `restricted.snapshots` (default block in a restricted project): checked before a
/// snapshot is taken.
pub fn check_snapshots_allowed(ctx: &Context) -> Result<()> {
    let project = ctx.project.clone();
    ctx.db()?.read(|tx| match restricted_config(tx, &project)? {
        Some(pc) if restriction(&pc, "restricted.snapshots") != "allow" => Err(refused(
            "Taking a snapshot",
            "restricted.snapshots",
            restriction(&pc, "restricted.snapshots"),
        )),
        _ => Ok(()),
    })
}
