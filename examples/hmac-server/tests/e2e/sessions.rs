//! An MCP session answers only to the principal that opened it.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{PROTOCOL_VERSION, TestServer, read_jsonrpc_response, tool_text, tools_call};

/// A session id of the same shape as rmcp's that no server ever issued.
const UNKNOWN_SESSION: &str = "6f1c2a7e-3b4d-4e5f-8a9b-0c1d2e3f4a5b";

/// Sends `method` to `/mcp` as `token` in `session` (a `tools/call` of `whoami` for POST).
async fn send_in_session(
    server: &TestServer,
    method: Method,
    token: &str,
    session: &str,
) -> reqwest::Response {
    let mut request = server
        .mcp_request(method.clone(), "", Some(token))
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", PROTOCOL_VERSION);
    if method == Method::POST {
        request = request
            .header("content-type", "application/json")
            .body(tools_call(2, "whoami").to_string());
    }
    request.send().await.unwrap()
}

/// Status, `Content-Type` and body: everything a client can tell two answers apart by.
async fn observable(response: reqwest::Response) -> (StatusCode, Option<String>, String) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn another_principal_cannot_use_a_session() {
    let server = TestServer::start().await;
    let alice = server
        .tokens
        .claims()
        .subject("alice")
        .scope("mcp:tools")
        .sign();
    let mallory = server
        .tokens
        .claims()
        .subject("mallory")
        .scope("mcp:tools greet")
        .sign();
    let session = server.open_session(&alice).await;

    // Mallory, with a perfectly valid token, presents Alice's session id.
    for method in [Method::POST, Method::GET] {
        let response = send_in_session(&server, method.clone(), &mallory, &session).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method}");
        assert!(response.headers().get("www-authenticate").is_none());
    }
    // Nor may Mallory end it.
    let response = send_in_session(&server, Method::DELETE, &mallory, &session).await;
    assert!(
        !response.status().is_server_error(),
        "{}",
        response.status()
    );

    // Alice's session still works, and is still Alice's.
    let call = server
        .post_jsonrpc(&alice, Some(&session), &tools_call(3, "whoami"))
        .await;
    assert_eq!(call.status(), StatusCode::OK);
    let response = read_jsonrpc_response(call, 3).await;
    let whoami: Value = serde_json::from_str(tool_text(&response)).unwrap();
    assert_eq!(whoami["subject"], "alice", "{whoami}");
}

#[tokio::test]
async fn another_principals_session_looks_like_an_unknown_one() {
    // The layer promises that refusing someone else's session reveals nothing: the answer must
    // be the one the MCP server gives for a session that does not exist.
    let server = TestServer::start().await;
    let alice = server.tokens.claims().subject("alice").sign();
    let mallory = server.tokens.claims().subject("mallory").sign();
    let session = server.open_session(&alice).await;
    let mut differences = Vec::new();
    for method in [Method::POST, Method::GET, Method::DELETE] {
        let unknown =
            observable(send_in_session(&server, method.clone(), &mallory, UNKNOWN_SESSION).await)
                .await;
        let others =
            observable(send_in_session(&server, method.clone(), &mallory, &session).await).await;
        if method != Method::DELETE {
            assert_eq!(others.0, StatusCode::NOT_FOUND, "{method}");
        }
        if others != unknown {
            differences.push(format!(
                "{method}: another principal's session {others:?} vs unknown session {unknown:?}"
            ));
        }
    }
    assert!(differences.is_empty(), "{differences:#?}");
    // Alice's session survived the probing.
    let call = server
        .post_jsonrpc(&alice, Some(&session), &tools_call(3, "whoami"))
        .await;
    assert_eq!(call.status(), StatusCode::OK);
}

#[tokio::test]
async fn same_subject_with_another_token_keeps_the_session() {
    let server = TestServer::start().await;
    let first = server
        .tokens
        .claims()
        .subject("alice")
        .scope("mcp:tools")
        .sign();
    // A refreshed token for the same principal (different jti, so a different token).
    let refreshed = server
        .tokens
        .claims()
        .subject("alice")
        .scope("mcp:tools")
        .set("jti", "refreshed".into())
        .sign();
    assert_ne!(first, refreshed);
    let session = server.open_session(&first).await;
    let call = server
        .post_jsonrpc(&refreshed, Some(&session), &tools_call(2, "whoami"))
        .await;
    assert_eq!(call.status(), StatusCode::OK);
    let response = read_jsonrpc_response(call, 2).await;
    let whoami: Value = serde_json::from_str(tool_text(&response)).unwrap();
    assert_eq!(whoami["subject"], "alice", "{whoami}");
}

#[tokio::test]
async fn owner_can_end_the_session() {
    let server = TestServer::start().await;
    let alice = server.tokens.claims().subject("alice").sign();
    let session = server.open_session(&alice).await;
    let response = send_in_session(&server, Method::DELETE, &alice, &session).await;
    assert!(response.status().is_success(), "{}", response.status());
    let response = send_in_session(&server, Method::POST, &alice, &session).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
