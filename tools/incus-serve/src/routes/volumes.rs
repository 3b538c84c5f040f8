//! `/1.0/storage-pools/POOL/volumes`: the listing (all types), and custom volumes:
//! create (or copy), one, update, rename (or move), delete, state, restore, and their
//! snapshots. Sync or async as upstream answers each.

use super::run_task;
use crate::app::{
    check_project, core, created, empty, null_default, parse_body, recursion, sync, sync_etag,
    ApiResult, AppRef, Query,
};
use crate::ops::OpSpec;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use incus_api::{Config, Error, Result, StorageVolumePut};
use incus_core::filter::Filter;
use incus_core::storage::{volume, VolumeType};
use serde::Deserialize;

pub fn routes() -> Router<AppRef> {
    Router::new()
        .route(
            "/1.0/storage-pools/{pool}/volumes",
            get(list_all).post(create_any),
        )
        .route(
            "/1.0/storage-pools/{pool}/volumes/{vtype}",
            get(list_type)
                .post(super::backups::volume_create_or_import)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/1.0/storage-pools/{pool}/volumes/{vtype}/{name}",
            get(one).put(put).patch(patch).post(rename).delete(delete),
        )
        .route(
            "/1.0/storage-pools/{pool}/volumes/{vtype}/{name}/state",
            get(state),
        )
        .route(
            "/1.0/storage-pools/{pool}/volumes/{vtype}/{name}/snapshots",
            get(snapshots).post(snapshot_create),
        )
        .route(
            "/1.0/storage-pools/{pool}/volumes/{vtype}/{name}/snapshots/{snap}",
            get(snapshot_one)
                .put(snapshot_put)
                .post(snapshot_rename)
                .delete(snapshot_delete),
        )
}

fn url(pool: &str, vtype: &str, name: &str) -> String {
    format!("/1.0/storage-pools/{pool}/volumes/{vtype}/{name}")
}

/// Writes are for custom volumes; instance and image volumes follow their owner.
fn custom_only(vtype: &str) -> Result<()> {
    match VolumeType::parse(vtype)? {
        VolumeType::Custom => Ok(()),
        _ => Err(Error::invalid(format!(
            "Only custom volumes can be changed here, not \"{vtype}\" volumes"
        ))),
    }
}

async fn list_all(Path(pool): Path<String>, q: Query) -> ApiResult {
    list(pool, None, q).await
}

async fn list_type(Path((pool, vtype)): Path<(String, String)>, q: Query) -> ApiResult {
    VolumeType::parse(&vtype)?;
    list(pool, Some(vtype), q).await
}

