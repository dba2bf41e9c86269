//! Client resolution against a real HTTP server: client ID metadata documents served by a
//! local axum server on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[cfg(feature = "cimd")]
mod cimd;
