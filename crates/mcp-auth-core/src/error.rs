//! Why a request was not authenticated, and how that is said on the wire (RFC 6750 section 3).
//!
//! [`AuthError`] carries no HTTP types; [`AuthError::to_response`] is the one total mapping to a
//! status code, a `WWW-Authenticate` challenge and a small JSON body, shared by every adapter.
//!
//! # Example
//!
//! ```
//! use mcp_auth_core::{AuthError, InvalidTokenReason};
//! use mcp_auth_core::challenge::ChallengeContext;
//!
//! let ctx = ChallengeContext::new()
//!     .resource_metadata("https://mcp.example.com/.well-known/oauth-protected-resource/mcp");
//! let response = AuthError::InvalidToken(InvalidTokenReason::Expired).to_response(&ctx);
//! assert_eq!(response.status, 401);
//! assert_eq!(
//!     response.www_authenticate.as_deref(),
//!     Some(r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", error="invalid_token", error_description="the token has expired""#),
//! );
//! ```

use std::error::Error as StdError;
use std::time::Duration;

use crate::challenge::{BearerChallenge, ChallengeContext, ErrorCode};
use crate::scope::Scopes;

/// A boxed error source.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a request carried no usable credentials in the form RFC 6750 allows (answered 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidRequestReason {
    /// More than one `Authorization` header.
    DuplicateAuthorization,
    /// The `Authorization` header is not `Bearer <b64token>` (RFC 6750 section 2.1).
    MalformedAuthorization,
    /// An `access_token` was sent in the URI query. RFC 9700 section 4.3.2 and the MCP
    /// authorization spec forbid it: query strings end up in logs and `Referer` headers.
    TokenInQuery,
}

impl InvalidRequestReason {
    /// A fixed description, safe to send to the client.
    pub fn description(self) -> &'static str {
        match self {
            Self::DuplicateAuthorization => "more than one Authorization header",
            Self::MalformedAuthorization => "the Authorization header is not a Bearer credential",
            Self::TokenInQuery => "access tokens are not accepted in the URI query",
        }
    }
}

/// Why a token was refused (answered 401 `invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidTokenReason {
    /// Not a well-formed token (e.g. not a compact JWS, bad base64, bad JSON).
    Malformed,
    /// Longer than the validator accepts; refused before any decoding.
    TooLong,
    /// The signature did not verify with any trusted key.
    BadSignature,
    /// The `alg` is not on the allow-list for the key (including `none` in any casing).
    DisallowedAlgorithm,
    /// The header names a `crit` extension; none is understood (RFC 7515 section 4.1.11).
    CriticalHeader,
    /// No trusted key has the token's `kid`.
    UnknownKey,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
    /// `aud` does not contain this resource.
    Audience,
    /// `iss` is not the configured issuer.
    Issuer,
    /// A required claim is absent, or a claim (required or not) is of the wrong type.
    MissingClaim(&'static str),
    /// The token is not an access token of the expected kind (e.g. an ID token).
    WrongTokenType,
    /// The token was revoked or reported inactive.
    Inactive,
}

impl InvalidTokenReason {
    /// A fixed description, safe to send to the client: it never echoes token content.
    pub fn description(self) -> &'static str {
        match self {
            Self::Malformed => "the token is malformed",
            Self::TooLong => "the token is too long",
            Self::BadSignature => "the token signature is invalid",
            Self::DisallowedAlgorithm => "the token algorithm is not allowed",
            Self::CriticalHeader => "the token has an unsupported critical header",
            Self::UnknownKey => "the token signing key is unknown",
            Self::Expired => "the token has expired",
            Self::NotYetValid => "the token is not yet valid",
            Self::IssuedInFuture => "the token was issued in the future",
            Self::Audience => "the token audience does not include this resource",
            Self::Issuer => "the token issuer is not trusted",
            Self::MissingClaim("exp") => "the token has no valid exp claim",
            Self::MissingClaim("aud") => "the token has no valid aud claim",
            Self::MissingClaim("iss") => "the token has no valid iss claim",
            Self::MissingClaim("sub") => "the token has no valid sub claim",
            Self::MissingClaim("nbf") => "the token has an invalid nbf claim",
            Self::MissingClaim("iat") => "the token has an invalid iat claim",
            Self::MissingClaim(_) => "the token lacks a required claim",
            Self::WrongTokenType => "the token is not an access token",
            Self::Inactive => "the token is not active",
        }
    }
}

