//! The interactive `admin init` (upstream 6.0's questions, for what exists here:
//! dir and btrfs pools, a managed bridge or an existing one, the HTTPS listener).

use crate::ask::Asker;
use incus_api::{Config, Error, Result};
use incus_core::admin::{Preseed, PreseedNetwork, PreseedPool, PreseedProfile};
use incus_core::Context;
use std::path::Path;

fn has_tool(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}

fn backing_fs_is_btrfs(path: &Path) -> bool {
    // The filesystem of the nearest existing parent (/proc/self/mounts, longest match).
    let mut p = path.to_path_buf();
    while !p.exists() {
        if !p.pop() {
            return false;
        }
    }
    let p = std::fs::canonicalize(&p).unwrap_or(p);
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2).then(|| (f[1].to_string(), f[2].to_string()))
        })
        .filter(|(m, _)| p.starts_with(m))
        .max_by_key(|(m, _)| m.len())
        .is_some_and(|(_, fs)| fs == "btrfs")
}

fn valid_cidr(v: &str, v6: bool) -> Result<()> {
    if v == "auto" || v == "none" {
        return Ok(());
    }
    let ok = v.split_once('/').is_some_and(|(a, n)| {
        let max = if v6 { 128 } else { 32 };
        n.parse::<u8>().is_ok_and(|n| n <= max)
            && if v6 {
                a.parse::<std::net::Ipv6Addr>().is_ok()
            } else {
                a.parse::<std::net::Ipv4Addr>().is_ok()
            }
    });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("Invalid CIDR subnet \"{v}\"")))
    }
}

