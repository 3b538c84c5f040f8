//! Instances: create, list, show, config, devices, rename, delete, and the repair of
//! half-done work left by a killed tool.

use crate::storage::{self, VolumeType};
use crate::{devices, events, image, lifecycle, names, time, Context, Error, Result};
use incus_api::{keys, Config, Devices, Instance, InstancePut, InstanceState, StatusCode};
use incus_db::InstanceRow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Size of the id range each unprivileged instance gets by default.
pub const IDMAP_SIZE: u64 = crate::idmap::DEFAULT_SIZE;

/// What `create` (and `launch`) takes.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Instance name; a random one when `None`.
    pub name: Option<String>,
    /// Image alias or fingerprint; `None` for `--empty`.
    pub image: Option<String>,
    /// Profiles in order; `None` means `["default"]`, `Some(vec![])` is `--no-profiles`.
    pub profiles: Option<Vec<String>>,
    pub config: Config,
    pub devices: Devices,
    /// `-s POOL`: the root disk's pool.
    pub pool: Option<String>,
    pub ephemeral: bool,
    pub description: String,
    /// `container` (also when empty) or `virtual-machine` (`--vm`).
    pub instance_type: String,
}

/// The runtime status of an instance.
pub fn status(ctx: &Context, name: &str) -> StatusCode {
    crate::lifecycle::status(ctx, name)
}

/// The database row of an instance (repairing a half-created one on the way).
pub fn get_row(ctx: &Context, name: &str) -> Result<InstanceRow> {
    load(ctx, name)
}

/// The volume path of an instance (its root volume on its pool).
pub fn volume_path(ctx: &Context, row: &InstanceRow) -> PathBuf {
    ctx.pools_dir()
        .join(&row.pool)
        .join(VolumeType::Container.dir_name())
        .join(crate::names::project_prefixed(&row.project, &row.name))
}

/// The rootfs of an instance.
pub fn rootfs_path(ctx: &Context, row: &InstanceRow) -> PathBuf {
    volume_path(ctx, row).join("rootfs")
}

/// Converts a row into the REST object (without state).
fn to_api<'a>(
    row: &InstanceRow,
    profiles: impl IntoIterator<Item = &'a incus_db::ProfileRow>,
    st: StatusCode,
) -> Instance {
    let (expanded_config, expanded_devices) =
        crate::profile::expand(profiles, &row.config, &row.devices);
    Instance {
        architecture: row.architecture.clone(),
        config: row.config.clone(),
        devices: row.devices.clone(),
        ephemeral: row.ephemeral,
        profiles: row.profiles.clone(),
        stateful: row.stateful,
        description: row.description.clone(),
        created_at: row.created_at.clone(),
        expanded_config,
        expanded_devices,
        name: row.name.clone(),
        status: st.as_str().into(),
        status_code: st.code(),
        last_used_at: row.last_used_at.clone(),
        location: "none".into(),
        instance_type: row.instance_type.clone(),
        project: row.project.clone(),
        backups: None,
        state: None,
        snapshots: None,
    }
}

fn load(ctx: &Context, name: &str) -> Result<InstanceRow> {
    let project = ctx.project.clone();
    let row = ctx
        .db()?
        .read(|tx| incus_db::instance_get(tx, &project, name))?
        .ok_or_else(|| Error::not_found(format!("Instance \"{name}\" not found")))?;
    if needs_repair(&row) {
        // Never act on (or past) a marker this installation did not write.
        crate::volatile::validate_instance_markers(&row.config)?;
    }
    if needs_repair(&row) && repair_one(ctx, &row)? {
        return Err(Error::not_found(format!("Instance \"{name}\" not found")));
    }
    if row.config.contains_key(RENAME_MARK)
        || row.config.contains_key(crate::snapshot::OP_MARK)
        || row.config.contains_key(lifecycle::POWER_MARK)
    {
        // Repaired just now (or being renamed by another process): read it again.
        let project = ctx.project.clone();
        return ctx
            .db()?
            .read(|tx| incus_db::instance_get(tx, &project, name))?
            .ok_or_else(|| Error::not_found(format!("Instance \"{name}\" not found")));
    }
    Ok(row)
}

/// Marks a rename in flight: the rows already carry the new name, this key the old
/// one, until the volume has moved.
pub(crate) const RENAME_MARK: &str = "volatile.rename_from";

/// Half-done work that the next command finishes: a create or delete killed midway
/// (`pending`), a rename killed between its rows and its disk (the rename mark).
fn needs_repair(row: &InstanceRow) -> bool {
    row.pending
        || row.config.contains_key(RENAME_MARK)
        || row.config.contains_key(crate::snapshot::OP_MARK)
        || row.config.contains_key(lifecycle::POWER_MARK)
}

/// Every live row of the project with the profiles by name; half-created instances
/// whose creator died are repaired (removed) on the way.
fn list_rows(ctx: &Context) -> Result<(Vec<InstanceRow>, HashMap<String, incus_db::ProfileRow>)> {
    let project = ctx.project.clone();
    let (rows, profiles) = ctx.db()?.read(|tx| {
        Ok((
            incus_db::instance_list(tx, &project)?,
            incus_db::profile_list(tx, &project)?,
        ))
    })?;
    let mut live = Vec::with_capacity(rows.len());
    for row in rows {
        // A marker that does not validate is never acted on (`admin check` reports it).
        if needs_repair(&row) && crate::volatile::validate_instance_markers(&row.config).is_ok() {
            if repair_one(ctx, &row)? {
                continue;
            }
            if row.config.contains_key(RENAME_MARK) {
                // Finished just now: list it as it is on disk.
                let project = ctx.project.clone();
                if let Some(fresh) = ctx
                    .db()?
                    .read(|tx| incus_db::instance_get(tx, &project, &row.name))?
                {
                    live.push(fresh);
                }
                continue;
            }
        }
        live.push(row);
    }
    let by_name = profiles.into_iter().map(|p| (p.name.clone(), p)).collect();
    Ok((live, by_name))
}

