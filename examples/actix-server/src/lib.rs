//! The hmac-server MCP server (the same [`DemoServer`], tools `whoami` and `hello`) on
//! actix-web: rmcp-actix-web's `StreamableHttpService` at `/mcp`, protected by
//! [`mcp_auth_actix::AuthMiddleware`], with the protected resource metadata routes beside it.
//!
//! The library part builds the server so tests can serve it on an ephemeral port.
//!
//! # Example
//!
//! ```no_run
//! use hmac_actix_server::serve;
//! use hmac_server::Settings;
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = std::net::TcpListener::bind("127.0.0.1:8001")?;
//! let settings = Settings::for_address(listener.local_addr()?, vec![9u8; 32]).unwrap();
//! serve(&settings, listener)?.await
//! # }
//! ```

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpRequest, HttpServer, web};
use hmac_server::{AppOptions, AuthMode, DemoServer, Settings};
use mcp_auth_actix::{AuthMiddleware, metadata_service};
use rmcp::model::Extensions;
use rmcp::transport::streamable_http_server::StreamableHttpServerConfig;
use rmcp_actix_web::transport::{LocalSessionManager, StreamableHttpService};

pub use hmac_server::SCOPES;

/// The MCP service. Build it once, outside `HttpServer::new`, so every worker shares its
/// sessions; the principal reaches the tools through [`mcp_auth_actix::rmcp::forward_principal`].
pub fn mcp_service(settings: &Settings) -> StreamableHttpService<DemoServer> {
    mcp_service_with(settings, false, mcp_auth_actix::rmcp::forward_principal)
}

/// [`mcp_service`] with explicit options: `stateless` serves every request on its own with a
/// JSON response (no `Mcp-Session-Id`, what a load generator needs), and `on_request` is the
/// hook that carries values from the actix-web request to the tools.
pub fn mcp_service_with(
    settings: &Settings,
    stateless: bool,
    on_request: impl Fn(&HttpRequest, &mut Extensions) + Send + Sync + 'static,
) -> StreamableHttpService<DemoServer> {
    // rmcp refuses Host headers other than loopback by default (DNS rebinding); allow the
    // configured host too.
    let mut allowed_hosts = StreamableHttpServerConfig::default().allowed_hosts;
    if let Some(host) = url::Url::parse(settings.resource.uri().as_str())
        .ok()
        .and_then(|uri| uri.host_str().map(str::to_owned))
    {
        allowed_hosts.push(host);
    }
    // `None` leaves rmcp's defaults (sessions, SSE responses) in place.
    StreamableHttpService::builder()
        .service_factory(Arc::new(|| Ok(DemoServer::default())))
        .session_manager(Arc::new(LocalSessionManager::default()))
        .allowed_hosts(allowed_hosts)
        .maybe_stateful_mode(stateless.then_some(false))
        .maybe_json_response(stateless.then_some(true))
        .on_request_fn(on_request)
        .build()
}

/// The middleware: the cached validator, `hello` needs `greet`.
pub fn auth(settings: &Settings) -> AuthMiddleware {
    AuthMiddleware::new(settings.validator.clone(), settings.resource.clone())
        .tool_scopes("hello", "greet".parse().unwrap_or_default())
}

/// The middleware for `options` (the same modes as `hmac_server::app_with`): the cached or
/// the bare validator, `hello` needs `greet`, session binding off when `options.stateless`.
/// `None` for [`AuthMode::InsecureNone`], which has no middleware at all.
pub fn auth_with(settings: &Settings, options: AppOptions) -> Option<AuthMiddleware> {
    let validator = match options.auth {
        AuthMode::Cached => settings.validator.clone(),
        AuthMode::Uncached => settings.uncached.clone(),
        AuthMode::InsecureNone => return None,
    };
    let mut auth = AuthMiddleware::new(validator, settings.resource.clone())
        .tool_scopes("hello", "greet".parse().unwrap_or_default());
    if options.stateless {
        // A stateless server issues no session to bind.
        auth = auth.insecure_without_session_binding();
    }
    Some(auth)
}

/// The path the MCP endpoint is served at: the resource URI's path (`/mcp` by default).
pub fn mcp_path(settings: &Settings) -> String {
    url::Url::parse(settings.resource.uri().as_str())
        .map(|uri| uri.path().trim_end_matches('/').to_owned())
        .unwrap_or_else(|_| "/mcp".to_owned())
}

/// Serves the application on `listener`: `/mcp` behind [`auth`], the metadata routes public.
///
/// # Errors
///
/// When the listener cannot be used.
pub fn serve(settings: &Settings, listener: TcpListener) -> std::io::Result<Server> {
    let mcp = mcp_service(settings);
    let auth = auth(settings);
    let resource = settings.resource.clone();
    let path = mcp_path(settings);
    let server = HttpServer::new(move || {
        App::new().service(metadata_service(&resource)).service(
            web::scope(&path)
                .wrap(auth.clone())
                .service(mcp.clone().scope()),
        )
    })
    .listen(listener)?
    .run();
    Ok(server)
}
