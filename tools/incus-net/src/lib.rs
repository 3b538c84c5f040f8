//! `incus-net`: upstream's `incus network` commands (managed bridges).

use clap::{CommandFactory, Parser, Subcommand};
use incus_api::{Config, Error, NetworkPut, Result};
use incus_cli::{GlobalArgs, ListFormat, ShowFormat};
use incus_client::Backend;
use std::process::ExitCode;

/// Manage and attach instances to networks.
#[derive(Debug, Parser)]
#[command(name = "incus-net", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Create a network: NAME [KEY=VALUE...]
    Create {
        name: String,
        pairs: Vec<String>,
        /// Network type
        #[arg(short = 't', long = "type", default_value = "bridge")]
        network_type: String,
        /// Description
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List networks
    #[command(visible_alias = "ls")]
    List {
        /// [REMOTE:] to list
        remote: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Show a network
    Show {
        name: String,
        #[command(flatten)]
        format: ShowFormat,
    },
    /// Show runtime information of a network
    Info { name: String },
    /// Get a network key
    Get { name: String, key: String },
    /// Set network keys: NETWORK KEY=VALUE... or NETWORK KEY VALUE
    Set {
        name: String,
        #[arg(required = true)]
        args: Vec<String>,
    },
    /// Unset a network key
    Unset { name: String, key: String },
    /// Edit a network as YAML (from stdin when it is not a terminal)
    Edit { name: String },
    /// Rename a network (refused while in use)
    #[command(visible_alias = "mv")]
    Rename { name: String, new_name: String },
    /// Delete networks (refused while in use)
    #[command(visible_alias = "rm")]
    Delete {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// List the DHCP leases of a network
    ListLeases {
        name: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Attach a network to an instance: NETWORK INSTANCE [DEVICE] [INTERFACE]
    Attach {
        network: String,
        instance: String,
        device: Option<String>,
        interface: Option<String>,
    },
    /// Detach a network from an instance: NETWORK INSTANCE [DEVICE]
    Detach {
        network: String,
        instance: String,
        device: Option<String>,
    },
    /// Attach a network to a profile: NETWORK PROFILE [DEVICE] [INTERFACE]
    AttachProfile {
        network: String,
        profile: String,
        device: Option<String>,
        interface: Option<String>,
    },
    /// Detach a network from a profile: NETWORK PROFILE [DEVICE]
    DetachProfile {
        network: String,
        profile: String,
        device: Option<String>,
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

/// The nic device `attach` adds, as upstream builds it.
fn nic_device(network: &str, interface: Option<String>) -> Config {
    let mut d = Config::new();
    d.insert("type".into(), "nic".into());
    d.insert("network".into(), network.into());
    if let Some(i) = interface {
        d.insert("name".into(), i);
    }
    d
}

/// The device of `devices` that uses `network` (named, or the only one).
fn find_nic(devices: &incus_api::Devices, network: &str, device: Option<&str>) -> Result<String> {
    let uses = |d: &Config| {
        d.get("type").map(String::as_str) == Some("nic")
            && (d.get("network").map(String::as_str) == Some(network)
                || d.get("parent").map(String::as_str) == Some(network))
    };
    match device {
        Some(name) => match devices.get(name) {
            Some(d) if uses(d) => Ok(name.to_string()),
            Some(_) => Err(Error::invalid(format!(
                "The specified device doesn't match the network \"{network}\""
            ))),
            None => Err(Error::not_found(format!("Device \"{name}\" not found"))),
        },
        None => {
            let found: Vec<&String> = devices
                .iter()
                .filter(|(_, d)| uses(d))
                .map(|(n, _)| n)
                .collect();
            match found.as_slice() {
                [one] => Ok(one.to_string()),
                [] => Err(Error::not_found(format!(
                    "No device found for network \"{network}\""
                ))),
                _ => Err(Error::invalid(
                    "More than one device matches, specify the device name",
                )),
            }
        }
    }
}

/// The `[REMOTE:]NAME` arguments (they choose the backend).
fn remote_args(cmd: &mut Cmd) -> Vec<&mut String> {
    match cmd {
        Cmd::Create { name, .. }
        | Cmd::Show { name, .. }
        | Cmd::Info { name }
        | Cmd::Get { name, .. }
        | Cmd::Set { name, .. }
        | Cmd::Unset { name, .. }
        | Cmd::Edit { name }
        | Cmd::Rename { name, .. }
        | Cmd::ListLeases { name, .. } => vec![name],
        Cmd::List { remote, .. } => remote.iter_mut().collect(),
        Cmd::Delete { names, .. } => names.iter_mut().collect(),
        Cmd::Attach { network, .. }
        | Cmd::Detach { network, .. }
        | Cmd::AttachProfile { network, .. }
        | Cmd::DetachProfile { network, .. } => vec![network],
    }
}

fn exec(backend: &dyn Backend, cmd: Cmd) -> Result<()> {
    match cmd {
        Cmd::Create {
            name,
            pairs,
            network_type,
            description,
        } => {
            backend.network_create(
                &name,
                &network_type,
                incus_cli::parse_pairs(&pairs)?,
                &description,
            )?;
            println!("Network {name} created");
        }
        Cmd::List { format, .. } => {
            let nets = backend.networks()?;
            let rows: Vec<Vec<String>> = nets
                .iter()
                .map(|n| {
                    let get = |k: &str| {
                        n.config
                            .get(k)
                            .filter(|v| v.as_str() != "none")
                            .cloned()
                            .unwrap_or_default()
                    };
                    vec![
                        n.name.clone(),
                        n.network_type.clone(),
                        if n.managed { "YES" } else { "NO" }.into(),
                        get("ipv4.address"),
                        get("ipv6.address"),
                        n.description.clone(),
                        n.used_by.len().to_string(),
                        n.status.to_uppercase(),
                    ]
                })
                .collect();
            incus_cli::print_list(
                format,
                &[
                    "NAME",
                    "TYPE",
                    "MANAGED",
                    "IPV4",
                    "IPV6",
                    "DESCRIPTION",
                    "USED BY",
                    "STATE",
                ],
                &rows,
                &nets,
            )?;
        }
        Cmd::Show { name, format } => incus_cli::print_show(format, &backend.network(&name)?)?,
        Cmd::Info { name } => {
            let s = backend.network_state(&name)?;
            println!("Name: {name}");
            println!("MAC address: {}", s.hwaddr);
            println!("MTU: {}", s.mtu);
            println!("State: {}", s.state);
            println!("Type: {}", s.network_type);
            if !s.addresses.is_empty() {
                println!();
                println!("IP addresses:");
                for a in &s.addresses {
                    println!("  {}\t{}/{} ({})", a.family, a.address, a.netmask, a.scope);
                }
            }
            println!();
            println!("Network usage:");
            println!("  Bytes received: {}", s.counters.bytes_received);
            println!("  Bytes sent: {}", s.counters.bytes_sent);
            println!("  Packets received: {}", s.counters.packets_received);
            println!("  Packets sent: {}", s.counters.packets_sent);
        }
        Cmd::Get { name, key } => {
            println!(
                "{}",
                backend
                    .network(&name)?
                    .config
                    .get(&key)
                    .cloned()
                    .unwrap_or_default()
            );
        }
        Cmd::Set { name, args } => {
            backend.network_set_keys(&name, &incus_cli::parse_set_args(&args)?)?;
        }
        Cmd::Unset { name, key } => {
            backend.network_set_keys(&name, &[(key, String::new())].into())?;
        }
        Cmd::Edit { name } => {
            let cur = incus_cli::to_yaml(&NetworkPut::from(&backend.network(&name)?))?;
            let new: NetworkPut = incus_cli::parse_yaml(&incus_cli::edit_text(&cur)?)?;
            backend.network_update(&name, new)?;
        }
        Cmd::Rename { name, new_name } => {
            backend.network_rename(&name, &new_name)?;
            println!("Network {name} renamed to {new_name}");
        }
        Cmd::Delete { names } => {
            for n in names {
                backend.network_delete(&n)?;
                println!("Network {n} deleted");
            }
        }
        Cmd::ListLeases { name, format } => {
            let leases = backend.network_leases(&name)?;
            let rows: Vec<Vec<String>> = leases
                .iter()
                .map(|l| {
                    vec![
                        l.hostname.clone(),
                        l.hwaddr.clone(),
                        l.address.clone(),
                        l.lease_type.to_uppercase(),
                    ]
                })
                .collect();
            incus_cli::print_list(
                format,
                &["HOSTNAME", "MAC ADDRESS", "IP ADDRESS", "TYPE"],
                &rows,
                &leases,
            )?;
        }
        Cmd::Attach {
            network,
            instance,
            device,
            interface,
        } => {
            backend.network(&network)?;
            let dev = device.unwrap_or_else(|| network.clone());
            backend.instance_device_add(&instance, &dev, nic_device(&network, interface))?;
        }
        Cmd::Detach {
            network,
            instance,
            device,
        } => {
            let inst = backend.instance(&instance)?;
            let dev = find_nic(&inst.devices, &network, device.as_deref())?;
            backend.instance_device_remove(&instance, &[dev])?;
        }
        Cmd::AttachProfile {
            network,
            profile,
            device,
            interface,
        } => {
            backend.network(&network)?;
            let dev = device.unwrap_or_else(|| network.clone());
            backend.profile_device_add(&profile, &dev, nic_device(&network, interface))?;
        }
        Cmd::DetachProfile {
            network,
            profile,
            device,
        } => {
            let p = backend.profile(&profile)?;
            let dev = find_nic(&p.devices, &network, device.as_deref())?;
            backend.profile_device_remove(&profile, &[dev])?;
        }
    }
    Ok(())
}
