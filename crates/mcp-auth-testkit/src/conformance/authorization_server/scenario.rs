//! The authorization server every adapter mounts: the same configuration, clients, user,
//! signing key and clock, so that two adapters can only differ by their mount.

use std::sync::Arc;

use mcp_auth_core::clock::ManualClock;
use mcp_auth_server::client::registration::PreconfiguredClient;
use mcp_auth_server::keys::SigningKey;
use mcp_auth_server::metadata::Issuer;
use mcp_auth_server::rate_limit::Limit;
use mcp_auth_server::server::{AuthorizationServer, RateLimits, ServerConfig};
use mcp_auth_server::store::{MemoryStore, Store as _, TokenHash};
use mcp_auth_server::user::{HashParams, Password, StaticUser, StaticUsers, hash_password_with};

use crate::conformance::RESOURCE_URI;
use crate::oidc::TestKey;

/// The issuer of every scenario unless told otherwise. Fixed (not the listening address), so
/// that two servers on different ports publish identical documents and redirects.
pub const ISSUER: &str = "https://auth.example.com";
/// An issuer with a path: its metadata is at the RFC 8414 path-inserted locations, its
/// endpoints under `/tenant`.
pub const TENANT_ISSUER: &str = "https://auth.example.com/tenant";
/// The time of every server's clock (2026-01-01T00:00:00Z), in unix seconds.
pub const NOW: u64 = 1_767_225_600;

/// A preconfigured public client (`none`) registered for `authorization_code` and
/// `refresh_token`, redirecting to [`REDIRECT_URI`].
pub const PUBLIC_CLIENT: &str = "conformance-public";
/// A preconfigured confidential client (`client_secret_basic`, secret
/// [`CONFIDENTIAL_SECRET`]) registered for `authorization_code` and `client_credentials`.
pub const CONFIDENTIAL_CLIENT: &str = "conformance-confidential";
/// The secret of [`CONFIDENTIAL_CLIENT`].
pub const CONFIDENTIAL_SECRET: &str = "conformance-secret-7c1d0e2f9a8b";
/// The redirect URI of both preconfigured clients (a loopback URI nothing listens on: the
/// suite reads the redirects, it never follows them).
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

/// The one user's username.
pub const USERNAME: &str = "alice";
/// The one user's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// A PKCE code verifier (RFC 7636 appendix B).
pub const CODE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// The `S256` challenge of [`CODE_VERIFIER`] (RFC 7636 appendix B).
pub const CODE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// How the authorization server of a case is configured: [`ISSUER`] issuing tokens for
/// [`RESOURCE_URI`], scopes `mcp:tools greet` (`mcp:tools` by default), the preconfigured
/// clients and user above, client ID metadata documents with the default policy, no rate
/// limit, default login throttling.
#[derive(Debug, Clone)]
pub struct Scenario {
    issuer: String,
    register_limit: Option<u32>,
}

impl Default for Scenario {
    fn default() -> Self {
        Self::new()
    }
}

impl Scenario {
    /// The scenario at [`ISSUER`].
    pub fn new() -> Self {
        Self {
            issuer: ISSUER.to_owned(),
            register_limit: None,
        }
    }

    /// The same server at another issuer (e.g. [`TENANT_ISSUER`]).
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        issuer.clone_into(&mut self.issuer);
        self
    }

    /// Limits `/register` to `per_minute` requests per minute and caller address.
    pub fn with_register_limit(mut self, per_minute: u32) -> Self {
        self.register_limit = Some(per_minute);
        self
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Starts the server: a fresh [`MemoryStore`] holding the fixed signing key
    /// ([`TestKey::Ed25519`]), then [`AuthorizationServer::start`].
    ///
    /// # Panics
    ///
    /// When the configuration is refused (a bug of the suite).
    pub async fn start(&self) -> AuthorizationServer {
        let issuer = Issuer::parse(&self.issuer).unwrap_or_else(|e| panic!("{}: {e}", self.issuer));
        let mut config = ServerConfig::new(issuer, RESOURCE_URI);
        config.scopes_supported = scopes("mcp:tools greet");
        config.default_scopes = scopes("mcp:tools");
        config.preconfigured_clients = vec![public_client(), confidential_client()];
        config.rate_limits = RateLimits::unlimited();
        config.rate_limits.register = self.register_limit.map(Limit::per_minute);
        config.clock = Arc::new(ManualClock::at_unix(NOW));

        let store = MemoryStore::new();
        // A stored active key is loaded instead of generating one: both adapters' servers
        // publish the same key.
        let pem = std::str::from_utf8(TestKey::Ed25519.private_pem()).unwrap_or_default();
        let key = SigningKey::from_pkcs8_pem(pem, NOW)
            .unwrap_or_else(|e| panic!("the Ed25519 fixture key: {e}"));
        store
            .put_signing_key(key.to_record())
            .await
            .unwrap_or_else(|e| panic!("store the signing key: {e}"));

        AuthorizationServer::start(config, Arc::new(store), Arc::new(users()))
            .await
            .unwrap_or_else(|e| panic!("start the authorization server: {e}"))
    }
}

fn scopes(s: &str) -> mcp_auth_core::Scopes {
    s.parse()
        .unwrap_or_else(|e| panic!("invalid scopes {s:?}: {e:?}"))
}

fn public_client() -> PreconfiguredClient {
    PreconfiguredClient {
        client_id: PUBLIC_CLIENT.to_owned(),
        client_secret_hash: None,
        redirect_uris: vec![REDIRECT_URI.to_owned()],
        client_name: Some("Conformance <Public>".to_owned()),
        grant_types: Some(vec![
            "authorization_code".to_owned(),
            "refresh_token".to_owned(),
        ]),
        response_types: None,
        token_endpoint_auth_method: Some("none".to_owned()),
        scope: None,
        application_type: None,
    }
}

fn confidential_client() -> PreconfiguredClient {
    PreconfiguredClient {
        client_id: CONFIDENTIAL_CLIENT.to_owned(),
        client_secret_hash: Some(TokenHash::of(CONFIDENTIAL_SECRET)),
        redirect_uris: vec![REDIRECT_URI.to_owned()],
        client_name: None,
        grant_types: Some(vec![
            "authorization_code".to_owned(),
            "client_credentials".to_owned(),
        ]),
        response_types: None,
        token_endpoint_auth_method: Some("client_secret_basic".to_owned()),
        scope: None,
        application_type: None,
    }
}

/// [`USERNAME`] with [`PASSWORD`], hashed with the smallest Argon2id cost (the suite compares
/// answers, not hashing strength, and runs many logins).
fn users() -> StaticUsers {
    let params = HashParams::new(8, 1, 1).unwrap_or_else(|e| panic!("Argon2 parameters: {e}"));
    let hash = hash_password_with(&Password::new(PASSWORD), &params)
        .unwrap_or_else(|e| panic!("hash the password: {e}"));
    StaticUsers::new([StaticUser::new(USERNAME, hash).with_email("alice@example.com")])
        .unwrap_or_else(|e| panic!("users: {e}"))
}
