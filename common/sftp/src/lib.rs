//! An SFTP server (protocol version 3, draft-ietf-secsh-filexfer-02, with OpenSSH's
//! argument order for SYMLINK) on one instance's rootfs: what the REST server speaks on
//! `GET /1.0/instances/NAME/sftp` after `101 Switching Protocols`, and what upstream's
//! client (every `incus file` command in 6.0, through pkg/sftp) talks to.
//!
//! Synchronous, one request at a time, on any byte stream. Every path goes through
//! [`Rootfs`] (`openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` and `*at` calls on
//! one name), so `..`, absolute and relative symlinks planted by the guest never reach
//! a host file outside the rootfs. uid/gid are the guest's (the rootfs is unshifted).

use incus_core::files::{clean_bytes, Rootfs, SetAttrs};
use std::collections::HashMap;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;

const VERSION: u32 = 3;

// Packet types.
const FXP_INIT: u8 = 1;
const FXP_VERSION: u8 = 2;
const FXP_OPEN: u8 = 3;
const FXP_CLOSE: u8 = 4;
const FXP_READ: u8 = 5;
const FXP_WRITE: u8 = 6;
const FXP_LSTAT: u8 = 7;
const FXP_FSTAT: u8 = 8;
const FXP_SETSTAT: u8 = 9;
const FXP_FSETSTAT: u8 = 10;
const FXP_OPENDIR: u8 = 11;
const FXP_READDIR: u8 = 12;
const FXP_REMOVE: u8 = 13;
const FXP_MKDIR: u8 = 14;
const FXP_RMDIR: u8 = 15;
const FXP_REALPATH: u8 = 16;
const FXP_STAT: u8 = 17;
const FXP_RENAME: u8 = 18;
const FXP_READLINK: u8 = 19;
const FXP_SYMLINK: u8 = 20;
const FXP_STATUS: u8 = 101;
const FXP_HANDLE: u8 = 102;
const FXP_DATA: u8 = 103;
const FXP_NAME: u8 = 104;
const FXP_ATTRS: u8 = 105;
const FXP_EXTENDED: u8 = 200;
const FXP_EXTENDED_REPLY: u8 = 201;

// Status codes.
const FX_OK: u32 = 0;
const FX_EOF: u32 = 1;
const FX_NO_SUCH_FILE: u32 = 2;
const FX_PERMISSION_DENIED: u32 = 3;
const FX_FAILURE: u32 = 4;
const FX_BAD_MESSAGE: u32 = 5;
const FX_OP_UNSUPPORTED: u32 = 8;

// Attribute flags.
const ATTR_SIZE: u32 = 0x1;
const ATTR_UIDGID: u32 = 0x2;
const ATTR_PERMISSIONS: u32 = 0x4;
const ATTR_ACMODTIME: u32 = 0x8;
const ATTR_EXTENDED: u32 = 0x8000_0000;

// Open flags.
const FXF_READ: u32 = 0x1;
const FXF_WRITE: u32 = 0x2;
const FXF_APPEND: u32 = 0x4;
const FXF_CREAT: u32 = 0x8;
const FXF_TRUNC: u32 = 0x10;
const FXF_EXCL: u32 = 0x20;

/// The largest packet accepted: a 1 MiB write plus its header (pkg/sftp sends 32 KiB
/// by default and upstream's client raises it to at most a few hundred KiB).
const MAX_PACKET: usize = (1 << 20) + 1024;
/// The largest read answered at once (a client asks again for the rest).
const MAX_READ: u32 = 1 << 20;
/// Open handles per session: a client cannot exhaust the server's descriptors.
const MAX_HANDLES: usize = 256;
/// Names per READDIR answer.
const DIR_BATCH: usize = 128;

/// Extensions announced in VERSION.
const EXTENSIONS: [(&str, &str); 4] = [
    ("posix-rename@openssh.com", "1"),
    ("statvfs@openssh.com", "2"),
    ("hardlink@openssh.com", "1"),
    ("fsync@openssh.com", "1"),
];

