//! The trust store: which TLS client certificates may use the REST API, and join
//! tokens (`incus config trust add NAME`) that let a new client add its own
//! certificate once. The server's own certificate lives here too, so a token can be
//! made before the server ever ran.

use crate::{events, time, Context, Error, Result};
use base64::Engine;
use incus_api::Certificate;
use incus_db::{CertificateRow, TokenRow};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// A join token as upstream encodes it (base64 of this JSON).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct JoinToken {
    pub client_name: String,
    pub fingerprint: String,
    pub addresses: Vec<String>,
    /// Empty for tokens read back from the database: only its hash is kept there.
    #[serde(default)]
    pub secret: String,
    #[serde(default = "zero_time")]
    pub expires_at: String,
}

fn zero_time() -> String {
    incus_api::ZERO_TIME.into()
}

impl JoinToken {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("token serialises");
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    pub fn decode(s: &str) -> Result<JoinToken> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .map_err(|_| Error::invalid("Invalid join token"))?;
        serde_json::from_slice(&raw).map_err(|_| Error::invalid("Invalid join token"))
    }
}

/// SHA-256 of a certificate's DER, hex: upstream's certificate fingerprint.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// Paths of the server certificate and key.
pub fn server_cert_paths(ctx: &Context) -> (PathBuf, PathBuf) {
    (
        ctx.incus_dir.join("server.crt"),
        ctx.incus_dir.join("server.key"),
    )
}

/// The server certificate (PEM), generated on first use; taken under the global lock so
/// two first users agree on one certificate.
pub fn server_cert(ctx: &Context) -> Result<String> {
    let (crt, key) = server_cert_paths(ctx);
    if !crt.exists() || !key.exists() {
        let _lock = ctx.lock_global()?;
        if !crt.exists() || !key.exists() {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "incus".into());
            let cert =
                rcgen::generate_simple_self_signed(vec![host, "127.0.0.1".into(), "::1".into()])
                    .map_err(|e| {
                        Error::internal(format!("Generate the server certificate: {e}"))
                    })?;
            std::fs::create_dir_all(&ctx.incus_dir)?;
            // The key first: a certificate is never left without its key.
            incus_sys::fsutil::atomic_write(&key, cert.key_pair.serialize_pem().as_bytes(), 0o600)?;
            incus_sys::fsutil::atomic_write(&crt, cert.cert.pem().as_bytes(), 0o644)?;
        }
    }
    // An older installation's key with a looser mode is made private.
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(&key)?.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(std::fs::read_to_string(&crt)?)
}

/// The DER of the first certificate of a PEM text, or the input when it is DER already.
pub fn cert_der(data: &[u8]) -> Result<Vec<u8>> {
    if data.starts_with(b"-----") || data.iter().take(64).all(|b| b.is_ascii()) {
        let der = rustls_pemfile::certs(&mut &data[..])
            .next()
            .ok_or_else(|| Error::invalid("No certificate found"))?
            .map_err(|e| Error::invalid(format!("Invalid certificate: {e}")))?;
        return Ok(der.to_vec());
    }
    Ok(data.to_vec())
}

