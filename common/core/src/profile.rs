//! Profiles: `create/list/show/edit/set/unset/get/delete/rename/copy` and devices.

use crate::{devices, events, names, Context, Error, Result};
use incus_api::{keys, Config, Devices, Profile, ProfilePut};
use incus_db::ProfileRow;

fn to_api(ctx: &Context, row: ProfileRow) -> Result<Profile> {
    let used: Vec<String> = ctx
        .db()?
        .read(|tx| incus_db::profile_used_by(tx, row.id))?
        .into_iter()
        .map(|n| format!("/1.0/instances/{n}"))
        .collect();
    Ok(Profile {
        config: row.config,
        description: row.description,
        devices: row.devices,
        name: row.name,
        used_by: used,
        project: ctx.profiles_project.clone(),
    })
}

fn load(ctx: &Context, name: &str) -> Result<ProfileRow> {
    let project = ctx.project.clone();
    ctx.db()?
        .read(|tx| incus_db::profile_get(tx, &project, name))?
        .ok_or_else(|| Error::not_found(format!("Profile \"{name}\" not found")))
}

/// Validates a profile's config and devices (profiles hold instance keys, but no
/// `volatile.*`).
pub fn validate(config: &Config, devices: &Devices) -> Result<()> {
    for (k, v) in config {
        if k.starts_with("volatile.") {
            return Err(Error::invalid(format!(
                "Volatile keys cannot be set on profiles: {k}"
            )));
        }
        keys::validate_instance(k, v)?;
        crate::snapshot::validate_key(k, v)?;
        crate::security::validate_key(k, v)?;
    }
    devices::validate_devices(devices)
}

pub fn list(ctx: &Context) -> Result<Vec<Profile>> {
    let project = ctx.project.clone();
    let rows = ctx.db()?.read(|tx| incus_db::profile_list(tx, &project))?;
    rows.into_iter().map(|r| to_api(ctx, r)).collect()
}

pub fn get(ctx: &Context, name: &str) -> Result<Profile> {
    let row = load(ctx, name)?;
    to_api(ctx, row)
}

pub fn create(ctx: &Context, name: &str, put: ProfilePut) -> Result<Profile> {
    names::validate_object_name("profile", name)?;
    validate(&put.config, &put.devices)?;
    check_pools_exist(ctx, &put.devices)?;
    let project = ctx.project.clone();
    let row = ProfileRow {
        id: 0,
        name: name.to_string(),
        description: put.description,
        config: put.config,
        devices: put.devices,
    };
    ctx.db()?
        .write(|tx| incus_db::profile_create(tx, &project, &row))?;
    events::lifecycle(
        ctx,
        "profile-created",
        &format!("/1.0/profiles/{name}"),
        serde_json::json!({}),
    )?;
    get(ctx, name)
}

fn check_pools_exist(ctx: &Context, devices: &Devices) -> Result<()> {
    for (dname, d) in devices {
        if let Some(pool) = d.get("pool") {
            if ctx.db()?.read(|tx| incus_db::pool_get(tx, pool))?.is_none() {
                return Err(Error::not_found(format!(
                    "Device \"{dname}\": storage pool \"{pool}\" not found"
                )));
            }
        }
    }
    Ok(())
}

/// Replaces config, devices and description (`edit`, `set`, `unset`, device changes).
pub fn update(ctx: &Context, name: &str, put: ProfilePut) -> Result<Profile> {
    let _lock = ctx.lock_profile(name)?;
    update_locked(ctx, name, put)
}

/// Read-modify-write under the profile lock: concurrent `profile set` calls never lose
/// each other's keys.
pub fn modify(
    ctx: &Context,
    name: &str,
    f: impl FnOnce(&mut ProfilePut) -> Result<()>,
) -> Result<Profile> {
    let _lock = ctx.lock_profile(name)?;
    let mut put = ProfilePut::from(&get(ctx, name)?);
    f(&mut put)?;
    update_locked(ctx, name, put)
}

fn update_locked(ctx: &Context, name: &str, put: ProfilePut) -> Result<Profile> {
    validate(&put.config, &put.devices)?;
    check_pools_exist(ctx, &put.devices)?;
    let mut row = load(ctx, name)?;
    if name == "default" || !incus_db_used(ctx, row.id)?.is_empty() {
        // Instances using the profile must still have a root disk afterwards.
        let had_root = devices::root_disk(&row.devices).is_some();
        if had_root && devices::root_disk(&put.devices).is_none() {
            let users = incus_db_used(ctx, row.id)?;
            if !users.is_empty() {
                return Err(Error::invalid(format!(
                    "Profile \"{name}\" gives the root disk of instances ({}); it cannot be removed",
                    users.join(", ")
                )));
            }
        }
    }
    let nics_changed = nics_of(&row.devices) != nics_of(&put.devices);
    let mut config = put.config;
    // An empty value is no value, as for instances (upstream's `profile unset` sends
    // the key with "" in a PUT).
    config.retain(|_, v| !v.is_empty());
    row.config = config;
    row.devices = put.devices;
    row.description = put.description;
    ctx.db()?.write(|tx| incus_db::profile_update(tx, &row))?;
    events::lifecycle(
        ctx,
        "profile-updated",
        &format!("/1.0/profiles/{name}"),
        serde_json::json!({}),
    )?;
    // NICs are hot-plugged into running users, as upstream, and their guest API sees
    // the new keys and devices (profile -> instance is the lock order).
    for inst in incus_db_used(ctx, row.id)? {
        if crate::lifecycle::status(ctx, &inst) == incus_api::StatusCode::Stopped {
            continue;
        }
        let _l = crate::instance::lock(ctx, &inst)?;
        if nics_changed {
            crate::lifecycle::apply_live_nics(ctx, &inst)?;
        }
        crate::guestapi::publish(ctx, &inst)?;
    }
    crate::backup::sync_profile_users(ctx, name);
    get(ctx, name)
}

