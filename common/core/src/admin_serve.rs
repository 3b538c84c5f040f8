//! `admin waitready` and the part of `admin shutdown` that stops `incus-serve`.
//!
//! A server is alive only when it answers HTTP on its unix socket: a connect that
//! succeeds proves nothing (a stale socket file refuses, but this rule also holds for
//! anything else that might accept). The server's pid is the socket peer's
//! (`SO_PEERCRED`), so no pid file is needed.

use crate::{server, Context, Error, Result};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The unix socket `incus-serve` listens on (`INCUS_SOCKET` as it reads it, else
/// `$INCUS_DIR/unix.socket`).
pub fn socket_path(ctx: &Context) -> PathBuf {
    std::env::var_os("INCUS_SOCKET")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| ctx.incus_dir.join("unix.socket"))
}

/// What is at the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Nothing listens (no file, or a stale one that refuses).
    Absent,
    /// Something accepted the connection but gave no HTTP answer in time.
    Silent { pid: Option<i32> },
    /// An HTTP answer to `GET /1.0`, with its status.
    Answered { pid: Option<i32>, status: u16 },
}

/// Connects to the socket and asks `GET /1.0`, waiting at most `wait` for the answer.
pub fn probe(ctx: &Context, wait: Duration) -> Probe {
    let Ok(mut s) = UnixStream::connect(socket_path(ctx)) else {
        return Probe::Absent;
    };
    let pid = incus_sys::peer::peer_pid(&s);
    let wait = wait.max(Duration::from_millis(10));
    let _ = s.set_read_timeout(Some(wait));
    let _ = s.set_write_timeout(Some(wait));
    let req =
        b"GET /1.0 HTTP/1.1\r\nHost: incus\r\nUser-Agent: incus-admin\r\nConnection: close\r\n\r\n";
    if s.write_all(req).is_err() {
        return Probe::Silent { pid };
    }
    // The status line is all we need.
    let mut buf = Vec::with_capacity(64);
    let mut chunk = [0u8; 256];
    let deadline = Instant::now() + wait;
    while !buf.contains(&b'\n') && buf.len() < 4096 && Instant::now() < deadline {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let line = String::from_utf8_lossy(&buf);
    let mut parts = line.split_whitespace();
    match (
        parts.next(),
        parts.next().and_then(|c| c.parse::<u16>().ok()),
    ) {
        (Some(v), Some(status)) if v.starts_with("HTTP/1.") => Probe::Answered { pid, status },
        _ => Probe::Silent { pid },
    }
}

/// `admin waitready`: returns once the state database is usable and, when
/// `incus-serve` is configured (`core.https_address`) or something listens on its
/// socket, once it answers `GET /1.0` with 200. `Busy` on timeout, saying what was
/// not ready. `require_serve` (ours): wait for `incus-serve` even when it is not
/// configured (a service manager that has just started it).
pub fn waitready(ctx: &Context, timeout: Duration, require_serve: bool) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut why;
    loop {
        why = match server::get(ctx, "core.https_address") {
            Err(e) => format!("the state database is not usable: {}", e.message),
            Ok(https) => match probe(ctx, Duration::from_secs(2).min(timeout)) {
                Probe::Answered { status: 200, .. } => return Ok(()),
                Probe::Absent if https.is_empty() && !require_serve => return Ok(()),
                Probe::Absent if https.is_empty() => format!(
                    "incus-serve does not listen on {}",
                    socket_path(ctx).display()
                ),
                Probe::Absent => format!(
                    "incus-serve is configured (core.https_address={https}) but does not listen on {}",
                    socket_path(ctx).display()
                ),
                Probe::Silent { .. } => format!(
                    "incus-serve does not answer GET /1.0 on {}",
                    socket_path(ctx).display()
                ),
                Probe::Answered { status, .. } => format!(
                    "incus-serve answers GET /1.0 with status {status} on {}",
                    socket_path(ctx).display()
                ),
            },
        };
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(Error::busy(format!(
        "Not ready after {}s: {why}",
        timeout.as_secs()
    )))
}

/// Stops the `incus-serve` that answers on the socket (SIGTERM, then waits until
/// `deadline`, then SIGKILL when `force`). Returns its pid, or None when none runs.
/// Refuses to signal a peer that is not an `incus-serve` process.
pub fn stop_serve(ctx: &Context, deadline: Instant, force: bool) -> Result<Option<i32>> {
    let pid = match probe(ctx, Duration::from_secs(5)) {
        Probe::Absent => return Ok(None),
        Probe::Silent { pid } | Probe::Answered { pid, .. } => pid,
    };
    let Some(pid) = pid else {
        return Err(Error::internal(format!(
            "Cannot tell which process listens on {}",
            socket_path(ctx).display()
        )));
    };
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
    let is_serve = exe
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("incus-serve"));
    if !is_serve {
        return Err(Error::conflict(format!(
            "The process listening on {} (pid {pid}, {}) is not incus-serve; not stopping it",
            socket_path(ctx).display(),
            exe.display()
        )));
    }
    incus_sys::peer::signal(pid, libc::SIGTERM);
    loop {
        if !incus_sys::peer::process_alive(pid) {
            return Ok(Some(pid));
        }
        if Instant::now() >= deadline {
            if force {
                incus_sys::peer::signal(pid, libc::SIGKILL);
                let end = Instant::now() + Duration::from_secs(10);
                while incus_sys::peer::process_alive(pid) && Instant::now() < end {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return Ok(Some(pid));
            }
            return Err(Error::busy(format!(
                "incus-serve (pid {pid}) still running after SIGTERM"
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
