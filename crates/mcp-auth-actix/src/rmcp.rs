//! Reading the principal inside rmcp tool handlers served by rmcp-actix-web (feature `rmcp`).
//!
//! rmcp-actix-web builds a fresh `http::Request` for rmcp, so the actix-web request extensions
//! do not reach the handler by themselves. Its `on_request` hook copies values across: pass
//! [`forward_principal`] as the hook and the [`Principal`] that [`crate::AuthMiddleware`] put
//! in the request lands in the `rmcp::model::Extensions` nested in the handler's
//! `http::request::Parts`, where [`principal`] and [`require_scopes`] find it. (They also look
//! where `mcp-auth-axum` puts it, and `mcp_auth_axum::rmcp`'s helpers look here, so one tool
//! handler serves behind either adapter.) The refusals are
//! [`mcp_auth_core::guard::handler_require_scopes`]'s, shared with `mcp-auth-axum`.
//!
//! Tool scopes are best enforced at the middleware ([`crate::AuthMiddleware::tool_scopes`]),
//! which answers 403 with a step-up challenge; [`require_scopes`] is the in-handler check, for
//! defence in depth or for scopes that depend on the arguments.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use rmcp::handler::server::tool::Extension;
//! use rmcp::model::{CallToolResult, ContentBlock};
//! use rmcp_actix_web::transport::{LocalSessionManager, StreamableHttpService};
//!
//! async fn hello(Extension(parts): Extension<http::request::Parts>) -> Result<CallToolResult, rmcp::ErrorData> {
//!     let principal = mcp_auth_actix::rmcp::require_scopes(&parts, "greet")?;
//!     Ok(CallToolResult::success(vec![ContentBlock::text(format!("hello, {}", principal.username()))]))
//! }
//!
//! # #[derive(Clone)] struct MyServer;
//! # impl rmcp::ServerHandler for MyServer {}
//! let mcp = StreamableHttpService::builder()
//!     .service_factory(Arc::new(|| Ok(MyServer)))
//!     .session_manager(Arc::new(LocalSessionManager::default()))
//!     .on_request_fn(mcp_auth_actix::rmcp::forward_principal)
//!     .build();
//! # let _ = mcp;
//! ```

use actix_web::{HttpMessage as _, HttpRequest};
use http::request::Parts;
use mcp_auth_core::Principal;
use mcp_auth_core::guard::{
    HandlerRefusal, JSONRPC_INSUFFICIENT_SCOPE, handler_principal, handler_require_scopes,
};
use rmcp::ErrorData;
use rmcp::model::{ErrorCode, Extensions};

/// JSON-RPC error code for a missing scope (server-defined range of JSON-RPC 2.0).
pub const INSUFFICIENT_SCOPE: ErrorCode = ErrorCode(JSONRPC_INSUFFICIENT_SCOPE);

/// rmcp-actix-web's `on_request` hook: copies the [`Principal`] of an authenticated request
/// into the extensions handed to rmcp.
pub fn forward_principal(request: &HttpRequest, extensions: &mut Extensions) {
    if let Some(principal) = request.extensions().get::<Principal>() {
        extensions.insert(principal.clone());
    }
}

/// The principal in `parts`: nested in the hook's `rmcp::model::Extensions`, or put directly
/// in the request by `mcp-auth-axum`.
fn find(parts: &Parts) -> Option<&Principal> {
    parts
        .extensions
        .get::<Extensions>()
        .and_then(|nested| nested.get::<Principal>())
        .or_else(|| parts.extensions.get::<Principal>())
}

fn into_error(refusal: HandlerRefusal) -> ErrorData {
    ErrorData::new(ErrorCode(refusal.code), refusal.message, refusal.data)
}

/// The principal of the request.
///
/// # Errors
///
/// An internal error when the request did not pass through [`crate::AuthMiddleware`] and
/// [`forward_principal`].
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
