//! dnsmasq per bridge, with upstream's arguments. There is no daemon to own it: it
//! runs detached with a pid file in the run directory, and every tool that needs it
//! checks the pid file against `/proc/PID/cmdline` and starts it again when dead (so
//! the first command after a reboot brings it back).

use super::addr::Cidr;
use super::addr6::Cidr6;
use crate::{Error, Result};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Where one network's dnsmasq keeps its files.
pub struct Paths {
    /// `INCUS_DIR/networks/NAME`: leases, hosts dir, raw config (survive reboots).
    pub dir: PathBuf,
    /// `RUN_DIR/networks/NAME/dnsmasq.pid`.
    pub pid: PathBuf,
    /// `LOG_DIR/dnsmasq.NAME.log`.
    pub log: PathBuf,
}

impl Paths {
    pub fn leases(&self) -> PathBuf {
        self.dir.join("dnsmasq.leases")
    }
    pub fn hosts(&self) -> PathBuf {
        self.dir.join("dnsmasq.hosts")
    }
    pub fn raw(&self) -> PathBuf {
        self.dir.join("dnsmasq.raw")
    }
}

/// What goes on dnsmasq's command line.
pub struct Setup<'a> {
    pub bridge: &'a str,
    pub v4: Option<Cidr>,
    pub dhcp: bool,
    pub ranges: Vec<(String, String)>,
    pub expiry: &'a str,
    pub gateway_option: Option<&'a str>,
    pub mtu: Option<u32>,
    pub dns_search: Option<&'a str>,
    /// `None` when dns.mode is none.
    pub domain: Option<&'a str>,
    pub user: Option<&'a str>,
    pub v6: Option<Cidr6>,
    pub dhcp6: bool,
    pub stateful6: bool,
    /// Stateful DHCPv6 ranges (start, end).
    pub ranges6: Vec<(String, String)>,
    pub expiry6: &'a str,
}

/// Upstream's argument list (`bridge.setup()`), with a pid file instead of
/// `--keep-in-foreground`: dnsmasq daemonises itself and its first process exits
/// only once it has bound its sockets, so a start error comes back as its exit code.
pub fn args(s: &Setup, p: &Paths) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "--strict-order".into(),
        "--bind-interfaces".into(),
        "--except-interface=lo".into(),
        format!("--pid-file={}", p.pid.display()),
        "--no-ping".into(),
        format!("--interface={}", s.bridge),
        "--dhcp-rapid-commit".into(),
        "--no-negcache".into(),
        "--quiet-dhcp".into(),
        "--quiet-dhcp6".into(),
        "--quiet-ra".into(),
        format!("--log-facility={}", p.log.display()),
    ];
    let files = |a: &mut Vec<String>| {
        a.push(format!("--dhcp-leasefile={}", p.leases().display()));
        a.push(format!("--dhcp-hostsfile={}", p.hosts().display()));
    };
    let dhcp4 = s.v4.is_some() && s.dhcp;
    if let Some(v4) = s.v4 {
        a.push(format!("--listen-address={}", v4.addr));
        if s.dhcp {
            a.push("--dhcp-no-override".into());
            a.push("--dhcp-authoritative".into());
            files(&mut a);
            if let Some(gw) = s.gateway_option {
                a.push(format!("--dhcp-option-force=3,{gw}"));
            }
            if let Some(m) = s.mtu.filter(|m| *m != 1500) {
                a.push(format!("--dhcp-option-force=26,{m}"));
            }
            if let Some(search) = s.dns_search {
                a.push(format!("--dhcp-option-force=119,{search}"));
            }
            for (start, end) in &s.ranges {
                a.push("--dhcp-range".into());
                a.push(format!("{start},{end},{}", s.expiry));
            }
        }
    }
    if let Some(v6) = s.v6 {
        a.push(format!("--listen-address={}", v6.addr));
        a.push("--enable-ra".into());
        if s.dhcp6 {
            if !dhcp4 {
                files(&mut a);
            }
            if s.stateful6 {
                for (start, end) in &s.ranges6 {
                    a.push("--dhcp-range".into());
                    a.push(format!("{start},{end},{},{}", v6.prefix, s.expiry6));
                }
            } else {
                a.push("--dhcp-range".into());
                a.push(format!("::,constructor:{},ra-stateless,ra-names", s.bridge));
            }
        } else {
            a.push("--dhcp-range".into());
            a.push(format!("::,constructor:{},ra-only", s.bridge));
        }
    }
    if let Some(d) = s.domain {
        a.push("-s".into());
        a.push(d.into());
        a.push("--interface-name".into());
        a.push(format!("_gateway.{d},{}", s.bridge));
        a.push("-S".into());
        a.push(format!("/{d}/"));
    }
    a.push(format!("--conf-file={}", p.raw().display()));
    if let Some(u) = s.user {
        a.push("-u".into());
        a.push(u.into());
    }
    a
}

/// The pid of a live dnsmasq started for this pid file, if any.
pub fn running(p: &Paths) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(&p.pid).ok()?.trim().parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let want = format!("--pid-file={}", p.pid.display());
    let ours = cmdline.split(|b| *b == 0).any(|arg| arg == want.as_bytes());
    ours.then_some(pid)
}

