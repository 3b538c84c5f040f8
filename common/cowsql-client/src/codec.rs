//! Encoding and decoding of wire-protocol frames (protocol version 1).
//!
//! A frame is an 8-byte header (body length in 8-byte words, little endian u32; message
//! type; schema version; two reserved bytes) followed by the body. Every field of a body is
//! padded to a word boundary: integers are 8 bytes (or two u32 sharing a word), text is
//! NUL-terminated and zero-padded, a blob is a u64 length then its bytes, zero-padded.

use crate::{Error, Result, Value};

/// Size of a word, the unit of padding and of the frame length.
pub const WORD: usize = 8;
/// The protocol version sent in the handshake.
pub const PROTOCOL_VERSION: u64 = 1;
/// Marker ending a row batch that has more batches after it.
pub const ROWS_PART: u64 = 0xeeee_eeee_eeee_eeee;
/// Marker ending the last row batch of a result set.
pub const ROWS_DONE: u64 = 0xffff_ffff_ffff_ffff;
/// Largest body this client accepts from a server (in bytes).
pub const MAX_BODY: usize = 1 << 30;

/// Request type codes.
pub mod request {
    pub const LEADER: u8 = 0;
    pub const CLIENT: u8 = 1;
    pub const HEARTBEAT: u8 = 2;
    pub const OPEN: u8 = 3;
    pub const PREPARE: u8 = 4;
    pub const EXEC: u8 = 5;
    pub const QUERY: u8 = 6;
    pub const FINALIZE: u8 = 7;
    pub const EXEC_SQL: u8 = 8;
    pub const QUERY_SQL: u8 = 9;
    pub const INTERRUPT: u8 = 10;
    pub const CONNECT: u8 = 11;
    pub const ADD: u8 = 12;
    pub const ASSIGN: u8 = 13;
    pub const REMOVE: u8 = 14;
    pub const DUMP: u8 = 15;
    pub const CLUSTER: u8 = 16;
    pub const TRANSFER: u8 = 17;
    pub const DESCRIBE: u8 = 18;
    pub const WEIGHT: u8 = 19;
}

/// Response type codes.
pub mod response {
    pub const FAILURE: u8 = 0;
    pub const SERVER: u8 = 1;
    pub const WELCOME: u8 = 2;
    pub const SERVERS: u8 = 3;
    pub const DB: u8 = 4;
    pub const STMT: u8 = 5;
    pub const RESULT: u8 = 6;
    pub const ROWS: u8 = 7;
    pub const EMPTY: u8 = 8;
    pub const FILES: u8 = 9;
    pub const METADATA: u8 = 10;
}

/// Value type codes (SQLite's fundamental types plus the protocol's three extras).
pub mod value_type {
    pub const INTEGER: u8 = 1;
    pub const FLOAT: u8 = 2;
    pub const TEXT: u8 = 3;
    pub const BLOB: u8 = 4;
    pub const NULL: u8 = 5;
    pub const UNIXTIME: u8 = 9;
    pub const ISO8601: u8 = 10;
    pub const BOOLEAN: u8 = 11;
}

/// Format asked for in CLUSTER requests: id, address and role.
pub const CLUSTER_FORMAT_V1: u64 = 1;

/// `n` rounded up to a whole number of words.
pub fn pad(n: usize) -> usize {
    n.div_ceil(WORD) * WORD
}

/// A frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Body length in words.
    pub words: u32,
    /// Message type.
    pub kind: u8,
    /// Schema version of the body.
    pub schema: u8,
    /// Reserved (zero).
    pub extra: u16,
}

impl Header {
    pub fn encode(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&self.words.to_le_bytes());
        b[4] = self.kind;
        b[5] = self.schema;
        b[6..].copy_from_slice(&self.extra.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8; 8]) -> Header {
        Header {
            words: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            kind: b[4],
            schema: b[5],
            extra: u16::from_le_bytes([b[6], b[7]]),
        }
    }

    /// Body length in bytes, refusing absurd sizes.
    pub fn body_len(&self) -> Result<usize> {
        let n = self.words as usize * WORD;
        if n > MAX_BODY {
            return Err(Error::Protocol(format!(
                "frame body of {n} bytes is too large"
            )));
        }
        Ok(n)
    }
}

