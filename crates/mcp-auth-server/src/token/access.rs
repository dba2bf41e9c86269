//! JWT access tokens (RFC 9068), signed with the server's active key.
//!
//! A token's header is `{"alg": <the active key's>, "typ": "at+jwt", "kid": <its thumbprint>}`
//! and its claims are, in this order:
//!
//! | claim | value |
//! |---|---|
//! | `iss` | the issuer identifier, exactly as in the metadata document |
//! | `sub` | the resource owner (for `client_credentials`, the client) |
//! | `aud` | the resource the token is for (RFC 8707), a single string |
//! | `client_id` | the client it was issued to |
//! | `scope` | the granted scopes, space-delimited; absent when none were granted |
//! | `auth_time` | when the user authenticated, if known |
//! | `iat`, `exp` | issue time and expiry (default lifetime [`DEFAULT_ACCESS_TOKEN_LIFETIME`]) |
//! | `jti` | 128 random bits, base64url |
//!
//! A resource server verifies them with the server's JWKS, as any RFC 9068 verifier would; in
//! process that is [`JwtValidator`](mcp_auth_providers::oidc::JwtValidator) over
//! [`SigningKeys::jwk_set`].
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use mcp_auth_server::keys::{SigningAlgorithm, SigningKeys};
//! use mcp_auth_server::store::MemoryStore;
//! use mcp_auth_server::token::{AccessTokenClaims, AccessTokenIssuer};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let now = 1_700_000_000;
//! let keys = SigningKeys::load(&MemoryStore::new(), SigningAlgorithm::Es256, now).await.unwrap();
//! let issuer = AccessTokenIssuer::new("https://auth.example.com", Arc::new(keys));
//! let minted = issuer
//!     .mint(
//!         &AccessTokenClaims {
//!             subject: "alice".into(),
//!             client_id: "client-1".into(),
//!             scopes: "mcp:tools".parse().unwrap(),
//!             resource: "https://mcp.example.com/mcp".into(),
//!             auth_time: None,
//!         },
//!         now,
//!     )
//!     .unwrap();
//! assert_eq!(minted.expires_in, 3600);
//! assert_eq!(minted.token.split('.').count(), 3);
//! # });
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcp_auth_core::Scopes;
use serde::Serialize;

use crate::keys::{KeyError, SigningKeys};

/// How long access tokens are valid unless configured otherwise: one hour.
pub const DEFAULT_ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// What an access token says about its grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenClaims {
    /// The resource owner (`sub`); for `client_credentials`, the client itself.
    pub subject: String,
    /// The client the token is issued to (`client_id`).
    pub client_id: String,
    /// The granted scopes (`scope`).
    pub scopes: Scopes,
    /// The resource the token is for (`aud`, RFC 8707): one resource per token.
    pub resource: String,
    /// When the user authenticated (`auth_time`, unix seconds), if known.
    pub auth_time: Option<u64>,
}

/// A freshly minted access token.
#[derive(Clone, PartialEq, Eq)]
pub struct MintedAccessToken {
    /// The compact JWS, for the token response's `access_token`.
    pub token: String,
    /// Seconds until it expires, for the token response's `expires_in`.
    pub expires_in: u64,
    /// When it expires (unix seconds, its `exp`).
    pub expires_at: u64,
    /// Its `jti`, for logs and revocation lists.
    pub jti: String,
}

impl fmt::Debug for MintedAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MintedAccessToken")
            .field("token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .field("jti", &self.jti)
            .finish()
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'static str,
    kid: &'a str,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<u64>,
    iat: u64,
    exp: u64,
    jti: &'a str,
}

/// Mints RFC 9068 access tokens with the active signing key.
#[derive(Debug, Clone)]
pub struct AccessTokenIssuer {
    issuer: String,
    keys: Arc<SigningKeys>,
    lifetime: Duration,
}

impl AccessTokenIssuer {
    /// An issuer named `issuer` (the `iss` claim: the issuer identifier of the metadata
    /// document, exactly), signing with `keys`, tokens valid for
    /// [`DEFAULT_ACCESS_TOKEN_LIFETIME`].
    pub fn new(issuer: impl Into<String>, keys: Arc<SigningKeys>) -> Self {
        Self {
            issuer: issuer.into(),
            keys,
            lifetime: DEFAULT_ACCESS_TOKEN_LIFETIME,
        }
    }

    /// Sets the token lifetime (whole seconds; at least one). Keep key rotation overlaps at
    /// least this long.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime.max(Duration::from_secs(1));
        self
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The signing keys.
    pub fn keys(&self) -> &Arc<SigningKeys> {
        &self.keys
    }