/// Every ancestor of `path` lets others through (dnsmasq reads its hosts dir after
/// dropping privileges).
fn others_can_reach(path: &Path) -> bool {
    path.ancestors().skip(1).all(|d| {
        std::fs::metadata(d)
            .map(|m| m.permissions().mode() & 0o001 != 0)
            .unwrap_or(false)
    })
}

/// The unprivileged user dnsmasq drops to: Debian's `dnsmasq` user when its files are
/// reachable to it; otherwise it stays root (e.g. state under a private temp dir).
pub fn user_for(p: &Paths) -> Option<&'static str> {
    let reachable = others_can_reach(&p.hosts().join("x"));
    let has_user = std::fs::read_to_string("/etc/passwd")
        .map(|s| s.lines().any(|l| l.starts_with("dnsmasq:")))
        .unwrap_or(false);
    if reachable && has_user {
        Some("dnsmasq")
    } else {
        Some("root")
    }
}

/// Starts dnsmasq (stopping a previous one first).
pub fn start(s: &Setup, p: &Paths) -> Result<()> {
    stop(p)?;
    for d in [&p.dir, &p.hosts()] {
        std::fs::create_dir_all(d)?;
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755))?;
    }
    if let Some(parent) = p.pid.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if let Some(parent) = p.log.parent() {
        std::fs::create_dir_all(parent)?;
    }
    if !p.raw().exists() {
        std::fs::write(p.raw(), "")?;
    }
    let out = Command::new("dnsmasq")
        .args(args(s, p))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| {
            Error::unsupported(format!("Cannot run dnsmasq (install dnsmasq-base): {e}"))
        })?;
    if !out.status.success() {
        return Err(Error::internal(format!(
            "The DNS and DHCP service exited prematurely: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Stops this network's dnsmasq (bounded wait); not running is fine.
pub fn stop(p: &Paths) -> Result<()> {
    if let Some(pid) = running(p) {
        // A pid we just matched by its command line.
        incus_sys::peer::signal(pid, libc::SIGTERM);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        // Its command line empties before its sockets close: wait for the zombie.
        while !exited(pid) {
            if std::time::Instant::now() > deadline {
                incus_sys::peer::signal(pid, libc::SIGKILL);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    let _ = std::fs::remove_file(&p.pid);
    Ok(())
}

/// Gone or a zombie (its sockets are closed then).
fn exited(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|st| st == "Z" || st == "X"),
        Err(_) => true,
    }
}

/// Re-reads the hosts files (SIGHUP), if it runs.
pub fn reload(p: &Paths) {
    if let Some(pid) = running(p) {
        // A pid matched by its command line.
        incus_sys::peer::signal(pid, libc::SIGHUP);
    }
}

/// The hosts-file line of a NIC: `MAC[,IPV4][,NAME]`.
pub fn host_line(mac: &str, ipv4: Option<&str>, name: Option<&str>) -> String {
    let mut l = mac.to_string();
    if let Some(ip) = ipv4 {
        l.push(',');
        l.push_str(ip);
    }
    if let Some(n) = name {
        l.push(',');
        l.push_str(n);
    }
    l.push('\n');
    l
}

/// One dynamic lease: (expiry, mac, ip, hostname).
pub fn parse_leases(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 4 || f[2].contains(':') {
                return None;
            }
            let host = if f[3] == "*" { "" } else { f[3] };
            Some((f[1].to_string(), f[2].to_string(), host.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_list_follows_upstream() {
        let p = Paths {
            dir: "/s/networks/br".into(),
            pid: "/r/networks/br/dnsmasq.pid".into(),
            log: "/l/dnsmasq.br.log".into(),
        };
        let c = Cidr::parse("10.5.6.1/24").unwrap();
        let a = args(
            &Setup {
                bridge: "ixbr",
                v4: Some(c),
                dhcp: true,
                ranges: vec![("10.5.6.2".into(), "10.5.6.254".into())],
                expiry: "1h",
                gateway_option: None,
                mtu: Some(1400),
                dns_search: None,
                domain: Some("incus"),
                user: None,
                v6: Some(Cidr6::parse("fd42:1:2:3::1/64").unwrap()),
                dhcp6: true,
                stateful6: false,
                ranges6: vec![],
                expiry6: "1h",
            },
            &p,
        );
        let j = a.join(" ");
        assert!(j.starts_with("--strict-order --bind-interfaces --except-interface=lo"));
        assert!(j.contains("--listen-address=10.5.6.1 --dhcp-no-override --dhcp-authoritative"));
        assert!(j.contains("--dhcp-range 10.5.6.2,10.5.6.254,1h"));
        assert!(j.contains("--dhcp-option-force=26,1400"));
        assert!(j.contains(
            "--listen-address=fd42:1:2:3::1 --enable-ra --dhcp-range ::,constructor:ixbr,ra-stateless,ra-names"
        ));
        assert!(j.contains("-s incus --interface-name _gateway.incus,ixbr -S /incus/"));
        assert!(j.ends_with("--conf-file=/s/networks/br/dnsmasq.raw"));
    }

    #[test]
    fn leases_file() {
        let l = parse_leases("1700000000 00:16:3e:00:00:01 10.5.6.20 c1 01:00:16:3e:00:00:01\n1700000000 00:16:3e:00:00:02 10.5.6.21 * *\n");
        assert_eq!(
            l[0],
            ("00:16:3e:00:00:01".into(), "10.5.6.20".into(), "c1".into())
        );
        assert_eq!(l[1].2, "");
    }
}
