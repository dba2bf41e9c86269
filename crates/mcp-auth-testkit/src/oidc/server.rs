//! [`OidcProvider`]: the HTTP server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::faults::{Endpoint, Fault, FaultState, OVERSIZED_PADDING, Switchboard};
use super::keys::TestKey;
use super::lock;
use super::token::JwtBuilder;
use super::vendor::{self, Vendor};
use crate::now;

/// The client id [`OidcProvider`]'s introspection endpoint accepts by default.
pub const INTROSPECTION_CLIENT_ID: &str = "mcp-resource-server";
/// The client secret [`OidcProvider`]'s introspection endpoint accepts by default.
pub const INTROSPECTION_CLIENT_SECRET: &str = "introspection-secret-0123456789";
/// The audience of [`OidcProvider::jwt`] tokens.
pub const DEFAULT_AUDIENCE: &str = "https://mcp.test/mcp";

/// What an issuer's `jwks_uri` serves.
#[derive(Debug, Clone)]
enum Published {
    Keys(Vec<TestKey>),
    Raw(Value),
}

impl Published {
    fn document(&self) -> Value {
        match self {
            Published::Keys(keys) => TestKey::jwks(keys),
            Published::Raw(doc) => doc.clone(),
        }
    }
}

#[derive(Debug)]
struct Issuer {
    url: String,
    /// The issuer's path without a trailing slash ("" for the base URL).
    path: String,
    keys: Published,
    patch: Map<String, Value>,
}

#[derive(Debug)]
struct Shared {
    base: String,
    issuers: Mutex<Vec<Issuer>>,
    default_keys: Mutex<Published>,
    tokens: Mutex<HashMap<String, Value>>,
    client: Mutex<(String, String)>,
    board: Switchboard,
}

enum Route {
    Discovery(String),
    /// An issuer's key set, or (`None`) the keys last given to every issuer.
    Jwks(Option<String>),
    Introspection,
    TokenInfo,
    Token,
    NotFound,
}

/// A response before faults that change its body or type are applied.
struct Reply {
    status: StatusCode,
    body: Value,
    www_authenticate: Option<&'static str>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self::status(StatusCode::OK, body)
    }

    fn status(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body,
            www_authenticate: None,
        }
    }
}

struct Running {
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// An OpenID Connect provider on `127.0.0.1:<random port>`.
///
/// Serves, for every registered issuer (`{base}` at start, more with
/// [`OidcProvider::add_issuer`] or the vendor shortcuts):
///
/// | request | answer |
/// | --- | --- |
/// | `GET {issuer}/.well-known/openid-configuration` | discovery document |
/// | `GET /.well-known/openid-configuration{issuer path}` | the same |
/// | `GET /.well-known/oauth-authorization-server{issuer path}` | the same (RFC 8414) |
/// | `GET {issuer}/.well-known/jwks.json` | the issuer's JWK Set |
/// | `GET /{tenant}/discovery/v2.0/keys` (and `/{tenant}/discovery/keys`) | Entra ID form: the key set of issuer `/{tenant}/v2.0`, else the keys given to every issuer (so `common` works) |
/// | `POST /introspect` | RFC 7662 (client auth: HTTP Basic or `client_id`/`client_secret`) |
/// | `GET` or `POST /tokeninfo?access_token=...` | Google tokeninfo |
/// | `POST /token` | `400 {"error":"unsupported_grant_type"}` (a dummy) |
///
/// The discovery document holds `issuer`, `jwks_uri`, `introspection_endpoint`,
/// `token_endpoint`, `authorization_endpoint` (not served) and the usual `*_supported` lists;
/// [`OidcProvider::patch_discovery`] edits it.
pub struct OidcProvider {
    shared: Arc<Shared>,
    addr: SocketAddr,
    running: Mutex<Option<Running>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("base", &self.shared.base)
            .field("running", &self.is_running())
            .finish_non_exhaustive()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        if let Some(running) = lock(&self.running).take() {
            let _ = running.shutdown.send(());
        }
    }
}

