//! Stored instance backups (`/1.0/instances/NAME/backups`): each is a directory
//! `INCUS_DIR/backups/instances/INSTANCE/BACKUP/` holding the tarball (`backup`) and
//! its record (`info.json`). No database rows: a backup is made in a temporary
//! directory beside them and renamed into place whole, so a killed create leaves
//! only a temporary directory (removed by the next create or list), never a
//! half-written backup under its name. Expired backups are removed when the
//! instance's backups are next listed or made. Delete and rename of the instance
//! carry its backups along.

use crate::backup_archive::{self, ExportOptions};
use crate::storage::VolumeType;
use crate::{instance, time, Context, Error, Result};
use incus_api::InstanceBackup;
use std::path::PathBuf;

/// Whose backups: an instance's, or a custom volume's
/// (`INCUS_DIR/backups/custom/POOL/VOLUME/`).
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Instance(&'a str),
    Volume { pool: &'a str, name: &'a str },
}

impl Owner<'_> {
    fn dir(&self, ctx: &Context) -> PathBuf {
        match self {
            Owner::Instance(i) => instance_dir(ctx, i),
            Owner::Volume { pool, name } => ctx
                .incus_dir
                .join("backups")
                .join("custom")
                .join(pool)
                .join(name),
        }
    }
    fn check(&self, ctx: &Context) -> Result<()> {
        match self {
            Owner::Instance(i) => instance::get_row(ctx, i).map(drop),
            Owner::Volume { pool, name } => {
                crate::storage::volume::get(ctx, pool, VolumeType::Custom, name).map(drop)
            }
        }
    }
    fn what(&self) -> String {
        match self {
            Owner::Instance(i) => format!("instance \"{i}\""),
            Owner::Volume { pool, name } => format!("volume \"{pool}/{name}\""),
        }
    }
    fn export(
        &self,
        ctx: &Context,
        opts: &ExportOptions,
        w: &mut dyn std::io::Write,
    ) -> Result<()> {
        match self {
            Owner::Instance(i) => backup_archive::export(ctx, i, opts, w).map(drop),
            Owner::Volume { pool, name } => {
                crate::backup_volume::export(ctx, pool, name, opts, w).map(drop)
            }
        }
    }
}

const TARBALL: &str = "backup";
const INFO: &str = "info.json";
const TMP_PREFIX: &str = ".tmp-";

/// The directory of an instance's backups.
pub fn instance_dir(ctx: &Context, inst: &str) -> PathBuf {
    ctx.incus_dir.join("backups").join("instances").join(inst)
}

/// Backup names: no `/`, no leading dot (temporary directories), no control characters.
pub fn validate_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.starts_with('.')
        || name.contains('/')
        || name.len() > 255
        || name.chars().any(|c| c.is_control())
    {
        return Err(Error::invalid(format!("Invalid backup name \"{name}\"")));
    }
    Ok(())
}

fn read_info(dir: &std::path::Path) -> Option<InstanceBackup> {
    let text = std::fs::read(dir.join(INFO)).ok()?;
    serde_json::from_slice(&text).ok()
}

fn expired(b: &InstanceBackup) -> bool {
    if b.expires_at.is_empty() || b.expires_at.starts_with("0001-01-01") {
        return false;
    }
    match chrono::DateTime::parse_from_rfc3339(&b.expires_at) {
        Ok(t) => t < chrono::Utc::now(),
        Err(_) => false,
    }
}

/// The instance's backups, oldest first (expired ones and leftovers of killed
/// creates are removed on the way).
pub fn list(ctx: &Context, inst: &str) -> Result<Vec<InstanceBackup>> {
    list_of(ctx, Owner::Instance(inst))
}

/// [`list`] for any owner.
pub fn list_of(ctx: &Context, owner: Owner<'_>) -> Result<Vec<InstanceBackup>> {
    owner.check(ctx)?;
    let dir = owner.dir(ctx);
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for ent in rd.flatten() {
        let name = ent.file_name().to_string_lossy().into_owned();
        let path = ent.path();
        if name.starts_with(TMP_PREFIX) {
            // A create in progress holds its file open; one older than an hour is
            // the leftover of a killed create.
            let old = ent
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|d| d.as_secs() > 3600);
            if old {
                let _ = incus_sys::fsutil::remove_tree(&path);
            }
            continue;
        }
        match read_info(&path) {
            Some(b) if expired(&b) => {
                let _ = incus_sys::fsutil::remove_tree(&path);
            }
            Some(b) => out.push(b),
            None => {}
        }
    }
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.name.cmp(&b.name)));
    Ok(out)
}

/// One backup.
pub fn get(ctx: &Context, inst: &str, name: &str) -> Result<InstanceBackup> {
    get_of(ctx, Owner::Instance(inst), name)
}

/// [`get`] for any owner.
pub fn get_of(ctx: &Context, owner: Owner<'_>, name: &str) -> Result<InstanceBackup> {
    validate_name(name)?;
    owner.check(ctx)?;
    read_info(&owner.dir(ctx).join(name))
        .ok_or_else(|| Error::not_found(format!("Backup \"{name}\" of {} not found", owner.what())))
}