fn profiles_of<'a>(
    row: &'a InstanceRow,
    by_name: &'a HashMap<String, incus_db::ProfileRow>,
) -> impl Iterator<Item = &'a incus_db::ProfileRow> {
    row.profiles.iter().filter_map(|n| by_name.get(n))
}

/// `list`: every instance (recursion=1).
pub fn list(ctx: &Context) -> Result<Vec<Instance>> {
    let (rows, by_name) = list_rows(ctx)?;
    let run_dirs: Vec<PathBuf> = rows.iter().map(|r| ctx.instance_run_dir(&r.name)).collect();
    let statuses = each_run_dir(&run_dirs, crate::lifecycle::status_at);
    Ok(rows
        .iter()
        .zip(statuses)
        .map(|(row, st)| to_api(row, profiles_of(row, &by_name), st))
        .collect())
}

/// `list` with state and snapshots (recursion=2; upstream's `InstanceFull`): one read
/// of the database and one look at each instance's runtime state.
pub fn list_full(ctx: &Context) -> Result<Vec<Instance>> {
    let (rows, by_name) = list_rows(ctx)?;
    let mut snapshots = ctx.db()?.read(incus_db::snapshot_list_all)?;
    let run_dirs: Vec<PathBuf> = rows.iter().map(|r| ctx.instance_run_dir(&r.name)).collect();
    let states = each_run_dir(&run_dirs, crate::lifecycle::state_at);
    let mut out = Vec::with_capacity(rows.len());
    for (row, st) in rows.iter().zip(states) {
        let status = crate::lifecycle::status_of(&st);
        let mut inst = to_api(row, profiles_of(row, &by_name), status);
        inst.snapshots = Some(
            snapshots
                .remove(&row.id)
                .unwrap_or_default()
                .into_iter()
                .map(|s| crate::snapshot::api_of(row, profiles_of(row, &by_name), s))
                .collect(),
        );
        let mut st = st;
        crate::lifecycle::nic_details(&mut st, &inst);
        inst.state = Some(st);
        inst.backups = Some(vec![]);
        out.push(inst);
    }
    Ok(out)
}

/// `look` at the run directory of many instances, in order. The reads are small files
/// of /proc, cgroupfs and the run directory, mostly kernel time: spread over the cores
/// when there are enough instances to repay a thread.
fn each_run_dir<T: Send>(run_dirs: &[PathBuf], look: fn(&Path) -> T) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(run_dirs.len() / 16)
        .max(1);
    if threads == 1 {
        return run_dirs.iter().map(|d| look(d)).collect();
    }
    let chunk = run_dirs.len().div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = run_dirs
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|d| look(d)).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("run directory reads do not panic"))
            .collect()
    })
}

/// `show`.
pub fn get(ctx: &Context, name: &str) -> Result<Instance> {
    let row = load(ctx, name)?;
    let profiles = crate::profile::load_all(ctx, &row.profiles)?;
    let status = crate::lifecycle::status_at(&ctx.instance_run_dir(name));
    Ok(to_api(&row, &profiles, status))
}

/// `GET .../state`.
pub fn state(ctx: &Context, name: &str) -> Result<InstanceState> {
    crate::lifecycle::state(ctx, name)
}

/// Checks an instance's local config keys (upstream's rules, our key table).
pub fn validate_config(config: &Config) -> Result<()> {
    for (k, v) in config {
        keys::validate_instance(k, v)?;
        crate::snapshot::validate_key(k, v)?;
        crate::security::validate_key(k, v)?;
    }
    // Key combinations (security.syscalls.allow excludes the deny keys).
    crate::security::syscalls_of(config)?;
    Ok(())
}

pub fn random_name() -> String {
    const ADJ: &[&str] = &[
        "able", "brave", "calm", "eager", "fair", "gentle", "happy", "jolly", "keen", "lively",
        "merry", "noble", "proud", "quick", "sharp", "tidy", "vivid", "witty",
    ];
    const NOUN: &[&str] = &[
        "badger", "crane", "dingo", "egret", "falcon", "gecko", "heron", "ibis", "jackal", "koala",
        "lemur", "marten", "newt", "otter", "panda", "quail", "raven", "stoat",
    ];
    let r = uuid::Uuid::new_v4();
    let b = r.as_bytes();
    format!(
        "{}-{}",
        ADJ[b[0] as usize % ADJ.len()],
        NOUN[b[1] as usize % NOUN.len()]
    )
}

