//! `create` / `init` / `launch`.

use clap::Args;
use incus_api::{Config, Devices, Error, Result};
use incus_client::{Backend, CreateOptions};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Image alias or fingerprint (omit with --empty)
    pub image: Option<String>,
    /// Instance name (random when omitted)
    pub name: Option<String>,
    /// Config key/value to apply to the new instance
    #[arg(short = 'c', long = "config", value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// Profile to apply to the new instance (repeatable)
    #[arg(short = 'p', long = "profile")]
    pub profiles: Vec<String>,
    /// New key/value to apply to a specific device (DEVICE,KEY=VALUE)
    #[arg(short = 'd', long = "device", value_name = "DEVICE,KEY=VALUE")]
    pub devices: Vec<String>,
    /// Ephemeral instance (deleted when stopped)
    #[arg(short = 'e', long)]
    pub ephemeral: bool,
    /// Network name
    #[arg(short = 'n', long)]
    pub network: Option<String>,
    /// Storage pool name
    #[arg(short = 's', long)]
    pub storage: Option<String>,
    /// Instance type (cloud instance types are not supported)
    #[arg(short = 't', long = "type")]
    pub instance_type: Option<String>,
    /// Create the instance with no profiles applied
    #[arg(long)]
    pub no_profiles: bool,
    /// Create an empty instance
    #[arg(long)]
    pub empty: bool,
    /// Create a virtual machine
    #[arg(long)]
    pub vm: bool,
    /// Instance description
    #[arg(long, default_value = "")]
    pub description: String,
}

/// Parses `-d DEVICE,KEY=VALUE` overrides on top of the expanded devices: upstream
/// copies the profile device into the instance and sets the key.
fn device_overrides(items: &[String]) -> Result<Vec<(String, String, String)>> {
    items
        .iter()
        .map(|d| {
            let (dev, kv) = d.split_once(',').ok_or_else(|| {
                Error::usage(format!(
                    "Bad device override syntax, expecting <device>,<key>=<value>: {d}"
                ))
            })?;
            let (k, v) = kv.split_once('=').ok_or_else(|| {
                Error::usage(format!(
                    "Bad device override syntax, expecting <device>,<key>=<value>: {d}"
                ))
            })?;
            Ok((dev.to_string(), k.to_string(), v.to_string()))
        })
        .collect()
}

