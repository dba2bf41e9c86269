//! `mcp-auth doctor`: check, step by step, that an issuer can be trusted the way a validator
//! would trust it, and optionally why a token is accepted or refused.
//!
//! 1. Discovery: the metadata document is found and names exactly the configured issuer.
//! 2. Key set: the `jwks_uri` answers with at least one key the key rules keep.
//! 3. Token (when given): its header and claims, decoded without trusting them; its `kid` and
//!    algorithm against the key set; then the verdict of the real validator
//!    ([`Issuer::validator`]), with a hint for each refusal.
//!
//! Every fetch goes through the library's own code ([`discover`], [`Issuer::with_jwks_uri`]), so
//! what passes here passes in a server. Text from the network or the token is printed as JSON or
//! with Rust escapes, never raw.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::builder::NonEmptyStringValueParser;
use jsonwebtoken::Algorithm;
use mcp_auth_core::clock::{Clock as _, SystemClock};
use mcp_auth_core::{AuthError, BearerToken, InvalidTokenReason};
use mcp_auth_providers::jwk::{JwkSet, KeyType, MIN_RSA_BITS, VerificationKey};
use mcp_auth_providers::jwt::{ClaimsPolicy, CompactJws, DEFAULT_MAX_TOKEN_LEN};
use mcp_auth_providers::oidc::discovery::metadata_urls;
use mcp_auth_providers::oidc::validator::ASYMMETRIC_ALGORITHMS;
use mcp_auth_providers::oidc::{
    DiscoveryError, FetchError, FetchPolicy, Fetcher, Issuer, IssuerError, IssuerOptions,
    KeySetError, ProviderMetadata, discover,
};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::inspect::{
    MAX_INPUT_LEN, clean_token, decode_part, human, numeric_date, read_token, render_part,
    render_times, rfc3339,
};
use crate::{CliError, Outcome};

/// Exit code when a check fails.
const EXIT_FAILED: u8 = 1;

/// Arguments of `mcp-auth doctor`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Runs what a validator does at startup (discovery, key set fetch) and, with a token, what it does \
for each request, printing each check as ok or FAIL.

Exit codes: 0 every check passed, 1 a check failed, 2 usage or input error.

Examples:
  mcp-auth doctor --issuer https://dev-123456.okta.com/oauth2/default --audience api://mcp
  mcp-auth doctor --issuer https://auth.example.com --audience https://mcp.example.com/mcp \\
      --token-file token.txt
  pbpaste | mcp-auth doctor --issuer http://127.0.0.1:8080 --audience api --token - \\
      --insecure-allow-http")]
pub(crate) struct DoctorArgs {
    /// The issuer, exactly as tokens carry it in `iss` (e.g. `https://auth.example.com`)
    #[arg(long, value_name = "URL", value_parser = NonEmptyStringValueParser::new())]
    issuer: String,
    /// The audience the server validates (usually its canonical URI)
    #[arg(long, value_name = "AUD", value_parser = NonEmptyStringValueParser::new())]
    audience: String,
    /// A token to check (a leading `Bearer ` is ignored); `-` reads it from standard input,
    /// which keeps it out of the shell history
    #[arg(long, value_name = "TOKEN", conflicts_with = "token_file")]
    token: Option<String>,
    /// Read the token to check from this file
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,
    /// Allow plain http URLs: for an issuer on localhost during development only
    #[arg(long)]
    insecure_allow_http: bool,
}

/// The report being written, and how many checks failed.
#[derive(Debug, Default)]
struct Report {
    /// The text for standard output. Zeroized on drop: it shows the token's claims.
    out: Zeroizing<String>,
    /// Failed checks.
    failures: usize,
}

impl Report {
    fn step(&mut self, number: u8, title: &str) {
        let _ = writeln!(self.out, "\n[{number}/3] {title}");
    }

    fn line(&mut self, label: &str, text: &str) {
        let mut lines = text.lines();
        let _ = writeln!(
            self.out,
            "  {label:<5} {}",
            lines.next().unwrap_or_default()
        );
        for line in lines {
            let _ = writeln!(self.out, "        {line}");
        }
    }

    /// A check that passed.
    fn ok(&mut self, text: impl AsRef<str>) {
        self.line("ok", text.as_ref());
    }

    /// A check that failed.
    fn fail(&mut self, text: impl AsRef<str>) {
        self.failures += 1;
        self.line("FAIL", text.as_ref());
    }

