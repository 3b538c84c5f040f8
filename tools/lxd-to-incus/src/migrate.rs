//! The migration itself, journaled so that a failure or a kill never loses LXD:
//!
//! 1. `begin`: LXD's answers saved beside the journal (`INCUS_DIR/.lxd-to-incus/`).
//! 2. `stopped`: `lxd shutdown` (LXD stops its instances, bridges, dnsmasq, unmounts).
//! 3. `moved FROM TO` per rename (pools, loop files, images, logs, server
//!    certificate, custom volumes renamed to our layout), `copied` for leases.
//! 4. our rows, all in one transaction (the commit point).
//! 5. `unshifted PATH` per tree, networks up, instances that ran started, `done`
//!    (the journal goes).
//!
//! Before the commit any failure (or a re-run after a kill) moves everything back and
//! starts LXD again (it restarts the instances that were running). After the commit
//! the migration only goes forward: a re-run finishes it.

use crate::lxd::{LxdState, Source};
use crate::plan::shifted_by;
use incus_api::{Config, Devices, Error, Result};
use incus_core::context::Context;
use incus_db::{
    CertificateRow, ImageRow, InstanceRow, NetworkRow, PoolRow, ProfileRow, SnapshotRow, VolumeRow,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One journal line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Step {
    Begin { source: Source },
    Stopped,
    Moved { from: PathBuf, to: PathBuf },
    Copied { from: PathBuf, to: PathBuf },
    Committed,
    Unshifted { path: PathBuf },
    Done,
}

pub struct Journal {
    pub dir: PathBuf,
}

impl Journal {
    pub fn at(ctx: &Context) -> Journal {
        Journal {
            dir: ctx.incus_dir.join(".lxd-to-incus"),
        }
    }
    fn file(&self) -> PathBuf {
        self.dir.join("journal")
    }
    fn state_file(&self) -> PathBuf {
        self.dir.join("lxd-state.json")
    }
    pub fn exists(&self) -> bool {
        self.file().exists()
    }
    pub fn steps(&self) -> Result<Vec<Step>> {
        let text = std::fs::read_to_string(self.file())?;
        // A kill while appending leaves at most a partial last line: ignored.
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
    /// The source recorded by the `begin` step.
    pub fn source(&self) -> Result<Source> {
        match self.steps()?.into_iter().next() {
            Some(Step::Begin { source }) => Ok(source),
            _ => Err(Error::internal(format!(
                "{}: no begin step",
                self.file().display()
            ))),
        }
    }
    pub fn state(&self) -> Result<LxdState> {
        let text = std::fs::read_to_string(self.state_file())?;
        serde_json::from_str(&text)
            .map_err(|e| Error::internal(format!("{}: {e}", self.state_file().display())))
    }
    fn start(&self, source: &Source, st: &LxdState) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        set_mode(&self.dir, 0o700)?;
        let tmp = self.dir.join("lxd-state.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(st)?)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, self.state_file())?;
        let _ = std::fs::remove_file(self.file());
        self.append(&Step::Begin {
            source: source.clone(),
        })
    }
    fn append(&self, step: &Step) -> Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.file())?;
        f.write_all((serde_json::to_string(step)? + "\n").as_bytes())?;
        f.sync_all()?;
        Ok(())
    }
    fn remove(&self) -> Result<()> {
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir)?;
        }
        Ok(())
    }
}

fn set_mode(p: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("")
}

fn map_of(v: &Value) -> Config {
    v.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect()
}

fn devices_of(v: &Value) -> Devices {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, d)| (k.clone(), map_of(d)))
        .collect()
}

/// Replaces LXD's directory prefix in a value.
fn repoint(v: &str, from: &Path, to: &Path) -> String {
    match Path::new(v).strip_prefix(from) {
        Ok(rest) => to.join(rest).display().to_string(),
        Err(_) => v.to_string(),
    }
}

fn repoint_all(c: &Config, from: &Path, to: &Path) -> Config {
    c.iter()
        .map(|(k, v)| (k.clone(), repoint(v, from, to)))
        .collect()
}

/// LXD's id-map records and per-start state that mean nothing here: our start
/// allocates a range in our own allocator once the files are un-shifted.
pub fn is_lxd_only_key(k: &str) -> bool {
    k.starts_with("volatile.idmap.")
        || k == "volatile.last_state.idmap"
        || (k.starts_with("volatile.") && k.ends_with(".host_name"))
}

