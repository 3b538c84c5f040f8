//! `/1.0/instances`: list, create, one, update, rename, delete, state, logs.

use super::{run_task, urls};
use crate::app::{
    check_project, core, parse_body, recursion, sync, sync_etag, ApiError, ApiResult, AppRef, Query,
};
use crate::ops::OpSpec;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use incus_api::{Error, Instance, InstancePut, InstancesPost, Result};
use incus_core::filter::Filter;
use incus_core::image::ImportOptions;
use incus_core::instance::{self, CreateOptions};
use incus_core::lifecycle;
use serde::Deserialize;
use std::time::Duration;

pub fn routes() -> Router<AppRef> {
    Router::new()
        .route(
            "/1.0/instances",
            get(list)
                .post(super::backups::create_or_import)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/1.0/instances/{name}",
            get(one).put(put).patch(patch).post(rename).delete(delete),
        )
        .route("/1.0/instances/{name}/state", get(state).put(put_state))
        .route("/1.0/instances/{name}/logs", get(logs))
        .route("/1.0/instances/{name}/logs/{file}", get(log_file))
        .route(
            "/1.0/instances/{name}/logs/exec-output/{file}",
            get(exec_output),
        )
        .route(
            "/1.0/instances/{name}/console",
            get(console_log).delete(console_log_clear),
        )
}

fn url(name: &str) -> String {
    format!("/1.0/instances/{name}")
}

async fn list(q: Query) -> ApiResult {
    check_project(&q)?;
    let depth = recursion(&q);
    let filter = q.get("filter").map(|f| Filter::parse(f)).transpose()?;
    let every = crate::app::all_projects(&q);
    let all = core(move |ctx| {
        let one = |c: &incus_core::Context| {
            if depth >= 2 {
                instance::list_full(c)
            } else {
                instance::list(c)
            }
        };
        if every {
            incus_core::project::across(ctx, one)
        } else {
            one(ctx)
        }
    })
    .await?;
    let all: Vec<Instance> = match &filter {
        Some(f) => all.into_iter().filter(|i| f.matches(i)).collect(),
        None => all,
    };
    if depth == 0 {
        sync(
            all.into_iter()
                .map(|i| {
                    let url = urls("/1.0/instances", [i.name]).remove(0);
                    if i.project == "default" {
                        url
                    } else {
                        format!("{url}?project={}", super::encode(&i.project))
                    }
                })
                .collect::<Vec<_>>(),
        )
    } else {
        sync(all)
    }
}

pub(super) async fn create(State(app): State<AppRef>, q: Query, body: Bytes) -> ApiResult {
    check_project(&q)?;
    let post: InstancesPost = parse_body(&body)?;
    incus_core::vm::check_type(&post.instance_type)?;
    let image = match post.source.source_type.as_str() {
        "image" => {
            if !post.source.server.is_empty() && post.source.protocol != "simplestreams" {
                return Err(Error::unsupported(
                    "Images from remote incus servers are not supported yet (simplestreams servers are)",
                )
                .into());
            }
            let name = if !post.source.fingerprint.is_empty() {
                post.source.fingerprint.clone()
            } else if !post.source.alias.is_empty() {
                post.source.alias.clone()
            } else {
                return Err(Error::invalid("Image source needs an alias or a fingerprint").into());
            };
            Some(name)
        }
        "none" | "" => None,
        "copy" => return super::snapshots::copy_instance(&app, post).await,
        // Upstream's other source types exist but are not built here yet (501);
        // anything else is a bad request (400), as upstream answers.
        other @ ("migration" | "conversion") => {
            return Err(
                Error::unsupported(format!("Source type \"{other}\" is not supported yet")).into(),
            )
        }
        other => return Err(Error::invalid(format!("Unknown source type \"{other}\"")).into()),
    };
    let name = (!post.name.is_empty()).then(|| post.name.clone());
    if let Some(n) = &name {
        incus_core::names::validate_instance_name(n)?;
    }
    let resources = name
        .iter()
        .map(|n| ("instances", url(n)))
        .collect::<Vec<_>>();
    let start = post.start;
    // An image of a simplestreams server is pulled into the store first, as upstream.
    let pull = (!post.source.server.is_empty())
        .then(|| (post.source.server.clone(), post.source.certificate.clone()));
    let mut opts = CreateOptions {
        name,
        image,
        profiles: post.profiles,
        config: post.config,
        devices: post.devices,
        pool: None,
        ephemeral: post.ephemeral,
        description: post.description,
        instance_type: post.instance_type,
    };
    run_task(
        &app,
        OpSpec::task("Creating instance", &resources),
        move |ctx| {
            if let (Some((server, cert)), Some(name)) = (&pull, &opts.image) {
                let fp = super::images::pull_simplestreams(
                    ctx,
                    server,
                    cert,
                    name,
                    &ImportOptions::default(),
                )?;
                opts.image = Some(fp);
            }
            if start {
                lifecycle::launch(ctx, opts)?;
            } else {
                instance::create(ctx, opts)?;
            }
            Ok(())
        },
    )
}

