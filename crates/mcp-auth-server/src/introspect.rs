//! The introspection endpoint (RFC 7662).
//!
//! # Public interface
//!
//! ```text
//! pub async fn introspect_endpoint(req: &Request, deps: &TokenDeps<'_>, now: u64) -> Response
//! ```
//!
//! # Behaviour
//!
//! - `POST`, `application/x-www-form-urlencoded` with `token` (and an optional
//!   `token_type_hint`, which is not needed: both kinds are looked up); a repeated parameter or
//!   a missing `token` is `invalid_request`.
//! - Only confidential clients may introspect (RFC 7662 section 4: the endpoint must not be a
//!   token-scanning oracle): a public client, or a failed authentication, is
//!   `401 invalid_client`.
//! - A refresh token ([`Store::get_refresh`](crate::store::Store::get_refresh)) is active when
//!   not used, its family not revoked, and not expired at `now`; it is described by `scope`,
//!   `client_id`, `sub`, `aud` (its resource), `iss` and `exp`.
//! - An access token is active when it verifies, at `now` and without leeway, against the
//!   issuer's published keys, with the issuer's `iss` and an `aud` among the allowed resources:
//!   described by `scope`, `client_id`, `sub`, `aud`, `iss`, `exp`, `iat` and
//!   `token_type: "Bearer"`.
//! - Anything else is `{"active": false}`, whatever the reason (RFC 7662 section 2.2).

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use mcp_auth_core::clock::ManualClock;
use mcp_auth_providers::jwt::ClaimsPolicy;
use mcp_auth_providers::oidc::{JwtValidator, KeySource};
use serde::Serialize;
use serde_json::Value;

use crate::error::{ErrorCode, OAuthError};
use crate::http::{Request, Response, json, param};
use crate::store::TokenHash;
use crate::token::client_auth::authenticate_client;
use crate::token::endpoint::{TokenDeps, fault, read_form};

/// An introspection response (RFC 7662 section 2.2).
#[derive(Debug, Default, Serialize)]
struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
}

/// Handles a request to the introspection endpoint at `now` (unix seconds). Never fails:
/// errors are answered as RFC 7662 section 2.3 says.
pub async fn introspect_endpoint(req: &Request, deps: &TokenDeps<'_>, now: u64) -> Response {
    let params = match read_form(req) {
        Ok(params) => params,
        Err(response) => return *response,
    };
    match authenticate_client(req, &params, deps).await {
        Ok(client) if client.method.is_confidential() => {}
        Ok(_) => {
            return OAuthError::new(
                ErrorCode::InvalidClient,
                "only confidential clients may introspect tokens",
            )
            .response();
        }
        Err(err) => return err.response(),
    }
    let Some(token) = param(&params, "token") else {
        return OAuthError::new(ErrorCode::InvalidRequest, "token is required").response();
    };
    let refresh = match deps.store.get_refresh(TokenHash::of(token)).await {
        Ok(refresh) => refresh,
        Err(e) => return fault("introspect: get_refresh", &e).response(),
    };
    let answer = match refresh {
        Some(entry) if entry.is_active(now) => {
            let record = entry.record;
            Introspection {
                active: true,
                scope: (!record.scopes.is_empty()).then(|| record.scopes.to_string()),
                client_id: Some(record.client_id),
                sub: Some(record.subject),
                aud: record.resource,
                iss: Some(deps.issuer.issuer().to_owned()),
                exp: Some(record.expires_at.min(record.family_expires_at)),
                ..Introspection::default()
            }
        }
        Some(_) => Introspection::default(),
        None => access_token(token, deps, now).await,
    };
    json(StatusCode::OK, &answer)
}

/// Verifies `token` as one of the issuer's access tokens.
async fn access_token(token: &str, deps: &TokenDeps<'_>, now: u64) -> Introspection {
    let Some((first, rest)) = deps.allowed_resources.split_first() else {
        return Introspection::default();
    };
    let mut policy = ClaimsPolicy::new(first.as_str())
        .issuer(deps.issuer.issuer())
        .leeway(Duration::ZERO)
        .clock(Arc::new(ManualClock::at_unix(now)));
    for resource in rest {
        policy = policy.also_accept_audience(resource.as_str());
    }
    let keys = KeySource::Static(Arc::new(deps.issuer.keys().jwk_set(now)));
    let Ok(principal) = JwtValidator::new(keys, policy).verify(token).await else {
        return Introspection::default();
    };
    let text = |name: &str| {
        principal
            .claim(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let number = |name: &str| principal.claim(name).and_then(Value::as_u64);
    Introspection {
        active: true,
        scope: text("scope"),
        client_id: text("client_id"),
        sub: Some(principal.subject().to_owned()),
        aud: principal.audiences().first().cloned(),
        iss: principal.issuer().map(str::to_owned),
        exp: number("exp"),
        iat: number("iat"),
        token_type: Some("Bearer"),
    }
}
