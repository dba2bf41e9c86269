//! The embedded OAuth 2.1 authorization server of mcp-auth: it registers MCP clients, signs
//! users in, asks for their consent and issues the access tokens your MCP endpoint accepts.
//! Framework-free: the adapters mount it (`mcp-auth-axum` with feature `server`).
//!
//! # Example
//!
//! Start the server on a SQLite file with a built-in user list, then serve it beside the MCP
//! endpoint it protects (axum, `mcp-auth-axum` with feature `server`):
//!
//! ```rust,ignore
//! use std::net::SocketAddr;
//! use std::sync::Arc;
//! use mcp_auth_axum::{AuthLayer, authorization_server_router, metadata_router};
//! use mcp_auth_core::metadata::ResourceUri;
//! use mcp_auth_server::metadata::Issuer;
//! use mcp_auth_server::server::{AuthorizationServer, ServerConfig};
//! use mcp_auth_server::store::SqliteStore;
//! use mcp_auth_server::user::{StaticUser, StaticUsers};
//!
//! let issuer = Issuer::parse("https://mcp.example.com")?;
//! let resource = ResourceUri::parse("https://mcp.example.com/mcp")?;
//! let config = ServerConfig::new(issuer, resource.as_str());
//! let store = SqliteStore::open("auth.db").await?;
//! // The hash is printed by `mcp-auth hash-password`.
//! let users = StaticUsers::new([StaticUser::new("alice", std::env::var("ALICE_HASH")?)])?;
//! let server = AuthorizationServer::start(config, Arc::new(store), Arc::new(users)).await?;
//!
//! let prm = server.protected_resource(resource.clone());
//! let app = axum::Router::new()
//!     .nest_service("/mcp", mcp_service)
//!     .layer(AuthLayer::new(server.validator(resource.as_str()), prm.clone()))
//!     .merge(metadata_router(&prm))
//!     .merge(authorization_server_router(server));
//!
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8000").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! ```
//!
//! Without a framework, [`server::AuthorizationServer::handle`] answers one request:
//!
//! ```
//! use std::sync::Arc;
//! use mcp_auth_server::metadata::Issuer;
//! use mcp_auth_server::server::{AuthorizationServer, ServerConfig};
//! use mcp_auth_server::store::MemoryStore;
//! use mcp_auth_server::user::StaticUsers;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let issuer = Issuer::parse("https://mcp.example.com").unwrap();
//! let config = ServerConfig::new(issuer, "https://mcp.example.com/mcp");
//! let users = StaticUsers::new([]).unwrap();
//! let server = AuthorizationServer::start(config, Arc::new(MemoryStore::new()), Arc::new(users))
//!     .await
//!     .unwrap();
//! assert!(server.paths().contains(&"/token".to_owned()));
//!
//! let request = http::Request::get("/.well-known/oauth-authorization-server")
//!     .body(bytes::Bytes::new())
//!     .unwrap();
//! let response = server.handle(request, None).await;
//! assert_eq!(response.status(), 200);
//! # });
//! ```
//!
//! The guide (`docs/authorization-server.md` in the repository) covers configuration,
//! deployment behind TLS, several replicas and key rotation.
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `memory` | yes | [`store::MemoryStore`]: state in process memory, lost at restart (tests, demos) |
//! | `sqlite` | yes | [`store::SqliteStore`]: state in one SQLite file (bundled libsqlite3) |
//! | `postgres` | no | [`store::PostgresStore`]: state in PostgreSQL, shared by replicas (rustls) |
//! | `cimd` | yes | client ID metadata documents ([`client::cimd`]): a `client_id` that is an `https` URL is fetched (SSRF-checked, cached) instead of registered |
//!
//! With no backend feature the crate still defines the [`store::Store`] trait, for a backend of
//! your own.
//!
//! # Endpoints
//!
//! [`server::AuthorizationServer`] routes every path below the issuer's path
//! ([`metadata::paths`]); [`server::AuthorizationServer::paths`] lists them.
//!
//! | path | what | module |
//! |---|---|---|
//! | `/.well-known/oauth-authorization-server`, `/.well-known/openid-configuration` | metadata (RFC 8414, OIDC Discovery) | [`metadata`] |
//! | `/jwks.json` | public signing keys (RFC 7517) | [`keys`] |
//! | `/register` | dynamic client registration (RFC 7591) | [`register`], [`client::registration`] |
//! | `/authorize` | login and consent pages, codes (OAuth 2.1 section 4.1) | [`authorize`] |
//! | `/token` | `authorization_code` with PKCE, `refresh_token` (rotated), `client_credentials` | [`token`] |
//! | `/revoke` | refresh token revocation (RFC 7009) | [`revoke`] |
//! | `/introspect` | token introspection for confidential clients (RFC 7662) | [`introspect`] |
//!
//! # Modules
//!
//! - [`server`]: [`server::ServerConfig`] and [`server::AuthorizationServer`] (routing, CORS,
//!   rate limits, in-process token validation with [`server::AuthorizationServer::validator`]).
//! - [`user`]: the [`user::UserAuthenticator`] trait for your own user directory,
//!   [`user::StaticUsers`] (Argon2id hashes) and login throttling.
//! - [`client`]: registration rules, redirect URI matching, client ID metadata documents.
//! - [`pkce`]: `S256` only. [`keys`]: ES256 (default), RS256 or EdDSA keys, rotation.
//! - [`token`]: the token endpoint, client authentication, RFC 9068 JWT access tokens.
//! - [`store`]: everything the server remembers, behind one trait; secrets stored as SHA-256
//!   hashes; codes and refresh tokens taken once, atomically, across replicas too.
//! - [`rate_limit`]: per-endpoint token buckets. [`http`], [`error`]: framework-free request,
//!   response and OAuth error types.
//!
//! The store takes `now` from the caller and never deletes on its own: call
//! [`store::Store::purge_expired`] periodically to drop expired codes, tokens and keys.

pub mod authorize;
pub mod client;
pub mod error;
pub mod http;
pub mod introspect;
pub mod keys;
pub mod metadata;
pub mod pkce;
pub mod rate_limit;
pub mod register;
pub mod revoke;
pub mod server;
pub mod store;
pub mod token;
pub mod user;
