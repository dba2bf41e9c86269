//! The login and consent pages in headless Chromium: the embedded authorization server mounted
//! on axum at 127.0.0.1, a client's redirect endpoint on another port, and a real browser
//! that types, clicks, keeps cookies and enforces the pages' security headers.
//!
//! What only a browser shows: the `__Host-` cookies are accepted and sent back; the pages
//! work under their own Content-Security-Policy (no violation, and `form-action` lets the
//! redirect to the client through); they cannot be framed; hostile client names stay text.

#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::Html;
use axum::routing::get;
use mcp_auth_axum::authorization_server_router;
use mcp_auth_server::authorize::CookiePolicy;
use mcp_auth_server::metadata::Issuer;
use mcp_auth_server::pkce::CodeChallenge;
use mcp_auth_server::server::{AuthorizationServer, RateLimits, ServerConfig};
use mcp_auth_server::store::MemoryStore;
use mcp_auth_server::user::{HashParams, Password, StaticUser, StaticUsers, hash_password_with};
use mcp_auth_testkit::browser::Browser;
use serde_json::{Value, json};

const USERNAME: &str = "alice";
const PASSWORD: &str = "correct horse battery";
const VERIFIER: &str = "a-pkce-verifier-of-at-least-forty-three-characters-0123456789";
const HOSTILE_NAME: &str =
    "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>Evil & Co";

/// The authorization server and a client's redirect endpoint, on two loopback ports.
struct Setup {
    /// Origin of the authorization server, e.g. `http://127.0.0.1:41234`.
    issuer: String,
    /// The client's redirect URI (on the other port).
    redirect_uri: String,
    /// Query strings the redirect endpoint received, in order.
    callbacks: Arc<Mutex<Vec<String>>>,
    /// Origin of the client's server (also serves a page that frames the login page).
    client_origin: String,
    http: reqwest::Client,
}

impl Setup {
    /// Starts both servers; the authorization server's cookies follow `cookies`.
    async fn start(cookies: CookiePolicy) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let mut config =
            ServerConfig::new(Issuer::parse(&issuer).unwrap(), format!("{issuer}/mcp"));
        config.scopes_supported = "mcp:tools mcp:read".parse().unwrap();
        config.default_scopes = "mcp:tools".parse().unwrap();
        config.rate_limits = RateLimits::unlimited();
        config.cookie_policy = cookies;
        let cheap = HashParams::new(8, 1, 1).unwrap();
        let hash = hash_password_with(&Password::new(PASSWORD), &cheap).unwrap();
        let users = StaticUsers::new([StaticUser::new(USERNAME, hash)]).unwrap();
        let server =
            AuthorizationServer::start(config, Arc::new(MemoryStore::new()), Arc::new(users))
                .await
                .unwrap();
        let app = authorization_server_router(server);
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });

        let callbacks = Arc::new(Mutex::new(Vec::new()));
        let client_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client_origin = format!("http://{}", client_listener.local_addr().unwrap());
        let client_app = Router::new()
            .route("/callback", get(callback))
            .route("/frame", get(frame))
            .with_state(Arc::clone(&callbacks));
        tokio::spawn(async move { axum::serve(client_listener, client_app).await.unwrap() });

        Self {
            redirect_uri: format!("{client_origin}/callback"),
            issuer,
            callbacks,
            client_origin,
            http: reqwest::Client::new(),
        }
    }

    /// Registers a public client named `name` with the redirect URI; returns its id.
    async fn register(&self, name: &str) -> String {
        let response = self
            .http
            .post(format!("{}/register", self.issuer))
            .json(&json!({
                "redirect_uris": [self.redirect_uri],
                "client_name": name,
                "token_endpoint_auth_method": "none",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let info: Value = response.json().await.unwrap();
        info["client_id"].as_str().unwrap().to_owned()
    }

    /// An authorization request URL for `client_id` with PKCE and `state`.
    fn authorize_url(&self, client_id: &str, state: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("code_challenge", &CodeChallenge::s256_of(VERIFIER))
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", state)
            .append_pair("scope", "mcp:tools mcp:read")
            .append_pair("resource", &format!("{}/mcp", self.issuer))
            .finish();
        format!("{}/authorize?{query}", self.issuer)
    }

    /// The parameters of the `n`th request the redirect endpoint received.
    fn callback(&self, n: usize) -> Vec<(String, String)> {
        let callbacks = self.callbacks.lock().unwrap();
        let query = callbacks.get(n).unwrap_or_else(|| {
            panic!(
                "the client received {} redirects, not {}",
                callbacks.len(),
                n + 1
            )
        });
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }

    /// Redeems `code` at the token endpoint as the public client.
    async fn redeem(&self, client_id: &str, code: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/token", self.issuer))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.redirect_uri),
                ("client_id", client_id),
                ("code_verifier", VERIFIER),
                ("resource", &format!("{}/mcp", self.issuer)),
            ])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

/// The client's redirect endpoint: records the query.
async fn callback(
    State(callbacks): State<Arc<Mutex<Vec<String>>>>,
    RawQuery(query): RawQuery,
) -> Html<&'static str> {
    callbacks.lock().unwrap().push(query.unwrap_or_default());
    Html("<!doctype html><title>Signed in</title><p>You can close this window.</p>")
}

/// A page of another origin that tries to frame the URL given as `src`.
async fn frame(RawQuery(query): RawQuery) -> Html<String> {
    let src = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "src")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let src = src.replace('"', "&quot;");
    Html(format!(
        "<!doctype html><title>framer</title><iframe id=f src=\"{src}\" width=600 height=400></iframe>"
    ))
}

