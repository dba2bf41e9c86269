//! Microsoft Entra ID (Azure AD): v1 and v2 access tokens, single- and multi-tenant.
//!
//! - v2 tokens: `iss` = `https://login.microsoftonline.com/{tid}/v2.0`; v1 tokens: `iss` =
//!   `https://sts.windows.net/{tid}/` (with the trailing slash). Which one an API receives depends
//!   on its manifest's `accessTokenAcceptedVersion`, so both are accepted by default.
//! - Multi-tenant apps (`common`, `organizations`) get tokens from many issuers. The issuer is
//!   still checked, exactly, against the one built from the token's own `tid` (and `tid` against
//!   an optional allow-list); it is never skipped.
//! - `aud` is the application's client id (GUID) or its Application ID URI (`api://...`);
//!   configure both if clients may use either.
//! - ID tokens (no `scp` and no `roles`, or a `nonce`) are refused.
//!
//! # Example
//!
//! ```no_run
//! use mcp_auth_providers::presets::azure::{Azure, Tenants};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let validator = Azure::new(
//!     Tenants::One("72f988bf-86f1-41af-91ab-2d7cd011db47".into()),
//!     "api://mcp-server",
//! )
//! .also_accept_audience("6e74172b-be56-4843-9ff4-e66a39bb12e3")
//! .build()
//! .await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use mcp_auth_core::{InvalidTokenReason, Principal, TokenValidator, principal_from_claims};
use serde_json::{Map, Value};
use url::Url;

use super::{strings, text};
use crate::jwt::{ClaimsPolicy, CompactJws};
use crate::oidc::{ClaimRules, Issuer, IssuerError, IssuerOptions, JwtValidator, KeySource};

/// The public cloud's login authority.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
/// The public cloud's v1 token issuer host.
pub const DEFAULT_V1_ISSUER_HOST: &str = "https://sts.windows.net";

/// Which tenants' tokens are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenants {
    /// One tenant, by id (GUID).
    One(String),
    /// Several tenants, by id.
    List(Vec<String>),
    /// Any tenant (`common`/`organizations` apps). Pair with care: any Entra tenant can then
    /// obtain tokens for your API.
    Any,
}

/// Which token versions are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenVersions {
    /// v1 and v2 (default).
    Both,
    /// v2 only.
    V2,
    /// v1 only.
    V1,
}

/// Entra ID preset.
#[derive(Debug, Clone)]
pub struct Azure {
    tenants: Tenants,
    audiences: Vec<String>,
    versions: TokenVersions,
    authority: String,
    v1_issuer_host: String,
    accept_id_tokens: bool,
    options: IssuerOptions,
}

impl Azure {
    /// Tokens of `tenants` for `audience` (client id or Application ID URI).
    pub fn new(tenants: Tenants, audience: impl Into<String>) -> Self {
        Self {
            tenants,
            audiences: vec![audience.into()],
            versions: TokenVersions::Both,
            authority: DEFAULT_AUTHORITY.to_owned(),
            v1_issuer_host: DEFAULT_V1_ISSUER_HOST.to_owned(),
            accept_id_tokens: false,
            options: IssuerOptions::default(),
        }
    }

    /// Also accepts `audience` in `aud`.
    pub fn also_accept_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Restricts token versions.
    pub fn versions(mut self, versions: TokenVersions) -> Self {
        self.versions = versions;
        self
    }

    /// Sets the login authority and v1 issuer host (national clouds, tests).
    pub fn authority(
        mut self,
        authority: impl Into<String>,
        v1_issuer_host: impl Into<String>,
    ) -> Self {
        self.authority = authority.into().trim_end_matches('/').to_owned();
        self.v1_issuer_host = v1_issuer_host.into().trim_end_matches('/').to_owned();
        self
    }

    /// Accepts ID tokens too (not recommended).
    pub fn accept_id_tokens(mut self) -> Self {
        self.accept_id_tokens = true;
        self
    }

    /// Sets fetch and refresh options.
    pub fn options(mut self, options: IssuerOptions) -> Self {
        self.options = options;
        self
    }

