//! [`Backend`] over REST: each method is one route of the server (or a read, a local
//! change and a write, where the API has no finer route, as upstream's client does).

use super::{encode as enc, Remote};
use crate::*;
use incus_api::{ConfigPatch, Error, RenamePost, Result};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// What only the host holding the state can do.
fn host_only(what: &str) -> Error {
    Error::unsupported(format!(
        "{what} runs on the server host (use the tool there), not through a remote"
    ))
}

fn from<T: DeserializeOwned>(v: Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::internal(format!("Unexpected response: {e}")))
}

fn inst_url(name: &str) -> String {
    format!("/1.0/instances/{}", enc(name))
}

fn pool_url(pool: &str) -> String {
    format!("/1.0/storage-pools/{}", enc(pool))
}

fn vol_url(pool: &str, name: &str) -> String {
    format!("{}/volumes/custom/{}", pool_url(pool), enc(name))
}

/// PEM or DER -> DER.
fn der_of(cert: &[u8]) -> Result<Vec<u8>> {
    if cert.starts_with(b"-----") || cert.iter().take(64).all(|b| b.is_ascii()) {
        let der = rustls_pemfile::certs(&mut &cert[..])
            .next()
            .ok_or_else(|| Error::invalid("No certificate found in the PEM"))?
            .map_err(|e| Error::invalid(format!("Invalid certificate PEM: {e}")))?;
        return Ok(der.to_vec());
    }
    Ok(cert.to_vec())
}

impl Remote {
    /// `POST /1.0/instances`, with `"start": true` for a launch (the server composes
    /// create and start, as upstream's client asks it to).
    fn create_instance(&self, opts: CreateOptions, start: bool) -> Result<Instance> {
        // Named here, so the new instance can be found (the server would pick one too).
        let name = opts
            .name
            .clone()
            .unwrap_or_else(incus_core::instance::random_name);
        let mut devices = opts.devices.clone();
        if let Some(pool) = &opts.pool {
            let root = devices.values_mut().find(|d| {
                d.get("type").map(String::as_str) == Some("disk")
                    && d.get("path").map(String::as_str) == Some("/")
            });
            match root {
                Some(d) => {
                    d.insert("pool".into(), pool.clone());
                }
                None => {
                    let d: Config = [("type", "disk"), ("path", "/"), ("pool", pool.as_str())]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    devices.insert("root".into(), d);
                }
            }
        }
        let source = match &opts.image {
            Some(img) => json!({ "type": "image", "alias": img }),
            None => json!({ "type": "none" }),
        };
        let mut body = json!({
            "name": name,
            "type": if opts.instance_type.is_empty() { "container" } else { opts.instance_type.as_str() },
            "source": source,
            "config": opts.config,
            "devices": devices,
            "ephemeral": opts.ephemeral,
            "description": opts.description,
        });
        if let Some(p) = &opts.profiles {
            body["profiles"] = json!(p);
        }
        if start {
            body["start"] = json!(true);
        }
        self.send("POST", "/1.0/instances", body)?;
        self.instance(&name)
    }
    pub(crate) fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        from(self.query("GET", path, None)?)
    }

    fn send(&self, method: &str, path: &str, body: Value) -> Result<Value> {
        self.query(method, path, Some(&body))
    }

    /// `PATCH` of an object's config keys (an empty value unsets its key).
    fn patch_config(&self, path: &str, pairs: &Config) -> Result<()> {
        let body = ConfigPatch {
            config: pairs.clone(),
        };
        self.send("PATCH", path, serde_json::to_value(body)?)
            .map(drop)
    }

    /// Read, change, write back (the API's PUT replaces the whole object).
    fn modify_instance(
        &self,
        name: &str,
        f: impl FnOnce(&Instance, &mut InstancePut) -> Result<()>,
    ) -> Result<Instance> {
        let inst = self.instance(name)?;
        let mut put = InstancePut::from(&inst);
        f(&inst, &mut put)?;
        self.instance_update(name, put)
    }

    fn modify_profile(
        &self,
        name: &str,
        f: impl FnOnce(&mut ProfilePut) -> Result<()>,
    ) -> Result<Profile> {
        let mut put = ProfilePut::from(&self.profile(name)?);
        f(&mut put)?;
        self.profile_update(name, put)
    }

    /// The names of what a list route returns (to find what a create named).
    fn names_at(&self, path: &str) -> Result<Vec<String>> {
        let urls: Vec<String> = self.get(path)?;
        Ok(urls
            .iter()
            .filter_map(|u| u.rsplit('/').next())
            .map(|s| super::decode(s.split('?').next().unwrap_or(s)))
            .collect())
    }
}

