//! Name rules, as upstream.

use crate::{Error, Result};

/// Instance names follow hostname rules: ASCII letters, digits and `-`, 1-63
/// characters, not starting or ending with `-`, not purely numeric.
pub fn validate_instance_name(name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::invalid(format!(
            "Invalid instance name \"{}\": {why}",
            name.escape_debug()
        )))
    };
    if name.is_empty() {
        return bad("name is empty");
    }
    if name.len() > 63 {
        return bad("name is longer than 63 characters");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return bad("only ASCII letters, digits and '-' are allowed");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return bad("name must not start or end with '-'");
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return bad("name must not be purely numeric");
    }
    Ok(())
}

/// Names of profiles, pools, volumes, networks: no `/`, no spaces or control
/// characters, not `.` or `..`, at most 63 characters (they become path components).
pub fn validate_object_name(what: &str, name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::invalid(format!(
            "Invalid {what} name \"{}\": {why}",
            name.escape_debug()
        )))
    };
    if name.is_empty() {
        return bad("name is empty");
    }
    if name.len() > 63 {
        return bad("name is longer than 63 characters");
    }
    if name == "." || name == ".." {
        return bad("name must not be '.' or '..'");
    }
    if name.contains('/') || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("'/', spaces and control characters are not allowed");
    }
    if name.contains('\'') || name.contains('"') {
        return bad("quotes are not allowed");
    }
    Ok(())
}

/// Snapshot names may contain anything except spaces and `/` (upstream rule), bounded
/// in length because they become path components.
pub fn validate_snapshot_name(name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::invalid(format!(
            "Invalid snapshot name \"{}\": {why}",
            name.escape_debug()
        )))
    };
    if name.is_empty() {
        return bad("name is empty");
    }
    if name.len() > 255 {
        return bad("name is longer than 255 bytes");
    }
    if name == "." || name == ".." {
        return bad("name must not be '.' or '..'");
    }
    if name.contains('/') || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("'/', spaces and control characters are not allowed");
    }
    Ok(())
}

/// Interface names (`host_name`, `name`, `parent` of a NIC): upstream's
/// `IsInterfaceName` (2-15 of letters, digits, `-`, `_`, `.`; not `..`).
pub fn validate_interface_name(what: &str, name: &str) -> Result<()> {
    if incus_sys::netdev::is_interface_name(name) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "Invalid {what} \"{}\": interface names are 2-15 characters of ASCII letters, digits, '-', '_' and '.'",
        name.escape_debug()
    )))
}

/// MAC addresses (`hwaddr`): six two-digit hex bytes separated by colons.
pub fn validate_mac(what: &str, v: &str) -> Result<()> {
    if incus_sys::netdev::is_mac(v) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "Invalid {what} \"{}\": must be 6 bytes of hex separated by colons",
        v.escape_debug()
    )))
}

/// DNS names (`dns.domain`, each entry of `dns.search`): dot-separated labels of
/// 1-63 ASCII letters, digits and `-`, not starting or ending with `-`, at most 253
/// characters. Nothing else may reach dnsmasq's command line or files.
pub fn validate_dns_name(what: &str, v: &str) -> Result<()> {
    let ok = !v.is_empty()
        && v.len() <= 253
        && v.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "Invalid {what} \"{}\": must be a DNS name (letters, digits, '-', separated by '.')",
        v.escape_debug()
    )))
}

/// A name made unique across projects for everything host-wide (volume directories,
/// run and log directories, locks, cgroups, veth aliases): `PROJECT_NAME` outside
/// `default`, the name itself in `default` (upstream's `project.Instance`). Project
/// names contain no `_`, so the split is unambiguous.
pub fn project_prefixed(project: &str, name: &str) -> String {
    if project.is_empty() || project == "default" {
        name.to_string()
    } else {
        format!("{project}_{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_keep_dnsmasq_options_out() {
        for ok in ["incus", "lxd.example.org", "a-b.c1", "x"] {
            validate_dns_name("dns.domain", ok).unwrap();
        }
        for bad in [
            "",
            "incus,lo",
            "a/b",
            "a b",
            "a\nlog-queries",
            "-a",
            "a-",
            "a..b",
            ".a",
            &"x".repeat(64),
        ] {
            assert!(validate_dns_name("dns.domain", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn nic_names_and_macs() {
        validate_interface_name("host_name", "veth12").unwrap();
        validate_mac("hwaddr", "00:16:3e:01:02:03").unwrap();
        assert!(validate_interface_name("host_name", "a/b").is_err());
        assert!(validate_interface_name("host_name", "eth0\n").is_err());
        assert!(validate_mac("hwaddr", "00:16:3e:01:02:03\nx").is_err());
    }

    #[test]
    fn instance_names_as_upstream() {
        for ok in ["c1", "0abc", "a-b", "web01"] {
            validate_instance_name(ok).unwrap();
        }
        for bad in [
            "",
            "1234",
            "foo.bar",
            "a_b_c",
            "-abc",
            "abc-",
            "a/b",
            "a b",
            &"x".repeat(64),
        ] {
            assert!(validate_instance_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn object_names() {
        validate_object_name("profile", "web-tier_2").unwrap();
        for bad in ["", ".", "..", "a/b", "a b", "a\0b", &"p".repeat(64)] {
            assert!(validate_object_name("profile", bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        /// Whatever comes in (slashes, NUL, unicode, 4 KiB), accepted names are safe
        /// as path components and hostnames.
        #[test]
        fn accepted_names_are_safe(name in "\\PC{0,80}|[a-z0-9/.-]{1,70}|.{4096}") {
            if validate_instance_name(&name).is_ok() {
                proptest::prop_assert!(name.len() <= 63 && !name.is_empty());
                proptest::prop_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
            }
            for check in [validate_snapshot_name(&name), validate_object_name("pool", &name)] {
                if check.is_ok() {
                    proptest::prop_assert!(!name.contains('/') && !name.contains('\0'));
                    proptest::prop_assert!(name != "." && name != ".." && !name.is_empty());
                }
            }
        }
    }
}
