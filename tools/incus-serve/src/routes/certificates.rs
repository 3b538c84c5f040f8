//! `/1.0/certificates`: the trust store, and join tokens redeemed by new clients.

use super::urls;
use crate::app::{
    core, created, empty, parse_body, recursion, sync, sync_etag, ApiResult, AppRef, Caller, Query,
};
use axum::body::Bytes;
use axum::extract::Path;
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

async fn add(Extension(caller): Extension<Caller>, body: Bytes) -> ApiResult {
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
        // A new client adds the certificate it presented on this connection.
        let der = caller
            .cert_der
            .clone()
            .ok_or_else(|| Error::forbidden("A join token needs a TLS client certificate"))?;
        let token = post.trust_token.clone();
        let cert = core(move |ctx| trust::token_redeem(ctx, &token, &der)).await?;
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
