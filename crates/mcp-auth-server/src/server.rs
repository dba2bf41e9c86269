//! The whole authorization server behind one call: [`AuthorizationServer::handle`] routes a
//! [`Request`] to its endpoint and returns the [`Response`]. Adapters mount it
//! (`mcp_auth_axum::authorization_server_router`); nothing here depends on a web framework.
//!
//! # Routes
//!
//! Paths are the issuer's path followed by the endpoint's ([`metadata::paths`]), so an issuer
//! `https://example.com/tenant` serves its token endpoint at `/tenant/token`.
//!
//! | path | methods | CORS | rate limit (default) |
//! |---|---|---|---|
//! | every [`Issuer::well_known_routes`] path | `GET`, `HEAD`, `OPTIONS` | yes | none |
//! | `/jwks.json` | `GET`, `HEAD`, `OPTIONS` | yes | none |
//! | `/register` | `POST`, `OPTIONS` | yes | 10/min per IP |
//! | `/authorize` | `GET`, `POST` | no | 60/min per IP |
//! | `/token` | `POST`, `OPTIONS` | yes | 30/min in bursts of 10 per client and IP; 120/min per IP |
//! | `/revoke` | `POST`, `OPTIONS` | yes | 60/min per IP |
//! | `/introspect` | `POST` | no | 300/min per IP |
//!
//! CORS answers let any origin call (`Access-Control-Allow-Origin: *`) and never allow
//! credentials (cookies): browser-based MCP clients discover the server, register and redeem
//! codes from their own origin. The authorization endpoint is navigated to, not fetched, and
//! introspection is for resource servers, so neither answers cross-origin requests.
//!
//! An unknown path is answered `404` with a JSON body; a known path with another method, `405`
//! with `Allow`. A request over a rate limit is answered `429` with
//! `{"error": "temporarily_unavailable"}` and `Retry-After`.
//!
//! # Caller addresses
//!
//! Rate limits count requests per caller IP address, which the adapter passes to
//! [`AuthorizationServer::handle`]. Requests whose address is unknown (`None`) all share one
//! bucket per endpoint, so an adapter that cannot tell addresses apart throttles everyone
//! together rather than no one: pass the peer address (behind a reverse proxy, the address
//! the proxy reports).
//!
//! # In-process validation
//!
//! [`AuthorizationServer::validator`] checks the server's own access tokens for one resource
//! without fetching the JWKS: an MCP endpoint mounted beside the server protects itself with
//! it (see [`AuthorizationServer::protected_resource`] for its metadata).
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use mcp_auth_server::metadata::Issuer;
//! use mcp_auth_server::server::{AuthorizationServer, ServerConfig};
//! use mcp_auth_server::store::MemoryStore;
//! use mcp_auth_server::user::StaticUsers;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let issuer = Issuer::parse("https://auth.example.com").unwrap();
//! let config = ServerConfig::new(issuer, "https://mcp.example.com/mcp");
//! let users = StaticUsers::new([]).unwrap();
//! let server = AuthorizationServer::start(config, Arc::new(MemoryStore::new()), Arc::new(users))
//!     .await
//!     .unwrap();
//!
//! let request = http::Request::get("/.well-known/oauth-authorization-server")
//!     .body(bytes::Bytes::new())
//!     .unwrap();
//! let response = server.handle(request, None).await;
//! assert_eq!(response.status(), 200);
//! let document: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
//! assert_eq!(document["token_endpoint"], "https://auth.example.com/token");
//! # });
//! ```

mod validator;

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HeaderValue,
    RETRY_AFTER,
};
use http::{HeaderMap, Method, StatusCode};
use mcp_auth_core::clock::{SharedClock, system_clock};
use mcp_auth_core::metadata::{ProtectedResource, ResourceUri};
use mcp_auth_core::{Scopes, TokenValidator};

