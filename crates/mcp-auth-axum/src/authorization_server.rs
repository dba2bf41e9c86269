//! Mounting the embedded authorization server ([`mcp_auth_server`]) in axum (feature
//! `server`).
//!
//! [`authorization_server_router`] answers every path of the server (metadata documents, JWKS,
//! registration, authorization, token, revocation, introspection) by handing the request to
//! [`AuthorizationServer::handle`]. Bodies over [`MAX_BODY`] are refused with 413 before the
//! server sees them.
//!
//! The server counts requests per caller address (rate limits, login throttling): serve the
//! app with `into_make_service_with_connect_info::<SocketAddr>()` so the router can pass the
//! peer address on. Without it every caller shares one bucket.
//!
//! # Example
//!
//! An MCP endpoint and the server that issues its tokens, in one app:
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use std::sync::Arc;
//! use axum::Router;
//! use mcp_auth_axum::{AuthLayer, authorization_server_router, metadata_router};
//! use mcp_auth_core::metadata::ResourceUri;
//! use mcp_auth_server::metadata::Issuer;
//! use mcp_auth_server::server::{AuthorizationServer, ServerConfig};
//! use mcp_auth_server::store::MemoryStore;
//! use mcp_auth_server::user::StaticUsers;
//!
//! # async fn run(users: StaticUsers) -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = Issuer::parse("http://127.0.0.1:8000")?;
//! let resource = ResourceUri::parse("http://127.0.0.1:8000/mcp")?;
//! let config = ServerConfig::new(issuer, resource.as_str());
//! let server =
//!     AuthorizationServer::start(config, Arc::new(MemoryStore::new()), Arc::new(users)).await?;
//!
//! let prm = server.protected_resource(resource.clone());
//! let app = Router::new()
//!     .route_service("/mcp", tower::service_fn(|_req| async {
//!         Ok::<_, std::convert::Infallible>("an MCP server here")
//!     }))
//!     .layer(AuthLayer::new(server.validator(resource.as_str()), prm.clone()))
//!     .merge(metadata_router(&prm))
//!     .merge(authorization_server_router(server));
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! # Ok(())
//! # }
//! ```

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use axum::routing::any;
use http_body_util::LengthLimitError;
use mcp_auth_core::guard::body_too_large;
use mcp_auth_server::error::{ErrorCode, OAuthError};
use mcp_auth_server::http::MAX_BODY;
use mcp_auth_server::server::AuthorizationServer;

use crate::response::into_response;

/// A router answering every path of `server` (see [`AuthorizationServer::paths`]). Merge it
/// beside the protected MCP endpoint, not behind its [`crate::AuthLayer`].
pub fn authorization_server_router<S: Clone + Send + Sync + 'static>(
    server: AuthorizationServer,
) -> Router<S> {
    let mut router = Router::new();
    for path in server.paths() {
        let server = server.clone();
        router = router.route(
            &path,
            any(move |request: http::Request<Body>| {
                let server = server.clone();
                async move { handle(&server, request).await }
            }),
        );
    }
    router
}

async fn handle(server: &AuthorizationServer, request: http::Request<Body>) -> Response {
    let client_ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(err) => {
            let too_large = std::error::Error::source(&err)
                .is_some_and(|source| source.is::<LengthLimitError>());
            return if too_large {
                into_response(body_too_large())
            } else {
                OAuthError::new(
                    ErrorCode::InvalidRequest,
                    "the request body could not be read",
                )
                .response()
                .map(Body::from)
            };
        }
    };
    let response = server
        .handle(http::Request::from_parts(parts, bytes), client_ip)
        .await;
    response.map(Body::from)
}
