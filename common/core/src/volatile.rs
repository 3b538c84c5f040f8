//! Internal state under `volatile.*`: which keys a client may set, and the checks that
//! every marker read back from the database passes before any repair acts on it.
//!
//! The rule is the same for every front end (the tools through `Local`, `incus-serve`,
//! `admin init --preseed`): a client may set only the per-device keys upstream lets
//! users set (`volatile.<dev>.hwaddr`, `volatile.<dev>.name`); every other `volatile.*`
//! key is written by this code alone. A PUT may carry internal keys back unchanged (the
//! upstream client's `config set` and `config edit` send the whole config it read), but
//! never a new or changed value.

use crate::{names, Error, Result};
use incus_api::Config;

/// Keys clients may set: anything outside `volatile.*`, and upstream's user-settable
/// per-device keys.
pub fn client_settable(key: &str) -> bool {
    let Some(rest) = key.strip_prefix("volatile.") else {
        return true;
    };
    match rest.split_once('.') {
        Some((dev, "hwaddr" | "name")) => !dev.is_empty(),
        _ => false,
    }
}

fn refused(key: &str) -> Error {
    Error::invalid(format!(
        "Config key \"{key}\" is internal state and cannot be set by clients"
    ))
}

/// Checks config coming from a client (create `-c`, copy `-c`, PUT, PATCH, `config
/// set`) against what is stored: internal `volatile.*` keys must be absent or carry
/// their stored value.
pub fn check_client_config(stored: &Config, new: &Config) -> Result<()> {
    for (k, v) in new {
        if !client_settable(k) && stored.get(k) != Some(v) {
            return Err(refused(k));
        }
    }
    Ok(())
}

/// Checks keys a client asks to set or unset one by one (`config set k=v`, `config
/// unset k`): internal keys are refused whatever the value.
pub fn check_client_keys<'a>(keys: impl IntoIterator<Item = &'a String>) -> Result<()> {
    for k in keys {
        if !client_settable(k) {
            return Err(refused(k));
        }
    }
    Ok(())
}

/// Storage volumes and pools: no `volatile.*` key is settable by clients (upstream
/// refuses them too); stored ones may come back unchanged.
pub fn check_client_volume_config(stored: &Config, new: &Config) -> Result<()> {
    for (k, v) in new {
        if k.starts_with("volatile.") && stored.get(k) != Some(v) {
            return Err(refused(k));
        }
    }
    Ok(())
}

fn bad_marker(key: &str, value: &str, why: impl std::fmt::Display) -> Error {
    Error::invalid(format!(
        "Invalid internal marker {key}=\"{}\" ({why}): refusing to act on it; \
         this installation never writes such a value (see `incus admin check`)",
        value.escape_debug()
    ))
}

/// The instance rename mark (`volatile.rename_from`): the old instance name.
pub fn validate_instance_rename_mark(key: &str, value: &str) -> Result<()> {
    names::validate_instance_name(value).map_err(|e| bad_marker(key, value, e.message))
}

/// The custom volume rename mark (`volatile.rename_from`): the old volume name.
pub fn validate_volume_rename_mark(key: &str, value: &str) -> Result<()> {
    names::validate_object_name("storage volume", value)
        .map_err(|e| bad_marker(key, value, e.message))
}

/// A snapshot operation in flight (`volatile.snapshot.op`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotOp {
    Create(String),
    Delete(String),
    Restore(String),
    Rename(String, String),
}