use crate::authorize::{
    AuthorizeDeps, AuthorizeSessions, CookiePolicy, DEFAULT_CODE_LIFETIME, authorize_endpoint,
};
#[cfg(feature = "cimd")]
use crate::client::cimd::{CimdPolicy, CimdResolver};
use crate::client::registration::{
    PreconfiguredClient, PreconfiguredClientError, RegistrationPolicy,
};
use crate::error::{ErrorCode, OAuthError};
use crate::http::{MAX_BODY, Request, Response, json};
use crate::introspect::introspect_endpoint;
use crate::keys::{KeyError, SigningAlgorithm, SigningKeys};
use crate::metadata::{self, AuthorizationServerMetadata, Issuer, paths};
use crate::rate_limit::{Limit, RateLimitKey, RateLimiter};
use crate::register::{RegisterDeps, register_endpoint};
use crate::revoke::revoke_endpoint;
use crate::store::{Store, StoreError};
use crate::token::{
    AccessTokenIssuer, DEFAULT_REFRESH_FAMILY_LIFETIME, DEFAULT_REFRESH_TOKEN_LIFETIME, TokenDeps,
    token_endpoint,
};
use crate::user::{LoginThrottle, ThrottlePolicy, ThrottledAuthenticator, UserAuthenticator};

/// Rate-limit endpoint names, as counted by the [`RateLimiter`].
mod endpoint {
    pub(super) const TOKEN: &str = "token";
    pub(super) const TOKEN_IP: &str = "token_ip";
    pub(super) const REGISTER: &str = "register";
    pub(super) const AUTHORIZE: &str = "authorize";
    pub(super) const REVOKE: &str = "revoke";
    pub(super) const INTROSPECT: &str = "introspect";
}

/// Request rates per endpoint; `None` leaves an endpoint unlimited.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// The token endpoint, per client (as named by the request) and IP address: 30 per
    /// minute in bursts of 10.
    pub token: Option<Limit>,
    /// The token endpoint, per IP address whatever the client: 120 per minute (a caller
    /// varying `client_id` still meets this one).
    pub token_per_ip: Option<Limit>,
    /// The registration endpoint, per IP address: 10 per minute.
    pub register: Option<Limit>,
    /// The authorization endpoint (page views, logins, consents), per IP address: 60 per
    /// minute.
    pub authorize: Option<Limit>,
    /// The revocation endpoint, per IP address: 60 per minute.
    pub revoke: Option<Limit>,
    /// The introspection endpoint, per IP address: 300 per minute.
    pub introspect: Option<Limit>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            token: Some(Limit::per_minute(30).with_burst(10)),
            token_per_ip: Some(Limit::per_minute(120)),
            register: Some(Limit::per_minute(10)),
            authorize: Some(Limit::per_minute(60)),
            revoke: Some(Limit::per_minute(60)),
            introspect: Some(Limit::per_minute(300)),
        }
    }
}

impl RateLimits {
    /// No limit on any endpoint (tests, or a proxy in front that limits already).
    pub fn unlimited() -> Self {
        Self {
            token: None,
            token_per_ip: None,
            register: None,
            authorize: None,
            revoke: None,
            introspect: None,
        }
    }

    fn limiter(&self, clock: SharedClock) -> RateLimiter {
        let mut limiter = RateLimiter::new(clock);
        for (name, limit) in [
            (endpoint::TOKEN, self.token),
            (endpoint::TOKEN_IP, self.token_per_ip),
            (endpoint::REGISTER, self.register),
            (endpoint::AUTHORIZE, self.authorize),
            (endpoint::REVOKE, self.revoke),
            (endpoint::INTROSPECT, self.introspect),
        ] {
            if let Some(limit) = limit {
                limiter = limiter.with_limit(name, limit);
            }
        }
        limiter
    }
}

