//! The actix-web example server in a benchmark configuration, for `cargo xtask bench load`.
//!
//! The actix-web twin of hmac-server's `bench-server`, with the same command line and contract
//! (`hmac_server::bench`), so the load bench drives both alike. In `none` mode the rmcp-actix-web
//! `on_request` hook hands every request the principal; in the authenticated modes the
//! middleware puts it in the request and `forward_principal` copies it.

use actix_web::{App, HttpServer, web};
use hmac_actix_server::{auth_with, mcp_path, mcp_service_with};
use hmac_server::AppOptions;
use hmac_server::bench::setup;
use mcp_auth_actix::metadata_service;
use mcp_auth_actix::rmcp::forward_principal;

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bench = setup(std::env::args().skip(1)).await?;
    let (settings, listener, principal) = (bench.settings, bench.listener, bench.principal);
    let options = AppOptions {
        auth: bench.mode,
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
