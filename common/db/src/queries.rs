//! Typed queries. Each takes a transaction from [`crate::Db::read`] or
//! [`crate::Db::write`]; none opens its own.

use crate::{exists_err, sql_err, Tx};
use incus_api::{Config, Devices, Error, Result};
use rusqlite::{params, OptionalExtension};
use std::collections::HashMap;

// ---------------------------------------------------------------------------
// Generic key/value and device tables (same shape for every object type).

/// Describes a config table: `table(fk, key, value)`.
pub(crate) struct KvTable {
    pub(crate) table: &'static str,
    pub(crate) fk: &'static str,
}

/// Describes a devices table pair: `table(fk, name, type)` + `cfg(dev_fk, key, value)`.
pub(crate) struct DevTable {
    table: &'static str,
    fk: &'static str,
    cfg: &'static str,
    dev_fk: &'static str,
}

const INSTANCE_CFG: KvTable = KvTable {
    table: "instances_config",
    fk: "instance_id",
};
const INSTANCE_DEV: DevTable = DevTable {
    table: "instances_devices",
    fk: "instance_id",
    cfg: "instances_devices_config",
    dev_fk: "instance_device_id",
};
const PROFILE_CFG: KvTable = KvTable {
    table: "profiles_config",
    fk: "profile_id",
};
const PROFILE_DEV: DevTable = DevTable {
    table: "profiles_devices",
    fk: "profile_id",
    cfg: "profiles_devices_config",
    dev_fk: "profile_device_id",
};
const POOL_CFG: KvTable = KvTable {
    table: "storage_pools_config",
    fk: "storage_pool_id",
};
const VOLUME_CFG: KvTable = KvTable {
    table: "storage_volumes_config",
    fk: "storage_volume_id",
};
const IMAGE_PROPS: KvTable = KvTable {
    table: "images_properties",
    fk: "image_id",
};
pub(crate) const SNAPSHOT_CFG: KvTable = KvTable {
    table: "instances_snapshots_config",
    fk: "instance_snapshot_id",
};
pub(crate) const SNAPSHOT_DEV: DevTable = DevTable {
    table: "instances_snapshots_devices",
    fk: "instance_snapshot_id",
    cfg: "instances_snapshots_devices_config",
    dev_fk: "instance_snapshot_device_id",
};

/// Loads every row of a config table, grouped by owner id (one query for a whole list).
pub(crate) fn load_kv_all(tx: &Tx, t: &KvTable) -> Result<HashMap<i64, Config>> {
    let mut stmt = tx
        .prepare_cached(&format!("SELECT {}, key, value FROM {}", t.fk, t.table))
        .map_err(sql_err)?;
    let mut out: HashMap<i64, Config> = HashMap::new();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(sql_err)?;
    for row in rows {
        let (id, k, v) = row.map_err(sql_err)?;
        out.entry(id).or_default().insert(k, v);
    }
    Ok(out)
}

pub(crate) fn load_kv(tx: &Tx, t: &KvTable, id: i64) -> Result<Config> {
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT key, value FROM {} WHERE {} = ?1",
            t.table, t.fk
        ))
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(sql_err)?;
    rows.map(|r| r.map_err(sql_err)).collect()
}

pub(crate) fn replace_kv(tx: &Tx, t: &KvTable, id: i64, config: &Config) -> Result<()> {
    tx.execute(
        &format!("DELETE FROM {} WHERE {} = ?1", t.table, t.fk),
        [id],
    )
    .map_err(sql_err)?;
    let mut stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO {} ({}, key, value) VALUES (?1, ?2, ?3)",
            t.table, t.fk
        ))
        .map_err(sql_err)?;
    for (k, v) in config {
        stmt.execute(params![id, k, v]).map_err(sql_err)?;
    }
    Ok(())
}

fn set_kv(tx: &Tx, t: &KvTable, id: i64, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => tx.execute(
            &format!(
                "INSERT INTO {} ({}, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT ({}, key) DO UPDATE SET value = excluded.value",
                t.table, t.fk, t.fk
            ),
            params![id, key, v],
        ),
        None => tx.execute(
            &format!("DELETE FROM {} WHERE {} = ?1 AND key = ?2", t.table, t.fk),
            params![id, key],
        ),
    }
    .map_err(sql_err)?;
    Ok(())
}

fn load_devices_all(tx: &Tx, t: &DevTable) -> Result<HashMap<i64, Devices>> {
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT d.{fk}, d.name, d.type, c.key, c.value FROM {table} d
             LEFT JOIN {cfg} c ON c.{dev_fk} = d.id",
            fk = t.fk,
            table = t.table,
            cfg = t.cfg,
            dev_fk = t.dev_fk
        ))
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .map_err(sql_err)?;
    let mut out: HashMap<i64, Devices> = HashMap::new();
    for row in rows {
        let (id, name, typ, k, v) = row.map_err(sql_err)?;
        let dev = out.entry(id).or_default().entry(name).or_default();
        dev.insert("type".into(), typ);
        if let (Some(k), Some(v)) = (k, v) {
            dev.insert(k, v);
        }
    }
    Ok(out)
}