/// The authorization server's configuration. Start from [`ServerConfig::new`] and set the
/// fields to change.
#[derive(Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The issuer identifier: `iss` of the tokens, `issuer` of the metadata, and the base of
    /// every endpoint URL.
    pub issuer: Issuer,
    /// The resources (RFC 8707) tokens may be issued for; the first is the audience of tokens
    /// requested without a `resource` parameter. At least one.
    pub resources: Vec<String>,
    /// The scopes clients may request, listed in the metadata.
    pub scopes_supported: Scopes,
    /// The scopes granted when a request names none.
    pub default_scopes: Scopes,
    /// How long access tokens live (default 1 hour).
    pub access_token_lifetime: Duration,
    /// How long authorization codes live (default [`DEFAULT_CODE_LIFETIME`], 60 s).
    pub code_lifetime: Duration,
    /// How long each refresh token may be redeemed (default
    /// [`DEFAULT_REFRESH_TOKEN_LIFETIME`], 30 days); rotation issues a new one.
    pub refresh_token_lifetime: Duration,
    /// How long a refresh token family (a grant) lives at most, however often it is rotated
    /// (default [`DEFAULT_REFRESH_FAMILY_LIFETIME`], 90 days).
    pub refresh_family_lifetime: Duration,
    /// The algorithm of generated signing keys (default ES256).
    pub signing_algorithm: SigningAlgorithm,
    /// Whether clients may register at `/register` (RFC 7591; default yes). When not, the
    /// metadata names no registration endpoint and the path answers 403 (see
    /// [`crate::register`]).
    pub dynamic_registration: bool,
    /// What dynamically registered and preconfigured clients may declare.
    pub registration_policy: RegistrationPolicy,
    /// Clients stored (or updated) at start.
    pub preconfigured_clients: Vec<PreconfiguredClient>,
    /// Client ID metadata documents: `Some` to accept `client_id`s that are `https` URLs
    /// (default: with [`CimdPolicy::default`]).
    #[cfg(feature = "cimd")]
    pub cimd: Option<CimdPolicy>,
    /// Request rates per endpoint.
    pub rate_limits: RateLimits,
    /// Throttling of failed logins at the authorization endpoint: `Some` wraps the
    /// [`UserAuthenticator`] given to [`AuthorizationServer::start`] in a
    /// [`ThrottledAuthenticator`] (default); `None` uses it as is (it throttles itself).
    pub login_throttle: Option<ThrottlePolicy>,
    /// How the authorization endpoint's cookies are marked: [`CookiePolicy::secure`], or
    /// [`CookiePolicy::insecure_http_cookies`] when the issuer is plain `http` (development).
    pub cookie_policy: CookiePolicy,
    /// The clock: token times, code expiry, rate limits. The system clock by default.
    pub clock: SharedClock,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("issuer", &self.issuer)
            .field("resources", &self.resources)
            .field("scopes_supported", &self.scopes_supported)
            .field("dynamic_registration", &self.dynamic_registration)
            .field("preconfigured_clients", &self.preconfigured_clients.len())
            .field("rate_limits", &self.rate_limits)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// The defaults for `issuer`, issuing tokens for `resource`.
    pub fn new(issuer: Issuer, resource: impl Into<String>) -> Self {
        let cookie_policy = if issuer.as_str().starts_with("http://") {
            CookiePolicy::insecure_http_cookies()
        } else {
            CookiePolicy::secure()
        };
        Self {
            issuer,
            resources: vec![resource.into()],
            scopes_supported: Scopes::new(),
            default_scopes: Scopes::new(),
            access_token_lifetime: crate::token::DEFAULT_ACCESS_TOKEN_LIFETIME,
            code_lifetime: DEFAULT_CODE_LIFETIME,
            refresh_token_lifetime: DEFAULT_REFRESH_TOKEN_LIFETIME,
            refresh_family_lifetime: DEFAULT_REFRESH_FAMILY_LIFETIME,
            signing_algorithm: SigningAlgorithm::default(),
            dynamic_registration: true,
            registration_policy: RegistrationPolicy::new(),
            preconfigured_clients: Vec::new(),
            #[cfg(feature = "cimd")]
            cimd: Some(CimdPolicy::default()),
            rate_limits: RateLimits::default(),
            login_throttle: Some(ThrottlePolicy::default()),
            cookie_policy,
            clock: system_clock(),
        }
    }

    fn check_resources(&self) -> Result<(), ServerError> {
        if self.resources.is_empty() {
            return Err(ServerError::NoResource);
        }
        let http_issuer = self.issuer.as_str().starts_with("http://");
        for resource in &self.resources {
            let parsed = if http_issuer {
                ResourceUri::insecure_http(resource)
            } else {
                ResourceUri::parse(resource)
            };
            if parsed.is_err() {
                return Err(ServerError::InvalidResource(resource.clone()));
            }
        }
        Ok(())
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// [`ServerConfig::resources`] is empty.
    #[error("the authorization server needs at least one resource")]
    NoResource,
    /// A resource is not an absolute `https` URI without fragment (`http` is accepted when
    /// the issuer is `http`).
    #[error("invalid resource URI: {0}")]
    InvalidResource(String),
    /// The signing keys could not be loaded or created.
    #[error("signing keys: {0}")]
    Keys(#[from] KeyError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A preconfigured client was refused.
    #[error("preconfigured client {client_id}: {source}")]
    PreconfiguredClient {
        /// The client's identifier.
        client_id: String,
        /// Why.
        #[source]
        source: PreconfiguredClientError,
    },
}

/// Which endpoint a path serves.
#[derive(Debug, Clone)]
enum Route {
    /// A metadata document, serialized once.
    Metadata(Bytes),
    Jwks,
    Register,
    Authorize,
    Token,
    Revoke,
    Introspect,
}

impl Route {
    /// The methods answered, besides `OPTIONS` for CORS routes.
    fn methods(&self) -> &'static [Method] {
        match self {
            Self::Metadata(_) | Self::Jwks => &[Method::GET, Method::HEAD],
            Self::Authorize => &[Method::GET, Method::POST],
            Self::Register | Self::Token | Self::Revoke | Self::Introspect => &[Method::POST],
        }
    }

    /// The `Allow` header value.
    fn allow(&self) -> &'static str {
        match self {
            Self::Metadata(_) | Self::Jwks => "GET, HEAD, OPTIONS",
            Self::Authorize => "GET, POST",
            Self::Register | Self::Token | Self::Revoke => "POST, OPTIONS",
            Self::Introspect => "POST",
        }
    }

    /// The CORS `Access-Control-Allow-Methods` and `-Headers`, for routes open to browsers.
    fn cors(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::Metadata(_) | Self::Jwks => Some(("GET, HEAD, OPTIONS", "mcp-protocol-version")),
            Self::Register | Self::Token | Self::Revoke => {
                Some(("POST, OPTIONS", "authorization, content-type"))
            }
            Self::Authorize | Self::Introspect => None,
        }
    }
}