    /// Information, neither a pass nor a failure.
    fn info(&mut self, text: impl AsRef<str>) {
        self.line("", text.as_ref());
    }
}

/// Runs the checks.
///
/// # Errors
///
/// A [`CliError`] for an issuer that is not a URL, an unreadable or empty token, or a runtime
/// that cannot start.
pub(crate) fn run(args: &DoctorArgs) -> Result<Outcome, CliError> {
    if metadata_urls(&args.issuer).is_err() {
        return Err(CliError::new(format!(
            "--issuer {:?} is not a valid issuer URL: expected an absolute URL such as \
             https://auth.example.com, without query or fragment",
            args.issuer
        )));
    }
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => Some(read_token(Some(token))?),
        (None, Some(path)) => Some(read_token_file(path)?),
        (None, None) => None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))?;
    let report = runtime.block_on(diagnose(args, token.as_ref().map(|t| t.as_str())));
    Ok(Outcome {
        stdout: report.out,
        code: if report.failures > 0 { EXIT_FAILED } else { 0 },
    })
}

/// Reads a token from a file, as `inspect` reads one from standard input.
fn read_token_file(path: &Path) -> Result<Zeroizing<String>, CliError> {
    let file = std::fs::File::open(path)
        .map_err(|e| CliError::new(format!("cannot read --token-file {}: {e}", path.display())))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_INPUT_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::new(format!("cannot read --token-file {}: {e}", path.display())))?;
    if bytes.len() as u64 > MAX_INPUT_LEN {
        return Err(CliError::new(format!(
            "--token-file {} is larger than {MAX_INPUT_LEN} bytes; that is not a token",
            path.display()
        )));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError::new(format!("--token-file {} is not UTF-8 text", path.display())))?;
    clean_token(text)
        .map_err(|_| CliError::new(format!("--token-file {} holds no token", path.display())))
}

/// All three steps.
async fn diagnose(args: &DoctorArgs, token: Option<&str>) -> Report {
    let mut report = Report::default();
    let _ = writeln!(report.out, "mcp-auth doctor");
    let _ = writeln!(report.out, "  issuer:   {:?}", args.issuer);
    let _ = writeln!(report.out, "  audience: {:?}", args.audience);

    let mut policy = FetchPolicy::default();
    if args.insecure_allow_http {
        policy = policy.insecure_allow_http();
        let _ = writeln!(
            report.out,
            "  note: --insecure-allow-http: plain http is allowed (keys fetched over http can be \
             replaced by anyone on the path; development only)",
        );
    }
    let options = IssuerOptions {
        fetch: policy.clone(),
        ..IssuerOptions::default()
    };

    report.step(1, "Discovery");
    let issuer = match Fetcher::new(policy) {
        Ok(fetcher) => match discovery_step(&mut report, &fetcher, args).await {
            Some(metadata) => {
                report.step(2, "Key set (JWKS)");
                key_set_step(&mut report, &fetcher, &metadata, &args.issuer, options).await
            }
            None => {
                report.step(2, "Key set (JWKS)");
                report.info("skipped: discovery failed");
                None
            }
        },
        Err(e) => {
            report.fail(format!("cannot set up the HTTP client: {e}"));
            None
        }
    };

    report.step(3, "Token");
    match (token, &issuer) {
        (None, _) => report.info("skipped: no token given (pass --token or --token-file)"),
        (Some(_), None) => report.info("skipped: there are no keys to check it with"),
        (Some(token), Some(issuer)) => token_step(&mut report, issuer, &args.audience, token).await,
    }

    let _ = match report.failures {
        0 => writeln!(report.out, "\nResult: every check passed"),
        1 => writeln!(report.out, "\nResult: 1 check FAILED"),
        n => writeln!(report.out, "\nResult: {n} checks FAILED"),
    };
    report
}