fn instance_config(c: &Value) -> Config {
    map_of(c)
        .into_iter()
        .filter(|(k, _)| !is_lxd_only_key(k))
        .collect()
}

/// The (uid base, gid base, range) of a shift LXD recorded as JSON (`[{Isuid, Isgid,
/// Hostid, Nsid, Maprange}]`); None for unshifted.
pub fn shift_of(idmap: &str) -> Option<(u32, u32, u32)> {
    let uid = shifted_by(idmap)?;
    let v: Value = serde_json::from_str(idmap).ok()?;
    let entries = v.as_array()?;
    let find = |field: &str| {
        entries
            .iter()
            .find(|e| e[field] == Value::Bool(true) && e["Nsid"].as_u64() == Some(0))
    };
    let gid = find("Isgid").and_then(|e| e["Hostid"].as_u64())?;
    let range = find("Isuid").and_then(|e| e["Maprange"].as_u64())?;
    Some((
        u32::try_from(uid).ok()?,
        u32::try_from(gid).ok()?,
        u32::try_from(range).ok()?,
    ))
}

/// A tree to un-shift after the commit.
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftedTree {
    pub pool: String,
    pub path: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub range: u32,
}

fn pool_of(devices: &Value) -> String {
    devices
        .as_object()
        .into_iter()
        .flatten()
        .find(|(_, d)| s(d, "type") == "disk" && s(d, "path") == "/")
        .map(|(_, d)| s(d, "pool").to_string())
        .unwrap_or_default()
}

