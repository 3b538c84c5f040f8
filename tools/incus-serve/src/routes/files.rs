//! `/1.0/instances/NAME/files?path=`: GET (file bytes with X-Incus-* headers, or a
//! directory listing), POST (file, directory or symlink), DELETE. Paths are resolved
//! by core without leaving the rootfs.

use crate::app::{check_project, core, empty, sync, ApiError, ApiResult, AppRef, Query};
use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use incus_api::Error;
use incus_core::files::{self, FileKind, FilePut};

pub fn routes() -> Router<AppRef> {
    Router::new().route(
        "/1.0/instances/{name}/files",
        get(pull)
            .post(push)
            .delete(delete)
            .layer(axum::extract::DefaultBodyLimit::max(1 << 30)),
    )
}

fn path_of(q: &Query) -> Result<String, ApiError> {
    q.get("path")
        .filter(|p| !p.is_empty())
        .cloned()
        .ok_or_else(|| Error::invalid("Missing path argument").into())
}

async fn pull(Path(name): Path<String>, q: Query) -> Result<Response, ApiError> {
    check_project(&q)?;
    let path = path_of(&q)?;
    let (info, file) = core(move |ctx| files::open_get(ctx, &name, &path)).await?;
    let mut resp = match info.kind {
        FileKind::Directory => sync(&info.entries)?,
        // Upstream answers a symlink with its target as the body.
        kind => {
            let body = match file {
                Some(f) if kind == FileKind::File => stream_file(f),
                _ => Body::from(info.target.clone().into_bytes()),
            };
            (
                [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
                body,
            )
                .into_response()
        }
    };
    let h = resp.headers_mut();
    for (k, v) in [
        ("X-Incus-uid", info.uid.to_string()),
        ("X-Incus-gid", info.gid.to_string()),
        ("X-Incus-mode", format!("{:o}", info.mode)),
        ("X-Incus-type", info.kind.as_str().to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    Ok(resp)
}

/// A file's bytes as a stream of chunks read as the client takes them (a file of any
/// size costs one chunk of memory, not its size).
fn stream_file(f: std::fs::File) -> Body {
    use tokio::io::AsyncReadExt;
    const CHUNK: usize = 256 << 10;
    let f = tokio::fs::File::from_std(f);
    let chunks = futures_util::stream::unfold(Some(f), |f| async move {
        let mut f = f?;
        let mut buf = vec![0u8; CHUNK];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buf)), Some(f)))
            }
            // The error ends the body early; the client sees a truncated transfer.
            Err(e) => Some((Err(e), None)),
        }
    });
    Body::from_stream(chunks)
}

async fn push(Path(name): Path<String>, q: Query, headers: HeaderMap, body: Bytes) -> ApiResult {
    check_project(&q)?;
    let path = path_of(&q)?;
    let hdr = |k: &str| {
        headers
            .get(format!("X-Incus-{k}"))
            .or_else(|| headers.get(format!("X-LXD-{k}")))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let num = |k: &str, radix: u32| -> Result<Option<u32>, Error> {
        let v = hdr(k);
        if v.is_empty() || v == "-1" {
            return Ok(None);
        }
        u32::from_str_radix(&v, radix)
            .map(Some)
            .map_err(|_| Error::invalid(format!("Invalid X-Incus-{k} \"{v}\"")))
    };
    let kind = match hdr("type").as_str() {
        "" => FileKind::File,
        t => FileKind::parse(t)?,
    };
    let opts = FilePut {
        kind,
        uid: num("uid", 10)?,
        gid: num("gid", 10)?,
        mode: num("mode", 8)?.map(|m| m & 0o7777),
        // A symlink's body is its target.
        target: if kind == FileKind::Symlink {
            String::from_utf8_lossy(&body).into_owned()
        } else {
            String::new()
        },
        append: match hdr("write").as_str() {
            "" | "overwrite" => false,
            "append" => true,
            w => return Err(Error::invalid(format!("Invalid X-Incus-write \"{w}\"")).into()),
        },
        make_parents: false,
        force: false,
    };
    core(move |ctx| files::put(ctx, &name, &path, &opts, &mut &body[..])).await?;
    empty()
}

async fn delete(Path(name): Path<String>, q: Query) -> ApiResult {
    check_project(&q)?;
    let path = path_of(&q)?;
    core(move |ctx| files::delete(ctx, &name, &path, false)).await?;
    empty()
}
