//! Reading the principal inside rmcp tool handlers (feature `rmcp`).
//!
//! rmcp's `StreamableHttpService` hands each request's `http::request::Parts` to the handler;
//! [`crate::AuthLayer`] put the [`Principal`] in their extensions. Tool scopes are best enforced
//! at the layer ([`crate::AuthLayer::tool_scopes`]), which answers 403 with a step-up challenge;
//! [`require_scopes`] is the in-handler check, for defence in depth or for scopes that depend on
//! the arguments. It answers with a JSON-RPC error naming the missing scope.
//!
//! The helpers also find the principal where `mcp-auth-actix` puts it (inside the
//! `rmcp::model::Extensions` that rmcp-actix-web's `on_request` hook fills), so one tool handler
//! serves behind either adapter. The refusals are [`mcp_auth_core::guard::handler_require_scopes`]'s,
//! shared with `mcp-auth-actix`.
//!
//! # Example
//!
//! ```
//! use rmcp::handler::server::tool::Extension;
//! use rmcp::model::{CallToolResult, ContentBlock};
//!
//! async fn hello(Extension(parts): Extension<http::request::Parts>) -> Result<CallToolResult, rmcp::ErrorData> {
//!     let principal = mcp_auth_axum::rmcp::require_scopes(&parts, "greet")?;
//!     Ok(CallToolResult::success(vec![ContentBlock::text(format!("hello, {}", principal.username()))]))
//! }
//! ```

use http::request::Parts;
use mcp_auth_core::Principal;
use mcp_auth_core::guard::{
    HandlerRefusal, JSONRPC_INSUFFICIENT_SCOPE, handler_principal, handler_require_scopes,
};
use rmcp::ErrorData;
use rmcp::model::ErrorCode;

/// JSON-RPC error code for a missing scope (server-defined range of JSON-RPC 2.0).
pub const INSUFFICIENT_SCOPE: ErrorCode = ErrorCode(JSONRPC_INSUFFICIENT_SCOPE);

/// The principal in `parts`: put there by [`crate::AuthLayer`], or nested in the
/// `rmcp::model::Extensions` of rmcp-actix-web's `on_request` hook.
fn find(parts: &Parts) -> Option<&Principal> {
    parts.extensions.get::<Principal>().or_else(|| {
        parts
            .extensions
            .get::<rmcp::model::Extensions>()
            .and_then(|nested| nested.get::<Principal>())
    })
}

fn into_error(refusal: HandlerRefusal) -> ErrorData {
    ErrorData::new(ErrorCode(refusal.code), refusal.message, refusal.data)
}

/// The principal of the request.
///
/// # Errors
///
/// An internal error when the request did not pass through [`crate::AuthLayer`].
pub fn principal(parts: &Parts) -> Result<Principal, ErrorData> {
    handler_principal(find(parts)).map_err(into_error)
}

/// The principal of the request, if it holds every scope of `scopes` (space-delimited).
///
/// # Errors
///
/// A JSON-RPC error with code [`INSUFFICIENT_SCOPE`], message `insufficient_scope: requires
/// <scopes>` and data `{"error": "insufficient_scope", "scope": "<scopes>"}`.
pub fn require_scopes(parts: &Parts, scopes: &str) -> Result<Principal, ErrorData> {
    handler_require_scopes(find(parts), scopes).map_err(into_error)
}
