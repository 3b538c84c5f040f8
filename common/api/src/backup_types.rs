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

/// `POST /1.0/images` from an instance or a snapshot (`publish`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ImagesPost {
    #[serde(deserialize_with = "null_default")]
    pub source: ImagesPostSource,
    pub compression_algorithm: String,
    #[serde(deserialize_with = "null_default")]
    pub properties: crate::Config,
    pub public: bool,
    #[serde(deserialize_with = "null_default")]
    pub expires_at: String,
    #[serde(deserialize_with = "null_default")]
    pub aliases: Vec<crate::ImageAlias>,
    pub filename: String,
}

/// The `source` of [`ImagesPost`]: `type` is `instance`, `container` or `snapshot`
/// (`name` is `INSTANCE/SNAPSHOT` then).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ImagesPostSource {
    #[serde(rename = "type")]
    pub source_type: String,
    pub name: String,
    pub fingerprint: String,
    pub alias: String,
    pub server: String,
}