pub(crate) fn load_devices(tx: &Tx, t: &DevTable, id: i64) -> Result<Devices> {
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT d.name, d.type, c.key, c.value FROM {table} d
             LEFT JOIN {cfg} c ON c.{dev_fk} = d.id WHERE d.{fk} = ?1",
            fk = t.fk,
            table = t.table,
            cfg = t.cfg,
            dev_fk = t.dev_fk
        ))
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })
        .map_err(sql_err)?;
    let mut out = Devices::new();
    for row in rows {
        let (name, typ, k, v) = row.map_err(sql_err)?;
        let dev = out.entry(name).or_default();
        dev.insert("type".into(), typ);
        if let (Some(k), Some(v)) = (k, v) {
            dev.insert(k, v);
        }
    }
    Ok(out)
}

fn replace_devices(tx: &Tx, t: &DevTable, id: i64, devices: &Devices) -> Result<()> {
    // Device config rows go with their device through ON DELETE CASCADE.
    tx.execute(
        &format!("DELETE FROM {} WHERE {} = ?1", t.table, t.fk),
        [id],
    )
    .map_err(sql_err)?;
    for (name, config) in devices {
        let typ = config.get("type").cloned().unwrap_or_default();
        tx.execute(
            &format!(
                "INSERT INTO {} ({}, name, type) VALUES (?1, ?2, ?3)",
                t.table, t.fk
            ),
            params![id, name, typ],
        )
        .map_err(sql_err)?;
        let dev_id = tx.last_insert_rowid();
        let mut stmt = tx
            .prepare_cached(&format!(
                "INSERT INTO {} ({}, key, value) VALUES (?1, ?2, ?3)",
                t.cfg, t.dev_fk
            ))
            .map_err(sql_err)?;
        for (k, v) in config.iter().filter(|(k, _)| k.as_str() != "type") {
            stmt.execute(params![dev_id, k, v]).map_err(sql_err)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Projects and server config.

/// The id of a project, or NotFound.
pub fn project_id(tx: &Tx, name: &str) -> Result<i64> {
    tx.query_row("SELECT id FROM projects WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()
    .map_err(sql_err)?
    .ok_or_else(|| Error::not_found(format!("Project \"{name}\" not found")))
}

/// Project names.
pub fn project_names(tx: &Tx) -> Result<Vec<(String, String)>> {
    let mut stmt = tx
        .prepare_cached("SELECT name, description FROM projects ORDER BY name")
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql_err)?;
    rows.map(|r| r.map_err(sql_err)).collect()
}

/// The server config map.
pub fn server_config(tx: &Tx) -> Result<Config> {
    let mut stmt = tx
        .prepare_cached("SELECT key, value FROM config")
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(sql_err)?;
    rows.map(|r| r.map_err(sql_err)).collect()
}

/// Sets (Some) or removes (None) one server config key.
pub fn server_config_set(tx: &Tx, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => tx.execute(
            "INSERT INTO config (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, v],
        ),
        None => tx.execute("DELETE FROM config WHERE key = ?1", [key]),
    }
    .map_err(sql_err)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Profiles.

/// A profile row with its config and devices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub config: Config,
    pub devices: Devices,
}

pub fn profile_list(tx: &Tx, project: &str) -> Result<Vec<ProfileRow>> {
    let pid = project_id(tx, project)?;
    let mut configs = load_kv_all(tx, &PROFILE_CFG)?;
    let mut devices = load_devices_all(tx, &PROFILE_DEV)?;
    let mut stmt = tx
        .prepare_cached(
            "SELECT id, name, description FROM profiles WHERE project_id = ?1 ORDER BY name",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([pid], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?)))
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, description) = row.map_err(sql_err)?;
        out.push(ProfileRow {
            id,
            name,
            description,
            config: configs.remove(&id).unwrap_or_default(),
            devices: devices.remove(&id).unwrap_or_default(),
        });
    }
    Ok(out)
}

