//! Registered-claim checks (RFC 7519 section 4.1, RFC 8725 section 3.8-3.9, RFC 9068 section 4).
//!
//! # Example
//!
//! ```
//! use serde_json::json;
//! use mcp_auth_providers::jwt::ClaimsPolicy;
//! use mcp_auth_core::InvalidTokenReason;
//!
//! let policy = ClaimsPolicy::new("https://mcp.example.com/mcp");
//! let now = policy.now();
//! let claims = json!({"sub": "u", "aud": "https://other.example", "exp": now + 60});
//! assert_eq!(policy.check(claims.as_object().unwrap()), Err(InvalidTokenReason::Audience));
//! ```

use std::time::Duration;

use mcp_auth_core::clock::{SharedClock, system_clock};
use mcp_auth_core::principal::{PrincipalBuilder, claim_strings};
use mcp_auth_core::{InvalidTokenReason, Principal, Scopes};
use serde_json::{Map, Value};

/// The most clock skew a policy may tolerate.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// The default clock skew tolerance.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// What the claims of an access token must say.
#[derive(Debug, Clone)]
pub struct ClaimsPolicy {
    /// Any of these must be in `aud`; empty only for presets that bind the token to this
    /// resource another way (Cognito access tokens carry `client_id` instead).
    audiences: Vec<String>,
    issuer: Option<String>,
    leeway_secs: u64,
    clock: SharedClock,
}

impl ClaimsPolicy {
    /// `aud` must contain `audience`; `exp` is required; no issuer check until
    /// [`ClaimsPolicy::issuer`] sets one; 60 s leeway.
    pub fn new(audience: impl Into<String>) -> Self {
        Self {
            audiences: vec![audience.into()],
            issuer: None,
            leeway_secs: DEFAULT_LEEWAY.as_secs(),
            clock: system_clock(),
        }
    }

