//! Fixture signing keys (PEM files under `keys/`, loaded once) and their public JWKs.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Map, Value, json};

use super::weak_rsa::{self, RsaParts};

/// One of the fixture keys. Private keys live in `crates/mcp-auth-testkit/keys/` (test fixtures,
/// not secrets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestKey {
    /// RSA 2048: RS256/384/512 and PS256/384/512. The default signing key of every vendor.
    Rsa,
    /// A second RSA 2048 key: the one published after [`OidcProvider::rotate_keys`].
    ///
    /// [`OidcProvider::rotate_keys`]: super::OidcProvider::rotate_keys
    RsaRotated,
    /// RSA 1024: deliberately too weak (RFC 7518 section 3.3 requires 2048 bits). Signs
    /// RS256/384/512 validly (with the testkit's own RSA code, as the crypto backend refuses such
    /// keys); verifiers must reject it by size.
    RsaWeak,
    /// ECDSA P-256: ES256.
    P256,
    /// ECDSA P-384: ES384.
    P384,
    /// Ed25519: EdDSA.
    Ed25519,
}

struct Loaded {
    encoding: EncodingKey,
    /// Public JWK members without `alg`.
    jwk: Map<String, Value>,
    rsa: Option<RsaParts>,
}

impl TestKey {
    /// Every fixture key.
    pub const ALL: [TestKey; 6] = [
        TestKey::Rsa,
        TestKey::RsaRotated,
        TestKey::RsaWeak,
        TestKey::P256,
        TestKey::P384,
        TestKey::Ed25519,
    ];

    /// The keys a provider publishes at start: RSA, P-256, P-384, Ed25519 (not the weak key,
    /// not the rotated one).
    pub const DEFAULT_SET: &'static [TestKey] =
        &[TestKey::Rsa, TestKey::P256, TestKey::P384, TestKey::Ed25519];

