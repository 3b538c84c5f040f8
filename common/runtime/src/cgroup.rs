//! cgroups v1/hybrid and v2: layout discovery, paths, translation of [`Limits`] into file writes,
//! the LXC device allow list (v1 files; v2 through [`crate::devbpf`]), freezer, recursive removal.
//!
//! The translation (`plan_limits`, `device_rules`, paths) is pure and unit-tested for both
//! hierarchies; only `Cgroups::*` touches the filesystem.

use crate::kernel::write_file;
use crate::spec::{DeviceKind, Limits, UnixDevice};
use crate::{Error, Result};
use incus_sys::fsutil::read_small;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Which cgroup hierarchy the host uses for resource control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// v1 controllers (possibly with an empty cgroup2 beside them: "hybrid").
    V1,
    /// pure cgroup2 at /sys/fs/cgroup.
    V2,
}

/// One mounted hierarchy: its mount point and the controllers (or `name=`) it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hierarchy {
    pub mount: PathBuf,
    pub controllers: Vec<String>,
}

/// The host's cgroup layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub kind: Kind,
    /// v1: one entry per mounted hierarchy; v2: a single entry (the unified root).
    pub hier: Vec<Hierarchy>,
}

/// Parse /proc/self/mounts text into a layout. Hybrid hosts (v1 controllers + cgroup2 without
/// controllers) are treated as v1; the cgroup2 mount is then ignored.
pub(crate) fn parse_layout(mounts: &str) -> Result<Layout> {
    let mut v1 = vec![];
    let mut v2 = None;
    for l in mounts.lines() {
        let f: Vec<&str> = l.split(' ').collect();
        if f.len() < 4 {
            continue;
        }
        match f[2] {
            "cgroup" => {
                let ctrls: Vec<String> = f[3]
                    .split(',')
                    .filter(|o| {
                        !matches!(
                            *o,
                            "rw" | "ro"
                                | "relatime"
                                | "nosuid"
                                | "nodev"
                                | "noexec"
                                | "clone_children"
                        ) && !o.starts_with("release_agent")
                    })
                    .map(String::from)
                    .collect();
                v1.push(Hierarchy {
                    mount: PathBuf::from(f[1]),
                    controllers: ctrls,
                });
            }
            "cgroup2" => v2 = Some(PathBuf::from(f[1])),
            _ => {}
        }
    }
    if !v1.is_empty() {
        return Ok(Layout {
            kind: Kind::V1,
            hier: v1,
        });
    }
    match v2 {
        Some(m) => Ok(Layout {
            kind: Kind::V2,
            hier: vec![Hierarchy {
                mount: m,
                controllers: vec![],
            }],
        }),
        None => Err(Error::Unsupported("no cgroup hierarchy mounted".into())),
    }
}

impl Layout {
    /// [`Layout::detect`] once per process, for the read-only probes a list makes of
    /// every instance (the host's cgroup mounts do not change under a running tool).
    pub fn detect_cached() -> Result<Layout> {
        static LAYOUT: std::sync::OnceLock<Layout> = std::sync::OnceLock::new();
        if let Some(l) = LAYOUT.get() {
            return Ok(l.clone());
        }
        let l = Layout::detect()?;
        Ok(LAYOUT.get_or_init(|| l).clone())
    }

    /// Discover the host layout.
    pub fn detect() -> Result<Layout> {
        let m = fs::read_to_string("/proc/self/mounts")
            .map_err(|e| Error::io("/proc/self/mounts", e))?;
        parse_layout(&m)
    }

    /// Mount point of the hierarchy carrying `ctrl` (v2: the unified root).
    pub fn mount_of(&self, ctrl: &str) -> Option<&Path> {
        match self.kind {
            Kind::V2 => Some(&self.hier[0].mount),
            Kind::V1 => self
                .hier
                .iter()
                .find(|h| h.controllers.iter().any(|c| c == ctrl))
                .map(|h| h.mount.as_path()),
        }
    }
}

