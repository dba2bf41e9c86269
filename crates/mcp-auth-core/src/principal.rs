//! The authenticated caller: who the token says it is, and what it may do.
//!
//! # Example
//!
//! ```
//! use mcp_auth_core::Principal;
//!
//! let principal = Principal::builder("user-123")
//!     .issuer("https://auth.example.com")
//!     .email("ada@example.com")
//!     .scopes("read greet".parse().unwrap())
//!     .build();
//! assert_eq!(principal.username(), "ada@example.com"); // no preferred_username: falls back to email
//! assert!(principal.require_scopes(&"greet".parse().unwrap()).is_ok());
//! assert!(principal.require_scopes(&"admin".parse().unwrap()).is_err());
//! ```

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::error::AuthError;
use crate::scope::Scopes;

/// The caller identified by a validated access token.
///
/// Validators build it from the token's claims; adapters place it in the request extensions, where
/// handlers and rmcp tools read it. Cloning is cheap (a reference count): the validation cache
/// hands out clones on every hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal(Arc<PrincipalInner>);

#[derive(Debug, Clone, PartialEq)]
struct PrincipalInner {
    subject: String,
    issuer: Option<String>,
    audiences: Vec<String>,
    scopes: Scopes,
    email: Option<String>,
    preferred_username: Option<String>,
    client_id: Option<String>,
    tenant: Option<String>,
    groups: Vec<String>,
    roles: Vec<String>,
    expires_at: Option<u64>,
    claims: Claims,
}

/// A token's claims: given as a map, or kept as the JSON object text they were read from and
/// parsed when first asked for. Most requests never look at them, and building the map was a
/// large part of validating a token.
#[derive(Debug, Clone, Default)]
struct Claims {
    json: Option<String>,
    map: OnceLock<Map<String, Value>>,
}

impl Claims {
    fn get(&self) -> &Map<String, Value> {
        self.map.get_or_init(|| {
            self.json
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok())
                .unwrap_or_default()
        })
    }
}

impl PartialEq for Claims {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Principal {
    /// Starts a principal for subject `sub`.
    #[inline]
    pub fn builder(subject: impl Into<String>) -> PrincipalBuilder {
        PrincipalBuilder(PrincipalInner {
            subject: subject.into(),
            issuer: None,
            audiences: Vec::new(),
            scopes: Scopes::new(),
            email: None,
            preferred_username: None,
            client_id: None,
            tenant: None,
            groups: Vec::new(),
            roles: Vec::new(),
            expires_at: None,
            claims: Claims::default(),
        })
    }

    /// The `sub` claim: the stable identifier of the resource owner (or client, for
    /// client-credentials tokens).
    pub fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The `iss` claim.
    pub fn issuer(&self) -> Option<&str> {
        self.0.issuer.as_deref()
    }

    /// The `aud` claim as a list.
    pub fn audiences(&self) -> &[String] {
        &self.0.audiences
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &Scopes {
        &self.0.scopes
    }

    /// The `email` claim.
    pub fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    /// A display name: `preferred_username`, else `email`, else `sub`.
    pub fn username(&self) -> &str {
        self.0
            .preferred_username
            .as_deref()
            .or(self.0.email.as_deref())
            .unwrap_or(&self.0.subject)
    }

    /// The OAuth client the token was issued to (`client_id`, RFC 9068 section 2.2).
    pub fn client_id(&self) -> Option<&str> {
        self.0.client_id.as_deref()
    }

    /// The tenant (Entra ID `tid`), when the provider has tenants.
    pub fn tenant(&self) -> Option<&str> {
        self.0.tenant.as_deref()
    }

    /// Group memberships (Okta `groups`, Cognito `cognito:groups`, Entra `groups`).
    pub fn groups(&self) -> &[String] {
        &self.0.groups
    }

    /// Application roles (Entra `roles`).
    pub fn roles(&self) -> &[String] {
        &self.0.roles
    }

    /// The `exp` claim, seconds since the Unix epoch.
    pub fn expires_at_unix(&self) -> Option<u64> {
        self.0.expires_at
    }

    /// The `exp` claim as a time.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.0
            .expires_at
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// All claims of the token, for provider-specific data.
    pub fn claims(&self) -> &Map<String, Value> {
        self.0.claims.get()
    }

    /// One claim of the token.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.0.claims.get().get(name)
    }