async fn list(pool: String, vtype: Option<String>, q: Query) -> ApiResult {
    check_project(&q)?;
    let p = pool.clone();
    let all = core(move |ctx| volume::list(ctx, &p)).await?;
    // The URL's plural form ("containers") names the same type.
    let wanted = vtype.map(|t| VolumeType::parse(&t)).transpose()?;
    let filter = q.get("filter").map(|f| Filter::parse(f)).transpose()?;
    let all: Vec<_> = all
        .into_iter()
        .filter(|v| wanted.is_none() || VolumeType::parse(&v.volume_type).ok() == wanted)
        .filter(|v| {
            filter
                .as_ref()
                .is_none_or(|f| f.matches_value(&serde_json::to_value(v).unwrap_or_default()))
        })
        .collect();
    if recursion(&q) > 0 {
        sync(all)
    } else {
        sync(
            all.iter()
                .map(|v| url(&pool, &v.volume_type, &super::encode(&v.name)))
                .collect::<Vec<_>>(),
        )
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VolumeSource {
    #[serde(rename = "type")]
    source_type: String,
    name: String,
    pool: String,
}

#[derive(Deserialize)]
struct VolumesPost {
    name: String,
    #[serde(default, rename = "type")]
    volume_type: String,
    #[serde(default, deserialize_with = "null_default")]
    config: Config,
    #[serde(default)]
    description: String,
    #[serde(default)]
    content_type: String,
    #[serde(default, deserialize_with = "null_default")]
    source: VolumeSource,
}

async fn create_any(
    State(app): State<AppRef>,
    Path(pool): Path<String>,
    q: Query,
    body: Bytes,
) -> ApiResult {
    let post: VolumesPost = parse_body(&body)?;
    let vtype = if post.volume_type.is_empty() {
        "custom".to_string()
    } else {
        post.volume_type.clone()
    };
    do_create(app, pool, vtype, q, post).await
}

pub(super) async fn create(
    State(app): State<AppRef>,
    Path((pool, vtype)): Path<(String, String)>,
    q: Query,
    body: Bytes,
) -> ApiResult {
    let post: VolumesPost = parse_body(&body)?;
    do_create(app, pool, vtype, q, post).await
}

/// A plain create is sync; a copy (`source.name`) runs as an operation, as upstream.
async fn do_create(
    app: AppRef,
    pool: String,
    vtype: String,
    q: Query,
    post: VolumesPost,
) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    if !post.content_type.is_empty() && post.content_type != "filesystem" {
        return Err(Error::unsupported(format!(
            "Content type \"{}\" is not supported (only filesystem)",
            post.content_type
        ))
        .into());
    }
    let location = url(&pool, "custom", &post.name);
    if post.source.name.is_empty() {
        core(move |ctx| volume::create(ctx, &pool, &post.name, post.config, &post.description))
            .await?;
        return created(&location);
    }
    if !matches!(post.source.source_type.as_str(), "" | "copy") {
        return Err(Error::unsupported(format!(
            "Volume source type \"{}\" is not supported",
            post.source.source_type
        ))
        .into());
    }
    let src_pool = if post.source.pool.is_empty() {
        pool.clone()
    } else {
        post.source.pool.clone()
    };
    run_task(
        &app,
        OpSpec::task("Copying storage volume", &[("storage_volumes", location)]),
        move |ctx| volume::copy(ctx, &src_pool, &post.source.name, &pool, &post.name).map(|_| ()),
    )
}

async fn one(Path((pool, vtype, name)): Path<(String, String, String)>, q: Query) -> ApiResult {
    check_project(&q)?;
    let t = VolumeType::parse(&vtype)?;
    sync_etag(core(move |ctx| volume::get(ctx, &pool, t, &name)).await?)
}

/// PUT replaces config and description, or restores a snapshot (`restore`).
async fn put(
    Path((pool, vtype, name)): Path<(String, String, String)>,
    q: Query,
    body: Bytes,
) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    let raw: serde_json::Value = parse_body(&body)?;
    if let Some(snap) = raw.get("restore").and_then(|r| r.as_str()) {
        if !snap.is_empty() {
            let snap = snap.to_string();
            core(move |ctx| volume::snapshot_restore(ctx, &pool, &name, &snap)).await?;
            return empty();
        }
    }
    let mut put: StorageVolumePut = parse_body(&body)?;
    // An empty value is no value (upstream stores none; `volume unset` sends one).
    put.config.retain(|_, v| !v.is_empty());
    core(move |ctx| volume::update(ctx, &pool, &name, put.config, &put.description)).await?;
    empty()
}

/// PATCH merges config keys (an empty value unsets) and the description.
async fn patch(
    Path((pool, vtype, name)): Path<(String, String, String)>,
    q: Query,
    body: Bytes,
) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    let patch: serde_json::Value = parse_body(&body)?;
    core(move |ctx| {
        let cur = volume::get(ctx, &pool, VolumeType::Custom, &name)?;
        let (mut config, mut description) = (cur.config, cur.description);
        let mut devices = Default::default();
        incus_core::patch::merge(&mut config, &mut devices, &mut description, &patch)?;
        config.retain(|_, v| !v.is_empty());
        volume::update(ctx, &pool, &name, config, &description).map(|_| ())
    })
    .await?;
    empty()
}

#[derive(Deserialize)]
struct VolumePost {
    #[serde(default)]
    name: String,
    #[serde(default)]
    pool: String,
    #[serde(default)]
    migration: bool,
}

/// A rename (sync), or a move to another pool (`pool`, an operation as upstream).
async fn rename(
    State(app): State<AppRef>,
    Path((pool, vtype, name)): Path<(String, String, String)>,
    q: Query,
    body: Bytes,
) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    let post: VolumePost = parse_body(&body)?;
    if post.migration {
        return Err(Error::unsupported("Migration is not supported yet").into());
    }
    let new = if post.name.is_empty() {
        name.clone()
    } else {
        post.name.clone()
    };
    if post.pool.is_empty() || post.pool == pool {
        if new == name {
            return Err(Error::invalid("A new name or pool is required").into());
        }
        let n = new.clone();
        let p = pool.clone();
        core(move |ctx| volume::rename(ctx, &p, &name, &n)).await?;
        return created(&url(&pool, "custom", &new));
    }
    run_task(
        &app,
        OpSpec::task(
            "Moving storage volume",
            &[("storage_volumes", url(&pool, "custom", &name))],
        ),
        move |ctx| volume::move_volume(ctx, &pool, &name, &post.pool, &new).map(|_| ()),
    )
}

