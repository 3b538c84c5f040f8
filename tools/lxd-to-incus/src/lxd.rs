//! The source: where LXD lives on this host, and everything its REST API says, read
//! with GETs only (`recursion=1`). LXD's global database is dqlite's raft log, not a
//! plain SQLite file: the API is the source of truth.

use incus_api::{Error, Result};
use incus_client::remote::{Remote, RemoteSpec};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The layouts looked for when `--source-dir` is not given, in order (upstream's
/// snap source first, then the Debian/manual one).
pub const CANDIDATES: &[(&str, &str)] = &[
    ("snap package", "/var/snap/lxd/common/lxd"),
    ("manual installation", "/var/lib/lxd"),
];

/// One LXD installation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Source {
    /// What kind of installation ("snap package", "manual installation", "--source-dir").
    pub kind: String,
    /// LXD_DIR: the daemon directory (database, unix.socket, storage-pools, images).
    pub dir: PathBuf,
    /// Where LXD keeps instance logs (`/var/log/lxd` for the Debian layout, LXD_DIR/logs otherwise).
    pub log_dir: PathBuf,
    /// Where LXD keeps its cache (`/var/cache/lxd` for the Debian layout, LXD_DIR/cache otherwise).
    pub cache_dir: PathBuf,
}

impl Source {
    pub fn socket(&self) -> PathBuf {
        self.dir.join("unix.socket")
    }

    fn at(kind: &str, dir: &Path) -> Source {
        let debian = dir == Path::new("/var/lib/lxd");
        let (log_dir, cache_dir) = if debian {
            (
                PathBuf::from("/var/log/lxd"),
                PathBuf::from("/var/cache/lxd"),
            )
        } else {
            (dir.join("logs"), dir.join("cache"))
        };
        Source {
            kind: kind.to_string(),
            dir: dir.to_path_buf(),
            log_dir,
            cache_dir,
        }
    }

    /// `--source-dir`, else the first layout whose unix socket exists.
    pub fn find(source_dir: Option<&Path>) -> Result<Source> {
        if let Some(d) = source_dir {
            if !d.is_dir() {
                return Err(Error::not_found(format!(
                    "Source directory {} does not exist",
                    d.display()
                )));
            }
            return Ok(Source::at("--source-dir", d));
        }
        for (kind, dir) in CANDIDATES {
            let s = Source::at(kind, Path::new(dir));
            if s.socket().exists() {
                return Ok(s);
            }
        }
        let looked: Vec<String> = CANDIDATES
            .iter()
            .map(|(_, d)| format!("{d}/unix.socket"))
            .collect();
        Err(Error::not_found(format!(
            "No source server could be found (is LXD running? looked for {})",
            looked.join(" and ")
        )))
    }

    /// The first layout holding an LXD database (running or not): `--purge` alone.
    pub fn installed() -> Result<Source> {
        CANDIDATES
            .iter()
            .map(|(kind, dir)| Source::at(kind, Path::new(dir)))
            .find(|s| s.dir.join("database").is_dir())
            .ok_or_else(|| Error::not_found("No LXD installation found to purge"))
    }

    pub fn connect(&self) -> Result<Remote> {
        Remote::connect(RemoteSpec {
            addr: format!("unix://{}", self.socket().display()),
            project: "default".into(),
            ..Default::default()
        })
    }
}

/// Every object of one LXD project.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ProjectState {
    pub project: Value,
    pub profiles: Vec<Value>,
    /// Instances (`recursion=1`), each with a `snapshots` member added (`recursion=1` of
    /// its snapshots endpoint).
    pub instances: Vec<Value>,
    pub images: Vec<Value>,
    pub image_aliases: Vec<Value>,
}

/// Everything LXD's API says (recorded as JSON for the unit tests).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LxdState {
    /// GET /1.0 (config, environment).
    pub server: Value,
    pub projects: Vec<ProjectState>,
    /// Networks (default project), each with a `leases` member for managed ones.
    pub networks: Vec<Value>,
    /// Storage pools, each with a `volumes` member (`recursion=1`).
    pub storage_pools: Vec<Value>,
    pub certificates: Vec<Value>,
}

fn list(r: &Remote, path: &str) -> Result<Vec<Value>> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let v = r
        .query("GET", &format!("{path}{sep}recursion=1"), None)
        .map_err(|e| e.context(format!("GET {path}")))?;
    match v {
        Value::Array(a) => Ok(a),
        Value::Null => Ok(vec![]),
        other => Err(Error::internal(format!(
            "GET {path}: expected a list, got {other}"
        ))),
    }
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

/// Reads every object, GETs only.
pub fn read_state(r: &Remote) -> Result<LxdState> {
    let server = r
        .query("GET", "/1.0", None)
        .map_err(|e| e.context("GET /1.0"))?;
    let mut st = LxdState {
        server,
        ..Default::default()
    };
    for project in list(r, "/1.0/projects")? {
        let name = str_of(&project, "name").to_string();
        let q = format!("project={name}");
        let profiles = list(r, &format!("/1.0/profiles?{q}"))?;
        let mut instances = list(r, &format!("/1.0/instances?{q}"))?;
        for inst in instances.iter_mut() {
            let iname = str_of(inst, "name").to_string();
            let snaps = list(r, &format!("/1.0/instances/{iname}/snapshots?{q}"))?;
            inst["snapshots"] = Value::Array(snaps);
        }
        let images = list(r, &format!("/1.0/images?{q}"))?;
        let image_aliases = list(r, &format!("/1.0/images/aliases?{q}"))?;
        st.projects.push(ProjectState {
            project,
            profiles,
            instances,
            images,
            image_aliases,
        });
    }
    let mut networks = list(r, "/1.0/networks")?;
    for n in networks.iter_mut() {
        if n["managed"].as_bool() == Some(true) {
            let name = str_of(n, "name").to_string();
            n["leases"] = Value::Array(list(r, &format!("/1.0/networks/{name}/leases"))?);
        }
    }
    st.networks = networks;
    let mut pools = list(r, "/1.0/storage-pools")?;
    for p in pools.iter_mut() {
        let name = str_of(p, "name").to_string();
        p["volumes"] = Value::Array(list(r, &format!("/1.0/storage-pools/{name}/volumes"))?);
    }
    st.storage_pools = pools;
    st.certificates = list(r, "/1.0/certificates")?;
    Ok(st)
}
