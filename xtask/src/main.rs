//! `cargo xtask`: project automation for mcp-auth, in Rust instead of shell.
//!
//! This follows the cargo-xtask pattern: `.cargo/config.toml` aliases
//! `cargo xtask` to `cargo run --package xtask --`. Run `cargo xtask help` for
//! the list of subcommands.
//!
//! Layout: `main.rs` dispatches, [`mod@ci`] holds the CI steps, [`mod@bench`] the
//! benchmarks, [`mod@postgres`] finds or starts a database for tests, [`mod@disk`] checks
//! the room a CI run needs and [`mod@cmd`] runs external programs.

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, reason = "a CLI prints")]

mod bench;
mod ci;
mod cmd;
mod disk;
mod postgres;

use std::process::ExitCode;

/// Result type used throughout xtask: errors are messages for the user.
pub(crate) type Result<T = (), E = String> = std::result::Result<T, E>;

/// Usage text printed by `cargo xtask help`.
const USAGE: &str = "\
Usage: cargo xtask <COMMAND> [ARGS]

Commands:
  ci                     Run every CI check: disk space, fmt, clippy (workspace,
                         each crate and example, no-default-features), feature
                         matrix (cargo-hack), tests (cargo-nextest + doctests)
                         with DATABASE_URL and headless Chromium, benches in
                         test mode, docs. Stops at the first failure.
  bench [NAME]... [-- ARGS]...
                         Run benchmarks (all when no NAME is given); ARGS are
                         passed to the benchmark harness.
  db-url [--throwaway]   Print the DATABASE_URL that `ci` would give the tests.
                         --throwaway: start a temporary PostgreSQL cluster,
                         print its URL, check it with psql, then stop it.
  help                   Print this text.

Database lookup (for `ci` and `db-url`): $DATABASE_URL if set; else a server on
127.0.0.1:5432 (postgres://postgres@127.0.0.1:5432/test); else a throwaway
cluster made with initdb/pg_ctl from PATH or /usr/lib/postgresql/*/bin.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match command {
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        "ci" => ci::run(rest),
        "bench" => bench::run(rest),
        "db-url" => postgres::db_url_command(rest),
        other => Err(format!(
            "unknown command `{other}`; run `cargo xtask help` for usage"
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}
