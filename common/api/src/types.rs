//! REST objects with upstream's JSON names. Every field is always serialised, as
//! upstream does (no omitempty), so `--format json` equals the REST `metadata`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A config map (`map[string]string` upstream).
pub type Config = BTreeMap<String, String>;
/// Devices by name, each a config map with at least `type`.
pub type Devices = BTreeMap<String, Config>;

/// Upstream's "never" timestamp.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
/// Upstream's "never used" timestamp for `last_used_at`.
pub const EPOCH_TIME: &str = "1970-01-01T00:00:00Z";

/// `GET /1.0`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Server {
    pub config: Config,
    pub api_extensions: Vec<String>,
    pub api_status: String,
    pub api_version: String,
    pub auth: String,
    pub public: bool,
    pub auth_methods: Vec<String>,
    #[serde(default)]
    pub auth_user_name: String,
    #[serde(default)]
    pub auth_user_method: String,
    #[serde(default)]
    pub environment: ServerEnvironment,
}

/// The `environment` part of [`Server`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ServerEnvironment {
    pub addresses: Vec<String>,
    pub architectures: Vec<String>,
    pub certificate: String,
    pub certificate_fingerprint: String,
    pub driver: String,
    pub driver_version: String,
    pub firewall: String,
    pub kernel: String,
    pub kernel_architecture: String,
    pub kernel_features: Config,
    pub kernel_version: String,
    pub lxc_features: Config,
    pub os_name: String,
    pub os_version: String,
    pub project: String,
    pub server: String,
    pub server_clustered: bool,
    pub server_event_mode: String,
    pub server_name: String,
    pub server_pid: i64,
    pub server_version: String,
    pub storage: String,
    pub storage_version: String,
    pub storage_supported_drivers: Vec<ServerStorageDriverInfo>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ServerStorageDriverInfo {
    pub name: String,
    pub version: String,
    pub remote: bool,
}

/// An instance (`GET /1.0/instances/NAME`); `state`, `snapshots` and `backups` are
/// filled for `recursion=2` listings (upstream's `InstanceFull`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Instance {
    pub architecture: String,
    pub config: Config,
    pub devices: Devices,
    pub ephemeral: bool,
    pub profiles: Vec<String>,
    pub stateful: bool,
    pub description: String,
    pub created_at: String,
    pub expanded_config: Config,
    pub expanded_devices: Devices,
    pub name: String,
    pub status: String,
    pub status_code: i32,
    pub last_used_at: String,
    pub location: String,
    #[serde(rename = "type")]
    pub instance_type: String,
    pub project: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub backups: Option<Vec<serde_json::Value>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub state: Option<InstanceState>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub snapshots: Option<Vec<InstanceSnapshot>>,
}

/// `GET /1.0/instances/NAME/state`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InstanceState {
    pub status: String,
    pub status_code: i32,
    pub disk: BTreeMap<String, InstanceStateDisk>,
    pub memory: InstanceStateMemory,
    pub network: Option<BTreeMap<String, InstanceStateNetwork>>,
    pub pid: i64,
    pub processes: i64,
    pub cpu: InstanceStateCpu,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InstanceStateDisk {
    pub usage: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InstanceStateMemory {
    pub usage: i64,
    pub usage_peak: i64,
    pub total: i64,
    pub swap_usage: i64,
    pub swap_usage_peak: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InstanceStateCpu {
    pub usage: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InstanceStateNetwork {
    pub addresses: Vec<InstanceStateNetworkAddress>,
    pub counters: InstanceStateNetworkCounters,
    pub hwaddr: String,
    pub host_name: String,
    pub mtu: i64,
    pub state: String,
    #[serde(rename = "type")]
    pub net_type: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InstanceStateNetworkAddress {
    pub family: String,
    pub address: String,
    pub netmask: String,
    pub scope: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InstanceStateNetworkCounters {
    pub bytes_received: i64,
    pub bytes_sent: i64,
    pub packets_received: i64,
    pub packets_sent: i64,
    pub errors_received: i64,
    pub errors_sent: i64,
    pub packets_dropped_outbound: i64,
    pub packets_dropped_inbound: i64,
}

/// `GET /1.0/instances/NAME/snapshots/SNAP`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InstanceSnapshot {
    pub architecture: String,
    pub config: Config,
    pub created_at: String,
    pub devices: Devices,
    pub ephemeral: bool,
    pub expanded_config: Config,
    pub expanded_devices: Devices,
    pub expires_at: String,
    pub last_used_at: String,
    pub name: String,
    pub profiles: Vec<String>,
    pub size: i64,
    pub stateful: bool,
    pub description: String,
}

/// `POST /1.0/instances`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct InstancesPost {
    pub name: String,
    #[serde(rename = "type")]
    pub instance_type: String,
    pub architecture: String,
    #[serde(default, deserialize_with = "crate::null_default")]
    pub config: Config,
    #[serde(default, deserialize_with = "crate::null_default")]
    pub devices: Devices,
    pub ephemeral: bool,
    pub profiles: Option<Vec<String>>,
    pub description: String,
    pub stateful: bool,
    pub start: bool,
    #[serde(default, deserialize_with = "crate::null_default")]
    pub source: InstanceSource,
}

/// The `source` of [`InstancesPost`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct InstanceSource {
    #[serde(rename = "type")]
    pub source_type: String,
    pub alias: String,
    pub fingerprint: String,
    #[serde(default, deserialize_with = "crate::null_default")]
    pub properties: Config,
    pub server: String,
    pub protocol: String,
    /// The image server's certificate (PEM) to trust instead of the system CAs.
    pub certificate: String,
    /// `POST /1.0/images` with `type: url` (upstream's `ImagesPostSource.URL`).
    pub url: String,
    pub source: String,
    pub instance_only: bool,
    pub allow_inconsistent: bool,
}

/// `PUT /1.0/instances/NAME` (the writable part of an instance).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct InstancePut {
    pub architecture: String,
    #[serde(default, deserialize_with = "crate::null_default")]
    pub config: Config,
    #[serde(default, deserialize_with = "crate::null_default")]
    pub devices: Devices,
    pub ephemeral: bool,
    #[serde(default, deserialize_with = "crate::null_default")]
    pub profiles: Vec<String>,
    pub description: String,
    pub stateful: bool,
}

/// An image (`GET /1.0/images/FP`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Image {
    pub aliases: Vec<ImageAlias>,
    pub architecture: String,
    pub cached: bool,
    pub filename: String,
    pub fingerprint: String,
    pub properties: Config,
    pub public: bool,
    pub size: i64,
    #[serde(rename = "type")]
    pub image_type: String,
    pub auto_update: bool,
    pub profiles: Vec<String>,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: String,
    pub uploaded_at: String,
    pub update_source: Option<serde_json::Value>,
    pub project: String,
}

