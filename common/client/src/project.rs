//! Projects through either backend: in-process (core) or REST (`/1.0/projects`). A
//! trait of its own, so `incus-project` needs nothing of the main [`crate::Backend`].

use crate::config::{ClientConfig, LOCAL};
use crate::remote::Remote;
use incus_api::{Config, Error, Project, Result};
use incus_core::project::Resource;
use incus_core::Context;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The project operations of one remote.
pub trait Projects {
    fn list(&self) -> Result<Vec<Project>>;
    fn get(&self, name: &str) -> Result<Project>;
    fn create(&self, name: &str, description: &str, config: Config) -> Result<Project>;
    /// Replaces description and config (PUT).
    fn update(&self, name: &str, description: &str, config: Config) -> Result<Project>;
    fn rename(&self, name: &str, new_name: &str) -> Result<()>;
    fn delete(&self, name: &str) -> Result<()>;
    /// `GET /1.0/projects/NAME/state` resources.
    fn state(&self, name: &str) -> Result<BTreeMap<String, Resource>>;
}

struct LocalProjects {
    ctx: Context,
}

impl Projects for LocalProjects {
    fn list(&self) -> Result<Vec<Project>> {
        incus_core::project::list(&self.ctx)
    }
    fn get(&self, name: &str) -> Result<Project> {
        incus_core::project::get(&self.ctx, name)
    }
    fn create(&self, name: &str, description: &str, config: Config) -> Result<Project> {
        incus_core::project::create(&self.ctx, name, description, config)
    }
    fn update(&self, name: &str, description: &str, config: Config) -> Result<Project> {
        incus_core::project::update(&self.ctx, name, description, config)
    }
    fn rename(&self, name: &str, new_name: &str) -> Result<()> {
        incus_core::project::rename(&self.ctx, name, new_name).map(drop)
    }
    fn delete(&self, name: &str) -> Result<()> {
        incus_core::project::delete(&self.ctx, name)
    }
    fn state(&self, name: &str) -> Result<BTreeMap<String, Resource>> {
        incus_core::project::state(&self.ctx, name)
    }
}

struct RemoteProjects {
    remote: Remote,
}

fn enc(s: &str) -> String {
    crate::remote::encode(s)
}

fn from<T: serde::de::DeserializeOwned>(v: Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::internal(format!("Unexpected answer: {e}")))
}

impl Projects for RemoteProjects {
    fn list(&self) -> Result<Vec<Project>> {
        from(
            self.remote
                .query("GET", "/1.0/projects?recursion=1", None)?,
        )
    }
    fn get(&self, name: &str) -> Result<Project> {
        from(
            self.remote
                .query("GET", &format!("/1.0/projects/{}", enc(name)), None)?,
        )
    }
    fn create(&self, name: &str, description: &str, config: Config) -> Result<Project> {
        let body = json!({"name": name, "description": description, "config": config});
        self.remote.query("POST", "/1.0/projects", Some(&body))?;
        self.get(name)
    }
    fn update(&self, name: &str, description: &str, config: Config) -> Result<Project> {
        let body = json!({"description": description, "config": config});
        self.remote
            .query("PUT", &format!("/1.0/projects/{}", enc(name)), Some(&body))?;
        self.get(name)
    }
    fn rename(&self, name: &str, new_name: &str) -> Result<()> {
        let body = json!({ "name": new_name });
        self.remote
            .query("POST", &format!("/1.0/projects/{}", enc(name)), Some(&body))
            .map(drop)
    }
    fn delete(&self, name: &str) -> Result<()> {
        self.remote
            .query("DELETE", &format!("/1.0/projects/{}", enc(name)), None)
            .map(drop)
    }
    fn state(&self, name: &str) -> Result<BTreeMap<String, Resource>> {
        let v = self
            .remote
            .query("GET", &format!("/1.0/projects/{}/state", enc(name)), None)?;
        let mut out = BTreeMap::new();
        if let Some(m) = v["resources"].as_object() {
            for (k, r) in m {
                out.insert(
                    k.clone(),
                    Resource {
                        limit: r["Limit"].as_i64().unwrap_or(-1),
                        usage: r["Usage"].as_i64().unwrap_or(0),
                    },
                );
            }
        }
        Ok(out)
    }
}

/// The project operations of the remote `name` (`local`: in-process).
pub fn connect(cfg: &ClientConfig, name: &str) -> Result<Box<dyn Projects>> {
    cfg.remote(name)?;
    if name == LOCAL {
        return Ok(Box::new(LocalProjects {
            ctx: Context::from_env()?,
        }));
    }
    let spec = crate::target::remote_spec(cfg, name, "default")?;
    Ok(Box::new(RemoteProjects {
        remote: Remote::connect(spec)?,
    }))
}

/// The current project of a remote (`project switch`; `default` when unset).
pub fn current(cfg: &ClientConfig, remote: &str) -> Result<String> {
    let r = cfg.remote(remote)?;
    Ok(if r.project.is_empty() {
        "default".to_string()
    } else {
        r.project.clone()
    })
}

/// Makes `project` the current project of `remote` in config.yml (it must exist there).
pub fn switch(remote: &str, project: &str) -> Result<()> {
    let cfg = ClientConfig::load()?;
    connect(&cfg, remote)?.get(project)?;
    ClientConfig::update(|c| {
        let r = c
            .remotes
            .get_mut(remote)
            .ok_or_else(|| Error::not_found(format!("The remote \"{remote}\" doesn't exist")))?;
        r.project = project.to_string();
        Ok(())
    })
}
