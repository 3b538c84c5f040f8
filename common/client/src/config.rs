//! The client configuration, as upstream's `incus` keeps it: a directory (`$INCUS_CONF`,
//! else `$HOME/.config/incus`) with `config.yml` (remotes, default remote, aliases),
//! the client certificate `client.crt`/`client.key` (made on first use) and the pinned
//! server certificates `servercerts/NAME.crt`.
//!
//! Every change is a read-modify-write under a flock on the directory, and each file is
//! replaced atomically, so two concurrent `incus remote add` keep both remotes.

use incus_api::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The built-in remote: this host's state, reached in-process.
pub const LOCAL: &str = "local";

/// Upstream's predefined simplestreams remote.
pub const IMAGES: &str = "images";

/// One remote of `config.yml` (upstream's field names and order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteConfig {
    pub addr: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub project: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub protocol: String,
    #[serde(default)]
    pub public: bool,
    /// Keys we do not use (`keepalive`, `credentials_helper`...), kept as written.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_yaml_ng::Value>,
    /// Built in, cannot be removed or renamed (`local`).
    #[serde(skip)]
    pub is_static: bool,
    /// From the system-wide configuration (not supported: always false).
    #[serde(skip)]
    pub global: bool,
}

impl RemoteConfig {
    fn local() -> RemoteConfig {
        RemoteConfig {
            addr: "unix://".into(),
            auth_type: String::new(),
            project: String::new(),
            protocol: "incus".into(),
            public: false,
            extra: BTreeMap::new(),
            is_static: true,
            global: false,
        }
    }

    /// Upstream's predefined community image server (`images:`), present until removed.
    pub fn images() -> RemoteConfig {
        RemoteConfig {
            addr: "https://images.linuxcontainers.org".into(),
            auth_type: String::new(),
            project: String::new(),
            protocol: "simplestreams".into(),
            public: true,
            extra: BTreeMap::new(),
            is_static: false,
            global: false,
        }
    }

    /// Upstream's `remote list --format json` object (Go field names).
    pub fn list_object(&self) -> serde_json::Value {
        serde_json::json!({
            "Addr": self.addr,
            "AuthType": self.auth_type,
            "KeepAlive": self.extra.get("keepalive").and_then(|v| v.as_i64()).unwrap_or(0),
            "Project": self.project,
            "Protocol": self.protocol,
            "Public": self.public,
            "Global": self.global,
            "Static": self.is_static,
        })
    }
}

/// `config.yml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientConfig {
    #[serde(rename = "default-remote", default)]
    pub default_remote: String,
    #[serde(default)]
    pub remotes: BTreeMap<String, RemoteConfig>,
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// The configuration directory.
    #[serde(skip)]
    pub dir: PathBuf,
}

/// The configuration directory: `$INCUS_CONF`, else `$HOME/.config/incus`.
pub fn config_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("INCUS_CONF").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".config/incus")
}

/// A remote name as upstream allows it.
pub fn valid_remote_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.contains([':', '/', ' '])
        || name.starts_with('.')
        || name.chars().any(|c| c.is_control())
    {
        return Err(Error::invalid(format!("Invalid remote name {name:?}")));
    }
    Ok(())
}

impl ClientConfig {
    /// The configuration of [`config_dir`] (defaults when it has none yet).
    pub fn load() -> Result<ClientConfig> {
        ClientConfig::load_from(&config_dir())
    }

    pub fn load_from(dir: &Path) -> Result<ClientConfig> {
        let path = dir.join("config.yml");
        let mut cfg = match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => {
                serde_yaml_ng::from_str::<ClientConfig>(&text)
                    .map_err(|e| Error::invalid(format!("Invalid {}: {e}", path.display())))?
            }
            Ok(_) => ClientConfig::empty(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ClientConfig::empty(),
            Err(e) => return Err(Error::internal(format!("Read {}: {e}", path.display()))),
        };
        cfg.dir = dir.to_path_buf();
        // `local` is always there and always ours, whatever the file says.
        // Only its current project (`project switch`) is kept from the file.
        let mut local = RemoteConfig::local();
        if let Some(r) = cfg.remotes.get(LOCAL) {
            local.project = r.project.clone();
        }
        cfg.remotes.insert(LOCAL.into(), local);
        if cfg.default_remote.is_empty() {
            cfg.default_remote = LOCAL.into();
        }
        Ok(cfg)
    }

