//! Mounting the embedded authorization server ([`mcp_auth_server`]) in actix-web (feature
//! `server`).
//!
//! [`configure_authorization_server`] routes every path of the server (metadata documents,
//! JWKS, registration, authorization, token, revocation, introspection) to
//! [`AuthorizationServer::handle`], passing the peer address for rate limits and login
//! throttling. Bodies over [`MAX_BODY`] are refused with 413 before the server sees them.
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
use mcp_auth_server::http::MAX_BODY;
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
                    .app_data(web::PayloadConfig::new(MAX_BODY))
                    .route(web::route().to(handle)),
            );
        }
    }
}

async fn handle(
    request: HttpRequest,
    body: web::Bytes,
    server: web::Data<AuthorizationServer>,
) -> HttpResponse {
    match into_http(&request, body) {
        Some(converted) => {
            let client_ip = request.peer_addr().map(|addr| addr.ip());
            from_http(server.handle(converted, client_ip).await)
        }
        None => HttpResponse::BadRequest().finish(),
    }
}

/// actix-web speaks `http` 0.2; the server speaks `http` 1: convert by value.
fn into_http(request: &HttpRequest, body: web::Bytes) -> Option<http::Request<Bytes>> {
    let mut builder = http::Request::builder()
        .method(request.method().as_str())
        .uri(request.uri().to_string());
    for (name, value) in request.headers() {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    builder.body(Bytes::from(body.to_vec())).ok()
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
