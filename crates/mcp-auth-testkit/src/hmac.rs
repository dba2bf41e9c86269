//! HMAC tokens: [`TokenFactory`] and [`ClaimsBuilder`].

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};

/// A test secret of 40 bytes (above the 32-byte minimum).
pub const TEST_SECRET: &[u8; 40] = b"mcp-auth-test-secret-0123456789abcdefghi";

/// Current Unix time in seconds.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Mints HMAC tokens for one audience.
#[derive(Clone)]
pub struct TokenFactory {
    secret: Vec<u8>,
    audience: String,
    issuer: Option<String>,
    alg: Algorithm,
}

impl TokenFactory {
    /// HS256 tokens signed with `secret` for `audience`.
    pub fn hs256(secret: &[u8], audience: &str) -> Self {
        Self {
            secret: secret.to_vec(),
            audience: audience.to_owned(),
            issuer: None,
            alg: Algorithm::HS256,
        }
    }

    /// Sets the issuer put into tokens.
    pub fn with_issuer(mut self, issuer: &str) -> Self {
        self.issuer = Some(issuer.to_owned());
        self
    }

    /// Sets the algorithm.
    pub fn with_alg(mut self, alg: Algorithm) -> Self {
        self.alg = alg;
        self
    }

    /// Starts claims: `sub` "user-1", `aud`, `iss` (if set), `iat` now, `exp` in one hour.
    pub fn claims(&self) -> ClaimsBuilder {
        let now = now();
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("user-1"));
        claims.insert("aud".into(), json!(self.audience));
        if let Some(iss) = &self.issuer {
            claims.insert("iss".into(), json!(iss));
        }
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + 3600));
        ClaimsBuilder {
            factory: self.clone(),
            claims,
            header: None,
        }
    }
}

/// Claims and header of one token under construction.
pub struct ClaimsBuilder {
    factory: TokenFactory,
    claims: Map<String, Value>,
    header: Option<Map<String, Value>>,
}

impl ClaimsBuilder {
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

    /// Sets `sub`.
    pub fn subject(self, sub: &str) -> Self {
        self.set("sub", json!(sub))
    }

    /// Sets `scope`.
    pub fn scope(self, scope: &str) -> Self {
        self.set("scope", json!(scope))
    }

    /// Sets `exp` relative to now (may be negative).
    pub fn exp_in(self, secs: i64) -> Self {
        let exp = now().saturating_add_signed(secs);
        self.set("exp", json!(exp))
    }

    /// Replaces the protected header with raw JSON (for hostile tokens). The signature still
    /// uses the factory's secret over the resulting signing input.
    pub fn raw_header(mut self, header: Value) -> Self {
        self.header = match header {
            Value::Object(map) => Some(map),
            _ => None,
        };
        self
    }

    /// The claims as JSON.
    pub fn claims_json(&self) -> Value {
        Value::Object(self.claims.clone())
    }

    /// Signs the token.
    pub fn sign(self) -> String {
        match self.header {
            None => {
                let header = Header::new(self.factory.alg);
                jsonwebtoken::encode(
                    &header,
                    &self.claims,
                    &EncodingKey::from_secret(&self.factory.secret),
                )
                .unwrap_or_default()
            }
            Some(header) => {
                let signing_input = format!(
                    "{}.{}",
                    URL_SAFE_NO_PAD.encode(Value::Object(header).to_string()),
                    URL_SAFE_NO_PAD.encode(Value::Object(self.claims).to_string())
                );
                let signature = jsonwebtoken::crypto::sign(
                    signing_input.as_bytes(),
                    &EncodingKey::from_secret(&self.factory.secret),
                    self.factory.alg,
                )
                .unwrap_or_default();
                format!("{signing_input}.{signature}")
            }
        }
    }

    /// The token with no signature and the given `alg` (e.g. `none`, `NoNe`).
    pub fn unsigned(self, alg: &str) -> String {
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string()),
            URL_SAFE_NO_PAD.encode(Value::Object(self.claims).to_string())
        )
    }
}
