//! The authorization server's signing keys: generated on first start and persisted, published
//! at the JWKS endpoint, rotated with an overlap window.
//!
//! [`SigningKeys`] is loaded from a [`Store`]: the newest key not yet retired signs; if there is
//! none (first start, or every key retired), one is generated and stored. [`SigningKeys::rotate`]
//! generates a new key, signs with it from then on, and retires the previous one with a
//! `not_after` an overlap window ahead, so tokens it signed keep verifying until they expire.
//! [`SigningKeys::jwks`] publishes every key not past its `not_after`.
//!
//! | algorithm | key | JWK |
//! |---|---|---|
//! | [`SigningAlgorithm::Es256`] (default) | ECDSA P-256 | `kty` `EC`, `crv` `P-256`, `x`, `y` |
//! | [`SigningAlgorithm::Rs256`] | RSA 2048 bits, e = 65537 | `kty` `RSA`, `n`, `e` |
//! | [`SigningAlgorithm::EdDsa`] | Ed25519 | `kty` `OKP`, `crv` `Ed25519`, `x` |
//!
//! Every `kid` is the key's JWK thumbprint (RFC 7638, SHA-256, base64url): it names the key
//! material itself, so two keys never share one. Private keys are kept as PKCS#8 DER in
//! [`SecretBytes`] (zeroized on drop, redacted in `Debug`); signing uses aws-lc-rs directly
//! with the key parsed once.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use mcp_auth_server::keys::{SigningAlgorithm, SigningKeys};
//! use mcp_auth_server::store::MemoryStore;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let now = 1_700_000_000;
//!
//! // First start: no key stored, one is generated and persisted.
//! let keys = SigningKeys::load(&store, SigningAlgorithm::Es256, now).await.unwrap();
//! let first = keys.active().kid().to_owned();
//! // A restart finds it again.
//! let again = SigningKeys::load(&store, SigningAlgorithm::Es256, now + 10).await.unwrap();
//! assert_eq!(again.active().kid(), first);
//!
//! // Rotation: a new key signs, the old one stays published for an hour.
//! keys.rotate(&store, Duration::from_secs(3600), now + 20).await.unwrap();
//! assert_ne!(keys.active().kid(), first);
//! assert_eq!(keys.jwks(now + 30)["keys"].as_array().unwrap().len(), 2);
//! assert_eq!(keys.jwks(now + 20 + 3600)["keys"].as_array().unwrap().len(), 1);
//! # });
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use mcp_auth_core::SecretBytes;
use mcp_auth_providers::jwk::JwkSet;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::store::{SigningKeyRecord, Store, StoreError};

/// A JWS algorithm the server signs with (RFC 7518 section 3.1, RFC 8037 section 3.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// ECDSA with P-256 and SHA-256: small keys and signatures, the default.
    #[default]
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys: for verifiers that know only RSA.
    Rs256,
    /// EdDSA with Ed25519.
    EdDsa,
}

impl SigningAlgorithm {
    /// The `alg` name: `ES256`, `RS256` or `EdDSA`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlgorithm {
    type Err = KeyError;

    /// Parses an `alg` name, exactly as JOSE spells it.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ES256" => Ok(Self::Es256),
            "RS256" => Ok(Self::Rs256),
            "EdDSA" => Ok(Self::EdDsa),
            _ => Err(KeyError::UnsupportedAlgorithm(s.to_owned())),
        }
    }
}

