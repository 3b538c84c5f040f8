//! `rebuild IMAGE NAME` and `rebuild --empty NAME`: a stopped instance gets a new
//! root file system (from an image, or empty) and keeps its name, config, devices,
//! profiles, identity and snapshots; the image keys (`image.*`,
//! `volatile.base_image`) follow the new image and its `create` templates run at
//! the next start, as upstream.
//!
//! The new tree is unpacked beside the old one (`rootfs.rebuild`, validated as any
//! image unpack) and swapped in with one `renameat2(RENAME_EXCHANGE)`, so at every
//! instant the instance has a whole root file system, old or new; a killed rebuild
//! leaves at most a `rootfs.rebuild` beside it, which the next rebuild removes.

use crate::image;
use crate::storage;
use crate::{backup, events, instance, Context, Error, Result};
use incus_api::{Instance, StatusCode};
use std::path::Path;

const NEW_ROOTFS: &str = "rootfs.rebuild";
const NEW_TEMPLATES: &str = "templates.rebuild";

fn clear_leftovers(vol: &Path) -> Result<()> {
    for n in [NEW_ROOTFS, NEW_TEMPLATES] {
        incus_imagefmt::remove_stale_staging(&vol.join(n))
            .map_err(crate::convert::image_format_error)?;
        incus_sys::fsutil::remove_tree(&vol.join(n))?;
    }
    Ok(())
}

/// `rebuild`: `image` is an alias or fingerprint, `None` for `--empty`.
pub fn rebuild(ctx: &Context, name: &str, image_name: Option<&str>) -> Result<Instance> {
    let row = instance::get_row(ctx, name)?;
    let _pool_lock = ctx.lock_pool_shared(&row.pool)?;
    let (img, _image_lock) = match image_name {
        Some(i) => {
            let found = image::resolve(ctx, i)?;
            let lock = ctx.lock_image_shared(&found.fingerprint)?;
            (Some(image::resolve(ctx, &found.fingerprint)?), Some(lock))
        }
        None => (None, None),
    };
    let _lock = instance::lock(ctx, name)?;
    let row = instance::get_row(ctx, name)?;
    if instance::status(ctx, name) != StatusCode::Stopped {
        return Err(Error::invalid(
            "The instance needs to be stopped in order to be rebuilt (stop it, or pass --force)",
        ));
    }
    let vol = instance::volume_path(ctx, &row);
    clear_leftovers(&vol)?;
    let new_root = vol.join(NEW_ROOTFS);
    let new_templates = vol.join(NEW_TEMPLATES);
    let built = (|| -> Result<Option<String>> {
        match &img {
            Some(img) => {
                let src = image::stored_source(ctx, img);
                incus_imagefmt::unpack_rootfs(&src, &new_root, None)
                    .map_err(crate::convert::image_format_error)?;
                incus_imagefmt::unpack_templates(&src, &new_templates)
                    .map_err(crate::convert::image_format_error)?;
                let meta = incus_imagefmt::read_metadata(&src)
                    .map_err(crate::convert::image_format_error)?;
                Ok(Some(
                    meta.to_yaml().map_err(crate::convert::image_format_error)?,
                ))
            }
            None => {
                std::fs::create_dir(&new_root)?;
                storage::set_mode(&new_root, 0o755)?;
                Ok(None)
            }
        }
    })();
    let meta_yaml = match built {
        Ok(m) => m,
        Err(e) => {
            let _ = clear_leftovers(&vol);
            return Err(e);
        }
    };
    // The swap: after it, `rootfs.rebuild` holds the old tree.
    incus_sys::fsutil::exchange(&new_root, &vol.join("rootfs"))?;
    let templates = vol.join("templates");
    match (templates.exists(), new_templates.exists()) {
        (true, true) => incus_sys::fsutil::exchange(&new_templates, &templates)?,
        (false, true) => std::fs::rename(&new_templates, &templates)?,
        (true, false) => std::fs::rename(&templates, &new_templates)?,
        (false, false) => {}
    }
    match &meta_yaml {
        Some(y) => {
            incus_sys::fsutil::atomic_write(&vol.join("metadata.yaml"), y.as_bytes(), 0o644)?
        }
        None => {
            let _ = std::fs::remove_file(vol.join("metadata.yaml"));
        }
    }
    incus_sys::testhook::pause_point("rebuild-swapped");
    let id = row.id;
    let old_image_keys: Vec<String> = row
        .config
        .keys()
        .filter(|k| k.starts_with("image."))
        .cloned()
        .collect();
    let project = ctx.project.clone();
    ctx.db()?.write(|tx| {
        for k in &old_image_keys {
            incus_db::instance_config_set(tx, id, k, None)?;
        }
        match &img {
            Some(img) => {
                for (k, v) in &img.properties {
                    incus_db::instance_config_set(tx, id, &format!("image.{k}"), Some(v))?;
                }
                incus_db::instance_config_set(
                    tx,
                    id,
                    "volatile.base_image",
                    Some(&img.fingerprint),
                )?;
                incus_db::instance_config_set(tx, id, "volatile.apply_template", Some("create"))?;
            }
            None => {
                incus_db::instance_config_set(tx, id, "volatile.base_image", None)?;
                incus_db::instance_config_set(tx, id, "volatile.apply_template", None)?;
            }
        }
        events::record(
            tx,
            &project,
            "instance-updated",
            &format!("/1.0/instances/{name}"),
            serde_json::json!({"rebuilt": true}),
        )
    })?;
    clear_leftovers(&vol)?;
    backup::sync_instance(ctx, name);
    instance::get(ctx, name)
}
