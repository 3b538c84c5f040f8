//! Profiles.

use super::*;

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
    let pid = feature_project_id(tx, project, "features.profiles")?;
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
    let pid = feature_project_id(tx, project, "features.profiles")?;
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
    let pid = feature_project_id(tx, project, "features.profiles")?;
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

/// The id of a profile held by the project `project_id` itself (no feature lookup).
pub fn profile_id_in(tx: &Tx, project_id: i64, name: &str) -> Result<Option<i64>> {
    tx.query_row(
        "SELECT id FROM profiles WHERE project_id = ?1 AND name = ?2",
        params![project_id, name],
        |r| r.get(0),
    )
    .optional()
    .map_err(sql_err)
}

/// Sets a profile's description alone.
pub fn profile_describe(tx: &Tx, id: i64, description: &str) -> Result<()> {
    tx.execute(
        "UPDATE profiles SET description = ?1 WHERE id = ?2",
        params![description, id],
    )
    .map_err(sql_err)?;
    Ok(())
}
