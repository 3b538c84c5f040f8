//! Host primitives shared by every tool. Prints nothing.

pub mod at;
pub mod btrfs;
pub mod copytree;
pub mod destdir;
pub mod ffi;
pub mod fsutil;
pub mod inroot;
pub mod lock;
pub mod netdev;
pub mod peer;
pub mod shift;
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

/// The kernel's name and release (`uname -s`, `uname -r`); empty when uname fails.
pub fn uname() -> (String, String) {
    // SAFETY: uname fills a zeroed struct.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return (String::new(), String::new());
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (field(&u.sysname), field(&u.release))
}
