//! `POST /1.0/instances/NAME/console`: the console as a websocket operation (fds `0`
//! and `control`), relayed to the instance monitor's console socket. `GET` (the log)
//! is in `instances`.

use super::async_response;
use super::pump::{pump_in, pump_out};
use crate::app::{check_project, core, parse_body, ApiResult, AppRef, Query};
use crate::ops::{Op, OpSpec};
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket};
use axum::extract::{Path, State};
use axum::routing::post;
use axum::Router;
use futures_util::StreamExt;
use incus_api::{Error, Result};
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::oneshot;

pub fn routes() -> Router<AppRef> {
    Router::new().route("/1.0/instances/{name}/console", post(console))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConsolePost {
    width: i64,
    height: i64,
    #[serde(rename = "type")]
    console_type: String,
}

async fn console(
    State(app): State<AppRef>,
    Path(name): Path<String>,
    q: Query,
    body: Bytes,
) -> ApiResult {
    check_project(&q)?;
    let post: ConsolePost = if body.is_empty() {
        ConsolePost::default()
    } else {
        parse_body(&body)?
    };
    if !matches!(post.console_type.as_str(), "" | "console") {
        return Err(Error::unsupported("Only the text console exists for containers").into());
    }
    let size = (post.height > 0 && post.width > 0).then(|| {
        (
            post.height.min(u16::MAX as i64) as u16,
            post.width.min(u16::MAX as i64) as u16,
        )
    });
    // Connect first: a stopped instance is a plain error, not a failed operation.
    let n = name.clone();
    let stream = core(move |ctx| incus_core::lifecycle::console_connect(ctx, &n, size)).await?;
    let mut spec = OpSpec::task(
        "Showing console",
        &[("instances", format!("/1.0/instances/{name}"))],
    );
    spec.class = "websocket";
    spec.fds = vec!["0", "control"];
    let op = app.ops.create(spec);
    let (tx0, rx0) = oneshot::channel();
    let (txc, rxc) = oneshot::channel();
    {
        let mut sockets = op.sockets.lock().expect("op lock");
        sockets.insert("0".into(), tx0);
        sockets.insert("control".into(), txc);
    }
    let running = op.clone();
    tokio::spawn(async move {
        let result = relay(&running, stream, rx0, rxc).await;
        running.finish(result);
    });
    async_response(&op)
}

async fn relay(
    _op: &Op,
    stream: std::os::unix::net::UnixStream,
    rx0: oneshot::Receiver<WebSocket>,
    rxc: oneshot::Receiver<WebSocket>,
) -> Result<()> {
    let ws = tokio::time::timeout(Duration::from_secs(30), rx0)
        .await
        .map_err(|_| Error::invalid("Timed out waiting for the console websocket"))?
        .map_err(|_| Error::internal("Websocket hand-over failed"))?;
    // The control socket carries window sizes the monitor cannot apply after attach;
    // it is drained so the client's writes never block.
    tokio::spawn(async move {
        if let Ok(mut c) = rxc.await {
            while let Some(Ok(m)) = c.recv().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        }
    });
    stream
        .set_nonblocking(true)
        .map_err(|e| Error::internal(format!("Console socket: {e}")))?;
    let stream = tokio::net::UnixStream::from_std(stream)
        .map_err(|e| Error::internal(format!("Console socket: {e}")))?;
    let (cr, cw) = stream.into_split();
    let (sink, source) = ws.split();
    let out = pump_out(cr, sink);
    let input = pump_in(source, cw);
    // Either side ending ends the session: the client detached or the console closed.
    tokio::select! {
        _ = out => {},
        _ = input => {},
    }
    Ok(())
}
