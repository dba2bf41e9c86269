//! `mcp-auth hash-password`: an Argon2id hash (PHC string) of a password, for the built-in user
//! list of the embedded authorization server.
//!
//! The password is read from standard input (one line) or from a file, never from the command
//! line, where other users could read it in the process list and it would stay in the shell's
//! history.

use std::io::{BufRead as _, IsTerminal as _, Read as _};
use std::path::{Path, PathBuf};

use mcp_auth_server::user::{HashParams, Password, hash_password_with};
use zeroize::Zeroizing;

use crate::{CliError, Outcome};

/// The longest password accepted, in bytes: longer input is a wrong file.
const MAX_PASSWORD_LEN: u64 = 4096;

/// Arguments of `mcp-auth hash-password`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The password is read from standard input (one line) unless \
    --password-file is given:\n  \
    mcp-auth hash-password < password.txt\n\
    Defaults follow OWASP for Argon2id: --memory-kib 19456 --iterations 2 --parallelism 1."
)]
pub(crate) struct HashPasswordArgs {
    /// Read the password from this file (one trailing line break is ignored)
    #[arg(long, value_name = "PATH")]
    password_file: Option<PathBuf>,
    /// Argon2 memory cost in KiB
    #[arg(long, value_name = "KIB", default_value_t = HashParams::OWASP.m_cost_kib())]
    memory_kib: u32,
    /// Argon2 number of iterations
    #[arg(long, value_name = "N", default_value_t = HashParams::OWASP.t_cost())]
    iterations: u32,
    /// Argon2 degree of parallelism
    #[arg(long, value_name = "N", default_value_t = HashParams::OWASP.p_cost())]
    parallelism: u32,
}

/// Prints the PHC string of the password and a line break.
///
/// # Errors
///
/// A [`CliError`] when the password cannot be read or is empty, or the parameters are refused.
pub(crate) fn run(args: &HashPasswordArgs) -> Result<Outcome, CliError> {
    let params = HashParams::new(args.memory_kib, args.iterations, args.parallelism)
        .map_err(|e| CliError::new(format!("invalid Argon2 parameters: {e}")))?;
    let password = match &args.password_file {
        Some(path) => read_file(path)?,
        None => read_stdin()?,
    };
    if password.is_empty() {
        return Err(CliError::new("the password is empty"));
    }
    let hash = hash_password_with(&password, &params).map_err(|e| CliError::new(e.to_string()))?;
    let mut out = Zeroizing::new(hash);
    out.push('\n');
    Ok(Outcome::ok(out))
}

/// Reads one line from standard input, prompting on standard error when it is a terminal.
fn read_stdin() -> Result<Password, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password (shown as typed): ");
    }
    let mut line = Zeroizing::new(String::new());
    stdin
        .lock()
        .take(MAX_PASSWORD_LEN + 2)
        .read_line(&mut line)
        .map_err(|e| CliError::new(format!("cannot read the password from standard input: {e}")))?;
    finish(&line, "standard input")
}

/// Reads a password file.
fn read_file(path: &Path) -> Result<Password, CliError> {
    let source = format!("file {}", path.display());
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::new(format!("cannot read the password {source}: {e}")))?;
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_PASSWORD_LEN + 2)
        .read_to_string(&mut text)
        .map_err(|e| CliError::new(format!("cannot read the password {source}: {e}")))?;
    finish(&text, &source)
}

/// Strips one trailing line break and checks the length.
fn finish(text: &str, source: &str) -> Result<Password, CliError> {
    let text = text
        .strip_suffix('\n')
        .map_or(text, |t| t.strip_suffix('\r').unwrap_or(t));
    if text.len() as u64 > MAX_PASSWORD_LEN {
        return Err(CliError::new(format!(
            "the password from {source} is longer than {MAX_PASSWORD_LEN} bytes"
        )));
    }
    if text.contains(['\n', '\r']) {
        return Err(CliError::new(format!(
            "the password from {source} spans several lines"
        )));
    }
    Ok(Password::new(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_trailing_line_break_is_ignored() {
        for (text, expected) in [
            ("pw\n", "pw"),
            ("pw\r\n", "pw"),
            ("pw", "pw"),
            (" pw \n", " pw "),
        ] {
            let password = finish(text, "test")
                .ok()
                .map(|p| p.expose_secret().to_owned());
            assert_eq!(password.as_deref(), Some(expected));
        }
        assert!(finish("a\nb\n", "test").is_err());
        assert!(finish(&"x".repeat(4097), "test").is_err());
    }
}
