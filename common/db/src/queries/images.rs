//! Images and aliases.

use super::*;

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
    let pid = feature_project_id(tx, project, "features.images")?;
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
    let pid = feature_project_id(tx, project, "features.images")?;
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
    let pid = feature_project_id(tx, &img.project, "features.images")?;
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
    let pid = feature_project_id(tx, project, "features.images")?;
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
    let pid = feature_project_id(tx, project, "features.images")?;
    tx.execute(
        "INSERT INTO images_aliases (name, image_id, description, project_id) VALUES (?1, ?2, ?3, ?4)",
        params![name, image_id, description, pid],
    )
    .map_err(exists_err(format!("Alias \"{name}\" already exists")))?;
    Ok(())
}

/// Deletes an alias; false when it did not exist.
pub fn alias_delete(tx: &Tx, project: &str, name: &str) -> Result<bool> {
    let pid = feature_project_id(tx, project, "features.images")?;
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
    let pid = feature_project_id(tx, project, "features.images")?;
    let n = tx
        .execute(
            "UPDATE images_aliases SET name = ?1 WHERE project_id = ?2 AND name = ?3",
            params![new_name, pid, name],
        )
        .map_err(exists_err(format!("Alias \"{new_name}\" already exists")))?;
    Ok(n > 0)
}
