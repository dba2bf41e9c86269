//! Amazon Cognito user pools.
//!
//! Cognito access tokens have no `aud`: they name the app client in `client_id`, which is
//! checked instead. `token_use` says what a token is (`access` or `id`) and is required: access
//! tokens by default, ID tokens (whose `aud` is the client id) only when asked for. Groups come
//! from `cognito:groups`, the username from `username` (access) or `cognito:username` (ID).
//!
//! # Example
//!
//! ```no_run
//! use mcp_auth_providers::presets::cognito::Cognito;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let validator = Cognito::new("eu-west-1", "eu-west-1_AbCdEf123", "1example23456789")
//!     .build()
//!     .await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use mcp_auth_core::{InvalidTokenReason, Principal, TokenValidator, principal_from_claims};
use serde_json::{Map, Value};

use super::{strings, text};
use crate::jwt::{ClaimsPolicy, CompactJws};
use crate::oidc::{ClaimRules, Issuer, IssuerError, IssuerOptions};

/// Which Cognito tokens are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUse {
    /// Access tokens only (the default).
    Access,
    /// ID tokens only.
    Id,
    /// Either.
    Both,
}

/// Cognito preset.
#[derive(Debug, Clone)]
pub struct Cognito {
    issuer: String,
    client_ids: Vec<String>,
    token_use: TokenUse,
    options: IssuerOptions,
}

impl Cognito {
    /// Tokens of user pool `pool_id` in `region` for app client `client_id`.
    pub fn new(region: &str, pool_id: &str, client_id: impl Into<String>) -> Self {
        Self::with_issuer(Self::issuer_for(region, pool_id), client_id)
    }

    /// The issuer of user pool `pool_id` in `region`.
    pub fn issuer_for(region: &str, pool_id: &str) -> String {
        format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}")
    }

    /// The issuer tokens must carry.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Tokens of the pool with issuer `issuer` (for tests and private endpoints).
    pub fn with_issuer(issuer: impl Into<String>, client_id: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            client_ids: vec![client_id.into()],
            token_use: TokenUse::Access,
            options: IssuerOptions::default(),
        }
    }

    /// Also accepts tokens of another app client.
    pub fn also_client(mut self, client_id: impl Into<String>) -> Self {
        self.client_ids.push(client_id.into());
        self
    }

    /// Chooses which tokens are accepted.
    pub fn token_use(mut self, token_use: TokenUse) -> Self {
        self.token_use = token_use;
        self
    }

    /// Sets fetch and refresh options.
    pub fn options(mut self, options: IssuerOptions) -> Self {
        self.options = options;
        self
    }

    /// Discovers the pool, fetches its keys and builds the validator.
    ///
    /// # Errors
    ///
    /// [`IssuerError`].
    pub async fn build(self) -> Result<Arc<dyn TokenValidator>, IssuerError> {
        let issuer = Issuer::discover(&self.issuer, self.options.clone()).await?;
        let rules = CognitoRules {
            client_ids: self.client_ids,
            token_use: self.token_use,
        };
        Ok(Arc::new(
            issuer
                .jwt_validator(ClaimsPolicy::without_audience())
                .rules(Arc::new(rules))
                .named("cognito"),
        ))
    }
}

#[derive(Debug)]
struct CognitoRules {
    client_ids: Vec<String>,
    token_use: TokenUse,
}

impl CognitoRules {
    fn is_ours(&self, client: Option<&str>) -> bool {
        client.is_some_and(|c| self.client_ids.iter().any(|ours| ours == c))
    }
}

impl ClaimRules for CognitoRules {
    fn check(
        &self,
        _jws: &CompactJws<'_>,
        claims: &Map<String, Value>,
    ) -> Result<(), InvalidTokenReason> {
        match (text(claims, "token_use"), self.token_use) {
            (Some("access"), TokenUse::Access | TokenUse::Both) => {
                // Access tokens bind the client in `client_id`, not `aud`.
                if self.is_ours(text(claims, "client_id")) {
                    Ok(())
                } else {
                    Err(InvalidTokenReason::Audience)
                }
            }
            (Some("id"), TokenUse::Id | TokenUse::Both) => {
                let aud_ok = match claims.get("aud") {
                    Some(Value::String(aud)) => self.is_ours(Some(aud)),
                    Some(Value::Array(list)) => list.iter().any(|a| self.is_ours(a.as_str())),
                    _ => return Err(InvalidTokenReason::MissingClaim("aud")),
                };
                if aud_ok {
                    Ok(())
                } else {
                    Err(InvalidTokenReason::Audience)
                }
            }
            (Some(_), _) => Err(InvalidTokenReason::WrongTokenType),
            (None, _) => Err(InvalidTokenReason::MissingClaim("token_use")),
        }
    }

    fn principal(&self, claims: Map<String, Value>) -> Option<Principal> {
        let username = text(&claims, "username")
            .or_else(|| text(&claims, "cognito:username"))
            .map(str::to_owned);
        let groups = strings(&claims, "cognito:groups");
        let client = text(&claims, "client_id").map(str::to_owned);
        let mut builder = principal_from_claims(claims)?.into_builder().groups(groups);
        if let Some(username) = username {
            builder = builder.preferred_username(username);
        }
        if let Some(client) = client {
            builder = builder.client_id(client);
        }
        Some(builder.build())
    }
}