pub fn profile_get(tx: &Tx, project: &str, name: &str) -> Result<Option<ProfileRow>> {
    let pid = project_id(tx, project)?;
    let row: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, description FROM profiles WHERE project_id = ?1 AND name = ?2",
            params![pid, name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(sql_err)?;
    let Some((id, description)) = row else {
        return Ok(None);
    };
    Ok(Some(ProfileRow {
        id,
        name: name.to_string(),
        description,
        config: load_kv(tx, &PROFILE_CFG, id)?,
        devices: load_devices(tx, &PROFILE_DEV, id)?,
    }))
}

pub fn profile_create(tx: &Tx, project: &str, p: &ProfileRow) -> Result<i64> {
    let pid = project_id(tx, project)?;
    tx.execute(
        "INSERT INTO profiles (name, description, project_id) VALUES (?1, ?2, ?3)",
        params![p.name, p.description, pid],
    )
    .map_err(exists_err(format!("Profile \"{}\" already exists", p.name)))?;
    let id = tx.last_insert_rowid();
    replace_kv(tx, &PROFILE_CFG, id, &p.config)?;
    replace_devices(tx, &PROFILE_DEV, id, &p.devices)?;
    Ok(id)
}

pub fn profile_update(tx: &Tx, p: &ProfileRow) -> Result<()> {
    tx.execute(
        "UPDATE profiles SET description = ?1 WHERE id = ?2",
        params![p.description, p.id],
    )
    .map_err(sql_err)?;
    replace_kv(tx, &PROFILE_CFG, p.id, &p.config)?;
    replace_devices(tx, &PROFILE_DEV, p.id, &p.devices)
}

pub fn profile_rename(tx: &Tx, id: i64, new_name: &str) -> Result<()> {
    tx.execute(
        "UPDATE profiles SET name = ?1 WHERE id = ?2",
        params![new_name, id],
    )
    .map_err(exists_err(format!("Profile \"{new_name}\" already exists")))?;
    Ok(())
}

pub fn profile_delete(tx: &Tx, id: i64) -> Result<()> {
    tx.execute("DELETE FROM profiles WHERE id = ?1", [id])
        .map_err(sql_err)?;
    Ok(())
}

/// Names of the instances using a profile.
pub fn profile_used_by(tx: &Tx, id: i64) -> Result<Vec<String>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT i.name FROM instances_profiles ip JOIN instances i ON i.id = ip.instance_id
             WHERE ip.profile_id = ?1 ORDER BY i.name",
        )
        .map_err(sql_err)?;
    let rows = stmt.query_map([id], |r| r.get(0)).map_err(sql_err)?;
    rows.map(|r| r.map_err(sql_err)).collect()
}

// ---------------------------------------------------------------------------
// Storage pools and volumes.

/// A storage pool row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoolRow {
    pub id: i64,
    pub name: String,
    pub driver: String,
    pub description: String,
    pub config: Config,
}

pub fn pool_list(tx: &Tx) -> Result<Vec<PoolRow>> {
    let mut configs = load_kv_all(tx, &POOL_CFG)?;
    let mut stmt = tx
        .prepare_cached("SELECT id, name, driver, description FROM storage_pools ORDER BY name")
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(PoolRow {
                id: r.get(0)?,
                name: r.get(1)?,
                driver: r.get(2)?,
                description: r.get(3)?,
                config: Config::new(),
            })
        })
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let mut p = row.map_err(sql_err)?;
        p.config = configs.remove(&p.id).unwrap_or_default();
        out.push(p);
    }
    Ok(out)
}

pub fn pool_get(tx: &Tx, name: &str) -> Result<Option<PoolRow>> {
    let row = tx
        .query_row(
            "SELECT id, name, driver, description FROM storage_pools WHERE name = ?1",
            [name],
            |r| {
                Ok(PoolRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    driver: r.get(2)?,
                    description: r.get(3)?,
                    config: Config::new(),
                })
            },
        )
        .optional()
        .map_err(sql_err)?;
    match row {
        Some(mut p) => {
            p.config = load_kv(tx, &POOL_CFG, p.id)?;
            Ok(Some(p))
        }
        None => Ok(None),
    }
}

pub fn pool_create(tx: &Tx, p: &PoolRow) -> Result<i64> {
    tx.execute(
        "INSERT INTO storage_pools (name, driver, description) VALUES (?1, ?2, ?3)",
        params![p.name, p.driver, p.description],
    )
    .map_err(exists_err(format!(
        "Storage pool \"{}\" already exists",
        p.name
    )))?;
    let id = tx.last_insert_rowid();
    replace_kv(tx, &POOL_CFG, id, &p.config)?;
    Ok(id)
}

pub fn pool_update(tx: &Tx, p: &PoolRow) -> Result<()> {
    tx.execute(
        "UPDATE storage_pools SET description = ?1 WHERE id = ?2",
        params![p.description, p.id],
    )
    .map_err(sql_err)?;
    replace_kv(tx, &POOL_CFG, p.id, &p.config)
}

pub fn pool_delete(tx: &Tx, id: i64) -> Result<()> {
    tx.execute("DELETE FROM storage_pools WHERE id = ?1", [id])
        .map_err(sql_err)?;
    Ok(())
}

/// A storage volume row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VolumeRow {
    pub id: i64,
    pub pool: String,
    pub name: String,
    pub volume_type: String,
    pub description: String,
    pub content_type: String,
    pub created_at: String,
    pub project: String,
    pub config: Config,
}

