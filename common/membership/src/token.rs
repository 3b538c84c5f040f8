//! Join tokens, as upstream's `ClusterMemberJoinToken`: base64 (standard alphabet) of
//! `{"server_name","fingerprint","addresses","secret","expires_at"}`.

use base64::Engine;
use incus_api::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinToken {
    pub server_name: String,
    /// SHA-256 of the cluster certificate (hex).
    pub fingerprint: String,
    /// Cluster addresses of online members.
    pub addresses: Vec<String>,
    /// 32 random bytes, hex.
    pub secret: String,
    /// RFC 3339.
    pub expires_at: String,
}

impl JoinToken {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::STANDARD
            .encode(serde_json::to_vec(self).expect("serialisable"))
    }

    pub fn decode(s: &str) -> Result<JoinToken> {
        let bad = |why: String| Error::invalid(format!("Invalid cluster join token: {why}"));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|e| bad(e.to_string()))?;
        let t: JoinToken = serde_json::from_slice(&raw).map_err(|e| bad(e.to_string()))?;
        if t.server_name.is_empty() || t.addresses.is_empty() || t.secret.len() < 32 {
            return Err(bad("missing server name, addresses or secret".into()));
        }
        if t.fingerprint.len() != 64 || !t.fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("bad fingerprint".into()));
        }
        Ok(t)
    }

    /// The expiry as seconds since the epoch.
    pub fn expires_at_unix(&self) -> Result<i64> {
        chrono::DateTime::parse_from_rfc3339(&self.expires_at)
            .map(|t| t.timestamp())
            .map_err(|e| Error::invalid(format!("Invalid token expiry {:?}: {e}", self.expires_at)))
    }
}

/// Parses an expiry as upstream's `GetExpiry` does for `cluster.join_token_expiry`
/// (`3H` by default): a count and a unit, `S` seconds, `M` minutes, `H` hours, `d`
/// days, `w` weeks, `m` months (30 days), `y` years (365 days).
pub fn parse_expiry(s: &str) -> Result<std::time::Duration> {
    let bad = || Error::invalid(format!("Invalid expiry {s:?} (e.g. 3H, 30M, 1d)"));
    let s = s.trim();
    let unit = s.chars().last().ok_or_else(bad)?;
    let n: u64 = s[..s.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
    let secs = match unit {
        'S' => 1,
        'M' => 60,
        'H' => 3600,
        'd' => 86400,
        'w' => 7 * 86400,
        'm' => 30 * 86400,
        'y' => 365 * 86400,
        _ => return Err(bad()),
    };
    n.checked_mul(secs)
        .map(std::time::Duration::from_secs)
        .ok_or_else(bad)
}

/// The default `cluster.join_token_expiry`.
pub const DEFAULT_EXPIRY: &str = "3H";

/// A fresh secret: 32 bytes from the kernel, hex.
pub fn new_secret() -> Result<String> {
    let mut b = [0u8; 32];
    // SAFETY: getrandom into a valid buffer of its length.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n != b.len() as isize {
        return Err(Error::internal("getrandom failed"));
    }
    Ok(hex::encode(b))
}

/// How a secret is stored (never in clear).
pub fn secret_hash(secret: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_upstream_shape() {
        let t = JoinToken {
            server_name: "m2".into(),
            fingerprint: "ab".repeat(32),
            addresses: vec!["10.0.0.1:8443".into()],
            secret: "cd".repeat(32),
            expires_at: "2026-12-05T08:00:00Z".into(),
        };
        let s = t.encode();
        assert_eq!(JoinToken::decode(&s).unwrap(), t);
        let json: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::STANDARD
                .decode(&s)
                .unwrap(),
        )
        .unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "server_name",
                "fingerprint",
                "addresses",
                "secret",
                "expires_at"
            ]
        );
        assert_eq!(t.expires_at_unix().unwrap(), 1_796_457_600);
        for bad in ["", "!!!", "e30=", &s[..s.len() - 4]] {
            assert!(JoinToken::decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expiry() {
        assert_eq!(parse_expiry("3H").unwrap().as_secs(), 10800);
        assert_eq!(parse_expiry("30M").unwrap().as_secs(), 1800);
        assert_eq!(parse_expiry("2d").unwrap().as_secs(), 172800);
        for bad in ["", "H", "3", "3h", "-1H", "99999999999999999y"] {
            assert!(parse_expiry(bad).is_err(), "{bad}");
        }
        assert_eq!(new_secret().unwrap().len(), 64);
        assert_ne!(new_secret().unwrap(), new_secret().unwrap());
    }
}
