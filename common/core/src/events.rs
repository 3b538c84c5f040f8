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
