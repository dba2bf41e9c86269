//! The revocation endpoint (RFC 7009).
//!
//! # Public interface
//!
//! ```text
//! pub async fn revoke_endpoint(req: &Request, deps: &TokenDeps<'_>) -> Response
//! ```
//!
//! # Behaviour
//!
//! - `POST`, `application/x-www-form-urlencoded` with `token` and optionally
//!   `token_type_hint`; a repeated parameter or a missing `token` is `invalid_request`.
//! - The client authenticates as at the token endpoint
//!   ([`authenticate_client`]): public clients by their `client_id`.
//! - A refresh token of the client is revoked with its whole family
//!   ([`Store::revoke_refresh`](crate::store::Store::revoke_refresh)), so neither it nor any
//!   token rotated from it can be redeemed again (RFC 7009 section 2.1).
//! - Everything else is answered `200` too, as RFC 7009 section 2.2 requires: unknown or
//!   invalid tokens, refresh tokens of another client (not revoked), and access tokens, which
//!   are self-contained JWTs that cannot be revoked one by one and simply expire.
//! - `token_type_hint` is only a hint (RFC 7009 section 2.1): any value, known or not, is
//!   accepted and the token is looked up the same way.
//! - Answers carry `Cache-Control: no-store`; the success body is empty.

use bytes::Bytes;
use http::StatusCode;

use crate::error::{ErrorCode, OAuthError};
use crate::http::{Request, Response, no_store, param};
use crate::store::TokenHash;
use crate::token::client_auth::authenticate_client;
use crate::token::endpoint::{TokenDeps, fault, read_form};

/// Handles a request to the revocation endpoint. Never fails: errors are answered as RFC 7009
/// section 2.2.1 says.
pub async fn revoke_endpoint(req: &Request, deps: &TokenDeps<'_>) -> Response {
    let params = match read_form(req) {
        Ok(params) => params,
        Err(response) => return *response,
    };
    let client = match authenticate_client(req, &params, deps).await {
        Ok(client) => client,
        Err(err) => return err.response(),
    };
    let Some(token) = param(&params, "token") else {
        return OAuthError::new(ErrorCode::InvalidRequest, "token is required").response();
    };
    let hash = TokenHash::of(token);
    let entry = match deps.store.get_refresh(hash).await {
        Ok(entry) => entry,
        Err(e) => return fault("revoke: get_refresh", &e).response(),
    };
    if let Some(entry) = entry
        && entry.record.client_id == client.client.client_id
        && let Err(e) = deps.store.revoke_refresh(hash).await
    {
        return fault("revoke: revoke_refresh", &e).response();
    }
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::OK;
    no_store(response.headers_mut());
    response
}
