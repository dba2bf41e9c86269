//! Runs the HMAC-protected MCP server.
//!
//! Environment: `MCP_BIND` (default `127.0.0.1:8000`), `MCP_RESOURCE_URI` (default
//! `http://{MCP_BIND}/mcp`), and the validator settings of `mcp_auth_providers::config`
//! (`JWT_SECRET`, `OAUTH_AUDIENCE`, `OAUTH_ISSUER`, ...). Without `JWT_SECRET` a secret is
//! generated for this run and printed once, with a ready token, for local use.

#![allow(
    clippy::print_stdout,
    reason = "a server prints its address and dev credentials"
)]

use hmac_server::{DevSetup, app};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let setup = DevSetup::from_env("127.0.0.1:8000")?;
    let listener = tokio::net::TcpListener::bind(setup.settings.bind).await?;
    print!("{}", setup.banner("axum"));
    axum::serve(listener, app(&setup.settings)?)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
