//! Adapter-level tests of mcp-auth-axum: trivial axum handlers behind [`mcp_auth_axum::AuthLayer`],
//! served on 127.0.0.1 and called over real HTTP.

#![allow(clippy::unwrap_used, reason = "tests")]

mod body;
mod extract;
mod faults;
mod support;
mod tool_scopes;
