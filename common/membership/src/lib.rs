//! Cluster membership on cowsql (`docs/cluster.md`):
//!
//! - [`token`]: join tokens in upstream's format (base64 of JSON: server name,
//!   fingerprint, addresses, secret, expiry) and `cluster.join_token_expiry` parsing.
//! - [`tls`]: the cluster certificate and TLS configs pinned to it (mutual TLS between
//!   members), or pinned to a token's fingerprint (joining).
//! - [`tunnel`]: the database protocol carried over an HTTPS upgrade on
//!   `/internal/database` (server side spliced into the local node; client side a
//!   socket pair handed to libcowsql or to the client), and `/internal/join`.
//! - [`member`]: a member hosting its cowsql node: bootstrap, join with a token,
//!   restart from its directory, roles, heartbeats, the member list.

pub mod member;
pub mod tls;
pub mod token;
pub mod tunnel;

pub use member::{Member, MemberConfig, MemberInfo};
pub use token::JoinToken;
