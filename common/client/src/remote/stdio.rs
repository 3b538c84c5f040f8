//! Websocket sessions: exec (upstream's protocol: fds 0/1/2 and control, or one pty
//! fd and control), the console, and the event stream. Blocking I/O on the same streams
//! as the REST calls; a session that must read both the terminal and the socket
//! polls the terminal and reads the socket with a short timeout.

use super::transport::Stream;
use super::{encode as enc, status_error, Remote};
use crate::ExecSpec;
use incus_api::{Config, Error, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde_json::{json, Value};
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tungstenite::{Message, WebSocket};

pub(crate) type Ws = WebSocket<Stream>;

fn ws_err(e: tungstenite::Error) -> Error {
    Error::internal(format!("Websocket: {e}"))
}

impl Remote {
    /// A websocket on `path` (the handshake's HTTP errors map as REST errors do).
    pub(crate) fn websocket(&self, path: &str) -> Result<Ws> {
        let stream = self.conn.connect()?;
        let url = format!("ws://{}{}", self.conn.addr.host_header(), self.url(path));
        match tungstenite::client::client(url.as_str(), stream) {
            Ok((ws, _)) => Ok(ws),
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
                let body = resp.body().clone().unwrap_or_default();
                let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                Err(status_error(resp.status().as_u16(), &v, &body))
            }
            Err(tungstenite::HandshakeError::Failure(e)) => Err(ws_err(e)),
            Err(tungstenite::HandshakeError::Interrupted(_)) => {
                Err(Error::internal("Websocket handshake interrupted"))
            }
        }
    }

    /// The websocket of one fd of a websocket operation (its async envelope).
    fn op_socket(&self, op: &Value, fd: &str) -> Result<Ws> {
        let id = op["id"].as_str().unwrap_or_default();
        let secret = op["metadata"]["fds"][fd]
            .as_str()
            .ok_or_else(|| Error::internal(format!("The operation has no websocket \"{fd}\"")))?;
        self.websocket(&format!(
            "/1.0/operations/{}/websocket?secret={}",
            enc(id),
            enc(secret)
        ))
    }

    fn op_wait(&self, op: &Value) -> Result<Value> {
        let id = op["id"].as_str().unwrap_or_default();
        let env = self.query_raw(
            "GET",
            &format!("/1.0/operations/{}/wait?timeout=-1", enc(id)),
            None,
        )?;
        super::operation_result(env["metadata"].clone())
    }

    /// `POST .../exec` with websockets; the command's stdio are this process's (or
    /// the fds in `spec`), as with the local backend. Returns the exit code.
    pub(crate) fn exec(&self, name: &str, spec: &ExecSpec) -> Result<i32> {
        if spec.argv.is_empty() {
            return Err(Error::invalid("No command given"));
        }
        let fds = (
            spec.stdin.unwrap_or(0),
            spec.stdout.unwrap_or(1),
            spec.stderr.unwrap_or(2),
        );
        let size = spec.window.or_else(|| term_size(fds.0));
        let env: Config = spec.env.iter().cloned().collect();
        let mut body = json!({
            "command": spec.argv,
            "environment": env,
            "wait-for-websocket": true,
            "interactive": spec.tty,
            "user": spec.uid,
            "group": spec.gid,
            "cwd": spec.cwd.as_ref().map(|c| c.to_string_lossy().into_owned()).unwrap_or_default(),
        });
        if let Some((rows, cols)) = size {
            body["height"] = rows.into();
            body["width"] = cols.into();
        }
        let env = self.query_raw(
            "POST",
            &format!("/1.0/instances/{}/exec", enc(name)),
            Some(&body),
        )?;
        let op = &env["metadata"];
        if spec.tty {
            let ws = self.op_socket(op, "0")?;
            let control = self.op_socket(op, "control")?;
            let _raw = RawTerminal::enter(fds.0);
            let _winch = Winch::install();
            relay_tty(ws, control, fds.0, fds.1, false)?;
        } else {
            let ws0 = self.op_socket(op, "0")?;
            let ws1 = self.op_socket(op, "1")?;
            let ws2 = self.op_socket(op, "2")?;
            let mut control = self.op_socket(op, "control")?;
            let done = std::sync::Arc::new(AtomicBool::new(false));
            let d = done.clone();
            let input = std::thread::spawn(move || pump_in(ws0, fds.0, &d));
            let out = std::thread::spawn(move || pump_out(ws1, fds.1));
            let err = std::thread::spawn(move || pump_out(ws2, fds.2));
            let r1 = out.join().unwrap_or(Ok(()));
            let r2 = err.join().unwrap_or(Ok(()));
            done.store(true, Ordering::SeqCst);
            let _ = input.join();
            let _ = control.close(None);
            let _ = control.flush();
            r1?;
            r2?;
        }
        let op = self.op_wait(op)?;
        op["metadata"]["return"]
            .as_i64()
            .map(|c| c as i32)
            .ok_or_else(|| Error::internal("The exec operation has no exit code"))
    }

    /// `POST .../console`: the terminal attached to the console until ctrl+a q.
    pub(crate) fn console_attach(&self, name: &str) -> Result<()> {
        let mut body = json!({ "type": "console" });
        if let Some((rows, cols)) = term_size(0) {
            body["height"] = rows.into();
            body["width"] = cols.into();
        }
        let env = self.query_raw(
            "POST",
            &format!("/1.0/instances/{}/console", enc(name)),
            Some(&body),
        )?;
        let op = &env["metadata"];
        let ws = self.op_socket(op, "0")?;
        let control = self.op_socket(op, "control")?;
        let _raw = RawTerminal::enter(0);
        let _winch = Winch::install();
        relay_tty(ws, control, 0, 1, true)
    }

    /// Follows `/1.0/events` until `f` returns false.
    pub(crate) fn follow_events(
        &self,
        types: &[&str],
        f: &mut dyn FnMut(Value) -> bool,
    ) -> Result<()> {
        let path = if types.is_empty() {
            "/1.0/events".to_string()
        } else {
            format!("/1.0/events?type={}", enc(&types.join(",")))
        };
        let mut ws = self.websocket(&path)?;
        loop {
            match ws.read() {
                Ok(Message::Text(t)) => {
                    let Ok(ev) = serde_json::from_str::<Value>(t.as_str()) else {
                        continue;
                    };
                    if !f(ev) {
                        let _ = ws.close(None);
                        let _ = ws.flush();
                        return Ok(());
                    }
                }
                Ok(Message::Close(_)) => {}
                Ok(_) => {}
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                    return Err(Error::internal("The server closed the event stream"))
                }
                Err(e) => return Err(ws_err(e)),
            }
        }
    }
}

