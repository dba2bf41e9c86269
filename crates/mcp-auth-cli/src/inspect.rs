//! `mcp-auth inspect`: decode a token without verifying it, and list every reason a validator
//! would refuse it.
//!
//! The validation engine of `mcp-auth-providers` is the authority: header rules come from
//! [`CompactJws::parse`] and claim rules from [`ClaimsPolicy::check`]. Both stop at the first
//! problem, so this module also looks at each header field and each claim on its own, to list
//! them all:
//!
//! - each claim is checked by running [`ClaimsPolicy::check`] on a claim set that is valid except
//!   for that one claim, copied from the token; the rules (types, leeway, audience forms) are
//!   therefore the engine's own;
//! - afterwards the engine runs on the whole token, and its verdict is added if no finding
//!   already names it, so the list is never more lenient than the engine.
//!
//! Text taken from the token is printed as JSON or with Rust escapes, never raw, so a hostile
//! token cannot send control sequences to the terminal.

use std::fmt::{self, Write as _};
use std::io::{IsTerminal as _, Read as _};
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use clap::builder::NonEmptyStringValueParser;
use jsonwebtoken::Algorithm;
use mcp_auth_core::InvalidTokenReason;
use mcp_auth_core::clock::{Clock as _, ManualClock, SharedClock, SystemClock};
use mcp_auth_providers::hmac::HmacValidator;
use mcp_auth_providers::jwt::{ClaimsPolicy, CompactJws, DEFAULT_MAX_TOKEN_LEN};
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

use crate::secret_source::SecretSource;
use crate::{CliError, Outcome};

/// The most input read from standard input. Far above any token a validator accepts
/// ([`DEFAULT_MAX_TOKEN_LEN`]), so an overlong token can still be shown.
pub(crate) const MAX_INPUT_LEN: u64 = 1024 * 1024;

/// The algorithms `HmacValidator` accepts.
const HMAC_ALGS: [Algorithm; 3] = [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512];

/// The header fields the engine reads; it refuses a header that repeats one.
const ENGINE_HEADERS: [&str; 4] = ["alg", "kid", "typ", "crit"];

/// Header fields that point at a key; validators never use them.
const KEY_HEADERS: [&str; 4] = ["jwk", "jku", "x5u", "x5c"];

/// A base64url decoder that accepts padding: to show a token a validator would refuse.
const LENIENT_BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Exit code when the token would be refused.
const EXIT_REFUSED: u8 = 1;

/// Arguments of `mcp-auth inspect`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
The header and claims are decoded WITHOUT checking the signature. To check it too, pass the \
secret (--secret-env NAME or --secret-file PATH) and --audience: the real HmacValidator then \
gives its verdict.

Exit codes: 0 no problem found, 1 the token would be refused, 2 usage or input error.

Examples:
  pbpaste | mcp-auth inspect
  mcp-auth inspect --audience https://mcp.example.com/mcp --secret-env JWT_SECRET - < token.txt")]
pub(crate) struct InspectArgs {
    /// The token (a leading `Bearer ` is ignored); `-` or nothing reads it from standard input,
    /// which keeps it out of the shell history
    #[arg(value_name = "TOKEN")]
    token: Option<String>,
    /// Check that `aud` contains this audience (required with a secret)
    #[arg(long, value_name = "AUD", value_parser = NonEmptyStringValueParser::new())]
    audience: Option<String>,
    /// Check that `iss` is this issuer
    #[arg(long, value_name = "ISS", value_parser = NonEmptyStringValueParser::new())]
    issuer: Option<String>,
    /// Verify with HmacValidator, using the secret in this file
    #[arg(long, value_name = "PATH", conflicts_with = "secret_env")]
    secret_file: Option<PathBuf>,
    /// Verify with HmacValidator, using the secret in this environment variable
    #[arg(long, value_name = "NAME", value_parser = NonEmptyStringValueParser::new())]
    secret_env: Option<String>,
}

/// What the server expects, as far as the command line says.
#[derive(Debug, Clone, Copy, Default)]
struct Expected<'a> {
    /// `--audience`.
    audience: Option<&'a str>,
    /// `--issuer`.
    issuer: Option<&'a str>,
}

/// One thing found in the token.
#[derive(Debug, Clone, PartialEq)]
struct Finding {
    /// Why a validator refuses the token; `None` for a note that does not make it refuse.
    reason: Option<InvalidTokenReason>,
    /// What was found, in detail.
    detail: String,
}

