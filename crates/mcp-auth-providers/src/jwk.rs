//! Verification keys from a JSON Web Key Set (RFC 7517), filtered strictly.
//!
//! Each key is bound to the algorithms of its own type (RFC 8725 section 3.1): RSA keys of at
//! least 2048 bits verify RS*/PS* only, EC keys only the ES* algorithm of their curve, Ed25519
//! keys only EdDSA. Keys for encryption (`use` = `enc`), symmetric keys (`kty` = `oct`), keys of
//! unknown type or curve, and every key whose `kid` appears more than once are dropped: a
//! published set can never make a verifier accept HMAC or an algorithm the key was not made for.
//!
//! # Example
//!
//! ```
//! use mcp_auth_providers::jwk::JwkSet;
//!
//! let set = JwkSet::parse(br#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"hmac"}]}"#).unwrap();
//! assert!(set.is_empty()); // symmetric keys are never taken from a JWKS
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

/// The smallest RSA modulus accepted (RFC 7518 section 3.3: 2048 bits or larger).
pub const MIN_RSA_BITS: usize = 2048;

/// The type of a verification key and the algorithms it may verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// RSA with a modulus of `bits` bits: RS256/384/512, PS256/384/512.
    Rsa {
        /// Modulus size.
        bits: usize,
    },
    /// ECDSA on P-256: ES256.
    P256,
    /// ECDSA on P-384: ES384.
    P384,
    /// Ed25519: EdDSA.
    Ed25519,
}

impl KeyType {
    /// Whether this key type may verify `alg`.
    pub fn allows(self, alg: Algorithm) -> bool {
        match self {
            Self::Rsa { .. } => matches!(
                alg,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ),
            Self::P256 => alg == Algorithm::ES256,
            Self::P384 => alg == Algorithm::ES384,
            Self::Ed25519 => alg == Algorithm::EdDSA,
        }
    }
}

/// One usable verification key.
#[derive(Clone)]
pub struct VerificationKey {
    kid: Option<String>,
    key_type: KeyType,
    alg: Option<Algorithm>,
    /// The public key parameters (n/e, crv/x/y), to tell keys apart beyond their `kid`.
    material: String,
    decoding: DecodingKey,
}

impl std::fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .field("key_type", &self.key_type)
            .field("alg", &self.alg)
            .finish()
    }
}

impl VerificationKey {
    /// The key id.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// Whether this key may verify a token signed with `alg`: the type must allow it, and a key
    /// that names its `alg` verifies that algorithm only.
    pub fn allows(&self, alg: Algorithm) -> bool {
        self.key_type.allows(alg) && self.alg.is_none_or(|own| own == alg)
    }

    /// Verifies `signature` (base64url) over `signing_input` with `alg`. Refuses an algorithm
    /// the key does not allow without trying it.
    pub fn verify(&self, signing_input: &[u8], signature: &str, alg: Algorithm) -> bool {
        self.allows(alg)
            && jsonwebtoken::crypto::verify(signature, signing_input, &self.decoding, alg)
                .unwrap_or(false)
    }
}

/// Why a key set could not be read at all (individual bad keys are dropped, not errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwkSetError {
    /// Not a JSON object with a `keys` array.
    #[error("not a JWK Set: expected a JSON object with a `keys` array")]
    NotAKeySet,
}

/// The usable keys of a JWK Set.
#[derive(Debug, Clone, Default)]
pub struct JwkSet {
    keys: Vec<VerificationKey>,
    dropped: usize,
}

