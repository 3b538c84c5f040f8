//! Two state backends behind one interface (clustering, `docs/cluster.md`): the local
//! SQLite file (standalone) and a cowsql cluster (clustered). The same SQL runs on both.
//!
//! The standalone path is untouched: [`Db::read`]/[`Db::write`] still hand query
//! functions a `rusqlite::Transaction` directly, with no indirection; this interface is
//! what clustered code (and the standalone-to-cluster migration) uses. [`SqlTx`] is the
//! one interface: `rusqlite::Transaction` implements it for the local file and
//! `cowsql_client::Conn` (inside `Cluster::transaction`) for the replicated database.

use incus_api::{Error, Result};

pub use cowsql_client::Value;

use crate::{sql_err, Db};

/// One transaction on either backend: statements with typed parameters, rows back.
pub trait SqlTx {
    /// Runs one statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64>;
    /// Runs one query; its rows. Values come back as SQLite stores them (integer, real,
    /// text, blob, NULL) on both backends.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>>;
}

fn to_sql(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as S;
    match v {
        Value::Integer(i) | Value::UnixTime(i) => S::Integer(*i),
        Value::Boolean(b) => S::Integer(i64::from(*b)),
        Value::Float(f) => S::Real(*f),
        Value::Text(s) | Value::Iso8601(s) => S::Text(s.clone()),
        Value::Blob(b) => S::Blob(b.clone()),
        Value::Null => S::Null,
    }
}

fn from_sql(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef as S;
    match v {
        S::Integer(i) => Value::Integer(i),
        S::Real(f) => Value::Float(f),
        S::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        S::Blob(b) => Value::Blob(b.to_vec()),
        S::Null => Value::Null,
    }
}

/// cowsql types columns by their declared type (DATETIME, BOOLEAN); our schema declares
/// none of those, but a value read through the interface is normalised anyway.
fn normalise(v: Value) -> Value {
    match v {
        Value::UnixTime(i) => Value::Integer(i),
        Value::Boolean(b) => Value::Integer(i64::from(b)),
        Value::Iso8601(s) => Value::Text(s),
        v => v,
    }
}

/// A cowsql error as the rest of the project sees errors: constraint violations are
/// conflicts (as on the local file), the rest internal.
pub fn cowsql_err(e: cowsql_client::Error) -> Error {
    cowsql_err_ref(&e)
}

/// A cowsql connection inside a transaction; keeps the client's last error so that
/// leadership changes reach `Cluster`'s retry logic intact.
struct ConnTx<'a> {
    conn: &'a mut cowsql_client::Conn,
    last: Option<cowsql_client::Error>,
}

impl SqlTx for ConnTx<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        match self.conn.exec(sql, params) {
            Ok(r) => Ok(r.rows_affected),
            Err(e) => {
                let ours = cowsql_err_ref(&e);
                self.last = Some(e);
                Err(ours)
            }
        }
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>> {
        match self.conn.query(sql, params) {
            Ok(rows) => Ok(rows
                .rows
                .into_iter()
                .map(|r| r.into_iter().map(normalise).collect())
                .collect()),
            Err(e) => {
                let ours = cowsql_err_ref(&e);
                self.last = Some(e);
                Err(ours)
            }
        }
    }
}

fn cowsql_err_ref(e: &cowsql_client::Error) -> Error {
    match e.code() {
        Some(code) if code & 0xff == 19 => Error::conflict(format!("Already exists ({e})")),
        _ => Error::internal(format!("Cluster database error: {e}")),
    }
}

/// The state database of an installation: the local file, or the replicated one.
pub enum Backend {
    Local(Db),
    Cowsql(cowsql_client::Cluster),
}

