//! HMAC (HS256/HS384/HS512) JWT validation with shared secrets (feature `hmac`).
//!
//! For development, tests and service-to-service calls where both sides hold the secret; see
//! `docs/hmac.md`. Several secrets may be trusted at once so a secret can be rotated with an
//! overlap: tokens signed with the old one keep working until you drop it.
//!
//! # Example
//!
//! ```
//! use mcp_auth_providers::hmac::HmacValidator;
//! use mcp_auth_core::{BearerToken, TokenValidator};
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap(); rt.block_on(async {
//! let secret = b"an-example-secret-of-32-bytes-at-least!!".to_vec();
//! let validator = HmacValidator::builder("https://mcp.example.com/mcp")
//!     .secret(secret.clone())
//!     .issuer("https://auth.example.com")
//!     .build()
//!     .unwrap();
//!
//! // A secret shorter than 32 bytes is refused at construction.
//! assert!(HmacValidator::builder("aud").secret(b"short".to_vec()).build().is_err());
//!
//! let refused = validator.validate(&BearerToken::new("not-a-jwt")).await;
//! assert!(refused.is_err());
//! # });
//! ```

use std::time::Duration;

use async_trait::async_trait;
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use mcp_auth_core::clock::SharedClock;
use mcp_auth_core::{
    AuthError, BearerToken, InvalidTokenReason, Principal, SecretBytes, TokenValidator,
};

use crate::jwt::claims::{MAX_LEEWAY, PayloadClaims};
use crate::jwt::compact::HeaderMemo;
use crate::jwt::{ClaimsPolicy, CompactJws, DEFAULT_MAX_TOKEN_LEN};

/// The longest HMAC tag: HS512's 64 bytes. A signature that decodes to more cannot verify.
const MAX_TAG_LEN: usize = 64;

/// The shortest secret accepted: 32 bytes, the output size of SHA-256 (RFC 7518 section 3.2
/// requires a key at least as long as the hash output).
pub const MIN_SECRET_LEN: usize = 32;

/// Why an [`HmacValidator`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HmacConfigError {
    /// No secret was given.
    #[error("no HMAC secret configured")]
    NoSecret,
    /// A secret is shorter than [`MIN_SECRET_LEN`].
    #[error(
        "HMAC secret #{index} is {len} bytes; at least 32 bytes are required (generate one with `mcp-auth secret`)"
    )]
    SecretTooShort {
        /// Position of the secret in the list (0 = current).
        index: usize,
        /// Its length.
        len: usize,
    },
    /// The audience is empty.
    #[error("audience must not be empty")]
    EmptyAudience,
    /// The leeway is above the bound.
    #[error("leeway of {0} s exceeds the maximum of 300 s")]
    LeewayTooLarge(u64),
    /// An algorithm outside HS256/HS384/HS512 was allowed.
    #[error("algorithm {0:?} is not an HMAC algorithm")]
    NotHmac(Algorithm),
}

/// One trusted secret, optionally named by a `kid`.
struct HmacKey {
    kid: Option<String>,
    secret: SecretBytes,
    /// The key prepared once per algorithm: building an HMAC key costs about as much as the
    /// MAC itself, so it is not done per request.
    hs256: hmac::Key,
    hs384: hmac::Key,
    hs512: hmac::Key,
}

impl HmacKey {
    fn new(kid: Option<String>, secret: SecretBytes) -> Self {
        let bytes = secret.expose_secret();
        Self {
            hs256: hmac::Key::new(hmac::HMAC_SHA256, bytes),
            hs384: hmac::Key::new(hmac::HMAC_SHA384, bytes),
            hs512: hmac::Key::new(hmac::HMAC_SHA512, bytes),
            kid,
            secret,
        }
    }
}

/// Validates HS256/384/512 JWT access tokens.
pub struct HmacValidator {
    keys: Vec<HmacKey>,
    algorithms: Vec<Algorithm>,
    policy: ClaimsPolicy,
    max_token_len: usize,
    /// Headers of tokens that verified, read once.
    headers: HeaderMemo,
}

