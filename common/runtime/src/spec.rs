//! Plain data types of the runtime: what the caller asks for and what it gets back.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Everything needed to start one container. Written as `spec.json` into `run_dir` by
/// [`crate::start`]; the monitor and `exec` read it back from there.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerSpec {
    /// Instance name (also used in cgroup paths; must be a single path component).
    pub name: String,
    /// Installation prefix for host-wide names: cgroups are `<ctrl>/<host_prefix>/<name>`,
    /// the monitor's own cgroup is `<ctrl>/<host_prefix>.monitor/<name>`.
    pub host_prefix: String,
    /// Root filesystem directory on the host.
    pub rootfs: PathBuf,
    /// Per-instance runtime directory: spec.json, state.json, lifetime lock, console socket.
    pub run_dir: PathBuf,
    /// Where console.log and monitor.log live (persists across stop).
    pub log_dir: PathBuf,
    /// `security.privileged`: no user namespace.
    pub privileged: bool,
    /// Id range for the user namespace; `None` only when privileged.
    pub idmap: Option<IdMap>,
    /// `raw.idmap` entries carved out of the range (host ids shown as other ids inside).
    #[serde(default)]
    pub raw_idmap: Vec<RawIdMap>,
    /// `security.syscalls.*`: the seccomp policy beyond LXC's default.
    #[serde(default)]
    pub syscalls: Syscalls,
    /// Hostname inside the container.
    pub hostname: String,
    /// argv of init, default `["/sbin/init"]`.
    #[serde(default = "default_init")]
    pub init: Vec<String>,
    /// Extra environment of init and of every exec (`environment.*` keys).
    #[serde(default)]
    pub env: Vec<(String, String)>,
    /// Resource limits, applied at start and live through [`crate::apply_limits`].
    #[serde(default)]
    pub limits: Limits,
    /// Bind-mounted host paths (disk devices).
    #[serde(default)]
    pub disks: Vec<DiskMount>,
    /// unix-char / unix-block devices.
    #[serde(default)]
    pub unix_devices: Vec<UnixDevice>,
    /// `security.nesting`: relax confinement as LXC's nesting.conf does.
    #[serde(default)]
    pub nesting: bool,
    /// Network interfaces (veth pairs on bridges).
    #[serde(default)]
    pub nics: Vec<NicSpec>,
    /// `security.guestapi`: `/dev/incus` (the guest API socket) inside.
    #[serde(default)]
    pub guestapi: bool,
    /// Signal for a clean halt; `None` = SIGRTMIN+3 if /sbin/init resolves to systemd, SIGPWR otherwise.
    #[serde(default)]
    pub stop_signal: Option<i32>,
}

fn default_init() -> Vec<String> {
    vec!["/sbin/init".into()]
}

/// One contiguous id range: container ids `0..size` map to host ids `host_base..host_base+size`
/// (same map for uids and gids).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdMap {
    /// First host id of the range.
    pub host_base: u32,
    /// Number of ids.
    pub size: u32,
}

impl IdMap {
    /// The line written to `/proc/PID/uid_map` and `gid_map`.
    pub fn map_line(&self) -> String {
        format!("0 {} {}", self.host_base, self.size)
    }
    /// Host id of a container id (no range check beyond saturation).
    pub fn host_id(&self, id: u32) -> u32 {
        self.host_base.saturating_add(id)
    }
}

/// One `raw.idmap` entry: host ids `host..host+count` appear as `ns..ns+count` inside.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct RawIdMap {
    /// Applies to uids.
    pub uid: bool,
    /// Applies to gids.
    pub gid: bool,
    /// First host id.
    pub host: u32,
    /// First id inside.
    pub ns: u32,
    /// Number of ids.
    pub count: u32,
}

/// The seccomp policy of `security.syscalls.*` (LXC's semantics).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Syscalls {
    /// `security.syscalls.deny_default=false`: no default deny list.
    #[serde(default)]
    pub no_default_deny: bool,
    /// `security.syscalls.deny_compat`: every call of the 32-bit ABIs fails (EPERM).
    #[serde(default)]
    pub deny_compat: bool,
    /// `security.syscalls.deny`: more calls that fail with EPERM (syscall names).
    #[serde(default)]
    pub deny: Vec<String>,
    /// `security.syscalls.allow`: only these calls (names) are allowed; others fail
    /// with EPERM. Exclusive with the deny keys.
    #[serde(default)]
    pub allow: Option<Vec<String>>,
}

