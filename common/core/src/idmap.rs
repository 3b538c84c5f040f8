//! Id maps of unprivileged containers: the host's allocation source (root's
//! subordinate ranges in `/etc/subuid` and `/etc/subgid`, as upstream), the allocation
//! of one range per instance, `security.idmap.*` and `raw.idmap`, and the check that
//! every start passes: each mapped host id lies in root's subordinate ranges and host
//! id 0 is never a target.

use crate::{Error, Result};
use incus_api::{keys, Config};
use incus_db::InstanceRow;
use std::path::Path;

/// Default size of an instance's range (upstream's isolated default; POSIX ids and
/// nobody).
pub const DEFAULT_SIZE: u64 = 65536;
/// Upstream's range when neither `/etc/subuid` nor `/etc/subgid` exists.
const DEFAULT_HOST: (u64, u64) = (1_000_000, 1_000_000_000);
/// Largest id the kernel maps (u32::MAX is the invalid id).
const ID_LIMIT: u64 = u32::MAX as u64;

/// Root's subordinate id ranges: `(start, count)` for uids and for gids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostIds {
    pub uid: Vec<(u64, u64)>,
    pub gid: Vec<(u64, u64)>,
}

impl HostIds {
    /// From the host files (upstream's allocation source for root).
    pub fn load() -> Result<HostIds> {
        Self::load_from(Path::new("/etc/subuid"), Path::new("/etc/subgid"))
    }

    pub fn load_from(subuid: &Path, subgid: &Path) -> Result<HostIds> {
        match (subuid.exists(), subgid.exists()) {
            (false, false) => Ok(HostIds {
                uid: vec![DEFAULT_HOST],
                gid: vec![DEFAULT_HOST],
            }),
            (true, true) => {
                let read = |p: &Path| -> Result<Vec<(u64, u64)>> {
                    let text = std::fs::read_to_string(p)
                        .map_err(|e| Error::internal(format!("{}: {e}", p.display())))?;
                    let ranges = parse_subid(&text);
                    if ranges.is_empty() {
                        return Err(Error::invalid(format!(
                            "{} has no range for root: unprivileged containers need one \
                             (for example \"root:1000000:1000000000\")",
                            p.display()
                        )));
                    }
                    Ok(ranges)
                };
                Ok(HostIds {
                    uid: read(subuid)?,
                    gid: read(subgid)?,
                })
            }
            _ => Err(Error::invalid(format!(
                "Only one of {} and {} exists: a broken shadow setup; unprivileged \
                 containers cannot start until both are present",
                subuid.display(),
                subgid.display()
            ))),
        }
    }

    fn contains(ranges: &[(u64, u64)], start: u64, count: u64) -> bool {
        let end = start.saturating_add(count);
        ranges
            .iter()
            .any(|&(s, n)| start >= s && end <= s.saturating_add(n))
    }
}

/// Root's lines of a subuid/subgid file (`root:START:COUNT` or `0:START:COUNT`).
fn parse_subid(text: &str) -> Vec<(u64, u64)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let (user, start, count) = (f.next()?, f.next()?, f.next()?);
            if user != "root" && user != "0" {
                return None;
            }
            let (s, n) = (start.parse::<u64>().ok()?, count.parse::<u64>().ok()?);
            (n > 0).then_some((s, n))
        })
        .collect()
}

/// One `raw.idmap` line: host ids `host..host+count` appear as `ns..ns+count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawEntry {
    pub uid: bool,
    pub gid: bool,
    pub host: u64,
    pub ns: u64,
    pub count: u64,
}

fn id_range(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let (a, b) = (a.parse::<u64>().ok()?, b.parse::<u64>().ok()?);
    (a <= b && b < ID_LIMIT).then_some((a, b - a + 1))
}

/// Parses `raw.idmap` as upstream: lines `both|uid|gid HOST[-HOST] NS[-NS]`.
pub fn parse_raw(value: &str) -> Result<Vec<RawEntry>> {
    let mut out = Vec::new();
    for line in value.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let bad = |why: &str| Error::invalid(format!("Invalid raw.idmap line \"{line}\": {why}"));
        let f: Vec<&str> = line.split_whitespace().collect();
        let [kind, host, ns] = f[..] else {
            return Err(bad("expected \"both|uid|gid HOST[-HOST] NS[-NS]\""));
        };
        let (uid, gid) = match kind {
            "both" | "b" => (true, true),
            "uid" | "u" => (true, false),
            "gid" | "g" => (false, true),
            _ => return Err(bad("the first word is both, uid or gid")),
        };
        let (h, hn) = id_range(host).ok_or_else(|| bad("bad host id range"))?;
        let (n, nn) = id_range(ns).ok_or_else(|| bad("bad container id range"))?;
        if hn != nn {
            return Err(bad("host and container ranges differ in size"));
        }
        out.push(RawEntry {
            uid,
            gid,
            host: h,
            ns: n,
            count: hn,
        });
    }
    Ok(out)
}

/// What an instance's config asks for: `security.idmap.size` and `.base`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    pub size: u64,
    pub base: Option<u64>,
}

