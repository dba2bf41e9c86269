//! Google: ID tokens (JWT) and Google's opaque access tokens (`ya29.`).
//!
//! Google does not issue JWT access tokens for third-party APIs. Clients present either an ID
//! token, verified locally (`iss` is `https://accounts.google.com` or `accounts.google.com`,
//! `aud` must be your OAuth client id), or an opaque access token, verified through Google's
//! tokeninfo endpoint (its `aud`, and `azp` when present, must be your client id). Tokeninfo
//! results are cached no longer than the token lives.
//!
//! # Example
//!
//! ```no_run
//! use mcp_auth_providers::presets::google::Google;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let validator = Google::new("1234567890-abc.apps.googleusercontent.com")
//!     .hosted_domain("example.com")
//!     .build()
//!     .await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mcp_auth_core::cache::{CacheConfig, CachedValidator};
use mcp_auth_core::{
    AuthError, BearerToken, InvalidTokenReason, Principal, TokenValidator, principal_from_claims,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

use super::text;
use crate::jwt::{ClaimsPolicy, CompactJws, DEFAULT_MAX_TOKEN_LEN};
use crate::oidc::{
    ClaimRules, FetchError, Fetcher, Issuer, IssuerError, IssuerOptions, JwtValidator, KeySource,
};

/// Google's issuer.
pub const ISSUER: &str = "https://accounts.google.com";
/// Google's tokeninfo endpoint.
pub const TOKENINFO: &str = "https://oauth2.googleapis.com/tokeninfo";

/// Google preset.
#[derive(Debug, Clone)]
pub struct Google {
    client_id: String,
    issuer: String,
    tokeninfo: String,
    hosted_domains: Vec<String>,
    options: IssuerOptions,
}

impl Google {
    /// Tokens for OAuth client `client_id`.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            issuer: ISSUER.to_owned(),
            tokeninfo: TOKENINFO.to_owned(),
            hosted_domains: Vec::new(),
            options: IssuerOptions::default(),
        }
    }

    /// Uses another issuer and tokeninfo endpoint (tests).
    pub fn endpoints(mut self, issuer: impl Into<String>, tokeninfo: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self.tokeninfo = tokeninfo.into();
        self
    }

    /// Accepts only users of these Google Workspace domains (`hd` claim, ID tokens).
    pub fn hosted_domain(mut self, domain: impl Into<String>) -> Self {
        self.hosted_domains.push(domain.into());
        self
    }

    /// Sets fetch and refresh options.
    pub fn options(mut self, options: IssuerOptions) -> Self {
        self.options = options;
        self
    }

    /// Discovers Google's keys and builds the validator.
    ///
    /// # Errors
    ///
    /// [`IssuerError`].
    pub async fn build(self) -> Result<Arc<dyn TokenValidator>, IssuerError> {
        let issuer = Issuer::discover(&self.issuer, self.options.clone()).await?;
        let tokeninfo = Url::parse(&self.tokeninfo)
            .map_err(|_| crate::oidc::DiscoveryError::InvalidIssuer(self.tokeninfo.clone()))?;
        issuer.fetcher().policy().check_url(&tokeninfo)?;
        // Google's ID tokens name the issuer with or without the scheme.
        let bare_issuer = self
            .issuer
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .to_owned();
        let rules_domains = self.hosted_domains.clone();
        let rules = GoogleIdTokenRules {
            issuers: vec![self.issuer.clone(), bare_issuer],
            hosted_domains: self.hosted_domains,
        };
        let id_tokens = JwtValidator::new(
            KeySource::Remote(issuer.keys().clone()),
            ClaimsPolicy::new(self.client_id.clone()),
        )
        .rules(Arc::new(rules))
        .named("google");
        let access_tokens = CachedValidator::new(
            TokenInfo {
                fetcher: issuer.fetcher().clone(),
                endpoint: tokeninfo,
                client_id: self.client_id,
                hosted_domains: rules_domains,
            },
            CacheConfig::default().ttl(Duration::from_secs(300)),
        );
        Ok(Arc::new(GoogleValidator {
            id_tokens,
            access_tokens,
        }))
    }
}

#[derive(Debug)]
struct GoogleIdTokenRules {
    issuers: Vec<String>,
    hosted_domains: Vec<String>,
}

impl ClaimRules for GoogleIdTokenRules {
    fn check(
        &self,
        _jws: &CompactJws<'_>,
        claims: &Map<String, Value>,
    ) -> Result<(), InvalidTokenReason> {
        match text(claims, "iss") {
            Some(iss) if self.issuers.iter().any(|i| i == iss) => {}
            Some(_) => return Err(InvalidTokenReason::Issuer),
            None => return Err(InvalidTokenReason::MissingClaim("iss")),
        }
        if !self.hosted_domains.is_empty()
            && !text(claims, "hd").is_some_and(|hd| self.hosted_domains.iter().any(|d| d == hd))
        {
            return Err(InvalidTokenReason::Audience);
        }
        Ok(())
    }
}

