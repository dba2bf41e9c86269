//! Runs the HMAC-protected MCP server on actix-web.
//!
//! Environment: `MCP_BIND` (default `127.0.0.1:8001`), `MCP_RESOURCE_URI` (default
//! `http://{MCP_BIND}/mcp`), and the validator settings of `mcp_auth_providers::config`
//! (`JWT_SECRET`, `OAUTH_AUDIENCE`, `OAUTH_ISSUER`, ...). Without `JWT_SECRET` a secret is
//! generated for this run and printed once, with a ready token, for local use.

#![allow(
    clippy::print_stdout,
    reason = "a server prints its address and dev credentials"
)]

use hmac_actix_server::serve;
use hmac_server::DevSetup;
use tracing_subscriber::EnvFilter;

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let setup = DevSetup::from_env("127.0.0.1:8001")?;
    let listener = std::net::TcpListener::bind(setup.settings.bind)?;
    print!("{}", setup.banner("actix-web"));
    // actix-web stops gracefully on Ctrl-C by itself.
    serve(&setup.settings, listener)?.await?;
    Ok(())
}
