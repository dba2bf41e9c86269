//! Tool scopes read from the JSON-RPC body, single messages and batches.

use mcp_auth_axum::AuthLayer;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::layer::support::{ALICE, ROOT, TestServer, static_validator};

fn with_hello_scope(layer: AuthLayer) -> AuthLayer {
    layer.tool_scopes("hello", "greet".parse().unwrap())
}

fn call(id: u64, tool: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool}})
}

async fn post(server: &TestServer, token: &str, body: &Value) -> reqwest::Response {
    server
        .request(Method::POST, "/mcp", Some(token))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

fn greet_challenge(server: &TestServer) -> String {
    format!(
        r#"Bearer resource_metadata="{}", scope="greet", error="insufficient_scope", error_description="the token lacks a scope this request needs""#,
        server.metadata_url()
    )
}

#[tokio::test]
async fn protected_tool_without_scope_is_403() {
    let server = TestServer::start(static_validator(), with_hello_scope).await;
    let response = post(&server, ALICE, &call(1, "hello")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["www-authenticate"],
        greet_challenge(&server).as_str()
    );
    // Another tool is fine.
    let response = post(&server, ALICE, &call(1, "whoami")).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn batch_with_a_protected_tool_is_403() {
    let server = TestServer::start(static_validator(), with_hello_scope).await;
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        call(2, "whoami"),
        call(3, "hello"),
    ]);
    let response = post(&server, ALICE, &batch).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["www-authenticate"],
        greet_challenge(&server).as_str()
    );
    // With the scope, the batch reaches the handler intact.
    let response = post(&server, ROOT, &batch).await;
    assert_eq!(response.status(), StatusCode::OK);
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(echoed, batch);
}

/// Posts `body` as it is written (escapes and all).
async fn post_raw(server: &TestServer, token: &str, body: &'static str) -> reqwest::Response {
    server
        .request(Method::POST, "/mcp", Some(token))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_protected_tool_is_found_however_the_body_spells_it() {
    let server = TestServer::start(static_validator(), with_hello_scope).await;
    for body in [
        // An escape in the name, or anywhere else in the body.
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hel\u006co"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"hello"}}"#,
        // A call the layer cannot read, naming the tool: every tool scope (fail closed).
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["hello"]}"#,
    ] {
        let response = post_raw(&server, ALICE, body).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{body}");
        assert_eq!(
            response.headers()["www-authenticate"],
            greet_challenge(&server).as_str()
        );
    }
    // A body in which no reading can meet `hello` needs no tool scope, even an unreadable call.
    for body in [
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5}}"#,
    ] {
        let response = post_raw(&server, ALICE, body).await;
        assert_eq!(response.status(), StatusCode::OK, "{body}");
        assert_eq!(response.text().await.unwrap(), body);
    }
}

#[tokio::test]
async fn body_over_max_body_is_413() {
    let server =
        TestServer::start(static_validator(), |l| with_hello_scope(l).max_body(1024)).await;
    let big = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "whoami", "arguments": {"pad": "x".repeat(2048)}}
    });
    let response = post(&server, ROOT, &big).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Under the limit is fine.
    let response = post(&server, ROOT, &call(1, "whoami")).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn oversized_body_without_a_token_is_still_401() {
    // Authentication comes before the body is read.
    let server = TestServer::start(static_validator(), |l| with_hello_scope(l).max_body(16)).await;
    let response = server
        .request(Method::POST, "/mcp", None)
        .body(call(1, "hello").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn streamed_body_over_max_body_is_413() {
    // No Content-Length: the limit holds for a chunked body too.
    let server =
        TestServer::start(static_validator(), |l| with_hello_scope(l).max_body(1024)).await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..8).map(|_| Ok(vec![b' '; 256])).collect();
    let response = server
        .request(Method::POST, "/mcp", Some(ROOT))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
