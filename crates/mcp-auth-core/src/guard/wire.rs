//! What adapters write on the wire besides the [`ErrorResponse`] fields themselves: the headers
//! of a refusal, the 413 for a body over the inspection limit, and the JSON-RPC error of an
//! in-handler scope check. Written once here so every adapter answers byte for byte alike.

use serde_json::{Value, json};

use crate::error::ErrorResponse;
use crate::principal::Principal;
use crate::scope::Scopes;

/// `Content-Type` of every refusal.
pub const REFUSAL_CONTENT_TYPE: &str = "application/json";

/// `Cache-Control` of every refusal: a challenge is about one request and must not be reused.
pub const REFUSAL_CACHE_CONTROL: &str = "no-store";

/// The headers of a refusal, names in lower case, in the order adapters write them:
/// `content-type`, `cache-control`, then `www-authenticate` and `retry-after` when present.
///
/// # Example
///
/// ```
/// use mcp_auth_core::guard::{body_too_large, refusal_headers};
///
/// let headers = refusal_headers(&body_too_large());
/// assert_eq!(
///     headers,
///     vec![("content-type", "application/json".to_owned()), ("cache-control", "no-store".to_owned())],
/// );
/// ```
pub fn refusal_headers(response: &ErrorResponse) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("content-type", REFUSAL_CONTENT_TYPE.to_owned()),
        ("cache-control", REFUSAL_CACHE_CONTROL.to_owned()),
    ];
    if let Some(challenge) = &response.www_authenticate {
        headers.push(("www-authenticate", challenge.clone()));
    }
    if let Some(secs) = response.retry_after {
        headers.push(("retry-after", secs.to_string()));
    }
    headers
}

/// The answer to a `POST` whose body exceeds [`crate::guard::ResourceGuard::body_limit`] when
/// tool scopes require reading it (or that could not be read in full): 413 with no challenge,
/// since no token would make it acceptable.
pub fn body_too_large() -> ErrorResponse {
    ErrorResponse {
        status: 413,
        www_authenticate: None,
        retry_after: None,
        body: r#"{"error":"invalid_request","error_description":"the request body is too large"}"#
            .to_owned(),
    }
}

/// JSON-RPC error code of an in-handler scope refusal (server-defined range of JSON-RPC 2.0).
pub const JSONRPC_INSUFFICIENT_SCOPE: i32 = -32003;

/// JSON-RPC 2.0 "Internal error", for a handler reached without authentication.
pub const JSONRPC_INTERNAL_ERROR: i32 = -32603;

/// A JSON-RPC error refusing a tool call inside its handler; adapters' `rmcp` helpers turn it
/// into an `rmcp::ErrorData` field for field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerRefusal {
    /// The JSON-RPC error code.
    pub code: i32,
    /// The error message.
    pub message: String,
    /// The error data, if any.
    pub data: Option<Value>,
}

impl HandlerRefusal {
    fn internal(message: &str) -> Self {
        Self {
            code: JSONRPC_INTERNAL_ERROR,
            message: message.to_owned(),
            data: None,
        }
    }
}

/// The principal a tool handler found (`None` when the request did not pass through an
/// adapter), or the JSON-RPC error to answer with.
///
/// # Errors
///
/// [`JSONRPC_INTERNAL_ERROR`] without a principal.
pub fn handler_principal(principal: Option<&Principal>) -> Result<Principal, HandlerRefusal> {
    principal
        .cloned()
        .ok_or_else(|| HandlerRefusal::internal("request is not authenticated"))
}

/// [`handler_principal`], if it holds every scope of `scopes` (space-delimited).
///
/// # Errors
///
/// As [`handler_principal`]; [`JSONRPC_INTERNAL_ERROR`] for an invalid `scopes`; and for a
/// missing scope [`JSONRPC_INSUFFICIENT_SCOPE`], message `insufficient_scope: requires <scopes>`
/// and data `{"error": "insufficient_scope", "scope": "<scopes>"}`.
///
/// # Example
///
/// ```
/// use mcp_auth_core::Principal;
/// use mcp_auth_core::guard::{JSONRPC_INSUFFICIENT_SCOPE, handler_require_scopes};
///
/// let alice = Principal::builder("alice").scopes("mcp:tools".parse().unwrap()).build();
/// let refusal = handler_require_scopes(Some(&alice), "greet").unwrap_err();
/// assert_eq!(refusal.code, JSONRPC_INSUFFICIENT_SCOPE);
/// assert_eq!(refusal.message, "insufficient_scope: requires greet");
/// assert!(handler_require_scopes(Some(&alice), "mcp:tools").is_ok());
/// ```
pub fn handler_require_scopes(
    principal: Option<&Principal>,
    scopes: &str,
) -> Result<Principal, HandlerRefusal> {
    let principal = handler_principal(principal)?;
    let needed: Scopes = scopes
        .parse()
        .map_err(|_| HandlerRefusal::internal("invalid scope in tool requirement"))?;
    if principal.scopes().contains_all(&needed) {
        Ok(principal)
    } else {
        Err(HandlerRefusal {
            code: JSONRPC_INSUFFICIENT_SCOPE,
            message: format!("insufficient_scope: requires {needed}"),
            data: Some(json!({"error": "insufficient_scope", "scope": needed.to_string()})),
        })
    }
}
