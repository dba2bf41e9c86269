//! The example server in a benchmark configuration, for `cargo xtask bench`.
//!
//! `bench-server --mode none|cached|uncached [--bind 127.0.0.1:0]` serves the demo MCP server
//! statelessly (JSON responses, so a load generator needs no session handshake) and prints two
//! lines on stdout: the address it listens on, then a token valid for an hour. `none` serves
//! without authentication and exists only to measure the ceiling: it attaches the principal the
//! token stands for to every request without looking at any header, so the tools do the same
//! work as in the authenticated modes and the ceiling differs from them only by the cost of
//! authentication.

#![allow(
    clippy::print_stdout,
    reason = "prints its address and token for the bench driver"
)]

use std::io::Write as _;
use std::net::SocketAddr;

use hmac_server::{AppOptions, AuthMode, Settings, app_with, dev_token};
use mcp_auth_core::{BearerToken, TokenValidator};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut mode = AuthMode::Cached;
    let mut bind: SocketAddr = "127.0.0.1:0".parse()?;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--mode" => {
                mode = match args.next().as_deref() {
                    Some("none") => AuthMode::InsecureNone,
                    Some("cached") => AuthMode::Cached,
                    Some("uncached") => AuthMode::Uncached,
                    other => {
                        return Err(format!(
                            "--mode takes none, cached or uncached, not {other:?}"
                        )
                        .into());
                    }
                }
            }
            "--bind" => bind = args.next().ok_or("--bind takes an address")?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let secret = vec![0x5a; 32];
    let settings = Settings::for_address(addr, secret.clone())?;
    let token = dev_token(
        &secret,
        settings.resource.uri().as_str(),
        None,
        "bench-user",
    )?;
    // What the validator makes of the token; `none` hands it to every request.
    let principal = settings
        .validator
        .validate(&BearerToken::new(token.clone()))
        .await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{addr}")?;
    writeln!(out, "{token}")?;
    out.flush()?;
    drop(out);
    let mut app = app_with(
        &settings,
        AppOptions {
            auth: mode,
            stateless: true,
        },
    )?;
    if mode == AuthMode::InsecureNone {
        app = app.layer(axum::Extension(principal));
    }
    axum::serve(listener, app).await?;
    Ok(())
}
