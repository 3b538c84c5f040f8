//! `POST /1.0/instances/NAME/exec`: websocket (interactive or not) and plain modes.
//!
//! The command runs through `incus-instance exec`: the runtime's exec forks its caller
//! and then does work that is unsafe in a threaded process, so the server hands it to
//! the single-threaded tool and relays the tool's stdio (pipes, or a pty it owns).

use super::async_response;
use super::pump::{pump_in, pump_out};
use crate::app::{check_project, core, parse_body, ApiResult, AppRef, Query};
use crate::ops::{Op, OpSpec};
use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket};
use axum::extract::{Path, State};
use axum::routing::post;
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use incus_api::{Config, Error, Result};
use serde::Deserialize;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::sync::oneshot;

/// How long the server waits for the client's websockets before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

pub fn routes() -> Router<AppRef> {
    Router::new().route("/1.0/instances/{name}/exec", post(exec))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecPost {
    command: Vec<String>,
    #[serde(default, deserialize_with = "crate::app::null_default")]
    environment: Config,
    #[serde(
        default,
        rename = "wait-for-websocket",
        deserialize_with = "crate::app::null_default"
    )]
    wait_for_websocket: bool,
    #[serde(default, deserialize_with = "crate::app::null_default")]
    interactive: bool,
    #[serde(default, deserialize_with = "crate::app::null_default")]
    width: i64,
    #[serde(default, deserialize_with = "crate::app::null_default")]
    height: i64,
    #[serde(
        default,
        rename = "record-output",
        deserialize_with = "crate::app::null_default"
    )]
    record_output: bool,
    #[serde(default, deserialize_with = "crate::app::null_default")]
    user: u32,
    #[serde(default, deserialize_with = "crate::app::null_default")]
    group: u32,
    #[serde(default, deserialize_with = "crate::app::null_default")]
    cwd: String,
}

async fn exec(
    State(app): State<AppRef>,
    Path(name): Path<String>,
    q: Query,
    body: Bytes,
) -> ApiResult {
    check_project(&q)?;
    let post: ExecPost = parse_body(&body)?;
    if post.command.is_empty() {
        return Err(Error::invalid("No command given").into());
    }
    let n = name.clone();
    core(move |ctx| incus_core::lifecycle::exec_ready(ctx, &n)).await?;
    let resources = [("instances", format!("/1.0/instances/{name}"))];
    let mut spec = OpSpec::task("Executing command", &resources);
    if post.wait_for_websocket {
        spec.class = "websocket";
        spec.fds = if post.interactive {
            vec!["0", "control"]
        } else {
            vec!["0", "1", "2", "control"]
        };
    }
    let op = app.ops.create(spec);
    let mut receivers = std::collections::HashMap::new();
    {
        let mut sockets = op.sockets.lock().expect("op lock");
        for fd in op.secrets.keys() {
            let (tx, rx) = oneshot::channel();
            sockets.insert(fd.clone(), tx);
            receivers.insert(fd.clone(), rx);
        }
    }
    let cmd = command(&app, &name, &post);
    let running = op.clone();
    tokio::spawn(async move {
        let result = if !post.wait_for_websocket {
            run_plain(&running, cmd, &name, post.record_output).await
        } else if post.interactive {
            run_pty(&running, cmd, receivers, &post).await
        } else {
            run_pipes(&running, cmd, receivers).await
        };
        running.finish(result);
    });
    async_response(&op)
}

fn command(app: &AppRef, name: &str, post: &ExecPost) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(&app.instance_tool);
    c.arg("--project")
        .arg(crate::app::current_project())
        .arg("exec")
        .arg(name);
    c.arg("--user").arg(post.user.to_string());
    c.arg("--group").arg(post.group.to_string());
    if !post.cwd.is_empty() {
        c.arg("--cwd").arg(&post.cwd);
    }
    let mut env = post.environment.clone();
    // As upstream: LANG defaults to C.UTF-8.
    env.entry("LANG".into()).or_insert_with(|| "C.UTF-8".into());
    for (k, v) in &env {
        c.arg("--env").arg(format!("{k}={v}"));
    }
    c.arg(if post.interactive && post.wait_for_websocket {
        "-t"
    } else {
        "-T"
    });
    c.arg("--").args(&post.command);
    c.kill_on_drop(true);
    c
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