/// Everything found in a token, in the order found.
#[derive(Debug, Default)]
struct Findings(Vec<Finding>);

impl Findings {
    /// A problem that makes a validator refuse the token.
    fn refuse(&mut self, reason: InvalidTokenReason, detail: impl Into<String>) {
        self.0.push(Finding {
            reason: Some(reason),
            detail: detail.into(),
        });
    }

    /// Something worth knowing that does not make a validator refuse the token.
    fn note(&mut self, detail: impl Into<String>) {
        self.0.push(Finding {
            reason: None,
            detail: detail.into(),
        });
    }

    /// Records the engine's own verdict unless a finding already gives that reason.
    fn ensure(&mut self, reason: InvalidTokenReason) {
        if !self.0.iter().any(|f| f.reason == Some(reason)) {
            self.refuse(reason, "reported by the validation engine");
        }
    }

    /// The problems that make a validator refuse the token.
    fn refusals(&self) -> impl Iterator<Item = &Finding> {
        self.0.iter().filter(|f| f.reason.is_some())
    }

    /// The notes.
    fn notes(&self) -> impl Iterator<Item = &Finding> {
        self.0.iter().filter(|f| f.reason.is_none())
    }
}

/// One decoded part of the token (header or payload).
#[derive(Debug, Default)]
pub(crate) struct Part {
    /// The JSON, if it could be decoded at all (leniently).
    pub(crate) value: Option<Value>,
    /// Why a validator would find this part malformed.
    pub(crate) issue: Option<String>,
    /// Member names that occur more than once (the decoded value holds the last occurrence).
    duplicates: Vec<String>,
}

/// The member names of a JSON object, in order, repeats included.
struct MemberNames(Vec<String>);

impl<'de> serde::Deserialize<'de> for MemberNames {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Collects the names, skipping the values.
        struct Names;

        impl<'de> serde::de::Visitor<'de> for Names {
            type Value = MemberNames;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<MemberNames, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    names.push(name);
                }
                Ok(MemberNames(names))
            }
        }

        deserializer.deserialize_map(Names)
    }
}

/// The names that occur more than once in the JSON object `bytes`, in order of first repeat.
fn duplicate_names(bytes: &[u8]) -> Vec<String> {
    let Ok(MemberNames(names)) = serde_json::from_slice(bytes) else {
        return Vec::new();
    };
    let mut duplicates: Vec<String> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) && !duplicates.contains(name) {
            duplicates.push(name.clone());
        }
    }
    duplicates
}

/// The result of the static checks.
#[derive(Debug, Default)]
struct Analysis {
    /// The protected header.
    header: Part,
    /// The claims; `None` when there is no payload to decode (a JWE, or a single part).
    claims: Option<Part>,
    /// Problems and notes.
    findings: Findings,
}

/// Reads the token, runs the static checks and, with a secret, `HmacValidator`.
///
/// # Errors
///
/// A [`CliError`] for a secret without `--audience`, an unusable secret, or no token.
pub(crate) fn run(args: &InspectArgs) -> Result<Outcome, CliError> {
    let now = SystemClock.unix_now();
    let clock: SharedClock = Arc::new(ManualClock::at_unix(now));
    let expected = Expected {
        audience: args.audience.as_deref(),
        issuer: args.issuer.as_deref(),
    };
    let validator =
        match SecretSource::from_args(args.secret_file.as_deref(), args.secret_env.as_deref()) {
            None => None,
            Some(source) => Some(build_validator(&source, expected, Arc::clone(&clock))?),
        };
    let token = read_token(args.token.as_deref())?;

    let analysis = analyse(&token, expected, now);
    let mut out = Zeroizing::new(String::new());
    render(&analysis, expected, now, &mut out);
    let mut refused = analysis.findings.refusals().next().is_some();

    out.push('\n');
    match &validator {
        None => out.push_str(
            "Signature: not checked (pass --secret-env NAME or --secret-file PATH, with \
             --audience, to run HmacValidator)\n",
        ),
        Some(validator) => {
            let _ = writeln!(
                out,
                "HmacValidator (audience {:?}{}) says:",
                validator.policy().audiences().join(", "),
                validator
                    .policy()
                    .expected_issuer()
                    .map(|iss| format!(", issuer {iss:?}"))
                    .unwrap_or_default(),
            );
            match validator.verify(&token) {
                Ok(principal) => {
                    let scopes = principal.scopes();
                    let _ = writeln!(
                        out,
                        "  valid: subject {:?}, scopes {}",
                        principal.subject(),
                        if scopes.is_empty() {
                            "(none)".to_owned()
                        } else {
                            scopes.to_string()
                        }
                    );
                }
                Err(reason) => {
                    refused = true;
                    let _ = writeln!(out, "  refused: {}", reason.description());
                }
            }
        }
    }
    Ok(Outcome {
        stdout: out,
        code: if refused { EXIT_REFUSED } else { 0 },
    })
}

