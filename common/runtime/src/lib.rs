//! incus-runtime: the container runtime of the daemonless Incus toolkit.
//!
//! A container is started by [`start`], which spawns one `incus-monitor` process per container.
//! The monitor is the parent of init, holds a lifetime `flock` in the run directory, owns the
//! console pty and records how init ended in `state.json`. Everything else ([`status`], [`stop`],
//! [`exec`], [`freeze`], [`apply_limits`], hot-plug, [`info`]) works from any process by reading
//! the run directory, without talking to a daemon.
//!
//! Confinement follows LXC 5.0's defaults (`/usr/share/lxc/config/common.conf`): user namespace
//! with one contiguous id range and an idmapped rootfs (unless privileged), LXC's capability
//! drop list, LXC's seccomp deny list with the arch check, `proc:mixed`, the device cgroup allow
//! list, a cgroup namespace.
//!
//! **Threads:** [`exec`], [`hot_add_disk`] and [`hot_remove_disk`] `fork()` the calling process
//! and then do non-async-signal-safe work (setns, allocation) in the child. Call them only from a
//! single-threaded process (the `incus-*` tools are). [`start`] only spawns a binary and is safe
//! from threaded callers. The monitor itself is single-threaded.
//!
//! The crate prints nothing; errors come back as [`Error`].

#![warn(missing_docs)]

mod cgroup;
mod confine;
mod console;
mod devbpf;
mod exec;
mod guestapi;
mod hotplug;
mod kernel;
mod monitor;
mod net;
mod ops;
pub mod qemu;
mod rootfs;
mod spec;
mod state;
mod syscalls_table;

pub use confine::{check_syscalls, expected_capbnd, DROPPED_CAPS};
pub use console::{console_attach, console_connect, console_log, console_log_clear, console_ring};
pub use exec::{exec, exec_output, raw_mode, winsize_of};
pub use guestapi::{guest_publish, guest_ready, GuestData};
pub use kernel::PidHandle;
pub use monitor::monitor_main;
pub use ops::{
    apply_limits, cgroup_names, cleanup_stale, freeze, hot_add_disk, hot_add_nic, hot_add_unix,
    hot_remove_disk, hot_remove_nic, hot_remove_unix, info, live_devices, nics, start, status,
    status_info, status_settled, stop, unfreeze,
};
pub use spec::*;

use std::path::{Path, PathBuf};

/// Errors of the runtime. Messages are meant to be shown to users verbatim.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation failed.
    #[error("{path}: {source}")]
    Io {
        /// path involved
        path: PathBuf,
        /// underlying error
        source: std::io::Error,
    },
    /// A syscall failed.
    #[error("{what}: {errno}")]
    Sys {
        /// what was attempted
        what: String,
        /// errno
        errno: nix::errno::Errno,
    },
    /// The container is already running.
    #[error("container is already running")]
    AlreadyRunning,
    /// The container is not running.
    #[error("container is not running")]
    NotRunning,
    /// Invalid spec, limit or argument.
    #[error("{0}")]
    Invalid(String),
    /// Not supported on this host.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// Start failed; the message comes from the monitor or the container's init setup.
    #[error("start failed: {0}")]
    Start(String),
    /// exec failed before the command ran (setns, pty, command not found, ...).
    #[error("exec failed: {0}")]
    Exec(String),
    /// A bounded wait expired.
    #[error("timeout: {0}")]
    Timeout(String),
    /// The run directory holds unreadable state.
    #[error("corrupt state in {path}: {msg}")]
    State {
        /// file
        path: PathBuf,
        /// parse error
        msg: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, Error>;
