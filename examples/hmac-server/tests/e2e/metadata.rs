//! The Protected Resource Metadata document is public and readable cross-origin.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{ISSUER, TestServer};

#[tokio::test]
async fn metadata_is_served_at_both_well_known_paths_without_a_token() {
    let server = TestServer::start().await;
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let response = server
            .http
            .get(format!("{}{path}", server.origin))
            .header("origin", "https://inspector.example")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert_eq!(headers["access-control-allow-origin"], "*", "{path}");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}"
        );
        let doc: Value = response.json().await.unwrap();
        assert_eq!(doc["resource"], server.resource, "{doc}");
        assert_eq!(
            doc["bearer_methods_supported"],
            serde_json::json!(["header"])
        );
        let mut scopes: Vec<&str> = doc["scopes_supported"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        scopes.sort_unstable();
        assert_eq!(scopes, ["greet", "mcp:tools"], "{doc}");
    }
}

#[tokio::test]
async fn metadata_lists_the_configured_issuer() {
    let server = TestServer::start_with_issuer().await;
    let doc: Value = server
        .http
        .get(server.metadata_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["authorization_servers"], serde_json::json!([ISSUER]));
}

#[tokio::test]
async fn metadata_preflight_is_204_with_cors() {
    let server = TestServer::start().await;
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let response = server
            .http
            .request(Method::OPTIONS, format!("{}{path}", server.origin))
            .header("origin", "https://inspector.example")
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "mcp-protocol-version")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
        let headers = response.headers();
        assert_eq!(headers["access-control-allow-origin"], "*", "{path}");
        let methods = headers["access-control-allow-methods"].to_str().unwrap();
        assert!(methods.contains("GET"), "{methods}");
        let allowed = headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        assert!(allowed.contains("mcp-protocol-version"), "{allowed}");
    }
}
