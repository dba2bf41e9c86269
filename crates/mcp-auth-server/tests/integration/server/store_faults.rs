//! The server's internal faults: each request that can reach a failing store (database down,
//! I/O error), answered through `handle` with its exact status, body and headers, without the
//! store error's text, and with what the failure left behind once the store is back.
//!
//! The store fails with [`StoreError::Backend`](mcp_auth_server::store::StoreError::Backend)
//! (see [`FailingStore`]), before the memory store underneath is reached: a failing write
//! writes nothing. What the tests check after recovery is therefore what the *server* did with
//! the failure (e.g. a code taken by an earlier, successful operation stays spent).
//!
//! The JSON endpoints answer `500` with `{"error":"server_error"}` and a fixed description
//! (RFC 6749 section 5.2); the authorization endpoint answers an HTML error page, or, once the
//! client and its redirect URI are verified and a code was to be issued, a redirect with
//! `error=server_error` (RFC 6749 section 4.1.2.1).
//!
//! Each fault is also logged for the operator: one `ERROR` event with target
//! [`SERVER_LOG_TARGET`] naming the failed operation and carrying the error's text, passwords
//! masked (`faults_are_logged_for_the_operator`).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;
use http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA, RETRY_AFTER,
    SET_COOKIE, WWW_AUTHENTICATE,
};
use mcp_auth_server::error::SERVER_LOG_TARGET;
use mcp_auth_server::http::Response;
use mcp_auth_server::keys::KeyError;
use mcp_auth_server::pkce::CodeChallenge;
use mcp_auth_server::server::ServerError;
use mcp_auth_server::store::{AuthorizationGrant, Store, StoreError, TokenHash};
use serde_json::json;

use crate::server::failing_store::{BACKEND_DETAIL, FailingStore, Op};
use crate::server::support::{
    ISSUER, Jar, NOW, PASSWORD, RESOURCE, Server, USERNAME, body, csrf, text, try_start_on,
};

const REDIRECT: &str = "https://app.example.com/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// A preconfigured public client: authorization_code and refresh_token.
const APP: &str = "app";
/// A preconfigured confidential client (`client_secret_basic`): client_credentials only.
const SERVICE: &str = "service";
const SERVICE_SECRET: &str = "service-secret-0123456789";

/// The body of every `server_error` of the token, revocation and introspection endpoints.
const INTERNAL_ERROR: &str = r#"{"error":"server_error","error_description":"internal error"}"#;
/// The message of the authorization endpoint's `500` page.
const FAILED_PAGE: &str = "The authorization server failed. Try again later.";

/// A server on a [`FailingStore`] (nothing failing yet, its start-up calls forgotten) with
/// [`APP`] and [`SERVICE`].
async fn start() -> (Server, Arc<FailingStore>) {
    let store = Arc::new(FailingStore::new());
    let app = serde_json::from_value(json!({
        "client_id": APP,
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
    }))
    .unwrap();
    let service = serde_json::from_value(json!({
        "client_id": SERVICE,
        "client_secret_hash": TokenHash::of(SERVICE_SECRET),
        "redirect_uris": [REDIRECT],
        "grant_types": ["client_credentials"],
    }))
    .unwrap();
    let server = try_start_on(store.clone(), ISSUER, |c| {
        c.preconfigured_clients = vec![app, service];
    })
    .await
    .unwrap();
    store.take_calls();
    (server, store)
}

/// Asserts that nothing of the backend error reached the client, in the body or a header.
#[track_caller]
fn assert_no_leak(response: &Response) {
    let body = String::from_utf8_lossy(response.body());
    let headers = format!("{:?}", response.headers());
    for detail in [
        BACKEND_DETAIL,
        "db.internal",
        "hunter2",
        "storage backend",
        "Backend",
    ] {
        assert!(!body.contains(detail), "{detail:?} leaked into {body}");
        assert!(
            !headers.contains(detail),
            "{detail:?} leaked into {headers}"
        );
    }
}

