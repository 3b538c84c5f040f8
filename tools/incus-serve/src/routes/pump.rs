//! The byte pumps between a websocket and a stream, shared by the console and exec
//! routes (one copy of each direction).

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Copies a reader to a websocket as binary messages until either ends, then closes
/// the websocket.
pub async fn pump_out<R: AsyncRead + Unpin>(mut r: R, mut ws: SplitSink<WebSocket, Message>) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if ws
                    .send(Message::Binary(Bytes::copy_from_slice(&buf[..n])))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    let _ = ws.send(Message::Close(None)).await;
}

/// Copies a websocket's binary and text messages to a writer until the websocket
/// closes or the writer fails.
pub async fn pump_in<W: AsyncWrite + Unpin>(mut ws: SplitStream<WebSocket>, mut w: W) {
    while let Some(Ok(m)) = ws.next().await {
        let data = match m {
            Message::Binary(b) => b.to_vec(),
            Message::Text(t) => t.as_bytes().to_vec(),
            Message::Close(_) => break,
            _ => continue,
        };
        if w.write_all(&data).await.is_err() {
            break;
        }
        let _ = w.flush().await;
    }
}
