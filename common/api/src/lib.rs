//! REST/JSON types exactly as Incus names them, the response envelope, error kinds
//! (exit code <-> HTTP status) and the upstream config-key metadata.
//!
//! This crate knows nothing of SQL, processes or clap.

pub mod agent;
pub mod backup_types;
pub mod error;
pub mod extensions;
pub mod keys;
pub mod resources;
pub mod types;
pub mod volume_types;
pub mod warning;
pub mod wire;

pub use backup_types::*;
pub use error::{Error, ErrorKind, Result};
pub use extensions::API_EXTENSIONS;
pub use resources::*;
pub use types::*;
pub use volume_types::*;
pub use wire::{ConfigPatch, RenamePost};

/// For request fields that clients send as `null` when unset (Go's nil maps, slices
/// and pointers; Python's None): null reads as the default. Use it with
/// `#[serde(default, deserialize_with = "incus_api::null_default")]` on every map,
/// list or nested object of a body a client writes.
pub fn null_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
