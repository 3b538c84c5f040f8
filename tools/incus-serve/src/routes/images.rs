//! `/1.0/images` and `/1.0/images/aliases`.

use super::{run_task, urls};
use crate::app::{
    check_project, core, created, empty, parse_body, recursion, sync, sync_etag, ApiError,
    ApiResult, AppRef, Query,
};
use crate::ops::OpSpec;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::StreamExt;
use incus_api::{Config, Error, ImagePut};
use incus_core::image::{self, ImportOptions};
use incus_imagefmt::ImageSource;
use serde::Deserialize;
use std::io::Write;

/// Largest image upload accepted.
const MAX_UPLOAD: u64 = 16 << 30;

pub fn routes() -> Router<AppRef> {
    Router::new()
        .route(
            "/1.0/images",
            get(list)
                .post(import)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/1.0/images/aliases", get(aliases).post(alias_create))
        .route(
            "/1.0/images/aliases/{name}",
            get(alias)
                .put(alias_put)
                .patch(alias_put)
                .post(alias_rename)
                .delete(alias_delete),
        )
        .route(
            "/1.0/images/{fp}",
            get(one).put(put).patch(patch).delete(delete),
        )
        .route("/1.0/images/{fp}/export", get(export))
}

async fn list(q: Query) -> ApiResult {
    check_project(&q)?;
    let every = crate::app::all_projects(&q);
    let all = core(move |ctx| {
        if every {
            // A project without features.images shows default's: each image once.
            let mut all = incus_core::project::across(ctx, image::list)?;
            let mut seen = std::collections::HashSet::new();
            all.retain(|i| seen.insert((i.project.clone(), i.fingerprint.clone())));
            Ok(all)
        } else {
            image::list(ctx)
        }
    })
    .await?;
    if recursion(&q) > 0 {
        sync(all)
    } else {
        sync(urls("/1.0/images", all.into_iter().map(|i| i.fingerprint)))
    }
}

async fn one(Path(fp): Path<String>, q: Query) -> ApiResult {
    check_project(&q)?;
    sync_etag(core(move |ctx| image::get(ctx, &fp)).await?)
}

async fn put(Path(fp): Path<String>, body: Bytes) -> ApiResult {
    let put: ImagePut = parse_body(&body)?;
    core(move |ctx| image::update(ctx, &fp, put)).await?;
    empty()
}

async fn patch(Path(fp): Path<String>, body: Bytes) -> ApiResult {
    let patch: serde_json::Value = parse_body(&body)?;
    core(move |ctx| {
        let mut put = ImagePut::from(&image::get(ctx, &fp)?);
        let (mut devices, mut description) = (Default::default(), String::new());
        if let Some(p) = patch.get("properties") {
            let p: Config = serde_json::from_value(p.clone())
                .map_err(|e| Error::invalid(format!("Invalid properties: {e}")))?;
            put.properties.extend(p);
        }
        incus_core::patch::merge(&mut Config::new(), &mut devices, &mut description, &patch)?;
        if let Some(b) = patch.get("public").and_then(|b| b.as_bool()) {
            put.public = b;
        }
        if let Some(b) = patch.get("auto_update").and_then(|b| b.as_bool()) {
            put.auto_update = b;
        }
        image::update(ctx, &fp, put).map(|_| ())
    })
    .await?;
    empty()
}

async fn delete(State(app): State<AppRef>, Path(fp): Path<String>) -> ApiResult {
    let full = {
        let fp = fp.clone();
        core(move |ctx| image::get(ctx, &fp)).await?.fingerprint
    };
    run_task(
        &app,
        OpSpec::task(
            "Deleting image",
            &[("images", format!("/1.0/images/{full}"))],
        ),
        move |ctx| image::delete(ctx, &full),
    )
}

/// The stored file of a unified image, as upstream sends it.
async fn export(Path(fp): Path<String>) -> Result<Response, ApiError> {
    let (path, filename) = core(move |ctx| {
        let row = image::resolve(ctx, &fp)?;
        match image::stored_source(ctx, &row) {
            // The stored file keeps its compression: name it after the upload.
            ImageSource::Unified(p) => Ok((
                p,
                if row.filename.is_empty() {
                    format!("{}.tar", row.fingerprint)
                } else {
                    row.filename.clone()
                },
            )),
            ImageSource::Split { .. } => Err(Error::unsupported(
                "Exporting split images over the API is not supported yet",
            )),
        }
    })
    .await?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| Error::internal(format!("Open {}: {e}", path.display())))?;
    let stream = tokio_util_stream(file);
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename={filename}"),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// A file as a stream of chunks.
fn tokio_util_stream(
    file: tokio::fs::File,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> {
    futures_util::stream::unfold(file, |mut f| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 256 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    })
}

/// Writes an upload to a temporary file, refusing more than [`MAX_UPLOAD`] bytes.
async fn save<S, E>(mut stream: S) -> Result<tempfile::NamedTempFile, Error>
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut tmp = tempfile::Builder::new()
        .prefix("incus-serve-upload-")
        .tempfile()
        .map_err(|e| Error::internal(format!("Temporary file: {e}")))?;
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Error::invalid(format!("Upload failed: {e}")))?;
        size += chunk.len() as u64;
        if size > MAX_UPLOAD {
            return Err(Error::invalid("Upload too large"));
        }
        tmp.write_all(&chunk)
            .map_err(|e| Error::internal(format!("Write upload: {e}")))?;
    }
    Ok(tmp)
}