async fn one(Path(name): Path<String>, q: Query) -> ApiResult {
    check_project(&q)?;
    let full = recursion(&q) > 0;
    let inst = core(move |ctx| {
        let mut inst = instance::get(ctx, &name)?;
        if full {
            inst.state = Some(lifecycle::state(ctx, &name)?);
            inst.snapshots = Some(incus_core::snapshot::list(ctx, &name)?);
            inst.backups = Some(vec![]);
        }
        Ok(inst)
    })
    .await?;
    sync_etag(inst)
}

/// PUT replaces the writable part, or restores a snapshot (async, as upstream).
async fn put(
    State(app): State<AppRef>,
    Path(name): Path<String>,
    q: Query,
    body: Bytes,
) -> ApiResult {
    check_project(&q)?;
    let raw: serde_json::Value = parse_body(&body)?;
    if raw
        .get("restore")
        .and_then(|r| r.as_str())
        .is_some_and(|r| !r.is_empty())
    {
        return super::snapshots::restore(&app, name, &raw);
    }
    let put: InstancePut = parse_body(&body)?;
    run_task(
        &app,
        OpSpec::task("Updating instance", &[("instances", url(&name))]),
        move |ctx| instance::update(ctx, &name, put).map(|_| ()),
    )
}

/// PATCH merges config keys and devices (sync, as upstream).
async fn patch(Path(name): Path<String>, q: Query, body: Bytes) -> ApiResult {
    check_project(&q)?;
    let patch: serde_json::Value = parse_body(&body)?;
    core(move |ctx| instance::patch(ctx, &name, &patch).map(|_| ())).await?;
    crate::app::empty()
}

#[derive(Deserialize)]
struct InstancePost {
    #[serde(default)]
    name: String,
    #[serde(default)]
    migration: bool,
    /// A local move to another storage pool (`instance_pool_move`).
    #[serde(default)]
    pool: String,
    #[serde(default)]
    project: String,
}

async fn rename(
    State(app): State<AppRef>,
    Path(name): Path<String>,
    q: Query,
    body: Bytes,
) -> ApiResult {
    check_project(&q)?;
    let post: InstancePost = parse_body(&body)?;
    if post.migration && !post.pool.is_empty() && post.project.is_empty() {
        let new_name = if post.name.is_empty() {
            name.clone()
        } else {
            post.name.clone()
        };
        // An unknown instance or pool is a 404 at once, not a failed operation.
        let (n, p) = (name.clone(), post.pool.clone());
        core(move |ctx| {
            instance::get_row(ctx, &n)?;
            incus_core::storage::pool_get(ctx, &p).map(drop)
        })
        .await?;
        return run_task(
            &app,
            OpSpec::task("Moving instance", &[("instances", url(&name))]),
            move |ctx| incus_core::copy::move_instance(ctx, &name, &new_name, Some(&post.pool)),
        );
    }
    if post.migration || !post.project.is_empty() {
        return Err(Error::unsupported(
            "Migration to another server or project is not supported yet",
        )
        .into());
    }
    if post.name.is_empty() {
        return Err(Error::invalid("A new name is required").into());
    }
    run_task(
        &app,
        OpSpec::task("Renaming instance", &[("instances", url(&name))]),
        move |ctx| instance::rename(ctx, &name, &post.name),
    )
}

