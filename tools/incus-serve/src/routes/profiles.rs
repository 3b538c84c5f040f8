//! `/1.0/profiles`.

use super::urls;
use crate::app::{
    check_project, core, created, empty, parse_body, recursion, sync, sync_etag, ApiResult, AppRef,
    Query,
};
use axum::body::Bytes;
use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use incus_api::ProfilePut;
use incus_core::profile;
use serde::Deserialize;

pub fn routes() -> Router<AppRef> {
    Router::new()
        .route("/1.0/profiles", get(list).post(create))
        .route(
            "/1.0/profiles/{name}",
            get(one).put(put).patch(patch).post(rename).delete(delete),
        )
}

async fn list(q: Query) -> ApiResult {
    check_project(&q)?;
    let all = core(profile::list).await?;
    if recursion(&q) > 0 {
        sync(all)
    } else {
        sync(urls("/1.0/profiles", all.into_iter().map(|p| p.name)))
    }
}

#[derive(Deserialize)]
struct ProfilesPost {
    name: String,
    #[serde(flatten)]
    put: ProfilePut,
}

async fn create(q: Query, body: Bytes) -> ApiResult {
    check_project(&q)?;
    let post: ProfilesPost = parse_body(&body)?;
    let name = post.name.clone();
    core(move |ctx| profile::create(ctx, &post.name, post.put)).await?;
    created(&format!("/1.0/profiles/{name}"))
}

async fn one(Path(name): Path<String>, q: Query) -> ApiResult {
    check_project(&q)?;
    sync_etag(core(move |ctx| profile::get(ctx, &name)).await?)
}

async fn put(Path(name): Path<String>, q: Query, body: Bytes) -> ApiResult {
    check_project(&q)?;
    let put: ProfilePut = parse_body(&body)?;
    core(move |ctx| profile::update(ctx, &name, put)).await?;
    empty()
}

/// PATCH merges config keys and devices into the profile.
async fn patch(Path(name): Path<String>, q: Query, body: Bytes) -> ApiResult {
    check_project(&q)?;
    let patch: serde_json::Value = parse_body(&body)?;
    core(move |ctx| {
        profile::modify(ctx, &name, |put| {
            incus_core::patch::merge(
                &mut put.config,
                &mut put.devices,
                &mut put.description,
                &patch,
            )
        })
        .map(|_| ())
    })
    .await?;
    empty()
}

#[derive(Deserialize)]
struct NamePost {
    name: String,
}

async fn rename(Path(name): Path<String>, q: Query, body: Bytes) -> ApiResult {
    check_project(&q)?;
    let post: NamePost = parse_body(&body)?;
    let new = post.name.clone();
    core(move |ctx| profile::rename(ctx, &name, &post.name)).await?;
    created(&format!("/1.0/profiles/{new}"))
}

async fn delete(Path(name): Path<String>, q: Query) -> ApiResult {
    check_project(&q)?;
    core(move |ctx| profile::delete(ctx, &name)).await?;
    empty()
}