impl ContainerSpec {
    /// The lines written to `/proc/PID/uid_map` (`gid` false) or `gid_map`: the range
    /// of `m` with the `raw.idmap` entries of that kind carved out of it.
    pub fn map_lines(&self, m: &IdMap, gid: bool) -> String {
        let mut raw: Vec<RawIdMap> = self
            .raw_idmap
            .iter()
            .filter(|e| if gid { e.gid } else { e.uid })
            .copied()
            .collect();
        raw.sort_by_key(|e| e.ns);
        let mut lines: Vec<(u64, u64, u64)> = raw
            .iter()
            .map(|e| (e.ns as u64, e.host as u64, e.count as u64))
            .collect();
        let mut ns = 0u64;
        let end = m.size as u64;
        for e in &raw {
            let (s, n) = (e.ns as u64, e.count as u64);
            if s > ns && ns < end {
                let stop = s.min(end);
                lines.push((ns, m.host_base as u64 + ns, stop - ns));
            }
            ns = ns.max(s + n);
        }
        if ns < end {
            lines.push((ns, m.host_base as u64 + ns, end - ns));
        }
        lines.sort_unstable();
        lines
            .iter()
            .map(|(a, b, c)| format!("{a} {b} {c}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Whether any host id of the maps is 0 (never allowed in a user namespace).
    pub fn maps_host_root(&self) -> bool {
        self.idmap.is_some_and(|m| m.host_base == 0) || self.raw_idmap.iter().any(|e| e.host == 0)
    }
}

/// Resource limits. `None` means unlimited / inherited.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Limits {
    /// `limits.memory` in bytes.
    pub memory: Option<u64>,
    /// `limits.memory.swap`: `Some(false)` forbids swap beyond the memory limit.
    pub memory_swap: Option<bool>,
    /// `limits.cpu`: a count ("2") or a set ("0-1,3").
    pub cpus: Option<String>,
    /// `limits.cpu.allowance`: "50%" (soft share) or "25ms/100ms" (hard quota).
    pub cpu_allowance: Option<String>,
    /// `limits.processes` (pids.max).
    pub processes: Option<u64>,
}

/// A host path bind-mounted into the container.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DiskMount {
    /// Host path (directory or file).
    pub source: PathBuf,
    /// Absolute path inside the container.
    pub path: PathBuf,
    /// Mount read-only.
    #[serde(default)]
    pub readonly: bool,
    /// Idmap the mount to the container's user namespace (`shift=true`, and custom
    /// volumes). Without it the host's ids show as they are: host root's files belong to
    /// the overflow id (nobody) inside an unprivileged container.
    #[serde(default)]
    pub shift: bool,
}

/// A veth NIC: `host_name` on `bridge` outside, `name` inside.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NicSpec {
    /// Interface name inside the container (`eth0`).
    pub name: String,
    /// Host-side veth name (carries the installation prefix).
    pub host_name: String,
    /// Host bridge the host side joins.
    pub bridge: String,
    /// MAC address inside (empty: kernel random).
    #[serde(default)]
    pub hwaddr: String,
    /// MTU of both ends.
    #[serde(default)]
    pub mtu: Option<u32>,
}

/// Device node type.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum DeviceKind {
    /// Character device (`unix-char`).
    Char,
    /// Block device (`unix-block`).
    Block,
}

/// A device node made available inside the container and allowed in the device cgroup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UnixDevice {
    /// Absolute path inside the container.
    pub path: PathBuf,
    /// Char or block.
    pub kind: DeviceKind,
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
    /// Owner inside the container.
    #[serde(default)]
    pub uid: u32,
    /// Group inside the container.
    #[serde(default)]
    pub gid: u32,
    /// Permission bits (e.g. 0o660).
    #[serde(default = "default_dev_mode")]
    pub mode: u32,
}