/// A DER certificate as PEM text.
pub fn pem_of(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ascii"));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

fn to_api(r: CertificateRow, projects: Vec<String>) -> Certificate {
    Certificate {
        name: r.name,
        cert_type: r.cert_type,
        restricted: r.restricted,
        projects,
        certificate: r.certificate,
        fingerprint: r.fingerprint,
        description: r.description,
    }
}

/// Whether the certificate with this fingerprint is trusted.
pub fn is_trusted(ctx: &Context, fingerprint: &str) -> Result<bool> {
    ctx.db()?
        .read(|tx| incus_db::certificate_exists(tx, fingerprint))
}

pub fn list(ctx: &Context) -> Result<Vec<Certificate>> {
    ctx.db()?.read(|tx| {
        incus_db::certificate_list(tx)?
            .into_iter()
            .map(|r| {
                let p = incus_db::certificate_projects(tx, &r.fingerprint)?;
                Ok(to_api(r, p))
            })
            .collect()
    })
}

/// One certificate by a unique fingerprint prefix.
pub fn get(ctx: &Context, prefix: &str) -> Result<Certificate> {
    if prefix.is_empty() {
        return Err(Error::invalid("A fingerprint is required"));
    }
    let mut found = ctx.db()?.read(|tx| {
        incus_db::certificate_find(tx, &prefix.to_lowercase())?
            .into_iter()
            .map(|r| {
                let p = incus_db::certificate_projects(tx, &r.fingerprint)?;
                Ok((r, p))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    match found.len() {
        0 => Err(Error::not_found("Certificate not found")),
        1 => {
            let (r, p) = found.remove(0);
            Ok(to_api(r, p))
        }
        _ => Err(Error::invalid(format!(
            "More than one certificate matches \"{prefix}\""
        ))),
    }
}

/// What `add` needs besides the certificate.
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    pub name: String,
    pub cert_type: String,
    pub restricted: bool,
    pub projects: Vec<String>,
    pub description: String,
}

fn check_options(o: &AddOptions) -> Result<()> {
    match o.cert_type.as_str() {
        "" | "client" | "metrics" => {}
        t => return Err(Error::invalid(format!("Unknown certificate type \"{t}\""))),
    }
    // Projects confine a restricted client certificate; on any other they would look
    // like a restriction that is not one.
    if !o.projects.is_empty() && !o.restricted {
        return Err(Error::invalid(
            "Projects only apply to restricted certificates (add --restricted)",
        ));
    }
    if o.restricted && o.cert_type == "metrics" {
        return Err(Error::invalid("Metrics certificates cannot be restricted"));
    }
    Ok(())
}

/// What an HTTPS caller's certificate may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Not in the trust store.
    Untrusted,
    /// A `client` certificate without restrictions: the whole API.
    Admin,
    /// A `metrics` certificate: `/1.0/metrics` only.
    Metrics,
    /// A restricted `client` certificate: the objects of these projects only (none:
    /// nothing but the server description).
    Restricted(Vec<String>),
}

/// The access of the certificate with this fingerprint (looked up on every request,
/// so a revoked or changed certificate takes effect at once).
pub fn access(ctx: &Context, fingerprint: &str) -> Result<Access> {
    let row = ctx
        .db()?
        .read(|tx| incus_db::certificate_find(tx, fingerprint))?
        .into_iter()
        .find(|r| r.fingerprint == fingerprint);
    Ok(match row {
        None => Access::Untrusted,
        Some(r) if r.cert_type != "client" => {
            if r.cert_type == "metrics" {
                Access::Metrics
            } else {
                // An unknown type read back from the database grants nothing.
                Access::Restricted(vec![])
            }
        }
        Some(r) if r.restricted => Access::Restricted(
            ctx.db()?
                .read(|tx| incus_db::certificate_projects(tx, fingerprint))?,
        ),
        Some(_) => Access::Admin,
    })
}

/// Trusts a certificate (PEM or DER).
pub fn add(ctx: &Context, cert: &[u8], opts: &AddOptions) -> Result<Certificate> {
    check_options(opts)?;
    let der = cert_der(cert)?;
    let fp = fingerprint(&der);
    let row = CertificateRow {
        fingerprint: fp.clone(),
        cert_type: if opts.cert_type.is_empty() {
            "client".into()
        } else {
            opts.cert_type.clone()
        },
        name: if opts.name.is_empty() {
            fp[..12].to_string()
        } else {
            opts.name.clone()
        },
        certificate: pem_of(&der),
        restricted: opts.restricted,
        description: opts.description.clone(),
    };
    let project = ctx.project.clone();
    ctx.db()?.write(|tx| {
        if incus_db::certificate_exists(tx, &fp)? {
            return Err(Error::conflict("Certificate already in trust store"));
        }
        incus_db::certificate_insert(tx, &row)?;
        incus_db::certificate_set_projects(tx, &fp, &opts.projects)?;
        events::record(
            tx,
            &project,
            "certificate-created",
            &format!("/1.0/certificates/{fp}"),
            serde_json::json!({}),
        )
    })?;
    let projects = ctx
        .db()?
        .read(|tx| incus_db::certificate_projects(tx, &row.fingerprint))?;
    Ok(to_api(row, projects))
}

/// Changes name, type, restriction and description.
pub fn update(ctx: &Context, prefix: &str, opts: &AddOptions) -> Result<Certificate> {
    check_options(opts)?;
    let cur = get(ctx, prefix)?;
    // As upstream: a certificate's type is fixed once trusted (a client certificate
    // does not become a metrics one, nor the reverse).
    if !opts.cert_type.is_empty() && opts.cert_type != cur.cert_type {
        return Err(Error::invalid("The certificate type cannot be changed"));
    }
    let row = CertificateRow {
        fingerprint: cur.fingerprint.clone(),
        cert_type: if opts.cert_type.is_empty() {
            cur.cert_type
        } else {
            opts.cert_type.clone()
        },
        name: if opts.name.is_empty() {
            cur.name
        } else {
            opts.name.clone()
        },
        certificate: cur.certificate,
        restricted: opts.restricted,
        description: opts.description.clone(),
    };
    let project = ctx.project.clone();
    ctx.db()?.write(|tx| {
        incus_db::certificate_update(tx, &row)?;
        incus_db::certificate_set_projects(tx, &row.fingerprint, &opts.projects)?;
        events::record(
            tx,
            &project,
            "certificate-updated",
            &format!("/1.0/certificates/{}", row.fingerprint),
            serde_json::json!({}),
        )
    })?;
    let projects = ctx
        .db()?
        .read(|tx| incus_db::certificate_projects(tx, &row.fingerprint))?;
    Ok(to_api(row, projects))
}

/// Revokes trust.
pub fn remove(ctx: &Context, prefix: &str) -> Result<()> {
    let fp = get(ctx, prefix)?.fingerprint;
    let project = ctx.project.clone();
    ctx.db()?.write(|tx| {
        incus_db::certificate_delete(tx, &fp)?;
        events::record(
            tx,
            &project,
            "certificate-deleted",
            &format!("/1.0/certificates/{fp}"),
            serde_json::json!({}),
        )
    })
}

/// Upstream's expiry syntax (`core.remote_token_expiry`): numbers with a unit, S
/// seconds, M minutes, H hours, d days, w weeks, m months (30 d), y years (365 d),
/// separated by spaces: `1d 12H`.
pub fn parse_expiry(s: &str) -> Result<i64> {
    let mut total = 0i64;
    for part in s.split_whitespace() {
        let split = part
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| Error::invalid(format!("Invalid expiry \"{s}\"")))?;
        let (n, unit) = part.split_at(split);
        let n: i64 = n
            .parse()
            .map_err(|_| Error::invalid(format!("Invalid expiry \"{s}\"")))?;
        let mult = match unit {
            "S" => 1,
            "M" => 60,
            "H" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            "m" => 30 * 86_400,
            "y" => 365 * 86_400,
            _ => return Err(Error::invalid(format!("Invalid expiry unit in \"{s}\""))),
        };
        total = total.saturating_add(n.saturating_mul(mult));
    }
    Ok(total)
}

/// The addresses a token names: `core.https_address`, with a wildcard host replaced
/// by the loopback address (the only address known without probing interfaces).
fn token_addresses(ctx: &Context) -> Result<Vec<String>> {
    let addr = crate::server::get(ctx, "core.https_address").unwrap_or_default();
    if addr.is_empty() {
        return Err(Error::invalid(
            "The server is not listening on the network (set core.https_address)",
        ));
    }
    let (host, port) = match addr.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h.to_string(), p.to_string()),
        _ => (addr.clone(), "8443".to_string()),
    };
    let host = match host.as_str() {
        "" | "0.0.0.0" | "[::]" | "::" => "127.0.0.1".to_string(),
        h => h.to_string(),
    };
    Ok(vec![format!("{host}:{port}")])
}