/// Step 1: finds the metadata and checks its issuer.
async fn discovery_step(
    report: &mut Report,
    fetcher: &Fetcher,
    args: &DoctorArgs,
) -> Option<ProviderMetadata> {
    let issuer = args.issuer.as_str();
    let urls = metadata_urls(issuer).unwrap_or_default();
    if !args.insecure_allow_http && urls.first().is_some_and(|url| url.scheme() == "http") {
        report.fail(
            "the issuer is a plain http URL, and discovery over http is refused: anyone on \
             the network path could replace the keys.\nFor an issuer on localhost during \
             development, pass --insecure-allow-http.",
        );
        return None;
    }
    match discover(fetcher, issuer).await {
        Ok(metadata) => {
            report.ok(format!("discovery document found at {}", metadata.source));
            report.ok(format!("it names exactly the issuer {:?}", metadata.issuer));
            report.info(format!("jwks_uri: {}", metadata.jwks_uri));
            if let Some(endpoint) = &metadata.introspection_endpoint {
                report.info(format!("introspection_endpoint: {endpoint}"));
            }
            Some(metadata)
        }
        Err(DiscoveryError::IssuerMismatch {
            source_url,
            found,
            expected,
        }) => {
            report.ok(format!("discovery document found at {source_url}"));
            let hint = if found.trim_end_matches('/') == expected.trim_end_matches('/') {
                "They differ only in a trailing slash, which matters: pass --issuer exactly as \
                 the document (and your tokens' iss) writes it."
            } else {
                "Check --issuer: it must be the issuer your tokens carry in iss, written as the \
                 document writes it."
            };
            report.fail(format!(
                "the document names another issuer; the two must match exactly (OpenID Connect \
                 Discovery 1.0 section 4.3), so no validator will trust it:\n  document says: \
                 {found:?}\n  --issuer is:    {expected:?}\n{hint}"
            ));
            None
        }
        Err(DiscoveryError::NotFound { last, .. }) => {
            not_found(report, fetcher, issuer, last).await;
            None
        }
        Err(DiscoveryError::Invalid(url)) => {
            report.fail(format!(
                "the document at {url} is not valid metadata: it must be a JSON object with an \
                 `issuer` string and a `jwks_uri` URL"
            ));
            None
        }
        Err(other) => {
            report.fail(format!("discovery failed: {other}"));
            None
        }
    }
}

/// Explains why no metadata document was found.
async fn not_found(report: &mut Report, fetcher: &Fetcher, issuer: &str, last: FetchError) {
    match last {
        FetchError::Unreachable { url, reason } => report.fail(format!(
            "cannot reach the issuer {issuer:?}: {reason} (last tried {url}).\nCheck the \
             issuer URL, and that the server is up and reachable from this machine."
        )),
        FetchError::NotHttps(url) => report.fail(format!(
            "the discovery document names jwks_uri {url}, which is not https; keys are only \
             fetched over https (for a development issuer on localhost, pass \
             --insecure-allow-http)"
        )),
        _ => {
            // Say what each URL answered: the library reports only the last.
            let mut tried = String::new();
            for url in metadata_urls(issuer).unwrap_or_default() {
                let answer = match fetcher.get_json(&url).await {
                    Ok(_) => format!("{url} answered this time (it failed a moment ago)"),
                    Err(e) => e.to_string(),
                };
                let _ = write!(tried, "\n  {answer}");
            }
            report.fail(format!(
                "no discovery document found for this issuer. Tried, in order:{tried}\nCheck \
                 the issuer URL: discovery looks for /.well-known/openid-configuration or \
                 /.well-known/oauth-authorization-server under it."
            ));
        }
    }
}

