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

/// The stored files of an image, as upstream sends them: a unified image as the body,
/// a split one as `multipart/form-data` with the parts `metadata`
/// (`meta-FP.EXT`) and `rootfs` (`FP.EXT`).
async fn export(Path(fp): Path<String>) -> Result<Response, ApiError> {
    let (row, source) = core(move |ctx| {
        let row = image::resolve(ctx, &fp)?;
        let source = image::stored_source(ctx, &row);
        Ok((row, source))
    })
    .await?;
    let open = |p: std::path::PathBuf| async move {
        tokio::fs::File::open(&p)
            .await
            .map_err(|e| Error::internal(format!("Open {}: {e}", p.display())))
    };
    match source {
        // The stored file keeps its compression: name it after the upload.
        ImageSource::Unified(p) => {
            let filename = if row.filename.is_empty() {
                format!("{}.tar", row.fingerprint)
            } else {
                row.filename.clone()
            };
            let stream = tokio_util_stream(open(p).await?);
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
        ImageSource::Split { metadata, rootfs } => {
            let fp = &row.fingerprint;
            let boundary = format!("incus-image-{}", &fp[..16.min(fp.len())]);
            let part = |name: &str, filename: String| {
                Bytes::from(format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                ))
            };
            let meta_name = format!("meta-{fp}{}", image::extension(&metadata));
            let rootfs_name = format!("{fp}{}", image::extension(&rootfs));
            let one =
                |b: Bytes| futures_util::stream::once(async move { Ok::<_, std::io::Error>(b) });
            let stream = one(part("metadata", meta_name))
                .chain(tokio_util_stream(open(metadata).await?))
                .chain(one(Bytes::from_static(b"\r\n")))
                .chain(one(part("rootfs", rootfs_name)))
                .chain(tokio_util_stream(open(rootfs).await?))
                .chain(one(Bytes::from(format!("\r\n--{boundary}--\r\n"))));
            Ok((
                [(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )],
                Body::from_stream(stream),
            )
                .into_response())
        }
    }
}

/// A file as a stream of chunks.
pub(super) fn tokio_util_stream(
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
pub(super) async fn save<S, E>(mut stream: S) -> Result<tempfile::NamedTempFile, Error>
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
        // From an instance or a snapshot (`publish`), else a download (simplestreams,
        // URL): both read the body, so it is read once here and handed on.
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20)
            .await
            .map_err(|e| Error::invalid(format!("Read the request: {e}")))?;
        let source_type = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["source"]["type"].as_str().map(str::to_string))
            .unwrap_or_default();
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        if matches!(source_type.as_str(), "instance" | "snapshot") {
            return super::backups::publish(&app, req).await;
        }
        return import_from_source(&app, req).await;
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

/// `POST /1.0/images` with a JSON body (upstream's `ImagesPost`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ImagesPost {
    #[serde(deserialize_with = "incus_api::null_default")]
    source: incus_api::InstanceSource,
    #[serde(deserialize_with = "incus_api::null_default")]
    aliases: Vec<AliasName>,
    public: bool,
    #[serde(deserialize_with = "incus_api::null_default")]
    properties: Config,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AliasName {
    name: String,
}