enum Handle {
    File(std::fs::File),
    Dir {
        entries: Vec<(Vec<u8>, libc::stat)>,
        pos: usize,
    },
}

/// A failed request: a status code and a message.
struct Status(u32, String);

impl From<io::Error> for Status {
    fn from(e: io::Error) -> Status {
        let code = match e.raw_os_error() {
            Some(libc::ENOENT) => FX_NO_SUCH_FILE,
            Some(libc::EACCES) | Some(libc::EPERM) => FX_PERMISSION_DENIED,
            _ => FX_FAILURE,
        };
        // The kernel's text without Rust's " (os error N)".
        let text = e.to_string();
        let text = match text.rfind(" (os error ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        Status(code, text)
    }
}

fn bad() -> Status {
    Status(FX_BAD_MESSAGE, "malformed request".into())
}

/// Reads the fields of one packet.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn u32(&mut self) -> Result<u32, Status> {
        let (h, t) = self.0.split_first_chunk::<4>().ok_or_else(bad)?;
        self.0 = t;
        Ok(u32::from_be_bytes(*h))
    }

    fn u64(&mut self) -> Result<u64, Status> {
        let (h, t) = self.0.split_first_chunk::<8>().ok_or_else(bad)?;
        self.0 = t;
        Ok(u64::from_be_bytes(*h))
    }

    fn bytes(&mut self) -> Result<&'a [u8], Status> {
        let n = self.u32()? as usize;
        if n > self.0.len() {
            return Err(bad());
        }
        let (h, t) = self.0.split_at(n);
        self.0 = t;
        Ok(h)
    }

    fn attrs(&mut self) -> Result<Attrs, Status> {
        let flags = self.u32()?;
        let mut a = Attrs::default();
        if flags & ATTR_SIZE != 0 {
            a.size = Some(self.u64()?);
        }
        if flags & ATTR_UIDGID != 0 {
            a.owner = Some((self.u32()?, self.u32()?));
        }
        if flags & ATTR_PERMISSIONS != 0 {
            a.mode = Some(self.u32()?);
        }
        if flags & ATTR_ACMODTIME != 0 {
            a.times = Some((self.u32()? as i64, self.u32()? as i64));
        }
        if flags & ATTR_EXTENDED != 0 {
            for _ in 0..self.u32()? {
                self.bytes()?;
                self.bytes()?;
            }
        }
        Ok(a)
    }
}

type Attrs = SetAttrs;

/// Builds one answer.
struct Out(Vec<u8>);

impl Out {
    fn new(kind: u8, id: Option<u32>) -> Out {
        let mut o = Out(vec![0, 0, 0, 0, kind]);
        if let Some(id) = id {
            o.u32(id);
        }
        o
    }

    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }

    fn stat(&mut self, st: &libc::stat) {
        self.u32(ATTR_SIZE | ATTR_UIDGID | ATTR_PERMISSIONS | ATTR_ACMODTIME);
        self.u64(st.st_size as u64);
        self.u32(st.st_uid);
        self.u32(st.st_gid);
        // With the type bits: clients tell directories and links apart by them.
        self.u32(st.st_mode);
        self.u32(st.st_atime as u32);
        self.u32(st.st_mtime as u32);
    }

    fn finish(mut self) -> Vec<u8> {
        let n = (self.0.len() - 4) as u32;
        self.0[..4].copy_from_slice(&n.to_be_bytes());
        self.0
    }
}

fn status(id: u32, code: u32, msg: &str) -> Vec<u8> {
    let mut o = Out::new(FXP_STATUS, Some(id));
    o.u32(code);
    o.bytes(msg.as_bytes());
    o.bytes(b"");
    o.finish()
}