fn serve(listener: TcpListener, shared: Arc<Shared>) -> Running {
    let router = Router::new().fallback(handle).with_state(shared);
    let (shutdown, signal) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = signal.await;
            })
            .await;
    });
    Running { shutdown, task }
}

impl OidcProvider {
    /// Binds `127.0.0.1:0` and serves the default issuer (the base URL) and every vendor's
    /// issuer ([`Vendor::issuer_path`]: Okta `/oauth2/default`, Entra ID `/{tid}/v2.0` and
    /// `/{tid}/`, Cognito `/{region}_{pool}`), all with [`TestKey::DEFAULT_SET`].
    ///
    /// # Panics
    ///
    /// When no local port can be bound.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            base: format!("http://{addr}"),
            issuers: Mutex::new(Vec::new()),
            default_keys: Mutex::new(Published::Keys(TestKey::DEFAULT_SET.to_vec())),
            tokens: Mutex::new(HashMap::new()),
            client: Mutex::new((
                INTROSPECTION_CLIENT_ID.to_owned(),
                INTROSPECTION_CLIENT_SECRET.to_owned(),
            )),
            board: Switchboard::default(),
        });
        let provider = Self {
            running: Mutex::new(Some(serve(listener, shared.clone()))),
            shared,
            addr,
        };
        provider.add_issuer("");
        for vendor in Vendor::ALL {
            provider.add_issuer(&vendor.issuer_path());
        }
        provider
    }

    /// Stops serving: the listening socket is closed, so new connections are refused. Requests
    /// under way get up to 2 s to finish. State (issuers, keys, tokens, faults, counters) stays.
    pub async fn stop(&self) {
        let running = lock(&self.running).take();
        if let Some(Running { shutdown, mut task }) = running {
            let _ = shutdown.send(());
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }

    /// Serves again on the same port after [`OidcProvider::stop`] (no-op when running).
    ///
    /// # Panics
    ///
    /// When the port cannot be bound again within 2 s.
    pub async fn restart(&self) {
        if self.is_running() {
            return;
        }
        let mut attempts = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(err) if attempts >= 40 => panic!("rebind {}: {err}", self.addr),
                Err(_) => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        *lock(&self.running) = Some(serve(listener, self.shared.clone()));
    }

    /// Whether the server is accepting connections.
    pub fn is_running(&self) -> bool {
        lock(&self.running).is_some()
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.shared.base
    }

    /// `127.0.0.1:<port>`: the base without scheme, for Google's scheme-less issuer form
    /// (`accounts.google.com`).
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The default issuer: the base URL.
    pub fn issuer(&self) -> String {
        self.shared.base.clone()
    }

    /// Registers the issuer `{base}{path}` (idempotent) and returns it. `path` is "" or starts
    /// with `/`; a trailing slash is kept in the issuer (Entra ID v1 style) and dropped from the
    /// URLs built on it. The new issuer publishes the keys last given to
    /// [`OidcProvider::set_keys`] / [`OidcProvider::set_jwks`].
    ///
    /// # Panics
    ///
    /// When `path` is not empty and does not start with `/`.
    pub fn add_issuer(&self, path: &str) -> String {
        assert!(
            path.is_empty() || path.starts_with('/'),
            "issuer path must be empty or start with '/': {path:?}"
        );
        let url = format!("{}{path}", self.shared.base);
        let keys = lock(&self.shared.default_keys).clone();
        let mut issuers = lock(&self.shared.issuers);
        if !issuers.iter().any(|i| i.url == url) {
            issuers.push(Issuer {
                url: url.clone(),
                path: path.trim_end_matches('/').to_owned(),
                keys,
                patch: Map::new(),
            });
        }
        url
    }

    /// Every registered issuer.
    pub fn issuers(&self) -> Vec<String> {
        lock(&self.shared.issuers)
            .iter()
            .map(|i| i.url.clone())
            .collect()
    }

    fn with_issuer<T>(&self, issuer: &str, f: impl FnOnce(&mut Issuer) -> T) -> T {
        let mut issuers = lock(&self.shared.issuers);
        let entry = issuers
            .iter_mut()
            .find(|i| i.url == issuer)
            .unwrap_or_else(|| panic!("issuer {issuer:?} is not registered (add_issuer)"));
        f(entry)
    }

    /// `{issuer}/.well-known/openid-configuration`.
    pub fn discovery_url(&self, issuer: &str) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        )
    }

    /// The RFC 8414 form `{base}/.well-known/oauth-authorization-server{issuer path}`.
    pub fn rfc8414_url(&self, issuer: &str) -> String {
        let path = issuer
            .strip_prefix(&self.shared.base)
            .unwrap_or("")
            .trim_end_matches('/');
        format!(
            "{}/.well-known/oauth-authorization-server{path}",
            self.shared.base
        )
    }

    /// `{issuer}/.well-known/jwks.json` (what discovery names as `jwks_uri`).
    pub fn jwks_uri(&self, issuer: &str) -> String {
        format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'))
    }

    /// `{base}/introspect`.
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/introspect", self.shared.base)
    }

    /// `{base}/tokeninfo`.
    pub fn tokeninfo_endpoint(&self) -> String {
        format!("{}/tokeninfo", self.shared.base)
    }

    /// `{base}/token` (a dummy).
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.shared.base)
    }

    /// Merges `patch` (a JSON object) into `issuer`'s discovery document; a `null` member
    /// removes that member (e.g. `{"introspection_endpoint": null}`).
    ///
    /// # Panics
    ///
    /// When `issuer` is not registered.
    pub fn patch_discovery(&self, issuer: &str, patch: Value) {
        self.with_issuer(issuer, |entry| {
            if let Value::Object(members) = patch {
                entry.patch.extend(members);
            }
        });
    }

    /// The discovery document `issuer` serves now (without faults).
    ///
    /// # Panics
    ///
    /// When `issuer` is not registered.
    pub fn discovery_document(&self, issuer: &str) -> Value {
        let issuers = lock(&self.shared.issuers);
        let entry = issuers
            .iter()
            .find(|i| i.url == issuer)
            .unwrap_or_else(|| panic!("issuer {issuer:?} is not registered (add_issuer)"));
        self.shared.discovery(entry)
    }

    /// Publishes `keys` for every issuer, present and future.
    pub fn set_keys(&self, keys: &[TestKey]) {
        self.publish_all(Published::Keys(keys.to_vec()));
    }

    /// Publishes a raw JWKS document (anything, even invalid) for every issuer.
    pub fn set_jwks(&self, jwks: Value) {
        self.publish_all(Published::Raw(jwks));
    }

    fn publish_all(&self, published: Published) {
        *lock(&self.shared.default_keys) = published.clone();
        for issuer in lock(&self.shared.issuers).iter_mut() {
            issuer.keys = published.clone();
        }
    }

    /// Publishes `keys` for one issuer.
    ///
    /// # Panics
    ///
    /// When `issuer` is not registered.
    pub fn set_issuer_keys(&self, issuer: &str, keys: &[TestKey]) {
        self.with_issuer(issuer, |entry| entry.keys = Published::Keys(keys.to_vec()));
    }

    /// Publishes a raw JWKS document for one issuer.
    ///
    /// # Panics
    ///
    /// When `issuer` is not registered.
    pub fn set_issuer_jwks(&self, issuer: &str, jwks: Value) {
        self.with_issuer(issuer, |entry| entry.keys = Published::Raw(jwks));
    }

    /// Rotates: every issuer publishes [`TestKey::ROTATED_SET`] (the old RSA key is gone).
    pub fn rotate_keys(&self) {
        self.set_keys(TestKey::ROTATED_SET);
    }

    /// Undoes [`OidcProvider::rotate_keys`]: every issuer publishes [`TestKey::DEFAULT_SET`].
    pub fn restore_keys(&self) {
        self.set_keys(TestKey::DEFAULT_SET);
    }

    /// The JWKS `issuer` serves now (without faults).
    ///
    /// # Panics
    ///
    /// When `issuer` is not registered.
    pub fn jwks(&self, issuer: &str) -> Value {
        self.with_issuer(issuer, |entry| entry.keys.document())
    }

    /// Registers an opaque (or any) token for introspection and tokeninfo. `claims` is the
    /// introspection answer without `active` (e.g. `scope`, `client_id`, `sub`, `aud`, `exp`,
    /// `iss`, `token_type`); a token past its `exp` or before its `nbf` is inactive.
    pub fn register_token(&self, token: &str, claims: Value) {
        lock(&self.shared.tokens).insert(token.to_owned(), claims);
    }

    /// Forgets a registered token: introspection says inactive, tokeninfo 400.
    pub fn revoke_token(&self, token: &str) {
        lock(&self.shared.tokens).remove(token);
    }

    /// Changes the introspection client credentials (default [`INTROSPECTION_CLIENT_ID`] /
    /// [`INTROSPECTION_CLIENT_SECRET`]).
    pub fn set_introspection_client(&self, client_id: &str, client_secret: &str) {
        *lock(&self.shared.client) = (client_id.to_owned(), client_secret.to_owned());
    }

    /// A fresh Google opaque access token (`ya29.`...) registered with
    /// [`vendor::google_access_claims`].
    pub fn google_access_token(&self) -> String {
        let token = vendor::google_opaque_token();
        self.register_token(&token, vendor::google_access_claims());
        token
    }

    /// Switches `fault` on for every endpoint kind.
    pub fn set_fault(&self, fault: Fault) {
        for endpoint in Endpoint::ALL {
            self.shared.board.set(endpoint, fault.clone());
        }
    }

    /// Switches `fault` on for one endpoint kind.
    pub fn set_fault_on(&self, endpoint: Endpoint, fault: Fault) {
        self.shared.board.set(endpoint, fault);
    }

    /// Switches every fault off, everywhere.
    pub fn clear_faults(&self) {
        for endpoint in Endpoint::ALL {
            self.shared.board.clear(endpoint);
        }
    }

    /// Switches every fault off on one endpoint kind.
    pub fn clear_faults_on(&self, endpoint: Endpoint) {
        self.shared.board.clear(endpoint);
    }

    /// How many requests reached `endpoint` (whatever the answer, faults included).
    pub fn fetches(&self, endpoint: Endpoint) -> u64 {
        self.shared.board.fetches(endpoint)
    }

    /// Sets every counter to zero.
    pub fn reset_fetches(&self) {
        self.shared.board.reset_fetches();
    }

    /// A generic token from the default issuer: `iss`, `sub` "user-1", `aud`
    /// [`DEFAULT_AUDIENCE`], `iat`, `exp` in one hour, random `jti`; RS256 with [`TestKey::Rsa`].
    pub fn jwt(&self) -> JwtBuilder {
        let now = now();
        JwtBuilder::with_claims(
            TestKey::Rsa,
            json!({
                "iss": self.issuer(),
                "sub": "user-1",
                "aud": DEFAULT_AUDIENCE,
                "iat": now,
                "exp": now + 3600,
                "jti": vendor::random_uuid(),
            }),
        )
    }

    /// Registers the vendor's issuer and returns it.
    pub fn vendor_issuer(&self, vendor: Vendor) -> String {
        self.add_issuer(&vendor.issuer_path())
    }

    /// A token of `vendor`'s shape from the issuer this provider serves for it (registered on
    /// the way).
    pub fn mint(&self, vendor: Vendor) -> JwtBuilder {
        vendor.token(&self.vendor_issuer(vendor))
    }

    /// `{base}/oauth2/default`.
    pub fn okta_issuer(&self) -> String {
        self.vendor_issuer(Vendor::OktaAccess)
    }

    /// `{base}` (Google's issuer has no path).
    pub fn google_issuer(&self) -> String {
        self.vendor_issuer(Vendor::GoogleId)
    }

    /// `{base}/{tid}/v2.0`.
    pub fn azure_v2_issuer(&self) -> String {
        self.vendor_issuer(Vendor::AzureV2Access)
    }

    /// `{base}/{tid}/` (trailing slash).
    pub fn azure_v1_issuer(&self) -> String {
        self.vendor_issuer(Vendor::AzureV1Access)
    }

    /// `{base}/{region}_{pool}`.
    pub fn cognito_issuer(&self) -> String {
        self.vendor_issuer(Vendor::CognitoAccess)
    }

    /// [`Vendor::OktaAccess`].
    pub fn okta(&self) -> JwtBuilder {
        self.mint(Vendor::OktaAccess)
    }

    /// [`Vendor::OktaOrgAccess`].
    pub fn okta_org(&self) -> JwtBuilder {
        self.mint(Vendor::OktaOrgAccess)
    }

    /// [`Vendor::OktaId`].
    pub fn okta_id_token(&self) -> JwtBuilder {
        self.mint(Vendor::OktaId)
    }

    /// [`Vendor::GoogleId`].
    pub fn google(&self) -> JwtBuilder {
        self.mint(Vendor::GoogleId)
    }

    /// [`Vendor::AzureV2Access`].
    pub fn azure_v2(&self) -> JwtBuilder {
        self.mint(Vendor::AzureV2Access)
    }

    /// [`Vendor::AzureV1Access`].
    pub fn azure_v1(&self) -> JwtBuilder {
        self.mint(Vendor::AzureV1Access)
    }

    /// [`Vendor::AzureId`].
    pub fn azure_id_token(&self) -> JwtBuilder {
        self.mint(Vendor::AzureId)
    }

    /// [`Vendor::CognitoAccess`].
    pub fn cognito_access(&self) -> JwtBuilder {
        self.mint(Vendor::CognitoAccess)
    }

    /// [`Vendor::CognitoId`].
    pub fn cognito_id(&self) -> JwtBuilder {
        self.mint(Vendor::CognitoId)
    }
}

