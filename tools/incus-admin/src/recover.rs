//! The `admin recover` dialog (upstream's questions, read from standard input, so
//! answers can be piped; `--pool` and `--yes` answer without questions).

use crate::ask::Asker;
use incus_api::{Error, Result};
use incus_core::admin_recover::{self, FoundKind, PoolSpec};
use incus_core::Context;

/// Parses `--pool NAME,DRIVER,SOURCE[,KEY=VALUE...]`.
pub fn parse_pool_arg(s: &str) -> Result<PoolSpec> {
    let mut parts = s.split(',');
    let (Some(name), Some(driver)) = (parts.next(), parts.next()) else {
        return Err(Error::usage(format!(
            "Bad --pool \"{s}\": NAME,DRIVER,SOURCE[,KEY=VALUE...]"
        )));
    };
    let mut spec = PoolSpec {
        name: name.into(),
        driver: driver.into(),
        ..Default::default()
    };
    if let Some(source) = parts.next().filter(|p| !p.is_empty()) {
        spec.config.insert("source".into(), source.into());
    }
    for kv in parts {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| Error::usage(format!("Bad --pool property \"{kv}\": KEY=VALUE")))?;
        spec.config.insert(k.into(), v.into());
    }
    Ok(spec)
}

pub fn run(ctx: &Context, mut new_pools: Vec<PoolSpec>, yes: bool) -> Result<()> {
    let mut ask = Asker::stdin();
    let existing = incus_core::storage::pool_list(ctx)?;
    println!("This server currently has the following storage pools:");
    for p in &existing {
        println!(
            " - {} (backend={:?}, source={:?})",
            p.name,
            p.driver,
            p.config.get("source").map(String::as_str).unwrap_or("")
        );
    }
    // Ours: pools found under storage-pools/ without a row are proposed.
    for p in admin_recover::proposed_pools(ctx)? {
        if new_pools.iter().any(|n| n.name == p.name) {
            continue;
        }
        let found = format!(
            "Found storage pool {:?} that is not in the database (backend={:?}, source={:?}).",
            p.name,
            p.driver,
            p.source()
        );
        let take = if yes {
            println!("{found}");
            true
        } else {
            ask.bool(
                &format!("{found} Would you like to recover it? (yes/no) [default=yes]: "),
                true,
            )?
        };
        if take {
            new_pools.push(p);
        }
    }
    if !yes {
        while ask.bool(
            "Would you like to recover another storage pool? (yes/no) [default=no]: ",
            false,
        )? {
            let taken: Vec<String> = existing
                .iter()
                .map(|p| p.name.clone())
                .chain(new_pools.iter().map(|p| p.name.clone()))
                .collect();
            let name = ask.string("Name of the storage pool: ", |v| {
                if v.is_empty() {
                    return Err(Error::invalid("Pool name cannot be empty"));
                }
                if taken.iter().any(|t| t == v) {
                    return Err(Error::invalid(format!(
                        "Storage pool {v:?} is already on recover list"
                    )));
                }
                Ok(())
            })?;
            let driver = ask.string("Name of the storage backend (btrfs, dir): ", |v| {
                incus_core::storage::driver(v).map(|_| ())
            })?;
            let source = ask.string(
                "Source of the storage pool (block device, volume group, dataset, path, ... as applicable): ",
                |v| {
                    if v.is_empty() {
                        Err(Error::invalid("Source cannot be empty"))
                    } else {
                        Ok(())
                    }
                },
            )?;
            let mut spec = PoolSpec {
                name,
                driver,
                ..Default::default()
            };
            spec.config.insert("source".into(), source);
            loop {
                let kv = ask.string(
                    "Additional storage pool configuration property (KEY=VALUE, empty when done): ",
                    |v| {
                        if v.is_empty() || v.contains('=') {
                            Ok(())
                        } else {
                            Err(Error::invalid(
                                "Config option should be in the format KEY=VALUE",
                            ))
                        }
                    },
                );
                match kv {
                    Ok(kv) if !kv.is_empty() => {
                        let (k, v) = kv.split_once('=').expect("checked");
                        spec.config.insert(k.into(), v.into());
                    }
                    _ => break,
                }
            }
            new_pools.push(spec);
        }
    }
    println!("The recovery process will be scanning the following storage pools:");
    for p in &existing {
        println!(
            " - EXISTING: {:?} (backend={:?}, source={:?})",
            p.name,
            p.driver,
            p.config.get("source").map(String::as_str).unwrap_or("")
        );
    }
    for p in &new_pools {
        println!(
            " - NEW: {:?} (backend={:?}, source={:?})",
            p.name,
            p.driver,
            p.source()
        );
    }
    if !yes
        && !ask.bool(
            "Would you like to continue with scanning for lost volumes? (yes/no) [default=yes]: ",
            true,
        )?
    {
        return Ok(());
    }
    println!("Scanning for unknown volumes...");
    let scan = loop {
        let scan = admin_recover::scan(ctx, &new_pools)?;
        if !new_pools.is_empty() {
            println!("The following unknown storage pools have been found:");
            for p in &new_pools {
                println!(" - Storage pool {:?} of type {:?}", p.name, p.driver);
            }
        }
        if !scan.volumes.is_empty() {
            println!("The following unknown volumes have been found:");
            for v in &scan.volumes {
                let kind = match v.kind {
                    FoundKind::Container => "Container",
                    FoundKind::Custom => "Custom",
                };
                println!(
                    " - {kind} {:?} on pool {:?} in project \"default\" (includes {} snapshots)",
                    v.name,
                    v.pool,
                    v.snapshots.len()
                );
            }
        }
        if !scan.skipped.is_empty() {
            println!("The following volumes cannot be recovered:");
            for (v, why) in &scan.skipped {
                println!(" - {v}: {why}");
            }
        }
        if scan.dependency_errors.is_empty() {
            if new_pools.is_empty() && scan.volumes.is_empty() {
                println!("No unknown storage pools or volumes found. Nothing to do.");
                return Ok(());
            }
            break scan;
        }
        println!("You are currently missing the following:");
        for d in &scan.dependency_errors {
            println!(" - {d}");
        }
        if yes
            || ask
                .line("Please create those missing entries and then hit ENTER: ")?
                .is_none()
        {
            return Err(Error::invalid(format!(
                "Missing dependencies: {}",
                scan.dependency_errors.join("; ")
            )));
        }
    };
    let _ = scan;
    if !yes
        && !ask.bool(
            "Would you like those to be recovered? (yes/no) [default=no]: ",
            false,
        )?
    {
        return Ok(());
    }
    println!("Starting recovery...");
    let done = admin_recover::import(ctx, &new_pools)?;
    println!(
        "Recovered {} storage pool(s), {} profile(s), {} instance(s), {} custom volume(s)",
        done.pools.len(),
        done.profiles.len(),
        done.instances.len(),
        done.volumes.len()
    );
    Ok(())
}