/// The body of a rename (`POST` with the new name).
fn rename(new_name: &str) -> Result<Value> {
    Ok(serde_json::to_value(RenamePost {
        name: new_name.to_string(),
    })?)
}

fn merge_pairs(into: &mut Config, pairs: &Config) {
    for (k, v) in pairs {
        if v.is_empty() {
            into.remove(k);
        } else {
            into.insert(k.clone(), v.clone());
        }
    }
}

impl Backend for Remote {
    fn server(&self) -> Result<Server> {
        // An untrusted client gets a reduced object (no config, no environment).
        let mut full = serde_json::to_value(Server::default())?;
        if let (Some(all), Value::Object(got)) =
            (full.as_object_mut(), self.query("GET", "/1.0", None)?)
        {
            all.extend(got);
        }
        from(full)
    }
    fn server_config_get(&self, key: &str) -> Result<String> {
        let s = self.server()?;
        Ok(s.config.get(key).cloned().unwrap_or_default())
    }
    fn server_config_set_keys(&self, pairs: &Config) -> Result<()> {
        self.patch_config("/1.0", pairs)
    }
    fn server_config_unset(&self, key: &str) -> Result<()> {
        self.patch_config("/1.0", &[(key.to_string(), String::new())].into())
    }
    fn server_config_replace(&self, config: &Config) -> Result<()> {
        self.send("PUT", "/1.0", json!({ "config": config }))
            .map(drop)
    }
    fn admin_init_minimal(&self) -> Result<()> {
        Err(host_only("admin init"))
    }
    fn admin_init_preseed(&self, _yaml: &str) -> Result<()> {
        Err(host_only("admin init --preseed"))
    }
    fn event_last_id(&self) -> Result<i64> {
        // The stored events are the server's; a remote follows them live instead.
        Ok(0)
    }
    fn events_since(&self, _after: i64) -> Result<Vec<(i64, Value)>> {
        Err(Error::unsupported(
            "Stored events are read on the server host; a remote can only follow new ones",
        ))
    }

