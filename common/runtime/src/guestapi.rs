//! The guest API: upstream's devIncus (`/dev/incus/sock` inside), served by the monitor.
//!
//! The tools publish what the guest may see into `RUN_DIR/guestapi.json` ([`guest_publish`]:
//! the `user.*` and `cloud-init.*` keys, the devices, the flags) and signal the monitor
//! (`DATA_CHANGED` through its pidfd), which re-reads the file and turns the differences into
//! `config` and `device` events for the `/1.0/events` listeners. The socket is `RUN_DIR/guestapi/sock`
//! (0666 in a 0755 directory owned by host root), bind-mounted on `/dev/incus` inside.
//!
//! Only the container's processes are answered, and only its root, as upstream: the peer's
//! pid (`SO_PEERCRED`) must be in the container's pid namespace or below its init, and its
//! uid the container's root. A small poll-driven HTTP/1.1 server: no threads, bounded buffers.

use crate::kernel::{now_unix, write_atomic};
use crate::{Error, Result};
use nix::poll::PollFlags;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// What the tools publish for the guest API (`RUN_DIR/guestapi.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GuestData {
    /// `security.guestapi` (default true): false answers 403 and removes the socket.
    pub enabled: bool,
    /// `security.guestapi.images`: image export allowed.
    #[serde(default)]
    pub images: bool,
    /// The expanded `user.*` and `cloud-init.*` keys.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// The expanded devices (NIC `hwaddr` filled from volatile, as upstream).
    #[serde(default)]
    pub devices: BTreeMap<String, BTreeMap<String, String>>,
    /// cloud-init's instance-id (`volatile.cloud-init.instance-id`, else the name).
    #[serde(default)]
    pub instance_id: String,
    /// Instance name (meta-data's local-hostname).
    #[serde(default)]
    pub name: String,
    /// `location` of `GET /1.0`; empty = this host's name.
    #[serde(default)]
    pub location: String,
    /// argv of the host helper that records what the guest reports (`ready true|false`)
    /// and streams image exports (`export FINGERPRINT`, the connection as stdout).
    #[serde(default)]
    pub hook: Vec<String>,
    /// Environment of the helper.
    #[serde(default)]
    pub hook_env: Vec<(String, String)>,
}

pub(crate) const DATA: &str = "guestapi.json";
pub(crate) const DIR: &str = "guestapi";
pub(crate) const READY: &str = "guest-ready";
const SOCK: &str = "sock";
// Bounds on what a guest can make the monitor hold: connections, a request being read,
// answers it does not read, helpers running at once.
const MAX_CONNS: usize = 32;
const MAX_REQUEST: usize = 16 * 1024;
const MAX_PENDING_OUT: usize = 64 * 1024;
const MAX_EXPORTS: usize = 2;

/// Publishes what the guest API of a running (or starting) container serves; the monitor
/// picks it up at once (signalled through its pidfd) and tells event listeners what changed.
pub fn guest_publish(run_dir: &Path, data: &GuestData) -> Result<()> {
    fs::create_dir_all(run_dir).map_err(|e| Error::io(run_dir, e))?;
    let v = serde_json::to_vec(data).map_err(|e| Error::Invalid(e.to_string()))?;
    write_atomic(&run_dir.join(DATA), &v)?;
    // Tell a running monitor (through its pidfd: never a recycled pid).
    if let Ok(st) = crate::state::read_state(run_dir) {
        if let Some(fd) = st.running.as_ref().and_then(crate::state::monitor_pidfd) {
            let _ = crate::kernel::pidfd_send_signal(fd.as_fd(), DATA_CHANGED);
        }
    }
    Ok(())
}

/// The signal that tells a monitor its guest data changed.
pub(crate) const DATA_CHANGED: i32 = libc::SIGUSR2;

/// Whether the guest reported `Ready` (`PATCH /1.0`) since its init started.
pub fn guest_ready(run_dir: &Path) -> bool {
    run_dir.join(READY).exists() && crate::state::monitor_alive(run_dir)
}

/// Removes what the guest API leaves in a run directory (monitor gone).
pub(crate) fn cleanup(run_dir: &Path) {
    let _ = fs::remove_file(run_dir.join(READY));
    let _ = fs::remove_dir_all(run_dir.join(DIR));
}

