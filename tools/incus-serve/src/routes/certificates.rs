//! `/1.0/certificates`: the trust store, and join tokens redeemed by new clients.

use super::urls;
use crate::app::{
    core, created, empty, json_response, parse_body, recursion, sync, sync_etag, ApiResult, AppRef,
    Caller, Query,
};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Router};
use base64::Engine;
use incus_api::Error;
use incus_core::trust::{self, AddOptions};
use serde::Deserialize;

pub fn routes() -> Router<AppRef> {
    Router::new()
        .route("/1.0/certificates", get(list).post(add))
        .route(
            "/1.0/certificates/{fp}",
            get(one).put(update).patch(update).delete(remove),
        )
}

async fn list(q: Query) -> ApiResult {
    let all = core(trust::list).await?;
    if recursion(&q) > 0 {
        sync(all)
    } else {
        sync(urls(
            "/1.0/certificates",
            all.into_iter().map(|c| c.fingerprint),
        ))
    }
}

async fn one(Path(fp): Path<String>) -> ApiResult {
    sync_etag(core(move |ctx| trust::get(ctx, &fp)).await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CertificatesPost {
    name: String,
    #[serde(rename = "type")]
    cert_type: String,
    certificate: String,
    restricted: bool,
    // Go clients send a nil list as null.
    projects: Option<Vec<String>>,
    description: String,
    token: bool,
    trust_token: String,
    password: String,
}

async fn add(
    State(app): State<AppRef>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> ApiResult {
    let post: CertificatesPost = parse_body(&body)?;
    if !post.password.is_empty() {
        return Err(
            Error::forbidden("Trust passwords were removed upstream: use a join token").into(),
        );
    }
    let opts = AddOptions {
        name: post.name.clone(),
        cert_type: post.cert_type.clone(),
        restricted: post.restricted,
        projects: post.projects.clone().unwrap_or_default(),
        description: post.description.clone(),
    };
    if !post.trust_token.is_empty() {
        if let Some(addr) = caller.addr {
            if let Err(wait) = app.token_limiter.attempt(addr) {
                return Ok(too_many(wait));
            }
        }
        // A new client adds the certificate it presented on this connection.
        let der = caller
            .cert_der
            .clone()
            .ok_or_else(|| Error::forbidden("A join token needs a TLS client certificate"))?;
        let token = post.trust_token.clone();
        let cert = core(move |ctx| trust::token_redeem(ctx, &token, &der)).await?;
        if let Some(addr) = caller.addr {
            app.token_limiter.success(addr);
        }
        return created(&format!("/1.0/certificates/{}", cert.fingerprint));
    }
    if !caller.trusted {
        return Err(Error::forbidden("not authorized").into());
    }
    if post.token {
        let name = post.name.clone();
        let (id, token) = core(move |ctx| trust::token_create(ctx, &name, &opts)).await?;
        return super::async_envelope(&super::token_operation(&id, &token));
    }
    let der = if post.certificate.is_empty() {
        caller
            .cert_der
            .clone()
            .ok_or_else(|| Error::invalid("No certificate given"))?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(post.certificate.trim())
            .map_err(|_| Error::invalid("The certificate is not base64 DER"))?
    };
    let cert = core(move |ctx| trust::add(ctx, &der, &opts)).await?;
    created(&format!("/1.0/certificates/{}", cert.fingerprint))
}

/// 429 with the error envelope and `Retry-After`.
fn too_many(wait: std::time::Duration) -> axum::response::Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut body = incus_api::Response::error(&Error::forbidden(format!(
        "Too many join-token attempts from this address: retry in {secs} s"
    )));
    body.error_code = 429;
    let mut r = json_response(axum::http::StatusCode::TOO_MANY_REQUESTS, &body);
    if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    r
}

async fn update(Path(fp): Path<String>, body: Bytes) -> ApiResult {
    let post: CertificatesPost = parse_body(&body)?;
    let opts = AddOptions {
        name: post.name,
        cert_type: post.cert_type,
        restricted: post.restricted,
        projects: post.projects.unwrap_or_default(),
        description: post.description,
    };
    core(move |ctx| trust::update(ctx, &fp, &opts)).await?;
    empty()
}

async fn remove(Path(fp): Path<String>) -> ApiResult {
    core(move |ctx| trust::remove(ctx, &fp)).await?;
    empty()
}
