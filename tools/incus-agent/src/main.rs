//! `incus-agent`: runs in a virtual machine (started by the guest's init) and serves the
//! host over the virtio-serial port `org.linuxcontainers.incus` with the framed protocol
//! of `incus_api::agent` (docs/vm.md): exec with stdin/stdout/stderr and exit code, file
//! pull/push, state. One host session at a time; a `Hello` starts a new one and ends
//! whatever the previous session left running.

use incus_api::agent::{
    int_payload, parse_int, read_frame, write_frame, ExecRequest, FileInfo, FileRequest,
    GuestState, Kind, PORT_NAME,
};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Out = Arc<Mutex<File>>;
/// A started command and the sender of its stdin.
type Started = (Arc<Mutex<Child>>, mpsc::Sender<Vec<u8>>);

fn send(out: &Out, kind: Kind, payload: &[u8]) {
    if let Ok(mut f) = out.lock() {
        // A host gone away is not an error of ours: the next Hello starts again.
        let _ = write_frame(&mut *f, kind, payload);
    }
}

struct Session {
    child: Option<Arc<Mutex<Child>>>,
    stdin: Option<mpsc::Sender<Vec<u8>>>,
    push: Option<io::Result<(File, String)>>,
}

impl Session {
    fn new() -> Self {
        Session {
            child: None,
            stdin: None,
            push: None,
        }
    }

    fn end(&mut self) {
        if let Some(c) = self.child.take() {
            if let Ok(mut c) = c.lock() {
                // SAFETY: kill(2) of our own child's process group (setsid in pre_exec).
                unsafe { libc::kill(-(c.id() as i32), libc::SIGKILL) };
                let _ = c.kill();
            }
        }
        self.stdin = None;
        self.push = None;
    }
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("/dev/virtio-ports/{PORT_NAME}"));
    let port = loop {
        match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => break f,
            Err(e) => {
                eprintln!("incus-agent: {path}: {e}");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    };
    let out: Out = Arc::new(Mutex::new(port.try_clone().expect("dup port")));
    let mut input = port;
    let mut sess = Session::new();
    loop {
        match read_frame(&mut input) {
            Ok((kind, payload)) => handle(&out, &mut sess, kind, payload),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                // No host connected (the port reads as end of file): wait for one.
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => {
                eprintln!("incus-agent: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn handle(out: &Out, sess: &mut Session, kind: Kind, payload: Vec<u8>) {
    match kind {
        Kind::Hello => {
            sess.end();
            send(out, Kind::Hello, &payload);
        }
        Kind::Exec => match serde_json::from_slice::<ExecRequest>(&payload) {
            Ok(req) => match exec(out, &req) {
                Ok((child, stdin)) => {
                    sess.child = Some(child);
                    sess.stdin = Some(stdin);
                }
                Err(e) => send(out, Kind::Error, e.as_bytes()),
            },
            Err(e) => send(
                out,
                Kind::Error,
                format!("bad exec request: {e}").as_bytes(),
            ),
        },
        Kind::Stdin => {
            if payload.is_empty() {
                sess.stdin = None;
            } else if let Some(tx) = &sess.stdin {
                let _ = tx.send(payload);
            }
        }
        Kind::Signal => {
            if let (Some(c), Some(sig)) = (&sess.child, parse_int(&payload)) {
                if let Ok(c) = c.lock() {
                    // SAFETY: kill(2) of our child.
                    unsafe { libc::kill(c.id() as i32, sig) };
                }
            }
        }
        Kind::Pull => match serde_json::from_slice::<FileRequest>(&payload) {
            Ok(req) => {
                if let Err(e) = pull(out, &req.path) {
                    send(out, Kind::Error, format!("{}: {e}", req.path).as_bytes());
                }
            }
            Err(e) => send(
                out,
                Kind::Error,
                format!("bad pull request: {e}").as_bytes(),
            ),
        },
        Kind::Push => match serde_json::from_slice::<FileRequest>(&payload) {
            Ok(req) => sess.push = Some(open_push(&req).map(|f| (f, req.path.clone()))),
            Err(e) => send(
                out,
                Kind::Error,
                format!("bad push request: {e}").as_bytes(),
            ),
        },
        Kind::Data => match sess.push.as_mut() {
            Some(Ok((f, path))) if !payload.is_empty() => {
                if let Err(e) = f.write_all(&payload) {
                    let path = path.clone();
                    sess.push = Some(Err(io::Error::new(e.kind(), format!("{path}: {e}"))));
                }
            }
            Some(_) => match sess.push.take() {
                Some(Ok((f, path))) => match f.sync_all() {
                    Ok(()) => send(out, Kind::Ok, b""),
                    Err(e) => send(out, Kind::Error, format!("{path}: {e}").as_bytes()),
                },
                Some(Err(e)) => send(out, Kind::Error, e.to_string().as_bytes()),
                None => {}
            },
            None => {}
        },
        Kind::State => {
            let st = state();
            send(
                out,
                Kind::StateReply,
                &serde_json::to_vec(&st).unwrap_or_default(),
            );
        }
        _ => send(out, Kind::Error, format!("unexpected {kind:?}").as_bytes()),
    }
}

fn exec(out: &Out, req: &ExecRequest) -> Result<Started, String> {
    let Some(argv0) = req.args.first() else {
        return Err("no command".into());
    };
    let prog = if argv0.contains('/') {
        std::path::PathBuf::from(argv0)
    } else {
        // Looked up in the request's PATH, not ours.
        let path = req
            .env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_str())
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        path.split(':')
            .map(|d| std::path::Path::new(d).join(argv0))
            .find(|p| p.is_file())
            .ok_or_else(|| format!("{argv0}: command not found"))?
    };
    let mut cmd = Command::new(prog);
    cmd.arg0(argv0)
        .args(&req.args[1..])
        .env_clear()
        .envs(req.env.iter().cloned())
        .current_dir(if req.cwd.is_empty() {
            "/root"
        } else {
            &req.cwd
        })
        .uid(req.uid)
        .gid(req.gid)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setsid is async-signal-safe; the command gets its own session.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| format!("{argv0}: {e}"))?;
    send(out, Kind::Started, &int_payload(child.id() as i32));
    let mut stdin = child.stdin.take();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        while let Ok(buf) = rx.recv() {
            if let Some(s) = stdin.as_mut() {
                if s.write_all(&buf).is_err() {
                    stdin = None;
                }
            }
        }
        // the sender is gone: stdin closed
    });
    let readers: Vec<_> = [
        (
            child
                .stdout
                .take()
                .map(|r| Box::new(r) as Box<dyn Read + Send>),
            Kind::Stdout,
        ),
        (
            child
                .stderr
                .take()
                .map(|r| Box::new(r) as Box<dyn Read + Send>),
            Kind::Stderr,
        ),
    ]
    .into_iter()
    .filter_map(|(r, k)| r.map(|r| (r, k)))
    .map(|(mut r, k)| {
        let out = out.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => send(&out, k, &buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        })
    })
    .collect();
    let child = Arc::new(Mutex::new(child));
    let waiter = child.clone();
    let out = out.clone();
    std::thread::spawn(move || {
        for r in readers {
            let _ = r.join();
        }
        let code = loop {
            let st = waiter
                .lock()
                .ok()
                .and_then(|mut c| c.try_wait().ok().flatten());
            if let Some(st) = st {
                break st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        send(&out, Kind::Exit, &int_payload(code));
    });
    Ok((child, tx))
}

fn pull(out: &Out, path: &str) -> io::Result<()> {
    let md = fs::symlink_metadata(path)?;
    let mut info = FileInfo {
        kind: "file".into(),
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        entries: Vec::new(),
    };
    if md.file_type().is_symlink() {
        info.kind = "symlink".into();
        info.entries = vec![fs::read_link(path)?.to_string_lossy().into_owned()];
    } else if md.is_dir() {
        info.kind = "directory".into();
        for e in fs::read_dir(path)? {
            info.entries
                .push(e?.file_name().to_string_lossy().into_owned());
        }
        info.entries.sort();
    } else if !md.is_file() {
        return Err(io::Error::other("not a regular file, directory or symlink"));
    }
    let mut f = if info.kind == "file" {
        Some(File::open(path)?)
    } else {
        None
    };
    send(
        out,
        Kind::FileInfo,
        &serde_json::to_vec(&info).unwrap_or_default(),
    );
    if let Some(f) = f.as_mut() {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match f.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => 0,
            };
            if n == 0 {
                break;
            }
            send(out, Kind::Data, &buf[..n]);
        }
        send(out, Kind::Data, b"");
    }
    Ok(())
}