/// Builds a message body word by word.
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Encoder {
        Encoder::default()
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.u64(v.to_bits())
    }

    /// Zero bytes up to the next word boundary.
    pub fn align(&mut self) -> &mut Self {
        self.buf.resize(pad(self.buf.len()), 0);
        self
    }

    /// NUL-terminated, zero-padded text. Text containing NUL cannot be sent.
    pub fn text(&mut self, s: &str) -> Result<&mut Self> {
        if s.as_bytes().contains(&0) {
            return Err(Error::InvalidInput("text contains a NUL byte".into()));
        }
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        Ok(self.align())
    }

    /// Length-prefixed, zero-padded blob.
    pub fn blob(&mut self, b: &[u8]) -> &mut Self {
        self.u64(b.len() as u64);
        self.buf.extend_from_slice(b);
        self.align()
    }

    /// A tuple of statement parameters: count (1 byte for schema 0, 4 bytes for schema 1),
    /// one type byte per value, padding, then the values. No parameters encode as nothing.
    pub fn params(&mut self, params: &[Value], schema: u8) -> Result<&mut Self> {
        if params.is_empty() {
            return Ok(self);
        }
        if schema == 0 {
            let n = u8::try_from(params.len())
                .map_err(|_| Error::InvalidInput("more than 255 parameters in schema 0".into()))?;
            self.u8(n);
        } else {
            let n = u32::try_from(params.len())
                .map_err(|_| Error::InvalidInput("too many parameters".into()))?;
            self.u32(n);
        }
        for p in params {
            self.u8(p.type_code());
        }
        self.align();
        for p in params {
            self.value(p)?;
        }
        Ok(self)
    }

    /// The body of one value (its type is carried by the tuple header).
    pub fn value(&mut self, v: &Value) -> Result<&mut Self> {
        match v {
            Value::Integer(i) | Value::UnixTime(i) => self.i64(*i),
            Value::Float(f) => self.f64(*f),
            Value::Text(s) | Value::Iso8601(s) => self.text(s)?,
            Value::Blob(b) => self.blob(b),
            Value::Null => self.u64(0),
            Value::Boolean(b) => self.u64(u64::from(*b)),
        };
        Ok(self)
    }

    /// A row in a result batch: 4-bit type codes, padded to a word, then the values.
    pub fn row(&mut self, row: &[Value]) -> Result<&mut Self> {
        let start = self.buf.len();
        self.buf.resize(start + pad(row.len().div_ceil(2)), 0);
        for (i, v) in row.iter().enumerate() {
            let slot = &mut self.buf[start + i / 2];
            if i % 2 == 0 {
                *slot |= v.type_code();
            } else {
                *slot |= v.type_code() << 4;
            }
        }
        for v in row {
            self.value(v)?;
        }
        Ok(self)
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The complete frame: header then body (which must be word aligned).
    pub fn frame(mut self, kind: u8, schema: u8) -> Vec<u8> {
        self.align();
        let header = Header {
            words: (self.buf.len() / WORD) as u32,
            kind,
            schema,
            extra: 0,
        };
        let mut out = Vec::with_capacity(WORD + self.buf.len());
        out.extend_from_slice(&header.encode());
        out.extend_from_slice(&self.buf);
        out
    }

    pub fn into_body(mut self) -> Vec<u8> {
        self.align();
        self.buf
    }
}