/// Asserts a JSON `500`: exactly `expected_body`, not cached, no challenge, no redirect, no
/// cookie, no `Retry-After`, CORS as the route has it, nothing leaked.
#[track_caller]
fn assert_server_error(response: &Response, expected_body: &str, cors: bool) {
    assert_eq!(
        (response.status(), text(response)),
        (StatusCode::INTERNAL_SERVER_ERROR, expected_body)
    );
    let headers = response.headers();
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    assert_eq!(headers[CACHE_CONTROL], "no-store");
    assert_eq!(headers[PRAGMA], "no-cache");
    for absent in [WWW_AUTHENTICATE, LOCATION, SET_COOKIE, RETRY_AFTER] {
        assert!(!headers.contains_key(&absent), "{absent}: {headers:?}");
    }
    assert_eq!(headers.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN), cors);
    if cors {
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }
    assert_no_leak(response);
}

/// Asserts the authorization endpoint's `500` page: HTML with the security headers, never a
/// redirect, no cookie set or cleared.
#[track_caller]
fn assert_failed_page(response: &Response) {
    assert_eq!(
        response.status(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        text(response)
    );
    let headers = response.headers();
    assert_eq!(headers[CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[CACHE_CONTROL], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers.contains_key("content-security-policy"));
    assert!(!headers.contains_key(LOCATION), "{headers:?}");
    assert!(!headers.contains_key(SET_COOKIE), "{headers:?}");
    assert!(!headers.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
    assert!(text(response).contains(FAILED_PAGE), "{}", text(response));
    assert_no_leak(response);
}

fn authorize_uri(client_id: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
            ("scope", "mcp:tools"),
        ])
        .finish();
    format!("/authorize?{query}")
}

/// Opens an authorization request for [`APP`] and signs alice in: the cookies (pending
/// request and login session), before the consent page is fetched.
async fn sign_in(server: &Server) -> String {
    let mut jar = Jar::default();
    let login = server.get(&authorize_uri(APP)).await;
    assert_eq!(login.status(), StatusCode::OK, "{}", text(&login));
    jar.store(&login);
    let signed_in = server
        .post_form_with(
            "/authorize",
            &[
                ("username", USERNAME),
                ("password", PASSWORD),
                ("csrf", &csrf(&login)),
            ],
            &[("cookie", &jar.header())],
        )
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    jar.store(&signed_in);
    jar.header()
}

/// The consent page of the pending request: its CSRF token.
async fn consent_page(server: &Server, cookie: &str) -> String {
    let page = server
        .call("GET", "/authorize", &[("cookie", cookie)], None)
        .await;
    assert_eq!(page.status(), StatusCode::OK, "{}", text(&page));
    assert!(text(&page).contains("name=\"decision\""), "{}", text(&page));
    csrf(&page)
}

async fn allow(server: &Server, cookie: &str, csrf: &str) -> Response {
    server
        .post_form_with(
            "/authorize",
            &[("decision", "allow"), ("csrf", csrf)],
            &[("cookie", cookie)],
        )
        .await
}

/// Stores a code for [`APP`] (valid 10 minutes) and returns it.
async fn put_code(store: &FailingStore) -> String {
    let code = "a-code-issued-to-app".to_owned();
    let grant = AuthorizationGrant {
        client_id: APP.to_owned(),
        redirect_uri: REDIRECT.to_owned(),
        code_challenge: CodeChallenge::s256_of(VERIFIER),
        resource: Some(RESOURCE.to_owned()),
        scopes: "mcp:tools".parse().unwrap(),
        subject: USERNAME.to_owned(),
        expires_at: NOW + 600,
        issued_family: None,
    };
    store
        .inner()
        .put_code(TokenHash::of(&code), grant)
        .await
        .unwrap();
    code
}

async fn redeem(server: &Server, code: &str) -> Response {
    server
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", APP),
            ],
        )
        .await
}

async fn refresh(server: &Server, token: &str) -> Response {
    server
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", APP),
            ],
        )
        .await
}

/// Asserts a token response; returns (access token, refresh token).
#[track_caller]
fn tokens(response: &Response) -> (String, String) {
    assert_eq!(response.status(), StatusCode::OK, "{}", text(response));
    let answer = body(response);
    (
        answer["access_token"].as_str().unwrap().to_owned(),
        answer["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// Asserts the `invalid_grant` refusal of a spent code or refresh token.
#[track_caller]
fn assert_invalid_grant(response: &Response) {
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "{}",
        text(response)
    );
    assert_eq!(body(response)["error"], "invalid_grant");
}

/// Redeems a fresh code with the store up: (access token, refresh token); the calls forgotten.
async fn issued_tokens(server: &Server, store: &FailingStore) -> (String, String) {
    let code = put_code(store).await;
    let issued = tokens(&redeem(server, &code).await);
    store.take_calls();
    issued
}

fn basic(id: &str, secret: &str) -> String {
    let credentials = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, credentials)
    )
}

