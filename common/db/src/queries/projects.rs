//! Projects and server config.

use super::*;

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
