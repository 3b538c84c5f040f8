//! The trust store: client certificates, and join tokens (kept as `token` rows of the
//! operations table, as upstream keeps them as token operations).

use crate::{sql_err, Result, Tx};
use rusqlite::{params, OptionalExtension};

/// A trusted certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct CertificateRow {
    pub fingerprint: String,
    pub cert_type: String,
    pub name: String,
    /// PEM.
    pub certificate: String,
    pub restricted: bool,
    pub description: String,
}

fn cert_of(r: &rusqlite::Row) -> rusqlite::Result<CertificateRow> {
    Ok(CertificateRow {
        fingerprint: r.get(0)?,
        cert_type: r.get(1)?,
        name: r.get(2)?,
        certificate: r.get(3)?,
        restricted: r.get(4)?,
        description: r.get(5)?,
    })
}

const CERT_COLS: &str = "fingerprint, type, name, certificate, restricted, description";

/// Every certificate, by name then fingerprint.
pub fn certificate_list(tx: &Tx) -> Result<Vec<CertificateRow>> {
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT {CERT_COLS} FROM certificates ORDER BY name, fingerprint"
        ))
        .map_err(sql_err)?;
    let rows = stmt.query_map([], cert_of).map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}

/// The certificates whose fingerprint starts with `prefix`.
pub fn certificate_find(tx: &Tx, prefix: &str) -> Result<Vec<CertificateRow>> {
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT {CERT_COLS} FROM certificates WHERE substr(fingerprint, 1, length(?1)) = ?1"
        ))
        .map_err(sql_err)?;
    let rows = stmt.query_map([prefix], cert_of).map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}

/// Whether a certificate with exactly this fingerprint is trusted.
pub fn certificate_exists(tx: &Tx, fingerprint: &str) -> Result<bool> {
    tx.query_row(
        "SELECT 1 FROM certificates WHERE fingerprint = ?1",
        [fingerprint],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
    .map_err(sql_err)
}

pub fn certificate_insert(tx: &Tx, c: &CertificateRow) -> Result<()> {
    tx.execute(
        "INSERT INTO certificates (fingerprint, type, name, certificate, restricted, description) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            c.fingerprint,
            c.cert_type,
            c.name,
            c.certificate,
            c.restricted,
            c.description
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub fn certificate_update(tx: &Tx, c: &CertificateRow) -> Result<()> {
    tx.execute(
        "UPDATE certificates SET type = ?2, name = ?3, restricted = ?4, description = ?5 \
         WHERE fingerprint = ?1",
        params![
            c.fingerprint,
            c.cert_type,
            c.name,
            c.restricted,
            c.description
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

/// The projects a certificate is confined to (by name).
pub fn certificate_projects(tx: &Tx, fingerprint: &str) -> Result<Vec<String>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT p.name FROM certificates_projects cp
             JOIN certificates c ON c.id = cp.certificate_id
             JOIN projects p ON p.id = cp.project_id
             WHERE c.fingerprint = ?1 ORDER BY p.name",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([fingerprint], |r| r.get(0))
        .map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}

/// Replaces the projects of a certificate (NotFound for a project that does not exist).
pub fn certificate_set_projects(tx: &Tx, fingerprint: &str, projects: &[String]) -> Result<()> {
    tx.execute(
        "DELETE FROM certificates_projects WHERE certificate_id =
         (SELECT id FROM certificates WHERE fingerprint = ?1)",
        [fingerprint],
    )
    .map_err(sql_err)?;
    for p in projects {
        let pid = crate::project_id(tx, p)?;
        tx.execute(
            "INSERT OR IGNORE INTO certificates_projects (certificate_id, project_id)
             SELECT id, ?2 FROM certificates WHERE fingerprint = ?1",
            params![fingerprint, pid],
        )
        .map_err(sql_err)?;
    }
    Ok(())
}

pub fn certificate_delete(tx: &Tx, fingerprint: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM certificates WHERE fingerprint = ?1",
        [fingerprint],
    )
    .map_err(sql_err)?;
    Ok(())
}

/// A join token.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRow {
    pub uuid: String,
    pub created_at: String,
    /// `{client_name, secret, fingerprint, addresses, expires_at, restricted, projects}`.
    pub metadata: serde_json::Value,
}

pub fn token_insert(tx: &Tx, t: &TokenRow) -> Result<()> {
    tx.execute(
        "INSERT INTO operations (uuid, class, description, created_at, updated_at, status_code, metadata) \
         VALUES (?1, 'token', 'Certificate add token', ?2, ?2, 103, ?3)",
        params![t.uuid, t.created_at, t.metadata.to_string()],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub fn token_list(tx: &Tx) -> Result<Vec<TokenRow>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT uuid, created_at, metadata FROM operations WHERE class = 'token' ORDER BY id",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(TokenRow {
                uuid: r.get(0)?,
                created_at: r.get(1)?,
                metadata: serde_json::from_str(&r.get::<_, String>(2)?)
                    .unwrap_or(serde_json::Value::Null),
            })
        })
        .map_err(sql_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(sql_err)
}

/// Removes one token; whether it existed.
pub fn token_delete(tx: &Tx, uuid: &str) -> Result<bool> {
    let n = tx
        .execute(
            "DELETE FROM operations WHERE class = 'token' AND uuid = ?1",
            [uuid],
        )
        .map_err(sql_err)?;
    Ok(n > 0)
}

/// The form a join-token secret is kept in: SHA-256, hex (the secret is 256 random
/// bits, so a plain hash cannot be reversed by guessing).
pub fn token_secret_hash(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Migration 2: token rows written before secrets were hashed keep only the hash.
/// `secure_delete` overwrites the freed clear text in the database file.
pub(crate) fn hash_clear_token_secrets(tx: &Tx) -> Result<()> {
    tx.execute_batch("PRAGMA secure_delete = ON")
        .map_err(sql_err)?;
    for mut row in token_list(tx)? {
        let Some(tok) = row
            .metadata
            .get_mut("token")
            .and_then(|t| t.as_object_mut())
        else {
            continue;
        };
        let Some(secret) = tok.remove("secret") else {
            continue;
        };
        let hash = token_secret_hash(secret.as_str().unwrap_or_default());
        tok.insert("secret_sha256".into(), serde_json::Value::String(hash));
        tx.execute(
            "UPDATE operations SET metadata = ?2 WHERE class = 'token' AND uuid = ?1",
            params![row.uuid, row.metadata.to_string()],
        )
        .map_err(sql_err)?;
    }
    Ok(())
}