/// The form of [`SERVICE`] introspecting `token` (with Basic authentication).
async fn introspect(server: &Server, token: &str) -> Response {
    server
        .post_form_with(
            "/introspect",
            &[("token", token)],
            &[("authorization", &basic(SERVICE, SERVICE_SECRET))],
        )
        .await
}

// ---------------------------------------------------------------------------------------------
// The operator's log

/// Runs `requests` on a current-thread runtime under a capturing `tracing` subscriber (scoped
/// to this thread): their output and what the subscriber recorded.
fn captured_log<T>(requests: impl std::future::Future<Output = T>) -> (T, String) {
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let output = tracing::subscriber::with_default(subscriber, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(requests)
    });
    let log = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    (output, log)
}

/// A failing code redemption and a failing registration, each answered `500` without detail,
/// each logged once at `ERROR` with target [`SERVER_LOG_TARGET`]: the operation and the store
/// error with its source (the backend's text), the password in it masked, and neither the code
/// nor the client's secret.
///
/// (The only test running the server under a subscriber: `tracing` caches whether a call site
/// is enabled process-wide, and the subscriber here is scoped to this test's thread.)
#[test]
fn faults_are_logged_for_the_operator() {
    let (code, log) = captured_log(async {
        let (server, store) = start().await;
        let code = put_code(&store).await;
        store.fail(&[Op::TakeCode, Op::PutClient]);
        let response = redeem(&server, &code).await;
        assert_server_error(&response, INTERNAL_ERROR, true);
        let response = server
            .post_json("/register", &json!({"redirect_uris": [REDIRECT]}))
            .await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_no_leak(&response);
        assert_eq!(
            store.take_calls(),
            [Op::GetClient, Op::TakeCode, Op::PutClient]
        );
        code
    });
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    let masked = BACKEND_DETAIL.replace("hunter2", "***");
    for (line, operation) in lines
        .iter()
        .zip(["token: take_code", "register: put_client"])
    {
        assert!(line.contains(" ERROR "), "{line}");
        assert!(line.contains(&format!(" {SERVER_LOG_TARGET}: ")), "{line}");
        assert!(
            line.contains(&format!("operation=\"{operation}\"")),
            "{line}"
        );
        assert!(
            line.contains(&format!("error=the storage backend failed: {masked}")),
            "{line}"
        );
        assert!(!line.contains("hunter2"), "{line}");
        assert!(!line.contains(&code), "{line}");
        assert!(!line.contains("client_secret"), "{line}");
    }
}

// ---------------------------------------------------------------------------------------------
// Start, metadata, JWKS

/// The store is read at start (signing keys, preconfigured clients): a failure there is the
/// start's error, never a server answering without keys.
#[tokio::test]
async fn start_fails_when_the_store_does() {
    for (op, keys) in [
        (Op::ListSigningKeys, true),
        (Op::PutSigningKey, true),
        (Op::PutClient, false),
    ] {
        let store = Arc::new(FailingStore::new());
        store.fail(&[op]);
        let client = serde_json::from_value(json!({
            "client_id": APP,
            "redirect_uris": [REDIRECT],
        }))
        .unwrap();
        let err = try_start_on(store.clone(), ISSUER, |c| {
            c.preconfigured_clients = vec![client];
        })
        .await
        .unwrap_err();
        if keys {
            assert!(
                matches!(
                    err,
                    ServerError::Keys(KeyError::Store(StoreError::Backend(_)))
                ),
                "{op:?}: {err:?}"
            );
        } else {
            assert!(
                matches!(err, ServerError::Store(StoreError::Backend(_))),
                "{op:?}: {err:?}"
            );
        }
        // The failing operation is the last one tried.
        assert_eq!(store.take_calls().last(), Some(&op));
    }
}