/// Reads a message body field by field.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8]) -> Decoder<'a> {
        Decoder { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() - self.pos < n {
            return Err(Error::Protocol(format!(
                "short message: need {n} bytes at offset {}, have {}",
                self.pos,
                self.buf.len() - self.pos
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    pub fn u64(&mut self) -> Result<u64> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    pub fn peek_u64(&self) -> Result<u64> {
        self.clone().u64()
    }

    pub fn i64(&mut self) -> Result<i64> {
        Ok(self.u64()? as i64)
    }

    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }

    /// Skips to the next word boundary.
    pub fn align(&mut self) -> Result<()> {
        let n = pad(self.pos) - self.pos;
        self.take(n).map(|_| ())
    }

    pub fn text(&mut self) -> Result<String> {
        let rest = &self.buf[self.pos..];
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| Error::Protocol("unterminated text".into()))?;
        let s = std::str::from_utf8(&rest[..len])
            .map_err(|_| Error::Protocol("text is not UTF-8".into()))?
            .to_string();
        self.take(pad(len + 1))?;
        Ok(s)
    }

    pub fn blob(&mut self) -> Result<Vec<u8>> {
        let len = usize::try_from(self.u64()?)
            .map_err(|_| Error::Protocol("blob length overflows".into()))?;
        if len > self.remaining() {
            return Err(Error::Protocol(format!(
                "blob of {len} bytes overruns the message"
            )));
        }
        let b = self.take(len)?.to_vec();
        self.align()?;
        Ok(b)
    }

    /// One value of the given type code.
    pub fn value(&mut self, kind: u8) -> Result<Value> {
        use value_type::*;
        Ok(match kind {
            INTEGER => Value::Integer(self.i64()?),
            FLOAT => Value::Float(self.f64()?),
            TEXT => Value::Text(self.text()?),
            BLOB => Value::Blob(self.blob()?),
            NULL => {
                self.u64()?;
                Value::Null
            }
            UNIXTIME => Value::UnixTime(self.i64()?),
            ISO8601 => Value::Iso8601(self.text()?),
            BOOLEAN => Value::Boolean(self.u64()? != 0),
            other => return Err(Error::Protocol(format!("unknown value type {other}"))),
        })
    }

    /// A tuple of parameters (the server side of [`Encoder::params`]).
    pub fn params(&mut self, schema: u8) -> Result<Vec<Value>> {
        if self.remaining() == 0 {
            return Ok(Vec::new());
        }
        let start = self.pos;
        let n = if schema == 0 {
            self.u8()? as usize
        } else {
            self.u32()? as usize
        };
        if n > self.remaining() {
            return Err(Error::Protocol(format!(
                "{n} parameters overrun the message"
            )));
        }
        let types = self.take(n)?.to_vec();
        let header_end = start + pad(self.pos - start);
        self.take(header_end - self.pos)?;
        types.into_iter().map(|t| self.value(t)).collect()
    }

    /// A row of `n` values: 4-bit type codes padded to a word, then the values.
    pub fn row(&mut self, n: usize) -> Result<Vec<Value>> {
        let header = self.take(pad(n.div_ceil(2)))?;
        let types: Vec<u8> = (0..n)
            .map(|i| {
                let b = header[i / 2];
                if i % 2 == 0 {
                    b & 0x0f
                } else {
                    b >> 4
                }
            })
            .collect();
        types.into_iter().map(|t| self.value(t)).collect()
    }

    pub fn finish(&self) -> Result<()> {
        if self.remaining() != 0 {
            return Err(Error::Protocol(format!(
                "{} unexpected trailing bytes",
                self.remaining()
            )));
        }
        Ok(())
    }
}

/// A request, as the client sends it.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Who is the leader? Answered by [`Response::Server`].
    Leader,
    /// Register as a client. Answered by [`Response::Welcome`].
    Client { id: u64 },
    /// Open a database. Answered by [`Response::Db`].
    Open {
        name: String,
        flags: u64,
        vfs: String,
    },
    /// Prepare a statement. Answered by [`Response::Stmt`].
    Prepare { db: u32, sql: String },
    /// Run a prepared statement. Answered by [`Response::Result`].
    Exec {
        db: u32,
        stmt: u32,
        params: Vec<Value>,
    },
    /// Query with a prepared statement. Answered by [`Response::Rows`] batches.
    Query {
        db: u32,
        stmt: u32,
        params: Vec<Value>,
    },
    /// Release a prepared statement. Answered by [`Response::Empty`].
    Finalize { db: u32, stmt: u32 },
    /// Run SQL text (any number of statements). Answered by [`Response::Result`].
    ExecSql {
        db: u32,
        sql: String,
        params: Vec<Value>,
    },
    /// Query with SQL text (one statement). Answered by [`Response::Rows`] batches.
    QuerySql {
        db: u32,
        sql: String,
        params: Vec<Value>,
    },
    /// Stop a query that is yielding rows. Answered by [`Response::Empty`].
    Interrupt { db: u32 },
    /// Add a node (as a spare). Answered by [`Response::Empty`].
    Add { id: u64, address: String },
    /// Assign a role to a node. Answered by [`Response::Empty`].
    Assign { id: u64, role: u64 },
    /// Remove a node. Answered by [`Response::Empty`].
    Remove { id: u64 },
    /// Dump a database's files. Answered by [`Response::Files`].
    Dump { name: String },
    /// List the members. Answered by [`Response::Servers`].
    Cluster { format: u64 },
    /// Transfer leadership. Answered by [`Response::Empty`].
    Transfer { id: u64 },
}

/// Schema version for a parameter tuple: one-byte count when it fits, else four bytes.
fn params_schema(params: &[Value]) -> u8 {
    u8::from(params.len() > u8::MAX as usize)
}

impl Request {
    /// The message type code.
    pub fn kind(&self) -> u8 {
        use request::*;
        match self {
            Request::Leader => LEADER,
            Request::Client { .. } => CLIENT,
            Request::Open { .. } => OPEN,
            Request::Prepare { .. } => PREPARE,
            Request::Exec { .. } => EXEC,
            Request::Query { .. } => QUERY,
            Request::Finalize { .. } => FINALIZE,
            Request::ExecSql { .. } => EXEC_SQL,
            Request::QuerySql { .. } => QUERY_SQL,
            Request::Interrupt { .. } => INTERRUPT,
            Request::Add { .. } => ADD,
            Request::Assign { .. } => ASSIGN,
            Request::Remove { .. } => REMOVE,
            Request::Dump { .. } => DUMP,
            Request::Cluster { .. } => CLUSTER,
            Request::Transfer { .. } => TRANSFER,
        }
    }

    /// The whole frame, header included.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut e = Encoder::new();
        let mut schema = 0;
        match self {
            // The body of a LEADER request is one unused word.
            Request::Leader => {
                e.u64(0);
            }
            Request::Client { id } | Request::Remove { id } | Request::Transfer { id } => {
                e.u64(*id);
            }
            Request::Open { name, flags, vfs } => {
                e.text(name)?.u64(*flags).text(vfs)?;
            }
            Request::Prepare { db, sql } => {
                e.u64(u64::from(*db)).text(sql)?;
            }
            Request::Exec { db, stmt, params } | Request::Query { db, stmt, params } => {
                schema = params_schema(params);
                e.u32(*db).u32(*stmt).params(params, schema)?;
            }
            Request::Finalize { db, stmt } => {
                e.u32(*db).u32(*stmt);
            }
            Request::ExecSql { db, sql, params } | Request::QuerySql { db, sql, params } => {
                schema = params_schema(params);
                e.u64(u64::from(*db)).text(sql)?.params(params, schema)?;
            }
            Request::Interrupt { db } => {
                e.u64(u64::from(*db));
            }
            Request::Add { id, address } => {
                e.u64(*id).text(address)?;
            }
            Request::Assign { id, role } => {
                e.u64(*id).u64(*role);
            }
            Request::Dump { name } => {
                e.text(name)?;
            }
            Request::Cluster { format } => {
                e.u64(*format);
            }
        }
        Ok(e.frame(self.kind(), schema))
    }

    /// Decodes a request body (what a server does; used to test the encoder and by fakes).
    pub fn decode(header: &Header, body: &[u8]) -> Result<Request> {
        use request::*;
        let mut d = Decoder::new(body);
        let r = match header.kind {
            LEADER => {
                d.u64()?;
                Request::Leader
            }
            CLIENT => Request::Client { id: d.u64()? },
            OPEN => Request::Open {
                name: d.text()?,
                flags: d.u64()?,
                vfs: d.text()?,
            },
            PREPARE => Request::Prepare {
                db: d.u64()? as u32,
                sql: d.text()?,
            },
            EXEC | QUERY => {
                let db = d.u32()?;
                let stmt = d.u32()?;
                let params = d.params(header.schema)?;
                if header.kind == EXEC {
                    Request::Exec { db, stmt, params }
                } else {
                    Request::Query { db, stmt, params }
                }
            }
            FINALIZE => Request::Finalize {
                db: d.u32()?,
                stmt: d.u32()?,
            },
            EXEC_SQL | QUERY_SQL => {
                let db = d.u64()? as u32;
                let sql = d.text()?;
                let params = d.params(header.schema)?;
                if header.kind == EXEC_SQL {
                    Request::ExecSql { db, sql, params }
                } else {
                    Request::QuerySql { db, sql, params }
                }
            }
            INTERRUPT => Request::Interrupt {
                db: d.u64()? as u32,
            },
            ADD => Request::Add {
                id: d.u64()?,
                address: d.text()?,
            },
            ASSIGN => Request::Assign {
                id: d.u64()?,
                role: d.u64()?,
            },
            REMOVE => Request::Remove { id: d.u64()? },
            DUMP => Request::Dump { name: d.text()? },
            CLUSTER => Request::Cluster { format: d.u64()? },
            TRANSFER => Request::Transfer { id: d.u64()? },
            other => return Err(Error::Protocol(format!("unknown request type {other}"))),
        };
        d.finish()?;
        Ok(r)
    }
}