fn open_push(req: &FileRequest) -> io::Result<File> {
    let mode = req.mode.unwrap_or(0o644) & 0o7777;
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&req.path)?;
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    std::os::unix::fs::fchown(&f, Some(req.uid.unwrap_or(0)), Some(req.gid.unwrap_or(0)))?;
    Ok(f)
}

fn state() -> GuestState {
    let mut st = GuestState::default();
    if let Ok(rd) = fs::read_dir("/proc") {
        st.processes = rd
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            })
            .count() as i64;
    }
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| -> i64 {
        meminfo
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
            * 1024
    };
    st.memory_total = field("MemTotal:");
    st.memory_used = st.memory_total - field("MemAvailable:");
    st.interfaces = interfaces();
    st
}

fn interfaces() -> Vec<(String, String, Vec<String>)> {
    let mut res: Vec<(String, String, Vec<String>)> = Vec::new();
    if let Ok(rd) = fs::read_dir("/sys/class/net") {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let mac = fs::read_to_string(e.path().join("address"))
                .unwrap_or_default()
                .trim()
                .to_string();
            res.push((name, mac, Vec::new()));
        }
    }
    let mut ifap: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills a list we free below; each entry is read while it lives.
    unsafe {
        if libc::getifaddrs(&mut ifap) == 0 {
            let mut p = ifap;
            while !p.is_null() {
                let ifa = &*p;
                p = ifa.ifa_next;
                if ifa.ifa_addr.is_null() || ifa.ifa_netmask.is_null() {
                    continue;
                }
                let name = std::ffi::CStr::from_ptr(ifa.ifa_name)
                    .to_string_lossy()
                    .into_owned();
                let addr = match (*ifa.ifa_addr).sa_family as i32 {
                    libc::AF_INET => {
                        let a = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                        let m = &*(ifa.ifa_netmask as *const libc::sockaddr_in);
                        let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
                        format!("{ip}/{}", u32::from_be(m.sin_addr.s_addr).count_ones())
                    }
                    libc::AF_INET6 => {
                        let a = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                        let m = &*(ifa.ifa_netmask as *const libc::sockaddr_in6);
                        let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
                        let bits: u32 = m.sin6_addr.s6_addr.iter().map(|b| b.count_ones()).sum();
                        format!("{ip}/{bits}")
                    }
                    _ => continue,
                };
                if let Some(e) = res.iter_mut().find(|e| e.0 == name) {
                    e.2.push(addr);
                }
            }
            libc::freeifaddrs(ifap);
        }
    }
    res.sort();
    res
}