/// Builds the validator `inspect` runs when given a secret.
fn build_validator(
    source: &SecretSource,
    expected: Expected<'_>,
    clock: SharedClock,
) -> Result<HmacValidator, CliError> {
    let audience = expected.audience.ok_or_else(|| {
        CliError::new(
            "--audience is required with --secret-env or --secret-file: HmacValidator checks \
             the token's aud against the audience it serves",
        )
    })?;
    let secret = source.load()?;
    let mut builder = HmacValidator::builder(audience).secret(secret).clock(clock);
    if let Some(issuer) = expected.issuer {
        builder = builder.issuer(issuer);
    }
    builder
        .build()
        .map_err(|e| CliError::new(format!("cannot build HmacValidator: {e}")))
}

/// Reads the token from the argument or standard input; trims it and drops a `Bearer ` prefix.
pub(crate) fn read_token(arg: Option<&str>) -> Result<Zeroizing<String>, CliError> {
    let raw = match arg {
        Some(token) if token != "-" => Zeroizing::new(token.to_owned()),
        _ => read_stdin()?,
    };
    clean_token(&raw)
}

/// Trims a token and drops a `Bearer ` prefix.
///
/// # Errors
///
/// A [`CliError`] when nothing is left.
pub(crate) fn clean_token(raw: &str) -> Result<Zeroizing<String>, CliError> {
    let token = raw.trim();
    let token = match token.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => token[7..].trim_start(),
        _ => token,
    };
    if token.is_empty() {
        return Err(CliError::new(
            "no token given: pass it as an argument, or on standard input",
        ));
    }
    Ok(Zeroizing::new(token.to_owned()))
}

/// Reads all of standard input as UTF-8 text.
pub(crate) fn read_stdin() -> Result<Zeroizing<String>, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("mcp-auth: reading the token from standard input (end with Ctrl-D)");
    }
    let mut bytes = Zeroizing::new(Vec::new());
    stdin
        .lock()
        .take(MAX_INPUT_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::new(format!("cannot read standard input: {e}")))?;
    if bytes.len() as u64 > MAX_INPUT_LEN {
        return Err(CliError::new(format!(
            "standard input is larger than {MAX_INPUT_LEN} bytes; that is not a token"
        )));
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(CliError::new("standard input is not UTF-8 text")),
    }
}

/// Decodes and checks `token` as a validator would, without a key, at Unix time `now`.
fn analyse(token: &str, expected: Expected<'_>, now: u64) -> Analysis {
    let mut findings = Findings::default();
    if token.len() > DEFAULT_MAX_TOKEN_LEN {
        findings.refuse(
            InvalidTokenReason::TooLong,
            format!(
                "the token is {} bytes; validators refuse more than {DEFAULT_MAX_TOKEN_LEN} \
                 bytes before decoding anything",
                token.len()
            ),
        );
    }
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {}
        5 => findings.refuse(
            InvalidTokenReason::Malformed,
            "the token has 5 parts: it is an encrypted JWE, not a signed JWT; only signed \
             tokens (compact JWS, 3 parts) are accepted",
        ),
        n => findings.refuse(
            InvalidTokenReason::Malformed,
            format!(
                "the token has {n} part{} separated by `.`; a signed JWT (compact JWS) has \
                 exactly 3",
                if n == 1 { "" } else { "s" }
            ),
        ),
    }

    let header = decode_part(parts.first().copied().unwrap_or_default(), "header");
    if let Some(issue) = &header.issue {
        findings.refuse(InvalidTokenReason::Malformed, issue.clone());
    }
    let mut alg = None;
    if let Some(Value::Object(fields)) = &header.value {
        alg = check_header(fields, &header.duplicates, &mut findings);
    }

    // A JWE's second part is an encrypted key, not claims.
    let claims = match parts.get(1) {
        Some(payload) if parts.len() != 5 => Some(decode_part(payload, "payload")),
        _ => None,
    };
    if let Some(part) = &claims {
        if let Some(issue) = &part.issue {
            findings.refuse(InvalidTokenReason::Malformed, issue.clone());
        }
        for name in &part.duplicates {
            findings.note(format!(
                "the claims name {name:?} more than once; validators read the last one"
            ));
        }
    }

    if let [_, _, signature] = parts[..] {
        check_signature(signature, alg, &mut findings);
    }

    if let Some(Part {
        value: Some(Value::Object(claims)),
        ..
    }) = &claims
    {
        check_claims(claims, expected, now, &mut findings);
    }

    // The engine's verdict on the token as a whole, in the order a validator applies it.
    match CompactJws::parse(token, DEFAULT_MAX_TOKEN_LEN) {
        Err(reason) => findings.ensure(reason),
        Ok(jws) => {
            if !HMAC_ALGS.contains(&jws.alg()) {
                findings.ensure(InvalidTokenReason::DisallowedAlgorithm);
            }
            if let Err(reason) = jws.claims() {
                findings.ensure(reason);
            }
        }
    }

    Analysis {
        header,
        claims,
        findings,
    }
}

