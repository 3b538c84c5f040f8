//! `/1.0/networks`: list, create, one, update, rename, delete, state, leases. All
//! sync, as upstream.

use super::urls;
use crate::app::{
    check_project, core, created, empty, parse_body, recursion, sync, sync_etag, ApiResult, AppRef,
    Query,
};
use axum::body::Bytes;
use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use incus_api::{Config, Error, NetworkPut};
use incus_core::network;
use serde::Deserialize;

pub fn routes() -> Router<AppRef> {
    Router::new()
        .route("/1.0/networks", get(list).post(create))
        .route(
            "/1.0/networks/{name}",
            get(one).put(put).patch(patch).post(rename).delete(delete),
        )
        .route("/1.0/networks/{name}/state", get(state))
        .route("/1.0/networks/{name}/leases", get(leases))
}

async fn list(q: Query) -> ApiResult {
    check_project(&q)?;
    let all = core(network::list).await?;
    if recursion(&q) > 0 {
        sync(all)
    } else {
        sync(urls("/1.0/networks", all.into_iter().map(|n| n.name)))
    }
}

#[derive(Deserialize)]
struct NetworksPost {
    name: String,
    #[serde(default, rename = "type")]
    network_type: String,
    #[serde(default, deserialize_with = "crate::app::null_default")]
    config: Config,
    #[serde(default)]
    description: String,
}

async fn create(q: Query, body: Bytes) -> ApiResult {
    check_project(&q)?;
    let post: NetworksPost = parse_body(&body)?;
    // Upstream's default type.
    let ntype = if post.network_type.is_empty() {
        "bridge".to_string()
    } else {
        post.network_type
    };
    let name = post.name.clone();
    core(move |ctx| network::create(ctx, &post.name, &ntype, post.config, &post.description))
        .await?;
    created(&format!("/1.0/networks/{name}"))
}

async fn one(Path(name): Path<String>, q: Query) -> ApiResult {
    check_project(&q)?;
    sync_etag(core(move |ctx| network::get(ctx, &name)).await?)
}

async fn put(Path(name): Path<String>, q: Query, body: Bytes) -> ApiResult {
    check_project(&q)?;
    let mut put: NetworkPut = parse_body(&body)?;
    // An empty value is no value (upstream stores none; `network unset` sends one).
    put.config.retain(|_, v| !v.is_empty());
    core(move |ctx| network::update(ctx, &name, put)).await?;
    empty()
}

/// PATCH merges config keys (an empty value unsets) and the description.
async fn patch(Path(name): Path<String>, q: Query, body: Bytes) -> ApiResult {
    check_project(&q)?;
    let patch: serde_json::Value = parse_body(&body)?;
    let mut config = Config::new();
    let (mut devices, mut description) = (Default::default(), String::new());
    incus_core::patch::merge(&mut config, &mut devices, &mut description, &patch)?;
    let has_description = patch.get("description").is_some();
    core(move |ctx| {
        if !config.is_empty() {
            network::set_keys(ctx, &name, &config)?;
        }
        if has_description {
            let mut put = NetworkPut::from(&network::get(ctx, &name)?);
            put.description = description;
            network::update(ctx, &name, put)?;
        }
        Ok(())
    })
    .await?;
    empty()
}

#[derive(Deserialize)]
struct NetworkPost {
    #[serde(default)]
    name: String,
}

async fn rename(Path(name): Path<String>, q: Query, body: Bytes) -> ApiResult {
    check_project(&q)?;
    let post: NetworkPost = parse_body(&body)?;
    if post.name.is_empty() {
        return Err(Error::invalid("A new name is required").into());
    }
    let new = post.name.clone();
    core(move |ctx| network::rename(ctx, &name, &post.name)).await?;
    created(&format!("/1.0/networks/{new}"))
}

async fn delete(Path(name): Path<String>, q: Query) -> ApiResult {
    check_project(&q)?;
    core(move |ctx| network::delete(ctx, &name)).await?;
    empty()
}

async fn state(Path(name): Path<String>, q: Query) -> ApiResult {
    check_project(&q)?;
    sync(core(move |ctx| network::state(ctx, &name)).await?)
}

async fn leases(Path(name): Path<String>, q: Query) -> ApiResult {
    check_project(&q)?;
    sync(core(move |ctx| network::leases(ctx, &name)).await?)
}
