//! The cluster's own tables in the replicated database (members, join tokens) and the
//! member-local raft list, as SQL over [`SqlTx`] (both backends). They are created by
//! [`apply_cluster_schema`] on the replicated database only, outside the append-only
//! standalone migrations, so a standalone installation's schema does not change.

use incus_api::{Error, Result};

use crate::backend::{SqlTx, Value};

/// Tables that exist only in the replicated database of a cluster.
pub const CLUSTER_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS nodes (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    arch TEXT NOT NULL DEFAULT '',
    failure_domain TEXT NOT NULL DEFAULT 'default',
    heartbeat INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS cluster_join_tokens (
    name TEXT PRIMARY KEY NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    expires_at INTEGER NOT NULL
);
";

pub fn apply_cluster_schema(tx: &mut dyn SqlTx) -> Result<()> {
    // One statement per call: the local backend prepares a single statement.
    for stmt in CLUSTER_SCHEMA.split(';').filter(|s| !s.trim().is_empty()) {
        tx.execute(stmt, &[])?;
    }
    Ok(())
}

/// A row of `nodes`: one cluster member. `heartbeat` is in milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRow {
    pub id: u64,
    pub name: String,
    pub address: String,
    pub description: String,
    pub arch: String,
    pub failure_domain: String,
    pub heartbeat: i64,
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        _ => String::new(),
    }
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

pub fn member_add(tx: &mut dyn SqlTx, m: &MemberRow) -> Result<()> {
    tx.execute(
        "INSERT INTO nodes (id, name, address, description, arch, failure_domain, heartbeat) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
        &[
            Value::Integer(m.id as i64),
            Value::Text(m.name.clone()),
            Value::Text(m.address.clone()),
            Value::Text(m.description.clone()),
            Value::Text(m.arch.clone()),
            Value::Text(m.failure_domain.clone()),
            Value::Integer(m.heartbeat),
        ],
    )
    .map_err(|e| match e.kind {
        incus_api::ErrorKind::Conflict => Error::conflict(format!(
            "The cluster already has a member named {:?} or at {}",
            m.name, m.address
        )),
        _ => e,
    })?;
    Ok(())
}

pub fn member_list(tx: &mut dyn SqlTx) -> Result<Vec<MemberRow>> {
    Ok(tx
        .query(
            "SELECT id, name, address, description, arch, failure_domain, heartbeat \
             FROM nodes ORDER BY name",
            &[],
        )?
        .iter()
        .map(|r| MemberRow {
            id: int(&r[0]) as u64,
            name: text(&r[1]),
            address: text(&r[2]),
            description: text(&r[3]),
            arch: text(&r[4]),
            failure_domain: text(&r[5]),
            heartbeat: int(&r[6]),
        })
        .collect())
}

pub fn member_heartbeat(tx: &mut dyn SqlTx, id: u64, now_ms: i64) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE nodes SET heartbeat = ? WHERE id = ?",
        &[Value::Integer(now_ms), Value::Integer(id as i64)],
    )? == 1)
}

pub fn member_remove(tx: &mut dyn SqlTx, id: u64) -> Result<bool> {
    Ok(tx.execute(
        "DELETE FROM nodes WHERE id = ?",
        &[Value::Integer(id as i64)],
    )? == 1)
}

/// Stores a join token for member `name` (its secret only as a hash).
pub fn token_add(tx: &mut dyn SqlTx, name: &str, secret_hash: &str, expires_at: i64) -> Result<()> {
    if !tx
        .query(
            "SELECT 1 FROM nodes WHERE name = ?",
            &[Value::Text(name.into())],
        )?
        .is_empty()
    {
        return Err(Error::conflict(format!(
            "The cluster already has a member named {name:?}"
        )));
    }
    tx.execute(
        "INSERT INTO cluster_join_tokens (name, secret_hash, expires_at) VALUES (?, ?, ?)",
        &[
            Value::Text(name.into()),
            Value::Text(secret_hash.into()),
            Value::Integer(expires_at),
        ],
    )
    .map_err(|e| match e.kind {
        incus_api::ErrorKind::Conflict => {
            Error::conflict(format!("A join token already exists for {name:?}"))
        }
        _ => e,
    })?;
    Ok(())
}