/// Metadata and JWKS are served from memory (the keys are loaded at start): a store that is
/// down does not touch them.
#[tokio::test]
async fn metadata_and_jwks_do_not_touch_the_store() {
    let (server, store) = start().await;
    store.fail(&Op::ALL);
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/jwks.json",
    ] {
        let response = server.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    }
    let jwks = body(&server.get("/jwks.json").await);
    assert_eq!(
        jwks["keys"][0]["kid"],
        server.server.signing_keys().active().kid()
    );
    assert_eq!(store.take_calls(), []);
}

/// Key rotation (an operator call, not a request) with the store failing: the error is
/// returned. If the new key could not be stored, this server keeps signing with, and
/// publishing, the keys it had.
///
/// If the new key was stored but retiring the old one failed, the store holds both keys,
/// active, and every server loading them signs with the newest: so does this one at once
/// (before, it kept the old key until a reload, and a retry within the same second could leave
/// replicas disagreeing on the active key). Both stay published; the next rotation retires
/// the earlier ones.
#[tokio::test]
async fn key_rotation_failures_leave_one_consistent_active_key() {
    let (server, store) = start().await;
    let keys = server.server.signing_keys();
    let first = keys.active().kid().to_owned();
    let jwks = body(&server.get("/jwks.json").await);
    let later = NOW + 10;

    store.fail(&[Op::PutSigningKey]);
    let err = keys
        .rotate(&*store, Duration::from_secs(3600), later)
        .await
        .unwrap_err();
    assert!(
        matches!(err, KeyError::Store(StoreError::Backend(_))),
        "{err:?}"
    );
    assert_eq!(store.take_calls(), [Op::PutSigningKey]);
    assert_eq!(keys.active().kid(), first);
    assert_eq!(body(&server.get("/jwks.json").await), jwks);
    assert_eq!(store.inner().list_signing_keys().await.unwrap().len(), 1);

    store.recover();
    store.fail(&[Op::RetireSigningKey]);
    let err = keys
        .rotate(&*store, Duration::from_secs(3600), later)
        .await
        .unwrap_err();
    assert!(
        matches!(err, KeyError::Store(StoreError::Backend(_))),
        "{err:?}"
    );
    assert_eq!(
        store.take_calls(),
        [Op::PutSigningKey, Op::RetireSigningKey]
    );
    // The new key was stored: it signs here as it would on any server loading the keys, and
    // both keys are published (the first without an end, its retirement having failed).
    let stored = store.inner().list_signing_keys().await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|k| k.not_after.is_none()));
    let second = keys.active().kid().to_owned();
    assert_ne!(second, first);
    assert_eq!(second, stored[1].kid);
    let published = |keys: &mcp_auth_server::keys::SigningKeys, at: u64| -> Vec<String> {
        keys.published(at)
            .iter()
            .map(|k| k.kid().to_owned())
            .collect()
    };
    assert_eq!(published(keys, later), [first.clone(), second.clone()]);

    // A server loading the keys now agrees on the active one.
    store.recover();
    let reloaded = mcp_auth_server::keys::SigningKeys::load(
        &*store,
        mcp_auth_server::keys::SigningAlgorithm::Es256,
        later,
    )
    .await
    .unwrap();
    assert_eq!(reloaded.active().kid(), second);
    assert_eq!(published(&reloaded, later), [first.clone(), second.clone()]);

    // The next rotation retires both earlier keys.
    let third = keys
        .rotate(&*store, Duration::from_secs(3600), later + 1)
        .await
        .unwrap();
    let stored = store.inner().list_signing_keys().await.unwrap();
    assert_eq!(
        stored.iter().filter(|k| k.not_after.is_none()).count(),
        1,
        "only the newest is active"
    );
    assert_eq!(keys.active().kid(), third.kid());
}

// ---------------------------------------------------------------------------------------------
// POST /register

