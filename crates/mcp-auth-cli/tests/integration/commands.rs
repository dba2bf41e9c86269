//! End-to-end tests of the `mcp-auth` binary: each test runs the built executable.

#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mcp_auth_core::{BearerToken, TokenValidator};
use mcp_auth_providers::hmac::HmacValidator;
use mcp_auth_testkit::{TokenFactory, now};
use serde_json::{Value, json};

const AUD: &str = "https://mcp.test/mcp";
const ISS: &str = "https://auth.test";
const SECRET: &str = "cli-test-secret-0123456789abcdefghijkl";
const OTHER_SECRET: &str = "another-secret-0123456789abcdefghijklm";
/// The variable the tests put secrets in (JWT_SECRET is removed from the child's environment).
const SECRET_VAR: &str = "MCP_AUTH_CLI_TEST_SECRET";

/// What a run of the binary produced.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn mcp_auth(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp-auth"));
    command
        .args(args)
        .env_remove("JWT_SECRET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    // Dropping the handle closes standard input.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn factory() -> TokenFactory {
    TokenFactory::hs256(SECRET.as_bytes(), AUD)
}

fn validator_for(secret: &[u8]) -> HmacValidator {
    HmacValidator::builder(AUD)
        .secret(secret.to_vec())
        .build()
        .unwrap()
}

fn decode_json(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// A file in the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!("mcp-auth-cli-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn secret_prints_base64_of_fresh_random_bytes() {
    let decode = |run: &Run| {
        assert_eq!(run.code, 0, "{}", run.stderr);
        let encoded = run.stdout.trim_end().strip_prefix("base64:").unwrap();
        STANDARD.decode(encoded).unwrap()
    };
    let first = decode(&mcp_auth(&["secret"], &[], ""));
    let second = decode(&mcp_auth(&["secret"], &[], ""));
    assert_eq!(first.len(), 32);
    assert_eq!(second.len(), 32);
    assert_ne!(first, second);
    assert_eq!(
        decode(&mcp_auth(&["secret", "--bytes", "64"], &[], "")).len(),
        64
    );

    let too_few = mcp_auth(&["secret", "--bytes", "31"], &[], "");
    assert_eq!(too_few.code, 2);
    assert!(too_few.stdout.is_empty());
}

#[tokio::test]
async fn minted_token_verifies_with_hmac_validator() {
    let run = mcp_auth(
        &[
            "token",
            "--audience",
            AUD,
            "--subject",
            "alice",
            "--scope",
            "read greet",
            "--ttl",
            "10m",
            "--issuer",
            ISS,
            "--email",
            "alice@example.com",
            "--username",
            "ada",
            "--alg",
            "HS384",
            "--kid",
            "k1",
            "--claim",
            r#"tenant="acme""#,
            "--claim",
            "level=3",
            "--secret-env",
            SECRET_VAR,
        ],
        &[(SECRET_VAR, SECRET)],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 1);
    let token = run.stdout.trim_end();

    let validator = HmacValidator::builder(AUD)
        .secret(SECRET.as_bytes().to_vec())
        .issuer(ISS)
        .build()
        .unwrap();
    let principal = validator.validate(&BearerToken::new(token)).await.unwrap();
    assert_eq!(principal.subject(), "alice");
    assert_eq!(principal.audiences(), [AUD.to_owned()]);
    assert_eq!(principal.issuer(), Some(ISS));
    assert_eq!(principal.scopes().to_string(), "greet read");
    assert_eq!(principal.email(), Some("alice@example.com"));
    assert_eq!(principal.username(), "ada");
    assert_eq!(principal.claim("tenant"), Some(&json!("acme")));
    assert_eq!(principal.claim("level"), Some(&json!(3)));
    let exp = principal.expires_at_unix().unwrap();
    let iat = principal.claim("iat").and_then(Value::as_u64).unwrap();
    assert_eq!(exp - iat, 600);
    assert!(exp.abs_diff(now() + 600) <= 5, "exp {exp}");
    let jti = principal.claim("jti").and_then(Value::as_str).unwrap();
    assert!(jti.len() >= 16, "{jti}");

    let header = decode_json(token.split('.').next().unwrap());
    assert_eq!(
        header,
        json!({"alg": "HS384", "kid": "k1", "typ": "at+jwt"})
    );

    // A second token has its own jti.
    let again = mcp_auth(&["token", "--audience", AUD], &[("JWT_SECRET", SECRET)], "");
    assert_eq!(again.code, 0, "{}", again.stderr);
    let again = validator_for(SECRET.as_bytes())
        .validate(&BearerToken::new(again.stdout.trim_end()))
        .await
        .unwrap();
    assert_eq!(again.subject(), "dev-user");
    assert!(again.scopes().is_empty());
    assert_ne!(again.claim("jti").and_then(Value::as_str), Some(jti));
}

