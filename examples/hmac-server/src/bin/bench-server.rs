//! The example server in a benchmark configuration, for `cargo xtask bench load`:
//! `bench-server --mode none|cached|uncached [--bind 127.0.0.1:0]`, with the contract described
//! in [`hmac_server::bench`].

use hmac_server::bench::setup;
use hmac_server::{AppOptions, AuthMode, app_with};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bench = setup(std::env::args().skip(1)).await?;
    bench.listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(bench.listener)?;
    let mut app = app_with(
        &bench.settings,
        AppOptions {
            auth: bench.mode,
            stateless: true,
        },
    )?;
    if bench.mode == AuthMode::InsecureNone {
        app = app.layer(axum::Extension(bench.principal));
    }
    axum::serve(listener, app).await?;
    Ok(())
}