fn borrow(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: the caller's descriptors stay open for the whole session.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

fn term_size(fd: RawFd) -> Option<(u16, u16)> {
    nix::unistd::isatty(fd)
        .unwrap_or(false)
        .then(|| incus_runtime::winsize_of(fd))
        .flatten()
}

fn write_fd(fd: RawFd, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        match nix::unistd::write(borrow(fd), data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Readable within `ms` milliseconds (or at its end)?
fn readable(fd: RawFd, ms: u16) -> bool {
    let mut p = [PollFd::new(borrow(fd), PollFlags::POLLIN)];
    matches!(poll(&mut p, PollTimeout::from(ms)), Ok(n) if n > 0)
}

fn read_fd(fd: RawFd, buf: &mut [u8]) -> usize {
    loop {
        match nix::unistd::read(fd, buf) {
            Ok(n) => return n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return 0,
        }
    }
}

/// Binary messages to `fd` until the server closes the socket.
fn pump_out(mut ws: Ws, fd: RawFd) -> Result<()> {
    let mut broken = false;
    loop {
        match ws.read() {
            Ok(Message::Binary(b)) if !broken => broken = write_fd(fd, &b).is_err(),
            Ok(Message::Text(t)) if !broken => broken = write_fd(fd, t.as_bytes()).is_err(),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                return Ok(())
            }
            // The server may drop the connection right after its close frame.
            Err(tungstenite::Error::Io(_)) | Err(tungstenite::Error::Protocol(_)) => return Ok(()),
            Err(e) => return Err(ws_err(e)),
        }
    }
}

/// `fd` to binary messages; at its end, a close (the server's EOF for stdin). Stops
/// early when `done` (the command ended without reading all of its input).
fn pump_in(mut ws: Ws, fd: RawFd, done: &AtomicBool) {
    let mut buf = vec![0u8; 32 * 1024];
    while !done.load(Ordering::SeqCst) {
        if !readable(fd, 100) {
            continue;
        }
        let n = read_fd(fd, &mut buf);
        if n == 0 {
            break;
        }
        if ws.send(Message::binary(buf[..n].to_vec())).is_err() {
            return;
        }
    }
    let _ = ws.close(None);
    let _ = ws.flush();
    // Answer the server's close so its side ends cleanly.
    let _ = ws.get_ref().set_read_timeout(Some(Duration::from_secs(5)));
    while ws.read().is_ok() {}
}

static WINCH: AtomicBool = AtomicBool::new(false);

extern "C" fn on_winch(_: libc::c_int) {
    WINCH.store(true, Ordering::SeqCst);
}

/// SIGWINCH noted in a flag while a terminal session runs; the old handler is put back.
struct Winch(Option<nix::sys::signal::SigAction>);

impl Winch {
    fn install() -> Winch {
        use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
        let act = SigAction::new(
            SigHandler::Handler(on_winch),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        // SAFETY: the handler only stores to an atomic.
        Winch(unsafe { sigaction(Signal::SIGWINCH, &act) }.ok())
    }
}

impl Drop for Winch {
    fn drop(&mut self) {
        if let Some(old) = &self.0 {
            // SAFETY: restores the handler that was there before.
            let _ = unsafe { nix::sys::signal::sigaction(nix::sys::signal::Signal::SIGWINCH, old) };
        }
    }
}

/// The terminal in raw mode for the session (when it is one), restored on drop.
struct RawTerminal(Option<(RawFd, nix::sys::termios::Termios)>);

impl RawTerminal {
    fn enter(fd: RawFd) -> RawTerminal {
        if !nix::unistd::isatty(fd).unwrap_or(false) {
            return RawTerminal(None);
        }
        RawTerminal(incus_runtime::raw_mode(fd).ok().map(|t| (fd, t)))
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some((fd, t)) = &self.0 {
            let _ =
                nix::sys::termios::tcsetattr(borrow(*fd), nix::sys::termios::SetArg::TCSANOW, t);
        }
    }
}

/// One pty-like session: input from `fin` to `ws`, output from `ws` to `fout`,
/// window changes on `control`. With `escape`, ctrl+a q detaches (the console's keys).
fn relay_tty(mut ws: Ws, mut control: Ws, fin: RawFd, fout: RawFd, escape: bool) -> Result<()> {
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_millis(10)))
        .map_err(|e| Error::internal(format!("Socket: {e}")))?;
    let mut buf = vec![0u8; 16 * 1024];
    let mut stdin_open = true;
    let mut prev_ctrl_a = false;
    let result = loop {
        if WINCH.swap(false, Ordering::SeqCst) {
            if let Some((rows, cols)) = term_size(fin) {
                let msg = json!({
                    "command": "window-resize",
                    "args": { "width": cols.to_string(), "height": rows.to_string() },
                });
                let _ = control.send(Message::text(msg.to_string()));
            }
        }
        if stdin_open && readable(fin, 0) {
            let n = read_fd(fin, &mut buf);
            if n == 0 {
                // Input ended: the session goes on until the other side ends it. A
                // command reading the pty sees the end as upstream's server makes
                // it: an EOT (ctrl+d) on the terminal.
                stdin_open = false;
                if !escape && ws.send(Message::binary(vec![4u8])).is_err() {
                    break Ok(());
                }
            } else {
                let mut out = Vec::with_capacity(n);
                let mut detach = false;
                for &b in &buf[..n] {
                    if escape && prev_ctrl_a {
                        prev_ctrl_a = false;
                        if b == b'q' {
                            detach = true;
                            break;
                        }
                        out.push(1);
                        if b == 1 {
                            continue;
                        }
                    } else if escape && b == 1 {
                        prev_ctrl_a = true;
                        continue;
                    }
                    out.push(b);
                }
                if !out.is_empty() && ws.send(Message::binary(out)).is_err() {
                    break Ok(());
                }
                if detach {
                    break Ok(());
                }
            }
        }
        match ws.read() {
            Ok(Message::Binary(b)) => {
                let _ = write_fd(fout, &b);
            }
            Ok(Message::Text(t)) => {
                let _ = write_fd(fout, t.as_bytes());
            }
            Ok(_) => {}
            // A timeout, or a signal (SIGWINCH) interrupting the read: carry on.
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                break Ok(())
            }
            Err(tungstenite::Error::Io(_)) | Err(tungstenite::Error::Protocol(_)) => break Ok(()),
            Err(e) => break Err(ws_err(e)),
        }
    };
    let _ = ws.close(None);
    let _ = ws.flush();
    let _ = control.close(None);
    let _ = control.flush();
    result
}
