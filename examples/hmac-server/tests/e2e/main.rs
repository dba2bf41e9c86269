//! End-to-end tests of the hmac-server example: a real server on 127.0.0.1, real HTTP, the real
//! rmcp client for the success paths and raw requests for the exact refusals.

#![allow(clippy::unwrap_used, reason = "tests")]

mod cache;
mod metadata;
mod refusals;
mod rmcp_client;
mod scopes;
mod sessions;
mod support;
