//! The server's refusals through `handle`: each with its exact status, `error` code and headers
//! (`Allow`, `Retry-After`, CORS), and each leaving the state as it was.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use http::StatusCode;
use http::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW, CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER,
    SET_COOKIE, WWW_AUTHENTICATE,
};
use mcp_auth_server::http::{MAX_BODY, Response};
use mcp_auth_server::pkce::CodeChallenge;
use mcp_auth_server::rate_limit::Limit;
use mcp_auth_server::server::RateLimits;
use mcp_auth_server::store::{AuthorizationGrant, TokenHash};
use mcp_auth_server::user::ThrottlePolicy;
use serde_json::json;

use crate::server::support::{
    ISSUER, Jar, NOW, PASSWORD, RESOURCE, Server, USERNAME, body, csrf, text,
};

const REDIRECT: &str = "https://app.example.com/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// A preconfigured public client: authorization_code and refresh_token, redirecting to
/// [`REDIRECT`].
const APP: &str = "app";

fn app_client() -> mcp_auth_server::client::registration::PreconfiguredClient {
    serde_json::from_value(json!({
        "client_id": APP,
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
    }))
    .unwrap()
}

/// Asserts a JSON error answer: status, `error`, a fixed description, not cached.
#[track_caller]
fn assert_error(response: &Response, status: StatusCode, error: &str) {
    let answer = body(response);
    assert_eq!(
        (response.status(), answer["error"].as_str().unwrap_or("")),
        (status, error),
        "{answer}"
    );
    assert!(answer["error_description"].is_string(), "{answer}");
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
}

/// Asserts an error page of the authorization endpoint: no redirect, no cookie, the message.
#[track_caller]
fn assert_page(response: &Response, status: StatusCode, message: &str) {
    assert_eq!(response.status(), status, "{}", text(response));
    assert!(response.headers().get(LOCATION).is_none());
    assert!(response.headers().get(SET_COOKIE).is_none());
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(text(response).contains(message), "{}", text(response));
}

