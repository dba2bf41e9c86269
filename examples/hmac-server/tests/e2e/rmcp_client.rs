//! The real rmcp client against the protected server.

use mcp_auth_core::InvalidTokenReason;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::service::{ClientInitializeError, RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClientTransportConfig, StreamableHttpError,
};
use serde_json::Value;

use crate::support::TestServer;

/// An rmcp client session with `token` (if any).
pub(crate) async fn connect(
    server: &TestServer,
    token: Option<&str>,
) -> Result<RunningService<RoleClient, ClientConfig>, rmcp::service::ClientInitializeError> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(server.resource.clone());
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    ClientConfig::default().serve(transport).await
}

/// The HTTP-level error behind a failed connection, if it is one.
pub(crate) fn http_error(
    err: &ClientInitializeError,
) -> Option<&StreamableHttpError<reqwest::Error>> {
    match err {
        ClientInitializeError::TransportError { error, .. } => error.error.downcast_ref(),
        _ => None,
    }
}

/// Calls `tool` and returns its first text content.
pub(crate) async fn call_text(
    client: &RunningService<RoleClient, ClientConfig>,
    tool: &str,
) -> Result<String, ServiceError> {
    let result = client
        .call_tool(CallToolRequestParams::new(tool.to_owned()))
        .await?;
    assert_ne!(result.is_error, Some(true), "{tool}: {result:?}");
    Ok(result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_else(|| panic!("{tool} returned no text: {result:?}")))
}

#[tokio::test]
async fn valid_token_initializes_lists_and_calls_tools() {
    let server = TestServer::start().await;
    let token = server
        .tokens
        .claims()
        .subject("user-ada")
        .scope("mcp:tools greet")
        .set("email", "ada@example.com".into())
        .set("preferred_username", "ada".into())
        .sign();
    let client = connect(&server, Some(&token)).await.unwrap();

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert!(names.contains(&"whoami"), "{names:?}");
    assert!(names.contains(&"hello"), "{names:?}");

    let whoami: Value = serde_json::from_str(&call_text(&client, "whoami").await.unwrap()).unwrap();
    assert_eq!(whoami["subject"], "user-ada", "{whoami}");
    assert_eq!(whoami["email"], "ada@example.com", "{whoami}");
    assert_eq!(whoami["username"], "ada", "{whoami}");
    let mut scopes: Vec<&str> = whoami["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    scopes.sort_unstable();
    assert_eq!(scopes, ["greet", "mcp:tools"], "{whoami}");

    assert_eq!(call_text(&client, "hello").await.unwrap(), "Hello, ada!");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn client_without_token_fails_to_connect_with_auth_required() {
    let server = TestServer::start().await;
    let Err(err) = connect(&server, None).await else {
        panic!("connecting without a token must fail");
    };
    // The client surfaces the server's challenge verbatim, to start an authorization flow.
    match http_error(&err) {
        Some(StreamableHttpError::AuthRequired(required)) => assert_eq!(
            required.www_authenticate_header,
            server.missing_token_challenge()
        ),
        _ => panic!("expected AuthRequired, got {err:?}"),
    }
}

#[tokio::test]
async fn client_with_refused_token_fails_to_connect() {
    let server = TestServer::start().await;
    let token = server.tokens.claims().exp_in(-3600).sign();
    let Err(err) = connect(&server, Some(&token)).await else {
        panic!("connecting with an expired token must fail");
    };
    match http_error(&err) {
        Some(StreamableHttpError::AuthRequired(required)) => assert_eq!(
            required.www_authenticate_header,
            server.invalid_token_challenge(InvalidTokenReason::Expired)
        ),
        _ => panic!("expected AuthRequired, got {err:?}"),
    }
}
