//! Proof Key for Code Exchange (RFC 7636), as OAuth 2.1 requires it: `S256` only.
//!
//! The authorization endpoint parses the client's `code_challenge` and `code_challenge_method`
//! with [`CodeChallenge::parse`] and stores [`CodeChallenge::as_str`] with the code; the token
//! endpoint checks the `code_verifier` with [`CodeChallenge::verify`].
//!
//! # Example
//!
//! ```
//! use mcp_auth_server::pkce::{CodeChallenge, PkceError};
//!
//! // RFC 7636 Appendix B.
//! let challenge =
//!     CodeChallenge::parse(Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), Some("S256"))
//!         .unwrap();
//! assert!(challenge.verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
//! assert!(!challenge.verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"));
//!
//! // The `plain` method is refused.
//! let plain = CodeChallenge::parse(Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), Some("plain"));
//! assert!(matches!(plain, Err(PkceError::MethodNotSupported(_))));
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The only `code_challenge_method` accepted: `S256`, `BASE64URL(SHA256(code_verifier))`.
pub const S256: &str = "S256";

/// Shortest code verifier and challenge (RFC 7636 sections 4.1 and 4.2).
pub const MIN_LEN: usize = 43;

/// Longest code verifier and challenge (RFC 7636 sections 4.1 and 4.2).
pub const MAX_LEN: usize = 128;

/// Length of an `S256` challenge: a SHA-256 digest in base64url without padding.
const S256_CHALLENGE_LEN: usize = 43;

/// Why a code challenge was refused. Each maps to `invalid_request` at the authorization
/// endpoint (RFC 7636 section 4.4.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    /// The request carries no `code_challenge`: OAuth 2.1 requires PKCE for every client.
    #[error("code_challenge is required")]
    ChallengeMissing,
    /// The request carries no `code_challenge_method`, which means `plain` (RFC 7636 section
    /// 4.3); only `S256` is accepted.
    #[error("code_challenge_method is required and must be S256")]
    MethodMissing,
    /// The method is not `S256` (such as `plain`). The value is the method as received.
    #[error("code_challenge_method {0:?} is not supported; use S256")]
    MethodNotSupported(String),
    /// The challenge is not 43 base64url characters (the encoding of a SHA-256 digest).
    #[error("code_challenge must be the base64url encoding, without padding, of a SHA-256 digest")]
    InvalidChallenge,
}

/// A parsed `S256` code challenge: the SHA-256 digest the code verifier must hash to.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeChallenge {
    digest: [u8; 32],
    encoded: String,
}

impl CodeChallenge {
    /// Parses the `code_challenge` and `code_challenge_method` parameters of an authorization
    /// request (either may be absent).
    ///
    /// # Errors
    ///
    /// [`PkceError::ChallengeMissing`] or [`PkceError::MethodMissing`] when a parameter is absent,
    /// [`PkceError::MethodNotSupported`] for any method other than `S256` (method names are
    /// case-sensitive), [`PkceError::InvalidChallenge`] when the challenge breaks the syntax of
    /// RFC 7636 section 4.2 or is not the base64url encoding of 32 bytes.
    pub fn parse(challenge: Option<&str>, method: Option<&str>) -> Result<Self, PkceError> {
        let challenge = challenge.ok_or(PkceError::ChallengeMissing)?;
        match method {
            None => return Err(PkceError::MethodMissing),
            Some(S256) => {}
            Some(other) => return Err(PkceError::MethodNotSupported(other.to_owned())),
        }
        if !is_valid_syntax(challenge) || challenge.len() != S256_CHALLENGE_LEN {
            return Err(PkceError::InvalidChallenge);
        }
        // The decoder refuses non-zero trailing bits, so each digest has one accepted encoding.
        let bytes = URL_SAFE_NO_PAD
            .decode(challenge)
            .map_err(|_| PkceError::InvalidChallenge)?;
        let digest: [u8; 32] = bytes.try_into().map_err(|_| PkceError::InvalidChallenge)?;
        Ok(Self {
            digest,
            encoded: challenge.to_owned(),
        })
    }

    /// The `S256` challenge of a code verifier: `BASE64URL(SHA256(verifier))`. What a client sends.
    pub fn s256_of(verifier: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
    }

    /// Whether `verifier` is the code verifier of this challenge (RFC 7636 section 4.6).
    ///
    /// A verifier that breaks the syntax of RFC 7636 section 4.1 (43 to 128 characters of
    /// `A-Z a-z 0-9 - . _ ~`) never matches. The digests are compared in constant time.
    pub fn verify(&self, verifier: &str) -> bool {
        if !is_valid_syntax(verifier) {
            return false;
        }
        let computed: [u8; 32] = Sha256::digest(verifier.as_bytes()).into();
        computed.ct_eq(&self.digest).into()
    }

    /// The challenge as received: the value to store with the authorization code.
    pub fn as_str(&self) -> &str {
        &self.encoded
    }

