//! A cowsql node hosted in this process: a small safe layer over `libcowsql`
//! (node create, bind address, network latency, failure domain, snapshot parameters,
//! connect function, start, handover, stop, recover).
//!
//! The library is **not linked**: it is loaded with `dlopen("libcowsql.so.0")` the first
//! time a node is created (or [`load`] is called), so a binary depending on this crate
//! does not load libcowsql (nor libraft, libuv, libsqlite3) unless it actually hosts a
//! node. A standalone installation therefore never maps it; [`is_loaded`] says whether
//! it has been. `INCUS_COWSQL_LIBRARY` names another file to load (tests, packaging).
//!
//! A [`Node`] is owned by one thread at a time (`Send`, not `Sync`): libcowsql runs the
//! node's loop in its own thread and its API is called from the owner only.
//!
//! Two live nodes in one process must have different ids: libcowsql registers a
//! process-wide SQLite VFS named after the id, and a second node with the same id
//! crashes the process. [`Node::create`] refuses it.

use std::ffi::{c_char, c_int, c_uint, c_ulonglong, c_void, CStr, CString};
use std::os::fd::{IntoRawFd, OwnedFd};
use std::sync::OnceLock;

pub use cowsql_client::Role;

/// Errors of the node layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// libcowsql could not be loaded or lacks a symbol.
    #[error("cannot load libcowsql: {0}")]
    Load(String),
    /// A libcowsql call failed: the function, its return code and the node's message.
    #[error("{call}: error {code}: {message}")]
    Call {
        call: &'static str,
        code: i32,
        message: String,
    },
    /// An argument libcowsql cannot take (an interior NUL byte, a state misuse).
    #[error("invalid cowsql node argument: {0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, Error>;

type Raw = *mut c_void;
type ConnectCb =
    unsafe extern "C" fn(arg: *mut c_void, address: *const c_char, fd: *mut c_int) -> c_int;

#[repr(C)]
struct NodeInfoExt {
    size: u64,
    id: u64,
    address: u64,
    role: u64,
}

/// The libcowsql entry points this crate uses, resolved once.
struct Lib {
    create: unsafe extern "C" fn(c_ulonglong, *const c_char, *const c_char, *mut Raw) -> c_int,
    destroy: unsafe extern "C" fn(Raw),
    set_bind_address: unsafe extern "C" fn(Raw, *const c_char) -> c_int,
    get_bind_address: unsafe extern "C" fn(Raw) -> *const c_char,
    set_connect_func: unsafe extern "C" fn(Raw, ConnectCb, *mut c_void) -> c_int,
    set_network_latency_ms: unsafe extern "C" fn(Raw, c_uint) -> c_int,
    set_failure_domain: unsafe extern "C" fn(Raw, c_ulonglong) -> c_int,
    set_snapshot_params: unsafe extern "C" fn(Raw, c_uint, c_uint) -> c_int,
    start: unsafe extern "C" fn(Raw) -> c_int,
    handover: unsafe extern "C" fn(Raw) -> c_int,
    stop: unsafe extern "C" fn(Raw) -> c_int,
    recover_ext: unsafe extern "C" fn(Raw, *mut NodeInfoExt, c_int) -> c_int,
    errmsg: unsafe extern "C" fn(Raw) -> *const c_char,
    generate_node_id: unsafe extern "C" fn(*const c_char) -> c_ulonglong,
    version_number: unsafe extern "C" fn() -> c_int,
}

// SAFETY: the table holds plain function pointers into a library that is never unloaded.
unsafe impl Send for Lib {}
unsafe impl Sync for Lib {}

/// Ids of the nodes alive in this process (see the crate documentation).
static LIVE: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());

static LIB: OnceLock<std::result::Result<Lib, String>> = OnceLock::new();