impl std::fmt::Debug for HmacValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmacValidator")
            .field(
                "keys",
                &self
                    .keys
                    .iter()
                    .map(|k| (k.kid.as_deref(), k.secret.fingerprint()))
                    .collect::<Vec<_>>(),
            )
            .field("algorithms", &self.algorithms)
            .field("policy", &self.policy)
            .field("max_token_len", &self.max_token_len)
            .finish()
    }
}

/// Builds an [`HmacValidator`].
pub struct HmacValidatorBuilder {
    audience: String,
    secrets: Vec<(Option<String>, SecretBytes)>,
    issuer: Option<String>,
    leeway: Duration,
    algorithms: Vec<Algorithm>,
    max_token_len: usize,
    clock: Option<SharedClock>,
}

impl HmacValidator {
    /// Starts a validator for tokens whose `aud` must contain `audience`.
    pub fn builder(audience: impl Into<String>) -> HmacValidatorBuilder {
        HmacValidatorBuilder {
            audience: audience.into(),
            secrets: Vec::new(),
            issuer: None,
            leeway: crate::jwt::claims::DEFAULT_LEEWAY,
            algorithms: vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512],
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
            clock: None,
        }
    }

    /// The claim rules.
    pub fn policy(&self) -> &ClaimsPolicy {
        &self.policy
    }

    /// Verifies the signature and claims of `token` without the async trait.
    ///
    /// # Errors
    ///
    /// The reason the token is refused.
    pub fn verify(&self, token: &str) -> Result<Principal, InvalidTokenReason> {
        let jws = CompactJws::parse_remembered(token, self.max_token_len, &self.headers)?;
        if !self.algorithms.contains(&jws.alg()) {
            return Err(InvalidTokenReason::DisallowedAlgorithm);
        }
        // Decoded once for every key tried, on the stack: no tag is longer than 64 bytes, so a
        // signature that does not fit (or is not base64url) cannot verify.
        let mut tag = [0u8; MAX_TAG_LEN];
        let Ok(tag_len) = URL_SAFE_NO_PAD.decode_slice(jws.signature(), &mut tag) else {
            return Err(InvalidTokenReason::BadSignature);
        };
        let tag = &tag[..tag_len];
        // With a kid that names one of our secrets, try that one only; otherwise every secret
        // (tokens minted elsewhere may carry no kid, or one we never named).
        let named = jws
            .kid()
            .and_then(|kid| self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)));
        let verified = match named {
            Some(key) => verify_with(&jws, key, tag),
            None => self.keys.iter().any(|key| verify_with(&jws, key, tag)),
        };
        if !verified {
            return Err(InvalidTokenReason::BadSignature);
        }
        self.headers.remember(&jws);
        // The claims are read once, for the checks and for the principal alike; the others
        // stay as text until someone asks for them (`Principal::claims`).
        let mut claims = PayloadClaims::default();
        let json = jws.read_payload(&mut claims)?;
        self.policy.check_known(&claims.known())?;
        let principal = claims
            .into_principal()
            .ok_or(InvalidTokenReason::MissingClaim("sub"))?;
        Ok(principal.claims_json(json).build())
    }
}

impl HmacValidator {
    /// [`HmacValidator::verify`], with the refusal as an [`AuthError`] (and logged by
    /// fingerprint): the one body of `validate` and `validate_now`.
    fn check(&self, token: &BearerToken) -> Result<Principal, AuthError> {
        self.verify(token.expose_secret()).map_err(|reason| {
            tracing::debug!(token = %token.fingerprint(), ?reason, "HMAC token refused");
            AuthError::InvalidToken(reason)
        })
    }
}

fn verify_with(jws: &CompactJws<'_>, key: &HmacKey, tag: &[u8]) -> bool {
    let key = match jws.alg() {
        Algorithm::HS256 => &key.hs256,
        Algorithm::HS384 => &key.hs384,
        Algorithm::HS512 => &key.hs512,
        _ => return false,
    };
    // aws-lc-rs compares the tags in constant time.
    hmac::verify(key, jws.signing_input(), tag).is_ok()
}