async fn delete(State(app): State<AppRef>, Path(name): Path<String>, q: Query) -> ApiResult {
    check_project(&q)?;
    // Fail fast on a missing instance (a 404 rather than a failed operation).
    let n = name.clone();
    core(move |ctx| instance::get_row(ctx, &n).map(|_| ())).await?;
    run_task(
        &app,
        OpSpec::task("Deleting instance", &[("instances", url(&name))]),
        move |ctx| instance::delete(ctx, &name),
    )
}

async fn state(Path(name): Path<String>, q: Query) -> ApiResult {
    check_project(&q)?;
    sync(
        core(move |ctx| {
            instance::get_row(ctx, &name)?;
            lifecycle::state(ctx, &name)
        })
        .await?,
    )
}

#[derive(Deserialize)]
struct StatePut {
    action: String,
    #[serde(default = "minus_one")]
    timeout: i64,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    stateful: bool,
}

fn minus_one() -> i64 {
    -1
}

async fn put_state(
    State(app): State<AppRef>,
    Path(name): Path<String>,
    q: Query,
    body: Bytes,
) -> ApiResult {
    check_project(&q)?;
    let st: StatePut = parse_body(&body)?;
    if st.stateful {
        return Err(Error::unsupported(
            "Stateful start/stop needs CRIU, which is not supported on this host",
        )
        .into());
    }
    // The CLI's default -1 means no limit; 0 stops hard, as upstream.
    let timeout = if st.timeout < 0 {
        Duration::from_secs(u64::MAX / 4)
    } else {
        Duration::from_secs(st.timeout as u64)
    };
    let force = st.force || st.timeout == 0;
    let action = st.action.clone();
    let description = match action.as_str() {
        "start" => "Starting instance",
        "stop" => "Stopping instance",
        "restart" => "Restarting instance",
        "freeze" => "Freezing instance",
        "unfreeze" => "Unfreezing instance",
        other => return Err(Error::invalid(format!("Unknown action \"{other}\"")).into()),
    };
    let n = name.clone();
    core(move |ctx| instance::get_row(ctx, &n).map(|_| ())).await?;
    run_task(
        &app,
        OpSpec::task(description, &[("instances", url(&name))]),
        move |ctx| match action.as_str() {
            "start" => lifecycle::start(ctx, &name),
            "stop" => lifecycle::stop(ctx, &name, timeout, force),
            "restart" => lifecycle::restart(ctx, &name, timeout, force),
            "freeze" => lifecycle::freeze(ctx, &name),
            _ => lifecycle::unfreeze(ctx, &name),
        },
    )
}

/// The instance's log directory, listed as upstream (file URLs).
async fn logs(Path(name): Path<String>) -> ApiResult {
    let url = format!("/1.0/instances/{name}/logs");
    let files = core(move |ctx| incus_core::logs::list(ctx, &name)).await?;
    sync(urls(&url, files))
}

async fn log_file(Path((name, file)): Path<(String, String)>) -> Result<Response, ApiError> {
    serve_file(name, None, file).await
}

async fn exec_output(Path((name, file)): Path<(String, String)>) -> Result<Response, ApiError> {
    serve_file(name, Some("exec-output"), file).await
}

/// Serves one plain file of the instance's log directory (`incus_core::logs::read`).
async fn serve_file(
    name: String,
    sub: Option<&'static str>,
    file: String,
) -> Result<Response, ApiError> {
    let data = core(move |ctx| incus_core::logs::read(ctx, &name, sub, &file)).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from(data),
    )
        .into_response())
}

async fn console_log_clear(Path(name): Path<String>, q: Query) -> ApiResult {
    check_project(&q)?;
    core(move |ctx| lifecycle::console_log_clear(ctx, &name)).await?;
    crate::app::empty()
}

async fn console_log(Path(name): Path<String>) -> Result<Response, ApiError> {
    let data = core(move |ctx| lifecycle::console_log(ctx, &name)).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from(data),
    )
        .into_response())
}
