//! `admin sql local|global QUERY`: upstream's debugging SQL, read-only unless
//! `write`. On this standalone installation upstream's local (member) and global
//! (cluster) databases are one file, so both names reach the same database.

use crate::{Context, Error, Result};
pub use incus_db::{DumpKind, SqlResult};

fn check_database(database: &str) -> Result<()> {
    match database {
        "local" | "global" => Ok(()),
        other => Err(Error::usage(format!(
            "Invalid database type \"{other}\" (local or global)"
        ))),
    }
}

/// Runs `query` (one or more statements) and returns each statement's result.
pub fn sql(ctx: &Context, database: &str, query: &str, write: bool) -> Result<Vec<SqlResult>> {
    check_database(database)?;
    if query.trim().is_empty() {
        return Err(Error::usage("Empty query"));
    }
    if write {
        ctx.db()?.sql_write(query)
    } else {
        // Migrated (created) first, so a fresh installation answers too.
        drop(ctx.db()?);
        incus_db::sql_read_only(&ctx.db_path(), query)
    }
}

/// `.dump`, `.schema`, `.tables`.
pub fn dump(ctx: &Context, database: &str, kind: DumpKind) -> Result<String> {
    check_database(database)?;
    drop(ctx.db()?);
    incus_db::sql_dump(&ctx.db_path(), kind)
}