    fn instances(&self, full: bool) -> Result<Vec<Instance>> {
        self.get(&format!(
            "/1.0/instances?recursion={}",
            if full { 2 } else { 1 }
        ))
    }
    fn instance(&self, name: &str) -> Result<Instance> {
        self.get(&inst_url(name))
    }
    fn instance_create(&self, opts: CreateOptions) -> Result<Instance> {
        self.create_instance(opts, false)
    }
    fn instance_launch(&self, opts: CreateOptions) -> Result<Instance> {
        self.create_instance(opts, true)
    }
    fn instance_update(&self, name: &str, put: InstancePut) -> Result<Instance> {
        self.send("PUT", &inst_url(name), serde_json::to_value(&put)?)?;
        self.instance(name)
    }
    fn instance_set(&self, name: &str, pairs: &Config) -> Result<Instance> {
        // PATCH: the server merges under the instance's lock.
        self.patch_config(&inst_url(name), pairs)?;
        self.instance(name)
    }
    fn instance_unset(&self, name: &str, key: &str) -> Result<Instance> {
        self.modify_instance(name, |_, put| {
            if put.config.remove(key).is_none() {
                incus_api::keys::validate_instance(key, "")?;
            }
            Ok(())
        })
    }
    fn instance_device_add(&self, name: &str, dev: &str, config: Config) -> Result<Instance> {
        self.modify_instance(name, |_, put| {
            if put.devices.contains_key(dev) {
                return Err(Error::conflict(format!(
                    "The device already exists: \"{dev}\""
                )));
            }
            put.devices.insert(dev.to_string(), config);
            Ok(())
        })
    }
    fn instance_device_remove(&self, name: &str, devs: &[String]) -> Result<Instance> {
        self.modify_instance(name, |inst, put| {
            for d in devs {
                if put.devices.remove(d).is_none() {
                    if inst.expanded_devices.contains_key(d) {
                        return Err(Error::invalid(format!(
                    "Device \"{d}\" comes from a profile and cannot be removed from the instance"
                )));
                    }
                    return Err(Error::not_found(format!("Device \"{d}\" not found")));
                }
            }
            Ok(())
        })
    }
    fn instance_device_set(&self, name: &str, dev: &str, pairs: &Config) -> Result<Instance> {
        self.modify_instance(name, |inst, put| {
            let mut entry = match put.devices.get(dev) {
                Some(d) => d.clone(),
                None => inst
                    .expanded_devices
                    .get(dev)
                    .cloned()
                    .ok_or_else(|| Error::not_found(format!("Device \"{dev}\" not found")))?,
            };
            merge_pairs(&mut entry, pairs);
            put.devices.insert(dev.to_string(), entry);
            Ok(())
        })
    }
    fn instance_device_override(&self, name: &str, dev: &str, pairs: &Config) -> Result<Instance> {
        let inst = self.instance(name)?;
        if inst.devices.contains_key(dev) {
            return Err(Error::conflict(format!(
                "The device already exists locally: \"{dev}\""
            )));
        }
        if !inst.expanded_devices.contains_key(dev) {
            return Err(Error::not_found(format!("Device \"{dev}\" not found")));
        }
        self.instance_device_set(name, dev, pairs)
    }
    fn instance_rename(&self, name: &str, new_name: &str) -> Result<()> {
        self.send("POST", &inst_url(name), rename(new_name)?)
            .map(drop)
    }
    fn instance_delete(&self, name: &str) -> Result<()> {
        self.query("DELETE", &inst_url(name), None).map(drop)
    }
    fn instance_start(&self, name: &str) -> Result<()> {
        self.state_action(name, "start", None, false)
    }
    fn instance_stop(&self, name: &str, timeout: Duration, force: bool) -> Result<()> {
        self.state_action(name, "stop", Some(timeout), force)
    }
    fn instance_restart(&self, name: &str, timeout: Duration, force: bool) -> Result<()> {
        self.state_action(name, "restart", Some(timeout), force)
    }
    fn instance_freeze(&self, name: &str) -> Result<()> {
        self.state_action(name, "freeze", None, false)
    }
    fn instance_unfreeze(&self, name: &str) -> Result<()> {
        self.state_action(name, "unfreeze", None, false)
    }
    fn instance_state(&self, name: &str) -> Result<InstanceState> {
        self.get(&format!("{}/state", inst_url(name)))
    }
    fn instance_exec(&self, name: &str, spec: &ExecSpec) -> Result<i32> {
        self.exec(name, spec)
    }
    fn instance_console_log(&self, name: &str) -> Result<Vec<u8>> {
        self.get_bytes(&format!("{}/console", inst_url(name)))
    }
    fn instance_console_attach(&self, name: &str) -> Result<()> {
        self.console_attach(name)
    }

    fn images(&self) -> Result<Vec<Image>> {
        self.get("/1.0/images?recursion=1")
    }
    fn image(&self, name: &str) -> Result<Image> {
        self.get(&format!("/1.0/images/{}", enc(name)))
    }
    fn image_import(
        &self,
        src: &ImageSource,
        opts: &ImportOptions,
        progress: Option<&dyn Fn(u64, u64)>,
    ) -> Result<Image> {
        self.upload_image(src, opts, progress)
    }
    fn instance_export(
        &self,
        name: &str,
        opts: &BackupExportOptions,
        out: &mut dyn std::io::Write,
    ) -> Result<()> {
        self.backup_export(name, opts, out)
    }
    fn instance_import(&self, file: &Path, opts: &BackupImportOptions) -> Result<Instance> {
        self.backup_import(file, opts)
    }
    fn instance_publish(&self, opts: &PublishOptions) -> Result<Image> {
        self.publish(opts)
    }
    fn volume_export(
        &self,
        pool: &str,
        name: &str,
        opts: &BackupExportOptions,
        out: &mut dyn std::io::Write,
    ) -> Result<()> {
        self.volume_backup_export(pool, name, opts, out)
    }
    fn volume_import(&self, pool: &str, file: &Path, name: Option<&str>) -> Result<StorageVolume> {
        self.volume_backup_import(pool, file, name)
    }
    fn instance_rebuild(&self, name: &str, image: Option<&str>) -> Result<Instance> {
        self.rebuild(name, image)
    }
    fn image_delete(&self, name: &str) -> Result<()> {
        self.query("DELETE", &format!("/1.0/images/{}", enc(name)), None)
            .map(drop)
    }
    fn image_export(&self, name: &str, target: &Path) -> Result<Vec<PathBuf>> {
        self.export_image(name, target)
    }
    fn image_update(&self, name: &str, put: ImagePut) -> Result<Image> {
        let fp = self.image(name)?.fingerprint;
        self.send(
            "PUT",
            &format!("/1.0/images/{fp}"),
            serde_json::to_value(&put)?,
        )?;
        self.image(&fp)
    }
    fn image_aliases(&self) -> Result<Vec<ImageAliasesEntry>> {
        self.get("/1.0/images/aliases?recursion=1")
    }
    fn image_alias_create(&self, name: &str, target: &str, description: &str) -> Result<()> {
        self.send(
            "POST",
            "/1.0/images/aliases",
            json!({ "name": name, "target": target, "description": description }),
        )
        .map(drop)
    }
    fn image_alias_delete(&self, name: &str) -> Result<()> {
        self.query(
            "DELETE",
            &format!("/1.0/images/aliases/{}", enc(name)),
            None,
        )
        .map(drop)
    }
    fn image_alias_rename(&self, name: &str, new_name: &str) -> Result<()> {
        self.send(
            "POST",
            &format!("/1.0/images/aliases/{}", enc(name)),
            rename(new_name)?,
        )
        .map(drop)
    }

