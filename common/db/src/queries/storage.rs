//! Storage pools and volumes.

use super::*;

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

/// The project holding volumes of `vtype` for `project`: custom volumes follow
/// `features.storage.volumes`, instance volumes are the instance's project's.
fn volume_project_id(tx: &Tx, project: &str, vtype: &str) -> Result<i64> {
    if vtype == "custom" {
        feature_project_id(tx, project, "features.storage.volumes")
    } else {
        project_id(tx, project)
    }
}

/// Volumes, of one pool or of all, of one project (custom volumes through
/// `features.storage.volumes`) or of all projects (`None`).
pub fn volume_list(tx: &Tx, pool: Option<&str>, project: Option<&str>) -> Result<Vec<VolumeRow>> {
    let (own, custom) = match project {
        Some(p) => (
            Some(project_id(tx, p)?),
            Some(volume_project_id(tx, p, "custom")?),
        ),
        None => (None, None),
    };
    let mut configs = load_kv_all(tx, &VOLUME_CFG)?;
    let mut stmt = tx
        .prepare_cached(&format!(
            "{VOLUME_SELECT} WHERE (?1 IS NULL OR p.name = ?1) AND (?2 IS NULL OR
             (v.type = 'custom' AND v.project_id = ?3) OR (v.type <> 'custom' AND v.project_id = ?2))
             ORDER BY p.name, v.type, v.name"
        ))
        .map_err(sql_err)?;
    let rows = stmt
        .query_map(params![pool, own, custom], volume_from_row)
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let mut v = row.map_err(sql_err)?;
        v.config = configs.remove(&v.id).unwrap_or_default();
        out.push(v);
    }
    Ok(out)
}

/// One volume of a project (custom volumes through `features.storage.volumes`).
pub fn volume_get(
    tx: &Tx,
    project: &str,
    pool: &str,
    vtype: &str,
    name: &str,
) -> Result<Option<VolumeRow>> {
    let pid = volume_project_id(tx, project, vtype)?;
    let row = tx
        .query_row(
            &format!(
                "{VOLUME_SELECT} WHERE p.name = ?1 AND v.type = ?2 AND v.name = ?3 AND v.project_id = ?4"
            ),
            params![pool, vtype, name, pid],
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
    let pid = volume_project_id(tx, &v.project, &v.volume_type)?;
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
