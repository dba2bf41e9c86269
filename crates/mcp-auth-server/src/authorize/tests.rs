#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LOCATION, RETRY_AFTER};
use mcp_auth_core::clock::ManualClock;

use super::*;
use crate::store::{ApplicationType, ClientSource, CodeRedemption, MemoryStore};
use crate::user::{
    HashParams, LoginThrottle, StaticUser, StaticUsers, ThrottlePolicy, ThrottledAuthenticator,
    hash_password_with,
};

const NOW: u64 = 1_700_000_000;
const ISSUER: &str = "https://auth.example.com";
const CLIENT: &str = "client-1";
/// A redirect URI with a query of its own, to which the response parameters are appended.
const REDIRECT: &str = "https://app.example.com/callback?tenant=7";
const RESOURCE: &str = "https://mcp.example.com/mcp";
/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const HOSTILE_NAME: &str = "<script>alert(\"x\")</script><img src=x onerror='alert(1)'>";

fn client(client_id: &str, redirect_uris: &[&str], name: Option<&str>) -> ClientRecord {
    ClientRecord {
        client_id: client_id.to_owned(),
        client_secret_hash: None,
        redirect_uris: redirect_uris.iter().map(|&u| u.to_owned()).collect(),
        client_name: name.map(str::to_owned),
        grant_types: vec!["authorization_code".to_owned(), "refresh_token".to_owned()],
        response_types: vec!["code".to_owned()],
        token_endpoint_auth_method: "none".to_owned(),
        scope: None,
        application_type: ApplicationType::Web,
        source: ClientSource::Dynamic,
        created_at: NOW,
        metadata_expires_at: None,
    }
}

fn static_users() -> StaticUsers {
    let cheap = HashParams::new(8, 1, 1).unwrap();
    let hash = hash_password_with(&Password::new("alice-password"), &cheap).unwrap();
    StaticUsers::new([StaticUser::new("alice", hash).with_subject("user-alice")]).unwrap()
}

struct Harness {
    store: MemoryStore,
    users: Arc<dyn UserAuthenticator>,
    sessions: AuthorizeSessions,
    resources: Vec<String>,
    supported: Scopes,
    defaults: Scopes,
    cookies: CookiePolicy,
}

impl Harness {
    async fn new() -> Self {
        Self::with_users(Arc::new(static_users())).await
    }

    async fn with_users(users: Arc<dyn UserAuthenticator>) -> Self {
        let store = MemoryStore::new();
        store
            .put_client(client(
                CLIENT,
                &[REDIRECT, "http://127.0.0.1/cb"],
                Some("Example App"),
            ))
            .await
            .unwrap();
        store
            .put_client(client("single", &["https://single.example.com/cb"], None))
            .await
            .unwrap();
        store
            .put_client(client(
                "hostile",
                &["https://evil.example.com/cb"],
                Some(HOSTILE_NAME),
            ))
            .await
            .unwrap();
        Self {
            store,
            users,
            sessions: AuthorizeSessions::new(),
            resources: vec![RESOURCE.to_owned()],
            supported: "mcp:tools mcp:resources profile".parse().unwrap(),
            defaults: "mcp:tools".parse().unwrap(),
            cookies: CookiePolicy::default(),
        }
    }

    fn deps(&self) -> AuthorizeDeps<'_> {
        AuthorizeDeps {
            store: &self.store,
            users: &*self.users,
            issuer: ISSUER,
            endpoint_path: "/authorize",
            allowed_resources: &self.resources,
            scopes_supported: &self.supported,
            default_scopes: &self.defaults,
            sessions: &self.sessions,
            cookies: self.cookies,
            client_ip: Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))),
            #[cfg(feature = "cimd")]
            cimd: None,
            code_lifetime: DEFAULT_CODE_LIFETIME,
        }
    }
}

/// A browser: keeps the cookies it is given and sends them back, checks every response's
/// security headers.
struct Browser<'h> {
    harness: &'h Harness,
    jar: HashMap<String, String>,
}