/// Records the id map of an unprivileged instance in `config` (`volatile.idmap.base`
/// and `.next`): `security.idmap.base` when set, else the lowest free range of
/// `security.idmap.size` ids in root's subordinate ranges, disjoint from every other
/// instance's range (`self_id`: the instance's own row, 0 for a new one).
pub(crate) fn record_idmap(
    tx: &incus_db::Tx,
    _project: &str,
    self_id: i64,
    expanded: &Config,
    config: &mut Config,
) -> Result<()> {
    let host = crate::idmap::HostIds::load()?;
    let want = crate::idmap::wanted(expanded)?;
    let base = match want.base {
        Some(b) => b,
        None => crate::idmap::allocate(
            &host,
            // Ranges are host-wide: every project's instances count.
            &incus_db::instance_list_all(tx)?,
            self_id,
            want.size,
        )?,
    };
    // raw.idmap entries are checked at each start (the host's ranges may change).
    crate::idmap::check(&host, base, want.size, &[])?;
    config.insert("volatile.idmap.base".into(), base.to_string());
    config.insert(
        "volatile.idmap.next".into(),
        crate::idmap::next_json(base, want.size),
    );
    Ok(())
}

/// `create` / `init`: rows first (marked pending), then the rootfs, then the mark is
/// cleared. A tool killed in between leaves a pending row that the next command
/// removes together with whatever reached the disk.
pub fn create(ctx: &Context, opts: CreateOptions) -> Result<Instance> {
    let name = match &opts.name {
        Some(n) => n.clone(),
        None => random_name(),
    };
    names::validate_instance_name(&name)?;
    crate::volatile::check_client_config(&Config::new(), &opts.config)?;
    validate_config(&opts.config)?;
    let itype = crate::vm::check_type(&opts.instance_type)?;
    let is_vm = itype == crate::vm::VM;
    for k in opts.config.keys() {
        keys::check_instance_type(k, is_vm)?;
    }
    if is_vm && opts.image.is_none() {
        return Err(Error::unsupported(
            "Empty virtual machines are not supported yet (launch one from a VM image)",
        ));
    }
    devices::validate_devices(&opts.devices)?;
    let profile_names = opts
        .profiles
        .clone()
        .unwrap_or_else(|| vec!["default".to_string()]);
    let profiles = crate::profile::load_all(ctx, &profile_names)?;
    let mut local_devices = opts.devices.clone();
    let (_, expanded_devices) = crate::profile::expand(&profiles, &opts.config, &local_devices);
    let pool = match (&opts.pool, devices::root_disk(&expanded_devices)) {
        (Some(pool), root) => {
            // `-s POOL` overrides the root disk's pool with a local device, as upstream.
            let dev_name = root.map(|(n, _)| n.clone()).unwrap_or_else(|| "root".into());
            let mut dev = root.map(|(_, d)| d.clone()).unwrap_or_default();
            dev.insert("type".into(), "disk".into());
            dev.insert("path".into(), "/".into());
            dev.insert("pool".into(), pool.clone());
            local_devices.insert(dev_name, dev);
            pool.clone()
        }
        (None, Some((_, root))) => root.get("pool").cloned().ok_or_else(|| {
            Error::invalid("The root disk device has no \"pool\" property")
        })?,
        (None, None) => {
            return Err(Error::invalid(
                "No root device could be found: add a root disk to a profile (incus admin init) or pass -s POOL",
            ))
        }
    };
    // Lock order: pool (shared) -> image (shared) -> instance. The shared locks keep
    // the pool and the image from being deleted while the rootfs is built.
    let _pool_lock = ctx.lock_pool_shared(&pool)?;
    let (pool_info, driver) = storage::load_pool(ctx, &pool)?;
    let (img, _image_lock) = match &opts.image {
        Some(i) => {
            let found = image::resolve(ctx, i)?;
            let lock = ctx.lock_image_shared(&found.fingerprint)?;
            // Re-read under the lock: it may have been deleted meanwhile.
            let found = image::resolve(ctx, &found.fingerprint)?;
            if (found.image_type == crate::vm::VM) != is_vm {
                return Err(Error::invalid(format!(
                    "Requested image's type \"{}\" doesn't match instance type \"{itype}\"",
                    found.image_type
                )));
            }
            (Some(found), Some(lock))
        }
        None => (None, None),
    };

    let _lock = lock(ctx, &name)?;
    let project = ctx.project.clone();
    let mut config = opts.config.clone();
    config.insert("volatile.uuid".into(), uuid::Uuid::new_v4().to_string());
    config.insert(
        "volatile.uuid.generation".into(),
        uuid::Uuid::new_v4().to_string(),
    );
    if let Some(img) = &img {
        config.insert("volatile.base_image".into(), img.fingerprint.clone());
        for (k, v) in &img.properties {
            config
                .entry(format!("image.{k}"))
                .or_insert_with(|| v.clone());
        }
        config.insert("volatile.apply_template".into(), "create".into());
    }
    let (expanded_config, expanded_devices) =
        crate::profile::expand(&profiles, &config, &local_devices);
    let privileged = expanded_config
        .get("security.privileged")
        .and_then(|v| keys::parse_bool(v))
        .unwrap_or(false);
    // A rename interrupted while moving away from this name still owns its volume
    // directory: finish it first (rare; `list` would do the same).
    let renaming_from_here = |rows: &[InstanceRow]| {
        rows.iter()
            .any(|r| r.config.get(RENAME_MARK).map(String::as_str) == Some(name.as_str()))
    };
    if renaming_from_here(&ctx.db()?.read(|tx| incus_db::instance_list(tx, &project))?) {
        repair_all(ctx)?;
    }
    let row = ctx.db()?.write_durable(|tx| {
        let mut row = InstanceRow {
            name: name.clone(),
            project: project.clone(),
            instance_type: itype.into(),
            architecture: img
                .as_ref()
                .map(|i| i.architecture.clone())
                .unwrap_or_else(incus_sys::architecture),
            ephemeral: opts.ephemeral,
            created_at: time::now(),
            last_used_at: incus_api::EPOCH_TIME.into(),
            description: opts.description.clone(),
            pool: pool.clone(),
            pending: true,
            config: config.clone(),
            devices: local_devices.clone(),
            profiles: profile_names.clone(),
            ..Default::default()
        };
        // Project limits, in the transaction that adds the row.
        crate::project::check_instance(tx, &project, &name, itype, &expanded_config, true)?;
        crate::project::check_restricted(tx, &project, &expanded_config, &expanded_devices)?;
        if !privileged && !is_vm {
            record_idmap(tx, &project, 0, &expanded_config, &mut row.config)?;
        }
        row.id = incus_db::instance_create(tx, &row)?;
        incus_db::volume_create(
            tx,
            &storage::volume_row(ctx, &pool, VolumeType::Container, &name),
        )?;
        Ok(row)
    })?;

    // Only what this call made is rolled back: a volume directory that was already
    // there (create_volume refuses it) is not ours to delete.
    let mut made_volume = false;
    let built = (|| -> Result<()> {
        match &img {
            Some(img) => {
                let src = image::stored_source(ctx, img);
                let fill = |vol: &Path| -> Result<()> {
                    if is_vm {
                        return crate::vm::fill_volume(&src, vol);
                    }
                    incus_imagefmt::unpack_rootfs(&src, &vol.join("rootfs"), None)
                        .map_err(crate::convert::image_format_error)?;
                    incus_imagefmt::unpack_templates(&src, &vol.join("templates"))
                        .map_err(crate::convert::image_format_error)?;
                    let meta = incus_imagefmt::read_metadata(&src)
                        .map_err(crate::convert::image_format_error)?;
                    let yaml = meta.to_yaml().map_err(crate::convert::image_format_error)?;
                    std::fs::write(vol.join("metadata.yaml"), yaml)?;
                    Ok(())
                };
                // Marked before the call: a half-filled volume is ours to remove.
                made_volume = !pool_info.volume_path(VolumeType::Container, &name).exists();
                driver.create_volume_from_image(
                    ctx,
                    &pool_info,
                    VolumeType::Container,
                    &name,
                    &img.fingerprint,
                    &fill,
                )?;
            }
            None => {
                let vol = driver.create_volume(&pool_info, VolumeType::Container, &name)?;
                made_volume = true;
                std::fs::create_dir(vol.join("rootfs"))?;
            }
        }
        let (_, expanded) = crate::profile::expand(&profiles, &config, &local_devices);
        if let Some(size) = storage::volume::new_root_size(&expanded, &pool_info)? {
            storage::volume::apply_size(
                driver.as_ref(),
                &pool_info,
                VolumeType::Container,
                &name,
                Some(size),
            )?;
        }
        symlink_instance(ctx, &row)?;
        // The last write clears the pending mark and records the event and the
        // image's use in one commit.
        let now = time::now();
        ctx.db()?.write(|tx| {
            incus_db::instance_set_pending(tx, row.id, false)?;
            if let Some(img) = &img {
                incus_db::image_touch(tx, img.id, &now)?;
            }
            events::record(
                tx,
                &project,
                "instance-created",
                &format!("/1.0/instances/{name}"),
                serde_json::json!({"type": itype}),
            )
        })
    })();
    if let Err(e) = built {
        // Roll back everything this call made; the lock is still ours.
        let _ = if made_volume {
            remove_everything(ctx, &row)
        } else {
            remove_rows(ctx, &row)
        };
        return Err(e);
    }
    crate::backup::sync_instance(ctx, &name);
    get(ctx, &name)
}