/// Decodes one base64url JSON part. Padding is tolerated for display but reported.
pub(crate) fn decode_part(part: &str, name: &str) -> Part {
    if part.is_empty() {
        return Part {
            value: None,
            issue: Some(format!("the {name} is empty")),
            duplicates: Vec::new(),
        };
    }
    let (bytes, mut issue) = match URL_SAFE_NO_PAD.decode(part) {
        Ok(bytes) => (bytes, None),
        Err(_) => match LENIENT_BASE64URL.decode(part) {
            Ok(bytes) => (
                bytes,
                Some(format!(
                    "the {name} is padded with `=`; JWTs use base64url without padding"
                )),
            ),
            Err(_) => {
                return Part {
                    value: None,
                    issue: Some(format!("the {name} is not base64url")),
                    duplicates: Vec::new(),
                };
            }
        },
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(value) => {
            if !value.is_object() && issue.is_none() {
                issue = Some(format!(
                    "the {name} is a JSON {}, not an object",
                    json_kind(&value)
                ));
            }
            Part {
                value: Some(value),
                issue,
                duplicates: duplicate_names(&bytes),
            }
        }
        Err(e) => Part {
            value: None,
            issue: Some(format!("the {name} is not JSON ({e})")),
            duplicates: Vec::new(),
        },
    }
}

/// Checks the header fields; returns the `alg` when it is an HMAC algorithm.
///
/// `duplicates` are the member names the header repeats; `header` holds their last value.
fn check_header(
    header: &Map<String, Value>,
    duplicates: &[String],
    findings: &mut Findings,
) -> Option<Algorithm> {
    for name in duplicates {
        if ENGINE_HEADERS.contains(&name.as_str()) {
            findings.refuse(
                InvalidTokenReason::Malformed,
                format!(
                    "the header has {name:?} more than once; validators refuse a repeated alg, \
                     kid, typ or crit (RFC 7515 section 4)"
                ),
            );
        } else {
            findings.note(format!(
                "the header has {name:?} more than once; validators read the last one"
            ));
        }
    }
    if let Some(crit) = header.get("crit") {
        findings.refuse(
            InvalidTokenReason::CriticalHeader,
            format!(
                "the header has `crit` ({crit}); no extension is understood, so the token must \
                 be refused (RFC 7515 section 4.1.11)"
            ),
        );
    }
    let mut hmac_alg = None;
    match header.get("alg") {
        None => findings.refuse(InvalidTokenReason::Malformed, "the header has no `alg`"),
        Some(Value::String(alg)) if alg.eq_ignore_ascii_case("none") => findings.refuse(
            InvalidTokenReason::DisallowedAlgorithm,
            format!("alg is {alg:?}: an unsigned token, always refused (RFC 8725 section 3.1)"),
        ),
        Some(Value::String(alg)) => match alg.parse::<Algorithm>() {
            Err(_) => findings.refuse(
                InvalidTokenReason::DisallowedAlgorithm,
                format!("alg {alg:?} is not a known JWS algorithm (names are case-sensitive)"),
            ),
            Ok(parsed) if !HMAC_ALGS.contains(&parsed) => findings.refuse(
                InvalidTokenReason::DisallowedAlgorithm,
                format!("alg {alg} is not HMAC; HmacValidator accepts HS256, HS384 and HS512"),
            ),
            Ok(parsed) => hmac_alg = Some(parsed),
        },
        Some(other) => findings.refuse(
            InvalidTokenReason::Malformed,
            format!("the header `alg` is {other}, not a string"),
        ),
    }
    for name in ["kid", "typ"] {
        if let Some(value) = header.get(name)
            && !value.is_string()
        {
            findings.refuse(
                InvalidTokenReason::Malformed,
                format!("the header `{name}` is {value}, not a string"),
            );
        }
    }
    for name in KEY_HEADERS {
        if header.contains_key(name) {
            findings.note(format!(
                "the header has `{name}`; validators ignore it (keys come from their own \
                 configuration, never from the token)"
            ));
        }
    }
    hmac_alg
}