    /// A configuration without a file: upstream's default remotes (`local`, `images`).
    fn empty() -> ClientConfig {
        ClientConfig {
            default_remote: LOCAL.into(),
            remotes: BTreeMap::from([(IMAGES.to_string(), RemoteConfig::images())]),
            aliases: BTreeMap::new(),
            dir: PathBuf::new(),
        }
    }

    /// The remote a name without `REMOTE:` means: `$INCUS_REMOTE`, else `default-remote`.
    pub fn current_remote(&self) -> String {
        match std::env::var("INCUS_REMOTE") {
            Ok(r) if !r.is_empty() => r,
            _ => self.default_remote.clone(),
        }
    }

    /// The remote named `name`, or not found.
    pub fn remote(&self, name: &str) -> Result<&RemoteConfig> {
        self.remotes
            .get(name)
            .ok_or_else(|| Error::not_found(format!("The remote \"{name}\" doesn't exist")))
    }

    /// Splits `[REMOTE:]NAME` as upstream does: the part before the first `:` must be a
    /// known remote (a snapshot name with a `:` after a `/` is left alone).
    pub fn parse_remote(&self, raw: &str) -> Result<(String, String)> {
        match raw.split_once(':') {
            None => Ok((self.current_remote(), raw.to_string())),
            Some((remote, rest)) => {
                if self.remotes.contains_key(remote) {
                    Ok((remote.to_string(), rest.to_string()))
                } else if remote.contains('/') {
                    Ok((self.current_remote(), raw.to_string()))
                } else {
                    Err(Error::not_found(format!(
                        "The remote \"{remote}\" doesn't exist"
                    )))
                }
            }
        }
    }

    /// The remote an argument names explicitly (`REMOTE:NAME`), if any.
    pub fn parse_explicit(&self, raw: &str) -> Result<Option<(String, String)>> {
        match raw.split_once(':') {
            Some((remote, _)) if !remote.contains('/') => self.parse_remote(raw).map(Some),
            _ => Ok(None),
        }
    }

    /// Changes the configuration: `f` runs on the current file's contents under the
    /// directory's lock and the result is written atomically.
    pub fn update<T>(f: impl FnOnce(&mut ClientConfig) -> Result<T>) -> Result<T> {
        ClientConfig::update_then(f, |_, _| Ok(()))
    }

    /// Like [`ClientConfig::update`], and `then` runs after the file is written, still
    /// under the lock: files a remote no longer needs go only once config.yml stopped
    /// naming them (a command killed in between leaves an unused file, never a remote
    /// without its certificate).
    pub fn update_then<T>(
        f: impl FnOnce(&mut ClientConfig) -> Result<T>,
        then: impl FnOnce(&ClientConfig, &T) -> Result<()>,
    ) -> Result<T> {
        let dir = config_dir();
        let _lock = lock_dir(&dir)?;
        let mut cfg = ClientConfig::load_from(&dir)?;
        let out = f(&mut cfg)?;
        cfg.save()?;
        then(&cfg, &out)?;
        Ok(out)
    }

    fn save(&self) -> Result<()> {
        let text =
            serde_yaml_ng::to_string(self).map_err(|e| Error::internal(format!("YAML: {e}")))?;
        incus_sys::fsutil::atomic_write(&self.dir.join("config.yml"), text.as_bytes(), 0o644)
    }

    /// The pinned certificate (PEM) of a remote.
    pub fn server_cert(&self, name: &str) -> Result<Option<String>> {
        read_optional(&self.server_cert_path(name))
    }

    pub fn server_cert_path(&self, name: &str) -> PathBuf {
        self.dir.join("servercerts").join(format!("{name}.crt"))
    }

    /// Pins `pem` as the certificate of `name` (inside [`ClientConfig::update`]).
    pub fn set_server_cert(&self, name: &str, pem: &str) -> Result<()> {
        incus_sys::fsutil::atomic_write(&self.server_cert_path(name), pem.as_bytes(), 0o644)
    }

