//! `/1.0/instances/NAME/backups` (list, create, show, rename, delete, `/export`)
//! and the import of a backup tarball: `POST /1.0/instances` with
//! `Content-Type: application/octet-stream` (`X-Incus-name`, `X-Incus-pool`), as
//! upstream's `incus export` / `incus import` use them; `publish` (`POST /1.0/images`
//! from an instance or a snapshot) and `POST /1.0/instances/NAME/rebuild`. Writes
//! run as operations.

use super::images::{save, tokio_util_stream};
use super::{run_task, urls};
use crate::app::{check_project, core, parse_body, recursion, sync, sync_etag, ApiResult, AppRef};
use crate::app::{ApiError, Query};
use crate::ops::OpSpec;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use incus_api::{Error, ImagesPost, InstanceBackupPost, InstanceBackupsPost, InstanceRebuildPost};
use incus_core::backup_archive::{self, ExportOptions, ImportOptions};
use incus_core::backup_store::Owner;
use incus_core::publish::PublishOptions;
use incus_core::{backup_store, instance};

pub fn routes() -> Router<AppRef> {
    Router::new()
        .route("/1.0/instances/{name}/backups", get(list).post(create))
        .route(
            "/1.0/instances/{name}/backups/{backup}",
            get(one).post(rename).delete(delete),
        )
        .route("/1.0/instances/{name}/backups/{backup}/export", get(export))
        .route(
            "/1.0/instances/{name}/rebuild",
            axum::routing::post(rebuild),
        )
        .route(
            "/1.0/storage-pools/{pool}/volumes/{vtype}/{name}/backups",
            get(vol_list).post(vol_create),
        )
        .route(
            "/1.0/storage-pools/{pool}/volumes/{vtype}/{name}/backups/{backup}",
            get(vol_one).post(vol_rename).delete(vol_delete),
        )
        .route(
            "/1.0/storage-pools/{pool}/volumes/{vtype}/{name}/backups/{backup}/export",
            get(vol_export),
        )
}

fn url(inst: &str, b: &str) -> String {
    format!("/1.0/instances/{inst}/backups/{}", super::encode(b))
}

fn resources(inst: &str, b: &str) -> Vec<(&'static str, String)> {
    vec![
        ("instances", format!("/1.0/instances/{inst}")),
        ("backups", url(inst, b)),
    ]
}

async fn list(Path(name): Path<String>, q: Query) -> ApiResult {
    check_project(&q)?;
    let n = name.clone();
    let all = core(move |ctx| backup_store::list(ctx, &n)).await?;
    if recursion(&q) > 0 {
        sync(all)
    } else {
        let prefix = format!("/1.0/instances/{name}/backups");
        sync(urls(&prefix, all.into_iter().map(|b| b.name)))
    }
}

async fn create(
    State(app): State<AppRef>,
    Path(name): Path<String>,
    q: Query,
    body: axum::body::Bytes,
) -> ApiResult {
    check_project(&q)?;
    let post: InstanceBackupsPost = parse_body(&body)?;
    let opts = ExportOptions {
        instance_only: post.instance_only,
        optimized_storage: post.optimized_storage,
        compression: (!post.compression_algorithm.is_empty())
            .then(|| post.compression_algorithm.clone()),
    };
    // Refusals (bad options, missing instance, taken name) answer at once; the name
    // is chosen now because the operation names the backup in its resources, which
    // is how the client finds what to download.
    opts.compression()?;
    if opts.optimized_storage {
        return Err(Error::unsupported(
            "Optimized storage backups (driver send streams) are not supported: export \
             without --optimized-storage",
        )
        .into());
    }
    if !post.name.is_empty() {
        backup_store::validate_name(&post.name)?;
    }
    let (n, wanted) = (name.clone(), post.name.clone());
    let backup_name = core(move |ctx| {
        let existing = backup_store::list(ctx, &n)?;
        if wanted.is_empty() {
            Ok((0..)
                .map(|i| format!("backup{i}"))
                .find(|c| !existing.iter().any(|b| &b.name == c))
                .expect("a free name"))
        } else if existing.iter().any(|b| b.name == wanted) {
            Err(Error::conflict(format!(
                "Backup \"{wanted}\" of instance \"{n}\" already exists"
            )))
        } else {
            Ok(wanted)
        }
    })
    .await?;
    let expires_at = post.expires_at;
    let b = backup_name.clone();
    run_task(
        &app,
        OpSpec::task("Backing up instance", &resources(&name, &backup_name)),
        move |ctx| {
            backup_store::create(ctx, Owner::Instance(&name), &b, &expires_at, &opts).map(|_| ())
        },
    )
}

