//! Queries of the REST server (`incus-serve`).

use crate::{sql_err, Result, Tx};

/// The id of the newest event (0 when there is none): where a new listener starts.
pub fn event_last_id(tx: &Tx) -> Result<i64> {
    tx.query_row("SELECT COALESCE(MAX(id), 0) FROM events", [], |r| r.get(0))
        .map_err(sql_err)
}
