//! End-to-end tests of `mcp-auth doctor`: the built binary against a small identity provider on
//! 127.0.0.1 (discovery document and key set), started by each test.

#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use axum::Router;
use axum::routing::get;
use mcp_auth_testkit::oidc::{JwtBuilder, TestKey};
use serde_json::{Value, json};

const AUD: &str = "https://mcp.test/mcp";

/// What a run of the binary produced.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts that standard output contains `needle`.
    #[track_caller]
    fn says(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "expected {needle:?} in:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts the exit code.
    #[track_caller]
    fn exits(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

fn mcp_auth(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-auth"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
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

/// An identity provider on 127.0.0.1: discovery at `/.well-known/openid-configuration`, keys at
/// `/jwks`. It runs on its own thread until the test process ends.
struct Idp {
    /// `http://127.0.0.1:<port>`: also the issuer.
    base: String,
}

impl Idp {
    /// Serves `jwks`, with a discovery document naming `issuer` (the server's own URL when
    /// `None`).
    fn start(issuer: Option<&str>, jwks: Value) -> Self {
        Self::serve(|base| issuer.unwrap_or(base).to_owned(), jwks)
    }

    /// Serves `jwks`, with a discovery document naming `issuer(base)`.
    fn serve(issuer: impl FnOnce(&str) -> String, jwks: Value) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let discovery = json!({
            "issuer": issuer(&base),
            "jwks_uri": format!("{base}/jwks"),
        });
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { axum::Json(discovery) }),
            )
            .route("/jwks", get(move || async move { axum::Json(jwks) }));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        Self { base }
    }

    /// A provider publishing the RSA and P-256 fixture keys, plus a symmetric key the key rules
    /// drop.
    fn good() -> Self {
        let mut jwks = TestKey::jwks(&[TestKey::Rsa, TestKey::P256]);
        jwks["keys"]
            .as_array_mut()
            .unwrap()
            .push(json!({"kty": "oct", "kid": "shared-secret", "k": "c2VjcmV0"}));
        Self::start(None, jwks)
    }

    /// A token this provider would issue for [`AUD`], signed with the RSA key.
    fn token(&self) -> JwtBuilder {
        JwtBuilder::new(TestKey::Rsa)
            .issuer(&self.base)
            .audience(AUD)
            .subject("alice")
            .scope("mcp:tools")
            .iat_in(0)
            .exp_in(600)
    }

    /// Runs `doctor` against this provider with `extra` arguments.
    fn doctor(&self, extra: &[&str]) -> Run {
        let mut args = vec![
            "doctor",
            "--issuer",
            &self.base,
            "--audience",
            AUD,
            "--insecure-allow-http",
        ];
        args.extend_from_slice(extra);
        mcp_auth(&args, "")
    }
}

/// A file in the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("mcp-auth-doctor-{}-{name}", std::process::id()));
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
fn a_good_issuer_passes_every_check() {
    let idp = Idp::good();
    let run = idp.doctor(&[]);
    run.exits(0)
        .says(&format!(
            "ok    discovery document found at {}/.well-known/openid-configuration",
            idp.base
        ))
        .says(&format!("ok    it names exactly the issuer {:?}", idp.base))
        .says(&format!("ok    key set fetched from {}/jwks", idp.base))
        .says("ok    2 usable keys (1 dropped by the key rules):")
        .says("kid \"testkit-rsa-2048\": RSA 2048-bit, verifies RS256")
        .says("kid \"testkit-ec-p256\": EC P-256, verifies ES256")
        .says("dropped: kid \"shared-secret\": a symmetric key (kty \"oct\")")
        .says("skipped: no token given")
        .says("Result: every check passed");
    assert!(!run.stdout.contains("FAIL"), "{}", run.stdout);
}

#[test]
fn a_valid_token_is_accepted_by_the_real_validator() {
    let idp = Idp::good();
    let token = idp.token().sign();
    let run = idp.doctor(&["--token", &token]);
    run.exits(0)
        .says("\"sub\": \"alice\"")
        .says("ok    the token's kid \"testkit-rsa-2048\" is in the key set")
        .says("ok    its key (RSA 2048-bit) may verify the token's alg RS256")
        .says("ok    valid: subject \"alice\", scopes mcp:tools")
        .says("Result: every check passed");

    // The same from a file (with a Bearer prefix and a line break) and from standard input.
    let file = TempFile::new("token", &format!("Bearer {token}\n"));
    idp.doctor(&["--token-file", file.path()])
        .exits(0)
        .says("valid: subject \"alice\"");
    let mut args = vec![
        "doctor",
        "--issuer",
        idp.base.as_str(),
        "--audience",
        AUD,
        "--insecure-allow-http",
    ];
    args.extend(["--token", "-"]);
    mcp_auth(&args, &token)
        .exits(0)
        .says("valid: subject \"alice\"");
}

#[test]
fn an_issuer_mismatch_fails_and_shows_both_issuers() {
    let idp = Idp::start(
        Some("https://login.example/tenant"),
        TestKey::jwks(&[TestKey::Rsa]),
    );
    let run = idp.doctor(&[]);
    run.exits(1)
        .says("FAIL  the document names another issuer; the two must match exactly")
        .says("document says: \"https://login.example/tenant\"")
        .says(&format!("--issuer is:    {:?}", idp.base))
        .says("[2/3] Key set (JWKS)\n        skipped: discovery failed")
        .says("Check --issuer: it must be the issuer your tokens carry")
        .says("Result: 1 check FAILED");
}