async fn delete(Path((pool, vtype, name)): Path<(String, String, String)>, q: Query) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    core(move |ctx| volume::delete(ctx, &pool, &name)).await?;
    empty()
}

async fn state(Path((pool, vtype, name)): Path<(String, String, String)>, q: Query) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    sync(core(move |ctx| volume::state(ctx, &pool, &name)).await?)
}

async fn snapshots(
    Path((pool, vtype, name)): Path<(String, String, String)>,
    q: Query,
) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    let (p, n) = (pool.clone(), name.clone());
    let mut all = core(move |ctx| volume::snapshot_list(ctx, &p, &n)).await?;
    if recursion(&q) > 0 {
        // Upstream names each snapshot of the list `VOLUME/SNAPSHOT` (a single GET
        // says `SNAPSHOT`); its client takes the part after the slash.
        for s in &mut all {
            s.name = format!("{name}/{}", s.name);
        }
        sync(all)
    } else {
        let prefix = format!("{}/snapshots", url(&pool, "custom", &name));
        sync(super::urls(&prefix, all.into_iter().map(|s| s.name)))
    }
}

#[derive(Deserialize)]
struct SnapshotsPost {
    #[serde(default)]
    name: String,
}

async fn snapshot_create(
    State(app): State<AppRef>,
    Path((pool, vtype, name)): Path<(String, String, String)>,
    q: Query,
    body: Bytes,
) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    let post: SnapshotsPost = parse_body(&body)?;
    // Fail fast on a missing volume (a 404 rather than a failed operation).
    let (p, n) = (pool.clone(), name.clone());
    core(move |ctx| volume::get(ctx, &p, VolumeType::Custom, &n).map(|_| ())).await?;
    let resource = url(&pool, "custom", &name);
    run_task(
        &app,
        OpSpec::task(
            "Snapshotting storage volume",
            &[("storage_volumes", resource)],
        ),
        move |ctx| {
            let snap = (!post.name.is_empty()).then_some(post.name.as_str());
            volume::snapshot_create(ctx, &pool, &name, snap).map(|_| ())
        },
    )
}

/// One snapshot of a volume (the core lists them; a name not there is a 404).
fn find_snapshot(
    ctx: &incus_core::Context,
    pool: &str,
    vol: &str,
    snap: &str,
) -> Result<incus_api::StorageVolumeSnapshot> {
    volume::snapshot_list(ctx, pool, vol)?
        .into_iter()
        .find(|s| s.name == snap)
        .ok_or_else(|| {
            Error::not_found(format!(
                "Snapshot \"{snap}\" of storage volume \"{vol}\" not found"
            ))
        })
}

async fn snapshot_one(
    Path((pool, vtype, name, snap)): Path<(String, String, String, String)>,
    q: Query,
) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    sync_etag(core(move |ctx| find_snapshot(ctx, &pool, &name, &snap)).await?)
}

/// Volume snapshots keep no expiry or description of their own yet.
async fn snapshot_put() -> ApiResult {
    Err(Error::unsupported("Editing a storage volume snapshot is not supported yet").into())
}

#[derive(Deserialize)]
struct SnapshotPost {
    #[serde(default)]
    name: String,
}

async fn snapshot_rename(
    State(app): State<AppRef>,
    Path((pool, vtype, name, snap)): Path<(String, String, String, String)>,
    q: Query,
    body: Bytes,
) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    let post: SnapshotPost = parse_body(&body)?;
    if post.name.is_empty() {
        return Err(Error::invalid("A new name is required").into());
    }
    let (p, n, s) = (pool.clone(), name.clone(), snap.clone());
    core(move |ctx| find_snapshot(ctx, &p, &n, &s).map(|_| ())).await?;
    let resource = url(&pool, "custom", &name);
    run_task(
        &app,
        OpSpec::task(
            "Renaming storage volume snapshot",
            &[("storage_volumes", resource)],
        ),
        move |ctx| volume::snapshot_rename(ctx, &pool, &name, &snap, &post.name),
    )
}

async fn snapshot_delete(
    State(app): State<AppRef>,
    Path((pool, vtype, name, snap)): Path<(String, String, String, String)>,
    q: Query,
) -> ApiResult {
    check_project(&q)?;
    custom_only(&vtype)?;
    let (p, n, s) = (pool.clone(), name.clone(), snap.clone());
    core(move |ctx| find_snapshot(ctx, &p, &n, &s).map(|_| ())).await?;
    let resource = url(&pool, "custom", &name);
    run_task(
        &app,
        OpSpec::task(
            "Deleting storage volume snapshot",
            &[("storage_volumes", resource)],
        ),
        move |ctx| volume::snapshot_delete(ctx, &pool, &name, &snap),
    )
}