    /// Drops a pinned certificate (missing is fine).
    pub fn remove_server_cert(&self, name: &str) -> Result<()> {
        match std::fs::remove_file(self.server_cert_path(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Pins the certificate of `name` under `new_name` too (a rename; the old file goes
    /// once config.yml is written).
    pub fn copy_server_cert(&self, name: &str, new_name: &str) -> Result<()> {
        match self.server_cert(name)? {
            Some(pem) => self.set_server_cert(new_name, &pem),
            None => Ok(()),
        }
    }

    /// The client certificate and key (PEM), generated on first use as upstream does:
    /// ECDSA P-384, self-signed, CN `USER@HOSTNAME`.
    pub fn client_cert(&self) -> Result<(String, String)> {
        let (crt, key) = (self.dir.join("client.crt"), self.dir.join("client.key"));
        if let (Some(c), Some(k)) = (read_optional(&crt)?, read_optional(&key)?) {
            return Ok((c, k));
        }
        let _lock = lock_dir(&self.dir)?;
        // Another process may have made it while we waited.
        if let (Some(c), Some(k)) = (read_optional(&crt)?, read_optional(&key)?) {
            return Ok((c, k));
        }
        let (c, k) = generate_client_cert()?;
        // The key first: a certificate is never left without its key.
        incus_sys::fsutil::atomic_write(&key, k.as_bytes(), 0o600)?;
        incus_sys::fsutil::atomic_write(&crt, c.as_bytes(), 0o644)?;
        Ok((c, k))
    }
}

fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::internal(format!("Read {}: {e}", path.display()))),
    }
}

fn lock_dir(dir: &Path) -> Result<incus_sys::lock::Lock> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::internal(format!("Create {}: {e}", dir.display())))?;
    incus_sys::lock::lock(
        &dir.join(".config.lock"),
        Duration::from_secs(30),
        "the client configuration",
    )
}

fn generate_client_cert() -> Result<(String, String)> {
    let err = |e: rcgen::Error| Error::internal(format!("Generate the client certificate: {e}"));
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).map_err(err)?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "root".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Linux Containers");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{user}@{host}"));
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.self_signed(&key).map_err(err)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// SHA-256 of the first certificate of a PEM text: upstream's fingerprint.
pub fn pem_fingerprint(pem: &str) -> Result<String> {
    Ok(incus_core::trust::fingerprint(
        &incus_core::trust::cert_der(pem.as_bytes())?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_remote_as_upstream() {
        let mut cfg = ClientConfig::empty();
        // Only its current project (`project switch`) is kept from the file.
        let mut local = RemoteConfig::local();
        if let Some(r) = cfg.remotes.get(LOCAL) {
            local.project = r.project.clone();
        }
        cfg.remotes.insert(LOCAL.into(), local);
        cfg.remotes.insert("srv".into(), RemoteConfig::local());
        std::env::remove_var("INCUS_REMOTE");
        assert_eq!(
            cfg.parse_remote("c1").unwrap(),
            ("local".into(), "c1".into())
        );
        assert_eq!(
            cfg.parse_remote("srv:c1").unwrap(),
            ("srv".into(), "c1".into())
        );
        assert_eq!(cfg.parse_remote("srv:").unwrap(), ("srv".into(), "".into()));
        assert_eq!(
            cfg.parse_remote("c1/snap:1").unwrap(),
            ("local".into(), "c1/snap:1".into())
        );
        assert_eq!(cfg.parse_remote("nope:c1").unwrap_err().kind.exit_code(), 3);
    }

    #[test]
    fn yaml_round_trip_keeps_unknown_keys() {
        let text = "default-remote: srv\nremotes:\n  srv:\n    addr: https://10.0.0.1:8443\n    auth_type: tls\n    keepalive: 30\n    protocol: incus\n    public: false\naliases:\n  ll: list\n";
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yml"), text).unwrap();
        let cfg = ClientConfig::load_from(dir.path()).unwrap();
        assert_eq!(cfg.default_remote, "srv");
        assert!(cfg.remotes["local"].is_static);
        assert_eq!(cfg.remotes["srv"].list_object()["KeepAlive"], 30);
        let out = serde_yaml_ng::to_string(&cfg).unwrap();
        assert!(out.contains("keepalive: 30"), "{out}");
        assert!(out.contains("ll: list"), "{out}");
    }
}