/// `source.type=image` with `protocol=simplestreams` (what upstream's client sends for
/// `incus image copy images:ALIAS srv:`): the server downloads the image itself.
async fn import_from_source(app: &AppRef, req: Request) -> ApiResult {
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .map_err(|e| Error::invalid(format!("Read the request: {e}")))?;
    let post: ImagesPost = parse_body(&body)?;
    let src = post.source;
    match (src.source_type.as_str(), src.protocol.as_str()) {
        ("url", _) => return import_url(app, src.url, post.public, post.properties).await,
        ("image", "simplestreams") => {}
        ("image", _) => return Err(Error::unsupported(
            "Images from remote incus servers are not supported yet (simplestreams servers are)",
        )
        .into()),
        (other, _) => {
            return Err(Error::unsupported(format!(
                "Image source \"{other}\" is not supported yet"
            ))
            .into())
        }
    }
    if src.server.is_empty() {
        return Err(Error::invalid("The image source has no server").into());
    }
    let name = if !src.fingerprint.is_empty() {
        src.fingerprint.clone()
    } else if !src.alias.is_empty() {
        src.alias.clone()
    } else {
        return Err(Error::invalid("Image source needs an alias or a fingerprint").into());
    };
    // Without the `image_create_aliases` extension (not served: uploads do not take
    // aliases), upstream's client creates the aliases itself once the operation is
    // done; it sends them in the body too, so they are left to it here.
    let _ = post.aliases;
    let opts = ImportOptions {
        aliases: Vec::new(),
        public: post.public,
        properties: post.properties,
    };
    let op = app.ops.create(OpSpec::task("Downloading image", &[]));
    let running = op.clone();
    tokio::spawn(async move {
        let result =
            core(move |ctx| pull_simplestreams(ctx, &src.server, &src.certificate, &name, &opts))
                .await;
        match result {
            Ok(fp) => {
                running.set_metadata(serde_json::json!({ "fingerprint": fp }));
                running.finish(Ok(()));
            }
            Err(e) => running.finish(Err(e)),
        }
    });
    super::async_response(&op)
}

/// `source.type=url` (`incus image import https://...`): the HEAD of the URL names the
/// image and its hash (`incus_simplestreams::fetch_direct`); the server downloads it.
async fn import_url(app: &AppRef, url: String, public: bool, properties: Config) -> ApiResult {
    if url.is_empty() {
        return Err(Error::invalid("Missing URL").into());
    }
    let op = app.ops.create(OpSpec::task("Downloading image", &[]));
    let running = op.clone();
    tokio::spawn(async move {
        let result = core(move |ctx| {
            let dir = tempfile::Builder::new()
                .prefix("incus-serve-download-")
                .tempdir()
                .map_err(|e| Error::internal(format!("Temporary directory: {e}")))?;
            let (source, hash) = incus_simplestreams::fetch_direct(&url, dir.path(), None)?;
            let opts = ImportOptions {
                aliases: Vec::new(),
                public,
                properties,
            };
            let img = image::import(ctx, &source, &opts, None)?;
            if img.fingerprint != hash {
                return Err(Error::internal(format!(
                    "Imported image {} is not the announced {hash}",
                    img.fingerprint
                )));
            }
            Ok(img.fingerprint)
        })
        .await;
        match result {
            Ok(fp) => {
                running.set_metadata(serde_json::json!({ "fingerprint": fp }));
                running.finish(Ok(()));
            }
            Err(e) => running.finish(Err(e)),
        }
    });
    super::async_response(&op)
}

/// Pulls the image `name` of the simplestreams server `server` into this server's
/// store (nothing is downloaded when the fingerprint is here already; `opts.aliases`
/// are added either way). `certificate` (PEM), when given, is trusted instead of the
/// system CAs. Returns the fingerprint.
pub(crate) fn pull_simplestreams(
    ctx: &incus_core::Context,
    server: &str,
    certificate: &str,
    name: &str,
    opts: &ImportOptions,
) -> incus_api::Result<String> {
    let pinned = (!certificate.trim().is_empty()).then_some(certificate);
    let server = incus_simplestreams::Server::new(server, pinned)?;
    let has = |fp: &str| match image::get(ctx, fp) {
        Ok(_) => {
            for alias in &opts.aliases {
                image::alias_create(ctx, alias, fp, "")?;
            }
            Ok(true)
        }
        Err(e) if e.kind == incus_api::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    };
    server.pull(
        name,
        &has,
        &mut |source, entry| {
            let mut opts = opts.clone();
            for (k, v) in &entry.image.properties {
                opts.properties
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
            Ok(image::import(ctx, source, &opts, None)?.fingerprint)
        },
        None,
    )
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