    /// Requires `iss` to equal `issuer` exactly.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets the leeway; values above [`MAX_LEEWAY`] are clamped to it.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway_secs = leeway.min(MAX_LEEWAY).as_secs();
        self
    }

    /// Sets the clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Also accepts `audience` in `aud` (e.g. both an application's client id and its
    /// application ID URI).
    pub fn also_accept_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// A policy that does not check `aud`; the caller must bind the token to this resource
    /// by another claim (Cognito's `client_id`).
    #[cfg(feature = "oidc")]
    pub(crate) fn without_audience() -> Self {
        let mut policy = Self::new("");
        policy.audiences.clear();
        policy
    }

    /// The configured audiences.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// The configured issuer.
    pub fn expected_issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The leeway.
    pub fn leeway_duration(&self) -> Duration {
        Duration::from_secs(self.leeway_secs)
    }

    /// The policy clock's current Unix time.
    pub fn now(&self) -> u64 {
        self.clock.unix_now()
    }

    /// Checks `exp` (required), `nbf`, `iat`, `aud` (required), `iss` and `sub` (required).
    ///
    /// # Errors
    ///
    /// The first rule that fails, as an [`InvalidTokenReason`]. A claim of the wrong type fails
    /// as if absent ([`InvalidTokenReason::MissingClaim`]); it is never skipped.
    pub fn check(&self, claims: &Map<String, Value>) -> Result<(), InvalidTokenReason> {
        self.check_known(&KnownClaims::read(claims))
    }

    /// [`ClaimsPolicy::check`] on claims already found by [`KnownClaims::read`].
    pub(crate) fn check_known(&self, claims: &KnownClaims<'_>) -> Result<(), InvalidTokenReason> {
        let now = self.clock.unix_now();
        let leeway = self.leeway_secs;
        // exp: valid while now < exp (RFC 7519 section 4.1.4), plus leeway.
        let exp =
            numeric_date(claims.exp, "exp")?.ok_or(InvalidTokenReason::MissingClaim("exp"))?;
        if now >= exp.saturating_add(leeway) {
            return Err(InvalidTokenReason::Expired);
        }
        if let Some(nbf) = numeric_date(claims.nbf, "nbf")?
            && now.saturating_add(leeway) < nbf
        {
            return Err(InvalidTokenReason::NotYetValid);
        }
        if let Some(iat) = numeric_date(claims.iat, "iat")?
            && iat > now.saturating_add(leeway)
        {
            return Err(InvalidTokenReason::IssuedInFuture);
        }
        if !self.audiences.is_empty() {
            self.check_audience(claims.aud)?;
        }
        if let Some(expected) = &self.issuer {
            match claims.iss {
                Some(Value::String(iss)) if iss == expected => {}
                Some(Value::String(_)) => return Err(InvalidTokenReason::Issuer),
                _ => return Err(InvalidTokenReason::MissingClaim("iss")),
            }
        }
        match claims.sub {
            Some(Value::String(sub)) if !sub.is_empty() => Ok(()),
            _ => Err(InvalidTokenReason::MissingClaim("sub")),
        }
    }

    /// Whether `aud` names one of our audiences: equal, or equal but for one trailing slash
    /// (clients differ on whether `https://host/mcp` ends in `/`, RFC 8707 section 2).
    fn accepts(&self, aud: &str) -> bool {
        self.audiences.iter().any(|ours| {
            aud == ours
                || aud.strip_suffix('/') == Some(ours)
                || ours.strip_suffix('/') == Some(aud)
        })
    }

    /// Checks an `aud` value (string or array of strings) against the configured audiences:
    /// absent or of the wrong type is [`InvalidTokenReason::MissingClaim`], no match is
    /// [`InvalidTokenReason::Audience`]. Also used for introspection responses.
    ///
    /// # Errors
    ///
    /// As described.
    pub fn check_audience(&self, aud: Option<&Value>) -> Result<(), InvalidTokenReason> {
        let contains = match aud {
            Some(Value::String(aud)) => self.accepts(aud),
            Some(Value::Array(list)) if !list.is_empty() => {
                let mut found = false;
                for item in list {
                    match item {
                        Value::String(aud) => found |= self.accepts(aud),
                        _ => return Err(InvalidTokenReason::MissingClaim("aud")),
                    }
                }
                found
            }
            _ => return Err(InvalidTokenReason::MissingClaim("aud")),
        };
        if contains {
            Ok(())
        } else {
            Err(InvalidTokenReason::Audience)
        }
    }
}

/// Reads a NumericDate claim (RFC 7519 section 2): a non-negative JSON number of seconds,
/// fractions truncated. Absent is `None`; any other type is an error.
fn numeric_date(
    claim: Option<&Value>,
    name: &'static str,
) -> Result<Option<u64>, InvalidTokenReason> {
    match claim {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or(InvalidTokenReason::MissingClaim(name)),
        Some(_) => Err(InvalidTokenReason::MissingClaim(name)),
    }
}

/// The claims of [`KnownClaims`], in the order of [`KnownClaims::from_slots`].
const KNOWN_CLAIMS: [&str; 14] = [
    "exp",
    "nbf",
    "iat",
    "aud",
    "iss",
    "sub",
    "scope",
    "scp",
    "email",
    "preferred_username",
    "client_id",
    "azp",
    "groups",
    "roles",
];

/// The index in [`KNOWN_CLAIMS`] of the claim called `name`, if the engine reads it: one
/// `match`, which compiles to a comparison by length first, rather than up to 14 comparisons.
fn known_claim(name: &str) -> Option<usize> {
    Some(match name {
        "exp" => 0,
        "nbf" => 1,
        "iat" => 2,
        "aud" => 3,
        "iss" => 4,
        "sub" => 5,
        "scope" => 6,
        "scp" => 7,
        "email" => 8,
        "preferred_username" => 9,
        "client_id" => 10,
        "azp" => 11,
        "groups" => 12,
        "roles" => 13,
        _ => return None,
    })
}