/// Checks what can be checked of the signature without the key.
fn check_signature(signature: &str, alg: Option<Algorithm>, findings: &mut Findings) {
    if signature.is_empty() {
        findings.refuse(
            InvalidTokenReason::Malformed,
            "the signature is empty: the token is unsigned",
        );
        return;
    }
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(signature) else {
        findings.refuse(
            InvalidTokenReason::BadSignature,
            "the signature is not unpadded base64url, so it can never verify",
        );
        return;
    };
    let expected_len = match alg {
        Some(Algorithm::HS256) => 32,
        Some(Algorithm::HS384) => 48,
        Some(Algorithm::HS512) => 64,
        _ => return,
    };
    if bytes.len() != expected_len {
        findings.refuse(
            InvalidTokenReason::BadSignature,
            format!(
                "the signature is {} bytes, but a {alg:?} signature is {expected_len} bytes, \
                 so it can never verify",
                bytes.len(),
                alg = alg.unwrap_or(Algorithm::HS256),
            ),
        );
    }
}

/// Checks each claim on its own with [`ClaimsPolicy::check`], then all of them together.
fn check_claims(
    claims: &Map<String, Value>,
    expected: Expected<'_>,
    now: u64,
    findings: &mut Findings,
) {
    let policy = policy_for(claims, expected, now);
    // Valid in every respect; each check below replaces one claim with the token's.
    let mut baseline = Map::new();
    baseline.insert("exp".to_owned(), json!(now.saturating_add(3600)));
    baseline.insert(
        "aud".to_owned(),
        json!(policy.audiences().first().cloned().unwrap_or_default()),
    );
    baseline.insert("sub".to_owned(), json!("inspect"));
    if let Some(issuer) = policy.expected_issuer() {
        baseline.insert("iss".to_owned(), json!(issuer));
    }
    let mut rules = vec!["exp", "nbf", "iat", "aud"];
    if policy.expected_issuer().is_some() {
        rules.push("iss");
    }
    rules.push("sub");
    for name in rules {
        let mut isolated = baseline.clone();
        match claims.get(name) {
            Some(value) => isolated.insert(name.to_owned(), value.clone()),
            None => isolated.remove(name),
        };
        if let Err(reason) = policy.check(&isolated) {
            findings.refuse(reason, explain(reason, name, claims, &policy, now));
        }
    }
    if let Err(reason) = policy.check(claims) {
        findings.ensure(reason);
    }
}

/// The policy a server with the expected settings would apply, with the clock at `now`.
///
/// Without `--audience`, the token's own first audience stands in: `aud` is then checked for
/// presence and form only.
fn policy_for(claims: &Map<String, Value>, expected: Expected<'_>, now: u64) -> ClaimsPolicy {
    let audience = match expected.audience {
        Some(audience) => audience,
        None => match claims.get("aud") {
            Some(Value::String(aud)) => aud.as_str(),
            Some(Value::Array(list)) => list.iter().find_map(Value::as_str).unwrap_or_default(),
            _ => "",
        },
    };
    let mut policy = ClaimsPolicy::new(audience).clock(Arc::new(ManualClock::at_unix(now)));
    if let Some(issuer) = expected.issuer {
        policy = policy.issuer(issuer);
    }
    policy
}