    fn pools(&self) -> Result<Vec<StoragePool>> {
        self.get("/1.0/storage-pools?recursion=1")
    }
    fn pool(&self, name: &str) -> Result<StoragePool> {
        self.get(&pool_url(name))
    }
    fn pool_create(
        &self,
        name: &str,
        driver: &str,
        config: Config,
        description: &str,
    ) -> Result<StoragePool> {
        self.send(
            "POST",
            "/1.0/storage-pools",
            json!({ "name": name, "driver": driver, "config": config, "description": description }),
        )?;
        self.pool(name)
    }
    fn pool_update(&self, name: &str, config: Config, description: &str) -> Result<StoragePool> {
        self.send(
            "PUT",
            &pool_url(name),
            json!({ "config": config, "description": description }),
        )?;
        self.pool(name)
    }
    fn pool_set_keys(&self, name: &str, pairs: &Config) -> Result<StoragePool> {
        self.patch_config(&pool_url(name), pairs)?;
        self.pool(name)
    }
    fn pool_delete(&self, name: &str) -> Result<()> {
        self.query("DELETE", &pool_url(name), None).map(drop)
    }
    fn pool_resources(&self, name: &str) -> Result<StoragePoolResources> {
        self.get(&format!("{}/resources", pool_url(name)))
    }
    fn volumes(&self, pool: &str) -> Result<Vec<StorageVolume>> {
        self.get(&format!("{}/volumes?recursion=1", pool_url(pool)))
    }

    fn profiles(&self) -> Result<Vec<Profile>> {
        self.get("/1.0/profiles?recursion=1")
    }
    fn profile(&self, name: &str) -> Result<Profile> {
        self.get(&format!("/1.0/profiles/{}", enc(name)))
    }
    fn profile_create(&self, name: &str, put: ProfilePut) -> Result<Profile> {
        let mut body = serde_json::to_value(&put)?;
        body["name"] = json!(name);
        self.send("POST", "/1.0/profiles", body)?;
        self.profile(name)
    }
    fn profile_update(&self, name: &str, put: ProfilePut) -> Result<Profile> {
        self.send(
            "PUT",
            &format!("/1.0/profiles/{}", enc(name)),
            serde_json::to_value(&put)?,
        )?;
        self.profile(name)
    }
    fn profile_set_keys(&self, name: &str, pairs: &Config) -> Result<Profile> {
        self.modify_profile(name, |put| {
            merge_pairs(&mut put.config, pairs);
            Ok(())
        })
    }
    fn profile_unset(&self, name: &str, key: &str) -> Result<Profile> {
        self.modify_profile(name, |put| match put.config.remove(key) {
            Some(_) => Ok(()),
            None => Err(Error::not_found(format!(
                "Key \"{key}\" is not set on profile \"{name}\""
            ))),
        })
    }
    fn profile_rename(&self, name: &str, new_name: &str) -> Result<()> {
        self.send(
            "POST",
            &format!("/1.0/profiles/{}", enc(name)),
            rename(new_name)?,
        )
        .map(drop)
    }
    fn profile_delete(&self, name: &str) -> Result<()> {
        self.query("DELETE", &format!("/1.0/profiles/{}", enc(name)), None)
            .map(drop)
    }
    fn profile_copy(&self, name: &str, target: &str) -> Result<Profile> {
        let put = ProfilePut::from(&self.profile(name)?);
        self.profile_create(target, put)
    }
    fn profile_device_add(&self, name: &str, dev: &str, config: Config) -> Result<Profile> {
        self.modify_profile(name, |put| {
            if put.devices.contains_key(dev) {
                return Err(Error::conflict(format!(
                    "The device already exists: \"{dev}\""
                )));
            }
            put.devices.insert(dev.to_string(), config);
            Ok(())
        })
    }
    fn profile_device_remove(&self, name: &str, devs: &[String]) -> Result<Profile> {
        self.modify_profile(name, |put| {
            for d in devs {
                if put.devices.remove(d).is_none() {
                    return Err(Error::not_found(format!(
                        "Device \"{d}\" not found in profile \"{name}\""
                    )));
                }
            }
            Ok(())
        })
    }
    fn profile_device_set(&self, name: &str, dev: &str, pairs: Config) -> Result<Profile> {
        self.modify_profile(name, |put| {
            let d = put.devices.get_mut(dev).ok_or_else(|| {
                Error::not_found(format!("Device \"{dev}\" not found in profile \"{name}\""))
            })?;
            merge_pairs(d, &pairs);
            Ok(())
        })
    }

