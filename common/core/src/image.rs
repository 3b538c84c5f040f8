//! Images: import (unified and split), list, show, delete, export, aliases, edit.
//!
//! Files live as upstream lays them out: `images/FP` (unified, or the metadata tarball
//! of a split image) and `images/FP.rootfs` (the rootfs of a split image).

use crate::{events, time, Context, Error, Result};
use incus_api::{Image, ImageAlias, ImageAliasesEntry, ImagePut};
use incus_db::{AliasRow, ImageRow};
use incus_imagefmt::ImageSource;
use std::path::{Path, PathBuf};

/// Options of `image import`.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub aliases: Vec<String>,
    pub public: bool,
    /// Extra properties (`image import ... k=v`), override metadata.yaml's.
    pub properties: incus_api::Config,
}

fn to_api(row: ImageRow) -> Image {
    Image {
        aliases: row
            .aliases
            .into_iter()
            .map(|(name, description)| ImageAlias { name, description })
            .collect(),
        architecture: row.architecture,
        cached: row.cached,
        filename: row.filename,
        fingerprint: row.fingerprint,
        properties: row.properties,
        public: row.public,
        size: row.size,
        image_type: row.image_type,
        auto_update: row.auto_update,
        profiles: vec!["default".into()],
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
        uploaded_at: row.uploaded_at,
        update_source: None,
        project: row.project,
    }
}

/// The stored files of an image, as a source for unpacking.
pub fn stored_source(ctx: &Context, row: &ImageRow) -> ImageSource {
    let base = ctx.images_dir().join(&row.fingerprint);
    if row.format == "split" {
        ImageSource::Split {
            metadata: base.clone(),
            rootfs: PathBuf::from(format!("{}.rootfs", base.display())),
        }
    } else {
        ImageSource::Unified(base)
    }
}

/// Alias names may contain slashes upstream, but no spaces, control characters or `:`.
pub(crate) fn validate_alias(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 255
        || name.contains(':')
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::invalid(format!(
            "Invalid alias name \"{}\"",
            name.escape_debug()
        )));
    }
    Ok(())
}

