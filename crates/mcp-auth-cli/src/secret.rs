//! `mcp-auth secret`: a fresh random HMAC secret.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mcp_auth_providers::hmac::MIN_SECRET_LEN;
use zeroize::Zeroizing;

use crate::{CliError, Outcome};

/// The most random bytes `--bytes` asks for. HMAC hashes longer keys down to the hash size, so
/// more adds nothing; the bound only catches typos.
const MAX_SECRET_BYTES: u16 = 1024;

/// Arguments of `mcp-auth secret`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Use it as JWT_SECRET, or as `secret` in the configuration file:\n  \
    export JWT_SECRET=\"$(mcp-auth secret)\""
)]
pub(crate) struct SecretArgs {
    /// Number of random bytes (at least 32, the HMAC minimum)
    #[arg(
        long,
        value_name = "N",
        default_value_t = 32,
        value_parser = clap::value_parser!(u16).range(i64::from(min_secret_len())..=i64::from(MAX_SECRET_BYTES)),
    )]
    bytes: u16,
}

/// [`MIN_SECRET_LEN`] as the type of `--bytes`.
const fn min_secret_len() -> u16 {
    // MIN_SECRET_LEN is 32; the assertion below keeps the conversion honest.
    const _: () = assert!(MIN_SECRET_LEN <= u16::MAX as usize);
    MIN_SECRET_LEN as u16
}

/// Prints `base64:<standard base64 of N random bytes>` and a line break.
///
/// # Errors
///
/// A [`CliError`] when the operating system's random source fails.
pub(crate) fn run(args: &SecretArgs) -> Result<Outcome, CliError> {
    let mut bytes = Zeroizing::new(vec![0u8; usize::from(args.bytes)]);
    getrandom::fill(&mut bytes)
        .map_err(|e| CliError::new(format!("cannot read the system random source: {e}")))?;
    // Sized up front so the text is never reallocated, leaving an unzeroized copy behind.
    let encoded_len = base64::encoded_len(bytes.len(), true).unwrap_or(0);
    let mut out = Zeroizing::new(String::with_capacity("base64:".len() + encoded_len + 1));
    out.push_str("base64:");
    STANDARD.encode_string(&*bytes, &mut out);
    out.push('\n');
    Ok(Outcome::ok(out))
}