/// The cgroup directories of one container (or of its monitor) in every hierarchy.
#[derive(Debug, Clone)]
pub(crate) struct Cgroups {
    pub layout: Layout,
    /// `<prefix>/<name>` relative to each hierarchy root.
    pub rel: PathBuf,
}

/// Relative path of a container's cgroup.
pub(crate) fn container_rel(prefix: &str, name: &str) -> PathBuf {
    PathBuf::from(prefix).join(name)
}

/// Relative path of a monitor's cgroup (kept apart from the container's, as LXC does).
pub(crate) fn monitor_rel(prefix: &str, name: &str) -> PathBuf {
    PathBuf::from(format!("{prefix}.monitor")).join(name)
}

/// One write into a cgroup file. `optional`: skip silently when the file does not exist
/// (e.g. memory.memsw.* without swap accounting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Write {
    pub ctrl: &'static str,
    pub file: &'static str,
    pub value: String,
    pub optional: bool,
}

fn w(ctrl: &'static str, file: &'static str, value: impl Into<String>) -> Write {
    Write {
        ctrl,
        file,
        value: value.into(),
        optional: false,
    }
}
fn wo(ctrl: &'static str, file: &'static str, value: impl Into<String>) -> Write {
    Write {
        ctrl,
        file,
        value: value.into(),
        optional: true,
    }
}

/// Expand a cpu list ("0-2,5") into numbers.
pub(crate) fn parse_cpu_list(s: &str) -> Result<Vec<u32>> {
    let mut out = vec![];
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let bad = || Error::Invalid(format!("invalid cpu set {s:?}"));
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (
                    a.trim().parse().map_err(|_| bad())?,
                    b.trim().parse().map_err(|_| bad())?,
                );
                if a > b {
                    return Err(bad());
                }
                out.extend(a..=b);
            }
            None => out.push(part.trim().parse().map_err(|_| bad())?),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn cpu_list_string(c: &[u32]) -> String {
    c.iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Resolve `limits.cpu` against the CPUs available to the parent: a count picks the first N,
/// a set must be a subset.
pub(crate) fn resolve_cpus(spec: &str, available: &str) -> Result<String> {
    let avail = parse_cpu_list(available)?;
    let s = spec.trim();
    if !s.contains(['-', ',']) {
        if let Ok(n) = s.parse::<usize>() {
            if n == 0 || n > avail.len() {
                return Err(Error::Invalid(format!(
                    "limits.cpu={n} but only {} CPUs available",
                    avail.len()
                )));
            }
            return Ok(cpu_list_string(&avail[..n]));
        }
    }
    let want = parse_cpu_list(s)?;
    if want.is_empty() || want.iter().any(|c| !avail.contains(c)) {
        return Err(Error::Invalid(format!(
            "limits.cpu={s:?} not within available CPUs {available:?}"
        )));
    }
    Ok(cpu_list_string(&want))
}

/// Parsed `limits.cpu.allowance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Allowance {
    /// soft: cpu.shares (v1) / cpu.weight (v2), as Incus maps "N%"
    Shares(u64),
    /// hard: quota and period in microseconds
    Quota { quota_us: u64, period_us: u64 },
}

fn parse_ms(s: &str) -> Option<u64> {
    let v: f64 = s.trim().strip_suffix("ms")?.trim().parse().ok()?;
    (v > 0.0).then_some((v * 1000.0) as u64)
}

pub(crate) fn parse_allowance(s: &str) -> Result<Allowance> {
    let bad = || {
        Error::Invalid(format!(
            "invalid limits.cpu.allowance {s:?} (want \"50%\" or \"25ms/100ms\")"
        ))
    };
    let s = s.trim();
    if let Some(p) = s.strip_suffix('%') {
        let p: u64 = p.trim().parse().map_err(|_| bad())?;
        if p == 0 {
            return Err(bad());
        }
        return Ok(Allowance::Shares((p * 1024 / 100).max(2)));
    }
    let (q, per) = s.split_once('/').ok_or_else(bad)?;
    let (quota_us, period_us) = (parse_ms(q).ok_or_else(bad)?, parse_ms(per).ok_or_else(bad)?);
    if quota_us < 1000 || !(1000..=1_000_000).contains(&period_us) {
        return Err(bad());
    }
    Ok(Allowance::Quota {
        quota_us,
        period_us,
    })
}