fn done(op: &Op, code: i32, output: Option<serde_json::Value>) {
    let mut meta = op
        .snapshot()
        .metadata
        .unwrap_or_else(|| serde_json::json!({}));
    meta["return"] = code.into();
    if let Some(o) = output {
        meta["output"] = o;
    }
    op.set_metadata(meta);
}

/// No websockets: stdin is empty, output goes to files (`record-output`) or nowhere.
async fn run_plain(
    op: &Op,
    mut cmd: tokio::process::Command,
    name: &str,
    record: bool,
) -> Result<()> {
    cmd.stdin(Stdio::null());
    let mut output = None;
    if record {
        let (n, id) = (name.to_string(), op.id.clone());
        let (out, err) = core(move |ctx| {
            let dir = ctx.instance_log_dir(&n).join("exec-output");
            std::fs::create_dir_all(&dir)?;
            let out = std::fs::File::create(dir.join(format!("exec_{id}.stdout")))?;
            let err = std::fs::File::create(dir.join(format!("exec_{id}.stderr")))?;
            Ok((out, err))
        })
        .await?;
        cmd.stdout(out).stderr(err);
        output = Some(serde_json::json!({
            "1": format!("/1.0/instances/{name}/logs/exec-output/exec_{}.stdout", op.id),
            "2": format!("/1.0/instances/{name}/logs/exec-output/exec_{}.stderr", op.id),
        }));
    } else {
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
    }
    let status = cmd
        .status()
        .await
        .map_err(|e| Error::internal(format!("Run incus-instance: {e}")))?;
    done(op, exit_code(status), output);
    Ok(())
}

type Receivers = std::collections::HashMap<String, oneshot::Receiver<WebSocket>>;

async fn connect(receivers: &mut Receivers, fd: &str) -> Result<WebSocket> {
    let rx = receivers
        .remove(fd)
        .ok_or_else(|| Error::internal(format!("No websocket for fd {fd}")))?;
    tokio::time::timeout(CONNECT_TIMEOUT, rx)
        .await
        .map_err(|_| Error::invalid(format!("Timed out waiting for the websocket of fd {fd}")))?
        .map_err(|_| Error::internal("Websocket hand-over failed"))
}

/// Control messages: window size and signals.
#[derive(Deserialize)]
struct Control {
    command: String,
    #[serde(default, deserialize_with = "crate::app::null_default")]
    args: std::collections::HashMap<String, String>,
    #[serde(default, deserialize_with = "crate::app::null_default")]
    signal: i32,
}

/// `pid` is the tool just spawned and not yet reaped: its pidfd is opened now, so a
/// `signal` that arrives after it exited reaches nobody rather than a recycled pid.
fn spawn_control(
    rx: Option<oneshot::Receiver<WebSocket>>,
    pid: Option<u32>,
    master: Option<Arc<OwnedFd>>,
) {
    let Some(rx) = rx else { return };
    let target = pid.and_then(|p| incus_runtime::PidHandle::open(p).ok());
    tokio::spawn(async move {
        let Ok(mut ws) = rx.await else { return };
        while let Some(Ok(msg)) = ws.recv().await {
            let data = match msg {
                Message::Text(t) => t.as_bytes().to_vec(),
                Message::Binary(b) => b.to_vec(),
                Message::Close(_) => break,
                _ => continue,
            };
            let Ok(c) = serde_json::from_slice::<Control>(&data) else {
                continue;
            };
            match c.command.as_str() {
                "window-resize" => {
                    let num = |k: &str| {
                        c.args
                            .get(k)
                            .and_then(|v| v.parse::<u16>().ok())
                            .unwrap_or(0)
                    };
                    if let Some(m) = &master {
                        set_winsize(m.as_raw_fd(), num("height"), num("width"));
                    }
                }
                "signal" => {
                    if let (Some(target), Ok(sig)) =
                        (&target, nix::sys::signal::Signal::try_from(c.signal))
                    {
                        let _ = target.signal(sig as i32);
                    }
                }
                _ => {}
            }
        }
    });
}

fn set_winsize(fd: i32, rows: u16, cols: u16) {
    if rows == 0 || cols == 0 {
        return;
    }
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ on a pty fd we own, with a valid struct.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
}

/// Like [`pump_out`] on a whole websocket, then waits (briefly) for the client's
/// close reply, so the client is not cut off while it answers the close.
async fn pump_out_closing<R: AsyncRead + Unpin>(r: R, ws: WebSocket) {
    let (sink, mut stream) = ws.split();
    pump_out(r, sink).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(m)) = stream.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// Non-interactive: fds 0, 1, 2 as websockets, the tool on pipes.
