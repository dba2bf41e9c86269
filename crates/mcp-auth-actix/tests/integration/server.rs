//! The embedded authorization server mounted on actix-web with `configure_authorization_server`,
//! beside an endpoint protected by `AuthMiddleware`, called over real HTTP on 127.0.0.1.

#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use actix_web::{App, HttpResponse, HttpServer, web};
use mcp_auth_actix::{AuthMiddleware, configure_authorization_server, configure_metadata};
use mcp_auth_core::metadata::ResourceUri;
use mcp_auth_server::metadata::Issuer;
use mcp_auth_server::server::{AuthorizationServer, RateLimits, ServerConfig};
use mcp_auth_server::store::MemoryStore;
use mcp_auth_server::token::AccessTokenClaims;
use mcp_auth_server::user::StaticUsers;
use serde_json::{Value, json};

#[tokio::test]
async fn serves_the_authorization_server_beside_a_protected_endpoint() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let resource = ResourceUri::parse(&format!("{base}/mcp")).unwrap();
    let mut config = ServerConfig::new(Issuer::parse(&base).unwrap(), resource.as_str());
    config.scopes_supported = "mcp:tools".parse().unwrap();
    config.rate_limits = RateLimits::unlimited();
    let server = AuthorizationServer::start(
        config,
        Arc::new(MemoryStore::new()),
        Arc::new(StaticUsers::new([]).unwrap()),
    )
    .await
    .unwrap();
    let prm = server.protected_resource(resource.clone());
    let auth = AuthMiddleware::new(server.validator(resource.as_str()), prm.clone());
    let (mounted, prm_routes) = (server.clone(), prm.clone());
    let running = HttpServer::new(move || {
        App::new()
            .configure(configure_authorization_server(mounted.clone()))
            .configure(configure_metadata(&prm_routes))
            .service(
                web::resource("/mcp")
                    .wrap(auth.clone())
                    .route(web::to(|| async { HttpResponse::Ok().body("protected") })),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = running.handle();
    let task = tokio::spawn(running);
    let http = reqwest::Client::new();

    let doc: Value = http
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], base);
    assert_eq!(doc["token_endpoint"], format!("{base}/token"));

    let registered = http
        .post(format!("{base}/register"))
        .json(&json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status().as_u16(), 201);
    assert_eq!(registered.headers()["cache-control"], "no-store");

    let oversized = http
        .post(format!("{base}/register"))
        .header("content-type", "application/json")
        .body(vec![b' '; 65 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status().as_u16(), 413);

    let unauthenticated = http.post(format!("{base}/mcp")).send().await.unwrap();
    assert_eq!(unauthenticated.status().as_u16(), 401);

    let now = mcp_auth_core::clock::Clock::unix_now(&mcp_auth_core::clock::SystemClock);
    let minted = server
        .access_token_issuer()
        .mint(
            &AccessTokenClaims {
                subject: "alice".to_owned(),
                client_id: "c".to_owned(),
                scopes: "mcp:tools".parse().unwrap(),
                resource: resource.as_str().to_owned(),
                auth_time: None,
            },
            now,
        )
        .unwrap();
    let allowed = http
        .post(format!("{base}/mcp"))
        .bearer_auth(&minted.token)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status().as_u16(), 200);
    assert_eq!(allowed.text().await.unwrap(), "protected");

    handle.stop(false).await;
    task.abort();
}
