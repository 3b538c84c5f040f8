//! Networks: rows of `networks` and `networks_config`, and who uses them.

use crate::queries::{feature_project_id, load_kv, load_kv_all, replace_kv, KvTable};
use crate::{exists_err, sql_err, Tx};
use incus_api::{Config, Result};
use rusqlite::{params, OptionalExtension};

const NETWORK_CFG: KvTable = KvTable {
    table: "networks_config",
    fk: "network_id",
};

/// `networks.state` as upstream numbers it: a row that is still being created or
/// deleted is pending; the next command repairs it when its owner died.
pub const NETWORK_PENDING: i64 = 0;
/// `networks.state` of a network that exists.
pub const NETWORK_CREATED: i64 = 1;

/// A network row with its config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkRow {
    pub id: i64,
    pub name: String,
    pub project: String,
    pub description: String,
    pub network_type: String,
    pub state: i64,
    pub config: Config,
}

const NETWORK_SELECT: &str = "SELECT n.id, n.name, p.name, n.description, n.type, n.state
    FROM networks n JOIN projects p ON p.id = n.project_id";

fn network_from_row(r: &rusqlite::Row) -> rusqlite::Result<NetworkRow> {
    Ok(NetworkRow {
        id: r.get(0)?,
        name: r.get(1)?,
        project: r.get(2)?,
        description: r.get(3)?,
        network_type: r.get(4)?,
        state: r.get(5)?,
        config: Config::new(),
    })
}

/// Every network of a project, pending ones included.
pub fn network_list(tx: &Tx, project: &str) -> Result<Vec<NetworkRow>> {
    let pid = feature_project_id(tx, project, "features.networks")?;
    network_list_of(tx, Some(pid))
}

/// Every network of every project (host-wide choices: subnets).
pub fn network_list_all(tx: &Tx) -> Result<Vec<NetworkRow>> {
    network_list_of(tx, None)
}

fn network_list_of(tx: &Tx, pid: Option<i64>) -> Result<Vec<NetworkRow>> {
    let mut configs = load_kv_all(tx, &NETWORK_CFG)?;
    let mut stmt = tx
        .prepare_cached(&format!(
            "{NETWORK_SELECT} WHERE ?1 IS NULL OR n.project_id = ?1 ORDER BY n.name"
        ))
        .map_err(sql_err)?;
    let rows = stmt.query_map([pid], network_from_row).map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let mut n = row.map_err(sql_err)?;
        n.config = configs.remove(&n.id).unwrap_or_default();
        out.push(n);
    }
    Ok(out)
}

/// One network (pending or not).
pub fn network_get(tx: &Tx, project: &str, name: &str) -> Result<Option<NetworkRow>> {
    let pid = feature_project_id(tx, project, "features.networks")?;
    let row = tx
        .query_row(
            &format!("{NETWORK_SELECT} WHERE n.project_id = ?1 AND n.name = ?2"),
            params![pid, name],
            network_from_row,
        )
        .optional()
        .map_err(sql_err)?;
    match row {
        Some(mut n) => {
            n.config = load_kv(tx, &NETWORK_CFG, n.id)?;
            Ok(Some(n))
        }
        None => Ok(None),
    }
}

/// Inserts a network with its config; returns its id.
pub fn network_create(tx: &Tx, n: &NetworkRow) -> Result<i64> {
    let pid = feature_project_id(tx, &n.project, "features.networks")?;
    tx.execute(
        "INSERT INTO networks (name, project_id, description, state, type)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![n.name, pid, n.description, n.state, n.network_type],
    )
    .map_err(exists_err(format!("Network \"{}\" already exists", n.name)))?;
    let id = tx.last_insert_rowid();
    replace_kv(tx, &NETWORK_CFG, id, &n.config)?;
    Ok(id)
}

/// Replaces description and config.
pub fn network_update(tx: &Tx, n: &NetworkRow) -> Result<()> {
    tx.execute(
        "UPDATE networks SET description = ?1 WHERE id = ?2",
        params![n.description, n.id],
    )
    .map_err(sql_err)?;
    replace_kv(tx, &NETWORK_CFG, n.id, &n.config)
}

/// Marks a network pending (being deleted) or created.
pub fn network_set_state(tx: &Tx, id: i64, state: i64) -> Result<()> {
    tx.execute(
        "UPDATE networks SET state = ?1 WHERE id = ?2",
        params![state, id],
    )
    .map_err(sql_err)?;
    Ok(())
}

/// Renames a network.
pub fn network_rename(tx: &Tx, id: i64, new_name: &str) -> Result<()> {
    tx.execute(
        "UPDATE networks SET name = ?1 WHERE id = ?2",
        params![new_name, id],
    )
    .map_err(exists_err(format!("Network \"{new_name}\" already exists")))?;
    Ok(())
}

/// Deletes a network row (its config goes with it).
pub fn network_delete(tx: &Tx, id: i64) -> Result<()> {
    tx.execute("DELETE FROM networks WHERE id = ?1", [id])
        .map_err(sql_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Db;

    #[test]
    fn network_rows_round_trip() {
        let mut db = Db::open_in_memory().unwrap();
        let row = NetworkRow {
            name: "br0".into(),
            project: "default".into(),
            network_type: "bridge".into(),
            state: NETWORK_PENDING,
            config: [("ipv4.address".to_string(), "10.1.2.1/24".to_string())].into(),
            ..Default::default()
        };
        let id = db.write(|tx| network_create(tx, &row)).unwrap();
        let err = db.write(|tx| network_create(tx, &row)).unwrap_err();
        assert_eq!(err.kind, incus_api::ErrorKind::Conflict);
        db.write(|tx| network_set_state(tx, id, NETWORK_CREATED))
            .unwrap();
        db.write(|tx| network_rename(tx, id, "br1")).unwrap();
        let got = db
            .read(|tx| network_get(tx, "default", "br1"))
            .unwrap()
            .unwrap();
        assert_eq!(got.state, NETWORK_CREATED);
        assert_eq!(got.config, row.config);
        assert_eq!(db.read(|tx| network_list(tx, "default")).unwrap().len(), 1);
        db.write(|tx| network_delete(tx, id)).unwrap();
        assert!(db
            .read(|tx| network_get(tx, "default", "br1"))
            .unwrap()
            .is_none());
    }
}