/// `put_client` fails: `500 server_error` with the registration endpoint's own description,
/// and no client information (no `client_id`, no secret) for a client that does not exist.
#[tokio::test]
async fn register_fails_when_the_client_cannot_be_stored() {
    let (server, store) = start().await;
    store.fail(&[Op::PutClient]);
    // A confidential client: the response would carry its secret.
    let response = server
        .post_json("/register", &json!({"redirect_uris": [REDIRECT]}))
        .await;
    assert_server_error(
        &response,
        r#"{"error":"server_error","error_description":"the client could not be stored"}"#,
        true,
    );
    assert_eq!(store.take_calls(), [Op::PutClient]);

    // Back up: the same request registers.
    store.recover();
    let response = server
        .post_json("/register", &json!({"redirect_uris": [REDIRECT]}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = body(&response)["client_id"].as_str().unwrap().to_owned();
    assert!(store.inner().get_client(&id).await.unwrap().is_some());
}

// ---------------------------------------------------------------------------------------------
// GET and POST /authorize

/// The client lookup fails: the client and redirect URI are not verified, so the answer is a
/// `500` page and never a redirect (RFC 6749 section 4.1.2.1), whatever the `redirect_uri`;
/// no pending request is stored (no cookie).
#[tokio::test]
async fn authorize_client_lookup_failure_is_a_page_not_a_redirect() {
    let (server, store) = start().await;
    store.fail(&[Op::GetClient]);
    for uri in [
        authorize_uri(APP),
        authorize_uri("nobody"),
        authorize_uri(APP).replace("app.example.com", "evil.example.com"),
    ] {
        let response = server.get(&uri).await;
        assert_failed_page(&response);
        assert_eq!(store.take_calls(), [Op::GetClient], "{uri}");
    }

    store.recover();
    let login = server.get(&authorize_uri(APP)).await;
    assert_eq!(login.status(), StatusCode::OK);
    assert!(text(&login).contains("name=\"password\""));
}

/// A signed-in user resumes the pending request and the consent lookup fails: a `500` page
/// (the code chooses a page over a redirect here, although the redirect URI is verified). The
/// pending request is kept: with the store back, the same cookies reach the consent page.
#[tokio::test]
async fn authorize_consent_lookup_failure_keeps_the_pending_request() {
    let (server, store) = start().await;
    let cookie = sign_in(&server).await;
    store.take_calls();
    store.fail(&[Op::GetConsent]);
    let response = server
        .call("GET", "/authorize", &[("cookie", &cookie)], None)
        .await;
    assert_failed_page(&response);
    assert_eq!(store.take_calls(), [Op::GetConsent]);

    store.recover();
    consent_page(&server, &cookie).await;
}

/// The consent form, `get_consent` failing: a `500` page. The pending request was taken
/// before the store was asked (so that one form yields at most one code), so the form is spent:
/// submitting it again is the `403` of an expired form, and the user starts again from the
/// client. Nothing was stored.
#[tokio::test]
async fn consent_form_lookup_failure_spends_the_form() {
    let (server, store) = start().await;
    let cookie = sign_in(&server).await;
    let token = consent_page(&server, &cookie).await;
    store.take_calls();
    store.fail(&[Op::GetConsent]);
    let response = allow(&server, &cookie, &token).await;
    assert_failed_page(&response);
    assert_eq!(store.take_calls(), [Op::GetConsent]);

    store.recover();
    let again = allow(&server, &cookie, &token).await;
    assert_eq!(again.status(), StatusCode::FORBIDDEN, "{}", text(&again));
    assert!(text(&again).contains("This form has expired"));
    assert!(!again.headers().contains_key(LOCATION));
    assert_eq!(store.take_calls(), []);
    assert_eq!(
        store.inner().get_consent(USERNAME, APP).await.unwrap(),
        None
    );
}

/// The consent form, `put_consent` failing: a `500` page, no consent remembered, no code.
#[tokio::test]
async fn consent_form_store_failure_remembers_nothing() {
    let (server, store) = start().await;
    let cookie = sign_in(&server).await;
    let token = consent_page(&server, &cookie).await;
    store.take_calls();
    store.fail(&[Op::PutConsent]);
    let response = allow(&server, &cookie, &token).await;
    assert_failed_page(&response);
    assert_eq!(store.take_calls(), [Op::GetConsent, Op::PutConsent]);
    assert_eq!(
        store.inner().get_consent(USERNAME, APP).await.unwrap(),
        None
    );
}

/// The consent form, `put_code` failing: the client and redirect URI are verified, so the user
/// is sent back to the client with `error=server_error` (RFC 6749 section 4.1.2.1), the state
/// and the issuer, and the request cookie is cleared. The consent was stored just before, and
/// is kept: the next authorization request of the signed-in user skips the consent page and
/// gets a code at once, or (still failing) the same `server_error` redirect, now a `302`.
#[tokio::test]
async fn code_issuance_failure_redirects_with_server_error() {
    let (server, store) = start().await;
    let cookie = sign_in(&server).await;
    let token = consent_page(&server, &cookie).await;
    store.take_calls();
    store.fail(&[Op::PutCode]);
    let expected = format!(
        "{REDIRECT}?error=server_error&error_description=The+authorization+server+could+not+\
         issue+a+code.&state=xyz&iss=https%3A%2F%2Fauth.example.com"
    );

    let response = allow(&server, &cookie, &token).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        text(&response)
    );
    assert_eq!(response.headers()[LOCATION], expected.as_str());
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let cleared: Vec<_> = response.headers().get_all(SET_COOKIE).iter().collect();
    assert_eq!(cleared.len(), 1);
    assert!(
        cleared[0]
            .to_str()
            .unwrap()
            .starts_with("__Host-mcp-auth-request=; Path=/; Max-Age=0;"),
        "{cleared:?}"
    );
    assert!(response.body().is_empty());
    assert_no_leak(&response);
    assert_eq!(
        store.take_calls(),
        [Op::GetConsent, Op::PutConsent, Op::PutCode]
    );
    assert_eq!(
        store
            .inner()
            .get_consent(USERNAME, APP)
            .await
            .unwrap()
            .unwrap()
            .to_string(),
        "mcp:tools"
    );

    // A new request with the login session: consent is remembered, the code still cannot be
    // stored.
    let session = cookie
        .split("; ")
        .find(|c| c.starts_with("__Host-mcp-auth-session="))
        .unwrap()
        .to_owned();
    let response = server
        .call("GET", &authorize_uri(APP), &[("cookie", &session)], None)
        .await;
    assert_eq!(response.status(), StatusCode::FOUND, "{}", text(&response));
    assert_eq!(response.headers()[LOCATION], expected.as_str());
    assert!(!response.headers().contains_key(SET_COOKIE));
    assert_no_leak(&response);
    assert_eq!(
        store.take_calls(),
        [Op::GetClient, Op::GetConsent, Op::PutCode]
    );

    // Back up: the same request gets a code.
    store.recover();
    let response = server
        .call("GET", &authorize_uri(APP), &[("cookie", &session)], None)
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[LOCATION].to_str().unwrap();
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")),
        "{location}"
    );
}

