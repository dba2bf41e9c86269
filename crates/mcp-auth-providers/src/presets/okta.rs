//! Okta: custom authorization servers and the org authorization server.
//!
//! Access tokens for your API come from a *custom* authorization server
//! (`https://{domain}/oauth2/{id}`, `default` unless you made another); the *org* server
//! (`https://{domain}`) issues tokens meant for Okta's own APIs, which you should accept only if
//! you know why. Okta access tokens carry `cid` (the client), `uid`, `scp` (an array) and, when
//! configured, `groups`; ID tokens carry no `cid` and are refused.
//!
//! # Example
//!
//! ```no_run
//! use mcp_auth_providers::presets::okta::Okta;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let validator = Okta::new("https://dev-123456.okta.com", "api://mcp-server")
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

/// Which Okta authorization server issues the tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationServer {
    /// A custom authorization server by id (`default` is the one every org has).
    Custom(String),
    /// The org authorization server.
    Org,
}

/// Okta preset.
#[derive(Debug, Clone)]
pub struct Okta {
    domain: String,
    server: AuthorizationServer,
    audience: String,
    client_ids: Vec<String>,
    accept_id_tokens: bool,
    options: IssuerOptions,
}

impl Okta {
    /// Tokens from `domain` (`https://dev-123456.okta.com`) through the `default` custom
    /// authorization server, for `audience` (the server's Audience setting, e.g.
    /// `api://mcp-server`).
    pub fn new(domain: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            domain: domain.into().trim_end_matches('/').to_owned(),
            server: AuthorizationServer::Custom("default".to_owned()),
            audience: audience.into(),
            client_ids: Vec::new(),
            accept_id_tokens: false,
            options: IssuerOptions::default(),
        }
    }

    /// Chooses the authorization server.
    pub fn authorization_server(mut self, server: AuthorizationServer) -> Self {
        self.server = server;
        self
    }

    /// Accepts only tokens whose `cid` is one of these clients.
    pub fn allowed_client_ids(mut self, ids: Vec<String>) -> Self {
        self.client_ids = ids;
        self
    }

    /// Accepts ID tokens too (not recommended: they are meant for the client, not for APIs).
    pub fn accept_id_tokens(mut self) -> Self {
        self.accept_id_tokens = true;
        self
    }

    /// Sets fetch and refresh options.
    pub fn options(mut self, options: IssuerOptions) -> Self {
        self.options = options;
        self
    }

    /// The issuer tokens must carry.
    pub fn issuer(&self) -> String {
        match &self.server {
            AuthorizationServer::Custom(id) => format!("{}/oauth2/{id}", self.domain),
            AuthorizationServer::Org => self.domain.clone(),
        }
    }

    /// Discovers the issuer, fetches its keys and builds the validator.
    ///
    /// # Errors
    ///
    /// [`IssuerError`] when the issuer is unreachable, mismatched or has no keys.
    pub async fn build(self) -> Result<Arc<dyn TokenValidator>, IssuerError> {
        let issuer = Issuer::discover(&self.issuer(), self.options.clone()).await?;
        let rules = OktaRules {
            client_ids: self.client_ids,
            accept_id_tokens: self.accept_id_tokens,
        };
        Ok(Arc::new(
            issuer
                .jwt_validator(ClaimsPolicy::new(self.audience))
                .rules(Arc::new(rules))
                .named("okta"),
        ))
    }
}

#[derive(Debug)]
struct OktaRules {
    client_ids: Vec<String>,
    accept_id_tokens: bool,
}

impl ClaimRules for OktaRules {
    fn check(
        &self,
        _jws: &CompactJws<'_>,
        claims: &Map<String, Value>,
    ) -> Result<(), InvalidTokenReason> {
        match text(claims, "cid") {
            // Okta ID tokens have no `cid`: the client is their `aud`.
            None if self.accept_id_tokens => Ok(()),
            None => Err(InvalidTokenReason::WrongTokenType),
            Some(cid) if self.client_ids.is_empty() || self.client_ids.iter().any(|c| c == cid) => {
                Ok(())
            }
            Some(_) => Err(InvalidTokenReason::Audience),
        }
    }

    fn principal(&self, claims: Map<String, Value>) -> Option<Principal> {
        let cid = text(&claims, "cid").map(str::to_owned);
        let groups = strings(&claims, "groups");
        let mut builder = principal_from_claims(claims)?.into_builder().groups(groups);
        if let Some(cid) = cid {
            builder = builder.client_id(cid);
        }
        Some(builder.build())
    }
}
