//! `incus-admin`: upstream's `incus admin` commands (for what exists so far).

use clap::{CommandFactory, Parser, Subcommand};
use incus_api::{Error, Result};
use incus_cli::{GlobalArgs, ListFormat};
use std::io::Read;
use std::process::ExitCode;

/// Server administration.
#[derive(Debug, Parser)]
#[command(name = "incus-admin", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Configure the server: --minimal (a dir pool "default" and a root disk in the
    /// default profile) or --preseed (YAML on standard input)
    Init {
        /// Minimal set-up, no questions
        #[arg(long, conflicts_with_all = ["preseed", "auto", "dump"])]
        minimal: bool,
        /// Read a preseed YAML document from standard input
        #[arg(long, conflicts_with_all = ["auto", "dump"])]
        preseed: bool,
        /// Automatic set-up (same as --minimal here)
        #[arg(long)]
        auto: bool,
        /// Print the current configuration as a preseed document
        #[arg(long)]
        dump: bool,
        /// With --minimal/--auto: also create the bridge incusbr0 (ipv4.address=auto,
        /// NAT) and eth0 on it in the default profile, as upstream does by default
        #[arg(long, conflicts_with_all = ["preseed", "dump"])]
        network: bool,
    },
    /// Check that the database, the disk and the runtime agree (ours; read-only).
    /// Lists each disagreement and exits 1 when there is any
    Check {
        #[command(flatten)]
        format: ListFormat,
    },
    /// After a host boot (ours; run by a boot-time unit): repair what the reboot left
    /// and start the instances with boot.autostart (or that were running and have no
    /// boot.autostart), by boot.autostart.priority; a second run in the same boot does
    /// nothing
    Boot {
        /// Run again even if this boot was already handled
        #[arg(long)]
        force: bool,
    },
}

/// The clap definition (man pages and completions).
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    incus_cli::main_with(|cli: Cli| {
        let b = incus_client::connect(&cli.global.project)?;
        match cli.command {
            Cmd::Init {
                minimal,
                preseed,
                auto,
                dump,
                network,
            } => {
                if dump {
                    let server = b.server()?;
                    let doc = serde_dump(&server.config, &b.pools()?, &b.profiles()?)?;
                    incus_cli::write_stdout(&doc)?;
                } else if preseed {
                    let mut text = String::new();
                    std::io::stdin().read_to_string(&mut text)?;
                    b.admin_init_preseed(&text)?;
                } else if minimal || auto {
                    b.admin_init_minimal()?;
                    if network {
                        b.admin_init_network()?;
                    }
                } else {
                    return Err(Error::usage(
                        "Interactive init is not available: use --minimal, --auto or --preseed",
                    ));
                }
            }
            Cmd::Check { format } => {
                let problems = b.admin_check()?;
                let rows: Vec<Vec<String>> = problems
                    .iter()
                    .map(|p| vec![p.kind.clone(), p.name.clone(), p.problem.clone()])
                    .collect();
                incus_cli::print_list(format, &["KIND", "NAME", "PROBLEM"], &rows, &problems)?;
                if !problems.is_empty() {
                    return Ok(ExitCode::FAILURE);
                }
            }
            Cmd::Boot { force } => {
                let r = b.admin_boot(force)?;
                if !r.new_boot {
                    if !cli.global.quiet {
                        incus_cli::write_stdout("This boot was already handled\n")?;
                    }
                    return Ok(ExitCode::SUCCESS);
                }
                let mut out = String::new();
                for n in &r.started {
                    out.push_str(&format!("Started {n}\n"));
                }
                for n in &r.stopped {
                    out.push_str(&format!("Stopped {n}\n"));
                }
                if !cli.global.quiet {
                    incus_cli::write_stdout(&out)?;
                }
                if let Some((n, e)) = r.failed.first() {
                    return Err(Error::internal(format!(
                        "{} instance(s) failed to start; first: {n}: {e}",
                        r.failed.len()
                    )));
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn serde_dump(
    config: &incus_api::Config,
    pools: &[incus_api::StoragePool],
    profiles: &[incus_api::Profile],
) -> Result<String> {
    #[derive(serde::Serialize)]
    struct Pool<'a> {
        name: &'a str,
        driver: &'a str,
        description: &'a str,
        config: &'a incus_api::Config,
    }
    #[derive(serde::Serialize)]
    struct Prof<'a> {
        name: &'a str,
        description: &'a str,
        config: &'a incus_api::Config,
        devices: &'a incus_api::Devices,
    }
    #[derive(serde::Serialize)]
    struct Dump<'a> {
        config: &'a incus_api::Config,
        storage_pools: Vec<Pool<'a>>,
        profiles: Vec<Prof<'a>>,
    }
    incus_cli::to_yaml(&Dump {
        config,
        storage_pools: pools
            .iter()
            .map(|p| Pool {
                name: &p.name,
                driver: &p.driver,
                description: &p.description,
                config: &p.config,
            })
            .collect(),
        profiles: profiles
            .iter()
            .map(|p| Prof {
                name: &p.name,
                description: &p.description,
                config: &p.config,
                devices: &p.devices,
            })
            .collect(),
    })
}
