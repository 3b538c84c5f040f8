//! Lifecycle events: every tool appends them to the events table, so `/1.0/events`
//! shows what a shell user did as well as what went through the server.

use crate::{time, Context, Result};
use serde_json::json;

/// Records a lifecycle event (`instance-created`, `image-deleted`, ...) for `source`
/// (a REST URL such as `/1.0/instances/c1`) in its own transaction.
pub fn lifecycle(
    ctx: &Context,
    action: &str,
    source: &str,
    extra: serde_json::Value,
) -> Result<()> {
    let project = ctx.project.clone();
    ctx.db()?
        .write(|tx| record(tx, &project, action, source, extra))
}

/// Appends a lifecycle event inside a caller's write transaction, so an operation's
/// last write and its event are one commit.
pub fn record(
    tx: &incus_db::Tx,
    project: &str,
    action: &str,
    source: &str,
    extra: serde_json::Value,
) -> Result<()> {
    let name = source.rsplit('/').next().unwrap_or("");
    let metadata = json!({
        "action": action,
        "source": source,
        "context": extra,
        "requestor": {"username": whoami(), "protocol": "unix", "address": "@"},
        "name": name,
        "project": project,
    });
    incus_db::event_append(tx, "lifecycle", &time::now(), project, &metadata)?;
    Ok(())
}

fn whoami() -> String {
    std::env::var("USER").unwrap_or_else(|_| "root".into())
}

/// A stored event as the REST API and `incus monitor` show it.
pub fn to_api(row: &incus_db::EventRow) -> serde_json::Value {
    json!({
        "type": row.event_type,
        "timestamp": row.timestamp,
        "metadata": row.metadata,
        "location": "none",
        "project": row.project,
    })
}

/// The id of the newest stored event (0 when there is none).
pub fn last_id(ctx: &Context) -> Result<i64> {
    ctx.db()?.read(incus_db::event_last_id)
}

/// Stored events newer than `after`, oldest first, with their ids.
pub fn since(ctx: &Context, after: i64) -> Result<Vec<(i64, serde_json::Value)>> {
    let rows = ctx.db()?.read(|tx| incus_db::events_since(tx, after))?;
    Ok(rows.iter().map(|r| (r.id, to_api(r))).collect())
}
