//! [`JwtBuilder`]: asymmetric JWTs of any shape, signed with a fixture key, plus the classic
//! hostile forms (algorithm confusion, `none`, zero ECDSA signature).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value, json};

use super::keys::{TestKey, alg_name};
use crate::now;

/// Claims and header of one JWT under construction, and the key that will sign it.
///
/// The header is `{"alg": <alg>, "kid": <key's kid>, "typ": "JWT"}` unless changed;
/// `alg` is written at signing time from [`JwtBuilder::alg`] (default: the key's).
///
/// ```
/// use mcp_auth_testkit::oidc::{JwtBuilder, TestKey};
/// use jsonwebtoken::Algorithm;
///
/// let token = JwtBuilder::new(TestKey::Rsa)
///     .issuer("https://idp.test")
///     .audience("https://mcp.test/mcp")
///     .subject("alice")
///     .alg(Algorithm::PS256)
///     .sign();
/// assert_eq!(token.split('.').count(), 3);
/// ```
#[derive(Debug, Clone)]
pub struct JwtBuilder {
    claims: Map<String, Value>,
    header: Map<String, Value>,
    raw_header: Option<Map<String, Value>>,
    key: TestKey,
    alg: Algorithm,
}

impl JwtBuilder {
    /// No claims at all; header `kid` and `typ` "JWT"; signed by `key` with its default alg.
    pub fn new(key: TestKey) -> Self {
        let mut header = Map::new();
        header.insert("typ".into(), json!("JWT"));
        header.insert("kid".into(), json!(key.kid()));
        Self {
            claims: Map::new(),
            header,
            raw_header: None,
            key,
            alg: key.alg(),
        }
    }

    /// Starts from `claims` (a JSON object; anything else gives no claims).
    pub fn with_claims(key: TestKey, claims: Value) -> Self {
        let mut builder = Self::new(key);
        if let Value::Object(map) = claims {
            builder.claims = map;
        }
        builder
    }

    /// Sets any claim.
    pub fn set(mut self, name: &str, value: Value) -> Self {
        self.claims.insert(name.to_owned(), value);
        self
    }

