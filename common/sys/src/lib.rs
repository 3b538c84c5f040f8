//! Host primitives shared by every tool. Prints nothing.

pub mod copytree;
pub mod destdir;
pub mod fsutil;
pub mod inroot;
pub mod lock;
pub mod netdev;
pub mod peer;
pub mod testhook;
pub mod watch;

/// The kernel's boot id: changes on every boot, so a stored copy tells whether the
/// host rebooted even where the run directory is not a tmpfs.
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The machine architecture name as upstream reports it (`x86_64`, `aarch64`, ...).
pub fn architecture() -> String {
    std::env::consts::ARCH.to_string()
}
