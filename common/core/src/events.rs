//! Lifecycle events: every tool appends them to the events table, so `/1.0/events`
//! shows what a shell user did as well as what went through the server.

use crate::{time, Context, Result};
use serde_json::json;

/// Records a lifecycle event (`instance-created`, `image-deleted`, ...) for `source`
/// (a REST URL such as `/1.0/instances/c1`).
pub fn lifecycle(
    ctx: &Context,
    action: &str,
    source: &str,
    extra: serde_json::Value,
) -> Result<()> {
    let name = source.rsplit('/').next().unwrap_or("").to_string();
    let metadata = json!({
        "action": action,
        "source": source,
        "context": extra,
        "requestor": {"username": whoami(), "protocol": "unix", "address": "@"},
        "name": name,
        "project": ctx.project,
    });
    let ts = time::now();
    let project = ctx.project.clone();
    ctx.db()?
        .write(|tx| incus_db::event_append(tx, "lifecycle", &ts, &project, &metadata))?;
    Ok(())
}

fn whoami() -> String {
    std::env::var("USER").unwrap_or_else(|_| "root".into())
}
