//! Reading the bearer token from a request (RFC 6750 section 2), shared by every adapter.
//!
//! Only the `Authorization` request header is read (section 2.1). The form-encoded body method
//! (section 2.2) is not supported, and a token in the URI query (section 2.3) is refused with
//! `invalid_request`: RFC 9700 section 4.3.2 and the MCP authorization spec forbid it.
//!
//! # Example
//!
//! ```
//! use mcp_auth_core::bearer::extract_bearer;
//! use mcp_auth_core::{AuthError, InvalidRequestReason};
//!
//! let token = extract_bearer([b"bearer abc.def.ghi".as_slice()], None).unwrap();
//! assert_eq!(token.expose_secret(), "abc.def.ghi");
//!
//! let twice = extract_bearer([b"Bearer a".as_slice(), b"Bearer b".as_slice()], None);
//! assert!(matches!(twice, Err(AuthError::InvalidRequest(InvalidRequestReason::DuplicateAuthorization))));
//! ```

use crate::error::{AuthError, InvalidRequestReason};
use crate::secret::BearerToken;

/// Reads the one bearer token of a request.
///
/// `authorization` yields the raw values of every `Authorization` header (any iterator: a
/// framework's header iterator is passed as it is, without collecting); `query` is the raw
/// request URI query, if any.
///
/// # Errors
///
/// - [`AuthError::InvalidRequest`] with [`InvalidRequestReason::TokenInQuery`] when the query has
///   an `access_token` parameter (checked first: a request may not use two methods either);
/// - [`AuthError::MissingToken`] when there is no `Authorization` header;
/// - [`InvalidRequestReason::DuplicateAuthorization`] for more than one header;
/// - [`InvalidRequestReason::MalformedAuthorization`] when the value is not
///   `Bearer 1*SP b64token` (scheme case-insensitive, RFC 9110 section 11.1).
pub fn extract_bearer<I>(authorization: I, query: Option<&str>) -> Result<BearerToken, AuthError>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let value = single_authorization(authorization, query)?;
    parse_bearer_credentials(value.as_ref())
        .map(BearerToken::new)
        .ok_or(MALFORMED)
}

/// The refusal of an `Authorization` value that is not `Bearer 1*SP b64token`.
pub(crate) const MALFORMED: AuthError =
    AuthError::InvalidRequest(InvalidRequestReason::MalformedAuthorization);

/// The one `Authorization` header value of a request whose query carries no token: the checks
/// of [`extract_bearer`] before the value's syntax.
pub(crate) fn single_authorization<I>(
    authorization: I,
    query: Option<&str>,
) -> Result<I::Item, AuthError>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    if query.is_some_and(query_has_access_token) {
        return Err(AuthError::InvalidRequest(
            InvalidRequestReason::TokenInQuery,
        ));
    }
    let mut values = authorization.into_iter();
    let Some(value) = values.next() else {
        return Err(AuthError::MissingToken);
    };
    if values.next().is_some() {
        return Err(AuthError::InvalidRequest(
            InvalidRequestReason::DuplicateAuthorization,
        ));
    }
    Ok(value)
}

/// The bytes after `Bearer 1*SP` (scheme case-insensitive), unchecked: the token if the value
/// is well formed. A validator may recognise them by their digest before they are checked
/// ([`crate::validator::TokenValidator::recall`]).
pub(crate) fn bearer_credentials(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(6)?;
    if !scheme.eq_ignore_ascii_case(b"bearer") || rest.first() != Some(&b' ') {
        return None;
    }
    let start = rest.iter().position(|&b| b != b' ')?;
    Some(&rest[start..])
}

/// Parses `Bearer 1*SP b64token`; returns the token.
///
/// Runs on every request, so it works on bytes, and checks the token without an early exit
/// per byte: comparisons folded without branching compile to vector instructions.
pub(crate) fn parse_bearer_credentials(value: &[u8]) -> Option<&str> {
    let token = bearer_credentials(value)?;
    if !is_b64token(token) {
        return None;
    }
    // A b64token is ASCII, so this cannot fail.
    std::str::from_utf8(token).ok()
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="` (RFC 6750 section 2.1).
fn is_b64token(token: &[u8]) -> bool {
    let body_len = token.len() - token.iter().rev().take_while(|&&b| b == b'=').count();
    body_len > 0 && all_b64token_chars(&token[..body_len])
}

/// Whether every byte is a b64token character: folded without an early exit, so that the
/// loop compiles to vector instructions.
fn all_b64token_chars(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |all, &b| all & is_b64token_char(b))
}