/// A member of the cluster as CLUSTER and LEADER report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub id: u64,
    pub address: String,
    pub role: Role,
}

/// A member's role in the raft configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Voter,
    StandBy,
    Spare,
}

impl Role {
    pub fn code(self) -> u64 {
        match self {
            Role::Voter => 0,
            Role::StandBy => 1,
            Role::Spare => 2,
        }
    }

    pub fn from_code(c: u64) -> Result<Role> {
        match c {
            0 => Ok(Role::Voter),
            1 => Ok(Role::StandBy),
            2 => Ok(Role::Spare),
            other => Err(Error::Protocol(format!("unknown role {other}"))),
        }
    }
}

/// One batch of a result set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowBatch {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// True when the batch ended with the PART marker: another ROWS response follows.
    pub more: bool,
}

/// A file of a DUMP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub name: String,
    pub data: Vec<u8>,
}

/// A response, as the server sends it.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Failure {
        code: u64,
        message: String,
    },
    /// The leader (id 0 and an empty address when none is known).
    Server {
        id: u64,
        address: String,
    },
    Welcome {
        heartbeat_timeout: u64,
    },
    Servers(Vec<NodeInfo>),
    Db {
        id: u32,
    },
    /// A prepared statement; `offset` (schema 1) is where the unprepared tail starts.
    Stmt {
        db: u32,
        id: u32,
        params: u64,
        offset: Option<u64>,
    },
    Result {
        last_insert_id: u64,
        rows_affected: u64,
    },
    Rows(RowBatch),
    Empty,
    Files(Vec<File>),
    Metadata {
        failure_domain: u64,
        weight: u64,
    },
}

