//! A real hmac-server on an ephemeral port, and raw HTTP helpers to talk MCP to it.

use std::net::SocketAddr;
use std::time::Duration;

use hmac_server::{Settings, app, base64_encode};
use mcp_auth_core::{InvalidRequestReason, InvalidTokenReason};
use mcp_auth_providers::config::Config;
use mcp_auth_testkit::{TEST_SECRET, TokenFactory};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

/// The protocol version the raw-HTTP tests speak.
pub(crate) const PROTOCOL_VERSION: &str = "2025-06-18";

/// The issuer configured by [`TestServer::start_with_issuer`].
pub(crate) const ISSUER: &str = "https://issuer.mcp-auth.test";

/// Upper bound on any single wait for the server, so a broken server fails the test instead of
/// hanging it. Never asserted on.
const HANG_GUARD: Duration = Duration::from_secs(20);

/// A running hmac-server.
pub(crate) struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub(crate) origin: String,
    /// `http://127.0.0.1:<port>/mcp`: the resource URI and token audience.
    pub(crate) resource: String,
    /// Mints tokens this server accepts (unless made hostile).
    pub(crate) tokens: TokenFactory,
    /// A plain HTTP client (no proxy).
    pub(crate) http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// The server with default settings (leeway 60 s, no issuer).
    pub(crate) async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// The server requiring `iss` == [`ISSUER`].
    pub(crate) async fn start_with_issuer() -> Self {
        let mut server = Self::start_with(|config| config.issuer = Some(ISSUER.to_owned())).await;
        server.tokens = server.tokens.clone().with_issuer(ISSUER);
        server
    }

    /// The server with a `Config` adjusted by `edit` (the secret is set beforehand).
    pub(crate) async fn start_with(edit: impl FnOnce(&mut Config)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let origin = format!("http://{addr}");
        let resource = format!("{origin}/mcp");
        let mut config = Config::default();
        config.secret = Some(format!("base64:{}", base64_encode(TEST_SECRET)));
        edit(&mut config);
        let settings = Settings::new(addr, &resource, config).unwrap();
        let router = app(&settings).unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Self {
            tokens: TokenFactory::hs256(TEST_SECRET, &resource),
            origin,
            resource,
            http,
            task,
        }
    }

    /// `http://127.0.0.1:<port>/.well-known/oauth-protected-resource/mcp`.
    pub(crate) fn metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource/mcp", self.origin)
    }

    /// The challenge of a request without a token.
    pub(crate) fn missing_token_challenge(&self) -> String {
        format!(
            r#"Bearer resource_metadata="{}", scope="mcp:tools""#,
            self.metadata_url()
        )
    }

    /// The challenge of a refused token.
    pub(crate) fn invalid_token_challenge(&self, reason: InvalidTokenReason) -> String {
        format!(
            r#"Bearer resource_metadata="{}", error="invalid_token", error_description="{}""#,
            self.metadata_url(),
            reason.description()
        )
    }

    /// The challenge of a malformed request.
    pub(crate) fn invalid_request_challenge(&self, reason: InvalidRequestReason) -> String {
        format!(
            r#"Bearer resource_metadata="{}", error="invalid_request", error_description="{}""#,
            self.metadata_url(),
            reason.description()
        )
    }

    /// The challenge of a token lacking `scope`.
    pub(crate) fn insufficient_scope_challenge(&self, scope: &str) -> String {
        format!(
            r#"Bearer resource_metadata="{}", scope="{scope}", error="insufficient_scope", error_description="the token lacks a scope this request needs""#,
            self.metadata_url()
        )
    }

    /// A request to `/mcp` (plus `suffix`, e.g. a query) with the MCP headers, and the bearer
    /// token if any.
    pub(crate) fn mcp_request(
        &self,
        method: Method,
        suffix: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, format!("{}{suffix}", self.resource))
            .header(ACCEPT, "application/json, text/event-stream");
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        request
    }

    /// POSTs an `initialize` request to `/mcp` with `token` (if any); the raw response.
    pub(crate) async fn post_initialize(&self, token: Option<&str>) -> Response {
        self.mcp_request(Method::POST, "", token)
            .header(CONTENT_TYPE, "application/json")
            .body(initialize_body().to_string())
            .send()
            .await
            .unwrap()
    }

    /// Sends `initialize` and `notifications/initialized` as `token`; the session id.
    pub(crate) async fn open_session(&self, token: &str) -> String {
        let response = self.post_initialize(Some(token)).await;
        assert_eq!(response.status(), StatusCode::OK, "initialize");
        let session = response
            .headers()
            .get("mcp-session-id")
            .expect("initialize response carries Mcp-Session-Id")
            .to_str()
            .unwrap()
            .to_owned();
        let result = read_jsonrpc_response(response, 1).await;
        assert!(
            result.pointer("/result/protocolVersion").is_some(),
            "{result}"
        );
        let initialized = self
            .post_jsonrpc(
                token,
                Some(&session),
                &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            )
            .await;
        assert_eq!(initialized.status(), StatusCode::ACCEPTED, "initialized");
        session
    }

    /// POSTs a JSON-RPC message to `/mcp` as `token`, in `session` if any.
    pub(crate) async fn post_jsonrpc(
        &self,
        token: &str,
        session: Option<&str>,
        message: &Value,
    ) -> Response {
        let mut request = self
            .mcp_request(Method::POST, "", Some(token))
            .header(CONTENT_TYPE, "application/json")
            .header("mcp-protocol-version", PROTOCOL_VERSION)
            .body(message.to_string());
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        request.send().await.unwrap()
    }
}

