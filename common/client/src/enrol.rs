//! Enrolment with a server (`remote add`): the address forms, the certificate check
//! against a join token's fingerprint, the token's redemption (upstream's
//! CertificatesPost) and the recorded remote with its pinned certificate. The rules
//! live here so that every front end (`incus-remote`, a server that adds a remote)
//! enrols the same way; asking the user stays with the caller.

use crate::config::{pem_fingerprint, valid_remote_name, ClientConfig, RemoteConfig};
use crate::remote::{fetch_server_certificate, Remote, RemoteSpec};
use crate::JoinToken;
use incus_api::{Error, Result};

/// How `remote add` enrols.
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    /// A join token given apart from the address (`--token`).
    pub token: String,
    /// A public image server: no client certificate is presented.
    pub public: bool,
    pub project: String,
}

/// What `add_remote` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Recorded; the server already trusted this client (or it is public or a socket).
    Recorded,
    /// Recorded after a join token made the server trust this client's certificate.
    NowTrusted,
}

/// `https://HOST:8443` from a host, `host:port` or URL, as upstream completes it;
/// `unix://` URLs are kept.
pub fn normalize_addr(raw: &str) -> Result<String> {
    if raw.starts_with("unix:") {
        return Ok(raw.to_string());
    }
    let rest = match raw.split_once("://") {
        None => raw,
        Some(("https", rest)) => rest,
        Some((scheme, _)) => {
            return Err(Error::invalid(format!(
                "Invalid URL scheme \"{scheme}\" in \"{raw}\""
            )))
        }
    };
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains('/') {
        return Err(Error::invalid(format!("Invalid remote address {raw:?}")));
    }
    // A port is there when the text ends with :digits after any IPv6 brackets.
    let has_port = match host.rsplit_once(':') {
        Some((h, p)) => {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_digit())
                && (h.ends_with(']') || !h.contains(':'))
        }
        None => false,
    };
    let host = if !has_port && host.matches(':').count() > 1 && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    Ok(if has_port {
        format!("https://{host}")
    } else {
        format!("https://{host}:8443")
    })
}

/// `remote add NAME ADDR|TOKEN`: fetches and checks the server certificate (against the
/// token's fingerprint, else through `accept`, which sees the fingerprint and may refuse),
/// redeems the token when the server does not trust this client yet, and records the
/// remote with its pinned certificate under the configuration lock.
pub fn add_remote(
    name: &str,
    addr: &str,
    opts: &AddOptions,
    accept: &dyn Fn(&str) -> Result<()>,
) -> Result<Added> {
    valid_remote_name(name)?;
    let cfg = ClientConfig::load()?;
    if cfg.remotes.contains_key(name) {
        return Err(Error::conflict(format!(
            "Remote {name} exists as <{}>",
            cfg.remotes[name].addr
        )));
    }
    // A join token first: upstream takes any argument that decodes as one.
    let token = if !opts.token.is_empty() {
        Some(JoinToken::decode(&opts.token)?)
    } else {
        JoinToken::decode(addr).ok()
    };
    let raw_token = if opts.token.is_empty() {
        addr
    } else {
        opts.token.as_str()
    };
    let entry = |addr: String| RemoteConfig {
        addr,
        auth_type: if opts.public {
            String::new()
        } else {
            "tls".into()
        },
        project: opts.project.clone(),
        protocol: "incus".into(),
        public: opts.public,
        extra: Default::default(),
        is_static: false,
        global: false,
    };

    if let (Some(t), true) = (&token, opts.token.is_empty()) {
        // `remote add NAME TOKEN`: the first address whose certificate is the token's.
        let mut last = Error::invalid("The join token has no address");
        for a in &t.addresses {
            let url = normalize_addr(a)?;
            let pem = match fetch_server_certificate(&url) {
                Ok(p) => p,
                Err(e) => {
                    last = e.context(format!("Connect to {url}"));
                    continue;
                }
            };
            if pem_fingerprint(&pem)? != t.fingerprint {
                last = Error::forbidden(format!(
                    "Certificate fingerprint mismatch between join token and {url}"
                ));
                continue;
            }
            redeem(&cfg, &url, &pem, raw_token)?;
            save_remote(name, entry(url), Some(&pem))?;
            return Ok(Added::NowTrusted);
        }
        return Err(last);
    }

    let url = normalize_addr(addr)?;
    if url.starts_with("unix:") {
        // As upstream: the socket must answer before the remote is recorded.
        Remote::connect(RemoteSpec {
            addr: url.clone(),
            client_cert: None,
            client_key: None,
            server_cert: None,
            project: "default".into(),
        })?
        .query("GET", "/1.0", None)?;
        save_remote(
            name,
            RemoteConfig {
                auth_type: "file access".into(),
                ..entry(url)
            },
            None,
        )?;
        return Ok(Added::Recorded);
    }
    let pem = fetch_server_certificate(&url)?;
    let fp = pem_fingerprint(&pem)?;
    if let Some(t) = &token {
        if t.fingerprint != fp {
            return Err(Error::forbidden(format!(
                "Certificate fingerprint mismatch between join token and {url}"
            )));
        }
    } else {
        accept(&fp)?;
    }
    if opts.public {
        save_remote(name, entry(url), Some(&pem))?;
        return Ok(Added::Recorded);
    }
    if !trusted(&cfg, &url, &pem)? {
        if token.is_none() {
            return Err(Error::forbidden(format!(
                "The server at {url} does not trust this client: add it with a join token (incus config trust add NAME on the server, then --token TOKEN)"
            )));
        }
        redeem(&cfg, &url, &pem, raw_token)?;
        save_remote(name, entry(url), Some(&pem))?;
        return Ok(Added::NowTrusted);
    }
    save_remote(name, entry(url), Some(&pem))?;
    Ok(Added::Recorded)
}

fn spec(cfg: &ClientConfig, url: &str, pem: &str) -> Result<RemoteSpec> {
    let (cert, key) = cfg.client_cert()?;
    Ok(RemoteSpec {
        addr: url.to_string(),
        client_cert: Some(cert),
        client_key: Some(key),
        server_cert: Some(pem.to_string()),
        project: "default".into(),
    })
}

fn trusted(cfg: &ClientConfig, url: &str, pem: &str) -> Result<bool> {
    let r = Remote::connect(spec(cfg, url, pem)?)?;
    let info = r.query("GET", "/1.0", None)?;
    Ok(info["auth"] == "trusted")
}

/// Presents the client certificate with the token (upstream's CertificatesPost).
fn redeem(cfg: &ClientConfig, url: &str, pem: &str, token: &str) -> Result<()> {
    let r = Remote::connect(spec(cfg, url, pem)?)?;
    let body = serde_json::json!({"type": "client", "trust_token": token});
    r.query("POST", "/1.0/certificates", Some(&body))
        .map_err(|e| e.context("Failed to create certificate"))?;
    Ok(())
}

/// Records the remote and pins its certificate, under the configuration lock.
pub fn save_remote(name: &str, r: RemoteConfig, pem: Option<&str>) -> Result<()> {
    ClientConfig::update(|cfg| {
        if cfg.remotes.contains_key(name) {
            return Err(Error::conflict(format!(
                "Remote {name} exists as <{}>",
                cfg.remotes[name].addr
            )));
        }
        if let Some(p) = pem {
            cfg.set_server_cert(name, p)?;
        }
        cfg.remotes.insert(name.to_string(), r);
        Ok(())
    })
}