impl Response {
    pub fn kind(&self) -> u8 {
        use response::*;
        match self {
            Response::Failure { .. } => FAILURE,
            Response::Server { .. } => SERVER,
            Response::Welcome { .. } => WELCOME,
            Response::Servers(_) => SERVERS,
            Response::Db { .. } => DB,
            Response::Stmt { .. } => STMT,
            Response::Result { .. } => RESULT,
            Response::Rows(_) => ROWS,
            Response::Empty => EMPTY,
            Response::Files(_) => FILES,
            Response::Metadata { .. } => METADATA,
        }
    }

    /// Decodes a response body. SERVERS is read in format 1 (id, address, role), the
    /// format this client asks for.
    pub fn decode(header: &Header, body: &[u8]) -> Result<Response> {
        use response::*;
        let mut d = Decoder::new(body);
        let r = match header.kind {
            FAILURE => Response::Failure {
                code: d.u64()?,
                message: d.text()?,
            },
            SERVER => Response::Server {
                id: d.u64()?,
                address: d.text()?,
            },
            WELCOME => Response::Welcome {
                heartbeat_timeout: d.u64()?,
            },
            SERVERS => {
                let n = d.u64()?;
                let mut nodes = Vec::new();
                for _ in 0..n {
                    nodes.push(NodeInfo {
                        id: d.u64()?,
                        address: d.text()?,
                        role: Role::from_code(d.u64()?)?,
                    });
                }
                Response::Servers(nodes)
            }
            DB => {
                let id = d.u32()?;
                d.u32()?;
                Response::Db { id }
            }
            STMT => Response::Stmt {
                db: d.u32()?,
                id: d.u32()?,
                params: d.u64()?,
                offset: if header.schema >= 1 {
                    Some(d.u64()?)
                } else {
                    None
                },
            },
            RESULT => Response::Result {
                last_insert_id: d.u64()?,
                rows_affected: d.u64()?,
            },
            ROWS => Response::Rows(decode_rows(&mut d)?),
            EMPTY => {
                d.u64()?;
                Response::Empty
            }
            FILES => {
                let n = d.u64()?;
                let mut files = Vec::new();
                for _ in 0..n {
                    let name = d.text()?;
                    let len = usize::try_from(d.u64()?)
                        .map_err(|_| Error::Protocol("file length overflows".into()))?;
                    if len > d.remaining() {
                        return Err(Error::Protocol(format!(
                            "file of {len} bytes overruns the message"
                        )));
                    }
                    let data = d.take(len)?.to_vec();
                    d.align()?;
                    files.push(File { name, data });
                }
                Response::Files(files)
            }
            METADATA => Response::Metadata {
                failure_domain: d.u64()?,
                weight: d.u64()?,
            },
            other => return Err(Error::Protocol(format!("unknown response type {other}"))),
        };
        d.finish()?;
        Ok(r)
    }