// ---------------------------------------------------------------------------------------------
// POST /token

/// Client authentication cannot look the client up: `500 server_error`, not `401
/// invalid_client` (the client is not at fault) and no `WWW-Authenticate` even when Basic was
/// tried. The grant is not looked at: the code is still redeemable once the store is back.
#[tokio::test]
async fn token_client_lookup_failure() {
    let (server, store) = start().await;
    let code = put_code(&store).await;
    store.fail(&[Op::GetClient]);
    let response = redeem(&server, &code).await;
    assert_server_error(&response, INTERNAL_ERROR, true);
    assert_eq!(store.take_calls(), [Op::GetClient]);

    store.recover();
    tokens(&redeem(&server, &code).await);
}

/// `client_credentials`: the only store access is the client lookup; failing, it is `500
/// server_error` without the Basic challenge a wrong secret gets.
#[tokio::test]
async fn client_credentials_client_lookup_failure() {
    let (server, store) = start().await;
    let request = [("grant_type", "client_credentials")];
    let authorization = basic(SERVICE, SERVICE_SECRET);
    store.fail(&[Op::GetClient]);
    let response = server
        .post_form_with("/token", &request, &[("authorization", &authorization)])
        .await;
    assert_server_error(&response, INTERNAL_ERROR, true);
    assert_eq!(store.take_calls(), [Op::GetClient]);

    store.recover();
    let response = server
        .post_form_with("/token", &request, &[("authorization", &authorization)])
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
    assert_eq!(body(&response)["token_type"], "Bearer");
    // For contrast: a wrong secret is the client's fault, with the challenge.
    let wrong = basic(SERVICE, "wrong");
    let response = server
        .post_form_with("/token", &request, &[("authorization", &wrong)])
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().contains_key(WWW_AUTHENTICATE));
}