impl<'h> Browser<'h> {
    fn new(harness: &'h Harness) -> Self {
        Self {
            harness,
            jar: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, mut request: Request) -> Response {
        if !self.jar.is_empty() {
            request.headers_mut().insert(
                COOKIE,
                HeaderValue::from_str(&self.cookie_header()).unwrap(),
            );
        }
        let response = authorize_endpoint(&request, &self.harness.deps(), NOW).await;
        assert_secure(&response);
        for value in response.headers().get_all(SET_COOKIE) {
            let value = value.to_str().unwrap();
            assert_cookie_attributes(value, self.harness.cookies);
            let (pair, _) = value.split_once(';').unwrap();
            let (name, value_part) = pair.split_once('=').unwrap();
            if value.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value_part.to_owned());
            }
        }
        response
    }

    async fn get(&mut self, uri: &str) -> Response {
        self.send(http::Request::get(uri).body(Bytes::new()).unwrap())
            .await
    }

    async fn post(&mut self, fields: &[(&str, &str)]) -> Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = http::Request::post("/authorize")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Bytes::from(body))
            .unwrap();
        self.send(request).await
    }

    /// Starts an authorization with `query`, and signs in as alice: returns the consent page.
    async fn sign_in(&mut self, query: &str) -> Response {
        let page = self.get(&format!("/authorize?{query}")).await;
        assert_eq!(page.status(), StatusCode::OK);
        let body = text(&page);
        assert!(body.contains("name=\"username\""), "{body}");
        let csrf = csrf_of(&page);
        let response = self
            .post(&[
                ("username", "alice"),
                ("password", "alice-password"),
                ("csrf", &csrf),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], "/authorize");
        self.get("/authorize").await
    }
}

fn text(response: &Response) -> String {
    String::from_utf8(response.body().to_vec()).unwrap()
}

fn csrf_of(page: &Response) -> String {
    let body = text(page);
    let start = body.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let end = body[start..].find('"').unwrap();
    body[start..start + end].to_owned()
}

fn location(response: &Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// The query parameters of a redirect to the client.
fn redirect_params(response: &Response) -> HashMap<String, String> {
    let location = location(response);
    let url = url::Url::parse(&location).unwrap();
    let mut params = HashMap::new();
    for (name, value) in url.query_pairs() {
        assert!(
            params
                .insert(name.clone().into_owned(), value.into_owned())
                .is_none(),
            "{name} repeated in {location}"
        );
    }
    params
}

fn assert_secure(response: &Response) {
    let headers = response.headers();
    let csp = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp == pages::CONTENT_SECURITY_POLICY_VALUE
            || (csp
                .starts_with("default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ")
                && csp.ends_with("; frame-ancestors 'none'; base-uri 'none'")),
        "{csp}"
    );
    assert!(!csp.contains("script-src"));
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    if headers.get(LOCATION).is_none() {
        assert_eq!(headers[CONTENT_TYPE], "text/html; charset=utf-8");
    }
}

