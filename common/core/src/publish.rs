//! `publish INSTANCE[/SNAPSHOT]`: a new image from an instance, as upstream's
//! `Export` makes it: a unified tarball with the instance's `metadata.yaml` (its
//! architecture and creation date renewed, the given properties merged, the expiry
//! set), `rootfs/` as stored (unshifted) and `templates/`. The fingerprint is the
//! tarball's SHA-256, as for every unified image; the import is `image import`'s,
//! with its validation and crash safety. A running instance is frozen while it is
//! read (the CLI refuses one without `--force`, as upstream's client).

use crate::image::{self, ImportOptions};
use crate::storage::{self, VolumeType};
use crate::{instance, Context, Error, Result};
use incus_api::{Config, Image, StatusCode};
use incus_imagefmt::{ImageMetadata, ImageSource, PackCompression, TreeWriter};
use std::path::Path;

/// What `publish` takes.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    pub instance: String,
    pub snapshot: Option<String>,
    pub aliases: Vec<String>,
    pub public: bool,
    /// RFC 3339 expiry of the image (none when empty).
    pub expires_at: String,
    /// `--reuse`: an alias that exists is moved to the new image (the image it named
    /// is deleted when no other alias names it, as upstream's client does).
    pub reuse: bool,
    /// `key=value` properties merged over metadata.yaml's.
    pub properties: Config,
    /// none, gzip (default) or xz.
    pub compression: Option<String>,
}

/// Builds the image tarball of an instance (or snapshot) into `out`.
fn pack(ctx: &Context, opts: &PublishOptions, out: &Path) -> Result<()> {
    let compression = match &opts.compression {
        None => PackCompression::Gzip,
        Some(c) => PackCompression::parse(c).map_err(|e| Error::invalid(e.to_string()))?,
    };
    let row = instance::get_row(ctx, &opts.instance)?;
    let (pool, _) = storage::load_pool(ctx, &row.pool)?;
    let dir = match &opts.snapshot {
        Some(s) => {
            crate::snapshot::get(ctx, &opts.instance, s)?;
            pool.snapshot_path(VolumeType::Container, &opts.instance, s)
        }
        None => instance::volume_path(ctx, &row),
    };
    let mut meta = match std::fs::read(dir.join("metadata.yaml")) {
        Ok(bytes) => ImageMetadata::from_yaml(&bytes)
            .map_err(|e| Error::invalid(format!("The instance's metadata.yaml: {e}")))?,
        Err(_) => ImageMetadata {
            architecture: String::new(),
            creation_date: 0,
            expiry_date: 0,
            properties: Default::default(),
            templates: Default::default(),
        },
    };
    meta.architecture = row.architecture.clone();
    meta.creation_date = chrono::Utc::now().timestamp();
    for (k, v) in &opts.properties {
        meta.properties.insert(k.clone(), v.clone());
    }
    if !opts.expires_at.is_empty() && !opts.expires_at.starts_with("0001-01-01") {
        meta.expiry_date = chrono::DateTime::parse_from_rfc3339(&opts.expires_at)
            .map_err(|e| Error::invalid(format!("Invalid expiry \"{}\": {e}", opts.expires_at)))?
            .timestamp();
    }
    let yaml = meta.to_yaml().map_err(crate::convert::image_format_error)?;
    let file = std::fs::File::create(out)?;
    let mut w = TreeWriter::new(std::io::BufWriter::new(file), compression, out);
    w.add_bytes(
        "metadata.yaml",
        yaml.as_bytes(),
        0o644,
        meta.creation_date.max(0) as u64,
    )
    .map_err(crate::convert::image_format_error)?;
    let freeze =
        opts.snapshot.is_none() && instance::status(ctx, &opts.instance) == StatusCode::Running;
    let run_dir = ctx.instance_run_dir(&opts.instance);
    if freeze {
        incus_runtime::freeze(&run_dir).map_err(crate::convert::runtime_error)?;
    }
    let packed = w.add_tree("rootfs", &dir.join("rootfs")).and_then(|_| {
        if dir.join("templates").is_dir() {
            w.add_tree("templates", &dir.join("templates"))
        } else {
            Ok(())
        }
    });
    if freeze {
        incus_runtime::unfreeze(&run_dir).map_err(crate::convert::runtime_error)?;
    }
    packed.map_err(crate::convert::image_format_error)?;
    let buf = w.finish().map_err(crate::convert::image_format_error)?;
    let file = buf
        .into_inner()
        .map_err(|e| Error::internal(format!("Write image: {e}")))?;
    file.sync_all()?;
    Ok(())
}

/// `publish`: returns the new image.
pub fn publish(ctx: &Context, opts: &PublishOptions) -> Result<Image> {
    for a in &opts.aliases {
        image::validate_alias(a)?;
    }
    // Aliases are checked before the work; `--reuse` moves them afterwards.
    if !opts.reuse {
        let existing = image::alias_list(ctx)?;
        if let Some(a) = opts
            .aliases
            .iter()
            .find(|a| existing.iter().any(|e| &e.name == *a))
        {
            return Err(Error::conflict(format!("Alias \"{a}\" already exists")));
        }
    }
    std::fs::create_dir_all(&ctx.incus_dir)?;
    let tmp = tempfile::Builder::new()
        .prefix(".publish-")
        .tempdir_in(&ctx.incus_dir)?;
    let file = tmp.path().join("image.tar");
    {
        let _lock = instance::lock(ctx, &opts.instance)?;
        pack(ctx, opts, &file)?;
    }
    let img = image::import(
        ctx,
        &ImageSource::Unified(file),
        &ImportOptions {
            aliases: vec![],
            public: opts.public,
            properties: Config::new(),
        },
        None,
    )?;
    for a in &opts.aliases {
        if opts.reuse {
            if let Ok(old) = image::resolve(ctx, a) {
                image::alias_delete(ctx, a)?;
                let still_named = image::alias_list(ctx)?
                    .iter()
                    .any(|x| x.target == old.fingerprint);
                if !still_named && old.fingerprint != img.fingerprint {
                    image::delete(ctx, &old.fingerprint)?;
                }
            }
        }
        image::alias_create(ctx, a, &img.fingerprint, "")?;
    }
    image::get(ctx, &img.fingerprint)
}
