//! Managed networks (type `bridge`): a host bridge with dnsmasq for DHCP and DNS and
//! an nftables table for NAT, and the NICs of instances on them.
//!
//! Host-visible names carry the installation prefix: the bridge of network `N` is `N`
//! itself for the default installation (as upstream) and `<prefix>n<hash>` for any
//! other, the nft table is `inet <prefix>_<bridge>`, and generated veths are
//! `<prefix><hash>`, so two installations (tests run many at once) never collide.

pub mod addr;
pub mod addr6;
mod alloc;
mod bridge;
mod crud;
mod dnsmasq;
mod host;
mod nft;
mod nic;
mod validate;

use crate::{Context, Error, Result};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::process::Command;

pub use crud::{create, delete, get, leases, list, rename, set_keys, state, update};
pub use host::ensure_up;
pub use incus_runtime::NicSpec;
pub use nic::{forget_instance, instance_network_state, prepare_nics, sync_running, validate_nics};
pub use validate::{validate_config, validate_name};

/// Runs a host command; its stderr becomes the error.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::unsupported(format!("Cannot run {:?}: {e}", cmd.get_program())))?;
    if !out.status.success() {
        return Err(Error::internal(format!(
            "{} {}: {}",
            cmd.get_program().to_string_lossy(),
            cmd.get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn short_hash(parts: &[&str], n: usize) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())[..n].to_string()
}

/// The host bridge of a network.
pub fn host_bridge(ctx: &Context, name: &str) -> String {
    if ctx.networks_project != "default" {
        // A project's own network: hashed with the project, never a bare name.
        return format!(
            "{}n{}",
            ctx.prefix,
            short_hash(&[&ctx.networks_project, name], 6)
        );
    }
    if ctx.prefix == "incus" {
        name.to_string()
    } else {
        format!("{}n{}", ctx.prefix, short_hash(&[name], 6))
    }
}

/// A network's name in host paths (`PROJECT_NAME` for a project's own networks).
fn disk_name(ctx: &Context, name: &str) -> String {
    crate::names::project_prefixed(&ctx.networks_project, name)
}

fn table_name(ctx: &Context, name: &str) -> String {
    format!("{}_{}", ctx.prefix, host_bridge(ctx, name))
}

fn paths(ctx: &Context, name: &str) -> dnsmasq::Paths {
    let name = &disk_name(ctx, name);
    dnsmasq::Paths {
        dir: ctx.incus_dir.join("networks").join(name),
        pid: ctx.run_dir.join("networks").join(name).join("dnsmasq.pid"),
        log: ctx.log_dir.join(format!("dnsmasq.{name}.log")),
    }
}

/// The state directory of a network (tests and `admin` look here).
pub fn state_dir(ctx: &Context, name: &str) -> PathBuf {
    paths(ctx, name).dir
}