/// An alias as listed inside an [`Image`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ImageAlias {
    pub name: String,
    pub description: String,
}

/// `GET /1.0/images/aliases/NAME`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ImageAliasesEntry {
    pub name: String,
    pub description: String,
    pub target: String,
    #[serde(rename = "type")]
    pub alias_type: String,
}

/// The writable part of an [`Image`] (`PUT /1.0/images/FP`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ImagePut {
    pub auto_update: bool,
    #[serde(default, deserialize_with = "crate::null_default")]
    pub properties: Config,
    pub public: bool,
    pub expires_at: String,
    #[serde(default, deserialize_with = "crate::null_default")]
    pub profiles: Vec<String>,
}

/// `GET /1.0/storage-pools/NAME`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StoragePool {
    pub config: Config,
    pub description: String,
    pub name: String,
    pub driver: String,
    pub used_by: Vec<String>,
    pub status: String,
    pub locations: Vec<String>,
}

/// The writable part of a pool.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct StoragePoolPut {
    #[serde(default, deserialize_with = "crate::null_default")]
    pub config: Config,
    pub description: String,
}

/// `GET /1.0/storage-pools/NAME/resources`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StoragePoolResources {
    pub space: ResourceUsage,
    pub inodes: ResourceUsage,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ResourceUsage {
    pub used: u64,
    pub total: u64,
}

/// `GET /1.0/storage-pools/POOL/volumes/TYPE/NAME`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StorageVolume {
    pub config: Config,
    pub description: String,
    pub name: String,
    #[serde(rename = "type")]
    pub volume_type: String,
    pub used_by: Vec<String>,
    pub location: String,
    pub content_type: String,
    pub project: String,
    pub created_at: String,
}

/// `GET /1.0/networks/NAME`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Network {
    pub config: Config,
    pub description: String,
    pub name: String,
    #[serde(rename = "type")]
    pub network_type: String,
    pub used_by: Vec<String>,
    pub managed: bool,
    pub status: String,
    pub locations: Vec<String>,
    pub project: String,
}

/// `GET /1.0/profiles/NAME`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    pub config: Config,
    pub description: String,
    pub devices: Devices,
    pub name: String,
    pub used_by: Vec<String>,
    pub project: String,
}

/// The writable part of a profile (`PUT /1.0/profiles/NAME`, and `profile edit`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ProfilePut {
    #[serde(default, deserialize_with = "crate::null_default")]
    pub config: Config,
    pub description: String,
    #[serde(default, deserialize_with = "crate::null_default")]
    pub devices: Devices,
}

/// `GET /1.0/projects/NAME`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Project {
    pub config: Config,
    pub description: String,
    pub name: String,
    pub used_by: Vec<String>,
}

/// `GET /1.0/certificates/FP`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Certificate {
    pub name: String,
    #[serde(rename = "type")]
    pub cert_type: String,
    pub restricted: bool,
    pub projects: Vec<String>,
    pub certificate: String,
    pub fingerprint: String,
    pub description: String,
}

/// `GET /1.0/operations/ID`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Operation {
    pub id: String,
    pub class: String,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
    pub status: String,
    pub status_code: i32,
    pub resources: BTreeMap<String, Vec<String>>,
    pub metadata: Option<serde_json::Value>,
    pub may_cancel: bool,
    pub err: String,
    pub location: String,
}

