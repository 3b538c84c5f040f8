//! `incus-admin`: upstream's `incus admin` commands (for what exists so far).

use clap::{CommandFactory, Parser, Subcommand};
use incus_api::{Error, Result};
use incus_cli::{GlobalArgs, ListFormat};
use std::io::Read;
use std::process::ExitCode;

mod ask;
mod init;
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
    /// Configure the server: with no option, upstream's questions (read from standard
    /// input); --auto (upstream's defaults: a "default" pool and the bridge incusbr0),
    /// --minimal (ours: a dir pool "default" and a root disk in the default profile,
    /// no network unless --network), --preseed (YAML on standard input), --dump
    Init {
        /// Minimal set-up, no questions, no network
        #[arg(long, conflicts_with_all = ["preseed", "auto", "dump"])]
        minimal: bool,
        /// Read a preseed YAML document from standard input
        #[arg(long, conflicts_with_all = ["auto", "dump"])]
        preseed: bool,
        /// Automatic set-up with upstream's defaults
        #[arg(long)]
        auto: bool,
        /// Print the current configuration as a preseed document
        #[arg(long)]
        dump: bool,
        /// With --minimal: also create the bridge incusbr0 (ipv4.address=auto, NAT)
        /// and eth0 on it in the default profile
        #[arg(long, conflicts_with_all = ["preseed", "dump"])]
        network: bool,
        /// With --auto: storage backend to use (btrfs or dir; default dir)
        #[arg(long, requires = "auto")]
        storage_backend: Option<String>,
        /// With --auto: create a loop file of this many GiB for the pool
        #[arg(long, requires = "auto", value_name = "SIZE_GIB")]
        storage_create_loop: Option<u64>,
        /// With --auto: use this empty block device for the pool
        #[arg(long, requires = "auto", value_name = "DEVICE")]
        storage_create_device: Option<String>,
        /// With --auto: an existing source for the pool (a btrfs directory), or the
        /// new pool's name with --storage-create-loop/-device
        #[arg(long, requires = "auto")]
        storage_pool: Option<String>,
        /// With --auto: address to listen on for HTTPS (core.https_address)
        #[arg(long, requires = "auto")]
        network_address: Option<String>,
        /// With --auto: HTTPS port (default 8443)
        #[arg(long, requires = "auto")]
        network_port: Option<u16>,
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
        #[command(flatten)]
        format: ListFormat,
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
                sql(&ctx, &database, query, write, format.into())?;
                return Ok(ExitCode::SUCCESS);
            }
            Cmd::Init {
                minimal: false,
                preseed: false,
                auto,
                dump,
                network: _,
                storage_backend,
                storage_create_loop,
                storage_create_device,
                storage_pool,
                network_address,
                network_port,
            } => {
                let ctx = incus_core::Context::from_env()?;
                if dump {
                    let doc = incus_core::admin::dump(&ctx)?;
                    incus_cli::write_stdout(&incus_cli::to_yaml(&doc)?)?;
                } else if auto {
                    let opts = incus_core::admin::AutoOptions {
                        storage_backend: storage_backend.unwrap_or_default(),
                        storage_create_loop,
                        storage_create_device: storage_create_device.unwrap_or_default(),
                        storage_pool: storage_pool.unwrap_or_default(),
                        network_address: network_address.unwrap_or_default(),
                        network_port,
                    };
                    let doc = incus_core::admin::auto_preseed(&ctx, &opts)?;
                    incus_core::admin::apply_preseed(&ctx, &doc)?;
                    incus_core::admin::init_network(&ctx)?;
                } else {
                    let doc = init::interactive(&ctx)?;
                    incus_core::admin::apply_preseed(&ctx, &doc)?;
                }
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
                preseed, network, ..
            } => {
                if preseed {
                    let mut text = String::new();
                    std::io::stdin().read_to_string(&mut text)?;
                    b.admin_init_preseed(&text)?;
                } else {
                    b.admin_init_minimal()?;
                    if network {
                        b.admin_init_network()?;
                    }
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
    format: incus_cli::Format,
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
