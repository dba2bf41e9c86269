//! Opaque access tokens, checked at the authorization server's RFC 7662 introspection endpoint
//! (feature `oidc`).
//!
//! The resource server authenticates to the endpoint as a confidential client (HTTP Basic,
//! RFC 7662 section 2.1). `active: false` is answered 401 `invalid_token`; an unreachable or
//! failing endpoint 503, because the token may well be valid. Results are cached no longer than
//! the token's `exp` (and not at all without one).
//!
//! # Example
//!
//! ```no_run
//! use mcp_auth_providers::introspection::Introspection;
//! use mcp_auth_providers::oidc::FetchPolicy;
//!
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let validator = Introspection::new(
//!     "https://auth.example.com/oauth2/introspect".parse()?,
//!     "mcp-resource-server",
//!     std::env::var("INTROSPECTION_SECRET")?,
//! )
//! .audience("https://mcp.example.com/mcp")
//! .build(FetchPolicy::default())?;
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mcp_auth_core::cache::{CacheConfig, CachedValidator};
use mcp_auth_core::clock::{SharedClock, system_clock};
use mcp_auth_core::{
    AuthError, BearerToken, InvalidTokenReason, Principal, SecretBytes, TokenValidator,
    principal_from_claims,
};
use serde_json::{Map, Value};
use url::Url;

use crate::jwt::{ClaimsPolicy, DEFAULT_MAX_TOKEN_LEN};
use crate::oidc::{FetchError, FetchPolicy, Fetcher};

/// RFC 7662 introspection settings.
#[derive(Debug, Clone)]
pub struct Introspection {
    endpoint: Url,
    client_id: String,
    client_secret: SecretBytes,
    audience: Option<String>,
    issuer: Option<String>,
    cache: CacheConfig,
}

impl Introspection {
    /// Introspects at `endpoint`, authenticating as `client_id` with `client_secret`.
    pub fn new(
        endpoint: Url,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            endpoint,
            client_id: client_id.into(),
            client_secret: SecretBytes::new(client_secret.into().into_bytes()),
            audience: None,
            issuer: None,
            cache: CacheConfig::default(),
        }
    }

    /// Requires `aud` in the response to contain `audience` (RFC 8707 audience restriction).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Requires `iss` in the response to equal `issuer`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets the result cache (default: 10,000 entries, 5 minutes, never past `exp`).
    pub fn cache(mut self, cache: CacheConfig) -> Self {
        self.cache = cache;
        self
    }

    /// Builds the validator.
    ///
    /// # Errors
    ///
    /// [`FetchError`] for an endpoint that breaks the fetch policy.
    pub fn build(self, fetch: FetchPolicy) -> Result<Arc<dyn TokenValidator>, FetchError> {
        let fetcher = Fetcher::new(fetch)?;
        fetcher.policy().check_url(&self.endpoint)?;
        let cache = self.cache.clone();
        let endpoint = IntrospectionEndpoint {
            fetcher,
            endpoint: self.endpoint,
            client_id: self.client_id,
            client_secret: self.client_secret,
            audience: self.audience,
            issuer: self.issuer,
            clock: system_clock(),
        };
        Ok(Arc::new(CachedValidator::new(endpoint, cache)))
    }
}

#[derive(Debug)]
struct IntrospectionEndpoint {
    fetcher: Fetcher,
    endpoint: Url,
    client_id: String,
    client_secret: SecretBytes,
    audience: Option<String>,
    issuer: Option<String>,
    clock: SharedClock,
}

impl IntrospectionEndpoint {
    fn check(&self, response: &Map<String, Value>) -> Result<(), InvalidTokenReason> {
        if response.get("active") != Some(&Value::Bool(true)) {
            return Err(InvalidTokenReason::Inactive);
        }
        let now = self.clock.unix_now();
        if let Some(exp) = response.get("exp") {
            let exp = exp
                .as_u64()
                .ok_or(InvalidTokenReason::MissingClaim("exp"))?;
            if exp <= now {
                return Err(InvalidTokenReason::Expired);
            }
        }
        if let Some(nbf) = response.get("nbf") {
            let nbf = nbf
                .as_u64()
                .ok_or(InvalidTokenReason::MissingClaim("nbf"))?;
            if nbf > now {
                return Err(InvalidTokenReason::NotYetValid);
            }
        }
        if let Some(audience) = &self.audience {
            // The same audience rule as for JWTs (one trailing slash tolerated).
            ClaimsPolicy::new(audience.clone()).check_audience(response.get("aud"))?;
        }
        if let Some(issuer) = &self.issuer {
            match response.get("iss").and_then(Value::as_str) {
                Some(iss) if iss == issuer => {}
                Some(_) => return Err(InvalidTokenReason::Issuer),
                None => return Err(InvalidTokenReason::MissingClaim("iss")),
            }
        }
        Ok(())
    }
}

#[async_trait]
impl TokenValidator for IntrospectionEndpoint {
    async fn validate(&self, token: &BearerToken) -> Result<Principal, AuthError> {
        if token.len() > DEFAULT_MAX_TOKEN_LEN {
            return Err(AuthError::InvalidToken(InvalidTokenReason::TooLong));
        }
        let secret = std::str::from_utf8(self.client_secret.expose_secret()).unwrap_or_default();
        let body = self
            .fetcher
            .post_form_json(
                &self.endpoint,
                &[
                    ("token", token.expose_secret()),
                    ("token_type_hint", "access_token"),
                ],
                Some((&self.client_id, secret)),
            )
            .await
            .map_err(|err| match err {
                // Our own request or credentials were refused: a configuration fault, not the
                // token's, and retrying will not help.
                FetchError::Status {
                    status: 400 | 401 | 403,
                    ..
                } => AuthError::Internal(Box::new(err)),
                other => AuthError::Unavailable {
                    retry_after: Some(Duration::from_secs(5)),
                    source: Some(Box::new(other)),
                },
            })?;
        let response: Map<String, Value> =
            serde_json::from_slice(&body).map_err(|e| AuthError::Internal(Box::new(e)))?;
        self.check(&response).map_err(AuthError::InvalidToken)?;
        let mut claims = response;
        claims.remove("active");
        // RFC 7662 names the resource owner in `sub` and, for client-credentials tokens, only
        // the client: fall back to it.
        if !claims.contains_key("sub")
            && let Some(client) = claims.get("client_id").cloned()
        {
            claims.insert("sub".into(), client);
        }
        if !claims.contains_key("preferred_username")
            && let Some(username) = claims.get("username").cloned()
        {
            claims.insert("preferred_username".into(), username);
        }
        principal_from_claims(claims).ok_or(AuthError::InvalidToken(
            InvalidTokenReason::MissingClaim("sub"),
        ))
    }
}
