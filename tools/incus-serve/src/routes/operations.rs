//! `/1.0/operations`: list, one, `/wait`, `/websocket`, cancel.

use crate::app::{check_project, core, recursion, sync, ApiError, ApiResult, AppRef, Query};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use incus_api::Error;
use std::collections::BTreeMap;
use std::time::Duration;

pub fn routes() -> Router<AppRef> {
    Router::new()
        .route("/1.0/operations", get(list))
        .route("/1.0/operations/{id}", get(one).delete(cancel))
        .route("/1.0/operations/{id}/wait", get(wait))
        .route("/1.0/operations/{id}/websocket", get(websocket))
}

async fn list(State(app): State<AppRef>, q: Query) -> ApiResult {
    check_project(&q)?;
    let deep = recursion(&q) > 0;
    let mut by_status: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for op in app.ops.all() {
        let snap = op.snapshot();
        let key = snap.status.to_lowercase();
        let v = if deep {
            serde_json::to_value(&snap).unwrap_or_default()
        } else {
            serde_json::Value::String(op.url())
        };
        by_status.entry(key).or_default().push(v);
    }
    for (id, t) in core(incus_core::trust::token_list).await? {
        let v = if deep {
            serde_json::to_value(super::token_operation(&id, &t)).unwrap_or_default()
        } else {
            serde_json::Value::String(format!("/1.0/operations/{id}"))
        };
        by_status.entry("running".into()).or_default().push(v);
    }
    sync(by_status)
}

async fn one(State(app): State<AppRef>, Path(id): Path<String>) -> ApiResult {
    match app.ops.get(&id) {
        Ok(op) => sync(op.snapshot()),
        Err(e) => match stored_token(&id).await? {
            Some(t) => sync(super::token_operation(&id, &t)),
            None => Err(e.into()),
        },
    }
}

/// A join token kept in the database, by its operation id.
async fn stored_token(id: &str) -> incus_api::Result<Option<incus_core::trust::JoinToken>> {
    let id = id.to_string();
    Ok(core(incus_core::trust::token_list)
        .await?
        .into_iter()
        .find(|(i, _)| *i == id)
        .map(|(_, t)| t))
}

async fn wait(State(app): State<AppRef>, Path(id): Path<String>, q: Query) -> ApiResult {
    let op = app.ops.get(&id)?;
    // timeout=-1 (or none) waits without a limit, as upstream.
    let timeout = q
        .get("timeout")
        .and_then(|t| t.parse::<i64>().ok())
        .filter(|t| *t >= 0)
        .map(|t| Duration::from_secs(t as u64));
    op.wait(timeout).await;
    sync(op.snapshot())
}

async fn cancel(State(app): State<AppRef>, Path(id): Path<String>) -> ApiResult {
    // Cancelling a token operation revokes the token.
    if app.ops.get(&id).is_err() && stored_token(&id).await?.is_some() {
        core(move |ctx| incus_core::trust::token_revoke(ctx, &id)).await?;
        return sync(serde_json::json!({}));
    }
    let op = app.ops.get(&id)?;
    if op.is_done() || !op.snapshot().may_cancel {
        return Err(ApiError(Error::invalid(
            "This operation can't be cancelled",
        )));
    }
    op.finish(Err(Error::invalid("Operation cancelled")));
    sync(serde_json::json!({}))
}

/// Hands the upgraded connection to whoever waits for that fd's secret.
async fn websocket(
    State(app): State<AppRef>,
    Path(id): Path<String>,
    q: Query,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let op = app.ops.get(&id)?;
    let secret = q.get("secret").cloned().unwrap_or_default();
    let fd = op
        .secrets
        .iter()
        .find(|(_, s)| !secret.is_empty() && **s == secret)
        .map(|(fd, _)| fd.clone())
        .ok_or_else(|| Error::forbidden("Wrong websocket secret"))?;
    let tx = op
        .sockets
        .lock()
        .expect("op lock")
        .remove(&fd)
        .ok_or_else(|| Error::conflict("Websocket already connected"))?;
    Ok(ws
        .on_upgrade(move |socket| async move {
            let _ = tx.send(socket);
        })
        .into_response())
}
