//! Projects and server config.

use super::*;

const PROJECT_CFG: KvTable = KvTable {
    table: "projects_config",
    fk: "project_id",
};

/// The id of a project, or NotFound (one query on the unique index of the name).
pub fn project_id(tx: &Tx, name: &str) -> Result<i64> {
    tx.query_row("SELECT id FROM projects WHERE name = ?1", [name], |r| {
        r.get(0)
    })
    .optional()
    .map_err(sql_err)?
    .ok_or_else(|| Error::not_found(format!("Project \"{name}\" not found")))
}

/// The id and name of the project holding the objects of `feature`
/// (`features.profiles`, `features.images`, `features.storage.volumes`,
/// `features.networks`) for `name`: the project itself when the feature is on, else
/// `default` (upstream's rule). One query.
pub fn feature_project(tx: &Tx, name: &str, feature: &str) -> Result<(i64, String)> {
    tx.query_row(
        "SELECT CASE WHEN p.name = 'default' OR COALESCE(
                (SELECT c.value FROM projects_config c WHERE c.project_id = p.id AND c.key = ?2),
                'false') = 'true'
             THEN p.id ELSE (SELECT id FROM projects WHERE name = 'default') END,
             CASE WHEN p.name = 'default' OR COALESCE(
                (SELECT c.value FROM projects_config c WHERE c.project_id = p.id AND c.key = ?2),
                'false') = 'true'
             THEN p.name ELSE 'default' END
         FROM projects p WHERE p.name = ?1",
        params![name, feature],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .map_err(sql_err)?
    .ok_or_else(|| Error::not_found(format!("Project \"{name}\" not found")))
}

/// [`feature_project`]'s id alone.
pub fn feature_project_id(tx: &Tx, name: &str, feature: &str) -> Result<i64> {
    Ok(feature_project(tx, name, feature)?.0)
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

/// A project row with its config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProjectRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub config: Config,
}

