//! The real rmcp client against the actix-web server: the principal reaches the tools through
//! rmcp-actix-web, and `hello` without `greet` is refused with a step-up challenge.

#![allow(clippy::unwrap_used, reason = "tests")]

use actix_web::dev::ServerHandle;
use hmac_server::{Settings, base64_encode};
use mcp_auth_providers::config::Config;
use mcp_auth_testkit::{TEST_SECRET, TokenFactory};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClientTransportConfig, StreamableHttpError,
};
use serde_json::Value;

/// The actix-server on an ephemeral port.
struct TestServer {
    resource: String,
    tokens: TokenFactory,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
        self.task.abort();
    }
}

impl TestServer {
    async fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let resource = format!("http://{addr}/mcp");
        let mut config = Config::default();
        config.secret = Some(format!("base64:{}", base64_encode(TEST_SECRET)));
        let settings = Settings::new(addr, &resource, config).unwrap();
        let server = hmac_actix_server::serve(&settings, listener).unwrap();
        let handle = server.handle();
        let task = tokio::spawn(server);
        Self {
            tokens: TokenFactory::hs256(TEST_SECRET, &resource),
            resource,
            handle,
            task,
        }
    }

    fn challenge(&self, scope: &str) -> String {
        format!(
            r#"Bearer resource_metadata="{}", scope="{scope}", error="insufficient_scope", error_description="the token lacks a scope this request needs""#,
            self.resource
                .replace("/mcp", "/.well-known/oauth-protected-resource/mcp")
        )
    }

    async fn connect(&self, token: &str) -> RunningService<RoleClient, ClientConfig> {
        let config =
            StreamableHttpClientTransportConfig::with_uri(self.resource.clone()).auth_header(token);
        let transport = StreamableHttpClientTransport::from_config(config);
        ClientConfig::default().serve(transport).await.unwrap()
    }
}

async fn call_text(
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
async fn initializes_lists_and_calls_tools_as_the_token_identity() {
    let server = TestServer::start().await;
    let token = server
        .tokens
        .claims()
        .subject("user-ada")
        .scope("mcp:tools greet")
        .set("email", "ada@example.com".into())
        .set("preferred_username", "ada".into())
        .sign();
    let client = server.connect(&token).await;

    let tools = client.list_all_tools().await.unwrap();
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(names, ["hello", "whoami"]);

    let whoami: Value = serde_json::from_str(&call_text(&client, "whoami").await.unwrap()).unwrap();
    assert_eq!(whoami["subject"], "user-ada", "{whoami}");
    assert_eq!(whoami["email"], "ada@example.com", "{whoami}");
    assert_eq!(whoami["username"], "ada", "{whoami}");
    assert_eq!(
        whoami["scopes"],
        serde_json::json!(["greet", "mcp:tools"]),
        "{whoami}"
    );

    assert_eq!(call_text(&client, "hello").await.unwrap(), "Hello, ada!");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn hello_without_greet_is_403_insufficient_scope() {
    let server = TestServer::start().await;
    let token = server
        .tokens
        .claims()
        .subject("user-basic")
        .scope("mcp:tools")
        .sign();
    let client = server.connect(&token).await;
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
                server.challenge("greet")
            );
            assert_eq!(insufficient.get_required_scope(), Some("greet"));
        }
        _ => panic!("expected InsufficientScope, got {err:?}"),
    }
}

#[tokio::test]
async fn metadata_is_public_and_mcp_is_not() {
    let server = TestServer::start().await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let metadata = server
        .resource
        .replace("/mcp", "/.well-known/oauth-protected-resource/mcp");
    let response = http.get(&metadata).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["resource"], server.resource.as_str());

    let response = http
        .post(&server.resource)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        format!(r#"Bearer resource_metadata="{metadata}", scope="mcp:tools""#).as_str()
    );
}
