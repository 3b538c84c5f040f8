//! The state database: the only place with SQL.
//!
//! SQLite in WAL mode with foreign keys and a busy timeout; every writing transaction
//! starts with `BEGIN IMMEDIATE` (a deferred transaction that reads and then writes
//! fails with SQLITE_BUSY under WAL instead of waiting). Transactions are short and never
//! span I/O on instances.

pub mod backend;
pub mod cluster;
mod network;
mod queries;
pub mod schema;
mod snapshot;
mod sql;
pub use sql::*;

pub use network::*;
pub use queries::*;
pub use snapshot::*;
mod serve;
pub use serve::*;
mod trust;
pub use trust::*;

use incus_api::{Error, Result};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// How long a writer waits for another writer before giving up with `Busy`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The database directory `0700` and the database with its WAL, shared-memory and
/// journal files `0600`: it holds the trust store. SQLite gives the files it creates
/// the database file's mode, so the database file is made `0600` before SQLite opens
/// it; an existing installation's looser modes are tightened here, on first use.
fn make_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |p: &Path, e: std::io::Error| Error::internal(format!("{}: {e}", p.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| io(parent, e))?;
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| io(path, e))?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let p = std::path::PathBuf::from(p);
        match std::fs::metadata(&p) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| io(&p, e))?
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&p, e)),
        }
    }
    Ok(())
}

/// An open state database.
pub struct Db {
    conn: Connection,
}

/// A transaction handle given to query functions.
pub type Tx<'a> = rusqlite::Transaction<'a>;

pub(crate) fn sql_err(e: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::ConstraintViolation => Error::conflict(format!("Already exists ({e})")),
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                Error::busy(format!("The database stayed busy: {e}"))
            }
            _ => Error::internal(format!("Database error: {e}")),
        },
        rusqlite::Error::QueryReturnedNoRows => Error::not_found("Not found"),
        _ => Error::internal(format!("Database error: {e}")),
    }
}

/// [`sql_err`], with `message` for a uniqueness conflict (the object already exists).
pub(crate) fn exists_err(message: String) -> impl FnOnce(rusqlite::Error) -> Error {
    move |e| match sql_err(e) {
        err if err.kind == incus_api::ErrorKind::Conflict => Error::conflict(message),
        err => err,
    }
}

impl Db {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Db> {
        make_private(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
        // journal_mode returns a row, so it is queried rather than executed.
        let _: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(sql_err)?;
        // wal_autocheckpoint: every tool is a new process, and the first connection
        // after the last one closed rebuilds the WAL index by reading every valid frame
        // of the WAL: at SQLite's default threshold (1000 pages, 4 MB) that read cost
        // each command several ms (half of a `list`); 64 pages keep it small, for a
        // checkpoint every few dozen commits.
        conn.execute_batch(
            "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=64;",
        )
        .map_err(sql_err)?;
        // Every tool is a short-lived process: a checkpoint (and its fsyncs) at each
        // close would cost every command; the WAL is checkpointed by SQLite's
        // automatic checkpoints during commits instead.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .map_err(sql_err)?;
        let mut db = Db { conn };
        db.migrate()?;
        Ok(db)
    }

    /// Opens an in-memory database (unit tests of logic).
    pub fn open_in_memory() -> Result<Db> {
        let conn = Connection::open_in_memory().map_err(sql_err)?;
        conn.execute_batch("PRAGMA foreign_keys=ON;")
            .map_err(sql_err)?;
        let mut db = Db { conn };
        db.migrate()?;
        Ok(db)
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<usize> {
        let v: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql_err)?;
        Ok(v as usize)
    }

    fn migrate(&mut self) -> Result<()> {
        self.migrate_to(schema::MIGRATIONS.len())
    }

    /// Applies migrations up to `target` (tests use a lower target to build old schemas).
    pub fn migrate_to(&mut self, target: usize) -> Result<()> {
        let current = self.schema_version()?;
        if current > schema::MIGRATIONS.len() {
            return Err(Error::unsupported(format!(
                "The database schema (version {current}) is newer than this tool (version {}); upgrade the tools",
                schema::MIGRATIONS.len()
            )));
        }
        if current >= target {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        // Re-read under the write lock: another process may have migrated meanwhile.
        let current: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql_err)?;
        for (i, step) in schema::MIGRATIONS
            .iter()
            .enumerate()
            .take(target)
            .skip(current as usize)
        {
            tx.execute_batch(step)
                .map_err(|e| Error::internal(format!("Schema migration {}: {e}", i + 1)))?;
            if i + 1 == schema::DATA_STEP_TOKEN_HASH {
                trust::hash_clear_token_secrets(&tx)?;
            }
        }
        if (current as usize) < target {
            tx.execute_batch(&format!("PRAGMA user_version = {target}"))
                .map_err(sql_err)?;
        }
        tx.commit().map_err(sql_err)
    }

    /// Runs `f` in a read transaction (a consistent snapshot).
    pub fn read<T>(&mut self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(sql_err)?;
        let out = f(&tx)?;
        tx.finish().map_err(sql_err)?;
        Ok(out)
    }

    /// Runs `f` in a write transaction that starts with `BEGIN IMMEDIATE`; commits on
    /// `Ok`, rolls back on `Err`.
    pub fn write<T>(&mut self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_err)?;
        let out = f(&tx)?;
        tx.commit().map_err(sql_err)?;
        Ok(out)
    }

    /// [`Db::write`] for the marks written before disk work (a pending row, a rename or
    /// snapshot mark): committed with `synchronous=FULL`, so the WAL is fsynced before
    /// the commit returns and the mark survives a power loss that the disk work after
    /// it may survive. Other writes stay `NORMAL` (a power loss may lose the last
    /// commits, never consistency). A FULL commit makes every earlier commit durable
    /// too: they sit before it in the same WAL.
    pub fn write_durable<T>(&mut self, f: impl FnOnce(&Tx) -> Result<T>) -> Result<T> {
        self.conn
            .execute_batch("PRAGMA synchronous=FULL;")
            .map_err(sql_err)?;
        let out = self.write(f);
        let back = self
            .conn
            .execute_batch("PRAGMA synchronous=NORMAL;")
            .map_err(sql_err);
        let out = out?;
        back?;
        Ok(out)
    }

    /// The `synchronous` setting now (0 OFF, 1 NORMAL, 2 FULL; tests).
    pub fn synchronous(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .map_err(sql_err)
    }

    /// The schema as `sqlite_master` SQL, sorted (for the migration test).
    pub fn schema_dump(&self) -> Result<String> {
        let mut stmt = self
            .conn
            .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name")
            .map_err(sql_err)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(sql_err)?;
        let mut out = String::new();
        for r in rows {
            out.push_str(&r.map_err(sql_err)?);
            out.push_str(";\n");
        }
        Ok(out)
    }
}
