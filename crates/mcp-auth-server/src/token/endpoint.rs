//! The token endpoint (RFC 6749 section 3.2, OAuth 2.1 section 3.2): `authorization_code`
//! (with PKCE), `refresh_token` (rotated) and `client_credentials`.
//!
//! # Public interface
//!
//! ```text
//! pub struct TokenDeps<'a> { store, issuer, refresh_lifetime, refresh_family_lifetime,
//!                            allowed_resources, scopes_supported, cimd (feature "cimd") }
//! TokenDeps::new(store, issuer, allowed_resources, scopes_supported) -> TokenDeps
//! TokenDeps::with_cimd(self, &CimdResolver) -> TokenDeps          (feature "cimd")
//! pub async fn token_endpoint(req: &Request, deps: &TokenDeps<'_>, now: u64) -> Response
//! ```
//!
//! The same [`TokenDeps`] serve the revocation ([`crate::revoke::revoke_endpoint`]) and
//! introspection ([`crate::introspect::introspect_endpoint`]) endpoints.
//!
//! # Behaviour
//!
//! - `POST` only (405 otherwise), body `application/x-www-form-urlencoded`; a repeated
//!   parameter is `invalid_request` (RFC 6749 section 3.2). Every answer carries
//!   `Cache-Control: no-store`. Error descriptions are fixed texts, never an echo of the request.
//! - The client authenticates first ([`super::client_auth`]); the grant type must be one the
//!   client registered (`unauthorized_client`), and one of the three above
//!   (`unsupported_grant_type`).
//! - `authorization_code`: the code is redeemed once ([`Store::take_code`]); a replay is
//!   refused and revokes the refresh token family the first redemption issued (OAuth 2.1
//!   section 4.1.3). The code must be the client's, `redirect_uri` must equal the one bound
//!   to it exactly, `code_verifier` must match the PKCE `S256` challenge, and `resource`, when
//!   sent, must equal the grant's (RFC 8707). A refresh token is issued when the client
//!   registered the `refresh_token` grant, public clients included (they are rotated).
//! - `refresh_token`: the token must be the client's; it is rotated ([`Store::rotate_refresh`])
//!   and presenting a used one revokes its family (OAuth 2.1 section 4.3.1). `scope` may narrow
//!   the grant for this access token, never widen it (`invalid_scope`); the new refresh token
//!   keeps the grant's full scope (RFC 6749 section 6). `resource`, when sent, must equal the
//!   grant's.
//! - `client_credentials`: confidential clients only; `scope` within the client's registered
//!   scope (or the server's supported scopes when it registered none), defaulting to all of
//!   it; the subject is the client; no refresh token (RFC 6749 section 4.4.3).
//!
//! Access tokens are audience-restricted to one resource: the grant's, or the first of
//! [`TokenDeps::allowed_resources`].

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use http::{Method, StatusCode};
use mcp_auth_core::Scopes;
use serde::Serialize;

#[cfg(feature = "cimd")]
use crate::client::cimd::CimdResolver;
use crate::error::{ErrorCode, OAuthError, log_fault};
use crate::http::{Request, Response, form, json, param};
use crate::pkce::CodeChallenge;
use crate::store::{
    AuthorizationGrant, CodeRedemption, FamilyId, RefreshRecord, Rotation, Store, TokenHash,
};
use crate::token::client_auth::{AuthenticatedClient, authenticate_client};
use crate::token::{AccessTokenClaims, AccessTokenIssuer};

/// How long one refresh token may be redeemed unless configured otherwise: 30 days.
pub const DEFAULT_REFRESH_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 86_400);

/// How long a refresh token family (a grant) lasts, however often it is rotated, unless
/// configured otherwise: 90 days.
pub const DEFAULT_REFRESH_FAMILY_LIFETIME: Duration = Duration::from_secs(90 * 86_400);

/// `grant_type` of the authorization code grant.
pub const AUTHORIZATION_CODE: &str = "authorization_code";
/// `grant_type` of the refresh token grant.
pub const REFRESH_TOKEN: &str = "refresh_token";
/// `grant_type` of the client credentials grant.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// What the token, revocation and introspection endpoints need, borrowed from the server.
#[derive(Clone, Copy)]
pub struct TokenDeps<'a> {
    /// Clients, codes and refresh tokens.
    pub store: &'a dyn Store,
    /// Mints (and, for introspection, publishes the keys of) access tokens.
    pub issuer: &'a AccessTokenIssuer,
    /// How long each refresh token may be redeemed ([`DEFAULT_REFRESH_TOKEN_LIFETIME`]).
    pub refresh_lifetime: Duration,
    /// The absolute lifetime of a refresh token family, which rotation does not extend
    /// ([`DEFAULT_REFRESH_FAMILY_LIFETIME`]).
    pub refresh_family_lifetime: Duration,
    /// The resources (RFC 8707) tokens may be issued for; the first is the default.
    pub allowed_resources: &'a [String],
    /// The scopes the server supports: the default scope of `client_credentials` for clients
    /// that registered none.
    pub scopes_supported: &'a Scopes,
    /// Resolves clients whose `client_id` is a metadata document URL.
    #[cfg(feature = "cimd")]
    pub cimd: Option<&'a CimdResolver>,
}