    /// The keys published after rotation: [`TestKey::Rsa`] replaced by [`TestKey::RsaRotated`].
    pub const ROTATED_SET: &'static [TestKey] = &[
        TestKey::RsaRotated,
        TestKey::P256,
        TestKey::P384,
        TestKey::Ed25519,
    ];

    fn index(self) -> usize {
        match self {
            TestKey::Rsa => 0,
            TestKey::RsaRotated => 1,
            TestKey::RsaWeak => 2,
            TestKey::P256 => 3,
            TestKey::P384 => 4,
            TestKey::Ed25519 => 5,
        }
    }

    /// The key id (`kid`) in headers and in the JWK.
    pub fn kid(self) -> &'static str {
        match self {
            TestKey::Rsa => "testkit-rsa-2048",
            TestKey::RsaRotated => "testkit-rsa-2048-rotated",
            TestKey::RsaWeak => "testkit-rsa-1024-weak",
            TestKey::P256 => "testkit-ec-p256",
            TestKey::P384 => "testkit-ec-p384",
            TestKey::Ed25519 => "testkit-ed25519",
        }
    }

    /// The default algorithm (also the JWK's `alg`): RS256, ES256, ES384 or EdDSA.
    pub fn alg(self) -> Algorithm {
        match self {
            TestKey::Rsa | TestKey::RsaRotated | TestKey::RsaWeak => Algorithm::RS256,
            TestKey::P256 => Algorithm::ES256,
            TestKey::P384 => Algorithm::ES384,
            TestKey::Ed25519 => Algorithm::EdDSA,
        }
    }

    /// Every algorithm this key can sign with.
    pub fn algorithms(self) -> &'static [Algorithm] {
        match self {
            TestKey::Rsa | TestKey::RsaRotated => &[
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ],
            TestKey::RsaWeak => &[Algorithm::RS256, Algorithm::RS384, Algorithm::RS512],
            TestKey::P256 => &[Algorithm::ES256],
            TestKey::P384 => &[Algorithm::ES384],
            TestKey::Ed25519 => &[Algorithm::EdDSA],
        }
    }

    /// The private key PEM (PKCS#1 for RSA, PKCS#8 otherwise).
    pub fn private_pem(self) -> &'static [u8] {
        match self {
            TestKey::Rsa => include_bytes!("../../keys/rsa-2048.pem"),
            TestKey::RsaRotated => include_bytes!("../../keys/rsa-2048-rotated.pem"),
            TestKey::RsaWeak => include_bytes!("../../keys/rsa-1024-weak.pem"),
            TestKey::P256 => include_bytes!("../../keys/ec-p256.pem"),
            TestKey::P384 => include_bytes!("../../keys/ec-p384.pem"),
            TestKey::Ed25519 => include_bytes!("../../keys/ed25519.pem"),
        }
    }

    /// The public key as a SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), the bytes an
    /// algorithm-confusion attacker uses as an HMAC secret.
    pub fn public_pem(self) -> &'static [u8] {
        match self {
            TestKey::Rsa => include_bytes!("../../keys/rsa-2048.pub.pem"),
            TestKey::RsaRotated => include_bytes!("../../keys/rsa-2048-rotated.pub.pem"),
            TestKey::RsaWeak => include_bytes!("../../keys/rsa-1024-weak.pub.pem"),
            TestKey::P256 => include_bytes!("../../keys/ec-p256.pub.pem"),
            TestKey::P384 => include_bytes!("../../keys/ec-p384.pub.pem"),
            TestKey::Ed25519 => include_bytes!("../../keys/ed25519.pub.pem"),
        }
    }

    /// The public key as SubjectPublicKeyInfo DER.
    pub fn public_der(self) -> Vec<u8> {
        pem_body(self.public_pem())
    }

    fn loaded(self) -> &'static Loaded {
        static LOADED: OnceLock<Vec<Loaded>> = OnceLock::new();
        &LOADED.get_or_init(|| TestKey::ALL.iter().map(|k| k.load()).collect())[self.index()]
    }

    fn load(self) -> Loaded {
        let pem = self.private_pem();
        let mut jwk = Map::new();
        let (encoding, rsa) = match self {
            TestKey::Rsa | TestKey::RsaRotated | TestKey::RsaWeak => {
                let encoding = EncodingKey::from_rsa_pem(pem).expect("fixture RSA key loads");
                let parts = weak_rsa::parse_pkcs1_private(&pem_body(pem))
                    .expect("fixture RSA key is PKCS#1");
                jwk.insert("kty".into(), json!("RSA"));
                jwk.insert("n".into(), json!(URL_SAFE_NO_PAD.encode(&parts.n)));
                jwk.insert("e".into(), json!(URL_SAFE_NO_PAD.encode(&parts.e)));
                (encoding, Some(parts))
            }
            TestKey::P256 | TestKey::P384 => {
                let encoding = EncodingKey::from_ec_pem(pem).expect("fixture EC key loads");
                let derived =
                    Jwk::from_encoding_key(&encoding, self.alg()).expect("EC public key derives");
                let AlgorithmParameters::EllipticCurve(params) = derived.algorithm else {
                    panic!("EC key derived a non-EC JWK");
                };
                jwk.insert("kty".into(), json!("EC"));
                jwk.insert(
                    "crv".into(),
                    serde_json::to_value(params.curve).expect("curve"),
                );
                jwk.insert("x".into(), json!(params.x));
                jwk.insert("y".into(), json!(params.y));
                (encoding, None)
            }
            TestKey::Ed25519 => {
                let encoding = EncodingKey::from_ed_pem(pem).expect("fixture Ed25519 key loads");
                let derived = Jwk::from_encoding_key(&encoding, Algorithm::EdDSA)
                    .expect("Ed25519 public key derives");
                let AlgorithmParameters::OctetKeyPair(params) = derived.algorithm else {
                    panic!("Ed25519 key derived a non-OKP JWK");
                };
                jwk.insert("kty".into(), json!("OKP"));
                jwk.insert("crv".into(), json!("Ed25519"));
                jwk.insert("x".into(), json!(params.x));
                (encoding, None)
            }
        };
        jwk.insert("kid".into(), json!(self.kid()));
        jwk.insert("use".into(), json!("sig"));
        Loaded { encoding, jwk, rsa }
    }

    /// The private key for jsonwebtoken. For [`TestKey::RsaWeak`] the crypto backend refuses
    /// to sign; use [`TestKey::sign`] or [`super::JwtBuilder`], which handle it.
    pub fn encoding_key(self) -> &'static EncodingKey {
        &self.loaded().encoding
    }

    /// The public JWK: `kty`, `kid`, `use` "sig", `alg` (= [`TestKey::alg`]), and `n`/`e`,
    /// `crv`/`x`/`y` or `crv`/`x`.
    pub fn jwk(self) -> Value {
        self.jwk_with_alg(Some(self.alg()))
    }

    /// The public JWK with another `alg` member (`Some(PS256)` for an RSA key used with PSS), or
    /// none at all (`None`: as Entra ID publishes its keys).
    pub fn jwk_with_alg(self, alg: Option<Algorithm>) -> Value {
        let mut jwk = self.loaded().jwk.clone();
        if let Some(alg) = alg {
            jwk.insert("alg".into(), json!(alg_name(alg)));
        }
        Value::Object(jwk)
    }

    /// A JWK Set document `{"keys": [...]}` of `keys` (each with its default `alg`).
    pub fn jwks(keys: &[TestKey]) -> Value {
        json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
    }

    /// A jsonwebtoken verification key built from the public JWK. The crypto backend refuses
    /// RSA keys below 2048 bits, so [`TestKey::RsaWeak`]'s key never verifies.
    pub fn decoding_key(self) -> DecodingKey {
        let jwk: Jwk = serde_json::from_value(self.jwk()).expect("fixture JWK parses");
        DecodingKey::from_jwk(&jwk).expect("fixture JWK makes a decoding key")
    }

    /// Signs `signing_input` with `alg` and returns the base64url signature.
    ///
    /// # Panics
    ///
    /// When this key cannot sign with `alg` (see [`TestKey::algorithms`]).
    pub fn sign(self, signing_input: &[u8], alg: Algorithm) -> String {
        let loaded = self.loaded();
        if self == TestKey::RsaWeak {
            let parts = loaded.rsa.as_ref().expect("weak key has RSA parts");
            let signature = weak_rsa::sign(parts, signing_input, alg).unwrap_or_else(|| {
                panic!("the weak RSA key signs RS256/384/512 only, not {alg:?}")
            });
            return URL_SAFE_NO_PAD.encode(signature);
        }
        jsonwebtoken::crypto::sign(signing_input, &loaded.encoding, alg)
            .unwrap_or_else(|e| panic!("{self:?} cannot sign {alg:?}: {e}"))
    }

    /// Verifies a base64url signature with this key's public half (any key, the weak one
    /// included): a check for the testkit's own fixtures.
    pub fn verify(self, signing_input: &[u8], signature: &str, alg: Algorithm) -> bool {
        if self == TestKey::RsaWeak {
            let Some(parts) = self.loaded().rsa.as_ref() else {
                return false;
            };
            return URL_SAFE_NO_PAD
                .decode(signature)
                .is_ok_and(|sig| weak_rsa::verify(parts, signing_input, &sig, alg));
        }
        jsonwebtoken::crypto::verify(signature, signing_input, &self.decoding_key(), alg)
            .unwrap_or(false)
    }
}

