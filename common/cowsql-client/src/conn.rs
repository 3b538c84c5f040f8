//! One connection to one cowsql node.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::codec::{self, read_frame, File, NodeInfo, Request, Response, RowBatch};
use crate::{Error, Result, Value};

/// A byte stream to a node: TCP, a unix socket, or anything else that carries the protocol
/// (for example a stream upgraded from HTTPS).
pub trait Transport: Read + Write + Send {}
impl<T: Read + Write + Send> Transport for T {}

/// The result of a statement that returns no rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecResult {
    pub last_insert_id: u64,
    pub rows_affected: u64,
}

/// A complete result set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// A statement prepared on a connection (valid on that connection only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stmt {
    pub id: u32,
    /// Number of parameters the statement takes.
    pub params: u64,
}

/// Opens a stream to `address`: `/path` is a unix socket, `@name` an abstract unix socket,
/// anything else `HOST:PORT` over TCP. `timeout` bounds the connect and every read/write.
pub fn dial(address: &str, timeout: Duration) -> Result<Box<dyn Transport>> {
    if address.starts_with('/') || address.starts_with('@') {
        let stream = if let Some(name) = address.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
            UnixStream::connect_addr(&addr)?
        } else {
            UnixStream::connect(address)?
        };
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        return Ok(Box::new(stream));
    }
    let mut last = None;
    for addr in address.to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                stream.set_read_timeout(Some(timeout))?;
                stream.set_write_timeout(Some(timeout))?;
                return Ok(Box::new(stream));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or_else(
        || Error::InvalidInput(format!("address {address:?} resolves to nothing")),
        Error::Io,
    ))
}

/// The server (cowsql 1.15) has no decoder for UNIXTIME parameters; an integer binds the
/// same way, so that is what is sent.
fn wire_params(params: &[Value]) -> Vec<Value> {
    params
        .iter()
        .map(|v| match v {
            Value::UnixTime(t) => Value::Integer(*t),
            v => v.clone(),
        })
        .collect()
}

/// A connection to one node. One request at a time; at most one open database.
pub struct Conn {
    stream: Box<dyn Transport>,
    address: String,
    db: Option<u32>,
    broken: bool,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("address", &self.address)
            .field("db", &self.db)
            .field("broken", &self.broken)
            .finish()
    }
}

impl Conn {
    /// Connects to `address` (see [`dial`]) and performs the handshake.
    pub fn connect(address: &str, timeout: Duration) -> Result<Conn> {
        Conn::handshake(dial(address, timeout)?, address)
    }

    /// Performs the handshake (the protocol version, one word) on an open stream.
    pub fn handshake(mut stream: Box<dyn Transport>, address: &str) -> Result<Conn> {
        stream.write_all(&codec::PROTOCOL_VERSION.to_le_bytes())?;
        Ok(Conn {
            stream,
            address: address.to_string(),
            db: None,
            broken: false,
        })
    }

    /// The address this connection was made to.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// False once an I/O or protocol error left the stream in an unknown state.
    pub fn is_usable(&self) -> bool {
        !self.broken
    }

