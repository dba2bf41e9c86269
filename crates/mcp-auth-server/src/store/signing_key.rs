//! Signing keys: generated on first start, persisted, published at the JWKS endpoint, rotated
//! with an overlap window.

use mcp_auth_core::SecretBytes;

/// A key the authorization server signs tokens with.
///
/// Rotation (RFC 7517 has no rotation procedure; this follows common practice): a new key is
/// added and used for signing, while the previous one is retired with a `not_after` far enough
/// ahead that tokens it signed expire first; until then both are published.
#[derive(Debug, Clone)]
pub struct SigningKeyRecord {
    /// The key id, `kid` in JWS headers and the JWKS (RFC 7515 section 4.1.4).
    pub kid: String,
    /// The JWS algorithm, e.g. `ES256` (RFC 7518 section 3.1).
    pub alg: String,
    /// The private key, PKCS#8 DER. Unlike the other secrets it cannot be hashed, since the
    /// server must use it; it is stored as given, so protect the database accordingly.
    pub private_key_der: SecretBytes,
    /// The public key as a JWK (RFC 7517 section 4), as published.
    pub public_jwk: serde_json::Value,
    /// When the key was created (unix seconds).
    pub created_at: u64,
    /// When the key is no longer published (unix seconds); set when it is retired.
    /// [`Store::purge_expired`](super::Store::purge_expired) deletes it after that.
    pub not_after: Option<u64>,
}

impl SigningKeyRecord {
    /// Whether the key is still published at `now`.
    pub fn is_published(&self, now: u64) -> bool {
        self.not_after.is_none_or(|not_after| now < not_after)
    }
}
