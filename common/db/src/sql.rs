//! `admin sql`: arbitrary SQL for debugging and repair, as upstream's `incusd sql`.
//! Read-only unless asked: the read-only path opens its own read-only connection
//! with `query_only` on, and refuses any statement SQLite does not call read-only
//! before running anything.

use crate::{sql_err, Db, BUSY_TIMEOUT};
use incus_api::{Error, Result};
use rusqlite::types::ValueRef;
use rusqlite::{Batch, Connection, OpenFlags, TransactionBehavior};
use serde_json::Value;
use std::path::Path;

/// One statement's result, as upstream's `SQLResult`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SqlResult {
    /// `select` (a statement that returns rows) or `exec`.
    pub kind: &'static str,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    pub rows_affected: i64,
}

fn value_of(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Value::from(f),
        ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::from(b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
    }
}

fn is_transaction_control(sql: &str) -> bool {
    let first = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(
        first.as_str(),
        "BEGIN" | "COMMIT" | "END" | "ROLLBACK" | "SAVEPOINT" | "RELEASE"
    )
}

fn run_all(conn: &Connection, text: &str, write: bool) -> Result<Vec<SqlResult>> {
    // Check every statement first: a refused one means nothing ran.
    let mut batch = Batch::new(conn, text);
    while let Some(stmt) = batch.next().map_err(|e| Error::invalid(format!("{e}")))? {
        let sql = stmt.expanded_sql().unwrap_or_default();
        if is_transaction_control(&sql) {
            return Err(Error::invalid(format!(
                "Transaction control is not allowed (each run is one transaction): {}",
                sql.trim()
            )));
        }
        if !write && !stmt.readonly() {
            return Err(Error::forbidden(format!(
                "Refusing a statement that writes without --write: {}",
                sql.trim()
            )));
        }
    }
    let mut out = Vec::new();
    let mut batch = Batch::new(conn, text);
    while let Some(mut stmt) = batch.next().map_err(|e| Error::invalid(format!("{e}")))? {
        let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        if columns.is_empty() {
            let n = stmt.raw_execute().map_err(sql_err)?;
            out.push(SqlResult {
                kind: "exec",
                rows_affected: n as i64,
                ..Default::default()
            });
            continue;
        }
        let mut rows = Vec::new();
        let mut q = stmt.raw_query();
        while let Some(r) = q.next().map_err(sql_err)? {
            rows.push(
                (0..columns.len())
                    .map(|i| r.get_ref(i).map(value_of).unwrap_or(Value::Null))
                    .collect(),
            );
        }
        out.push(SqlResult {
            kind: "select",
            columns,
            rows,
            rows_affected: 0,
        });
    }
    Ok(out)
}

