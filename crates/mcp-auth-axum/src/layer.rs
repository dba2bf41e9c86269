//! The tower [`Layer`] that makes a route a protected resource.
//!
//! For every request, before routing (so no method ever gets a 405 before its 401):
//!
//! 1. the one `Authorization: Bearer` header is read ([`mcp_auth_core::bearer`]); a token in the
//!    query string is refused, never read;
//! 2. the token is validated; the [`Principal`](mcp_auth_core::Principal) goes into the request extensions;
//! 3. a `tools/call` naming a tool with required scopes is checked (403 `insufficient_scope`);
//! 4. an `Mcp-Session-Id` is checked against the principal that opened that session;
//! 5. refusals are answered per RFC 6750 with the RFC 9728 `resource_metadata` parameter.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Router, routing::post};
//! use mcp_auth_axum::AuthLayer;
//! use mcp_auth_core::metadata::{ProtectedResource, ResourceUri};
//! use mcp_auth_core::test_util::StaticValidator;
//!
//! let resource = ProtectedResource::new(ResourceUri::parse("https://mcp.example.com/mcp").unwrap())
//!     .authorization_server("https://auth.example.com");
//! let auth = AuthLayer::new(Arc::new(StaticValidator::new()), resource.clone())
//!     .tool_scopes("hello", "greet".parse().unwrap());
//! let app: Router = Router::new()
//!     .route("/mcp", post(|| async { "ok" }))
//!     .layer(auth)
//!     .merge(mcp_auth_axum::metadata_router(&resource));
//! # let _ = app;
//! ```

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::header::AUTHORIZATION;
use http::{HeaderName, HeaderValue, Method, Request};
use mcp_auth_core::challenge::ChallengeContext;
use mcp_auth_core::guard::{
    FOREIGN_SESSION, MCP_SESSION_ID, ResourceGuard, SessionVerdict, body_too_large,
};
use mcp_auth_core::metadata::ProtectedResource;
use mcp_auth_core::{AuthError, Scopes, TokenValidator};
use tower::{Layer, Service};

use crate::response::{error_response, into_response};

pub use mcp_auth_core::guard::DEFAULT_MAX_BODY;

/// `Mcp-Session-Id` as a ready header name: looked up twice per request, and a `&str` name is
/// parsed and checked on every lookup.
const SESSION_HEADER: HeaderName = HeaderName::from_static(MCP_SESSION_ID);

/// What the layer shares with extractors through the request extensions.
#[derive(Debug, Clone)]
pub struct AuthContext {
    pub(crate) challenge: ChallengeContext,
}

impl AuthContext {
    /// The challenge parameters of this resource.
    pub fn challenge(&self) -> &ChallengeContext {
        &self.challenge
    }
}

/// Protects the wrapped service with bearer-token validation: a thin tower wrapper around the
/// framework-free [`ResourceGuard`].
#[derive(Clone, Debug)]
pub struct AuthLayer {
    guard: ResourceGuard,
    context: Arc<AuthContext>,
}

impl AuthLayer {
    /// A layer validating with `validator`, answering challenges for `resource`. Session binding
    /// is on.
    pub fn new(validator: Arc<dyn TokenValidator>, resource: ProtectedResource) -> Self {
        Self::from_guard(ResourceGuard::new(validator, resource))
    }

    /// A layer running `guard`.
    pub fn from_guard(guard: ResourceGuard) -> Self {
        let context = Arc::new(AuthContext {
            challenge: guard.challenge().clone(),
        });
        Self { guard, context }
    }

    /// Scopes every request must carry (403 `insufficient_scope` otherwise).
    pub fn require_scopes(self, scopes: Scopes) -> Self {
        Self::from_guard(self.guard.require_scopes(scopes))
    }

    /// Scopes a `tools/call` of `tool` must carry.
    pub fn tool_scopes(self, tool: impl Into<String>, scopes: Scopes) -> Self {
        Self::from_guard(self.guard.tool_scopes(tool, scopes))
    }

    /// Largest body inspected for tool scopes (default 4 MiB).
    pub fn max_body(self, bytes: usize) -> Self {
        Self::from_guard(self.guard.max_body(bytes))
    }

    /// Turns session binding off: only for servers that run stateless (no `Mcp-Session-Id`).
    pub fn insecure_without_session_binding(self) -> Self {
        Self::from_guard(self.guard.insecure_without_session_binding())
    }

    /// The guard this layer runs.
    pub fn guard(&self) -> &ResourceGuard {
        &self.guard
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = RequireAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireAuth {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone)]
pub struct RequireAuth<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S> RequireAuth<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> std::fmt::Debug for RequireAuth<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireAuth").finish_non_exhaustive()
    }
}

impl<S> Service<Request<Body>> for RequireAuth<S>
where
    S: Service<Request<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // Take the service that was polled ready; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move { Ok(authorize(layer, inner, request).await) })
    }
}

async fn authorize<S>(layer: AuthLayer, mut inner: S, request: Request<Body>) -> Response
where
    S: Service<Request<Body>, Error = Infallible> + Send,
    S::Response: IntoResponse,
{
    let guard = &layer.guard;
    let admitted = match guard
        .authenticate(
            request.method().as_str(),
            request.uri().path(),
            request
                .headers()
                .get_all(AUTHORIZATION)
                .iter()
                .map(HeaderValue::as_bytes),
            request.uri().query(),
        )
        .await
    {
        Ok(admitted) => admitted,
        Err(refusal) => return into_response(refusal),
    };

    // Tool scopes need the JSON-RPC body; read it only when some tool has a requirement.
    let (mut request, tools) = if guard.inspects_bodies() && request.method() == Method::POST {
        let (parts, body) = request.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, guard.body_limit()).await else {
            return into_response(body_too_large());
        };
        match guard.check_tools(&admitted, &bytes) {
            Ok(tools) => (Request::from_parts(parts, Body::from(bytes)), tools),
            Err(refusal) => return into_response(refusal),
        }
    } else {
        (request, Vec::new())
    };

    let presented = request
        .headers()
        .get(&SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if guard.check_session(&admitted, presented.as_deref(), &tools) == SessionVerdict::Foreign {
        // The MCP server then answers exactly as for an unknown session, whatever the method.
        request
            .headers_mut()
            .insert(SESSION_HEADER, HeaderValue::from_static(FOREIGN_SESSION));
    }

    request
        .extensions_mut()
        .insert(admitted.principal().clone());
    request.extensions_mut().insert(layer.context.clone());
    let response = match inner.call(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    };
    let issued = response
        .headers()
        .get(&SESSION_HEADER)
        .and_then(|v| v.to_str().ok());
    guard.after_response(
        &admitted,
        presented.as_deref(),
        issued,
        response.status().is_success(),
    );
    response
}

/// Answers `err` with this resource's challenge; for handlers that check scopes themselves.
pub fn refuse(err: &AuthError, ctx: &AuthContext) -> Response {
    error_response(err, &ctx.challenge)
}
