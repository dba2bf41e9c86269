//! The actix-web middleware that makes a scope or resource a protected resource.
//!
//! For every request, before the wrapped service routes it (so no method ever gets a 405 before
//! its 401), the framework-free [`ResourceGuard`] runs:
//!
//! 1. the one `Authorization: Bearer` header is read ([`mcp_auth_core::bearer`]); a token in the
//!    query string is refused, never read;
//! 2. the token is validated; the [`Principal`](mcp_auth_core::Principal) and an
//!    `Arc<`[`AuthContext`]`>` go into the request extensions;
//! 3. a `tools/call` naming a tool with required scopes is checked (403 `insufficient_scope`);
//! 4. an `Mcp-Session-Id` is checked against the principal that opened that session;
//! 5. refusals are answered per RFC 6750 with the RFC 9728 `resource_metadata` parameter.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use actix_web::{App, HttpResponse, web};
//! use mcp_auth_actix::AuthMiddleware;
//! use mcp_auth_core::metadata::{ProtectedResource, ResourceUri};
//! use mcp_auth_core::test_util::StaticValidator;
//!
//! let resource = ProtectedResource::new(ResourceUri::parse("https://mcp.example.com/mcp").unwrap())
//!     .authorization_server("https://auth.example.com");
//! let auth = AuthMiddleware::new(Arc::new(StaticValidator::new()), resource.clone())
//!     .tool_scopes("hello", "greet".parse().unwrap());
//! let app = App::new()
//!     .service(mcp_auth_actix::metadata_service(&resource))
//!     .service(
//!         web::resource("/mcp")
//!             .wrap(auth)
//!             .route(web::post().to(|| async { HttpResponse::Ok().body("ok") })),
//!     );
//! # let _ = app;
//! ```

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Method;
use actix_web::http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use actix_web::{Error, HttpMessage as _, HttpResponse};
use bytes::Bytes;
use futures::StreamExt as _;
use futures::future::LocalBoxFuture;
use mcp_auth_core::challenge::ChallengeContext;
use mcp_auth_core::guard::{
    Admitted, Authentication, BodyBuffer, CalledTools, FOREIGN_SESSION, MCP_SESSION_ID,
    ResourceGuard, SessionVerdict, body_too_large,
};
use mcp_auth_core::metadata::ProtectedResource;
use mcp_auth_core::{AuthError, Scopes, TokenValidator};

use crate::response::{error_response, into_response};

pub use mcp_auth_core::guard::DEFAULT_MAX_BODY;

/// `Mcp-Session-Id` as a ready header name: looked up twice per request, and a `&str` name is
/// parsed and checked on every lookup.
const SESSION_HEADER: HeaderName = HeaderName::from_static(MCP_SESSION_ID);

/// What the middleware shares with extractors through the request extensions (as
/// `Arc<AuthContext>`; read it with `web::ReqData<Arc<AuthContext>>`).
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

/// Protects the wrapped service with bearer-token validation: a thin actix-web wrapper around
/// the framework-free [`ResourceGuard`]. Use it with `wrap` on the scope or resource of the MCP
/// endpoint, not on the whole `App`: the metadata routes must stay public.
#[derive(Clone, Debug)]
pub struct AuthMiddleware {
    guard: ResourceGuard,
    context: Arc<AuthContext>,
}

impl AuthMiddleware {
    /// A middleware validating with `validator`, answering challenges for `resource`. Session
    /// binding is on.
    pub fn new(validator: Arc<dyn TokenValidator>, resource: ProtectedResource) -> Self {
        Self::from_guard(ResourceGuard::new(validator, resource))
    }

    /// A middleware running `guard`.
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

    /// The guard this middleware runs.
    pub fn guard(&self) -> &ResourceGuard {
        &self.guard
    }
}

impl<S, B> Transform<S, ServiceRequest> for AuthMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = AuthMiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        // actix-web builds one service per worker thread. Each gets its own context, whose
        // reference count (one atomic operation per request, to put it in the extensions) is
        // then touched by that thread alone: a count shared by every worker would bounce its
        // cache line between their cores on each request.
        ready(Ok(AuthMiddlewareService {
            service: Rc::new(service),
            auth: Rc::new(Self {
                guard: self.guard.clone(),
                context: Arc::new(AuthContext::clone(&self.context)),
            }),
        }))
    }
}

