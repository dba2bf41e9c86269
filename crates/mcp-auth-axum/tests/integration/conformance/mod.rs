//! The shared conformance suite (`mcp_auth_testkit::conformance`) against the axum adapter:
//! exact statuses, challenges, headers and bodies of the middleware and, with feature
//! `server`, of every endpoint of the mounted authorization server (`authorization_server::*`).
//! `mcp-auth-actix`'s conformance binary also compares this app's answers with the actix-web
//! adapter's.

#![allow(clippy::unwrap_used, reason = "tests")]

mod app;

mcp_auth_testkit::conformance_tests!(app::Axum);

#[cfg(feature = "server")]
mod authorization_server {
    mcp_auth_testkit::conformance_tests!(authorization_server: super::app::Axum);
}
