//! Config-key metadata from upstream (`data/incus-config-keys.json`, Incus 6.0) and
//! the validation rules built on it: known keys, value types, removed keys.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::sync::OnceLock;

const KEYS_JSON: &str = include_str!("../data/incus-config-keys.json");

/// The value type upstream documents for a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    String,
    Bool,
    Integer,
    Blob,
}

/// One documented key (or key pattern such as `user.*` or `volatile.<name>.hwaddr`).
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub name: String,
    pub key_type: KeyType,
    /// "yes" when the key can change on a running instance.
    pub live_update: bool,
    pub short: String,
    /// Upstream's `condition`: `container`, `virtual machine`, ... (empty: any).
    pub condition: String,
}

/// Which object a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Server,
    Instance,
    Project,
}

/// Keys upstream documents elsewhere (not in configuration.json) that Incus accepts.
const EXTRA_INSTANCE_KEYS: &[(&str, KeyType, bool)] = &[
    ("environment.*", KeyType::String, true),
    ("image.*", KeyType::String, false),
    ("volatile.*", KeyType::String, false),
];
const EXTRA_SERVER_KEYS: &[(&str, KeyType, bool)] = &[
    ("storage.backups_volume", KeyType::String, true),
    ("storage.images_volume", KeyType::String, true),
    ("user.*", KeyType::String, true),
];

/// Keys or prefixes upstream removed; setting them gets an error that says so.
const REMOVED_SERVER: &[(&str, &str)] = &[
    (
        "core.trust_password",
        "trust passwords were removed in Incus; use `incus config trust add` to issue a join token",
    ),
    (
        "candid.",
        "Candid authentication was removed in Incus; use OIDC",
    ),
    (
        "rbac.",
        "RBAC (Canonical RBAC) was removed in Incus; use OpenFGA",
    ),
    ("maas.", "MAAS integration was removed in Incus"),
];

fn table() -> &'static BTreeMap<&'static str, Vec<KeyInfo>> {
    static TABLE: OnceLock<BTreeMap<&'static str, Vec<KeyInfo>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let root: serde_json::Value =
            serde_json::from_str(KEYS_JSON).expect("embedded config key table is valid JSON");
        let mut out: BTreeMap<&'static str, Vec<KeyInfo>> = BTreeMap::new();
        for (entity, scope) in [
            ("server", "server"),
            ("instance", "instance"),
            ("project", "project"),
        ] {
            let mut list = Vec::new();
            if let Some(groups) = root["configs"][entity].as_object() {
                for group in groups.values() {
                    for entry in group["keys"].as_array().into_iter().flatten() {
                        for (name, meta) in entry.as_object().into_iter().flatten() {
                            list.push(KeyInfo {
                                name: name.clone(),
                                key_type: match meta["type"].as_str() {
                                    Some("bool") => KeyType::Bool,
                                    Some("integer") => KeyType::Integer,
                                    Some("blob") => KeyType::Blob,
                                    _ => KeyType::String,
                                },
                                live_update: meta["liveupdate"].as_str() == Some("yes"),
                                short: meta["shortdesc"].as_str().unwrap_or("").to_string(),
                                condition: meta["condition"].as_str().unwrap_or("").to_string(),
                            });
                        }
                    }
                }
            }
            let extra = match entity {
                "server" => EXTRA_SERVER_KEYS,
                "instance" => EXTRA_INSTANCE_KEYS,
                _ => &[],
            };
            for (name, key_type, live) in extra {
                list.push(KeyInfo {
                    name: name.to_string(),
                    key_type: *key_type,
                    live_update: *live,
                    short: String::new(),
                    condition: String::new(),
                });
            }
            out.insert(scope, list);
        }
        out
    })
}

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Server => "server",
        Scope::Instance => "instance",
        Scope::Project => "project",
    }
}

/// Does a documented key pattern match this key? Patterns: `prefix.*` and `a.<name>.b`.
fn pattern_matches(pattern: &str, key: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix('*') {
        return key.starts_with(prefix) && key.len() > prefix.len();
    }
    if let Some((head, tail)) = pattern.split_once("<name>") {
        if let Some(rest) = key.strip_prefix(head) {
            if let Some(name) = rest.strip_suffix(tail) {
                return !name.is_empty() && !name.contains('.');
            }
        }
        return false;
    }
    pattern == key
}