async fn run_pipes(
    op: &Op,
    mut cmd: tokio::process::Command,
    mut receivers: Receivers,
) -> Result<()> {
    let ws0 = connect(&mut receivers, "0").await?;
    let ws1 = connect(&mut receivers, "1").await?;
    let ws2 = connect(&mut receivers, "2").await?;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::internal(format!("Run incus-instance: {e}")))?;
    spawn_control(receivers.remove("control"), child.id(), None);
    let mut stdin = child.stdin.take();
    let (stdout, stderr) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let out = tokio::spawn(pump_out_closing(stdout, ws1));
    let err = tokio::spawn(pump_out_closing(stderr, ws2));
    let (mut in_sink, mut in_stream) = ws0.split();
    // stdin: binary messages are data; a close, an empty text message or an error is EOF.
    let input = tokio::spawn(async move {
        while let Some(Ok(msg)) = in_stream.next().await {
            match msg {
                Message::Binary(b) => {
                    if let Some(s) = stdin.as_mut() {
                        if s.write_all(&b).await.is_err() {
                            stdin = None;
                        }
                    }
                }
                Message::Text(t) if !t.is_empty() => {
                    if let Some(s) = stdin.as_mut() {
                        let _ = s.write_all(t.as_bytes()).await;
                    }
                }
                Message::Ping(_) | Message::Pong(_) => {}
                _ => break,
            }
        }
        drop(stdin);
    });
    let status = child
        .wait()
        .await
        .map_err(|e| Error::internal(format!("Wait for incus-instance: {e}")))?;
    let _ = out.await;
    let _ = err.await;
    input.abort();
    let _ = in_sink.send(Message::Close(None)).await;
    done(op, exit_code(status), None);
    Ok(())
}

/// Interactive: fd 0 carries both directions through a pty the tool runs on.
async fn run_pty(
    op: &Op,
    mut cmd: tokio::process::Command,
    mut receivers: Receivers,
    post: &ExecPost,
) -> Result<()> {
    let ws = connect(&mut receivers, "0").await?;
    let size = nix::pty::Winsize {
        ws_row: post.height.clamp(0, u16::MAX as i64) as u16,
        ws_col: post.width.clamp(0, u16::MAX as i64) as u16,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty((size.ws_row > 0 && size.ws_col > 0).then_some(&size), None)
        .map_err(|e| Error::internal(format!("openpty: {e}")))?;
    let slave = pty.slave;
    // Raw from the start: the tool makes it raw too, but only once it runs, and input
    // that arrives before (an EOT ending the client's input) must not be taken by
    // this pty's line discipline; the container's own pty is the one that edits lines.
    if let Ok(mut t) = nix::sys::termios::tcgetattr(&slave) {
        nix::sys::termios::cfmakeraw(&mut t);
        let _ = nix::sys::termios::tcsetattr(&slave, nix::sys::termios::SetArg::TCSANOW, &t);
    }
    let master = Arc::new(pty.master);
    let clone = |fd: &OwnedFd| {
        fd.try_clone()
            .map_err(|e| Error::internal(format!("dup: {e}")))
    };
    cmd.stdin(Stdio::from(clone(&slave)?))
        .stdout(Stdio::from(clone(&slave)?))
        .stderr(Stdio::from(clone(&slave)?));
    // SAFETY: setsid and ioctl are async-signal-safe; the pty becomes the child's
    // controlling terminal, so a window change reaches it as SIGWINCH.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::internal(format!("Run incus-instance: {e}")))?;
    // Our copies of the slave (ours and the command's) must go, or the master never
    // sees the end.
    drop(cmd);
    drop(slave);
    spawn_control(
        receivers.remove("control"),
        child.id(),
        Some(master.clone()),
    );
    let reader = tokio::fs::File::from_std(std::fs::File::from(clone(&master)?));
    let writer = tokio::fs::File::from_std(std::fs::File::from(clone(&master)?));
    let (sink, stream) = ws.split();
    // Reads end with EIO once the tool (the last holder of the slave) is gone.
    let out = tokio::spawn(pump_out(reader, sink));
    let input = tokio::spawn(pump_in(stream, writer));
    let status = child
        .wait()
        .await
        .map_err(|e| Error::internal(format!("Wait for incus-instance: {e}")))?;
    let _ = out.await;
    input.abort();
    done(op, exit_code(status), None);
    Ok(())
}
