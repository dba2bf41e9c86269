//! Tool scopes: `hello` needs `greet`, answered 403 with a step-up challenge at the HTTP layer.

use reqwest::StatusCode;
use rmcp::service::ServiceError;
use rmcp::transport::streamable_http_client::StreamableHttpError;
use serde_json::Value;

use crate::rmcp_client::{call_text, connect};
use crate::support::{TestServer, assert_refused, read_jsonrpc_response, tool_text, tools_call};

#[tokio::test]
async fn tool_without_its_scope_is_403_insufficient_scope() {
    let server = TestServer::start().await;
    let token = server
        .tokens
        .claims()
        .subject("user-basic")
        .scope("mcp:tools")
        .sign();
    let session = server.open_session(&token).await;

    let refused = server
        .post_jsonrpc(&token, Some(&session), &tools_call(2, "hello"))
        .await;
    assert_refused(
        refused,
        StatusCode::FORBIDDEN,
        &server.insufficient_scope_challenge("greet"),
    )
    .await;

    // The same token may still call a tool that needs nothing more, in the same session.
    let allowed = server
        .post_jsonrpc(&token, Some(&session), &tools_call(3, "whoami"))
        .await;
    assert_eq!(allowed.status(), StatusCode::OK);
    let response = read_jsonrpc_response(allowed, 3).await;
    let whoami: Value = serde_json::from_str(tool_text(&response)).unwrap();
    assert_eq!(whoami["subject"], "user-basic", "{whoami}");
    assert_eq!(
        whoami["scopes"],
        serde_json::json!(["mcp:tools"]),
        "{whoami}"
    );
}

#[tokio::test]
async fn tool_scope_is_checked_before_the_session() {
    let server = TestServer::start().await;
    let token = server.tokens.claims().scope("mcp:tools").sign();
    // No session at all, and a session id that does not exist: the scope check answers first.
    for session in [None, Some("not-a-session")] {
        let refused = server
            .post_jsonrpc(&token, session, &tools_call(2, "hello"))
            .await;
        assert_refused(
            refused,
            StatusCode::FORBIDDEN,
            &server.insufficient_scope_challenge("greet"),
        )
        .await;
    }
}

#[tokio::test]
async fn tool_scope_in_a_batch_is_403() {
    let server = TestServer::start().await;
    let token = server.tokens.claims().scope("mcp:tools").sign();
    let batch = serde_json::json!([tools_call(2, "whoami"), tools_call(3, "hello")]);
    let refused = server.post_jsonrpc(&token, None, &batch).await;
    assert_refused(
        refused,
        StatusCode::FORBIDDEN,
        &server.insufficient_scope_challenge("greet"),
    )
    .await;
}

#[tokio::test]
async fn ambiguous_json_never_reaches_hello_without_greet() {
    // Bodies the layer and the MCP server might read differently (duplicate keys, trailing
    // data, a byte-order mark): whatever happens, `hello` must not run for a token without
    // `greet`.
    let server = TestServer::start().await;
    let token = server.tokens.claims().scope("mcp:tools").sign();
    let session = server.open_session(&token).await;
    let call = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"hello"}}"#;
    for body in [
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"hello","name":"whoami"}}"#.to_owned(),
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"whoami","name":"hello"}}"#.to_owned(),
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","method":"ping","params":{"name":"hello"}}"#.to_owned(),
        r#"{"jsonrpc":"2.0","id":5,"method":"ping","method":"tools/call","params":{"name":"hello"}}"#.to_owned(),
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"hel\u006co"}}"#.to_owned(),
        format!("\u{feff}{call}"),
        format!("{call} x"),
        format!("{call}{call}"),
    ] {
        let response = server
            .mcp_request(reqwest::Method::POST, "", Some(&token))
            .header("content-type", "application/json")
            .header("mcp-protocol-version", crate::support::PROTOCOL_VERSION)
            .header("mcp-session-id", &session)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        match response.status() {
            StatusCode::FORBIDDEN => {
                assert_refused(
                    response,
                    StatusCode::FORBIDDEN,
                    &server.insufficient_scope_challenge("greet"),
                )
                .await;
            }
            StatusCode::OK => {
                let message = read_jsonrpc_response(response, 5).await;
                assert!(
                    message.get("error").is_some() && message.get("result").is_none(),
                    "{body}: {message}"
                );
            }
            status => assert!(status.is_client_error(), "{body}: {status}"),
        }
    }
}

#[tokio::test]
async fn rmcp_client_with_basic_scope_calls_whoami_but_not_hello() {
    let server = TestServer::start().await;
    let token = server
        .tokens
        .claims()
        .subject("user-basic")
        .scope("mcp:tools")
        .sign();
    let client = connect(&server, Some(&token)).await.unwrap();
    let whoami: Value = serde_json::from_str(&call_text(&client, "whoami").await.unwrap()).unwrap();
    assert_eq!(whoami["subject"], "user-basic", "{whoami}");

    let err = call_text(&client, "hello")
        .await
        .expect_err("hello without greet must fail");
    let source = match &err {
        ServiceError::TransportSend(error) => error
            .error
            .downcast_ref::<StreamableHttpError<reqwest::Error>>(),
        _ => None,
    };
    match source {
        Some(StreamableHttpError::InsufficientScope(insufficient)) => {
            assert_eq!(
                insufficient.www_authenticate_header,
                server.insufficient_scope_challenge("greet")
            );
            assert_eq!(insufficient.get_required_scope(), Some("greet"));
        }
        _ => panic!("expected InsufficientScope, got {err:?}"),
    }
}
