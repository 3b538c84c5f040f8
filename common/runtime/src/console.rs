//! Console: the monitor drains the pty master into a ring buffer and console.log, and proxies
//! attached clients over `run_dir/console.sock` (several viewers at once; nobody steals the fd).
//!
//! Protocol: the client sends one line, `attach ROWS COLS\n` (then raw bytes both ways) or
//! `log\n` (the monitor replies with the ring buffer and closes).

use crate::exec::set_winsize;
use crate::kernel::{borrow, isatty, sys_err};
use crate::{Error, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::collections::VecDeque;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// In-memory ring of recent console output.
pub(crate) const RING: usize = 128 * 1024;
/// console.log is rotated to console.log.1 beyond this size.
const LOG_MAX: u64 = 1024 * 1024;

pub(crate) struct ConsoleServer {
    listener: UnixListener,
    clients: Vec<UnixStream>,
    ring: VecDeque<u8>,
    cap: usize,
    log_path: PathBuf,
    log: fs::File,
    log_size: u64,
}

impl ConsoleServer {
    pub fn new(sock: &Path, log_dir: &Path, cap: usize) -> Result<Self> {
        let listener = UnixListener::bind(sock).map_err(|e| Error::io(sock, e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::io(sock, e))?;
        let log_path = log_dir.join("console.log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io(&log_path, e))?;
        let log_size = log.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(ConsoleServer {
            listener,
            clients: vec![],
            ring: VecDeque::with_capacity(cap),
            cap,
            log_path,
            log,
            log_size,
        })
    }

    pub fn listener_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    pub fn client_fds(&self) -> Vec<BorrowedFd<'static>> {
        self.clients.iter().map(|c| borrow(c.as_raw_fd())).collect()
    }

    /// Read what is available on the master into ring, log and clients.
    pub fn drain_master(&mut self, master: BorrowedFd) {
        let mut buf = [0u8; 8192];
        loop {
            let mut p = [PollFd::new(master, PollFlags::POLLIN)];
            if !matches!(poll(&mut p, PollTimeout::ZERO), Ok(n) if n > 0)
                || !p[0]
                    .revents()
                    .unwrap_or(PollFlags::empty())
                    .contains(PollFlags::POLLIN)
            {
                return;
            }
            let n = match nix::unistd::read(master.as_raw_fd(), &mut buf) {
                Ok(n) if n > 0 => n,
                _ => return,
            };
            let data = &buf[..n];
            self.push(data);
            // slow viewers lose data rather than block the monitor
            self.clients.retain_mut(|c| match c.write(data) {
                Ok(_) => true,
                Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
            });
        }
    }

    fn push(&mut self, data: &[u8]) {
        for &b in data {
            if self.ring.len() == self.cap {
                self.ring.pop_front();
            }
            self.ring.push_back(b);
        }
        if self.log_size + data.len() as u64 > LOG_MAX {
            let _ = fs::rename(&self.log_path, self.log_path.with_extension("log.1"));
            if let Ok(f) = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log_path)
            {
                self.log = f;
                self.log_size = 0;
            }
        }
        if self.log.write_all(data).is_ok() {
            self.log_size += data.len() as u64;
        }
    }

    /// Accept pending clients; read their request line (they send it right after connect).
    pub fn accept(&mut self, master: BorrowedFd) {
        while let Ok((mut s, _)) = self.listener.accept() {
            let _ = s.set_read_timeout(Some(std::time::Duration::from_millis(500)));
            let mut line = vec![];
            let mut b = [0u8; 1];
            while line.len() < 64 {
                match s.read(&mut b) {
                    Ok(1) if b[0] != b'\n' => line.push(b[0]),
                    _ => break,
                }
            }
            let line = String::from_utf8_lossy(&line).to_string();
            let mut w = line.split_whitespace();
            match w.next() {
                Some("log") => {
                    let (a, b) = self.ring.as_slices();
                    let _ = s.write_all(a).and_then(|_| s.write_all(b));
                }
                Some("attach") => {
                    let rows = w.next().and_then(|x| x.parse().ok()).unwrap_or(0u16);
                    let cols = w.next().and_then(|x| x.parse().ok()).unwrap_or(0u16);
                    if rows > 0 && cols > 0 {
                        set_winsize(master, rows, cols);
                    }
                    let _ = s.set_nonblocking(true);
                    self.clients.push(s);
                }
                _ => {}
            }
        }
    }

    /// Input from a client goes to the console; EOF detaches it.
    pub fn client_input(&mut self, fd: BorrowedFd, master: BorrowedFd) {
        let mut buf = [0u8; 4096];
        let Some(i) = self
            .clients
            .iter()
            .position(|c| c.as_raw_fd() == fd.as_raw_fd())
        else {
            return;
        };
        match self.clients[i].read(&mut buf) {
            Ok(0) => {
                self.clients.remove(i);
            }
            Ok(n) => {
                let _ = nix::unistd::write(master, &buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => {
                self.clients.remove(i);
            }
        }
    }
}

/// Connect to a running container's console: returns a stream carrying console output and
/// accepting input. `size` sets the console window size (rows, cols).
pub fn console_connect(run_dir: &Path, size: Option<(u16, u16)>) -> Result<UnixStream> {
    let p = run_dir.join(crate::state::CONSOLE_SOCK);
    let mut s = UnixStream::connect(&p).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotRunning
        } else {
            Error::io(&p, e)
        }
    })?;
    let (r, c) = size.unwrap_or((0, 0));
    s.write_all(format!("attach {r} {c}\n").as_bytes())
        .map_err(|e| Error::io(&p, e))?;
    Ok(s)
}