impl JwkSet {
    /// Parses a JWK Set document, keeping only keys that pass every rule of this module.
    ///
    /// # Errors
    ///
    /// [`JwkSetError::NotAKeySet`] when the document is not a key set at all.
    pub fn parse(json: &[u8]) -> Result<Self, JwkSetError> {
        let doc: Value = serde_json::from_slice(json).map_err(|_| JwkSetError::NotAKeySet)?;
        let entries = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JwkSetError::NotAKeySet)?;
        let mut keys: Vec<VerificationKey> = Vec::with_capacity(entries.len());
        let mut dropped = 0;
        for entry in entries {
            match parse_key(entry) {
                Some(key) => keys.push(key),
                None => dropped += 1,
            }
        }
        // A kid that names two keys is ambiguous: drop all of them.
        let mut unique = Vec::with_capacity(keys.len());
        for key in &keys {
            let shared = key.kid.is_some() && keys.iter().filter(|k| k.kid == key.kid).count() > 1;
            if shared {
                dropped += 1;
            } else {
                unique.push(key.clone());
            }
        }
        Ok(Self {
            keys: unique,
            dropped,
        })
    }

    /// Builds a set from keys already made.
    pub fn from_keys(keys: Vec<VerificationKey>) -> Self {
        Self { keys, dropped: 0 }
    }

    /// The usable keys.
    pub fn keys(&self) -> &[VerificationKey] {
        &self.keys
    }

    /// How many published keys were dropped by the rules.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Whether no key is usable.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key named `kid`.
    pub fn by_kid(&self, kid: &str) -> Option<&VerificationKey> {
        self.keys.iter().find(|k| k.kid.as_deref() == Some(kid))
    }

    /// Keys that may verify `alg` (for tokens without a `kid`).
    pub fn allowing(&self, alg: Algorithm) -> impl Iterator<Item = &VerificationKey> {
        self.keys.iter().filter(move |k| k.allows(alg))
    }

    /// Whether every key of `other` is still in this set: same `kid` and same key material
    /// (a key replaced under the same `kid`, or a withdrawn key without `kid`, counts as gone).
    pub fn contains_all_of(&self, other: &JwkSet) -> bool {
        other.keys.iter().all(|old| {
            self.keys
                .iter()
                .any(|new| new.kid == old.kid && new.material == old.material && new.alg == old.alg)
        })
    }
}

fn text<'a>(entry: &'a Value, name: &str) -> Option<&'a str> {
    entry.get(name).and_then(Value::as_str)
}

fn b64_len(value: &str) -> Option<usize> {
    URL_SAFE_NO_PAD.decode(value).ok().map(|bytes| {
        // Leading zero octets do not count towards the modulus size.
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        bytes.len() - skip
    })
}

fn parse_key(entry: &Value) -> Option<VerificationKey> {
    if let Some(usage) = entry.get("use")
        && usage.as_str() != Some("sig")
    {
        return None;
    }
    if let Some(ops) = entry.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return None;
        }
    }
    let kid = match entry.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return None,
    };
    let alg = match entry.get("alg") {
        None => None,
        Some(Value::String(alg)) => Some(alg.parse::<Algorithm>().ok()?),
        Some(_) => return None,
    };
    let (key_type, material, decoding) = match text(entry, "kty")? {
        "RSA" => {
            let (n, e) = (text(entry, "n")?, text(entry, "e")?);
            let material = format!("RSA:{n}:{e}");
            let bits = b64_len(n)? * 8;
            if bits < MIN_RSA_BITS || b64_len(e)? == 0 {
                return None;
            }
            (
                KeyType::Rsa { bits },
                material,
                DecodingKey::from_rsa_components(n, e).ok()?,
            )
        }
        "EC" => {
            let (x, y) = (text(entry, "x")?, text(entry, "y")?);
            let (key_type, size) = match text(entry, "crv")? {
                "P-256" => (KeyType::P256, 32),
                "P-384" => (KeyType::P384, 48),
                _ => return None,
            };
            if b64_exact_len(x)? != size || b64_exact_len(y)? != size {
                return None;
            }
            (
                key_type,
                format!("EC:{x}:{y}"),
                DecodingKey::from_ec_components(x, y).ok()?,
            )
        }
        "OKP" => {
            let x = text(entry, "x")?;
            if text(entry, "crv")? != "Ed25519" || b64_exact_len(x)? != 32 {
                return None;
            }
            (
                KeyType::Ed25519,
                format!("OKP:{x}"),
                DecodingKey::from_ed_components(x).ok()?,
            )
        }
        _ => return None,
    };
    if alg.is_some_and(|alg| !key_type.allows(alg)) {
        return None;
    }
    Some(VerificationKey {
        kid,
        key_type,
        alg,
        material,
        decoding,
    })
}

