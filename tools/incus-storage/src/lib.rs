//! `incus-storage`: upstream's `incus storage` commands (pools; volumes listing).

use clap::{CommandFactory, Parser, Subcommand};
use incus_api::{Result, StoragePoolPut};
use incus_cli::{Format, GlobalArgs};
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
        #[arg(short = 'f', long = "format", value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show a storage pool
    Show {
        name: String,
        /// Show the pool's resources instead
        #[arg(long)]
        resources: bool,
        #[arg(short = 'f', long = "format", value_enum, default_value_t = Format::Yaml)]
        format: Format,
    },
    /// Show usage of a storage pool
    Info {
        name: String,
        /// Print sizes in bytes
        #[arg(long)]
        bytes: bool,
        #[arg(short = 'f', long = "format", value_enum, default_value_t = Format::Yaml)]
        format: Format,
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
        #[arg(short = 'f', long = "format", value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// The clap definition (man pages and completions).
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    let cli = match incus_cli::parse::<Cli>() {
        Ok(c) => c,
        Err(code) => return code,
    };
    incus_cli::run(|| {
        let b = incus_client::connect(&cli.global.project)?;
        exec(b.as_ref(), cli.command)?;
        Ok(ExitCode::SUCCESS)
    })
}

fn exec(b: &dyn Backend, cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Create {
            name,
            driver,
            pairs,
            description,
        } => {
            b.pool_create(
                &name,
                &driver,
                incus_cli::parse_pairs(&pairs)?,
                &description,
            )?;
            println!("Storage pool {name} created");
        }
        Cmd::List { format } => {
            let pools = b.pools()?;
            let rows: Vec<Vec<String>> = pools
                .iter()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        p.driver.clone(),
                        p.config.get("source").cloned().unwrap_or_default(),
                        p.description.clone(),
                        p.used_by.len().to_string(),
                        p.status.to_uppercase(),
                    ]
                })
                .collect();
            incus_cli::print_list(
                format,
                &[
                    "NAME",
                    "DRIVER",
                    "SOURCE",
                    "DESCRIPTION",
                    "USED BY",
                    "STATE",
                ],
                &rows,
                &pools,
            )?;
        }
        Cmd::Show {
            name,
            resources,
            format,
        } => {
            if resources {
                incus_cli::print_show(format, &b.pool_resources(&name)?)?;
            } else {
                incus_cli::print_show(format, &b.pool(&name)?)?;
            }
        }
        Cmd::Info {
            name,
            bytes,
            format,
        } => {
            let pool = b.pool(&name)?;
            let r = b.pool_resources(&name)?;
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
                b.pool(&name)?.config.get(&key).cloned().unwrap_or_default()
            );
        }
        Cmd::Set { name, args } => {
            b.pool_set_keys(&name, &incus_cli::parse_set_args(&args)?)?;
        }
        Cmd::Unset { name, key } => {
            b.pool_set_keys(&name, &[(key, String::new())].into())?;
        }
        Cmd::Edit { name } => {
            let p = b.pool(&name)?;
            let cur = incus_cli::to_yaml(&StoragePoolPut {
                config: p.config,
                description: p.description,
            })?;
            let new: StoragePoolPut = incus_cli::parse_yaml(&incus_cli::edit_text(&cur)?)?;
            b.pool_update(&name, new.config, &new.description)?;
        }
        Cmd::Delete { names } => {
            for n in names {
                b.pool_delete(&n)?;
                println!("Storage pool {n} deleted");
            }
        }
        Cmd::Volume { command } => match command {
            VolumeCmd::List { pool, format } => {
                let vols = b.volumes(&pool)?;
                let rows: Vec<Vec<String>> = vols
                    .iter()
                    .map(|v| {
                        vec![
                            v.volume_type.clone(),
                            v.name.clone(),
                            v.description.clone(),
                            v.content_type.to_uppercase(),
                            v.used_by.len().to_string(),
                        ]
                    })
                    .collect();
                incus_cli::print_list(
                    format,
                    &["TYPE", "NAME", "DESCRIPTION", "CONTENT-TYPE", "USED BY"],
                    &rows,
                    &vols,
                )?;
            }
        },
    }
    Ok(())
}
