//! `export` and `import`: instance backups (upstream's tarball format).

use clap::Args;
use incus_api::{Error, Result};
use incus_client::{Backend, BackupExportOptions, BackupImportOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Instance name
    pub name: String,
    /// Target file (`-` for the standard output; NAME.tar.gz by default)
    pub target: Option<String>,
    /// Back up the instance without its snapshots
    #[arg(long)]
    pub instance_only: bool,
    /// Storage driver optimized format (not supported: refused)
    #[arg(long)]
    pub optimized_storage: bool,
    /// Compression algorithm: gzip (default), xz or none
    #[arg(long, value_name = "ALGORITHM")]
    pub compression: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// [REMOTE:] BACKUP_FILE [INSTANCE_NAME]
    #[arg(required = true, num_args = 1..=3)]
    pub args: Vec<String>,
    /// Storage pool name
    #[arg(short = 's', long = "storage")]
    pub pool: Option<String>,
}

pub fn export(backend: &dyn Backend, args: ExportArgs, quiet: bool) -> Result<ExitCode> {
    let opts = BackupExportOptions {
        instance_only: args.instance_only,
        optimized_storage: args.optimized_storage,
        compression: args.compression.clone(),
    };
    // Refused before any file is made.
    let suffix = opts.compression()?.suffix();
    let target = args
        .target
        .clone()
        .unwrap_or_else(|| format!("{}{suffix}", args.name));
    incus_cli::write_output(&target, |w| backend.instance_export(&args.name, &opts, w))?;
    if !quiet && target != "-" {
        println!("Backup exported successfully!");
    }
    Ok(ExitCode::SUCCESS)
}

/// Splits `[REMOTE:] FILE [NAME]`: the remote word ends with `:` (it was already
/// used to choose the backend and is dropped here).
pub fn split_import_args(args: &[String]) -> (Option<&String>, &[String]) {
    match args.first() {
        Some(r) if args.len() > 1 && r.ends_with(':') && !Path::new(r).exists() => {
            (Some(r), &args[1..])
        }
        _ => (None, args),
    }
}

pub fn import(backend: &dyn Backend, args: ImportArgs) -> Result<ExitCode> {
    let (_, rest) = split_import_args(&args.args);
    let (file, name) = match rest {
        [f] => (f, None),
        [f, n] => (f, Some(n.clone())),
        _ => {
            return Err(Error::usage(
                "usage: import [REMOTE:] BACKUP_FILE [INSTANCE_NAME]",
            ))
        }
    };
    let file = if file == "-" {
        return Err(Error::usage(
            "import reads a file (the standard input is not supported)",
        ));
    } else {
        PathBuf::from(file)
    };
    if !file.is_file() {
        return Err(Error::not_found(format!(
            "Backup file {} not found",
            file.display()
        )));
    }
    backend.instance_import(
        &file,
        &BackupImportOptions {
            name,
            pool: args.pool,
        },
    )?;
    Ok(ExitCode::SUCCESS)
}
