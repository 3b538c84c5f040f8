//! `/1.0/instances/NAME/snapshots`, restore (`PUT /1.0/instances/NAME` with
//! `restore`) and copies (`POST /1.0/instances` with `source.type=copy`). Writes run
//! as operations, as upstream.

use super::{run_task, urls};
use crate::app::{check_project, core, parse_body, recursion, sync, sync_etag, ApiResult, AppRef};
use crate::app::{null_default, Query};
use crate::ops::OpSpec;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use incus_api::{Error, InstancesPost};
use incus_core::copy::{self, CopyOptions};
use incus_core::{instance, snapshot};
use serde::Deserialize;

pub fn routes() -> Router<AppRef> {
    Router::new()
        .route("/1.0/instances/{name}/snapshots", get(list).post(create))
        .route(
            "/1.0/instances/{name}/snapshots/{snap}",
            get(one)
                .put(update)
                .patch(update)
                .post(rename)
                .delete(delete),
        )
}

fn url(inst: &str, snap: &str) -> String {
    format!("/1.0/instances/{inst}/snapshots/{snap}")
}

fn resources(inst: &str, snap: Option<&str>) -> Vec<(&'static str, String)> {
    let mut r = vec![("instances", format!("/1.0/instances/{inst}"))];
    if let Some(s) = snap {
        r.push(("instances_snapshots", url(inst, s)));
    }
    r
}

async fn list(Path(name): Path<String>, q: Query) -> ApiResult {
    check_project(&q)?;
    let n = name.clone();
    let all = core(move |ctx| snapshot::list(ctx, &n)).await?;
    if recursion(&q) > 0 {
        sync(all)
    } else {
        let prefix = format!("/1.0/instances/{name}/snapshots");
        sync(urls(&prefix, all.into_iter().map(|s| s.name)))
    }
}

#[derive(Deserialize)]
struct SnapshotsPost {
    #[serde(default)]
    name: String,
    #[serde(default)]
    stateful: bool,
    #[serde(default, deserialize_with = "null_default")]
    expires_at: String,
    #[serde(default)]
    description: String,
}

async fn create(
    State(app): State<AppRef>,
    Path(name): Path<String>,
    q: Query,
    body: Bytes,
) -> ApiResult {
    check_project(&q)?;
    let post: SnapshotsPost = parse_body(&body)?;
    let snap = (!post.name.is_empty()).then(|| post.name.clone());
    if let Some(s) = &snap {
        incus_core::names::validate_snapshot_name(s)?;
    }
    // Fail fast on a missing instance (404) or a taken name (409) rather than a
    // failed operation.
    let (n, s) = (name.clone(), snap.clone());
    core(move |ctx| {
        instance::get_row(ctx, &n)?;
        match s {
            Some(s) if snapshot::get(ctx, &n, &s).is_ok() => Err(Error::conflict(format!(
                "Snapshot \"{s}\" of instance \"{n}\" already exists"
            ))),
            _ => Ok(()),
        }
    })
    .await?;
    let opts = snapshot::CreateOptions {
        name: snap.clone(),
        stateful: post.stateful,
        // An explicit expiry replaces `snapshots.expiry`.
        no_expiry: !post.expires_at.is_empty(),
        reuse: false,
        description: post.description,
    };
    let expires_at = post.expires_at;
    run_task(
        &app,
        OpSpec::task("Snapshotting instance", &resources(&name, snap.as_deref())),
        move |ctx| {
            let s = snapshot::create(ctx, &name, opts)?;
            // The zero time (`--no-expiry`) is what `no_expiry` already gave.
            if !expires_at.is_empty() && !expires_at.starts_with("0001-01-01") {
                snapshot::update(ctx, &name, &s.name, &expires_at, &s.description)?;
            }
            Ok(())
        },
    )
}

async fn one(Path((name, snap)): Path<(String, String)>, q: Query) -> ApiResult {
    check_project(&q)?;
    sync_etag(core(move |ctx| snapshot::get(ctx, &name, &snap)).await?)
}

