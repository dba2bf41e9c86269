//! axum adapter for mcp-auth: protect an MCP endpoint (typically rmcp's
//! `StreamableHttpService`) as an OAuth 2.1 resource server.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use axum::Router;
//! use mcp_auth_axum::{AuthLayer, metadata_router};
//! use mcp_auth_core::cache::{CacheConfig, CachedValidator};
//! use mcp_auth_core::metadata::{ProtectedResource, ResourceUri};
//! use mcp_auth_providers::hmac::HmacValidator;
//!
//! let resource = ProtectedResource::new(ResourceUri::parse("http://127.0.0.1:8000/mcp").unwrap())
//!     .scopes_supported("mcp:tools greet".parse().unwrap());
//! let validator = HmacValidator::builder(resource.uri().as_str())
//!     .secret(vec![7u8; 32])
//!     .build()
//!     .unwrap();
//! let validator = Arc::new(CachedValidator::new(validator, CacheConfig::default()));
//!
//! let app: Router = Router::new()
//!     .route_service("/mcp", tower::service_fn(|_req| async { Ok::<_, std::convert::Infallible>("an MCP server here") }))
//!     .layer(AuthLayer::new(validator, resource.clone()).tool_scopes("hello", "greet".parse().unwrap()))
//!     .merge(metadata_router(&resource));
//! # let _ = app;
//! ```
//!
//! See `examples/hmac-server` for a complete rmcp server.
//!
//! # Responses
//!
//! | situation | status | `WWW-Authenticate` |
//! |---|---|---|
//! | no `Authorization` header | 401 | `Bearer resource_metadata="…", scope="…"` |
//! | token refused | 401 | `… error="invalid_token", error_description="…"` |
//! | two `Authorization` headers, not `Bearer`, token in the query | 400 | `… error="invalid_request"` |
//! | scope missing (route, layer or tool) | 403 | `… scope="<needed>", error="insufficient_scope"` |
//! | session opened by another principal | the MCP server's answer for an unknown session (404) | none |
//! | body over the tool-scope inspection limit (4 MiB) | 413 | none |
//! | key source down, nothing cached | 503 + `Retry-After` | none |
//! | server fault | 500 | none |
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `rmcp` | no | [`rmcp`](mod@rmcp) helpers for tool handlers |
//! | `server` | no | [`authorization_server_router`]: the embedded authorization server of `mcp-auth-server` |

#[cfg(feature = "server")]
mod authorization_server;
mod extract;
mod layer;
mod metadata;
mod response;
#[cfg(feature = "rmcp")]
pub mod rmcp;

#[cfg(feature = "server")]
pub use authorization_server::authorization_server_router;
pub use extract::{AuthRejection, Authenticated, RequireScopes, RequireScopesLayer};
pub use layer::{AuthContext, AuthLayer, DEFAULT_MAX_BODY, RequireAuth, ResponseFuture, refuse};
pub use mcp_auth_core::guard::{AUDIT_TARGET, MCP_SESSION_ID};
pub use metadata::metadata_router;