/// `INCUS_DIR/containers/NAME` -> the volume, as upstream lays it out. Also closes the
/// volume (0100): every way an instance volume comes to be (create, copy, rename) ends here.
pub(crate) fn symlink_instance(ctx: &Context, row: &InstanceRow) -> Result<()> {
    storage::set_mode(&volume_path(ctx, row), storage::INSTANCE_VOLUME_MODE)?;
    let dir = ctx.incus_dir.join("containers");
    std::fs::create_dir_all(&dir)?;
    let link = dir.join(crate::names::project_prefixed(&row.project, &row.name));
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(volume_path(ctx, row), &link)?;
    Ok(())
}

/// Removes disk side, volume row and instance row (rows last).
pub(crate) fn remove_everything(ctx: &Context, row: &InstanceRow) -> Result<()> {
    crate::snapshot::delete_all_disk(ctx, row)?;
    if let Ok((pool_info, driver)) = storage::load_pool(ctx, &row.pool) {
        driver.delete_volume(&pool_info, VolumeType::Container, &row.name)?;
    }
    let _ = std::fs::remove_file(
        ctx.incus_dir
            .join("containers")
            .join(crate::names::project_prefixed(&row.project, &row.name)),
    );
    let _ = incus_sys::fsutil::remove_tree(&ctx.instance_log_dir(&row.name));
    crate::backup_store::remove_all(ctx, &row.name);
    remove_rows(ctx, row)
}