async fn one(Path((name, b)): Path<(String, String)>, q: Query) -> ApiResult {
    check_project(&q)?;
    sync_etag(core(move |ctx| backup_store::get(ctx, &name, &b)).await?)
}

async fn rename(
    State(app): State<AppRef>,
    Path((name, b)): Path<(String, String)>,
    q: Query,
    body: axum::body::Bytes,
) -> ApiResult {
    check_project(&q)?;
    let post: InstanceBackupPost = parse_body(&body)?;
    if post.name.is_empty() {
        return Err(Error::invalid("A new name is required").into());
    }
    backup_store::validate_name(&post.name)?;
    let (n, bb) = (name.clone(), b.clone());
    core(move |ctx| backup_store::get(ctx, &n, &bb).map(|_| ())).await?;
    run_task(
        &app,
        OpSpec::task("Renaming instance backup", &resources(&name, &b)),
        move |ctx| backup_store::rename(ctx, Owner::Instance(&name), &b, &post.name),
    )
}

async fn delete(
    State(app): State<AppRef>,
    Path((name, b)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    check_project(&q)?;
    let (n, bb) = (name.clone(), b.clone());
    core(move |ctx| backup_store::get(ctx, &n, &bb).map(|_| ())).await?;
    run_task(
        &app,
        OpSpec::task("Deleting instance backup", &resources(&name, &b)),
        move |ctx| backup_store::delete(ctx, Owner::Instance(&name), &b),
    )
}

async fn export(Path((name, b)): Path<(String, String)>, q: Query) -> Result<Response, ApiError> {
    check_project(&q)?;
    let path = core(move |ctx| backup_store::tarball(ctx, Owner::Instance(&name), &b)).await?;
    stream_file(path).await
}

async fn stream_file(path: std::path::PathBuf) -> Result<Response, ApiError> {
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| Error::internal(format!("Open {}: {e}", path.display())))?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        Body::from_stream(tokio_util_stream(file)),
    )
        .into_response())
}

