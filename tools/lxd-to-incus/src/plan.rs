//! The plan: what a migration would do, computed from LXD's answers and the two
//! directories, printed before anything is changed (and alone with `--dry-run`).

use crate::lxd::{LxdState, Source};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One instance of the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedInstance {
    pub project: String,
    pub name: String,
    pub kind: String,
    pub running: bool,
    pub snapshots: Vec<String>,
    /// The host id LXD shifted the rootfs by on disk (from `volatile.last_state.idmap`);
    /// None when stored unshifted (privileged, or idmapped mounts).
    pub unshift_by: Option<u64>,
}

/// A configuration value rewritten on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Rewrite {
    pub object: String,
    pub key: String,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub source_dir: PathBuf,
    pub target_dir: PathBuf,
    pub projects: Vec<String>,
    pub profiles: Vec<String>,
    pub pools: Vec<String>,
    pub volumes: Vec<String>,
    pub networks: Vec<String>,
    pub images: Vec<String>,
    pub certificates: Vec<String>,
    pub instances: Vec<PlannedInstance>,
    /// (from, to) renames.
    pub moves: Vec<(PathBuf, PathBuf)>,
    pub rewrites: Vec<Rewrite>,
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

/// The host id of a shifted container's uid map, from LXD's `volatile.last_state.idmap`
/// (a JSON list of {Isuid, Isgid, Hostid, Nsid, Maprange}); None for "[]", absent or
/// an identity map.
pub fn shifted_by(last_state_idmap: &str) -> Option<u64> {
    let v: Value = serde_json::from_str(last_state_idmap).ok()?;
    v.as_array()?
        .iter()
        .find(|e| e["Isuid"] == Value::Bool(true) && e["Nsid"].as_u64() == Some(0))
        .and_then(|e| e["Hostid"].as_u64())
        .filter(|h| *h != 0)
}

/// Replaces the source directory prefix of a path value.
fn rewrite_path(v: &str, from: &Path, to: &Path) -> Option<String> {
    let rest = Path::new(v).strip_prefix(from).ok()?;
    Some(to.join(rest).display().to_string())
}

impl Plan {
    pub fn build(st: &LxdState, src: &Source, target_dir: &Path, target_log_dir: &Path) -> Plan {
        let mut p = Plan {
            source_dir: src.dir.clone(),
            target_dir: target_dir.to_path_buf(),
            ..Default::default()
        };
        let rewrite = |p: &mut Plan, object: String, key: &str, v: &str| {
            if let Some(to) = rewrite_path(v, &src.dir, target_dir) {
                p.rewrites.push(Rewrite {
                    object,
                    key: key.to_string(),
                    from: v.to_string(),
                    to,
                });
            }
        };
        for ps in &st.projects {
            let project = s(&ps.project, "name").to_string();
            p.projects.push(project.clone());
            for pr in &ps.profiles {
                let name = s(pr, "name");
                p.profiles.push(format!("{project}/{name}"));
                let desc = s(pr, "description");
                if desc.contains("LXD") {
                    p.rewrites.push(Rewrite {
                        object: format!("profile {project}/{name}"),
                        key: "description".into(),
                        from: desc.into(),
                        to: desc.replace("LXD", "Incus"),
                    });
                }
                for (dev, d) in pr["devices"].as_object().into_iter().flatten() {
                    for (k, v) in d.as_object().into_iter().flatten() {
                        if let Some(v) = v.as_str() {
                            rewrite(
                                &mut p,
                                format!("profile {project}/{name} device {dev}"),
                                k,
                                v,
                            );
                        }
                    }
                }
            }
            for i in &ps.instances {
                let name = s(i, "name").to_string();
                let idmap = s(&i["config"], "volatile.last_state.idmap");
                let privileged = s(&i["config"], "security.privileged") == "true";
                p.instances.push(PlannedInstance {
                    project: project.clone(),
                    name: name.clone(),
                    kind: s(i, "type").to_string(),
                    running: s(i, "status") == "Running",
                    snapshots: i["snapshots"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|sn| s(sn, "name").rsplit('/').next().unwrap_or("").to_string())
                        .collect(),
                    unshift_by: if privileged { None } else { shifted_by(idmap) },
                });
                for (dev, d) in i["devices"].as_object().into_iter().flatten() {
                    for (k, v) in d.as_object().into_iter().flatten() {
                        if let Some(v) = v.as_str() {
                            rewrite(
                                &mut p,
                                format!("instance {project}/{name} device {dev}"),
                                k,
                                v,
                            );
                        }
                    }
                }
                let log = src.log_dir.join(&name);
                if project == "default" {
                    p.moves.push((log, target_log_dir.join(&name)));
                } else {
                    p.moves.push((
                        src.log_dir.join(format!("{project}_{name}")),
                        target_log_dir.join(format!("{project}_{name}")),
                    ));
                }
            }
            for img in &ps.images {
                let fp = s(img, "fingerprint");
                p.images
                    .push(format!("{project}/{}", &fp[..fp.len().min(12)]));
            }
            for a in &ps.image_aliases {
                p.images.push(format!(
                    "{project}/alias {} -> {}",
                    s(a, "name"),
                    &s(a, "target")[..s(a, "target").len().min(12)]
                ));
            }
        }
        for n in &st.networks {
            if n["managed"] == Value::Bool(true) {
                let leases = n["leases"].as_array().map_or(0, |l| l.len());
                p.networks.push(format!(
                    "{} ({}, {leases} leases)",
                    s(n, "name"),
                    s(n, "type")
                ));
            }
        }
        for pool in &st.storage_pools {
            let name = s(pool, "name").to_string();
            p.pools.push(format!("{name} ({})", s(pool, "driver")));
            let own = src.dir.join("storage-pools").join(&name);
            let source = s(&pool["config"], "source");
            p.moves
                .push((own.clone(), target_dir.join("storage-pools").join(&name)));
            if !source.is_empty() && Path::new(source) != own {
                rewrite(&mut p, format!("storage pool {name}"), "source", source);
                if let Some(to) = rewrite_path(source, &src.dir, target_dir) {
                    p.moves.push((PathBuf::from(source), PathBuf::from(to)));
                }
            } else if !source.is_empty() {
                rewrite(&mut p, format!("storage pool {name}"), "source", source);
            }
            for v in pool["volumes"].as_array().into_iter().flatten() {
                if s(v, "type") == "custom" {
                    p.volumes.push(format!("{name}/{}", s(v, "name")));
                }
            }
        }
        p.moves
            .push((src.dir.join("images"), target_dir.join("images")));
        for c in &st.certificates {
            p.certificates.push(format!(
                "{} ({}, {})",
                s(c, "name"),
                s(c, "type"),
                &s(c, "fingerprint")[..s(c, "fingerprint").len().min(12)]
            ));
        }
        p
    }