    fn snapshots(&self, instance: &str) -> Result<Vec<InstanceSnapshot>> {
        self.get(&format!("{}/snapshots?recursion=1", inst_url(instance)))
    }
    fn snapshot(&self, instance: &str, name: &str) -> Result<InstanceSnapshot> {
        self.get(&format!("{}/snapshots/{}", inst_url(instance), enc(name)))
    }
    fn snapshot_create(
        &self,
        instance: &str,
        opts: SnapshotCreateOptions,
    ) -> Result<InstanceSnapshot> {
        if opts.reuse {
            if let Some(n) = &opts.name {
                match self.snapshot(instance, n) {
                    Ok(_) => self.snapshot_delete(instance, std::slice::from_ref(n))?,
                    Err(e) if e.kind == incus_api::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let list = format!("{}/snapshots", inst_url(instance));
        let before = match &opts.name {
            Some(_) => vec![],
            None => self.names_at(&list)?,
        };
        let mut body = json!({
            "name": opts.name.clone().unwrap_or_default(),
            "stateful": opts.stateful,
            "description": opts.description,
        });
        if opts.no_expiry {
            // The zero time: no expiry, whatever snapshots.expiry says.
            body["expires_at"] = json!(incus_api::ZERO_TIME);
        }
        self.send("POST", &list, body)?;
        let name = match opts.name {
            Some(n) => n,
            None => self
                .names_at(&list)?
                .into_iter()
                .find(|n| !before.contains(n))
                .ok_or_else(|| Error::internal("The new snapshot is not listed"))?,
        };
        self.snapshot(instance, &name)
    }
    fn snapshot_delete(&self, instance: &str, names: &[String]) -> Result<()> {
        // All must exist or none is deleted (the API deletes one at a time).
        for n in names {
            self.snapshot(instance, n)?;
        }
        for n in names {
            self.query(
                "DELETE",
                &format!("{}/snapshots/{}", inst_url(instance), enc(n)),
                None,
            )?;
        }
        Ok(())
    }
    fn snapshot_rename(&self, instance: &str, name: &str, new_name: &str) -> Result<()> {
        self.send(
            "POST",
            &format!("{}/snapshots/{}", inst_url(instance), enc(name)),
            rename(new_name)?,
        )
        .map(drop)
    }
    fn snapshot_restore(&self, instance: &str, name: &str, stateful: bool) -> Result<()> {
        self.send(
            "PUT",
            &inst_url(instance),
            json!({ "restore": name, "stateful": stateful }),
        )
        .map(drop)
    }
    fn snapshot_auto(&self, _now: DateTime<Utc>) -> Result<AutoReport> {
        Err(host_only("snapshot auto (scheduled snapshots)"))
    }
    fn instance_copy(&self, opts: CopyOptions) -> Result<Instance> {
        if opts.keep_identity {
            return Err(Error::unsupported(
                "Copies keeping the source's identity are not supported remotely",
            ));
        }
        let source = match &opts.source_snapshot {
            Some(s) => format!("{}/{s}", opts.source),
            None => opts.source.clone(),
        };
        let mut body = json!({
            "name": opts.target,
            "source": { "type": "copy", "source": source, "instance_only": opts.instance_only },
            "config": opts.config,
            "ephemeral": opts.ephemeral,
        });
        if let Some(p) = &opts.profiles {
            body["profiles"] = json!(p);
        }
        if let Some(pool) = &opts.pool {
            body["devices"] = json!({ "root": { "type": "disk", "path": "/", "pool": pool } });
        }
        self.send("POST", "/1.0/instances", body)?;
        self.instance(&opts.target)
    }
    fn instance_move(&self, name: &str, new_name: &str, pool: Option<&str>) -> Result<()> {
        match pool {
            Some(pool) => self
                .send(
                    "POST",
                    &inst_url(name),
                    json!({ "name": new_name, "migration": true, "pool": pool }),
                )
                .map(drop),
            None => self.instance_rename(name, new_name),
        }
    }

    fn volume(&self, pool: &str, vtype: &str, name: &str) -> Result<StorageVolume> {
        self.get(&format!(
            "{}/volumes/{}/{}",
            pool_url(pool),
            enc(vtype),
            enc(name)
        ))
    }
    fn volume_create(
        &self,
        pool: &str,
        name: &str,
        config: Config,
        description: &str,
    ) -> Result<StorageVolume> {
        self.send(
            "POST",
            &format!("{}/volumes/custom", pool_url(pool)),
            json!({ "name": name, "config": config, "description": description }),
        )?;
        self.volume(pool, "custom", name)
    }
    fn volume_update(
        &self,
        pool: &str,
        name: &str,
        put: StorageVolumePut,
    ) -> Result<StorageVolume> {
        self.send("PUT", &vol_url(pool, name), serde_json::to_value(&put)?)?;
        self.volume(pool, "custom", name)
    }
    fn volume_set_keys(&self, pool: &str, name: &str, pairs: &Config) -> Result<StorageVolume> {
        self.patch_config(&vol_url(pool, name), pairs)?;
        self.volume(pool, "custom", name)
    }
    fn volume_delete(&self, pool: &str, name: &str) -> Result<()> {
        self.query("DELETE", &vol_url(pool, name), None).map(drop)
    }
    fn volume_rename(&self, pool: &str, name: &str, new_name: &str) -> Result<()> {
        self.send("POST", &vol_url(pool, name), rename(new_name)?)
            .map(drop)
    }
    fn volume_copy(
        &self,
        src_pool: &str,
        src: &str,
        dst_pool: &str,
        dst: &str,
    ) -> Result<StorageVolume> {
        self.send(
            "POST",
            &format!("{}/volumes/custom", pool_url(dst_pool)),
            json!({ "name": dst, "source": { "type": "copy", "name": src, "pool": src_pool } }),
        )?;
        self.volume(dst_pool, "custom", dst)
    }
    fn volume_move(
        &self,
        src_pool: &str,
        src: &str,
        dst_pool: &str,
        dst: &str,
    ) -> Result<StorageVolume> {
        self.send(
            "POST",
            &vol_url(src_pool, src),
            json!({ "name": dst, "pool": dst_pool }),
        )?;
        self.volume(dst_pool, "custom", dst)
    }
    fn volume_attach(
        &self,
        pool: &str,
        vol: &str,
        target: &str,
        profile: bool,
        device: Option<&str>,
        path: &str,
    ) -> Result<()> {
        let dev = volume::disk_device(pool, vol, path)?;
        // A clear 404 for a missing volume before the device is written.
        self.volume(pool, "custom", vol)?;
        let dname = device.unwrap_or(vol);
        if profile {
            self.profile_device_add(target, dname, dev).map(drop)
        } else {
            self.instance_device_add(target, dname, dev).map(drop)
        }
    }
    fn volume_detach(
        &self,
        pool: &str,
        vol: &str,
        target: &str,
        profile: bool,
        device: Option<&str>,
    ) -> Result<()> {
        if profile {
            let p = self.profile(target)?;
            let d = volume::find_device(&p.devices, pool, vol, device)?;
            self.profile_device_remove(target, &[d]).map(drop)
        } else {
            let i = self.instance(target)?;
            let d = volume::find_device(&i.devices, pool, vol, device)?;
            self.instance_device_remove(target, &[d]).map(drop)
        }
    }
    fn volume_state(&self, pool: &str, name: &str) -> Result<StorageVolumeState> {
        self.get(&format!("{}/state", vol_url(pool, name)))
    }
    fn volume_snapshots(&self, pool: &str, vol: &str) -> Result<Vec<StorageVolumeSnapshot>> {
        self.get(&format!("{}/snapshots?recursion=1", vol_url(pool, vol)))
    }
    fn volume_snapshot_create(
        &self,
        pool: &str,
        vol: &str,
        snap: Option<&str>,
    ) -> Result<StorageVolumeSnapshot> {
        let list = format!("{}/snapshots", vol_url(pool, vol));
        let before = match snap {
            Some(_) => vec![],
            None => self.names_at(&list)?,
        };
        self.send("POST", &list, json!({ "name": snap.unwrap_or("") }))?;
        let name = match snap {
            Some(n) => n.to_string(),
            None => self
                .names_at(&list)?
                .into_iter()
                .find(|n| !before.contains(n))
                .ok_or_else(|| Error::internal("The new snapshot is not listed"))?,
        };
        self.get(&format!("{list}/{}", enc(&name)))
    }
    fn volume_snapshot_delete(&self, pool: &str, vol: &str, snap: &str) -> Result<()> {
        self.query(
            "DELETE",
            &format!("{}/snapshots/{}", vol_url(pool, vol), enc(snap)),
            None,
        )
        .map(drop)
    }
    fn volume_snapshot_rename(&self, pool: &str, vol: &str, snap: &str, new: &str) -> Result<()> {
        self.send(
            "POST",
            &format!("{}/snapshots/{}", vol_url(pool, vol), enc(snap)),
            rename(new)?,
        )
        .map(drop)
    }
    fn volume_snapshot_restore(&self, pool: &str, vol: &str, snap: &str) -> Result<()> {
        self.send("PUT", &vol_url(pool, vol), json!({ "restore": snap }))
            .map(drop)
    }

    fn instance_file_get(&self, name: &str, path: &str, out: &mut dyn Write) -> Result<FileInfo> {
        self.file_get(name, path, out)
    }
    fn instance_file_put(
        &self,
        name: &str,
        path: &str,
        put: &FilePut,
        input: &mut dyn Read,
    ) -> Result<()> {
        self.file_put(name, path, put, input)
    }
    fn instance_file_delete(&self, name: &str, path: &str, recursive: bool) -> Result<()> {
        self.file_delete(name, path, recursive)
    }
    fn admin_boot(&self, _force: bool) -> Result<BootReport> {
        Err(host_only("admin boot"))
    }

    fn networks(&self) -> Result<Vec<Network>> {
        self.get("/1.0/networks?recursion=1")
    }
    fn network(&self, name: &str) -> Result<Network> {
        self.get(&format!("/1.0/networks/{}", enc(name)))
    }
    fn network_create(
        &self,
        name: &str,
        network_type: &str,
        config: Config,
        description: &str,
    ) -> Result<Network> {
        self.send(
            "POST",
            "/1.0/networks",
            json!({ "name": name, "type": network_type, "config": config, "description": description }),
        )?;
        self.network(name)
    }
    fn network_update(&self, name: &str, put: NetworkPut) -> Result<Network> {
        self.send(
            "PUT",
            &format!("/1.0/networks/{}", enc(name)),
            serde_json::to_value(&put)?,
        )?;
        self.network(name)
    }
    fn network_set_keys(&self, name: &str, pairs: &Config) -> Result<Network> {
        self.patch_config(&format!("/1.0/networks/{}", enc(name)), pairs)?;
        self.network(name)
    }
    fn network_rename(&self, name: &str, new_name: &str) -> Result<()> {
        self.send(
            "POST",
            &format!("/1.0/networks/{}", enc(name)),
            rename(new_name)?,
        )
        .map(drop)
    }
    fn network_delete(&self, name: &str) -> Result<()> {
        self.query("DELETE", &format!("/1.0/networks/{}", enc(name)), None)
            .map(drop)
    }
    fn network_state(&self, name: &str) -> Result<NetworkState> {
        self.get(&format!("/1.0/networks/{}/state", enc(name)))
    }
    fn network_leases(&self, name: &str) -> Result<Vec<NetworkLease>> {
        self.get(&format!("/1.0/networks/{}/leases", enc(name)))
    }
    fn admin_init_network(&self) -> Result<()> {
        Err(host_only("admin init --network"))
    }

    fn certificates(&self) -> Result<Vec<Certificate>> {
        self.get("/1.0/certificates?recursion=1")
    }
    fn certificate(&self, fingerprint: &str) -> Result<Certificate> {
        self.get(&format!("/1.0/certificates/{}", enc(fingerprint)))
    }
    fn certificate_add(&self, cert: &[u8], opts: &TrustOptions) -> Result<Certificate> {
        use base64::Engine;
        let der = der_of(cert)?;
        let mut body = trust_body(opts);
        body["certificate"] = json!(base64::engine::general_purpose::STANDARD.encode(&der));
        self.send("POST", "/1.0/certificates", body)?;
        self.certificate(&incus_core::trust::fingerprint(&der))
    }
    fn certificate_update(&self, fingerprint: &str, opts: &TrustOptions) -> Result<Certificate> {
        // The full fingerprint (a prefix is accepted, as by the local tools).
        let fp = self.certificate(fingerprint)?.fingerprint;
        self.send("PUT", &format!("/1.0/certificates/{fp}"), trust_body(opts))?;
        self.certificate(&fp)
    }
    fn certificate_remove(&self, fingerprint: &str) -> Result<()> {
        let fp = self.certificate(fingerprint)?.fingerprint;
        self.query("DELETE", &format!("/1.0/certificates/{fp}"), None)
            .map(drop)
    }
    fn trust_token_create(
        &self,
        client_name: &str,
        opts: &TrustOptions,
    ) -> Result<(String, JoinToken)> {
        let mut body = trust_body(opts);
        body["name"] = json!(client_name);
        body["token"] = json!(true);
        // The token is a running operation: not waited for.
        let env = self.query_raw("POST", "/1.0/certificates", Some(&body))?;
        token_of(&env["metadata"])
    }
    fn trust_tokens(&self) -> Result<Vec<(String, JoinToken)>> {
        let ops: Value = self.query("GET", "/1.0/operations?recursion=1", None)?;
        let mut out = Vec::new();
        for list in ops.as_object().into_iter().flat_map(|m| m.values()) {
            for op in list.as_array().into_iter().flatten() {
                if op["class"] == "token" {
                    out.push(token_of(op)?);
                }
            }
        }
        Ok(out)
    }
    fn trust_token_revoke(&self, name: &str) -> Result<()> {
        let found: Vec<String> = self
            .trust_tokens()?
            .into_iter()
            .filter(|(id, t)| id == name || t.client_name == name)
            .map(|(id, _)| id)
            .collect();
        match found.as_slice() {
            [id] => self
                .query("DELETE", &format!("/1.0/operations/{}", enc(id)), None)
                .map(drop),
            [] => Err(Error::not_found(format!("No join token \"{name}\""))),
            _ => Err(Error::invalid(format!(
                "More than one join token for \"{name}\": give its id"
            ))),
        }
    }

    fn events_follow(&self, types: &[&str], f: &mut dyn FnMut(Value) -> bool) -> Result<()> {
        self.follow_events(types, f)
    }
}

fn trust_body(opts: &TrustOptions) -> Value {
    json!({
        "name": opts.name,
        "type": if opts.cert_type.is_empty() { "client" } else { opts.cert_type.as_str() },
        "restricted": opts.restricted,
        "projects": opts.projects,
        "description": opts.description,
    })
}

/// A join token from its operation object.
fn token_of(op: &Value) -> Result<(String, JoinToken)> {
    let m = &op["metadata"];
    let id = op["id"]
        .as_str()
        .ok_or_else(|| Error::internal("Token operation without an id"))?;
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    Ok((
        id.to_string(),
        JoinToken {
            client_name: s(&m["request"]["name"]),
            fingerprint: s(&m["fingerprint"]),
            addresses: from(m["addresses"].clone()).unwrap_or_default(),
            secret: s(&m["secret"]),
            expires_at: s(&m["expiresAt"]),
        },
    ))
}

impl Remote {
    fn state_action(
        &self,
        name: &str,
        action: &str,
        timeout: Option<Duration>,
        force: bool,
    ) -> Result<()> {
        // -1: no limit (as upstream); Duration::MAX-like values mean the same.
        let t = timeout
            .map(|t| i64::try_from(t.as_secs()).unwrap_or(-1))
            .unwrap_or(-1);
        self.send(
            "PUT",
            &format!("{}/state", inst_url(name)),
            json!({ "action": action, "timeout": t, "force": force }),
        )
        .map(drop)
    }
}