/// `POST /1.0/instances`: a JSON create, or a backup upload (octet-stream).
pub async fn create_or_import(app: State<AppRef>, q: Query, req: Request) -> ApiResult {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !ctype.starts_with("application/octet-stream") {
        let body = axum::body::to_bytes(req.into_body(), super::MAX_JSON_BODY)
            .await
            .map_err(|e| Error::invalid(format!("Request body: {e}")))?;
        return super::instances::create(app, q, body).await;
    }
    check_project(&q)?;
    let opts = {
        let headers = req.headers();
        let hdr = |k: &str| {
            headers
                .get(format!("X-Incus-{k}"))
                .or_else(|| headers.get(format!("X-LXD-{k}")))
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        ImportOptions {
            name: Some(hdr("name")).filter(|n| !n.is_empty()),
            pool: Some(hdr("pool")).filter(|p| !p.is_empty()),
        }
    };
    if let Some(n) = &opts.name {
        incus_core::names::validate_instance_name(n)?;
    }
    let file = save(req.into_body().into_data_stream()).await?;
    // The index is read now so that the operation names the instance and a tarball
    // that is no backup is refused with a 400 rather than a failed operation.
    let path = file.path().to_path_buf();
    let (index, _) = core(move |_| backup_archive::read_index(&path)).await?;
    let name = opts.name.clone().unwrap_or(index.name);
    let n = name.clone();
    core(move |ctx| match instance::get_row(ctx, &n) {
        Ok(_) => Err(Error::conflict(format!("Instance \"{n}\" already exists"))),
        Err(_) => Ok(()),
    })
    .await?;
    run_task(
        &app,
        OpSpec::task(
            "Creating instance from backup",
            &[("instances", format!("/1.0/instances/{name}"))],
        ),
        move |ctx| {
            backup_archive::import(ctx, file.path(), &opts)?;
            drop(file);
            Ok(())
        },
    )
}

/// `POST /1.0/images` with a JSON body: an image from an instance or a snapshot.
/// Aliases are made by the client afterwards (upstream's client does that too),
/// or from `aliases` here.
pub async fn publish(app: &AppRef, req: Request) -> ApiResult {
    let body = axum::body::to_bytes(req.into_body(), super::MAX_JSON_BODY)
        .await
        .map_err(|e| Error::invalid(format!("Request body: {e}")))?;
    let post: ImagesPost = parse_body(&body)?;
    let (instance, snapshot) = match post.source.source_type.as_str() {
        "instance" | "container" | "virtual-machine" => (post.source.name.clone(), None),
        "snapshot" => match post.source.name.split_once('/') {
            Some((i, s)) => (i.to_string(), Some(s.to_string())),
            None => {
                return Err(Error::invalid("A snapshot source is named INSTANCE/SNAPSHOT").into())
            }
        },
        "" => return Err(Error::invalid("The image source has no type").into()),
        other => {
            return Err(Error::unsupported(format!(
                "Image source \"{other}\" is not supported (uploads, instances and snapshots are)"
            ))
            .into())
        }
    };
    incus_core::names::validate_instance_name(&instance)?;
    if let Some(s) = &snapshot {
        incus_core::names::validate_snapshot_name(s)?;
    }
    if !post.compression_algorithm.is_empty() {
        incus_imagefmt::PackCompression::parse(&post.compression_algorithm)
            .map_err(|e| Error::invalid(e.to_string()))?;
    }
    let (i, s) = (instance.clone(), snapshot.clone());
    core(move |ctx| match &s {
        Some(s) => incus_core::snapshot::get(ctx, &i, s).map(|_| ()),
        None => instance::get_row(ctx, &i).map(|_| ()),
    })
    .await?;
    let opts = PublishOptions {
        instance: instance.clone(),
        snapshot,
        aliases: post.aliases.into_iter().map(|a| a.name).collect(),
        public: post.public,
        expires_at: post.expires_at,
        reuse: false,
        properties: post.properties,
        compression: (!post.compression_algorithm.is_empty()).then_some(post.compression_algorithm),
    };
    let op = app.ops.create(OpSpec::task(
        "Publishing instance",
        &[("instances", format!("/1.0/instances/{instance}"))],
    ));
    let running = op.clone();
    tokio::spawn(async move {
        match core(move |ctx| incus_core::publish::publish(ctx, &opts)).await {
            Ok(img) => {
                running.set_metadata(serde_json::json!({
                    "fingerprint": img.fingerprint,
                    "size": img.size.to_string(),
                }));
                running.finish(Ok(()));
            }
            Err(e) => running.finish(Err(e)),
        }
    });
    super::async_response(&op)
}

/// `POST /1.0/instances/NAME/rebuild`: `source.type` `image` (alias or
/// fingerprint of a local image) or `none` (empty).
async fn rebuild(
    State(app): State<AppRef>,
    Path(name): Path<String>,
    q: Query,
    body: axum::body::Bytes,
) -> ApiResult {
    check_project(&q)?;
    let post: InstanceRebuildPost = parse_body(&body)?;
    let src = post.source;
    let image = match src.source_type.as_str() {
        "none" => None,
        "image" => {
            if !src.server.is_empty() {
                return Err(Error::unsupported(
                    "Images from remote servers are not supported yet: copy the image here first",
                )
                .into());
            }
            if !src.fingerprint.is_empty() {
                Some(src.fingerprint)
            } else if !src.alias.is_empty() {
                Some(src.alias)
            } else {
                return Err(Error::invalid("Image source needs an alias or a fingerprint").into());
            }
        }
        other => {
            return Err(Error::invalid(format!("Unknown rebuild source type \"{other}\"")).into())
        }
    };
    let (n, i) = (name.clone(), image.clone());
    core(move |ctx| {
        instance::get_row(ctx, &n)?;
        if let Some(i) = &i {
            incus_core::image::resolve(ctx, i)?;
        }
        if instance::status(ctx, &n) != incus_api::StatusCode::Stopped {
            return Err(Error::invalid(
                "The instance needs to be stopped in order to be rebuilt",
            ));
        }
        Ok(())
    })
    .await?;
    run_task(
        &app,
        OpSpec::task(
            "Rebuilding instance",
            &[("instances", format!("/1.0/instances/{name}"))],
        ),
        move |ctx| incus_core::rebuild::rebuild(ctx, &name, image.as_deref()).map(|_| ()),
    )
}

// --- custom volume backups ---

fn custom_only(vtype: &str) -> Result<(), Error> {
    if vtype == "custom" {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Backups of \"{vtype}\" volumes are not supported (custom volumes only)"
        )))
    }
}

