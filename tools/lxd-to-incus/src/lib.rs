//! `lxd-to-incus`: moves an LXD host into this toolkit. This first cut finds LXD,
//! reads every object over its unix socket (GETs only), runs upstream's preflight
//! (every problem listed at once, exit 4, nothing changed), and prints the plan;
//! `--dry-run` stops there. The migration itself is not implemented yet
//! (docs/lxd-to-incus.md says what is done and what is not).

pub mod lxd;
pub mod migrate;
pub mod plan;
pub mod preflight;

use clap::{CommandFactory, Parser};
use incus_api::{Error, Result};
use incus_core::context::Context;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Migrate an LXD host (4.0 to 5.18) into this toolkit.
#[derive(Debug, Parser)]
#[command(name = "lxd-to-incus", version, about)]
pub struct Cli {
    /// Migrate without prompting
    #[arg(long)]
    pub yes: bool,
    /// Bypass the source version check (LXD newer than 5.18)
    #[arg(long)]
    pub ignore_version_check: bool,
    /// Print the plan and exit, changing nothing (ours)
    #[arg(long)]
    pub dry_run: bool,
    /// LXD's daemon directory (LXD_DIR), instead of looking for the snap
    /// (/var/snap/lxd/common/lxd) and Debian (/var/lib/lxd) layouts (ours; for tests)
    #[arg(long, value_name = "DIR")]
    pub source_dir: Option<PathBuf>,
    /// Print what LXD's API answered (JSON) and exit (ours; records the unit tests' fixtures)
    #[arg(long, hide = true)]
    pub dump_state: bool,
    /// After a successful migration, remove what is left of LXD (its database,
    /// logs and cache); alone, on a host already migrated (ours)
    #[arg(long)]
    pub purge: bool,
}

/// The clap definition (man pages and completions).
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    incus_cli::main_with(exec)
}

/// What the target installation already holds; empty when it is empty (upstream's
/// test: one project, one profile, no instance, no pool, no network). A target
/// without a database is empty, and is not created by looking.
pub fn target_contents(ctx: &Context) -> Result<Vec<String>> {
    if !ctx.db_path().exists() {
        return Ok(vec![]);
    }
    let mut db = ctx.db()?;
    db.read(|tx| {
        let mut found = Vec::new();
        let projects = incus_db::project_names(tx)?;
        let mut add = |what: &str, names: Vec<String>| {
            if !names.is_empty() {
                found.push(format!("{what}: {}", names.join(" ")));
            }
        };
        add(
            "projects",
            projects
                .iter()
                .filter(|(n, _)| n != "default")
                .map(|(n, _)| n.clone())
                .collect(),
        );
        let (mut profiles, mut instances, mut networks) = (vec![], vec![], vec![]);
        for (p, _) in &projects {
            for pr in incus_db::profile_list(tx, p)? {
                if !(p == "default" && pr.name == "default") {
                    profiles.push(format!("{p}/{}", pr.name));
                }
            }
            for i in incus_db::instance_names(tx, p)? {
                instances.push(format!("{p}/{i}"));
            }
            for n in incus_db::network_list(tx, p)? {
                networks.push(n.name);
            }
        }
        add("profiles", profiles);
        add("instances", instances);
        add(
            "storage pools",
            incus_db::pool_list(tx)?
                .into_iter()
                .map(|p| p.name)
                .collect(),
        );
        add("networks", networks);
        Ok(found)
    })
}

fn on_path(cmd: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p).any(|d| {
            let f = d.join(cmd);
            f.metadata()
                .map(|m| {
                    use std::os::unix::fs::PermissionsExt;
                    m.is_file() && m.permissions().mode() & 0o111 != 0
                })
                .unwrap_or(false)
        })
    })
}

/// The refusal: every problem, one a line.
pub fn refusal(problems: &[String]) -> Error {
    let mut m = format!(
        "Cannot migrate: {} problem{} (nothing was changed):",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        m.push_str("\n - ");
        m.push_str(p);
    }
    Error::conflict(m)
}

fn confirm() -> Result<bool> {
    eprint!("Proceed with the migration? [default=no]: ");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

pub fn exec(cli: Cli) -> Result<ExitCode> {
    let root = unsafe { libc::geteuid() } == 0;
    let ctx = Context::from_env()?;
    // An interrupted migration: finished when our rows are in, else rolled back
    // (LXD running again) and started over.
    let journal = migrate::Journal::at(&ctx);
    if root && journal.exists() && !cli.dump_state {
        if cli.dry_run {
            return Err(Error::conflict(format!(
                "An interrupted migration was found ({}): run lxd-to-incus again without --dry-run to finish or roll it back",
                journal.dir.display()
            )));
        }
        let source = journal.source()?;
        if migrate::resume(&ctx, &journal)? {
            if cli.purge {
                migrate::purge(&ctx, &source)?;
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    if cli.purge && !cli.yes && !cli.dry_run {
        // Alone: a host already migrated (LXD stopped, its data ours).
        let source = match cli.source_dir.as_deref() {
            Some(d) => lxd::Source::find(Some(d))?,
            None => lxd::Source::installed()?,
        };
        migrate::purge(&ctx, &source)?;
        return Ok(ExitCode::SUCCESS);
    }
    let source = lxd::Source::find(cli.source_dir.as_deref())?;
    eprintln!("=> Source: {} ({})", source.kind, source.dir.display());
    eprintln!("=> Target: {}", ctx.incus_dir.display());

    let state = match source.connect().and_then(|r| lxd::read_state(&r)) {
        Ok(s) => s,
        Err(e) => {
            let mut problems = Vec::new();
            if !root {
                problems.push("This tool must be run as root".to_string());
            }
            problems.push(format!(
                "Cannot read LXD's API on {}: {}",
                source.socket().display(),
                e.message
            ));
            return Err(refusal(&problems));
        }
    };
    if cli.dump_state {
        incus_cli::write_stdout(&(serde_json::to_string_pretty(&state)? + "\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let host = preflight::Host {
        root,
        ignore_version: cli.ignore_version_check,
        btrfs_tool: on_path("btrfs"),
        shiftfs_module: Path::new("/sys/module/shiftfs").exists(),
        source_is_symlink: std::fs::symlink_metadata(&source.dir)
            .ok()
            .filter(|m| m.file_type().is_symlink())
            .map(|_| source.dir.display().to_string()),
        target_contents: target_contents(&ctx)?,
    };
    let report = preflight::check(&state, &host);
    for w in &report.warnings {
        eprintln!("WARNING: {w}");
    }
    if !report.problems.is_empty() {
        return Err(refusal(&report.problems));
    }
    let plan = plan::Plan::build(&state, &source, &ctx.incus_dir, &ctx.log_dir);
    incus_cli::write_stdout(&plan.render())?;
    if cli.dry_run {
        eprintln!("Dry run: nothing was changed.");
        return Ok(ExitCode::SUCCESS);
    }
    if !cli.yes && !confirm()? {
        return Err(Error::conflict("User aborted migration"));
    }
    migrate::run(&ctx, &source, &state)?;
    if cli.purge {
        migrate::purge(&ctx, &source)?;
    }
    Ok(ExitCode::SUCCESS)
}