/// Why a signing key could not be made, loaded or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// An `alg` this server does not sign with.
    #[error("unsupported signing algorithm `{0}` (supported: ES256, RS256, EdDSA)")]
    UnsupportedAlgorithm(String),
    /// The bytes are not an unencrypted PKCS#8 private key of the algorithm.
    #[error("not a valid {0} private key (unencrypted PKCS#8 expected)")]
    InvalidKey(SigningAlgorithm),
    /// A PEM document without a `PRIVATE KEY` block, or with bad base64.
    #[error("not a PEM `PRIVATE KEY` (PKCS#8) document")]
    InvalidPem,
    /// A stored key does not match its record (its `kid` is not its thumbprint, or its
    /// algorithm or key is unusable). The message names the key, never its material.
    #[error("stored signing key `{kid}` is unusable: {reason}")]
    Corrupt {
        /// The stored key id.
        kid: String,
        /// What is wrong.
        reason: String,
    },
    /// The cryptographic library failed to generate a key or a signature.
    #[error("the cryptographic backend failed to {0}")]
    Crypto(&'static str),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The parsed private key, ready to sign.
enum KeyPair {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

/// One signing key: its private half (PKCS#8), its public JWK and its `kid`.
pub struct SigningKey {
    kid: String,
    alg: SigningAlgorithm,
    created_at: u64,
    pkcs8: SecretBytes,
    public_jwk: Value,
    pair: KeyPair,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("created_at", &self.created_at)
            .field("private_key", &self.pkcs8)
            .finish()
    }
}

impl SigningKey {
    /// Generates a new key of `alg`, created at `created_at` (unix seconds).
    ///
    /// # Errors
    ///
    /// [`KeyError::Crypto`] if the backend fails.
    pub fn generate(alg: SigningAlgorithm, created_at: u64) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = match alg {
            SigningAlgorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .map_err(|_| KeyError::Crypto("generate a key"))?
                    .as_ref()
                    .to_vec()
            }
            SigningAlgorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|_| KeyError::Crypto("generate a key"))?
                .as_ref()
                .to_vec(),
            SigningAlgorithm::Rs256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048)
                    .map_err(|_| KeyError::Crypto("generate a key"))?;
                let der: aws_lc_rs::encoding::Pkcs8V1Der<'static> = pair
                    .as_der()
                    .map_err(|_| KeyError::Crypto("encode a key"))?;
                der.as_ref().to_vec()
            }
        };
        Self::from_pkcs8_der(alg, SecretBytes::new(pkcs8), created_at)
    }

    /// A key from an unencrypted PKCS#8 DER private key of `alg` (e.g. one made with
    /// `openssl genpkey`). RSA keys must be at least 2048 bits.
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidKey`] if the bytes are not such a key.
    pub fn from_pkcs8_der(
        alg: SigningAlgorithm,
        pkcs8: SecretBytes,
        created_at: u64,
    ) -> Result<Self, KeyError> {
        let der = pkcs8.expose_secret();
        let invalid = |_| KeyError::InvalidKey(alg);
        let (pair, public_jwk) = match alg {
            SigningAlgorithm::Es256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(invalid)?;
                // The uncompressed point: 0x04 || x || y, 32 bytes each.
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point[0] != 0x04 {
                    return Err(KeyError::InvalidKey(alg));
                }
                let jwk = json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..]),
                });
                (KeyPair::Es256(pair), jwk)
            }
            SigningAlgorithm::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(invalid)?;
                if pair.public_modulus_len() * 8 < mcp_auth_providers::jwk::MIN_RSA_BITS {
                    return Err(KeyError::InvalidKey(alg));
                }
                let public = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                let jwk = json!({
                    "kty": "RSA",
                    "n": URL_SAFE_NO_PAD.encode(&public.n),
                    "e": URL_SAFE_NO_PAD.encode(&public.e),
                });
                (KeyPair::Rs256(pair), jwk)
            }
            SigningAlgorithm::EdDsa => {
                let pair = Ed25519KeyPair::from_pkcs8(der).map_err(invalid)?;
                let jwk = json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
                });
                (KeyPair::EdDsa(pair), jwk)
            }
        };
        let kid = thumbprint(&public_jwk).ok_or(KeyError::InvalidKey(alg))?;
        let mut public_jwk = public_jwk;
        if let Value::Object(members) = &mut public_jwk {
            members.insert("kid".to_owned(), Value::String(kid.clone()));
            members.insert("use".to_owned(), Value::String("sig".to_owned()));
            members.insert("alg".to_owned(), Value::String(alg.as_str().to_owned()));
        }
        Ok(Self {
            kid,
            alg,
            created_at,
            pkcs8,
            public_jwk,
            pair,
        })
    }

    /// A key from a PEM `PRIVATE KEY` (PKCS#8) document; the algorithm is read from the key
    /// (Ed25519, P-256 or RSA).
    ///
    /// # Errors
    ///
    /// [`KeyError::InvalidPem`] if there is no such block; [`KeyError::InvalidKey`] if the key
    /// is of none of the three kinds.
    pub fn from_pkcs8_pem(pem: &str, created_at: u64) -> Result<Self, KeyError> {
        const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
        const END: &str = "-----END PRIVATE KEY-----";
        let start = pem.find(BEGIN).ok_or(KeyError::InvalidPem)? + BEGIN.len();
        let end = start + pem[start..].find(END).ok_or(KeyError::InvalidPem)?;
        let body: String = pem[start..end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let der = SecretBytes::new(STANDARD.decode(body).map_err(|_| KeyError::InvalidPem)?);
        let mut last = KeyError::InvalidPem;
        for alg in [
            SigningAlgorithm::EdDsa,
            SigningAlgorithm::Es256,
            SigningAlgorithm::Rs256,
        ] {
            match Self::from_pkcs8_der(alg, der.clone(), created_at) {
                Ok(key) => return Ok(key),
                Err(err) => last = err,
            }
        }
        Err(last)
    }

    /// Rebuilds a stored key, checking that its `kid` is the thumbprint of its private key.
    ///
    /// # Errors
    ///
    /// [`KeyError::Corrupt`] if the record is unusable.
    pub fn from_record(record: &SigningKeyRecord) -> Result<Self, KeyError> {
        let corrupt = |reason: String| KeyError::Corrupt {
            kid: record.kid.clone(),
            reason,
        };
        let alg: SigningAlgorithm = record
            .alg
            .parse()
            .map_err(|e: KeyError| corrupt(e.to_string()))?;
        let key = Self::from_pkcs8_der(alg, record.private_key_der.clone(), record.created_at)
            .map_err(|e| corrupt(e.to_string()))?;
        if key.kid != record.kid {
            return Err(corrupt(
                "the kid is not the thumbprint of the private key".to_owned(),
            ));
        }
        Ok(key)
    }

    /// The record to store, with `not_after` unset (an active key).
    pub fn to_record(&self) -> SigningKeyRecord {
        SigningKeyRecord {
            kid: self.kid.clone(),
            alg: self.alg.as_str().to_owned(),
            private_key_der: self.pkcs8.clone(),
            public_jwk: self.public_jwk.clone(),
            created_at: self.created_at,
            not_after: None,
        }
    }

    /// The key id: the RFC 7638 thumbprint of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm.
    pub fn alg(&self) -> SigningAlgorithm {
        self.alg
    }

    /// When the key was created (unix seconds).
    pub fn created_at(&self) -> u64 {
        self.created_at
    }

    /// The public key as published: `kty`, the key parameters, `kid`, `use` `sig`, `alg`.
    pub fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }

    /// Signs `message`, returning the JWS signature bytes (for ES256 the 64-byte `r || s` of
    /// RFC 7518 section 3.4).
    ///
    /// # Errors
    ///
    /// [`KeyError::Crypto`] if the backend fails.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let failed = |_| KeyError::Crypto("sign");
        match &self.pair {
            KeyPair::Es256(pair) => Ok(pair
                .sign(&SystemRandom::new(), message)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            KeyPair::EdDsa(pair) => Ok(pair.sign(message).as_ref().to_vec()),
            KeyPair::Rs256(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(failed)?;
                Ok(signature)
            }
        }
    }
}

/// The RFC 7638 thumbprint of a public JWK: SHA-256 over its required members in
/// lexicographic order without whitespace, base64url. `None` for a key type not handled here.
pub fn thumbprint(jwk: &Value) -> Option<String> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    // The members are base64url or fixed names: no character needs JSON escaping, but encode
    // them through serde_json anyway so the input is always valid JSON.
    let s = |v: &str| Value::String(v.to_owned()).to_string();
    let canonical = match member("kty")? {
        "EC" => format!(
            r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
            s(member("crv")?),
            s(member("x")?),
            s(member("y")?)
        ),
        "RSA" => format!(
            r#"{{"e":{},"kty":"RSA","n":{}}}"#,
            s(member("e")?),
            s(member("n")?)
        ),
        "OKP" => format!(
            r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
            s(member("crv")?),
            s(member("x")?)
        ),
        _ => return None,
    };
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// A key and the time it stops being published (`None` while it is active).
#[derive(Debug, Clone)]
struct Entry {
    key: Arc<SigningKey>,
    not_after: Option<u64>,
}

/// The keys in memory, oldest first, and the one that signs: the newest without `not_after`.
#[derive(Debug)]
struct Ring {
    entries: Vec<Entry>,
    active: Arc<SigningKey>,
}

impl Ring {
    /// A ring of `entries`, or `None` if none of them is active.
    fn new(entries: Vec<Entry>) -> Option<Self> {
        // `max_by_key` keeps the last of equals: a later entry wins a tie on `created_at`.
        let active = entries
            .iter()
            .filter(|e| e.not_after.is_none())
            .max_by_key(|e| e.key.created_at)?
            .key
            .clone();
        Some(Self { entries, active })
    }
}

/// The server's signing keys: one active key that signs, and retired keys still published.
///
/// Cheap to share (`Arc<SigningKeys>`); [`SigningKeys::rotate`] takes `&self`, so the token
/// endpoint keeps signing while a rotation happens.
#[derive(Debug)]
pub struct SigningKeys {
    algorithm: SigningAlgorithm,
    ring: RwLock<Arc<Ring>>,
}

impl SigningKeys {
    /// Loads the stored keys; if none is active (first start, or all retired), generates one
    /// of `algorithm` and stores it. `algorithm` applies to keys generated from now on: a
    /// stored active key of another algorithm keeps signing until the next rotation.
    ///
    /// Keys past their `not_after` at `now` are not loaded.
    ///
    /// # Errors
    ///
    /// [`KeyError::Store`] if the store fails; [`KeyError::Corrupt`] if a stored key is
    /// unusable.
    pub async fn load(
        store: &dyn Store,
        algorithm: SigningAlgorithm,
        now: u64,
    ) -> Result<Self, KeyError> {
        let ring = Self::read_ring(store, algorithm, now).await?;
        Ok(Self {
            algorithm,
            ring: RwLock::new(Arc::new(ring)),
        })
    }

    /// Reads the stored keys again (another replica may have rotated), generating and storing
    /// one if none is active.
    ///
    /// # Errors
    ///
    /// As [`SigningKeys::load`].
    pub async fn reload(&self, store: &dyn Store, now: u64) -> Result<(), KeyError> {
        let ring = Self::read_ring(store, self.algorithm, now).await?;
        self.replace(ring);
        Ok(())
    }

    async fn read_ring(
        store: &dyn Store,
        algorithm: SigningAlgorithm,
        now: u64,
    ) -> Result<Ring, KeyError> {
        let mut entries = Vec::new();
        for record in store.list_signing_keys().await? {
            if !record.is_published(now) {
                continue;
            }
            entries.push(Entry {
                key: Arc::new(SigningKey::from_record(&record)?),
                not_after: record.not_after,
            });
        }
        if entries.iter().all(|e| e.not_after.is_some()) {
            let key = SigningKey::generate(algorithm, now)?;
            store.put_signing_key(key.to_record()).await?;
            entries.push(Entry {
                key: Arc::new(key),
                not_after: None,
            });
        }
        Ring::new(entries).ok_or(KeyError::Crypto("keep an active key"))
    }

    /// The algorithm of generated keys.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The key that signs: the newest active one.
    pub fn active(&self) -> Arc<SigningKey> {
        self.snapshot().active.clone()
    }

    /// Every key published at `now` (not past its `not_after`), oldest first.
    pub fn published(&self, now: u64) -> Vec<Arc<SigningKey>> {
        self.snapshot()
            .entries
            .iter()
            .filter(|e| e.not_after.is_none_or(|not_after| now < not_after))
            .map(|e| e.key.clone())
            .collect()
    }

    /// The JWK Set document (RFC 7517 section 5) of the keys published at `now`, served at
    /// `jwks_uri`.
    pub fn jwks(&self, now: u64) -> Value {
        let keys: Vec<Value> = self
            .published(now)
            .iter()
            .map(|k| k.public_jwk().clone())
            .collect();
        json!({ "keys": keys })
    }

    /// The keys published at `now` as a verifier's [`JwkSet`], for validating this server's
    /// tokens in process (exactly what a remote resource server would read from `jwks_uri`).
    pub fn jwk_set(&self, now: u64) -> JwkSet {
        JwkSet::parse(self.jwks(now).to_string().as_bytes()).unwrap_or_default()
    }

    /// Generates a new key of [`SigningKeys::algorithm`] and rotates to it: see
    /// [`SigningKeys::rotate_to`].
    ///
    /// # Errors
    ///
    /// [`KeyError::Crypto`] if generation fails, [`KeyError::Store`] if the store does.
    pub async fn rotate(
        &self,
        store: &dyn Store,
        overlap: Duration,
        now: u64,
    ) -> Result<Arc<SigningKey>, KeyError> {
        let key = SigningKey::generate(self.algorithm, now)?;
        self.rotate_to(store, key, overlap, now).await
    }

    /// Makes `key` (generated, or imported with [`SigningKey::from_pkcs8_pem`]) the active
    /// key: it is stored, then every previously active key is retired with
    /// `not_after = now + overlap`. Choose `overlap` at least as long as the access token
    /// lifetime, so tokens signed just before the rotation still verify until they expire.
    ///
    /// # Errors
    ///
    /// [`KeyError::Store`] if the store fails ([`StoreError::Conflict`] if the key is
    /// already stored). If storing the key fails, nothing changed. If it was stored but
    /// retiring a previous key fails, the new key is active all the same, here as in the store
    /// (every server loading the keys signs with the newest active key, and this one must
    /// agree with them), and the previous keys not retired stay published without an end; the
    /// error says so, and the next rotation retires them.
    pub async fn rotate_to(
        &self,
        store: &dyn Store,
        key: SigningKey,
        overlap: Duration,
        now: u64,
    ) -> Result<Arc<SigningKey>, KeyError> {
        let not_after = now.saturating_add(overlap.as_secs());
        let key = Arc::new(key);
        store.put_signing_key(key.to_record()).await?;
        let current = self.snapshot();
        let mut entries = Vec::with_capacity(current.entries.len() + 1);
        let mut retired = Ok(());
        for entry in &current.entries {
            let mut entry = entry.clone();
            if entry.not_after.is_none() && retired.is_ok() {
                retired = store
                    .retire_signing_key(entry.key.kid(), not_after)
                    .await
                    .map(drop);
                if retired.is_ok() {
                    entry.not_after = Some(not_after);
                }
            }
            entries.push(entry);
        }
        entries.push(Entry {
            key: key.clone(),
            not_after: None,
        });
        self.replace(Ring {
            entries,
            active: key.clone(),
        });
        retired?;
        Ok(key)
    }

    fn snapshot(&self) -> Arc<Ring> {
        self.ring
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, ring: Ring) {
        *self.ring.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(ring);
    }
}

#[cfg(test)]
#[cfg(feature = "memory")]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    const NOW: u64 = 1_700_000_000;
    const ALGORITHMS: [SigningAlgorithm; 3] = [
        SigningAlgorithm::Es256,
        SigningAlgorithm::Rs256,
        SigningAlgorithm::EdDsa,
    ];

    #[test]
    fn rfc7638_rsa_thumbprint() {
        // RFC 7638 section 3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn rfc8037_okp_thumbprint() {
        // RFC 8037 appendix A.3.
        let jwk = json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
        });
        assert_eq!(
            thumbprint(&jwk).as_deref(),
            Some("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k")
        );
        assert_eq!(thumbprint(&json!({"kty": "oct", "k": "AA"})), None);
    }

    #[test]
    fn generated_keys_publish_their_public_half_only() {
        for alg in ALGORITHMS {
            let key = SigningKey::generate(alg, NOW).unwrap();
            let jwk = key.public_jwk();
            assert_eq!(jwk["kid"], key.kid());
            assert_eq!(jwk["use"], "sig");
            assert_eq!(jwk["alg"], alg.as_str());
            assert_eq!(thumbprint(jwk).as_deref(), Some(key.kid()));
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(jwk.get(private).is_none(), "{alg}: {private} published");
            }
            let expected: &[&str] = match alg {
                SigningAlgorithm::Es256 => &["alg", "crv", "kid", "kty", "use", "x", "y"],
                SigningAlgorithm::Rs256 => &["alg", "e", "kid", "kty", "n", "use"],
                SigningAlgorithm::EdDsa => &["alg", "crv", "kid", "kty", "use", "x"],
            };
            let mut members: Vec<&str> = jwk
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            members.sort_unstable();
            assert_eq!(members, expected);
            // Each key verifies under the strict JWK rules of the resource server.
            let set = JwkSet::parse(json!({ "keys": [jwk] }).to_string().as_bytes()).unwrap();
            assert_eq!(set.keys().len(), 1, "{alg}");
        }
        let rsa = SigningKey::generate(SigningAlgorithm::Rs256, NOW).unwrap();
        assert_eq!(rsa.public_jwk()["e"], "AQAB");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(rsa.public_jwk()["n"].as_str().unwrap())
                .unwrap()
                .len(),
            256
        );
    }

    #[test]
    fn signatures_verify_with_the_published_key() {
        for alg in ALGORITHMS {
            let key = SigningKey::generate(alg, NOW).unwrap();
            let set = JwkSet::parse(json!({ "keys": [key.public_jwk()] }).to_string().as_bytes())
                .unwrap();
            let signature = URL_SAFE_NO_PAD.encode(key.sign(b"header.payload").unwrap());
            let jose: mcp_auth_providers::Algorithm = alg.as_str().parse().unwrap();
            let verifier = set.by_kid(key.kid()).unwrap();
            assert!(
                verifier.verify(b"header.payload", &signature, jose),
                "{alg}"
            );
            assert!(
                !verifier.verify(b"header.payloaX", &signature, jose),
                "{alg}"
            );
        }
    }

    #[test]
    fn record_round_trip_and_corruption() {
        for alg in ALGORITHMS {
            let key = SigningKey::generate(alg, NOW).unwrap();
            let record = key.to_record();
            assert_eq!(record.alg, alg.as_str());
            assert_eq!(record.not_after, None);
            let back = SigningKey::from_record(&record).unwrap();
            assert_eq!(back.kid(), key.kid());
            assert_eq!(back.public_jwk(), key.public_jwk());
        }
        let mut record = SigningKey::generate(SigningAlgorithm::Es256, NOW)
            .unwrap()
            .to_record();
        record.kid = "another".to_owned();
        assert!(matches!(
            SigningKey::from_record(&record),
            Err(KeyError::Corrupt { kid, .. }) if kid == "another"
        ));
        record.alg = "HS256".to_owned();
        assert!(matches!(
            SigningKey::from_record(&record),
            Err(KeyError::Corrupt { .. })
        ));
        // A P-256 key is not an Ed25519 key.
        let ec = SigningKey::generate(SigningAlgorithm::Es256, NOW).unwrap();
        assert!(matches!(
            SigningKey::from_pkcs8_der(SigningAlgorithm::EdDsa, ec.pkcs8, NOW),
            Err(KeyError::InvalidKey(SigningAlgorithm::EdDsa))
        ));
    }

    #[test]
    fn pem_import_detects_the_algorithm() {
        for alg in ALGORITHMS {
            let key = SigningKey::generate(alg, NOW).unwrap();
            let body = STANDARD.encode(key.pkcs8.expose_secret());
            let lines: Vec<&str> = body
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            let pem = format!(
                "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                lines.join("\n")
            );
            let imported = SigningKey::from_pkcs8_pem(&pem, NOW).unwrap();
            assert_eq!(imported.alg(), alg);
            assert_eq!(imported.kid(), key.kid());
        }
        assert!(matches!(
            SigningKey::from_pkcs8_pem("no pem here", NOW),
            Err(KeyError::InvalidPem)
        ));
        assert!(matches!(
            SigningKey::from_pkcs8_pem(
                "-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----",
                NOW
            ),
            Err(KeyError::InvalidPem)
        ));
    }

    #[test]
    fn algorithm_names() {
        for alg in ALGORITHMS {
            assert_eq!(alg.as_str().parse::<SigningAlgorithm>().unwrap(), alg);
            assert_eq!(alg.to_string(), alg.as_str());
        }
        assert_eq!(SigningAlgorithm::default(), SigningAlgorithm::Es256);
        assert!(matches!(
            "es256".parse::<SigningAlgorithm>(),
            Err(KeyError::UnsupportedAlgorithm(_))
        ));
        assert!("none".parse::<SigningAlgorithm>().is_err());
    }

    #[test]
    fn debug_redacts_the_private_key() {
        let key = SigningKey::generate(SigningAlgorithm::EdDsa, NOW).unwrap();
        let debug = format!("{key:?}");
        assert!(debug.contains(key.kid()));
        assert!(debug.contains("redacted"));
        let der_b64 = STANDARD.encode(key.pkcs8.expose_secret());
        assert!(!debug.contains(&der_b64));
        assert!(!debug.contains(&format!("{:?}", key.pkcs8.expose_secret())));
    }

    #[tokio::test]
    async fn first_start_generates_and_persists_then_reuses() {
        let store = MemoryStore::new();
        let keys = SigningKeys::load(&store, SigningAlgorithm::Rs256, NOW)
            .await
            .unwrap();
        let active = keys.active();
        assert_eq!(active.alg(), SigningAlgorithm::Rs256);
        assert_eq!(active.created_at(), NOW);
        let stored = store.list_signing_keys().await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].kid, active.kid());
        assert_eq!(stored[0].public_jwk, *active.public_jwk());

        // A restart, even configured for another algorithm, keeps the stored active key.
        let again = SigningKeys::load(&store, SigningAlgorithm::Es256, NOW + 60)
            .await
            .unwrap();
        assert_eq!(again.active().kid(), active.kid());
        assert_eq!(store.list_signing_keys().await.unwrap().len(), 1);
        // Its next rotation uses the configured algorithm.
        let next = again
            .rotate(&store, Duration::from_secs(60), NOW + 120)
            .await
            .unwrap();
        assert_eq!(next.alg(), SigningAlgorithm::Es256);
    }

    #[tokio::test]
    async fn rotation_overlaps_then_retires() {
        let store = MemoryStore::new();
        let keys = SigningKeys::load(&store, SigningAlgorithm::Es256, NOW)
            .await
            .unwrap();
        let old = keys.active();
        let new = keys
            .rotate(&store, Duration::from_secs(3600), NOW + 100)
            .await
            .unwrap();
        assert_eq!(keys.active().kid(), new.kid());
        assert_ne!(new.kid(), old.kid());

        let kids = |now| -> Vec<String> {
            keys.jwks(now)["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(kids(NOW + 100), vec![old.kid(), new.kid()]);
        assert_eq!(kids(NOW + 3699), vec![old.kid(), new.kid()]);
        assert_eq!(kids(NOW + 3700), vec![new.kid()]);
        assert!(keys.jwk_set(NOW + 3699).by_kid(old.kid()).is_some());
        assert!(keys.jwk_set(NOW + 3700).by_kid(old.kid()).is_none());

        // The store agrees: the old key retired at now + overlap, the new one active.
        let stored = store.list_signing_keys().await.unwrap();
        let find = |kid: &str| stored.iter().find(|r| r.kid == kid).unwrap().not_after;
        assert_eq!(find(old.kid()), Some(NOW + 3700));
        assert_eq!(find(new.kid()), None);

        // Another replica loading now sees the same ring; after the overlap the old key is gone.
        let replica = SigningKeys::load(&store, SigningAlgorithm::Es256, NOW + 200)
            .await
            .unwrap();
        assert_eq!(replica.active().kid(), new.kid());
        assert_eq!(replica.published(NOW + 200).len(), 2);
        replica.reload(&store, NOW + 3700).await.unwrap();
        assert_eq!(replica.published(NOW + 3700).len(), 1);
        assert_eq!(replica.active().kid(), new.kid());
    }

    #[tokio::test]
    async fn all_keys_retired_means_a_new_one_on_load() {
        let store = MemoryStore::new();
        let keys = SigningKeys::load(&store, SigningAlgorithm::EdDsa, NOW)
            .await
            .unwrap();
        let old = keys.active();
        store.retire_signing_key(old.kid(), NOW + 10).await.unwrap();
        let reloaded = SigningKeys::load(&store, SigningAlgorithm::EdDsa, NOW + 5)
            .await
            .unwrap();
        assert_ne!(reloaded.active().kid(), old.kid());
        assert_eq!(reloaded.published(NOW + 5).len(), 2);
        assert_eq!(reloaded.published(NOW + 10).len(), 1);
    }

    #[tokio::test]
    async fn rotate_to_an_imported_key() {
        let store = MemoryStore::new();
        let keys = SigningKeys::load(&store, SigningAlgorithm::Es256, NOW)
            .await
            .unwrap();
        let imported = SigningKey::generate(SigningAlgorithm::Rs256, NOW).unwrap();
        let kid = imported.kid().to_owned();
        let twin = SigningKey::from_pkcs8_der(SigningAlgorithm::Rs256, imported.pkcs8.clone(), NOW)
            .unwrap();
        keys.rotate_to(&store, imported, Duration::from_secs(60), NOW)
            .await
            .unwrap();
        assert_eq!(keys.active().kid(), kid);
        // The same key again is refused: its kid is taken.
        assert!(matches!(
            keys.rotate_to(&store, twin, Duration::from_secs(60), NOW)
                .await,
            Err(KeyError::Store(StoreError::Conflict(_)))
        ));
        assert_eq!(keys.active().kid(), kid);
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn keys_survive_a_restart_in_sqlite() {
        use crate::store::SqliteStore;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.db");
        let (first, second) = {
            let store = SqliteStore::open(&path).await.unwrap();
            let keys = SigningKeys::load(&store, SigningAlgorithm::Rs256, NOW)
                .await
                .unwrap();
            let first = keys.active();
            let second = keys
                .rotate(&store, Duration::from_secs(600), NOW + 10)
                .await
                .unwrap();
            (first, second)
        };
        let store = SqliteStore::open(&path).await.unwrap();
        let keys = SigningKeys::load(&store, SigningAlgorithm::Rs256, NOW + 20)
            .await
            .unwrap();
        assert_eq!(keys.active().kid(), second.kid());
        let kids: Vec<String> = keys
            .published(NOW + 20)
            .iter()
            .map(|k| k.kid().to_owned())
            .collect();
        assert_eq!(kids, [first.kid(), second.kid()]);
        assert_eq!(keys.jwks(NOW + 20), {
            json!({ "keys": [first.public_jwk(), second.public_jwk()] })
        });
        // The reloaded private key signs what the published key verifies.
        let signature = URL_SAFE_NO_PAD.encode(keys.active().sign(b"m").unwrap());
        let set = keys.jwk_set(NOW + 20);
        assert!(set.by_kid(second.kid()).unwrap().verify(
            b"m",
            &signature,
            mcp_auth_providers::Algorithm::RS256
        ));
    }
}
