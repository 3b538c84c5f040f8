//! The host side of the agent protocol (`incus_api::agent`): one session at a time per
//! VM (`agent.lock` in the run directory orders them), each opened by a `Hello`
//! handshake that also waits for the agent to come up.

use super::AGENT_SOCK;
use crate::spec::ExecSpec;
use crate::{Error, Result};
use incus_api::agent::{
    int_payload, parse_int, read_frame, write_frame, ExecRequest, FileInfo, FileRequest,
    GuestState, Kind,
};
use std::fs;
use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// A pulled file or directory.
#[derive(Debug, Clone)]
pub struct AgentFile {
    /// Type, mode, owner, entries.
    pub info: FileInfo,
    /// Content of a regular file.
    pub content: Vec<u8>,
}

struct Session {
    s: UnixStream,
    _lock: OwnedFd,
}

fn agent_err(e: impl std::fmt::Display) -> Error {
    Error::Start(format!("VM agent: {e}"))
}

/// How long a command waits for the agent of a VM that is still booting.
fn agent_timeout() -> Duration {
    std::env::var("INCUS_VM_AGENT_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(120))
}

fn lock(run_dir: &Path, deadline: Instant) -> Result<OwnedFd> {
    let p = run_dir.join("agent.lock");
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| Error::io(&p, e))?;
    let fd: OwnedFd = f.into();
    loop {
        // SAFETY: flock on a valid fd.
        if unsafe {
            libc::flock(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                libc::LOCK_EX | libc::LOCK_NB,
            )
        } == 0
        {
            return Ok(fd);
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout("another command holds the VM agent".into()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn connect(run_dir: &Path) -> Result<Session> {
    connect_within(run_dir, agent_timeout())
}

fn connect_within(run_dir: &Path, wait: Duration) -> Result<Session> {
    let deadline = Instant::now() + wait;
    let lock = lock(run_dir, deadline)?;
    let s = UnixStream::connect(run_dir.join(AGENT_SOCK))
        .map_err(|e| agent_err(format!("connect: {e} (is the VM running?)")))?;
    let nonce: [u8; 8] =
        (std::process::id() as u64 ^ crate::kernel::now_unix().rotate_left(20)).to_be_bytes();
    let mut r = s.try_clone().map_err(agent_err)?;
    let mut w = s.try_clone().map_err(agent_err)?;
    // Frames sent before the agent opened its port are lost: say hello until it answers.
    r.set_read_timeout(Some(Duration::from_millis(250)))
        .map_err(agent_err)?;
    loop {
        write_frame(&mut w, Kind::Hello, &nonce).map_err(agent_err)?;
        match read_frame(&mut r) {
            Ok((Kind::Hello, p)) if p == nonce => break,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(agent_err(e)),
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout(
                "VM agent isn't currently running (no answer)".into(),
            ));
        }
    }
    r.set_read_timeout(None).map_err(agent_err)?;
    Ok(Session { s, _lock: lock })
}

impl Session {
    fn send(&self, kind: Kind, payload: &[u8]) -> Result<()> {
        write_frame(&mut &self.s, kind, payload).map_err(agent_err)
    }

    /// The next frame that is not a late `Hello` answer.
    fn recv(&self) -> Result<(Kind, Vec<u8>)> {
        loop {
            let (k, p) = read_frame(&mut &self.s).map_err(agent_err)?;
            match k {
                Kind::Hello => continue,
                Kind::Error => {
                    return Err(Error::Invalid(String::from_utf8_lossy(&p).into_owned()))
                }
                _ => return Ok((k, p)),
            }
        }
    }
}

fn borrowed(fd: i32) -> ManuallyDrop<fs::File> {
    // SAFETY: the caller lends the descriptor for the call; ManuallyDrop never closes it.
    ManuallyDrop::new(unsafe { fs::File::from_raw_fd(fd) })
}

/// Runs a command in the VM through its agent; returns its exit code. stdin is copied
/// to the command until end of file; there is no pty (`tty` runs without one).
pub fn exec(run_dir: &Path, es: &ExecSpec) -> Result<i32> {
    let sess = connect(run_dir)?;
    let mut env: Vec<(String, String)> = vec![
        (
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        ),
        ("LANG".into(), "C.UTF-8".into()),
        (
            "HOME".into(),
            if es.uid == 0 { "/root" } else { "/" }.into(),
        ),
    ];
    for (k, v) in &es.env {
        env.retain(|(k2, _)| k2 != k);
        env.push((k.clone(), v.clone()));
    }
    let req = ExecRequest {
        args: es.argv.clone(),
        env,
        cwd: es
            .cwd
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
        uid: es.uid,
        gid: es.gid,
    };
    sess.send(
        Kind::Exec,
        &serde_json::to_vec(&req).map_err(|e| Error::Invalid(e.to_string()))?,
    )?;
    match sess.recv()? {
        (Kind::Started, _) => {}
        (k, _) => return Err(agent_err(format!("unexpected {k:?}"))),
    }
    // Signals for the command (^C, a kill of the tool) are blocked here, read from a
    // signalfd and sent to the agent, as the container exec passes them on.
    let forwarded = crate::exec::forwarded_signals();
    let old_mask = forwarded
        .thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK)
        .map_err(|e| crate::kernel::sys_err("sigprocmask", e))?;
    let result = exec_session(&sess, es, &forwarded);
    let _ = old_mask.thread_set_mask();
    result
}

fn exec_session(
    sess: &Session,
    es: &ExecSpec,
    forwarded: &nix::sys::signal::SigSet,
) -> Result<i32> {
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    // Two writers (stdin, signals): one lock, so their frames never interleave.
    let w = std::sync::Arc::new(std::sync::Mutex::new(
        sess.s.try_clone().map_err(agent_err)?,
    ));
    let send = |w: &std::sync::Mutex<UnixStream>, kind: Kind, p: &[u8]| -> bool {
        w.lock()
            .map(|mut s| write_frame(&mut *s, kind, p).is_ok())
            .unwrap_or(false)
    };
    if let Ok(sigs) = SignalFd::with_flags(forwarded, SfdFlags::SFD_CLOEXEC) {
        let w = w.clone();
        std::thread::spawn(move || {
            while let Ok(Some(si)) = sigs.read_signal() {
                if !send(&w, Kind::Signal, &int_payload(si.ssi_signo as i32)) {
                    return;
                }
            }
        });
    }
    let stdin_fd = es.stdin.unwrap_or(0);
    std::thread::spawn(move || {
        let mut input = borrowed(stdin_fd);
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if !send(&w, Kind::Stdin, &buf[..n]) {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        send(&w, Kind::Stdin, b"");
    });
    let mut out = borrowed(es.stdout.unwrap_or(1));
    let mut err = borrowed(es.stderr.unwrap_or(2));
    loop {
        match sess.recv()? {
            (Kind::Stdout, p) => {
                let _ = out.write_all(&p);
            }
            (Kind::Stderr, p) => {
                let _ = err.write_all(&p);
            }
            (Kind::Exit, p) => {
                let _ = out.flush();
                return parse_int(&p).ok_or_else(|| agent_err("bad exit frame"));
            }
            _ => {}
        }
    }
}

/// Reads a file (or lists a directory, or reads a link) in the VM.
pub fn file_pull(run_dir: &Path, path: &str) -> Result<AgentFile> {
    let sess = connect(run_dir)?;
    let req = FileRequest {
        path: path.into(),
        ..Default::default()
    };
    sess.send(Kind::Pull, &serde_json::to_vec(&req).unwrap_or_default())?;
    let info: FileInfo = match sess.recv()? {
        (Kind::FileInfo, p) => serde_json::from_slice(&p).map_err(agent_err)?,
        (k, _) => return Err(agent_err(format!("unexpected {k:?}"))),
    };
    let mut content = Vec::new();
    if info.kind == "file" {
        loop {
            match sess.recv()? {
                (Kind::Data, p) if p.is_empty() => break,
                (Kind::Data, p) => content.extend_from_slice(&p),
                (k, _) => return Err(agent_err(format!("unexpected {k:?}"))),
            }
        }
    }
    Ok(AgentFile { info, content })
}

/// Writes a file in the VM (created or truncated; never through a final symlink).
pub fn file_push(
    run_dir: &Path,
    path: &str,
    data: &[u8],
    mode: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Result<()> {
    let sess = connect(run_dir)?;
    let req = FileRequest {
        path: path.into(),
        mode,
        uid,
        gid,
    };
    sess.send(Kind::Push, &serde_json::to_vec(&req).unwrap_or_default())?;
    for chunk in data.chunks(64 * 1024) {
        sess.send(Kind::Data, chunk)?;
    }
    sess.send(Kind::Data, b"")?;
    match sess.recv()? {
        (Kind::Ok, _) => Ok(()),
        (k, _) => Err(agent_err(format!("unexpected {k:?}"))),
    }
}

/// The guest's processes, memory and addresses, from the agent.
pub fn guest_state(run_dir: &Path) -> Result<GuestState> {
    let sess = connect(run_dir)?;
    sess.send(Kind::State, b"")?;
    match sess.recv()? {
        (Kind::StateReply, p) => serde_json::from_slice(&p).map_err(agent_err),
        (k, _) => Err(agent_err(format!("unexpected {k:?}"))),
    }
}

/// [`guest_state`] for a list: `None` at once when the agent is busy with another
/// command or does not answer within half a second (a VM still booting).
pub fn guest_state_now(run_dir: &Path) -> Option<GuestState> {
    let sess = connect_within(run_dir, Duration::from_millis(500)).ok()?;
    sess.s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    sess.send(Kind::State, b"").ok()?;
    match sess.recv().ok()? {
        (Kind::StateReply, p) => serde_json::from_slice(&p).ok(),
        _ => None,
    }
}
