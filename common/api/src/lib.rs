//! REST/JSON types exactly as Incus names them, the response envelope, error kinds
//! (exit code <-> HTTP status) and the upstream config-key metadata.
//!
//! This crate knows nothing of SQL, processes or clap.

pub mod error;
pub mod keys;
pub mod types;
pub mod volume_types;
pub mod warning;

pub use error::{Error, ErrorKind, Result};
pub use types::*;
pub use volume_types::*;