fn default_dev_mode() -> u32 {
    0o660
}

/// A command to run inside a running container (see [`crate::exec`]).
#[derive(Debug, Clone, Default)]
pub struct ExecSpec {
    /// argv; `argv[0]` is looked up in the container's PATH.
    pub argv: Vec<String>,
    /// Extra environment (on top of the defaults and the instance's `env`).
    pub env: Vec<(String, String)>,
    /// Working directory inside the container (default `/root` for uid 0, else `/`).
    pub cwd: Option<PathBuf>,
    /// User inside the container.
    pub uid: u32,
    /// Group inside the container.
    pub gid: u32,
    /// Allocate a pty from the container's /dev/ptmx and relay stdin/stdout through it.
    pub tty: bool,
    /// Window size (rows, cols) for the pty; `None` = copy from the caller's stdin if it is a tty.
    pub window: Option<(u16, u16)>,
    /// Descriptor to use as stdin (borrowed; `None` = inherit).
    pub stdin: Option<std::os::fd::RawFd>,
    /// Descriptor to use as stdout (borrowed; `None` = inherit).
    pub stdout: Option<std::os::fd::RawFd>,
    /// Descriptor to use as stderr (borrowed; `None` = inherit).
    pub stderr: Option<std::os::fd::RawFd>,
}

/// Returned by [`crate::start`] once init has exec'd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    /// Host pid of the container's init.
    pub init_pid: i32,
    /// Host pid of the monitor.
    pub monitor_pid: i32,
}

/// How init (and so the container) ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExitKind {
    /// reboot(POWER_OFF/HALT) inside: the kernel killed init with SIGINT.
    Halt,
    /// reboot(RESTART) inside (SIGHUP) and the restart in place failed.
    Reboot,
    /// init exited by itself with this code.
    Exited {
        /// exit status
        code: i32,
    },
    /// init was killed by a signal (crash, or SIGKILL from a forced stop).
    Signaled {
        /// signal number
        signal: i32,
    },
    /// The monitor had died; init was found dead or was killed by the repair path.
    MonitorLost,
}

/// Record of the last end of a container, kept in state.json.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExitRecord {
    /// How it ended.
    #[serde(flatten)]
    pub kind: ExitKind,
    /// Unix time (seconds) of the end.
    pub at: u64,
    /// True when written by the repair path (monitor was dead), not by the monitor.
    #[serde(default)]
    pub repaired: bool,
}

/// Observed state of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Monitor alive, init running.
    Running {
        /// host pid of init
        init_pid: i32,
        /// host pid of the monitor
        monitor_pid: i32,
    },
    /// Monitor alive, container frozen.
    Frozen {
        /// host pid of init
        init_pid: i32,
        /// host pid of the monitor
        monitor_pid: i32,
    },
    /// The monitor died (kill -9) but init still runs: [`crate::stop`] repairs.
    Orphaned {
        /// host pid of init
        init_pid: i32,
    },
    /// Not running.
    Stopped {
        /// How the previous run ended, if known.
        last: Option<ExitRecord>,
    },
}

/// Interface counters from `/proc/PID/net/dev` of init.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetCounters {
    /// interface name inside the container
    pub name: String,
    /// received bytes
    pub rx_bytes: u64,
    /// received packets
    pub rx_packets: u64,
    /// sent bytes
    pub tx_bytes: u64,
    /// sent packets
    pub tx_packets: u64,
}

/// Live usage of a running container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeInfo {
    /// host pid of init
    pub init_pid: i32,
    /// host pid of the monitor
    pub monitor_pid: i32,
    /// number of tasks (pids.current)
    pub processes: u64,
    /// memory usage in bytes
    pub memory_usage: u64,
    /// peak memory usage in bytes (0 if unknown)
    pub memory_peak: u64,
    /// cpu time in nanoseconds
    pub cpu_usage_ns: u64,
    /// network interfaces
    pub network: Vec<NetCounters>,
    /// lxcfs is not wired yet: /proc inside shows host values.
    pub lxcfs: bool,
}
