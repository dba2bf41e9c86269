//! Several issuers behind one resource: each token goes to the validator of the issuer it
//! names, which verifies it with that issuer's keys only (feature `oidc`).
//!
//! Routing reads `iss` from the unverified payload; that is safe because the chosen validator
//! then verifies the signature with its own keys and checks `iss` again, so a token that claims
//! issuer A but is signed with a key of issuer B is refused.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use mcp_auth_core::test_util::StaticValidator;
//! use mcp_auth_providers::multi_issuer::MultiIssuer;
//!
//! let router = MultiIssuer::new()
//!     .issuer("https://a.example", Arc::new(StaticValidator::new()))
//!     .issuer("https://b.example", Arc::new(StaticValidator::new()));
//! assert_eq!(router.issuers().count(), 2);
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcp_auth_core::{AuthError, BearerToken, InvalidTokenReason, Principal, TokenValidator};
use serde::Deserialize;

use crate::jwt::DEFAULT_MAX_TOKEN_LEN;

/// Routes tokens to per-issuer validators by `iss`.
#[derive(Debug, Default, Clone)]
pub struct MultiIssuer {
    routes: HashMap<String, Arc<dyn TokenValidator>>,
}

#[derive(Deserialize)]
struct IssuerOnly {
    iss: Option<String>,
}

impl MultiIssuer {
    /// No issuers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes tokens whose `iss` is exactly `issuer` to `validator`.
    pub fn issuer(mut self, issuer: impl Into<String>, validator: Arc<dyn TokenValidator>) -> Self {
        self.routes.insert(issuer.into(), validator);
        self
    }

    /// The configured issuers.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.routes.keys().map(String::as_str)
    }

    fn route(&self, token: &str) -> Result<&Arc<dyn TokenValidator>, InvalidTokenReason> {
        if token.len() > DEFAULT_MAX_TOKEN_LEN {
            return Err(InvalidTokenReason::TooLong);
        }
        let payload = token
            .split('.')
            .nth(1)
            .ok_or(InvalidTokenReason::Malformed)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| InvalidTokenReason::Malformed)?;
        let claims: IssuerOnly =
            serde_json::from_slice(&json).map_err(|_| InvalidTokenReason::Malformed)?;
        let iss = claims.iss.ok_or(InvalidTokenReason::MissingClaim("iss"))?;
        self.routes.get(&iss).ok_or(InvalidTokenReason::Issuer)
    }
}

#[async_trait]
impl TokenValidator for MultiIssuer {
    async fn validate(&self, token: &BearerToken) -> Result<Principal, AuthError> {
        let validator = self
            .route(token.expose_secret())
            .map_err(AuthError::InvalidToken)?;
        validator.validate(token).await
    }

    fn cache_epoch(&self) -> u64 {
        // Epochs only grow, so the sum moves whenever any of them does.
        self.routes
            .values()
            .map(|v| v.cache_epoch())
            .fold(0u64, u64::wrapping_add)
    }
}
