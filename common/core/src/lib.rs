//! The operations of the project as plain synchronous functions on a [`Context`],
//! returning `incus_api` types. Nothing here prints, parses argv, or knows whether the
//! caller is a command-line tool or the REST server.

pub mod admin;
pub mod admin_recover;
pub mod admin_serve;
pub mod admin_shutdown;
pub mod admin_sql;
pub mod backup;
pub mod backup_archive;
pub mod backup_store;
pub mod backup_volume;
pub mod boot;
pub mod check;
pub mod context;
mod convert;
pub mod copy;
pub mod devices;
pub mod events;
pub mod files;
pub mod filter;
pub mod guestapi;
pub mod idmap;
pub mod image;
pub mod instance;
pub mod lifecycle;
pub mod logs;
pub mod names;
pub mod network;
pub mod patch;
pub mod profile;
pub mod project;
pub mod publish;
pub mod rebuild;
pub mod resources;
pub mod security;
pub mod server;
pub mod snapshot;
pub mod storage;
pub mod time;
pub mod trust;
pub mod vm;
pub mod volatile;

pub use context::Context;
pub use incus_api::{Error, ErrorKind, Result};