/// cpu.shares -> cpu.weight (the conversion systemd and runc use).
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// Translate limits into ordered cgroup writes. `available_cpus` is the parent's cpuset.
/// The whole limit state is written: `None` resets to unlimited, so this serves both start and
/// live updates.
pub(crate) fn plan_limits(kind: Kind, l: &Limits, available_cpus: &str) -> Result<Vec<Write>> {
    let mut out = vec![];
    let cpus = match &l.cpus {
        Some(c) => resolve_cpus(c, available_cpus)?,
        None => match kind {
            Kind::V1 => available_cpus.trim().to_string(),
            Kind::V2 => String::new(), // empty = inherit the parent's
        },
    };
    let allowance = l
        .cpu_allowance
        .as_deref()
        .map(parse_allowance)
        .transpose()?;
    match kind {
        Kind::V1 => {
            // memsw >= memory is enforced by the kernel: lift memsw first, then set both
            let mem = l
                .memory
                .map(|m| m.to_string())
                .unwrap_or_else(|| "-1".into());
            out.push(wo("memory", "memory.memsw.limit_in_bytes", "-1"));
            out.push(w("memory", "memory.limit_in_bytes", mem.clone()));
            if l.memory.is_some() && l.memory_swap == Some(false) {
                out.push(wo("memory", "memory.memsw.limit_in_bytes", mem));
            }
            out.push(w("cpuset", "cpuset.cpus", cpus));
            match allowance {
                None => {
                    out.push(w("cpu", "cpu.cfs_quota_us", "-1"));
                    out.push(w("cpu", "cpu.shares", "1024"));
                }
                Some(Allowance::Shares(s)) => {
                    out.push(w("cpu", "cpu.cfs_quota_us", "-1"));
                    out.push(w("cpu", "cpu.shares", s.to_string()));
                }
                Some(Allowance::Quota {
                    quota_us,
                    period_us,
                }) => {
                    out.push(w("cpu", "cpu.cfs_quota_us", "-1"));
                    out.push(w("cpu", "cpu.cfs_period_us", period_us.to_string()));
                    out.push(w("cpu", "cpu.cfs_quota_us", quota_us.to_string()));
                    out.push(w("cpu", "cpu.shares", "1024"));
                }
            }
            out.push(w(
                "pids",
                "pids.max",
                l.processes
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "max".into()),
            ));
        }
        Kind::V2 => {
            out.push(w(
                "memory",
                "memory.max",
                l.memory
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "max".into()),
            ));
            let swap = if l.memory_swap == Some(false) {
                "0"
            } else {
                "max"
            };
            out.push(wo("memory", "memory.swap.max", swap));
            out.push(w("cpuset", "cpuset.cpus", cpus));
            let (weight, max) = match allowance {
                None => (100, "max 100000".to_string()),
                Some(Allowance::Shares(s)) => (shares_to_weight(s), "max 100000".to_string()),
                Some(Allowance::Quota {
                    quota_us,
                    period_us,
                }) => (100, format!("{quota_us} {period_us}")),
            };
            out.push(w("cpu", "cpu.weight", weight.to_string()));
            out.push(w("cpu", "cpu.max", max));
            out.push(w(
                "pids",
                "pids.max",
                l.processes
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "max".into()),
            ));
        }
    }
    Ok(out)
}