impl<'a> TokenDeps<'a> {
    /// Dependencies with the default refresh token lifetimes and no metadata document resolver.
    pub fn new(
        store: &'a dyn Store,
        issuer: &'a AccessTokenIssuer,
        allowed_resources: &'a [String],
        scopes_supported: &'a Scopes,
    ) -> Self {
        Self {
            store,
            issuer,
            refresh_lifetime: DEFAULT_REFRESH_TOKEN_LIFETIME,
            refresh_family_lifetime: DEFAULT_REFRESH_FAMILY_LIFETIME,
            allowed_resources,
            scopes_supported,
            #[cfg(feature = "cimd")]
            cimd: None,
        }
    }

    /// Resolves clients identified by a metadata document URL with `resolver`.
    #[cfg(feature = "cimd")]
    pub fn with_cimd(mut self, resolver: &'a CimdResolver) -> Self {
        self.cimd = Some(resolver);
        self
    }
}

/// A successful token response (RFC 6749 section 5.1).
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

/// Handles a request to the token endpoint at `now` (unix seconds). Never fails: errors are
/// answered as RFC 6749 section 5.2 says.
pub async fn token_endpoint(req: &Request, deps: &TokenDeps<'_>, now: u64) -> Response {
    let params = match read_form(req) {
        Ok(params) => params,
        Err(response) => return *response,
    };
    let client = match authenticate_client(req, &params, deps).await {
        Ok(client) => client,
        Err(err) => return err.response(),
    };
    let result = match param(&params, "grant_type") {
        None => Err(OAuthError::new(
            ErrorCode::InvalidRequest,
            "grant_type is required",
        )),
        Some(grant)
            if ![AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS].contains(&grant) =>
        {
            Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "the grant type is not supported",
            ))
        }
        Some(grant) if !client.client.grant_types.iter().any(|g| g == grant) => {
            Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                "the client is not registered for this grant type",
            ))
        }
        Some(AUTHORIZATION_CODE) => authorization_code(&params, &client, deps, now).await,
        Some(REFRESH_TOKEN) => refresh_token(&params, &client, deps, now).await,
        Some(_) => client_credentials(&params, &client, deps, now),
    };
    match result {
        Ok(body) => json(StatusCode::OK, &body),
        Err(err) => err.response(),
    }
}

/// Checks method and content type and parses the form body, or answers the request.
pub(crate) fn read_form(req: &Request) -> Result<Vec<(String, String)>, Box<Response>> {
    if req.method() != Method::POST {
        let err = OAuthError::new(ErrorCode::InvalidRequest, "the method must be POST");
        let mut response = json(StatusCode::METHOD_NOT_ALLOWED, &err);
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return Err(Box::new(response));
    }
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(Box::new(
            OAuthError::new(
                ErrorCode::InvalidRequest,
                "the body must be application/x-www-form-urlencoded",
            )
            .response(),
        ));
    }
    form(req.body()).map_err(|_| {
        Box::new(OAuthError::new(ErrorCode::InvalidRequest, "a parameter was repeated").response())
    })
}

pub(crate) fn server_error() -> OAuthError {
    OAuthError::new(ErrorCode::ServerError, "internal error")
}

/// Logs the internal fault `err` of `operation` (see [`SERVER_LOG_TARGET`]) and returns the
/// [`server_error`] that answers it, without detail.
///
/// [`SERVER_LOG_TARGET`]: crate::error::SERVER_LOG_TARGET
pub(crate) fn fault(operation: &'static str, err: &dyn std::error::Error) -> OAuthError {
    log_fault(operation, err);
    server_error()
}

fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

fn missing(description: &'static str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidRequest, description)
}

const CODE_INVALID: &str = "the authorization code is invalid, expired or already used";
const REFRESH_INVALID: &str = "the refresh token is invalid, expired or revoked";
const RESOURCE_MISMATCH: &str = "the resource does not match the grant";