/// `security.idmap.size` / `security.idmap.base` of an expanded config.
pub fn wanted(config: &Config) -> Result<Wanted> {
    let num = |k: &str| -> Result<Option<u64>> {
        match config.get(k).map(String::as_str) {
            None | Some("") | Some("auto") if k == "security.idmap.size" => Ok(None),
            None | Some("") => Ok(None),
            Some(v) => v
                .parse::<u64>()
                .map(Some)
                .map_err(|_| Error::invalid(format!("Invalid value for {k}: \"{v}\""))),
        }
    };
    let size = num("security.idmap.size")?.unwrap_or(DEFAULT_SIZE);
    if size == 0 || size >= ID_LIMIT {
        return Err(Error::invalid(format!(
            "Invalid value for security.idmap.size: {size}"
        )));
    }
    Ok(Wanted {
        size,
        base: num("security.idmap.base")?,
    })
}

/// The recorded map of an instance (`volatile.idmap.base`, the range size from
/// `volatile.idmap.next`), if any.
pub fn recorded(config: &Config) -> Option<Result<(u64, u64)>> {
    let base = config.get("volatile.idmap.base")?;
    let bad = || {
        Error::invalid(format!(
            "Invalid recorded id map volatile.idmap.base=\"{}\": refusing to start",
            base.escape_debug()
        ))
    };
    let Ok(base) = base.parse::<u64>() else {
        return Some(Err(bad()));
    };
    let size = config
        .get("volatile.idmap.next")
        .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
        .and_then(|v| v.get(0)?.get("Maprange")?.as_u64())
        .unwrap_or(DEFAULT_SIZE);
    Some(Ok((base, size)))
}

/// `volatile.idmap.next` in upstream's JSON form.
pub fn next_json(base: u64, size: u64) -> String {
    serde_json::json!([
        {"Isuid": true, "Isgid": false, "Hostid": base, "Nsid": 0, "Maprange": size},
        {"Isuid": false, "Isgid": true, "Hostid": base, "Nsid": 0, "Maprange": size},
    ])
    .to_string()
}

/// Checks a map against the host: the main range and every `raw.idmap` entry lie in
/// root's subordinate ranges (uids in subuid, gids in subgid), host id 0 is never a
/// target, container root stays in the main range, entries do not overlap.
pub fn check(host: &HostIds, base: u64, size: u64, raw: &[RawEntry]) -> Result<()> {
    if base == 0 || size == 0 || base.saturating_add(size) > ID_LIMIT {
        return Err(Error::forbidden(format!(
            "Refusing id map {base}+{size}: host id 0 is never mapped into an unprivileged container"
        )));
    }
    for (what, ranges, file) in [
        ("uid", &host.uid, "/etc/subuid"),
        ("gid", &host.gid, "/etc/subgid"),
    ] {
        if !HostIds::contains(ranges, base, size) {
            return Err(Error::forbidden(format!(
                "Refusing id map: host {what}s {base}-{} are not in root's subordinate ranges ({file})",
                base + size - 1
            )));
        }
    }
    for (i, e) in raw.iter().enumerate() {
        if e.host == 0 {
            return Err(Error::forbidden(
                "Refusing raw.idmap: host id 0 is never mapped into an unprivileged container",
            ));
        }
        if e.ns == 0 {
            return Err(Error::invalid(
                "raw.idmap cannot remap the container's root (id 0) here",
            ));
        }
        if e.ns.saturating_add(e.count) > ID_LIMIT || e.host.saturating_add(e.count) > ID_LIMIT {
            return Err(Error::invalid("raw.idmap range is out of bounds"));
        }
        for (on, ranges, file) in [
            (e.uid, &host.uid, "/etc/subuid"),
            (e.gid, &host.gid, "/etc/subgid"),
        ] {
            if on && !HostIds::contains(ranges, e.host, e.count) {
                return Err(Error::forbidden(format!(
                    "Refusing raw.idmap: host ids {}-{} are not in root's subordinate ranges \
                     ({file}); allow them with a line such as \"root:{}:{}\"",
                    e.host,
                    e.host + e.count - 1,
                    e.host,
                    e.count
                )));
            }
        }
        for o in &raw[..i] {
            let same_kind = (o.uid && e.uid) || (o.gid && e.gid);
            let overlap =
                |a: u64, b: u64| a < b.saturating_add(o.count) && b < a.saturating_add(e.count);
            if same_kind && (overlap(e.ns, o.ns) || overlap(e.host, o.host)) {
                return Err(Error::invalid("raw.idmap entries overlap"));
            }
        }
    }
    Ok(())
}

/// The range recorded on a row, for allocation (base, size).
fn used_range(row: &InstanceRow) -> Option<(u64, u64)> {
    recorded(&row.config)?.ok()
}

