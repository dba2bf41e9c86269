//! Validation against an OpenID Connect or OAuth 2.0 issuer's published keys (feature `oidc`).
//!
//! # Example
//!
//! ```no_run
//! use mcp_auth_providers::oidc::{Issuer, IssuerOptions};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Discovers the key set, checks the issuer matches exactly, fetches the keys once.
//! let validator = Issuer::discover("https://auth.example.com", IssuerOptions::default())
//!     .await?
//!     .validator("https://mcp.example.com/mcp");
//! # Ok(()) }
//! ```

pub mod discovery;
pub mod fetch;
pub mod key_set;
pub mod validator;

use std::sync::Arc;

use mcp_auth_core::TokenValidator;
use url::Url;

pub use discovery::{DiscoveryError, ProviderMetadata, discover};
pub use fetch::{FetchError, FetchPolicy, Fetcher};
pub use key_set::{KeySetError, RefreshPolicy, RemoteKeySet};
pub use validator::{AccessTokenRules, ClaimRules, JwtValidator, KeySource};

use crate::jwt::ClaimsPolicy;

/// How to reach an issuer.
#[derive(Debug, Clone, Default)]
pub struct IssuerOptions {
    /// Fetch limits.
    pub fetch: FetchPolicy,
    /// Refresh timings.
    pub refresh: RefreshPolicy,
}

/// Why an issuer could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerError {
    /// Discovery failed.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// The key set could not be fetched or is empty.
    #[error("key set: {0}")]
    KeySet(#[from] KeySetError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

/// An issuer whose metadata and keys were fetched and checked.
#[derive(Debug, Clone)]
pub struct Issuer {
    metadata: ProviderMetadata,
    keys: RemoteKeySet,
    fetcher: Fetcher,
}

impl Issuer {
    /// Discovers `issuer` and fetches its key set once, so configuration errors show at
    /// startup: unreachable issuer, issuer mismatch, empty key set.
    ///
    /// # Errors
    ///
    /// [`IssuerError`] saying which.
    pub async fn discover(issuer: &str, options: IssuerOptions) -> Result<Self, IssuerError> {
        let fetcher = Fetcher::new(options.fetch)?;
        let metadata = discover(&fetcher, issuer).await?;
        let keys = RemoteKeySet::new(metadata.jwks_uri.clone(), fetcher.clone(), options.refresh);
        keys.refresh().await?;
        Ok(Self {
            metadata,
            keys,
            fetcher,
        })
    }

    /// An issuer whose `jwks_uri` is known (no discovery); the keys are fetched once now.
    ///
    /// # Errors
    ///
    /// [`IssuerError`].
    pub async fn with_jwks_uri(
        issuer: &str,
        jwks_uri: Url,
        options: IssuerOptions,
    ) -> Result<Self, IssuerError> {
        let fetcher = Fetcher::new(options.fetch)?;
        fetcher.policy().check_url(&jwks_uri)?;
        let keys = RemoteKeySet::new(jwks_uri.clone(), fetcher.clone(), options.refresh);
        keys.refresh().await?;
        let source = jwks_uri.clone();
        Ok(Self {
            metadata: ProviderMetadata {
                issuer: issuer.to_owned(),
                jwks_uri,
                introspection_endpoint: None,
                source,
            },
            keys,
            fetcher,
        })
    }

    /// The metadata.
    pub fn metadata(&self) -> &ProviderMetadata {
        &self.metadata
    }

    /// The key set.
    pub fn keys(&self) -> &RemoteKeySet {
        &self.keys
    }

    /// The HTTP client used for this issuer.
    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// A validator for access tokens of this issuer whose `aud` contains `audience`.
    pub fn validator(&self, audience: &str) -> Arc<dyn TokenValidator> {
        Arc::new(self.jwt_validator(ClaimsPolicy::new(audience)))
    }

    /// A [`JwtValidator`] with this issuer's keys, requiring `iss` to be this issuer on top of
    /// `policy`.
    pub fn jwt_validator(&self, policy: ClaimsPolicy) -> JwtValidator {
        JwtValidator::new(
            KeySource::Remote(self.keys.clone()),
            policy.issuer(self.metadata.issuer.clone()),
        )
    }
}
