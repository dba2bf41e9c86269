//! `mcp-auth`: generate HMAC secrets, mint test tokens and inspect tokens for MCP servers that use
//! mcp-auth.
//!
//! - `mcp-auth secret` prints a fresh random secret as `base64:<value>`, the form `JWT_SECRET`
//!   and the `secret` configuration key accept;
//! - `mcp-auth token --audience AUD` mints an HMAC-signed access token for development and tests;
//! - `mcp-auth inspect [TOKEN]` decodes a token without verifying it, and says whether a validator
//!   would refuse it, and why;
//! - `mcp-auth doctor --issuer URL --audience AUD [--token T]` checks an OpenID Connect / OAuth
//!   issuer step by step (discovery, key set, and a token against the real validator);
//! - `mcp-auth hash-password` reads a password from standard input (or `--password-file`) and
//!   prints its Argon2id hash, for the embedded authorization server's user list;
//! - `mcp-auth serve [--bind ADDR] [--store URL] [--users FILE] [--issuer URL]` runs the embedded
//!   authorization server and a demo MCP endpoint (`/mcp`) it protects, on one listener.
//!
//! Exit codes: 0 on success; 1 when `inspect` finds that the token would be refused or a `doctor`
//! check fails; 2 for usage and input errors (including an unusable secret).

#![allow(
    clippy::print_stdout,
    reason = "a command-line tool writes its results to standard output"
)]

mod doctor;
mod hash_password;
mod inspect;
mod secret;
mod secret_source;
mod serve;
mod token;

use std::fmt;
use std::io::Write as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zeroize::Zeroizing;

/// Exit code for usage and input errors (the code clap uses for bad arguments too).
const EXIT_USAGE: u8 = 2;

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "mcp-auth", version, about, long_about = None)]
struct Cli {
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Print a fresh random HMAC secret as `base64:<value>` (for JWT_SECRET)
    Secret(secret::SecretArgs),
    /// Mint an HMAC-signed JWT access token (development and tests) and print it
    Token(token::TokenArgs),
    /// Decode a token WITHOUT verifying it and say whether a validator would refuse it
    Inspect(inspect::InspectArgs),
    /// Check an OpenID Connect / OAuth issuer (discovery, key set) and optionally a token
    Doctor(doctor::DoctorArgs),
    /// Hash a password read from standard input (Argon2id, PHC string) for the built-in users
    HashPassword(hash_password::HashPasswordArgs),
    /// Run the embedded authorization server and a demo MCP endpoint it protects
    Serve(serve::ServeArgs),
}

/// A usage or input error: reported on standard error, exit code 2.
///
/// Messages never contain a secret.
#[derive(Debug)]
pub(crate) struct CliError(String);

impl CliError {
    /// An error with the given message.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a subcommand produced: text for standard output and the exit code.
pub(crate) struct Outcome {
    /// Written to standard output as is. Zeroized on drop: it may hold a secret or a token.
    pub(crate) stdout: Zeroizing<String>,
    /// The process exit code.
    pub(crate) code: u8,
}

impl Outcome {
    /// Successful output.
    pub(crate) fn ok(stdout: Zeroizing<String>) -> Self {
        Self { stdout, code: 0 }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Secret(args) => secret::run(args),
        Command::Token(args) => token::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::HashPassword(args) => hash_password::run(args),
        // Prints as it goes and runs until interrupted: nothing left to print after.
        Command::Serve(args) => serve::run(args).map(|()| Outcome::ok(Zeroizing::default())),
    };
    match result {
        Ok(outcome) => {
            let mut stdout = std::io::stdout().lock();
            let written = stdout
                .write_all(outcome.stdout.as_bytes())
                .and_then(|()| stdout.flush());
            match written {
                Ok(()) => ExitCode::from(outcome.code),
                // The reader went away (`mcp-auth inspect | head`): not worth a message.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    ExitCode::from(outcome.code)
                }
                Err(e) => {
                    eprintln!("mcp-auth: error: cannot write to standard output: {e}");
                    ExitCode::from(EXIT_USAGE)
                }
            }
        }
        Err(err) => {
            eprintln!("mcp-auth: error: {err}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