    /// Whether the principal holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.0.scopes.contains(scope)
    }

    /// Checks that every scope of `needed` was granted.
    ///
    /// # Errors
    ///
    /// [`AuthError::InsufficientScope`] naming the scopes to ask for (the needed ones), so the
    /// client can step up (MCP authorization, "Scope Challenge Handling").
    pub fn require_scopes(&self, needed: &Scopes) -> Result<(), AuthError> {
        if self.0.scopes.contains_all(needed) {
            Ok(())
        } else {
            Err(AuthError::InsufficientScope {
                required: needed.clone(),
            })
        }
    }

    /// A copy with a reference count of its own. Clones share one count, and threads that
    /// clone and drop the same principal on every request contend for that count's cache
    /// line; the validation cache gives each thread its own copy ([`crate::cache`]).
    #[cfg(feature = "cache")]
    pub(crate) fn unshared(&self) -> Self {
        Self(Arc::new(PrincipalInner::clone(&self.0)))
    }

    /// Whether the two are clones of one another (one reference count).
    #[cfg(test)]
    pub(crate) fn shares_count_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// A builder holding this principal's fields, to adjust them (provider mappings).
    pub fn into_builder(self) -> PrincipalBuilder {
        PrincipalBuilder(Arc::unwrap_or_clone(self.0))
    }

    /// A key identifying the principal across tokens: issuer and subject.
    pub fn identity_key(&self) -> (Option<&str>, &str) {
        (self.0.issuer.as_deref(), &self.0.subject)
    }
}

/// Builds a [`Principal`].
#[derive(Debug, Clone)]
pub struct PrincipalBuilder(PrincipalInner);

// `#[inline]` throughout: a builder is moved by value through every call, and a validator in
// another crate copies it whole into and out of each call it cannot inline.
impl PrincipalBuilder {
    /// Sets the issuer.
    #[inline]
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.0.issuer = Some(issuer.into());
        self
    }

    /// Sets the audiences.
    #[inline]
    pub fn audiences(mut self, audiences: Vec<String>) -> Self {
        self.0.audiences = audiences;
        self
    }

    /// Sets the granted scopes.
    #[inline]
    pub fn scopes(mut self, scopes: Scopes) -> Self {
        self.0.scopes = scopes;
        self
    }

    /// Sets the email.
    #[inline]
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.0.email = Some(email.into());
        self
    }

    /// Sets `preferred_username`.
    #[inline]
    pub fn preferred_username(mut self, name: impl Into<String>) -> Self {
        self.0.preferred_username = Some(name.into());
        self
    }

    /// Sets the client id.
    #[inline]
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.0.client_id = Some(client_id.into());
        self
    }

    /// Sets the tenant.
    #[inline]
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.0.tenant = Some(tenant.into());
        self
    }

    /// Sets the groups.
    #[inline]
    pub fn groups(mut self, groups: Vec<String>) -> Self {
        self.0.groups = groups;
        self
    }

    /// Sets the roles.
    #[inline]
    pub fn roles(mut self, roles: Vec<String>) -> Self {
        self.0.roles = roles;
        self
    }

    /// Sets the expiry, seconds since the Unix epoch.
    #[inline]
    pub fn expires_at_unix(mut self, exp: u64) -> Self {
        self.0.expires_at = Some(exp);
        self
    }

    /// Sets the raw claims.
    #[inline]
    pub fn claims(mut self, claims: Map<String, Value>) -> Self {
        self.0.claims = Claims {
            json: None,
            map: OnceLock::from(claims),
        };
        self
    }

    /// Sets the raw claims as the text of the JSON object they were read from, parsed only when
    /// first asked for ([`Principal::claims`]): for validators, which have read (and so checked)
    /// that text already. Text that is not a JSON object reads as no claims.
    #[inline]
    pub fn claims_json(mut self, json: String) -> Self {
        self.0.claims = Claims {
            json: Some(json),
            map: OnceLock::new(),
        };
        self
    }

    /// Finishes the principal.
    #[inline]
    pub fn build(self) -> Principal {
        Principal(Arc::new(self.0))
    }
}

