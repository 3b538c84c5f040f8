//! Instance snapshot rows (the disk side lives in core's storage drivers).

use crate::queries::{load_devices, load_kv, SNAPSHOT_CFG, SNAPSHOT_DEV};
use crate::{exists_err, sql_err, SnapshotRow, Tx};
use incus_api::Result;
use rusqlite::{params, OptionalExtension};

const SELECT: &str =
    "SELECT id, instance_id, name, creation_date, expiry_date, stateful, description
    FROM instances_snapshots";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<SnapshotRow> {
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
}

fn fill(tx: &Tx, mut s: SnapshotRow) -> Result<SnapshotRow> {
    s.config = load_kv(tx, &SNAPSHOT_CFG, s.id)?;
    s.devices = load_devices(tx, &SNAPSHOT_DEV, s.id)?;
    Ok(s)
}

/// The snapshots of one instance, oldest first.
pub fn snapshot_list(tx: &Tx, instance_id: i64) -> Result<Vec<SnapshotRow>> {
    let mut stmt = tx
        .prepare_cached(&format!(
            "{SELECT} WHERE instance_id = ?1 ORDER BY creation_date, id"
        ))
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([instance_id], from_row)
        .map_err(sql_err)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(sql_err)?;
    rows.into_iter().map(|s| fill(tx, s)).collect()
}

/// One snapshot of an instance by name.
pub fn snapshot_get(tx: &Tx, instance_id: i64, name: &str) -> Result<Option<SnapshotRow>> {
    let row = tx
        .query_row(
            &format!("{SELECT} WHERE instance_id = ?1 AND name = ?2"),
            params![instance_id, name],
            from_row,
        )
        .optional()
        .map_err(sql_err)?;
    row.map(|s| fill(tx, s)).transpose()
}

/// Renames a snapshot (the name is unique per instance).
pub fn snapshot_rename(tx: &Tx, id: i64, new_name: &str) -> Result<()> {
    tx.execute(
        "UPDATE instances_snapshots SET name = ?2 WHERE id = ?1",
        params![id, new_name],
    )
    .map_err(exists_err(format!(
        "Snapshot \"{new_name}\" already exists"
    )))?;
    Ok(())
}

/// Sets the expiry and description of a snapshot (`snapshot edit`, `--no-expiry`).
pub fn snapshot_update(tx: &Tx, id: i64, expires_at: &str, description: &str) -> Result<()> {
    tx.execute(
        "UPDATE instances_snapshots SET expiry_date = ?2, description = ?3 WHERE id = ?1",
        params![id, expires_at, description],
    )
    .map_err(sql_err)?;
    Ok(())
}