/// The claims the engine reads, found in one pass over the payload. Looking each one up in the
/// map scans it again every time, and those scans were most of a validation's string
/// comparisons; a map's keys are unique, so one pass finds exactly what the lookups would.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct KnownClaims<'a> {
    exp: Option<&'a Value>,
    nbf: Option<&'a Value>,
    iat: Option<&'a Value>,
    aud: Option<&'a Value>,
    iss: Option<&'a Value>,
    sub: Option<&'a Value>,
    scope: Option<&'a Value>,
    scp: Option<&'a Value>,
    email: Option<&'a Value>,
    preferred_username: Option<&'a Value>,
    client_id: Option<&'a Value>,
    azp: Option<&'a Value>,
    groups: Option<&'a Value>,
    roles: Option<&'a Value>,
}

impl<'a> KnownClaims<'a> {
    /// Finds the known claims of `claims`.
    pub(crate) fn read(claims: &'a Map<String, Value>) -> Self {
        let mut slots = [None; KNOWN_CLAIMS.len()];
        for (name, value) in claims {
            if let Some(slot) = known_claim(name) {
                slots[slot] = Some(value);
            }
        }
        Self::from_slots(slots)
    }

    /// The claims of `slots`, one for each name of [`KNOWN_CLAIMS`], in its order.
    pub(crate) fn from_slots(slots: [Option<&'a Value>; KNOWN_CLAIMS.len()]) -> Self {
        let [
            exp,
            nbf,
            iat,
            aud,
            iss,
            sub,
            scope,
            scp,
            email,
            preferred_username,
            client_id,
            azp,
            groups,
            roles,
        ] = slots;
        Self {
            exp,
            nbf,
            iat,
            aud,
            iss,
            sub,
            scope,
            scp,
            email,
            preferred_username,
            client_id,
            azp,
            groups,
            roles,
        }
    }

    /// The principal these claims describe, without its raw claims: the mapping of
    /// [`mcp_auth_core::principal_from_claims`] (a test holds the two equal), reading the claims
    /// found once instead of looking each up. `None` when `sub` is missing or not a string.
    #[cfg(any(feature = "oidc", test))]
    pub(crate) fn principal(&self) -> Option<PrincipalBuilder> {
        let subject = text(self.sub)?.to_owned();
        Some(self.principal_of(subject, claim_strings(self.aud)))
    }

    /// [`KnownClaims::principal`] with its subject and audiences already read (`sub` and `aud`
    /// are not read again).
    fn principal_of(&self, subject: String, audiences: Vec<String>) -> PrincipalBuilder {
        let mut scopes = text(self.scope).map_or_else(Scopes::new, Scopes::from_claim_lossy);
        match self.scp {
            Some(Value::String(scp)) => scopes.extend(&Scopes::from_claim_lossy(scp)),
            Some(Value::Array(list)) => {
                for item in list.iter().filter_map(Value::as_str) {
                    scopes.extend(&Scopes::from_claim_lossy(item));
                }
            }
            _ => {}
        }
        let mut builder = Principal::builder(subject)
            .audiences(audiences)
            .scopes(scopes);
        if let Some(iss) = text(self.iss) {
            builder = builder.issuer(iss);
        }
        if let Some(email) = text(self.email) {
            builder = builder.email(email);
        }
        if let Some(name) = text(self.preferred_username) {
            builder = builder.preferred_username(name);
        }
        if let Some(client_id) = text(self.client_id).or_else(|| text(self.azp)) {
            builder = builder.client_id(client_id);
        }
        // NumericDate may carry a fraction (RFC 7519 section 2); the whole seconds are kept.
        let exp = self.exp.and_then(|exp| {
            exp.as_u64().or_else(|| {
                exp.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f as u64)
            })
        });
        if let Some(exp) = exp {
            builder = builder.expires_at_unix(exp);
        }
        builder
            .groups(claim_strings(self.groups))
            .roles(claim_strings(self.roles))
    }
}

/// A claim's text, when it is a string.
fn text(claim: Option<&Value>) -> Option<&str> {
    claim.and_then(Value::as_str)
}

/// [`claim_strings`], moving the strings out of the claim rather than copying them.
#[cfg(any(feature = "hmac", test))]
fn into_strings(claim: Option<Value>) -> Vec<String> {
    match claim {
        Some(Value::Array(list)) => list
            .into_iter()
            .filter_map(|item| match item {
                Value::String(one) => Some(one),
                _ => None,
            })
            .collect(),
        Some(Value::String(one)) => vec![one],
        _ => Vec::new(),
    }
}

