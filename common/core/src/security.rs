//! Security keys that must act or be refused: nothing security-relevant is accepted
//! and silently ignored. The seccomp policy of `security.syscalls.*` (built by the
//! runtime), the id map keys (see [`crate::idmap`]), and the keys this host cannot
//! honour (no LXC, no AppArmor, no syscall interception, no VMs).

use crate::{idmap, Error, Result};
use incus_api::{keys, Config};

/// Why a key with a value cannot be honoured here, if it cannot.
fn unsupported(key: &str, value: &str) -> Option<String> {
    let on = || keys::parse_bool(value) == Some(true);
    let why = match key {
        "raw.lxc" => "there is no LXC here (the runtime is built in)",
        "raw.apparmor" => "there is no AppArmor here",
        "raw.seccomp" => {
            "raw seccomp policies are not supported here; use security.syscalls.deny or .allow"
        }
        "raw.qemu"
        | "raw.qemu.conf"
        | "security.agent.metrics"
        | "security.csm"
        | "security.secureboot"
        | "agent.nic_config" => {
            "it applies to virtual machines and is not supported by ours yet (docs/vm.md)"
        }
        k if k.starts_with("security.sev") => {
            "it applies to virtual machines and is not supported by ours yet (docs/vm.md)"
        }
        "linux.kernel_modules" => "loading host kernel modules at start is not supported here",
        k if k.starts_with("linux.sysctl.") => "per-instance sysctls are not supported here",
        k if k.starts_with("security.syscalls.intercept.") && on() => {
            "system call interception is not supported here"
        }
        k if k.starts_with("nvidia.") && (k != "nvidia.runtime" || on()) => {
            "the NVIDIA container runtime is not supported here"
        }
        _ => return None,
    };
    Some(format!("Config key \"{key}\" is not supported here: {why}"))
}

/// Validates one instance or profile key of this family (called with every key).
pub fn validate_key(key: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Ok(());
    }
    if let Some(why) = unsupported(key, value) {
        return Err(Error::unsupported(why));
    }
    idmap::validate_key(key, value)?;
    if key.starts_with("security.syscalls.") {
        syscalls_of(&[(key.to_string(), value.to_string())].into())?;
    }
    Ok(())
}

/// The seccomp policy of an expanded config, checked by the runtime (names, syntax,
/// allow and deny mutually exclusive as upstream).
pub fn syscalls_of(config: &Config) -> Result<incus_runtime::Syscalls> {
    let get = |k: &str| config.get(k).filter(|v| !v.is_empty());
    let flag = |k: &str, default: bool| -> Result<bool> {
        match get(k) {
            None => Ok(default),
            Some(v) => keys::parse_bool(v)
                .ok_or_else(|| Error::invalid(format!("Invalid value for {k}: \"{v}\""))),
        }
    };
    let lines = |v: &String| v.lines().map(str::to_string).collect::<Vec<_>>();
    let policy = incus_runtime::Syscalls {
        no_default_deny: !flag("security.syscalls.deny_default", true)?,
        deny_compat: flag("security.syscalls.deny_compat", false)?,
        deny: get("security.syscalls.deny").map(lines).unwrap_or_default(),
        allow: get("security.syscalls.allow").map(lines),
    };
    incus_runtime::check_syscalls(&policy).map_err(|e| match e {
        incus_runtime::Error::Invalid(m) => Error::invalid(m),
        other => Error::invalid(other.to_string()),
    })?;
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_with_a_reason() {
        for (k, v) in [
            ("raw.lxc", "lxc.apparmor.profile=unconfined"),
            ("raw.apparmor", "deny /x rw,"),
            ("raw.seccomp", "2\ndenylist\n"),
            ("security.syscalls.intercept.mknod", "true"),
            ("linux.kernel_modules", "ip_tables"),
            ("linux.sysctl.net.ipv4.ip_forward", "1"),
            ("nvidia.runtime", "true"),
            ("security.secureboot", "false"),
        ] {
            let e = validate_key(k, v).unwrap_err();
            assert!(
                e.message.contains("not supported here"),
                "{k}: {}",
                e.message
            );
        }
        assert!(validate_key("security.syscalls.intercept.mknod", "false").is_ok());
        assert!(validate_key("raw.lxc", "").is_ok());
        assert!(validate_key("security.syscalls.deny", "mount\nptrace").is_ok());
        assert!(validate_key("security.syscalls.deny", "nosuchcall").is_err());
        assert!(validate_key("security.syscalls.allow", "read\nwrite").is_ok());
        let both: Config = [
            ("security.syscalls.allow".to_string(), "read".to_string()),
            ("security.syscalls.deny".to_string(), "mount".to_string()),
        ]
        .into();
        assert!(syscalls_of(&both).is_err());
    }
}
