//! A test server: routes behind an [`AuthLayer`] built by the test, on an ephemeral port.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
use mcp_auth_axum::{AuthLayer, Authenticated, RequireScopesLayer};
use mcp_auth_core::metadata::{ProtectedResource, ResourceUri};
use mcp_auth_core::test_util::StaticValidator;
use mcp_auth_core::{Principal, TokenValidator};
use serde_json::{Value, json};

/// A token of `alice` with `mcp:tools`.
pub(crate) const ALICE: &str = "alice-token";
/// A token of `root` with `mcp:tools greet admin`.
pub(crate) const ROOT: &str = "root-token";

/// The validator knowing [`ALICE`] and [`ROOT`].
pub(crate) fn static_validator() -> Arc<dyn TokenValidator> {
    Arc::new(
        StaticValidator::new()
            .with_token(
                ALICE,
                Principal::builder("alice")
                    .email("alice@example.com")
                    .scopes("mcp:tools".parse().unwrap())
                    .build(),
            )
            .with_token(
                ROOT,
                Principal::builder("root")
                    .scopes("mcp:tools greet admin".parse().unwrap())
                    .build(),
            ),
    )
}

/// Returns the principal as JSON.
async fn me(Authenticated(principal): Authenticated) -> axum::Json<Value> {
    axum::Json(json!({
        "subject": principal.subject(),
        "email": principal.email(),
        "scopes": principal.scopes().to_string(),
    }))
}

/// Returns the request body unchanged.
async fn echo(body: Bytes) -> Bytes {
    body
}

/// A running server.
pub(crate) struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub(crate) origin: String,
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
    /// Serves, on a fresh port whose `/mcp` is the resource:
    /// - `POST /mcp`: echo, behind the layer;
    /// - `GET /me`: the principal, behind the layer;
    /// - `GET /admin`: the principal, behind the layer and [`RequireScopesLayer`] `admin`;
    /// - `GET /open`: the principal extractor on a route without the layer;
    /// - `GET /open-admin`: [`RequireScopesLayer`] on a route without the layer.
    pub(crate) async fn start(
        validator: Arc<dyn TokenValidator>,
        configure: impl FnOnce(AuthLayer) -> AuthLayer,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let resource =
            ProtectedResource::new(ResourceUri::parse(&format!("{origin}/mcp")).unwrap())
                .scopes_supported("mcp:tools".parse().unwrap());
        let layer = configure(AuthLayer::new(validator, resource));
        let admin = Router::new()
            .route("/admin", get(me))
            .route_layer(RequireScopesLayer::new("admin".parse().unwrap()));
        let app = Router::new()
            .route("/mcp", post(echo))
            .route("/me", get(me))
            .merge(admin)
            .layer(layer)
            .merge(Router::new().route("/open", get(me)))
            .merge(
                Router::new()
                    .route("/open-admin", get(|| async { "reached" }))
                    .route_layer(RequireScopesLayer::new("admin".parse().unwrap())),
            );
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            origin,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            task,
        }
    }

    /// `http://127.0.0.1:<port>/.well-known/oauth-protected-resource/mcp`.
    pub(crate) fn metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource/mcp", self.origin)
    }

    /// A request to `path` with `token` as bearer, if any.
    pub(crate) fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.origin));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }
}
