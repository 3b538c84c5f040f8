//! `GET /1.0/resources`: the host's hardware in upstream's shape (the "v2" API). The
//! parts upstream has and we do not fill (GPU, USB, PCI, system, load) are left out;
//! Go clients read them as empty.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Resources {
    pub cpu: ResourcesCpu,
    pub memory: ResourcesMemory,
    pub network: ResourcesNetwork,
    pub storage: ResourcesStorage,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResourcesCpu {
    pub architecture: String,
    pub sockets: Vec<ResourcesCpuSocket>,
    pub total: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResourcesCpuSocket {
    pub name: String,
    pub vendor: String,
    pub socket: u64,
    pub cores: Vec<ResourcesCpuCore>,
    /// MHz.
    pub frequency: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResourcesCpuCore {
    pub core: u64,
    pub die: u64,
    pub threads: Vec<ResourcesCpuThread>,
    pub frequency: u64,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResourcesCpuThread {
    pub id: i64,
    pub numa_node: u64,
    pub thread: u64,
    pub online: bool,
    pub isolated: bool,
}

/// Bytes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResourcesMemory {
    pub hugepages_total: u64,
    pub hugepages_used: u64,
    pub hugepages_size: u64,
    pub used: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResourcesNetwork {
    pub cards: Vec<ResourcesNetworkCard>,
    pub total: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResourcesNetworkCard {
    pub driver: String,
    pub ports: Vec<ResourcesNetworkCardPort>,
    pub numa_node: u64,
    pub pci_address: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResourcesNetworkCardPort {
    pub id: String,
    pub address: String,
    pub port: u64,
    pub protocol: String,
    pub auto_negotiation: bool,
    pub link_detected: bool,
    /// Mbit/s (0: unknown).
    pub link_speed: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResourcesStorage {
    pub disks: Vec<ResourcesStorageDisk>,
    pub total: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResourcesStorageDisk {
    pub id: String,
    /// `MAJOR:MINOR`.
    pub device: String,
    pub model: String,
    #[serde(rename = "type")]
    pub disk_type: String,
    pub read_only: bool,
    /// Bytes.
    pub size: u64,
    pub removable: bool,
    pub numa_node: u64,
    pub block_size: u64,
    pub rpm: u64,
    pub device_id: String,
    pub partitions: Vec<ResourcesStorageDiskPartition>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResourcesStorageDiskPartition {
    pub id: String,
    pub device: String,
    pub read_only: bool,
    pub size: u64,
    pub partition: u64,
}