/// Details of a claim problem.
fn explain(
    reason: InvalidTokenReason,
    name: &str,
    claims: &Map<String, Value>,
    policy: &ClaimsPolicy,
    now: u64,
) -> String {
    let value = claims.get(name);
    let time = value.and_then(numeric_date).unwrap_or_default();
    let leeway = policy.leeway_duration().as_secs();
    match reason {
        InvalidTokenReason::Expired => format!(
            "exp {} passed {} ago, beyond the {leeway} s leeway",
            rfc3339(time),
            human(now.saturating_sub(time))
        ),
        InvalidTokenReason::NotYetValid => format!(
            "nbf {} is {} in the future, beyond the {leeway} s leeway",
            rfc3339(time),
            human(time.saturating_sub(now))
        ),
        InvalidTokenReason::IssuedInFuture => format!(
            "iat {} is {} in the future, beyond the {leeway} s leeway",
            rfc3339(time),
            human(time.saturating_sub(now))
        ),
        InvalidTokenReason::Audience => format!(
            "aud is {}, which does not contain {:?}",
            value.unwrap_or(&Value::Null),
            policy.audiences().join(", ")
        ),
        InvalidTokenReason::Issuer => format!(
            "iss is {}, not {:?}",
            value.unwrap_or(&Value::Null),
            policy.expected_issuer().unwrap_or_default()
        ),
        InvalidTokenReason::MissingClaim(_) => match value {
            None => format!("{name} is absent, and it is required"),
            Some(value) => format!("{name} is {value}, not {}", expected_form(name)),
        },
        _ => format!("{name} is {}", value.unwrap_or(&Value::Null)),
    }
}

/// What a claim must look like, for messages.
fn expected_form(name: &str) -> &'static str {
    match name {
        "exp" | "nbf" | "iat" => "a NumericDate (a non-negative number of seconds since 1970)",
        "aud" => "a string or a non-empty array of strings",
        "sub" => "a non-empty string",
        _ => "a string",
    }
}

/// Reads a NumericDate as [`ClaimsPolicy`] does: a non-negative number, fractions truncated.
pub(crate) fn numeric_date(value: &Value) -> Option<u64> {
    let number = value.as_number()?;
    number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f as u64)
    })
}

/// The name of a JSON value's type.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Writes the report of the static checks.
fn render(analysis: &Analysis, expected: Expected<'_>, now: u64, out: &mut String) {
    out.push_str(
        "warning: the signature was NOT checked; the header and claims below are only decoded, \
         and anyone can forge them\n",
    );
    out.push_str("header:\n");
    render_part(&analysis.header, out);
    out.push_str("claims:\n");
    match &analysis.claims {
        Some(part) => render_part(part, out),
        None => out.push_str("(none: no payload to decode)\n"),
    }

    if let Some(Part {
        value: Some(Value::Object(claims)),
        ..
    }) = &analysis.claims
    {
        render_times(claims, now, out);
    }

    out.push_str("\nWould a validator refuse it?\n");
    let refusals: Vec<&Finding> = analysis.findings.refusals().collect();
    if refusals.is_empty() {
        out.push_str("  no: the static checks found no problem\n");
    } else {
        let _ = writeln!(
            out,
            "  yes, {} problem{}:",
            refusals.len(),
            if refusals.len() == 1 { "" } else { "s" }
        );
        for finding in refusals {
            let description = finding.reason.map(|r| r.description()).unwrap_or_default();
            let _ = writeln!(out, "  - {description}: {}", finding.detail);
        }
    }
    for note in analysis.findings.notes() {
        let _ = writeln!(out, "  note: {}", note.detail);
    }
    let mut unchecked = Vec::new();
    if expected.audience.is_none() {
        unchecked.push("aud against the server's audience (pass --audience)");
    }
    if expected.issuer.is_none() {
        unchecked.push("iss (pass --issuer)");
    }
    if !unchecked.is_empty() {
        let _ = writeln!(out, "  not checked: {}", unchecked.join(", "));
    }
}

/// Writes a part as pretty JSON, or why it cannot be shown.
pub(crate) fn render_part(part: &Part, out: &mut String) {
    match &part.value {
        Some(value) => {
            let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
            out.push_str(&text);
            out.push('\n');
        }
        None => {
            let _ = writeln!(
                out,
                "(cannot decode: {})",
                part.issue.as_deref().unwrap_or("unknown")
            );
        }
    }
}