/// `ls -l`-like text for READDIR's longname (shown by interactive clients only).
fn long_name(name: &[u8], st: &libc::stat) -> Vec<u8> {
    let kind = match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => 'd',
        libc::S_IFLNK => 'l',
        libc::S_IFCHR => 'c',
        libc::S_IFBLK => 'b',
        libc::S_IFIFO => 'p',
        libc::S_IFSOCK => 's',
        _ => '-',
    };
    let mut perms = String::new();
    for shift in [6, 3, 0] {
        let bits = (st.st_mode >> shift) & 7;
        perms.push(if bits & 4 != 0 { 'r' } else { '-' });
        perms.push(if bits & 2 != 0 { 'w' } else { '-' });
        perms.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    let mut s = format!(
        "{kind}{perms} {:>4} {:<8} {:<8} {:>12} ",
        st.st_nlink, st.st_uid, st.st_gid, st.st_size
    )
    .into_bytes();
    s.extend_from_slice(name);
    s
}

/// One client's session: its open handles.
struct Session<'a> {
    root: &'a Rootfs,
    handles: HashMap<u32, Handle>,
    next: u32,
}

impl Session<'_> {
    fn add(&mut self, h: Handle) -> Result<Vec<u8>, Status> {
        if self.handles.len() >= MAX_HANDLES {
            return Err(Status(FX_FAILURE, "too many open handles".into()));
        }
        self.next = self.next.wrapping_add(1);
        // After a wrap, never reuse a handle still open.
        while self.handles.contains_key(&self.next) {
            self.next = self.next.wrapping_add(1);
        }
        self.handles.insert(self.next, h);
        Ok(self.next.to_string().into_bytes())
    }

    fn handle(&mut self, raw: &[u8]) -> Result<(u32, &mut Handle), Status> {
        let n: u32 = std::str::from_utf8(raw)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Status(FX_FAILURE, "invalid handle".into()))?;
        self.handles
            .get_mut(&n)
            .map(|h| (n, h))
            .ok_or_else(|| Status(FX_FAILURE, "invalid handle".into()))
    }

    fn file(&mut self, raw: &[u8]) -> Result<&std::fs::File, Status> {
        match self.handle(raw)? {
            (_, Handle::File(f)) => Ok(f),
            _ => Err(Status(FX_FAILURE, "not a file handle".into())),
        }
    }

    /// One request (everything after the type byte) to its answer.
    fn request(&mut self, kind: u8, id: u32, c: &mut Cursor<'_>) -> Result<Vec<u8>, Status> {
        let root = self.root;
        let ok = || Ok(status(id, FX_OK, "Success"));
        match kind {
            FXP_OPEN => {
                let path = c.bytes()?;
                let pflags = c.u32()?;
                let attrs = c.attrs()?;
                let mut flags = match (pflags & FXF_READ != 0, pflags & FXF_WRITE != 0) {
                    (true, true) => libc::O_RDWR,
                    (false, true) => libc::O_WRONLY,
                    _ => libc::O_RDONLY,
                };
                for (bit, f) in [
                    (FXF_APPEND, libc::O_APPEND),
                    (FXF_CREAT, libc::O_CREAT),
                    (FXF_TRUNC, libc::O_TRUNC),
                    (FXF_EXCL, libc::O_EXCL),
                ] {
                    if pflags & bit != 0 {
                        flags |= f;
                    }
                }
                let f = root.open_file(path, flags, attrs.mode.unwrap_or(0o644))?;
                let h = self.add(Handle::File(f))?;
                let mut o = Out::new(FXP_HANDLE, Some(id));
                o.bytes(&h);
                Ok(o.finish())
            }
            FXP_CLOSE => {
                let (n, _) = self.handle(c.bytes()?)?;
                self.handles.remove(&n);
                ok()
            }
            FXP_READ => {
                let h = c.bytes()?;
                let offset = c.u64()?;
                let len = c.u32()?.min(MAX_READ) as usize;
                let f = self.file(h)?;
                let mut buf = vec![0u8; len];
                let n = f.read_at(&mut buf, offset)?;
                if n == 0 && len > 0 {
                    return Ok(status(id, FX_EOF, "EOF"));
                }
                let mut o = Out::new(FXP_DATA, Some(id));
                o.bytes(&buf[..n]);
                Ok(o.finish())
            }
            FXP_WRITE => {
                let h = c.bytes()?;
                let offset = c.u64()?;
                let data = c.bytes()?;
                self.file(h)?.write_all_at(data, offset)?;
                ok()
            }
            FXP_STAT | FXP_LSTAT => {
                let st = root.stat(c.bytes()?, kind == FXP_STAT)?;
                let mut o = Out::new(FXP_ATTRS, Some(id));
                o.stat(&st);
                Ok(o.finish())
            }
            FXP_FSTAT => {
                let st = incus_sys::at::fstat(self.file(c.bytes()?)?.as_fd())?;
                let mut o = Out::new(FXP_ATTRS, Some(id));
                o.stat(&st);
                Ok(o.finish())
            }
            FXP_SETSTAT => {
                let path = c.bytes()?;
                let attrs = c.attrs()?;
                let fd = root.resolve(path, true)?;
                Rootfs::set_attrs(fd.as_fd(), &attrs)?;
                ok()
            }
            FXP_FSETSTAT => {
                let h = c.bytes()?;
                let attrs = c.attrs()?;
                let f = self.file(h)?;
                Rootfs::set_attrs(f.as_fd(), &attrs)?;
                ok()
            }
            FXP_OPENDIR => {
                let entries = root.read_dir(c.bytes()?)?;
                let h = self.add(Handle::Dir { entries, pos: 0 })?;
                let mut o = Out::new(FXP_HANDLE, Some(id));
                o.bytes(&h);
                Ok(o.finish())
            }
            FXP_READDIR => {
                let (_, h) = self.handle(c.bytes()?)?;
                let Handle::Dir { entries, pos } = h else {
                    return Err(Status(FX_FAILURE, "not a directory handle".into()));
                };
                if *pos >= entries.len() {
                    return Ok(status(id, FX_EOF, "EOF"));
                }
                let batch = &entries[*pos..entries.len().min(*pos + DIR_BATCH)];
                *pos += batch.len();
                let mut o = Out::new(FXP_NAME, Some(id));
                o.u32(batch.len() as u32);
                for (name, st) in batch {
                    o.bytes(name);
                    o.bytes(&long_name(name, st));
                    o.stat(st);
                }
                Ok(o.finish())
            }
            FXP_REMOVE => {
                root.remove(c.bytes()?)?;
                ok()
            }
            FXP_MKDIR => {
                let path = c.bytes()?;
                let attrs = c.attrs()?;
                root.mkdir(path, attrs.mode.unwrap_or(0o755))?;
                ok()
            }
            FXP_RMDIR => {
                root.rmdir(c.bytes()?)?;
                ok()
            }
            FXP_REALPATH => {
                // Lexical, as upstream's server: the working directory is `/`.
                use std::os::unix::ffi::OsStrExt;
                let p = clean_bytes(c.bytes()?)?;
                let name = p.as_os_str().as_bytes();
                let mut o = Out::new(FXP_NAME, Some(id));
                o.u32(1);
                o.bytes(name);
                o.bytes(name);
                o.u32(0);
                Ok(o.finish())
            }
            FXP_RENAME => {
                let from = c.bytes()?;
                let to = c.bytes()?;
                root.rename(from, to, false)?;
                ok()
            }
            FXP_READLINK => {
                let target = root.readlink(c.bytes()?)?;
                let mut o = Out::new(FXP_NAME, Some(id));
                o.u32(1);
                o.bytes(&target);
                o.bytes(&target);
                o.u32(0);
                Ok(o.finish())
            }
            FXP_SYMLINK => {
                // OpenSSH's order (the one clients send): target, then the new link.
                let target = c.bytes()?;
                let link = c.bytes()?;
                root.symlink(target, link)?;
                ok()
            }
            FXP_EXTENDED => {
                let name = c.bytes()?;
                match name {
                    b"posix-rename@openssh.com" => {
                        let from = c.bytes()?;
                        let to = c.bytes()?;
                        root.rename(from, to, true)?;
                    }
                    b"hardlink@openssh.com" => {
                        let from = c.bytes()?;
                        let to = c.bytes()?;
                        root.link(from, to)?;
                    }
                    b"fsync@openssh.com" => self.file(c.bytes()?)?.sync_all()?,
                    b"statvfs@openssh.com" => {
                        let v = root.statvfs(c.bytes()?)?;
                        let mut o = Out::new(FXP_EXTENDED_REPLY, Some(id));
                        for n in [
                            v.f_bsize,
                            v.f_frsize,
                            v.f_blocks,
                            v.f_bfree,
                            v.f_bavail,
                            v.f_files,
                            v.f_ffree,
                            v.f_favail,
                            v.f_fsid,
                            v.f_flag,
                            v.f_namemax,
                        ] {
                            o.u64(n);
                        }
                        return Ok(o.finish());
                    }
                    _ => {
                        return Err(Status(
                            FX_OP_UNSUPPORTED,
                            format!("unsupported extension {}", String::from_utf8_lossy(name)),
                        ))
                    }
                }
                ok()
            }
            _ => Err(Status(
                FX_OP_UNSUPPORTED,
                format!("unsupported request {kind}"),
            )),
        }
    }
}

