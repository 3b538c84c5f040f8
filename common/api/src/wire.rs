//! Request bodies of the REST API that are not an object's own type: one definition,
//! encoded by the remote client and decoded by incus-serve.

use crate::Config;
use serde::{Deserialize, Serialize};

/// `PATCH` of an object's config: the given keys replace the current ones, an empty
/// value removes its key, the others stay (run by the server under the object's lock).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigPatch {
    #[serde(default)]
    pub config: Config,
}

/// `POST` that renames an object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenamePost {
    #[serde(default)]
    pub name: String,
}
