//! actix-web adapter for mcp-auth: protect an MCP endpoint (typically rmcp-actix-web's
//! `StreamableHttpService`) as an OAuth 2.1 resource server. It runs the same framework-free
//! procedure as `mcp-auth-axum` ([`mcp_auth_core::guard::ResourceGuard`]) and answers byte for
//! byte alike; a shared conformance suite compares the two.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use actix_web::{App, HttpResponse, web};
//! use mcp_auth_actix::{AuthMiddleware, metadata_service};
//! use mcp_auth_core::cache::{CacheConfig, CachedValidator};
//! use mcp_auth_core::metadata::{ProtectedResource, ResourceUri};
//! use mcp_auth_providers::hmac::HmacValidator;
//!
//! let resource = ProtectedResource::new(ResourceUri::parse("http://127.0.0.1:8001/mcp").unwrap())
//!     .scopes_supported("mcp:tools greet".parse().unwrap());
//! let validator = HmacValidator::builder(resource.uri().as_str())
//!     .secret(vec![7u8; 32])
//!     .build()
//!     .unwrap();
//! let validator = Arc::new(CachedValidator::new(validator, CacheConfig::default()));
//! let auth = AuthMiddleware::new(validator, resource.clone())
//!     .tool_scopes("hello", "greet".parse().unwrap());
//!
//! // In `HttpServer::new(move || ...)`: the middleware and the resource are cheap to clone.
//! let app = App::new()
//!     .service(metadata_service(&resource))
//!     .service(
//!         web::scope("/mcp")
//!             .wrap(auth.clone())
//!             .default_service(web::to(|| async { HttpResponse::Ok().body("an MCP server here") })),
//!     );
//! # let _ = app;
//! ```
//!
//! See `examples/actix-server` for a complete rmcp server.
//!
//! # Responses
//!
//! | situation | status | `WWW-Authenticate` |
//! |---|---|---|
//! | no `Authorization` header | 401 | `Bearer resource_metadata="…", scope="…"` |
//! | token refused | 401 | `… error="invalid_token", error_description="…"` |
//! | two `Authorization` headers, not `Bearer`, token in the query | 400 | `… error="invalid_request"` |
//! | scope missing (route, middleware or tool) | 403 | `… scope="<needed>", error="insufficient_scope"` |
//! | session opened by another principal | the MCP server's answer for an unknown session (404) | none |
//! | body over the tool-scope inspection limit (4 MiB) | 413 | none |
//! | key source down, nothing cached | 503 + `Retry-After` | none |
//! | server fault | 500 | none |
//!
//! Refusals carry `Content-Type: application/json`, `Cache-Control: no-store` and a JSON body.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `rmcp` | no | [`rmcp`](mod@rmcp) helpers for tool handlers served by rmcp-actix-web |
//! | `server` | no | [`configure_authorization_server`]: mount the embedded authorization server |

#[cfg(feature = "server")]
mod authorization_server;
mod extract;
mod metadata;
mod middleware;
mod response;
#[cfg(feature = "rmcp")]
pub mod rmcp;

#[cfg(feature = "server")]
pub use authorization_server::configure_authorization_server;
pub use extract::{AuthRejection, Authenticated, RequireScopes, RequireScopesService};
pub use mcp_auth_core::guard::{AUDIT_TARGET, MCP_SESSION_ID};
pub use metadata::{MetadataService, configure_metadata, metadata_service};
pub use middleware::{
    AuthContext, AuthMiddleware, AuthMiddlewareService, DEFAULT_MAX_BODY, refuse,
};