/// The value of `name` among `params`.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_signs_in_consents_and_the_client_redeems_the_code() {
    // `__Host-` cookies over http: Chromium treats 127.0.0.1 as a secure context, as it treats
    // any https origin, so this is the production policy at work.
    let setup = Setup::start(CookiePolicy::secure()).await;
    let client_id = setup.register("Example Notes").await;
    let browser = Browser::launch().await;
    let page = browser.new_page().await;

    // The login page: a form, under its own policy, with the pending request in a cookie the
    // browser accepted with every attribute and which scripts cannot read.
    page.goto(&setup.authorize_url(&client_id, "state-1")).await;
    assert_eq!(
        page.eval("document.querySelectorAll('input[name=password][type=password]').length")
            .await,
        1
    );
    assert_eq!(page.csp_violations().await, Vec::<String>::new());
    let cookies = page.cookies(&setup.issuer).await;
    let request_cookie = cookies
        .iter()
        .find(|c| c.name == "__Host-mcp-auth-request")
        .unwrap_or_else(|| panic!("the browser kept no request cookie: {cookies:?}"));
    assert!(request_cookie.secure && request_cookie.http_only);
    assert_eq!(request_cookie.same_site.as_deref(), Some("Lax"));
    assert_eq!(request_cookie.path, "/");
    assert_eq!(page.eval("document.cookie").await, "");
    // For a person to look at: target/tmp/login.png, target/tmp/consent.png.
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    page.screenshot(&shots.join("login.png")).await;

    // Sign in: the browser follows the 303 to the consent page, which names the client, where
    // it sends the person and what it asks for.
    page.sign_in(USERNAME, PASSWORD).await;
    assert!(page.is_consent_page().await, "{}", page.text().await);
    let text = page.text().await;
    page.screenshot(&shots.join("consent.png")).await;
    assert!(text.contains("Example Notes"), "{text}");
    assert!(
        text.contains("127.0.0.1"),
        "the redirect host is shown: {text}"
    );
    assert!(
        text.contains("mcp:tools") && text.contains("mcp:read"),
        "{text}"
    );
    assert_eq!(page.csp_violations().await, Vec::<String>::new());
    assert!(
        page.cookies(&setup.issuer)
            .await
            .iter()
            .any(|c| c.name == "__Host-mcp-auth-session" && c.secure && c.http_only),
        "a login session cookie"
    );

    // Allow: the form's redirect to the client's origin is not blocked by form-action.
    page.click_and_wait("button[name=decision][value=allow]")
        .await;
    let landed = page
        .wait_for_url(|url| url.starts_with(&setup.redirect_uri))
        .await;
    let params = setup.callback(0);
    assert_eq!(param(&params, "state"), Some("state-1"), "{landed}");
    assert_eq!(param(&params, "iss"), Some(setup.issuer.as_str()));
    let code = param(&params, "code").expect("a code");
    let (status, tokens) = setup.redeem(&client_id, code).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "mcp:read mcp:tools");

    // The same person again: signed in and consent remembered, so the browser goes straight
    // back to the client with a new code.
    page.goto(&setup.authorize_url(&client_id, "state-2")).await;
    page.wait_for_url(|url| url.starts_with(&setup.redirect_uri))
        .await;
    let params = setup.callback(1);
    assert_eq!(param(&params, "state"), Some("state-2"));
    assert_ne!(param(&params, "code"), Some(code));
    assert_eq!(
        setup
            .redeem(&client_id, param(&params, "code").unwrap())
            .await
            .0,
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_and_unknown_user_read_the_same_and_deny_reaches_the_client() {
    let setup = Setup::start(CookiePolicy::insecure_http_cookies()).await;
    let client_id = setup.register("Example Notes").await;
    let browser = Browser::launch().await;
    let page = browser.new_page().await;
    page.goto(&setup.authorize_url(&client_id, "state-d")).await;
    // The development policy for plain http: no prefix, no `Secure`, the rest unchanged.
    let cookies = page.cookies(&setup.issuer).await;
    assert!(
        cookies.iter().any(|c| c.name == "mcp-auth-request"
            && !c.secure
            && c.http_only
            && c.same_site.as_deref() == Some("Lax")),
        "{cookies:?}"
    );

    page.sign_in(USERNAME, "not the password").await;
    page.wait_for_url(|url| url.starts_with(&setup.issuer))
        .await;
    let wrong_password = page.text().await;
    assert!(
        wrong_password.contains("Invalid username or password"),
        "{wrong_password}"
    );

    page.sign_in("mallory", "not the password").await;
    page.wait_for_url(|url| url.starts_with(&setup.issuer))
        .await;
    assert_eq!(
        page.text().await,
        wrong_password,
        "the same page for an unknown user"
    );
    assert_eq!(page.csp_violations().await, Vec::<String>::new());

    // A failed attempt keeps the request: the right password still leads to consent.
    page.sign_in(USERNAME, PASSWORD).await;
    assert!(page.is_consent_page().await, "{}", page.text().await);
    page.click_and_wait("button[name=decision][value=deny]")
        .await;
    page.wait_for_url(|url| url.starts_with(&setup.redirect_uri))
        .await;
    let params = setup.callback(0);
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), Some("state-d"));
    assert_eq!(param(&params, "iss"), Some(setup.issuer.as_str()));
    assert_eq!(param(&params, "code"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pages_cannot_be_framed_and_client_names_stay_text() {
    let setup = Setup::start(CookiePolicy::insecure_http_cookies()).await;
    let client_id = setup.register(HOSTILE_NAME).await;
    let browser = Browser::launch().await;

    // Another origin frames the login page: the browser refuses to render it.
    let framer = browser.new_page().await;
    let login = setup.authorize_url(&client_id, "state-f");
    let src = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("src", &login)
        .finish();
    framer
        .goto(&format!("{}/frame?{src}", setup.client_origin))
        .await;
    let started = std::time::Instant::now();
    let frames = loop {
        let frames = framer.frames().await;
        if frames.len() == 2 && (frames[1].1.is_some() || frames[1].0 != "about:blank") {
            break frames;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{frames:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let (url, unreachable) = &frames[1];
    assert!(
        url.starts_with("chrome-error://") || unreachable.as_deref() == Some(login.as_str()),
        "the framed login page was rendered: {frames:?}"
    );

    // The hostile name is shown as text on the consent page; nothing of it runs or renders.
    let page = browser.new_page().await;
    page.goto(&login).await;
    page.sign_in(USERNAME, PASSWORD).await;
    assert!(page.is_consent_page().await, "{}", page.text().await);
    assert!(
        page.text().await.contains(HOSTILE_NAME),
        "{}",
        page.text().await
    );
    assert_eq!(
        page.eval("document.querySelectorAll('img, script').length")
            .await,
        0
    );
    assert_eq!(page.eval("window.__pwned === undefined").await, true);
    assert_eq!(page.csp_violations().await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_client_or_redirect_gets_a_page_never_a_redirect() {
    let setup = Setup::start(CookiePolicy::insecure_http_cookies()).await;
    let client_id = setup.register("Example Notes").await;
    let browser = Browser::launch().await;
    let page = browser.new_page().await;

    page.goto(&setup.authorize_url("no-such-client", "s")).await;
    assert!(page.url().await.starts_with(&setup.issuer));
    assert!(page.eval("!!document.querySelector('form')").await == false);

    let elsewhere = setup
        .authorize_url(&client_id, "s")
        .replace("%2Fcallback", "%2Fother");
    page.goto(&elsewhere).await;
    assert!(page.url().await.starts_with(&setup.issuer));
    assert_eq!(page.csp_violations().await, Vec::<String>::new());
    assert!(
        setup.callbacks.lock().unwrap().is_empty(),
        "nothing reached the client"
    );
}