/// An event as streamed by `/1.0/events`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Event {
    #[serde(rename = "type")]
    pub event_type: String,
    pub timestamp: String,
    pub metadata: serde_json::Value,
    pub location: String,
    pub project: String,
}

/// The response envelope of every REST answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Response {
    #[serde(rename = "type")]
    pub response_type: String,
    pub status: String,
    pub status_code: i32,
    pub operation: String,
    pub error_code: i32,
    pub error: String,
    pub metadata: serde_json::Value,
}

impl Response {
    /// A sync success envelope around `metadata`.
    pub fn sync(metadata: serde_json::Value) -> Self {
        Response {
            response_type: "sync".into(),
            status: "Success".into(),
            status_code: 200,
            metadata,
            ..Default::default()
        }
    }
    /// An error envelope; `error_code` equals the HTTP status.
    pub fn error(err: &crate::Error) -> Self {
        Response {
            response_type: "error".into(),
            error_code: err.kind.http_status() as i32,
            error: err.message.clone(),
            metadata: serde_json::Value::Null,
            ..Default::default()
        }
    }
}

/// Instance status strings and their status codes, as upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCode {
    Running,
    Stopped,
    Frozen,
    Error,
    Ready,
}

impl StatusCode {
    pub fn code(self) -> i32 {
        match self {
            StatusCode::Running => 103,
            StatusCode::Stopped => 102,
            StatusCode::Frozen => 110,
            StatusCode::Error => 112,
            StatusCode::Ready => 113,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            StatusCode::Running => "Running",
            StatusCode::Stopped => "Stopped",
            StatusCode::Frozen => "Frozen",
            StatusCode::Error => "Error",
            StatusCode::Ready => "Ready",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_carry_every_key() {
        let v = serde_json::to_value(Response::sync(serde_json::json!({"a": 1}))).unwrap();
        for key in [
            "type",
            "status",
            "status_code",
            "operation",
            "error_code",
            "error",
            "metadata",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        let e = Response::error(&crate::Error::not_found("Instance not found"));
        assert_eq!(e.error_code, 404);
        assert_eq!(e.response_type, "error");
    }

    #[test]
    fn instance_json_uses_upstream_names() {
        let v = serde_json::to_value(Instance::default()).unwrap();
        assert!(v.get("type").is_some());
        assert!(v.get("expanded_config").is_some());
        assert!(v.get("state").is_none(), "state only with recursion=2");
    }
}

/// The writable part of [`Server`] (`PUT /1.0`, `config edit`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ServerPut {
    #[serde(default, deserialize_with = "crate::null_default")]
    pub config: Config,
}

impl From<&Instance> for InstancePut {
    /// The writable part of an instance (local config and devices, not expanded).
    fn from(i: &Instance) -> Self {
        InstancePut {
            architecture: i.architecture.clone(),
            config: i.config.clone(),
            devices: i.devices.clone(),
            ephemeral: i.ephemeral,
            profiles: i.profiles.clone(),
            description: i.description.clone(),
            stateful: i.stateful,
        }
    }
}

impl From<&Profile> for ProfilePut {
    fn from(p: &Profile) -> Self {
        ProfilePut {
            config: p.config.clone(),
            description: p.description.clone(),
            devices: p.devices.clone(),
        }
    }
}

impl From<&Image> for ImagePut {
    fn from(i: &Image) -> Self {
        ImagePut {
            auto_update: i.auto_update,
            properties: i.properties.clone(),
            public: i.public,
            expires_at: i.expires_at.clone(),
            profiles: i.profiles.clone(),
        }
    }
}

impl From<&StoragePool> for StoragePoolPut {
    fn from(p: &StoragePool) -> Self {
        StoragePoolPut {
            config: p.config.clone(),
            description: p.description.clone(),
        }
    }
}

/// The writable part of a network (`PUT /1.0/networks/NAME`, and `network edit`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct NetworkPut {
    #[serde(default, deserialize_with = "crate::null_default")]
    pub config: Config,
    pub description: String,
}

impl From<&Network> for NetworkPut {
    fn from(n: &Network) -> Self {
        NetworkPut {
            config: n.config.clone(),
            description: n.description.clone(),
        }
    }
}

/// `GET /1.0/networks/NAME/leases`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NetworkLease {
    pub hostname: String,
    pub hwaddr: String,
    pub address: String,
    #[serde(rename = "type")]
    pub lease_type: String,
    pub location: String,
    pub project: String,
}

/// `GET /1.0/networks/NAME/state`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NetworkState {
    pub addresses: Vec<InstanceStateNetworkAddress>,
    pub counters: NetworkStateCounters,
    pub hwaddr: String,
    pub mtu: i64,
    pub state: String,
    #[serde(rename = "type")]
    pub network_type: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NetworkStateCounters {
    pub bytes_received: i64,
    pub bytes_sent: i64,
    pub packets_received: i64,
    pub packets_sent: i64,
}