/// An `initialize` request (id 1).
pub(crate) fn initialize_body() -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "mcp-auth-e2e", "version": "0"}
        }
    })
}

/// A `tools/call` of `tool` with `id`.
pub(crate) fn tools_call(id: u64, tool: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": {}}
    })
}

/// Reads the JSON-RPC response with `id` from a JSON or SSE response body.
pub(crate) async fn read_jsonrpc_response(mut response: Response, id: u64) -> Value {
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json {
        let text = tokio::time::timeout(HANG_GUARD, response.text())
            .await
            .expect("response body within the hang guard")
            .unwrap();
        return serde_json::from_str(&text).unwrap();
    }
    // text/event-stream: read events until the one answering `id` (the stream may stay open).
    let mut buffer = String::new();
    loop {
        let chunk = tokio::time::timeout(HANG_GUARD, response.chunk())
            .await
            .expect("SSE event within the hang guard")
            .unwrap();
        let Some(chunk) = chunk else {
            panic!("SSE stream ended without a response to id {id}: {buffer:?}");
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        let normalized = buffer.replace("\r\n", "\n");
        for event in normalized.split("\n\n") {
            let data: String = event
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(str::trim_start)
                .collect::<Vec<_>>()
                .join("\n");
            if let Ok(message) = serde_json::from_str::<Value>(&data)
                && message.get("id") == Some(&json!(id))
            {
                return message;
            }
        }
    }
}

/// Asserts `response` is a refusal with exactly `status` and `challenge`, and a JSON body
/// repeating the challenge's error.
pub(crate) async fn assert_refused(response: Response, status: StatusCode, challenge: &str) {
    let www = response
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    let actual_status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(actual_status, status, "status; body {body}");
    assert_eq!(www, vec![challenge.to_owned()], "WWW-Authenticate");
    let body: Value = serde_json::from_str(&body).unwrap();
    if let Some(error) = challenge
        .split("error=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
    {
        assert_eq!(body["error"], error, "body {body}");
    } else {
        assert_eq!(body["error"], "unauthorized", "body {body}");
    }
}

/// Asserts `response` went through authentication and reached the MCP server.
pub(crate) async fn assert_accepted(response: Response) {
    let status = response.status();
    let www = response.headers().get(WWW_AUTHENTICATE).cloned();
    assert_eq!(status, StatusCode::OK, "WWW-Authenticate: {www:?}");
    assert!(www.is_none());
    let result = read_jsonrpc_response(response, 1).await;
    assert!(
        result.pointer("/result/serverInfo").is_some(),
        "initialize result: {result}"
    );
}

/// The first text content of a `tools/call` JSON-RPC response.
pub(crate) fn tool_text(response: &Value) -> &str {
    response
        .pointer("/result/content/0/text")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no text content in {response}"))
}
