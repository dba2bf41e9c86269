//! Turning a core [`ErrorResponse`] into an axum response: the only place status codes and
//! headers of refusals are written (the header list itself is
//! [`mcp_auth_core::guard::refusal_headers`], shared with every adapter).

use axum::body::Body;
use axum::response::Response;
use http::header::{HeaderName, HeaderValue};
use mcp_auth_core::AuthError;
use mcp_auth_core::ErrorResponse;
use mcp_auth_core::challenge::ChallengeContext;
use mcp_auth_core::guard::refusal_headers;

/// Renders `err` for `ctx`.
pub(crate) fn error_response(err: &AuthError, ctx: &ChallengeContext) -> Response {
    into_response(err.to_response(ctx))
}

/// Renders a core [`ErrorResponse`].
pub(crate) fn into_response(wire: ErrorResponse) -> Response {
    let headers = refusal_headers(&wire);
    let mut response = Response::new(Body::from(wire.body));
    *response.status_mut() =
        http::StatusCode::from_u16(wire.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    response
}