/// LXC's default device allow list (common.conf), plus the instance's unix devices.
/// Written after `devices.deny = a`.
pub(crate) fn device_rules(devs: &[UnixDevice]) -> Vec<String> {
    let mut r: Vec<String> = [
        "c *:* m",
        "b *:* m",
        "c 1:3 rwm",
        "c 1:5 rwm",
        "c 1:7 rwm",
        "c 5:0 rwm",
        "c 5:1 rwm",
        "c 5:2 rwm",
        "c 1:8 rwm",
        "c 1:9 rwm",
        "c 136:* rwm",
        "c 10:229 rwm",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for d in devs {
        let t = if d.kind == DeviceKind::Char { 'c' } else { 'b' };
        r.push(format!("{t} {}:{} rwm", d.major, d.minor));
    }
    r
}

/// v1 controllers a container gets a directory in (name=systemd too: systemd inside wants it).
fn wanted_v1(h: &Hierarchy) -> bool {
    h.controllers.iter().any(|c| {
        matches!(
            c.as_str(),
            "memory"
                | "pids"
                | "cpu"
                | "cpuacct"
                | "cpuset"
                | "devices"
                | "freezer"
                | "blkio"
                | "name=systemd"
                | "net_cls"
                | "net_prio"
                | "perf_event"
                | "hugetlb"
        )
    })
}

/// The monitor only needs accounting controllers.
fn wanted_monitor(h: &Hierarchy) -> bool {
    h.controllers.iter().any(|c| {
        matches!(
            c.as_str(),
            "memory" | "pids" | "cpu" | "cpuacct" | "blkio" | "name=systemd"
        )
    })
}

impl Cgroups {
    pub fn new(layout: Layout, rel: PathBuf) -> Self {
        Cgroups { layout, rel }
    }

    /// Directories of this cgroup, one per relevant hierarchy.
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.layout
            .hier
            .iter()
            .filter(|h| self.layout.kind == Kind::V2 || wanted_v1(h))
            .map(|h| h.mount.join(&self.rel))
            .collect()
    }

    fn monitor_dirs(&self) -> Vec<PathBuf> {
        self.layout
            .hier
            .iter()
            .filter(|h| self.layout.kind == Kind::V2 || wanted_monitor(h))
            .map(|h| h.mount.join(&self.rel))
            .collect()
    }

    /// Directory of the cgroup in the hierarchy that carries `ctrl`.
    pub fn dir(&self, ctrl: &str) -> Option<PathBuf> {
        self.layout.mount_of(ctrl).map(|m| m.join(&self.rel))
    }

    pub fn exists(&self) -> bool {
        self.dirs().iter().any(|d| d.exists())
    }

    /// Create the directories (parents included). cpuset needs cpus/mems in every new level on v1;
    /// v2 needs the controllers enabled in every ancestor's subtree_control.
    pub fn create(&self, monitor: bool) -> Result<()> {
        let dirs = if monitor {
            self.monitor_dirs()
        } else {
            self.dirs()
        };
        for d in dirs {
            let root = self
                .layout
                .hier
                .iter()
                .find(|h| d.starts_with(&h.mount))
                .map(|h| h.mount.clone())
                .unwrap_or_default();
            let is_cpuset = self.layout.kind == Kind::V1
                && self
                    .layout
                    .mount_of("cpuset")
                    .map(|m| d.starts_with(m))
                    .unwrap_or(false);
            let mut cur = root.clone();
            for comp in d.strip_prefix(&root).unwrap_or(&d).components() {
                let parent = cur.clone();
                cur.push(comp);
                if self.layout.kind == Kind::V2 {
                    let _ = fs::write(
                        parent.join("cgroup.subtree_control"),
                        "+cpu +cpuset +memory +pids +io",
                    );
                }
                match fs::create_dir(&cur) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(Error::io(&cur, e)),
                }
                // Also when the level already existed: another tool may have made it a
                // moment ago and not yet filled it (an empty cpuset refuses tasks).
                if is_cpuset {
                    for f in ["cpuset.cpus", "cpuset.mems"] {
                        let mine = fs::read_to_string(cur.join(f)).unwrap_or_default();
                        if mine.trim().is_empty() {
                            let v = fs::read_to_string(parent.join(f))
                                .map_err(|e| Error::io(parent.join(f), e))?;
                            write_file(&cur.join(f), v.trim())?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Move `pid` into this cgroup in every hierarchy.
    pub fn join(&self, pid: i32, monitor: bool) -> Result<()> {
        let dirs = if monitor {
            self.monitor_dirs()
        } else {
            self.dirs()
        };
        for d in dirs {
            write_file(&d.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// Let the container's root (host uid `uid`) manage its own subtree (nested cgroups).
    pub fn delegate(&self, uid: u32, gid: u32) -> Result<()> {
        for d in self.dirs() {
            for f in [
                "",
                "cgroup.procs",
                "tasks",
                "cgroup.subtree_control",
                "cgroup.threads",
            ] {
                let p = if f.is_empty() { d.clone() } else { d.join(f) };
                if p.exists() {
                    nix::unistd::chown(&p, Some(uid.into()), Some(gid.into()))
                        .map_err(|e| crate::kernel::sys_err(format!("chown {}", p.display()), e))?;
                }
            }
        }
        Ok(())
    }

    /// CPUs available to the parent of this cgroup.
    pub fn available_cpus(&self) -> Result<String> {
        let Some(m) = self.layout.mount_of("cpuset") else {
            return Ok(String::new());
        };
        let parent = m
            .join(&self.rel)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| m.to_path_buf());
        let file = if self.layout.kind == Kind::V1 {
            "cpuset.cpus"
        } else {
            "cpuset.cpus.effective"
        };
        for p in [parent.join(file), m.join(file)] {
            if let Ok(v) = fs::read_to_string(&p) {
                if !v.trim().is_empty() {
                    return Ok(v.trim().to_string());
                }
            }
        }
        Ok(format!(
            "0-{}",
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                - 1
        ))
    }

    /// Apply limits (start and live).
    pub fn apply_limits(&self, l: &Limits) -> Result<()> {
        let plan = plan_limits(self.layout.kind, l, &self.available_cpus()?)?;
        for wr in plan {
            let Some(d) = self.dir(wr.ctrl) else { continue };
            let p = d.join(wr.file);
            if wr.optional && !p.exists() {
                continue;
            }
            if self.layout.kind == Kind::V2
                && wr.file == "cpuset.cpus"
                && wr.value.is_empty()
                && !p.exists()
            {
                continue;
            }
            write_file(&p, &wr.value)
                .map_err(|e| Error::Invalid(format!("setting {}={}: {e}", wr.file, wr.value)))?;
        }
        Ok(())
    }

    /// The device allow list (LXC's, plus `devs`): v1 `devices` controller (deny all,
    /// then each rule); v2 an eBPF device program compiled from the same rules
    /// ([`crate::devbpf`]), replacing the previous one. Returns false only when a v1
    /// host has no devices controller.
    pub fn apply_devices(&self, devs: &[UnixDevice]) -> Result<bool> {
        let Some(d) = self.dir("devices") else {
            return Ok(false);
        };
        if self.layout.kind == Kind::V2 {
            crate::devbpf::apply(&d, &device_rules(devs))?;
            return Ok(true);
        }
        write_file(&d.join("devices.deny"), "a")?;
        for r in device_rules(devs) {
            write_file(&d.join("devices.allow"), &r)?;
        }
        Ok(true)
    }

    /// Freeze or thaw, waiting (bounded) until the kernel reports the final state.
    pub fn set_frozen(&self, frozen: bool) -> Result<()> {
        let (file, val, done): (&str, &str, fn(&str) -> bool) = match (self.layout.kind, frozen) {
            (Kind::V1, true) => ("freezer.state", "FROZEN", |s| s.trim() == "FROZEN"),
            (Kind::V1, false) => ("freezer.state", "THAWED", |s| s.trim() == "THAWED"),
            (Kind::V2, true) => ("cgroup.freeze", "1", |s| s.contains("frozen 1")),
            (Kind::V2, false) => ("cgroup.freeze", "0", |s| s.contains("frozen 0")),
        };
        let d = self
            .dir("freezer")
            .ok_or_else(|| Error::Unsupported("no freezer cgroup".into()))?;
        write_file(&d.join(file), val)?;
        let check = if self.layout.kind == Kind::V1 {
            d.join("freezer.state")
        } else {
            d.join("cgroup.events")
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = fs::read_to_string(&check).map_err(|e| Error::io(&check, e))?;
            if done(&s) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout(format!(
                    "{} did not reach {val}",
                    check.display()
                )));
            }
            if frozen && self.layout.kind == Kind::V1 {
                // v1 may stall in FREEZING; re-asserting retries the freeze
                let _ = fs::write(d.join(file), val);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub fn is_frozen(&self) -> bool {
        let Some(d) = self.dir("freezer") else {
            return false;
        };
        match self.layout.kind {
            Kind::V1 => read_small(d.join("freezer.state"))
                .map(|s| s.trim() != "THAWED")
                .unwrap_or(false),
            Kind::V2 => read_small(d.join("cgroup.events"))
                .map(|s| s.contains("frozen 1"))
                .unwrap_or(false),
        }
    }

    /// Read a single-number file of controller `ctrl`.
    pub fn read_u64(&self, ctrl: &str, file: &str) -> Option<u64> {
        let s = read_small(self.dir(ctrl)?.join(file)).ok()?;
        s.split_whitespace().next()?.parse().ok()
    }

    /// Remove the cgroup recursively in every hierarchy (depth-first, bounded EBUSY retry).
    pub fn remove(&self) -> Result<()> {
        let mut first_err = None;
        for d in self.dirs() {
            if let Err(e) = remove_tree(&d) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// Depth-first rmdir of a cgroup tree. EBUSY (tasks still exiting) is retried for up to 2 s.
pub(crate) fn remove_tree(d: &Path) -> Result<()> {
    let rd = match fs::read_dir(d) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(d, e)),
    };
    for e in rd.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            remove_tree(&e.path())?;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match fs::remove_dir(d) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err(e) => return Err(Error::io(d, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpuacct 0 0
cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0
cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
";

    #[test]
    fn layout_hybrid_is_v1() {
        let l = parse_layout(HYBRID).unwrap();
        assert_eq!(l.kind, Kind::V1);
        assert_eq!(
            l.mount_of("memory"),
            Some(Path::new("/sys/fs/cgroup/memory"))
        );
        assert_eq!(
            l.mount_of("cpuacct"),
            Some(Path::new("/sys/fs/cgroup/cpu,cpuacct"))
        );
        assert_eq!(
            l.mount_of("name=systemd"),
            Some(Path::new("/sys/fs/cgroup/systemd"))
        );
        let cg = Cgroups::new(l, container_rel("inc-x", "c1"));
        assert_eq!(
            cg.dir("memory").unwrap(),
            Path::new("/sys/fs/cgroup/memory/inc-x/c1")
        );
        assert_eq!(cg.dirs().len(), 4);
        assert_eq!(monitor_rel("inc-x", "c1"), Path::new("inc-x.monitor/c1"));
    }

    #[test]
    fn layout_v2() {
        let l = parse_layout(
            "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n",
        )
        .unwrap();
        assert_eq!(l.kind, Kind::V2);
        let cg = Cgroups::new(l, container_rel("inc-x", "c1"));
        assert_eq!(
            cg.dir("memory").unwrap(),
            Path::new("/sys/fs/cgroup/inc-x/c1")
        );
        assert_eq!(cg.dir("pids"), cg.dir("freezer"));
        assert_eq!(cg.dirs(), vec![PathBuf::from("/sys/fs/cgroup/inc-x/c1")]);
    }

    #[test]
    fn cpus() {
        assert_eq!(resolve_cpus("2", "0-3").unwrap(), "0,1");
        assert_eq!(resolve_cpus("0-1,3", "0-3").unwrap(), "0,1,3");
        assert_eq!(resolve_cpus("1", "0-1").unwrap(), "0");
        assert!(resolve_cpus("3", "0-1").is_err());
        assert!(resolve_cpus("5", "0-3").is_err());
        assert!(resolve_cpus("4-5", "0-3").is_err());
        assert!(resolve_cpus("x", "0-3").is_err());
    }

    #[test]
    fn allowance() {
        assert_eq!(parse_allowance("50%").unwrap(), Allowance::Shares(512));
        assert_eq!(
            parse_allowance("25ms/100ms").unwrap(),
            Allowance::Quota {
                quota_us: 25_000,
                period_us: 100_000
            }
        );
        assert!(parse_allowance("0%").is_err());
        assert!(parse_allowance("25/100").is_err());
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(2), 1);
    }

    fn find<'a>(p: &'a [Write], f: &str) -> Vec<&'a str> {
        p.iter()
            .filter(|x| x.file == f)
            .map(|x| x.value.as_str())
            .collect()
    }

    #[test]
    fn plan_v1() {
        let l = Limits {
            memory: Some(1 << 28),
            memory_swap: Some(false),
            cpus: Some("1".into()),
            cpu_allowance: Some("25ms/100ms".into()),
            processes: Some(50),
        };
        let p = plan_limits(Kind::V1, &l, "0-1").unwrap();
        assert_eq!(find(&p, "memory.limit_in_bytes"), ["268435456"]);
        assert_eq!(find(&p, "memory.memsw.limit_in_bytes"), ["-1", "268435456"]);
        assert_eq!(find(&p, "cpuset.cpus"), ["0"]);
        assert_eq!(find(&p, "cpu.cfs_quota_us"), ["-1", "25000"]);
        assert_eq!(find(&p, "cpu.cfs_period_us"), ["100000"]);
        assert_eq!(find(&p, "pids.max"), ["50"]);
        let p = plan_limits(Kind::V1, &Limits::default(), "0-1").unwrap();
        assert_eq!(find(&p, "memory.limit_in_bytes"), ["-1"]);
        assert_eq!(find(&p, "pids.max"), ["max"]);
        assert_eq!(find(&p, "cpuset.cpus"), ["0-1"]);
        assert_eq!(find(&p, "cpu.shares"), ["1024"]);
    }

    #[test]
    fn plan_v2() {
        let l = Limits {
            memory: Some(1 << 28),
            memory_swap: Some(false),
            cpus: Some("0-1".into()),
            cpu_allowance: Some("50%".into()),
            processes: Some(50),
        };
        let p = plan_limits(Kind::V2, &l, "0-3").unwrap();
        assert_eq!(find(&p, "memory.max"), ["268435456"]);
        assert_eq!(find(&p, "memory.swap.max"), ["0"]);
        assert_eq!(find(&p, "cpuset.cpus"), ["0,1"]);
        assert_eq!(find(&p, "cpu.weight"), ["20"]);
        assert_eq!(find(&p, "cpu.max"), ["max 100000"]);
        assert_eq!(find(&p, "pids.max"), ["50"]);
        let q = Limits {
            cpu_allowance: Some("10ms/50ms".into()),
            ..Default::default()
        };
        let p = plan_limits(Kind::V2, &q, "0-3").unwrap();
        assert_eq!(find(&p, "cpu.max"), ["10000 50000"]);
        assert_eq!(find(&p, "memory.max"), ["max"]);
        assert_eq!(find(&p, "memory.swap.max"), ["max"]);
        assert_eq!(find(&p, "cpuset.cpus"), [""]);
    }

    #[test]
    fn devices_lxc_list() {
        let r = device_rules(&[UnixDevice {
            path: "/dev/sda".into(),
            kind: DeviceKind::Block,
            major: 8,
            minor: 0,
            uid: 0,
            gid: 0,
            mode: 0o660,
        }]);
        assert_eq!(r[0], "c *:* m");
        assert_eq!(r[1], "b *:* m");
        assert!(r.contains(&"c 136:* rwm".to_string()));
        assert_eq!(r.last().unwrap(), "b 8:0 rwm");
        assert_eq!(r.len(), 13);
    }
}
