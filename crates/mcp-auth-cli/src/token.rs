//! `mcp-auth token`: mint an HMAC-signed JWT access token for development and tests.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::builder::NonEmptyStringValueParser;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mcp_auth_core::Scopes;
use mcp_auth_core::clock::{Clock as _, SystemClock};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::secret_source::{DEFAULT_SECRET_ENV, SecretSource};
use crate::{CliError, Outcome};

/// The `typ` header of minted tokens: a JWT access token (RFC 9068 section 2.1).
const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Random bytes in a `jti`.
const JTI_BYTES: usize = 16;

/// The HMAC algorithms a token can be signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum HmacAlg {
    /// HMAC with SHA-256.
    #[value(name = "HS256")]
    Hs256,
    /// HMAC with SHA-384.
    #[value(name = "HS384")]
    Hs384,
    /// HMAC with SHA-512.
    #[value(name = "HS512")]
    Hs512,
}

impl HmacAlg {
    /// The `jsonwebtoken` algorithm.
    fn algorithm(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::Hs384 => Algorithm::HS384,
            Self::Hs512 => Algorithm::HS512,
        }
    }
}

/// Arguments of `mcp-auth token`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
The secret is read from JWT_SECRET unless --secret-env or --secret-file says otherwise; \
`base64:<value>` is decoded as base64, anything else is used as its UTF-8 bytes.

Examples:
  export JWT_SECRET=\"$(mcp-auth secret)\"
  mcp-auth token --audience https://mcp.example.com/mcp --scope \"mcp:tools\" --ttl 15m
  mcp-auth token --audience api --claim 'roles=[\"admin\"]' --claim exp=1   # an expired token")]
pub(crate) struct TokenArgs {
    /// The `aud` claim: the audience the MCP server validates (usually its canonical URI)
    #[arg(long, value_name = "AUD", value_parser = NonEmptyStringValueParser::new())]
    audience: String,
    /// The `sub` claim
    #[arg(long, value_name = "SUB", default_value = "dev-user", value_parser = NonEmptyStringValueParser::new())]
    subject: String,
    /// The `scope` claim: space-separated scopes, e.g. "mcp:tools mcp:resources"
    #[arg(long, value_name = "SCOPES")]
    scope: Option<String>,
    /// Lifetime: seconds, or a number with suffix s, m, h or d (e.g. 90s, 15m, 2h, 7d)
    #[arg(long, value_name = "DURATION", default_value = "3600", value_parser = parse_ttl)]
    ttl: u64,
    /// The `iss` claim
    #[arg(long, value_name = "ISS", value_parser = NonEmptyStringValueParser::new())]
    issuer: Option<String>,
    /// The `email` claim
    #[arg(long, value_name = "EMAIL", value_parser = NonEmptyStringValueParser::new())]
    email: Option<String>,
    /// The `preferred_username` claim
    #[arg(long, value_name = "NAME", value_parser = NonEmptyStringValueParser::new())]
    username: Option<String>,
    /// The signing algorithm
    #[arg(long, value_enum, default_value = "HS256", ignore_case = true)]
    alg: HmacAlg,
    /// The `kid` header, naming the secret (for validators that trust several)
    #[arg(long, value_name = "KID", value_parser = NonEmptyStringValueParser::new())]
    kid: Option<String>,
    /// An extra claim as KEY=JSON, e.g. roles='["admin"]' or tenant='"acme"'; repeatable.
    /// Applied last, so it may replace any claim above (to mint a deliberately bad token)
    #[arg(long = "claim", value_name = "KEY=JSON", value_parser = parse_claim)]
    claims: Vec<(String, Value)>,
    /// Read the secret from this file (one trailing line break is ignored)
    #[arg(long, value_name = "PATH", conflicts_with = "secret_env")]
    secret_file: Option<PathBuf>,
    /// Read the secret from this environment variable [default: JWT_SECRET]
    #[arg(long, value_name = "NAME", value_parser = NonEmptyStringValueParser::new())]
    secret_env: Option<String>,
}

/// Parses a lifetime: whole seconds, or a number followed by `s`, `m`, `h` or `d`.
fn parse_ttl(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, 's'),
    };
    let multiplier: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        other => return Err(format!("unknown unit `{other}`; use s, m, h or d")),
    };
    let number: u64 = number
        .trim()
        .parse()
        .map_err(|_| "expected a whole number of seconds, or e.g. 90s, 15m, 2h, 7d".to_owned())?;
    let secs = number
        .checked_mul(multiplier)
        .ok_or_else(|| "the lifetime is too long".to_owned())?;
    if secs == 0 {
        return Err("the lifetime must be at least 1 second".to_owned());
    }
    Ok(secs)
}

