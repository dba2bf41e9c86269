//! Presets for the identity providers MCP servers meet most, each with its quirks handled
//! (feature `oidc`). Each builds a [`TokenValidator`](mcp_auth_core::TokenValidator) whose
//! [`Principal`](mcp_auth_core::Principal) carries the vendor's claims (tenant, groups, roles,
//! scopes from `scope` or `scp`), and refuses ID tokens where an access token is expected unless
//! told otherwise.
//!
//! | preset | issuer | audience check |
//! |---|---|---|
//! | [`okta::Okta`] | `https://{domain}/oauth2/{server}` (custom) or `https://{domain}` (org) | `aud` |
//! | [`google::Google`] | `https://accounts.google.com` or `accounts.google.com` | `aud` = client id; opaque tokens: tokeninfo `aud`/`azp` |
//! | [`azure::Azure`] | v2 `https://login.microsoftonline.com/{tid}/v2.0`, v1 `https://sts.windows.net/{tid}/` | `aud` = client id or App ID URI |
//! | [`cognito::Cognito`] | `https://cognito-idp.{region}.amazonaws.com/{pool}` | `client_id` (access) or `aud` (ID) |
//! | [`crate::oidc::Issuer`] | any | `aud` |

pub mod azure;
pub mod cognito;
pub mod google;
pub mod okta;

use serde_json::{Map, Value};

/// A string claim.
pub(crate) fn text<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// A claim that is a string or an array of strings.
pub(crate) fn strings(claims: &Map<String, Value>, name: &str) -> Vec<String> {
    mcp_auth_core::principal::claim_strings(claims.get(name))
}