/// The tarball of a backup (for `/export`).
pub fn tarball(ctx: &Context, owner: Owner<'_>, name: &str) -> Result<PathBuf> {
    get_of(ctx, owner, name)?;
    Ok(owner.dir(ctx).join(name).join(TARBALL))
}

/// Makes a backup: `name` (`backupN` when empty, as upstream), `expires_at`
/// (RFC 3339, empty for never).
pub fn create(
    ctx: &Context,
    owner: Owner<'_>,
    name: &str,
    expires_at: &str,
    opts: &ExportOptions,
) -> Result<InstanceBackup> {
    let existing = list_of(ctx, owner)?;
    let name = if name.is_empty() {
        (0..)
            .map(|i| format!("backup{i}"))
            .find(|n| !existing.iter().any(|b| &b.name == n))
            .expect("a free name")
    } else {
        name.to_string()
    };
    validate_name(&name)?;
    if existing.iter().any(|b| b.name == name) {
        return Err(Error::conflict(format!(
            "Backup \"{name}\" of {} already exists",
            owner.what()
        )));
    }
    if !expires_at.is_empty() && !expires_at.starts_with("0001-01-01") {
        chrono::DateTime::parse_from_rfc3339(expires_at)
            .map_err(|e| Error::invalid(format!("Invalid expiry \"{expires_at}\": {e}")))?;
    }
    let dir = owner.dir(ctx);
    std::fs::create_dir_all(&dir)?;
    let tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempdir_in(&dir)?;
    let file = std::fs::File::create(tmp.path().join(TARBALL))?;
    let mut w = std::io::BufWriter::new(file);
    owner.export(ctx, opts, &mut w)?;
    let file = w
        .into_inner()
        .map_err(|e| Error::internal(format!("Write backup: {e}")))?;
    file.sync_all()?;
    let info = InstanceBackup {
        name: name.clone(),
        created_at: time::now(),
        expires_at: if expires_at.is_empty() {
            incus_api::ZERO_TIME.into()
        } else {
            expires_at.to_string()
        },
        instance_only: opts.instance_only,
        optimized_storage: false,
    };
    incus_sys::fsutil::atomic_write(
        &tmp.path().join(INFO),
        &serde_json::to_vec(&info).map_err(|e| Error::internal(e.to_string()))?,
        0o600,
    )?;
    let to = dir.join(&name);
    std::fs::rename(tmp.path(), &to).map_err(|e| match e.raw_os_error() {
        Some(libc::ENOTEMPTY | libc::EEXIST) => Error::conflict(format!(
            "Backup \"{name}\" of {} already exists",
            owner.what()
        )),
        _ => Error::from(e),
    })?;
    let _ = tmp.keep();
    Ok(info)
}

/// Renames a backup.
pub fn rename(ctx: &Context, owner: Owner<'_>, name: &str, new_name: &str) -> Result<()> {
    let mut info = get_of(ctx, owner, name)?;
    validate_name(new_name)?;
    let dir = owner.dir(ctx);
    if dir.join(new_name).exists() {
        return Err(Error::conflict(format!(
            "Backup \"{new_name}\" of {} already exists",
            owner.what()
        )));
    }
    info.name = new_name.to_string();
    // The record first (under the old name), then the directory: a crash between
    // leaves a backup whose record names it differently, which `get` still reads.
    incus_sys::fsutil::atomic_write(
        &dir.join(name).join(INFO),
        &serde_json::to_vec(&info).map_err(|e| Error::internal(e.to_string()))?,
        0o600,
    )?;
    std::fs::rename(dir.join(name), dir.join(new_name))?;
    Ok(())
}

/// Deletes a backup.
pub fn delete(ctx: &Context, owner: Owner<'_>, name: &str) -> Result<()> {
    get_of(ctx, owner, name)?;
    incus_sys::fsutil::remove_tree(&owner.dir(ctx).join(name))
}

/// The instance is gone: so are its backups.
pub(crate) fn remove_all(ctx: &Context, inst: &str) {
    remove_all_of(ctx, Owner::Instance(inst));
}

/// The owner is gone: so are its backups.
pub(crate) fn remove_all_of(ctx: &Context, owner: Owner<'_>) {
    let _ = incus_sys::fsutil::remove_tree(&owner.dir(ctx));
}

/// A custom volume was renamed: its backups follow (idempotent).
pub(crate) fn rename_volume(ctx: &Context, pool: &str, old: &str, new: &str) {
    let from = Owner::Volume { pool, name: old }.dir(ctx);
    let to = Owner::Volume { pool, name: new }.dir(ctx);
    if from.exists() && !to.exists() {
        let _ = std::fs::rename(from, to);
    }
}

/// The instance was renamed: its backups follow (idempotent).
pub(crate) fn rename_all(ctx: &Context, old: &str, new: &str) {
    let from = instance_dir(ctx, old);
    let to = instance_dir(ctx, new);
    if from.exists() && !to.exists() {
        let _ = std::fs::rename(from, to);
    }
}
