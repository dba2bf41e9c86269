//! The actix-web example server in a benchmark configuration, for `cargo xtask bench load`.
//!
//! The actix-web twin of hmac-server's `bench-server`, with the same contract so the load bench
//! drives both alike: `actix-bench-server --mode none|cached|uncached [--bind 127.0.0.1:0]`
//! serves the demo MCP server statelessly (JSON responses, so a load generator needs no session
//! handshake) and prints two lines on stdout: the address it listens on, then a token valid for
//! an hour. `none` serves without authentication and exists only to measure the ceiling: its
//! `on_request` hook hands every request the principal the token stands for, without looking at
//! any header, so the tools do the same work as in the authenticated modes (where the
//! middleware puts the principal in the request and `forward_principal` copies it) and the
//! ceiling differs from them only by the cost of authentication.

#![allow(
    clippy::print_stdout,
    reason = "prints its address and token for the bench driver"
)]

use std::io::Write as _;
use std::net::SocketAddr;

use actix_web::{App, HttpServer, web};
use hmac_actix_server::{auth_with, mcp_path, mcp_service_with};
use hmac_server::{AppOptions, AuthMode, Settings, dev_token};
use mcp_auth_actix::metadata_service;
use mcp_auth_actix::rmcp::forward_principal;
use mcp_auth_core::{BearerToken, TokenValidator};

#[actix_web::main]
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
    let listener = std::net::TcpListener::bind(bind)?;
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

    let options = AppOptions {
        auth: mode,
        stateless: true,
    };
    let resource = settings.resource.clone();
    let path = mcp_path(&settings);
    // Two arms because the two apps have different types: one wraps the MCP scope in the
    // middleware, the other has nothing in front of it.
    let server = match auth_with(&settings, options) {
        Some(auth) => {
            let mcp = mcp_service_with(&settings, true, forward_principal);
            HttpServer::new(move || {
                App::new().service(metadata_service(&resource)).service(
                    web::scope(&path)
                        .wrap(auth.clone())
                        .service(mcp.clone().scope()),
                )
            })
            .listen(listener)?
            .run()
        }
        None => {
            let mcp = mcp_service_with(&settings, true, move |_, extensions| {
                extensions.insert(principal.clone());
            });
            HttpServer::new(move || {
                App::new()
                    .service(metadata_service(&resource))
                    .service(web::scope(&path).service(mcp.clone().scope()))
            })
            .listen(listener)?
            .run()
        }
    };
    server.await?;
    Ok(())
}
