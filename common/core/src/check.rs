//! `incus admin check`: does the database agree with the disk and the runtime?
//! Read-only: it reports what the next command would repair (pending rows, staging
//! files) and what no command repairs (a bug). The reliability suite asserts that it
//! finds nothing after thousands of mixed and killed operations.

use crate::storage::VolumeType;
use crate::{lifecycle, Context, Result};
use incus_api::StatusCode;
use serde::Serialize;
use std::collections::{BTreeSet, HashSet};

/// One disagreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What kind of object: instance, volume, snapshot, image, cgroup.
    pub kind: String,
    pub name: String,
    pub problem: String,
}

fn problem(kind: &str, name: &str, what: impl Into<String>) -> Problem {
    Problem {
        kind: kind.into(),
        name: name.into(),
        problem: what.into(),
    }
}

/// Names of the directories in `dir` (none when it does not exist).
fn dir_names(dir: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub fn check(ctx: &Context) -> Result<Vec<Problem>> {
    // Host-wide: every project's objects, each instance and volume under its name on
    // the host (`PROJECT_NAME` outside default), seen from the default project (where
    // a host name is its own path).
    let default_ctx;
    let ctx = if ctx.project == crate::project::DEFAULT {
        ctx
    } else {
        default_ctx = ctx.in_project(crate::project::DEFAULT)?;
        &default_ctx
    };
    let (mut instances, pools, mut volumes, images, snapshots) = ctx.db()?.read(|tx| {
        let mut images = Vec::new();
        for (p, _) in incus_db::project_names(tx)? {
            images.extend(incus_db::image_list(tx, &p)?);
        }
        Ok((
            incus_db::instance_list_all(tx)?,
            incus_db::pool_list(tx)?,
            incus_db::volume_list(tx, None, None)?,
            images,
            incus_db::snapshot_list_all(tx)?,
        ))
    })?;
    for i in &mut instances {
        i.name = crate::names::project_prefixed(&i.project, &i.name);
    }
    for v in &mut volumes {
        if v.volume_type != "image" {
            v.name = crate::names::project_prefixed(&v.project, &v.name);
        }
    }
    let mut out = Vec::new();

    // Instances: finished, with a volume row and a volume on disk.
    for i in &instances {
        // Markers a repair acts on: one that does not validate was not written here.
        if let Err(e) = crate::volatile::validate_instance_markers(&i.config) {
            out.push(problem("instance", &i.name, e.message));
        }
        if let Some(Err(e)) = crate::idmap::recorded(&i.config) {
            out.push(problem("instance", &i.name, e.message));
        } else if let (Some(Ok((base, size))), Ok(host)) = (
            crate::idmap::recorded(&i.config),
            crate::idmap::HostIds::load(),
        ) {
            if let Err(e) = crate::idmap::check(&host, base, size, &[]) {
                out.push(problem("instance", &i.name, e.message));
            }
        }
        if i.pending {
            out.push(problem(
                "instance",
                &i.name,
                "unfinished create or delete (the next command on it repairs it)",
            ));
            continue;
        }
        marks_left(ctx, i, &mut out);
        if matches!(
            incus_runtime::status(&ctx.instance_run_dir(&i.name)),
            incus_runtime::Status::Orphaned { .. }
        ) {
            out.push(problem(
                "instance",
                &i.name,
                "init runs without its monitor (listed as running; a stop repairs it)",
            ));
        }
        let Some(pool) = pools.iter().find(|p| p.name == i.pool) else {
            out.push(problem(
                "instance",
                &i.name,
                format!("pool \"{}\" missing", i.pool),
            ));
            continue;
        };
        let path = ctx
            .pools_dir()
            .join(&pool.name)
            .join(VolumeType::Container.dir_name())
            .join(&i.name);
        let vm = i.instance_type == crate::vm::VM;
        if (!vm && !path.join("rootfs").is_dir())
            || (vm && !path.join(crate::vm::ROOT_IMG).is_file())
        {
            out.push(problem(
                "instance",
                &i.name,
                format!("no rootfs at {}", path.display()),
            ));
        }
        if !volumes
            .iter()
            .any(|v| v.pool == i.pool && v.volume_type == "container" && v.name == i.name)
        {
            out.push(problem("instance", &i.name, "no storage volume row"));
        }
        // Snapshot rows have their data.
        for s in snapshots.get(&i.id).into_iter().flatten() {
            let snap_dir = ctx
                .pools_dir()
                .join(&pool.name)
                .join(format!("{}-snapshots", VolumeType::Container.dir_name()))
                .join(&i.name)
                .join(&s.name);
            if !snap_dir.exists() {
                out.push(problem(
                    "snapshot",
                    &format!("{}/{}", i.name, s.name),
                    format!("no data at {}", snap_dir.display()),
                ));
            }
        }
    }

    for v in &volumes {
        if let Some(m) = v.config.get("volatile.rename_from") {
            if let Err(e) = crate::volatile::validate_volume_rename_mark("volatile.rename_from", m)
            {
                out.push(problem(
                    "volume",
                    &format!("{}/{}", v.pool, v.name),
                    e.message,
                ));
            }
        }
    }

    // Volumes on disk without rows, per pool and type.
    let names: HashSet<&str> = instances.iter().map(|i| i.name.as_str()).collect();
    for pool in &pools {
        let base = ctx.pools_dir().join(&pool.name);
        for vtype in [VolumeType::Container, VolumeType::Custom] {
            for name in dir_names(&base.join(vtype.dir_name())) {
                if name.starts_with('.') {
                    continue;
                }
                let has_row = volumes.iter().any(|v| {
                    v.pool == pool.name && v.volume_type == vtype.as_str() && v.name == name
                });
                if !has_row {
                    out.push(problem(
                        "volume",
                        &format!("{}/{}/{name}", pool.name, vtype.as_str()),
                        "on disk without a database row",
                    ));
                }
            }
        }
        let snaps_dir = base.join(format!("{}-snapshots", VolumeType::Container.dir_name()));
        for inst in dir_names(&snaps_dir) {
            let Some(row) = instances.iter().find(|i| i.name == inst) else {
                out.push(problem(
                    "snapshot",
                    &inst,
                    format!(
                        "snapshots of a missing instance under {}",
                        snaps_dir.display()
                    ),
                ));
                continue;
            };
            let rows = snapshots.get(&row.id);
            for snap in dir_names(&snaps_dir.join(&inst)) {
                if snap.starts_with('.') {
                    continue;
                }
                if !rows.is_some_and(|r| r.iter().any(|s| s.name == snap)) {
                    out.push(problem(
                        "snapshot",
                        &format!("{inst}/{snap}"),
                        "on disk without a database row",
                    ));
                }
            }
        }
    }

    // Images: rows have files, files have rows; no staging left.
    let fingerprints: HashSet<&str> = images.iter().map(|i| i.fingerprint.as_str()).collect();
    for img in &images {
        if !ctx.images_dir().join(&img.fingerprint).is_file() {
            out.push(problem("image", &img.fingerprint, "file missing"));
        }
    }
    for name in dir_names(&ctx.images_dir()) {
        let fp = name.strip_suffix(".rootfs").unwrap_or(&name);
        if name.starts_with('.') {
            out.push(problem("image", &name, "staging left by an import"));
        } else if !fingerprints.contains(fp) {
            out.push(problem("image", &name, "file without a database row"));
        }
    }

    // Runtime: a cgroup of ours belongs to a running instance.
    for name in incus_runtime::cgroup_names(&ctx.prefix).unwrap_or_default() {
        if !names.contains(name.as_str()) {
            out.push(problem(
                "cgroup",
                &name,
                "cgroup of an instance that does not exist",
            ));
        } else if lifecycle::status(ctx, &name) == StatusCode::Stopped {
            out.push(problem("cgroup", &name, "cgroup of a stopped instance"));
        }
    }
    Ok(out)
}

/// The marks of half-done work whose owner died (its instance lock is free): the
/// state they stand for is neither the old nor the new one until the next command on
/// the instance finishes them (a frozen instance no snapshot is being taken of, a
/// stopped one whose user had it running, a rename or snapshot half done).
fn marks_left(ctx: &Context, i: &incus_db::InstanceRow, out: &mut Vec<Problem>) {
    let marks = [
        (crate::instance::RENAME_MARK, "rename"),
        (crate::snapshot::OP_MARK, "snapshot operation"),
        (lifecycle::POWER_MARK, "power change"),
    ];
    if !marks.iter().any(|(k, _)| i.config.contains_key(*k)) || ctx.instance_lock_held(&i.name) {
        return;
    }
    let status = lifecycle::status(ctx, &i.name);
    for (key, what) in marks {
        let Some(value) = i.config.get(key) else {
            continue;
        };
        let state = match (key, value.as_str(), status) {
            (lifecycle::POWER_MARK, "freeze", StatusCode::Frozen) => {
                ": frozen, and no snapshot is in progress"
            }
            (lifecycle::POWER_MARK, "restart", StatusCode::Stopped) => {
                ": stopped, and nothing is starting it again"
            }
            _ => "",
        };
        out.push(problem(
            "instance",
            &i.name,
            format!(
                "unfinished {what} ({key}={value}) left by a killed command{state} \
                 (the next command on it finishes it)"
            ),
        ));
    }
}