/// Removes the volume row and the instance row.
fn remove_rows(ctx: &Context, row: &InstanceRow) -> Result<()> {
    let pool = row.pool.clone();
    let name = row.name.clone();
    let id = row.id;
    ctx.db()?.write(|tx| {
        if let Some(v) = incus_db::volume_get(tx, &ctx.project, &pool, "container", &name)? {
            incus_db::volume_delete(tx, v.id)?;
        }
        incus_db::instance_delete(tx, id)
    })
}

/// Finishes a pending instance whose creator (or deleter) died: removes it. Returns
/// false when another process is still working on it (its lock is held).
/// Finishes half-done work on one instance whose owner died (its lock is free):
/// a pending instance is removed (returns true), an interrupted rename is completed
/// (returns false: the instance lives on under its new name). Work whose owner is
/// still running is left alone.
fn repair_one(ctx: &Context, row: &InstanceRow) -> Result<bool> {
    let Some(_lock) = ctx.try_lock_instance(&row.name)? else {
        return Ok(false);
    };
    repair_locked(ctx, &row.name)
}

/// Takes an instance's lock, then finishes the half-done work a killed owner left on
/// it (holding the lock, we know the owner is dead). Every command that changes an
/// instance takes its lock through this, so the next command repairs before it acts.
pub(crate) fn lock(ctx: &Context, name: &str) -> Result<incus_sys::lock::Lock> {
    let lock = ctx.lock_instance(name)?;
    let project = ctx.project.clone();
    let row = ctx
        .db()?
        .read(|tx| incus_db::instance_get(tx, &project, name))?;
    if row.is_some_and(|r| needs_repair(&r)) {
        repair_locked(ctx, name)?;
    }
    Ok(lock)
}

/// [`repair_one`] for a caller holding the instance lock. The power mark is finished
/// last: a restore's disk work comes before the start that ends it.
fn repair_locked(ctx: &Context, name: &str) -> Result<bool> {
    // Re-read under the lock: the owner may have finished meanwhile.
    let project = ctx.project.clone();
    let fresh = ctx
        .db()?
        .read(|tx| incus_db::instance_get(tx, &project, name))?;
    if let Some(r) = &fresh {
        // Never act on (or past) a marker this installation did not write.
        crate::volatile::validate_instance_markers(&r.config)?;
    }
    let power = fresh
        .as_ref()
        .is_some_and(|r| !r.pending && r.config.contains_key(lifecycle::POWER_MARK));
    let gone = repair_marks(ctx, fresh)?;
    if power && !gone {
        lifecycle::finish_power_op(ctx, name)?;
        // An ephemeral instance's finished stop deleted it.
        let project = ctx.project.clone();
        let row = ctx
            .db()?
            .read(|tx| incus_db::instance_get(tx, &project, name))?;
        return Ok(row.is_none());
    }
    Ok(gone)
}

/// Finishes the pending, rename and snapshot marks of a row read under its lock.
fn repair_marks(ctx: &Context, fresh: Option<InstanceRow>) -> Result<bool> {
    match fresh {
        Some(r) if r.pending => {
            remove_everything(ctx, &r)?;
            Ok(true)
        }
        Some(r) if r.config.contains_key(RENAME_MARK) => {
            finish_rename(ctx, &r)?;
            Ok(false)
        }
        Some(r) if r.config.contains_key(crate::snapshot::OP_MARK) => {
            crate::snapshot::finish_op(ctx, &r)?;
            Ok(false)
        }
        Some(_) => Ok(false),
        None => Ok(true),
    }
}

/// Second half of a rename: moves the volume from the old name (if it is still
/// there), re-points `INCUS_DIR/containers/`, clears the mark. Idempotent.
fn finish_rename(ctx: &Context, row: &InstanceRow) -> Result<()> {
    let Some(old) = row.config.get(RENAME_MARK) else {
        return Ok(());
    };
    let (pool_info, driver) = storage::load_pool(ctx, &row.pool)?;
    let from = pool_info.volume_path(VolumeType::Container, old);
    let to = pool_info.volume_path(VolumeType::Container, &row.name);
    if from.exists() && !to.exists() {
        driver.rename_volume(&pool_info, VolumeType::Container, old, &row.name)?;
    }
    crate::snapshot::rename_disk(ctx, &row.pool, old, &row.name)?;
    crate::backup_store::rename_all(ctx, old, &row.name);
    let _ = std::fs::remove_file(ctx.incus_dir.join("containers").join(ctx.host_name(old)));
    symlink_instance(ctx, row)?;
    let project = ctx.project.clone();
    ctx.db()?.write(|tx| {
        incus_db::instance_config_set(tx, row.id, RENAME_MARK, None)?;
        events::record(
            tx,
            &project,
            "instance-renamed",
            &format!("/1.0/instances/{}", row.name),
            serde_json::json!({"old_name": old}),
        )
    })
}

/// Finishes every half-done instance (pending or mid-rename); returns how many were
/// looked at.
pub fn repair_all(ctx: &Context) -> Result<usize> {
    let project = ctx.project.clone();
    let rows = ctx.db()?.read(|tx| incus_db::instance_list(tx, &project))?;
    let mut n = 0;
    for r in rows.iter().filter(|r| needs_repair(r)) {
        repair_one(ctx, r)?;
        n += 1;
    }
    Ok(n)
}