    /// The token lifetime.
    pub fn token_lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Mints a token for `claims`, issued at `now` (unix seconds).
    ///
    /// # Errors
    ///
    /// [`KeyError::Crypto`] if randomness or signing fails.
    pub fn mint(
        &self,
        claims: &AccessTokenClaims,
        now: u64,
    ) -> Result<MintedAccessToken, KeyError> {
        let key = self.keys.active();
        let mut jti = [0u8; 16];
        SystemRandom::new()
            .fill(&mut jti)
            .map_err(|_| KeyError::Crypto("generate random bytes"))?;
        let jti = URL_SAFE_NO_PAD.encode(jti);
        let expires_in = self.lifetime.as_secs();
        let expires_at = now.saturating_add(expires_in);
        let header = Header {
            alg: key.alg().as_str(),
            typ: "at+jwt",
            kid: key.kid(),
        };
        let body = Claims {
            iss: &self.issuer,
            sub: &claims.subject,
            aud: &claims.resource,
            client_id: &claims.client_id,
            scope: (!claims.scopes.is_empty()).then(|| claims.scopes.to_string()),
            auth_time: claims.auth_time,
            iat: now,
            exp: expires_at,
            jti: &jti,
        };
        let mut token = encode_part(&header);
        token.push('.');
        token.push_str(&encode_part(&body));
        let signature = key.sign(token.as_bytes())?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(MintedAccessToken {
            token,
            expires_in,
            expires_at,
            jti,
        })
    }
}

/// base64url of the JSON of `value`. These structs of strings and integers always serialize.
fn encode_part(value: &impl Serialize) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

#[cfg(test)]
#[cfg(feature = "memory")]
mod tests {
    use super::*;
    use crate::keys::SigningAlgorithm;
    use crate::store::MemoryStore;
    use mcp_auth_core::clock::ManualClock;
    use mcp_auth_core::{AuthError, InvalidTokenReason, Principal};
    use mcp_auth_providers::jwk::JwkSet;
    use mcp_auth_providers::jwt::ClaimsPolicy;
    use mcp_auth_providers::oidc::{JwtValidator, KeySource};
    use serde_json::{Value, json};

    const NOW: u64 = 1_700_000_000;
    const ISSUER: &str = "https://auth.example.com";
    const RESOURCE: &str = "https://mcp.example.com/mcp";

    fn claims() -> AccessTokenClaims {
        AccessTokenClaims {
            subject: "alice".to_owned(),
            client_id: "client-1".to_owned(),
            scopes: "mcp:tools mcp:read".parse().unwrap(),
            resource: RESOURCE.to_owned(),
            auth_time: Some(NOW - 30),
        }
    }

    async fn issuer(alg: SigningAlgorithm, store: &MemoryStore) -> AccessTokenIssuer {
        let keys = SigningKeys::load(store, alg, NOW).await.unwrap();
        AccessTokenIssuer::new(ISSUER, Arc::new(keys))
    }

    /// The in-process resource server's validator: the published keys, this resource, this
    /// issuer, the clock at `at`.
    fn validator(keys: JwkSet, at: u64) -> JwtValidator {
        let policy = ClaimsPolicy::new(RESOURCE)
            .issuer(ISSUER)
            .clock(Arc::new(ManualClock::at_unix(at)));
        JwtValidator::new(KeySource::Static(Arc::new(keys)), policy)
    }

    fn part(token: &str, index: usize) -> Value {
        let encoded = token.split('.').nth(index).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap()
    }

    async fn verify(validator: &JwtValidator, token: &str) -> Result<Principal, AuthError> {
        validator.verify(token).await
    }

    #[tokio::test]
    async fn round_trip_for_each_algorithm() {
        for alg in [
            SigningAlgorithm::Es256,
            SigningAlgorithm::Rs256,
            SigningAlgorithm::EdDsa,
        ] {
            let store = MemoryStore::new();
            let issuer = issuer(alg, &store).await;
            let minted = issuer.mint(&claims(), NOW).unwrap();
            let header = part(&minted.token, 0);
            assert_eq!(
                header,
                json!({"alg": alg.as_str(), "typ": "at+jwt", "kid": issuer.keys().active().kid()})
            );
            let principal = verify(
                &validator(issuer.keys().jwk_set(NOW), NOW + 10),
                &minted.token,
            )
            .await
            .unwrap();
            assert_eq!(principal.subject(), "alice", "{alg}");
            assert_eq!(principal.issuer(), Some(ISSUER));
            assert_eq!(principal.client_id(), Some("client-1"));
            assert_eq!(principal.audiences(), [RESOURCE.to_owned()]);
            assert!(principal.has_scope("mcp:tools") && principal.has_scope("mcp:read"));
            assert_eq!(principal.expires_at_unix(), Some(NOW + 3600));
        }
    }

