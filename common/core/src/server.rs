//! Server configuration (`incus config get/set/unset/show` without an instance) and
//! the `GET /1.0` object.

use crate::{events, Context, Result};
use incus_api::{keys, Config, Server, ServerEnvironment, ServerStorageDriverInfo};

/// The API extensions announced (one list, with the wire types).
pub use incus_api::API_EXTENSIONS;

/// The file in the run directory written after every server config change: a running
/// `incus-serve` watches it (inotify) to apply listener changes at once.
pub const CHANGE_STAMP: &str = "server-config.stamp";

fn announce(ctx: &Context) {
    // Best effort: the database holds the change; a server that misses it applies it
    // at its next start.
    let _ = std::fs::write(
        ctx.run_dir.join(CHANGE_STAMP),
        crate::time::now().as_bytes(),
    );
}

/// `environment.addresses` for a listener bound to `bound`: that address, or for a
/// wildcard bind the host's addresses with its port, as upstream lists them (IPv4 from
/// `/proc/net/fib_trie` without loopback; for `[::]` also the global IPv6 addresses).
pub fn listen_addresses(bound: std::net::SocketAddr) -> Vec<String> {
    use crate::network::{addr, addr6};
    if !bound.ip().is_unspecified() {
        return vec![bound.to_string()];
    }
    let port = bound.port();
    let fib = incus_sys::fsutil::read_small("/proc/net/fib_trie").unwrap_or_default();
    let mut out: Vec<String> = addr::local_addresses(&fib)
        .into_iter()
        .map(|a| format!("{a}:{port}"))
        .collect();
    if bound.is_ipv6() {
        let text = incus_sys::fsutil::read_small("/proc/net/if_inet6").unwrap_or_default();
        for a in addr6::parse_if_inet6(&text) {
            let s = format!("[{}]:{port}", a.cidr.addr);
            if a.scope == "global" && !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// The server config map.
pub fn config(ctx: &Context) -> Result<Config> {
    ctx.db()?.read(incus_db::server_config)
}

/// One key; empty when unset (as upstream prints an empty line). Unknown and removed
/// keys are refused, as for `set`.
pub fn get(ctx: &Context, key: &str) -> Result<String> {
    keys::validate_server(key, "")?;
    Ok(config(ctx)?.get(key).cloned().unwrap_or_default())
}

/// Sets keys (an empty value unsets, as upstream): all validated first, then written
/// in one transaction, so a bad key changes nothing.
pub fn set_keys(ctx: &Context, pairs: &Config) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    for (k, v) in pairs {
        keys::validate_server(k, v)?;
    }
    ctx.db()?.write(|tx| {
        for (k, v) in pairs {
            let v = (!v.is_empty()).then_some(v.as_str());
            incus_db::server_config_set(tx, k, v)?;
        }
        Ok(())
    })?;
    announce(ctx);
    let changed: Vec<&String> = pairs.keys().collect();
    events::lifecycle(
        ctx,
        "config-updated",
        "/1.0",
        serde_json::json!({"keys": changed}),
    )
}

/// Unsets one key; unknown keys are still refused (and removed ones say so).
pub fn unset(ctx: &Context, key: &str) -> Result<()> {
    keys::validate_server(key, "")?;
    ctx.db()?
        .write(|tx| incus_db::server_config_set(tx, key, None))?;
    announce(ctx);
    events::lifecycle(
        ctx,
        "config-updated",
        "/1.0",
        serde_json::json!({"key": key}),
    )
}

/// Replaces the whole config (`PUT /1.0`, `config edit`): validated as a whole first.
pub fn replace(ctx: &Context, new: &Config) -> Result<()> {
    for (k, v) in new {
        keys::validate_server(k, v)?;
    }
    ctx.db()?.write(|tx| {
        for k in incus_db::server_config(tx)?.keys() {
            incus_db::server_config_set(tx, k, None)?;
        }
        for (k, v) in new {
            incus_db::server_config_set(tx, k, Some(v))?;
        }
        Ok(())
    })?;
    announce(ctx);
    events::lifecycle(ctx, "config-updated", "/1.0", serde_json::json!({}))
}

fn os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    (get("NAME"), get("VERSION_ID"))
}

/// `GET /1.0` for a trusted caller.
pub fn info(ctx: &Context) -> Result<Server> {
    let config = config(ctx)?;
    let (kernel, kernel_version) = incus_sys::uname();
    let (os_name, os_version) = os_release();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    Ok(Server {
        config,
        api_extensions: API_EXTENSIONS.iter().map(|s| s.to_string()).collect(),
        api_status: "stable".into(),
        api_version: "1.0".into(),
        auth: "trusted".into(),
        public: false,
        auth_methods: vec!["tls".into()],
        auth_user_name: std::env::var("USER").unwrap_or_else(|_| "root".into()),
        auth_user_method: "unix".into(),
        environment: ServerEnvironment {
            architectures: vec![incus_sys::architecture()],
            driver: "lxc".into(),
            driver_version: env!("CARGO_PKG_VERSION").into(),
            firewall: "nftables".into(),
            kernel,
            kernel_architecture: incus_sys::architecture(),
            kernel_version,
            os_name,
            os_version,
            project: ctx.project.clone(),
            server: "incus".into(),
            server_clustered: false,
            server_event_mode: "full-mesh".into(),
            server_name: hostname,
            server_pid: std::process::id() as i64,
            server_version: env!("CARGO_PKG_VERSION").into(),
            storage: "dir".into(),
            storage_version: "1".into(),
            storage_supported_drivers: vec![ServerStorageDriverInfo {
                name: "dir".into(),
                version: "1".into(),
                remote: false,
            }],
            ..Default::default()
        },
    })
}

#[cfg(test)]
mod listen_tests {
    #[test]
    fn addresses_of_a_listener() {
        let one = super::listen_addresses("127.0.0.1:8443".parse().unwrap());
        assert_eq!(one, ["127.0.0.1:8443"]);
        let all = super::listen_addresses("0.0.0.0:8443".parse().unwrap());
        for a in &all {
            assert!(a.ends_with(":8443") && !a.starts_with("127."), "{all:?}");
            assert!(!a.starts_with('['), "IPv4 only for 0.0.0.0: {all:?}");
        }
    }
}