/// The pending tokens: (member name, expiry in seconds since the epoch).
pub fn token_list(tx: &mut dyn SqlTx) -> Result<Vec<(String, i64)>> {
    Ok(tx
        .query(
            "SELECT name, expires_at FROM cluster_join_tokens ORDER BY name",
            &[],
        )?
        .iter()
        .map(|r| (text(&r[0]), int(&r[1])))
        .collect())
}

pub fn token_revoke(tx: &mut dyn SqlTx, name: &str) -> Result<bool> {
    Ok(tx.execute(
        "DELETE FROM cluster_join_tokens WHERE name = ?",
        &[Value::Text(name.into())],
    )? == 1)
}

/// Consumes the token whose secret hashes to `secret_hash` (single use: it is deleted
/// in the same transaction); returns the member name it was issued for, or an error if
/// there is none or it expired (then nothing changes: the caller's transaction rolls
/// back; `cluster revoke-token` removes it).
pub fn token_take(tx: &mut dyn SqlTx, secret_hash: &str, now: i64) -> Result<String> {
    let rows = tx.query(
        "SELECT name, expires_at FROM cluster_join_tokens WHERE secret_hash = ?",
        &[Value::Text(secret_hash.into())],
    )?;
    let Some(r) = rows.first() else {
        return Err(Error::forbidden("No matching cluster join token"));
    };
    let (name, expires) = (text(&r[0]), int(&r[1]));
    tx.execute(
        "DELETE FROM cluster_join_tokens WHERE secret_hash = ?",
        &[Value::Text(secret_hash.into())],
    )?;
    if expires <= now {
        return Err(Error::forbidden("The cluster join token has expired"));
    }
    Ok(name)
}

/// The member-local database of a clustered member (`local.db`, always SQLite): its
/// own config keys and the raft members list used to find the cluster at boot.
pub struct LocalDb {
    conn: rusqlite::Connection,
}

impl LocalDb {
    pub fn open(path: &std::path::Path) -> Result<LocalDb> {
        crate::make_private(path)?;
        let conn = rusqlite::Connection::open(path).map_err(crate::sql_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(crate::sql_err)?;
        conn.execute_batch(crate::backend::MEMBER_LOCAL_SCHEMA)
            .map_err(crate::sql_err)?;
        Ok(LocalDb { conn })
    }

    pub fn config(&self, key: &str) -> Result<Option<String>> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row("SELECT value FROM config WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(crate::sql_err)
    }

    pub fn set_config(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO config (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map_err(crate::sql_err)?;
        Ok(())
    }

    /// The raft members as last seen: (id, address, role code).
    pub fn raft_nodes(&self) -> Result<Vec<(u64, String, u64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, address, role FROM raft_nodes ORDER BY id")
            .map_err(crate::sql_err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get(1)?,
                    r.get::<_, i64>(2)? as u64,
                ))
            })
            .map_err(crate::sql_err)?;
        rows.map(|r| r.map_err(crate::sql_err)).collect()
    }

    /// Replaces the raft members list.
    pub fn set_raft_nodes(&mut self, nodes: &[(u64, String, u64)]) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(crate::sql_err)?;
        tx.execute("DELETE FROM raft_nodes", [])
            .map_err(crate::sql_err)?;
        for (id, address, role) in nodes {
            tx.execute(
                "INSERT INTO raft_nodes (id, address, role) VALUES (?1, ?2, ?3)",
                rusqlite::params![*id as i64, address, *role as i64],
            )
            .map_err(crate::sql_err)?;
        }
        tx.commit().map_err(crate::sql_err)
    }
}
