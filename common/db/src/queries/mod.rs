//! Typed queries. Each takes a transaction from [`crate::Db::read`] or
//! [`crate::Db::write`]; none opens its own.

use crate::{exists_err, sql_err, Tx};
use incus_api::{Config, Devices, Error, Result};
use rusqlite::{params, OptionalExtension};
use std::collections::HashMap;

mod events;
mod images;
mod instances;
mod profiles;
mod projects;
mod snapshots;
mod storage;

pub use events::*;
pub use images::*;
pub use instances::*;
pub use profiles::*;
pub use projects::*;
pub use snapshots::*;
pub use storage::*;

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
