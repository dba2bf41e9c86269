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

use std::borrow::Cow;
use std::fmt;
#[cfg(feature = "hmac")]
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use mcp_auth_core::InvalidTokenReason;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

#[cfg(feature = "hmac")]
use super::claims::PayloadClaims;

/// Largest decoded header kept on the stack; longer ones (certificate chains) go to the heap.
const HEADER_ON_STACK: usize = 512;

/// Largest decoded payload kept on the stack; access tokens are usually well under this.
const PAYLOAD_ON_STACK: usize = 2048;

/// A compact JWS split into its parts, with its header checked.
#[derive(Debug)]
pub struct CompactJws<'a> {
    signing_input: &'a str,
    signature: &'a str,
    payload: &'a str,
    alg: Algorithm,
    kid: Option<String>,
    typ: Option<Cow<'static, str>>,
    /// Whether the header's fields came from a `HeaderMemo` (which then needs no update; only
    /// the HMAC validator keeps one).
    #[cfg_attr(not(feature = "hmac"), allow(dead_code))]
    remembered: bool,
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
        Self::parse_with(token, max_len, |_| None)
    }

    /// [`CompactJws::parse`], taking the header from `memo` when it holds this header's text:
    /// the same result, without reading the header again.
    #[cfg(feature = "hmac")]
    pub(crate) fn parse_remembered(
        token: &'a str,
        max_len: usize,
        memo: &HeaderMemo,
    ) -> Result<Self, InvalidTokenReason> {
        Self::parse_with(token, max_len, |header| memo.get(header))
    }

    /// Parses `token`, taking its header's fields from `remembered` when it knows them.
    fn parse_with(
        token: &'a str,
        max_len: usize,
        remembered: impl FnOnce(&str) -> Option<Header>,
    ) -> Result<Self, InvalidTokenReason> {
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
        let (header_fields, remembered) = match remembered(header) {
            Some(known) => (known, true),
            None => (read_header(header)?, false),
        };
        if signature.is_empty() {
            return Err(InvalidTokenReason::Malformed);
        }
        let signing_input = &token[..header.len() + 1 + payload.len()];
        Ok(Self {
            signing_input,
            signature,
            payload,
            alg: header_fields.alg,
            kid: header_fields.kid,
            typ: header_fields.typ,
            remembered,
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
        with_decoded::<PAYLOAD_ON_STACK, _>(self.payload, |json| {
            serde_json::from_slice(json).map_err(|_| InvalidTokenReason::Malformed)
        })
    }
}

#[cfg(feature = "hmac")]
impl CompactJws<'_> {
    /// Decodes the payload and reads the claims the engine checks and maps into `claims`
    /// (empty; see [`PayloadClaims::read_from`]), returning the payload's JSON text (for
    /// [`mcp_auth_core::PrincipalBuilder::claims_json`]). Call only after the signature verified.
    ///
    /// # Errors
    ///
    /// [`InvalidTokenReason::Malformed`] when the payload is not base64url JSON object: exactly
    /// when [`CompactJws::claims`] fails.
    pub(crate) fn read_payload(
        &self,
        claims: &mut PayloadClaims,
    ) -> Result<String, InvalidTokenReason> {
        let bytes = decode_to_vec(self.payload)?;
        let json = String::from_utf8(bytes).map_err(|_| InvalidTokenReason::Malformed)?;
        claims
            .read_from(&json)
            .map_err(|_| InvalidTokenReason::Malformed)?;
        Ok(json)
    }
}

/// Reads and checks a base64url header. It must be a JSON object (RFC 7515 section 4): an
/// array is not a header.
fn read_header(header: &str) -> Result<Header, InvalidTokenReason> {
    with_decoded::<HEADER_ON_STACK, _>(header, |json| {
        serde_json::from_slice::<RawHeader<'_>>(json)
            .map_err(|_| InvalidTokenReason::Malformed)?
            .check()
    })
}

/// Headers of tokens that verified, by their base64url text. An issuer signs all its tokens
/// under one header (a few across a key rotation), and reading it again for every token was a
/// sixth of an HMAC validation. Only a header whose token's signature verified is remembered,
/// so nobody without a key can fill the slots; the first [`HeaderMemo::SLOTS`] are kept for
/// the validator's lifetime, others are read each time as before. A header's fields depend on
/// its text alone, so a remembered header reads exactly as a fresh one.
#[cfg(feature = "hmac")]
#[derive(Debug, Default)]
pub(crate) struct HeaderMemo {
    slots: [OnceLock<(Box<str>, Header)>; HeaderMemo::SLOTS],
}

#[cfg(feature = "hmac")]
impl HeaderMemo {
    /// How many distinct headers are remembered.
    const SLOTS: usize = 4;