async fn authorization_code(
    params: &[(String, String)],
    client: &AuthenticatedClient,
    deps: &TokenDeps<'_>,
    now: u64,
) -> Result<TokenResponse, OAuthError> {
    let code = param(params, "code").ok_or_else(|| missing("code is required"))?;
    let redirect_uri =
        param(params, "redirect_uri").ok_or_else(|| missing("redirect_uri is required"))?;
    let code_hash = TokenHash::of(code);
    let grant: AuthorizationGrant = match deps
        .store
        .take_code(code_hash, now)
        .await
        .map_err(|e| fault("token: take_code", &e))?
    {
        CodeRedemption::Fresh(grant) => grant,
        CodeRedemption::Replayed { family } => {
            // OAuth 2.1 section 4.1.3: revoke what the first redemption issued.
            if let Some(family) = family {
                deps.store
                    .revoke_family(&family)
                    .await
                    .map_err(|e| fault("token: revoke_family (replayed code)", &e))?;
            }
            return Err(invalid_grant(CODE_INVALID));
        }
        CodeRedemption::Expired | CodeRedemption::Unknown => {
            return Err(invalid_grant(CODE_INVALID));
        }
    };
    if grant.client_id != client.client.client_id {
        return Err(invalid_grant(CODE_INVALID));
    }
    if grant.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    let verified = match (
        param(params, "code_verifier"),
        CodeChallenge::parse(Some(&grant.code_challenge), Some(crate::pkce::S256)),
    ) {
        (Some(verifier), Ok(challenge)) => challenge.verify(verifier),
        _ => false,
    };
    if !verified {
        return Err(invalid_grant(
            "code_verifier is missing or does not match the code challenge",
        ));
    }
    let resource = bound_resource(
        param(params, "resource"),
        grant.resource.as_deref(),
        deps.allowed_resources,
    )?;

    let refresh_token = if client.registered(REFRESH_TOKEN) {
        let family = match &grant.issued_family {
            Some(family) => family.clone(),
            None => FamilyId::new(random_token(16)?),
        };
        // Recorded before the token is stored: a replay racing this redemption then revokes
        // the family, and the token stored below with it.
        deps.store
            .set_code_family(code_hash, &family)
            .await
            .map_err(|e| fault("token: set_code_family", &e))?;
        let token = random_token(32)?;
        let family_expires_at = now.saturating_add(deps.refresh_family_lifetime.as_secs());
        let record = RefreshRecord {
            family,
            client_id: grant.client_id.clone(),
            subject: grant.subject.clone(),
            scopes: grant.scopes.clone(),
            resource: Some(resource.clone()),
            expires_at: now
                .saturating_add(deps.refresh_lifetime.as_secs())
                .min(family_expires_at),
            family_expires_at,
        };
        deps.store
            .put_refresh(TokenHash::of(&token), record)
            .await
            .map_err(|e| fault("token: put_refresh", &e))?;
        Some(token)
    } else {
        None
    };
    let claims = AccessTokenClaims {
        subject: grant.subject,
        client_id: grant.client_id,
        scopes: grant.scopes,
        resource,
        auth_time: None,
    };
    respond(deps, &claims, refresh_token, now)
}

async fn refresh_token(
    params: &[(String, String)],
    client: &AuthenticatedClient,
    deps: &TokenDeps<'_>,
    now: u64,
) -> Result<TokenResponse, OAuthError> {
    let presented =
        param(params, "refresh_token").ok_or_else(|| missing("refresh_token is required"))?;
    let old = TokenHash::of(presented);
    let entry = deps
        .store
        .get_refresh(old)
        .await
        .map_err(|e| fault("token: get_refresh", &e))?
        .ok_or_else(|| invalid_grant(REFRESH_INVALID))?;
    let record = entry.record;
    if record.client_id != client.client.client_id {
        return Err(invalid_grant(REFRESH_INVALID));
    }
    if entry.used {
        // A used token presented again, whatever else the request says: revoke the family
        // (OAuth 2.1 section 4.3.1), as the rotation below would.
        deps.store
            .revoke_family(&record.family)
            .await
            .map_err(|e| fault("token: revoke_family (reused refresh token)", &e))?;
        return Err(invalid_grant(REFRESH_INVALID));
    }
    let scopes = match param(params, "scope") {
        None => record.scopes.clone(),
        Some(requested) => {
            let requested: Scopes = requested.parse().map_err(|_| malformed_scope())?;
            if !record.scopes.contains_all(&requested) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "the requested scope exceeds what was granted",
                ));
            }
            requested
        }
    };
    let resource = bound_resource(
        param(params, "resource"),
        record.resource.as_deref(),
        deps.allowed_resources,
    )?;
    let token = random_token(32)?;
    let next = RefreshRecord {
        expires_at: now
            .saturating_add(deps.refresh_lifetime.as_secs())
            .min(record.family_expires_at),
        ..record.clone()
    };
    let rotation = deps
        .store
        .rotate_refresh(old, TokenHash::of(&token), next, now)
        .await
        .map_err(|e| fault("token: rotate_refresh", &e))?;
    match rotation {
        Rotation::Rotated(_) => {}
        Rotation::Reused { .. } | Rotation::Revoked | Rotation::Expired | Rotation::Unknown => {
            return Err(invalid_grant(REFRESH_INVALID));
        }
    }
    let claims = AccessTokenClaims {
        subject: record.subject,
        client_id: record.client_id,
        scopes,
        resource,
        auth_time: None,
    };
    respond(deps, &claims, Some(token), now)
}

