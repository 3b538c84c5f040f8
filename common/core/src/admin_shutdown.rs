//! `admin shutdown`: what upstream's daemon does when the host shuts down
//! (`instancesShutdown`), for a toolkit with no daemon.
//!
//! `incus-serve` is stopped first, so no client starts anything meanwhile. Then the
//! running instances are stopped in batches of equal `boot.stop.priority`, highest
//! first (then by name), a batch finishing before the next begins; inside a batch
//! they stop in parallel (at most one per core), as upstream. Each gets
//! `boot.host_shutdown_timeout` seconds (default 30) to halt cleanly, then is killed;
//! `boot.host_shutdown_action=force-stop` (or `--force`) kills at once. Each stopped
//! instance keeps `volatile.last_state.power=RUNNING`, and the boot stamp is removed,
//! so the next `admin boot` starts exactly these again (upstream's autostart rule).
//! Ephemeral instances are not deleted (upstream clears the flag around the stop).

use crate::{admin_serve, instance, lifecycle, Context, Error, Result};
use incus_api::StatusCode;
use std::time::{Duration, Instant};

/// Upstream's default `boot.host_shutdown_timeout`.
pub const DEFAULT_HOST_SHUTDOWN_TIMEOUT: u64 = 30;

/// What `shutdown` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// The pid of the `incus-serve` that was stopped.
    pub serve_stopped: Option<i32>,
    /// Stopped instances, in the order their stops finished.
    pub stopped: Vec<String>,
    /// Instances whose stop failed, with the error.
    pub failed: Vec<(String, String)>,
}

fn int_key(config: &incus_api::Config, key: &str) -> Option<i64> {
    config.get(key).and_then(|v| v.trim().parse().ok())
}

/// The batches of running instances, in stop order: (priority, names).
pub fn stop_batches(all: &[incus_api::Instance]) -> Vec<(i64, Vec<String>)> {
    let mut running: Vec<(i64, &str)> = all
        .iter()
        .filter(|i| i.status_code != StatusCode::Stopped.code())
        .map(|i| {
            (
                int_key(&i.expanded_config, "boot.stop.priority").unwrap_or(0),
                i.name.as_str(),
            )
        })
        .collect();
    running.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut batches: Vec<(i64, Vec<String>)> = Vec::new();
    for (prio, name) in running {
        match batches.last_mut() {
            Some((p, names)) if *p == prio => names.push(name.to_string()),
            _ => batches.push((prio, vec![name.to_string()])),
        }
    }
    batches
}

/// Stops one instance for a host shutdown (own context: called from worker threads).
fn stop_one(ctx: &Context, name: &str, force: bool, deadline: Option<Instant>) -> Result<bool> {
    let _lock = ctx.lock_instance(name)?;
    if lifecycle::status(ctx, name) == StatusCode::Stopped {
        return Ok(false);
    }
    let row = instance::get_row(ctx, name)?;
    let profiles = crate::profile::load_all(ctx, &row.profiles)?;
    let (config, _) = crate::profile::expand(&profiles, &row.config, &row.devices);
    let mut timeout = Duration::from_secs(
        int_key(&config, "boot.host_shutdown_timeout")
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(DEFAULT_HOST_SHUTDOWN_TIMEOUT),
    );
    if let Some(d) = deadline {
        timeout = timeout.min(d.saturating_duration_since(Instant::now()));
    }
    let force = force
        || timeout.is_zero()
        || config.get("boot.host_shutdown_action").map(String::as_str) == Some("force-stop");
    lifecycle::stop_locked(ctx, name, timeout, force)?;
    // The stop recorded STOPPED; a host shutdown keeps RUNNING so the next boot
    // starts it again (upstream's VolatileSet after instancesShutdown's stop). An
    // ephemeral instance is kept too: its stop's mark (which would delete it) goes.
    ctx.db()?.write(|tx| {
        incus_db::instance_config_set(tx, row.id, "volatile.last_state.power", Some("RUNNING"))?;
        incus_db::instance_config_set(tx, row.id, lifecycle::POWER_MARK, None)
    })?;
    crate::backup::sync_instance(ctx, name);
    Ok(true)
}