/// In the child, before pivot_root: the socket directory on `/dev/incus` (a separate
/// mount from the storage and device ones). `tgt` is `incus` in the container's own
/// `/dev` tmpfs, reached through its descriptor (nothing in it comes from the guest).
pub(crate) fn mount_in_child(spec: &crate::spec::ContainerSpec, tgt: &Path) -> Result<()> {
    if !spec.guestapi {
        return Ok(());
    }
    let src = spec.run_dir.join(DIR);
    fs::create_dir_all(tgt).map_err(|e| Error::io(tgt, e))?;
    nix::mount::mount(
        Some(&src),
        tgt,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| crate::kernel::sys_err(format!("bind {} on /dev/incus", src.display()), e))
}

enum Mode {
    Http,
    /// An event listener: the types it wants; websocket framing or a plain stream.
    Events {
        types: Vec<String>,
        ws: bool,
    },
}

struct Conn {
    s: UnixStream,
    pid: i32,
    uid: u32,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    mode: Mode,
    close: bool,
}

/// The guest API server of one monitor.
pub(crate) struct GuestServer {
    run_dir: PathBuf,
    listener: Option<UnixListener>,
    data: GuestData,
    conns: Vec<Conn>,
    init_pid: i32,
    root_uid: u32,
    mounted: bool,
    /// The ready helper running (its pidfd), the state it records, the state wanted.
    ready_hook: Option<OwnedFd>,
    ready_sent: bool,
    ready_wanted: bool,
    /// Export helpers running (pidfds).
    exports: Vec<OwnedFd>,
}

struct Resp {
    code: u16,
    ctype: &'static str,
    body: Vec<u8>,
}

fn json(v: &serde_json::Value) -> Resp {
    let mut body = serde_json::to_vec(v).unwrap_or_default();
    body.push(b'\n');
    Resp {
        code: 200,
        ctype: "application/json",
        body,
    }
}

fn raw(s: &str) -> Resp {
    Resp {
        code: 200,
        ctype: "application/octet-stream",
        body: s.as_bytes().to_vec(),
    }
}

/// Go's `http.Error`: text, a newline.
fn err(code: u16, msg: &str) -> Resp {
    Resp {
        code,
        ctype: "text/plain; charset=utf-8",
        body: format!("{msg}\n").into_bytes(),
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        101 => "Switching Protocols",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Request Entity Too Large",
        _ => "Internal Server Error",
    }
}

fn render(r: &Resp, close: bool) -> Vec<u8> {
    let mut h = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
        r.code,
        reason(r.code),
        r.ctype,
        r.body.len()
    );
    if r.code != 200 {
        h.push_str("X-Content-Type-Options: nosniff\r\n");
    }
    if close {
        h.push_str("Connection: close\r\n");
    }
    h.push_str("\r\n");
    let mut v = h.into_bytes();
    v.extend_from_slice(&r.body);
    v
}

fn pct_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn ns_id(pid: i32) -> Option<(u64, u64)> {
    fs::metadata(format!("/proc/{pid}/ns/pid"))
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

fn ppid(pid: i32) -> Option<i32> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("PPid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Is `pid` (a host pid) one of the container's processes: in init's pid namespace, or
/// a descendant of init (nested pid namespaces)?
fn in_container(pid: i32, init: i32) -> bool {
    if pid <= 0 || init <= 0 {
        return false;
    }
    if let (Some(a), Some(b)) = (ns_id(pid), ns_id(init)) {
        if a == b {
            return true;
        }
    }
    let mut p = pid;
    for _ in 0..128 {
        if p == init {
            return true;
        }
        match ppid(p) {
            Some(q) if q > 1 => p = q,
            _ => return false,
        }
    }
    false
}

/// Go's RFC 3339 with nanoseconds, UTC.
fn timestamp() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // civil from days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_nanos()
    )
}

fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn ws_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x81u8];
    match payload.len() {
        n if n < 126 => f.push(n as u8),
        n if n < 65536 => {
            f.push(126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(payload);
    f
}

impl GuestServer {
    /// Reads the published data, creates the socket (when enabled) and the watch.
    pub fn new(spec: &crate::spec::ContainerSpec) -> GuestServer {
        let run_dir = spec.run_dir.clone();
        let _ = fs::remove_file(run_dir.join(READY));
        let data = read_data(&run_dir).unwrap_or_default();
        let mut g = GuestServer {
            root_uid: match spec.idmap.filter(|_| !spec.privileged) {
                Some(m) => m.host_id(0),
                None => 0,
            },
            run_dir,
            listener: None,
            data,
            conns: vec![],
            init_pid: 0,
            mounted: spec.guestapi,
            ready_hook: None,
            ready_sent: false,
            ready_wanted: false,
            exports: vec![],
        };
        let _ = fs::remove_dir_all(g.run_dir.join(DIR));
        if spec.guestapi {
            let d = g.run_dir.join(DIR);
            if fs::create_dir(&d).is_ok() {
                let _ = fs::set_permissions(&d, fs::Permissions::from_mode(0o755));
            }
            if g.data.enabled {
                g.listen();
            }
        }
        g
    }

    fn listen(&mut self) {
        let p = self.run_dir.join(DIR).join(SOCK);
        let _ = fs::remove_file(&p);
        match UnixListener::bind(&p) {
            Ok(l) => {
                let _ = l.set_nonblocking(true);
                let _ = fs::set_permissions(&p, fs::Permissions::from_mode(0o666));
                self.listener = Some(l);
            }
            Err(e) => eprintln!("guest API socket {}: {e}", p.display()),
        }
    }

    fn unlisten(&mut self) {
        self.listener = None;
        self.conns.clear();
        let _ = fs::remove_file(self.run_dir.join(DIR).join(SOCK));
    }

    /// The container's init (set after each launch).
    pub fn set_init(&mut self, pid: i32) {
        self.init_pid = pid;
        if fs::remove_file(self.run_dir.join(READY)).is_ok() {
            self.want_ready(false);
        }
    }

    /// Descriptors to poll, with the events wanted.
    pub fn poll_fds(&self) -> Vec<(RawFd, PollFlags)> {
        let mut v = vec![];
        if let Some(l) = &self.listener {
            v.push((l.as_raw_fd(), PollFlags::POLLIN));
        }
        for h in self.ready_hook.iter().chain(&self.exports) {
            v.push((h.as_raw_fd(), PollFlags::POLLIN));
        }
        for c in &self.conns {
            let mut f = PollFlags::POLLIN;
            if !c.out.is_empty() {
                f |= PollFlags::POLLOUT;
            }
            v.push((c.s.as_raw_fd(), f));
        }
        v
    }

    /// One descriptor from [`Self::poll_fds`] is ready.
    pub fn ready_fd(&mut self, fd: RawFd, rev: PollFlags) {
        if self.listener.as_ref().map(|l| l.as_raw_fd()) == Some(fd) {
            self.accept();
        } else if self.ready_hook.as_ref().map(|h| h.as_raw_fd()) == Some(fd) {
            // the helper ended (the monitor's reaper collects it): record what changed since
            self.ready_hook = None;
            let w = self.ready_wanted;
            self.want_ready(w);
        } else if let Some(i) = self.exports.iter().position(|h| h.as_raw_fd() == fd) {
            self.exports.swap_remove(i);
        } else if let Some(i) = self.conns.iter().position(|c| c.s.as_raw_fd() == fd) {
            let keep = self.on_conn(i, rev);
            if !keep {
                self.conns.swap_remove(i);
            }
        }
    }

    /// Removes the socket and the ready mark (the monitor is exiting).
    pub fn shutdown(&mut self) {
        self.unlisten();
        cleanup(&self.run_dir);
    }

    fn accept(&mut self) {
        let Some(l) = &self.listener else { return };
        while let Ok((s, _)) = l.accept() {
            if self.conns.len() >= MAX_CONNS {
                continue; // dropped: closed at once
            }
            let _ = s.set_nonblocking(true);
            let (pid, uid) =
                nix::sys::socket::getsockopt(&s, nix::sys::socket::sockopt::PeerCredentials)
                    .map(|c| (c.pid(), c.uid()))
                    .unwrap_or((0, u32::MAX));
            self.conns.push(Conn {
                s,
                pid,
                uid,
                inbuf: vec![],
                out: vec![],
                mode: Mode::Http,
                close: false,
            });
        }
    }

    /// The monitor got [`DATA_CHANGED`]: a tool published new data; re-read it and tell
    /// the event listeners what changed. A signal rather than inotify: closing an
    /// inotify instance waits for an RCU grace period (~15 ms), paid at every exit.
    pub fn data_changed(&mut self) {
        if let Ok(d) = read_data(&self.run_dir) {
            self.update(d);
        }
    }

    fn update(&mut self, new: GuestData) {
        let old = std::mem::replace(&mut self.data, new);
        if old.enabled && !self.data.enabled {
            self.unlisten();
        } else if !old.enabled && self.data.enabled && self.mounted && self.listener.is_none() {
            self.listen();
        }
        let mut events = vec![];
        let keys: std::collections::BTreeSet<&String> =
            old.config.keys().chain(self.data.config.keys()).collect();
        for k in keys {
            let (a, b) = (old.config.get(k), self.data.config.get(k));
            if a != b && k.starts_with("user.") {
                events.push((
                    "config",
                    serde_json::json!({
                        "key": k,
                        "old_value": a.cloned().unwrap_or_default(),
                        "value": b.cloned().unwrap_or_default(),
                    }),
                ));
            }
        }
        let dev = |action: &str, name: &str, c: &BTreeMap<String, String>| {
            (
                "device",
                serde_json::json!({"action": action, "config": c, "name": name}),
            )
        };
        for (k, c) in &old.devices {
            if !self.data.devices.contains_key(k) {
                events.push(dev("removed", k, c));
            }
        }
        for (k, c) in &self.data.devices {
            if old.devices.get(k).is_some_and(|o| o != c) {
                events.push(dev("updated", k, c));
            }
        }
        for (k, c) in &self.data.devices {
            if !old.devices.contains_key(k) {
                events.push(dev("added", k, c));
            }
        }
        for (t, md) in events {
            self.broadcast(t, &md);
        }
    }

    fn broadcast(&mut self, t: &str, metadata: &serde_json::Value) {
        let ev = serde_json::json!({"type": t, "timestamp": timestamp(), "metadata": metadata});
        let mut line = serde_json::to_vec(&ev).unwrap_or_default();
        line.push(b'\n');
        let mut gone = vec![];
        for (i, c) in self.conns.iter_mut().enumerate() {
            if let Mode::Events { types, ws } = &c.mode {
                if !types.iter().any(|x| x == t) {
                    continue;
                }
                if *ws {
                    c.out.extend(ws_frame(&line));
                } else {
                    c.out.extend_from_slice(&line);
                }
                if c.out.len() > MAX_PENDING_OUT || !flush(c) {
                    gone.push(i);
                }
            }
        }
        for i in gone.into_iter().rev() {
            self.conns.swap_remove(i);
        }
    }

    /// Reads and answers; false drops the connection.
    fn on_conn(&mut self, i: usize, rev: PollFlags) -> bool {
        if rev.contains(PollFlags::POLLOUT) && !flush(&mut self.conns[i]) {
            return false;
        }
        if rev.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
            let mut buf = [0u8; 4096];
            loop {
                match self.conns[i].s.read(&mut buf) {
                    Ok(0) => return false,
                    Ok(n) => {
                        let c = &mut self.conns[i];
                        if matches!(c.mode, Mode::Events { .. }) {
                            // a listener only ever sends close/ping frames: ignored
                            continue;
                        }
                        c.inbuf.extend_from_slice(&buf[..n]);
                        if c.inbuf.len() > MAX_REQUEST {
                            let r = render(&err(413, "request too large"), true);
                            c.out.extend(r);
                            c.close = true;
                            c.inbuf.clear();
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => return false,
                }
            }
        }
        // pipelined requests wait while an answer is unread
        while matches!(self.conns[i].mode, Mode::Http)
            && !self.conns[i].close
            && self.conns[i].out.len() < MAX_PENDING_OUT
        {
            match self.one_request(i) {
                Some(true) => continue,
                Some(false) => return false,
                None => break,
            }
        }
        let c = &mut self.conns[i];
        if !flush(c) {
            return false;
        }
        !(c.close && c.out.is_empty())
    }

    /// Parses and answers one request from the buffer: None = incomplete, Some(false) =
    /// drop the connection (handed to the helper, or unparsable).
    fn one_request(&mut self, i: usize) -> Option<bool> {
        let c = &mut self.conns[i];
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        let hlen = match req.parse(&c.inbuf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return None,
            Err(_) => {
                c.out.extend(render(&err(400, "bad request"), true));
                c.close = true;
                return Some(true);
            }
        };
        let method = req.method.unwrap_or("").to_string();
        let target = req.path.unwrap_or("").to_string();
        let hdr = |n: &str| {
            req.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(n))
                .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
        };
        let clen: usize = hdr("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let close = hdr("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
            || req.version == Some(0);
        let upgrade = hdr("upgrade");
        let ws_key = hdr("sec-websocket-key");
        if hlen + clen > MAX_REQUEST {
            c.out.extend(render(&err(413, "request too large"), true));
            c.close = true;
            return Some(true);
        }
        if c.inbuf.len() < hlen + clen {
            return None;
        }
        let body = c.inbuf[hlen..hlen + clen].to_vec();
        c.inbuf.drain(..hlen + clen);
        c.close |= close;
        let (pid, uid) = (c.pid, c.uid);

        // access control, as upstream's hoistReq
        if !in_container(pid, self.init_pid) {
            let c = &mut self.conns[i];
            c.out
                .extend(render(&err(500, "pid not in container?"), c.close));
            return Some(true);
        }
        if uid != self.root_uid {
            let c = &mut self.conns[i];
            c.out.extend(render(
                &err(401, "Access denied for non-root user"),
                c.close,
            ));
            return Some(true);
        }
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let forbidden = || err(403, "not authorized");
        let on = self.data.enabled;
        let resp = match path {
            "/" => json(&serde_json::json!(["/1.0"])),
            "/1.0" => match method.as_str() {
                "GET" => {
                    let location = if self.data.location.is_empty() {
                        nix::unistd::gethostname()
                            .map(|h| h.to_string_lossy().into_owned())
                            .unwrap_or_default()
                    } else {
                        self.data.location.clone()
                    };
                    let state = if self.run_dir.join(READY).exists() {
                        "Ready"
                    } else {
                        "Started"
                    };
                    json(&serde_json::json!({
                        "state": state,
                        "api_version": "1.0",
                        "instance_type": "container",
                        "location": location,
                    }))
                }
                "PATCH" if !on => forbidden(),
                "PATCH" => self.patch(&body),
                m => err(405, &format!("method {m:?} not allowed")),
            },
            _ if !on => forbidden(),
            "/1.0/config" => json(&serde_json::json!(self
                .data
                .config
                .keys()
                .map(|k| format!("/1.0/config/{k}"))
                .collect::<Vec<_>>())),
            "/1.0/meta-data" => raw(&format!(
                "#cloud-config\ninstance-id: {}\nlocal-hostname: {}\n{}",
                self.data.instance_id,
                self.data.name,
                self.data
                    .config
                    .get("user.meta-data")
                    .map(String::as_str)
                    .unwrap_or("")
            )),
            "/1.0/devices" => json(&serde_json::json!(self.data.devices)),
            "/1.0/events" => {
                let mut types: Vec<String> = query
                    .split('&')
                    .filter_map(|kv| kv.strip_prefix("type="))
                    .filter_map(pct_decode)
                    .next()
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| "config,device".into())
                    .split(',')
                    .map(str::to_string)
                    .collect();
                types.retain(|t| !t.is_empty());
                let c = &mut self.conns[i];
                if upgrade.as_deref() == Some("websocket") {
                    let Some(key) = ws_key else {
                        c.out.extend(render(&err(400, "Bad Request"), true));
                        c.close = true;
                        return Some(true);
                    };
                    use sha1::Digest;
                    let mut h = sha1::Sha1::new();
                    h.update(key.as_bytes());
                    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
                    let accept = b64(&h.finalize());
                    c.out.extend(
                        format!(
                            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                        )
                        .into_bytes(),
                    );
                    c.mode = Mode::Events { types, ws: true };
                } else {
                    // upstream's long-polling fallback: one header block, then JSON lines
                    c.out.extend_from_slice(
                        b"HTTP/1.1 200 OK\nConnection: keep-alive\nContent-Type: application/json\nX-Content-Type-Options: nosniff\n\n",
                    );
                    c.mode = Mode::Events { types, ws: false };
                }
                c.inbuf.clear();
                return Some(true);
            }
            p if p.starts_with("/1.0/config/") => match pct_decode(&p["/1.0/config/".len()..]) {
                None => err(400, "bad request"),
                Some(k) if !k.starts_with("user.") && !k.starts_with("cloud-init.") => forbidden(),
                Some(k) => match self.data.config.get(&k) {
                    Some(v) => raw(v),
                    None => err(404, "not found"),
                },
            },
            p if p.starts_with("/1.0/images/") && p.ends_with("/export") => {
                let fp = &p["/1.0/images/".len()..p.len() - "/export".len()];
                if !self.data.images {
                    forbidden()
                } else if fp.is_empty()
                    || fp.len() > 64
                    || !fp.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    err(404, &format!("Image {fp:?} not found"))
                } else if self.exports.len() >= MAX_EXPORTS {
                    err(500, "too many image exports at once")
                } else {
                    // the helper answers on the connection itself
                    let s = self.conns[i].s.try_clone().ok();
                    let h = s.and_then(|s| {
                        let _ = s.set_nonblocking(false);
                        self.hook(&["export", fp], Some(s.into()))
                    });
                    match h {
                        Some(h) => {
                            self.exports.push(h);
                            return Some(false);
                        }
                        None => err(500, "internal server error"),
                    }
                }
            }
            _ => err(404, "404 page not found"),
        };
        let c = &mut self.conns[i];
        c.out.extend(render(&resp, c.close));
        Some(true)
    }

    fn patch(&mut self, body: &[u8]) -> Resp {
        #[derive(Deserialize)]
        struct Put {
            #[serde(default)]
            state: String,
        }
        let put: Put = match serde_json::from_slice(body) {
            Ok(p) => p,
            Err(e) => return err(400, &e.to_string()),
        };
        let ready = match put.state.as_str() {
            "Ready" => true,
            "Started" => false,
            s => return err(400, &format!("Invalid state {s:?}")),
        };
        let p = self.run_dir.join(READY);
        if ready {
            if let Err(e) = fs::write(&p, now_unix().to_string()) {
                return err(500, &e.to_string());
            }
        } else {
            let _ = fs::remove_file(&p);
        }
        self.want_ready(ready);
        raw("")
    }

    /// Records the guest's state on the host through the helper: one helper at a time,
    /// only for a change, the latest wish last (a guest toggling its state cannot make
    /// the monitor spawn helpers faster than they finish).
    fn want_ready(&mut self, ready: bool) {
        self.ready_wanted = ready;
        if self.ready_hook.is_some() || self.ready_sent == ready {
            return;
        }
        self.ready_hook = self.hook(&["ready", if ready { "true" } else { "false" }], None);
        if self.ready_hook.is_some() {
            self.ready_sent = ready;
        }
    }

    /// Starts the host helper; returns its pidfd (the monitor's reaper collects it).
    fn hook(&self, args: &[&str], stdout: Option<OwnedFd>) -> Option<OwnedFd> {
        let (prog, rest) = self.data.hook.split_first()?;
        let mut cmd = std::process::Command::new(prog);
        cmd.args(rest)
            .args(args)
            .envs(self.data.hook_env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null());
        match stdout {
            Some(fd) => cmd.stdout(std::process::Stdio::from(fd)),
            None => cmd.stdout(std::process::Stdio::null()),
        };
        match cmd.spawn() {
            // not reaped before the next poll: the pid is still this child's
            Ok(c) => crate::kernel::pidfd_open(c.id() as i32).ok(),
            Err(e) => {
                eprintln!("guest API helper {prog}: {e}");
                None
            }
        }
    }
}

/// Writes what is pending without blocking; false when the peer is gone.
fn flush(c: &mut Conn) -> bool {
    while !c.out.is_empty() {
        match c.s.write(&c.out) {
            Ok(0) => return false,
            Ok(n) => {
                c.out.drain(..n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    true
}

fn read_data(run_dir: &Path) -> Result<GuestData> {
    let p = run_dir.join(DATA);
    let s = incus_sys::fsutil::read_small_bytes(&p).map_err(|e| Error::io(&p, e))?;
    serde_json::from_slice(&s).map_err(|e| Error::State {
        path: p,
        msg: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_and_time() {
        assert_eq!(super::b64(b"hello"), "aGVsbG8=");
        assert_eq!(super::b64(b"hi!"), "aGkh");
        assert_eq!(super::b64(b"a"), "YQ==");
        let t = super::timestamp();
        assert_eq!(t.len(), "2026-12-04T16:36:46.123456789Z".len(), "{t}");
        assert_eq!(super::pct_decode("user.a%2Fb").as_deref(), Some("user.a/b"));
        assert_eq!(super::pct_decode("%zz"), None);
    }
}