// Each symbol's type is the field it is stored in (one place to read against cowsql.h).
#[allow(clippy::missing_transmute_annotations)]
fn open() -> std::result::Result<Lib, String> {
    let name = std::env::var("INCUS_COWSQL_LIBRARY").unwrap_or_else(|_| "libcowsql.so.0".into());
    let cname = CString::new(name.clone()).map_err(|_| format!("{name:?}: NUL byte"))?;
    // SAFETY: dlopen with a valid C string; the handle is kept for the process lifetime.
    let handle = unsafe { libc::dlopen(cname.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(dlerror(&name));
    }
    macro_rules! sym {
        ($name:literal) => {{
            let s = concat!($name, "\0");
            // SAFETY: valid NUL-terminated symbol name on a live handle.
            let p = unsafe { libc::dlsym(handle, s.as_ptr() as *const c_char) };
            if p.is_null() {
                return Err(format!("{name}: no symbol {}", $name));
            }
            // SAFETY: the symbol has the C signature declared in cowsql.h 1.15 for the
            // field it is stored in (the transmute target is inferred from the field).
            unsafe { std::mem::transmute::<*mut c_void, _>(p) }
        }};
    }
    Ok(Lib {
        create: sym!("cowsql_node_create"),
        destroy: sym!("cowsql_node_destroy"),
        set_bind_address: sym!("cowsql_node_set_bind_address"),
        get_bind_address: sym!("cowsql_node_get_bind_address"),
        set_connect_func: sym!("cowsql_node_set_connect_func"),
        set_network_latency_ms: sym!("cowsql_node_set_network_latency_ms"),
        set_failure_domain: sym!("cowsql_node_set_failure_domain"),
        set_snapshot_params: sym!("cowsql_node_set_snapshot_params"),
        start: sym!("cowsql_node_start"),
        handover: sym!("cowsql_node_handover"),
        stop: sym!("cowsql_node_stop"),
        recover_ext: sym!("cowsql_node_recover_ext"),
        errmsg: sym!("cowsql_node_errmsg"),
        generate_node_id: sym!("cowsql_generate_node_id"),
        version_number: sym!("cowsql_version_number"),
    })
}

fn dlerror(name: &str) -> String {
    // SAFETY: dlerror returns NULL or a valid C string owned by libc.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        format!("{name}: dlopen failed")
    } else {
        // SAFETY: non-null, NUL-terminated.
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

fn lib() -> Result<&'static Lib> {
    LIB.get_or_init(open).as_ref().map_err(|e| {
        Error::Load(format!(
            "{e} (clustering needs libcowsql0 1.15 from bookworm-backports)"
        ))
    })
}

/// Loads libcowsql now (it is otherwise loaded by the first [`Node::create`]).
pub fn load() -> Result<()> {
    lib().map(|_| ())
}

/// Whether this process has loaded libcowsql (through this crate).
pub fn is_loaded() -> bool {
    matches!(LIB.get(), Some(Ok(_)))
}

/// libcowsql's version number (`MAJOR * 10000 + MINOR * 100 + RELEASE`, 11508 for 1.15.8).
pub fn version_number() -> Result<i32> {
    // SAFETY: no arguments.
    Ok(unsafe { (lib()?.version_number)() })
}

/// The node id libcowsql derives for `address` (random-based, non-zero, not 1).
pub fn generate_node_id(address: &str) -> Result<u64> {
    let l = lib()?;
    let a = cstring(address)?;
    // SAFETY: valid C string.
    Ok(unsafe { (l.generate_node_id)(a.as_ptr()) })
}

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::Invalid(format!("{s:?} contains a NUL byte")))
}

/// How the node reaches another node: called from libcowsql's threads with the peer's
/// address as given to ADD (or to [`Node::create`]); returns a connected stream socket
/// (TCP or unix) whose ownership passes to libcowsql.
pub type ConnectFn = dyn Fn(&str) -> std::io::Result<OwnedFd> + Send + Sync + 'static;

unsafe extern "C" fn connect_trampoline(
    arg: *mut c_void,
    address: *const c_char,
    fd: *mut c_int,
) -> c_int {
    // SAFETY: `arg` is the `Box<Box<ConnectFn>>` kept alive by the Node until destroy;
    // `address` is a valid C string for the call.
    let f = unsafe { &*(arg as *const Box<ConnectFn>) };
    let address = unsafe { CStr::from_ptr(address) }
        .to_string_lossy()
        .into_owned();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&address))) {
        Ok(Ok(sock)) => {
            // SAFETY: `fd` points to an int libcowsql owns for this call.
            unsafe { *fd = sock.into_raw_fd() };
            0
        }
        _ => 1, // RAFT_NOCONNECTION-like: libcowsql treats non-zero as a failed dial
    }
}

/// The state of a [`Node`] (the libcowsql API is only valid in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Created,
    Started,
    Stopped,
}

/// One cowsql node owned by this process.
pub struct Node {
    lib: &'static Lib,
    raw: Raw,
    state: State,
    id: u64,
    address: String,
    connect: Option<Box<Box<ConnectFn>>>,
    /// Creation failed: the id stays reserved in this process.
    poisoned: bool,
}

