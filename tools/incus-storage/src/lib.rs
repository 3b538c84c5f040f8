//! `incus-storage`: upstream's `incus storage` commands (pools, volumes, volume snapshots).

use clap::{CommandFactory, Parser, Subcommand};
use incus_api::{Error, Result, StoragePoolPut, StorageVolumePut};
use incus_cli::{GlobalArgs, ListFormat, ShowFormat};
use incus_client::Backend;
use std::process::ExitCode;

/// Manage storage pools and volumes.
#[derive(Debug, Parser)]
#[command(name = "incus-storage", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create a storage pool: NAME DRIVER [KEY=VALUE...]
    Create {
        name: String,
        driver: String,
        pairs: Vec<String>,
        /// Description
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List storage pools
    #[command(visible_alias = "ls")]
    List {
        /// [REMOTE:] to list
        remote: Option<String>,
        /// Columns (n name, D driver, d description, S source, u used by, s state)
        #[arg(short = 'c', long = "columns", default_value = "nDdus")]
        columns: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Show a storage pool
    Show {
        name: String,
        /// Show the pool's resources instead
        #[arg(long)]
        resources: bool,
        #[command(flatten)]
        format: ShowFormat,
    },
    /// Show usage of a storage pool
    Info {
        name: String,
        /// Print sizes in bytes
        #[arg(long)]
        bytes: bool,
        #[command(flatten)]
        format: ShowFormat,
    },
    /// Get a pool key
    Get { name: String, key: String },
    /// Set pool keys: POOL KEY=VALUE... or POOL KEY VALUE
    Set {
        name: String,
        #[arg(required = true)]
        args: Vec<String>,
    },
    /// Unset a pool key
    Unset { name: String, key: String },
    /// Edit a pool as YAML (from stdin when it is not a terminal)
    Edit { name: String },
    /// Delete storage pools (refused while in use)
    #[command(visible_alias = "rm")]
    Delete {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Manage storage volumes
    Volume {
        #[command(subcommand)]
        command: VolumeCmd,
    },
}

#[derive(Debug, Subcommand)]
pub enum VolumeCmd {
    /// List the volumes of a pool
    #[command(visible_alias = "ls")]
    List {
        pool: String,
        /// Filters: a name prefix, or FIELD=VALUE (`type=custom`, `content_type=block`)
        filters: Vec<String>,
        /// Columns (t type, n name, d description, c content type, u used by)
        #[arg(short = 'c', long = "columns", default_value = "tndcu")]
        columns: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Create a custom volume: POOL VOLUME [KEY=VALUE...] (pool volume.* keys are defaults)
    Create {
        pool: String,
        volume: String,
        pairs: Vec<String>,
        /// Description
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Show a volume: POOL [TYPE/]VOLUME
    Show {
        pool: String,
        volume: String,
        #[command(flatten)]
        format: ShowFormat,
    },
    /// Get a volume key
    Get {
        pool: String,
        volume: String,
        key: String,
    },
    /// Set volume keys: POOL VOLUME KEY=VALUE... or KEY VALUE
    Set {
        pool: String,
        volume: String,
        #[arg(required = true)]
        args: Vec<String>,
    },
    /// Unset a volume key
    Unset {
        pool: String,
        volume: String,
        key: String,
    },
    /// Edit a volume as YAML (from stdin when it is not a terminal)
    Edit { pool: String, volume: String },
    /// Delete custom volumes (refused while attached)
    #[command(visible_alias = "rm")]
    Delete {
        pool: String,
        #[arg(required = true)]
        volumes: Vec<String>,
    },
    /// Rename a custom volume (refused while attached)
    #[command(visible_alias = "mv")]
    Rename {
        pool: String,
        volume: String,
        new_name: String,
    },
    /// Copy a volume: SRCPOOL/VOLUME[/SNAPSHOT] DSTPOOL/VOLUME
    Copy { source: String, target: String },
    /// Export a custom volume as a backup tarball (upstream's format): POOL VOLUME [FILE]
    Export {
        pool: String,
        volume: String,
        /// Target file (`-` for the standard output; VOLUME.tar.gz by default)
        target: Option<String>,
        /// Back up the volume without its snapshots
        #[arg(long)]
        volume_only: bool,
        /// Storage driver optimized format (not supported: refused)
        #[arg(long)]
        optimized_storage: bool,
        /// Compression algorithm: gzip (default), xz or none
        #[arg(long, value_name = "ALGORITHM")]
        compression: Option<String>,
    },
    /// Import a custom volume from a backup tarball: POOL FILE [NAME]
    Import {
        pool: String,
        file: String,
        name: Option<String>,
    },
    /// Move or rename a volume: SRCPOOL/VOLUME DSTPOOL/VOLUME
    Move { source: String, target: String },
    /// Attach a volume to an instance: POOL VOLUME INSTANCE [DEVICE] PATH
    Attach {
        pool: String,
        volume: String,
        instance: String,
        #[arg(num_args = 1..=2, required = true)]
        rest: Vec<String>,
    },
    /// Attach a volume to a profile: POOL VOLUME PROFILE [DEVICE] PATH
    AttachProfile {
        pool: String,
        volume: String,
        profile: String,
        #[arg(num_args = 1..=2, required = true)]
        rest: Vec<String>,
    },
    /// Detach a volume from an instance: POOL VOLUME INSTANCE [DEVICE]
    Detach {
        pool: String,
        volume: String,
        instance: String,
        device: Option<String>,
    },
    /// Detach a volume from a profile: POOL VOLUME PROFILE [DEVICE]
    DetachProfile {
        pool: String,
        volume: String,
        profile: String,
        device: Option<String>,
    },
    /// Show a volume's usage
    Info {
        pool: String,
        volume: String,
        /// Print sizes in bytes
        #[arg(long)]
        bytes: bool,
        #[command(flatten)]
        format: ShowFormat,
    },
    /// Manage volume snapshots
    Snapshot {
        #[command(subcommand)]
        command: SnapshotCmd,
    },
}

#[derive(Debug, Subcommand)]
pub enum SnapshotCmd {
    /// Snapshot a volume: POOL VOLUME [SNAPSHOT]
    Create {
        pool: String,
        volume: String,
        snapshot: Option<String>,
    },
    /// List a volume's snapshots
    #[command(visible_alias = "ls")]
    List {
        pool: String,
        volume: String,
        /// Columns (n name, T taken at, E expires at)
        #[arg(short = 'c', long = "columns", default_value = "nTE")]
        columns: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Delete a snapshot
    #[command(visible_alias = "rm")]
    Delete {
        pool: String,
        volume: String,
        snapshot: String,
    },
    /// Restore a volume from a snapshot (refused while attached)
    Restore {
        pool: String,
        volume: String,
        snapshot: String,
    },
    /// Rename a snapshot
    Rename {
        pool: String,
        volume: String,
        snapshot: String,
        new_name: String,
    },
}

/// `[TYPE/]NAME` -> (type, name); custom when no type is given (as upstream).
fn split_type(volume: &str) -> (&str, &str) {
    match volume.split_once('/') {
        Some((t @ ("custom" | "container" | "image" | "virtual-machine"), n)) => (t, n),
        _ => ("custom", volume),
    }
}

/// Custom volumes only: refuses `container/NAME` and the like.
fn custom(volume: &str) -> Result<&str> {
    match split_type(volume) {
        ("custom", n) => Ok(n),
        (t, _) => Err(Error::invalid(format!(
            "Only custom volumes can be changed here, not \"{t}\" volumes"
        ))),
    }
}

/// `POOL/VOLUME[/SNAPSHOT]` -> (pool, rest).
fn split_pool(arg: &str) -> Result<(&str, &str)> {
    arg.split_once('/')
        .filter(|(p, v)| !p.is_empty() && !v.is_empty())
        .ok_or_else(|| Error::invalid(format!("Expected POOL/VOLUME, not \"{arg}\"")))
}

fn size_str(bytes: bool, v: u64) -> String {
    if bytes {
        v.to_string()
    } else {
        incus_cli::human_size(v as i64)
    }
}

/// `storage volume list POOL FILTER...`, all of which must hold: a bare word is a
/// name prefix; `FIELD=VALUE` compares a field of the volume (`type`, `content_type`,
/// `name`, ...) or else a config key, without regard to case.
fn volume_matches(v: &incus_api::StorageVolume, filters: &[String]) -> bool {
    let json = serde_json::to_value(v).unwrap_or_default();
    filters.iter().all(|f| match f.split_once('=') {
        None => v.name.starts_with(f.as_str()),
        Some((k, want)) => {
            let got = match json.get(k) {
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
                None => v.config.get(k).cloned(),
            };
            got.is_some_and(|g| want.split(',').any(|w| g.eq_ignore_ascii_case(w)))
        }
    })
}

fn volume_exec(backend: &dyn Backend, cmd: VolumeCmd) -> Result<()> {
    match cmd {
        VolumeCmd::List {
            pool,
            filters,
            columns,
            format,
        } => {
            let vols: Vec<_> = backend
                .volumes(&pool)?
                .into_iter()
                .filter(|v| volume_matches(v, &filters))
                .collect();
            incus_cli::print_letter_list(
                format,
                &columns,
                &[
                    ('t', "TYPE"),
                    ('n', "NAME"),
                    ('d', "DESCRIPTION"),
                    ('c', "CONTENT-TYPE"),
                    ('u', "USED BY"),
                ],
                &vols,
                |v, c| match c {
                    't' => v.volume_type.clone(),
                    'n' => v.name.clone(),
                    'd' => v.description.clone(),
                    'c' if v.content_type.is_empty() => "filesystem".into(),
                    'c' => v.content_type.clone(),
                    _ => v.used_by.len().to_string(),
                },
            )?;
        }
        VolumeCmd::Create {
            pool,
            volume,
            pairs,
            description,
        } => {
            backend.volume_create(
                &pool,
                custom(&volume)?,
                incus_cli::parse_pairs(&pairs)?,
                &description,
            )?;
            println!("Storage volume {volume} created");
        }
        VolumeCmd::Show {
            pool,
            volume,
            format,
        } => {
            let (t, n) = split_type(&volume);
            incus_cli::print_show(format, &backend.volume(&pool, t, n)?)?;
        }
        VolumeCmd::Get { pool, volume, key } => {
            let (t, n) = split_type(&volume);
            println!(
                "{}",
                backend
                    .volume(&pool, t, n)?
                    .config
                    .get(&key)
                    .cloned()
                    .unwrap_or_default()
            );
        }
        VolumeCmd::Set { pool, volume, args } => {
            backend.volume_set_keys(&pool, custom(&volume)?, &incus_cli::parse_set_args(&args)?)?;
        }
        VolumeCmd::Unset { pool, volume, key } => {
            backend.volume_set_keys(&pool, custom(&volume)?, &[(key, String::new())].into())?;
        }
        VolumeCmd::Edit { pool, volume } => {
            let name = custom(&volume)?;
            let v = backend.volume(&pool, "custom", name)?;
            let cur = incus_cli::to_yaml(&StorageVolumePut {
                config: v.config,
                description: v.description,
            })?;
            let new: StorageVolumePut = incus_cli::parse_yaml(&incus_cli::edit_text(&cur)?)?;
            backend.volume_update(&pool, name, new)?;
        }
        VolumeCmd::Delete { pool, volumes } => {
            for v in volumes {
                backend.volume_delete(&pool, custom(&v)?)?;
                println!("Storage volume {v} deleted");
            }
        }
        VolumeCmd::Rename {
            pool,
            volume,
            new_name,
        } => {
            backend.volume_rename(&pool, custom(&volume)?, custom(&new_name)?)?;
            println!("Renamed storage volume from \"{volume}\" to \"{new_name}\"");
        }
        VolumeCmd::Export {
            pool,
            volume,
            target,
            volume_only,
            optimized_storage,
            compression,
        } => {
            let opts = incus_client::BackupExportOptions {
                instance_only: volume_only,
                optimized_storage,
                compression,
            };
            let suffix = opts.compression()?.suffix();
            let target = target.unwrap_or_else(|| format!("{volume}{suffix}"));
            incus_cli::write_output(&target, |w| backend.volume_export(&pool, &volume, &opts, w))?;
            if target != "-" {
                println!("Backup exported successfully!");
            }
        }
        VolumeCmd::Import { pool, file, name } => {
            let path = std::path::PathBuf::from(&file);
            if !path.is_file() {
                return Err(Error::not_found(format!("Backup file {file} not found")));
            }
            backend.volume_import(&pool, &path, name.as_deref())?;
        }
        VolumeCmd::Copy { source, target } => {
            let (sp, sv) = split_pool(&source)?;
            let (dp, dv) = split_pool(&target)?;
            backend.volume_copy(sp, custom(sv)?, dp, custom(dv)?)?;
            println!("Storage volume copied successfully!");
        }
        VolumeCmd::Move { source, target } => {
            let (sp, sv) = split_pool(&source)?;
            let (dp, dv) = split_pool(&target)?;
            backend.volume_move(sp, custom(sv)?, dp, custom(dv)?)?;
            println!("Storage volume moved successfully!");
        }
        VolumeCmd::Attach {
            pool,
            volume,
            instance,
            rest,
        } => {
            let (device, path) = device_and_path(&rest);
            backend.volume_attach(&pool, custom(&volume)?, &instance, false, device, path)?;
        }
        VolumeCmd::AttachProfile {
            pool,
            volume,
            profile,
            rest,
        } => {
            let (device, path) = device_and_path(&rest);
            backend.volume_attach(&pool, custom(&volume)?, &profile, true, device, path)?;
        }
        VolumeCmd::Detach {
            pool,
            volume,
            instance,
            device,
        } => {
            backend.volume_detach(&pool, custom(&volume)?, &instance, false, device.as_deref())?;
        }
        VolumeCmd::DetachProfile {
            pool,
            volume,
            profile,
            device,
        } => {
            backend.volume_detach(&pool, custom(&volume)?, &profile, true, device.as_deref())?;
        }
        VolumeCmd::Info {
            pool,
            volume,
            bytes,
            format,
        } => {
            let name = custom(&volume)?;
            let v = backend.volume(&pool, "custom", name)?;
            let st = backend.volume_state(&pool, name)?;
            let snaps = backend.volume_snapshots(&pool, name)?;
            let mut out = serde_json::Map::new();
            out.insert("Name".into(), v.name.clone().into());
            out.insert("Type".into(), v.volume_type.clone().into());
            out.insert("Content type".into(), v.content_type.clone().into());
            out.insert("Usage".into(), size_str(bytes, st.usage.used).into());
            if st.usage.total > 0 {
                out.insert(
                    "Total".into(),
                    size_str(bytes, st.usage.total as u64).into(),
                );
            }
            out.insert("Created".into(), v.created_at.clone().into());
            if !snaps.is_empty() {
                out.insert(
                    "Snapshots".into(),
                    snaps
                        .iter()
                        .map(|s| s.name.clone())
                        .collect::<Vec<_>>()
                        .into(),
                );
            }
            incus_cli::print_show(format, &out)?;
        }
        VolumeCmd::Snapshot { command } => snapshot_exec(backend, command)?,
    }
    Ok(())
}

/// `[DEVICE] PATH`: with one word it is the path and the device is named after the volume.
fn device_and_path(rest: &[String]) -> (Option<&str>, &str) {
    match rest {
        [path] => (None, path),
        [device, path, ..] => (Some(device), path),
        [] => (None, ""),
    }
}

fn snapshot_exec(backend: &dyn Backend, cmd: SnapshotCmd) -> Result<()> {
    match cmd {
        SnapshotCmd::Create {
            pool,
            volume,
            snapshot,
        } => {
            backend.volume_snapshot_create(&pool, custom(&volume)?, snapshot.as_deref())?;
        }
        SnapshotCmd::List {
            pool,
            volume,
            columns,
            format,
        } => {
            let snaps = backend.volume_snapshots(&pool, custom(&volume)?)?;
            // A date upstream lacks is " ".
            let date = |d: &str| match incus_cli::list_date(d) {
                d if d.is_empty() => " ".to_string(),
                d => d,
            };
            incus_cli::print_letter_list(
                format,
                &columns,
                &[('n', "NAME"), ('T', "TAKEN AT"), ('E', "EXPIRES AT")],
                &snaps,
                |s, c| match c {
                    'n' => s.name.clone(),
                    'T' => date(&s.created_at),
                    _ => date(&s.expires_at),
                },
            )?;
        }
        SnapshotCmd::Delete {
            pool,
            volume,
            snapshot,
        } => {
            backend.volume_snapshot_delete(&pool, custom(&volume)?, &snapshot)?;
            println!("Storage volume snapshot {snapshot} deleted from {volume}");
        }
        SnapshotCmd::Restore {
            pool,
            volume,
            snapshot,
        } => backend.volume_snapshot_restore(&pool, custom(&volume)?, &snapshot)?,
        SnapshotCmd::Rename {
            pool,
            volume,
            snapshot,
            new_name,
        } => backend.volume_snapshot_rename(&pool, custom(&volume)?, &snapshot, &new_name)?,
    }
    Ok(())
}

/// The clap definition (man pages and completions).
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    incus_cli::main_with(|cli: Cli| {
        let mut cmd = cli.command;
        let b = incus_client::connect_args(&cli.global.project, remote_args(&mut cmd))?;
        exec(b.as_ref(), cmd)?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The `[REMOTE:]NAME` arguments (they choose the backend).
fn remote_args(cmd: &mut Cmd) -> Vec<&mut String> {
    match cmd {
        Cmd::Create { name, .. }
        | Cmd::Show { name, .. }
        | Cmd::Info { name, .. }
        | Cmd::Get { name, .. }
        | Cmd::Set { name, .. }
        | Cmd::Unset { name, .. }
        | Cmd::Edit { name } => vec![name],
        Cmd::List { remote, .. } => remote.iter_mut().collect(),
        Cmd::Delete { names, .. } => names.iter_mut().collect(),
        Cmd::Volume { command } => match command {
            VolumeCmd::Copy { source, target } | VolumeCmd::Move { source, target } => {
                vec![source, target]
            }
            VolumeCmd::Snapshot { command } => match command {
                SnapshotCmd::Create { pool, .. }
                | SnapshotCmd::List { pool, .. }
                | SnapshotCmd::Delete { pool, .. }
                | SnapshotCmd::Restore { pool, .. }
                | SnapshotCmd::Rename { pool, .. } => vec![pool],
            },
            VolumeCmd::List { pool, .. }
            | VolumeCmd::Export { pool, .. }
            | VolumeCmd::Import { pool, .. }
            | VolumeCmd::Create { pool, .. }
            | VolumeCmd::Show { pool, .. }
            | VolumeCmd::Get { pool, .. }
            | VolumeCmd::Set { pool, .. }
            | VolumeCmd::Unset { pool, .. }
            | VolumeCmd::Edit { pool, .. }
            | VolumeCmd::Delete { pool, .. }
            | VolumeCmd::Rename { pool, .. }
            | VolumeCmd::Attach { pool, .. }
            | VolumeCmd::AttachProfile { pool, .. }
            | VolumeCmd::Detach { pool, .. }
            | VolumeCmd::DetachProfile { pool, .. }
            | VolumeCmd::Info { pool, .. } => vec![pool],
        },
    }
}

fn exec(backend: &dyn Backend, cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Create {
            name,
            driver,
            pairs,
            description,
        } => {
            backend.pool_create(
                &name,
                &driver,
                incus_cli::parse_pairs(&pairs)?,
                &description,
            )?;
            println!("Storage pool {name} created");
        }
        Cmd::List {
            columns, format, ..
        } => {
            let pools = backend.pools()?;
            incus_cli::print_letter_list(
                format,
                &columns,
                &[
                    ('n', "NAME"),
                    ('D', "DRIVER"),
                    ('d', "DESCRIPTION"),
                    ('S', "SOURCE"),
                    ('u', "USED BY"),
                    ('s', "STATE"),
                ],
                &pools,
                |p, c| match c {
                    'n' => p.name.clone(),
                    'D' => p.driver.clone(),
                    'd' => p.description.clone(),
                    'S' => p.config.get("source").cloned().unwrap_or_default(),
                    'u' => p.used_by.len().to_string(),
                    _ => p.status.to_uppercase(),
                },
            )?;
        }
        Cmd::Show {
            name,
            resources,
            format,
        } => {
            if resources {
                incus_cli::print_show(format, &backend.pool_resources(&name)?)?;
            } else {
                incus_cli::print_show(format, &backend.pool(&name)?)?;
            }
        }
        Cmd::Info {
            name,
            bytes,
            format,
        } => {
            let pool = backend.pool(&name)?;
            let r = backend.pool_resources(&name)?;
            let size = |v: u64| {
                if bytes {
                    v.to_string()
                } else {
                    incus_cli::human_size(v as i64)
                }
            };
            // Upstream's layout: an "info" section and "used by" grouped by kind.
            let mut info = std::collections::BTreeMap::new();
            info.insert("description", pool.description.clone());
            info.insert("driver", pool.driver.clone());
            info.insert("name", pool.name.clone());
            info.insert("space used", size(r.space.used));
            info.insert("total space", size(r.space.total));
            let mut used_by: std::collections::BTreeMap<String, Vec<String>> = Default::default();
            for url in &pool.used_by {
                // /1.0/<kind>/<name>[/...]
                let mut parts = url.trim_start_matches("/1.0/").splitn(2, '/');
                let kind = parts.next().unwrap_or_default().to_string();
                let rest = parts.next().unwrap_or_default().to_string();
                used_by.entry(kind).or_default().push(rest);
            }
            let mut out = serde_json::Map::new();
            out.insert("info".into(), serde_json::json!(info));
            out.insert("used by".into(), serde_json::json!(used_by));
            incus_cli::print_show(format, &out)?;
        }
        Cmd::Get { name, key } => {
            println!(
                "{}",
                backend
                    .pool(&name)?
                    .config
                    .get(&key)
                    .cloned()
                    .unwrap_or_default()
            );
        }
        Cmd::Set { name, args } => {
            backend.pool_set_keys(&name, &incus_cli::parse_set_args(&args)?)?;
        }
        Cmd::Unset { name, key } => {
            backend.pool_set_keys(&name, &[(key, String::new())].into())?;
        }
        Cmd::Edit { name } => {
            let p = backend.pool(&name)?;
            let cur = incus_cli::to_yaml(&StoragePoolPut {
                config: p.config,
                description: p.description,
            })?;
            let new: StoragePoolPut = incus_cli::parse_yaml(&incus_cli::edit_text(&cur)?)?;
            backend.pool_update(&name, new.config, &new.description)?;
        }
        Cmd::Delete { names } => {
            for n in names {
                backend.pool_delete(&n)?;
                println!("Storage pool {n} deleted");
            }
        }
        Cmd::Volume { command } => volume_exec(backend, command)?,
    }
    Ok(())
}
