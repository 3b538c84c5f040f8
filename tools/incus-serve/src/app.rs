//! Shared state of the server, the response envelopes, and the bridge to `incus_core`
//! (synchronous calls on a blocking thread with a per-thread [`Context`]).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use incus_api::{Error, Result};
use incus_core::Context;
use serde::Serialize;
use std::cell::RefCell;
use std::sync::Arc;

use crate::ops::Ops;

/// What the handlers share.
pub struct App {
    pub ops: Ops,
    /// Events (`operation` from this server, `lifecycle` tailed from the table).
    pub events: tokio::sync::broadcast::Sender<serde_json::Value>,
    /// The `incus-instance` binary exec is delegated to (it forks: see incus-runtime).
    pub instance_tool: std::path::PathBuf,
    /// PEM of the HTTPS server certificate, once generated.
    pub server_cert: std::sync::Mutex<Option<String>>,
    /// The HTTPS listener's address as bound (`environment.addresses`).
    pub https_addresses: std::sync::Mutex<Vec<String>>,
    /// Join-token attempts per source address.
    pub token_limiter: crate::limit::TokenLimiter,
}

pub type AppRef = Arc<App>;

/// Who is calling: the unix socket is trusted; HTTPS callers by certificate fingerprint.
#[derive(Debug, Clone)]
pub struct Caller {
    pub trusted: bool,
    pub protocol: &'static str,
    /// SHA-256 of the client certificate (DER), hex, when one was presented.
    pub fingerprint: Option<String>,
    /// The client certificate (DER) as presented.
    pub cert_der: Option<Vec<u8>>,
    /// The peer's address (HTTPS).
    pub addr: Option<std::net::IpAddr>,
}

tokio::task_local! {
    /// The project of the request being served (`?project=`), set by
    /// `routes::project_scope` around every handler; `core` acts in it.
    pub static PROJECT: String;
    /// The projects of a restricted caller (None: not restricted), set by the guard.
    pub static RESTRICTED: Option<Vec<String>>;
}

/// The projects a restricted caller may see (None outside a restricted request).
pub fn restricted_projects() -> Option<Vec<String>> {
    RESTRICTED.try_with(|r| r.clone()).ok().flatten()
}

/// The request's project (`default` outside a request).
pub fn current_project() -> String {
    PROJECT
        .try_with(|p| p.clone())
        .unwrap_or_else(|_| "default".to_string())
}

/// `tokio::spawn` keeping the request's project (operations finishing after the
/// answer act in the project they were asked in).
pub fn spawn_in_project<F>(fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(PROJECT.scope(current_project(), fut))
}

thread_local! {
    static CTX: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// Runs a core call on a blocking thread; each blocking thread keeps its own
/// [`Context`] (and so its own database handle) across calls.
pub async fn core<T, F>(f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Context) -> Result<T> + Send + 'static,
{
    let project = current_project();
    tokio::task::spawn_blocking(move || {
        CTX.with(|slot| {
            let mut slot = slot.borrow_mut();
            if slot.is_none() {
                *slot = Some(Context::from_env()?);
            }
            let ctx = slot.as_mut().expect("set above");
            if ctx.project != project || project != "default" {
                // Re-read each time outside default: features may have changed.
                ctx.set_project(&project)?;
            }
            f(ctx)
        })
    })
    .await
    .map_err(|e| Error::internal(format!("Worker failed: {e}")))?
}

/// An error answered with upstream's error envelope and the matching HTTP status.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.kind.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json_response(status, &incus_api::Response::error(&self.0))
    }
}

pub type ApiResult = std::result::Result<Response, ApiError>;

pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut r = (status, bytes).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A sync answer around `metadata`, serialised straight into `incus_api::Response`'s
/// shape (same fields, same order): going through a `serde_json::Value` first cost more
/// than reading the state of the 200 instances of a full list.
pub fn sync<T: Serialize>(metadata: T) -> ApiResult {
    #[derive(Serialize)]
    struct Sync<T> {
        #[serde(rename = "type")]
        response_type: &'static str,
        status: &'static str,
        status_code: i32,
        operation: &'static str,
        error_code: i32,
        error: &'static str,
        metadata: T,
    }
    let body = serde_json::to_vec(&Sync {
        response_type: "sync",
        status: "Success",
        status_code: 200,
        operation: "",
        error_code: 0,
        error: "",
        metadata,
    })
    .map_err(|e| Error::internal(e.to_string()))?;
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// A sync answer with an `ETag` header (single objects, as upstream).
pub fn sync_etag<T: Serialize>(metadata: T) -> ApiResult {
    let v = serde_json::to_value(&metadata).map_err(|e| Error::internal(e.to_string()))?;
    let etag = etag_of(&v);
    let mut r = json_response(StatusCode::OK, &incus_api::Response::sync(v));
    if let Ok(h) = HeaderValue::from_str(&format!("\"{etag}\"")) {
        r.headers_mut().insert(header::ETAG, h);
    }
    Ok(r)
}

/// A sync answer with no metadata (`{}` as upstream's EmptySyncResponse).
pub fn empty() -> ApiResult {
    sync(serde_json::json!({}))
}

/// A 201 with a `Location` header (creates that do not run as operations).
pub fn created(location: &str) -> ApiResult {
    let mut r = json_response(
        StatusCode::CREATED,
        &incus_api::Response::sync(serde_json::json!({})),
    );
    if let Ok(h) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, h);
    }
    Ok(r)
}

fn etag_of(v: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

/// Parses a JSON body into `T`, refusing malformed JSON with a 400 and a message.
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| Error::invalid(format!("Invalid request body: {e}")))
}

/// `recursion` of a query (0 when absent or not a number).
pub fn recursion(q: &std::collections::HashMap<String, String>) -> u8 {
    q.get("recursion").and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Refuses projects other than `default`, as the tools do.
pub fn check_project(_q: &std::collections::HashMap<String, String>) -> Result<()> {
    // `?project=` is applied to every core call by `routes::project_scope`; a project
    // that does not exist fails there with NotFound.
    Ok(())
}

/// `?all-projects=true`.
pub fn all_projects(q: &std::collections::HashMap<String, String>) -> bool {
    q.get("all-projects")
        .is_some_and(|v| incus_api::keys::parse_bool(v).unwrap_or(false))
}

pub type Query = axum::extract::Query<std::collections::HashMap<String, String>>;

/// Null reads as the default (defined once, with the wire types).
pub use incus_api::null_default;