/// Finds the metadata of a key, exact names first, then patterns.
pub fn lookup(scope: Scope, key: &str) -> Option<&'static KeyInfo> {
    let list = table().get(scope_name(scope))?;
    list.iter()
        .find(|k| k.name == key)
        .or_else(|| list.iter().find(|k| pattern_matches(&k.name, key)))
}

/// Every documented key of a scope, for help and completion.
pub fn all(scope: Scope) -> &'static [KeyInfo] {
    table()
        .get(scope_name(scope))
        .map(|v| v.as_slice())
        .unwrap_or(&[])
}

/// Parses a boolean as upstream does (`true/false/1/0/yes/no/on/off`).
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn check_type(key: &str, info: &KeyInfo, value: &str) -> Result<()> {
    if value.is_empty() {
        return Ok(());
    }
    match info.key_type {
        KeyType::Bool if parse_bool(value).is_none() => Err(Error::invalid(format!(
            "Invalid value for config key \"{key}\": \"{value}\" is not a boolean"
        ))),
        KeyType::Integer if value.parse::<i64>().is_err() && key != "boot.host_shutdown_action" => {
            Err(Error::invalid(format!(
                "Invalid value for config key \"{key}\": \"{value}\" is not an integer"
            )))
        }
        _ => Ok(()),
    }
}

/// Validates a server config key and value: known, typed, not removed.
pub fn validate_server(key: &str, value: &str) -> Result<()> {
    for (removed, why) in REMOVED_SERVER {
        let hit = if removed.ends_with('.') {
            key.starts_with(removed)
        } else {
            key == *removed
        };
        if hit {
            return Err(Error::invalid(format!(
                "Config key \"{key}\" was removed upstream: {why}"
            )));
        }
    }
    let info = lookup(Scope::Server, key)
        .ok_or_else(|| Error::invalid(format!("Unknown server config key \"{key}\"")))?;
    check_type(key, info, value)
}

/// Validates an instance config key and value (for containers).
pub fn validate_instance(key: &str, value: &str) -> Result<()> {
    let info = lookup(Scope::Instance, key)
        .ok_or_else(|| Error::invalid(format!("Unknown configuration key: {key}")))?;
    check_type(key, info, value)?;
    match key {
        "limits.memory" if !value.is_empty() => {
            MemoryLimit::parse(value)?;
        }
        "limits.cpu" if !value.is_empty() => validate_cpu_limit(value)?,
        _ => {}
    }
    Ok(())
}

/// Refuses an instance key that upstream documents for the other instance type only
/// (`security.nesting` on a VM, `raw.qemu` on a container).
pub fn check_instance_type(key: &str, vm: bool) -> Result<()> {
    let Some(info) = lookup(Scope::Instance, key) else {
        return Ok(());
    };
    let c = info.condition.as_str();
    if vm && c.ends_with("container") {
        return Err(Error::invalid(format!(
            "{key}: only valid for containers, not for virtual machines"
        )));
    }
    if !vm && c == "virtual machine" {
        return Err(Error::invalid(format!(
            "{key}: only valid for virtual machines, not for containers"
        )));
    }
    Ok(())
}

/// `limits.memory`: a size, or a percentage of the host's memory (upstream refuses 0
/// of either). The one parser for validation and for the runtime's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryLimit {
    Bytes(u64),
    Percent(u64),
}

impl MemoryLimit {
    pub fn parse(value: &str) -> Result<MemoryLimit> {
        let bad = || Error::invalid(format!("Invalid value for limits.memory: \"{value}\""));
        let limit = match value.strip_suffix('%') {
            Some(pct) => MemoryLimit::Percent(pct.parse::<u64>().map_err(|_| bad())?),
            None => MemoryLimit::Bytes(
                parse_size(value).map_err(|e| e.context("Invalid value for limits.memory"))?,
            ),
        };
        match limit {
            MemoryLimit::Bytes(0) | MemoryLimit::Percent(0) => Err(Error::invalid(format!(
                "Invalid value for limits.memory: \"{value}\": the limit can't be 0"
            ))),
            limit => Ok(limit),
        }
    }

    /// The limit in bytes on a host with `host_total` bytes of memory.
    pub fn bytes(self, host_total: u64) -> u64 {
        match self {
            MemoryLimit::Bytes(b) => b,
            MemoryLimit::Percent(p) => host_total / 100 * p,
        }
    }
}