/// Reads one packet (type and body); `None` at a clean end of the stream.
fn read_packet(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut len[got..])? {
            0 if got == 0 => return Ok(None),
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => got += n,
        }
    }
    let len = u32::from_be_bytes(len) as usize;
    if len == 0 || len > MAX_PACKET {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("SFTP packet of {len} bytes"),
        ));
    }
    let mut p = vec![0u8; len];
    r.read_exact(&mut p)?;
    Ok(Some(p))
}

/// Serves one client until it closes the stream. Answers are flushed whenever no
/// further request is already buffered, so pipelined requests share writes.
pub fn serve(root: &Rootfs, input: impl Read, output: impl Write) -> io::Result<()> {
    let mut r = BufReader::with_capacity(256 << 10, input);
    let mut w = BufWriter::with_capacity(256 << 10, output);
    let mut s = Session {
        root,
        handles: HashMap::new(),
        next: 0,
    };
    let mut initialized = false;
    loop {
        if r.buffer().is_empty() {
            w.flush()?;
        }
        let Some(p) = read_packet(&mut r)? else {
            w.flush()?;
            return Ok(());
        };
        let (kind, body) = (p[0], &p[1..]);
        let mut c = Cursor(body);
        if kind == FXP_INIT {
            // Any version the client offers is answered with ours (3), as OpenSSH.
            let mut o = Out::new(FXP_VERSION, None);
            o.u32(VERSION);
            for (k, v) in EXTENSIONS {
                o.bytes(k.as_bytes());
                o.bytes(v.as_bytes());
            }
            w.write_all(&o.finish())?;
            initialized = true;
            continue;
        }
        let Ok(id) = c.u32() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "SFTP request without an id",
            ));
        };
        let answer = if !initialized {
            status(id, FX_FAILURE, "SSH_FXP_INIT expected first")
        } else {
            s.request(kind, id, &mut c)
                .unwrap_or_else(|Status(code, msg)| status(id, code, &msg))
        };
        w.write_all(&answer)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    /// A bare client: sends packets, reads answers.
    struct Client {
        s: UnixStream,
        id: u32,
    }

    fn str_(o: &mut Vec<u8>, b: &[u8]) {
        o.extend_from_slice(&(b.len() as u32).to_be_bytes());
        o.extend_from_slice(b);
    }

    impl Client {
        fn start(root: Rootfs) -> (Client, std::thread::JoinHandle<()>) {
            let (a, b) = UnixStream::pair().unwrap();
            let t = std::thread::spawn(move || {
                let r = b.try_clone().unwrap();
                serve(&root, r, b).unwrap();
            });
            let mut c = Client { s: a, id: 0 };
            let (kind, body) = c.raw(FXP_INIT, &3u32.to_be_bytes(), false);
            assert_eq!(kind, FXP_VERSION);
            assert_eq!(&body[..4], &3u32.to_be_bytes());
            (c, t)
        }

        fn raw(&mut self, kind: u8, body: &[u8], with_id: bool) -> (u8, Vec<u8>) {
            let mut p = vec![kind];
            if with_id {
                self.id += 1;
                p.extend_from_slice(&self.id.to_be_bytes());
            }
            p.extend_from_slice(body);
            let mut out = (p.len() as u32).to_be_bytes().to_vec();
            out.extend_from_slice(&p);
            self.s.write_all(&out).unwrap();
            let p = read_packet(&mut self.s).unwrap().unwrap();
            if with_id {
                assert_eq!(&p[1..5], &self.id.to_be_bytes());
                (p[0], p[5..].to_vec())
            } else {
                (p[0], p[1..].to_vec())
            }
        }

        /// A request expected to answer with a status: its code.
        fn status(&mut self, kind: u8, fields: &[&[u8]]) -> u32 {
            let mut b = Vec::new();
            for f in fields {
                str_(&mut b, f);
            }
            let (k, body) = self.raw(kind, &b, true);
            assert_eq!(k, FXP_STATUS);
            u32::from_be_bytes(body[..4].try_into().unwrap())
        }

        fn open(&mut self, path: &[u8], pflags: u32) -> Result<Vec<u8>, u32> {
            let mut b = Vec::new();
            str_(&mut b, path);
            b.extend_from_slice(&pflags.to_be_bytes());
            b.extend_from_slice(&0u32.to_be_bytes());
            let (k, body) = self.raw(FXP_OPEN, &b, true);
            let mut c = Cursor(&body);
            match k {
                FXP_HANDLE => Ok(c.bytes().ok().unwrap().to_vec()),
                _ => Err(c.u32().ok().unwrap()),
            }
        }

        fn write(&mut self, h: &[u8], data: &[u8]) -> u32 {
            let mut b = Vec::new();
            str_(&mut b, h);
            b.extend_from_slice(&0u64.to_be_bytes());
            str_(&mut b, data);
            let (_, body) = self.raw(FXP_WRITE, &b, true);
            u32::from_be_bytes(body[..4].try_into().unwrap())
        }

        fn read(&mut self, h: &[u8]) -> Vec<u8> {
            let mut b = Vec::new();
            str_(&mut b, h);
            b.extend_from_slice(&0u64.to_be_bytes());
            b.extend_from_slice(&4096u32.to_be_bytes());
            let (k, body) = self.raw(FXP_READ, &b, true);
            assert_eq!(k, FXP_DATA);
            Cursor(&body).bytes().ok().unwrap().to_vec()
        }

        fn names(&mut self, kind: u8, path: &[u8]) -> Vec<Vec<u8>> {
            let mut b = Vec::new();
            str_(&mut b, path);
            let (k, body) = self.raw(kind, &b, true);
            assert_eq!(k, FXP_NAME, "{body:?}");
            let mut c = Cursor(&body);
            let n = c.u32().ok().unwrap();
            (0..n)
                .map(|_| {
                    let name = c.bytes().ok().unwrap().to_vec();
                    c.bytes().ok().unwrap();
                    c.attrs().ok().unwrap();
                    name
                })
                .collect()
        }
    }

    /// A rootfs and, beside it, a canary that no request may read, change or remove.
    fn setup() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("rootfs");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/hostname"), "guest\n").unwrap();
        let canary = t.path().join("canary");
        std::fs::write(&canary, "secret").unwrap();
        std::os::unix::fs::symlink("/", root.join("slash")).unwrap();
        std::os::unix::fs::symlink("../../../../../../..", root.join("etc/up")).unwrap();
        std::os::unix::fs::symlink(&canary, root.join("abs")).unwrap();
        (t, root, canary)
    }

    #[test]
    fn files_round_trip_and_escapes_stay_inside() {
        let (_t, root, canary) = setup();
        let (mut c, t) = Client::start(Rootfs::from_dir(&root).unwrap());
        let canary_rel = canary.to_str().unwrap().trim_start_matches('/').as_bytes();
        // The canary's directory exists inside too, so writes succeed there.
        let inside = root.join(canary.parent().unwrap().strip_prefix("/").unwrap());
        std::fs::create_dir_all(&inside).unwrap();

        // Write, read back, realpath and listing.
        let h = c
            .open(b"/etc/new", FXF_WRITE | FXF_CREAT | FXF_TRUNC)
            .unwrap();
        assert_eq!(c.write(&h, b"hello"), FX_OK);
        assert_eq!(c.status(FXP_CLOSE, &[&h]), FX_OK);
        assert_eq!(std::fs::read(root.join("etc/new")).unwrap(), b"hello");
        let h = c.open(b"etc/./new", FXF_READ).unwrap();
        assert_eq!(c.read(&h), b"hello");
        assert_eq!(c.names(FXP_REALPATH, b"."), vec![b"/".to_vec()]);
        assert_eq!(c.names(FXP_REALPATH, b"/a/../../b/"), vec![b"/b".to_vec()]);
        let dir = {
            let mut b = Vec::new();
            str_(&mut b, b"/etc");
            let (k, body) = c.raw(FXP_OPENDIR, &b, true);
            assert_eq!(k, FXP_HANDLE);
            Cursor(&body).bytes().ok().unwrap().to_vec()
        };
        let mut b = Vec::new();
        str_(&mut b, &dir);
        let (k, _) = c.raw(FXP_READDIR, &b, true);
        assert_eq!(k, FXP_NAME);
        let (k, body) = c.raw(FXP_READDIR, &b, true);
        assert_eq!((k, &body[..4]), (FXP_STATUS, &FX_EOF.to_be_bytes()[..]));

        // Every path out resolves inside: through `..`, `/`-links and up-links.
        let via_up = [b"etc/up/".as_slice(), canary_rel].concat();
        let via_slash = [b"/slash/".as_slice(), canary_rel].concat();
        let via_dots = [b"/../../../../".as_slice(), canary_rel].concat();
        for (i, p) in [&via_up, &via_slash, &via_dots].into_iter().enumerate() {
            let stolen = format!("/stolen{i}");
            assert_eq!(c.open(p, FXF_READ).err(), Some(FX_NO_SUCH_FILE));
            assert_eq!(c.status(FXP_REMOVE, &[p]), FX_NO_SUCH_FILE);
            // A write lands inside the rootfs, never on the canary.
            let h = c.open(p, FXF_WRITE | FXF_CREAT | FXF_TRUNC).unwrap();
            assert_eq!(c.write(&h, b"pwned"), FX_OK);
            assert_eq!(c.status(FXP_CLOSE, &[&h]), FX_OK);
            assert_eq!(c.status(FXP_RENAME, &[p, stolen.as_bytes()]), FX_OK);
            // What was written landed inside (and was renamed inside).
            assert_eq!(std::fs::read(root.join(&stolen[1..])).unwrap(), b"pwned");
            // Nothing there now: the host canary is not what gets linked.
            let link = c.status(FXP_EXTENDED, &[b"hardlink@openssh.com", p, b"/linked"]);
            assert_eq!(link, FX_NO_SUCH_FILE);
        }
        // A symlink to the host path: not followed out; a create through it makes the
        // target inside the root (as upstream, in the container); removing it removes
        // the link.
        assert_eq!(c.open(b"/abs", FXF_READ).err(), Some(FX_NO_SUCH_FILE));
        let h = c.open(b"/abs", FXF_WRITE | FXF_CREAT).unwrap();
        assert_eq!(c.write(&h, b"inside"), FX_OK);
        assert_eq!(c.status(FXP_CLOSE, &[&h]), FX_OK);
        assert_eq!(std::fs::read(inside.join("canary")).unwrap(), b"inside");
        std::fs::remove_file(inside.join("canary")).unwrap();
        // O_EXCL still refuses the name the link holds.
        assert_eq!(
            c.open(b"/abs", FXF_WRITE | FXF_CREAT | FXF_EXCL).err(),
            Some(FX_FAILURE)
        );
        assert_eq!(c.status(FXP_REMOVE, &[b"/abs"]), FX_OK);
        assert!(std::fs::symlink_metadata(root.join("abs")).is_err());
        // SETSTAT through the links: the canary's mode and owner stay.
        let mut b = Vec::new();
        str_(&mut b, &via_slash);
        b.extend_from_slice(&(ATTR_PERMISSIONS | ATTR_SIZE).to_be_bytes());
        b.extend_from_slice(&0u64.to_be_bytes());
        b.extend_from_slice(&0o777u32.to_be_bytes());
        c.raw(FXP_SETSTAT, &b, true);
        // A new symlink to the canary is only a name inside.
        assert_eq!(
            c.status(FXP_SYMLINK, &[canary.to_str().unwrap().as_bytes(), b"/l2"]),
            FX_OK
        );
        assert_eq!(c.open(b"/l2", FXF_READ).err(), Some(FX_NO_SUCH_FILE));
        assert_eq!(
            c.names(FXP_READLINK, b"/l2"),
            vec![canary.to_str().unwrap().as_bytes().to_vec()]
        );
        assert_eq!(std::fs::read_to_string(&canary).unwrap(), "secret");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&canary).unwrap().permissions().mode() & 0o777,
            0o644
        );

        // The root itself cannot be removed or renamed; bad handles are errors.
        assert_eq!(c.status(FXP_RMDIR, &[b"/"]), FX_PERMISSION_DENIED);
        assert_eq!(c.status(FXP_CLOSE, &[b"999"]), FX_FAILURE);
        // An unknown request is unsupported, and the session goes on.
        let (k, body) = c.raw(99, &[], true);
        assert_eq!(
            (k, &body[..4]),
            (FXP_STATUS, &FX_OP_UNSUPPORTED.to_be_bytes()[..])
        );
        drop(c);
        t.join().unwrap();
    }

    #[test]
    fn a_fifo_is_refused_not_opened() {
        let (_t, root, _) = setup();
        let fifo = std::ffi::CString::new(root.join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a valid C string.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let (mut c, t) = Client::start(Rootfs::from_dir(&root).unwrap());
        assert_eq!(c.open(b"/fifo", FXF_WRITE).err(), Some(FX_FAILURE));
        assert_eq!(c.open(b"/fifo", FXF_READ).err(), Some(FX_FAILURE));
        drop(c);
        t.join().unwrap();
    }

    #[test]
    fn oversized_and_truncated_packets_end_the_session() {
        let (_t, root, _) = setup();
        let (a, b) = UnixStream::pair().unwrap();
        let rootfs = Rootfs::from_dir(&root).unwrap();
        let t = std::thread::spawn(move || serve(&rootfs, b.try_clone().unwrap(), b));
        (&a).write_all(&(64u32 << 20).to_be_bytes()).unwrap();
        assert!(t.join().unwrap().is_err());
    }
}
