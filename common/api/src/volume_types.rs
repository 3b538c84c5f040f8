//! Storage volume types beyond [`crate::StorageVolume`] (snapshots, state, put).

use crate::Config;
use serde::{Deserialize, Serialize};

/// `GET /1.0/storage-pools/POOL/volumes/TYPE/VOL/snapshots/SNAP`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StorageVolumeSnapshot {
    pub config: Config,
    pub content_type: String,
    pub created_at: String,
    pub description: String,
    pub expires_at: String,
    pub name: String,
}

/// `GET /1.0/storage-pools/POOL/volumes/TYPE/VOL/state`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StorageVolumeState {
    pub usage: StorageVolumeStateUsage,
}

/// Bytes used by a volume and its limit (0: none).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StorageVolumeStateUsage {
    pub used: u64,
    pub total: i64,
}

/// `PUT /1.0/storage-pools/POOL/volumes/TYPE/VOL` (what `volume edit` changes).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StorageVolumePut {
    #[serde(default, deserialize_with = "crate::null_default")]
    pub config: Config,
    pub description: String,
}