    /// The challenge method: always [`S256`].
    pub fn method(&self) -> &'static str {
        S256
    }
}

impl fmt::Debug for CodeChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeChallenge")
            .field("method", &S256)
            .field("challenge", &self.encoded)
            .finish()
    }
}

/// Whether `value` is 43 to 128 unreserved characters (RFC 7636 sections 4.1 and 4.2).
fn is_valid_syntax(value: &str) -> bool {
    (MIN_LEN..=MAX_LEN).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

    use super::*;

    /// RFC 7636 Appendix B.
    const RFC_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn rfc_challenge() -> CodeChallenge {
        CodeChallenge::parse(Some(RFC_CHALLENGE), Some("S256")).unwrap()
    }

    #[test]
    fn rfc_7636_appendix_b_vector() {
        assert_eq!(CodeChallenge::s256_of(RFC_VERIFIER), RFC_CHALLENGE);
        let challenge = rfc_challenge();
        assert!(challenge.verify(RFC_VERIFIER));
        assert_eq!(challenge.as_str(), RFC_CHALLENGE);
        assert_eq!(challenge.method(), "S256");
    }

    #[test]
    fn wrong_verifier_is_refused() {
        let challenge = rfc_challenge();
        let mut other = RFC_VERIFIER.to_owned();
        other.replace_range(0..1, "e");
        assert!(!challenge.verify(&other));
        // The challenge itself is not a verifier of itself.
        assert!(!challenge.verify(RFC_CHALLENGE));
    }

    #[test]
    fn verifier_syntax_is_enforced() {
        // 42 characters whose challenge is computed honestly: still refused (too short).
        let short = &RFC_VERIFIER[..42];
        let challenge =
            CodeChallenge::parse(Some(&CodeChallenge::s256_of(short)), Some("S256")).unwrap();
        assert!(!challenge.verify(short));

        // 129 characters: too long.
        let long = "a".repeat(129);
        let challenge =
            CodeChallenge::parse(Some(&CodeChallenge::s256_of(&long)), Some("S256")).unwrap();
        assert!(!challenge.verify(&long));

        // 128 characters of every allowed kind: accepted.
        let max = "Az09-._~".repeat(16);
        let challenge =
            CodeChallenge::parse(Some(&CodeChallenge::s256_of(&max)), Some("S256")).unwrap();
        assert!(challenge.verify(&max));

        // A character outside the unreserved set.
        let bad = format!("{}+", &RFC_VERIFIER[..42]);
        let challenge =
            CodeChallenge::parse(Some(&CodeChallenge::s256_of(&bad)), Some("S256")).unwrap();
        assert!(!challenge.verify(&bad));
    }

    #[test]
    fn only_s256_is_accepted() {
        assert_eq!(
            CodeChallenge::parse(Some(RFC_VERIFIER), Some("plain")),
            Err(PkceError::MethodNotSupported("plain".to_owned()))
        );
        assert_eq!(
            CodeChallenge::parse(Some(RFC_CHALLENGE), Some("s256")),
            Err(PkceError::MethodNotSupported("s256".to_owned()))
        );
        assert_eq!(
            CodeChallenge::parse(Some(RFC_CHALLENGE), None),
            Err(PkceError::MethodMissing)
        );
        assert_eq!(
            CodeChallenge::parse(None, Some("S256")),
            Err(PkceError::ChallengeMissing)
        );
    }

    #[test]
    fn challenge_syntax_is_enforced() {
        let invalid = |challenge: &str| {
            assert_eq!(
                CodeChallenge::parse(Some(challenge), Some("S256")),
                Err(PkceError::InvalidChallenge),
                "{challenge:?}"
            );
        };
        // Wrong lengths.
        invalid(&RFC_CHALLENGE[..42]);
        invalid(&format!("{RFC_CHALLENGE}A"));
        invalid(RFC_VERIFIER.repeat(2).as_str());
        invalid("");
        // Padding, standard-alphabet characters, spaces.
        invalid(&format!("{}=", &RFC_CHALLENGE[..42]));
        invalid(&format!("{}+", &RFC_CHALLENGE[..42]));
        invalid(&format!("{}/", &RFC_CHALLENGE[..42]));
        invalid(&format!("{} ", &RFC_CHALLENGE[..42]));
        // Unreserved but not base64url: `.` and `~`.
        invalid(&format!("{}~", &RFC_CHALLENGE[..42]));
        invalid(&format!("{}.", &RFC_CHALLENGE[..42]));
        // Non-zero trailing bits: `M` -> `N` keeps the digest but is a second encoding of it.
        invalid(&format!("{}N", &RFC_CHALLENGE[..42]));
        // Non-ASCII.
        invalid(&format!("{}é", &RFC_CHALLENGE[..41]));
    }

    #[test]
    fn debug_shows_the_public_challenge() {
        let debug = format!("{:?}", rfc_challenge());
        assert!(debug.contains(RFC_CHALLENGE));
        assert!(debug.contains("S256"));
    }
}
