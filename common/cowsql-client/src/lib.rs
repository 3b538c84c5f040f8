//! A blocking client for the cowsql (and dqlite) wire protocol, version 1.
//!
//! - [`codec`]: frames, requests, responses, parameter tuples and row batches.
//! - [`Conn`]: one connection to one node (handshake, open, exec, query, membership).
//! - [`Cluster`]: finds the leader among known nodes and retries on leadership changes.
//!
//! Written from the protocol's published description (dqlite's "Wire protocol" page) and
//! checked against the cowsql 1.15.8 sources; see `docs/cluster.md`.

mod cluster;
pub mod codec;
mod conn;

pub use cluster::Cluster;
pub use codec::{File, NodeInfo, Role};
pub use conn::{dial, Conn, ExecResult, Rows, Stmt, Transport};

/// `SQLITE_IOERR_NOT_LEADER`: the node asked is not the leader (nothing was run).
pub const SQLITE_IOERR_NOT_LEADER: u64 = 10250;
/// `SQLITE_IOERR_LEADERSHIP_LOST`: leadership was lost while a write was being replicated
/// (the write may or may not end up committed).
pub const SQLITE_IOERR_LEADERSHIP_LOST: u64 = 10506;

/// Errors of the client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The connection failed (connect, read, write, timeout, closed by the peer).
    #[error("cowsql connection: {0}")]
    Io(#[from] std::io::Error),
    /// The peer sent something this client cannot parse or did not expect.
    #[error("cowsql protocol error: {0}")]
    Protocol(String),
    /// The server answered with a FAILURE response.
    #[error("cowsql error {code}: {message}")]
    Server { code: u64, message: String },
    /// No node among the known ones knows a leader (no quorum, or still electing).
    #[error("no cowsql leader found: {0}")]
    NoLeader(String),
    /// The caller asked for something the protocol cannot carry.
    #[error("invalid cowsql request: {0}")]
    InvalidInput(String),
}

impl Error {
    /// The server's error code, if this is a FAILURE response.
    pub fn code(&self) -> Option<u64> {
        match self {
            Error::Server { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// True for the two errors that mean "ask the (new) leader".
    /// The node closed this connection's database: it happens to a connection whose node
    /// lost leadership and later regained it (the gateway closes the leader's database
    /// at every leadership change). Nothing ran; the connection must be opened again.
    pub fn is_db_closed(&self) -> bool {
        matches!(self, Error::Server { code: 12, message } if message == "no database opened")
    }

    /// SQLITE_BUSY / SQLITE_LOCKED (any extended code): another connection's
    /// transaction holds the database on the leader; the statement did not run (a
    /// transaction that gets it is rolled back and may run again).
    pub fn is_busy(&self) -> bool {
        matches!(self, Error::Server { code, .. } if matches!(code & 0xff, 5 | 6))
    }

    pub fn is_leadership(&self) -> bool {
        matches!(
            self.code(),
            Some(SQLITE_IOERR_NOT_LEADER) | Some(SQLITE_IOERR_LEADERSHIP_LOST)
        )
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// A typed value: a statement parameter or a column of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Integer(i64),
    Float(f64),
    Text(String),
    Blob(Vec<u8>),
    Null,
    /// Seconds since the epoch. In rows: an integer in a column declared
    /// `DATETIME`/`DATE`/`TIMESTAMP`.
    UnixTime(i64),
    /// An ISO 8601 date string. In rows: text (or NULL, as `""`) in a column declared
    /// `DATETIME`/`DATE`/`TIMESTAMP`.
    Iso8601(String),
    /// In rows: a column declared `BOOLEAN` (NULL comes back as false).
    Boolean(bool),
}

impl Value {
    /// The protocol's type code.
    pub fn type_code(&self) -> u8 {
        use codec::value_type::*;
        match self {
            Value::Integer(_) => INTEGER,
            Value::Float(_) => FLOAT,
            Value::Text(_) => TEXT,
            Value::Blob(_) => BLOB,
            Value::Null => NULL,
            Value::UnixTime(_) => UNIXTIME,
            Value::Iso8601(_) => ISO8601,
            Value::Boolean(_) => BOOLEAN,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(i) | Value::UnixTime(i) => Some(*i),
            Value::Boolean(b) => Some(i64::from(*b)),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) | Value::Iso8601(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Integer(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Boolean(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Blob(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests;
