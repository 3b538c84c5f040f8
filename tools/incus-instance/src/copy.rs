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

pub fn copy(b: &dyn Backend, a: CopyArgs) -> Result<ExitCode> {
    let (source, snap) = match a.source.split_once('/') {
        Some((i, s)) => (i.to_string(), Some(s.to_string())),
        None => (a.source.clone(), None),
    };
    let profiles = if a.no_profiles {
        Some(vec![])
    } else if a.profiles.is_empty() {
        None
    } else {
        Some(a.profiles)
    };
    b.instance_copy(CopyOptions {
        source,
        source_snapshot: snap,
        target: a.target,
        instance_only: a.instance_only,
        ephemeral: a.ephemeral,
        config: incus_cli::parse_pairs(&a.config)?,
        profiles,
        pool: a.pool,
        keep_identity: false,
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn move_(b: &dyn Backend, a: MoveArgs) -> Result<ExitCode> {
    let target = a.target.unwrap_or_else(|| a.source.clone());
    if target == a.source && a.pool.is_none() {
        return Err(Error::usage("move needs a new name or -s POOL"));
    }
    b.instance_move(&a.source, &target, a.pool.as_deref())?;
    Ok(ExitCode::SUCCESS)
}
