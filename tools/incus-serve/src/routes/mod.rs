//! The router: one module per API area. Areas still to come (snapshots, storage
//! volumes, networks) add a module here and merge its `routes()` in [`router`].

use crate::app::{core, json_response, ApiError, ApiResult, AppRef, Caller};
use crate::ops::{Op, OpSpec};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use incus_api::{Error, Result};
use incus_core::Context;
use std::sync::Arc;

pub mod backups;
pub mod certificates;
pub mod console;
pub mod events;
pub mod exec;
pub mod files;
pub mod images;
pub mod instances;
pub mod networks;
pub mod operations;
pub mod profiles;
pub mod projects;
mod pump;
pub mod server;
pub mod sftp;
pub mod snapshots;
pub mod storage;
pub mod volumes;

/// Every route of the API.
pub fn router(app: AppRef) -> Router {
    Router::new()
        .merge(server::routes())
        .merge(server::project_routes())
        .merge(certificates::routes())
        .merge(instances::routes())
        .merge(exec::routes())
        .merge(files::routes())
        .merge(sftp::routes())
        .merge(console::routes())
        .merge(images::routes())
        .merge(profiles::routes())
        .merge(storage::routes())
        .merge(snapshots::routes())
        .merge(backups::routes())
        .merge(networks::routes())
        .merge(volumes::routes())
        .merge(operations::routes())
        .merge(events::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(not_allowed)
        .layer(axum::middleware::from_fn(project_scope))
        .layer(axum::middleware::from_fn(envelope_errors))
        .layer(axum::middleware::from_fn(guard))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_JSON_BODY))
        .with_state(app)
}

/// Every handler runs with the request's `?project=` (default `default`) as
/// [`crate::app::PROJECT`], so each core call acts in it.
async fn project_scope(req: Request, next: Next) -> Response {
    let project = req
        .uri()
        .query()
        .and_then(|q| url_query_value(q, "project").filter(|p| !p.is_empty()))
        .unwrap_or_else(|| "default".to_string());
    crate::app::PROJECT.scope(project, next.run(req)).await
}

/// One decoded value of a query string.
fn url_query_value(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Request bodies other than image uploads stay small.
pub(crate) const MAX_JSON_BODY: usize = 4 << 20;

async fn not_found() -> ApiError {
    ApiError(Error::not_found("not found"))
}

async fn not_allowed() -> Response {
    let mut body = incus_api::Response::error(&Error::invalid("method not allowed"));
    body.error_code = 405;
    json_response(StatusCode::METHOD_NOT_ALLOWED, &body)
}

/// Untrusted callers (HTTPS without a known certificate) reach only `GET /`, `GET /1.0`
/// and `POST /1.0/certificates` (which accepts nothing but a join token from them).
/// A `metrics` certificate reaches `/1.0/metrics` besides `GET /` and `GET /1.0`; a
/// restricted certificate reaches its projects' objects (`crate::restrict`).
async fn guard(mut req: Request, next: Next) -> Response {
    use incus_core::trust::Access;
    let caller = req.extensions().get::<Caller>().cloned();
    let access = match caller {
        // Checked on every request, so a revoked certificate stops working at once
        // even on a kept-alive connection.
        Some(mut c) if c.fingerprint.is_some() => {
            let fp = c.fingerprint.clone().unwrap_or_default();
            let access = core(move |ctx| incus_core::trust::access(ctx, &fp))
                .await
                .unwrap_or(Access::Untrusted);
            c.trusted = access == Access::Admin;
            req.extensions_mut().insert(c);
            access
        }
        Some(c) if c.trusted => Access::Admin,
        _ => Access::Untrusted,
    };
    if let Access::Restricted(projects) = &access {
        let path = req.uri().path().trim_end_matches('/').to_string();
        let query = req.uri().query().unwrap_or("");
        let project = url_query_value(query, "project")
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "default".to_string());
        let every = url_query_value(query, "all-projects")
            .is_some_and(|v| incus_api::keys::parse_bool(&v).unwrap_or(false));
        let verdict =
            crate::restrict::allows(req.method().as_str(), &path, &project, every, projects);
        let verdict = match verdict {
            Ok(crate::restrict::Verdict::AllowIfOwn(feature)) => {
                let p = project.clone();
                match core(move |ctx| incus_core::project::feature_owner(ctx, &p, feature)).await
                {
                    Ok(owner) if owner == project => Ok(()),
                    Ok(_) => Err(Error::forbidden(format!(
                        "The project \"{project}\" has {feature}=false: its objects are the default project's"
                    ))),
                    Err(e) => Err(e),
                }
            }
            Ok(crate::restrict::Verdict::Allow) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = verdict {
            return ApiError(e).into_response();
        }
        let allowed = projects.clone();
        return crate::app::RESTRICTED
            .scope(Some(allowed), next.run(req))
            .await;
    }
    if access != Access::Admin {
        let path = req.uri().path().trim_end_matches('/');
        let method = req.method().as_str();
        let open = match (method, path) {
            ("GET", "") | ("GET", "/1.0") => true,
            ("POST", "/1.0/certificates") => access == Access::Untrusted,
            (_, "/1.0/metrics") => access == Access::Metrics,
            _ => false,
        };
        if !open {
            return ApiError(Error::forbidden("not authorized")).into_response();
        }
    }
    next.run(req).await
}

/// Rejections of axum's extractors (body too large, bad query, not a websocket
/// request) are plain text; clients expect the error envelope for every failure.
async fn envelope_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !status.is_client_error() && !status.is_server_error() || is_json {
        return resp;
    }
    let text = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let mut body = incus_api::Response::error(&Error::invalid(message));
    body.error_code = status.as_u16() as i32;
    json_response(status, &body)
}