/// Runs `f` inside a cowsql transaction, keeping our error (not the client's) when `f`
/// fails, and mapping the client's own failures.
fn cowsql_tx<T>(
    cluster: &mut cowsql_client::Cluster,
    mut f: impl FnMut(&mut dyn SqlTx) -> Result<T>,
) -> Result<T> {
    let mut ours: Option<Error> = None;
    let out = cluster.transaction(|conn| {
        ours = None;
        let mut tx = ConnTx { conn, last: None };
        match f(&mut tx) {
            Ok(v) => Ok(v),
            // The client's own failure (leadership moved, connection lost, ...) goes
            // back to the client as is: it decides whether the whole transaction runs
            // again on the new leader.
            Err(_)
                if tx.last.as_ref().is_some_and(|e| {
                    e.is_leadership()
                        || e.is_db_closed()
                        || matches!(e, cowsql_client::Error::Io(_))
                }) =>
            {
                Err(tx.last.take().expect("checked above"))
            }
            Err(e) => {
                let msg = e.message.clone();
                ours = Some(e);
                Err(cowsql_client::Error::InvalidInput(msg))
            }
        }
    });
    match out {
        Ok(v) => Ok(v),
        Err(cowsql_client::Error::InvalidInput(_)) if ours.is_some() => {
            Err(ours.take().expect("checked above"))
        }
        Err(e) => Err(cowsql_err(e)),
    }
}