    pub(crate) fn get(&self, header: &str) -> Option<Header> {
        self.slots
            .iter()
            .map_while(OnceLock::get)
            .find(|(text, _)| **text == *header)
            .map(|(_, fields)| fields.clone())
    }

    /// Remembers the header of `jws`, whose signature has verified, if a slot is free.
    pub(crate) fn remember(&self, jws: &CompactJws<'_>) {
        if jws.remembered {
            return;
        }
        // The signing input starts with the header's text, up to the first dot.
        let Some((header, _)) = jws.signing_input.split_once('.') else {
            return;
        };
        if self.get(header).is_some() {
            return;
        }
        let fields = Header {
            alg: jws.alg,
            kid: jws.kid.clone(),
            typ: jws.typ.clone(),
        };
        if let Some(free) = self.slots.iter().find(|slot| slot.get().is_none()) {
            // Another thread may fill it first: then this header waits for the next token.
            let _ = free.set((header.into(), fields));
        }
    }
}

/// Decodes base64url `text` and hands the bytes to `read`: in a stack buffer when they fit in
/// `N` bytes, on the heap otherwise. Every validation decodes its header and payload, and under
/// load the allocator is a visible part of its cost.
fn with_decoded<const N: usize, T>(
    text: &str,
    read: impl FnOnce(&[u8]) -> Result<T, InvalidTokenReason>,
) -> Result<T, InvalidTokenReason> {
    if base64::decoded_len_estimate(text.len()) <= N {
        let mut buffer = [0u8; N];
        let len = URL_SAFE_NO_PAD
            .decode_slice(text, &mut buffer)
            .map_err(|_| InvalidTokenReason::Malformed)?;
        read(&buffer[..len])
    } else {
        read(&decode_to_vec(text)?)
    }
}

/// Decodes base64url `text` into a new vector. Not [`base64::Engine::decode`]: it asks for zeroed
/// memory, and glibc's `calloc` (before 2.41) always takes the arena's slow path, never the
/// per-thread cache that `malloc` serves small blocks from; the decoder writes every byte it
/// keeps anyway.
fn decode_to_vec(text: &str) -> Result<Vec<u8>, InvalidTokenReason> {
    let mut bytes = Vec::new();
    URL_SAFE_NO_PAD
        .decode_vec(text, &mut bytes)
        .map_err(|_| InvalidTokenReason::Malformed)?;
    Ok(bytes)
}

/// The `typ` values seen on access tokens, kept without an allocation.
fn intern_typ(typ: Cow<'_, str>) -> Cow<'static, str> {
    match typ.as_ref() {
        "JWT" => Cow::Borrowed("JWT"),
        "at+jwt" => Cow::Borrowed("at+jwt"),
        "application/at+jwt" => Cow::Borrowed("application/at+jwt"),
        _ => Cow::Owned(typ.into_owned()),
    }
}

/// A header parameter as the rules see it: a string, or a value of another type.
enum Param<'a> {
    Str(Cow<'a, str>),
    Other,
}

/// The header parameters the rules read, taken from the JSON object in one streaming pass
/// rather than through a map. The semantics are those of a `serde_json` map: the object must be
/// valid JSON throughout (unknown parameters are parsed, not skipped), and of a repeated
/// parameter the last one counts.
struct RawHeader<'a> {
    alg: Option<Param<'a>>,
    kid: Option<Param<'a>>,
    typ: Option<Param<'a>>,
    /// Whether `crit` is present, whatever its value.
    crit: bool,
}

/// The checked header: what [`CompactJws`] keeps of it.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    alg: Algorithm,
    kid: Option<String>,
    typ: Option<Cow<'static, str>>,
}

impl RawHeader<'_> {
    /// The header rules (RFC 7515, RFC 8725), in this order: `crit`, `alg`, `kid`, `typ`.
    fn check(self) -> Result<Header, InvalidTokenReason> {
        if self.crit {
            return Err(InvalidTokenReason::CriticalHeader);
        }
        let alg = match self.alg {
            Some(Param::Str(alg)) => alg,
            Some(Param::Other) | None => return Err(InvalidTokenReason::Malformed),
        };
        // `none` in any casing is refused here, before any key is looked at.
        let alg = alg
            .parse::<Algorithm>()
            .ok()
            .filter(|_| !alg.eq_ignore_ascii_case("none"))
            .ok_or(InvalidTokenReason::DisallowedAlgorithm)?;
        let kid = match self.kid {
            Some(Param::Str(kid)) => Some(kid.into_owned()),
            Some(Param::Other) => return Err(InvalidTokenReason::Malformed),
            None => None,
        };
        let typ = match self.typ {
            Some(Param::Str(typ)) => Some(intern_typ(typ)),
            Some(Param::Other) => return Err(InvalidTokenReason::Malformed),
            None => None,
        };
        Ok(Header { alg, kid, typ })
    }
}

