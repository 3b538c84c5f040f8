//! Events: every tool appends; `incus-serve` tails.

use super::*;

/// One stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub id: i64,
    pub event_type: String,
    pub timestamp: String,
    pub project: String,
    pub metadata: serde_json::Value,
}

/// How many events are kept; older ones are pruned on append.
const EVENTS_KEPT: i64 = 10_000;

pub fn event_append(
    tx: &Tx,
    event_type: &str,
    timestamp: &str,
    project: &str,
    metadata: &serde_json::Value,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO events (type, timestamp, project, metadata) VALUES (?1, ?2, ?3, ?4)",
        params![event_type, timestamp, project, metadata.to_string()],
    )
    .map_err(sql_err)?;
    let id = tx.last_insert_rowid();
    if id % 1000 == 0 {
        tx.execute("DELETE FROM events WHERE id <= ?1", [id - EVENTS_KEPT])
            .map_err(sql_err)?;
    }
    Ok(id)
}

/// Events with an id above `after`, oldest first.
pub fn events_since(tx: &Tx, after: i64) -> Result<Vec<EventRow>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT id, type, timestamp, project, metadata FROM events WHERE id > ?1 ORDER BY id",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([after], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, event_type, timestamp, project, meta) = row.map_err(sql_err)?;
        out.push(EventRow {
            id,
            event_type,
            timestamp,
            project,
            metadata: serde_json::from_str(&meta).unwrap_or(serde_json::Value::Null),
        });
    }
    Ok(out)
}