/// Every project, by name.
pub fn project_list(tx: &Tx) -> Result<Vec<ProjectRow>> {
    let mut configs = load_kv_all(tx, &PROJECT_CFG)?;
    let mut stmt = tx
        .prepare_cached("SELECT id, name, description FROM projects ORDER BY name")
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(ProjectRow {
                id: r.get(0)?,
                name: r.get(1)?,
                description: r.get(2)?,
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

/// One project, or None.
pub fn project_get(tx: &Tx, name: &str) -> Result<Option<ProjectRow>> {
    let row = tx
        .query_row(
            "SELECT id, description FROM projects WHERE name = ?1",
            [name],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()
        .map_err(sql_err)?;
    let Some((id, description)) = row else {
        return Ok(None);
    };
    Ok(Some(ProjectRow {
        id,
        name: name.to_string(),
        description,
        config: load_kv(tx, &PROJECT_CFG, id)?,
    }))
}

/// Creates a project; Conflict when the name is taken.
pub fn project_create(tx: &Tx, p: &ProjectRow) -> Result<i64> {
    tx.execute(
        "INSERT INTO projects (name, description) VALUES (?1, ?2)",
        params![p.name, p.description],
    )
    .map_err(exists_err(format!("Project \"{}\" already exists", p.name)))?;
    let id = tx.last_insert_rowid();
    replace_kv(tx, &PROJECT_CFG, id, &p.config)?;
    Ok(id)
}

/// Replaces a project's description and config.
pub fn project_update(tx: &Tx, p: &ProjectRow) -> Result<()> {
    tx.execute(
        "UPDATE projects SET description = ?1 WHERE id = ?2",
        params![p.description, p.id],
    )
    .map_err(sql_err)?;
    replace_kv(tx, &PROJECT_CFG, p.id, &p.config)
}

/// Renames a project; Conflict when the new name is taken.
pub fn project_rename(tx: &Tx, id: i64, new_name: &str) -> Result<()> {
    tx.execute(
        "UPDATE projects SET name = ?1 WHERE id = ?2",
        params![new_name, id],
    )
    .map_err(exists_err(format!("Project \"{new_name}\" already exists")))?;
    Ok(())
}

/// Deletes a project (its rows cascade).
pub fn project_delete(tx: &Tx, id: i64) -> Result<()> {
    tx.execute("DELETE FROM projects WHERE id = ?1", [id])
        .map_err(sql_err)?;
    Ok(())
}

/// The objects held by a project itself (not those it borrows from `default`), as
/// upstream's `used_by` URLs (`?project=NAME` outside `default`), each kind by name.
pub fn project_used_by(tx: &Tx, id: i64, name: &str) -> Result<Vec<String>> {
    let suffix = if name == "default" {
        String::new()
    } else {
        format!("?project={name}")
    };
    let mut out = Vec::new();
    for (sql, prefix) in [
        (
            "SELECT name FROM instances WHERE project_id = ?1 ORDER BY name",
            "/1.0/instances/",
        ),
        (
            "SELECT fingerprint FROM images WHERE project_id = ?1 ORDER BY fingerprint",
            "/1.0/images/",
        ),
        (
            "SELECT name FROM networks WHERE project_id = ?1 ORDER BY name",
            "/1.0/networks/",
        ),
        (
            "SELECT name FROM profiles WHERE project_id = ?1 ORDER BY name",
            "/1.0/profiles/",
        ),
    ] {
        let mut stmt = tx.prepare_cached(sql).map_err(sql_err)?;
        let names = stmt
            .query_map([id], |r| r.get::<_, String>(0))
            .map_err(sql_err)?;
        for n in names {
            out.push(format!("{prefix}{}{suffix}", n.map_err(sql_err)?));
        }
    }
    let mut stmt = tx
        .prepare_cached(
            "SELECT p.name, v.name FROM storage_volumes v JOIN storage_pools p
             ON p.id = v.storage_pool_id WHERE v.project_id = ?1 AND v.type = 'custom'
             AND instr(v.name, '/') = 0 ORDER BY p.name, v.name",
        )
        .map_err(sql_err)?;
    let vols = stmt
        .query_map([id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(sql_err)?;
    for v in vols {
        let (pool, vol) = v.map_err(sql_err)?;
        out.push(format!(
            "/1.0/storage-pools/{pool}/volumes/custom/{vol}{suffix}"
        ));
    }
    Ok(out)
}

/// How many objects of one kind a project holds itself: `instances`, `images`,
/// `profiles`, `networks`, `storage.volumes` (custom volumes, snapshots excluded).
pub fn project_count(tx: &Tx, id: i64, kind: &str) -> Result<i64> {
    let sql = match kind {
        "instances" => "SELECT count(*) FROM instances WHERE project_id = ?1",
        "containers" => {
            "SELECT count(*) FROM instances WHERE project_id = ?1 AND type = 'container'"
        }
        "virtual-machines" => {
            "SELECT count(*) FROM instances WHERE project_id = ?1 AND type = 'virtual-machine'"
        }
        "images" => "SELECT count(*) FROM images WHERE project_id = ?1",
        "profiles" => "SELECT count(*) FROM profiles WHERE project_id = ?1",
        "networks" => "SELECT count(*) FROM networks WHERE project_id = ?1",
        "storage.volumes" => {
            "SELECT count(*) FROM storage_volumes WHERE project_id = ?1 AND type = 'custom'
             AND instr(name, '/') = 0"
        }
        _ => {
            return Err(Error::internal(format!(
                "Unknown project object kind {kind}"
            )))
        }
    };
    tx.query_row(sql, [id], |r| r.get(0)).map_err(sql_err)
}

/// The `size` of every volume a project holds (instance and custom volumes), for
/// `limits.disk`.
pub fn project_disk_limits(tx: &Tx, id: i64) -> Result<Vec<String>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT c.value FROM storage_volumes v JOIN storage_volumes_config c
             ON c.storage_volume_id = v.id WHERE v.project_id = ?1 AND c.key = 'size'",
        )
        .map_err(sql_err)?;
    let rows = stmt.query_map([id], |r| r.get(0)).map_err(sql_err)?;
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