/// `image import`: validates the whole image (a trial unpack) before anything is
/// recorded, so a malformed or hostile image changes nothing.
pub fn import(
    ctx: &Context,
    src: &ImageSource,
    opts: &ImportOptions,
    progress: Option<&dyn Fn(u64, u64)>,
) -> Result<Image> {
    for a in &opts.aliases {
        validate_alias(a)?;
    }
    let info = incus_imagefmt::inspect(src).map_err(crate::convert::image_format_error)?;
    let fp = info.fingerprint.clone();
    let project = ctx.project.clone();
    let _lock = ctx.lock_image(&fp)?;
    let (existing, alias_taken) = ctx.db()?.read(|tx| {
        let existing = incus_db::image_get(tx, &project, &fp)?
            .filter(|r| r.fingerprint == fp)
            .is_some();
        let mut taken = None;
        for a in &opts.aliases {
            if incus_db::alias_get(tx, &project, a)?.is_some() {
                taken = Some(a.clone());
            }
        }
        Ok((existing, taken))
    })?;
    if existing {
        return Err(Error::conflict(format!(
            "Image with same fingerprint already exists ({fp})"
        )));
    }
    if let Some(a) = alias_taken {
        return Err(Error::conflict(format!("Alias \"{a}\" already exists")));
    }

    let images = ctx.images_dir();
    std::fs::create_dir_all(&images)?;
    // image files: root only (upstream's 0700)
    crate::storage::set_mode(&images, 0o700)?;
    // What a killed import of this image left behind goes first (the lock is ours).
    for stale in [
        format!(".check-{fp}"),
        format!(".{fp}.partial"),
        format!(".{fp}.rootfs.partial"),
    ] {
        incus_sys::fsutil::remove_tree(&images.join(stale))?;
    }
    // Trial unpack: refuses path traversal, escaping links and garbage now, not at
    // the first launch. The name is fixed: the image lock is ours, and a trial left by
    // a killed import is removed by `repair`.
    let trial = images.join(format!(".check-{fp}"));
    let trial_rootfs = trial.join("rootfs");
    std::fs::create_dir_all(&trial)?;
    let is_vm = info.rootfs_kind == incus_imagefmt::RootfsKind::Qcow2;
    let checked = if let (true, ImageSource::Split { rootfs, .. }) = (is_vm, src) {
        // A VM's disk is not unpacked: qemu-img checks it (no backing or data file).
        crate::vm::check_disk(rootfs).map(|_| ())
    } else {
        incus_imagefmt::unpack_rootfs(src, &trial_rootfs, progress)
            .map_err(crate::convert::image_format_error)
    }
    .and_then(|_| {
        incus_imagefmt::unpack_templates(src, &trial.join("templates"))
            .map_err(crate::convert::image_format_error)
    });
    incus_sys::fsutil::remove_tree(&trial)?;
    checked?;

    // Copy the files in under temporary names, then rename: no half-copied image.
    let (files, format): (Vec<(&Path, PathBuf)>, &str) = match src {
        ImageSource::Unified(p) => (vec![(p.as_path(), images.join(&fp))], "unified"),
        ImageSource::Split { metadata, rootfs } => (
            vec![
                (metadata.as_path(), images.join(&fp)),
                (rootfs.as_path(), images.join(format!("{fp}.rootfs"))),
            ],
            "split",
        ),
    };
    let mut placed = Vec::new();
    let result = (|| -> Result<()> {
        for (from, to) in &files {
            let tmp = images.join(format!(
                ".{}.partial",
                to.file_name().and_then(|n| n.to_str()).unwrap_or("img")
            ));
            std::fs::copy(from, &tmp)
                .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
                .map_err(|e| {
                    // A failed copy (disk full) leaves no partial file behind.
                    let _ = std::fs::remove_file(&tmp);
                    Error::internal(format!("Copy {}: {e}", from.display()))
                })?;
            std::fs::rename(&tmp, to)?;
            placed.push(to.clone());
        }
        // The files and their names are on disk before the row that points at them.
        incus_sys::fsutil::fsync_dir(&images)?;
        let now = time::now();
        let mut properties = info.metadata.properties.clone();
        properties.extend(opts.properties.clone());
        let filename = match src {
            ImageSource::Unified(p) | ImageSource::Split { rootfs: p, .. } => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        let row = ImageRow {
            fingerprint: fp.clone(),
            filename,
            size: info.size as i64,
            public: opts.public,
            architecture: info.metadata.architecture.clone(),
            created_at: time::from_unix(info.metadata.creation_date),
            expires_at: time::from_unix(info.metadata.expiry_date),
            uploaded_at: now,
            last_used_at: incus_api::EPOCH_TIME.into(),
            cached: false,
            auto_update: false,
            image_type: if is_vm { crate::vm::VM } else { "container" }.into(),
            format: format.into(),
            project: project.clone(),
            properties,
            ..Default::default()
        };
        ctx.db()?.write(|tx| {
            let id = incus_db::image_create(tx, &row)?;
            for a in &opts.aliases {
                incus_db::alias_create(tx, &project, a, id, "")?;
            }
            Ok(())
        })
    })();
    if let Err(e) = result {
        for p in placed {
            let _ = std::fs::remove_file(p);
        }
        return Err(e);
    }
    events::lifecycle(
        ctx,
        "image-created",
        &format!("/1.0/images/{fp}"),
        serde_json::json!({"type": "container"}),
    )?;
    get(ctx, &fp)
}

/// Finds an image by alias, then by fingerprint (or unique prefix).
pub fn resolve(ctx: &Context, name: &str) -> Result<ImageRow> {
    let project = ctx.project.clone();
    ctx.db()?.read(|tx| {
        if let Some(a) = incus_db::alias_get(tx, &project, name)? {
            if let Some(img) = incus_db::image_get(tx, &project, &a.fingerprint)? {
                return Ok(img);
            }
        }
        incus_db::image_get(tx, &project, name)?
            .ok_or_else(|| Error::not_found(format!("Image \"{name}\" not found")))
    })
}

/// The fingerprint an entry of `images/` belongs to: `FP`, `FP.rootfs`, and the
/// staging names `.check-FP`, `.FP.partial`, `.FP.rootfs.partial`.
fn entry_fingerprint(name: &str) -> Option<&str> {
    let fp = name
        .strip_prefix(".check-")
        .or_else(|| {
            name.strip_prefix('.')
                .and_then(|n| n.strip_suffix(".partial"))
        })
        .unwrap_or(name);
    let fp = fp.strip_suffix(".rootfs").unwrap_or(fp);
    (fp.len() == 64 && fp.bytes().all(|b| b.is_ascii_hexdigit())).then_some(fp)
}

/// Removes what killed imports and deletes left in `images/`: staging entries, and
/// files without a database row. An entry whose image lock is held belongs to a
/// running import and is left alone. Returns how many entries were removed.
pub fn repair(ctx: &Context) -> Result<usize> {
    let Ok(entries) = std::fs::read_dir(ctx.images_dir()) else {
        return Ok(0);
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(fp) = entry_fingerprint(&name) else {
            continue;
        };
        let Some(_lock) = ctx.try_lock_image(fp)? else {
            continue;
        };
        let staging = name.starts_with('.');
        let project = ctx.project.clone();
        let orphan = !staging
            && ctx
                .db()?
                .read(|tx| incus_db::image_get(tx, &project, fp))?
                .is_none();
        if staging || orphan {
            incus_sys::fsutil::remove_tree(&entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

pub fn list(ctx: &Context) -> Result<Vec<Image>> {
    repair(ctx)?;
    let project = ctx.project.clone();
    Ok(ctx
        .db()?
        .read(|tx| incus_db::image_list(tx, &project))?
        .into_iter()
        .map(to_api)
        .collect())
}

pub fn get(ctx: &Context, name: &str) -> Result<Image> {
    Ok(to_api(resolve(ctx, name)?))
}

/// `image delete`: instances made from it keep their rootfs.
pub fn delete(ctx: &Context, name: &str) -> Result<()> {
    let row = resolve(ctx, name)?;
    let _lock = ctx.lock_image(&row.fingerprint)?;
    ctx.db()?.write(|tx| incus_db::image_delete(tx, row.id))?;
    // Cached image volumes (btrfs) go with the image; instances made from them are
    // independent snapshots.
    crate::storage::delete_image_volumes(ctx, &row.fingerprint)?;
    // Rows first: a crash now leaves only unreferenced files, never a row without files.
    let base = ctx.images_dir().join(&row.fingerprint);
    for p in [
        base.clone(),
        PathBuf::from(format!("{}.rootfs", base.display())),
    ] {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    events::lifecycle(
        ctx,
        "image-deleted",
        &format!("/1.0/images/{}", row.fingerprint),
        serde_json::json!({}),
    )
}

/// File extension for an exported file, from its content.
pub fn extension(path: &Path) -> &'static str {
    let mut magic = [0u8; 6];
    let n = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut magic))
        .unwrap_or(0);
    match &magic[..n] {
        [0xfd, b'7', b'z', b'X', b'Z', 0] => ".tar.xz",
        [0x1f, 0x8b, ..] => ".tar.gz",
        [b'h', b's', b'q', b's', ..] => ".squashfs",
        _ => ".tar",
    }
}

/// `image export IMAGE [TARGET_DIR]`: writes upstream's file names, returns them.
pub fn export(ctx: &Context, name: &str, target_dir: &Path) -> Result<Vec<PathBuf>> {
    let row = resolve(ctx, name)?;
    let fp = &row.fingerprint;
    std::fs::create_dir_all(target_dir)?;
    let mut out = Vec::new();
    match stored_source(ctx, &row) {
        ImageSource::Unified(p) => {
            let to = target_dir.join(format!("{fp}{}", extension(&p)));
            std::fs::copy(&p, &to)?;
            out.push(to);
        }
        ImageSource::Split { metadata, rootfs } => {
            let meta_to = target_dir.join(format!("meta-{fp}{}", extension(&metadata)));
            let rootfs_to = target_dir.join(format!("{fp}{}", extension(&rootfs)));
            std::fs::copy(&metadata, &meta_to)?;
            std::fs::copy(&rootfs, &rootfs_to)?;
            out.push(meta_to);
            out.push(rootfs_to);
        }
    }
    Ok(out)
}

/// `image edit` / `PUT /1.0/images/FP`.
pub fn update(ctx: &Context, name: &str, put: ImagePut) -> Result<Image> {
    let mut row = resolve(ctx, name)?;
    row.properties = put.properties;
    row.public = put.public;
    row.auto_update = put.auto_update;
    if !put.expires_at.is_empty() {
        row.expires_at = put.expires_at;
    }
    ctx.db()?.write(|tx| incus_db::image_update(tx, &row))?;
    events::lifecycle(
        ctx,
        "image-updated",
        &format!("/1.0/images/{}", row.fingerprint),
        serde_json::json!({}),
    )?;
    get(ctx, &row.fingerprint)
}

fn alias_to_api(a: AliasRow) -> ImageAliasesEntry {
    ImageAliasesEntry {
        name: a.name,
        description: a.description,
        target: a.fingerprint,
        alias_type: a.image_type,
    }
}

pub fn alias_list(ctx: &Context) -> Result<Vec<ImageAliasesEntry>> {
    let project = ctx.project.clone();
    Ok(ctx
        .db()?
        .read(|tx| incus_db::alias_list(tx, &project))?
        .into_iter()
        .map(alias_to_api)
        .collect())
}

pub fn alias_create(ctx: &Context, name: &str, target: &str, description: &str) -> Result<()> {
    validate_alias(name)?;
    let project = ctx.project.clone();
    let img = ctx
        .db()?
        .read(|tx| incus_db::image_get(tx, &project, target))?
        .ok_or_else(|| Error::not_found(format!("Image \"{target}\" not found")))?;
    ctx.db()?
        .write(|tx| incus_db::alias_create(tx, &project, name, img.id, description))?;
    events::lifecycle(
        ctx,
        "image-alias-created",
        &format!("/1.0/images/aliases/{name}"),
        serde_json::json!({"target": img.fingerprint}),
    )
}

pub fn alias_delete(ctx: &Context, name: &str) -> Result<()> {
    let project = ctx.project.clone();
    if !ctx
        .db()?
        .write(|tx| incus_db::alias_delete(tx, &project, name))?
    {
        return Err(Error::not_found(format!("Alias \"{name}\" not found")));
    }
    events::lifecycle(
        ctx,
        "image-alias-deleted",
        &format!("/1.0/images/aliases/{name}"),
        serde_json::json!({}),
    )
}

pub fn alias_rename(ctx: &Context, name: &str, new_name: &str) -> Result<()> {
    validate_alias(new_name)?;
    let project = ctx.project.clone();
    if !ctx
        .db()?
        .write(|tx| incus_db::alias_rename(tx, &project, name, new_name))?
    {
        return Err(Error::not_found(format!("Alias \"{name}\" not found")));
    }
    events::lifecycle(
        ctx,
        "image-alias-renamed",
        &format!("/1.0/images/aliases/{new_name}"),
        serde_json::json!({"old_name": name}),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn entries_map_to_their_fingerprint() {
        let fp = "a".repeat(64);
        for name in [
            fp.clone(),
            format!("{fp}.rootfs"),
            format!(".check-{fp}"),
            format!(".{fp}.partial"),
            format!(".{fp}.rootfs.partial"),
        ] {
            assert_eq!(super::entry_fingerprint(&name), Some(fp.as_str()), "{name}");
        }
        for name in ["README", ".check-xyz", "abc.partial", &"g".repeat(64)] {
            assert_eq!(super::entry_fingerprint(name), None, "{name}");
        }
    }
}
