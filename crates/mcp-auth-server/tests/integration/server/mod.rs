//! The whole authorization server driven through [`AuthorizationServer::handle`] only: routing,
//! metadata, JWKS, registration, rate limits, in-process validation, a complete
//! authorization code flow with refresh, and the answers to a failing store (`store_faults`).

#![cfg(feature = "memory")]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod failing_store;
mod flow;
mod refusals;
mod store_faults;
mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use http::StatusCode;
use http::header::{ALLOW, CACHE_CONTROL, RETRY_AFTER};
use mcp_auth_core::metadata::ResourceUri;
use mcp_auth_core::{AuthError, BearerToken, InvalidTokenReason};
use mcp_auth_server::rate_limit::Limit;
use mcp_auth_server::server::{RateLimits, ServerConfig, ServerError};
use mcp_auth_server::token::AccessTokenClaims;
use serde_json::json;
use support::{ISSUER, RESOURCE, Server, body};

#[tokio::test]
async fn metadata_is_served_at_every_well_known_route() {
    for issuer in [ISSUER, "https://auth.example.com/tenant"] {
        let server = Server::start_with(issuer, |_| {}).await;
        let routes = server.server.issuer().well_known_routes();
        assert_eq!(routes.len(), if issuer == ISSUER { 2 } else { 3 });
        for route in routes {
            let response = server.get(&route.path).await;
            assert_eq!(response.status(), StatusCode::OK, "{}", route.path);
            assert_eq!(response.headers()["access-control-allow-origin"], "*");
            assert_eq!(response.headers()["content-type"], "application/json");
            let doc = body(&response);
            assert_eq!(doc["issuer"], issuer, "{}", route.path);
            assert_eq!(doc["token_endpoint"], format!("{issuer}/token"));
            assert_eq!(doc["registration_endpoint"], format!("{issuer}/register"));
            assert_eq!(doc["jwks_uri"], format!("{issuer}/jwks.json"));
            assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
            assert_eq!(doc["scopes_supported"], json!(["mcp:read", "mcp:tools"]));

            let head = server.call("HEAD", &route.path, &[], None).await;
            assert_eq!(head.status(), StatusCode::OK);
            assert!(head.body().is_empty());
            let preflight = server.call("OPTIONS", &route.path, &[], None).await;
            assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
            assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
            assert!(
                preflight
                    .headers()
                    .get("access-control-allow-credentials")
                    .is_none()
            );
        }
        // Endpoints live under the issuer's path.
        let path = if issuer == ISSUER { "" } else { "/tenant" };
        let jwks = server.get(&format!("{path}/jwks.json")).await;
        assert_eq!(jwks.status(), StatusCode::OK);
        let active = server.server.signing_keys().active();
        let keys = body(&jwks)["keys"].as_array().unwrap().clone();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0]["kid"], active.kid());
        assert_eq!(&keys[0], active.public_jwk());
        assert_eq!(jwks.headers()["access-control-allow-origin"], "*");
    }
}

#[tokio::test]
async fn jwks_follows_rotation() {
    let server = Server::start().await;
    let first = server.server.signing_keys().active().kid().to_owned();
    server
        .server
        .signing_keys()
        .rotate(
            &**server.server.store(),
            Duration::from_secs(3600),
            support::NOW,
        )
        .await
        .unwrap();
    let second = server.server.signing_keys().active().kid().to_owned();
    let keys = body(&server.get("/jwks.json").await)["keys"].clone();
    let kids: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [first.as_str(), second.as_str()]);
}