#[test]
fn a_trailing_slash_mismatch_gets_its_own_hint() {
    // The document names the issuer with a trailing slash; --issuer has none.
    let idp = Idp::serve(|base| format!("{base}/"), TestKey::jwks(&[TestKey::Rsa]));
    idp.doctor(&[])
        .exits(1)
        .says(&format!("document says: \"{}/\"", idp.base))
        .says("They differ only in a trailing slash");
}

#[test]
fn an_empty_key_set_fails() {
    let idp = Idp::start(None, json!({"keys": []}));
    idp.doctor(&[])
        .exits(1)
        .says("ok    discovery document found")
        .says(&format!(
            "FAIL  the key set at {}/jwks holds no usable signing key (0 published keys \
             dropped by the key rules), so no token can be verified",
            idp.base
        ));

    // Keys that are all dropped are listed with the rule each breaks.
    let mut weak = TestKey::RsaWeak.jwk();
    weak["kid"] = json!("weak");
    let mut enc = TestKey::Rsa.jwk();
    enc["use"] = json!("enc");
    let idp = Idp::start(None, json!({"keys": [weak, enc]}));
    idp.doctor(&[])
        .exits(1)
        .says("holds no usable signing key (2 published keys dropped by the key rules)")
        .says("dropped: kid \"weak\": an RSA key of 1024 bits; at least 2048 are required")
        .says("dropped: kid \"testkit-rsa-2048\": use is \"enc\", not \"sig\"");
}

#[test]
fn an_unreachable_issuer_fails_with_cannot_reach() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let run = mcp_auth(
        &[
            "doctor",
            "--issuer",
            &closed,
            "--audience",
            AUD,
            "--insecure-allow-http",
        ],
        "",
    );
    run.exits(1)
        .says(&format!(
            "FAIL  cannot reach the issuer {closed:?}: connection failed"
        ))
        .says("Result: 1 check FAILED");
}

#[test]
fn plain_http_needs_the_insecure_flag() {
    let idp = Idp::good();
    mcp_auth(&["doctor", "--issuer", &idp.base, "--audience", AUD], "")
        .exits(1)
        .says("FAIL  the issuer is a plain http URL")
        .says("pass --insecure-allow-http");
}

#[test]
fn a_token_with_an_unknown_kid_fails_and_lists_the_known_kids() {
    let idp = Idp::good();
    let token = idp.token().key(TestKey::RsaRotated).sign();
    idp.doctor(&["--token", &token])
        .exits(1)
        .says(
            "FAIL  the token's kid \"testkit-rsa-2048-rotated\" is not in the key set; known \
             kids: \"testkit-rsa-2048\", \"testkit-ec-p256\"",
        )
        .says("FAIL  the validator refuses it: the token signing key is unknown")
        .says("the token's kid is \"testkit-rsa-2048-rotated\"; the key set has:")
        .says("Result: 2 checks FAILED");
}

#[test]
fn a_token_for_another_audience_fails_and_shows_both() {
    let idp = Idp::good();
    let token = idp.token().audience("https://other.test/mcp").sign();
    let run = idp.doctor(&["--token", &token]);
    run.exits(1)
        .says("ok    the token's kid \"testkit-rsa-2048\" is in the key set")
        .says("FAIL  the validator refuses it: the token audience does not include this resource")
        .says(&format!(
            "the token's aud is \"https://other.test/mcp\"; expected it to contain {AUD:?}"
        ))
        .says("Result: 1 check FAILED");
}

#[test]
fn other_refusals_say_why() {
    let idp = Idp::good();
    let token = idp.token().issuer("https://impostor.test").sign();
    idp.doctor(&["--token", &token])
        .exits(1)
        .says("refuses it: the token issuer is not trusted")
        .says(&format!(
            "the token's iss is \"https://impostor.test\"; expected exactly {:?}",
            idp.base
        ));

    let token = idp.token().iat_in(-7200).exp_in(-3600).sign();
    idp.doctor(&["--token", &token])
        .exits(1)
        .says("refuses it: the token has expired")
        .says("ago (beyond the 60 s leeway)");

    // An EC key named by an RSA token: the key type does not fit the algorithm.
    let token = idp
        .token()
        .key(TestKey::P256)
        .kid("testkit-rsa-2048")
        .sign();
    idp.doctor(&["--token", &token])
        .exits(1)
        .says(
            "FAIL  its key is RSA 2048-bit, which may not verify the token's alg ES256 (it \
             verifies RS256",
        )
        .says("refuses it: the token algorithm is not allowed");

    let token = idp.token().set("nonce", json!("n")).sign();
    idp.doctor(&["--token", &token])
        .exits(1)
        .says("refuses it: the token is not an access token")
        .says("it is an OpenID Connect ID token");
}

#[test]
fn usage_errors_exit_2() {
    let idp = Idp::good();
    let run = mcp_auth(&["doctor", "--issuer", &idp.base], "");
    run.exits(2);
    assert!(run.stderr.contains("--audience"), "{}", run.stderr);

    let run = mcp_auth(&["doctor", "--issuer", "not a url", "--audience", AUD], "");
    run.exits(2);
    assert!(
        run.stderr
            .contains("--issuer \"not a url\" is not a valid issuer URL"),
        "{}",
        run.stderr
    );

    let file = TempFile::new("empty", "\n");
    let run = idp.doctor(&["--token-file", file.path()]);
    run.exits(2);
    assert!(run.stderr.contains("holds no token"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);

    let run = idp.doctor(&["--token", "x", "--token-file", file.path()]);
    run.exits(2);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
}
