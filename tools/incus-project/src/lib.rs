//! `incus-project`: upstream's `incus project` commands.

use clap::{CommandFactory, Parser, Subcommand};
use incus_api::{Config, Result};
use incus_cli::{GlobalArgs, ListFormat, ShowFormat};
use incus_client::config::ClientConfig;
use std::process::ExitCode;

/// Manage projects.
#[derive(Debug, Parser)]
#[command(name = "incus-project", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create a project
    Create {
        name: String,
        /// Config key/value to apply to the new project (KEY=VALUE)
        #[arg(short, long = "config")]
        config: Vec<String>,
        /// Description
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List projects
    #[command(visible_alias = "ls")]
    List {
        /// [REMOTE:] to list
        remote: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Show a project
    Show {
        name: String,
        #[command(flatten)]
        format: ShowFormat,
    },
    /// Get a project key
    Get { name: String, key: String },
    /// Set project keys: PROJECT KEY=VALUE... or PROJECT KEY VALUE
    Set {
        name: String,
        #[arg(required = true)]
        args: Vec<String>,
    },
    /// Unset a project key
    Unset { name: String, key: String },
    /// Edit a project as YAML (from stdin when it is not a terminal)
    Edit { name: String },
    /// Rename a project
    #[command(visible_alias = "mv")]
    Rename { name: String, new_name: String },
    /// Delete projects
    #[command(visible_alias = "rm")]
    Delete {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Switch the current project (of the remote, in config.yml)
    Switch { name: String },
    /// Show the current project
    GetCurrent,
    /// Show a project's limits and usage
    Info {
        name: String,
        #[command(flatten)]
        format: ListFormat,
    },
}

/// The clap definition (man pages and completions).
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    incus_cli::main_with(|cli: Cli| {
        let mut cmd = cli.command;
        let cfg = ClientConfig::load()?;
        let remote = incus_client::target::strip_remote(&cfg, remote_args(&mut cmd))?;
        exec(&cfg, &remote, cmd)?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The `[REMOTE:]NAME` arguments (they choose the remote).
fn remote_args(cmd: &mut Cmd) -> Vec<&mut String> {
    match cmd {
        Cmd::Create { name, .. }
        | Cmd::Show { name, .. }
        | Cmd::Get { name, .. }
        | Cmd::Set { name, .. }
        | Cmd::Unset { name, .. }
        | Cmd::Edit { name }
        | Cmd::Rename { name, .. }
        | Cmd::Switch { name }
        | Cmd::Info { name, .. } => vec![name],
        Cmd::List { remote, .. } => {
            // `srv:` lists srv's projects.
            if let Some(r) = remote.as_mut().filter(|r| !r.ends_with(':')) {
                r.push(':');
            }
            remote.iter_mut().collect()
        }
        Cmd::Delete { names } => names.iter_mut().collect(),
        Cmd::GetCurrent => vec![],
    }
}

/// `project edit` and `project show` without `used_by`/`name` in the edited text.
#[derive(serde::Serialize, serde::Deserialize)]
struct ProjectPut {
    #[serde(default)]
    config: Config,
    #[serde(default)]
    description: String,
}

fn yes_no(config: &Config, key: &str) -> String {
    match config.get(key).map(String::as_str) {
        Some("true") => "YES".into(),
        _ => "NO".into(),
    }
}

fn exec(cfg: &ClientConfig, remote: &str, cmd: Cmd) -> Result<()> {
    let current = incus_client::project::current(cfg, remote)?;
    let backend = || incus_client::project::connect(cfg, remote);
    match cmd {
        Cmd::Create {
            name,
            config,
            description,
        } => {
            let config = incus_cli::parse_pairs(&config)?;
            backend()?.create(&name, &description, config)?;
            println!("Project {name} created");
        }
        Cmd::List { format, .. } => {
            let projects = backend()?.list()?;
            let rows: Vec<Vec<String>> = projects
                .iter()
                .map(|p| {
                    let name = if p.name == current {
                        format!("{} (current)", p.name)
                    } else {
                        p.name.clone()
                    };
                    vec![
                        name,
                        yes_no(&p.config, "features.images"),
                        yes_no(&p.config, "features.profiles"),
                        yes_no(&p.config, "features.storage.volumes"),
                        yes_no(&p.config, "features.storage.buckets"),
                        yes_no(&p.config, "features.networks"),
                        yes_no(&p.config, "features.networks.zones"),
                        p.description.clone(),
                        p.used_by.len().to_string(),
                    ]
                })
                .collect();
            incus_cli::print_list(
                format,
                &[
                    "NAME",
                    "IMAGES",
                    "PROFILES",
                    "STORAGE VOLUMES",
                    "STORAGE BUCKETS",
                    "NETWORKS",
                    "NETWORK ZONES",
                    "DESCRIPTION",
                    "USED BY",
                ],
                &rows,
                &projects,
            )?;
        }
        Cmd::Show { name, format } => incus_cli::print_show(format, &backend()?.get(&name)?)?,
        Cmd::Get { name, key } => {
            let p = backend()?.get(&name)?;
            println!("{}", p.config.get(&key).cloned().unwrap_or_default());
        }
        Cmd::Set { name, args } => {
            let b = backend()?;
            let p = b.get(&name)?;
            let mut config = p.config;
            config.extend(incus_cli::parse_set_args(&args)?);
            b.update(&name, &p.description, config)?;
        }
        Cmd::Unset { name, key } => {
            let b = backend()?;
            let p = b.get(&name)?;
            let mut config = p.config;
            if config.remove(&key).is_none() {
                return Err(incus_api::Error::invalid(format!(
                    "Config key \"{key}\" is not set"
                )));
            }
            b.update(&name, &p.description, config)?;
        }
        Cmd::Edit { name } => {
            let b = backend()?;
            let p = b.get(&name)?;
            let cur = incus_cli::to_yaml(&ProjectPut {
                config: p.config,
                description: p.description,
            })?;
            let new: ProjectPut = incus_cli::parse_yaml(&incus_cli::edit_text(&cur)?)?;
            b.update(&name, &new.description, new.config)?;
        }
        Cmd::Rename { name, new_name } => {
            backend()?.rename(&name, &new_name)?;
            println!("Project {name} renamed to {new_name}");
        }
        Cmd::Delete { names } => {
            let b = backend()?;
            for n in names {
                b.delete(&n)?;
                println!("Project {n} deleted");
            }
        }
        Cmd::Switch { name } => incus_client::project::switch(remote, &name)?,
        Cmd::GetCurrent => println!("{current}"),
        Cmd::Info { name, format } => {
            let state = backend()?.state(&name)?;
            let rows: Vec<Vec<String>> = state
                .iter()
                .map(|(k, r)| {
                    let size = |v: i64| {
                        if k == "disk" || k == "memory" {
                            incus_cli::human_size(v)
                        } else {
                            v.to_string()
                        }
                    };
                    vec![
                        k.to_uppercase(),
                        if r.limit < 0 {
                            "UNLIMITED".into()
                        } else {
                            size(r.limit)
                        },
                        size(r.usage),
                    ]
                })
                .collect();
            incus_cli::print_list(format, &["RESOURCE", "LIMIT", "USAGE"], &rows, &state)?;
        }
    }
    Ok(())
}