impl Shared {
    fn discovery(&self, issuer: &Issuer) -> Value {
        let trimmed = issuer.url.trim_end_matches('/');
        let mut doc = json!({
            "issuer": issuer.url,
            "authorization_endpoint": format!("{trimmed}/authorize"),
            "token_endpoint": format!("{}/token", self.base),
            "jwks_uri": format!("{trimmed}/.well-known/jwks.json"),
            "introspection_endpoint": format!("{}/introspect", self.base),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "PS256", "ES256", "ES384", "EdDSA"],
            "scopes_supported": ["openid", "email", "profile"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        });
        if let Value::Object(members) = &mut doc {
            for (name, value) in &issuer.patch {
                if value.is_null() {
                    members.remove(name);
                } else {
                    members.insert(name.clone(), value.clone());
                }
            }
        }
        doc
    }

    fn route(&self, method: &Method, path: &str) -> Route {
        match path {
            "/introspect" => return Route::Introspection,
            "/tokeninfo" => return Route::TokenInfo,
            "/token" => return Route::Token,
            _ => {}
        }
        if method != Method::GET {
            return Route::NotFound;
        }
        let issuers = lock(&self.issuers);
        let find = |issuer_path: &str| {
            issuers
                .iter()
                .find(|i| i.path == issuer_path)
                .map(|i| i.url.clone())
        };
        for prefix in [
            "/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server",
        ] {
            if let Some(rest) = path.strip_prefix(prefix)
                && let Some(url) = find(rest)
            {
                return Route::Discovery(url);
            }
        }
        if let Some(issuer_path) = path.strip_suffix("/.well-known/openid-configuration")
            && let Some(url) = find(issuer_path)
        {
            return Route::Discovery(url);
        }
        if let Some(issuer_path) = path.strip_suffix("/.well-known/jwks.json")
            && let Some(url) = find(issuer_path)
        {
            return Route::Jwks(Some(url));
        }
        // Entra ID's key set URL: `/{tenant}/discovery/v2.0/keys` (also `common`).
        if let Some(rest) = path
            .strip_suffix("/discovery/v2.0/keys")
            .or_else(|| path.strip_suffix("/discovery/keys"))
            && let Some(tenant) = rest.strip_prefix('/')
            && !tenant.is_empty()
            && !tenant.contains('/')
        {
            return Route::Jwks(
                find(&format!("/{tenant}/v2.0")).or_else(|| find(&format!("/{tenant}"))),
            );
        }
        Route::NotFound
    }