/// First free range of `size` ids in root's subordinate ranges (uids and gids alike),
/// skipping the ranges of the other instances (`skip_id`: the instance itself).
pub fn allocate(host: &HostIds, rows: &[InstanceRow], skip_id: i64, size: u64) -> Result<u64> {
    let mut used: Vec<(u64, u64)> = rows
        .iter()
        .filter(|r| r.id != skip_id || skip_id == 0)
        .filter_map(used_range)
        .collect();
    used.sort_unstable();
    for &(start, count) in &host.uid {
        let end = start.saturating_add(count);
        let mut base = start;
        while base.saturating_add(size) <= end {
            match used
                .iter()
                .find(|&&(b, n)| base < b.saturating_add(n) && b < base + size)
            {
                Some(&(b, n)) => base = b + n,
                None if HostIds::contains(&host.gid, base, size) => return Ok(base),
                None => break,
            }
        }
    }
    Err(Error::invalid(format!(
        "No free id range of {size} ids left in root's subordinate ranges (/etc/subuid, /etc/subgid)"
    )))
}

/// Validates one instance key of the id map family (at set time, with the host's
/// ranges): `security.idmap.size`, `security.idmap.base`, `raw.idmap`.
pub fn validate_key(key: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Ok(());
    }
    match key {
        "security.idmap.size" => {
            wanted(&[(key.to_string(), value.to_string())].into())?;
        }
        "security.idmap.base" => {
            let base = value
                .parse::<u64>()
                .map_err(|_| Error::invalid(format!("Invalid value for {key}: \"{value}\"")))?;
            if base == 0 {
                return Err(Error::forbidden(
                    "security.idmap.base=0 would map host root into the container",
                ));
            }
        }
        "raw.idmap" => {
            for e in parse_raw(value)? {
                if e.host == 0 {
                    return Err(Error::forbidden(
                        "raw.idmap cannot map host id 0: host root is never mapped into a container",
                    ));
                }
                if e.ns == 0 {
                    return Err(Error::invalid(
                        "raw.idmap cannot remap the container's root (id 0) here",
                    ));
                }
            }
        }
        "security.idmap.isolated" => {
            keys::parse_bool(value)
                .ok_or_else(|| Error::invalid(format!("Invalid value for {key}: \"{value}\"")))?;
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostIds {
        HostIds {
            uid: vec![(1_000_000, 1_000_000_000), (1000, 1)],
            gid: vec![(1_000_000, 1_000_000_000), (1000, 1)],
        }
    }

    #[test]
    fn subid_files() {
        let r = parse_subid("nobody:1:2\nroot:100000:65536\n0:5:1\nroot:x:y\nroot:7:0\n");
        assert_eq!(r, vec![(100000, 65536), (5, 1)]);
        let d = tempfile::tempdir().unwrap();
        let (u, g) = (d.path().join("u"), d.path().join("g"));
        assert_eq!(HostIds::load_from(&u, &g).unwrap().uid, vec![DEFAULT_HOST]);
        std::fs::write(&u, "root:1000000:65536\n").unwrap();
        assert!(HostIds::load_from(&u, &g).is_err(), "only one file");
        std::fs::write(&g, "alice:1:2\n").unwrap();
        assert!(HostIds::load_from(&u, &g).is_err(), "no root range");
    }

    #[test]
    fn root_is_never_mapped() {
        let h = host();
        assert!(check(&h, 1_000_000, 65536, &[]).is_ok());
        assert!(check(&h, 0, 65536, &[]).is_err());
        assert!(check(&h, 1, 65536, &[]).is_err(), "not subordinate");
        assert!(check(&h, 999_999_999_999, 65536, &[]).is_err());
        let raw = parse_raw("both 1000 1000").unwrap();
        assert!(check(&h, 1_000_000, 65536, &raw).is_ok());
        let raw = parse_raw("uid 0 1000").unwrap();
        assert!(check(&h, 1_000_000, 65536, &raw).is_err());
        let raw = parse_raw("both 1001 1000").unwrap();
        assert!(
            check(&h, 1_000_000, 65536, &raw).is_err(),
            "1001 not allowed"
        );
        let raw = parse_raw("both 1000 0").unwrap();
        assert!(check(&h, 1_000_000, 65536, &raw).is_err());
        assert!(parse_raw("both 1-3 5-6").is_err());
        assert!(parse_raw("all 1 1").is_err());
        assert_eq!(parse_raw("gid 2000000-2000009 10-19").unwrap()[0].count, 10);
    }

    #[test]
    fn allocation_is_disjoint_and_in_range() {
        let h = host();
        let row = |id: i64, base: u64, size: u64| InstanceRow {
            id,
            config: [
                ("volatile.idmap.base".to_string(), base.to_string()),
                ("volatile.idmap.next".to_string(), next_json(base, size)),
            ]
            .into(),
            ..Default::default()
        };
        assert_eq!(allocate(&h, &[], 0, 65536).unwrap(), 1_000_000);
        let rows = [row(1, 1_000_000, 65536), row(2, 1_065_536, 200_000)];
        assert_eq!(allocate(&h, &rows, 0, 65536).unwrap(), 1_265_536);
        assert_eq!(
            allocate(&h, &rows, 1, 65536).unwrap(),
            1_000_000,
            "own range"
        );
        let small = HostIds {
            uid: vec![(100_000, 65536)],
            gid: vec![(100_000, 65536)],
        };
        assert!(allocate(&small, &[row(1, 100_000, 65536)], 0, 65536).is_err());
    }
}
