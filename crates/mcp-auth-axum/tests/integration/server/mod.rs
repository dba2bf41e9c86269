//! The embedded authorization server mounted with `authorization_server_router`, beside a
//! protected endpoint, served on 127.0.0.1 and called over real HTTP.

#![cfg(feature = "server")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use mcp_auth_axum::{AuthLayer, authorization_server_router, metadata_router};
use mcp_auth_core::metadata::ResourceUri;
use mcp_auth_server::metadata::Issuer;
use mcp_auth_server::rate_limit::Limit;
use mcp_auth_server::server::{AuthorizationServer, RateLimits, ServerConfig};
use mcp_auth_server::store::MemoryStore;
use mcp_auth_server::token::AccessTokenClaims;
use mcp_auth_server::user::StaticUsers;
use serde_json::{Value, json};

struct App {
    base: String,
    server: AuthorizationServer,
    http: reqwest::Client,
}

/// Binds 127.0.0.1:0, starts the authorization server for that origin and serves it beside a
/// protected `/mcp`, with the peer address passed on.
async fn start(register_limit: u32) -> App {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let resource = ResourceUri::parse(&format!("{base}/mcp")).unwrap();
    let mut config = ServerConfig::new(Issuer::parse(&base).unwrap(), resource.as_str());
    config.scopes_supported = "mcp:tools".parse().unwrap();
    config.rate_limits = RateLimits::unlimited();
    config.rate_limits.register = Some(Limit::per_minute(register_limit));
    let server = AuthorizationServer::start(
        config,
        Arc::new(MemoryStore::new()),
        Arc::new(StaticUsers::new([]).unwrap()),
    )
    .await
    .unwrap();

    let prm = server.protected_resource(resource.clone());
    let app = Router::new()
        .route_service(
            "/mcp",
            tower::service_fn(|_req| async { Ok::<_, std::convert::Infallible>("protected") }),
        )
        .layer(AuthLayer::new(
            server.validator(resource.as_str()),
            prm.clone(),
        ))
        .merge(metadata_router(&prm))
        .merge(authorization_server_router(server.clone()));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    App {
        base,
        server,
        http: reqwest::Client::new(),
    }
}

impl App {
    async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn register(&self, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/register", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

#[tokio::test]
async fn serves_metadata_jwks_and_registration() {
    let app = start(100).await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let (status, doc) = app.get_json(path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(doc["issuer"], app.base);
        assert_eq!(
            doc["registration_endpoint"],
            format!("{}/register", app.base)
        );
    }
    let (_, jwks) = app.get_json("/jwks.json").await;
    assert_eq!(
        jwks["keys"][0]["kid"],
        app.server.signing_keys().active().kid()
    );

    // The protected resource's metadata names this server.
    let (_, prm) = app
        .get_json("/.well-known/oauth-protected-resource/mcp")
        .await;
    assert_eq!(prm["authorization_servers"], json!([app.base]));

    let (status, info) = app
        .register(&json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none"}))
        .await;
    assert_eq!(status, 201, "{info}");
    let client_id = info["client_id"].as_str().unwrap();
    assert!(
        app.server
            .store()
            .get_client(client_id)
            .await
            .unwrap()
            .is_some()
    );

    let (status, error) = app
        .register(&json!({"redirect_uris": ["ftp://app.example.com/cb"]}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(error["error"], "invalid_redirect_uri");
}

#[tokio::test]
async fn oversized_bodies_wrong_methods_and_rate_limits() {
    let app = start(2).await;
    let huge = vec![b'a'; mcp_auth_server::http::MAX_BODY + 1];
    let response = app
        .http
        .post(format!("{}/token", app.base))
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);

    let response = app
        .http
        .get(format!("{}/token", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(response.headers()["allow"], "POST, OPTIONS");

    // The peer address reaches the server: the third registration from 127.0.0.1 is refused.
    let request = json!({"redirect_uris": ["http://127.0.0.1:9/cb"]});
    assert_eq!(app.register(&request).await.0, 201);
    assert_eq!(app.register(&request).await.0, 201);
    let response = app
        .http
        .post(format!("{}/register", app.base))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn the_protected_endpoint_accepts_the_servers_tokens() {
    let app = start(10).await;
    let resource = format!("{}/mcp", app.base);
    let mint = |resource: &str| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        app.server
            .access_token_issuer()
            .mint(
                &AccessTokenClaims {
                    subject: "alice".to_owned(),
                    client_id: "client-1".to_owned(),
                    scopes: "mcp:tools".parse().unwrap(),
                    resource: resource.to_owned(),
                    auth_time: None,
                },
                now,
            )
            .unwrap()
            .token
    };
    let call = |token: String| {
        app.http
            .get(format!("{}/mcp", app.base))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(call(mint(&resource)).await.unwrap().status().as_u16(), 200);
    let refused = call(mint("http://elsewhere.example.com/mcp"))
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
}