/// `take_code` fails: `500`, and the code was not redeemed (the store did not take it), so it
/// is still redeemable once the store is back.
#[tokio::test]
async fn code_redemption_failure_leaves_the_code() {
    let (server, store) = start().await;
    let code = put_code(&store).await;
    store.fail(&[Op::TakeCode]);
    let response = redeem(&server, &code).await;
    assert_server_error(&response, INTERNAL_ERROR, true);
    assert_eq!(store.take_calls(), [Op::GetClient, Op::TakeCode]);

    store.recover();
    tokens(&redeem(&server, &code).await);
}

/// `set_code_family` fails after the code was taken: `500`, and the code stays spent (a code
/// is used once, whatever happened next; OAuth 2.1 section 4.1.3), so the client must start a
/// new authorization. No refresh token was stored, and no family was recorded for a replay to
/// revoke: presenting the code again is `invalid_grant` and revokes nothing.
#[tokio::test]
async fn code_family_failure_spends_the_code() {
    let (server, store) = start().await;
    let code = put_code(&store).await;
    store.fail(&[Op::SetCodeFamily]);
    let response = redeem(&server, &code).await;
    assert_server_error(&response, INTERNAL_ERROR, true);
    assert_eq!(
        store.take_calls(),
        [Op::GetClient, Op::TakeCode, Op::SetCodeFamily]
    );

    store.recover();
    assert_invalid_grant(&redeem(&server, &code).await);
    assert_eq!(store.take_calls(), [Op::GetClient, Op::TakeCode]);
}

/// `put_refresh` fails after the code was taken and its family recorded: `500`, no tokens,
/// and the code stays spent. Presenting it again is a replay: `invalid_grant`, and the recorded
/// family (which has no token) is revoked.
#[tokio::test]
async fn refresh_token_storage_failure_spends_the_code() {
    let (server, store) = start().await;
    let code = put_code(&store).await;
    store.fail(&[Op::PutRefresh]);
    let response = redeem(&server, &code).await;
    assert_server_error(&response, INTERNAL_ERROR, true);
    assert_eq!(
        store.take_calls(),
        [
            Op::GetClient,
            Op::TakeCode,
            Op::SetCodeFamily,
            Op::PutRefresh
        ]
    );

    store.recover();
    assert_invalid_grant(&redeem(&server, &code).await);
    assert_eq!(
        store.take_calls(),
        [Op::GetClient, Op::TakeCode, Op::RevokeFamily]
    );
}

/// A replayed code whose family cannot be revoked: `500` rather than `invalid_grant`, and the
/// family is not revoked yet. The replay detection is not lost: the code stays consumed with
/// its family recorded, so the next replay with the store back revokes the grant.
#[tokio::test]
async fn code_replay_revocation_failure() {
    let (server, store) = start().await;
    let code = put_code(&store).await;
    let (_, refresh_token) = tokens(&redeem(&server, &code).await);
    store.take_calls();
    store.fail(&[Op::RevokeFamily]);
    let response = redeem(&server, &code).await;
    assert_server_error(&response, INTERNAL_ERROR, true);
    assert_eq!(
        store.take_calls(),
        [Op::GetClient, Op::TakeCode, Op::RevokeFamily]
    );
    let entry = store
        .inner()
        .get_refresh(TokenHash::of(&refresh_token))
        .await
        .unwrap()
        .unwrap();
    assert!(!entry.family_revoked);

    store.recover();
    assert_invalid_grant(&redeem(&server, &code).await);
    assert_invalid_grant(&refresh(&server, &refresh_token).await);
}

/// The refresh token cannot be looked up: `500`, and it is not spent.
#[tokio::test]
async fn refresh_lookup_failure_leaves_the_token() {
    let (server, store) = start().await;
    let (_, refresh_token) = issued_tokens(&server, &store).await;
    store.fail(&[Op::GetRefresh]);
    let response = refresh(&server, &refresh_token).await;
    assert_server_error(&response, INTERNAL_ERROR, true);
    assert_eq!(store.take_calls(), [Op::GetClient, Op::GetRefresh]);

    store.recover();
    tokens(&refresh(&server, &refresh_token).await);
}