fn client_credentials(
    params: &[(String, String)],
    client: &AuthenticatedClient,
    deps: &TokenDeps<'_>,
    now: u64,
) -> Result<TokenResponse, OAuthError> {
    if !client.method.is_confidential() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "client_credentials is for confidential clients only",
        ));
    }
    let allowed = match &client.client.scope {
        Some(registered) => Scopes::from_claim_lossy(registered),
        None => deps.scopes_supported.clone(),
    };
    let scopes = match param(params, "scope") {
        None => allowed,
        Some(requested) => {
            let requested: Scopes = requested.parse().map_err(|_| malformed_scope())?;
            if !allowed.contains_all(&requested) {
                return Err(OAuthError::new(
                    ErrorCode::InvalidScope,
                    "the requested scope exceeds what the client may obtain",
                ));
            }
            requested
        }
    };
    let resource = match param(params, "resource") {
        Some(requested) if deps.allowed_resources.iter().any(|r| r == requested) => {
            requested.to_owned()
        }
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::InvalidTarget,
                "the resource is not served by this authorization server",
            ));
        }
        None => default_resource(deps.allowed_resources)?,
    };
    let claims = AccessTokenClaims {
        subject: client.client.client_id.clone(),
        client_id: client.client.client_id.clone(),
        scopes,
        resource,
        auth_time: None,
    };
    respond(deps, &claims, None, now)
}

fn malformed_scope() -> OAuthError {
    OAuthError::new(ErrorCode::InvalidScope, "the scope is malformed")
}

/// The resource of a grant (`bound`, or the default resource when the grant named none),
/// which a `requested` resource must equal; it must still be served.
fn bound_resource(
    requested: Option<&str>,
    bound: Option<&str>,
    allowed: &[String],
) -> Result<String, OAuthError> {
    let resource = match bound {
        Some(bound) => bound.to_owned(),
        None => default_resource(allowed)?,
    };
    if requested.is_some_and(|r| r != resource) || !allowed.contains(&resource) {
        return Err(OAuthError::new(ErrorCode::InvalidTarget, RESOURCE_MISMATCH));
    }
    Ok(resource)
}

fn default_resource(allowed: &[String]) -> Result<String, OAuthError> {
    allowed.first().cloned().ok_or_else(|| {
        OAuthError::new(
            ErrorCode::InvalidTarget,
            "no resource is served by this authorization server",
        )
    })
}

fn respond(
    deps: &TokenDeps<'_>,
    claims: &AccessTokenClaims,
    refresh_token: Option<String>,
    now: u64,
) -> Result<TokenResponse, OAuthError> {
    let minted = deps
        .issuer
        .mint(claims, now)
        .map_err(|e| fault("token: sign access token", &e))?;
    Ok(TokenResponse {
        access_token: minted.token,
        token_type: "Bearer",
        expires_in: minted.expires_in,
        refresh_token,
        scope: (!claims.scopes.is_empty()).then(|| claims.scopes.to_string()),
    })
}

/// `bytes` random bytes, base64url without padding.
fn random_token(bytes: usize) -> Result<String, OAuthError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| fault("token: random token", &e))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn bound_resource_rules() {
        let allowed = res(&["https://a.example/mcp", "https://b.example/mcp"]);
        let ok = |requested, bound| bound_resource(requested, bound, &allowed);
        assert_eq!(ok(None, None).unwrap(), "https://a.example/mcp");
        assert_eq!(
            ok(None, Some("https://b.example/mcp")).unwrap(),
            "https://b.example/mcp"
        );
        assert_eq!(
            ok(Some("https://b.example/mcp"), Some("https://b.example/mcp")).unwrap(),
            "https://b.example/mcp"
        );
        let target = |r: Result<String, OAuthError>| r.unwrap_err().error;
        assert_eq!(
            target(ok(Some("https://b.example/mcp"), None)),
            ErrorCode::InvalidTarget
        );
        assert_eq!(
            target(ok(None, Some("https://gone.example/mcp"))),
            ErrorCode::InvalidTarget
        );
        assert_eq!(
            target(bound_resource(None, None, &[])),
            ErrorCode::InvalidTarget
        );
    }

    #[test]
    fn random_tokens_are_long_and_distinct() {
        let a = random_token(32).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        assert_ne!(a, random_token(32).unwrap());
    }
}