#[tokio::test]
async fn registration() {
    let server = Server::start().await;
    let response = server
        .post_json(
            "/register",
            &json!({"redirect_uris": ["https://app.example.com/cb"], "token_endpoint_auth_method": "none"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let info = body(&response);
    let id = info["client_id"].as_str().unwrap();
    assert!(info.get("client_secret").is_none());
    let stored = server.server.store().get_client(id).await.unwrap().unwrap();
    assert_eq!(stored.redirect_uris, ["https://app.example.com/cb"]);

    let refused = server
        .post_json(
            "/register",
            &json!({"redirect_uris": ["http://app.example.com/cb"]}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(&refused)["error"], "invalid_redirect_uri");

    let preflight = server.call("OPTIONS", "/register", &[], None).await;
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.headers()["access-control-allow-methods"],
        "POST, OPTIONS"
    );
}

#[tokio::test]
async fn registration_can_be_disabled() {
    let server = Server::start_with(ISSUER, |c| c.dynamic_registration = false).await;
    let doc = body(&server.get("/.well-known/oauth-authorization-server").await);
    assert!(doc.get("registration_endpoint").is_none());
    let response = server
        .post_json(
            "/register",
            &json!({"redirect_uris": ["https://app.example.com/cb"]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(body(&response)["error"], "access_denied");
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let server = Server::start_with(ISSUER, |c| {
        c.rate_limits = RateLimits::default();
        c.rate_limits.register = Some(Limit::per_minute(2));
    })
    .await;
    let request = json!({"redirect_uris": ["https://app.example.com/cb"]});
    for _ in 0..2 {
        let ok = server.post_json("/register", &request).await;
        assert_eq!(ok.status(), StatusCode::CREATED);
    }
    let refused = server.post_json("/register", &request).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()[RETRY_AFTER], "30");
    assert_eq!(body(&refused)["error"], "temporarily_unavailable");
    // Another address has its own bucket.
    let other = server
        .call_from(
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
            "POST",
            "/register",
            &[("content-type", "application/json")],
            Some(request.to_string()),
        )
        .await;
    assert_eq!(other.status(), StatusCode::CREATED);
    // Time refills the bucket.
    server.clock.advance(Duration::from_secs(30));
    assert_eq!(
        server.post_json("/register", &request).await.status(),
        StatusCode::CREATED
    );

    // The token endpoint counts per client and address.
    for _ in 0..10 {
        let answer = server
            .post_form(
                "/token",
                &[("grant_type", "client_credentials"), ("client_id", "x")],
            )
            .await;
        assert_ne!(answer.status(), StatusCode::TOO_MANY_REQUESTS);
    }
    let refused = server
        .post_form(
            "/token",
            &[("grant_type", "client_credentials"), ("client_id", "x")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key(RETRY_AFTER));
    let other_client = server
        .post_form(
            "/token",
            &[("grant_type", "client_credentials"), ("client_id", "y")],
        )
        .await;
    assert_ne!(other_client.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let server = Server::start().await;
    let missing = server.get("/nope").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(body(&missing)["error"], "invalid_request");
    // Only the issuer's paths: a resource path is not the server's.
    assert_eq!(server.get("/mcp").await.status(), StatusCode::NOT_FOUND);

    for (method, path, allow) in [
        ("GET", "/token", "POST, OPTIONS"),
        ("GET", "/register", "POST, OPTIONS"),
        ("DELETE", "/authorize", "GET, POST"),
        ("GET", "/introspect", "POST"),
        ("OPTIONS", "/introspect", "POST"),
        ("POST", "/jwks.json", "GET, HEAD, OPTIONS"),
        (
            "PUT",
            "/.well-known/openid-configuration",
            "GET, HEAD, OPTIONS",
        ),
    ] {
        let response = server.call(method, path, &[], None).await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(response.headers()[ALLOW], allow, "{method} {path}");
    }
    let huge = "a".repeat(mcp_auth_server::http::MAX_BODY + 1);
    let response = server.call("POST", "/token", &[], Some(huge)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn validator_checks_the_servers_own_tokens() {
    let server = Server::start().await;
    let validator = server.server.validator(RESOURCE);
    let mint = |resource: &str| {
        server
            .server
            .access_token_issuer()
            .mint(
                &AccessTokenClaims {
                    subject: "alice".to_owned(),
                    client_id: "client-1".to_owned(),
                    scopes: "mcp:tools".parse().unwrap(),
                    resource: resource.to_owned(),
                    auth_time: None,
                },
                support::NOW,
            )
            .unwrap()
            .token
    };
    let token = mint(RESOURCE);
    let principal = validator
        .validate(&BearerToken::new(token.clone()))
        .await
        .unwrap();
    assert_eq!(principal.subject(), "alice");
    assert_eq!(principal.issuer(), Some(ISSUER));
    assert!(principal.has_scope("mcp:tools"));

    let elsewhere = mint("https://other.example.com/mcp");
    assert!(matches!(
        validator.validate(&BearerToken::new(elsewhere)).await,
        Err(AuthError::InvalidToken(InvalidTokenReason::Audience))
    ));

    // A JWT signed by the same key but not typed at+jwt (RFC 9068 section 4).
    let forged = support::resign_with_typ(&server.server, &token, "JWT");
    assert!(matches!(
        validator.validate(&BearerToken::new(forged)).await,
        Err(AuthError::InvalidToken(InvalidTokenReason::WrongTokenType))
    ));

    // Rotation: tokens of the new key verify, those of the old one until it is retired.
    let epoch = validator.cache_epoch();
    server
        .server
        .signing_keys()
        .rotate(
            &**server.server.store(),
            Duration::from_secs(600),
            support::NOW,
        )
        .await
        .unwrap();
    assert_ne!(validator.cache_epoch(), epoch);
    let fresh = mint(RESOURCE);
    validator
        .validate(&BearerToken::new(fresh.clone()))
        .await
        .unwrap();
    validator
        .validate(&BearerToken::new(token.clone()))
        .await
        .unwrap();
    server.clock.advance(Duration::from_secs(601));
    assert!(matches!(
        validator.validate(&BearerToken::new(token)).await,
        Err(AuthError::InvalidToken(InvalidTokenReason::UnknownKey))
    ));
    validator.validate(&BearerToken::new(fresh)).await.unwrap();
}

#[tokio::test]
async fn protected_resource_points_at_the_issuer() {
    let server = Server::start().await;
    let prm = server
        .server
        .protected_resource(ResourceUri::parse(RESOURCE).unwrap());
    assert_eq!(prm.metadata().authorization_servers, [ISSUER]);
    assert_eq!(prm.metadata().resource, RESOURCE);
    assert_eq!(prm.metadata().scopes_supported, ["mcp:read", "mcp:tools"]);
}

#[tokio::test]
async fn start_checks_the_configuration() {
    let err = support::try_start(ISSUER, |c| c.resources.clear())
        .await
        .unwrap_err();
    assert!(matches!(err, ServerError::NoResource));
    let err = support::try_start(ISSUER, |c| c.resources = vec!["mcp".to_owned()])
        .await
        .unwrap_err();
    assert!(matches!(err, ServerError::InvalidResource(_)));
    let bad_client = serde_json::from_value(json!({
        "client_id": "https://not-an-id.example.com",
        "redirect_uris": ["https://app.example.com/cb"],
    }))
    .unwrap();
    let err = support::try_start(ISSUER, |c| c.preconfigured_clients = vec![bad_client])
        .await
        .unwrap_err();
    assert!(matches!(err, ServerError::PreconfiguredClient { .. }));

    // A preconfigured client is stored at start.
    let client = serde_json::from_value(json!({
        "client_id": "inspector",
        "redirect_uris": ["http://localhost:6274/oauth/callback"],
    }))
    .unwrap();
    let server = Server::start_with(ISSUER, |c| c.preconfigured_clients = vec![client]).await;
    let stored = server.server.store().get_client("inspector").await.unwrap();
    assert!(stored.is_some());
}

#[test]
fn config_defaults() {
    let issuer = mcp_auth_server::metadata::Issuer::parse(ISSUER).unwrap();
    let config = ServerConfig::new(issuer, RESOURCE);
    assert_eq!(config.access_token_lifetime, Duration::from_secs(3600));
    assert_eq!(config.code_lifetime, Duration::from_secs(60));
    assert!(config.dynamic_registration);
    assert!(config.cookie_policy.is_secure());
    assert_eq!(
        config.rate_limits.token,
        Some(Limit::per_minute(30).with_burst(10))
    );
    let local = mcp_auth_server::metadata::Issuer::parse("http://127.0.0.1:8000").unwrap();
    assert!(!ServerConfig::new(local, RESOURCE).cookie_policy.is_secure());
}