fn vol_url(pool: &str, name: &str) -> String {
    format!("/1.0/storage-pools/{pool}/volumes/custom/{name}")
}

fn vol_resources(pool: &str, name: &str, b: &str) -> Vec<(&'static str, String)> {
    vec![
        ("storage_volumes", vol_url(pool, name)),
        (
            "backups",
            format!("{}/backups/{}", vol_url(pool, name), super::encode(b)),
        ),
    ]
}

async fn vol_list(
    Path((pool, vtype, name)): Path<(String, String, String)>,
    q: Query,
) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    let (p, n) = (pool.clone(), name.clone());
    let all =
        core(move |ctx| backup_store::list_of(ctx, Owner::Volume { pool: &p, name: &n })).await?;
    if recursion(&q) > 0 {
        sync(all)
    } else {
        let prefix = format!("{}/backups", vol_url(&pool, &name));
        sync(urls(&prefix, all.into_iter().map(|b| b.name)))
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct VolumeBackupsPost {
    name: String,
    #[serde(deserialize_with = "incus_api::null_default")]
    expires_at: String,
    volume_only: bool,
    optimized_storage: bool,
    compression_algorithm: String,
}

async fn vol_create(
    State(app): State<AppRef>,
    Path((pool, vtype, name)): Path<(String, String, String)>,
    q: Query,
    body: axum::body::Bytes,
) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    let post: VolumeBackupsPost = parse_body(&body)?;
    let opts = ExportOptions {
        instance_only: post.volume_only,
        optimized_storage: post.optimized_storage,
        compression: (!post.compression_algorithm.is_empty())
            .then(|| post.compression_algorithm.clone()),
    };
    opts.compression()?;
    if opts.optimized_storage {
        return Err(Error::unsupported(
            "Optimized storage backups (driver send streams) are not supported",
        )
        .into());
    }
    if !post.name.is_empty() {
        backup_store::validate_name(&post.name)?;
    }
    let (p, n, wanted) = (pool.clone(), name.clone(), post.name.clone());
    let backup_name = core(move |ctx| {
        let existing = backup_store::list_of(ctx, Owner::Volume { pool: &p, name: &n })?;
        if wanted.is_empty() {
            Ok((0..)
                .map(|i| format!("backup{i}"))
                .find(|c| !existing.iter().any(|b| &b.name == c))
                .expect("a free name"))
        } else if existing.iter().any(|b| b.name == wanted) {
            Err(Error::conflict(format!(
                "Backup \"{wanted}\" of volume \"{p}/{n}\" already exists"
            )))
        } else {
            Ok(wanted)
        }
    })
    .await?;
    let expires_at = post.expires_at;
    let b = backup_name.clone();
    run_task(
        &app,
        OpSpec::task(
            "Backing up storage volume",
            &vol_resources(&pool, &name, &backup_name),
        ),
        move |ctx| {
            let owner = Owner::Volume {
                pool: &pool,
                name: &name,
            };
            backup_store::create(ctx, owner, &b, &expires_at, &opts).map(|_| ())
        },
    )
}

