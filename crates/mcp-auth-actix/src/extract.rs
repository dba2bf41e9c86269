//! Extractors: the authenticated [`Principal`], and scope checks per route or scope.
//!
//! # Example
//!
//! ```
//! use actix_web::{App, web};
//! use mcp_auth_actix::{Authenticated, RequireScopes};
//!
//! async fn whoami(Authenticated(principal): Authenticated) -> String {
//!     principal.subject().to_owned()
//! }
//!
//! // Behind AuthMiddleware (wrapped around an enclosing scope): 403 unless the token has `admin`.
//! let admin = web::resource("/admin")
//!     .wrap(RequireScopes::new("admin".parse().unwrap()))
//!     .route(web::get().to(whoami));
//! # let _ = App::new().service(admin);
//! ```

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::{Error, FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError};
use futures::future::LocalBoxFuture;
use mcp_auth_core::challenge::ChallengeContext;
use mcp_auth_core::{AuthError, Principal, Scopes};

use crate::middleware::AuthContext;
use crate::response::error_response;

/// The principal placed in the request by [`crate::AuthMiddleware`].
///
/// Rejected with 500 (and an error log) when the route is not behind the middleware: that is a
/// wiring mistake, never a client's fault, and must not silently pass.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

/// Why an extractor refused; answered exactly as [`crate::AuthMiddleware`] answers the same
/// error (status, `WWW-Authenticate`, `Retry-After`, `Content-Type`, `Cache-Control`, body).
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

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for AuthRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.to_response(&self.challenge).status)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        error_response(&self.error, &self.challenge)
    }
}

fn not_behind_middleware() -> AuthError {
    AuthError::Internal("route is not behind AuthMiddleware".into())
}

impl FromRequest for Authenticated {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(match request.extensions().get::<Principal>() {
            Some(principal) => Ok(Self(principal.clone())),
            None => {
                tracing::error!("Authenticated extractor used on a route without AuthMiddleware");
                Err(AuthRejection {
                    error: not_behind_middleware(),
                    challenge: ChallengeContext::default(),
                })
            }
        })
    }
}

/// A middleware requiring scopes of the authenticated principal (403 `insufficient_scope`
/// naming them). `wrap` it on a resource or scope inside the one [`crate::AuthMiddleware`]
/// wraps; outside it, every request is answered 500.
#[derive(Debug, Clone)]
pub struct RequireScopes {
    scopes: Arc<Scopes>,
}

impl RequireScopes {
    /// Requires every scope of `scopes`.
    pub fn new(scopes: Scopes) -> Self {
        Self {
            scopes: Arc::new(scopes),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequireScopes
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = RequireScopesService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireScopesService {
            service: Rc::new(service),
            scopes: self.scopes.clone(),
        }))
    }
}

/// The service made by [`RequireScopes`].
pub struct RequireScopesService<S> {
    service: Rc<S>,
    scopes: Arc<Scopes>,
}

impl<S> std::fmt::Debug for RequireScopesService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireScopesService")
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for RequireScopesService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let refusal = {
            let extensions = request.extensions();
            let verdict = match extensions.get::<Principal>() {
                Some(principal) => principal.require_scopes(&self.scopes),
                None => Err(not_behind_middleware()),
            };
            verdict.err().map(|err| {
                let challenge = extensions
                    .get::<Arc<AuthContext>>()
                    .map(|c| c.challenge().clone())
                    .unwrap_or_default();
                error_response(&err, &challenge)
            })
        };
        match refusal {
            None => {
                let future = self.service.call(request);
                Box::pin(async move { future.await.map(ServiceResponse::map_into_left_body) })
            }
            Some(response) => {
                let response = request.into_response(response).map_into_right_body();
                Box::pin(async move { Ok(response) })
            }
        }
    }
}
