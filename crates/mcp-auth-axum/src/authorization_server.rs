//! Mounting the embedded authorization server ([`mcp_auth_server`]) in axum (feature
//! `server`).
//!
//! [`authorization_server_router`] answers every path of the server (metadata documents, JWKS,
//! registration, authorization, token, revocation, introspection) by handing the request to
//! [`AuthorizationServer::handle`]. Bodies are read up to just past
//! [`MAX_BODY`](mcp_auth_server::http::MAX_BODY) ([`LimitedBody`]): the server answers larger
//! ones with 413, exactly as it does on every adapter.
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
use http_body_util::BodyExt as _;
use mcp_auth_server::http::{LimitedBody, unreadable_request};
use mcp_auth_server::server::AuthorizationServer;

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
    let (parts, mut body) = request.into_parts();
    // Read until the limit is passed; the server answers an oversized body itself (413), the
    // same way on every adapter.
    let mut limited = LimitedBody::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return unreadable_request().map(Body::from);
        };
        if let Some(chunk) = frame.data_ref()
            && !limited.push(chunk)
        {
            break;
        }
    }
    let request = http::Request::from_parts(parts, limited.into_bytes());
    server.handle(request, client_ip).await.map(Body::from)
}