    /// The plan as printed.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "Migration plan: LXD in {} -> {}",
            self.source_dir.display(),
            self.target_dir.display()
        );
        let list = |o: &mut String, title: &str, items: &[String]| {
            let _ = writeln!(o, "  {title} ({}):", items.len());
            for i in items {
                let _ = writeln!(o, "    - {i}");
            }
        };
        list(&mut o, "Projects", &self.projects);
        list(&mut o, "Profiles", &self.profiles);
        list(&mut o, "Storage pools", &self.pools);
        list(&mut o, "Custom volumes", &self.volumes);
        list(&mut o, "Networks", &self.networks);
        list(&mut o, "Images", &self.images);
        list(&mut o, "Certificates", &self.certificates);
        let _ = writeln!(o, "  Instances ({}):", self.instances.len());
        for i in &self.instances {
            let _ = write!(
                o,
                "    - {}/{} ({}, {})",
                i.project,
                i.name,
                i.kind,
                if i.running { "running" } else { "stopped" }
            );
            if !i.snapshots.is_empty() {
                let _ = write!(o, ", snapshots: {}", i.snapshots.join(" "));
            }
            match i.unshift_by {
                Some(h) => {
                    let _ = write!(o, ", stored shifted by {h}: files un-shifted");
                }
                None => {
                    let _ = write!(o, ", stored unshifted");
                }
            }
            let _ = writeln!(o);
        }
        let stop: Vec<String> = self
            .instances
            .iter()
            .filter(|i| i.running)
            .map(|i| format!("{}/{}", i.project, i.name))
            .collect();
        list(&mut o, "Instances stopped and restarted", &stop);
        let moves: Vec<String> = self
            .moves
            .iter()
            .map(|(a, b)| format!("{} -> {}", a.display(), b.display()))
            .collect();
        list(&mut o, "Paths moved", &moves);
        let rw: Vec<String> = self
            .rewrites
            .iter()
            .map(|r| format!("{} {}: {:?} -> {:?}", r.object, r.key, r.from, r.to))
            .collect();
        list(&mut o, "Keys rewritten", &rw);
        let _ = writeln!(
            o,
            "  Then: LXD stopped (its instances first); LXD-only state (devlxd, shmounts, security) left behind."
        );
        o
    }
}
