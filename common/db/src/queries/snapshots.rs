//! Snapshot rows (storage lives in core).

use super::*;

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