/// The service made by [`AuthMiddleware`].
pub struct AuthMiddlewareService<S> {
    service: Rc<S>,
    /// Per worker: a request's reference to it is a plain (non-atomic) count.
    auth: Rc<AuthMiddleware>,
}

impl<S> std::fmt::Debug for AuthMiddlewareService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthMiddlewareService")
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for AuthMiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let authentication = self.auth.guard.authenticate_now(
            request.method().as_str(),
            request.path(),
            request
                .headers()
                .get_all(AUTHORIZATION)
                .map(HeaderValue::as_bytes),
            request.uri().query(),
        );
        let auth = Rc::clone(&self.auth);
        let service = Rc::clone(&self.service);
        // Authenticated before the future is made, when the validator answers at once: the
        // future then holds no validation state.
        match authentication {
            Authentication::Done(Ok(admitted)) => Box::pin(serve(auth, service, request, admitted)),
            Authentication::Done(Err(refusal)) => Box::pin(std::future::ready(Ok(answer(
                request,
                into_response(refusal),
            )))),
            Authentication::Pending(pending) => Box::pin(async move {
                match auth.guard.finish_authentication(pending).await {
                    Ok(admitted) => serve(auth, service, request, admitted).await,
                    Err(refusal) => Ok(answer(request, into_response(refusal))),
                }
            }),
        }
    }
}

/// Answers `request` with `response` in place of the wrapped service.
fn answer<B>(request: ServiceRequest, response: HttpResponse) -> ServiceResponse<EitherBody<B>> {
    request.into_response(response).map_into_right_body()
}

/// Reads the whole body, or `None` once it exceeds `limit` bytes or fails to arrive.
async fn read_body(payload: &mut Payload, limit: usize) -> Option<Bytes> {
    let mut body = BodyBuffer::new(limit);
    while let Some(chunk) = payload.next().await {
        body.push(chunk.ok()?).ok()?;
    }
    Some(body.finish())
}

/// Steps 2 to 4 for an admitted request ([`ResourceGuard`]), around the wrapped service's call.
async fn serve<S, B>(
    auth: Rc<AuthMiddleware>,
    service: Rc<S>,
    mut request: ServiceRequest,
    admitted: Admitted,
) -> Result<ServiceResponse<EitherBody<B>>, Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
{
    let guard = &auth.guard;
    let presented = request
        .headers()
        .get(&SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Tool scopes need the JSON-RPC body; read it only when some tool has a requirement. The
    // session is checked while the body is at hand: its audit event names the tools called,
    // borrowed from the body.
    let verdict = if guard.inspects_bodies() && request.method() == Method::POST {
        let mut payload = request.take_payload();
        let Some(body) = read_body(&mut payload, guard.body_limit()).await else {
            return Ok(answer(request, into_response(body_too_large())));
        };
        let verdict = match guard.check_tools(&admitted, &body) {
            Ok(tools) => guard.check_session(&admitted, presented.as_deref(), &tools),
            Err(refusal) => return Ok(answer(request, into_response(refusal))),
        };
        request.set_payload(Payload::from(body));
        verdict
    } else {
        guard.check_session(&admitted, presented.as_deref(), &CalledTools::none())
    };
    if verdict == SessionVerdict::Foreign {
        // The MCP server then answers exactly as for an unknown session, whatever the method.
        request
            .headers_mut()
            .insert(SESSION_HEADER, HeaderValue::from_static(FOREIGN_SESSION));
    }

    request
        .extensions_mut()
        .insert(admitted.principal().clone());
    request.extensions_mut().insert(auth.context.clone());
    let response = service.call(request).await?;
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
    Ok(response.map_into_left_body())
}

/// Answers `err` with this resource's challenge; for handlers that check scopes themselves.
pub fn refuse(err: &AuthError, ctx: &AuthContext) -> HttpResponse {
    error_response(err, &ctx.challenge)
}