/// Routes JWTs to local verification and opaque tokens to tokeninfo.
#[derive(Debug)]
struct GoogleValidator {
    id_tokens: JwtValidator,
    access_tokens: CachedValidator<TokenInfo>,
}

#[async_trait]
impl TokenValidator for GoogleValidator {
    async fn validate(&self, token: &BearerToken) -> Result<Principal, AuthError> {
        if token.expose_secret().split('.').count() == 3 {
            self.id_tokens.validate(token).await
        } else {
            self.access_tokens.validate(token).await
        }
    }

    fn cache_epoch(&self) -> u64 {
        self.id_tokens.cache_epoch()
    }
}

/// Google's tokeninfo answer for an access token.
#[derive(Debug, Deserialize)]
struct TokenInfoResponse {
    aud: Option<String>,
    azp: Option<String>,
    sub: Option<String>,
    scope: Option<String>,
    /// Seconds since the epoch, as a JSON string.
    exp: Option<Value>,
    email: Option<String>,
}

#[derive(Debug)]
struct TokenInfo {
    fetcher: Fetcher,
    endpoint: Url,
    client_id: String,
    hosted_domains: Vec<String>,
}

#[async_trait]
impl TokenValidator for TokenInfo {
    async fn validate(&self, token: &BearerToken) -> Result<Principal, AuthError> {
        let secret = token.expose_secret();
        if secret.len() > DEFAULT_MAX_TOKEN_LEN {
            return Err(AuthError::InvalidToken(InvalidTokenReason::TooLong));
        }
        let body = match self
            .fetcher
            .post_form_json(&self.endpoint, &[("access_token", secret)], None)
            .await
        {
            Ok(body) => body,
            // Google answers 400 for tokens that are invalid, expired or revoked.
            Err(FetchError::Status { status: 400, .. }) => {
                return Err(AuthError::InvalidToken(InvalidTokenReason::Inactive));
            }
            Err(err) => {
                return Err(AuthError::Unavailable {
                    retry_after: Some(Duration::from_secs(5)),
                    source: Some(Box::new(err)),
                });
            }
        };
        let info: TokenInfoResponse =
            serde_json::from_slice(&body).map_err(|e| AuthError::Internal(Box::new(e)))?;
        if info.aud.as_deref() != Some(self.client_id.as_str())
            || info.azp.as_deref().is_some_and(|azp| azp != self.client_id)
        {
            return Err(AuthError::InvalidToken(InvalidTokenReason::Audience));
        }
        let exp = match &info.exp {
            Some(Value::String(s)) => s.parse::<u64>().ok(),
            Some(Value::Number(n)) => n.as_u64(),
            _ => None,
        }
        .ok_or(AuthError::InvalidToken(InvalidTokenReason::MissingClaim(
            "exp",
        )))?;
        let now = mcp_auth_core::clock::Clock::unix_now(&mcp_auth_core::clock::SystemClock);
        if exp <= now {
            return Err(AuthError::InvalidToken(InvalidTokenReason::Expired));
        }
        // A Workspace restriction applies to access tokens too: tokeninfo names the account's
        // email, whose domain must be one of the allowed ones.
        if !self.hosted_domains.is_empty() {
            let domain = info
                .email
                .as_deref()
                .and_then(|e| e.rsplit_once('@'))
                .map(|(_, d)| d);
            if !domain.is_some_and(|d| {
                self.hosted_domains
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(d))
            }) {
                return Err(AuthError::InvalidToken(InvalidTokenReason::Audience));
            }
        }
        let sub = info
            .sub
            .ok_or(AuthError::InvalidToken(InvalidTokenReason::MissingClaim(
                "sub",
            )))?;
        let mut claims = Map::new();
        claims.insert("sub".into(), sub.into());
        claims.insert("iss".into(), ISSUER.into());
        claims.insert("aud".into(), self.client_id.clone().into());
        claims.insert("exp".into(), exp.into());
        claims.insert("client_id".into(), self.client_id.clone().into());
        if let Some(email) = info.email {
            claims.insert("email".into(), email.into());
        }
        if let Some(scope) = &info.scope {
            claims.insert("scope".into(), scope.clone().into());
        }
        principal_from_claims(claims).ok_or(AuthError::InvalidToken(
            InvalidTokenReason::MissingClaim("sub"),
        ))
    }
}
