//! Network interface names and MAC addresses: the syntax upstream accepts, and who
//! owns a host interface. Values checked here go to `ip` command lines, dnsmasq
//! files and nft rulesets, so they never carry separators, spaces or newlines.

/// Upstream's `validate.IsInterfaceName` (2 to 15 bytes of `[-_a-zA-Z0-9.]`), minus
/// the names the kernel refuses (`.` and `..`).
pub fn is_interface_name(name: &str) -> bool {
    (2..=15).contains(&name.len())
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Upstream's `validate.IsNetworkMAC`: six two-digit hex bytes separated by colons.
pub fn is_mac(v: &str) -> bool {
    v.len() == 17
        && v.split(':').count() == 6
        && v.split(':')
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether a host interface of that name exists in the caller's network namespace.
/// Only meaningful for a valid interface name (anything else is reported absent).
pub fn interface_exists(name: &str) -> bool {
    is_interface_name(name) && std::path::Path::new("/sys/class/net").join(name).exists()
}

/// The interface's alias (`ip link set dev NAME alias ...`), empty when unset.
pub fn interface_alias(name: &str) -> String {
    if !is_interface_name(name) {
        return String::new();
    }
    std::fs::read_to_string(
        std::path::Path::new("/sys/class/net")
            .join(name)
            .join("ifalias"),
    )
    .map(|s| s.trim_end_matches('\n').to_string())
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names() {
        for ok in ["eth0", "ab", "veth-1_x.2", "abcdefghijklmno"] {
            assert!(is_interface_name(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            ".",
            "..",
            "abcdefghijklmnop",
            "a/b",
            "a b",
            "eth0\n",
            "a:b",
            "a,b",
            "é1",
            "a\0b",
        ] {
            assert!(!is_interface_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn macs() {
        assert!(is_mac("00:16:3e:aa:BB:01"));
        for bad in [
            "",
            "00:16:3e:aa:bb",
            "00-16-3e-aa-bb-01",
            "00:16:3e:aa:bb:01\nx",
            "00:16:3e:aa:bb:0g",
            "0:16:3e:aa:bb:011",
            "00:16:3e:aa:bb:01:02",
        ] {
            assert!(!is_mac(bad), "{bad:?}");
        }
    }
}
