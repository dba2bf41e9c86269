//! OAuth error responses (RFC 6749 section 5.2, RFC 7009 section 2.2.1, RFC 7591 section 3.2.2,
//! RFC 6750 for resource errors): one type, one mapping to status and body.

use http::StatusCode;
use serde::Serialize;

use crate::http::{Response, json};

/// The `error` codes the server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// Malformed request: missing or repeated parameter, unsupported value.
    InvalidRequest,
    /// Client authentication failed (401 with `WWW-Authenticate` when Basic was used).
    InvalidClient,
    /// The code, refresh token or credentials are invalid, expired, revoked or not the client's.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// A requested scope is invalid or exceeds what was granted.
    InvalidScope,
    /// The `resource` parameter is invalid (RFC 8707 section 2).
    InvalidTarget,
    /// The resource owner or server denied the request.
    AccessDenied,
    /// `response_type` is not supported.
    UnsupportedResponseType,
    /// RFC 7009: the token type is not supported.
    UnsupportedTokenType,
    /// RFC 7591: a redirect URI is invalid.
    InvalidRedirectUri,
    /// RFC 7591: client metadata is invalid.
    InvalidClientMetadata,
    /// Too many requests (answered 429 with `Retry-After`).
    TemporarilyUnavailable,
    /// A fault of the server; no detail is sent.
    ServerError,
}

/// An OAuth error: code and fixed-text description (never an echo of the request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuthError {
    /// The error code.
    pub error: ErrorCode,
    /// Fixed, human-readable text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<&'static str>,
}

impl OAuthError {
    /// An error with a description.
    pub fn new(error: ErrorCode, description: &'static str) -> Self {
        Self {
            error,
            error_description: Some(description),
        }
    }

    /// The HTTP status for this error at the token, revocation, introspection or registration
    /// endpoint (RFC 6749 section 5.2: 400 unless client authentication failed).
    pub fn status(&self) -> StatusCode {
        match self.error {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::TemporarilyUnavailable => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The JSON response (`Cache-Control: no-store`).
    pub fn response(&self) -> Response {
        json(self.status(), self)
    }
}
