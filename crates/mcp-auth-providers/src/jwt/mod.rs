//! The JWT validation engine shared by every JWT provider: compact-JWS parsing and header rules
//! ([`compact`]), and the registered-claim checks ([`claims`]).
//!
//! The signature is verified by `jsonwebtoken` (aws-lc-rs backend); everything around it is done
//! here, because `jsonwebtoken`'s defaults skip `aud` and `iss` when the claim is absent or of the
//! wrong type, and leave `nbf` unchecked (RFC 8725 section 3 asks for all of them).

pub mod claims;
pub mod compact;

pub use claims::ClaimsPolicy;
pub use compact::CompactJws;

/// The longest token accepted by default, in bytes: refused before any decoding.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;