/// The async envelope of a new operation (202 with `Location`).
pub fn async_response(op: &Op) -> ApiResult {
    async_envelope(&op.snapshot())
}

/// The async envelope of an operation object.
pub fn async_envelope(op: &incus_api::Operation) -> ApiResult {
    let url = format!("/1.0/operations/{}", op.id);
    let body = serde_json::json!({
        "type": "async",
        "status": "Operation created",
        "status_code": 100,
        "operation": url,
        "error_code": 0,
        "error": "",
        "metadata": op,
    });
    let mut r = json_response(StatusCode::ACCEPTED, &body);
    if let Ok(h) = HeaderValue::from_str(&url) {
        r.headers_mut().insert(header::LOCATION, h);
    }
    Ok(r)
}

/// A join token as upstream shows it: a running operation of class `token` (ours
/// live in the database, so tokens made by `incus-trust` are listed too).
pub fn token_operation(id: &str, t: &incus_core::trust::JoinToken) -> incus_api::Operation {
    incus_api::Operation {
        id: id.to_string(),
        class: "token".into(),
        description: "Certificate add token".into(),
        created_at: incus_api::ZERO_TIME.into(),
        updated_at: incus_api::ZERO_TIME.into(),
        status: "Running".into(),
        status_code: crate::ops::RUNNING,
        resources: Default::default(),
        metadata: Some(serde_json::json!({
            "request": {"name": t.client_name, "type": "client"},
            "secret": t.secret,
            "fingerprint": t.fingerprint,
            "addresses": t.addresses,
            "expiresAt": t.expires_at,
        })),
        may_cancel: true,
        err: String::new(),
        location: "none".into(),
    }
}

/// Runs `f` as a task operation and answers with the async envelope at once.
pub fn run_task<F>(app: &AppRef, spec: OpSpec, f: F) -> ApiResult
where
    F: FnOnce(&Context) -> Result<()> + Send + 'static,
{
    let op = app.ops.create(spec);
    let running: Arc<Op> = op.clone();
    crate::app::spawn_in_project(async move {
        let result = core(f).await;
        running.finish(result);
    });
    async_response(&op)
}

/// A URL list (`recursion=0`) from names under `prefix`.
pub fn urls(prefix: &str, names: impl IntoIterator<Item = String>) -> Vec<String> {
    names
        .into_iter()
        .map(|n| format!("{prefix}/{}", encode(&n)))
        .collect()
}

/// Percent-encodes a path segment (names are restricted, aliases may hold anything).
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
