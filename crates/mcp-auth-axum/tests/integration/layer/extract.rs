//! The `Authenticated` extractor and `RequireScopesLayer`.

use mcp_auth_axum::AuthLayer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::layer::support::{ALICE, ROOT, TestServer, static_validator};

#[tokio::test]
async fn authenticated_reads_the_principal() {
    let server = TestServer::start(static_validator(), |l| l).await;
    let response = server
        .request(Method::GET, "/me", Some(ALICE))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"subject": "alice", "email": "alice@example.com", "scopes": "mcp:tools"})
    );
}

#[tokio::test]
async fn missing_and_unknown_tokens_are_401() {
    let server = TestServer::start(static_validator(), |l| l).await;
    let response = server
        .request(Method::GET, "/me", None)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        format!(
            r#"Bearer resource_metadata="{}", scope="mcp:tools""#,
            server.metadata_url()
        )
        .as_str()
    );
    let response = server
        .request(Method::GET, "/me", Some("nobody-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        format!(
            r#"Bearer resource_metadata="{}", error="invalid_token", error_description="the token signature is invalid""#,
            server.metadata_url()
        )
        .as_str()
    );
}

#[tokio::test]
async fn require_scopes_layer_is_403_naming_the_scope() {
    let server = TestServer::start(static_validator(), |l| l).await;
    let response = server
        .request(Method::GET, "/admin", Some(ALICE))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["www-authenticate"],
        format!(
            r#"Bearer resource_metadata="{}", scope="admin", error="insufficient_scope", error_description="the token lacks a scope this request needs""#,
            server.metadata_url()
        )
        .as_str()
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "insufficient_scope");

    let response = server
        .request(Method::GET, "/admin", Some(ROOT))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["subject"], "root");
}

#[tokio::test]
async fn layer_wide_scopes_are_403() {
    let server = TestServer::start(static_validator(), |l: AuthLayer| {
        l.require_scopes("greet".parse().unwrap())
    })
    .await;
    let response = server
        .request(Method::GET, "/me", Some(ALICE))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["www-authenticate"],
        format!(
            r#"Bearer resource_metadata="{}", scope="greet", error="insufficient_scope", error_description="the token lacks a scope this request needs""#,
            server.metadata_url()
        )
        .as_str()
    );
    let response = server
        .request(Method::GET, "/me", Some(ROOT))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn authenticated_without_the_layer_is_500() {
    let server = TestServer::start(static_validator(), |l| l).await;
    for token in [None, Some(ALICE)] {
        let response = server
            .request(Method::GET, "/open", token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().get("www-authenticate").is_none());
        let body = response.text().await.unwrap();
        assert_eq!(body, r#"{"error":"server_error"}"#);
    }
}

#[tokio::test]
async fn require_scopes_without_the_layer_is_500() {
    let server = TestServer::start(static_validator(), |l| l).await;
    for token in [None, Some(ROOT)] {
        let response = server
            .request(Method::GET, "/open-admin", token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().get("www-authenticate").is_none());
        let body = response.text().await.unwrap();
        assert_eq!(body, r#"{"error":"server_error"}"#);
    }
}