/// The rotation fails: `500`, and the token is not spent (the rotation is one atomic store
/// operation, which did not happen); it rotates once the store is back.
#[tokio::test]
async fn refresh_rotation_failure_leaves_the_token() {
    let (server, store) = start().await;
    let (_, refresh_token) = issued_tokens(&server, &store).await;
    store.fail(&[Op::RotateRefresh]);
    let response = refresh(&server, &refresh_token).await;
    assert_server_error(&response, INTERNAL_ERROR, true);
    assert_eq!(
        store.take_calls(),
        [Op::GetClient, Op::GetRefresh, Op::RotateRefresh]
    );
    let entry = store
        .inner()
        .get_refresh(TokenHash::of(&refresh_token))
        .await
        .unwrap()
        .unwrap();
    assert!(!entry.used && !entry.family_revoked);

    store.recover();
    let (_, rotated) = tokens(&refresh(&server, &refresh_token).await);
    assert_ne!(rotated, refresh_token);
}

/// A used refresh token presented again, its family not revocable: `500` rather than
/// `invalid_grant`; the family stays valid until a reuse with the store up revokes it.
#[tokio::test]
async fn refresh_reuse_revocation_failure() {
    let (server, store) = start().await;
    let (_, first) = issued_tokens(&server, &store).await;
    let (_, second) = tokens(&refresh(&server, &first).await);
    store.take_calls();
    store.fail(&[Op::RevokeFamily]);
    let response = refresh(&server, &first).await;
    assert_server_error(&response, INTERNAL_ERROR, true);
    assert_eq!(
        store.take_calls(),
        [Op::GetClient, Op::GetRefresh, Op::RevokeFamily]
    );

    store.recover();
    assert_invalid_grant(&refresh(&server, &first).await);
    assert_invalid_grant(&refresh(&server, &second).await);
}

// ---------------------------------------------------------------------------------------------
// POST /revoke

/// Every store access of the revocation endpoint failing in turn: `500 server_error` (RFC 7009
/// section 2.2.1 answers errors as RFC 6749 section 5.2), never the `200` of a revocation,
/// since the token may well still be valid. It is: with the store back, it still refreshes.
#[tokio::test]
async fn revocation_failures() {
    let (server, store) = start().await;
    let (_, refresh_token) = issued_tokens(&server, &store).await;
    let request = [("token", refresh_token.as_str()), ("client_id", APP)];
    for (op, calls) in [
        (Op::GetClient, &[Op::GetClient][..]),
        (Op::GetRefresh, &[Op::GetClient, Op::GetRefresh]),
        (
            Op::RevokeRefresh,
            &[Op::GetClient, Op::GetRefresh, Op::RevokeRefresh],
        ),
    ] {
        store.fail(&[op]);
        let response = server.post_form("/revoke", &request).await;
        assert_server_error(&response, INTERNAL_ERROR, true);
        assert_eq!(store.take_calls(), calls, "{op:?}");
        store.recover();
    }
    let entry = store
        .inner()
        .get_refresh(TokenHash::of(&refresh_token))
        .await
        .unwrap()
        .unwrap();
    assert!(entry.is_active(NOW));
    tokens(&refresh(&server, &refresh_token).await);
}

// ---------------------------------------------------------------------------------------------
// POST /introspect

/// Introspection, the client lookup or the refresh token lookup failing: `500 server_error`
/// (no CORS: the endpoint is for resource servers), never `{"active": false}`, which would
/// tell a resource server that a valid token is invalid. Every token is first looked up as a
/// refresh token, so an access token (a JWT the server could verify alone) gets the `500` too.
#[tokio::test]
async fn introspection_failures() {
    let (server, store) = start().await;
    let (access_token, refresh_token) = issued_tokens(&server, &store).await;
    for token in [&refresh_token, &access_token] {
        for (op, calls) in [
            (Op::GetClient, &[Op::GetClient][..]),
            (Op::GetRefresh, &[Op::GetClient, Op::GetRefresh]),
        ] {
            store.fail(&[op]);
            let response = introspect(&server, token).await;
            assert_server_error(&response, INTERNAL_ERROR, false);
            assert_eq!(store.take_calls(), calls, "{op:?}");
            store.recover();
        }
        // Back up: active.
        let response = introspect(&server, token).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body(&response)["active"], true);
        store.take_calls();
    }
}