/// Parses and validates `volatile.snapshot.op` (`create:NAME`, `delete:NAME`,
/// `restore:NAME`, `rename:OLD/NEW`); every name passes the snapshot name rules (no
/// `/`, not `.` or `..`), so no value can name a path outside the instance's
/// snapshot directory.
pub fn parse_snapshot_op(key: &str, value: &str) -> Result<SnapshotOp> {
    let bad = |why: &str| bad_marker(key, value, why);
    let (kind, arg) = value.split_once(':').ok_or_else(|| bad("no operation"))?;
    let name = |n: &str| -> Result<String> {
        names::validate_snapshot_name(n).map_err(|e| bad_marker(key, value, e.message))?;
        Ok(n.to_string())
    };
    match kind {
        "create" => Ok(SnapshotOp::Create(name(arg)?)),
        "delete" => Ok(SnapshotOp::Delete(name(arg)?)),
        "restore" => Ok(SnapshotOp::Restore(name(arg)?)),
        "rename" => {
            let (old, new) = arg
                .split_once('/')
                .ok_or_else(|| bad("rename needs OLD/NEW"))?;
            Ok(SnapshotOp::Rename(name(old)?, name(new)?))
        }
        _ => Err(bad("unknown operation")),
    }
}

/// `volatile.apply_template`: the pending template trigger.
pub fn validate_apply_template(key: &str, value: &str) -> Result<()> {
    match value {
        "create" | "copy" | "rename" => Ok(()),
        _ => Err(bad_marker(key, value, "not a template trigger")),
    }
}

/// Every marker of an instance row that a repair or a start acts on, validated.
/// `admin check` reports a failure; the repair refuses to act.
pub fn validate_instance_markers(config: &Config) -> Result<()> {
    if let Some(v) = config.get(crate::instance::RENAME_MARK) {
        validate_instance_rename_mark(crate::instance::RENAME_MARK, v)?;
    }
    if let Some(v) = config.get(crate::snapshot::OP_MARK) {
        parse_snapshot_op(crate::snapshot::OP_MARK, v)?;
    }
    if let Some(v) = config.get("volatile.apply_template") {
        validate_apply_template("volatile.apply_template", v)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settable_keys_as_upstream() {
        for ok in [
            "limits.cpu",
            "user.x",
            "volatile.eth0.hwaddr",
            "volatile.eth0.name",
        ] {
            assert!(client_settable(ok), "{ok}");
        }
        for internal in [
            "volatile.idmap.base",
            "volatile.idmap.next",
            "volatile.idmap.current",
            "volatile.last_state.idmap",
            "volatile.last_state.power",
            "volatile.uuid",
            "volatile.uuid.generation",
            "volatile.snapshot.op",
            "volatile.snapshot.last_auto",
            "volatile.rename_from",
            "volatile.apply_template",
            "volatile.base_image",
            "volatile.eth0.host_name",
            "volatile..hwaddr",
        ] {
            assert!(!client_settable(internal), "{internal}");
        }
    }

    #[test]
    fn round_trip_of_stored_values_is_accepted() {
        let stored: Config = [("volatile.idmap.base".to_string(), "1000000".to_string())].into();
        assert!(check_client_config(&stored, &stored).is_ok());
        let changed: Config = [("volatile.idmap.base".to_string(), "0".to_string())].into();
        assert!(check_client_config(&stored, &changed).is_err());
        let new: Config = [("volatile.snapshot.op".to_string(), "delete:x".to_string())].into();
        assert!(check_client_config(&stored, &new).is_err());
    }

    #[test]
    fn markers_never_name_paths() {
        let k = "volatile.snapshot.op";
        assert_eq!(
            parse_snapshot_op(k, "rename:a/b").unwrap(),
            SnapshotOp::Rename("a".into(), "b".into())
        );
        assert_eq!(
            parse_snapshot_op(k, "delete:snap0").unwrap(),
            SnapshotOp::Delete("snap0".into())
        );
        for bad in [
            "delete:/etc",
            "delete:..",
            "delete:../../x",
            "restore:",
            "rename:a/../b",
            "rename:/etc/x",
            "create:.",
            "wipe:x",
            "delete",
        ] {
            assert!(parse_snapshot_op(k, bad).is_err(), "{bad}");
        }
        for bad in ["/etc", "..", "a/b", "", "../c1"] {
            assert!(validate_instance_rename_mark("volatile.rename_from", bad).is_err());
            assert!(validate_volume_rename_mark("volatile.rename_from", bad).is_err());
        }
        assert!(validate_apply_template("volatile.apply_template", "../x").is_err());
    }
}