#[tokio::test]
async fn token_reads_a_base64_secret_file() {
    let secret = mcp_auth(&["secret", "--bytes", "48"], &[], "");
    assert_eq!(secret.code, 0);
    // As `mcp-auth secret > file` writes it: with a final line break.
    let file = TempFile::new("secret-file", &secret.stdout);
    let bytes = STANDARD
        .decode(secret.stdout.trim_end().strip_prefix("base64:").unwrap())
        .unwrap();

    let run = mcp_auth(
        &[
            "token",
            "--audience",
            AUD,
            "--alg",
            "hs512",
            "--secret-file",
            file.path(),
        ],
        &[],
        "",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = run.stdout.trim_end();
    assert_eq!(
        decode_json(token.split('.').next().unwrap())["alg"],
        json!("HS512")
    );
    let principal = validator_for(&bytes)
        .validate(&BearerToken::new(token))
        .await
        .unwrap();
    assert_eq!(principal.subject(), "dev-user");
}

#[test]
fn short_or_missing_secret_is_refused_without_echoing_it() {
    let short = "short-but-secret-xyz";
    let run = mcp_auth(
        &["token", "--audience", AUD, "--secret-env", SECRET_VAR],
        &[(SECRET_VAR, short)],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("20 bytes"), "{}", run.stderr);
    assert!(run.stderr.contains("at least 32 bytes"), "{}", run.stderr);
    assert!(!run.stderr.contains(short), "{}", run.stderr);

    let encoded = format!("base64:{}", STANDARD.encode("short-but-secret"));
    let run = mcp_auth(
        &["token", "--audience", AUD],
        &[("JWT_SECRET", &encoded)],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("JWT_SECRET"), "{}", run.stderr);
    assert!(!run.stderr.contains(&encoded[7..]), "{}", run.stderr);

    let file = TempFile::new("short-secret", "tiny-secret\n");
    let run = mcp_auth(
        &["token", "--audience", AUD, "--secret-file", file.path()],
        &[],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(!run.stderr.contains("tiny-secret"), "{}", run.stderr);

    let run = mcp_auth(
        &["token", "--audience", AUD],
        &[("JWT_SECRET", "base64:***not base64***")],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not standard base64"), "{}", run.stderr);
    assert!(!run.stderr.contains("***"), "{}", run.stderr);

    let run = mcp_auth(&["token", "--audience", AUD], &[], "");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("JWT_SECRET is not set"),
        "{}",
        run.stderr
    );
}

#[test]
fn token_usage_errors_exit_2() {
    for args in [
        &["token"][..],
        &["token", "--audience", AUD, "--claim", "tenant=acme"],
        &["token", "--audience", AUD, "--ttl", "0"],
        &["token", "--audience", AUD, "--ttl", "5 weeks"],
        &["token", "--audience", AUD, "--scope", "a\"b"],
        &["token", "--audience", AUD, "--alg", "RS256"],
        &["token", "--audience", ""],
    ] {
        let run = mcp_auth(args, &[("JWT_SECRET", SECRET)], "");
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn inspect_of_a_good_token_exits_0() {
    let token = factory().claims().scope("greet").sign();
    let run = mcp_auth(&["inspect", &token], &[], "");
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("signature was NOT checked"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(r#""sub": "user-1""#), "{}", run.stdout);
    assert!(run.stdout.contains("expires in"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("no: the static checks found no problem"),
        "{}",
        run.stdout
    );

    // From standard input, as a pasted Authorization header value, with and without `-`.
    let pasted = format!("Bearer {token}\n");
    assert_eq!(mcp_auth(&["inspect"], &[], &pasted).code, 0);
    assert_eq!(
        mcp_auth(&["inspect", "-", "--audience", AUD], &[], &pasted).code,
        0
    );
}

#[test]
fn inspect_of_an_expired_token_exits_1() {
    let token = factory().claims().exp_in(-7200).sign();
    let run = mcp_auth(&["inspect", &token], &[], "");
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("the token has expired"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("expired 7"), "{}", run.stdout);
    assert!(run.stdout.contains("s ago"), "{}", run.stdout);
}

#[test]
fn inspect_of_an_unsigned_token_exits_1() {
    for alg in ["none", "nOnE"] {
        let token = factory().claims().unsigned(alg);
        let run = mcp_auth(&["inspect", &token], &[], "");
        assert_eq!(run.code, 1, "{}", run.stdout);
        assert!(
            run.stdout.contains("the token algorithm is not allowed"),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains(&format!("{alg:?}")), "{}", run.stdout);
        assert!(run.stdout.contains("unsigned"), "{}", run.stdout);
    }
}

#[test]
fn inspect_of_a_token_with_crit_exits_1() {
    let token = factory()
        .claims()
        .raw_header(json!({"alg": "HS256", "typ": "JWT", "crit": ["exp"]}))
        .sign();
    let run = mcp_auth(&["inspect", &token], &[], "");
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("the token has an unsupported critical header"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("`crit`"), "{}", run.stdout);
}

#[test]
fn inspect_lists_every_problem() {
    let token = factory()
        .claims()
        .exp_in(-120)
        .remove("sub")
        .set("aud", json!(["https://other.test"]))
        .set("iss", json!("https://evil.test"))
        .raw_header(json!({"alg": "RS256", "jku": "https://evil.test/keys"}))
        .sign();
    let run = mcp_auth(
        &["inspect", "--audience", AUD, "--issuer", ISS, &token],
        &[],
        "",
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    for expected in [
        "yes, 5 problems",
        "alg RS256 is not HMAC",
        "the token has expired",
        "the token audience does not include this resource",
        "the token issuer is not trusted",
        "the token has no valid sub claim",
        "note: the header has `jku`",
    ] {
        assert!(run.stdout.contains(expected), "{expected}: {}", run.stdout);
    }
}

#[test]
fn inspect_notes_key_headers_without_refusing() {
    let token = factory()
        .claims()
        .raw_header(json!({"alg": "HS256", "jwk": {"kty": "oct", "k": "AAAA"}}))
        .sign();
    let run = mcp_auth(&["inspect", &token], &[], "");
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("note: the header has `jwk`"),
        "{}",
        run.stdout
    );
}

#[test]
fn inspect_checks_the_signature_with_a_secret() {
    let token = factory().claims().scope("greet read").sign();

    let wrong = mcp_auth(
        &[
            "inspect",
            "--audience",
            AUD,
            "--secret-env",
            SECRET_VAR,
            &token,
        ],
        &[(SECRET_VAR, OTHER_SECRET)],
        "",
    );
    assert_eq!(wrong.code, 1, "{}", wrong.stdout);
    assert!(
        wrong
            .stdout
            .contains("refused: the token signature is invalid"),
        "{}",
        wrong.stdout
    );
    assert!(!wrong.stdout.contains(OTHER_SECRET));

    let right = mcp_auth(
        &[
            "inspect",
            "--audience",
            AUD,
            "--secret-env",
            SECRET_VAR,
            "-",
        ],
        &[(SECRET_VAR, SECRET)],
        &token,
    );
    assert_eq!(right.code, 0, "{}", right.stdout);
    assert!(
        right
            .stdout
            .contains(r#"valid: subject "user-1", scopes greet read"#),
        "{}",
        right.stdout
    );

    // The validator applies --issuer too.
    let issuer = mcp_auth(
        &[
            "inspect",
            "--audience",
            AUD,
            "--issuer",
            ISS,
            "--secret-env",
            SECRET_VAR,
            &token,
        ],
        &[(SECRET_VAR, SECRET)],
        "",
    );
    assert_eq!(issuer.code, 1, "{}", issuer.stdout);
    assert!(
        issuer
            .stdout
            .contains("refused: the token has no valid iss claim"),
        "{}",
        issuer.stdout
    );
}

#[test]
fn inspect_usage_and_input_errors_exit_2() {
    let token = factory().claims().sign();
    // A secret needs --audience.
    let run = mcp_auth(
        &["inspect", "--secret-env", SECRET_VAR, &token],
        &[(SECRET_VAR, SECRET)],
        "",
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--audience is required"),
        "{}",
        run.stderr
    );
    // A short secret is refused as for `token`.
    let run = mcp_auth(
        &[
            "inspect",
            "--audience",
            AUD,
            "--secret-env",
            SECRET_VAR,
            &token,
        ],
        &[(SECRET_VAR, "short")],
        "",
    );
    assert_eq!(run.code, 2);
    // No token at all.
    let run = mcp_auth(&["inspect"], &[], " \n");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no token given"), "{}", run.stderr);
}

#[test]
fn inspect_of_garbage_says_malformed() {
    let run = mcp_auth(&["inspect", "hello"], &[], "");
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("the token is malformed"),
        "{}",
        run.stdout
    );

    let long = factory()
        .claims()
        .set("padding", json!("x".repeat(9000)))
        .sign();
    let run = mcp_auth(&["inspect", "-"], &[], &long);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("the token is too long"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_minted_token_passes_inspect_with_its_secret() {
    let minted = mcp_auth(
        &[
            "token",
            "--audience",
            AUD,
            "--issuer",
            ISS,
            "--scope",
            "greet",
        ],
        &[("JWT_SECRET", SECRET)],
        "",
    );
    assert_eq!(minted.code, 0, "{}", minted.stderr);
    let run = mcp_auth(
        &[
            "inspect",
            "--audience",
            AUD,
            "--issuer",
            ISS,
            "--secret-env",
            "JWT_SECRET",
        ],
        &[("JWT_SECRET", SECRET)],
        &minted.stdout,
    );
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains(r#"valid: subject "dev-user", scopes greet"#),
        "{}",
        run.stdout
    );
}
