//! `publish` (an image from an instance) and `rebuild` (a new root for an instance).

use clap::Args;
use incus_api::{Error, Result};
use incus_client::{Backend, PublishOptions};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// INSTANCE[/SNAPSHOT], then [REMOTE:] (this remote only) and key=value properties
    #[arg(required = true, num_args = 1..)]
    pub args: Vec<String>,
    /// New alias to define (repeatable)
    #[arg(long = "alias")]
    pub aliases: Vec<String>,
    /// Make the image public
    #[arg(long)]
    pub public: bool,
    /// Image expiration date (RFC 3339)
    #[arg(long = "expire", value_name = "DATE")]
    pub expire: Option<String>,
    /// If an alias already exists, move it to the new image (deleting the old one)
    #[arg(long)]
    pub reuse: bool,
    /// Stop the instance if it is running (it is started again afterwards)
    #[arg(short, long)]
    pub force: bool,
    /// Compression algorithm: gzip (default), xz or none
    #[arg(long, value_name = "ALGORITHM")]
    pub compression: Option<String>,
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// IMAGE NAME, or NAME with --empty
    #[arg(required = true, num_args = 1..=2)]
    pub args: Vec<String>,
    /// Rebuild as an empty instance
    #[arg(long)]
    pub empty: bool,
    /// If the instance is running, stop it, rebuild it and start it again
    #[arg(short, long)]
    pub force: bool,
}

pub fn publish(backend: &dyn Backend, a: PublishArgs, quiet: bool) -> Result<ExitCode> {
    let source = a.args[0].clone();
    let mut props = Vec::new();
    for (i, arg) in a.args.iter().enumerate().skip(1) {
        if arg.contains('=') {
            props.push(arg.clone());
        } else if i == 1 && arg.ends_with(':') {
            if arg != ":" && !arg.is_empty() {
                return Err(Error::unsupported(
                    "Publishing to another remote is not supported: publish, then `image copy`",
                ));
            }
        } else {
            return Err(Error::usage(format!(
                "Bad argument \"{arg}\": expected [REMOTE:] then key=value properties"
            )));
        }
    }
    let properties = incus_cli::parse_pairs(&props)?;
    let (instance, snapshot) = match source.split_once('/') {
        Some((i, s)) => (i.to_string(), Some(s.to_string())),
        None => (source.clone(), None),
    };
    let inst = backend.instance(&instance)?;
    let running = snapshot.is_none() && inst.status != "Stopped";
    if running {
        if !a.force {
            return Err(Error::invalid(
                "The instance is currently running. Use --force to have it stopped and restarted",
            ));
        }
        if inst.ephemeral {
            return Err(Error::invalid(
                "The instance is ephemeral: stopping it would delete it; publish a snapshot instead",
            ));
        }
        backend.instance_stop(&instance, Duration::ZERO, true)?;
    }
    let made = backend.instance_publish(&PublishOptions {
        instance: instance.clone(),
        snapshot,
        aliases: a.aliases,
        public: a.public,
        expires_at: a.expire.unwrap_or_default(),
        reuse: a.reuse,
        properties,
        compression: a.compression,
    });
    if running {
        backend.instance_start(&instance)?;
    }
    let img = made?;
    if !quiet {
        println!("Instance published with fingerprint: {}", img.fingerprint);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn rebuild(backend: &dyn Backend, a: RebuildArgs) -> Result<ExitCode> {
    let (image, name) = match (a.args.as_slice(), a.empty) {
        ([name], true) => (None, name.clone()),
        ([image, name], false) => (Some(image.clone()), name.clone()),
        ([_], false) => return Err(Error::usage("rebuild IMAGE NAME, or rebuild --empty NAME")),
        (_, true) => return Err(Error::usage("--empty takes no image: rebuild --empty NAME")),
        _ => return Err(Error::usage("rebuild IMAGE NAME")),
    };
    let image = image.map(|i| i.strip_prefix("local:").map(str::to_string).unwrap_or(i));
    let running = backend.instance(&name)?.status != "Stopped";
    if running {
        if !a.force {
            return Err(Error::invalid(
                "The instance is running: stop it first, or pass --force",
            ));
        }
        backend.instance_stop(&name, Duration::ZERO, true)?;
    }
    let done = backend.instance_rebuild(&name, image.as_deref());
    if running {
        backend.instance_start(&name)?;
    }
    done?;
    Ok(ExitCode::SUCCESS)
}