struct Inner {
    config: ServerConfig,
    store: Arc<dyn Store>,
    users: Arc<dyn UserAuthenticator>,
    keys: Arc<SigningKeys>,
    access_tokens: AccessTokenIssuer,
    routes: HashMap<String, Route>,
    limiter: RateLimiter,
    register: RegisterDeps,
    sessions: AuthorizeSessions,
    authorize_path: String,
    #[cfg(feature = "cimd")]
    cimd: Option<CimdResolver>,
}

/// The embedded authorization server: cheap to clone (one shared state).
#[derive(Clone)]
pub struct AuthorizationServer {
    inner: Arc<Inner>,
}

impl fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("issuer", &self.inner.config.issuer.as_str())
            .field("paths", &self.paths())
            .finish_non_exhaustive()
    }
}

/// The path part of an endpoint URL of `issuer`.
fn endpoint_path(issuer: &Issuer, path: &str) -> String {
    let url = issuer.endpoint(path);
    url::Url::parse(&url).map_or_else(|_| path.to_owned(), |u| u.path().to_owned())
}

fn unix_now(clock: &SharedClock) -> u64 {
    clock
        .now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl AuthorizationServer {
    /// Starts the server: checks the configuration, loads the signing keys from `store`
    /// (generating and storing one on first start) and stores the preconfigured clients.
    ///
    /// # Errors
    ///
    /// [`ServerError`].
    pub async fn start(
        config: ServerConfig,
        store: Arc<dyn Store>,
        users: Arc<dyn UserAuthenticator>,
    ) -> Result<Self, ServerError> {
        config.check_resources()?;
        let now = unix_now(&config.clock);
        let keys = Arc::new(SigningKeys::load(&*store, config.signing_algorithm, now).await?);
        for client in &config.preconfigured_clients {
            let record = client
                .clone()
                .into_record(&config.registration_policy, now)
                .map_err(|source| ServerError::PreconfiguredClient {
                    client_id: client.client_id.clone(),
                    source,
                })?;
            store.put_client(record).await?;
        }
        let users: Arc<dyn UserAuthenticator> = match &config.login_throttle {
            Some(policy) => Arc::new(ThrottledAuthenticator::new(
                users,
                LoginThrottle::new(*policy, config.clock.clone()),
            )),
            None => users,
        };
        let access_tokens = AccessTokenIssuer::new(config.issuer.as_str(), keys.clone())
            .lifetime(config.access_token_lifetime);
        let routes = Self::routes(&config, &keys);
        let limiter = config.rate_limits.limiter(config.clock.clone());
        let register = RegisterDeps {
            store: store.clone(),
            policy: config.registration_policy.clone(),
            enabled: config.dynamic_registration,
        };
        #[cfg(feature = "cimd")]
        let cimd = config.cimd.clone().map(CimdResolver::new);
        let authorize_path = endpoint_path(&config.issuer, paths::AUTHORIZE);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                store,
                users,
                keys,
                access_tokens,
                routes,
                limiter,
                register,
                sessions: AuthorizeSessions::new(),
                authorize_path,
                #[cfg(feature = "cimd")]
                cimd,
            }),
        })
    }

    fn metadata_builder(config: &ServerConfig, keys: &SigningKeys) -> metadata::MetadataBuilder {
        #[cfg(feature = "cimd")]
        let cimd = config.cimd.is_some();
        #[cfg(not(feature = "cimd"))]
        let cimd = false;
        AuthorizationServerMetadata::builder(config.issuer.clone())
            .scopes_supported(config.scopes_supported.clone())
            .signing_algorithm(keys.active().alg())
            .registration_endpoint(config.dynamic_registration.then_some(paths::REGISTER))
            .client_id_metadata_documents(cimd)
    }

    fn routes(config: &ServerConfig, keys: &SigningKeys) -> HashMap<String, Route> {
        let builder = Self::metadata_builder(config, keys);
        let mut routes = HashMap::new();
        for route in config.issuer.well_known_routes() {
            let document = Bytes::from(builder.document(route.document).to_json());
            routes.insert(route.path, Route::Metadata(document));
        }
        let issuer = &config.issuer;
        for (path, route) in [
            (paths::JWKS, Route::Jwks),
            (paths::REGISTER, Route::Register),
            (paths::AUTHORIZE, Route::Authorize),
            (paths::TOKEN, Route::Token),
            (paths::REVOKE, Route::Revoke),
            (paths::INTROSPECT, Route::Introspect),
        ] {
            routes.insert(endpoint_path(issuer, path), route);
        }
        routes
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &Issuer {
        &self.inner.config.issuer
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The signing keys (to rotate them: [`SigningKeys::rotate`] with this server's store).
    pub fn signing_keys(&self) -> &Arc<SigningKeys> {
        &self.inner.keys
    }

    /// The minter of this server's access tokens.
    pub fn access_token_issuer(&self) -> &AccessTokenIssuer {
        &self.inner.access_tokens
    }

    /// The RFC 8414 metadata document.
    pub fn metadata(&self) -> AuthorizationServerMetadata {
        Self::metadata_builder(&self.inner.config, &self.inner.keys).oauth_authorization_server()
    }

    /// Every path the server answers (on the issuer's origin), sorted: mount each of them.
    pub fn paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self.inner.routes.keys().cloned().collect();
        paths.sort();
        paths
    }

    /// A validator of this server's access tokens for `resource` (their `aud`), in process:
    /// signature with the keys published now (following rotations), `iss` this issuer,
    /// `exp`/`nbf`, and the RFC 9068 header `typ` `at+jwt`.
    pub fn validator(&self, resource: &str) -> Arc<dyn TokenValidator> {
        Arc::new(validator::LocalValidator::new(
            self.inner.keys.clone(),
            self.inner.config.issuer.as_str().to_owned(),
            resource.to_owned(),
            self.inner.config.clock.clone(),
        ))
    }

    /// The protected resource metadata (RFC 9728) of an MCP endpoint whose tokens this server
    /// issues: it names this issuer and the server's supported scopes.
    pub fn protected_resource(&self, resource: ResourceUri) -> ProtectedResource {
        let scopes = &self.inner.config.scopes_supported;
        let resource =
            ProtectedResource::new(resource).authorization_server(self.issuer().as_str());
        if scopes.is_empty() {
            resource
        } else {
            resource.scopes_supported(scopes.clone())
        }
    }

    /// Answers one request. `client_ip` is the caller's address, for rate limits and login
    /// throttling (see the [module docs](self)). The body must already be read, at most
    /// [`MAX_BODY`] bytes (a larger one is answered 413).
    pub async fn handle(&self, req: Request, client_ip: Option<IpAddr>) -> Response {
        let Some(route) = self.inner.routes.get(req.uri().path()) else {
            return json(
                StatusCode::NOT_FOUND,
                &OAuthError::new(ErrorCode::InvalidRequest, "no such endpoint"),
            );
        };
        let cors = route.cors();
        if req.method() == Method::OPTIONS
            && let Some((methods, headers)) = cors
        {
            return preflight(methods, headers);
        }
        if !route.methods().contains(req.method()) {
            let mut response = json(
                StatusCode::METHOD_NOT_ALLOWED,
                &OAuthError::new(ErrorCode::InvalidRequest, "method not allowed"),
            );
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static(route.allow()));
            return response;
        }
        let mut response = if req.body().len() > MAX_BODY {
            json(
                StatusCode::PAYLOAD_TOO_LARGE,
                &OAuthError::new(ErrorCode::InvalidRequest, "the request body is too large"),
            )
        } else if let Some(refused) = self.check_rate(route, &req, client_ip) {
            refused
        } else {
            self.dispatch(route, req, client_ip).await
        };
        if cors.is_some() {
            response
                .headers_mut()
                .insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        }
        response
    }

    async fn dispatch(&self, route: &Route, req: Request, client_ip: Option<IpAddr>) -> Response {
        let now = unix_now(&self.inner.config.clock);
        let head = req.method() == Method::HEAD;
        let mut response = match route {
            Route::Metadata(document) => public_json(document.clone(), "public, max-age=3600"),
            Route::Jwks => {
                let body = Bytes::from(self.inner.keys.jwks(now).to_string());
                public_json(body, "public, max-age=300")
            }
            Route::Register => register_endpoint(req, &self.inner.register, now).await,
            Route::Authorize => {
                let inner = &*self.inner;
                let config = &inner.config;
                let deps = AuthorizeDeps {
                    store: &*inner.store,
                    users: &*inner.users,
                    issuer: config.issuer.as_str(),
                    endpoint_path: &inner.authorize_path,
                    allowed_resources: &config.resources,
                    scopes_supported: &config.scopes_supported,
                    default_scopes: &config.default_scopes,
                    sessions: &inner.sessions,
                    cookies: config.cookie_policy,
                    client_ip,
                    #[cfg(feature = "cimd")]
                    cimd: inner.cimd.as_ref(),
                    code_lifetime: config.code_lifetime,
                };
                authorize_endpoint(&req, &deps, now).await
            }
            Route::Token => token_endpoint(&req, &self.token_deps(), now).await,
            Route::Revoke => revoke_endpoint(&req, &self.token_deps()).await,
            Route::Introspect => introspect_endpoint(&req, &self.token_deps(), now).await,
        };
        if head {
            *response.body_mut() = Bytes::new();
        }
        response
    }

    fn token_deps(&self) -> TokenDeps<'_> {
        let inner = &*self.inner;
        let config = &inner.config;
        let deps = TokenDeps {
            refresh_lifetime: config.refresh_token_lifetime,
            refresh_family_lifetime: config.refresh_family_lifetime,
            ..TokenDeps::new(
                &*inner.store,
                &inner.access_tokens,
                &config.resources,
                &config.scopes_supported,
            )
        };
        #[cfg(feature = "cimd")]
        let deps = match &inner.cimd {
            Some(resolver) => deps.with_cimd(resolver),
            None => deps,
        };
        deps
    }

    /// Counts the request against its endpoint's limits: the 429 answer if over one.
    fn check_rate(
        &self,
        route: &Route,
        req: &Request,
        client_ip: Option<IpAddr>,
    ) -> Option<Response> {
        let ip = client_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let limiter = &self.inner.limiter;
        let keys = match route {
            Route::Metadata(_) | Route::Jwks => return None,
            Route::Register => vec![RateLimitKey::new(endpoint::REGISTER, None, ip)],
            Route::Authorize => vec![RateLimitKey::new(endpoint::AUTHORIZE, None, ip)],
            Route::Revoke => vec![RateLimitKey::new(endpoint::REVOKE, None, ip)],
            Route::Introspect => vec![RateLimitKey::new(endpoint::INTROSPECT, None, ip)],
            Route::Token => {
                let client = named_client(req);
                vec![
                    RateLimitKey::new(endpoint::TOKEN_IP, None, ip),
                    RateLimitKey::new(endpoint::TOKEN, client.as_deref(), ip),
                ]
            }
        };
        for key in &keys {
            if let Err(retry) = limiter.check(key) {
                let mut response = OAuthError::new(
                    ErrorCode::TemporarilyUnavailable,
                    "too many requests; retry later",
                )
                .response();
                if let Ok(value) = HeaderValue::from_str(&retry.header_value()) {
                    response.headers_mut().insert(RETRY_AFTER, value);
                }
                return Some(response);
            }
        }
        None
    }
}

/// The client a token request names: the HTTP Basic user (RFC 6749 section 2.3.1, form-encoded)
/// or the `client_id` form parameter. Unauthenticated: only for rate-limit keys.
fn named_client(req: &Request) -> Option<String> {
    if let Some(id) = basic_user(req.headers()) {
        return Some(id);
    }
    let pairs = crate::http::form(req.body()).ok()?;
    crate::http::param(&pairs, "client_id").map(str::to_owned)
}

fn basic_user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(credentials.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, _) = decoded.split_once(':')?;
    url::form_urlencoded::parse(format!("u={user}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

/// A public, cacheable JSON document.
fn public_json(body: Bytes, cache_control: &'static str) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache_control));
    response
}

/// The answer to a CORS preflight: 204, any origin, no credentials.
fn preflight(methods: &'static str, headers: &'static str) -> Response {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let h = response.headers_mut();
    h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    h.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(headers),
    );
    h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    response
}
