//! The token, revocation and introspection endpoints, called as the router will call them:
//! against [`MemoryStore`](mcp_auth_server::store::MemoryStore), and one full flow against
//! SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]
#![cfg(all(feature = "memory", feature = "sqlite"))]

mod client_auth;
mod grant;
mod introspect;
mod revoke;
mod sqlite;
mod support;