/// Reads the standard claims of a JWT payload into a [`Principal`]; validators call it after
/// verification. Scopes come from a `scope` string (RFC 9068) or an `scp` string or array.
///
/// Returns `None` when `sub` is missing or not a string.
pub fn principal_from_claims(claims: Map<String, Value>) -> Option<Principal> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let subject = text("sub")?;
    let audiences = claim_strings(claims.get("aud"));
    let mut scopes = Scopes::new();
    if let Some(scope) = claims.get("scope").and_then(Value::as_str) {
        scopes.extend(&Scopes::from_claim_lossy(scope));
    }
    match claims.get("scp") {
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
    if let Some(iss) = text("iss") {
        builder = builder.issuer(iss);
    }
    if let Some(email) = text("email") {
        builder = builder.email(email);
    }
    if let Some(name) = text("preferred_username") {
        builder = builder.preferred_username(name);
    }
    if let Some(client_id) = text("client_id").or_else(|| text("azp")) {
        builder = builder.client_id(client_id);
    }
    // NumericDate may carry a fraction (RFC 7519 section 2); the whole seconds are kept.
    let exp = claims.get("exp").and_then(|exp| {
        exp.as_u64().or_else(|| {
            exp.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        })
    });
    if let Some(exp) = exp {
        builder = builder.expires_at_unix(exp);
    }
    builder = builder
        .groups(claim_strings(claims.get("groups")))
        .roles(claim_strings(claims.get("roles")));
    Some(builder.claims(claims).build())
}

/// The strings of a claim that is one string or an array of strings (`aud`, `groups`,
/// `roles`), as [`principal_from_claims`] reads them: items of another type are dropped, and a
/// claim of another type (or none) gives none.
///
/// # Example
///
/// ```
/// use mcp_auth_core::principal::claim_strings;
/// use serde_json::json;
///
/// assert_eq!(claim_strings(Some(&json!("a"))), ["a"]);
/// assert_eq!(claim_strings(Some(&json!(["a", 1, "b"]))), ["a", "b"]);
/// assert!(claim_strings(Some(&json!({"a": 1}))).is_empty());
/// assert!(claim_strings(None).is_empty());
/// ```
pub fn claim_strings(claim: Option<&Value>) -> Vec<String> {
    match claim {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn username_falls_back_from_preferred_username_to_email_to_sub() {
        let p = principal_from_claims(claims(
            json!({"sub": "s", "email": "e", "preferred_username": "u"}),
        ));
        assert_eq!(p.map(|p| p.username().to_owned()).as_deref(), Some("u"));
        let p = principal_from_claims(claims(json!({"sub": "s", "email": "e"})));
        assert_eq!(p.map(|p| p.username().to_owned()).as_deref(), Some("e"));
        let p = principal_from_claims(claims(json!({"sub": "s"})));
        assert_eq!(p.map(|p| p.username().to_owned()).as_deref(), Some("s"));
    }

    #[test]
    fn scopes_from_scope_and_scp() {
        let p = principal_from_claims(claims(
            json!({"sub": "s", "scope": "a b", "scp": ["c", "d e"]}),
        ))
        .unwrap();
        assert_eq!(p.scopes().to_string(), "a b c d e");
    }

    #[test]
    fn missing_sub_is_none() {
        assert!(principal_from_claims(claims(json!({"sub": 5}))).is_none());
    }

    #[test]
    fn claims_given_as_json_read_as_the_same_map() {
        let map = claims(json!({"sub": "s", "tid": "t", "n": [1, 2.5, {"x": null}]}));
        let text = serde_json::to_string(&map).unwrap();
        let eager = Principal::builder("s").claims(map.clone()).build();
        let lazy = Principal::builder("s").claims_json(text).build();
        assert_eq!(lazy, eager, "compared by their maps, parsed or not");
        assert_eq!(lazy.claims(), &map);
        assert_eq!(lazy.claim("tid"), Some(&json!("t")));
        // A second owner makes into_builder copy the claims, parsed or not.
        let unparsed = Principal::builder("s")
            .claims_json(serde_json::to_string(&map).unwrap())
            .build();
        let copy = unparsed.clone().into_builder().build();
        assert_eq!(copy.claims(), &map);
        assert_eq!(unparsed.claims(), &map);
        let broken = Principal::builder("s")
            .claims_json("[1]".to_owned())
            .build();
        assert!(broken.claims().is_empty());
        assert_ne!(broken, eager);
    }
}
