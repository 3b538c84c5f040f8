//! Instances.

use super::*;

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
    instance_list_of(tx, Some(pid))
}

/// Every instance of every project (host-wide allocations: idmap ranges).
pub fn instance_list_all(tx: &Tx) -> Result<Vec<InstanceRow>> {
    instance_list_of(tx, None)
}

fn instance_list_of(tx: &Tx, pid: Option<i64>) -> Result<Vec<InstanceRow>> {
    let mut configs = load_kv_all(tx, &INSTANCE_CFG)?;
    let mut devices = load_devices_all(tx, &INSTANCE_DEV)?;
    let mut profiles = instance_profiles_all(tx)?;
    let mut stmt = tx
        .prepare_cached(&format!(
            "{INSTANCE_SELECT} WHERE ?1 IS NULL OR i.project_id = ?1 ORDER BY p.name, i.name"
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
    let pid = feature_project_id(tx, project, "features.profiles")?;
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
