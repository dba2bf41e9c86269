//! JWT access-token validation with asymmetric keys: a remote key set (OIDC) or a fixed one.
//!
//! The steps, in order: length cap, compact-JWS structure and header rules
//! ([`crate::jwt::compact`]), `alg` on the allow-list, key by `kid` (refetching within limits),
//! key type bound to `alg`, signature, registered claims ([`crate::jwt::claims`]), then the
//! provider's own rules ([`ClaimRules`]) and its mapping to a [`Principal`].

use std::sync::Arc;

use async_trait::async_trait;
use jsonwebtoken::Algorithm;
use mcp_auth_core::{AuthError, BearerToken, InvalidTokenReason, Principal, TokenValidator};
use serde_json::{Map, Value};

use super::key_set::RemoteKeySet;
use crate::jwk::JwkSet;
use crate::jwt::{ClaimsPolicy, CompactJws, DEFAULT_MAX_TOKEN_LEN};

/// Most keys tried for a token without `kid` (bounds the work an attacker can cause).
const MAX_KEYS_WITHOUT_KID: usize = 4;

/// The asymmetric algorithms accepted by default.
pub const ASYMMETRIC_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// A provider's rules beyond the registered claims, and its claim mapping.
pub trait ClaimRules: Send + Sync + std::fmt::Debug + 'static {
    /// Checks provider-specific claims (token type, tenant, client binding).
    ///
    /// # Errors
    ///
    /// The reason the token is refused.
    fn check(
        &self,
        jws: &CompactJws<'_>,
        claims: &Map<String, Value>,
    ) -> Result<(), InvalidTokenReason>;

    /// Maps verified claims into a principal: by default, the mapping of
    /// [`mcp_auth_core::principal_from_claims`].
    fn principal(&self, claims: Map<String, Value>) -> Option<Principal> {
        crate::jwt::claims::principal_from_claims(claims)
    }
}

/// Where verification keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A remote key set, discovered or configured.
    Remote(RemoteKeySet),
    /// A fixed set (keys from configuration).
    Static(Arc<JwkSet>),
}

impl KeySource {
    async fn keys_for(&self, kid: Option<&str>) -> Result<Arc<JwkSet>, AuthError> {
        match self {
            Self::Remote(remote) => remote.keys_for(kid).await,
            Self::Static(set) => Ok(set.clone()),
        }
    }

    fn epoch(&self) -> u64 {
        match self {
            Self::Remote(remote) => remote.epoch(),
            Self::Static(_) => 0,
        }
    }
}

/// Validates JWT access tokens signed with asymmetric keys.
#[derive(Debug, Clone)]
pub struct JwtValidator {
    keys: KeySource,
    policy: ClaimsPolicy,
    rules: Arc<dyn ClaimRules>,
    algorithms: Vec<Algorithm>,
    max_token_len: usize,
    name: &'static str,
}

/// Rules that check nothing beyond the registered claims, except that ID tokens are refused:
/// `nonce`, `at_hash` and `c_hash` appear only in OpenID Connect ID tokens.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessTokenRules {
    /// Accept ID tokens too.
    pub accept_id_tokens: bool,
}

impl ClaimRules for AccessTokenRules {
    fn check(
        &self,
        jws: &CompactJws<'_>,
        claims: &Map<String, Value>,
    ) -> Result<(), InvalidTokenReason> {
        let at_jwt = jws.typ().is_some_and(|t| {
            t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !self.accept_id_tokens && !at_jwt && looks_like_id_token(claims) {
            return Err(InvalidTokenReason::WrongTokenType);
        }
        Ok(())
    }
}

/// Whether claims carry a marker only ID tokens have.
pub fn looks_like_id_token(claims: &Map<String, Value>) -> bool {
    ["nonce", "at_hash", "c_hash"]
        .iter()
        .any(|c| claims.contains_key(*c))
}

impl JwtValidator {
    /// A validator with `keys` and `policy`, refusing ID tokens, accepting every asymmetric
    /// algorithm (each only with a key of its own type).
    pub fn new(keys: KeySource, policy: ClaimsPolicy) -> Self {
        Self {
            keys,
            policy,
            rules: Arc::new(AccessTokenRules::default()),
            algorithms: ASYMMETRIC_ALGORITHMS.to_vec(),
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            name: "oidc",
        }
    }

    /// Sets provider rules.
    pub fn rules(mut self, rules: Arc<dyn ClaimRules>) -> Self {
        self.rules = rules;
        self
    }

    /// Restricts the algorithms (symmetric ones are never accepted here).
    pub fn algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.algorithms = algorithms
            .iter()
            .copied()
            .filter(|a| ASYMMETRIC_ALGORITHMS.contains(a))
            .collect();
        self
    }

    /// Sets the longest token accepted (default 8 KiB).
    pub fn max_token_len(mut self, len: usize) -> Self {
        self.max_token_len = len;
        self
    }

    /// Names the provider in logs.
    pub fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// The claim policy.
    pub fn policy(&self) -> &ClaimsPolicy {
        &self.policy
    }

    /// The key source.
    pub fn key_source(&self) -> &KeySource {
        &self.keys
    }

    /// Validates `token`.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] with the reason, or [`AuthError::Unavailable`] when no keys
    /// can be had.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let jws = CompactJws::parse(token, self.max_token_len).map_err(AuthError::InvalidToken)?;
        let alg = jws.alg();
        if !self.algorithms.contains(&alg) {
            return Err(AuthError::InvalidToken(
                InvalidTokenReason::DisallowedAlgorithm,
            ));
        }
        let keys = self.keys.keys_for(jws.kid()).await?;
        let verified = match jws.kid() {
            Some(kid) => {
                let key = keys
                    .by_kid(kid)
                    .ok_or(AuthError::InvalidToken(InvalidTokenReason::UnknownKey))?;
                // The key's own type decides which algorithms it verifies (RFC 8725 3.1): an
                // RSA key named in an HS256 token is never used as an HMAC secret.
                if !key.allows(alg) {
                    return Err(AuthError::InvalidToken(
                        InvalidTokenReason::DisallowedAlgorithm,
                    ));
                }
                key.verify(jws.signing_input(), jws.signature(), alg)
            }
            None => keys
                .allowing(alg)
                .take(MAX_KEYS_WITHOUT_KID)
                .any(|key| key.verify(jws.signing_input(), jws.signature(), alg)),
        };
        if !verified {
            return Err(AuthError::InvalidToken(InvalidTokenReason::BadSignature));
        }
        let claims = jws.claims().map_err(AuthError::InvalidToken)?;
        self.policy
            .check(&claims)
            .map_err(AuthError::InvalidToken)?;
        self.rules
            .check(&jws, &claims)
            .map_err(AuthError::InvalidToken)?;
        self.rules.principal(claims).ok_or(AuthError::InvalidToken(
            InvalidTokenReason::MissingClaim("sub"),
        ))
    }
}

#[async_trait]
impl TokenValidator for JwtValidator {
    async fn validate(&self, token: &BearerToken) -> Result<Principal, AuthError> {
        self.verify(token.expose_secret()).await.inspect_err(|err| {
            tracing::debug!(provider = self.name, token = %token.fingerprint(), error = %err, "token refused");
        })
    }

    fn cache_epoch(&self) -> u64 {
        self.keys.epoch()
    }
}