pub fn create(
    backend: &dyn Backend,
    args: CreateArgs,
    start: bool,
    quiet: bool,
) -> Result<ExitCode> {
    if args.instance_type.is_some() {
        return Err(Error::unsupported(
            "Instance types (-t) are not supported yet",
        ));
    }
    let (image, name) = match (args.empty, args.image, args.name) {
        (true, Some(first), None) => (None, Some(first)),
        (true, None, None) => (None, None),
        (true, Some(_), Some(_)) => {
            return Err(Error::usage(
                "--empty cannot be combined with an image name",
            ))
        }
        (false, None, _) => return Err(Error::usage("An image is required (or use --empty)")),
        (false, image, name) => (image, name),
        (true, None, Some(_)) => unreachable!("clap fills positionals in order"),
    };
    let config: Config = incus_cli::parse_pairs(&args.config)?;
    let profiles = if args.no_profiles {
        if !args.profiles.is_empty() {
            return Err(Error::usage(
                "--no-profiles cannot be combined with --profile",
            ));
        }
        Some(vec![])
    } else if args.profiles.is_empty() {
        None
    } else {
        Some(args.profiles.clone())
    };
    let mut devices = Devices::new();
    let overrides = device_overrides(&args.devices)?;
    if !overrides.is_empty() {
        // Start from the expanded profile devices, as upstream's client does.
        let prof_names = profiles.clone().unwrap_or_else(|| vec!["default".into()]);
        for pn in prof_names {
            let p = backend.profile(&pn)?;
            for (dn, d) in p.devices {
                devices.insert(dn, d);
            }
        }
        let touched: Vec<String> = overrides.iter().map(|(d, _, _)| d.clone()).collect();
        for (dev, k, v) in overrides {
            let entry = devices.get_mut(&dev).ok_or_else(|| {
                Error::invalid(format!("Cannot override config for device \"{dev}\": device not found in profile devices"))
            })?;
            entry.insert(k, v);
        }
        // Only the overridden devices become local.
        devices.retain(|n, _| touched.contains(n));
    }
    if let Some(net) = &args.network {
        // `-n NET`: eth0 on that network, as upstream's client builds it (a managed
        // network by name, any other host bridge as a bridged parent).
        let mut nic = Config::new();
        nic.insert("type".into(), "nic".into());
        nic.insert("name".into(), "eth0".into());
        match backend.network(net) {
            Ok(_) => {
                nic.insert("network".into(), net.clone());
            }
            Err(e)
                if e.kind == incus_api::ErrorKind::NotFound
                    && std::path::Path::new("/sys/class/net").join(net).exists() =>
            {
                nic.insert("nictype".into(), "bridged".into());
                nic.insert("parent".into(), net.clone());
            }
            Err(e) => return Err(e),
        }
        devices.insert("eth0".into(), nic);
    }
    let opts = CreateOptions {
        name,
        image,
        profiles,
        config,
        devices,
        pool: args.storage,
        ephemeral: args.ephemeral,
        description: args.description,
        instance_type: if args.vm {
            "virtual-machine".into()
        } else {
            String::new()
        },
    };
    // As upstream's client: the line comes before the request, so it shows on failure too.
    let named = opts.name.is_some();
    if !quiet {
        match &opts.name {
            Some(n) => println!("Creating {n}"),
            None => println!("Creating the instance"),
        }
    }
    let inst = if start {
        backend.instance_launch(opts)?
    } else {
        backend.instance_create(opts)?
    };
    if !quiet {
        if !named {
            println!("Instance name is: {}", inst.name);
        }
        if start {
            println!("Starting {}", inst.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `launch [REMOTE:]IMAGE srv:NAME` with the image on another remote than the instance
/// (an image without `REMOTE:` is the default remote's, as upstream). Upstream has the
/// target pull it; ours is exported and uploaded, or downloaded from a simplestreams
/// server (`incus_client::target::copy_image_from`, skipped when the target has the
/// fingerprint). Returns the target's backend, the image
/// argument replaced by the fingerprint and the name stripped of its remote; None when
/// image and instance are on one remote.
pub fn image_from_another_remote(
    project: &str,
    args: &mut CreateArgs,
    quiet: bool,
) -> Result<Option<Box<dyn Backend>>> {
    use incus_client::config::ClientConfig;
    let Some(image) = args.image.as_deref() else {
        return Ok(None);
    };
    let cfg = ClientConfig::load()?;
    let (img_remote, img_name) = match cfg.parse_explicit(image)? {
        Some(explicit) => explicit,
        None => (cfg.current_remote(), image.to_string()),
    };
    let mut name = args.name.clone();
    let target_remote =
        incus_client::target::strip_remote(&cfg, name.iter_mut().collect::<Vec<_>>())?;
    if img_remote == target_remote {
        return Ok(None);
    }
    let target = incus_client::connect_remote(&cfg, &target_remote, project)?;
    let progress = incus_cli::Progress::new("Copying the image:", quiet);
    let report = |done: u64, total: u64| progress.update(done, total);
    let opts = incus_client::ImportOptions {
        aliases: Vec::new(),
        public: false,
        properties: Config::new(),
    };
    let fp = incus_client::target::copy_image_from(
        &cfg,
        &img_remote,
        project,
        &img_name,
        target.as_ref(),
        &opts,
        Some(&report),
    );
    progress.finish();
    let fp = fp?;
    args.image = Some(fp);
    args.name = name;
    Ok(Some(target))
}