/// Parses `KEY=JSON`.
fn parse_claim(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| "expected KEY=JSON, e.g. tenant='\"acme\"'".to_owned())?;
    if key.is_empty() {
        return Err("the claim name is empty".to_owned());
    }
    let value = serde_json::from_str(value).map_err(|_| {
        format!("the value of `{key}` is not JSON; quote a string: {key}='\"{value}\"'")
    })?;
    Ok((key.to_owned(), value))
}

/// Fresh random `jti`: 128 bits, base64url.
fn random_jti() -> Result<String, CliError> {
    let mut bytes = [0u8; JTI_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| CliError::new(format!("cannot read the system random source: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Builds the claims of the token issued at `now`.
fn build_claims(args: &TokenArgs, now: u64, jti: String) -> Result<Map<String, Value>, CliError> {
    let exp = now
        .checked_add(args.ttl)
        .ok_or_else(|| CliError::new("--ttl is too long"))?;
    let mut claims = Map::new();
    claims.insert("sub".to_owned(), json!(args.subject));
    claims.insert("aud".to_owned(), json!(args.audience));
    claims.insert("iat".to_owned(), json!(now));
    claims.insert("exp".to_owned(), json!(exp));
    claims.insert("jti".to_owned(), json!(jti));
    if let Some(issuer) = &args.issuer {
        claims.insert("iss".to_owned(), json!(issuer));
    }
    if let Some(scope) = &args.scope {
        // Checked as configuration is (RFC 6749 section 3.3 syntax), but the order is kept.
        scope.parse::<Scopes>().map_err(|e| {
            CliError::new(format!("--scope {scope:?} is not a valid scope list: {e}"))
        })?;
        let scope = scope.split(' ').filter(|s| !s.is_empty());
        let scope = scope.collect::<Vec<_>>().join(" ");
        if !scope.is_empty() {
            claims.insert("scope".to_owned(), json!(scope));
        }
    }
    if let Some(email) = &args.email {
        claims.insert("email".to_owned(), json!(email));
    }
    if let Some(username) = &args.username {
        claims.insert("preferred_username".to_owned(), json!(username));
    }
    for (key, value) in &args.claims {
        claims.insert(key.clone(), value.clone());
    }
    Ok(claims)
}

/// Mints the token and prints it, alone on a line.
///
/// # Errors
///
/// A [`CliError`] when the secret cannot be read or is too short, or a claim is unusable.
pub(crate) fn run(args: &TokenArgs) -> Result<Outcome, CliError> {
    let source = match &args.secret_file {
        Some(path) => SecretSource::File(path.clone()),
        None => SecretSource::Env(
            args.secret_env
                .clone()
                .unwrap_or_else(|| DEFAULT_SECRET_ENV.to_owned()),
        ),
    };
    let secret = source.load()?;
    let claims = build_claims(args, SystemClock.unix_now(), random_jti()?)?;
    let mut header = Header::new(args.alg.algorithm());
    header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
    header.kid.clone_from(&args.kid);
    let token = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(secret.expose_secret()),
    )
    .map_err(|e| CliError::new(format!("cannot sign the token: {e}")))?;
    let mut out = Zeroizing::new(token);
    out.push('\n');
    Ok(Outcome::ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("3600"), Ok(3600));
        assert_eq!(parse_ttl("90s"), Ok(90));
        assert_eq!(parse_ttl("15m"), Ok(900));
        assert_eq!(parse_ttl("2H"), Ok(7200));
        assert_eq!(parse_ttl("7d"), Ok(604_800));
        for bad in [
            "",
            "0",
            "0m",
            "-5",
            "5w",
            "m",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn claim_values_are_json() {
        assert_eq!(parse_claim("n=1"), Ok(("n".to_owned(), json!(1))));
        assert_eq!(
            parse_claim(r#"roles=["a","b"]"#),
            Ok(("roles".to_owned(), json!(["a", "b"])))
        );
        assert_eq!(
            parse_claim(r#"t="a=b""#),
            Ok(("t".to_owned(), json!("a=b")))
        );
        assert!(parse_claim("tenant=acme").is_err());
        assert!(parse_claim("=1").is_err());
        assert!(parse_claim("novalue").is_err());
    }
}