fn validate_cpu_limit(value: &str) -> Result<()> {
    let bad = || Error::invalid(format!("Invalid value for limits.cpu: \"{value}\""));
    if value.parse::<u32>().is_ok() {
        return Ok(());
    }
    for part in value.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b) = (
            a.parse::<u32>().map_err(|_| bad())?,
            b.parse::<u32>().map_err(|_| bad())?,
        );
        if a > b {
            return Err(bad());
        }
    }
    Ok(())
}

/// Parses a size as upstream does: plain bytes, or a number with a decimal (kB, MB, GB,
/// TB, PB, EB) or binary (KiB, MiB, GiB, TiB, PiB, EiB) suffix. `B` alone is bytes.
pub fn parse_size(value: &str) -> Result<u64> {
    let value = value.trim();
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (num, unit) = value.split_at(split);
    let num: f64 = num
        .parse()
        .map_err(|_| Error::invalid(format!("Invalid size \"{value}\"")))?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "kB" | "KB" => 1000,
        "MB" => 1000u64.pow(2),
        "GB" => 1000u64.pow(3),
        "TB" => 1000u64.pow(4),
        "PB" => 1000u64.pow(5),
        "EB" => 1000u64.pow(6),
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "PiB" => 1 << 50,
        "EiB" => 1 << 60,
        other => {
            return Err(Error::invalid(format!(
                "Invalid size \"{value}\": unknown unit \"{other}\""
            )))
        }
    };
    Ok((num * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_pattern_keys() {
        assert!(validate_instance("limits.memory", "256MiB").is_ok());
        assert!(validate_instance("user.anything", "x").is_ok());
        assert!(validate_instance("volatile.eth0.hwaddr", "00:16:3e:00:00:01").is_ok());
        assert!(validate_instance("environment.FOO", "bar").is_ok());
        assert!(validate_instance("security.privileged", "maybe").is_err());
        assert!(validate_instance("limits.processes", "ten").is_err());
        assert!(validate_instance("limits.memory", "lots").is_err());
        assert!(validate_instance("limits.cpu", "0-1,3").is_ok());
        assert!(validate_instance("limits.cpu", "3-1").is_err());
        assert!(validate_instance("no.such.key", "1").is_err());
    }

    #[test]
    fn memory_limits_parse_once() {
        assert_eq!(
            MemoryLimit::parse("256MiB").unwrap(),
            MemoryLimit::Bytes(256 << 20)
        );
        assert_eq!(
            MemoryLimit::parse("300%").unwrap(),
            MemoryLimit::Percent(300)
        );
        assert_eq!(MemoryLimit::parse("50%").unwrap().bytes(1000), 500);
        for bad in ["0", "0%", "-1%", "x%", "%", "lots"] {
            assert!(validate_instance("limits.memory", bad).is_err(), "{bad}");
        }
        assert!(validate_instance("limits.memory", "").is_ok());
    }

    #[test]
    fn removed_server_keys_say_removed() {
        for key in [
            "core.trust_password",
            "candid.api.url",
            "rbac.api.url",
            "maas.api.key",
        ] {
            let err = validate_server(key, "x").unwrap_err();
            assert!(err.message.contains("removed"), "{key}: {}", err.message);
        }
        assert!(validate_server("core.https_address", "127.0.0.1:8443").is_ok());
        assert!(validate_server("images.auto_update_interval", "x").is_err());
        assert!(validate_server("core.nonsense", "1").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert_eq!(parse_size("512MB").unwrap(), 512_000_000);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("12XB").is_err());
    }

    proptest::proptest! {
        /// Any key and value: an answer, never a panic; sizes with a unit scale exactly.
        #[test]
        fn any_key_value_is_answered(key in "\\PC{0,40}", value in "\\PC{0,40}") {
            let _ = validate_instance(&key, &value);
            let _ = validate_server(&key, &value);
            let _ = parse_size(&value);
        }

        #[test]
        fn sizes_scale(n in 0u64..1_000_000, unit in 0usize..4) {
            let (suffix, mult) = [("", 1u64), ("KiB", 1 << 10), ("MiB", 1 << 20), ("kB", 1000)][unit];
            proptest::prop_assert_eq!(parse_size(&format!("{n}{suffix}")).unwrap(), n * mult);
        }

        /// Keys that look like known ones with random values never panic either.
        #[test]
        fn known_keys_random_values(i in 0usize..8, value in "\\PC{0,24}") {
            let key = ["limits.memory", "limits.cpu", "limits.processes", "security.privileged",
                "boot.autostart", "snapshots.expiry", "limits.cpu.allowance", "security.idmap.size"][i];
            let _ = validate_instance(key, &value);
        }
    }
}
