//! `/1.0/storage-pools` (volumes are in `volumes.rs`).

use super::urls;
use crate::app::{
    check_project, core, created, empty, parse_body, recursion, sync, sync_etag, ApiResult, AppRef,
    Query,
};
use axum::body::Bytes;
use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use incus_api::{Config, StoragePoolPut};
use incus_core::storage;
use serde::Deserialize;

pub fn routes() -> Router<AppRef> {
    Router::new()
        .route("/1.0/storage-pools", get(list).post(create))
        .route(
            "/1.0/storage-pools/{name}",
            get(one).put(put).patch(patch).delete(delete),
        )
        .route("/1.0/storage-pools/{name}/resources", get(resources))
}

async fn list(q: Query) -> ApiResult {
    check_project(&q)?;
    let all = core(storage::pool_list).await?;
    if recursion(&q) > 0 {
        let mut all = all;
        for_restricted(&mut all);
        sync(all)
    } else {
        sync(urls("/1.0/storage-pools", all.into_iter().map(|p| p.name)))
    }
}

#[derive(Deserialize)]
struct PoolsPost {
    name: String,
    driver: String,
    #[serde(default, deserialize_with = "crate::app::null_default")]
    config: Config,
    #[serde(default)]
    description: String,
}

async fn create(body: Bytes) -> ApiResult {
    let post: PoolsPost = parse_body(&body)?;
    let name = post.name.clone();
    core(move |ctx| {
        storage::pool_create(
            ctx,
            &post.name,
            &post.driver,
            post.config,
            &post.description,
        )
    })
    .await?;
    created(&format!("/1.0/storage-pools/{name}"))
}

async fn one(Path(name): Path<String>) -> ApiResult {
    let mut pool = core(move |ctx| storage::pool_get(ctx, &name)).await?;
    for_restricted(std::slice::from_mut(&mut pool));
    sync_etag(pool)
}

async fn put(Path(name): Path<String>, body: Bytes) -> ApiResult {
    let put: StoragePoolPut = parse_body(&body)?;
    core(move |ctx| storage::pool_update(ctx, &name, put.config, &put.description)).await?;
    empty()
}

async fn patch(Path(name): Path<String>, body: Bytes) -> ApiResult {
    let patch: serde_json::Value = parse_body(&body)?;
    // Config keys merge under the pool lock (an empty value unsets, as upstream).
    let mut config = Config::new();
    let (mut devices, mut description) = (Default::default(), String::new());
    incus_core::patch::merge(&mut config, &mut devices, &mut description, &patch)?;
    core(move |ctx| storage::pool_set_keys(ctx, &name, &config).map(|_| ())).await?;
    empty()
}

async fn delete(Path(name): Path<String>) -> ApiResult {
    core(move |ctx| storage::pool_delete(ctx, &name)).await?;
    empty()
}

async fn resources(Path(name): Path<String>) -> ApiResult {
    sync(core(move |ctx| storage::pool_resources(ctx, &name)).await?)
}

/// A restricted caller sees a pool's name, driver and status: not its config (host
/// paths) nor what uses it (other projects' objects).
fn for_restricted(pools: &mut [incus_api::StoragePool]) {
    if crate::app::restricted_projects().is_some() {
        for p in pools {
            p.config.clear();
            p.used_by.clear();
        }
    }
}
