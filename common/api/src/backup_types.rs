//! Instance backups and publishing on the wire (`/1.0/instances/NAME/backups`,
//! `POST /1.0/instances/NAME/rebuild`), with upstream's JSON names.

use crate::null_default;
use serde::{Deserialize, Serialize};

/// `GET /1.0/instances/NAME/backups/BACKUP`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct InstanceBackup {
    pub name: String,
    pub created_at: String,
    pub expires_at: String,
    pub instance_only: bool,
    pub optimized_storage: bool,
}

/// `POST /1.0/instances/NAME/backups`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct InstanceBackupsPost {
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub expires_at: String,
    pub instance_only: bool,
    pub optimized_storage: bool,
    pub compression_algorithm: String,
}

/// `POST /1.0/instances/NAME/backups/BACKUP` (rename).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct InstanceBackupPost {
    pub name: String,
}

/// `POST /1.0/instances/NAME/rebuild`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct InstanceRebuildPost {
    pub source: crate::InstanceSource,
}