fn nics_of(devices: &Devices) -> Vec<(&String, &Config)> {
    devices
        .iter()
        .filter(|(_, d)| d.get("type").map(String::as_str) == Some("nic"))
        .collect()
}

fn incus_db_used(ctx: &Context, id: i64) -> Result<Vec<String>> {
    ctx.db()?.read(|tx| incus_db::profile_used_by(tx, id))
}

/// `profile set NAME k=v...`: all keys in one locked change; an empty value unsets.
pub fn set_keys(ctx: &Context, name: &str, pairs: &Config) -> Result<Profile> {
    modify(ctx, name, |put| {
        for (k, v) in pairs {
            if v.is_empty() {
                put.config.remove(k);
            } else {
                put.config.insert(k.clone(), v.clone());
            }
        }
        Ok(())
    })
}

/// `profile unset NAME KEY`: unsetting a key that is not set is an error.
pub fn unset_key(ctx: &Context, name: &str, key: &str) -> Result<Profile> {
    modify(ctx, name, |put| match put.config.remove(key) {
        Some(_) => Ok(()),
        None => Err(Error::not_found(format!(
            "Key \"{key}\" is not set on profile \"{name}\""
        ))),
    })
}

pub fn rename(ctx: &Context, name: &str, new_name: &str) -> Result<()> {
    if name == "default" {
        return Err(Error::forbidden(
            "The \"default\" profile cannot be renamed",
        ));
    }
    names::validate_object_name("profile", new_name)?;
    let row = load(ctx, name)?;
    ctx.db()?
        .write(|tx| incus_db::profile_rename(tx, row.id, new_name))?;
    events::lifecycle(
        ctx,
        "profile-renamed",
        &format!("/1.0/profiles/{new_name}"),
        serde_json::json!({"old_name": name}),
    )?;
    crate::backup::sync_profile_users(ctx, new_name);
    Ok(())
}

pub fn delete(ctx: &Context, name: &str) -> Result<()> {
    if name == "default" {
        return Err(Error::forbidden(
            "The \"default\" profile cannot be deleted",
        ));
    }
    let row = load(ctx, name)?;
    let users = incus_db_used(ctx, row.id)?;
    if !users.is_empty() {
        return Err(Error::conflict(format!(
            "Profile is currently in use by: {}",
            users.join(", ")
        )));
    }
    ctx.db()?.write(|tx| incus_db::profile_delete(tx, row.id))?;
    events::lifecycle(
        ctx,
        "profile-deleted",
        &format!("/1.0/profiles/{name}"),
        serde_json::json!({}),
    )?;
    Ok(())
}

pub fn copy(ctx: &Context, name: &str, target: &str) -> Result<Profile> {
    create(ctx, target, ProfilePut::from(&get(ctx, name)?))
}

/// `profile device add PROFILE DEV TYPE k=v...`.
pub fn device_add(ctx: &Context, name: &str, dev: &str, config: Config) -> Result<Profile> {
    modify(ctx, name, |put| {
        if put.devices.contains_key(dev) {
            return Err(Error::conflict(format!(
                "The device already exists: \"{dev}\""
            )));
        }
        put.devices.insert(dev.to_string(), config);
        Ok(())
    })
}

/// `profile device remove PROFILE DEV...`.
pub fn device_remove(ctx: &Context, name: &str, devs: &[String]) -> Result<Profile> {
    modify(ctx, name, |put| {
        for d in devs {
            if put.devices.remove(d).is_none() {
                return Err(Error::not_found(format!(
                    "Device \"{d}\" not found in profile \"{name}\""
                )));
            }
        }
        Ok(())
    })
}

/// `profile device set PROFILE DEV k=v...` (empty value unsets).
pub fn device_set(ctx: &Context, name: &str, dev: &str, pairs: Config) -> Result<Profile> {
    modify(ctx, name, |put| {
        let d = put.devices.get_mut(dev).ok_or_else(|| {
            Error::not_found(format!("Device \"{dev}\" not found in profile \"{name}\""))
        })?;
        for (k, v) in pairs {
            if v.is_empty() {
                d.remove(&k);
            } else {
                d.insert(k, v);
            }
        }
        Ok(())
    })
}

/// Profiles then local values, later wins (upstream's expansion).
pub fn expand<'a>(
    profiles: impl IntoIterator<Item = &'a incus_db::ProfileRow>,
    config: &Config,
    devices: &Devices,
) -> (Config, Devices) {
    let mut c = Config::new();
    let mut d = Devices::new();
    for p in profiles {
        c.extend(p.config.clone());
        d.extend(p.devices.clone());
    }
    c.extend(config.clone());
    d.extend(devices.clone());
    (c, d)
}

/// The profiles named, in order (a missing one is NotFound).
pub(crate) fn load_all(ctx: &Context, names: &[String]) -> Result<Vec<incus_db::ProfileRow>> {
    let project = ctx.project.clone();
    ctx.db()?.read(|tx| {
        names
            .iter()
            .map(|n| {
                incus_db::profile_get(tx, &project, n)?
                    .ok_or_else(|| Error::not_found(format!("Profile \"{n}\" not found")))
            })
            .collect()
    })
}
