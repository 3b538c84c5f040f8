//! `config get/set/unset/show/edit` (no instance name = the server, as upstream) and
//! `config device ...`.

use clap::{Args, Subcommand};
use incus_api::{Config, Devices, Error, InstancePut, Result};
use incus_cli::device::DeviceOwner;
use incus_cli::ShowFormat;
use incus_client::Backend;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCmd,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Get a configuration key of an instance, or of the server when no instance is named
    Get {
        /// [INSTANCE] KEY
        #[arg(required = true, num_args = 1..=2)]
        args: Vec<String>,
        /// Get the key from the expanded configuration
        #[arg(short, long)]
        expanded: bool,
    },
    /// Set configuration keys: [INSTANCE] KEY=VALUE... or [INSTANCE] KEY VALUE
    Set {
        #[arg(required = true, num_args = 1..)]
        args: Vec<String>,
    },
    /// Unset a configuration key: [INSTANCE] KEY
    Unset {
        #[arg(required = true, num_args = 1..=2)]
        args: Vec<String>,
    },
    /// Show the configuration of an instance, or of the server
    Show {
        /// Instance name (server when omitted)
        name: Option<String>,
        /// Show the expanded configuration
        #[arg(short, long)]
        expanded: bool,
        #[command(flatten)]
        format: ShowFormat,
    },
    /// Edit the configuration as YAML (from stdin when it is not a terminal)
    Edit {
        /// Instance name (server when omitted)
        name: Option<String>,
    },
    /// Manage devices of an instance
    Device {
        #[command(subcommand)]
        command: DeviceCmd,
    },
}

/// `config device`: the verbs shared with `profile device`, and `override`.
#[derive(Debug, Subcommand)]
pub enum DeviceCmd {
    #[command(flatten)]
    Shared(incus_cli::device::DeviceCmd),
    /// Copy a profile device into the instance, with changes
    Override {
        name: String,
        device: String,
        pairs: Vec<String>,
    },
}

/// Whether the first argument of `config set` is a key (server form) rather than an
/// instance name: keys always contain a dot, instance names never do.
pub(crate) fn names_server(first: &str) -> bool {
    first.contains('.') || first.contains('=')
}

pub fn config(backend: &dyn Backend, config_args: ConfigArgs) -> Result<ExitCode> {
    match config_args.command {
        ConfigCmd::Get { args, expanded } => {
            let value = if args.len() == 1 {
                backend.server_config_get(&args[0])?
            } else {
                let inst = backend.instance(&args[0])?;
                let cfg = if expanded {
                    &inst.expanded_config
                } else {
                    &inst.config
                };
                cfg.get(&args[1]).cloned().unwrap_or_default()
            };
            println!("{value}");
        }
        ConfigCmd::Set { args } => {
            if names_server(&args[0]) {
                backend.server_config_set_keys(&incus_cli::parse_set_args(&args)?)?;
            } else {
                if args.len() < 2 {
                    return Err(Error::usage("Usage: config set [INSTANCE] KEY=VALUE..."));
                }
                backend.instance_set(&args[0], &incus_cli::parse_set_args(&args[1..])?)?;
            }
        }
        ConfigCmd::Unset { args } => {
            if args.len() == 1 {
                backend.server_config_unset(&args[0])?;
            } else {
                backend.instance_unset(&args[0], &args[1])?;
            }
        }
        ConfigCmd::Show {
            name,
            expanded,
            format,
        } => match name {
            None => {
                let s = backend.server()?;
                incus_cli::print_show(format, &incus_api::ServerPut { config: s.config })?;
            }
            Some(n) => {
                let i = backend.instance(&n)?;
                let mut put = InstancePut::from(&i);
                if expanded {
                    put.config = i.expanded_config;
                    put.devices = i.expanded_devices;
                }
                incus_cli::print_show(format, &put)?;
            }
        },
        ConfigCmd::Edit { name } => match name {
            None => {
                let cur = incus_cli::to_yaml(&incus_api::ServerPut {
                    config: backend.server()?.config,
                })?;
                let new: incus_api::ServerPut =
                    incus_cli::parse_yaml(&incus_cli::edit_text(&cur)?)?;
                backend.server_config_replace(&new.config)?;
            }
            Some(n) => {
                let cur = InstancePut::from(&backend.instance(&n)?);
                let new: InstancePut =
                    incus_cli::parse_yaml(&incus_cli::edit_text(&incus_cli::to_yaml(&cur)?)?)?;
                backend.instance_update(&n, new)?;
            }
        },
        ConfigCmd::Device { command } => device(backend, command)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn device(backend: &dyn Backend, cmd: DeviceCmd) -> Result<()> {
    match cmd {
        DeviceCmd::Shared(cmd) => incus_cli::device::run(&InstanceDevices(backend), cmd),
        DeviceCmd::Override {
            name,
            device,
            pairs,
        } => backend
            .instance_device_override(&name, &device, &incus_cli::parse_pairs(&pairs)?)
            .map(drop),
    }
}

/// An instance's devices for the shared device verbs (`get` also finds its profiles').
struct InstanceDevices<'a>(&'a dyn Backend);

impl DeviceOwner for InstanceDevices<'_> {
    fn devices(&self, name: &str) -> Result<Devices> {
        Ok(self.0.instance(name)?.devices)
    }
    fn inherited_devices(&self, name: &str) -> Result<Devices> {
        Ok(self.0.instance(name)?.expanded_devices)
    }
    fn add(&self, name: &str, device: &str, config: Config) -> Result<()> {
        self.0.instance_device_add(name, device, config).map(drop)
    }
    fn remove(&self, name: &str, devices: &[String]) -> Result<()> {
        self.0.instance_device_remove(name, devices).map(drop)
    }
    fn set(&self, name: &str, device: &str, pairs: &Config) -> Result<()> {
        self.0.instance_device_set(name, device, pairs).map(drop)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_or_instance_form() {
        assert!(super::names_server("core.https_address"));
        assert!(super::names_server("core.https_address=127.0.0.1:8443"));
        assert!(!super::names_server("c1"));
        assert!(!super::names_server("web-01"));
    }
}
