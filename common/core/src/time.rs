//! Timestamps as upstream writes them (RFC 3339, UTC).

use chrono::{SecondsFormat, TimeZone, Utc};

/// Now, as upstream formats timestamps.
pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// A unix time in seconds, formatted.
pub fn from_unix(secs: i64) -> String {
    match Utc.timestamp_opt(secs, 0).single() {
        Some(t) if secs > 0 => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        _ => incus_api::ZERO_TIME.to_string(),
    }
}
