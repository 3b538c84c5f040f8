//! `GET /1.0/resources`: CPU, memory, disks and network cards read from `/proc` and
//! `/sys`, in upstream's shape. Plain file reads; a file the kernel does not offer
//! leaves its field at zero.

use crate::Result;
use incus_api::{
    Resources, ResourcesCpu, ResourcesCpuCore, ResourcesCpuSocket, ResourcesCpuThread,
    ResourcesMemory, ResourcesNetwork, ResourcesNetworkCard, ResourcesNetworkCardPort,
    ResourcesStorage, ResourcesStorageDisk, ResourcesStorageDiskPartition,
};
use std::collections::BTreeMap;
use std::path::Path;

fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn num(p: impl AsRef<Path>) -> u64 {
    read(p).parse().unwrap_or(0)
}

fn names(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The whole host.
pub fn get() -> Result<Resources> {
    Ok(Resources {
        cpu: cpu(),
        memory: memory(),
        network: network(),
        storage: storage(),
    })
}

fn cpu() -> ResourcesCpu {
    // /proc/cpuinfo: per logical CPU, its model name, vendor and MHz.
    let info = read("/proc/cpuinfo");
    let mut per_cpu: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
    let mut cur: Option<i64> = None;
    for line in info.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if k == "processor" {
            cur = v.parse().ok();
        } else if let Some(c) = cur {
            per_cpu.entry(c).or_default().insert(k.into(), v.into());
        }
    }
    let base = "/sys/devices/system/cpu";
    let mut sockets: BTreeMap<u64, ResourcesCpuSocket> = BTreeMap::new();
    let mut total = 0;
    for name in names(base) {
        let Some(id) = name.strip_prefix("cpu").and_then(|n| n.parse::<i64>().ok()) else {
            continue;
        };
        let dir = Path::new(base).join(&name);
        let topo = dir.join("topology");
        let socket = num(topo.join("physical_package_id"));
        let core_id = num(topo.join("core_id"));
        let die = num(topo.join("die_id"));
        // cpu0 usually has no `online` file: it cannot be taken offline.
        let online = !dir.join("online").exists() || read(dir.join("online")) == "1";
        let numa_node = names(&dir.to_string_lossy())
            .iter()
            .find_map(|n| n.strip_prefix("node").and_then(|n| n.parse().ok()))
            .unwrap_or(0);
        let fields = per_cpu.get(&id).cloned().unwrap_or_default();
        let mhz = fields
            .get("cpu MHz")
            .and_then(|m| m.parse::<f64>().ok())
            .unwrap_or(0.0) as u64;
        let s = sockets.entry(socket).or_insert_with(|| ResourcesCpuSocket {
            name: fields.get("model name").cloned().unwrap_or_default(),
            vendor: fields.get("vendor_id").cloned().unwrap_or_default(),
            socket,
            ..Default::default()
        });
        s.frequency = s.frequency.max(mhz);
        let idx = match s
            .cores
            .iter()
            .position(|c| c.core == core_id && c.die == die)
        {
            Some(i) => i,
            None => {
                s.cores.push(ResourcesCpuCore {
                    core: core_id,
                    die,
                    ..Default::default()
                });
                s.cores.len() - 1
            }
        };
        let core = &mut s.cores[idx];
        core.frequency = core.frequency.max(mhz);
        let thread = core.threads.len() as u64;
        core.threads.push(ResourcesCpuThread {
            id,
            numa_node,
            thread,
            online,
            isolated: false,
        });
        total += 1;
    }
    ResourcesCpu {
        architecture: incus_sys::architecture(),
        sockets: sockets.into_values().collect(),
        total,
    }
}

/// The host's memory in bytes (`MemTotal`), for percentage limits.
pub fn host_memory_bytes() -> Option<u64> {
    Some(memory().total).filter(|t| *t > 0)
}