/// `delete`: refused while running ("Instance is running") unless the caller stopped
/// it. Marked pending first, so a crash mid-way is finished by the next command.
pub fn delete(ctx: &Context, name: &str) -> Result<()> {
    let _lock = lock(ctx, name)?;
    delete_locked(ctx, name)
}

/// [`delete`] for a caller holding the instance lock (an ephemeral instance's stop).
pub(crate) fn delete_locked(ctx: &Context, name: &str) -> Result<()> {
    let row = load(ctx, name)?;
    if status(ctx, name) != StatusCode::Stopped {
        return Err(Error::invalid("Instance is running"));
    }
    if row
        .config
        .get("security.protection.delete")
        .and_then(|v| keys::parse_bool(v))
        == Some(true)
    {
        return Err(Error::forbidden(
            "Instance is protected from being deleted (security.protection.delete)",
        ));
    }
    ctx.db()?
        .write_durable(|tx| incus_db::instance_set_pending(tx, row.id, true))?;
    remove_everything(ctx, &row)?;
    crate::network::forget_instance(ctx, name)?;
    events::lifecycle(
        ctx,
        "instance-deleted",
        &format!("/1.0/instances/{name}"),
        serde_json::json!({}),
    )
}

/// `rename` (stopped instances only).
pub fn rename(ctx: &Context, name: &str, new_name: &str) -> Result<()> {
    names::validate_instance_name(new_name)?;
    // Both names are locked; in name order so two renames cannot deadlock.
    let (a, b) = if name < new_name {
        (name, new_name)
    } else {
        (new_name, name)
    };
    let _l1 = lock(ctx, a)?;
    let _l2 = lock(ctx, b)?;
    let row = load(ctx, name)?;
    if status(ctx, name) != StatusCode::Stopped {
        return Err(Error::invalid("Renaming of running instance not allowed"));
    }
    let project = ctx.project.clone();
    if ctx
        .db()?
        .read(|tx| incus_db::instance_get(tx, &project, new_name))?
        .is_some()
    {
        return Err(Error::conflict(format!(
            "Instance \"{new_name}\" already exists"
        )));
    }
    // Rows first, carrying the old name in a mark; then the disk; the mark is cleared
    // last. A kill in between is finished (rolled forward) by the next command.
    let pool = row.pool.clone();
    ctx.db()?.write_durable(|tx| {
        incus_db::instance_rename(tx, row.id, new_name)?;
        if let Some(v) = incus_db::volume_get(tx, &ctx.project, &pool, "container", name)? {
            incus_db::volume_rename(tx, v.id, new_name)?;
        }
        // Templates with the rename trigger run at the next start, unless a trigger is
        // already pending (as upstream: a never-started instance keeps `create`).
        if row
            .config
            .get("volatile.apply_template")
            .is_none_or(|t| t.is_empty())
        {
            incus_db::instance_config_set(tx, row.id, "volatile.apply_template", Some("rename"))?;
        }
        incus_db::instance_config_set(tx, row.id, RENAME_MARK, Some(name))
    })?;
    let mut renamed = row;
    renamed.name = new_name.to_string();
    renamed
        .config
        .insert(RENAME_MARK.to_string(), name.to_string());
    finish_rename(ctx, &renamed)?;
    crate::backup::sync_instance(ctx, new_name);
    // dnsmasq host entries carry the name; the next start writes new ones.
    crate::network::forget_instance(ctx, name)
}

/// Replaces the writable part (`config edit`, `PUT`). Validates the result as a whole:
/// keys, devices, profiles, and that a root disk remains.
pub fn update(ctx: &Context, name: &str, put: InstancePut) -> Result<Instance> {
    let _lock = lock(ctx, name)?;
    update_locked(ctx, name, put)
}

/// Read-modify-write of the writable part under the instance lock, so two
/// concurrent `config set` calls never lose each other's keys.
pub fn modify(
    ctx: &Context,
    name: &str,
    f: impl FnOnce(&Instance, &mut InstancePut) -> Result<()>,
) -> Result<Instance> {
    let _lock = lock(ctx, name)?;
    let inst = get(ctx, name)?;
    let mut put = InstancePut::from(&inst);
    f(&inst, &mut put)?;
    update_locked(ctx, name, put)
}