// SAFETY: the handle is only used through &mut self (one thread at a time); libcowsql's
// own loop thread synchronises with the API calls internally.
unsafe impl Send for Node {}

impl Node {
    /// Creates node `id` (1 bootstraps a new cluster; others wait to be ADDed) whose
    /// raft address is `address` and whose raft log and snapshots live in `dir`
    /// (which must exist).
    pub fn create(id: u64, address: &str, dir: &std::path::Path) -> Result<Node> {
        let lib = lib()?;
        if id == 0 {
            return Err(Error::Invalid("node id 0".into()));
        }
        if !dir.is_dir() {
            // libcowsql fails late on a missing directory, after registering its VFS;
            // a node that failed to be created is not cleanly unregistered (a later
            // node with the same id then hangs in sqlite3_vfs_register).
            return Err(Error::Invalid(format!(
                "{}: not a directory",
                dir.display()
            )));
        }
        let a = cstring(address)?;
        let d = cstring(
            dir.to_str()
                .ok_or_else(|| Error::Invalid(format!("{}: not UTF-8", dir.display())))?,
        )?;
        {
            let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
            if live.contains(&id) {
                return Err(Error::Invalid(format!(
                    "a node with id {id} already exists in this process"
                )));
            }
            live.push(id);
        }
        let mut raw: Raw = std::ptr::null_mut();
        // SAFETY: valid C strings; `raw` receives the handle (possibly NULL on error).
        let rv = unsafe { (lib.create)(id, a.as_ptr(), d.as_ptr(), &mut raw) };
        let node = Node {
            lib,
            raw,
            state: State::Created,
            id,
            address: address.to_string(),
            connect: None,
            poisoned: false,
        };
        if rv != 0 {
            let e = node.error("cowsql_node_create", rv);
            // Keep the id reserved for the life of the process: its VFS may still be
            // registered (see above).
            let mut node = node;
            node.poisoned = true;
            return Err(e);
        }
        Ok(node)
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// The raft address given at creation.
    pub fn address(&self) -> &str {
        &self.address
    }

    fn error(&self, call: &'static str, code: c_int) -> Error {
        // SAFETY: errmsg accepts NULL and returns a string owned by the node (or static).
        let m = unsafe { (self.lib.errmsg)(self.raw) };
        let message = if m.is_null() {
            String::new()
        } else {
            // SAFETY: non-null, NUL-terminated.
            unsafe { CStr::from_ptr(m) }.to_string_lossy().into_owned()
        };
        Error::Call {
            call,
            code,
            message,
        }
    }

    fn check(&self, call: &'static str, rv: c_int) -> Result<()> {
        if rv == 0 {
            Ok(())
        } else {
            Err(self.error(call, rv))
        }
    }

    fn before_start(&self, what: &str) -> Result<()> {
        if self.state != State::Created {
            return Err(Error::Invalid(format!("{what} after the node was started")));
        }
        Ok(())
    }

    /// Where the node listens for clients and peers: `HOST:PORT`, or `@name` (an
    /// abstract unix socket; `@` alone picks a free name, see [`Node::bind_address`]).
    pub fn set_bind_address(&mut self, address: &str) -> Result<()> {
        self.before_start("set_bind_address")?;
        let a = cstring(address)?;
        // SAFETY: live handle, valid string (copied by libcowsql).
        let rv = unsafe { (self.lib.set_bind_address)(self.raw, a.as_ptr()) };
        self.check("cowsql_node_set_bind_address", rv)
    }

    /// The address the node listens on (after [`Node::start`]).
    pub fn bind_address(&self) -> Option<String> {
        if self.state != State::Started {
            return None;
        }
        // SAFETY: live, started handle; the string is owned by the node.
        let p = unsafe { (self.lib.get_bind_address)(self.raw) };
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }

    /// Replaces how the node dials its peers (e.g. an HTTPS upgrade carrying the stream).
    pub fn set_connect_func(&mut self, f: Box<ConnectFn>) -> Result<()> {
        self.before_start("set_connect_func")?;
        let boxed: Box<Box<ConnectFn>> = Box::new(f);
        let arg = &*boxed as *const Box<ConnectFn> as *mut c_void;
        // SAFETY: `arg` stays valid as long as `self.connect` holds the box, which
        // outlives the node (dropped after destroy).
        let rv = unsafe { (self.lib.set_connect_func)(self.raw, connect_trampoline, arg) };
        self.check("cowsql_node_set_connect_func", rv)?;
        self.connect = Some(boxed);
        Ok(())
    }

    /// The average one-way latency to peers (heartbeat and election timeouts derive
    /// from it); 1..=3600000 ms.
    pub fn set_network_latency_ms(&mut self, ms: u32) -> Result<()> {
        self.before_start("set_network_latency_ms")?;
        if ms == 0 || ms > 3_600_000 {
            return Err(Error::Invalid(format!("network latency {ms} ms")));
        }
        // SAFETY: live handle.
        let rv = unsafe { (self.lib.set_network_latency_ms)(self.raw, ms) };
        self.check("cowsql_node_set_network_latency_ms", rv)
    }

    /// The failure domain tag reported for this node.
    pub fn set_failure_domain(&mut self, code: u64) -> Result<()> {
        self.before_start("set_failure_domain")?;
        // SAFETY: live handle.
        let rv = unsafe { (self.lib.set_failure_domain)(self.raw, code) };
        self.check("cowsql_node_set_failure_domain", rv)
    }

    /// How often the node snapshots (entries) and how many entries it keeps after.
    pub fn set_snapshot_params(&mut self, threshold: u32, trailing: u32) -> Result<()> {
        self.before_start("set_snapshot_params")?;
        // SAFETY: live handle.
        let rv = unsafe { (self.lib.set_snapshot_params)(self.raw, threshold, trailing) };
        self.check("cowsql_node_set_snapshot_params", rv)
    }

    /// Starts the node's loop (a thread of libcowsql); it then accepts connections.
    pub fn start(&mut self) -> Result<()> {
        self.before_start("start")?;
        // SAFETY: live handle, configured.
        let rv = unsafe { (self.lib.start)(self.raw) };
        self.check("cowsql_node_start", rv)?;
        self.state = State::Started;
        Ok(())
    }

    /// Hands leadership and the voter role to other nodes before a graceful stop.
    pub fn handover(&mut self) -> Result<()> {
        if self.state != State::Started {
            return Err(Error::Invalid(
                "handover of a node that is not running".into(),
            ));
        }
        // SAFETY: live, started handle.
        let rv = unsafe { (self.lib.handover)(self.raw) };
        self.check("cowsql_node_handover", rv)
    }

    /// Stops the node (in-flight requests complete, connections close).
    pub fn stop(&mut self) -> Result<()> {
        if self.state != State::Started {
            return Err(Error::Invalid("stop of a node that is not running".into()));
        }
        // SAFETY: live, started handle.
        let rv = unsafe { (self.lib.stop)(self.raw) };
        self.state = State::Stopped;
        self.check("cowsql_node_stop", rv)
    }

    /// Forces the raft configuration to `members` (id, address, role) after a loss of
    /// quorum. Only on a node that is not running, and only on the surviving node with
    /// the most recent log (see `recover-from-quorum-loss`).
    pub fn recover(&mut self, members: &[(u64, String, Role)]) -> Result<()> {
        self.before_start("recover")?;
        let addresses = members
            .iter()
            .map(|(_, a, _)| cstring(a))
            .collect::<Result<Vec<_>>>()?;
        let mut infos: Vec<NodeInfoExt> = members
            .iter()
            .zip(&addresses)
            .map(|((id, _, role), a)| NodeInfoExt {
                size: std::mem::size_of::<NodeInfoExt>() as u64,
                id: *id,
                address: a.as_ptr() as u64,
                role: role.code(),
            })
            .collect();
        let n =
            c_int::try_from(infos.len()).map_err(|_| Error::Invalid("too many members".into()))?;
        // SAFETY: `infos` and the strings it points to live across the call.
        let rv = unsafe { (self.lib.recover_ext)(self.raw, infos.as_mut_ptr(), n) };
        self.check("cowsql_node_recover_ext", rv)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if self.state == State::Started {
            // SAFETY: live, started handle.
            unsafe { (self.lib.stop)(self.raw) };
        }
        // SAFETY: destroy accepts NULL; after this the handle is not used again, and the
        // connect closure (if any) is dropped after the node that calls it.
        unsafe { (self.lib.destroy)(self.raw) };
        self.raw = std::ptr::null_mut();
        if !self.poisoned {
            LIVE.lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|id| *id != self.id);
        }
    }
}