async fn vol_one(
    Path((pool, vtype, name, b)): Path<(String, String, String, String)>,
    q: Query,
) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    sync_etag(
        core(move |ctx| {
            backup_store::get_of(
                ctx,
                Owner::Volume {
                    pool: &pool,
                    name: &name,
                },
                &b,
            )
        })
        .await?,
    )
}

async fn vol_rename(
    State(app): State<AppRef>,
    Path((pool, vtype, name, b)): Path<(String, String, String, String)>,
    q: Query,
    body: axum::body::Bytes,
) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    let post: InstanceBackupPost = parse_body(&body)?;
    if post.name.is_empty() {
        return Err(Error::invalid("A new name is required").into());
    }
    backup_store::validate_name(&post.name)?;
    let (p, n, bb) = (pool.clone(), name.clone(), b.clone());
    core(move |ctx| {
        backup_store::get_of(ctx, Owner::Volume { pool: &p, name: &n }, &bb).map(|_| ())
    })
    .await?;
    run_task(
        &app,
        OpSpec::task(
            "Renaming storage volume backup",
            &vol_resources(&pool, &name, &b),
        ),
        move |ctx| {
            backup_store::rename(
                ctx,
                Owner::Volume {
                    pool: &pool,
                    name: &name,
                },
                &b,
                &post.name,
            )
        },
    )
}

async fn vol_delete(
    State(app): State<AppRef>,
    Path((pool, vtype, name, b)): Path<(String, String, String, String)>,
    q: Query,
) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    let (p, n, bb) = (pool.clone(), name.clone(), b.clone());
    core(move |ctx| {
        backup_store::get_of(ctx, Owner::Volume { pool: &p, name: &n }, &bb).map(|_| ())
    })
    .await?;
    run_task(
        &app,
        OpSpec::task(
            "Deleting storage volume backup",
            &vol_resources(&pool, &name, &b),
        ),
        move |ctx| {
            backup_store::delete(
                ctx,
                Owner::Volume {
                    pool: &pool,
                    name: &name,
                },
                &b,
            )
        },
    )
}

async fn vol_export(
    Path((pool, vtype, name, b)): Path<(String, String, String, String)>,
    q: Query,
) -> Result<Response, ApiError> {
    check_project(&q)?;
    custom_only(&vtype)?;
    let path = core(move |ctx| {
        backup_store::tarball(
            ctx,
            Owner::Volume {
                pool: &pool,
                name: &name,
            },
            &b,
        )
    })
    .await?;
    stream_file(path).await
}

/// `POST /1.0/storage-pools/POOL/volumes/TYPE`: a JSON create, or a custom volume
/// backup upload (octet-stream, `X-Incus-name`).
pub async fn volume_create_or_import(
    app: State<AppRef>,
    Path((pool, vtype)): Path<(String, String)>,
    q: Query,
    req: Request,
) -> ApiResult {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !ctype.starts_with("application/octet-stream") {
        let body = axum::body::to_bytes(req.into_body(), super::MAX_JSON_BODY)
            .await
            .map_err(|e| Error::invalid(format!("Request body: {e}")))?;
        return super::volumes::create(app, Path((pool, vtype)), q, body).await;
    }
    check_project(&q)?;
    custom_only(&vtype)?;
    let name = req
        .headers()
        .get("X-Incus-name")
        .or_else(|| req.headers().get("X-LXD-name"))
        .and_then(|v| v.to_str().ok())
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    if let Some(n) = &name {
        incus_core::names::validate_object_name("storage volume", n)?;
    }
    let file = save(req.into_body().into_data_stream()).await?;
    let resources = name
        .iter()
        .map(|n| ("storage_volumes", vol_url(&pool, n)))
        .collect::<Vec<_>>();
    run_task(
        &app,
        OpSpec::task("Importing custom volume", &resources),
        move |ctx| {
            incus_core::backup_volume::import(ctx, &pool, file.path(), name.as_deref())?;
            drop(file);
            Ok(())
        },
    )
}