/// Why a request was not authenticated or not authorized.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The request carried no credentials (RFC 6750 section 3.1: the challenge has no error code).
    #[error("no access token")]
    MissingToken,
    /// The request was malformed (400 `invalid_request`).
    #[error("invalid request: {}", .0.description())]
    InvalidRequest(InvalidRequestReason),
    /// The token was refused (401 `invalid_token`).
    #[error("invalid token: {}", .0.description())]
    InvalidToken(InvalidTokenReason),
    /// The token lacks scopes the request needs (403 `insufficient_scope`).
    #[error("insufficient scope: requires {required}")]
    InsufficientScope {
        /// The scopes the client should ask for.
        required: Scopes,
    },
    /// A dependency such as a key set is unreachable and nothing cached can stand in (503).
    #[error("token validation is temporarily unavailable")]
    Unavailable {
        /// When the client may retry.
        retry_after: Option<Duration>,
        /// The underlying fault; logged, never sent.
        #[source]
        source: Option<BoxError>,
    },
    /// A fault of the server itself (500); logged, never sent.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// The wire form of an [`AuthError`]: what every adapter sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    /// HTTP status code.
    pub status: u16,
    /// The `WWW-Authenticate` header value, when the status calls for one.
    pub www_authenticate: Option<String>,
    /// The `Retry-After` header value in seconds, for 503.
    pub retry_after: Option<u64>,
    /// A JSON body (`{"error": ..., "error_description": ...}`), built only from fixed text.
    pub body: String,
}

impl AuthError {
    /// Maps the error to its status, challenge and body (RFC 6750 section 3.1; RFC 9728 section
    /// 5.1 for `resource_metadata`). Internal faults carry no detail.
    pub fn to_response(&self, ctx: &ChallengeContext) -> ErrorResponse {
        let base = BearerChallenge::from_context(ctx);
        let (status, challenge, retry_after) = match self {
            Self::MissingToken => (401, Some(base.scope_opt(ctx.scopes())), None),
            Self::InvalidRequest(reason) => (
                400,
                Some(base.error(ErrorCode::InvalidRequest, reason.description())),
                None,
            ),
            Self::InvalidToken(reason) => (
                401,
                Some(base.error(ErrorCode::InvalidToken, reason.description())),
                None,
            ),
            Self::InsufficientScope { required } => (
                403,
                Some(base.scope_opt(Some(required)).error(
                    ErrorCode::InsufficientScope,
                    "the token lacks a scope this request needs",
                )),
                None,
            ),
            Self::Unavailable { retry_after, .. } => (
                503,
                None,
                Some(retry_after.map_or(5, |d| d.as_secs().max(1))),
            ),
            Self::Internal(_) => (500, None, None),
        };
        let body = match (&challenge, self) {
            (_, Self::MissingToken) => {
                r#"{"error":"unauthorized","error_description":"an access token is required"}"#
                    .to_owned()
            }
            (Some(c), _) => c.json_body(),
            (None, Self::Unavailable { .. }) => r#"{"error":"temporarily_unavailable"}"#.to_owned(),
            (None, _) => r#"{"error":"server_error"}"#.to_owned(),
        };
        ErrorResponse {
            status,
            www_authenticate: challenge.map(|c| c.to_string()),
            retry_after,
            body,
        }
    }

    /// Whether this is a fault of the server (5xx) rather than of the request.
    pub fn is_server_fault(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Internal(_))
    }
}