/// The JOSE name of an algorithm ("RS256", "EdDSA", ...).
pub(crate) fn alg_name(alg: Algorithm) -> String {
    serde_json::to_value(alg)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{alg:?}"))
}

/// The DER inside a PEM document.
fn pem_body(pem: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(pem);
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .map(str::trim)
        .collect();
    STANDARD.decode(body).expect("fixture PEM is base64")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_signs_and_verifies_each_algorithm() {
        for key in TestKey::ALL {
            for &alg in key.algorithms() {
                let sig = key.sign(b"header.payload", alg);
                assert!(key.verify(b"header.payload", &sig, alg), "{key:?} {alg:?}");
                assert!(
                    !key.verify(b"header.payload2", &sig, alg),
                    "{key:?} {alg:?}"
                );
            }
        }
    }

    #[test]
    fn jwks_have_the_expected_members() {
        let rsa = TestKey::Rsa.jwk();
        assert_eq!(rsa["kty"], "RSA");
        assert_eq!(rsa["alg"], "RS256");
        assert_eq!(rsa["use"], "sig");
        assert_eq!(rsa["kid"], TestKey::Rsa.kid());
        assert_eq!(rsa["e"], "AQAB");
        let n = URL_SAFE_NO_PAD.decode(rsa["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 256);
        assert_ne!(n[0], 0);
        let weak = TestKey::RsaWeak.jwk();
        let n = URL_SAFE_NO_PAD.decode(weak["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 128);

        for (key, crv, size) in [(TestKey::P256, "P-256", 32), (TestKey::P384, "P-384", 48)] {
            let jwk = key.jwk();
            assert_eq!(jwk["kty"], "EC");
            assert_eq!(jwk["crv"], crv);
            for c in ["x", "y"] {
                let bytes = URL_SAFE_NO_PAD.decode(jwk[c].as_str().unwrap()).unwrap();
                assert_eq!(bytes.len(), size);
            }
        }
        let ed = TestKey::Ed25519.jwk();
        assert_eq!(
            (ed["kty"].as_str(), ed["crv"].as_str()),
            (Some("OKP"), Some("Ed25519"))
        );
        assert_eq!(ed["alg"], "EdDSA");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(ed["x"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        assert!(TestKey::Rsa.jwk_with_alg(None).get("alg").is_none());
        assert_eq!(
            TestKey::Rsa.jwk_with_alg(Some(Algorithm::PS256))["alg"],
            "PS256"
        );
    }

    #[test]
    fn public_pem_matches_the_jwk() {
        // The SPKI DER ends with the public key: for RSA the modulus appears inside it.
        let der = TestKey::Rsa.public_der();
        let n = URL_SAFE_NO_PAD
            .decode(TestKey::Rsa.jwk()["n"].as_str().unwrap())
            .unwrap();
        assert!(der.windows(n.len()).any(|w| w == n.as_slice()));
        let der = TestKey::Ed25519.public_der();
        let x = URL_SAFE_NO_PAD
            .decode(TestKey::Ed25519.jwk()["x"].as_str().unwrap())
            .unwrap();
        assert!(der.ends_with(&x));
        assert!(
            TestKey::Rsa
                .public_pem()
                .starts_with(b"-----BEGIN PUBLIC KEY-----")
        );
    }

    #[test]
    fn kids_are_distinct() {
        let mut kids: Vec<_> = TestKey::ALL.iter().map(|k| k.kid()).collect();
        kids.sort_unstable();
        kids.dedup();
        assert_eq!(kids.len(), TestKey::ALL.len());
    }

    #[test]
    fn weak_key_is_refused_by_the_backend_but_valid() {
        let sig = TestKey::RsaWeak.sign(b"input", Algorithm::RS256);
        // The backend's verifier refuses the small modulus ...
        let backend = jsonwebtoken::crypto::verify(
            &sig,
            b"input",
            &TestKey::RsaWeak.decoding_key(),
            Algorithm::RS256,
        )
        .unwrap_or(false);
        assert!(!backend);
        // ... yet the signature is genuine RSASSA-PKCS1-v1_5.
        assert!(TestKey::RsaWeak.verify(b"input", &sig, Algorithm::RS256));
        assert!(!TestKey::RsaWeak.verify(b"other", &sig, Algorithm::RS256));
    }
}