/// Writes `iat`, `nbf` and `exp` as UTC times relative to `now`.
pub(crate) fn render_times(claims: &Map<String, Value>, now: u64, out: &mut String) {
    let leeway = ClaimsPolicy::new("-").leeway_duration().as_secs();
    let mut lines = Vec::new();
    for name in ["iat", "nbf", "exp"] {
        let Some(value) = claims.get(name) else {
            continue;
        };
        let Some(time) = numeric_date(value) else {
            lines.push(format!("  {name}  {value}  (not a NumericDate)"));
            continue;
        };
        let relative = match name {
            "exp" if time > now => format!("expires in {}", human(time - now)),
            "exp" if now - time < leeway => format!(
                "expired {} ago; still accepted within the {leeway} s leeway",
                human(now - time)
            ),
            "exp" => format!("expired {} ago", human(now - time)),
            "nbf" if time <= now => format!("valid since {} ago", human(now - time)),
            "nbf" if time - now <= leeway => format!(
                "not valid for another {}; accepted now within the {leeway} s leeway",
                human(time - now)
            ),
            "nbf" => format!("not valid for another {}", human(time - now)),
            _ if time <= now => format!("issued {} ago", human(now - time)),
            _ if time - now <= leeway => format!(
                "issued {} in the future; accepted within the {leeway} s leeway",
                human(time - now)
            ),
            _ => format!("issued {} in the future", human(time - now)),
        };
        lines.push(format!("  {name}  {}  {relative}", rfc3339(time)));
    }
    if !lines.is_empty() {
        let _ = writeln!(out, "times (UTC; now {}):", rfc3339(now));
        for line in lines {
            out.push_str(&line);
            out.push('\n');
        }
    }
}

/// A duration in seconds, with a readable breakdown from one minute on: `7200 s (2h 0m 0s)`.
pub(crate) fn human(secs: u64) -> String {
    if secs < 60 {
        return format!("{secs} s");
    }
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hours, rest) = (rest / 3600, rest % 3600);
    let (minutes, seconds) = (rest / 60, rest % 60);
    let breakdown = if days > 0 {
        format!("{days}d {hours}h {minutes}m {seconds}s")
    } else if hours > 0 {
        format!("{hours}h {minutes}m {seconds}s")
    } else {
        format!("{minutes}m {seconds}s")
    };
    format!("{secs} s ({breakdown})")
}