fn b64_exact_len(value: &str) -> Option<usize> {
    URL_SAFE_NO_PAD.decode(value).ok().map(|b| b.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn rsa(bits: usize, kid: &str) -> Value {
        let mut n = vec![0xC5u8; bits / 8];
        n[0] = 0xE1;
        json!({"kty": "RSA", "kid": kid, "n": b64(&n), "e": "AQAB"})
    }

    fn parse(keys: Value) -> JwkSet {
        JwkSet::parse(json!({ "keys": keys }).to_string().as_bytes()).unwrap()
    }

    #[test]
    fn rsa_below_2048_bits_is_dropped() {
        let set = parse(json!([rsa(1024, "small"), rsa(2048, "ok")]));
        assert_eq!(set.keys().len(), 1);
        assert_eq!(set.keys()[0].kid(), Some("ok"));
        assert_eq!(set.keys()[0].key_type(), KeyType::Rsa { bits: 2048 });
    }

    #[test]
    fn enc_oct_and_duplicate_kids_are_dropped() {
        let mut enc = rsa(2048, "enc");
        enc["use"] = json!("enc");
        let set = parse(json!([
            enc,
            {"kty": "oct", "k": "c2VjcmV0", "kid": "oct"},
            rsa(2048, "dup"),
            rsa(2048, "dup"),
            rsa(2048, "keep"),
        ]));
        let kids: Vec<_> = set.keys().iter().map(|k| k.kid()).collect();
        assert_eq!(kids, vec![Some("keep")]);
        assert_eq!(set.dropped(), 4);
    }

    #[test]
    fn algorithms_are_bound_to_key_type() {
        let set = parse(json!([
            rsa(2048, "r"),
            {"kty": "EC", "crv": "P-256", "kid": "e", "x": b64(&[1; 32]), "y": b64(&[2; 32])},
            {"kty": "OKP", "crv": "Ed25519", "kid": "o", "x": b64(&[3; 32])},
        ]));
        let r = set.by_kid("r").unwrap();
        assert!(r.allows(Algorithm::RS256) && r.allows(Algorithm::PS512));
        assert!(!r.allows(Algorithm::HS256) && !r.allows(Algorithm::ES256));
        let e = set.by_kid("e").unwrap();
        assert!(
            e.allows(Algorithm::ES256)
                && !e.allows(Algorithm::ES384)
                && !e.allows(Algorithm::RS256)
        );
        let o = set.by_kid("o").unwrap();
        assert!(o.allows(Algorithm::EdDSA) && !o.allows(Algorithm::HS256));
    }

    #[test]
    fn declared_alg_narrows_the_key() {
        let mut key = rsa(2048, "r");
        key["alg"] = json!("PS256");
        let set = parse(json!([key]));
        let k = set.by_kid("r").unwrap();
        assert!(k.allows(Algorithm::PS256) && !k.allows(Algorithm::RS256));
        let mut wrong = rsa(2048, "w");
        wrong["alg"] = json!("ES256");
        assert!(parse(json!([wrong])).is_empty());
    }

    #[test]
    fn not_a_key_set() {
        assert_eq!(JwkSet::parse(b"[]").unwrap_err(), JwkSetError::NotAKeySet);
        assert_eq!(
            JwkSet::parse(b"<html>").unwrap_err(),
            JwkSetError::NotAKeySet
        );
    }
}
