//! `/1.0/projects`: list, create, get, replace, merge, rename, delete, state.

use super::urls;
use crate::app::{
    core, created, empty, parse_body, recursion, sync, sync_etag, ApiResult, AppRef, Query,
};
use crate::ops::OpSpec;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use incus_api::Config;
use incus_core::project;
use serde::Deserialize;

pub fn routes() -> Router<AppRef> {
    Router::new()
        .route("/1.0/projects", get(list).post(create))
        .route(
            "/1.0/projects/{name}",
            get(one).put(put).patch(patch).post(rename).delete(delete),
        )
        .route("/1.0/projects/{name}/state", get(state))
}

async fn list(q: Query) -> ApiResult {
    let mut all = core(project::list).await?;
    if let Some(allowed) = crate::app::restricted_projects() {
        all.retain(|p| allowed.contains(&p.name));
    }
    if recursion(&q) > 0 {
        sync(all)
    } else {
        sync(urls("/1.0/projects", all.into_iter().map(|p| p.name)))
    }
}

#[derive(Deserialize)]
struct ProjectsPost {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default, deserialize_with = "crate::app::null_default")]
    config: Config,
}

async fn create(body: Bytes) -> ApiResult {
    let post: ProjectsPost = parse_body(&body)?;
    let name = post.name.clone();
    core(move |ctx| project::create(ctx, &post.name, &post.description, post.config)).await?;
    created(&format!("/1.0/projects/{}", super::encode(&name)))
}

async fn one(Path(name): Path<String>) -> ApiResult {
    sync_etag(core(move |ctx| project::get(ctx, &name)).await?)
}

#[derive(Deserialize)]
struct ProjectPut {
    #[serde(default)]
    description: String,
    #[serde(default, deserialize_with = "crate::app::null_default")]
    config: Config,
}

async fn put(Path(name): Path<String>, body: Bytes) -> ApiResult {
    let put: ProjectPut = parse_body(&body)?;
    core(move |ctx| project::update(ctx, &name, &put.description, put.config)).await?;
    empty()
}

/// PATCH: the keys sent replace theirs, the description when sent.
async fn patch(Path(name): Path<String>, body: Bytes) -> ApiResult {
    let patch: serde_json::Value = parse_body(&body)?;
    core(move |ctx| {
        let cur = project::get(ctx, &name)?;
        let mut config = cur.config;
        let mut devices = incus_api::Devices::new();
        let mut description = cur.description;
        incus_core::patch::merge(&mut config, &mut devices, &mut description, &patch)?;
        project::update(ctx, &name, &description, config).map(drop)
    })
    .await?;
    empty()
}

#[derive(Deserialize)]
struct RenamePost {
    name: String,
}

/// Rename: an operation, as upstream.
async fn rename(State(app): State<AppRef>, Path(name): Path<String>, body: Bytes) -> ApiResult {
    let post: RenamePost = parse_body(&body)?;
    let url = format!("/1.0/projects/{}", super::encode(&name));
    super::run_task(
        &app,
        OpSpec::task("Renaming project", &[("projects", url)]),
        move |ctx| project::rename(ctx, &name, &post.name).map(drop),
    )
}

async fn delete(Path(name): Path<String>) -> ApiResult {
    core(move |ctx| project::delete(ctx, &name)).await?;
    empty()
}

async fn state(Path(name): Path<String>) -> ApiResult {
    let resources = core(move |ctx| project::state(ctx, &name)).await?;
    sync(serde_json::json!({ "resources": resources }))
}