/// Every shifted tree of LXD's containers and custom volumes, in our layout.
pub fn shifted_trees(ctx: &Context, st: &LxdState) -> Vec<ShiftedTree> {
    let mut out = Vec::new();
    let pools = ctx.pools_dir();
    for ps in &st.projects {
        for i in &ps.instances {
            if s(&i["config"], "security.privileged") == "true" {
                continue;
            }
            let name = s(i, "name");
            let pool = pool_of(&i["expanded_devices"]);
            if let Some((uid, gid, range)) = shift_of(s(&i["config"], "volatile.last_state.idmap"))
            {
                out.push(ShiftedTree {
                    pool: pool.clone(),
                    path: pools.join(&pool).join("containers").join(name),
                    uid,
                    gid,
                    range,
                });
            }
            for sn in i["snapshots"].as_array().into_iter().flatten() {
                let snap = s(sn, "name").rsplit('/').next().unwrap_or("");
                if let Some((uid, gid, range)) =
                    shift_of(s(&sn["config"], "volatile.last_state.idmap"))
                {
                    out.push(ShiftedTree {
                        pool: pool.clone(),
                        path: pools
                            .join(&pool)
                            .join("containers-snapshots")
                            .join(name)
                            .join(snap),
                        uid,
                        gid,
                        range,
                    });
                }
            }
        }
    }
    for p in &st.storage_pools {
        let pool = s(p, "name");
        let vols: Vec<&Value> = p["volumes"].as_array().into_iter().flatten().collect();
        for v in &vols {
            let name = s(v, "name");
            if s(v, "type") != "custom" || name.contains('/') {
                continue;
            }
            let Some((uid, gid, range)) = shift_of(s(&v["config"], "volatile.idmap.last")) else {
                continue;
            };
            out.push(ShiftedTree {
                pool: pool.into(),
                path: pools.join(pool).join("custom").join(name),
                uid,
                gid,
                range,
            });
            for sv in &vols {
                if let Some(snap) = s(sv, "name").strip_prefix(&format!("{name}/")) {
                    if s(sv, "type") == "custom" {
                        out.push(ShiftedTree {
                            pool: pool.into(),
                            path: pools
                                .join(pool)
                                .join("custom-snapshots")
                                .join(name)
                                .join(snap),
                            uid,
                            gid,
                            range,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Renames, or copies and removes across filesystems.
fn move_path(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            let st = Command::new("cp")
                .args(["-a", "--reflink=auto", "--"])
                .arg(from)
                .arg(to)
                .status()?;
            if !st.success() {
                let _ = std::fs::remove_dir_all(to).or_else(|_| std::fs::remove_file(to));
                return Err(Error::internal(format!(
                    "Copy {} to {} failed",
                    from.display(),
                    to.display()
                )));
            }
            if from.is_dir() {
                std::fs::remove_dir_all(from)?;
            } else {
                std::fs::remove_file(from)?;
            }
            Ok(())
        }
        Err(e) => Err(Error::internal(format!(
            "Move {} to {}: {e}",
            from.display(),
            to.display()
        ))),
    }
}

fn lxd_cmd(source: &Source, args: &[&str]) -> Command {
    let mut c = Command::new("lxd");
    c.args(args)
        .env("LXD_DIR", &source.dir)
        .stdin(Stdio::null());
    c
}

/// Stops LXD (and with it its instances, bridges and mounts).
fn stop_lxd(source: &Source) -> Result<()> {
    let o = lxd_cmd(source, &["shutdown", "--timeout", "120"]).output()?;
    if !o.status.success() {
        return Err(Error::internal(format!(
            "lxd shutdown failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )));
    }
    if source
        .connect()
        .and_then(|r| r.query("GET", "/1.0", None))
        .is_ok()
    {
        return Err(Error::internal("LXD still answers after lxd shutdown"));
    }
    Ok(())
}

/// Starts LXD again (rollback); it restarts the instances that were running itself
/// (`volatile.last_state.power`), which is checked.
fn start_lxd(source: &Source, st: &LxdState) -> Result<()> {
    if source.kind == "snap package" {
        let ok = Command::new("snap")
            .args(["start", "lxd"])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err(Error::internal("snap start lxd failed"));
        }
    } else {
        let log = if source.dir == Path::new("/var/lib/lxd") {
            PathBuf::from("/var/log/lxd/lxd.log")
        } else {
            source.dir.join("lxd.log")
        };
        let mut c = lxd_cmd(source, &["--group", "lxd", "--logfile"]);
        c.arg(&log).stdout(Stdio::null()).stderr(Stdio::null());
        use std::os::unix::process::CommandExt;
        // SAFETY: setsid is async-signal-safe; the daemon leaves our session.
        unsafe {
            c.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        c.spawn()?;
    }
    let ok = lxd_cmd(source, &["waitready", "--timeout", "120"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err(Error::internal("LXD did not come back (lxd waitready)"));
    }
    // The instances that were running: LXD restarts them; start any it did not.
    for ps in &st.projects {
        let project = s(&ps.project, "name");
        for i in &ps.instances {
            if s(i, "status") != "Running" {
                continue;
            }
            let name = s(i, "name");
            let running = source
                .connect()
                .and_then(|r| {
                    r.query(
                        "GET",
                        &format!("/1.0/instances/{name}/state?project={project}"),
                        None,
                    )
                })
                .is_ok_and(|v| s(&v, "status") == "Running");
            if !running {
                let _ = Command::new("lxc")
                    .args(["start", name, "--project", project])
                    .env("LXD_DIR", &source.dir)
                    .stdin(Stdio::null())
                    .status();
            }
        }
    }
    Ok(())
}

/// Whether our database holds the migration (the transaction committed, even when
/// the journal line after it was not written).
fn committed(ctx: &Context, steps: &[Step]) -> Result<bool> {
    Ok(steps.contains(&Step::Committed) || !crate::target_contents(ctx)?.is_empty())
}

/// Puts everything back (before the commit) and starts LXD again.
pub fn rollback(ctx: &Context, j: &Journal) -> Result<()> {
    let steps = j.steps()?;
    let st = j.state()?;
    let Some(Step::Begin { source }) = steps.first().cloned() else {
        j.remove()?;
        return Ok(());
    };
    eprintln!("=> Rolling back: moving LXD's data back");
    for step in steps.iter().rev() {
        match step {
            Step::Moved { from, to }
                if std::fs::symlink_metadata(to).is_ok()
                    && std::fs::symlink_metadata(from).is_err() =>
            {
                move_path(to, from)?;
            }
            Step::Copied { to, .. } => {
                let _ = std::fs::remove_file(to);
            }
            _ => {}
        }
    }
    // A kill between a rename and its journal line: the plan's moves not journaled
    // whose target exists and source does not are moved back too.
    for (from, to) in moves(ctx, &source, &st) {
        if std::fs::symlink_metadata(&to).is_ok() && std::fs::symlink_metadata(&from).is_err() {
            move_path(&to, &from)?;
        }
    }
    // The directories the moves made on our side, when empty again.
    let mut made: Vec<PathBuf> = ["storage-pools", "disks", "logs", "images", "containers"]
        .iter()
        .map(|d| ctx.incus_dir.join(d))
        .collect();
    made.push(ctx.log_dir.clone());
    for n in &st.networks {
        made.push(incus_core::network::state_dir(ctx, s(n, "name")));
    }
    made.push(ctx.incus_dir.join("networks"));
    for d in made {
        let _ = std::fs::remove_dir(d);
    }
    if steps.contains(&Step::Stopped)
        || source
            .connect()
            .and_then(|r| r.query("GET", "/1.0", None))
            .is_err()
    {
        eprintln!("=> Rolling back: starting LXD again");
        start_lxd(&source, &st)?;
    }
    j.remove()
}

/// The renames of a migration, in order.
pub fn moves(ctx: &Context, source: &Source, st: &LxdState) -> Vec<(PathBuf, PathBuf)> {
    let (from, to) = (&source.dir, &ctx.incus_dir);
    let mut m = Vec::new();
    for p in &st.storage_pools {
        let name = s(p, "name");
        let own = from.join("storage-pools").join(name);
        m.push((own.clone(), ctx.pools_dir().join(name)));
        let src = s(&p["config"], "source");
        if !src.is_empty() && Path::new(src) != own && Path::new(src).starts_with(from) {
            m.push((PathBuf::from(src), PathBuf::from(repoint(src, from, to))));
        }
    }
    m.push((from.join("images"), ctx.images_dir()));
    for ps in &st.projects {
        for i in &ps.instances {
            let name = s(i, "name");
            m.push((source.log_dir.join(name), ctx.instance_log_dir(name)));
        }
    }
    for f in ["server.crt", "server.key"] {
        m.push((from.join(f), to.join(f)));
    }
    m
}

/// LXD names custom volumes PROJECT_NAME on disk; ours are NAME. Done after the
/// commit, once a loop pool is mounted again (idempotent).
pub fn volume_renames(ctx: &Context, st: &LxdState) -> Vec<(PathBuf, PathBuf)> {
    let mut m = Vec::new();
    // LXD names custom volumes PROJECT_NAME on disk; ours are NAME.
    for p in &st.storage_pools {
        let pool = ctx.pools_dir().join(s(p, "name"));
        for v in p["volumes"].as_array().into_iter().flatten() {
            let name = s(v, "name");
            if s(v, "type") != "custom" || name.contains('/') {
                continue;
            }
            let project = v["project"].as_str().unwrap_or("default");
            for d in ["custom", "custom-snapshots"] {
                m.push((
                    pool.join(d).join(format!("{project}_{name}")),
                    pool.join(d).join(name),
                ));
            }
        }
    }
    m
}

/// Our rows from LXD's answers, in one transaction.
fn write_rows(ctx: &Context, source: &Source, st: &LxdState) -> Result<()> {
    let (from, to) = (&source.dir, &ctx.incus_dir);
    let lxd_word = |d: &str| d.replace("LXD", "Incus");
    ctx.db()?.write(|tx| {
        for p in &st.storage_pools {
            incus_db::pool_create(
                tx,
                &PoolRow {
                    id: 0,
                    name: s(p, "name").into(),
                    driver: s(p, "driver").into(),
                    description: s(p, "description").into(),
                    config: repoint_all(&map_of(&p["config"]), from, to),
                },
            )?;
        }
        for n in &st.networks {
            if n["managed"] != Value::Bool(true) {
                continue;
            }
            incus_db::network_create(
                tx,
                &NetworkRow {
                    id: 0,
                    name: s(n, "name").into(),
                    project: "default".into(),
                    description: lxd_word(s(n, "description")),
                    network_type: s(n, "type").into(),
                    state: incus_db::NETWORK_CREATED,
                    config: map_of(&n["config"]),
                },
            )?;
        }
        for ps in &st.projects {
            let project = s(&ps.project, "name");
            for pr in &ps.profiles {
                let row = ProfileRow {
                    id: 0,
                    name: s(pr, "name").into(),
                    description: lxd_word(s(pr, "description")),
                    config: map_of(&pr["config"]),
                    devices: devices_of(&pr["devices"]),
                };
                match incus_db::profile_get(tx, project, &row.name)? {
                    Some(existing) => incus_db::profile_update(
                        tx,
                        &ProfileRow {
                            id: existing.id,
                            ..row
                        },
                    )?,
                    None => {
                        incus_db::profile_create(tx, project, &row)?;
                    }
                }
            }
            for img in &ps.images {
                let fp = s(img, "fingerprint");
                let split = ctx.images_dir().join(format!("{fp}.rootfs")).exists()
                    || from.join("images").join(format!("{fp}.rootfs")).exists();
                let id = incus_db::image_create(
                    tx,
                    &ImageRow {
                        id: 0,
                        fingerprint: fp.into(),
                        filename: s(img, "filename").into(),
                        size: img["size"].as_i64().unwrap_or(0),
                        public: img["public"] == Value::Bool(true),
                        architecture: s(img, "architecture").into(),
                        created_at: s(img, "created_at").into(),
                        expires_at: s(img, "expires_at").into(),
                        uploaded_at: s(img, "uploaded_at").into(),
                        last_used_at: s(img, "last_used_at").into(),
                        cached: img["cached"] == Value::Bool(true),
                        auto_update: img["auto_update"] == Value::Bool(true),
                        image_type: s(img, "type").into(),
                        format: if split { "split" } else { "unified" }.into(),
                        project: project.into(),
                        properties: map_of(&img["properties"]),
                        aliases: vec![],
                    },
                )?;
                for a in &ps.image_aliases {
                    if s(a, "target") == fp {
                        incus_db::alias_create(tx, project, s(a, "name"), id, s(a, "description"))?;
                    }
                }
            }
            for i in &ps.instances {
                let name = s(i, "name");
                let pool = pool_of(&i["expanded_devices"]);
                let row = InstanceRow {
                    id: 0,
                    name: name.into(),
                    project: project.into(),
                    instance_type: s(i, "type").into(),
                    architecture: s(i, "architecture").into(),
                    ephemeral: i["ephemeral"] == Value::Bool(true),
                    stateful: i["stateful"] == Value::Bool(true),
                    created_at: s(i, "created_at").into(),
                    last_used_at: s(i, "last_used_at").into(),
                    description: s(i, "description").into(),
                    pool: pool.clone(),
                    pending: false,
                    config: instance_config(&i["config"]),
                    devices: devices_of(&i["devices"]),
                    profiles: i["profiles"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|p| p.as_str().map(String::from))
                        .collect(),
                };
                let id = incus_db::instance_create(tx, &row)?;
                let vol = st
                    .storage_pools
                    .iter()
                    .filter(|p| s(p, "name") == pool)
                    .flat_map(|p| p["volumes"].as_array().cloned().unwrap_or_default())
                    .find(|v| s(v, "type") == "container" && s(v, "name") == name)
                    .unwrap_or(Value::Null);
                incus_db::volume_create(
                    tx,
                    &VolumeRow {
                        pool: pool.clone(),
                        name: name.into(),
                        volume_type: "container".into(),
                        content_type: "filesystem".into(),
                        created_at: row.created_at.clone(),
                        project: project.into(),
                        config: instance_config(&vol["config"]),
                        description: s(&vol, "description").into(),
                        ..Default::default()
                    },
                )?;
                for sn in i["snapshots"].as_array().into_iter().flatten() {
                    incus_db::snapshot_create(
                        tx,
                        &SnapshotRow {
                            id: 0,
                            instance_id: id,
                            name: s(sn, "name").rsplit('/').next().unwrap_or("").into(),
                            created_at: s(sn, "created_at").into(),
                            expires_at: s(sn, "expires_at").into(),
                            stateful: sn["stateful"] == Value::Bool(true),
                            description: s(sn, "description").into(),
                            config: instance_config(&sn["config"]),
                            devices: devices_of(&sn["devices"]),
                        },
                    )?;
                }
            }
        }
        for p in &st.storage_pools {
            let pool = s(p, "name");
            for v in p["volumes"].as_array().into_iter().flatten() {
                if s(v, "type") != "custom" {
                    continue;
                }
                incus_db::volume_create(
                    tx,
                    &VolumeRow {
                        pool: pool.into(),
                        name: s(v, "name").into(),
                        volume_type: "custom".into(),
                        description: s(v, "description").into(),
                        content_type: match s(v, "content_type") {
                            "" => "filesystem".into(),
                            c => c.into(),
                        },
                        created_at: match s(v, "created_at") {
                            "" | "0001-01-01T00:00:00Z" => incus_core::time::now(),
                            c => c.into(),
                        },
                        project: v["project"].as_str().unwrap_or("default").into(),
                        config: instance_config(&v["config"]),
                        ..Default::default()
                    },
                )?;
            }
        }
        for c in &st.certificates {
            incus_db::certificate_insert(
                tx,
                &CertificateRow {
                    fingerprint: s(c, "fingerprint").into(),
                    cert_type: s(c, "type").into(),
                    name: s(c, "name").into(),
                    certificate: s(c, "certificate").into(),
                    restricted: c["restricted"] == Value::Bool(true),
                    description: s(c, "description").into(),
                },
            )?;
        }
        Ok(())
    })
}

/// The migration, from a running LXD that passed the preflight.
pub fn run(ctx: &Context, source: &Source, st: &LxdState) -> Result<()> {
    let j = Journal::at(ctx);
    std::fs::create_dir_all(&ctx.incus_dir)?;
    j.start(source, st)?;
    incus_sys::testhook::pause_point("lxd-to-incus-begin");
    match before_commit(ctx, source, st, &j) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("Error: {}", e.message);
            return match rollback(ctx, &j) {
                Ok(()) => Err(e.context("Migration failed; LXD's data was put back and LXD restarted")),
                Err(r) => Err(e.context(format!(
                    "Migration failed and the rollback failed too ({}); re-run lxd-to-incus to roll back",
                    r.message
                ))),
            };
        }
    }
    finish(ctx, &j)
}

fn before_commit(ctx: &Context, source: &Source, st: &LxdState, j: &Journal) -> Result<()> {
    eprintln!("=> Stopping LXD and its instances");
    stop_lxd(source)?;
    j.append(&Step::Stopped)?;
    incus_sys::testhook::pause_point("lxd-to-incus-stopped");
    if std::env::var_os("INCUS_TEST_LXD_TO_INCUS_FAIL").as_deref()
        == Some(std::ffi::OsStr::new("stopped"))
    {
        return Err(Error::internal("Injected failure after the stop (test)"));
    }
    eprintln!("=> Moving the data");
    ctx.ensure_pools_dir()?;
    for (from, to) in moves(ctx, source, st) {
        if std::fs::symlink_metadata(&from).is_err() {
            continue;
        }
        if std::fs::symlink_metadata(&to).is_ok() {
            if to.ends_with("server.crt") || to.ends_with("server.key") {
                // Ours stays (clients already trust it).
                continue;
            }
            // An empty directory of ours (images/) is replaced; anything else refuses.
            let empty_dir = std::fs::read_dir(&to).is_ok_and(|mut d| d.next().is_none());
            if !empty_dir {
                return Err(Error::conflict(format!("{} already exists", to.display())));
            }
            std::fs::remove_dir(&to)?;
        }
        move_path(&from, &to)?;
        j.append(&Step::Moved { from, to })?;
        incus_sys::testhook::pause_point("lxd-to-incus-moved");
    }
    for n in &st.networks {
        if n["managed"] != Value::Bool(true) {
            continue;
        }
        let name = s(n, "name");
        let from = source
            .dir
            .join("networks")
            .join(name)
            .join("dnsmasq.leases");
        if from.exists() {
            let to = incus_core::network::state_dir(ctx, name).join("dnsmasq.leases");
            std::fs::create_dir_all(to.parent().unwrap_or(Path::new("/")))?;
            std::fs::copy(&from, &to)?;
            j.append(&Step::Copied { from, to })?;
        }
    }
    if std::env::var_os("INCUS_TEST_LXD_TO_INCUS_FAIL").as_deref()
        == Some(std::ffi::OsStr::new("moved"))
    {
        return Err(Error::internal("Injected failure after the moves (test)"));
    }
    eprintln!("=> Writing the database");
    write_rows(ctx, source, st)?;
    j.append(&Step::Committed)?;
    incus_sys::testhook::pause_point("lxd-to-incus-committed");
    Ok(())
}

/// Clears a btrfs subvolume's read-only flag for `f`, then puts it back.
fn with_writable(path: &Path, f: impl FnOnce() -> Result<()>) -> Result<()> {
    use std::os::fd::AsFd;
    let dir = std::fs::File::open(path)?;
    let flags = incus_sys::btrfs::subvol_flags(dir.as_fd()).ok();
    let ro = flags.is_some_and(|f| f & incus_sys::btrfs::SUBVOL_RDONLY != 0);
    if ro {
        incus_sys::btrfs::set_subvol_flags(
            dir.as_fd(),
            flags.unwrap_or(0) & !incus_sys::btrfs::SUBVOL_RDONLY,
        )?;
    }
    let r = f();
    if ro {
        incus_sys::btrfs::set_subvol_flags(dir.as_fd(), flags.unwrap_or(0))?;
    }
    r
}

/// After the commit: un-shift, symlinks, networks, instances. Re-runnable.
pub fn finish(ctx: &Context, j: &Journal) -> Result<()> {
    let st = j.state()?;
    let steps = j.steps()?;
    for p in &st.storage_pools {
        // Mounts a loop pool.
        incus_core::storage::load_pool(ctx, s(p, "name"))?;
    }
    for (from, to) in volume_renames(ctx, &st) {
        if from.exists() && !to.exists() {
            std::fs::rename(&from, &to)?;
        }
    }
    eprintln!("=> Un-shifting container files");
    for t in shifted_trees(ctx, &st) {
        if steps.contains(&Step::Unshifted {
            path: t.path.clone(),
        }) || !t.path.exists() && !ctx.pools_dir().join(&t.pool).exists()
        {
            continue;
        }
        if t.path.exists() {
            with_writable(&t.path, || {
                incus_sys::shift::unshift_tree(&t.path, t.uid, t.gid, t.range).map(|_| ())
            })?;
        }
        j.append(&Step::Unshifted { path: t.path })?;
        incus_sys::testhook::pause_point("lxd-to-incus-unshifted");
    }
    for ps in &st.projects {
        for i in &ps.instances {
            let name = s(i, "name");
            let pool = pool_of(&i["expanded_devices"]);
            let dir = ctx.incus_dir.join("containers");
            std::fs::create_dir_all(&dir)?;
            let link = dir.join(name);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(
                ctx.pools_dir().join(pool).join("containers").join(name),
                &link,
            )?;
        }
    }
    eprintln!("=> Bringing up networks");
    for n in &st.networks {
        if n["managed"] == Value::Bool(true) {
            incus_core::network::ensure_up(ctx, s(n, "name"))?;
        }
    }
    eprintln!("=> Starting the instances that were running");
    for ps in &st.projects {
        for i in &ps.instances {
            let name = s(i, "name");
            if s(i, "status") == "Running"
                && incus_core::lifecycle::status(ctx, name) != incus_api::StatusCode::Running
            {
                incus_core::lifecycle::start(ctx, name)?;
            }
        }
    }
    j.append(&Step::Done)?;
    j.remove()?;
    eprintln!("=> Migration done");
    Ok(())
}

/// A re-run finding a journal: forward when our rows are in, else back.
pub fn resume(ctx: &Context, j: &Journal) -> Result<bool> {
    let steps = j.steps()?;
    if committed(ctx, &steps)? {
        eprintln!("=> Finishing an interrupted migration");
        finish(ctx, j)?;
        Ok(true)
    } else {
        eprintln!("=> Rolling back an interrupted migration");
        rollback(ctx, j)?;
        Ok(false)
    }
}

/// Mount points at or below `dir` (deepest first).
fn mounts_below(dir: &Path) -> Vec<PathBuf> {
    let mut m: Vec<PathBuf> = std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(1))
        .map(|p| PathBuf::from(p.replace("\\040", " ")))
        .filter(|p| p.starts_with(dir))
        .collect();
    m.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    m
}

/// `--purge`: what is left of LXD after a migration (its database, certificates it
/// kept, logs, cache) is removed. Refused while LXD runs, while a migration is
/// unfinished, when nothing was migrated here, and when LXD's directory still holds
/// data (a pool, an image, a loop file).
pub fn purge(ctx: &Context, source: &Source) -> Result<()> {
    let mut problems = Vec::new();
    if Journal::at(ctx).exists() {
        problems.push("A migration is unfinished: run lxd-to-incus again first".to_string());
    }
    if source
        .connect()
        .and_then(|r| r.query("GET", "/1.0", None))
        .is_ok()
    {
        problems.push(format!("LXD is running on {}", source.socket().display()));
    }
    if crate::target_contents(ctx)?.is_empty() {
        problems.push(format!(
            "Nothing was migrated into {}",
            ctx.incus_dir.display()
        ));
    }
    for d in ["storage-pools", "images", "disks"] {
        let dir = source.dir.join(d);
        let left: Vec<String> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
            .filter(|e| {
                // An empty pool directory (a loop pool's mount point) is not data.
                std::fs::read_dir(e.path()).map_or(true, |mut r| r.next().is_some())
            })
            .map(|e| e.path().display().to_string())
            .collect();
        if !left.is_empty() {
            problems.push(format!(
                "LXD's directory still holds data: {}",
                left.join(", ")
            ));
        }
    }
    if !problems.is_empty() {
        return Err(crate::refusal(&problems));
    }
    eprintln!("=> Purging LXD's leftovers in {}", source.dir.display());
    for m in mounts_below(&source.dir) {
        let _ = Command::new("umount").arg(&m).status();
    }
    if let Some(m) = mounts_below(&source.dir).first() {
        return Err(Error::internal(format!(
            "{} is still mounted: nothing was removed",
            m.display()
        )));
    }
    let mut dirs = vec![source.dir.clone()];
    if !source.log_dir.starts_with(&source.dir) {
        dirs.push(source.log_dir.clone());
    }
    if !source.cache_dir.starts_with(&source.dir) {
        dirs.push(source.cache_dir.clone());
    }
    // The directories stay (a package owns them); what is inside goes.
    for d in dirs {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                std::fs::remove_dir_all(&p)?;
            } else {
                std::fs::remove_file(&p)?;
            }
        }
    }
    // LXD leaves its (emptied) nftables table behind after its shutdown.
    let _ = Command::new("nft")
        .args(["delete", "table", "inet", "lxd"])
        .stderr(Stdio::null())
        .status();
    eprintln!("=> LXD purged");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIFTED: &str = r#"[{"Isuid":true,"Isgid":false,"Hostid":1000000,"Nsid":0,"Maprange":1000000000},{"Isuid":false,"Isgid":true,"Hostid":2000000,"Nsid":0,"Maprange":1000000000}]"#;

    #[test]
    fn shifts_and_dropped_keys() {
        assert_eq!(
            shift_of(SHIFTED),
            Some((1_000_000, 2_000_000, 1_000_000_000))
        );
        assert_eq!(shift_of("[]"), None);
        assert_eq!(shift_of(""), None);
        assert_eq!(shift_of("not json"), None);
        for k in [
            "volatile.idmap.base",
            "volatile.idmap.next",
            "volatile.idmap.current",
            "volatile.last_state.idmap",
            "volatile.eth0.host_name",
        ] {
            assert!(is_lxd_only_key(k), "{k}");
        }
        for k in [
            "volatile.eth0.hwaddr",
            "volatile.uuid",
            "volatile.last_state.power",
            "security.idmap.base",
        ] {
            assert!(!is_lxd_only_key(k), "{k}");
        }
        assert_eq!(
            repoint(
                "/var/lib/lxd/disks/bt.img",
                Path::new("/var/lib/lxd"),
                Path::new("/var/lib/incus")
            ),
            "/var/lib/incus/disks/bt.img"
        );
        assert_eq!(
            repoint(
                "/var/lib/lxdx/a",
                Path::new("/var/lib/lxd"),
                Path::new("/var/lib/incus")
            ),
            "/var/lib/lxdx/a"
        );
    }

    #[test]
    fn journal_ignores_a_torn_last_line() {
        let dir = std::env::temp_dir().join(format!("lxd-journal-{}", std::process::id()));
        let j = Journal { dir: dir.clone() };
        std::fs::create_dir_all(&dir).unwrap();
        j.append(&Step::Stopped).unwrap();
        j.append(&Step::Moved {
            from: "/a".into(),
            to: "/b".into(),
        })
        .unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(j.file())
            .unwrap();
        f.write_all(b"{\"step\":\"comm").unwrap();
        assert_eq!(
            j.steps().unwrap(),
            vec![
                Step::Stopped,
                Step::Moved {
                    from: "/a".into(),
                    to: "/b".into()
                }
            ]
        );
        j.remove().unwrap();
        assert!(!dir.exists());
    }
}
