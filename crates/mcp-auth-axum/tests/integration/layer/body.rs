//! The layer hands the request body to the handler byte for byte.

use mcp_auth_axum::AuthLayer;
use reqwest::{Method, StatusCode};

use crate::layer::support::{ROOT, TestServer, static_validator};

/// 64 KiB of every byte value, not valid UTF-8 and not JSON.
fn payload() -> Vec<u8> {
    (0..64 * 1024).map(|i| (i % 251) as u8).collect()
}

async fn assert_echoed(server: &TestServer, body: Vec<u8>) {
    let response = server
        .request(Method::POST, "/mcp", Some(ROOT))
        .header("content-type", "application/octet-stream")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let echoed = response.bytes().await.unwrap();
    assert_eq!(echoed.len(), body.len());
    assert!(echoed.as_ref() == body.as_slice(), "body changed");
}

#[tokio::test]
async fn body_passes_through_without_tool_scopes() {
    let server = TestServer::start(static_validator(), |l| l).await;
    assert_echoed(&server, payload()).await;
    assert_echoed(&server, Vec::new()).await;
}

#[tokio::test]
async fn body_passes_through_when_inspected_for_tool_scopes() {
    let server = TestServer::start(static_validator(), |l: AuthLayer| {
        l.tool_scopes("hello", "greet".parse().unwrap())
    })
    .await;
    assert_echoed(&server, payload()).await;
    assert_echoed(&server, Vec::new()).await;
    let json = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hello"}}"#;
    assert_echoed(&server, json.to_vec()).await;
}

#[tokio::test]
async fn streamed_body_passes_through() {
    // A chunked body of unknown length, inspected for tool scopes.
    let server = TestServer::start(static_validator(), |l: AuthLayer| {
        l.tool_scopes("hello", "greet".parse().unwrap())
    })
    .await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        payload().chunks(1000).map(|c| Ok(c.to_vec())).collect();
    let response = server
        .request(Method::POST, "/mcp", Some(ROOT))
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.bytes().await.unwrap().as_ref() == payload().as_slice());
}
