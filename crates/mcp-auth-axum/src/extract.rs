//! Extractors: the authenticated [`Principal`], and scope checks per route.
//!
//! # Example
//!
//! ```
//! use axum::{Router, routing::get};
//! use mcp_auth_axum::{Authenticated, RequireScopesLayer};
//!
//! async fn whoami(Authenticated(principal): Authenticated) -> String {
//!     principal.subject().to_owned()
//! }
//!
//! let admin: Router = Router::new()
//!     .route("/admin", get(whoami))
//!     .route_layer(RequireScopesLayer::new("admin".parse().unwrap()));
//! # let _ = admin;
//! ```

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::Request;
use http::request::Parts;
use mcp_auth_core::challenge::ChallengeContext;
use mcp_auth_core::{AuthError, Principal, Scopes};
use tower::{Layer, Service};

use crate::layer::AuthContext;
use crate::response::error_response;

/// The principal placed in the request by [`crate::AuthLayer`].
///
/// Rejected with 500 (and an error log) when the route is not behind the layer: that is a
/// wiring mistake, never a client's fault, and must not silently pass.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

/// Why an extractor refused.
#[derive(Debug)]
pub struct AuthRejection {
    error: AuthError,
    challenge: ChallengeContext,
}

impl AuthRejection {
    /// The underlying error.
    pub fn error(&self) -> &AuthError {
        &self.error
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        error_response(&self.error, &self.challenge)
    }
}

fn challenge_of(parts: &http::Extensions) -> ChallengeContext {
    parts
        .get::<Arc<AuthContext>>()
        .map(|c| c.challenge().clone())
        .unwrap_or_default()
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Principal>() {
            Some(principal) => Ok(Self(principal.clone())),
            None => {
                tracing::error!("Authenticated extractor used on a route without AuthLayer");
                Err(AuthRejection {
                    error: AuthError::Internal("route is not behind AuthLayer".into()),
                    challenge: ChallengeContext::default(),
                })
            }
        }
    }
}

/// A route layer requiring scopes of the authenticated principal (403 `insufficient_scope`).
#[derive(Debug, Clone)]
pub struct RequireScopesLayer {
    scopes: Arc<Scopes>,
}

impl RequireScopesLayer {
    /// Requires every scope of `scopes`.
    pub fn new(scopes: Scopes) -> Self {
        Self {
            scopes: Arc::new(scopes),
        }
    }
}

impl<S> Layer<S> for RequireScopesLayer {
    type Service = RequireScopes<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopes {
            inner,
            scopes: self.scopes.clone(),
        }
    }
}

/// The service made by [`RequireScopesLayer`].
#[derive(Debug, Clone)]
pub struct RequireScopes<S> {
    inner: S,
    scopes: Arc<Scopes>,
}

impl<S> Service<Request<Body>> for RequireScopes<S>
where
    S: Service<Request<Body>, Error = Infallible> + Send + 'static,
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
        let verdict = match request.extensions().get::<Principal>() {
            Some(principal) => principal.require_scopes(&self.scopes),
            None => Err(AuthError::Internal("route is not behind AuthLayer".into())),
        };
        match verdict {
            Ok(()) => {
                let future = self.inner.call(request);
                Box::pin(async move { future.await.map(IntoResponse::into_response) })
            }
            Err(err) => {
                let response = error_response(&err, &challenge_of(request.extensions()));
                Box::pin(async move { Ok(response) })
            }
        }
    }
}