/// `POST /1.0/images` with an upload, as `incus image import` sends it: a unified
/// tarball as the body, or a split image as multipart parts `metadata` and `rootfs`
/// (or `rootfs.img`). The import itself is core's, with its validation.
async fn import(State(app): State<AppRef>, q: Query, req: Request) -> ApiResult {
    check_project(&q)?;
    let headers = req.headers().clone();
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if ctype.starts_with("application/json") {
        return Err(
            Error::unsupported("Image sources other than an upload are not supported yet").into(),
        );
    }
    let hdr = |k: &str| {
        headers
            .get(format!("X-Incus-{k}"))
            .or_else(|| headers.get(format!("X-LXD-{k}")))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let public = matches!(hdr("public").as_str(), "1" | "true");
    let mut properties = Config::new();
    for pair in hdr("properties").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        properties.insert(unescape(k), unescape(v));
    }
    let files = if ctype.starts_with("multipart/") {
        let mut mp = Multipart::from_request(req, &())
            .await
            .map_err(|e| Error::invalid(format!("Invalid multipart upload: {e}")))?;
        let (mut meta, mut rootfs) = (None, None);
        while let Some(field) = mp
            .next_field()
            .await
            .map_err(|e| Error::invalid(format!("Invalid multipart upload: {e}")))?
        {
            let name = field.name().unwrap_or("").to_string();
            let file = save(field).await?;
            match name.as_str() {
                "metadata" => meta = Some(file),
                "rootfs" | "rootfs.img" => rootfs = Some(file),
                other => {
                    return Err(Error::invalid(format!("Unknown upload part \"{other}\"")).into())
                }
            }
        }
        match (meta, rootfs) {
            (Some(m), Some(r)) => vec![m, r],
            (Some(m), None) => vec![m],
            _ => return Err(Error::invalid("The upload has no metadata part").into()),
        }
    } else {
        vec![save(req.into_body().into_data_stream()).await?]
    };
    let op = app.ops.create(OpSpec::task("Downloading image", &[]));
    let running = op.clone();
    crate::app::spawn_in_project(async move {
        let result = core(move |ctx| {
            let opts = ImportOptions {
                aliases: vec![],
                public,
                properties,
            };
            let src = match files.as_slice() {
                [m, r] => ImageSource::Split {
                    metadata: m.path().to_path_buf(),
                    rootfs: r.path().to_path_buf(),
                },
                [u] => ImageSource::Unified(u.path().to_path_buf()),
                _ => return Err(Error::internal("No upload")),
            };
            let img = image::import(ctx, &src, &opts, None)?;
            drop(files);
            Ok(img)
        })
        .await;
        match result {
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

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }

            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn aliases(q: Query) -> ApiResult {
    check_project(&q)?;
    let all = core(image::alias_list).await?;
    if recursion(&q) > 0 {
        sync(all)
    } else {
        sync(urls("/1.0/images/aliases", all.into_iter().map(|a| a.name)))
    }
}

async fn alias(Path(name): Path<String>) -> ApiResult {
    let all = core(image::alias_list).await?;
    let a = all
        .into_iter()
        .find(|a| a.name == name)
        .ok_or_else(|| Error::not_found("Image alias not found"))?;
    sync_etag(a)
}

#[derive(Deserialize)]
struct AliasPost {
    name: String,
    target: String,
    #[serde(default)]
    description: String,
}

async fn alias_create(body: Bytes) -> ApiResult {
    let post: AliasPost = parse_body(&body)?;
    let name = post.name.clone();
    core(move |ctx| image::alias_create(ctx, &post.name, &post.target, &post.description)).await?;
    created(&format!("/1.0/images/aliases/{}", super::encode(&name)))
}

#[derive(Deserialize)]
struct AliasPut {
    #[serde(default)]
    target: String,
    #[serde(default)]
    description: String,
}

/// Retargets an alias (delete and create under the image locks of core).
async fn alias_put(Path(name): Path<String>, body: Bytes) -> ApiResult {
    let put: AliasPut = parse_body(&body)?;
    core(move |ctx| {
        let cur = image::alias_list(ctx)?
            .into_iter()
            .find(|a| a.name == name)
            .ok_or_else(|| Error::not_found("Image alias not found"))?;
        let target = if put.target.is_empty() {
            cur.target
        } else {
            put.target
        };
        image::get(ctx, &target)?;
        image::alias_delete(ctx, &name)?;
        image::alias_create(ctx, &name, &target, &put.description)
    })
    .await?;
    empty()
}

#[derive(Deserialize)]
struct NamePost {
    name: String,
}

async fn alias_rename(Path(name): Path<String>, body: Bytes) -> ApiResult {
    let post: NamePost = parse_body(&body)?;
    let new = post.name.clone();
    core(move |ctx| image::alias_rename(ctx, &name, &post.name)).await?;
    created(&format!("/1.0/images/aliases/{}", super::encode(&new)))
}

async fn alias_delete(Path(name): Path<String>) -> ApiResult {
    core(move |ctx| image::alias_delete(ctx, &name)).await?;
    empty()
}
