//! `incus-snapshot`: upstream's `incus snapshot` commands, plus `auto` (scheduled
//! snapshots and expiry, run every minute by a timer) and `timer install|remove`.

use clap::{CommandFactory, Parser, Subcommand};
use incus_api::{Error, Result};
use incus_cli::{Format, GlobalArgs, ListFormat, ShowFormat};
use incus_client::{timer, Backend, DateTime, SnapshotCreateOptions, Utc};
use std::path::PathBuf;
use std::process::ExitCode;

/// Manage instance snapshots.
#[derive(Debug, Parser)]
#[command(name = "incus-snapshot", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create an instance snapshot (named from snapshots.pattern, snap%d, when NAME is omitted)
    Create {
        instance: String,
        name: Option<String>,
        /// Whether or not to snapshot the instance's running state (needs CRIU)
        #[arg(long)]
        stateful: bool,
        /// Ignore any configured auto-expiry for the snapshot
        #[arg(long)]
        no_expiry: bool,
        /// If the snapshot name already exists, delete and create a new one
        #[arg(long)]
        reuse: bool,
        /// Snapshot description
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Delete instance snapshots
    #[command(visible_alias = "rm")]
    Delete {
        instance: String,
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// List instance snapshots
    #[command(visible_alias = "ls")]
    List {
        instance: String,
        /// Columns (n name, T taken at, E expires at, s stateful)
        #[arg(short = 'c', long = "columns", default_value = "nTEs")]
        columns: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Rename an instance snapshot
    #[command(visible_alias = "mv")]
    Rename {
        instance: String,
        name: String,
        new_name: String,
    },
    /// Restore an instance from a snapshot (a running instance is stopped and started again)
    Restore {
        instance: String,
        name: String,
        /// Whether or not to restore the instance's running state from snapshot (needs CRIU)
        #[arg(long)]
        stateful: bool,
    },
    /// Show an instance snapshot (the REST InstanceSnapshot)
    Show {
        instance: String,
        name: String,
        #[command(flatten)]
        format: ShowFormat,
    },
    /// Show a summary of an instance snapshot (size on disk included)
    Info { instance: String, name: String },
    /// Take every due scheduled snapshot and delete every expired one (all instances)
    Auto {
        /// The time to act as of (RFC 3339), instead of the clock
        #[arg(long)]
        now: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Install or remove the timer that runs `auto` every minute
    Timer {
        #[command(subcommand)]
        command: TimerCmd,
    },
}

#[derive(Debug, Subcommand)]
pub enum TimerCmd {
    /// Write a systemd service and timer (default when systemd runs) or a cron.d line
    Install {
        /// A systemd service + timer pair
        #[arg(long, conflicts_with = "cron")]
        systemd: bool,
        /// A line in /etc/cron.d
        #[arg(long)]
        cron: bool,
        /// Write under this root instead of /
        #[arg(long, env = "INCUS_TIMER_ROOT", default_value = "/")]
        root: PathBuf,
    },
    /// Remove what `timer install` wrote
    Remove {
        /// Remove under this root instead of /
        #[arg(long, env = "INCUS_TIMER_ROOT", default_value = "/")]
        root: PathBuf,
    },
}

/// The clap definition (man pages and completions).
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    incus_cli::main_with(|cli: Cli| {
        if let Cmd::Timer { command } = cli.command {
            return timer_cmd(command, cli.global.quiet);
        }
        let mut cmd = cli.command;
        let args = match &mut cmd {
            Cmd::Create { instance, .. }
            | Cmd::Delete { instance, .. }
            | Cmd::List { instance, .. }
            | Cmd::Rename { instance, .. }
            | Cmd::Restore { instance, .. }
            | Cmd::Show { instance, .. }
            | Cmd::Info { instance, .. } => vec![instance],
            // Scheduled snapshots are this host's.
            Cmd::Auto { .. } | Cmd::Timer { .. } => Vec::new(),
        };
        let b = incus_client::connect_args(&cli.global.project, args)?;
        exec(b.as_ref(), cmd, cli.global.quiet)
    })
}

fn parse_now(now: Option<String>) -> Result<DateTime<Utc>> {
    match now {
        None => Ok(Utc::now()),
        Some(s) => DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| Error::invalid(format!("Invalid --now \"{s}\" (want RFC 3339): {e}"))),
    }
}

fn exec(backend: &dyn Backend, cmd: Cmd, quiet: bool) -> Result<ExitCode> {
    match cmd {
        Cmd::Create {
            instance,
            name,
            stateful,
            no_expiry,
            reuse,
            description,
        } => {
            let named = name.is_some();
            let s = backend.snapshot_create(
                &instance,
                SnapshotCreateOptions {
                    name,
                    stateful,
                    no_expiry,
                    reuse,
                    description,
                },
            )?;
            // As upstream: silent, but for the name it chose.
            if !quiet && !named {
                println!("Instance snapshot name is: {}", s.name);
            }
        }
        Cmd::Delete { instance, names } => backend.snapshot_delete(&instance, &names)?,
        Cmd::List {
            instance,
            columns,
            format,
        } => {
            // Upstream's letters; a date it lacks is " " (as its CSV shows).
            let date = |d: &str| match incus_cli::list_date(d) {
                d if d.is_empty() => " ".to_string(),
                d => d,
            };
            let mut header = Vec::new();
            for c in columns.chars().filter(|c| *c != ',') {
                header.push(match c {
                    'n' => "NAME",
                    'T' => "TAKEN AT",
                    'E' => "EXPIRES AT",
                    's' => "STATEFUL",
                    c => {
                        return Err(Error::invalid(format!(
                            "Unknown column shorthand char '{c}' in '{columns}'"
                        )))
                    }
                });
            }
            let snaps = backend.snapshots(&instance)?;
            let rows: Vec<Vec<String>> = snaps
                .iter()
                .map(|s| {
                    columns
                        .chars()
                        .filter(|c| *c != ',')
                        .map(|c| match c {
                            'n' => s.name.clone(),
                            'T' => date(&s.created_at),
                            'E' => date(&s.expires_at),
                            _ => if s.stateful { "YES" } else { "NO" }.into(),
                        })
                        .collect()
                })
                .collect();
            incus_cli::print_list(format, &header, &rows, &snaps)?;
        }
        Cmd::Rename {
            instance,
            name,
            new_name,
        } => backend.snapshot_rename(&instance, &name, &new_name)?,
        Cmd::Restore {
            instance,
            name,
            stateful,
        } => backend.snapshot_restore(&instance, &name, stateful)?,
        Cmd::Show {
            instance,
            name,
            format,
        } => incus_cli::print_show(format, &backend.snapshot(&instance, &name)?)?,
        Cmd::Info { instance, name } => {
            let s = backend.snapshot(&instance, &name)?;
            let expires = incus_cli::list_date(&s.expires_at);
            let out = format!(
                "Name: {}\nInstance: {instance}\nTaken at: {}\nExpires at: {}\nStateful: {}\nSize: {}\nDescription: {}\n",
                s.name,
                incus_cli::list_date(&s.created_at),
                if expires.is_empty() { "never".into() } else { expires },
                if s.stateful { "yes" } else { "no" },
                incus_cli::human_size(s.size),
                s.description,
            );
            incus_cli::write_stdout(&out)?;
        }
        Cmd::Auto { now, format } => {
            let report = backend.snapshot_auto(parse_now(now)?)?;
            let mut rows: Vec<Vec<String>> = Vec::new();
            rows.extend(
                report
                    .created
                    .iter()
                    .map(|s| vec!["created".into(), s.clone()]),
            );
            rows.extend(
                report
                    .deleted
                    .iter()
                    .map(|s| vec!["deleted".into(), s.clone()]),
            );
            rows.extend(
                report
                    .errors
                    .iter()
                    .map(|s| vec!["error".into(), s.clone()]),
            );
            if !quiet || matches!(format.format, Format::Json | Format::Yaml) {
                incus_cli::print_list(format, &["ACTION", "SNAPSHOT"], &rows, &report)?;
            }
            for e in &report.errors {
                eprintln!("Error: {e}");
            }
            if !report.errors.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
        Cmd::Timer { .. } => unreachable!("handled before connecting"),
    }
    Ok(ExitCode::SUCCESS)
}

fn timer_cmd(cmd: TimerCmd, quiet: bool) -> Result<ExitCode> {
    let ctx_prefix = incus_client::installation_prefix()?;
    let unit = timer::unit_name(&ctx_prefix.0);
    match cmd {
        TimerCmd::Install {
            systemd,
            cron,
            root,
        } => {
            let kind = if cron {
                timer::TimerKind::Cron
            } else if systemd || std::path::Path::new("/run/systemd/system").is_dir() {
                timer::TimerKind::Systemd
            } else {
                timer::TimerKind::Cron
            };
            let exe = std::env::current_exe()
                .map_err(|e| Error::internal(format!("Cannot find this binary: {e}")))?;
            let files = timer::install(&timer::TimerSpec {
                kind,
                root,
                exe,
                incus_dir: ctx_prefix.1,
                run_dir: std::env::var_os("INCUS_RUN_DIR")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from),
                unit,
            })?;
            if !quiet {
                for f in files {
                    println!("Wrote {}", f.display());
                }
            }
        }
        TimerCmd::Remove { root } => {
            for f in timer::remove(&root, &unit)? {
                if !quiet {
                    println!("Removed {}", f.display());
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