fn volume_from_row(r: &rusqlite::Row) -> rusqlite::Result<VolumeRow> {
    Ok(VolumeRow {
        id: r.get(0)?,
        pool: r.get(1)?,
        name: r.get(2)?,
        volume_type: r.get(3)?,
        description: r.get(4)?,
        content_type: r.get(5)?,
        created_at: r.get(6)?,
        project: r.get(7)?,
        config: Config::new(),
    })
}

const VOLUME_SELECT: &str = "SELECT v.id, p.name, v.name, v.type, v.description, v.content_type,
    v.creation_date, pr.name FROM storage_volumes v
    JOIN storage_pools p ON p.id = v.storage_pool_id
    JOIN projects pr ON pr.id = v.project_id";

/// Volumes, of one pool or of all.
pub fn volume_list(tx: &Tx, pool: Option<&str>) -> Result<Vec<VolumeRow>> {
    let mut configs = load_kv_all(tx, &VOLUME_CFG)?;
    let mut stmt = tx
        .prepare_cached(&format!(
            "{VOLUME_SELECT} WHERE ?1 IS NULL OR p.name = ?1 ORDER BY p.name, v.type, v.name"
        ))
        .map_err(sql_err)?;
    let rows = stmt.query_map([pool], volume_from_row).map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let mut v = row.map_err(sql_err)?;
        v.config = configs.remove(&v.id).unwrap_or_default();
        out.push(v);
    }
    Ok(out)
}

pub fn volume_get(tx: &Tx, pool: &str, vtype: &str, name: &str) -> Result<Option<VolumeRow>> {
    let row = tx
        .query_row(
            &format!("{VOLUME_SELECT} WHERE p.name = ?1 AND v.type = ?2 AND v.name = ?3"),
            params![pool, vtype, name],
            volume_from_row,
        )
        .optional()
        .map_err(sql_err)?;
    match row {
        Some(mut v) => {
            v.config = load_kv(tx, &VOLUME_CFG, v.id)?;
            Ok(Some(v))
        }
        None => Ok(None),
    }
}

pub fn volume_create(tx: &Tx, v: &VolumeRow) -> Result<i64> {
    let pool = pool_get(tx, &v.pool)?
        .ok_or_else(|| Error::not_found(format!("Storage pool \"{}\" not found", v.pool)))?;
    let pid = project_id(tx, &v.project)?;
    tx.execute(
        "INSERT INTO storage_volumes (name, storage_pool_id, type, description, project_id,
         content_type, creation_date) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            v.name,
            pool.id,
            v.volume_type,
            v.description,
            pid,
            v.content_type,
            v.created_at
        ],
    )
    .map_err(exists_err(format!(
        "Storage volume \"{}\" of type \"{}\" already exists in pool \"{}\"",
        v.name, v.volume_type, v.pool
    )))?;
    let id = tx.last_insert_rowid();
    replace_kv(tx, &VOLUME_CFG, id, &v.config)?;
    Ok(id)
}

pub fn volume_update(tx: &Tx, v: &VolumeRow) -> Result<()> {
    tx.execute(
        "UPDATE storage_volumes SET description = ?1 WHERE id = ?2",
        params![v.description, v.id],
    )
    .map_err(sql_err)?;
    replace_kv(tx, &VOLUME_CFG, v.id, &v.config)
}

pub fn volume_rename(tx: &Tx, id: i64, new_name: &str) -> Result<()> {
    tx.execute(
        "UPDATE storage_volumes SET name = ?1 WHERE id = ?2",
        params![new_name, id],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub fn volume_delete(tx: &Tx, id: i64) -> Result<()> {
    tx.execute("DELETE FROM storage_volumes WHERE id = ?1", [id])
        .map_err(sql_err)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Images and aliases.

/// An image row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageRow {
    pub id: i64,
    pub fingerprint: String,
    pub filename: String,
    pub size: i64,
    pub public: bool,
    pub architecture: String,
    pub created_at: String,
    pub expires_at: String,
    pub uploaded_at: String,
    pub last_used_at: String,
    pub cached: bool,
    pub auto_update: bool,
    pub image_type: String,
    pub format: String,
    pub project: String,
    pub properties: Config,
    /// (name, description)
    pub aliases: Vec<(String, String)>,
}

const IMAGE_SELECT: &str = "SELECT i.id, i.fingerprint, i.filename, i.size, i.public,
    i.architecture, i.creation_date, i.expiry_date, i.upload_date, i.last_use_date, i.cached,
    i.auto_update, i.type, i.format, p.name FROM images i JOIN projects p ON p.id = i.project_id";

fn image_from_row(r: &rusqlite::Row) -> rusqlite::Result<ImageRow> {
    Ok(ImageRow {
        id: r.get(0)?,
        fingerprint: r.get(1)?,
        filename: r.get(2)?,
        size: r.get(3)?,
        public: r.get(4)?,
        architecture: r.get(5)?,
        created_at: r.get(6)?,
        expires_at: r.get(7)?,
        uploaded_at: r.get(8)?,
        last_used_at: r.get(9)?,
        cached: r.get(10)?,
        auto_update: r.get(11)?,
        image_type: r.get(12)?,
        format: r.get(13)?,
        project: r.get(14)?,
        ..Default::default()
    })
}

fn image_aliases_all(tx: &Tx) -> Result<HashMap<i64, Vec<(String, String)>>> {
    let mut stmt = tx
        .prepare_cached("SELECT image_id, name, description FROM images_aliases ORDER BY name")
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?)))
        .map_err(sql_err)?;
    let mut out: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    for row in rows {
        let (id, n, d) = row.map_err(sql_err)?;
        out.entry(id).or_default().push((n, d));
    }
    Ok(out)
}