impl Backend {
    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE` on the file; on cowsql, on the
    /// leader, run again as a whole if leadership moved before the commit).
    pub fn write<T>(&mut self, mut f: impl FnMut(&mut dyn SqlTx) -> Result<T>) -> Result<T> {
        match self {
            Backend::Local(db) => db.write(|tx| f(&mut Shared(tx))),
            Backend::Cowsql(c) => cowsql_tx(c, f),
        }
    }

    /// Runs `f` in a read transaction (a consistent snapshot; on cowsql, on the leader).
    pub fn read<T>(&mut self, mut f: impl FnMut(&mut dyn SqlTx) -> Result<T>) -> Result<T> {
        match self {
            Backend::Local(db) => db.read(|tx| f(&mut Shared(tx))),
            Backend::Cowsql(c) => cowsql_tx(c, f),
        }
    }
}

/// A `&rusqlite::Transaction` as an [`SqlTx`] (its statements only need `&self`).
struct Shared<'a, 'b>(&'a rusqlite::Transaction<'b>);

impl SqlTx for Shared<'_, '_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let p: Vec<_> = params.iter().map(to_sql).collect();
        let mut stmt = self.0.prepare_cached(sql).map_err(sql_err)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(p))
            .map_err(sql_err)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Vec<Value>>> {
        query_local(self.0, sql, params)
    }
}

/// A query on the local file, rows as [`Value`]s.
pub fn query_local(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[Value],
) -> Result<Vec<Vec<Value>>> {
    let p: Vec<_> = params.iter().map(to_sql).collect();
    let mut stmt = conn.prepare_cached(sql).map_err(sql_err)?;
    let n = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(p)).map_err(sql_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(sql_err)? {
        out.push(
            (0..n)
                .map(|i| r.get_ref(i).map(from_sql))
                .collect::<std::result::Result<_, _>>()
                .map_err(sql_err)?,
        );
    }
    Ok(out)
}

/// The member-local database (`INCUS_DIR/database/local.db`, always a local SQLite file)
/// of a clustered member, as upstream's: this member's own config keys and the raft
/// members list used to find the cluster at boot.
pub const MEMBER_LOCAL_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS config (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS raft_nodes (
    id INTEGER PRIMARY KEY NOT NULL,
    address TEXT NOT NULL UNIQUE,
    role INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL DEFAULT ''
);
";

/// Server config keys that are per member (kept in the member-local `config`, never
/// replicated), as upstream; every other key is cluster-wide.
pub const MEMBER_LOCAL_CONFIG_KEYS: &[&str] = &[
    "core.https_address",
    "cluster.https_address",
    "core.bgp_address",
    "core.bgp_routerid",
    "core.debug_address",
    "core.dns_address",
    "core.metrics_address",
    "core.storage_buckets_address",
    "storage.backups_volume",
    "storage.images_volume",
];

/// Brings the replicated database's schema up to date: the same append-only
/// migrations as the local file ([`crate::schema::MIGRATIONS`]), in one replicated
/// transaction, `PRAGMA user_version` holding the count as locally. The global
/// database is only ever created by this version onward, so the one data step
/// (hashing cleartext join-token secrets) has nothing to convert there.
pub fn migrate_global(cluster: &mut cowsql_client::Cluster) -> Result<usize> {
    let target = crate::schema::MIGRATIONS.len();
    cowsql_tx(cluster, |tx| {
        let current = match tx
            .query("PRAGMA user_version", &[])?
            .first()
            .map(|r| &r[..])
        {
            Some([Value::Integer(v)]) => *v as usize,
            other => return Err(Error::internal(format!("user_version: {other:?}"))),
        };
        if current > target {
            return Err(Error::unsupported(format!(
                "The cluster database schema (version {current}) is newer than this tool (version {target}); upgrade the tools"
            )));
        }
        for (i, step) in crate::schema::MIGRATIONS.iter().enumerate().skip(current) {
            tx.execute(step, &[])
                .map_err(|e| Error::internal(format!("Schema migration {}: {e}", i + 1)))?;
        }
        if current < target {
            tx.execute(&format!("PRAGMA user_version = {target}"), &[])?;
        }
        Ok(target)
    })
}

/// Copies every global table of a standalone installation's file into the (freshly
/// migrated) replicated database, replacing what is there, in one replicated
/// transaction, and checks the row counts; returns `(table, rows)`. Member-local config keys are not copied. The
/// caller holds every tool lock and flips the "clustered" flag only after this
/// succeeded, so a failure leaves the standalone installation as it was.
pub fn copy_to_cluster(
    db: &mut Db,
    cluster: &mut cowsql_client::Cluster,
) -> Result<Vec<(String, usize)>> {
    struct Table {
        name: String,
        columns: Vec<String>,
        rows: Vec<Vec<Value>>,
    }
    let tables: Vec<Table> = db.read(|tx| {
        let names = query_local(
            tx,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
            &[],
        )?;
        let mut out = Vec::new();
        for n in names {
            let Some(Value::Text(name)) = n.into_iter().next() else {
                continue;
            };
            let cols = query_local(tx, &format!("SELECT name FROM pragma_table_info('{name}')"), &[])?
                .into_iter()
                .filter_map(|r| match r.into_iter().next() {
                    Some(Value::Text(c)) => Some(c),
                    _ => None,
                })
                .collect::<Vec<_>>();
            let list = cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
            let mut rows = query_local(tx, &format!("SELECT {list} FROM \"{name}\""), &[])?;
            if name == "config" {
                let key = cols.iter().position(|c| c == "key");
                rows.retain(|r| {
                    !key.is_some_and(|k| {
                        matches!(&r[k], Value::Text(t) if MEMBER_LOCAL_CONFIG_KEYS.contains(&t.as_str()))
                    })
                });
            }
            out.push(Table { name, columns: cols, rows });
        }
        Ok(out)
    })?;
    cowsql_tx(cluster, |tx| {
        // The migrations' seed rows (default project, profile) are replaced by this
        // installation's own; rows go in table by table, foreign keys are checked at
        // the commit. Running the copy again (after a crash before the flag flipped)
        // gives the same result.
        tx.execute("PRAGMA defer_foreign_keys = ON", &[])?;
        for t in &tables {
            tx.execute(&format!("DELETE FROM \"{}\"", t.name), &[])?;
        }
        for t in &tables {
            let list = t
                .columns
                .iter()
                .map(|c| format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ");
            let marks = vec!["?"; t.columns.len()].join(", ");
            let sql = format!("INSERT INTO \"{}\" ({list}) VALUES ({marks})", t.name);
            for r in &t.rows {
                tx.execute(&sql, r)?;
            }
        }
        Ok(())
    })?;
    let mut counts = Vec::new();
    for t in &tables {
        let n = cowsql_tx(cluster, |tx| {
            match tx
                .query(&format!("SELECT count(*) FROM \"{}\"", t.name), &[])?
                .first()
                .map(|r| &r[..])
            {
                Some([Value::Integer(n)]) => Ok(*n as usize),
                other => Err(Error::internal(format!("count: {other:?}"))),
            }
        })?;
        if n != t.rows.len() {
            return Err(Error::internal(format!(
                "Copying {} into the cluster database: {} rows there, {} here",
                t.name,
                n,
                t.rows.len()
            )));
        }
        counts.push((t.name.clone(), n));
    }
    Ok(counts)
}
