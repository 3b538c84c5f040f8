//! The device verbs shared by `config device` (instances) and `profile device`: one
//! clap definition and one implementation; each tool says how to reach its object's
//! devices through [`DeviceOwner`]. `config device override` exists for instances only
//! (an instance wraps [`DeviceCmd`] with it).

use clap::Subcommand;
use incus_api::{Config, Devices, Error, Result};

#[derive(Debug, Subcommand)]
pub enum DeviceCmd {
    /// Add a device: NAME DEVICE TYPE [KEY=VALUE...]
    Add {
        name: String,
        device: String,
        #[arg(value_name = "TYPE")]
        dev_type: String,
        pairs: Vec<String>,
    },
    /// Get a device key
    Get {
        name: String,
        device: String,
        key: String,
    },
    /// List devices
    #[command(visible_alias = "ls")]
    List { name: String },
    /// Remove devices
    #[command(visible_alias = "rm")]
    Remove {
        name: String,
        #[arg(required = true)]
        devices: Vec<String>,
    },
    /// Set device keys: NAME DEVICE KEY=VALUE... or NAME DEVICE KEY VALUE
    Set {
        name: String,
        device: String,
        #[arg(required = true)]
        args: Vec<String>,
    },
    /// Show the devices
    Show { name: String },
    /// Unset a device key
    Unset {
        name: String,
        device: String,
        key: String,
    },
}

impl DeviceCmd {
    /// The `[REMOTE:]NAME` argument (it chooses the backend).
    pub fn name_mut(&mut self) -> &mut String {
        match self {
            DeviceCmd::Add { name, .. }
            | DeviceCmd::Get { name, .. }
            | DeviceCmd::List { name }
            | DeviceCmd::Remove { name, .. }
            | DeviceCmd::Set { name, .. }
            | DeviceCmd::Show { name }
            | DeviceCmd::Unset { name, .. } => name,
        }
    }
}

/// An object with devices (an instance, a profile), as the device verbs need it.
pub trait DeviceOwner {
    /// Its own devices.
    fn devices(&self, name: &str) -> Result<Devices>;
    /// Where `get` looks when the object has no such device of its own (an instance's
    /// expanded devices); none by default.
    fn inherited_devices(&self, _name: &str) -> Result<Devices> {
        Ok(Devices::new())
    }
    fn add(&self, name: &str, device: &str, config: Config) -> Result<()>;
    fn remove(&self, name: &str, devices: &[String]) -> Result<()>;
    /// Sets keys (an empty value unsets).
    fn set(&self, name: &str, device: &str, pairs: &Config) -> Result<()>;
}

/// Runs one device verb.
pub fn run(owner: &dyn DeviceOwner, cmd: DeviceCmd) -> Result<()> {
    match cmd {
        DeviceCmd::Add {
            name,
            device,
            dev_type,
            pairs,
        } => {
            let mut config = crate::parse_pairs(&pairs)?;
            config.insert("type".into(), dev_type);
            owner.add(&name, &device, config)?;
            println!("Device {device} added to {name}");
        }
        DeviceCmd::Get { name, device, key } => {
            let own = owner.devices(&name)?;
            let found = match own.get(&device) {
                Some(d) => d.clone(),
                None => owner
                    .inherited_devices(&name)?
                    .remove(&device)
                    .ok_or_else(|| Error::not_found(format!("Device \"{device}\" not found")))?,
            };
            println!("{}", found.get(&key).cloned().unwrap_or_default());
        }
        DeviceCmd::List { name } => {
            for d in owner.devices(&name)?.keys() {
                println!("{d}");
            }
        }
        DeviceCmd::Remove { name, devices } => {
            owner.remove(&name, &devices)?;
            for d in devices {
                println!("Device {d} removed from {name}");
            }
        }
        DeviceCmd::Set { name, device, args } => {
            owner.set(&name, &device, &crate::parse_set_args(&args)?)?;
        }
        DeviceCmd::Show { name } => {
            crate::print_show(crate::Format::Yaml, &owner.devices(&name)?)?;
        }
        DeviceCmd::Unset { name, device, key } => {
            owner.set(&name, &device, &[(key, String::new())].into())?;
        }
    }
    Ok(())
}
