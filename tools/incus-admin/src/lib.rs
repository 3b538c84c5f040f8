//! `incus-admin`: upstream's `incus admin` commands (for what exists so far).

use clap::{CommandFactory, Parser, Subcommand};
use incus_api::{Error, Result};
use incus_cli::{Format, GlobalArgs};
use std::io::Read;
use std::process::ExitCode;

mod recover;

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
        #[arg(short = 'f', long = "format", value_enum, default_value_t = Format::Table)]
        format: Format,
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
    /// Wait until the server is ready: the state database is usable and, when
    /// incus-serve is configured (core.https_address) or listens on its socket, it
    /// answers GET /1.0. Exits 1 with what was not ready on timeout
    Waitready {
        /// Seconds to wait before giving up (0: forever)
        #[arg(short, long, default_value_t = 0)]
        timeout: u64,
        /// Also wait for incus-serve when it is not configured (ours: for a service
        /// manager that has just started it)
        #[arg(long)]
        serve: bool,
    },
    /// Prepare for a host shutdown: stop incus-serve, then every running instance by
    /// boot.stop.priority (highest first; boot.host_shutdown_timeout each, default
    /// 30 s, then killed), recording them as running so that the next `admin boot`
    /// starts them again
    Shutdown {
        /// Seconds to wait before giving up (0: no limit); instances still running
        /// then are killed and the command exits 1
        #[arg(short, long, default_value_t = 0)]
        timeout: u64,
        /// Kill the instances at once instead of waiting for a clean halt
        #[arg(short, long)]
        force: bool,
    },
    /// Run SQL against the state database, for debugging and repair. Here "local"
    /// and "global" are the same database file (a standalone server keeps upstream's
    /// member and cluster databases in one). QUERY "-" reads standard input; ".dump",
    /// ".schema" and ".tables" print the database as SQL text. Read-only unless
    /// --write (then all the statements run in one transaction)
    Sql {
        /// local or global (the same database here)
        #[arg(value_parser = ["local", "global"])]
        database: String,
        /// SQL statements, "-" for standard input, or .dump, .schema, .tables
        query: String,
        /// Allow statements that change the database
        #[arg(long)]
        write: bool,
        #[arg(short = 'f', long = "format", value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Recover instances and custom volumes after the state database was lost or
    /// damaged: scans the storage pools (asks for pools that are not in the database,
    /// and proposes the ones found under storage-pools/), lists what it found, and
    /// re-creates their records from the backup.yaml each keeps. Questions are read
    /// from standard input; --pool and --yes answer them
    Recover {
        /// A pool that is not in the database: NAME,DRIVER,SOURCE[,KEY=VALUE...]
        /// (repeatable)
        #[arg(long = "pool", value_name = "NAME,DRIVER,SOURCE")]
        pools: Vec<String>,
        /// Ask nothing: take the proposed pools and recover what is found (missing
        /// dependencies are an error)
        #[arg(short, long)]
        yes: bool,
    },
}

/// The clap definition (man pages and completions).
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    incus_cli::main_with(|cli: Cli| {
        // Host-only commands: they act on this host's state directly.
        match cli.command {
            Cmd::Waitready { timeout, serve } => {
                let ctx = incus_core::Context::from_env()?;
                let t = match timeout {
                    0 => std::time::Duration::from_secs(u64::from(u32::MAX)),
                    s => std::time::Duration::from_secs(s),
                };
                if let Err(e) = incus_core::admin_serve::waitready(&ctx, t, serve) {
                    eprintln!("Error: {}", e.message);
                    return Ok(ExitCode::FAILURE);
                }
                return Ok(ExitCode::SUCCESS);
            }
            Cmd::Shutdown { timeout, force } => {
                let ctx = incus_core::Context::from_env()?;
                let t = (timeout > 0).then(|| std::time::Duration::from_secs(timeout));
                let r = incus_core::admin_shutdown::shutdown(&ctx, t, force)?;
                if !cli.global.quiet {
                    let mut out = String::new();
                    if let Some(pid) = r.serve_stopped {
                        out.push_str(&format!("Stopped incus-serve (pid {pid})\n"));
                    }
                    for n in &r.stopped {
                        out.push_str(&format!("Stopped {n}\n"));
                    }
                    incus_cli::write_stdout(&out)?;
                }
                if let Some((n, e)) = r.failed.first() {
                    return Err(Error::internal(format!(
                        "{} instance(s) failed to stop; first: {n}: {e}",
                        r.failed.len()
                    )));
                }
                return Ok(ExitCode::SUCCESS);
            }
            Cmd::Sql {
                database,
                query,
                write,
                format,
            } => {
                let ctx = incus_core::Context::from_env()?;
                sql(&ctx, &database, query, write, format)?;
                return Ok(ExitCode::SUCCESS);
            }
            Cmd::Recover { pools, yes } => {
                let ctx = incus_core::Context::from_env()?;
                let specs = pools
                    .iter()
                    .map(|p| recover::parse_pool_arg(p))
                    .collect::<Result<Vec<_>>>()?;
                recover::run(&ctx, specs, yes)?;
                return Ok(ExitCode::SUCCESS);
            }
            _ => {}
        }
        let b = incus_client::connect(&cli.global.project)?;
        match cli.command {
            Cmd::Waitready { .. }
            | Cmd::Shutdown { .. }
            | Cmd::Sql { .. }
            | Cmd::Recover { .. } => {
                unreachable!("handled above")
            }
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

fn sql(
    ctx: &incus_core::Context,
    database: &str,
    query: String,
    write: bool,
    format: Format,
) -> Result<()> {
    use incus_core::admin_sql::{self, DumpKind};
    let kind = match query.as_str() {
        ".dump" => Some(DumpKind::Dump),
        ".schema" => Some(DumpKind::Schema),
        ".tables" => Some(DumpKind::Tables),
        _ => None,
    };
    if let Some(kind) = kind {
        return incus_cli::write_stdout(&admin_sql::dump(ctx, database, kind)?);
    }
    let query = if query == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else {
        query
    };
    let results = admin_sql::sql(ctx, database, &query, write)?;
    #[derive(serde::Serialize)]
    struct Out<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        columns: &'a [String],
        rows: &'a [Vec<serde_json::Value>],
        rows_affected: i64,
    }
    let many = results.len() > 1;
    for (i, r) in results.iter().enumerate() {
        if many {
            incus_cli::write_stdout(&format!("=> Query {i}:\n\n"))?;
        }
        if r.kind == "select" {
            // Upstream prints each value with Go's %v: NULL is <nil>.
            let rows: Vec<Vec<String>> = r
                .rows
                .iter()
                .map(|row| {
                    row.iter()
                        .map(|v| match v {
                            serde_json::Value::Null => "<nil>".to_string(),
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .collect();
            let headers: Vec<&str> = r.columns.iter().map(String::as_str).collect();
            let obj = Out {
                kind: r.kind,
                columns: &r.columns,
                rows: &r.rows,
                rows_affected: r.rows_affected,
            };
            incus_cli::print_list(format, &headers, &rows, &obj)?;
        } else {
            incus_cli::write_stdout(&format!("Rows affected: {}\n", r.rows_affected))?;
        }
        if many {
            incus_cli::write_stdout("\n")?;
        }
    }
    Ok(())
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