/// Runs the statements of `text` read-only on the database at `path` (its own
/// read-only connection, `query_only` on, one read transaction).
pub fn sql_read_only(path: &Path, text: &str) -> Result<Vec<SqlResult>> {
    if !path.is_file() {
        return Err(Error::not_found(format!(
            "No database at {}",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
    conn.execute_batch("PRAGMA query_only=ON")
        .map_err(sql_err)?;
    conn.execute_batch("BEGIN DEFERRED").map_err(sql_err)?;
    let r = run_all(&conn, text, false);
    let _ = conn.execute_batch("ROLLBACK");
    r
}

impl Db {
    /// Runs the statements of `text` in one write transaction (`admin sql --write`):
    /// all or nothing.
    pub fn sql_write(&mut self, text: &str) -> Result<Vec<SqlResult>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        let out = run_all(&tx, text, true)?;
        tx.commit().map_err(sql_err)?;
        Ok(out)
    }
}

fn quote(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => format!("{f:?}"),
        ValueRef::Text(t) => format!("'{}'", String::from_utf8_lossy(t).replace('\'', "''")),
        ValueRef::Blob(b) => format!(
            "X'{}'",
            b.iter().map(|x| format!("{x:02X}")).collect::<String>()
        ),
    }
}

/// What `.dump`, `.schema` and `.tables` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpKind {
    /// Schema and rows, as SQL text.
    Dump,
    /// Schema only.
    Schema,
    /// Table names, one a line.
    Tables,
}

/// A text dump of the database at `path` (read-only connection), in the shape of
/// sqlite3's `.dump`.
pub fn sql_dump(path: &Path, kind: DumpKind) -> Result<String> {
    if !path.is_file() {
        return Err(Error::not_found(format!(
            "No database at {}",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
    conn.execute_batch("BEGIN DEFERRED").map_err(sql_err)?;
    let objects: Vec<(String, String, String)> = {
        let mut st = conn
            .prepare(
                "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL \
                 ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END, rowid",
            )
            .map_err(sql_err)?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(sql_err)?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(sql_err)?
    };
    let mut out = String::new();
    if kind == DumpKind::Tables {
        for (t, name, _) in &objects {
            if t == "table" && !name.starts_with("sqlite_") {
                out.push_str(name);
                out.push('\n');
            }
        }
        return Ok(out);
    }
    if kind == DumpKind::Dump {
        out.push_str("PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n");
    }
    for (t, name, sql) in &objects {
        if name.starts_with("sqlite_") {
            continue;
        }
        out.push_str(sql);
        out.push_str(";\n");
        if kind == DumpKind::Dump && t == "table" {
            let qname = format!("\"{}\"", name.replace('"', "\"\""));
            let mut st = conn
                .prepare(&format!("SELECT * FROM {qname}"))
                .map_err(sql_err)?;
            let n = st.column_count();
            let mut q = st.raw_query();
            while let Some(r) = q.next().map_err(sql_err)? {
                let vals: Vec<String> = (0..n)
                    .map(|i| r.get_ref(i).map(quote).unwrap_or_else(|_| "NULL".into()))
                    .collect();
                out.push_str(&format!(
                    "INSERT INTO {qname} VALUES({});\n",
                    vals.join(",")
                ));
            }
        }
    }
    if kind == DumpKind::Dump {
        let has_seq = objects.iter().any(|(_, n, _)| n == "sqlite_sequence");
        if has_seq {
            out.push_str("DELETE FROM sqlite_sequence;\n");
            let mut st = conn
                .prepare("SELECT name, seq FROM sqlite_sequence")
                .map_err(sql_err)?;
            let rows = st
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .map_err(sql_err)?;
            for r in rows {
                let (n, s) = r.map_err(sql_err)?;
                out.push_str(&format!(
                    "INSERT INTO sqlite_sequence VALUES('{}',{s});\n",
                    n.replace('\'', "''")
                ));
            }
        }
        out.push_str("COMMIT;\n");
    }
    let _ = conn.execute_batch("ROLLBACK");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.db");
        let mut db = Db::open(&path).unwrap();
        db.sql_write("INSERT INTO config (key, value) VALUES ('core.x', 'it''s')")
            .unwrap();
        (dir, path)
    }

    #[test]
    fn read_only_refuses_writes_and_changes_nothing() {
        let (_d, path) = db();
        let before = sql_dump(&path, DumpKind::Dump).unwrap();
        for q in [
            "DELETE FROM config",
            "SELECT 1; UPDATE config SET value = 'y'",
            "INSERT INTO config (key, value) VALUES ('a', 'b')",
            "PRAGMA user_version = 99",
            "CREATE TABLE t (x)",
            "DROP TABLE config",
        ] {
            let e = sql_read_only(&path, q).unwrap_err();
            assert!(
                e.message.contains("without --write") || e.message.contains("readonly"),
                "{q}: {e}"
            );
        }
        let e = sql_read_only(&path, "COMMIT").unwrap_err();
        assert_eq!(e.kind, incus_api::ErrorKind::Invalid);
        assert_eq!(sql_dump(&path, DumpKind::Dump).unwrap(), before);
        let r = sql_read_only(&path, "SELECT key, value FROM config WHERE key = 'core.x'").unwrap();
        assert_eq!(r[0].kind, "select");
        assert_eq!(r[0].columns, ["key", "value"]);
        assert_eq!(
            r[0].rows,
            vec![vec![Value::from("core.x"), Value::from("it's")]]
        );
    }

    #[test]
    fn write_is_one_transaction_and_dump_reloads() {
        let (_d, path) = db();
        let mut db = Db::open(&path).unwrap();
        // The second statement fails: the first is rolled back with it.
        assert!(db
            .sql_write("UPDATE config SET value = 'z'; INSERT INTO nosuch VALUES (1)")
            .is_err());
        let r = sql_read_only(&path, "SELECT value FROM config").unwrap();
        assert_eq!(r[0].rows, vec![vec![Value::from("it's")]]);
        let r = db.sql_write("UPDATE config SET value = 'z'").unwrap();
        assert_eq!((r[0].kind, r[0].rows_affected), ("exec", 1));
        // The dump loads into an empty database and gives the same dump back.
        let dump = sql_dump(&path, DumpKind::Dump).unwrap();
        assert!(dump.contains("INSERT INTO \"config\" VALUES("), "{dump}");
        let other = rusqlite::Connection::open_in_memory().unwrap();
        other.execute_batch(&dump).unwrap();
        let tables = sql_dump(&path, DumpKind::Tables).unwrap();
        assert!(tables.lines().any(|l| l == "instances"));
        assert!(sql_dump(&path, DumpKind::Schema)
            .unwrap()
            .contains("CREATE TABLE instances"));
    }
}
