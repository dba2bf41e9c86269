//! Secret newtypes: redacted `Debug`, zeroized on drop, compared in constant time.
//!
//! # Example
//!
//! ```
//! use mcp_auth_core::secret::{BearerToken, SecretBytes};
//!
//! let token = BearerToken::new("eyJhbGciOiJIUzI1NiJ9.e30.sig");
//! assert_eq!(format!("{token:?}"), "BearerToken([redacted])");
//! // Logs carry the fingerprint, never the token.
//! assert_eq!(token.fingerprint().to_string().len(), 16);
//!
//! let a = SecretBytes::new(b"0123456789abcdef0123456789abcdef".to_vec());
//! let b = SecretBytes::new(b"0123456789abcdef0123456789abcdef".to_vec());
//! assert!(a.ct_eq(&b));
//! ```

use std::fmt;
use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A short, stable identifier of a secret for logs: the first 8 bytes of its SHA-256, in hex.
///
/// Two log lines about the same token carry the same fingerprint, and the fingerprint does not
/// let anyone recover or replay the token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 8]);

impl Fingerprint {
    /// Fingerprint of arbitrary secret bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self::of_digest(&digest_of(bytes))
    }

    /// The fingerprint of the secret whose SHA-256 is `digest`.
    pub(crate) fn of_digest(digest: &[u8; 32]) -> Self {
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&digest[..8]);
        Self(prefix)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Secret key material, such as an HMAC key or a client secret.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps secret bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The secret bytes.
    ///
    /// # Security Warning
    ///
    /// Do not log, print or persist the returned bytes; use [`SecretBytes::fingerprint`] for logs.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// Length of the secret in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time equality (the length is not hidden).
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// Fingerprint for logs.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of(&self.0)
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes([redacted])")
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

/// A bearer access token as presented by a client (RFC 6750).
///
/// Its SHA-256 is computed at most once, when first needed: the validation cache's key and the
/// fingerprint in the audit log are both read from it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BearerToken {
    token: String,
    /// A digest does not reveal the token: it is what the cache and the logs hold instead.
    #[zeroize(skip)]
    digest: OnceLock<[u8; 32]>,
}

impl BearerToken {
    /// Wraps a token string. No syntax check is made here; see [`crate::bearer`] for parsing.
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            digest: OnceLock::new(),
        }
    }

    /// `token`, whose SHA-256 is `digest` when known (computed otherwise when first needed).
    #[cfg_attr(not(feature = "guard"), allow(dead_code))]
    pub(crate) fn with_digest(token: String, digest: Option<[u8; 32]>) -> Self {
        Self {
            token,
            digest: digest.map_or_else(OnceLock::new, OnceLock::from),
        }
    }

    /// The token text.
    ///
    /// # Security Warning
    ///
    /// Do not log, print or persist the returned text; use [`BearerToken::fingerprint`] for logs.
    pub fn expose_secret(&self) -> &str {
        &self.token
    }

    /// Length of the token in bytes.
    pub fn len(&self) -> usize {
        self.token.len()
    }

    /// Whether the token is empty.
    pub fn is_empty(&self) -> bool {
        self.token.is_empty()
    }

    /// Constant-time equality (the length is not hidden).
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.token.as_bytes().ct_eq(other.token.as_bytes()).into()
    }

    /// Fingerprint for logs: the first 8 bytes of [`BearerToken::digest`].
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_digest(&self.digest())
    }

    /// SHA-256 of the token, used as the validation cache key.
    pub fn digest(&self) -> [u8; 32] {
        *self.digest.get_or_init(|| digest_of(self.token.as_bytes()))
    }
}

/// The SHA-256 of a token's bytes: [`BearerToken::digest`], also taken of a token not yet
/// parsed ([`crate::validator::TokenValidator::recall`]).
pub(crate) fn digest_of(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_secret() {
        let token = BearerToken::new("super-secret-token");
        let secret = SecretBytes::new(b"super-secret-key".to_vec());
        assert!(!format!("{token:?}{secret:?}").contains("super-secret"));
    }

    #[test]
    fn fingerprint_is_sha256_prefix() {
        // SHA-256("abc") = ba7816bf8f01cfea...
        assert_eq!(Fingerprint::of(b"abc").to_string(), "ba7816bf8f01cfea");
    }

    #[test]
    fn token_fingerprint_is_its_digest_prefix() {
        let token = BearerToken::new("abc");
        assert_eq!(token.fingerprint(), Fingerprint::of(b"abc"));
        assert_eq!(token.digest()[..8], token.fingerprint().0);
        // A clone made before the digest was computed computes the same one.
        let fresh = BearerToken::new("abc");
        let copy = fresh.clone();
        assert_eq!(fresh.digest(), copy.digest());
        assert_ne!(BearerToken::new("abd").digest(), token.digest());
    }

    #[test]
    fn constant_time_comparison_distinguishes() {
        let a = BearerToken::new("aaaa");
        assert!(a.ct_eq(&BearerToken::new("aaaa")));
        assert!(!a.ct_eq(&BearerToken::new("aaab")));
        assert!(!a.ct_eq(&BearerToken::new("aaa")));
    }
}