    /// Removes a claim.
    pub fn remove(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets `iss`.
    pub fn issuer(self, iss: &str) -> Self {
        self.set("iss", json!(iss))
    }

    /// Sets `aud` to one string (use [`JwtBuilder::set`] for an array).
    pub fn audience(self, aud: &str) -> Self {
        self.set("aud", json!(aud))
    }

    /// Sets `sub`.
    pub fn subject(self, sub: &str) -> Self {
        self.set("sub", json!(sub))
    }

    /// Sets `scope` (space-separated, as RFC 8693/9068 and Cognito use it; Okta uses `scp`
    /// arrays and Entra ID `scp` strings: set those with [`JwtBuilder::set`]).
    pub fn scope(self, scope: &str) -> Self {
        self.set("scope", json!(scope))
    }

    /// Sets `exp` relative to now (may be negative).
    pub fn exp_in(self, secs: i64) -> Self {
        self.set("exp", json!(now().saturating_add_signed(secs)))
    }

    /// Sets `iat` relative to now (negative: in the past).
    pub fn iat_in(self, secs: i64) -> Self {
        self.set("iat", json!(now().saturating_add_signed(secs)))
    }

    /// Sets `nbf` relative to now.
    pub fn nbf_in(self, secs: i64) -> Self {
        self.set("nbf", json!(now().saturating_add_signed(secs)))
    }

    /// Signs with another key: also sets `alg` to its default and `kid` to its kid.
    pub fn key(mut self, key: TestKey) -> Self {
        self.key = key;
        self.alg = key.alg();
        self.header.insert("kid".into(), json!(key.kid()));
        self
    }

    /// Signs with `alg` (must be one of the key's [`TestKey::algorithms`]).
    pub fn alg(mut self, alg: Algorithm) -> Self {
        self.alg = alg;
        self
    }

    /// Puts another `kid` in the header (the signature still uses the chosen key).
    pub fn kid(self, kid: &str) -> Self {
        self.header_param("kid", json!(kid))
    }

    /// Leaves `kid` out of the header.
    pub fn no_kid(self) -> Self {
        self.remove_header_param("kid")
    }

    /// Sets `typ` (for example "at+jwt", RFC 9068).
    pub fn typ(self, typ: &str) -> Self {
        self.header_param("typ", json!(typ))
    }

    /// Sets any header parameter (`jku`, `x5u`, `crit`, ...). `alg` set here is overwritten at
    /// signing time: use [`JwtBuilder::raw_header`] to lie about the algorithm.
    pub fn header_param(mut self, name: &str, value: Value) -> Self {
        self.header.insert(name.to_owned(), value);
        self
    }

    /// Removes a header parameter.
    pub fn remove_header_param(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// Replaces the whole protected header with raw JSON, written as given (its `alg` is not
    /// touched). The signature is still made by the chosen key and [`JwtBuilder::alg`].
    pub fn raw_header(mut self, header: Value) -> Self {
        self.raw_header = match header {
            Value::Object(map) => Some(map),
            _ => Some(Map::new()),
        };
        self
    }

    /// The key that will sign.
    pub fn signing_key(&self) -> TestKey {
        self.key
    }

    /// The claims as JSON.
    pub fn claims_json(&self) -> Value {
        Value::Object(self.claims.clone())
    }

    /// The header that [`JwtBuilder::sign`] will write.
    pub fn header_json(&self) -> Value {
        Value::Object(self.final_header(self.alg))
    }

    fn final_header(&self, alg: Algorithm) -> Map<String, Value> {
        match &self.raw_header {
            Some(raw) => raw.clone(),
            None => {
                let mut header = self.header.clone();
                header.insert("alg".into(), json!(alg_name(alg)));
                header
            }
        }
    }

    fn signing_input(&self, header: &Map<String, Value>) -> String {
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(Value::Object(header.clone()).to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(self.claims.clone()).to_string())
        )
    }

    /// Signs the token.
    ///
    /// # Panics
    ///
    /// When the key cannot sign with the chosen algorithm.
    pub fn sign(self) -> String {
        let input = self.signing_input(&self.final_header(self.alg));
        let signature = self.key.sign(input.as_bytes(), self.alg);
        format!("{input}.{signature}")
    }

    /// The token with the given signature (base64url, may be empty or garbage).
    pub fn with_signature(self, signature: &str) -> String {
        let input = self.signing_input(&self.final_header(self.alg));
        format!("{input}.{signature}")
    }

    /// The token with no signature and header `{"alg": alg, "typ": "JWT"}` (`none`, `NoNe`, ...).
    pub fn unsigned(self, alg: &str) -> String {
        let header = json!({"alg": alg, "typ": "JWT"});
        let input = self.signing_input(header.as_object().expect("object"));
        format!("{input}.")
    }

    /// The RS256 -> HS256 confusion: header `alg` HS256 (same `kid`), HMAC-SHA256 keyed with the
    /// signing key's public key PEM text, exactly as published (`-----BEGIN PUBLIC KEY-----...`).
    pub fn hs256_with_public_pem(self) -> String {
        let secret = self.key.public_pem().to_vec();
        self.hmac_confusion(&secret)
    }

    /// As [`JwtBuilder::hs256_with_public_pem`], keyed with the public key's DER bytes.
    pub fn hs256_with_public_der(self) -> String {
        let secret = self.key.public_der();
        self.hmac_confusion(&secret)
    }

    fn hmac_confusion(self, secret: &[u8]) -> String {
        let input = self.signing_input(&self.final_header(Algorithm::HS256));
        let signature = jsonwebtoken::crypto::sign(
            input.as_bytes(),
            &EncodingKey::from_secret(secret),
            Algorithm::HS256,
        )
        .expect("HMAC signs");
        format!("{input}.{signature}")
    }

    /// An ES256 token whose signature is r = s = 0 (64 zero bytes, the "psychic signature",
    /// CVE-2022-21449). The header names ES256 and the P-256 key's `kid`.
    pub fn zero_signature(self) -> String {
        let builder = self.key(TestKey::P256);
        let input = builder.signing_input(&builder.final_header(Algorithm::ES256));
        format!("{input}.{}", URL_SAFE_NO_PAD.encode([0u8; 64]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};

    fn verify(token: &str, key: TestKey, alg: Algorithm) -> Value {
        let mut validation = Validation::new(alg);
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        decode::<Value>(token, &key.decoding_key(), &validation)
            .expect("token verifies")
            .claims
    }

    #[test]
    fn rs256_es256_eddsa_verify_with_the_jwk() {
        for key in [TestKey::Rsa, TestKey::P256, TestKey::Ed25519, TestKey::P384] {
            let token = JwtBuilder::new(key).subject("alice").exp_in(60).sign();
            let header = decode_header(&token).unwrap();
            assert_eq!(header.alg, key.alg());
            assert_eq!(header.kid.as_deref(), Some(key.kid()));
            assert_eq!(verify(&token, key, key.alg())["sub"], "alice");
        }
        let ps = JwtBuilder::new(TestKey::Rsa)
            .alg(Algorithm::PS256)
            .exp_in(60)
            .sign();
        verify(&ps, TestKey::Rsa, Algorithm::PS256);
    }

    #[test]
    fn header_controls() {
        let b = JwtBuilder::new(TestKey::Rsa)
            .no_kid()
            .typ("at+jwt")
            .header_param("jku", json!("https://evil.test/jwks"));
        let h = b.header_json();
        assert!(h.get("kid").is_none());
        assert_eq!(h["typ"], "at+jwt");
        assert_eq!(h["alg"], "RS256");
        assert_eq!(h["jku"], "https://evil.test/jwks");
        let raw = JwtBuilder::new(TestKey::Rsa)
            .raw_header(json!({"alg": "RS512"}))
            .sign();
        assert_eq!(decode_header(&raw).unwrap().alg, Algorithm::RS512);
        let rekeyed = JwtBuilder::new(TestKey::Rsa)
            .key(TestKey::P384)
            .header_json();
        assert_eq!(rekeyed["kid"], TestKey::P384.kid());
        assert_eq!(rekeyed["alg"], "ES384");
    }

    #[test]
    fn confusion_token_is_hmac_over_the_public_pem() {
        let token = JwtBuilder::new(TestKey::Rsa)
            .subject("mallory")
            .hs256_with_public_pem();
        let header = decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.kid.as_deref(), Some(TestKey::Rsa.kid()));
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims.clear();
        let secret = DecodingKey::from_secret(TestKey::Rsa.public_pem());
        assert!(decode::<Value>(&token, &secret, &validation).is_ok());
        let der = JwtBuilder::new(TestKey::Rsa).hs256_with_public_der();
        let secret = DecodingKey::from_secret(&TestKey::Rsa.public_der());
        assert!(decode::<Value>(&der, &secret, &validation).is_ok());
    }

    #[test]
    fn zero_signature_and_unsigned() {
        let token = JwtBuilder::new(TestKey::Rsa).zero_signature();
        let header = decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some(TestKey::P256.kid()));
        let sig = token.rsplit('.').next().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(sig).unwrap(), vec![0u8; 64]);
        assert!(!TestKey::P256.verify(
            token.rsplit_once('.').unwrap().0.as_bytes(),
            sig,
            Algorithm::ES256
        ));
        let none = JwtBuilder::new(TestKey::Rsa).unsigned("none");
        assert!(none.ends_with('.'));
    }

    #[test]
    fn weak_key_tokens_carry_a_valid_signature() {
        let token = JwtBuilder::new(TestKey::RsaWeak).subject("weak").sign();
        let (input, sig) = token.rsplit_once('.').unwrap();
        assert!(TestKey::RsaWeak.verify(input.as_bytes(), sig, Algorithm::RS256));
        assert_eq!(
            decode_header(&token).unwrap().kid.as_deref(),
            Some(TestKey::RsaWeak.kid())
        );
    }
}
