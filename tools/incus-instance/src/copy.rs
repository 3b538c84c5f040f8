//! `copy` and `move`.

use clap::Args;
use incus_api::{Error, Result};
use incus_client::{Backend, CopyOptions};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Source instance, or INSTANCE/SNAPSHOT
    pub source: String,
    /// New instance name
    pub target: String,
    /// Copy the instance without its snapshots
    #[arg(long)]
    pub instance_only: bool,
    /// Ephemeral instance
    #[arg(short, long)]
    pub ephemeral: bool,
    /// Config key/value to apply to the new instance
    #[arg(short = 'c', long = "config", value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// Profile to apply to the new instance (repeatable)
    #[arg(short = 'p', long = "profile")]
    pub profiles: Vec<String>,
    /// Create the instance with no profiles applied
    #[arg(long, conflicts_with = "profiles")]
    pub no_profiles: bool,
    /// Storage pool name
    #[arg(short = 's', long = "storage")]
    pub pool: Option<String>,
    /// Copy a stateful instance stateless (the only kind of copy here)
    #[arg(long)]
    pub stateless: bool,
}

#[derive(Debug, Args)]
pub struct MoveArgs {
    /// Instance to move
    pub source: String,
    /// New name (the same name when omitted, with -s)
    pub target: Option<String>,
    /// Storage pool to move the instance to
    #[arg(short = 's', long = "storage")]
    pub pool: Option<String>,
}

pub fn copy(backend: &dyn Backend, args: CopyArgs) -> Result<ExitCode> {
    let (source, snap) = match args.source.split_once('/') {
        Some((i, s)) => (i.to_string(), Some(s.to_string())),
        None => (args.source.clone(), None),
    };
    let profiles = if args.no_profiles {
        Some(vec![])
    } else if args.profiles.is_empty() {
        None
    } else {
        Some(args.profiles)
    };
    backend.instance_copy(CopyOptions {
        source,
        source_snapshot: snap,
        target: args.target,
        instance_only: args.instance_only,
        ephemeral: args.ephemeral,
        config: incus_cli::parse_pairs(&args.config)?,
        profiles,
        pool: args.pool,
        keep_identity: false,
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn move_(backend: &dyn Backend, args: MoveArgs) -> Result<ExitCode> {
    let target = args.target.unwrap_or_else(|| args.source.clone());
    if target == args.source && args.pool.is_none() {
        return Err(Error::usage("move needs a new name or -s POOL"));
    }
    backend.instance_move(&args.source, &target, args.pool.as_deref())?;
    Ok(ExitCode::SUCCESS)
}
