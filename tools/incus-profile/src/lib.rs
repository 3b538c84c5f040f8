//! `incus-profile`: upstream's `incus profile` commands.

use clap::{CommandFactory, Parser, Subcommand};
use incus_api::{Config, Devices, Error, ProfilePut, Result};
use incus_cli::device::{DeviceCmd, DeviceOwner};
use incus_cli::{GlobalArgs, ListFormat, ShowFormat};
use incus_client::Backend;
use std::process::ExitCode;

/// Manage profiles.
#[derive(Debug, Parser)]
#[command(name = "incus-profile", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create a profile
    Create {
        name: String,
        /// Description
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List profiles
    #[command(visible_alias = "ls")]
    List {
        /// [REMOTE:] to list
        remote: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Show a profile
    Show {
        name: String,
        #[command(flatten)]
        format: ShowFormat,
    },
    /// Edit a profile as YAML (from stdin when it is not a terminal)
    Edit { name: String },
    /// Get a profile key
    Get { name: String, key: String },
    /// Set profile keys: PROFILE KEY=VALUE... or PROFILE KEY VALUE
    Set {
        name: String,
        #[arg(required = true)]
        args: Vec<String>,
    },
    /// Unset a profile key
    Unset { name: String, key: String },
    /// Delete profiles
    #[command(visible_alias = "rm")]
    Delete {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Rename a profile
    #[command(visible_alias = "mv")]
    Rename { name: String, new_name: String },
    /// Copy a profile
    #[command(visible_alias = "cp")]
    Copy { name: String, target: String },
    /// Add a profile to an instance
    Add { instance: String, profile: String },
    /// Assign a set of comma-separated profiles to an instance (replacing its list)
    Assign {
        instance: String,
        /// Profiles, comma-separated
        #[arg(required_unless_present = "no_profiles")]
        profiles: Option<String>,
        /// Remove all profiles from the instance
        #[arg(long)]
        no_profiles: bool,
    },
    /// Remove a profile from an instance
    Remove { instance: String, profile: String },
    /// Manage profile devices
    Device {
        #[command(subcommand)]
        command: DeviceCmd,
    },
}

/// The clap definition (man pages and completions).
pub fn command() -> clap::Command {
    Cli::command()
}

pub fn main() -> ExitCode {
    incus_cli::main_with(|cli: Cli| {
        let mut cmd = cli.command;
        let b = incus_client::connect_args(&cli.global.project, remote_args(&mut cmd))?;
        exec(b.as_ref(), cmd)?;
        Ok(ExitCode::SUCCESS)
    })
}

/// The `[REMOTE:]NAME` arguments (they choose the backend).
fn remote_args(cmd: &mut Cmd) -> Vec<&mut String> {
    match cmd {
        Cmd::Create { name, .. }
        | Cmd::Show { name, .. }
        | Cmd::Edit { name }
        | Cmd::Get { name, .. }
        | Cmd::Set { name, .. }
        | Cmd::Unset { name, .. }
        | Cmd::Rename { name, .. } => vec![name],
        Cmd::Copy { name, target } => vec![name, target],
        Cmd::Add { instance, .. } | Cmd::Assign { instance, .. } | Cmd::Remove { instance, .. } => {
            vec![instance]
        }
        Cmd::List { remote, .. } => remote.iter_mut().collect(),
        Cmd::Delete { names } => names.iter_mut().collect(),
        Cmd::Device { command } => vec![command.name_mut()],
    }
}

/// An instance's profile list changed by `f`, written back (as upstream's client does).
fn instance_profiles(
    backend: &dyn Backend,
    instance: &str,
    f: impl FnOnce(&mut Vec<String>) -> Result<()>,
) -> Result<()> {
    let inst = backend.instance(instance)?;
    let mut put = incus_api::InstancePut::from(&inst);
    f(&mut put.profiles)?;
    backend.instance_update(instance, put)?;
    Ok(())
}

fn exec(backend: &dyn Backend, cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Add { instance, profile } => {
            instance_profiles(backend, &instance, |p| {
                p.push(profile.clone());
                Ok(())
            })?;
            println!("Profile {profile} added to {instance}");
        }
        Cmd::Assign {
            instance,
            profiles,
            no_profiles,
        } => {
            let list: Vec<String> = match (&profiles, no_profiles) {
                (Some(_), true) => {
                    return Err(Error::invalid(
                        "--no-profiles cannot be used together with other arguments",
                    ))
                }
                (Some(l), false) => l.split(',').map(str::to_string).collect(),
                (None, _) => Vec::new(),
            };
            instance_profiles(backend, &instance, |p| {
                *p = list;
                Ok(())
            })?;
            match profiles {
                Some(l) => println!("Profiles {l} applied to {instance}"),
                None => println!("All profiles removed from {instance}"),
            }
        }
        Cmd::Remove { instance, profile } => {
            instance_profiles(backend, &instance, |p| {
                let before = p.len();
                p.retain(|x| *x != profile);
                if p.len() == before {
                    return Err(Error::invalid(format!(
                        "Profile {profile} isn't currently applied to {instance}"
                    )));
                }
                Ok(())
            })?;
            println!("Profile {profile} removed from {instance}");
        }
        Cmd::Create { name, description } => {
            backend.profile_create(
                &name,
                ProfilePut {
                    description,
                    ..Default::default()
                },
            )?;
            println!("Profile {name} created");
        }
        Cmd::List { format, .. } => {
            let profiles = backend.profiles()?;
            let rows: Vec<Vec<String>> = profiles
                .iter()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        p.description.clone(),
                        p.used_by.len().to_string(),
                    ]
                })
                .collect();
            incus_cli::print_list(
                format,
                &["NAME", "DESCRIPTION", "USED BY"],
                &rows,
                &profiles,
            )?;
        }
        Cmd::Show { name, format } => incus_cli::print_show(format, &backend.profile(&name)?)?,
        Cmd::Edit { name } => {
            let cur = incus_cli::to_yaml(&ProfilePut::from(&backend.profile(&name)?))?;
            let new: ProfilePut = incus_cli::parse_yaml(&incus_cli::edit_text(&cur)?)?;
            backend.profile_update(&name, new)?;
        }
        Cmd::Get { name, key } => {
            println!(
                "{}",
                backend
                    .profile(&name)?
                    .config
                    .get(&key)
                    .cloned()
                    .unwrap_or_default()
            );
        }
        Cmd::Set { name, args } => {
            backend.profile_set_keys(&name, &incus_cli::parse_set_args(&args)?)?;
        }
        Cmd::Unset { name, key } => {
            backend.profile_unset(&name, &key)?;
        }
        Cmd::Delete { names } => {
            for n in names {
                backend.profile_delete(&n)?;
                println!("Profile {n} deleted");
            }
        }
        Cmd::Rename { name, new_name } => {
            backend.profile_rename(&name, &new_name)?;
            println!("Profile {name} renamed to {new_name}");
        }
        Cmd::Copy { name, target } => {
            backend.profile_copy(&name, &target)?;
        }
        Cmd::Device { command } => incus_cli::device::run(&ProfileDevices(backend), command)?,
    }
    Ok(())
}

/// A profile's devices for the shared device verbs.
struct ProfileDevices<'a>(&'a dyn Backend);

impl DeviceOwner for ProfileDevices<'_> {
    fn devices(&self, name: &str) -> Result<Devices> {
        Ok(self.0.profile(name)?.devices)
    }
    fn add(&self, name: &str, device: &str, config: Config) -> Result<()> {
        self.0.profile_device_add(name, device, config).map(drop)
    }
    fn remove(&self, name: &str, devices: &[String]) -> Result<()> {
        self.0.profile_device_remove(name, devices).map(drop)
    }
    fn set(&self, name: &str, device: &str, pairs: &Config) -> Result<()> {
        self.0
            .profile_device_set(name, device, pairs.clone())
            .map(drop)
    }
}