/// Unix seconds as an RFC 3339 UTC timestamp, e.g. `2023-11-14T22:13:20Z`.
pub(crate) fn rfc3339(secs: u64) -> String {
    /// 9999-12-31T23:59:59Z.
    const MAX: u64 = 253_402_300_799;
    if secs > MAX {
        return format!("{secs} (after the year 9999)");
    }
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date `days` days after 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn token(header: &Value, claims: &Value) -> String {
        // 32 bytes of signature: the right length for HS256, wrong content.
        format!(
            "{}.{}.{}",
            b64(header),
            b64(claims),
            URL_SAFE_NO_PAD.encode([7u8; 32])
        )
    }

    fn good_claims() -> Value {
        json!({"sub": "u", "aud": "a", "iat": NOW, "exp": NOW + 60})
    }

    fn reasons(token: &str, expected: Expected<'_>) -> Vec<InvalidTokenReason> {
        analyse(token, expected, NOW)
            .findings
            .refusals()
            .filter_map(|f| f.reason)
            .collect()
    }

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(NOW), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert!(rfc3339(u64::MAX).contains("after the year 9999"));
        assert_eq!(human(5), "5 s");
        assert_eq!(human(7200), "7200 s (2h 0m 0s)");
        assert_eq!(human(90_061), "90061 s (1d 1h 1m 1s)");
    }

    #[test]
    fn a_good_token_has_no_problem() {
        let t = token(&json!({"alg": "HS256", "typ": "JWT"}), &good_claims());
        assert_eq!(reasons(&t, Expected::default()), vec![]);
        let expected = Expected {
            audience: Some("a"),
            issuer: None,
        };
        assert_eq!(reasons(&t, expected), vec![]);
    }

    #[test]
    fn every_problem_is_listed() {
        let t = token(
            &json!({"alg": "none", "crit": ["x"], "kid": 5, "jku": "https://evil"}),
            &json!({"aud": ["b", 5], "exp": NOW - 61, "nbf": NOW + 61, "iat": "x", "sub": ""}),
        );
        let found = reasons(
            &t,
            Expected {
                audience: Some("a"),
                issuer: Some("https://iss"),
            },
        );
        assert_eq!(
            found,
            vec![
                InvalidTokenReason::CriticalHeader,
                InvalidTokenReason::DisallowedAlgorithm,
                InvalidTokenReason::Malformed,
                InvalidTokenReason::Expired,
                InvalidTokenReason::NotYetValid,
                InvalidTokenReason::MissingClaim("iat"),
                InvalidTokenReason::MissingClaim("aud"),
                InvalidTokenReason::MissingClaim("iss"),
                InvalidTokenReason::MissingClaim("sub"),
            ]
        );
        let analysis = analyse(&t, Expected::default(), NOW);
        assert_eq!(analysis.findings.notes().count(), 1);
    }

    #[test]
    fn audience_is_compared_only_when_given() {
        let t = token(&json!({"alg": "HS256"}), &good_claims());
        let expected = Expected {
            audience: Some("other"),
            issuer: None,
        };
        assert_eq!(reasons(&t, expected), vec![InvalidTokenReason::Audience]);
        let t = token(
            &json!({"alg": "HS256"}),
            &json!({"sub": "u", "exp": NOW + 60}),
        );
        assert_eq!(
            reasons(&t, Expected::default()),
            vec![InvalidTokenReason::MissingClaim("aud")]
        );
    }

    #[test]
    fn leeway_matches_the_engine() {
        let at = |exp: u64| {
            let claims = json!({"sub": "u", "aud": "a", "exp": exp});
            reasons(
                &token(&json!({"alg": "HS256"}), &claims),
                Expected::default(),
            )
        };
        assert_eq!(at(NOW - 59), vec![]);
        assert_eq!(at(NOW - 60), vec![InvalidTokenReason::Expired]);
    }

    #[test]
    fn structure_and_algorithms() {
        let claims = good_claims();
        for (header, reason) in [
            (
                json!({"alg": "RS256"}),
                InvalidTokenReason::DisallowedAlgorithm,
            ),
            (
                json!({"alg": "hs256"}),
                InvalidTokenReason::DisallowedAlgorithm,
            ),
            (
                json!({"alg": "NoNe"}),
                InvalidTokenReason::DisallowedAlgorithm,
            ),
            (json!({"typ": "JWT"}), InvalidTokenReason::Malformed),
            (json!(["HS256"]), InvalidTokenReason::Malformed),
        ] {
            let t = token(&header, &claims);
            assert_eq!(reasons(&t, Expected::default()), vec![reason], "{header}");
        }
        for t in ["hello", "a.b", "a.b.c.d.e", "e30.e30.", "!!.e30.c2ln"] {
            assert!(
                reasons(t, Expected::default()).contains(&InvalidTokenReason::Malformed),
                "{t}"
            );
        }
        let long = token(
            &json!({"alg": "HS256"}),
            &json!({"sub": "u", "aud": "a", "exp": NOW + 60, "pad": "x".repeat(9000)}),
        );
        assert_eq!(
            reasons(&long, Expected::default()),
            vec![InvalidTokenReason::TooLong]
        );
        let short_sig = format!("{}.{}.c2ln", b64(&json!({"alg": "HS256"})), b64(&claims));
        assert_eq!(
            reasons(&short_sig, Expected::default()),
            vec![InvalidTokenReason::BadSignature]
        );
    }

    #[test]
    fn repeated_names_are_reported() {
        let raw = |header: &str, claims: &str| {
            format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(claims),
                URL_SAFE_NO_PAD.encode([7u8; 32])
            )
        };
        let claims = format!(r#"{{"sub":"u","sub":"v","aud":"a","exp":{}}}"#, NOW + 60);
        // The engine refuses a repeated alg; the last value alone looks fine.
        let t = raw(r#"{"alg":"none","alg":"HS256"}"#, &claims);
        let analysis = analyse(&t, Expected::default(), NOW);
        let refusals: Vec<_> = analysis.findings.refusals().collect();
        assert_eq!(refusals.len(), 1, "{refusals:?}");
        assert_eq!(refusals[0].reason, Some(InvalidTokenReason::Malformed));
        assert!(refusals[0].detail.contains("\"alg\" more than once"));
        assert_eq!(analysis.findings.notes().count(), 1);
        // Other repeated header members are read last-wins by the engine.
        let t = raw(r#"{"alg":"HS256","x":1,"x":2}"#, &claims);
        assert_eq!(reasons(&t, Expected::default()), vec![]);
    }

    #[test]
    fn bearer_prefix_and_whitespace_are_dropped() {
        let read = |s: &str| read_token(Some(s)).map(|t| t.to_string()).ok();
        assert_eq!(
            read("  Bearer  abc.def.ghi \n").as_deref(),
            Some("abc.def.ghi")
        );
        assert_eq!(read("abc").as_deref(), Some("abc"));
        assert_eq!(read("   "), None);
    }
}
