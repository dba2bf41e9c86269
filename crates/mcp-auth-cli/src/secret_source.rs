//! Reading an HMAC secret from a file or an environment variable.
//!
//! The text follows the convention of `mcp_auth_providers::config::Config`: `base64:<value>` is
//! decoded as standard base64 (what `mcp-auth secret` prints); anything else is taken as its
//! UTF-8 bytes. A secret shorter than [`MIN_SECRET_LEN`] is refused, as `HmacValidator` would.
//!
//! No error message ever contains the secret or any part of it.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mcp_auth_core::SecretBytes;
use mcp_auth_providers::hmac::MIN_SECRET_LEN;
use zeroize::Zeroizing;

use crate::CliError;

/// The environment variable `mcp-auth token` reads by default; the one `Config::from_env` reads.
pub(crate) const DEFAULT_SECRET_ENV: &str = "JWT_SECRET";

/// The largest secret file read, in bytes: a secret is short, anything bigger is a wrong path.
const MAX_SECRET_FILE_LEN: u64 = 64 * 1024;

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SecretSource {
    /// A file holding the secret text; one trailing line break is ignored.
    File(PathBuf),
    /// An environment variable holding the secret text.
    Env(String),
}

impl SecretSource {
    /// The source named on the command line: the file if given, else the variable.
    ///
    /// Returns `None` when neither was given.
    pub(crate) fn from_args(file: Option<&Path>, env: Option<&str>) -> Option<Self> {
        match (file, env) {
            (Some(path), _) => Some(Self::File(path.to_path_buf())),
            (None, Some(name)) => Some(Self::Env(name.to_owned())),
            (None, None) => None,
        }
    }

    /// Where the secret comes from, for messages.
    fn describe(&self) -> String {
        match self {
            Self::File(path) => format!("file {}", path.display()),
            Self::Env(name) => format!("environment variable {name}"),
        }
    }

    /// Reads and decodes the secret, and checks its length.
    ///
    /// # Errors
    ///
    /// A [`CliError`] when the source cannot be read, is empty, is not UTF-8 text, holds bad
    /// base64 after `base64:`, or decodes to fewer than [`MIN_SECRET_LEN`] bytes.
    pub(crate) fn load(&self) -> Result<SecretBytes, CliError> {
        let text = match self {
            Self::File(path) => read_file(path)?,
            Self::Env(name) => read_env(name)?,
        };
        let secret = decode(&text).map_err(|reason| {
            CliError::new(format!("the secret in {} {reason}", self.describe()))
        })?;
        if secret.len() < MIN_SECRET_LEN {
            return Err(CliError::new(format!(
                "the secret in {} is {} bytes; at least {MIN_SECRET_LEN} bytes are required \
                 (generate one with `mcp-auth secret`)",
                self.describe(),
                secret.len(),
            )));
        }
        Ok(secret)
    }
}

/// Reads a secret file as UTF-8 text without its final line break.
fn read_file(path: &Path) -> Result<Zeroizing<String>, CliError> {
    let source = SecretSource::File(path.to_path_buf()).describe();
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::new(format!("cannot read the secret {source}: {e}")))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_SECRET_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::new(format!("cannot read the secret {source}: {e}")))?;
    if bytes.len() as u64 > MAX_SECRET_FILE_LEN {
        return Err(CliError::new(format!(
            "the secret {source} is larger than {MAX_SECRET_FILE_LEN} bytes; is it the right file?"
        )));
    }
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => text,
        Err(_) => {
            return Err(CliError::new(format!(
                "the secret {source} is not UTF-8 text; write a binary secret as base64:<value>"
            )));
        }
    };
    let text = text
        .strip_suffix('\n')
        .map_or(text, |t| t.strip_suffix('\r').unwrap_or(t));
    if text.trim().is_empty() {
        return Err(CliError::new(format!("the secret {source} is empty")));
    }
    Ok(Zeroizing::new(text.to_owned()))
}

/// Reads a secret from an environment variable. Empty (or blank) counts as unset, as in
/// `Config::from_env`.
fn read_env(name: &str) -> Result<Zeroizing<String>, CliError> {
    match std::env::var_os(name) {
        None => Err(CliError::new(format!(
            "environment variable {name} is not set; export the secret there, or pass \
             --secret-env NAME or --secret-file PATH"
        ))),
        Some(value) => {
            let value = Zeroizing::new(value.into_string().map_err(|_| {
                CliError::new(format!(
                    "environment variable {name} is not valid Unicode; write a binary secret as \
                     base64:<value>"
                ))
            })?);
            if value.trim().is_empty() {
                return Err(CliError::new(format!(
                    "environment variable {name} is empty"
                )));
            }
            Ok(value)
        }
    }
}

/// Decodes secret text: `base64:<standard base64>`, or the UTF-8 bytes of the text.
///
/// The error completes the sentence "the secret in SOURCE ...".
fn decode(text: &str) -> Result<SecretBytes, &'static str> {
    match text.strip_prefix("base64:") {
        Some(encoded) => STANDARD
            .decode(encoded.trim())
            .map(SecretBytes::new)
            .map_err(|_| "is not valid: the value after `base64:` is not standard base64"),
        None => Ok(SecretBytes::new(text.as_bytes().to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_like_config() {
        let raw = decode("0123456789abcdef0123456789abcdef").map(|s| s.len());
        assert_eq!(raw, Ok(32));
        let b64 = decode("base64:q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=").map(|s| s.len());
        assert_eq!(b64, Ok(32));
        assert!(decode("base64:!!").is_err());
    }

    #[test]
    fn file_wins_over_env() {
        assert_eq!(
            SecretSource::from_args(Some(Path::new("f")), Some("E")),
            Some(SecretSource::File(PathBuf::from("f")))
        );
        assert_eq!(
            SecretSource::from_args(None, Some("E")),
            Some(SecretSource::Env("E".to_owned()))
        );
        assert_eq!(SecretSource::from_args(None, None), None);
    }
}