/// `admin shutdown`. `timeout`: the whole run's limit (instances still running then
/// are killed, and the result is an error); `force`: kill instances (and
/// `incus-serve`) without waiting for a clean halt.
pub fn shutdown(ctx: &Context, timeout: Option<Duration>, force: bool) -> Result<ShutdownReport> {
    let start = Instant::now();
    let deadline = timeout.map(|t| start + t);
    let mut report = ShutdownReport::default();
    let serve_deadline = deadline.unwrap_or(start + Duration::from_secs(30));
    report.serve_stopped = admin_serve::stop_serve(ctx, serve_deadline, true)?;

    let _global = ctx.lock_global()?;
    // Every project's; names are `PROJECT/NAME` outside default.
    let mut all = crate::project::across(ctx, instance::list)?;
    for i in &mut all {
        i.name = crate::project::qualified(&i.project, &i.name);
    }
    let batches = stop_batches(&all);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let (incus_dir, run_dir) = (ctx.incus_dir.clone(), ctx.run_dir.clone());
    for (_prio, names) in batches {
        for chunk in names.chunks(cores) {
            let results: Vec<(String, Result<bool>)> = std::thread::scope(|s| {
                let handles: Vec<_> = chunk
                    .iter()
                    .map(|name| {
                        let (incus_dir, run_dir) = (&incus_dir, &run_dir);
                        s.spawn(move || {
                            let (project, bare) = name.split_once('/').unwrap_or(("default", name));
                            let r = Context::new(incus_dir, Some(run_dir)).and_then(|mut c| {
                                c.set_project(project)?;
                                stop_one(&c, bare, force, deadline)
                            });
                            (name.clone(), r, Instant::now())
                        })
                    })
                    .collect();
                let mut done: Vec<_> = handles
                    .into_iter()
                    .map(|h| h.join().expect("stop thread"))
                    .collect();
                done.sort_by_key(|d| d.2);
                done.into_iter().map(|(n, r, _)| (n, r)).collect()
            });
            for (name, r) in results {
                match r {
                    Ok(true) => report.stopped.push(name),
                    Ok(false) => {}
                    Err(e) => report.failed.push((name, e.message)),
                }
            }
        }
    }
    // The next `admin boot` (even in this same boot, e.g. a unit restart) runs in full.
    let _ = std::fs::remove_file(ctx.run_dir.join("boot_id"));
    if let (Some(t), Some(d)) = (timeout, deadline) {
        if Instant::now() > d && !report.failed.is_empty() {
            return Err(Error::busy(format!(
                "Instances still running after the {}s timeout",
                t.as_secs()
            )));
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(name: &str, prio: Option<&str>, running: bool) -> incus_api::Instance {
        let mut i = incus_api::Instance {
            name: name.into(),
            ..Default::default()
        };
        i.status_code = if running {
            StatusCode::Running.code()
        } else {
            StatusCode::Stopped.code()
        };
        if let Some(p) = prio {
            i.expanded_config
                .insert("boot.stop.priority".into(), p.into());
        }
        i
    }

    #[test]
    fn batches_follow_stop_priority_then_name() {
        let all = [
            inst("b", None, true),
            inst("a", Some("0"), true),
            inst("hi", Some("10"), true),
            inst("off", Some("99"), false),
            inst("mid", Some("5"), true),
            inst("mid2", Some("5"), true),
            inst("neg", Some("-1"), true),
        ];
        assert_eq!(
            stop_batches(&all),
            vec![
                (10, vec!["hi".to_string()]),
                (5, vec!["mid".to_string(), "mid2".to_string()]),
                (0, vec!["a".to_string(), "b".to_string()]),
                (-1, vec!["neg".to_string()]),
            ]
        );
    }
}