    #[tokio::test]
    async fn claims_are_exactly_rfc9068() {
        let store = MemoryStore::new();
        let issuer = issuer(SigningAlgorithm::Es256, &store).await;
        let minted = issuer.mint(&claims(), NOW).unwrap();
        assert_eq!(minted.expires_in, 3600);
        assert_eq!(minted.expires_at, NOW + 3600);
        let body = part(&minted.token, 1);
        assert_eq!(
            body,
            json!({
                "iss": ISSUER,
                "sub": "alice",
                "aud": RESOURCE,
                "client_id": "client-1",
                "scope": "mcp:read mcp:tools",
                "auth_time": NOW - 30,
                "iat": NOW,
                "exp": NOW + 3600,
                "jti": minted.jti,
            })
        );
        // The jti is 128 random bits, different every time.
        assert_eq!(URL_SAFE_NO_PAD.decode(&minted.jti).unwrap().len(), 16);
        let other = issuer.mint(&claims(), NOW).unwrap();
        assert_ne!(other.jti, minted.jti);

        // No scope granted: no `scope` claim; no auth_time: no `auth_time` claim.
        let bare = AccessTokenClaims {
            scopes: Scopes::new(),
            auth_time: None,
            ..claims()
        };
        let body = part(&issuer.mint(&bare, NOW).unwrap().token, 1);
        assert!(body.get("scope").is_none() && body.get("auth_time").is_none());
        assert_eq!(body.as_object().unwrap().len(), 7);
    }

    #[tokio::test]
    async fn lifetime_is_configurable_and_enforced() {
        let store = MemoryStore::new();
        let issuer = issuer(SigningAlgorithm::Es256, &store)
            .await
            .lifetime(Duration::from_secs(300));
        assert_eq!(issuer.token_lifetime(), Duration::from_secs(300));
        let minted = issuer.mint(&claims(), NOW).unwrap();
        assert_eq!(minted.expires_in, 300);
        let keys = issuer.keys().jwk_set(NOW);
        // Valid before exp; refused once exp plus the verifier's 60 s leeway has passed.
        assert!(
            verify(&validator(keys.clone(), NOW + 299), &minted.token)
                .await
                .is_ok()
        );
        assert!(matches!(
            verify(&validator(keys, NOW + 360), &minted.token).await,
            Err(AuthError::InvalidToken(InvalidTokenReason::Expired))
        ));
        // A zero lifetime is raised to one second.
        let short = issuer.clone().lifetime(Duration::ZERO);
        assert_eq!(short.mint(&claims(), NOW).unwrap().expires_in, 1);
    }

    #[tokio::test]
    async fn other_resource_or_issuer_is_refused() {
        let store = MemoryStore::new();
        let issuer = issuer(SigningAlgorithm::Es256, &store).await;
        let keys = issuer.keys().jwk_set(NOW);
        let elsewhere = AccessTokenClaims {
            resource: "https://other.example.com/mcp".to_owned(),
            ..claims()
        };
        let minted = issuer.mint(&elsewhere, NOW).unwrap();
        assert!(matches!(
            verify(&validator(keys.clone(), NOW), &minted.token).await,
            Err(AuthError::InvalidToken(InvalidTokenReason::Audience))
        ));
        let impostor = AccessTokenIssuer::new("https://auth.example.com/", issuer.keys().clone());
        let minted = impostor.mint(&claims(), NOW).unwrap();
        assert!(matches!(
            verify(&validator(keys, NOW), &minted.token).await,
            Err(AuthError::InvalidToken(InvalidTokenReason::Issuer))
        ));
    }

    #[tokio::test]
    async fn rotation_keeps_old_tokens_valid_during_the_overlap() {
        let store = MemoryStore::new();
        let issuer = issuer(SigningAlgorithm::Es256, &store).await;
        let old_kid = issuer.keys().active().kid().to_owned();
        let old_token = issuer.mint(&claims(), NOW).unwrap().token;

        let overlap = Duration::from_secs(3600);
        let new = issuer
            .keys()
            .rotate(&store, overlap, NOW + 60)
            .await
            .unwrap();
        let new_token = issuer.mint(&claims(), NOW + 60).unwrap().token;
        assert_eq!(part(&new_token, 0)["kid"], new.kid());
        assert_eq!(part(&old_token, 0)["kid"], old_kid.as_str());

        // During the overlap the published set verifies both.
        let during = validator(issuer.keys().jwk_set(NOW + 120), NOW + 120);
        verify(&during, &old_token).await.unwrap();
        verify(&during, &new_token).await.unwrap();

        // After not_after the old key is no longer published: a token it signed no longer
        // verifies (checked at a time its claims would still pass, to isolate the key).
        let after = issuer.keys().jwk_set(NOW + 60 + 3600);
        assert!(after.by_kid(&old_kid).is_none());
        assert!(matches!(
            verify(&validator(after.clone(), NOW + 120), &old_token).await,
            Err(AuthError::InvalidToken(InvalidTokenReason::UnknownKey))
        ));
        verify(&validator(after, NOW + 120), &new_token)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn debug_redacts_the_token() {
        let store = MemoryStore::new();
        let minted = issuer(SigningAlgorithm::EdDsa, &store)
            .await
            .mint(&claims(), NOW)
            .unwrap();
        let debug = format!("{minted:?}");
        assert!(!debug.contains(&minted.token));
        assert!(debug.contains("[redacted]") && debug.contains(&minted.jti));
    }
}
