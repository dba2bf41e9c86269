//! Mounting the embedded authorization server ([`mcp_auth_server`]) in actix-web (feature
//! `server`).
//!
//! [`configure_authorization_server`] routes every path of the server (metadata documents,
//! JWKS, registration, authorization, token, revocation, introspection) to
//! [`AuthorizationServer::handle`], passing the peer address for rate limits and login
//! throttling. Bodies are read up to just past
//! [`MAX_BODY`](mcp_auth_server::http::MAX_BODY) ([`LimitedBody`]): the server answers larger
//! ones with 413, exactly as it does on every adapter.
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use actix_web::{App, HttpServer};
//! use mcp_auth_actix::configure_authorization_server;
//! use mcp_auth_server::metadata::Issuer;
//! use mcp_auth_server::server::{AuthorizationServer, ServerConfig};
//! use mcp_auth_server::store::MemoryStore;
//! use mcp_auth_server::user::StaticUsers;
//!
//! # async fn run(users: StaticUsers) -> Result<(), Box<dyn std::error::Error>> {
//! let config = ServerConfig::new(Issuer::parse("http://127.0.0.1:8000")?, "http://127.0.0.1:8000/mcp");
//! let server = AuthorizationServer::start(config, Arc::new(MemoryStore::new()), Arc::new(users)).await?;
//! HttpServer::new(move || App::new().configure(configure_authorization_server(server.clone())))
//!     .bind("127.0.0.1:8000")?
//!     .run()
//!     .await?;
//! # Ok(())
//! # }
//! ```

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use futures::StreamExt as _;
use mcp_auth_server::http::{LimitedBody, unreadable_request};
use mcp_auth_server::server::AuthorizationServer;

/// A configuration function for `App::configure` that answers every path of `server`. Mount it
/// beside the protected MCP endpoint, not behind its [`crate::AuthMiddleware`].
pub fn configure_authorization_server(
    server: AuthorizationServer,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |config: &mut web::ServiceConfig| {
        for path in server.paths() {
            config.service(
                web::resource(path)
                    .app_data(web::Data::new(server.clone()))
                    .route(web::route().to(handle)),
            );
        }
    }
}

async fn handle(
    request: HttpRequest,
    mut payload: web::Payload,
    server: web::Data<AuthorizationServer>,
) -> HttpResponse {
    // Read the raw payload rather than use actix-web's `Bytes` extractor: its size limit
    // answers with actix-web's own plain-text 413, where the server answers an oversized body
    // itself (413, its JSON error, CORS), the same way on every adapter.
    let mut body = LimitedBody::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return from_http(unreadable_request());
        };
        if !body.push(&chunk) {
            break;
        }
    }
    match into_http(&request, body.into_bytes()) {
        Some(converted) => {
            let client_ip = request.peer_addr().map(|addr| addr.ip());
            from_http(server.handle(converted, client_ip).await)
        }
        None => from_http(unreadable_request()),
    }
}

/// actix-web speaks `http` 0.2; the server speaks `http` 1: convert by value.
fn into_http(request: &HttpRequest, body: Bytes) -> Option<http::Request<Bytes>> {
    let mut builder = http::Request::builder()
        .method(request.method().as_str())
        .uri(request.uri().to_string());
    for (name, value) in request.headers() {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    builder.body(body).ok()
}

fn from_http(response: http::Response<Bytes>) -> HttpResponse {
    let status = StatusCode::from_u16(response.status().as_u16())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in response.headers() {
        builder.append_header((name.as_str(), value.as_bytes()));
    }
    builder.body(response.into_body())
}
