//! `/` and `/1.0`: the server and its config.

use crate::app::{core, empty, parse_body, sync, sync_etag, ApiResult, AppRef, Caller};
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Router};
use incus_api::ServerPut;
use incus_core::server;

pub fn routes() -> Router<AppRef> {
    Router::new()
        .route("/", get(root))
        .route("/1.0", get(get_server).put(put_server).patch(patch_server))
        .route("/1.0/resources", get(resources))
}

async fn resources() -> ApiResult {
    sync(core(|_| incus_core::resources::get()).await?)
}

async fn root() -> ApiResult {
    sync(["/1.0"])
}

async fn get_server(State(app): State<AppRef>, Extension(caller): Extension<Caller>) -> ApiResult {
    let mut info = core(server::info).await?;
    info.environment.certificate = app
        .server_cert
        .lock()
        .expect("cert lock")
        .clone()
        .unwrap_or_default();
    if !info.environment.certificate.is_empty() {
        info.environment.certificate_fingerprint =
            crate::tls::pem_fingerprint(&info.environment.certificate).unwrap_or_default();
    }
    info.environment.addresses = app.https_addresses.lock().expect("addresses lock").clone();
    info.auth_user_method = caller.protocol.into();
    if let Some(fp) = &caller.fingerprint {
        info.auth_user_name = fp.clone();
    }
    if crate::app::restricted_projects().is_some() {
        // A restricted client is trusted, without the server's config (as upstream).
        info.config = Default::default();
        return sync(info);
    }
    if !caller.trusted {
        // Upstream's ServerUntrusted: no config, no environment.
        return sync(serde_json::json!({
            "api_extensions": info.api_extensions,
            "api_status": info.api_status,
            "api_version": info.api_version,
            "auth": "untrusted",
            "public": false,
            "auth_methods": info.auth_methods,
        }));
    }
    sync_etag(info)
}

async fn put_server(body: Bytes) -> ApiResult {
    let put: ServerPut = parse_body(&body)?;
    core(move |ctx| server::replace(ctx, &put.config)).await?;
    empty()
}

async fn patch_server(body: Bytes) -> ApiResult {
    let put: ServerPut = parse_body(&body)?;
    core(move |ctx| server::set_keys(ctx, &put.config)).await?;
    empty()
}

/// `/1.0/projects`.
pub fn project_routes() -> Router<AppRef> {
    crate::routes::projects::routes()
}