    /// The whole frame (what a server sends; used by tests and fakes).
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut e = Encoder::new();
        let mut schema = 0;
        match self {
            Response::Failure { code, message } => {
                e.u64(*code).text(message)?;
            }
            Response::Server { id, address } => {
                e.u64(*id).text(address)?;
            }
            Response::Welcome { heartbeat_timeout } => {
                e.u64(*heartbeat_timeout);
            }
            Response::Servers(nodes) => {
                e.u64(nodes.len() as u64);
                for n in nodes {
                    e.u64(n.id).text(&n.address)?.u64(n.role.code());
                }
            }
            Response::Db { id } => {
                e.u32(*id).u32(0);
            }
            Response::Stmt {
                db,
                id,
                params,
                offset,
            } => {
                e.u32(*db).u32(*id).u64(*params);
                if let Some(o) = offset {
                    schema = 1;
                    e.u64(*o);
                }
            }
            Response::Result {
                last_insert_id,
                rows_affected,
            } => {
                e.u64(*last_insert_id).u64(*rows_affected);
            }
            Response::Rows(batch) => {
                e.u64(batch.columns.len() as u64);
                for c in &batch.columns {
                    e.text(c)?;
                }
                for r in &batch.rows {
                    if r.len() != batch.columns.len() {
                        return Err(Error::InvalidInput("row width differs from columns".into()));
                    }
                    e.row(r)?;
                }
                e.u64(if batch.more { ROWS_PART } else { ROWS_DONE });
            }
            Response::Empty => {
                e.u64(0);
            }
            Response::Files(files) => {
                e.u64(files.len() as u64);
                for f in files {
                    e.text(&f.name)?.blob(&f.data);
                }
            }
            Response::Metadata {
                failure_domain,
                weight,
            } => {
                e.u64(*failure_domain).u64(*weight);
            }
        }
        Ok(e.frame(self.kind(), schema))
    }
}

fn decode_rows(d: &mut Decoder) -> Result<RowBatch> {
    let n = usize::try_from(d.u64()?).map_err(|_| Error::Protocol("column count".into()))?;
    if n > d.remaining() {
        return Err(Error::Protocol(format!("{n} columns overrun the message")));
    }
    let mut batch = RowBatch::default();
    for _ in 0..n {
        batch.columns.push(d.text()?);
    }
    loop {
        match d.peek_u64()? {
            ROWS_DONE => {
                d.u64()?;
                return Ok(batch);
            }
            ROWS_PART => {
                d.u64()?;
                batch.more = true;
                return Ok(batch);
            }
            _ if n == 0 => return Err(Error::Protocol("row data with no columns".into())),
            _ => batch.rows.push(d.row(n)?),
        }
    }
}

/// Reads one frame (header and body) from `r`.
pub fn read_frame(r: &mut impl std::io::Read) -> Result<(Header, Vec<u8>)> {
    let mut h = [0u8; 8];
    r.read_exact(&mut h)?;
    let header = Header::decode(&h);
    let len = header.body_len()?;
    // Grows as bytes arrive, so a lying header cannot make us allocate up front.
    let mut body = Vec::with_capacity(len.min(1 << 16));
    std::io::Read::read_to_end(&mut std::io::Read::take(&mut *r, len as u64), &mut body)?;
    if body.len() != len {
        return Err(Error::Io(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed in the middle of a message",
        )));
    }
    Ok((header, body))
}