impl<'de> Deserialize<'de> for RawHeader<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(HeaderVisitor)
    }
}

impl<'de> Deserialize<'de> for Param<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ParamVisitor)
    }
}

/// An object key, borrowed from the input when it holds no escape.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct HeaderVisitor;
struct ParamVisitor;
struct KeyVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = RawHeader<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut header = RawHeader {
            alg: None,
            kid: None,
            typ: None,
            crit: false,
        };
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                "alg" => header.alg = Some(map.next_value()?),
                "kid" => header.kid = Some(map.next_value()?),
                "typ" => header.typ = Some(map.next_value()?),
                other => {
                    header.crit |= other == "crit";
                    // Parsed as a JSON value, as a map would: a header that a map refuses
                    // (a number out of range, say) is refused here too.
                    map.next_value::<Value>()?;
                }
            }
        }
        Ok(header)
    }
}

impl<'de> Visitor<'de> for ParamVisitor {
    type Value = Param<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Param::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Param::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Param::Str(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Param::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Param::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Param::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Param::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Param::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<Value>()?.is_some() {}
        Ok(Param::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<Key<'de>, Value>()?.is_some() {}
        Ok(Param::Other)
    }
}

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Key(Cow::Owned(v)))
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
    fn header_reads_like_a_json_map() {
        // (alg, kid, typ) of the parsed header.
        type Fields = (Algorithm, Option<String>, Option<String>);
        let parse = |header: &str| -> Result<Fields, InvalidTokenReason> {
            let t = token(header);
            let jws = CompactJws::parse(&t, 8192)?;
            Ok((
                jws.alg(),
                jws.kid().map(str::to_owned),
                jws.typ().map(str::to_owned),
            ))
        };
        // A repeated parameter: the last one counts, as in a map.
        assert_eq!(
            parse(r#"{"alg":"none","alg":"HS256"}"#).map(|f| f.0),
            Ok(Algorithm::HS256)
        );
        assert_eq!(
            parse(r#"{"alg":"HS256","alg":"none"}"#).unwrap_err(),
            InvalidTokenReason::DisallowedAlgorithm
        );
        // Escaped names are the names they spell.
        assert_eq!(
            parse(r#"{"\u0061lg":"HS256","k\u0069d":"k1"}"#).map(|f| f.1),
            Ok(Some("k1".to_owned()))
        );
        // `crit` is refused whatever its value, null included.
        assert_eq!(
            parse(r#"{"alg":"HS256","crit":null}"#).unwrap_err(),
            InvalidTokenReason::CriticalHeader
        );
        // Wrong types are malformed, never skipped; null is not absent.
        for header in [
            r#"{"alg":null}"#,
            r#"{"alg":["HS256"]}"#,
            r#"{"alg":"HS256","kid":null}"#,
            r#"{"alg":"HS256","kid":7}"#,
            r#"{"alg":"HS256","typ":{"a":1}}"#,
            // Unknown parameters are parsed too: what a map refuses is refused.
            r#"{"alg":"HS256","x":1e400}"#,
            r#"{"alg":"HS256","x":[1,}"#,
            r#"{"alg":"HS256"} trailing"#,
            "null",
            r#""HS256""#,
        ] {
            assert_eq!(
                parse(header).unwrap_err(),
                InvalidTokenReason::Malformed,
                "{header}"
            );
        }
        assert_eq!(
            parse(r#"{"alg":"HS256","typ":"JWT","x5c":["a","b"],"n":{"m":[1,2.5,null,true]}}"#)
                .map(|f| f.2),
            Ok(Some("JWT".to_owned()))
        );
        assert_eq!(
            parse(r#"{"alg":"HS256","typ":"custom"}"#).map(|f| f.2),
            Ok(Some("custom".to_owned()))
        );
    }

    #[test]
    fn large_parts_are_decoded_on_the_heap() {
        // Past the stack buffers: a long header parameter and a long claim.
        let long = "x".repeat(4 * PAYLOAD_ON_STACK);
        let header = format!(r#"{{"alg":"HS256","kid":"{long}"}}"#);
        let payload = format!(r#"{{"sub":"{long}"}}"#);
        let t = format!("{}.{}.c2ln", b64(&header), b64(&payload));
        let jws = CompactJws::parse(&t, 64 * 1024).unwrap();
        assert_eq!(jws.kid(), Some(long.as_str()));
        assert_eq!(jws.claims().unwrap()["sub"], long.as_str());
        let t = format!("{}.{}.c2ln", b64(r#"{"alg":"HS256"}"#), b64("[1]"));
        assert_eq!(
            CompactJws::parse(&t, 8192).unwrap().claims().unwrap_err(),
            InvalidTokenReason::Malformed
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