/// Asks the questions and returns the preseed to apply.
pub fn interactive(ctx: &Context) -> Result<Preseed> {
    let mut ask = Asker::stdin();
    let mut p = Preseed::default();
    let mut default_profile = PreseedProfile {
        name: "default".into(),
        ..Default::default()
    };
    if ask.bool(
        "Would you like to use clustering? (yes/no) [default=no]: ",
        false,
    )? {
        return Err(Error::unsupported("Clustering is not supported"));
    }

    // Storage.
    if ask.bool(
        "Do you want to configure a new storage pool? (yes/no) [default=yes]: ",
        true,
    )? {
        let mut backends = vec!["dir"];
        if has_tool("mkfs.btrfs") {
            backends.insert(0, "btrfs");
        }
        let on_btrfs = backing_fs_is_btrfs(&ctx.incus_dir);
        let default_backend = if backends.contains(&"btrfs") {
            "btrfs"
        } else {
            "dir"
        };
        let name = loop {
            let name = ask.string_or(
                "Name of the new storage pool [default=default]: ",
                "default",
                |v| incus_core::names::validate_object_name("storage pool", v),
            )?;
            if incus_core::storage::pool_get(ctx, &name).is_ok() {
                println!(
                    "The requested storage pool \"{name}\" already exists. Please choose another name."
                );
                continue;
            }
            break name;
        };
        let driver = if backends.len() > 1 {
            ask.string_or(
                &format!(
                    "Name of the storage backend to use ({}) [default={default_backend}]: ",
                    backends.join(", ")
                ),
                default_backend,
                |v| {
                    if backends.contains(&v) {
                        Ok(())
                    } else {
                        Err(Error::invalid(format!("Invalid choice \"{v}\"")))
                    }
                },
            )?
        } else {
            backends[0].to_string()
        };
        let mut config = Config::new();
        let pool_path = ctx.pools_dir().join(&name);
        if driver == "dir" {
            let source = ask.string_or(
                &format!(
                    "Where should this storage pool store its data? [default={}]: ",
                    pool_path.display()
                ),
                "",
                |_| Ok(()),
            )?;
            if !source.is_empty() {
                config.insert("source".into(), source);
            }
        } else if on_btrfs
            && ask.bool(
                &format!(
                    "Would you like to create a new btrfs subvolume under {}? (yes/no) [default=yes]: ",
                    ctx.incus_dir.display()
                ),
                true,
            )?
        {
            config.insert("source".into(), pool_path.display().to_string());
        } else if ask.bool("Create a new BTRFS pool? (yes/no) [default=yes]: ", true)? {
            if ask.bool(
                "Would you like to use an existing empty block device (e.g. a disk or partition)? (yes/no) [default=no]: ",
                false,
            )? {
                let dev = ask.string("Path to the existing block device: ", |v| {
                    use std::os::unix::fs::FileTypeExt;
                    if std::fs::metadata(v).is_ok_and(|m| m.file_type().is_block_device()) {
                        Ok(())
                    } else {
                        Err(Error::invalid(format!("{v:?} is not a block device")))
                    }
                })?;
                config.insert("source".into(), dev);
            } else {
                let size = ask.string_or(
                    "Size in GiB of the new loop device (1GiB minimum) [default=5GiB]: ",
                    "5GiB",
                    |v| match v.trim_end_matches("GiB").parse::<u64>() {
                        Ok(n) if n >= 1 => Ok(()),
                        Ok(_) => Err(Error::invalid("Minimum size is 1GiB")),
                        Err(e) => Err(Error::invalid(e.to_string())),
                    },
                )?;
                let size = format!("{}GiB", size.trim_end_matches("GiB"));
                config.insert("size".into(), size);
            }
        } else {
            let source = ask.string("Name of the existing BTRFS pool or dataset: ", |_| Ok(()))?;
            config.insert("source".into(), source);
        }
        default_profile.devices.insert(
            "root".into(),
            [
                ("type".to_string(), "disk".to_string()),
                ("path".to_string(), "/".to_string()),
                ("pool".to_string(), name.clone()),
            ]
            .into(),
        );
        p.storage_pools.push(PreseedPool {
            name,
            driver,
            description: String::new(),
            config,
        });
    }

    // Networking.
    if ask.bool(
        "Would you like to create a new local network bridge? (yes/no) [default=yes]: ",
        true,
    )? {
        let name = loop {
            let name = ask.string_or(
                "What should the new bridge be called? [default=incusbr0]: ",
                "incusbr0",
                incus_core::network::validate_name,
            )?;
            if incus_core::network::get(ctx, &name).is_ok() {
                println!(
                    "The requested network bridge \"{name}\" already exists. Please choose another name."
                );
                continue;
            }
            break name;
        };
        let mut config = Config::new();
        let v4 = ask.string_or(
            "What IPv4 address should be used? (CIDR subnet notation, “auto” or “none”) [default=auto]: ",
            "auto",
            |v| valid_cidr(v, false),
        )?;
        if v4 != "auto" && v4 != "none" {
            let nat = ask.bool(
                "Would you like to NAT IPv4 traffic on your bridge? [default=yes]: ",
                true,
            )?;
            config.insert("ipv4.nat".into(), nat.to_string());
        }
        config.insert("ipv4.address".into(), v4);
        let v6 = ask.string_or(
            "What IPv6 address should be used? (CIDR subnet notation, “auto” or “none”) [default=auto]: ",
            "auto",
            |v| valid_cidr(v, true),
        )?;
        if v6 != "auto" && v6 != "none" {
            let nat = ask.bool(
                "Would you like to NAT IPv6 traffic on your bridge? [default=yes]: ",
                true,
            )?;
            config.insert("ipv6.nat".into(), nat.to_string());
        }
        config.insert("ipv6.address".into(), v6);
        default_profile.devices.insert(
            "eth0".into(),
            [
                ("type".to_string(), "nic".to_string()),
                ("name".to_string(), "eth0".to_string()),
                ("network".to_string(), name.clone()),
            ]
            .into(),
        );
        p.networks.push(PreseedNetwork {
            name,
            network_type: "bridge".into(),
            config,
            ..Default::default()
        });
    } else if ask.bool(
        "Would you like to use an existing bridge or host interface? (yes/no) [default=no]: ",
        false,
    )? {
        let parent = loop {
            let n = ask.string(
                "Name of the existing bridge or host interface: ",
                |_| Ok(()),
            )?;
            let sys = Path::new("/sys/class/net").join(&n);
            if n.is_empty() || n.contains('/') || !sys.exists() {
                println!("The requested interface doesn't exist. Please choose another one.");
                continue;
            }
            if !sys.join("bridge").exists() {
                // Upstream would use macvlan here; only bridged NICs exist so far.
                println!("Only a bridge can be used here (macvlan is not supported yet). Please choose another one.");
                continue;
            }
            break n;
        };
        default_profile.devices.insert(
            "eth0".into(),
            [
                ("type".to_string(), "nic".to_string()),
                ("nictype".to_string(), "bridged".to_string()),
                ("name".to_string(), "eth0".to_string()),
                ("parent".to_string(), parent),
            ]
            .into(),
        );
    }

    // The server.
    if ask.bool(
        "Would you like the server to be available over the network? (yes/no) [default=no]: ",
        false,
    )? {
        let addr = ask.string_or(
            "Address to bind to (not including port) [default=all]: ",
            "all",
            |v| {
                if v == "all" || v.parse::<std::net::IpAddr>().is_ok() {
                    Ok(())
                } else {
                    Err(Error::invalid(format!("{v:?} is not an IP address")))
                }
            },
        )?;
        let current = incus_core::server::get(ctx, "core.https_address").unwrap_or_default();
        let port = ask.string_or("Port to bind to [default=8443]: ", "8443", |v| {
            let port: u16 = v
                .parse()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| Error::invalid(format!("Invalid port \"{v}\"")))?;
            let address = incus_core::admin::https_address(&addr, port);
            if address == current {
                return Ok(());
            }
            // A local bind (not a dial) tells whether the port is free.
            std::net::TcpListener::bind(&address)
                .map(drop)
                .map_err(|e| Error::invalid(format!("Can't bind address {address:?}: {e}")))
        })?;
        let port: u16 = port.parse().expect("checked");
        p.config.insert(
            "core.https_address".into(),
            incus_core::admin::https_address(&addr, port),
        );
    }
    if !ask.bool(
        "Would you like stale cached images to be updated automatically? (yes/no) [default=yes]: ",
        true,
    )? {
        p.config
            .insert("images.auto_update_interval".into(), "0".into());
    }
    if !default_profile.devices.is_empty() {
        p.profiles.push(default_profile);
    }
    if ask.bool(
        "Would you like a YAML \"init\" preseed to be printed? (yes/no) [default=no]: ",
        false,
    )? {
        incus_cli::write_stdout(&format!("{}\n", incus_cli::to_yaml(&p)?))?;
    }
    Ok(p)
}