pub fn image_list(tx: &Tx, project: &str) -> Result<Vec<ImageRow>> {
    let pid = project_id(tx, project)?;
    let mut props = load_kv_all(tx, &IMAGE_PROPS)?;
    let mut aliases = image_aliases_all(tx)?;
    let mut stmt = tx
        .prepare_cached(&format!(
            "{IMAGE_SELECT} WHERE i.project_id = ?1 ORDER BY i.fingerprint"
        ))
        .map_err(sql_err)?;
    let rows = stmt.query_map([pid], image_from_row).map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let mut img = row.map_err(sql_err)?;
        img.properties = props.remove(&img.id).unwrap_or_default();
        img.aliases = aliases.remove(&img.id).unwrap_or_default();
        out.push(img);
    }
    Ok(out)
}

/// Finds an image by fingerprint or unique fingerprint prefix.
pub fn image_get(tx: &Tx, project: &str, fingerprint: &str) -> Result<Option<ImageRow>> {
    let pid = project_id(tx, project)?;
    if fingerprint.is_empty() || !fingerprint.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let mut stmt = tx
        .prepare_cached(&format!(
            "{IMAGE_SELECT} WHERE i.project_id = ?1 AND i.fingerprint LIKE ?2 || '%' LIMIT 2"
        ))
        .map_err(sql_err)?;
    let found: Vec<ImageRow> = stmt
        .query_map(
            params![pid, fingerprint.to_ascii_lowercase()],
            image_from_row,
        )
        .map_err(sql_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sql_err)?;
    match found.len() {
        0 => Ok(None),
        1 => {
            let mut img = found.into_iter().next().expect("one row");
            img.properties = load_kv(tx, &IMAGE_PROPS, img.id)?;
            let mut stmt = tx
                .prepare_cached(
                    "SELECT name, description FROM images_aliases WHERE image_id = ?1 ORDER BY name",
                )
                .map_err(sql_err)?;
            img.aliases = stmt
                .query_map([img.id], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(sql_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(sql_err)?;
            Ok(Some(img))
        }
        _ => Err(Error::invalid(format!(
            "More than one image matches the fingerprint prefix \"{fingerprint}\""
        ))),
    }
}

pub fn image_create(tx: &Tx, img: &ImageRow) -> Result<i64> {
    let pid = project_id(tx, &img.project)?;
    tx.execute(
        "INSERT INTO images (fingerprint, filename, size, public, architecture, creation_date,
         expiry_date, upload_date, cached, last_use_date, auto_update, project_id, type, format)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            img.fingerprint,
            img.filename,
            img.size,
            img.public,
            img.architecture,
            img.created_at,
            img.expires_at,
            img.uploaded_at,
            img.cached,
            img.last_used_at,
            img.auto_update,
            pid,
            img.image_type,
            img.format
        ],
    )
    .map_err(exists_err(format!(
        "Image with same fingerprint already exists ({})",
        img.fingerprint
    )))?;
    let id = tx.last_insert_rowid();
    replace_kv(tx, &IMAGE_PROPS, id, &img.properties)?;
    Ok(id)
}

/// Updates the writable fields of an image (properties, public, auto_update, expiry).
pub fn image_update(tx: &Tx, img: &ImageRow) -> Result<()> {
    tx.execute(
        "UPDATE images SET public = ?1, auto_update = ?2, expiry_date = ?3 WHERE id = ?4",
        params![img.public, img.auto_update, img.expires_at, img.id],
    )
    .map_err(sql_err)?;
    replace_kv(tx, &IMAGE_PROPS, img.id, &img.properties)
}

pub fn image_touch(tx: &Tx, id: i64, when: &str) -> Result<()> {
    tx.execute(
        "UPDATE images SET last_use_date = ?1 WHERE id = ?2",
        params![when, id],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub fn image_delete(tx: &Tx, id: i64) -> Result<()> {
    tx.execute("DELETE FROM images WHERE id = ?1", [id])
        .map_err(sql_err)?;
    Ok(())
}

/// An alias with its target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AliasRow {
    pub name: String,
    pub description: String,
    pub fingerprint: String,
    pub image_type: String,
}

pub fn alias_list(tx: &Tx, project: &str) -> Result<Vec<AliasRow>> {
    let pid = project_id(tx, project)?;
    let mut stmt = tx
        .prepare_cached(
            "SELECT a.name, a.description, i.fingerprint, i.type FROM images_aliases a
             JOIN images i ON i.id = a.image_id WHERE a.project_id = ?1 ORDER BY a.name",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([pid], |r| {
            Ok(AliasRow {
                name: r.get(0)?,
                description: r.get(1)?,
                fingerprint: r.get(2)?,
                image_type: r.get(3)?,
            })
        })
        .map_err(sql_err)?;
    rows.map(|r| r.map_err(sql_err)).collect()
}

