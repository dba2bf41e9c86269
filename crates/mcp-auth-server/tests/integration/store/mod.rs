//! The [`Store`](mcp_auth_server::store::Store) conformance suite, written once
//! (`conformance.rs`) and run against every backend: memory, SQLite (a file and
//! `sqlite::memory:`) and PostgreSQL (a fresh schema per test in the database at
//! `DATABASE_URL`, which must be set: `cargo xtask ci` provides it).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[cfg(any(feature = "memory", feature = "sqlite", feature = "postgres"))]
mod conformance;
#[cfg(any(feature = "memory", feature = "sqlite", feature = "postgres"))]
mod harness;
#[cfg(feature = "memory")]
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
