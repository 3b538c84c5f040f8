//! `export`, `import`, `publish` and `rebuild` through a remote, the way upstream's
//! client does them: a temporary backup made on the server, downloaded and deleted;
//! the tarball uploaded as an octet-stream `POST /1.0/instances`; `POST /1.0/images`
//! from an instance; `POST /1.0/instances/NAME/rebuild`.

use super::http::Body;
use super::{encode as enc, envelope, Remote};
use crate::{Backend, BackupExportOptions, BackupImportOptions, PublishOptions};
use incus_api::{Error, Image, Instance, Result, StorageVolume};
use serde_json::json;
use std::io::{Read, Write};
use std::path::Path;

fn token() -> String {
    let mut b = [0u8; 6];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut b);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Remote {
    pub(crate) fn backup_export(
        &self,
        name: &str,
        opts: &BackupExportOptions,
        out: &mut dyn Write,
    ) -> Result<()> {
        let base = format!("/1.0/instances/{}/backups", enc(name));
        self.export_through(&base, "instance_only", opts, out)
    }

    pub(crate) fn volume_backup_export(
        &self,
        pool: &str,
        name: &str,
        opts: &BackupExportOptions,
        out: &mut dyn Write,
    ) -> Result<()> {
        let base = format!(
            "/1.0/storage-pools/{}/volumes/custom/{}/backups",
            enc(pool),
            enc(name)
        );
        self.export_through(&base, "volume_only", opts, out)
    }

    /// A temporary backup under `base`, downloaded into `out`, then deleted.
    fn export_through(
        &self,
        base: &str,
        only_key: &str,
        opts: &BackupExportOptions,
        out: &mut dyn Write,
    ) -> Result<()> {
        opts.compression()?;
        // Named here (the server would pick `backupN`), so no resource parsing is needed.
        let backup = format!("export-{}", token());
        let expires = (chrono::Utc::now() + chrono::Duration::hours(24))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut body = json!({
            "name": backup,
            "expires_at": expires,
            "optimized_storage": opts.optimized_storage,
            "compression_algorithm": opts.compression.clone().unwrap_or_default(),
        });
        body[only_key] = json!(opts.instance_only);
        self.query("POST", base, Some(&body))?;
        let url = format!("{base}/{}", enc(&backup));
        let copied = (|| -> Result<()> {
            let resp = self.request("GET", &format!("{url}/export"), &[], Body::None, None)?;
            if !(200..300).contains(&resp.status) {
                return Err(Error::internal(format!(
                    "Download of the backup failed (HTTP {})",
                    resp.status
                )));
            }
            let mut body = resp.body;
            std::io::copy(&mut body, out)
                .map_err(|e| Error::internal(format!("Download backup: {e}")))?;
            Ok(())
        })();
        // The temporary backup goes whatever happened (it also expires in a day).
        let deleted = self.query("DELETE", &url, None).map(drop);
        copied?;
        deleted
    }

    pub(crate) fn backup_import(
        &self,
        file: &Path,
        opts: &BackupImportOptions,
    ) -> Result<Instance> {
        let name = match &opts.name {
            Some(n) => n.clone(),
            None => incus_core::backup_archive::read_index(file)?.0.name,
        };
        let mut f = std::fs::File::open(file)
            .map_err(|e| Error::from(e).context(format!("Open {}", file.display())))?;
        let len = f.metadata()?.len();
        let mut headers = vec![("Content-Type", "application/octet-stream".to_string())];
        if opts.name.is_some() {
            headers.push(("X-Incus-name", name.clone()));
        }
        if let Some(p) = &opts.pool {
            headers.push(("X-Incus-pool", p.clone()));
        }
        let resp = self.request(
            "POST",
            "/1.0/instances",
            &headers,
            Body::Reader(&mut f, Some(len)),
            None,
        )?;
        let env = envelope(resp)?;
        self.wait_operation(&env)?;
        Backend::instance(self, &name)
    }

    pub(crate) fn volume_backup_import(
        &self,
        pool: &str,
        file: &Path,
        name: Option<&str>,
    ) -> Result<StorageVolume> {
        let name = match name {
            Some(n) => n.to_string(),
            None => {
                let raw = incus_imagefmt::read_member(file, "backup/index.yaml")
                    .map_err(|e| Error::invalid(format!("Invalid backup: {e}")))?
                    .ok_or_else(|| Error::invalid("Not a volume backup: no backup/index.yaml"))?;
                let v: serde_yaml_ng::Value = serde_yaml_ng::from_slice(&raw)
                    .map_err(|e| Error::invalid(format!("Invalid backup/index.yaml: {e}")))?;
                v["name"].as_str().unwrap_or_default().to_string()
            }
        };
        let mut f = std::fs::File::open(file)
            .map_err(|e| Error::from(e).context(format!("Open {}", file.display())))?;
        let len = f.metadata()?.len();
        let headers = vec![
            ("Content-Type", "application/octet-stream".to_string()),
            ("X-Incus-name", name.clone()),
        ];
        let resp = self.request(
            "POST",
            &format!("/1.0/storage-pools/{}/volumes/custom", enc(pool)),
            &headers,
            Body::Reader(&mut f, Some(len)),
            None,
        )?;
        let env = envelope(resp)?;
        self.wait_operation(&env)?;
        Backend::volume(self, pool, "custom", &name)
    }

    pub(crate) fn publish(&self, opts: &PublishOptions) -> Result<Image> {
        let existing = Backend::image_aliases(self)?;
        let taken: Vec<&str> = opts
            .aliases
            .iter()
            .filter(|a| existing.iter().any(|e| &e.name == *a))
            .map(String::as_str)
            .collect();
        if !opts.reuse {
            if let Some(a) = taken.first() {
                return Err(Error::conflict(format!("Alias \"{a}\" already exists")));
            }
        }
        let (kind, source) = match &opts.snapshot {
            Some(s) => ("snapshot", format!("{}/{s}", opts.instance)),
            None => ("instance", opts.instance.clone()),
        };
        let meta = self.query(
            "POST",
            "/1.0/images",
            Some(&json!({
                "source": {"type": kind, "name": source},
                "public": opts.public,
                "expires_at": opts.expires_at,
                "properties": opts.properties,
                "compression_algorithm": opts.compression.clone().unwrap_or_default(),
            })),
        )?;
        let fp = meta["fingerprint"]
            .as_str()
            .ok_or_else(|| Error::internal("The publish gave no fingerprint"))?
            .to_string();
        for a in &opts.aliases {
            if let Some(old) = existing.iter().find(|e| &e.name == a) {
                Backend::image_alias_delete(self, a)?;
                let others = existing
                    .iter()
                    .any(|e| e.target == old.target && !opts.aliases.contains(&e.name));
                if !others && old.target != fp {
                    Backend::image_delete(self, &old.target)?;
                }
            }
            Backend::image_alias_create(self, a, &fp, "")?;
        }
        Backend::image(self, &fp)
    }

    pub(crate) fn rebuild(&self, name: &str, image: Option<&str>) -> Result<Instance> {
        let source = match image {
            Some(i) => json!({"type": "image", "alias": i}),
            None => json!({"type": "none"}),
        };
        self.query(
            "POST",
            &format!("/1.0/instances/{}/rebuild", enc(name)),
            Some(&json!({ "source": source })),
        )?;
        Backend::instance(self, name)
    }
}