pub fn alias_get(tx: &Tx, project: &str, name: &str) -> Result<Option<AliasRow>> {
    Ok(alias_list(tx, project)?
        .into_iter()
        .find(|a| a.name == name))
}

pub fn alias_create(
    tx: &Tx,
    project: &str,
    name: &str,
    image_id: i64,
    description: &str,
) -> Result<()> {
    let pid = project_id(tx, project)?;
    tx.execute(
        "INSERT INTO images_aliases (name, image_id, description, project_id) VALUES (?1, ?2, ?3, ?4)",
        params![name, image_id, description, pid],
    )
    .map_err(exists_err(format!("Alias \"{name}\" already exists")))?;
    Ok(())
}

/// Deletes an alias; false when it did not exist.
pub fn alias_delete(tx: &Tx, project: &str, name: &str) -> Result<bool> {
    let pid = project_id(tx, project)?;
    let n = tx
        .execute(
            "DELETE FROM images_aliases WHERE project_id = ?1 AND name = ?2",
            params![pid, name],
        )
        .map_err(sql_err)?;
    Ok(n > 0)
}

/// Renames an alias; false when it did not exist.
pub fn alias_rename(tx: &Tx, project: &str, name: &str, new_name: &str) -> Result<bool> {
    let pid = project_id(tx, project)?;
    let n = tx
        .execute(
            "UPDATE images_aliases SET name = ?1 WHERE project_id = ?2 AND name = ?3",
            params![new_name, pid, name],
        )
        .map_err(exists_err(format!("Alias \"{new_name}\" already exists")))?;
    Ok(n > 0)
}

// ---------------------------------------------------------------------------
// Instances.

/// An instance row with config, devices and ordered profile names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceRow {
    pub id: i64,
    pub name: String,
    pub project: String,
    pub instance_type: String,
    pub architecture: String,
    pub ephemeral: bool,
    pub stateful: bool,
    pub created_at: String,
    pub last_used_at: String,
    pub description: String,
    pub pool: String,
    pub pending: bool,
    pub config: Config,
    pub devices: Devices,
    pub profiles: Vec<String>,
}

const INSTANCE_SELECT: &str = "SELECT i.id, i.name, p.name, i.type, i.architecture, i.ephemeral,
    i.stateful, i.creation_date, i.last_use_date, i.description, i.pool, i.pending
    FROM instances i JOIN projects p ON p.id = i.project_id";

fn instance_from_row(r: &rusqlite::Row) -> rusqlite::Result<InstanceRow> {
    Ok(InstanceRow {
        id: r.get(0)?,
        name: r.get(1)?,
        project: r.get(2)?,
        instance_type: r.get(3)?,
        architecture: r.get(4)?,
        ephemeral: r.get(5)?,
        stateful: r.get(6)?,
        created_at: r.get(7)?,
        last_used_at: r.get(8)?,
        description: r.get(9)?,
        pool: r.get(10)?,
        pending: r.get(11)?,
        ..Default::default()
    })
}

fn instance_profiles_all(tx: &Tx) -> Result<HashMap<i64, Vec<String>>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT ip.instance_id, p.name FROM instances_profiles ip
             JOIN profiles p ON p.id = ip.profile_id ORDER BY ip.instance_id, ip.apply_order",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .map_err(sql_err)?;
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    for row in rows {
        let (id, name) = row.map_err(sql_err)?;
        out.entry(id).or_default().push(name);
    }
    Ok(out)
}

/// Every instance of a project (three queries in all, whatever the count).
pub fn instance_list(tx: &Tx, project: &str) -> Result<Vec<InstanceRow>> {
    let pid = project_id(tx, project)?;
    let mut configs = load_kv_all(tx, &INSTANCE_CFG)?;
    let mut devices = load_devices_all(tx, &INSTANCE_DEV)?;
    let mut profiles = instance_profiles_all(tx)?;
    let mut stmt = tx
        .prepare_cached(&format!(
            "{INSTANCE_SELECT} WHERE i.project_id = ?1 ORDER BY i.name"
        ))
        .map_err(sql_err)?;
    let rows = stmt.query_map([pid], instance_from_row).map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let mut i = row.map_err(sql_err)?;
        i.config = configs.remove(&i.id).unwrap_or_default();
        i.devices = devices.remove(&i.id).unwrap_or_default();
        i.profiles = profiles.remove(&i.id).unwrap_or_default();
        out.push(i);
    }
    Ok(out)
}