    fn check(&self) -> Result<()> {
        if self.broken {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "the connection was broken by an earlier error",
            )));
        }
        Ok(())
    }

    /// Marks the connection broken on errors after which the stream position is unknown.
    fn guard<T>(&mut self, r: Result<T>) -> Result<T> {
        if matches!(r, Err(Error::Io(_)) | Err(Error::Protocol(_))) {
            self.broken = true;
        }
        r
    }

    fn send(&mut self, req: &Request) -> Result<()> {
        self.check()?;
        let frame = req.encode()?;
        let r = self.stream.write_all(&frame).map_err(Error::from);
        self.guard(r)
    }

    /// Reads one response; a FAILURE becomes [`Error::Server`].
    fn recv(&mut self) -> Result<Response> {
        self.check()?;
        let r = read_frame(&mut self.stream).and_then(|(h, b)| Response::decode(&h, &b));
        match self.guard(r)? {
            Response::Failure { code, message } => Err(Error::Server { code, message }),
            r => Ok(r),
        }
    }

    /// Sends `req` and returns its single response (not for queries: see [`Conn::query`]).
    pub fn request(&mut self, req: &Request) -> Result<Response> {
        self.send(req)?;
        self.recv()
    }

    fn unexpected<T>(&mut self, what: &str, r: Response) -> Result<T> {
        self.broken = true;
        Err(Error::Protocol(format!(
            "expected {what}, got response type {}",
            r.kind()
        )))
    }

    fn expect_empty(&mut self, req: &Request) -> Result<()> {
        match self.request(req)? {
            Response::Empty => Ok(()),
            r => self.unexpected("EMPTY", r),
        }
    }

    fn db(&self) -> Result<u32> {
        self.db
            .ok_or_else(|| Error::InvalidInput("no database is open on this connection".into()))
    }

    /// The leader as this node knows it, or `None` when it knows none (only voters know).
    pub fn leader(&mut self) -> Result<Option<(u64, String)>> {
        match self.request(&Request::Leader)? {
            Response::Server { id, address } if id == 0 || address.is_empty() => Ok(None),
            Response::Server { id, address } => Ok(Some((id, address))),
            r => self.unexpected("SERVER", r),
        }
    }

    /// Registers as client `id`; returns the server's heartbeat timeout (ms).
    pub fn client(&mut self, id: u64) -> Result<u64> {
        match self.request(&Request::Client { id })? {
            Response::Welcome { heartbeat_timeout } => Ok(heartbeat_timeout),
            r => self.unexpected("WELCOME", r),
        }
    }

    /// Opens database `name` (created if missing) on this connection.
    pub fn open(&mut self, name: &str) -> Result<()> {
        let req = Request::Open {
            name: name.to_string(),
            flags: 0,
            vfs: String::new(),
        };
        match self.request(&req)? {
            Response::Db { id } => {
                self.db = Some(id);
                Ok(())
            }
            r => self.unexpected("DB", r),
        }
    }

    /// Runs `sql` (one or more statements; parameters bind to the last one run).
    pub fn exec(&mut self, sql: &str, params: &[Value]) -> Result<ExecResult> {
        let req = Request::ExecSql {
            db: self.db()?,
            sql: sql.to_string(),
            params: wire_params(params),
        };
        self.result(&req)
    }

    fn result(&mut self, req: &Request) -> Result<ExecResult> {
        match self.request(req)? {
            Response::Result {
                last_insert_id,
                rows_affected,
            } => Ok(ExecResult {
                last_insert_id,
                rows_affected,
            }),
            r => self.unexpected("RESULT", r),
        }
    }

    /// Runs `f` inside `BEGIN` ... `COMMIT`; any error from `f` or from the commit rolls
    /// the transaction back (when the connection still works) and is returned.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        self.exec("BEGIN", &[])?;
        let result = f(self).and_then(|v| self.exec("COMMIT", &[]).map(|_| v));
        if result.is_err() && self.is_usable() {
            // Nothing to do if the transaction is already gone (e.g. leadership moved).
            let _ = self.exec("ROLLBACK", &[]);
        }
        result
    }

    /// Runs one query and reads every batch of its result.
    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<Rows> {
        let req = Request::QuerySql {
            db: self.db()?,
            sql: sql.to_string(),
            params: wire_params(params),
        };
        self.rows(&req)
    }

    /// Runs one query, handing each batch to `f`; when `f` returns false before the last
    /// batch, the query is interrupted.
    pub fn query_batches(
        &mut self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(&RowBatch) -> bool,
    ) -> Result<()> {
        let req = Request::QuerySql {
            db: self.db()?,
            sql: sql.to_string(),
            params: wire_params(params),
        };
        self.send(&req)?;
        loop {
            let batch = match self.recv()? {
                Response::Rows(b) => b,
                r => return self.unexpected("ROWS", r),
            };
            let more = batch.more;
            if !f(&batch) && more {
                return self.interrupt();
            }
            if !more {
                return Ok(());
            }
        }
    }

    fn rows(&mut self, req: &Request) -> Result<Rows> {
        self.send(req)?;
        let mut out = Rows::default();
        loop {
            let batch = match self.recv()? {
                Response::Rows(b) => b,
                r => return self.unexpected("ROWS", r),
            };
            out.columns = batch.columns;
            out.rows.extend(batch.rows);
            if !batch.more {
                return Ok(out);
            }
        }
    }

    /// Prepares one statement.
    pub fn prepare(&mut self, sql: &str) -> Result<Stmt> {
        let req = Request::Prepare {
            db: self.db()?,
            sql: sql.to_string(),
        };
        match self.request(&req)? {
            Response::Stmt { id, params, .. } => Ok(Stmt { id, params }),
            r => self.unexpected("STMT", r),
        }
    }

    /// Runs a prepared statement.
    pub fn exec_stmt(&mut self, stmt: &Stmt, params: &[Value]) -> Result<ExecResult> {
        let req = Request::Exec {
            db: self.db()?,
            stmt: stmt.id,
            params: wire_params(params),
        };
        self.result(&req)
    }

    /// Queries with a prepared statement.
    pub fn query_stmt(&mut self, stmt: &Stmt, params: &[Value]) -> Result<Rows> {
        let req = Request::Query {
            db: self.db()?,
            stmt: stmt.id,
            params: wire_params(params),
        };
        self.rows(&req)
    }

    /// Releases a prepared statement.
    pub fn finalize(&mut self, stmt: Stmt) -> Result<()> {
        let req = Request::Finalize {
            db: self.db()?,
            stmt: stmt.id,
        };
        self.expect_empty(&req)
    }

    /// Stops the query in progress: sends INTERRUPT and discards row batches until the
    /// server's EMPTY answer. (cowsql 1.15 reads the next request only once a result set
    /// is fully sent, so in practice this drains the rest.)
    pub fn interrupt(&mut self) -> Result<()> {
        let req = Request::Interrupt { db: self.db()? };
        self.send(&req)?;
        loop {
            match self.recv()? {
                Response::Empty => return Ok(()),
                Response::Rows(_) => {}
                r => return self.unexpected("EMPTY", r),
            }
        }
    }

    /// Adds node `id` at `address` to the cluster (as a spare). Leader only.
    pub fn add(&mut self, id: u64, address: &str) -> Result<()> {
        self.expect_empty(&Request::Add {
            id,
            address: address.to_string(),
        })
    }

    /// Gives node `id` a role. Leader only.
    pub fn assign(&mut self, id: u64, role: crate::Role) -> Result<()> {
        self.expect_empty(&Request::Assign {
            id,
            role: role.code(),
        })
    }

    /// Removes node `id` from the cluster. Leader only.
    pub fn remove(&mut self, id: u64) -> Result<()> {
        self.expect_empty(&Request::Remove { id })
    }

    /// Moves leadership to node `id` (0: let the leader pick). Leader only.
    pub fn transfer(&mut self, id: u64) -> Result<()> {
        self.expect_empty(&Request::Transfer { id })
    }

    /// The members of the cluster with their roles, as this node knows them.
    pub fn cluster(&mut self) -> Result<Vec<NodeInfo>> {
        match self.request(&Request::Cluster {
            format: codec::CLUSTER_FORMAT_V1,
        })? {
            Response::Servers(nodes) => Ok(nodes),
            r => self.unexpected("SERVERS", r),
        }
    }

    /// The files of database `name` (the database and its WAL).
    pub fn dump(&mut self, name: &str) -> Result<Vec<File>> {
        match self.request(&Request::Dump {
            name: name.to_string(),
        })? {
            Response::Files(files) => Ok(files),
            r => self.unexpected("FILES", r),
        }
    }
}
