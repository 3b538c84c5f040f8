//! `GET /1.0/instances/NAME/sftp` with `Upgrade: sftp`: `101 Switching Protocols`, then
//! the raw connection carries SFTP (v3) on the instance's rootfs, served by
//! `incus_sftp` on a blocking thread. Upstream's client (6.0) uses it for every
//! `incus file` command: push, pull (`-r`, `-p`), create, delete (`-f`), edit, mount.

use crate::app::{check_project, core, ApiError, AppRef, Query};
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use hyper_util::rt::TokioIo;
use incus_api::Error;
use incus_core::files::Rootfs;
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::runtime::Handle;

pub fn routes() -> Router<AppRef> {
    Router::new().route("/1.0/instances/{name}/sftp", get(sftp))
}

async fn sftp(Path(name): Path<String>, q: Query, mut req: Request) -> Result<Response, ApiError> {
    check_project(&q)?;
    let wants_sftp = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("sftp"));
    if !wants_sftp {
        return Err(Error::invalid("Missing or invalid upgrade header").into());
    }
    // Opened before answering 101, so a missing instance is a plain 404.
    let root = core(move |ctx| Rootfs::open(ctx, &name)).await?;
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let (r, w) = tokio::io::split(TokioIo::new(upgraded));
        let rt = Handle::current();
        // A thread of its own per session (the protocol and the file calls are sync):
        // long sessions must not hold the blocking pool that every core call uses.
        let spawned = std::thread::Builder::new()
            .name("sftp".into())
            .spawn(move || {
                let input = Bridge {
                    io: r,
                    rt: rt.clone(),
                };
                let output = Bridge { io: w, rt };
                let _ = incus_sftp::serve(&root, input, output);
            });
        if let Err(e) = spawned {
            eprintln!("incus-serve: SFTP session thread: {e}");
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::UPGRADE, "sftp")
        .header(header::CONNECTION, "Upgrade")
        .body(Body::empty())
        .map_err(|e| ApiError(Error::internal(e.to_string())))
}

/// Blocking `Read`/`Write` over an async stream, for use on a blocking thread.
struct Bridge<T> {
    io: T,
    rt: Handle,
}

impl<T: AsyncRead + Unpin> io::Read for Bridge<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.rt.block_on(self.io.read(buf))
    }
}

impl<T: AsyncWrite + Unpin> io::Write for Bridge<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.rt.block_on(self.io.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.rt.block_on(self.io.flush())
    }
}