fn assert_cookie_attributes(set_cookie: &str, policy: CookiePolicy) {
    let attributes: Vec<&str> = set_cookie.split("; ").collect();
    assert!(attributes.contains(&"HttpOnly"), "{set_cookie}");
    assert!(attributes.contains(&"SameSite=Lax"), "{set_cookie}");
    assert!(attributes.contains(&"Path=/"), "{set_cookie}");
    assert!(!set_cookie.contains("Domain"), "{set_cookie}");
    if policy.is_secure() {
        assert!(attributes.contains(&"Secure"), "{set_cookie}");
        assert!(set_cookie.starts_with("__Host-"), "{set_cookie}");
    } else {
        assert!(!attributes.contains(&"Secure"), "{set_cookie}");
        assert!(!set_cookie.starts_with("__Host-"), "{set_cookie}");
    }
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A valid authorization request's query, with `overrides` replacing (or, with an empty value,
/// removing) parameters.
fn query(overrides: &[(&str, &str)]) -> String {
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", CLIENT),
        ("redirect_uri", REDIRECT),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", "xyz-state"),
        ("scope", "mcp:tools mcp:resources"),
        ("resource", RESOURCE),
    ];
    for (name, value) in overrides {
        params.retain(|(n, _)| n != name);
        if !value.is_empty() {
            params.push((name, value));
        }
    }
    params
        .iter()
        .map(|(n, v)| format!("{n}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn happy_path_ends_in_a_code_bound_to_the_request() {
    let harness = Harness::new().await;
    let mut browser = Browser::new(&harness);

    let login = browser.get(&format!("/authorize?{}", query(&[]))).await;
    assert_eq!(login.status(), StatusCode::OK);
    let body = text(&login);
    assert!(body.contains("Example App"));
    assert!(body.contains("<form method=\"post\" action=\"/authorize\">"));
    assert!(body.contains("name=\"password\" type=\"password\""));
    // Chromium applies form-action to the redirect after a form: the client's origin is named.
    assert!(
        login.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("form-action 'self' https://app.example.com;")
    );
    assert!(browser.jar.contains_key("__Host-mcp-auth-request"));

    let consent = {
        let csrf = csrf_of(&login);
        let response = browser
            .post(&[
                ("username", "alice"),
                ("password", "alice-password"),
                ("csrf", &csrf),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/authorize");
        assert!(browser.jar.contains_key("__Host-mcp-auth-session"));
        browser.get("/authorize").await
    };
    assert_eq!(consent.status(), StatusCode::OK);
    let body = text(&consent);
    assert!(body.contains("Example App"));
    assert!(body.contains("<code>client-1</code>"));
    assert!(body.contains("<strong>app.example.com</strong>"));
    assert!(body.contains("<li><code>mcp:tools</code></li>"));
    assert!(body.contains("<li><code>mcp:resources</code></li>"));
    assert!(body.contains("name=\"decision\" value=\"allow\""));
    assert!(body.contains("name=\"decision\" value=\"deny\""));

    let csrf = csrf_of(&consent);
    let response = browser
        .post(&[("decision", "allow"), ("csrf", &csrf)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = location(&response);
    assert!(
        location.starts_with("https://app.example.com/callback?tenant=7&code="),
        "{location}"
    );
    let params = redirect_params(&response);
    assert_eq!(params["tenant"], "7");
    assert_eq!(params["state"], "xyz-state");
    assert_eq!(params["iss"], ISSUER);
    let code = &params["code"];
    assert_eq!(code.len(), 43);
    // The pending request is finished: its cookie is cleared.
    assert!(!browser.jar.contains_key("__Host-mcp-auth-request"));

    let CodeRedemption::Fresh(grant) = harness
        .store
        .take_code(TokenHash::of(code), NOW + 1)
        .await
        .unwrap()
    else {
        panic!("the code is not stored");
    };
    assert_eq!(grant.client_id, CLIENT);
    assert_eq!(grant.redirect_uri, REDIRECT);
    assert_eq!(grant.code_challenge, CHALLENGE);
    assert!(
        CodeChallenge::parse(Some(&grant.code_challenge), Some("S256"))
            .unwrap()
            .verify(VERIFIER)
    );
    assert_eq!(grant.resource.as_deref(), Some(RESOURCE));
    assert_eq!(grant.scopes.to_string(), "mcp:resources mcp:tools");
    assert_eq!(grant.subject, "user-alice");
    assert_eq!(grant.expires_at, NOW + 60);

    // The consent form cannot be submitted twice.
    browser
        .jar
        .insert("__Host-mcp-auth-request".to_owned(), "replayed".to_owned());
    let again = browser
        .post(&[("decision", "allow"), ("csrf", &csrf)])
        .await;
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn consent_is_remembered() {
    let harness = Harness::new().await;
    let mut browser = Browser::new(&harness);
    let consent = browser.sign_in(&query(&[])).await;
    let csrf = csrf_of(&consent);
    let first = browser
        .post(&[("decision", "allow"), ("csrf", &csrf)])
        .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        harness
            .store
            .get_consent("user-alice", CLIENT)
            .await
            .unwrap()
            .unwrap()
            .to_string(),
        "mcp:resources mcp:tools"
    );

    // Same scopes (or fewer): straight back to the client with a code, no page.
    for scope in ["mcp:tools mcp:resources", "mcp:tools"] {
        let second = browser
            .get(&format!(
                "/authorize?{}",
                query(&[("scope", scope), ("state", "second")])
            ))
            .await;
        assert_eq!(second.status(), StatusCode::FOUND);
        let params = redirect_params(&second);
        assert_eq!(params["state"], "second");
        assert_eq!(params["iss"], ISSUER);
        let CodeRedemption::Fresh(grant) = harness
            .store
            .take_code(TokenHash::of(&params["code"]), NOW)
            .await
            .unwrap()
        else {
            panic!("the code is not stored");
        };
        assert_eq!(
            grant.scopes.to_string(),
            scope.parse::<Scopes>().unwrap().to_string()
        );
    }
    assert_eq!(harness.sessions.pending_count(NOW), 0);

    // A scope not granted yet: the consent page again.
    let more = browser
        .get(&format!("/authorize?{}", query(&[("scope", "profile")])))
        .await;
    assert_eq!(more.status(), StatusCode::OK);
    assert!(text(&more).contains("<li><code>profile</code></li>"));
    let csrf = csrf_of(&more);
    let allowed = browser
        .post(&[("decision", "allow"), ("csrf", &csrf)])
        .await;
    assert_eq!(allowed.status(), StatusCode::SEE_OTHER);
    // Consents accumulate.
    assert_eq!(
        harness
            .store
            .get_consent("user-alice", CLIENT)
            .await
            .unwrap()
            .unwrap()
            .to_string(),
        "mcp:resources mcp:tools profile"
    );
}

#[tokio::test]
async fn login_after_consent_given_goes_straight_to_the_client() {
    let harness = Harness::new().await;
    harness
        .store
        .put_consent("user-alice", CLIENT, &"mcp:tools".parse().unwrap())
        .await
        .unwrap();
    let mut browser = Browser::new(&harness);
    let login = browser
        .get(&format!("/authorize?{}", query(&[("scope", "")])))
        .await;
    let csrf = csrf_of(&login);
    let signed_in = browser
        .post(&[
            ("username", "alice"),
            ("password", "alice-password"),
            ("csrf", &csrf),
        ])
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let resumed = browser.get("/authorize").await;
    assert_eq!(resumed.status(), StatusCode::FOUND);
    let params = redirect_params(&resumed);
    assert_eq!(params["state"], "xyz-state");
    assert!(!browser.jar.contains_key("__Host-mcp-auth-request"));
    let CodeRedemption::Fresh(grant) = harness
        .store
        .take_code(TokenHash::of(&params["code"]), NOW)
        .await
        .unwrap()
    else {
        panic!("the code is not stored");
    };
    // No scope parameter: the default scopes.
    assert_eq!(grant.scopes.to_string(), "mcp:tools");
}

#[tokio::test]
async fn errors_before_the_redirect_uri_is_validated_never_redirect() {
    let harness = Harness::new().await;
    let cases: Vec<(String, &str)> = vec![
        (query(&[("client_id", "unknown")]), "client is unknown"),
        (
            query(&[("client_id", "")]),
            "client_id parameter is missing",
        ),
        (
            query(&[("redirect_uri", "https://evil.example.com/callback")]),
            "not registered",
        ),
        (
            query(&[("redirect_uri", "https://app.example.com/callback")]),
            "not registered",
        ),
        (
            query(&[(
                "redirect_uri",
                "https://app.example.com/callback?tenant=7&x=1",
            )]),
            "not registered",
        ),
        (
            query(&[("redirect_uri", "javascript:alert(1)")]),
            "not registered",
        ),
        // Several registered: redirect_uri is required.
        (
            query(&[("redirect_uri", "")]),
            "redirect_uri parameter is required",
        ),
        (
            format!("{}&client_id=single", query(&[])),
            "client_id parameter is repeated",
        ),
        (
            format!("{}&redirect_uri={}", query(&[]), encode(REDIRECT)),
            "redirect_uri parameter is repeated",
        ),
        // Even with other errors, the client is checked first.
        (
            query(&[("client_id", "unknown"), ("response_type", "token")]),
            "client is unknown",
        ),
    ];
    for (query, message) in cases {
        let mut browser = Browser::new(&harness);
        let response = browser.get(&format!("/authorize?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(response.headers().get(LOCATION).is_none(), "{query}");
        assert!(
            text(&response).contains(message),
            "{query}: {}",
            text(&response)
        );
        assert!(browser.jar.is_empty(), "{query}");
    }
    // No query at all, no pending request.
    let mut browser = Browser::new(&harness);
    let response = browser.get("/authorize").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
    assert_eq!(harness.sessions.pending_count(NOW), 0);
}

#[tokio::test]
async fn omitted_redirect_uri_with_one_registered_and_loopback_ports() {
    let harness = Harness::new().await;
    let mut browser = Browser::new(&harness);
    let response = browser
        .get(&format!(
            "/authorize?{}",
            query(&[("client_id", "single"), ("redirect_uri", "")])
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    // A loopback redirect URI on any port (RFC 8252 section 7.3).
    let consent = browser
        .sign_in(&query(&[("redirect_uri", "http://127.0.0.1:53124/cb")]))
        .await;
    assert!(
        consent.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("form-action 'self' http://127.0.0.1:53124;")
    );
    let csrf = csrf_of(&consent);
    let done = browser
        .post(&[("decision", "allow"), ("csrf", &csrf)])
        .await;
    assert!(location(&done).starts_with("http://127.0.0.1:53124/cb?code="));

    // Errors after that point redirect to the registered URI, not a guess.
    let error = Browser::new(&harness)
        .get(&format!(
            "/authorize?{}",
            query(&[
                ("client_id", "single"),
                ("redirect_uri", ""),
                ("response_type", "token")
            ])
        ))
        .await;
    assert!(location(&error).starts_with("https://single.example.com/cb?error="));
}

#[tokio::test]
async fn errors_after_the_redirect_uri_is_validated_redirect_with_state_and_iss() {
    let harness = Harness::new().await;
    let cases: Vec<(String, &str, Option<&str>)> = vec![
        (
            query(&[("response_type", "token")]),
            "unsupported_response_type",
            Some("xyz-state"),
        ),
        (
            query(&[("response_type", "")]),
            "invalid_request",
            Some("xyz-state"),
        ),
        (
            query(&[("code_challenge", "")]),
            "invalid_request",
            Some("xyz-state"),
        ),
        (
            query(&[("code_challenge_method", "")]),
            "invalid_request",
            Some("xyz-state"),
        ),
        (
            query(&[
                ("code_challenge", VERIFIER),
                ("code_challenge_method", "plain"),
            ]),
            "invalid_request",
            Some("xyz-state"),
        ),
        (
            query(&[("code_challenge", "too-short")]),
            "invalid_request",
            Some("xyz-state"),
        ),
        (
            query(&[("resource", "https://other.example.com/mcp")]),
            "invalid_target",
            Some("xyz-state"),
        ),
        (
            query(&[("scope", "admin")]),
            "invalid_scope",
            Some("xyz-state"),
        ),
        (
            query(&[("scope", "mcp:tools \"bad\"")]),
            "invalid_scope",
            Some("xyz-state"),
        ),
        (
            format!("{}&scope=profile", query(&[])),
            "invalid_request",
            Some("xyz-state"),
        ),
        (
            format!("{}&resource={}", query(&[]), encode(RESOURCE)),
            "invalid_request",
            Some("xyz-state"),
        ),
        // A repeated state is not echoed (which one would it be?).
        (
            format!("{}&state=other", query(&[])),
            "invalid_request",
            None,
        ),
        (
            query(&[("state", ""), ("response_type", "token")]),
            "unsupported_response_type",
            None,
        ),
    ];
    for (query, error, state) in cases {
        let mut browser = Browser::new(&harness);
        let response = browser.get(&format!("/authorize?{query}")).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{query}");
        assert!(
            location(&response).starts_with("https://app.example.com/callback?tenant=7&error="),
            "{query}"
        );
        let params = redirect_params(&response);
        assert_eq!(params["error"], error, "{query}");
        assert!(!params["error_description"].is_empty(), "{query}");
        assert_eq!(params.get("state").map(String::as_str), state, "{query}");
        assert_eq!(params["iss"], ISSUER, "{query}");
        assert!(!params.contains_key("code"));
        assert!(browser.jar.is_empty(), "{query}");
    }
    assert_eq!(harness.sessions.pending_count(NOW), 0);
}

#[tokio::test]
async fn client_scope_restriction_and_response_types() {
    let harness = Harness::new().await;
    let mut restricted = client("restricted", &["https://r.example.com/cb"], None);
    restricted.scope = Some("mcp:tools".to_owned());
    harness.store.put_client(restricted).await.unwrap();
    let mut no_code = client("no-code", &["https://n.example.com/cb"], None);
    no_code.response_types = vec!["token".to_owned()];
    harness.store.put_client(no_code).await.unwrap();

    let response = Browser::new(&harness)
        .get(&format!(
            "/authorize?{}",
            query(&[
                ("client_id", "restricted"),
                ("redirect_uri", "https://r.example.com/cb"),
                ("scope", "mcp:tools profile"),
            ])
        ))
        .await;
    assert_eq!(redirect_params(&response)["error"], "invalid_scope");
    let response = Browser::new(&harness)
        .get(&format!(
            "/authorize?{}",
            query(&[
                ("client_id", "no-code"),
                ("redirect_uri", "https://n.example.com/cb"),
            ])
        ))
        .await;
    assert_eq!(redirect_params(&response)["error"], "unauthorized_client");
    // No response type at all (a client_credentials client with a redirect URI): refused too.
    let mut none = client("no-response-type", &["https://z.example.com/cb"], None);
    none.grant_types = vec!["client_credentials".to_owned()];
    none.response_types = Vec::new();
    harness.store.put_client(none).await.unwrap();
    let mut browser = Browser::new(&harness);
    let response = browser
        .get(&format!(
            "/authorize?{}",
            query(&[
                ("client_id", "no-response-type"),
                ("redirect_uri", "https://z.example.com/cb"),
            ])
        ))
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(redirect_params(&response)["error"], "unauthorized_client");
    assert!(browser.jar.is_empty());
    assert_eq!(harness.sessions.pending_count(NOW), 0);
}

#[tokio::test]
async fn csrf_failures_are_refused_and_create_nothing() {
    let harness = Harness::new().await;
    let mut browser = Browser::new(&harness);
    let login = browser.get(&format!("/authorize?{}", query(&[]))).await;
    let csrf = csrf_of(&login);
    let forbidden = |response: &Response| {
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.headers().get(LOCATION).is_none());
        assert!(response.headers().get(SET_COOKIE).is_none());
        assert!(text(response).contains("expired or did not come from this site"));
    };
    let credentials = [("username", "alice"), ("password", "alice-password")];

    // No csrf field.
    forbidden(&browser.post(&credentials).await);
    // A wrong one (same length, last character changed).
    let mut wrong = csrf.clone();
    wrong.pop();
    wrong.push(if csrf.ends_with('A') { 'B' } else { 'A' });
    forbidden(
        &browser
            .post(&[credentials[0], credentials[1], ("csrf", &wrong)])
            .await,
    );
    forbidden(
        &browser
            .post(&[credentials[0], credentials[1], ("csrf", "")])
            .await,
    );
    // The right token without the request cookie (another browser, a cross-site post).
    let mut other = Browser::new(&harness);
    forbidden(
        &other
            .post(&[credentials[0], credentials[1], ("csrf", &csrf)])
            .await,
    );
    assert_eq!(harness.sessions.login_count(NOW), 0);

    // The consent form likewise.
    browser
        .post(&[credentials[0], credentials[1], ("csrf", &csrf)])
        .await;
    assert_eq!(harness.sessions.login_count(NOW), 1);
    let consent = browser.get("/authorize").await;
    let csrf = csrf_of(&consent);
    forbidden(&browser.post(&[("decision", "allow")]).await);
    forbidden(
        &browser
            .post(&[("decision", "allow"), ("csrf", &wrong)])
            .await,
    );
    assert_eq!(
        harness
            .store
            .get_consent("user-alice", CLIENT)
            .await
            .unwrap(),
        None
    );
    // The real form still works afterwards.
    let done = browser
        .post(&[("decision", "allow"), ("csrf", &csrf)])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert!(redirect_params(&done).contains_key("code"));
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_page() {
    let harness = Harness::new().await;
    let mut browser = Browser::new(&harness);
    let login = browser.get(&format!("/authorize?{}", query(&[]))).await;
    let csrf = csrf_of(&login);
    let wrong = browser
        .post(&[
            ("username", "alice"),
            ("password", "wrong-password"),
            ("csrf", &csrf),
        ])
        .await;
    let unknown = browser
        .post(&[
            ("username", "mallory"),
            ("password", "alice-password"),
            ("csrf", &csrf),
        ])
        .await;
    for response in [&wrong, &unknown] {
        assert_eq!(response.status(), StatusCode::OK);
        assert!(text(response).contains(INVALID_CREDENTIALS_MESSAGE));
        assert!(response.headers().get(SET_COOKIE).is_none());
        // The form is shown again, ready for another try.
        assert_eq!(csrf_of(response), csrf);
    }
    assert_eq!(text(&wrong), text(&unknown));
    assert_eq!(
        wrong.headers()[CONTENT_SECURITY_POLICY],
        unknown.headers()[CONTENT_SECURITY_POLICY]
    );
    assert_eq!(harness.sessions.login_count(NOW), 0);
    // Missing fields: asked again, no attempt made.
    let missing = browser
        .post(&[("username", "alice"), ("csrf", &csrf)])
        .await;
    assert_eq!(missing.status(), StatusCode::OK);
    assert!(text(&missing).contains("Enter your username and password."));
}

#[tokio::test]
async fn throttled_logins_get_429_with_retry_after() {
    let policy = ThrottlePolicy {
        max_failures_per_username: 2,
        ..ThrottlePolicy::default()
    };
    let throttle = LoginThrottle::new(policy, Arc::new(ManualClock::at_unix(NOW)));
    let users: Arc<dyn UserAuthenticator> =
        Arc::new(ThrottledAuthenticator::new(static_users(), throttle));
    let harness = Harness::with_users(users).await;
    let mut browser = Browser::new(&harness);
    let login = browser.get(&format!("/authorize?{}", query(&[]))).await;
    let csrf = csrf_of(&login);
    for _ in 0..2 {
        let response = browser
            .post(&[
                ("username", "alice"),
                ("password", "guess"),
                ("csrf", &csrf),
            ])
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    // Locked: even the right password is refused for now.
    let response = browser
        .post(&[
            ("username", "alice"),
            ("password", "alice-password"),
            ("csrf", &csrf),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(text(&response).contains("Too many failed sign-in attempts"));
    assert!(response.headers().get(SET_COOKIE).is_none());
    assert_eq!(harness.sessions.login_count(NOW), 0);
}

#[tokio::test]
async fn deny_redirects_with_access_denied() {
    let harness = Harness::new().await;
    let mut browser = Browser::new(&harness);
    let consent = browser.sign_in(&query(&[])).await;
    let csrf = csrf_of(&consent);
    let response = browser.post(&[("decision", "deny"), ("csrf", &csrf)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let params = redirect_params(&response);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "xyz-state");
    assert_eq!(params["iss"], ISSUER);
    assert!(!params.contains_key("code"));
    assert_eq!(
        harness
            .store
            .get_consent("user-alice", CLIENT)
            .await
            .unwrap(),
        None
    );
    assert!(!browser.jar.contains_key("__Host-mcp-auth-request"));

    // An unknown decision changes nothing.
    let consent = browser.get(&format!("/authorize?{}", query(&[]))).await;
    let csrf = csrf_of(&consent);
    let response = browser
        .post(&[("decision", "maybe"), ("csrf", &csrf)])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
}

#[tokio::test]
async fn hostile_client_name_is_escaped() {
    let harness = Harness::new().await;
    let mut browser = Browser::new(&harness);
    let hostile = query(&[
        ("client_id", "hostile"),
        ("redirect_uri", "https://evil.example.com/cb"),
    ]);
    let login = browser.get(&format!("/authorize?{hostile}")).await;
    let consent = browser.sign_in(&hostile).await;
    for page in [&login, &consent] {
        let body = text(page);
        assert!(!body.contains("<script"), "{body}");
        assert!(!body.contains("<img"), "{body}");
        assert!(!body.contains("'alert"), "{body}");
        assert!(
            body.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;"),
            "{body}"
        );
    }
    // The page still names the client id and where the user will be sent.
    let body = text(&consent);
    assert!(body.contains("<code>hostile</code>"));
    assert!(body.contains("<strong>evil.example.com</strong>"));
}

#[tokio::test]
async fn insecure_cookie_policy_drops_secure_and_prefix() {
    let mut harness = Harness::new().await;
    harness.cookies = CookiePolicy::insecure_http_cookies();
    let mut browser = Browser::new(&harness);
    let consent = browser.sign_in(&query(&[])).await;
    assert!(browser.jar.contains_key("mcp-auth-request"));
    assert!(browser.jar.contains_key("mcp-auth-session"));
    let csrf = csrf_of(&consent);
    let done = browser
        .post(&[("decision", "allow"), ("csrf", &csrf)])
        .await;
    assert!(redirect_params(&done).contains_key("code"));
    // Secure cookies are not read under the insecure policy, nor the reverse.
    assert_eq!(CookiePolicy::default(), CookiePolicy::secure());
    assert_ne!(
        CookiePolicy::secure().session_cookie_name(),
        CookiePolicy::insecure_http_cookies().session_cookie_name()
    );
}

#[tokio::test]
async fn expired_sessions_start_over() {
    let harness = Harness::new().await;
    let mut browser = Browser::new(&harness);
    let consent = browser.sign_in(&query(&[])).await;
    let csrf = csrf_of(&consent);
    // Ten minutes later both the pending request and the login session are gone.
    let request = {
        let body = format!("decision=allow&csrf={csrf}");
        let mut request = http::Request::post("/authorize")
            .body(Bytes::from(body))
            .unwrap();
        request.headers_mut().insert(
            COOKIE,
            HeaderValue::from_str(&browser.cookie_header()).unwrap(),
        );
        request
    };
    let later = NOW + SESSION_TTL_SECS;
    let response = authorize_endpoint(&request, &harness.deps(), later).await;
    assert_secure(&response);
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

const SESSION_TTL_SECS: u64 = session::SESSION_TTL.as_secs();

#[tokio::test]
async fn other_methods_and_repeated_form_fields() {
    let harness = Harness::new().await;
    let mut browser = Browser::new(&harness);
    let response = browser
        .send(
            http::Request::delete("/authorize")
                .body(Bytes::new())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET, POST");
    let response = browser
        .send(
            http::Request::post("/authorize")
                .body(Bytes::from_static(b"csrf=a&csrf=b"))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[cfg(feature = "cimd")]
#[tokio::test]
async fn unusable_client_metadata_document_renders_a_page() {
    use crate::client::cimd::{CimdPolicy, CimdResolver};

    let harness = Harness::new().await;
    let resolver = CimdResolver::new(CimdPolicy::default());
    let mut deps = harness.deps();
    deps.cimd = Some(&resolver);
    // A loopback address is refused before anything is sent.
    let request = http::Request::get(format!(
        "/authorize?{}",
        query(&[
            ("client_id", "https://127.0.0.1/client.json"),
            ("redirect_uri", "https://127.0.0.1/cb"),
        ])
    ))
    .body(Bytes::new())
    .unwrap();
    let response = authorize_endpoint(&request, &deps, NOW).await;
    assert_secure(&response);
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
    // A metadata client id without redirect_uri cannot be checked.
    let request = http::Request::get(format!(
        "/authorize?{}",
        query(&[
            ("client_id", "https://127.0.0.1/client.json"),
            ("redirect_uri", ""),
        ])
    ))
    .body(Bytes::new())
    .unwrap();
    let response = authorize_endpoint(&request, &deps, NOW).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(text(&response).contains("redirect_uri parameter is required"));
}

#[test]
fn response_parameters_are_appended_to_the_redirect_query() {
    let params = [("code", "a b&c"), ("iss", "https://auth.example.com")];
    assert_eq!(
        append_query("https://app.example/cb", &params),
        "https://app.example/cb?code=a+b%26c&iss=https%3A%2F%2Fauth.example.com"
    );
    assert_eq!(
        append_query("https://app.example/cb?x=1", &params[..1]),
        "https://app.example/cb?x=1&code=a+b%26c"
    );
    assert_eq!(
        append_query("https://app.example/cb?", &params[..1]),
        "https://app.example/cb?code=a+b%26c"
    );
    assert_eq!(
        append_query("com.example.app:/cb", &params[..1]),
        "com.example.app:/cb?code=a+b%26c"
    );
}