#[async_trait]
impl TokenValidator for HmacValidator {
    async fn validate(&self, token: &BearerToken) -> Result<Principal, AuthError> {
        self.check(token)
    }

    /// Always answers: an HMAC check needs no I/O.
    fn validate_now(&self, token: &BearerToken) -> Option<Result<Principal, AuthError>> {
        Some(self.check(token))
    }
}

impl HmacValidatorBuilder {
    /// Adds a trusted secret. The first one added is the current secret; later ones are older
    /// secrets still accepted during a rotation.
    pub fn secret(mut self, secret: impl Into<SecretBytes>) -> Self {
        self.secrets.push((None, secret.into()));
        self
    }

    /// Adds a trusted secret named `kid`: tokens whose header carries that `kid` are checked
    /// against it alone.
    pub fn secret_with_kid(
        mut self,
        kid: impl Into<String>,
        secret: impl Into<SecretBytes>,
    ) -> Self {
        self.secrets.push((Some(kid.into()), secret.into()));
        self
    }

    /// Requires `iss` to equal `issuer` exactly.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets the clock-skew leeway for `exp`, `nbf` and `iat` (default 60 s, at most 300 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Restricts the accepted algorithms (default HS256, HS384, HS512).
    pub fn algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.algorithms = algorithms.to_vec();
        self
    }

    /// Sets the longest token accepted, in bytes (default 8 KiB).
    pub fn max_token_len(mut self, len: usize) -> Self {
        self.max_token_len = len;
        self
    }

    /// Sets the clock (tests).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Builds the validator.
    ///
    /// # Errors
    ///
    /// [`HmacConfigError`] for no secret, a secret under 32 bytes, an empty audience, a leeway
    /// above 300 s, or a non-HMAC algorithm.
    pub fn build(self) -> Result<HmacValidator, HmacConfigError> {
        if self.secrets.is_empty() {
            return Err(HmacConfigError::NoSecret);
        }
        if self.audience.is_empty() {
            return Err(HmacConfigError::EmptyAudience);
        }
        if self.leeway > MAX_LEEWAY {
            return Err(HmacConfigError::LeewayTooLarge(self.leeway.as_secs()));
        }
        if let Some(alg) = self
            .algorithms
            .iter()
            .find(|a| !matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        {
            return Err(HmacConfigError::NotHmac(*alg));
        }
        let mut keys = Vec::with_capacity(self.secrets.len());
        for (index, (kid, secret)) in self.secrets.into_iter().enumerate() {
            if secret.len() < MIN_SECRET_LEN {
                return Err(HmacConfigError::SecretTooShort {
                    index,
                    len: secret.len(),
                });
            }
            keys.push(HmacKey::new(kid, secret));
        }
        let mut policy = ClaimsPolicy::new(self.audience).leeway(self.leeway);
        if let Some(issuer) = self.issuer {
            policy = policy.issuer(issuer);
        }
        if let Some(clock) = self.clock {
            policy = policy.clock(clock);
        }
        Ok(HmacValidator {
            keys,
            algorithms: self.algorithms,
            policy,
            max_token_len: self.max_token_len,
            headers: HeaderMemo::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use mcp_auth_core::clock::ManualClock;
    use serde_json::json;
    use std::sync::Arc;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: u64 = 1_700_000_000;

    fn validator() -> HmacValidator {
        HmacValidator::builder("aud-1")
            .secret(SECRET.to_vec())
            .clock(Arc::new(ManualClock::at_unix(NOW)))
            .build()
            .unwrap()
    }

    fn sign(alg: Algorithm) -> String {
        let claims = json!({"sub": "u", "aud": "aud-1", "exp": NOW + 60, "scope": "a b"});
        jsonwebtoken::encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn validate_now_is_validate_without_the_wait() {
        let validator = validator();
        let good = BearerToken::new(sign(Algorithm::HS256));
        let now = validator
            .validate_now(&good)
            .expect("HMAC always answers now");
        assert_eq!(now.unwrap(), validator.validate(&good).await.unwrap());
        let bad = BearerToken::new(format!("{}x", sign(Algorithm::HS256)));
        let now = validator
            .validate_now(&bad)
            .expect("HMAC always answers now");
        assert_eq!(
            format!("{:?}", now.unwrap_err()),
            format!("{:?}", validator.validate(&bad).await.unwrap_err())
        );
    }

    #[test]
    fn every_hmac_algorithm_verifies() {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let principal = validator().verify(&sign(alg)).unwrap();
            assert_eq!(principal.subject(), "u");
            assert!(principal.has_scope("b"));
            assert_eq!(principal.claim("exp"), Some(&json!(NOW + 60)));
        }
    }

    #[test]
    fn tags_that_cannot_verify_are_bad_signatures() {
        let good = sign(Algorithm::HS512);
        let (input, tag) = good.rsplit_once('.').unwrap();
        let refused = |tag: &str| validator().verify(&format!("{input}.{tag}")).unwrap_err();
        // One byte longer than any HMAC tag, not base64url, truncated, off by one bit.
        assert_eq!(
            refused(&format!("{tag}AA")),
            InvalidTokenReason::BadSignature
        );
        assert_eq!(refused("!!!!"), InvalidTokenReason::BadSignature);
        assert_eq!(
            refused(&tag[..tag.len() - 4]),
            InvalidTokenReason::BadSignature
        );
        let mut flipped = URL_SAFE_NO_PAD.decode(tag).unwrap();
        flipped[0] ^= 1;
        assert_eq!(
            refused(&URL_SAFE_NO_PAD.encode(flipped)),
            InvalidTokenReason::BadSignature
        );
    }

    /// A token under `header`, signed with `secret`, valid now or expired.
    fn sign_with(header: &Header, secret: &[u8], expired: bool) -> String {
        let exp = if expired { NOW - 3600 } else { NOW + 60 };
        let claims = json!({"sub": "u", "aud": "aud-1", "exp": exp});
        jsonwebtoken::encode(header, &claims, &EncodingKey::from_secret(secret)).unwrap()
    }

    fn header_text(token: &str) -> &str {
        token.split('.').next().unwrap()
    }

    #[test]
    fn only_headers_of_verified_tokens_are_remembered_and_they_change_no_answer() {
        let v = validator();
        let plain = Header::new(Algorithm::HS256);
        let forged = sign_with(&plain, b"not-our-secret-not-our-secret-00", false);
        assert_eq!(v.verify(&forged), Err(InvalidTokenReason::BadSignature));
        assert!(v.headers.get(header_text(&forged)).is_none(), "forged");

        let good = sign_with(&plain, SECRET, false);
        assert_eq!(v.verify(&good).unwrap().subject(), "u");
        assert!(v.headers.get(header_text(&good)).is_some());
        // The same header again, from the memo: every answer as before.
        assert_eq!(v.verify(&good).unwrap().subject(), "u");
        assert_eq!(v.verify(&forged), Err(InvalidTokenReason::BadSignature));
        assert_eq!(
            v.verify(&sign_with(&plain, SECRET, true)),
            Err(InvalidTokenReason::Expired)
        );
        let (input, _) = good.rsplit_once('.').unwrap();
        assert_eq!(
            v.verify(&format!("{input}.")),
            Err(InvalidTokenReason::Malformed),
            "empty signature"
        );

        // Four headers are kept; a fifth is read every time, with the same answers.
        let headers: Vec<Header> = (0..6)
            .map(|i| Header {
                kid: Some(format!("k{i}")),
                ..Header::new(Algorithm::HS256)
            })
            .collect();
        for header in &headers {
            let token = sign_with(header, SECRET, false);
            assert_eq!(v.verify(&token).unwrap().subject(), "u");
            assert_eq!(v.verify(&token).unwrap().subject(), "u");
        }
        let kept = headers
            .iter()
            .filter(|h| {
                v.headers
                    .get(header_text(&sign_with(h, SECRET, false)))
                    .is_some()
            })
            .count();
        assert_eq!(kept, 3, "the plain header took the first slot");
    }
}
