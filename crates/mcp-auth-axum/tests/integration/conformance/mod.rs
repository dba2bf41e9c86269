//! The shared conformance suite (`mcp_auth_testkit::conformance`) against the axum adapter:
//! exact statuses, challenges, headers and bodies. `mcp-auth-actix`'s conformance binary also
//! compares this app's answers with the actix-web adapter's.

#![allow(clippy::unwrap_used, reason = "tests")]

mod app;

mcp_auth_testkit::conformance_tests!(app::Axum);
