//! Splitting a compact JWS (RFC 7515 section 7.1) and enforcing the header rules of RFC 8725.
//!
//! # Example
//!
//! ```
//! use mcp_auth_providers::jwt::CompactJws;
//! use mcp_auth_core::InvalidTokenReason;
//!
//! // {"alg":"none"}.{}.
//! let refused = CompactJws::parse("eyJhbGciOiJub25lIn0.e30.", 8192).unwrap_err();
//! assert_eq!(refused, InvalidTokenReason::DisallowedAlgorithm);
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use mcp_auth_core::InvalidTokenReason;
use serde_json::{Map, Value};

/// A compact JWS split into its parts, with its header checked.
#[derive(Debug)]
pub struct CompactJws<'a> {
    signing_input: &'a str,
    signature: &'a str,
    payload: &'a str,
    alg: Algorithm,
    kid: Option<String>,
    typ: Option<String>,
}

impl<'a> CompactJws<'a> {
    /// Splits `token` and checks its header.
    ///
    /// # Errors
    ///
    /// - [`InvalidTokenReason::TooLong`] above `max_len` bytes, before any decoding;
    /// - [`InvalidTokenReason::Malformed`] unless there are exactly three base64url parts and a
    ///   JSON object header (five parts would be a JWE, which is never accepted here);
    /// - [`InvalidTokenReason::DisallowedAlgorithm`] for `alg` `none` in any casing, or an `alg`
    ///   this engine does not know (RFC 8725 section 3.1);
    /// - [`InvalidTokenReason::CriticalHeader`] when `crit` is present: no extension is
    ///   understood, so RFC 7515 section 4.1.11 says the JWS is invalid.
    pub fn parse(token: &'a str, max_len: usize) -> Result<Self, InvalidTokenReason> {
        if token.len() > max_len {
            return Err(InvalidTokenReason::TooLong);
        }
        let mut parts = token.splitn(4, '.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(InvalidTokenReason::Malformed);
        };
        if header.is_empty() || payload.is_empty() {
            return Err(InvalidTokenReason::Malformed);
        }
        let header_json = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| InvalidTokenReason::Malformed)?;
        // The header must be a JSON object (RFC 7515 section 4); an array is not a header.
        let mut raw: Map<String, Value> =
            serde_json::from_slice(&header_json).map_err(|_| InvalidTokenReason::Malformed)?;
        if raw.contains_key("crit") {
            return Err(InvalidTokenReason::CriticalHeader);
        }
        let alg = match raw.remove("alg") {
            Some(Value::String(alg)) => alg,
            Some(_) | None => return Err(InvalidTokenReason::Malformed),
        };
        // `none` in any casing is refused here, before any key is looked at.
        let alg = alg
            .parse::<Algorithm>()
            .ok()
            .filter(|_| !alg.eq_ignore_ascii_case("none"))
            .ok_or(InvalidTokenReason::DisallowedAlgorithm)?;
        let kid = match raw.remove("kid") {
            Some(Value::String(kid)) => Some(kid),
            Some(_) => return Err(InvalidTokenReason::Malformed),
            None => None,
        };
        let typ = match raw.remove("typ") {
            Some(Value::String(typ)) => Some(typ),
            Some(_) => return Err(InvalidTokenReason::Malformed),
            None => None,
        };
        if signature.is_empty() {
            return Err(InvalidTokenReason::Malformed);
        }
        let signing_input = &token[..header.len() + 1 + payload.len()];
        Ok(Self {
            signing_input,
            signature,
            payload,
            alg,
            kid,
            typ,
        })
    }

    /// The header's `alg`.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The header's `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The header's `typ`.
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: the bytes the signature covers.
    pub fn signing_input(&self) -> &'a [u8] {
        self.signing_input.as_bytes()
    }

    /// The base64url signature.
    pub fn signature(&self) -> &'a str {
        self.signature
    }

    /// Decodes the payload as a JSON object. Call only after the signature verified.
    ///
    /// # Errors
    ///
    /// [`InvalidTokenReason::Malformed`] when the payload is not base64url JSON object.
    pub fn claims(&self) -> Result<Map<String, Value>, InvalidTokenReason> {
        let json = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| InvalidTokenReason::Malformed)?;
        serde_json::from_slice(&json).map_err(|_| InvalidTokenReason::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64("{}"))
    }

    #[test]
    fn alg_none_in_every_casing_is_refused() {
        for alg in ["none", "None", "NONE", "nOnE"] {
            let t = token(&format!(r#"{{"alg":"{alg}"}}"#));
            assert_eq!(
                CompactJws::parse(&t, 8192).unwrap_err(),
                InvalidTokenReason::DisallowedAlgorithm
            );
        }
    }

    #[test]
    fn crit_is_refused() {
        let t = token(r#"{"alg":"HS256","crit":["exp"],"exp":1}"#);
        assert_eq!(
            CompactJws::parse(&t, 8192).unwrap_err(),
            InvalidTokenReason::CriticalHeader
        );
    }

    #[test]
    fn structure_is_checked() {
        let array_header = format!("{}.{}.c2ln", b64(r#"["HS256",null,null,null]"#), b64("{}"));
        assert_eq!(
            CompactJws::parse(&array_header, 8192).unwrap_err(),
            InvalidTokenReason::Malformed
        );
        for t in ["a.b", "a.b.c.d.e", "..", "e30.e30.", "!!.e30.c2ln"] {
            assert_eq!(
                CompactJws::parse(t, 8192).unwrap_err(),
                InvalidTokenReason::Malformed,
                "{t}"
            );
        }
        let t = token(r#"{"alg":"HS256"}"#);
        assert_eq!(
            CompactJws::parse(&t, 10).unwrap_err(),
            InvalidTokenReason::TooLong
        );
        assert_eq!(CompactJws::parse(&t, 8192).unwrap().alg(), Algorithm::HS256);
    }
}
