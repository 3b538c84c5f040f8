//! What upstream's daemon does when it starts after a host boot, for a toolkit with
//! no daemon: `incus admin boot` (ours), run once per boot by a boot-time unit.
//!
//! A new boot is told by the kernel's boot id against the copy kept in the run
//! directory (a tmpfs loses it; a persistent run directory keeps a stale one). On a
//! new boot, half-done work is repaired, the instances upstream would start are
//! started (`boot.autostart=true`, or `boot.autostart` unset and
//! `volatile.last_state.power=RUNNING`), highest `boot.autostart.priority` first,
//! then by name, waiting `boot.autostart.delay` seconds after each; the instances
//! that were running before the boot and are not started again are recorded as
//! STOPPED. The boot id is written last, so a boot command killed midway runs again
//! in full next time; starting skips what already runs, so it is idempotent.

use crate::{instance, lifecycle, Context, Result};
use incus_api::{keys, StatusCode};
use std::time::Duration;

/// What `boot` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootReport {
    /// False when this boot was already handled (nothing done).
    pub new_boot: bool,
    /// Started, in order.
    pub started: Vec<String>,
    /// Recorded as STOPPED (they ran before the boot and do not autostart).
    pub stopped: Vec<String>,
    /// Instances whose start failed, with the error.
    pub failed: Vec<(String, String)>,
}

/// Upstream's rule (`instanceShouldAutoStart`).
pub fn should_autostart(expanded: &incus_api::Config) -> bool {
    match expanded.get("boot.autostart").map(String::as_str) {
        None | Some("") => {
            expanded
                .get("volatile.last_state.power")
                .map(String::as_str)
                == Some("RUNNING")
        }
        Some(v) => keys::parse_bool(v) == Some(true),
    }
}

fn int_key(config: &incus_api::Config, key: &str) -> i64 {
    config
        .get(key)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Handles a host boot once (`force`: again in the same boot).
pub fn boot(ctx: &Context, force: bool) -> Result<BootReport> {
    let _global = ctx.lock_global()?;
    let stamp = ctx.run_dir.join("boot_id");
    let current = incus_sys::boot_id();
    let recorded = std::fs::read_to_string(&stamp)
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let mut report = BootReport::default();
    if !force && !current.is_empty() && recorded == current {
        return Ok(report);
    }
    report.new_boot = true;
    // Every project's instances, in one priority order (as upstream).
    let ctxs = crate::project::contexts(ctx)?;
    let mut all = Vec::new();
    for c in ctxs.values() {
        instance::repair_all(c)?;
        all.extend(instance::list(c)?);
    }
    all.sort_by(|a, b| {
        int_key(&b.expanded_config, "boot.autostart.priority")
            .cmp(&int_key(&a.expanded_config, "boot.autostart.priority"))
            .then_with(|| a.name.cmp(&b.name))
    });
    for inst in &all {
        if inst.status_code != StatusCode::Stopped.code()
            || !should_autostart(&inst.expanded_config)
        {
            continue;
        }
        let c = &ctxs[&inst.project];
        let qname = crate::project::qualified(&inst.project, &inst.name);
        match lifecycle::start(c, &inst.name) {
            Ok(()) => {
                report.started.push(qname);
                let delay = int_key(&inst.expanded_config, "boot.autostart.delay");
                if delay > 0 {
                    std::thread::sleep(Duration::from_secs(delay as u64));
                }
            }
            Err(e) => report.failed.push((qname, e.message)),
        }
    }
    for inst in &all {
        let c = &ctxs[&inst.project];
        let qname = crate::project::qualified(&inst.project, &inst.name);
        let was_running = inst
            .config
            .get("volatile.last_state.power")
            .map(String::as_str)
            == Some("RUNNING");
        let handled =
            report.started.contains(&qname) || report.failed.iter().any(|(n, _)| n == &qname);
        if was_running && !handled && lifecycle::status(c, &inst.name) == StatusCode::Stopped {
            lifecycle::record_power(c, &inst.name, "STOPPED")?;
            report.stopped.push(qname);
        }
    }
    incus_sys::fsutil::atomic_write(&stamp, format!("{current}\n").as_bytes(), 0o644)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> incus_api::Config {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn autostart_rule_is_upstreams() {
        assert!(should_autostart(&cfg(&[("boot.autostart", "true")])));
        assert!(!should_autostart(&cfg(&[("boot.autostart", "false")])));
        assert!(!should_autostart(&cfg(&[
            ("boot.autostart", "false"),
            ("volatile.last_state.power", "RUNNING")
        ])));
        assert!(should_autostart(&cfg(&[(
            "volatile.last_state.power",
            "RUNNING"
        )])));
        assert!(!should_autostart(&cfg(&[(
            "volatile.last_state.power",
            "STOPPED"
        )])));
        assert!(!should_autostart(&cfg(&[])));
    }
}