/// Reading the known claims straight from a payload's JSON text (the HMAC validator's path).
#[cfg(any(feature = "hmac", test))]
mod payload {
    use serde_json::Value;

    use mcp_auth_core::principal::PrincipalBuilder;

    use super::{KNOWN_CLAIMS, KnownClaims, into_strings, known_claim};

    /// The slots of `sub` and `aud` in [`KNOWN_CLAIMS`].
    pub(super) const SUB: usize = 5;
    pub(super) const AUD: usize = 3;

    /// The claims [`KnownClaims`] names, read straight from a payload's JSON text in one pass:
    /// the values of the other claims are checked for syntax and skipped, and no map is built.
    /// Reads exactly what [`KnownClaims::read`] finds in the payload's map: a payload that is not a
    /// JSON object is refused, and of a repeated claim the last one counts, as in a map.
    #[derive(Debug, Default)]
    pub(crate) struct PayloadClaims {
        values: [Option<Value>; KNOWN_CLAIMS.len()],
    }

    impl PayloadClaims {
        /// The claims found, as [`KnownClaims::read`] gives them.
        pub(crate) fn known(&self) -> KnownClaims<'_> {
            KnownClaims::from_slots(self.values.each_ref().map(Option::as_ref))
        }

        /// [`KnownClaims::principal`] of [`PayloadClaims::known`], moving the subject and the
        /// audiences into it rather than copying them: the claims are not needed after.
        pub(crate) fn into_principal(mut self) -> Option<PrincipalBuilder> {
            let Some(Value::String(subject)) = self.values[SUB].take() else {
                return None;
            };
            let audiences = into_strings(self.values[AUD].take());
            Some(self.known().principal_of(subject, audiences))
        }
    }

    impl PayloadClaims {
        /// Reads the claims of the payload text `json` into `self`, which must be empty; on an
        /// error, what `self` holds is to be thrown away.
        ///
        /// Filled where it lies rather than returned: the slots take 448 bytes, and a value
        /// returned through serde's layers was copied at each of them.
        pub(crate) fn read_from(&mut self, json: &str) -> serde_json::Result<()> {
            let mut deserializer = serde_json::Deserializer::from_str(json);
            serde::Deserializer::deserialize_map(&mut deserializer, PayloadVisitor(self))?;
            // As `serde_json::from_str`: nothing but whitespace may follow the object.
            deserializer.end()
        }
    }

    /// A claim name, compared where it lies (no `String` per name); escaped names arrive decoded.
    struct ClaimName(Option<usize>);

    impl<'de> serde::Deserialize<'de> for ClaimName {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct NameVisitor;
            impl serde::de::Visitor<'_> for NameVisitor {
                type Value = ClaimName;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a claim name")
                }
                fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<ClaimName, E> {
                    Ok(ClaimName(known_claim(name)))
                }
            }
            deserializer.deserialize_str(NameVisitor)
        }
    }

    /// Fills the slots of the claims it holds.
    struct PayloadVisitor<'c>(&'c mut PayloadClaims);

    impl<'de> serde::de::Visitor<'de> for PayloadVisitor<'_> {
        type Value = ();

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object of claims")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(ClaimName(known)) = map.next_key()? {
                match known {
                    Some(index) => self.0.values[index] = Some(map.next_value()?),
                    None => {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
            }
            Ok(())
        }
    }
}

#[cfg(any(feature = "hmac", test))]
pub(crate) use payload::PayloadClaims;

