//! The conformance app on axum (the route table of `mcp_auth_testkit::conformance`) and, with
//! feature `server`, the authorization server mounted by `authorization_server_router`. Also
//! compiled into `mcp-auth-actix`'s conformance binary, which compares the two adapters.

use axum::Router;
use axum::body::Bytes;
use axum::http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use futures::future::LocalBoxFuture;
use mcp_auth_axum::{AuthLayer, Authenticated, RequireScopesLayer, metadata_router};
use mcp_auth_testkit::conformance::{
    AdapterUnderTest, ISSUE_SESSION, Running, Scenario, echo_headers, principal_body,
};

/// Starts the conformance app with [`AuthLayer`].
pub(crate) struct Axum;

async fn echo(headers: HeaderMap, body: Bytes) -> Response {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mut response = body.into_response();
    for (name, value) in echo_headers(value(mcp_auth_axum::MCP_SESSION_ID), value(ISSUE_SESSION)) {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_str(&value).unwrap(),
        );
    }
    response
}

async fn me(Authenticated(principal): Authenticated) -> Response {
    (
        [(CONTENT_TYPE, "application/json")],
        principal_body(&principal),
    )
        .into_response()
}

fn app(scenario: &Scenario) -> Router {
    let mut auth = AuthLayer::new(scenario.validator(), scenario.resource().clone());
    if let Some(scopes) = scenario.require_scopes() {
        auth = auth.require_scopes(scopes.clone());
    }
    for (tool, scopes) in scenario.tool_scopes() {
        auth = auth.tool_scopes(tool.clone(), scopes.clone());
    }
    if let Some(bytes) = scenario.max_body() {
        auth = auth.max_body(bytes);
    }
    if !scenario.session_binding() {
        auth = auth.insecure_without_session_binding();
    }
    let admin = Router::new()
        .route("/admin", get(me))
        .route_layer(RequireScopesLayer::new(scenario.admin_scopes()));
    Router::new()
        .route("/mcp", any(echo))
        .route("/me", get(me))
        .merge(admin)
        .layer(auth)
        .route("/open", get(me))
        .merge(
            Router::new()
                .route("/open-admin", get(|| async { "reached" }))
                .route_layer(RequireScopesLayer::new(scenario.admin_scopes())),
        )
        .merge(metadata_router(scenario.resource()))
}

impl AdapterUnderTest for Axum {
    fn name(&self) -> &'static str {
        "axum"
    }

    fn start(&self, scenario: Scenario) -> LocalBoxFuture<'static, Running> {
        Box::pin(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let app = app(&scenario);
            let task = tokio::spawn(async move {
                axum::serve(listener, app).await.unwrap();
            });
            Running::new(addr, move || task.abort())
        })
    }
}

#[cfg(feature = "server")]
impl mcp_auth_testkit::conformance::authorization_server::AuthorizationServerUnderTest for Axum {
    fn name(&self) -> &'static str {
        "axum"
    }

    fn serve(
        &self,
        server: mcp_auth_server::server::AuthorizationServer,
    ) -> LocalBoxFuture<'static, Running> {
        Box::pin(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let app: Router = mcp_auth_axum::authorization_server_router(server);
            let task = tokio::spawn(async move {
                // With the peer address, which the server's rate limits count by.
                let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
                axum::serve(listener, app).await.unwrap();
            });
            Running::new(addr, move || task.abort())
        })
    }
}