    /// Fetches the keys and builds the validator.
    ///
    /// # Errors
    ///
    /// [`IssuerError`].
    pub async fn build(self) -> Result<Arc<dyn TokenValidator>, IssuerError> {
        // Discovery through one tenant (or `common`) gives the key set all tenants share.
        let discovery_tenant = match &self.tenants {
            Tenants::One(tid) => tid.clone(),
            Tenants::List(list) => list.first().cloned().unwrap_or_else(|| "common".to_owned()),
            Tenants::Any => "common".to_owned(),
        };
        let keys = if discovery_tenant == "common" {
            let jwks = Url::parse(&format!("{}/common/discovery/v2.0/keys", self.authority))
                .map_err(|_| crate::oidc::DiscoveryError::InvalidIssuer(self.authority.clone()))?;
            Issuer::with_jwks_uri(
                &format!("{}/common/v2.0", self.authority),
                jwks,
                self.options.clone(),
            )
            .await?
        } else {
            Issuer::discover(
                &format!("{}/{discovery_tenant}/v2.0", self.authority),
                self.options.clone(),
            )
            .await?
        };
        let mut policy = ClaimsPolicy::new(self.audiences[0].clone());
        for audience in &self.audiences[1..] {
            policy = policy.also_accept_audience(audience.clone());
        }
        let rules = AzureRules {
            tenants: self.tenants,
            versions: self.versions,
            authority: self.authority,
            v1_issuer_host: self.v1_issuer_host,
            accept_id_tokens: self.accept_id_tokens,
        };
        // No fixed `iss` in the policy: the rules check it against the token's own tenant.
        Ok(Arc::new(
            JwtValidator::new(KeySource::Remote(keys.keys().clone()), policy)
                .rules(Arc::new(rules))
                .named("azure"),
        ))
    }
}

#[derive(Debug)]
struct AzureRules {
    tenants: Tenants,
    versions: TokenVersions,
    authority: String,
    v1_issuer_host: String,
    accept_id_tokens: bool,
}

/// Whether `tid` has the shape of a tenant id (a GUID), so it can be put into an issuer URL.
pub(crate) fn is_guid(tid: &str) -> bool {
    let groups: Vec<&str> = tid.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl ClaimRules for AzureRules {
    fn check(
        &self,
        _jws: &CompactJws<'_>,
        claims: &Map<String, Value>,
    ) -> Result<(), InvalidTokenReason> {
        let tid = text(claims, "tid")
            .filter(|t| is_guid(t))
            .ok_or(InvalidTokenReason::MissingClaim("tid"))?;
        let tenant_ok = match &self.tenants {
            Tenants::One(one) => one.eq_ignore_ascii_case(tid),
            Tenants::List(list) => list.iter().any(|t| t.eq_ignore_ascii_case(tid)),
            Tenants::Any => true,
        };
        if !tenant_ok {
            return Err(InvalidTokenReason::Issuer);
        }
        let iss = text(claims, "iss").ok_or(InvalidTokenReason::MissingClaim("iss"))?;
        let v2 = format!("{}/{tid}/v2.0", self.authority);
        let v1 = format!("{}/{tid}/", self.v1_issuer_host);
        let issuer_ok = match self.versions {
            TokenVersions::Both => iss == v2 || iss == v1,
            TokenVersions::V2 => iss == v2,
            TokenVersions::V1 => iss == v1,
        };
        if !issuer_ok {
            return Err(InvalidTokenReason::Issuer);
        }
        let delegated_or_app = claims.contains_key("scp") || claims.contains_key("roles");
        if !self.accept_id_tokens && (!delegated_or_app || claims.contains_key("nonce")) {
            return Err(InvalidTokenReason::WrongTokenType);
        }
        Ok(())
    }

    fn principal(&self, claims: Map<String, Value>) -> Option<Principal> {
        let tid = text(&claims, "tid").map(str::to_owned);
        // v1 tokens name the user in upn or unique_name, v2 in preferred_username.
        let username = text(&claims, "preferred_username")
            .or_else(|| text(&claims, "upn"))
            .or_else(|| text(&claims, "unique_name"))
            .map(str::to_owned);
        let client = text(&claims, "azp")
            .or_else(|| text(&claims, "appid"))
            .map(str::to_owned);
        let groups = strings(&claims, "groups");
        let mut builder = principal_from_claims(claims)?.into_builder().groups(groups);
        if let Some(tid) = tid {
            builder = builder.tenant(tid);
        }
        if let Some(username) = username {
            builder = builder.preferred_username(username);
        }
        if let Some(client) = client {
            builder = builder.client_id(client);
        }
        Some(builder.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_must_be_guids() {
        assert!(is_guid("72f988bf-86f1-41af-91ab-2d7cd011db47"));
        assert!(!is_guid("common"));
        assert!(!is_guid("72f988bf-86f1-41af-91ab-2d7cd011db4/"));
        assert!(!is_guid("../../evil"));
    }
}