/// [`mcp_auth_core::principal_from_claims`], through [`KnownClaims`]: the same principal, with
/// fewer string comparisons.
#[cfg(any(feature = "oidc", test))]
pub(crate) fn principal_from_claims(claims: Map<String, Value>) -> Option<Principal> {
    let builder = KnownClaims::read(&claims).principal()?;
    Some(builder.claims(claims).build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_auth_core::clock::ManualClock;
    use serde_json::json;
    use std::sync::Arc;

    const NOW: u64 = 1_700_000_000;

    fn policy() -> ClaimsPolicy {
        ClaimsPolicy::new("aud-1")
            .issuer("https://iss")
            .clock(Arc::new(ManualClock::at_unix(NOW)))
    }

    fn check(v: Value) -> Result<(), InvalidTokenReason> {
        policy().check(v.as_object().unwrap())
    }

    fn base() -> Value {
        json!({"sub": "u", "aud": "aud-1", "iss": "https://iss", "exp": NOW + 10})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut v = base();
        v[key] = value;
        v
    }

    fn without(key: &str) -> Value {
        let mut v = base();
        v.as_object_mut().unwrap().remove(key);
        v
    }

    #[test]
    fn accepts_a_good_token() {
        assert_eq!(check(base()), Ok(()));
        assert_eq!(check(with("aud", json!(["x", "aud-1"]))), Ok(()));
    }

    #[test]
    fn exp_leeway_boundary() {
        assert_eq!(check(with("exp", json!(NOW - 59))), Ok(()));
        assert_eq!(
            check(with("exp", json!(NOW - 60))),
            Err(InvalidTokenReason::Expired)
        );
        assert_eq!(
            check(without("exp")),
            Err(InvalidTokenReason::MissingClaim("exp"))
        );
        assert_eq!(
            check(with("exp", json!("soon"))),
            Err(InvalidTokenReason::MissingClaim("exp"))
        );
    }

    #[test]
    fn nbf_and_iat() {
        assert_eq!(check(with("nbf", json!(NOW + 60))), Ok(()));
        assert_eq!(
            check(with("nbf", json!(NOW + 61))),
            Err(InvalidTokenReason::NotYetValid)
        );
        assert_eq!(
            check(with("iat", json!(NOW + 61))),
            Err(InvalidTokenReason::IssuedInFuture)
        );
        assert_eq!(
            check(with("nbf", json!("x"))),
            Err(InvalidTokenReason::MissingClaim("nbf"))
        );
    }

    #[test]
    fn audience_holes_are_closed() {
        assert_eq!(
            check(without("aud")),
            Err(InvalidTokenReason::MissingClaim("aud"))
        );
        assert_eq!(
            check(with("aud", json!(5))),
            Err(InvalidTokenReason::MissingClaim("aud"))
        );
        assert_eq!(
            check(with("aud", json!([]))),
            Err(InvalidTokenReason::MissingClaim("aud"))
        );
        assert_eq!(
            check(with("aud", json!(["aud-1", 5]))),
            Err(InvalidTokenReason::MissingClaim("aud"))
        );
        assert_eq!(
            check(with("aud", json!("aud-2"))),
            Err(InvalidTokenReason::Audience)
        );
    }

    #[test]
    fn issuer_holes_are_closed() {
        assert_eq!(
            check(without("iss")),
            Err(InvalidTokenReason::MissingClaim("iss"))
        );
        assert_eq!(
            check(with("iss", json!(["https://iss"]))),
            Err(InvalidTokenReason::MissingClaim("iss"))
        );
        assert_eq!(
            check(with("iss", json!("https://iss/"))),
            Err(InvalidTokenReason::Issuer)
        );
    }

    #[test]
    fn principal_mapping_matches_core() {
        // Every claim the mapping reads, in every shape: the right type, the wrong one, absent.
        let cases = [
            json!({"sub": "u"}),
            json!({"sub": 5}),
            json!({"sub": "", "aud": "a"}),
            json!({"aud": "a"}),
            json!({
                "sub": "u", "aud": ["a", 5, "b"], "iss": "https://iss", "scope": "r w r !",
                "scp": ["x y", 3, "z"], "email": "e@example.com", "preferred_username": "p",
                "client_id": "c", "azp": "z", "exp": 1_700_000_000.9, "groups": ["g1", 2],
                "roles": "admin", "custom": {"nested": [1, 2]}
            }),
            json!({"sub": "u", "aud": {"a": 1}, "iss": 7, "scope": ["r"], "scp": "s t",
                   "email": null, "preferred_username": [], "client_id": 3, "azp": "z",
                   "exp": -5, "groups": "one", "roles": ["r1", "r2"]}),
            json!({"sub": "u", "exp": "soon", "azp": 1, "groups": {}, "roles": null}),
            json!({"sub": "u", "exp": 1.0e300, "scope": "", "scp": ""}),
            json!({"sub": "u", "exp": u64::MAX, "scope": " a  b "}),
        ];
        for case in cases {
            let Value::Object(map) = case else {
                unreachable!("every case is an object")
            };
            let core = mcp_auth_core::principal_from_claims(map.clone());
            assert_eq!(principal_from_claims(map.clone()), core, "{map:?}");
            // The HMAC validator's path: read from the text, the subject and audiences moved.
            let text = serde_json::to_string(&map).unwrap();
            let payload = read_payload(&text).unwrap();
            let moved = payload
                .into_principal()
                .map(|builder| builder.claims(map.clone()).build());
            assert_eq!(moved, core, "{map:?}");
        }
    }

    #[test]
    fn known_claims_are_the_map_lookups() {
        let claims = json!({"sub": "u", "aud": "a", "exp": 1, "x": 2, "iss": "i"});
        let map = claims.as_object().unwrap();
        let known = KnownClaims::read(map);
        assert_eq!(known.sub, map.get("sub"));
        assert_eq!(known.aud, map.get("aud"));
        assert_eq!(known.exp, map.get("exp"));
        assert_eq!(known.iss, map.get("iss"));
        assert_eq!(known.nbf, None);
    }

    #[test]
    fn leeway_is_bounded() {
        assert_eq!(
            ClaimsPolicy::new("a")
                .leeway(Duration::from_secs(3600))
                .leeway_duration(),
            MAX_LEEWAY
        );
    }

    #[test]
    fn known_claim_is_the_index_in_known_claims() {
        for (index, name) in KNOWN_CLAIMS.iter().enumerate() {
            assert_eq!(known_claim(name), Some(index), "{name}");
        }
        assert_eq!(KNOWN_CLAIMS[payload::SUB], "sub");
        assert_eq!(KNOWN_CLAIMS[payload::AUD], "aud");
        for other in ["", "Sub", "sub ", "subject", "jti", "auth_time"] {
            assert_eq!(known_claim(other), None, "{other}");
        }
    }

    fn read_payload(json: &str) -> serde_json::Result<PayloadClaims> {
        let mut claims = PayloadClaims::default();
        claims.read_from(json)?;
        Ok(claims)
    }

    #[test]
    fn payload_claims_read_what_the_map_holds() {
        let payloads = [
            r#"{"sub":"s","aud":["a","b"],"exp":1e10,"iat":5,"scope":"x y","extra":{"k":[1,2]}}"#,
            r#"{"sub":"first","sub":"last","scp":["a"],"scp":"b c","roles":["r"],"groups":"g"}"#,
            r#"{"s\u0075b":"escaped name","email":"e@x","preferred_username":null,"azp":"c"}"#,
            r#"{"client_id":7,"iss":"https://i","nbf":-1,"exp":"soon","aud":{}}"#,
            r#"{}"#,
            r#"  {"sub" : "spaced" }  "#,
            r#"[{"sub":"s"}]"#,
            r#""sub""#,
            r#"{"sub":"s",}"#,
            r#"{"sub":"s"} trailing"#,
            r#"{"sub":"s","other":tru}"#,
            r#"{"sub":"s","sub":}"#,
        ];
        for payload in payloads {
            let map = serde_json::from_str::<Map<String, Value>>(payload);
            let read = read_payload(payload);
            match (map, read) {
                (Ok(map), Ok(read)) => assert_eq!(
                    format!("{:?}", KnownClaims::read(&map)),
                    format!("{:?}", read.known()),
                    "{payload}"
                ),
                (Err(_), Err(_)) => {}
                (map, read) => panic!("{payload}: map {map:?}, payload claims {read:?}"),
            }
        }
    }
}
