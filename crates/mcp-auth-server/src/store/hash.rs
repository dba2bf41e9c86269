//! [`TokenHash`]: how every server-issued secret is stored and looked up.
//!
//! Authorization codes, refresh tokens and client secrets are random values of at least 128 bits
//! that the server itself generates. For such values one round of SHA-256 is the right hash: a
//! slow password hash buys nothing when the input cannot be guessed (RFC 6819 section 5.1.4.1.3
//! asks only that the stored form not let the secret be recovered). A store that leaks keeps no
//! usable credential, and lookups stay a plain index lookup by hash.
//!
//! # Example
//!
//! ```
//! use mcp_auth_server::store::TokenHash;
//!
//! let hash = TokenHash::of("SplxlOBeZQQYbYS6WxSbIA");
//! assert!(hash.matches("SplxlOBeZQQYbYS6WxSbIA"));
//! assert!(!hash.matches("another value"));
//! // The hex form is what logs and configuration files carry, never the secret.
//! assert_eq!(hash.to_string().parse::<TokenHash>().unwrap(), hash);
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The SHA-256 of a secret the server issued (code, refresh token, client secret).
///
/// Stores hold only this, so equality here is an ordinary (not constant-time) comparison used for
/// lookups: the hash of an unguessable value reveals nothing exploitable through timing. To check
/// a presented secret against a stored hash, use [`TokenHash::matches`], which compares in
/// constant time anyway.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a secret.
    pub fn of(secret: impl AsRef<[u8]>) -> Self {
        Self(Sha256::digest(secret.as_ref()).into())
    }

    /// Wraps an already computed SHA-256 digest (e.g. read back from storage).
    pub fn from_bytes(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// Wraps a digest given as a slice, if it is 32 bytes long.
    pub fn from_slice(digest: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(digest).ok().map(Self)
    }

    /// The digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `secret` hashes to this value, compared in constant time.
    pub fn matches(&self, secret: impl AsRef<[u8]>) -> bool {
        Self::of(secret).0.ct_eq(&self.0).into()
    }
}

impl fmt::Display for TokenHash {
    /// Lowercase hex, 64 characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({self})")
    }
}

/// A string was not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a token hash is 64 hex digits (a SHA-256 digest)")]
pub struct InvalidTokenHash;

impl FromStr for TokenHash {
    type Err = InvalidTokenHash;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s.as_bytes();
        if hex.len() != 64 {
            return Err(InvalidTokenHash);
        }
        let mut digest = [0u8; 32];
        for (byte, pair) in digest.iter_mut().zip(hex.chunks_exact(2)) {
            *byte = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
        }
        Ok(Self(digest))
    }
}

/// The value of one hex digit (either case).
fn hex_digit(c: u8) -> Result<u8, InvalidTokenHash> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(InvalidTokenHash),
    }
}

impl Serialize for TokenHash {
    /// As its hex string, so configuration files can hold preconfigured clients' secret hashes.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TokenHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hex = String::deserialize(deserializer)?;
        hex.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_sha256() {
        // FIPS 180-2 test vector: SHA-256("abc").
        assert_eq!(
            TokenHash::of("abc").to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn matches_only_its_secret() {
        let hash = TokenHash::of("secret-1");
        assert!(hash.matches("secret-1"));
        assert!(hash.matches(b"secret-1"));
        assert!(!hash.matches("secret-2"));
        assert!(!hash.matches(""));
    }

    #[test]
    fn hex_round_trip_and_errors() {
        let hash = TokenHash::of("x");
        assert_eq!(hash.to_string().parse::<TokenHash>(), Ok(hash));
        assert_eq!(
            hash.to_string().to_uppercase().parse::<TokenHash>(),
            Ok(hash)
        );
        assert_eq!("ab".parse::<TokenHash>(), Err(InvalidTokenHash));
        assert_eq!("g".repeat(64).parse::<TokenHash>(), Err(InvalidTokenHash));
        assert_eq!(
            TokenHash::from_slice(hash.as_bytes()),
            Some(TokenHash::from_bytes(*hash.as_bytes()))
        );
        assert_eq!(TokenHash::from_slice(&[0; 31]), None);
    }

    #[test]
    fn serde_as_hex() {
        let hash = TokenHash::of("abc");
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, format!("\"{hash}\""));
        assert_eq!(serde_json::from_str::<TokenHash>(&json).unwrap(), hash);
        assert!(serde_json::from_str::<TokenHash>("\"zz\"").is_err());
    }

    #[test]
    fn debug_shows_the_hash_not_the_secret() {
        let debug = format!("{:?}", TokenHash::of("super-secret"));
        assert!(debug.starts_with("TokenHash("));
        assert!(!debug.contains("super-secret"));
    }
}