/// A character of a b64token before its `=` padding; `|`, not `||`, so that it has no branch.
/// Five tests instead of eleven: setting bit 5 folds `A-Z` onto `a-z` (and nothing else
/// onto it), and `-`, `.`, `/` and the digits are one run, `0x2D..=0x39`.
fn is_b64token_char(b: u8) -> bool {
    ((b | 0x20).wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'-') <= b'9' - b'-')
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
}

/// Whether a raw query string has an `access_token` parameter (any value), its name compared
/// after form-urlencoded decoding, as a server framework would decode it.
fn query_has_access_token(query: &str) -> bool {
    query
        .split('&')
        .any(|pair| decode_component(pair.split('=').next().unwrap_or_default()) == b"access_token")
}

/// Decodes `application/x-www-form-urlencoded` text: `%XX` escapes and `+` for space; a `%`
/// not followed by two hex digits stays as it is.
fn decode_component(raw: &str) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| raw.get(i + 1..i + 3))
            .flatten()
            .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], escaped) {
            (_, Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (other, None) => {
                out.push(other);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(value: &str) -> Result<BearerToken, AuthError> {
        extract_bearer([value.as_bytes()], None)
    }

    #[test]
    fn scheme_is_case_insensitive() {
        for v in [
            "Bearer t0k.en",
            "bearer t0k.en",
            "BEARER t0k.en",
            "BeArEr   t0k.en",
        ] {
            assert_eq!(one(v).unwrap().expose_secret(), "t0k.en", "{v}");
        }
    }

    #[test]
    fn malformed_credentials_are_invalid_request() {
        for v in [
            "Bearer",
            "Bearer ",
            "Bearertoken",
            "Basic dXNlcjpwYXNz",
            "Bearer a b",
            "Bearer a\"b",
            "Bearer =",
            "Bearer a,b",
        ] {
            assert!(
                matches!(
                    one(v),
                    Err(AuthError::InvalidRequest(
                        InvalidRequestReason::MalformedAuthorization
                    ))
                ),
                "{v}"
            );
        }
        assert!(one("Bearer abc==").is_ok());
        for v in [
            &b"Bearer a=b"[..],
            b"Bearer ==a",
            b"Bearer\ta",
            b"Bearer \xffa",
            b"Bearer a\x00",
        ] {
            assert!(
                matches!(
                    extract_bearer([v], None),
                    Err(AuthError::InvalidRequest(
                        InvalidRequestReason::MalformedAuthorization
                    ))
                ),
                "{}",
                String::from_utf8_lossy(v)
            );
        }
    }

    #[test]
    fn a_bad_byte_is_found_at_every_position_of_every_length() {
        // Vectorized loops run in blocks and a tail: cover several blocks and every offset.
        for len in 1..=70 {
            let good: Vec<u8> = (0..len).map(|i| b"aZ9-._~+/"[i % 9]).collect();
            assert!(all_b64token_chars(&good), "len {len}");
            for at in 0..len {
                for bad in [b' ', b'=', b'"', 0x00, 0xff, b','] {
                    let mut token = good.clone();
                    token[at] = bad;
                    assert!(!all_b64token_chars(&token), "len {len}, {bad:#04x} at {at}");
                }
            }
        }
    }

    #[test]
    fn b64token_characters_are_the_grammar() {
        const ALLOWED: &str =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";
        for b in 0..=255u8 {
            assert_eq!(
                is_b64token_char(b),
                ALLOWED.as_bytes().contains(&b),
                "byte {b:#04x}"
            );
        }
    }

    #[test]
    fn no_header_is_missing_token() {
        assert!(matches!(
            extract_bearer(std::iter::empty::<&[u8]>(), None),
            Err(AuthError::MissingToken)
        ));
        assert!(matches!(
            extract_bearer(std::iter::empty::<&[u8]>(), Some("a=b")),
            Err(AuthError::MissingToken)
        ));
    }

    #[test]
    fn query_token_is_refused_even_with_header() {
        for q in [
            "access_token=x",
            "a=b&access_token=x",
            "access%5ftoken=x",
            "access_token",
        ] {
            assert!(
                matches!(
                    extract_bearer([b"Bearer x".as_slice()], Some(q)),
                    Err(AuthError::InvalidRequest(
                        InvalidRequestReason::TokenInQuery
                    ))
                ),
                "{q}"
            );
        }
        for q in [
            "my_access_token=1",
            "ACCESS%5FTOKEN=1",
            "access+token=1",
            "access_token%=1",
            "%",
        ] {
            assert!(
                extract_bearer([b"Bearer x".as_slice()], Some(q)).is_ok(),
                "{q}"
            );
        }
    }
}