/// Names of the instances of a project (cheap).
pub fn instance_names(tx: &Tx, project: &str) -> Result<Vec<String>> {
    let pid = project_id(tx, project)?;
    let mut stmt = tx
        .prepare_cached("SELECT name FROM instances WHERE project_id = ?1 ORDER BY name")
        .map_err(sql_err)?;
    let rows = stmt.query_map([pid], |r| r.get(0)).map_err(sql_err)?;
    rows.map(|r| r.map_err(sql_err)).collect()
}

pub fn instance_get(tx: &Tx, project: &str, name: &str) -> Result<Option<InstanceRow>> {
    let pid = project_id(tx, project)?;
    let row = tx
        .query_row(
            &format!("{INSTANCE_SELECT} WHERE i.project_id = ?1 AND i.name = ?2"),
            params![pid, name],
            instance_from_row,
        )
        .optional()
        .map_err(sql_err)?;
    let Some(mut i) = row else { return Ok(None) };
    i.config = load_kv(tx, &INSTANCE_CFG, i.id)?;
    i.devices = load_devices(tx, &INSTANCE_DEV, i.id)?;
    let mut stmt = tx
        .prepare_cached(
            "SELECT p.name FROM instances_profiles ip JOIN profiles p ON p.id = ip.profile_id
             WHERE ip.instance_id = ?1 ORDER BY ip.apply_order",
        )
        .map_err(sql_err)?;
    i.profiles = stmt
        .query_map([i.id], |r| r.get(0))
        .map_err(sql_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sql_err)?;
    Ok(Some(i))
}

fn set_instance_profiles(tx: &Tx, id: i64, project: &str, profiles: &[String]) -> Result<()> {
    tx.execute(
        "DELETE FROM instances_profiles WHERE instance_id = ?1",
        [id],
    )
    .map_err(sql_err)?;
    let pid = project_id(tx, project)?;
    for (order, name) in profiles.iter().enumerate() {
        let profile_id: i64 = tx
            .query_row(
                "SELECT id FROM profiles WHERE project_id = ?1 AND name = ?2",
                params![pid, name],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)?
            .ok_or_else(|| Error::not_found(format!("Profile \"{name}\" not found")))?;
        tx.execute(
            "INSERT INTO instances_profiles (instance_id, profile_id, apply_order) VALUES (?1, ?2, ?3)",
            params![id, profile_id, order as i64],
        )
        .map_err(|e| match sql_err(e) {
            err if err.kind == incus_api::ErrorKind::Conflict => {
                Error::invalid(format!("Profile \"{name}\" is listed twice"))
            }
            err => err,
        })?;
    }
    Ok(())
}

/// Inserts an instance with its config, devices and profiles.
pub fn instance_create(tx: &Tx, i: &InstanceRow) -> Result<i64> {
    let pid = project_id(tx, &i.project)?;
    tx.execute(
        "INSERT INTO instances (name, project_id, type, architecture, ephemeral, stateful,
         creation_date, last_use_date, description, pool, pending)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            i.name,
            pid,
            i.instance_type,
            i.architecture,
            i.ephemeral,
            i.stateful,
            i.created_at,
            i.last_used_at,
            i.description,
            i.pool,
            i.pending
        ],
    )
    .map_err(exists_err(format!(
        "Instance \"{}\" already exists",
        i.name
    )))?;
    let id = tx.last_insert_rowid();
    replace_kv(tx, &INSTANCE_CFG, id, &i.config)?;
    replace_devices(tx, &INSTANCE_DEV, id, &i.devices)?;
    set_instance_profiles(tx, id, &i.project, &i.profiles)?;
    Ok(id)
}

/// Replaces the writable fields of an instance (config, devices, profiles, flags).
pub fn instance_update(tx: &Tx, i: &InstanceRow) -> Result<()> {
    tx.execute(
        "UPDATE instances SET architecture = ?1, ephemeral = ?2, stateful = ?3,
         description = ?4, pool = ?5, pending = ?6, last_use_date = ?7 WHERE id = ?8",
        params![
            i.architecture,
            i.ephemeral,
            i.stateful,
            i.description,
            i.pool,
            i.pending,
            i.last_used_at,
            i.id
        ],
    )
    .map_err(sql_err)?;
    replace_kv(tx, &INSTANCE_CFG, i.id, &i.config)?;
    replace_devices(tx, &INSTANCE_DEV, i.id, &i.devices)?;
    set_instance_profiles(tx, i.id, &i.project, &i.profiles)
}

/// Sets or removes one instance config key (volatile keys at start and stop).
pub fn instance_config_set(tx: &Tx, id: i64, key: &str, value: Option<&str>) -> Result<()> {
    set_kv(tx, &INSTANCE_CFG, id, key, value)
}