/// The monitor's in-memory ring of recent console output (last 128 KiB) of a running
/// container.
pub fn console_ring(run_dir: &Path) -> Result<Vec<u8>> {
    let p = run_dir.join(crate::state::CONSOLE_SOCK);
    let mut s = UnixStream::connect(&p).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotRunning
        } else {
            Error::io(&p, e)
        }
    })?;
    s.write_all(b"log\n").map_err(|e| Error::io(&p, e))?;
    let mut out = vec![];
    s.read_to_end(&mut out).map_err(|e| Error::io(&p, e))?;
    Ok(out)
}

/// Interactive console on the caller's stdin/stdout (raw mode when stdin is a tty) until the
/// escape sequence ctrl+a q, or until the container stops.
pub fn console_attach(run_dir: &Path) -> Result<()> {
    let tty = isatty(0);
    let size = if tty {
        crate::exec::winsize_of(0)
    } else {
        None
    };
    let mut s = console_connect(run_dir, size)?;
    let saved = if tty {
        Some(crate::exec::raw_mode(0)?)
    } else {
        None
    };
    let r = (|| -> Result<()> {
        let mut buf = [0u8; 4096];
        let mut prev_ctrl_a = false;
        loop {
            let stdin = borrow(0);
            let mut p = [
                PollFd::new(s.as_fd(), PollFlags::POLLIN),
                PollFd::new(stdin, PollFlags::POLLIN),
            ];
            match poll(&mut p, PollTimeout::NONE) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(sys_err("poll", e)),
                Ok(_) => {}
            }
            let r0 = p[0].revents().unwrap_or(PollFlags::empty());
            let r1 = p[1].revents().unwrap_or(PollFlags::empty());
            if !r0.is_empty() {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => return Ok(()),
                    Ok(n) => {
                        let mut o = std::io::stdout();
                        let _ = o.write_all(&buf[..n]).and_then(|_| o.flush());
                    }
                }
            }
            if !r1.is_empty() {
                let n = nix::unistd::read(0, &mut buf).unwrap_or(0);
                if n == 0 {
                    return Ok(());
                }
                let mut out = Vec::with_capacity(n);
                for &b in &buf[..n] {
                    if prev_ctrl_a {
                        prev_ctrl_a = false;
                        if b == b'q' {
                            return Ok(());
                        }
                        out.push(1);
                        if b == 1 {
                            continue; // ctrl+a ctrl+a sends one ctrl+a
                        }
                    } else if b == 1 {
                        prev_ctrl_a = true;
                        continue;
                    }
                    out.push(b);
                }
                s.write_all(&out)
                    .map_err(|e| Error::io("console socket", e))?;
            }
        }
    })();
    if let Some(t) = saved {
        let _ = nix::sys::termios::tcsetattr(borrow(0), nix::sys::termios::SetArg::TCSANOW, &t);
    }
    r
}

/// Empties the persisted console output (`DELETE .../console`): the rotated file goes, the
/// live one is truncated (the monitor appends with O_APPEND, so it goes on writing at
/// the new end).
pub fn console_log_clear(log_dir: &Path) -> Result<()> {
    let rotated = log_dir.join("console.log.1");
    match fs::remove_file(&rotated) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&rotated, e)),
    }
    let live = log_dir.join("console.log");
    match fs::OpenOptions::new().write(true).open(&live) {
        Ok(f) => f.set_len(0).map_err(|e| Error::io(&live, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(&live, e)),
    }
}

/// The persisted console output of an instance (console.log.1 then console.log), readable
/// whether or not it runs.
pub fn console_log(log_dir: &Path) -> Result<Vec<u8>> {
    let mut out = vec![];
    for p in [log_dir.join("console.log.1"), log_dir.join("console.log")] {
        match fs::read(&p) {
            Ok(mut d) => out.append(&mut d),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&p, e)),
        }
    }
    Ok(out)
}
