//! What the two bench servers (`bench-server` on axum, `actix-bench-server` on actix-web) share:
//! their command line, and the contract with `cargo xtask bench load`.
//!
//! `--mode none|cached|uncached [--bind 127.0.0.1:0]`: the server binds, then prints two lines
//! on stdout, the address it listens on and a token valid for an hour, and serves the demo MCP
//! server statelessly (JSON responses, so a load generator needs no session handshake). `none`
//! serves without authentication and exists only to measure the ceiling: it hands every request
//! the principal the token stands for, without looking at any header, so the tools do the same
//! work as in the authenticated modes and the ceiling differs from them only by the cost of
//! authentication.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};

use mcp_auth_core::{BearerToken, Principal, TokenValidator};

use crate::{AuthMode, Settings, dev_token};

/// A bench server, bound and announced, ready to serve.
#[derive(Debug)]
pub struct BenchSetup {
    /// The `--mode`.
    pub mode: AuthMode,
    /// The bound listener (blocking; the axum binary converts it for tokio).
    pub listener: TcpListener,
    /// Settings for the bound address.
    pub settings: Settings,
    /// What the validator makes of the printed token: `none` hands it to every request.
    pub principal: Principal,
}

/// Parses the command line (`args` without the program name), binds, and prints the address
/// and the token on stdout.
///
/// # Errors
///
/// An unknown argument or mode, an address that cannot be bound, or a failure to print.
pub async fn setup(
    args: impl IntoIterator<Item = String>,
) -> Result<BenchSetup, Box<dyn std::error::Error>> {
    let mut mode = AuthMode::Cached;
    let mut bind: SocketAddr = "127.0.0.1:0".parse()?;
    let mut args = args.into_iter();
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
    let listener = TcpListener::bind(bind)?;
    let addr = listener.local_addr()?;
    let secret = vec![0x5a; 32];
    let settings = Settings::for_address(addr, secret.clone())?;
    let token = dev_token(
        &secret,
        settings.resource.uri().as_str(),
        None,
        "bench-user",
    )?;
    let principal = settings
        .validator
        .validate(&BearerToken::new(token.clone()))
        .await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{addr}")?;
    writeln!(out, "{token}")?;
    out.flush()?;
    Ok(BenchSetup {
        mode,
        listener,
        settings,
        principal,
    })
}