/// Step 2: fetches the key set and lists what the key rules keep.
async fn key_set_step(
    report: &mut Report,
    fetcher: &Fetcher,
    metadata: &ProviderMetadata,
    issuer: &str,
    options: IssuerOptions,
) -> Option<Issuer> {
    let jwks_uri = &metadata.jwks_uri;
    match Issuer::with_jwks_uri(issuer, jwks_uri.clone(), options).await {
        Ok(found) => {
            let keys = found.keys().current().unwrap_or_default();
            report.ok(format!("key set fetched from {jwks_uri}"));
            report.ok(format!(
                "{} usable key{} ({} dropped by the key rules):",
                keys.keys().len(),
                plural(keys.keys().len()),
                keys.dropped()
            ));
            for key in keys.keys() {
                report.info(format!("  {}", describe_key(key)));
            }
            if keys.dropped() > 0 {
                explain_dropped(report, fetcher, metadata, &keys).await;
            }
            Some(found)
        }
        Err(IssuerError::KeySet(KeySetError::Empty { url, dropped })) => {
            report.fail(format!(
                "the key set at {url} holds no usable signing key ({dropped} published key{} \
                 dropped by the key rules), so no token can be verified",
                plural(dropped)
            ));
            if dropped > 0 {
                explain_dropped(report, fetcher, metadata, &JwkSet::default()).await;
            }
            None
        }
        Err(IssuerError::KeySet(KeySetError::Fetch(e)) | IssuerError::Fetch(e)) => {
            report.fail(format!("cannot fetch the key set: {e}"));
            None
        }
        Err(IssuerError::KeySet(KeySetError::Parse { url, .. })) => {
            report.fail(format!(
                "{url} is not a JWK Set: expected a JSON object with a `keys` array"
            ));
            None
        }
        Err(other) => {
            report.fail(format!("cannot use the key set: {other}"));
            None
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A key type in words.
fn key_type_name(key_type: KeyType) -> String {
    match key_type {
        KeyType::Rsa { bits } => format!("RSA {bits}-bit"),
        KeyType::P256 => "EC P-256".to_owned(),
        KeyType::P384 => "EC P-384".to_owned(),
        KeyType::Ed25519 => "Ed25519".to_owned(),
    }
}

/// The algorithms a key verifies, in words.
fn key_algorithms(key: &VerificationKey) -> String {
    let algs: Vec<String> = ASYMMETRIC_ALGORITHMS
        .iter()
        .filter(|alg| key.allows(**alg))
        .map(|alg| format!("{alg:?}"))
        .collect();
    algs.join(", ")
}

/// `kid "x": RSA 2048-bit, verifies RS256, ...`.
fn describe_key(key: &VerificationKey) -> String {
    let kid = match key.kid() {
        Some(kid) => format!("kid {kid:?}"),
        None => "(no kid)".to_owned(),
    };
    format!(
        "{kid}: {}, verifies {}",
        key_type_name(key.key_type()),
        key_algorithms(key)
    )
}

/// The known kids, for messages.
fn known_kids(keys: &JwkSet) -> String {
    let kids: Vec<String> = keys
        .keys()
        .iter()
        .map(|k| match k.kid() {
            Some(kid) => format!("{kid:?}"),
            None => "(a key without kid)".to_owned(),
        })
        .collect();
    if kids.is_empty() {
        "(none)".to_owned()
    } else {
        kids.join(", ")
    }
}

/// Lists the published keys the rules dropped, with the rule each breaks.
async fn explain_dropped(
    report: &mut Report,
    fetcher: &Fetcher,
    metadata: &ProviderMetadata,
    kept: &JwkSet,
) {
    let Ok(body) = fetcher.get_json(&metadata.jwks_uri).await else {
        return;
    };
    let Ok(doc) = serde_json::from_slice::<Value>(&body) else {
        return;
    };
    let Some(entries) = doc.get("keys").and_then(Value::as_array) else {
        return;
    };
    let kid_of = |entry: &Value| entry.get("kid").and_then(Value::as_str).map(str::to_owned);
    let kept_without_kid = kept.keys().iter().any(|k| k.kid().is_none());
    for entry in entries {
        let kid = kid_of(entry);
        let dropped = match &kid {
            Some(kid) => kept.by_kid(kid).is_none(),
            None => !kept_without_kid,
        };
        if !dropped {
            continue;
        }
        let shared = kid.as_ref().is_some_and(|kid| {
            entries
                .iter()
                .filter(|e| kid_of(e).as_ref() == Some(kid))
                .count()
                > 1
        });
        let name = match &kid {
            Some(kid) => format!("kid {kid:?}"),
            None => "a key without kid".to_owned(),
        };
        report.info(format!("  dropped: {name}: {}", drop_reason(entry, shared)));
    }
}

/// Why the key rules (see `mcp_auth_providers::jwk`) drop `entry`.
fn drop_reason(entry: &Value, shared_kid: bool) -> String {
    let text = |name: &str| entry.get(name).and_then(Value::as_str);
    if let Some(usage) = entry.get("use")
        && usage.as_str() != Some("sig")
    {
        return format!("use is {usage}, not \"sig\" (not a signing key)");
    }
    if let Some(ops) = entry.get("key_ops")
        && !ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")))
    {
        return format!("key_ops {ops} does not include \"verify\"");
    }
    if shared_kid {
        return "its kid names more than one key, so none of them is used".to_owned();
    }
    let size = |name: &str| {
        text(name)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .map(|bytes| bytes.iter().skip_while(|b| **b == 0).count())
    };
    match text("kty") {
        Some("oct") => "a symmetric key (kty \"oct\"): shared secrets are never taken from a key \
                        set"
        .to_owned(),
        Some("RSA") => match size("n") {
            Some(bytes) if bytes * 8 < MIN_RSA_BITS => format!(
                "an RSA key of {} bits; at least {MIN_RSA_BITS} are required",
                bytes * 8
            ),
            _ => alg_or_material(entry, "RSA"),
        },
        Some(kty @ ("EC" | "OKP")) => match (kty, text("crv")) {
            ("EC", Some("P-256" | "P-384")) | ("OKP", Some("Ed25519")) => {
                alg_or_material(entry, kty)
            }
            (_, crv) => format!(
                "curve {} is not supported (P-256, P-384 and Ed25519 are)",
                crv.map_or_else(|| "(none)".to_owned(), |c| format!("{c:?}"))
            ),
        },
        Some(kty) => format!("key type {kty:?} is not supported (RSA, EC and OKP are)"),
        None => "it has no kty".to_owned(),
    }
}

fn alg_or_material(entry: &Value, kty: &str) -> String {
    match entry.get("alg") {
        Some(alg) => format!(
            "alg {alg} is not an algorithm a {kty} key of this kind verifies, or its key \
             material is malformed"
        ),
        None => format!("its {kty} key material is malformed"),
    }
}

/// Step 3: the token, decoded, checked against the keys, then validated for real.
async fn token_step(report: &mut Report, issuer: &Issuer, audience: &str, token: &str) {
    let now = SystemClock.unix_now();
    let parts: Vec<&str> = token.split('.').collect();
    report.info("decoded WITHOUT trusting it (anyone can write these; the checks below decide):");
    let header = decode_part(parts.first().copied().unwrap_or_default(), "header");
    let mut shown = String::from("header:\n");
    render_part(&header, &mut shown);
    let claims = parts.get(1).map(|payload| decode_part(payload, "payload"));
    shown.push_str("claims:\n");
    match &claims {
        Some(part) => render_part(part, &mut shown),
        None => shown.push_str("(none: no payload to decode)\n"),
    }
    let claims: Map<String, Value> = match claims.and_then(|part| part.value) {
        Some(Value::Object(claims)) => claims,
        _ => Map::new(),
    };
    render_times(&claims, now, &mut shown);
    report.info(shown.trim_end());

    let keys = issuer.keys().current().unwrap_or_default();
    match CompactJws::parse(token, DEFAULT_MAX_TOKEN_LEN) {
        Err(reason) => report.fail(format!(
            "the token is not a well-formed signed JWT: {} (run `mcp-auth inspect` for details)",
            reason.description()
        )),
        Ok(jws) => check_key(report, &keys, &jws),
    }

    let validator = issuer.validator(audience);
    match validator.validate(&BearerToken::new(token)).await {
        Ok(principal) => {
            let scopes = principal.scopes();
            report.ok(format!(
                "valid: subject {:?}, scopes {}",
                principal.subject(),
                if scopes.is_empty() {
                    "(none)".to_owned()
                } else {
                    scopes.to_string()
                }
            ));
        }
        Err(AuthError::InvalidToken(reason)) => {
            let hint = hint(reason, &claims, &keys, token, issuer, audience, now);
            report.fail(format!(
                "the validator refuses it: {}\n{hint}",
                reason.description()
            ));
        }
        Err(AuthError::Unavailable { source, .. }) => report.fail(format!(
            "the validator cannot decide: no keys are available{}",
            source.map(|e| format!(" ({e})")).unwrap_or_default()
        )),
        Err(other) => report.fail(format!("the validator refuses it: {other}")),
    }
}

/// Checks the token's `kid` and `alg` against the key set.
fn check_key(report: &mut Report, keys: &JwkSet, jws: &CompactJws<'_>) {
    let alg = jws.alg();
    if !ASYMMETRIC_ALGORITHMS.contains(&alg) {
        let why = if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            "it is HMAC with a shared secret, which an issuer's public keys never verify \
             (validate such tokens with provider hmac)"
        } else {
            "it is not an asymmetric algorithm"
        };
        report.fail(format!(
            "the token's alg is {alg:?}: {why}; keys from a key set verify RS256/384/512, \
             PS256/384/512, ES256, ES384 and EdDSA"
        ));
        return;
    }
    match jws.kid() {
        Some(kid) => match keys.by_kid(kid) {
            Some(key) => {
                report.ok(format!("the token's kid {kid:?} is in the key set"));
                if key.allows(alg) {
                    report.ok(format!(
                        "its key ({}) may verify the token's alg {alg:?}",
                        key_type_name(key.key_type())
                    ));
                } else {
                    report.fail(format!(
                        "its key is {}, which may not verify the token's alg {alg:?} (it \
                         verifies {})",
                        key_type_name(key.key_type()),
                        key_algorithms(key)
                    ));
                }
            }
            None => report.fail(format!(
                "the token's kid {kid:?} is not in the key set; known kids: {}",
                known_kids(keys)
            )),
        },
        None => match keys.allowing(alg).count() {
            0 => report.fail(format!(
                "the token has no kid, and no key in the set may verify its alg {alg:?}"
            )),
            n => report.ok(format!(
                "the token has no kid; {n} key{} in the set may verify its alg {alg:?} \
                 (validators try at most 4)",
                plural(n)
            )),
        },
    }
}

/// What to look at for a refusal, from the (untrusted) claims.
fn hint(
    reason: InvalidTokenReason,
    claims: &Map<String, Value>,
    keys: &JwkSet,
    token: &str,
    issuer: &Issuer,
    audience: &str,
    now: u64,
) -> String {
    let claim = |name: &str| {
        claims
            .get(name)
            .map_or_else(|| "absent".to_owned(), Value::to_string)
    };
    let leeway = ClaimsPolicy::new(audience).leeway_duration().as_secs();
    let time = |name: &str| claims.get(name).and_then(numeric_date);
    let kid = CompactJws::parse(token, DEFAULT_MAX_TOKEN_LEN)
        .ok()
        .and_then(|jws| jws.kid().map(str::to_owned));
    match reason {
        InvalidTokenReason::Audience => format!(
            "the token's aud is {}; expected it to contain {audience:?}.\nMint the token for \
             this audience (with Okta/Entra ID: the API's audience / Application ID URI), or \
             pass the audience your tokens carry.",
            claim("aud")
        ),
        InvalidTokenReason::Issuer => format!(
            "the token's iss is {}; expected exactly {:?}",
            claim("iss"),
            issuer.metadata().issuer
        ),
        InvalidTokenReason::UnknownKey => format!(
            "the token's kid is {}; the key set has: {}.\nThe token was signed by a key this \
             issuer does not publish: another issuer or environment, or a key rotated out.",
            kid.map_or_else(|| "absent".to_owned(), |k| format!("{k:?}")),
            known_kids(keys)
        ),
        InvalidTokenReason::Expired => match time("exp") {
            Some(exp) => format!(
                "exp {} passed {} ago (beyond the {leeway} s leeway); get a fresh token",
                rfc3339(exp),
                human(now.saturating_sub(exp))
            ),
            None => "get a fresh token".to_owned(),
        },
        InvalidTokenReason::NotYetValid => match time("nbf") {
            Some(nbf) => format!(
                "nbf {} is {} in the future (beyond the {leeway} s leeway); check this \
                 machine's clock",
                rfc3339(nbf),
                human(nbf.saturating_sub(now))
            ),
            None => "check this machine's clock".to_owned(),
        },
        InvalidTokenReason::IssuedInFuture => match time("iat") {
            Some(iat) => format!(
                "iat {} is {} in the future (beyond the {leeway} s leeway); check this \
                 machine's clock",
                rfc3339(iat),
                human(iat.saturating_sub(now))
            ),
            None => "check this machine's clock".to_owned(),
        },
        InvalidTokenReason::BadSignature => format!(
            "the signature does not verify with the key {}: the token was signed by another \
             key, or changed after signing",
            kid.map_or_else(|| "(no kid)".to_owned(), |k| format!("{k:?}"))
        ),
        InvalidTokenReason::DisallowedAlgorithm => {
            "the token's alg does not fit its key (see the key checks above)".to_owned()
        }
        InvalidTokenReason::WrongTokenType => {
            "the token carries nonce, at_hash or c_hash: it is an OpenID Connect ID token, \
             meant for the client; send an access token for this API instead"
                .to_owned()
        }
        InvalidTokenReason::MissingClaim(name) => {
            format!("the token's {name} is {}", claim(name))
        }
        _ => "run `mcp-auth inspect` on the token for details".to_owned(),
    }
}