fn memory() -> ResourcesMemory {
    let info = read("/proc/meminfo");
    let field = |k: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let total = field("MemTotal") * 1024;
    let available = field("MemAvailable") * 1024;
    let huge_size = field("Hugepagesize") * 1024;
    let huge_total = field("HugePages_Total");
    let huge_free = field("HugePages_Free");
    ResourcesMemory {
        hugepages_total: huge_total * huge_size,
        hugepages_used: (huge_total - huge_free.min(huge_total)) * huge_size,
        hugepages_size: huge_size,
        used: total.saturating_sub(available),
        total,
    }
}

/// Block devices backed by hardware (`device` link): not loop, ram or dm devices.
fn storage() -> ResourcesStorage {
    let base = "/sys/class/block";
    let mut disks = Vec::new();
    for name in names(base) {
        let dir = Path::new(base).join(&name);
        if dir.join("partition").exists() || !dir.join("device").exists() {
            continue;
        }
        let mut partitions = Vec::new();
        for p in names(&dir.to_string_lossy()) {
            let pdir = dir.join(&p);
            if pdir.join("partition").exists() {
                partitions.push(ResourcesStorageDiskPartition {
                    device: read(pdir.join("dev")),
                    read_only: read(pdir.join("ro")) == "1",
                    size: num(pdir.join("size")) * 512,
                    partition: num(pdir.join("partition")),
                    id: p,
                });
            }
        }
        let disk_type = if name.starts_with("nvme") {
            "nvme"
        } else if name.starts_with("vd") {
            "virtio-blk"
        } else if name.starts_with("sr") {
            "cdrom"
        } else {
            "scsi"
        };
        disks.push(ResourcesStorageDisk {
            device: read(dir.join("dev")),
            model: read(dir.join("device/model")),
            disk_type: disk_type.into(),
            read_only: read(dir.join("ro")) == "1",
            size: num(dir.join("size")) * 512,
            removable: read(dir.join("removable")) == "1",
            numa_node: read(dir.join("device/numa_node")).parse().unwrap_or(0),
            block_size: num(dir.join("queue/logical_block_size")),
            rpm: 0,
            device_id: String::new(),
            partitions,
            id: name,
        });
    }
    ResourcesStorage {
        total: disks.len() as u64,
        disks,
    }
}

/// Interfaces backed by hardware (`device` link), one card each.
fn network() -> ResourcesNetwork {
    let base = "/sys/class/net";
    let mut cards = Vec::new();
    for name in names(base) {
        let dir = Path::new(base).join(&name);
        let Ok(dev) = std::fs::canonicalize(dir.join("device")) else {
            continue;
        };
        let driver = std::fs::read_link(dir.join("device/driver"))
            .ok()
            .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let bus = std::fs::read_link(dev.join("subsystem"))
            .ok()
            .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
            .unwrap_or_default();
        let pci_address = if bus == "pci" {
            dev.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            String::new()
        };
        // `speed` is -1 (EINVAL on read) while the link is down.
        let speed = read(dir.join("speed")).parse::<i64>().unwrap_or(0).max(0) as u64;
        cards.push(ResourcesNetworkCard {
            driver,
            numa_node: read(dev.join("numa_node")).parse().unwrap_or(0),
            pci_address,
            ports: vec![ResourcesNetworkCardPort {
                address: read(dir.join("address")),
                port: 0,
                protocol: if read(dir.join("type")) == "32" {
                    "infiniband".into()
                } else {
                    "ethernet".into()
                },
                auto_negotiation: false,
                link_detected: read(dir.join("carrier")) == "1",
                link_speed: speed,
                id: name,
            }],
        });
    }
    ResourcesNetwork {
        total: cards.len() as u64,
        cards,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_host() {
        let r = super::get().unwrap();
        assert!(r.cpu.total >= 1, "{r:?}");
        let threads: usize = r
            .cpu
            .sockets
            .iter()
            .flat_map(|s| &s.cores)
            .map(|c| c.threads.len())
            .sum();
        assert_eq!(threads as u64, r.cpu.total);
        assert!(r.memory.total > 0 && r.memory.used <= r.memory.total);
        assert_eq!(r.storage.total as usize, r.storage.disks.len());
    }
}