    fn issuer_reply(&self, url: &str, f: impl FnOnce(&Issuer) -> Value) -> Reply {
        let issuers = lock(&self.issuers);
        match issuers.iter().find(|i| i.url == url) {
            Some(issuer) => Reply::ok(f(issuer)),
            None => Reply::status(StatusCode::NOT_FOUND, json!({"error": "not_found"})),
        }
    }

    /// The registered claims of `token` if it is active now.
    fn active_claims(&self, token: &str) -> Option<Map<String, Value>> {
        let claims = lock(&self.tokens).get(token).cloned()?;
        let claims = match claims {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let now = now();
        let expired = claims
            .get("exp")
            .and_then(Value::as_u64)
            .is_some_and(|exp| exp <= now);
        let early = claims
            .get("nbf")
            .and_then(Value::as_u64)
            .is_some_and(|nbf| nbf > now);
        (!expired && !early).then_some(claims)
    }

    fn introspect(&self, method: &Method, headers: &HeaderMap, body: &[u8]) -> Reply {
        if method != Method::POST {
            return Reply::status(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"error": "invalid_request"}),
            );
        }
        let form = form_decode(&String::from_utf8_lossy(body));
        let (id, secret) = lock(&self.client).clone();
        let authenticated = match basic_credentials(headers) {
            // Raw (as most clients send them) or form-urlencoded (RFC 6749 section 2.3.1).
            Some((given_id, given_secret)) => {
                (given_id == id && given_secret == secret)
                    || (percent_decode(&given_id) == id && percent_decode(&given_secret) == secret)
            }
            None => {
                form.get("client_id") == Some(&id) && form.get("client_secret") == Some(&secret)
            }
        };
        if !authenticated {
            return Reply {
                status: StatusCode::UNAUTHORIZED,
                body: json!({"error": "invalid_client"}),
                www_authenticate: Some("Basic realm=\"introspection\""),
            };
        }
        let Some(token) = form.get("token") else {
            return Reply::status(
                StatusCode::BAD_REQUEST,
                json!({"error": "invalid_request", "error_description": "token is required"}),
            );
        };
        match self.active_claims(token) {
            Some(mut claims) => {
                claims.insert("active".into(), json!(true));
                Reply::ok(Value::Object(claims))
            }
            None => Reply::ok(json!({"active": false})),
        }
    }

    fn tokeninfo(&self, method: &Method, query: &str, body: &[u8]) -> Reply {
        let params = if method == Method::POST {
            form_decode(&String::from_utf8_lossy(body))
        } else {
            form_decode(query)
        };
        let invalid = || {
            Reply::status(
                StatusCode::BAD_REQUEST,
                json!({"error": "invalid_token", "error_description": "Invalid Value"}),
            )
        };
        let Some(token) = params.get("access_token") else {
            return invalid();
        };
        let Some(claims) = self.active_claims(token) else {
            return invalid();
        };
        // Google answers every member as a string.
        let mut info = Map::new();
        for name in ["azp", "aud", "sub", "scope"] {
            if let Some(value) = claims.get(name) {
                info.insert(name.into(), json!(stringify(value)));
            }
        }
        if let Some(exp) = claims.get("exp").and_then(Value::as_u64) {
            info.insert("exp".into(), json!(exp.to_string()));
            info.insert(
                "expires_in".into(),
                json!(exp.saturating_sub(now()).to_string()),
            );
        }
        for name in ["email", "email_verified", "access_type"] {
            if let Some(value) = claims.get(name) {
                info.insert(name.into(), json!(stringify(value)));
            }
        }
        Reply::ok(Value::Object(info))
    }
}