#[derive(Deserialize)]
struct SnapshotPut {
    #[serde(default, deserialize_with = "null_default")]
    expires_at: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// PUT and PATCH both set the expiry (the only writable field upstream has, with
/// the description); absent fields keep their value. Async, as upstream.
async fn update(
    State(app): State<AppRef>,
    Path((name, snap)): Path<(String, String)>,
    q: Query,
    body: Bytes,
) -> ApiResult {
    check_project(&q)?;
    let put: SnapshotPut = parse_body(&body)?;
    let (n, s) = (name.clone(), snap.clone());
    let cur = core(move |ctx| snapshot::get(ctx, &n, &s)).await?;
    let expires_at = put.expires_at.unwrap_or(cur.expires_at);
    let description = put.description.unwrap_or(cur.description);
    // Done before answering so that a bad time is a 400, as upstream's decoding;
    // clients still get the operation they wait on.
    let (n, s) = (name.clone(), snap.clone());
    core(move |ctx| snapshot::update(ctx, &n, &s, &expires_at, &description)).await?;
    run_task(
        &app,
        OpSpec::task("Updating snapshot", &resources(&name, Some(&snap))),
        |_| Ok(()),
    )
}

#[derive(Deserialize)]
struct SnapshotPost {
    #[serde(default)]
    name: String,
    #[serde(default)]
    migration: bool,
}

async fn rename(
    State(app): State<AppRef>,
    Path((name, snap)): Path<(String, String)>,
    q: Query,
    body: Bytes,
) -> ApiResult {
    check_project(&q)?;
    let post: SnapshotPost = parse_body(&body)?;
    if post.migration {
        return Err(Error::unsupported("Migration is not supported yet").into());
    }
    if post.name.is_empty() {
        return Err(Error::invalid("A new name is required").into());
    }
    incus_core::names::validate_snapshot_name(&post.name)?;
    let (n, s) = (name.clone(), snap.clone());
    core(move |ctx| snapshot::get(ctx, &n, &s).map(|_| ())).await?;
    run_task(
        &app,
        OpSpec::task("Renaming snapshot", &resources(&name, Some(&snap))),
        move |ctx| snapshot::rename(ctx, &name, &snap, &post.name),
    )
}

async fn delete(
    State(app): State<AppRef>,
    Path((name, snap)): Path<(String, String)>,
    q: Query,
) -> ApiResult {
    check_project(&q)?;
    let (n, s) = (name.clone(), snap.clone());
    core(move |ctx| snapshot::get(ctx, &n, &s).map(|_| ())).await?;
    run_task(
        &app,
        OpSpec::task("Deleting snapshot", &resources(&name, Some(&snap))),
        move |ctx| snapshot::delete(ctx, &name, &[snap]),
    )
}

/// `PUT /1.0/instances/NAME` with `{"restore": SNAP}` (async).
pub fn restore(app: &AppRef, name: String, raw: &serde_json::Value) -> ApiResult {
    // Clients send `INST/SNAP` or `SNAP`, as upstream accepts.
    let full = raw["restore"].as_str().unwrap_or_default();
    let snap = match full.split_once('/') {
        Some((i, s)) if i == name => s.to_string(),
        Some(_) => {
            return Err(Error::invalid(format!(
                "Snapshot \"{full}\" is not a snapshot of instance \"{name}\""
            ))
            .into())
        }
        None => full.to_string(),
    };
    let stateful = raw["stateful"].as_bool().unwrap_or(false);
    run_task(
        app,
        OpSpec::task("Restoring snapshot", &resources(&name, Some(&snap))),
        move |ctx| snapshot::restore(ctx, &name, &snap, stateful),
    )
}

/// `POST /1.0/instances` with `source.type=copy` (`source.source` is `INST` or
/// `INST/SNAP`). Volatile keys of the source that clients echo back are dropped:
/// the copy gets its own.
pub async fn copy_instance(app: &AppRef, post: InstancesPost) -> ApiResult {
    if post.name.is_empty() {
        return Err(Error::invalid("A name is required for a copy").into());
    }
    incus_core::names::validate_instance_name(&post.name)?;
    if !post.source.server.is_empty() {
        return Err(Error::unsupported("Copies from remote servers are not supported yet").into());
    }
    let (source, source_snapshot) = match post.source.source.split_once('/') {
        Some((i, s)) => (i.to_string(), Some(s.to_string())),
        None => (post.source.source.clone(), None),
    };
    if source.is_empty() {
        return Err(Error::invalid("A copy needs a source instance").into());
    }
    // Fail fast on a missing source (404) or a taken target (409), as upstream.
    let (src, snap, target) = (source.clone(), source_snapshot.clone(), post.name.clone());
    let src_pool = core(move |ctx| {
        let row = instance::get_row(ctx, &src)?;
        if let Some(s) = &snap {
            snapshot::get(ctx, &src, s)?;
        }
        if instance::get_row(ctx, &target).is_ok() {
            return Err(Error::conflict(format!(
                "Instance \"{target}\" already exists"
            )));
        }
        Ok(row.pool)
    })
    .await?;
    // `copy -s POOL` arrives as the root disk's pool among the devices the client
    // echoes; other devices stay the source's, as `copy::copy` keeps them.
    let pool = post
        .devices
        .values()
        .find(|d| {
            d.get("type").map(String::as_str) == Some("disk")
                && d.get("path").map(String::as_str) == Some("/")
        })
        .and_then(|d| d.get("pool"))
        .filter(|p| !p.is_empty() && **p != src_pool)
        .cloned();
    let config = post
        .config
        .into_iter()
        .filter(|(k, _)| !k.starts_with("volatile."))
        .collect();
    let opts = CopyOptions {
        source,
        source_snapshot,
        target: post.name.clone(),
        instance_only: post.source.instance_only,
        ephemeral: post.ephemeral,
        config,
        profiles: post.profiles,
        pool,
        keep_identity: false,
    };
    let start = post.start;
    let target = format!("/1.0/instances/{}", post.name);
    run_task(
        app,
        OpSpec::task("Creating instance", &[("instances", target)]),
        move |ctx| {
            let inst = copy::copy(ctx, opts)?;
            if start {
                incus_core::lifecycle::start(ctx, &inst.name)?;
            }
            Ok(())
        },
    )
}
