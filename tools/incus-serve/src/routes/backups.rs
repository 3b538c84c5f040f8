//! `/1.0/instances/NAME/backups` (list, create, show, rename, delete, `/export`)
//! and the import of a backup tarball: `POST /1.0/instances` with
//! `Content-Type: application/octet-stream` (`X-Incus-name`, `X-Incus-pool`), as
//! upstream's `incus export` / `incus import` use them. Writes run as operations.

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
use incus_api::{Error, InstanceBackupPost, InstanceBackupsPost};
use incus_core::backup_archive::{self, ExportOptions, ImportOptions};
use incus_core::{backup_store, instance};

pub fn routes() -> Router<AppRef> {
    Router::new()
        .route("/1.0/instances/{name}/backups", get(list).post(create))
        .route(
            "/1.0/instances/{name}/backups/{backup}",
            get(one).post(rename).delete(delete),
        )
        .route("/1.0/instances/{name}/backups/{backup}/export", get(export))
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
        move |ctx| backup_store::create(ctx, &name, &b, &expires_at, &opts).map(|_| ()),
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
        move |ctx| backup_store::rename(ctx, &name, &b, &post.name),
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
        move |ctx| backup_store::delete(ctx, &name, &b),
    )
}

async fn export(Path((name, b)): Path<(String, String)>, q: Query) -> Result<Response, ApiError> {
    check_project(&q)?;
    let path = core(move |ctx| backup_store::tarball(ctx, &name, &b)).await?;
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
