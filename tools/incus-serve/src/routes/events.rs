//! `/1.0/events`: a websocket of `operation` events from this server and `lifecycle`
//! events from the events table, which every tool appends to.

use crate::app::{check_project, core, ApiError, AppRef, Query};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use incus_core::events;
use std::time::Duration;

pub fn routes() -> Router<AppRef> {
    Router::new().route("/1.0/events", get(events))
}

async fn events(
    State(app): State<AppRef>,
    q: Query,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    check_project(&q)?;
    let types: Vec<String> = q
        .get("type")
        .filter(|t| !t.is_empty())
        .map(|t| t.split(',').map(str::to_string).collect())
        .unwrap_or_else(|| vec!["logging".into(), "operation".into(), "lifecycle".into()]);
    let rx = app.events.subscribe();
    // Events of the request's project (all with ?all-projects=true, never for a
    // restricted caller); a restricted caller gets no event without a project.
    let only = (!crate::app::all_projects(&q)).then(crate::app::current_project);
    let restricted = crate::app::restricted_projects().is_some();
    let filter = EventFilter { only, restricted };
    Ok(ws
        .on_upgrade(move |socket| stream(socket, rx, types, filter))
        .into_response())
}

struct EventFilter {
    only: Option<String>,
    restricted: bool,
}

impl EventFilter {
    fn passes(&self, ev: &serde_json::Value) -> bool {
        match ev.get("project").and_then(|p| p.as_str()) {
            Some(p) => self.only.as_deref().is_none_or(|o| o == p),
            None => !self.restricted,
        }
    }
}

async fn stream(
    mut socket: WebSocket,
    mut rx: tokio::sync::broadcast::Receiver<serde_json::Value>,
    types: Vec<String>,
    filter: EventFilter,
) {
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(ev) => {
                    let t = ev.get("type").and_then(|t| t.as_str()).unwrap_or("");
                    if types.iter().any(|x| x == t)
                        && filter.passes(&ev)
                        && socket.send(Message::Text(ev.to_string().into())).await.is_err()
                    {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                _ => {}
            },
        }
    }
}

/// Tails the events table: lifecycle events written by any tool (or by this server
/// through core) are broadcast as they appear. Polling keeps it daemon-free: the
/// writers are plain processes that know nothing of this server.
pub async fn tail(app: AppRef) {
    let mut last = core(events::last_id).await.unwrap_or(0);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if app.events.receiver_count() == 0 {
            // Nobody listens: skip the rows but keep the position.
            if let Ok(id) = core(events::last_id).await {
                last = id;
            }
            continue;
        }
        let after = last;
        let Ok(rows) = core(move |ctx| events::since(ctx, after)).await else {
            continue;
        };
        for (id, event) in rows {
            last = id;
            let _ = app.events.send(event);
        }
    }
}