fn update_locked(ctx: &Context, name: &str, put: InstancePut) -> Result<Instance> {
    let mut row = load(ctx, name)?;
    let (_, old_devices) = crate::profile::expand(
        &crate::profile::load_all(ctx, &row.profiles)?,
        &row.config,
        &row.devices,
    );
    let old_size = storage::volume::root_size(&old_devices)?;
    crate::volatile::check_client_config(&row.config, &put.config)?;
    validate_config(&put.config)?;
    for k in put.config.keys() {
        keys::check_instance_type(k, crate::vm::is_vm(&row))?;
    }
    devices::validate_devices(&put.devices)?;
    let profiles = crate::profile::load_all(ctx, &put.profiles)?;
    let (_, expanded_devices) = crate::profile::expand(&profiles, &put.config, &put.devices);
    if devices::root_disk(&expanded_devices).is_none() {
        return Err(Error::invalid(
            "The instance would have no root disk device",
        ));
    }
    let old_row = row.clone();
    crate::network::validate_nics(ctx, name, &put.config, &expanded_devices)?;
    let mut config = put.config;
    // Internal volatile keys are ours: an edit that leaves them out keeps the stored
    // values (the user-settable ones go when left out, as upstream).
    for (k, v) in &row.config {
        if !crate::volatile::client_settable(k) && !config.contains_key(k) {
            config.insert(k.clone(), v.clone());
        }
    }
    // An empty value is no value, as upstream stores config (its client's
    // `config unset` sends the key with "" in a PUT).
    config.retain(|_, v| !v.is_empty());
    row.config = config;
    row.devices = put.devices;
    row.profiles = put.profiles;
    row.description = put.description;
    row.ephemeral = put.ephemeral;
    if !put.architecture.is_empty() {
        row.architecture = put.architecture;
    }
    // A changed root disk size is applied first (refused below current usage).
    let new_size = storage::volume::root_size(&expanded_devices)?;
    if old_size != new_size {
        let (pool_info, driver) = storage::load_pool(ctx, &row.pool)?;
        storage::volume::apply_size(
            driver.as_ref(),
            &pool_info,
            VolumeType::Container,
            name,
            new_size,
        )?;
    }
    // A running instance gets the change live: marked with the row, so a kill before
    // the live state matches it is finished by the next command.
    let live = status(ctx, name) != StatusCode::Stopped;
    if live {
        row.config
            .insert(lifecycle::POWER_MARK.into(), lifecycle::POWER_LIVE.into());
    }
    let project = ctx.project.clone();
    let (expanded_config, checked_devices) =
        crate::profile::expand(&profiles, &row.config, &row.devices);
    ctx.db()?.write(|tx| {
        crate::project::check_instance(
            tx,
            &project,
            name,
            &row.instance_type,
            &expanded_config,
            false,
        )?;
        crate::project::check_restricted(tx, &project, &expanded_config, &checked_devices)?;
        incus_db::instance_update(tx, &row)?;
        events::record(
            tx,
            &project,
            "instance-updated",
            &format!("/1.0/instances/{name}"),
            serde_json::json!({}),
        )
    })?;
    incus_sys::testhook::pause_point("live-apply-before-runtime");
    // Limits and devices change live on a running instance, as upstream; devices that
    // cannot be plugged leave the instance as it was.
    let old_profiles = crate::profile::load_all(ctx, &old_row.profiles)?;
    let (_, old_devices) = crate::profile::expand(&old_profiles, &old_row.config, &old_row.devices);
    if let Err(e) = crate::lifecycle::apply_live_devices(ctx, name, &old_devices, &expanded_devices)
    {
        ctx.db()?
            .write(|tx| incus_db::instance_update(tx, &old_row))?;
        return Err(e);
    }
    let applied = crate::lifecycle::apply_live(ctx, name)
        .and_then(|()| crate::lifecycle::apply_live_nics(ctx, name));
    if live {
        lifecycle::set_power_mark(ctx, row.id, None)?;
    }
    applied?;
    crate::backup::sync_instance(ctx, name);
    crate::guestapi::publish(ctx, name)?;
    get(ctx, name)
}

/// `config set NAME k=v...` (an empty value unsets, as upstream).
pub fn set_config(ctx: &Context, name: &str, pairs: &Config) -> Result<Instance> {
    crate::volatile::check_client_keys(pairs.keys())?;
    modify(ctx, name, |_, put| {
        for (k, v) in pairs {
            if v.is_empty() {
                put.config.remove(k);
            } else {
                put.config.insert(k.clone(), v.clone());
            }
        }
        Ok(())
    })
}

/// `PATCH` of an instance (REST): the given config keys and devices replace the
/// current ones (an empty value unsets its key, never an internal one), the others
/// stay; `description`, `profiles` and `ephemeral` replace theirs when given. Under
/// the instance's lock, so concurrent patches of different keys all land.
pub fn patch(ctx: &Context, name: &str, patch: &serde_json::Value) -> Result<Instance> {
    if let Some(c) = patch.get("config").and_then(|c| c.as_object()) {
        let unset = c.iter().filter(|(_, v)| v.as_str() == Some(""));
        crate::volatile::check_client_keys(unset.map(|(k, _)| k))?;
    }
    modify(ctx, name, |_, put| {
        crate::patch::merge(
            &mut put.config,
            &mut put.devices,
            &mut put.description,
            patch,
        )?;
        put.config.retain(|_, v| !v.is_empty());
        if let Some(p) = patch.get("profiles") {
            put.profiles = serde_json::from_value(p.clone())
                .map_err(|e| Error::invalid(format!("Invalid profiles: {e}")))?;
        }
        if let Some(e) = patch.get("ephemeral").and_then(|e| e.as_bool()) {
            put.ephemeral = e;
        }
        Ok(())
    })
}

/// `config unset NAME KEY`.
pub fn unset_config(ctx: &Context, name: &str, key: &str) -> Result<Instance> {
    crate::volatile::check_client_keys([&key.to_string()])?;
    modify(ctx, name, |_, put| {
        if put.config.remove(key).is_none() {
            keys::validate_instance(key, "")?;
        }
        Ok(())
    })
}

/// `config device add NAME DEV TYPE k=v...`.
pub fn device_add(ctx: &Context, name: &str, dev: &str, config: Config) -> Result<Instance> {
    modify(ctx, name, |_, put| {
        if put.devices.contains_key(dev) {
            return Err(Error::conflict(format!(
                "The device already exists: \"{dev}\""
            )));
        }
        put.devices.insert(dev.to_string(), config);
        Ok(())
    })
}

