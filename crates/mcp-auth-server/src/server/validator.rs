//! In-process validation of the server's own access tokens: what a resource server would do
//! with the JWKS, without the network hop, following key rotations.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::UNIX_EPOCH;

use async_trait::async_trait;
use mcp_auth_core::clock::SharedClock;
use mcp_auth_core::{AuthError, BearerToken, InvalidTokenReason, Principal, TokenValidator};
use mcp_auth_providers::jwt::{ClaimsPolicy, CompactJws};
use mcp_auth_providers::oidc::{ClaimRules, JwtValidator, KeySource};
use serde_json::{Map, Value};

use crate::keys::SigningKeys;

/// RFC 9068 section 4: the header `typ` must be `at+jwt` (or `application/at+jwt`), which
/// keeps ID tokens and other JWTs signed by the same keys from passing as access tokens.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AtJwtRules;

impl ClaimRules for AtJwtRules {
    fn check(
        &self,
        jws: &CompactJws<'_>,
        _claims: &Map<String, Value>,
    ) -> Result<(), InvalidTokenReason> {
        let at_jwt = jws.typ().is_some_and(|t| {
            t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if at_jwt {
            Ok(())
        } else {
            Err(InvalidTokenReason::WrongTokenType)
        }
    }
}

/// The `kid`s of the keys published at one instant, the identity of a JWK Set.
type KeyIds = Vec<String>;

/// Validates the server's access tokens for one resource against the signing keys published
/// now: the [`JwtValidator`] is rebuilt whenever the published keys change (a rotation, or a
/// retired key reaching its `not_after`).
pub(crate) struct LocalValidator {
    keys: Arc<SigningKeys>,
    issuer: String,
    resource: String,
    clock: SharedClock,
    current: RwLock<Option<(KeyIds, Arc<JwtValidator>)>>,
}

impl std::fmt::Debug for LocalValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalValidator")
            .field("issuer", &self.issuer)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

impl LocalValidator {
    pub(crate) fn new(
        keys: Arc<SigningKeys>,
        issuer: String,
        resource: String,
        clock: SharedClock,
    ) -> Self {
        Self {
            keys,
            issuer,
            resource,
            clock,
            current: RwLock::new(None),
        }
    }

    fn now(&self) -> u64 {
        self.clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    fn published_kids(&self, now: u64) -> KeyIds {
        self.keys
            .published(now)
            .iter()
            .map(|k| k.kid().to_owned())
            .collect()
    }

    /// The validator over the keys published now, rebuilt if they changed.
    fn validator(&self) -> Arc<JwtValidator> {
        let now = self.now();
        let kids = self.published_kids(now);
        if let Some((cached, validator)) =
            &*self.current.read().unwrap_or_else(PoisonError::into_inner)
            && *cached == kids
        {
            return validator.clone();
        }
        let policy = ClaimsPolicy::new(self.resource.clone())
            .issuer(self.issuer.clone())
            .clock(self.clock.clone());
        let validator = Arc::new(
            JwtValidator::new(KeySource::Static(Arc::new(self.keys.jwk_set(now))), policy)
                .rules(Arc::new(AtJwtRules))
                .named("mcp-auth-server"),
        );
        *self.current.write().unwrap_or_else(PoisonError::into_inner) =
            Some((kids, validator.clone()));
        validator
    }
}

#[async_trait]
impl TokenValidator for LocalValidator {
    async fn validate(&self, token: &BearerToken) -> Result<Principal, AuthError> {
        let validator = self.validator();
        validator.validate(token).await
    }

    /// Moves whenever the set of published keys changes, so a cache in front of this validator
    /// forgets tokens signed by a key that is no longer published.
    fn cache_epoch(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        self.published_kids(self.now()).hash(&mut hasher);
        hasher.finish()
    }
}