/// `config trust add NAME`: a single-use token for a new client.
pub fn token_create(
    ctx: &Context,
    client_name: &str,
    opts: &AddOptions,
) -> Result<(String, JoinToken)> {
    check_options(opts)?;
    crate::names::validate_object_name("Client", client_name)?;
    // The projects must exist now (they are checked again at redemption).
    ctx.db()?.read(|tx| {
        for p in &opts.projects {
            incus_db::project_id(tx, p)?;
        }
        Ok(())
    })?;
    let addresses = token_addresses(ctx)?;
    let fp = {
        let pem = server_cert(ctx)?;
        fingerprint(&cert_der(pem.as_bytes())?)
    };
    let expiry = crate::server::get(ctx, "core.remote_token_expiry").unwrap_or_default();
    let expires_at = if expiry.is_empty() {
        incus_api::ZERO_TIME.to_string()
    } else {
        let secs = parse_expiry(&expiry)?;
        (chrono::Utc::now() + chrono::Duration::seconds(secs))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let secret = hex::encode(Sha256::digest(
        format!("{}{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4()).as_bytes(),
    ));
    let token = JoinToken {
        client_name: client_name.to_string(),
        fingerprint: fp,
        addresses,
        secret,
        expires_at,
    };
    let uuid = uuid::Uuid::new_v4().to_string();
    // The secret is shown once, here; the database keeps only its hash.
    let stored = JoinToken {
        secret: String::new(),
        ..token.clone()
    };
    let mut stored = serde_json::to_value(&stored).expect("token serialises");
    stored["secret_sha256"] = incus_db::token_secret_hash(&token.secret).into();
    if let Some(t) = stored.as_object_mut() {
        t.remove("secret");
    }
    let row = TokenRow {
        uuid: uuid.clone(),
        created_at: time::now(),
        metadata: serde_json::json!({
            "request": {
                "name": client_name,
                "type": if opts.cert_type.is_empty() { "client" } else { &opts.cert_type },
                "restricted": opts.restricted,
                "projects": opts.projects,
            },
            "token": stored,
        }),
    };
    ctx.db()?.write(|tx| incus_db::token_insert(tx, &row))?;
    Ok((uuid, token))
}

/// Open tokens (id, token, expired?).
pub fn token_list(ctx: &Context) -> Result<Vec<(String, JoinToken)>> {
    Ok(ctx
        .db()?
        .read(incus_db::token_list)?
        .into_iter()
        .filter_map(|r| {
            let t: JoinToken = serde_json::from_value(r.metadata.get("token")?.clone()).ok()?;
            Some((r.uuid, t))
        })
        .collect())
}

/// Revokes a token by client name or id.
pub fn token_revoke(ctx: &Context, name: &str) -> Result<()> {
    let ids: Vec<String> = token_list(ctx)?
        .into_iter()
        .filter(|(id, t)| id == name || t.client_name == name)
        .map(|(id, _)| id)
        .collect();
    if ids.is_empty() {
        return Err(Error::not_found(format!("No token for \"{name}\"")));
    }
    ctx.db()?.write(|tx| {
        for id in &ids {
            incus_db::token_delete(tx, id)?;
        }
        Ok(())
    })
}

fn expired(t: &JoinToken) -> bool {
    if t.expires_at == incus_api::ZERO_TIME || t.expires_at.is_empty() {
        return false;
    }
    match chrono::DateTime::parse_from_rfc3339(&t.expires_at) {
        Ok(at) => at < chrono::Utc::now(),
        Err(_) => true,
    }
}

/// A client presenting `cert` redeems a token: the token goes and the certificate is
/// trusted in one transaction, so a token works once.
pub fn token_redeem(ctx: &Context, token: &str, cert: &[u8]) -> Result<Certificate> {
    let presented = JoinToken::decode(token)?;
    let der = cert_der(cert)?;
    let fp = fingerprint(&der);
    let project = ctx.project.clone();
    if presented.secret.is_empty() {
        return Err(Error::forbidden(
            "No matching certificate add operation found",
        ));
    }
    let want = incus_db::token_secret_hash(&presented.secret);
    let row = ctx.db()?.write(|tx| {
        // Every row is compared, in constant time, so the time taken says nothing
        // about how much of a guess matched.
        let mut found = None;
        for r in incus_db::token_list(tx)? {
            let have = r
                .metadata
                .get("token")
                .and_then(|t| t.get("secret_sha256"))
                .and_then(|s| s.as_str())
                .unwrap_or_default();
            let same: bool = subtle::ConstantTimeEq::ct_eq(have.as_bytes(), want.as_bytes()).into();
            if same && found.is_none() {
                found = Some(r);
            }
        }
        let Some(found) = found else {
            return Err(Error::forbidden(
                "No matching certificate add operation found",
            ));
        };
        let stored: JoinToken = serde_json::from_value(found.metadata["token"].clone())
            .map_err(|_| Error::internal("Corrupt token row"))?;
        // Expired tokens are removed when met, and refused.
        incus_db::token_delete(tx, &found.uuid)?;
        if expired(&stored) {
            return Ok(None);
        }
        if incus_db::certificate_exists(tx, &fp)? {
            return Err(Error::conflict("Certificate already in trust store"));
        }
        let req = &found.metadata["request"];
        let projects: Vec<String> = req["projects"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        // Projects without the flag (a tampered row) restrict all the same.
        let restricted = req["restricted"].as_bool().unwrap_or(false) || !projects.is_empty();
        let cert_type = req["type"].as_str().unwrap_or("client").to_string();
        if !matches!(cert_type.as_str(), "client" | "metrics") {
            return Err(Error::invalid(format!(
                "Unknown certificate type \"{cert_type}\""
            )));
        }
        let row = CertificateRow {
            fingerprint: fp.clone(),
            cert_type,
            name: stored.client_name.clone(),
            certificate: pem_of(&der),
            restricted,
            description: String::new(),
        };
        incus_db::certificate_insert(tx, &row)?;
        incus_db::certificate_set_projects(tx, &fp, &projects)?;
        events::record(
            tx,
            &project,
            "certificate-created",
            &format!("/1.0/certificates/{fp}"),
            serde_json::json!({}),
        )?;
        let projects = incus_db::certificate_projects(tx, &fp)?;
        Ok(Some((row, projects)))
    })?;
    row.map(|(r, p)| to_api(r, p))
        .ok_or_else(|| Error::forbidden("The join token has expired"))
}