/// `config device remove NAME DEV...`: a device that only comes from a profile cannot
/// be removed (upstream says so too).
pub fn device_remove(ctx: &Context, name: &str, devs: &[String]) -> Result<Instance> {
    modify(ctx, name, |inst, put| {
        for d in devs {
            if put.devices.remove(d).is_none() {
                if inst.expanded_devices.contains_key(d) {
                    return Err(Error::invalid(format!(
                    "Device \"{d}\" comes from a profile and cannot be removed from the instance"
                )));
                }
                return Err(Error::not_found(format!("Device \"{d}\" not found")));
            }
        }
        Ok(())
    })
}

/// `config device set NAME DEV k=v...` (empty value unsets); a profile device is
/// copied into the instance first (`override`).
pub fn device_set(ctx: &Context, name: &str, dev: &str, pairs: &Config) -> Result<Instance> {
    modify(ctx, name, |inst, put| {
        let entry = match put.devices.get(dev) {
            Some(d) => d.clone(),
            None => inst
                .expanded_devices
                .get(dev)
                .cloned()
                .ok_or_else(|| Error::not_found(format!("Device \"{dev}\" not found")))?,
        };
        let mut entry = entry;
        for (k, v) in pairs {
            if v.is_empty() {
                entry.remove(k);
            } else {
                entry.insert(k.clone(), v.clone());
            }
        }
        put.devices.insert(dev.to_string(), entry);
        Ok(())
    })
}

/// `config device override NAME DEV k=v...`: copies a profile device locally.
pub fn device_override(ctx: &Context, name: &str, dev: &str, pairs: &Config) -> Result<Instance> {
    let inst = get(ctx, name)?;
    if inst.devices.contains_key(dev) {
        return Err(Error::conflict(format!(
            "The device already exists locally: \"{dev}\""
        )));
    }
    if !inst.expanded_devices.contains_key(dev) {
        return Err(Error::not_found(format!("Device \"{dev}\" not found")));
    }
    device_set(ctx, name, dev, pairs)
}

/// Renders the image templates pending for an instance (`volatile.apply_template`)
/// and those with the `start` trigger, then clears the pending trigger (tests and
/// tools that prepare a rootfs without starting it; `start` renders through
/// [`render_templates`] and clears the trigger in its own final write).
pub fn apply_templates(ctx: &Context, name: &str) -> Result<Vec<PathBuf>> {
    let row = load(ctx, name)?;
    let profiles = crate::profile::load_all(ctx, &row.profiles)?;
    let (config, devices) = crate::profile::expand(&profiles, &row.config, &row.devices);
    let written = render_templates(ctx, &row, &config, &devices)?;
    if row.config.contains_key("volatile.apply_template") {
        ctx.db()?.write(|tx| {
            incus_db::instance_config_set(tx, row.id, "volatile.apply_template", None)
        })?;
    }
    Ok(written)
}

/// Renders the pending trigger's templates (`volatile.apply_template`: create, copy,
/// rename) and the `start` ones into the rootfs, as upstream does at every start.
pub(crate) fn render_templates(
    ctx: &Context,
    row: &InstanceRow,
    config: &Config,
    devices: &Devices,
) -> Result<Vec<PathBuf>> {
    let vol = volume_path(ctx, row);
    let meta_path = vol.join("metadata.yaml");
    if !meta_path.exists() {
        return Ok(vec![]);
    }
    let meta = incus_imagefmt::ImageMetadata::from_yaml(&std::fs::read(&meta_path)?)
        .map_err(crate::convert::image_format_error)?;
    let tctx = incus_imagefmt::TemplateContext {
        instance_name: row.name.clone(),
        instance_type: row.instance_type.clone(),
        architecture: row.architecture.clone(),
        privileged: config
            .get("security.privileged")
            .and_then(|v| keys::parse_bool(v))
            .unwrap_or(false),
        ephemeral: row.ephemeral,
        config: config.clone(),
        devices: devices.clone(),
        properties_image: Default::default(),
    };
    let (rootfs, templates) = (vol.join("rootfs"), vol.join("templates"));
    let mut written = Vec::new();
    if let Some(trigger) = row.config.get("volatile.apply_template") {
        written.extend(
            incus_imagefmt::render_templates(
                &rootfs,
                &templates,
                &meta,
                trigger,
                &tctx,
                trigger == "create",
            )
            .map_err(crate::convert::image_format_error)?,
        );
    }
    written.extend(
        incus_imagefmt::render_templates(&rootfs, &templates, &meta, "start", &tctx, false)
            .map_err(crate::convert::image_format_error)?,
    );
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_order_profiles_then_local() {
        let p1 = incus_db::ProfileRow {
            config: [("limits.cpu".to_string(), "1".to_string())].into(),
            ..Default::default()
        };
        let p2 = incus_db::ProfileRow {
            config: [("limits.cpu".to_string(), "2".to_string())].into(),
            ..Default::default()
        };
        let local: Config = [("user.x".to_string(), "y".to_string())].into();
        let (c, _) = crate::profile::expand(&[p1.clone(), p2.clone()], &local, &Devices::new());
        assert_eq!(c["limits.cpu"], "2");
        assert_eq!(c["user.x"], "y");
        let local: Config = [("limits.cpu".to_string(), "4".to_string())].into();
        let (c, _) = crate::profile::expand(&[p1, p2], &local, &Devices::new());
        assert_eq!(c["limits.cpu"], "4");
    }
}