fn stringify(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `application/x-www-form-urlencoded` text.
fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi * 16 + lo);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn form_decode(input: &str) -> HashMap<String, String> {
    input
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

/// `Authorization: Basic` credentials, as sent.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();

    let route = shared.route(&method, &path);
    let endpoint = match route {
        Route::Discovery(_) => Endpoint::Discovery,
        Route::Jwks(_) => Endpoint::Jwks,
        Route::Introspection => Endpoint::Introspection,
        Route::TokenInfo => Endpoint::TokenInfo,
        Route::Token => {
            return render(
                Reply::status(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "unsupported_grant_type"}),
                ),
                &FaultState::default(),
            );
        }
        Route::NotFound => {
            return render(
                Reply::status(StatusCode::NOT_FOUND, json!({"error": "not_found"})),
                &FaultState::default(),
            );
        }
    };
    shared.board.count(endpoint);
    let faults = shared.board.get(endpoint);
    if let Some(delay) = faults.slow {
        tokio::time::sleep(delay).await;
    }
    if faults.down {
        let mut response = render(
            Reply::status(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "temporarily_unavailable"}),
            ),
            &FaultState::default(),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        return response;
    }
    if let Some(location) = &faults.redirect {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::FOUND;
        if let Ok(value) = HeaderValue::from_str(location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        return response;
    }
    let reply = match route {
        Route::Discovery(url) => shared.issuer_reply(&url, |issuer| {
            let mut doc = shared.discovery(issuer);
            if let Some(other) = &faults.issuer_mismatch {
                doc["issuer"] = json!(other);
            }
            doc
        }),
        Route::Jwks(url) => {
            if faults.empty_key_set {
                Reply::ok(json!({"keys": []}))
            } else {
                match url {
                    Some(url) => shared.issuer_reply(&url, |issuer| issuer.keys.document()),
                    None => Reply::ok(lock(&shared.default_keys).document()),
                }
            }
        }
        Route::Introspection => shared.introspect(&method, &headers, &body),
        Route::TokenInfo => shared.tokeninfo(&method, &query, &body),
        Route::Token | Route::NotFound => unreachable!("answered above"),
    };
    render(reply, &faults)
}

/// Serialises a reply, applying the body and content-type faults.
fn render(reply: Reply, faults: &FaultState) -> Response {
    let mut body = reply.body;
    if faults.oversized.is_some()
        && let Value::Object(members) = &mut body
    {
        members.insert("x-padding".into(), json!("A".repeat(OVERSIZED_PADDING)));
    }
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let body = if faults.oversized == Some(true) {
        let chunks: Vec<Result<Vec<u8>, std::convert::Infallible>> =
            bytes.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
        Body::from_stream(futures::stream::iter(chunks))
    } else {
        Body::from(bytes)
    };
    let mut response = Response::new(body);
    *response.status_mut() = reply.status;
    let content_type = if faults.wrong_content_type {
        "text/html; charset=utf-8"
    } else {
        "application/json"
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(challenge) = reply.www_authenticate {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    response
}

#[cfg(test)]
mod tests;