/// The query parameters of a redirect to [`REDIRECT`].
fn redirect_params(response: &Response) -> BTreeMap<String, String> {
    let location = response.headers()[LOCATION].to_str().unwrap();
    let (target, query) = location.split_once('?').unwrap();
    assert_eq!(target, REDIRECT);
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn authorize_query(client_id: &str, overrides: &[(&str, &str)]) -> String {
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", "xyz"),
        ("scope", "mcp:tools"),
    ];
    for (name, value) in overrides {
        params.retain(|(n, _)| n != name);
        if !value.is_empty() {
            params.push((name, value));
        }
    }
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// Stores a code for [`APP`] (valid 10 minutes) and returns it.
async fn put_code(server: &Server) -> String {
    let code = "a-code-issued-to-app".to_owned();
    server
        .server
        .store()
        .put_code(
            TokenHash::of(&code),
            AuthorizationGrant {
                client_id: APP.to_owned(),
                redirect_uri: REDIRECT.to_owned(),
                code_challenge: CodeChallenge::s256_of(VERIFIER),
                resource: Some(RESOURCE.to_owned()),
                scopes: "mcp:tools".parse().unwrap(),
                subject: USERNAME.to_owned(),
                expires_at: NOW + 600,
                issued_family: None,
            },
        )
        .await
        .unwrap();
    code
}

fn redemption(code: &str) -> [(&str, &str); 5] {
    [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", APP),
    ]
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow_and_an_error() {
    let server = Server::start().await;
    for (method, path, allow) in [
        ("GET", "/token", "POST, OPTIONS"),
        ("PUT", "/token", "POST, OPTIONS"),
        ("GET", "/revoke", "POST, OPTIONS"),
        ("GET", "/register", "POST, OPTIONS"),
        ("DELETE", "/authorize", "GET, POST"),
        ("OPTIONS", "/authorize", "GET, POST"),
        ("GET", "/introspect", "POST"),
        ("OPTIONS", "/introspect", "POST"),
        ("POST", "/jwks.json", "GET, HEAD, OPTIONS"),
        (
            "POST",
            "/.well-known/oauth-authorization-server",
            "GET, HEAD, OPTIONS",
        ),
    ] {
        let response = server.call(method, path, &[], None).await;
        assert_error(&response, StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
        assert_eq!(response.headers()[ALLOW], allow, "{method} {path}");
        // Answered before the endpoint, without CORS headers (see `http::LimitedBody`).
        assert!(
            !response.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN),
            "{method} {path}"
        );
    }
    let missing = server.get("/token/extra").await;
    assert_error(&missing, StatusCode::NOT_FOUND, "invalid_request");
}

#[tokio::test]
async fn oversized_bodies_are_413_and_change_nothing() {
    let server = Server::start_with(ISSUER, |c| c.preconfigured_clients = vec![app_client()]).await;
    let code = put_code(&server).await;
    // A valid redemption padded past the limit is refused before it is read.
    let mut body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(redemption(&code))
        .finish();
    body.push_str("&padding=");
    body.push_str(&"a".repeat(MAX_BODY));
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let response = server.call("POST", "/token", &form, Some(body)).await;
    assert_error(&response, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
    assert_eq!(response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    for path in ["/authorize", "/revoke", "/introspect", "/register"] {
        let huge = "a".repeat(MAX_BODY + 1);
        let response = server.call("POST", path, &form, Some(huge)).await;
        assert_error(&response, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
    }
    // The code was not spent.
    let redeemed = server.post_form("/token", &redemption(&code)).await;
    assert_eq!(
        redeemed.status(),
        StatusCode::OK,
        "{}",
        body_text(&redeemed)
    );
}

fn body_text(response: &Response) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

#[tokio::test]
async fn token_errors_keep_their_headers_through_the_router() {
    let server = Server::start_with(ISSUER, |c| c.preconfigured_clients = vec![app_client()]).await;
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "nobody:secret")
    );
    let response = server
        .post_form_with(
            "/token",
            &[("grant_type", "client_credentials")],
            &[("authorization", &basic)],
        )
        .await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(
        response.headers()[WWW_AUTHENTICATE],
        "Basic realm=\"mcp-auth\""
    );
    assert_eq!(response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    // Without the header: no challenge.
    let response = server
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "nobody"),
            ],
        )
        .await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    // A form labelled as another media type.
    let response = server
        .call(
            "POST",
            "/token",
            &[("content-type", "text/plain")],
            Some(format!("grant_type=refresh_token&client_id={APP}")),
        )
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        body(&response)["error_description"],
        "the body must be application/x-www-form-urlencoded"
    );
    // A public client asking for client_credentials, a grant it did not register.
    let response = server
        .post_form(
            "/token",
            &[("grant_type", "client_credentials"), ("client_id", APP)],
        )
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn every_limited_endpoint_answers_429_with_retry_after() {
    let one = Some(Limit::per_minute(1));
    let server = Server::start_with(ISSUER, |c| {
        c.rate_limits = RateLimits::unlimited();
        c.rate_limits.token = one;
        c.rate_limits.register = one;
        c.rate_limits.authorize = one;
        c.rate_limits.revoke = one;
        c.rate_limits.introspect = one;
    })
    .await;
    let form = ("content-type", "application/x-www-form-urlencoded");
    let cases = [
        ("GET", "/authorize?client_id=x", form, "", false),
        ("POST", "/authorize", form, "csrf=x", false),
        (
            "POST",
            "/register",
            ("content-type", "application/json"),
            "{}",
            true,
        ),
        ("POST", "/token", form, "grant_type=x&client_id=x", true),
        ("POST", "/revoke", form, "token=x&client_id=x", true),
        ("POST", "/introspect", form, "token=x&client_id=x", false),
    ];
    for (i, (method, path, header, request, cors)) in cases.into_iter().enumerate() {
        // Each endpoint has its own bucket; /authorize counts its GETs and POSTs together.
        if i != 1 {
            let first = server
                .call(method, path, &[header], Some(request.to_owned()))
                .await;
            assert_ne!(first.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
        }
        let refused = server
            .call(method, path, &[header], Some(request.to_owned()))
            .await;
        assert_error(
            &refused,
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
        );
        assert_eq!(refused.headers()[RETRY_AFTER], "60", "{method} {path}");
        assert_eq!(
            refused.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN),
            cors,
            "{path}"
        );
        // Another address has its own bucket.
        let other = server
            .call_from(
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100 + u8::try_from(i).unwrap())),
                method,
                path,
                &[header],
                Some(request.to_owned()),
            )
            .await;
        assert_ne!(other.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
    }
    // The wait is exact: one second early is still refused, then the bucket has refilled.
    server.clock.advance(Duration::from_secs(59));
    let early = server.post_json("/register", &json!({})).await;
    assert_eq!(early.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(early.headers()[RETRY_AFTER], "1");
    server.clock.advance(Duration::from_secs(1));
    let later = server.post_json("/register", &json!({})).await;
    assert_error(&later, StatusCode::BAD_REQUEST, "invalid_redirect_uri");
}

#[tokio::test]
async fn the_token_endpoint_limits_each_address_whatever_the_client() {
    let server = Server::start_with(ISSUER, |c| {
        c.rate_limits = RateLimits::unlimited();
        c.rate_limits.token_per_ip = Some(Limit::per_minute(2));
    })
    .await;
    for client in ["a", "b"] {
        let answer = server
            .post_form("/token", &[("grant_type", "x"), ("client_id", client)])
            .await;
        assert_error(&answer, StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let refused = server
        .post_form("/token", &[("grant_type", "x"), ("client_id", "c")])
        .await;
    assert_error(
        &refused,
        StatusCode::TOO_MANY_REQUESTS,
        "temporarily_unavailable",
    );
    assert_eq!(refused.headers()[RETRY_AFTER], "30");
    assert_eq!(refused.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

#[tokio::test]
async fn rate_limited_requests_change_nothing() {
    let one = Some(Limit::per_minute(1));
    let server = Server::start_with(ISSUER, |c| {
        c.preconfigured_clients = vec![app_client()];
        c.rate_limits = RateLimits::unlimited();
        c.rate_limits.token = one;
        c.rate_limits.revoke = one;
    })
    .await;
    let code = put_code(&server).await;
    // The client's bucket is spent by a malformed request; the redemption is then refused
    // before the code is looked at.
    let malformed = server.post_form("/token", &[("client_id", APP)]).await;
    assert_error(&malformed, StatusCode::BAD_REQUEST, "invalid_request");
    let limited = server.post_form("/token", &redemption(&code)).await;
    assert_error(
        &limited,
        StatusCode::TOO_MANY_REQUESTS,
        "temporarily_unavailable",
    );
    server.clock.advance(Duration::from_secs(60));
    let redeemed = server.post_form("/token", &redemption(&code)).await;
    assert_eq!(
        redeemed.status(),
        StatusCode::OK,
        "{}",
        body_text(&redeemed)
    );
    let refresh = body(&redeemed)["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // A limited revocation revokes nothing.
    let revoke = [("token", refresh.as_str()), ("client_id", APP)];
    let unknown = server
        .post_form("/revoke", &[("token", "unknown"), ("client_id", APP)])
        .await;
    assert_eq!(unknown.status(), StatusCode::OK);
    let limited = server.post_form("/revoke", &revoke).await;
    assert_error(
        &limited,
        StatusCode::TOO_MANY_REQUESTS,
        "temporarily_unavailable",
    );
    server.clock.advance(Duration::from_secs(60));
    let refreshed = server
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", APP),
            ],
        )
        .await;
    assert_eq!(
        refreshed.status(),
        StatusCode::OK,
        "{}",
        body_text(&refreshed)
    );
}

/// Every registration rule, answered through the router with its RFC 7591 section 3.2.2 code,
/// and nothing stored (counted in the SQLite table).
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn registration_refusals_store_nothing() {
    use std::sync::Arc;

    use mcp_auth_server::client::registration::{MAX_REDIRECT_URIS, RegistrationPolicy};
    use mcp_auth_server::store::SqliteStore;
    use mcp_auth_server::store::sqlx;
    use serde_json::Value;

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("auth.db")).await.unwrap());
    let server = crate::server::support::try_start_on(store.clone(), ISSUER, |c| {
        c.registration_policy =
            RegistrationPolicy::new().allowed_scopes("mcp:tools mcp:read".parse().unwrap());
    })
    .await
    .unwrap();
    let clients = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM mcp_auth_clients")
            .fetch_one(store.pool())
            .await
            .unwrap()
    };

    let uri = "https://app.example.com/cb";
    let with = |extra: Value| {
        let mut request = json!({"redirect_uris": [uri]});
        for (k, v) in extra.as_object().unwrap() {
            request[k] = v.clone();
        }
        request.to_string()
    };
    let too_many: Vec<String> = (0..=MAX_REDIRECT_URIS)
        .map(|i| format!("{uri}{i}"))
        .collect();
    let redirect = "invalid_redirect_uri";
    let metadata = "invalid_client_metadata";
    let cases: Vec<(String, &str)> = vec![
        ("{}".to_owned(), redirect),
        (json!({"redirect_uris": []}).to_string(), redirect),
        (json!({"redirect_uris": too_many}).to_string(), redirect),
        (
            json!({"redirect_uris": ["javascript:alert(1)"]}).to_string(),
            redirect,
        ),
        (
            json!({"redirect_uris": [format!("{uri}#f")]}).to_string(),
            redirect,
        ),
        (
            json!({"redirect_uris": ["http://app.example.com/cb"]}).to_string(),
            redirect,
        ),
        (String::new(), metadata),
        ("not json".to_owned(), metadata),
        (format!("[[\"{uri}\"]]"), metadata),
        (json!({"redirect_uris": uri}).to_string(), metadata),
        (
            format!(r#"{{"redirect_uris": ["{uri}"], "scope": "a", "scope": "b"}}"#),
            metadata,
        ),
        (
            with(json!({"token_endpoint_auth_method": "private_key_jwt"})),
            metadata,
        ),
        (with(json!({"grant_types": []})), metadata),
        (with(json!({"grant_types": ["password"]})), metadata),
        (with(json!({"response_types": ["token"]})), metadata),
        (with(json!({"response_types": []})), metadata),
        (
            with(json!({"grant_types": ["refresh_token"], "response_types": []})),
            metadata,
        ),
        (
            with(
                json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            ),
            metadata,
        ),
        (with(json!({"client_name": "evil\u{202e}name"})), metadata),
        (
            with(json!({"client_uri": "http://app.example.com"})),
            metadata,
        ),
        (with(json!({"logo_uri": "javascript:alert(1)"})), metadata),
        (with(json!({"scope": "mcp:tools \"x\""})), metadata),
        (with(json!({"scope": "mcp:tools admin"})), metadata),
        (with(json!({"application_type": "desktop"})), metadata),
        (with(json!({"software_id": "a\u{0}b"})), metadata),
    ];
    for (request, error) in cases {
        let response = server
            .call(
                "POST",
                "/register",
                &[("content-type", "application/json")],
                Some(request.clone()),
            )
            .await;
        assert_error(&response, StatusCode::BAD_REQUEST, error);
        assert_eq!(response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert!(
            !body_text(&response).contains("javascript")
                && !body_text(&response).contains("desktop"),
            "{request}: the error does not echo the request"
        );
    }
    // A media type other than JSON.
    let valid = with(json!({}));
    let response = server
        .call(
            "POST",
            "/register",
            &[("content-type", "application/x-www-form-urlencoded")],
            Some(valid.clone()),
        )
        .await;
    assert_error(&response, StatusCode::BAD_REQUEST, metadata);
    // Over 16 KiB (the registration limit), and over 64 KiB (every endpoint's).
    let padded = with(json!({"client_name": "x", "padding": "p".repeat(20_000)}));
    let response = server.post_json_text("/register", padded).await;
    assert_error(&response, StatusCode::PAYLOAD_TOO_LARGE, metadata);
    let padded = with(json!({"padding": "p".repeat(MAX_BODY)}));
    let response = server.post_json_text("/register", padded).await;
    assert_error(&response, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
    // The wrong method.
    let response = server.get("/register").await;
    assert_error(&response, StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    assert_eq!(clients().await, 0);

    // The same body, valid, is stored.
    let response = server.post_json_text("/register", valid).await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{}",
        body_text(&response)
    );
    assert_eq!(clients().await, 1);

    // Disabled registration: 403 access_denied, nothing stored.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("auth.db")).await.unwrap());
    let closed = crate::server::support::try_start_on(store.clone(), ISSUER, |c| {
        c.dynamic_registration = false;
    })
    .await
    .unwrap();
    let response = closed.post_json_text("/register", with(json!({}))).await;
    assert_error(&response, StatusCode::FORBIDDEN, "access_denied");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mcp_auth_clients")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(count, 0);
}

/// RFC 6749 section 4.1.2.1: a client not registered for the `code` response type (here a
/// `client_credentials` client that registered a redirect URI) gets `unauthorized_client` at
/// the redirect URI, and no login page, pending request or code.
#[tokio::test]
async fn authorize_refuses_clients_without_the_code_response_type() {
    let server = Server::start().await;
    let registered = server
        .post_json(
            "/register",
            &json!({"redirect_uris": [REDIRECT], "grant_types": ["client_credentials"]}),
        )
        .await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let info = body(&registered);
    assert_eq!(info["response_types"], json!([]));
    let client_id = info["client_id"].as_str().unwrap();

    let response = server
        .get(&format!("/authorize?{}", authorize_query(client_id, &[])))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::FOUND,
        "{}",
        body_text(&response)
    );
    assert!(response.headers().get(SET_COOKIE).is_none());
    let params = redirect_params(&response);
    assert_eq!(params["error"], "unauthorized_client");
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], ISSUER);
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn authorize_errors_through_the_router() {
    let server = Server::start_with(ISSUER, |c| c.preconfigured_clients = vec![app_client()]).await;
    // Before the client and redirect URI are verified: a page, never a redirect.
    let pages = [
        (authorize_query("nobody", &[]), "The client is unknown."),
        (
            authorize_query(APP, &[("redirect_uri", "https://evil.example.com/cb")]),
            "The redirect_uri is not registered for this client.",
        ),
        (
            format!("{}&client_id={APP}", authorize_query(APP, &[])),
            "The client_id parameter is repeated.",
        ),
    ];
    for (query, message) in pages {
        let response = server.get(&format!("/authorize?{query}")).await;
        assert_page(&response, StatusCode::BAD_REQUEST, message);
    }
    // After: a redirect with the error, the state and the issuer.
    let redirects = [
        (
            authorize_query(APP, &[("response_type", "token")]),
            "unsupported_response_type",
        ),
        (
            authorize_query(APP, &[("code_challenge_method", "plain")]),
            "invalid_request",
        ),
        (
            authorize_query(APP, &[("code_challenge", "")]),
            "invalid_request",
        ),
        (authorize_query(APP, &[("scope", "admin")]), "invalid_scope"),
        (
            authorize_query(APP, &[("resource", "https://elsewhere.example.com/mcp")]),
            "invalid_target",
        ),
    ];
    for (query, error) in redirects {
        let response = server.get(&format!("/authorize?{query}")).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{query}");
        assert!(response.headers().get(SET_COOKIE).is_none());
        let params = redirect_params(&response);
        assert_eq!(params["error"], error, "{query}");
        assert_eq!(params["state"], "xyz");
        assert_eq!(params["iss"], ISSUER);
    }
    // A form without the request cookie and its CSRF token: 403, no session.
    let response = server
        .post_form(
            "/authorize",
            &[
                ("username", USERNAME),
                ("password", PASSWORD),
                ("csrf", "x"),
            ],
        )
        .await;
    assert_page(
        &response,
        StatusCode::FORBIDDEN,
        "This form has expired or did not come from this site.",
    );
}

/// Failed logins are throttled (the server's default `ThrottledAuthenticator`): 429 with the
/// exact `Retry-After`, no session, and the right password accepted once the lockout is over.
#[tokio::test]
async fn throttled_logins_are_429_with_retry_after() {
    let server = Server::start_with(ISSUER, |c| {
        c.preconfigured_clients = vec![app_client()];
        c.login_throttle = Some(ThrottlePolicy {
            max_failures_per_username: 2,
            ..ThrottlePolicy::default()
        });
    })
    .await;
    let mut jar = Jar::default();
    let login = server
        .get(&format!("/authorize?{}", authorize_query(APP, &[])))
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    jar.store(&login);
    let token = csrf(&login);
    let cookie = jar.header();
    let sign_in = |password: &'static str| {
        let token = token.clone();
        let cookie = cookie.clone();
        let server = &server;
        async move {
            server
                .post_form_with(
                    "/authorize",
                    &[
                        ("username", USERNAME),
                        ("password", password),
                        ("csrf", &token),
                    ],
                    &[("cookie", &cookie)],
                )
                .await
        }
    };
    for _ in 0..2 {
        let failed = sign_in("wrong").await;
        assert_eq!(failed.status(), StatusCode::OK);
        assert!(text(&failed).contains("Invalid username or password"));
    }
    let throttled = sign_in(PASSWORD).await;
    assert_page(
        &throttled,
        StatusCode::TOO_MANY_REQUESTS,
        "Too many failed sign-in attempts",
    );
    assert_eq!(throttled.headers()[RETRY_AFTER], "60");
    // No login session: the pending request still shows the login page.
    let again = server
        .call("GET", "/authorize", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(text(&again).contains("name=\"password\""));

    server.clock.advance(Duration::from_secs(60));
    let signed_in = sign_in(PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert!(signed_in.headers().contains_key(SET_COOKIE));
}

/// Client ID Metadata Documents that cannot be used, as `/authorize` answers them: an error
/// page (the redirect URI is not verified), never a redirect.
#[cfg(feature = "cimd")]
#[tokio::test]
async fn unusable_metadata_documents_are_error_pages() {
    use axum::http::{Uri, header};
    use axum::response::IntoResponse;
    use mcp_auth_server::client::cimd::CimdPolicy;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let documents = base.clone();
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let base = documents.clone();
        async move {
            let path = uri.path();
            let mut document = json!({
                "client_id": format!("{base}{path}"),
                "client_name": "Document client",
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none",
            });
            match path {
                "/good" => {}
                "/mismatch" => document["client_id"] = json!(format!("{base}/elsewhere")),
                "/secret" => document["client_secret"] = json!("s3cr3t"),
                "/jwt" => document["token_endpoint_auth_method"] = json!("private_key_jwt"),
                "/text" => {
                    return ([(header::CONTENT_TYPE, "text/plain")], document.to_string())
                        .into_response();
                }
                _ => return axum::http::StatusCode::NOT_FOUND.into_response(),
            }
            (
                [(header::CONTENT_TYPE, "application/json")],
                document.to_string(),
            )
                .into_response()
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });

    let server = Server::start_with(ISSUER, |c| {
        c.cimd = Some(CimdPolicy::default().insecure_allow_private_targets());
    })
    .await;
    let good = format!("{base}/good");
    let unusable = "The client&#39;s metadata document could not be used.";
    let cases = [
        (
            authorize_query(&good, &[("redirect_uri", "https://app.example.com/other")]),
            "The redirect_uri is not registered for this client.",
        ),
        (
            authorize_query(&good, &[("redirect_uri", "")]),
            "The redirect_uri parameter is required for this client.",
        ),
        (authorize_query(&format!("{base}/missing"), &[]), unusable),
        (authorize_query(&format!("{base}/mismatch"), &[]), unusable),
        (authorize_query(&format!("{base}/secret"), &[]), unusable),
        (authorize_query(&format!("{base}/jwt"), &[]), unusable),
        (authorize_query(&format!("{base}/text"), &[]), unusable),
        (
            authorize_query("http://127.0.0.1:1/client.json", &[]),
            unusable,
        ),
    ];
    for (query, message) in cases {
        let response = server.get(&format!("/authorize?{query}")).await;
        assert_page(&response, StatusCode::BAD_REQUEST, message);
    }
    // The good document passes the first stage: later errors redirect to the client...
    let response = server
        .get(&format!(
            "/authorize?{}",
            authorize_query(&good, &[("response_type", "token")])
        ))
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        redirect_params(&response)["error"],
        "unsupported_response_type"
    );
    // ...and a valid request gets the login page.
    let response = server
        .get(&format!("/authorize?{}", authorize_query(&good, &[])))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(text(&response).contains("Document client"));
}