pub fn instance_set_last_used(tx: &Tx, id: i64, when: &str) -> Result<()> {
    tx.execute(
        "UPDATE instances SET last_use_date = ?1 WHERE id = ?2",
        params![when, id],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub fn instance_set_pending(tx: &Tx, id: i64, pending: bool) -> Result<()> {
    tx.execute(
        "UPDATE instances SET pending = ?1 WHERE id = ?2",
        params![pending, id],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub fn instance_rename(tx: &Tx, id: i64, new_name: &str) -> Result<()> {
    tx.execute(
        "UPDATE instances SET name = ?1 WHERE id = ?2",
        params![new_name, id],
    )
    .map_err(exists_err(format!(
        "Instance \"{new_name}\" already exists"
    )))?;
    Ok(())
}

pub fn instance_delete(tx: &Tx, id: i64) -> Result<()> {
    tx.execute("DELETE FROM instances WHERE id = ?1", [id])
        .map_err(sql_err)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Snapshots (rows only; storage lives in core).

/// A snapshot row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SnapshotRow {
    pub id: i64,
    pub instance_id: i64,
    pub name: String,
    pub created_at: String,
    pub expires_at: String,
    pub stateful: bool,
    pub description: String,
    pub config: Config,
    pub devices: Devices,
}

/// Every snapshot, grouped by instance id (five queries whatever the count).
pub fn snapshot_list_all(tx: &Tx) -> Result<HashMap<i64, Vec<SnapshotRow>>> {
    let mut configs = load_kv_all(tx, &SNAPSHOT_CFG)?;
    let mut devices = load_devices_all(tx, &SNAPSHOT_DEV)?;
    let mut stmt = tx
        .prepare_cached(
            "SELECT id, instance_id, name, creation_date, expiry_date, stateful, description
             FROM instances_snapshots ORDER BY instance_id, creation_date, id",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(SnapshotRow {
                id: r.get(0)?,
                instance_id: r.get(1)?,
                name: r.get(2)?,
                created_at: r.get(3)?,
                expires_at: r.get(4)?,
                stateful: r.get(5)?,
                description: r.get(6)?,
                ..Default::default()
            })
        })
        .map_err(sql_err)?;
    let mut out: HashMap<i64, Vec<SnapshotRow>> = HashMap::new();
    for row in rows {
        let mut s = row.map_err(sql_err)?;
        s.config = configs.remove(&s.id).unwrap_or_default();
        s.devices = devices.remove(&s.id).unwrap_or_default();
        out.entry(s.instance_id).or_default().push(s);
    }
    Ok(out)
}

pub fn snapshot_create(tx: &Tx, s: &SnapshotRow) -> Result<i64> {
    tx.execute(
        "INSERT INTO instances_snapshots (instance_id, name, creation_date, stateful, description,
         expiry_date) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            s.instance_id,
            s.name,
            s.created_at,
            s.stateful,
            s.description,
            s.expires_at
        ],
    )
    .map_err(exists_err(format!(
        "Snapshot \"{}\" already exists",
        s.name
    )))?;
    let id = tx.last_insert_rowid();
    replace_kv(tx, &SNAPSHOT_CFG, id, &s.config)?;
    replace_devices(tx, &SNAPSHOT_DEV, id, &s.devices)?;
    Ok(id)
}

pub fn snapshot_delete(tx: &Tx, id: i64) -> Result<()> {
    tx.execute("DELETE FROM instances_snapshots WHERE id = ?1", [id])
        .map_err(sql_err)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Events: every tool appends; `incus-serve` tails.

/// One stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub id: i64,
    pub event_type: String,
    pub timestamp: String,
    pub project: String,
    pub metadata: serde_json::Value,
}

/// How many events are kept; older ones are pruned on append.
const EVENTS_KEPT: i64 = 10_000;

pub fn event_append(
    tx: &Tx,
    event_type: &str,
    timestamp: &str,
    project: &str,
    metadata: &serde_json::Value,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO events (type, timestamp, project, metadata) VALUES (?1, ?2, ?3, ?4)",
        params![event_type, timestamp, project, metadata.to_string()],
    )
    .map_err(sql_err)?;
    let id = tx.last_insert_rowid();
    if id % 1000 == 0 {
        tx.execute("DELETE FROM events WHERE id <= ?1", [id - EVENTS_KEPT])
            .map_err(sql_err)?;
    }
    Ok(id)
}

/// Events with an id above `after`, oldest first.
pub fn events_since(tx: &Tx, after: i64) -> Result<Vec<EventRow>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT id, type, timestamp, project, metadata FROM events WHERE id > ?1 ORDER BY id",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([after], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, event_type, timestamp, project, meta) = row.map_err(sql_err)?;
        out.push(EventRow {
            id,
            event_type,
            timestamp,
            project,
            metadata: serde_json::from_str(&meta).unwrap_or(serde_json::Value::Null),
        });
    }
    Ok(out)
}
