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

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::{Future, Ready};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use axum::body::{Body, HttpBody};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Method, Request};
use mcp_auth_core::challenge::ChallengeContext;
use mcp_auth_core::guard::{
    Admitted, Authentication, BodyBuffer, CalledTools, FOREIGN_SESSION, MCP_SESSION_ID,
    ResourceGuard, SessionVerdict, body_too_large,
};
use mcp_auth_core::metadata::ProtectedResource;
use mcp_auth_core::{AuthError, Scopes, TokenValidator};
use pin_project_lite::pin_project;
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
    /// Tells this layer's context apart in each thread's copies ([`thread_context`]).
    id: u64,
}

impl AuthLayer {
    /// A layer validating with `validator`, answering challenges for `resource`. Session binding
    /// is on.
    pub fn new(validator: Arc<dyn TokenValidator>, resource: ProtectedResource) -> Self {
        Self::from_guard(ResourceGuard::new(validator, resource))
    }

    /// A layer running `guard`.
    pub fn from_guard(guard: ResourceGuard) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let context = Arc::new(AuthContext {
            challenge: guard.challenge().clone(),
        });
        Self {
            guard,
            context,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
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
            ready: None,
            shared: Arc::new(Shared {
                inner,
                layer: self.clone(),
            }),
        }
    }
}

/// The service made by [`AuthLayer`].
///
/// It answers after an `await` (validation may fetch keys, the body must arrive), so each call
/// needs a copy of the wrapped service of its own. It clones that copy from the service it was
/// built around, once per call, in `poll_ready`, and moves it into the call: axum's router
/// already clones the whole stack for every request, and the usual tower pattern (clone in
/// `call`, keep the clone) would pay a second clone of the wrapped service (for an rmcp
/// `StreamableHttpService`, its configuration) on every request.
///
/// Everything else sits behind one `Arc`, so that a clone (one per request) and the call's own
/// reference each cost one atomic operation on a count all threads share, rather than one per
/// field.
pub struct RequireAuth<S> {
    /// The copy polled ready for the next call, if any.
    ready: Option<S>,
    shared: Arc<Shared<S>>,
}

/// What every clone of a [`RequireAuth`] shares.
struct Shared<S> {
    /// The service as the layer received it; only ever cloned.
    inner: S,
    layer: AuthLayer,
}

impl<S> Clone for RequireAuth<S> {
    fn clone(&self) -> Self {
        // A clone gets its ready copy when it is polled: cloning one here would often be
        // wasted (axum's router clones, then polls the clone).
        Self {
            ready: None,
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S> RequireAuth<S> {
    /// The wrapped service, as the layer received it.
    pub fn get_ref(&self) -> &S {
        &self.shared.inner
    }
}

impl<S> std::fmt::Debug for RequireAuth<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireAuth").finish_non_exhaustive()
    }
}

impl<S> Service<Request<Body>> for RequireAuth<S>
where
    S: Service<Request<Body>, Error = Infallible> + Clone + Send + Sync + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture<S>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.ready
            .get_or_insert_with(|| S::clone(&self.shared.inner))
            .poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The copy polled ready goes with this call; the next call polls a new one. (Called
        // without `poll_ready`, against tower's contract: a fresh copy, unpolled.)
        let inner = self
            .ready
            .take()
            .unwrap_or_else(|| S::clone(&self.shared.inner));
        let authentication = self.shared.layer.guard.authenticate_now(
            request.method().as_str(),
            request.uri().path(),
            request
                .headers()
                .get_all(AUTHORIZATION)
                .iter()
                .map(HeaderValue::as_bytes),
            request.uri().query(),
        );
        let shared = Arc::clone(&self.shared);
        // Authenticated before the future is made, when the validator answers at once: the
        // future then holds no validation state, and stays small enough for the allocator's
        // per-thread cache (glibc's takes blocks up to 1,032 bytes; a larger one is served from
        // the arena's bins, which may first consolidate every freed small block).
        match authentication {
            Authentication::Done(Ok(admitted)) => Serve::start(shared, inner, request, admitted),
            Authentication::Done(Err(refusal)) => ResponseFuture::answered(into_response(refusal)),
            Authentication::Pending(pending) => ResponseFuture {
                kind: Kind::Pending {
                    future: Box::pin(async move {
                        match shared.layer.guard.finish_authentication(pending).await {
                            Ok(admitted) => Serve::start(shared, inner, request, admitted).await,
                            Err(refusal) => Ok(into_response(refusal)),
                        }
                    }),
                },
            },
        }
    }
}

pin_project! {
    /// The response future of [`RequireAuth`]: the wrapped service's answer to an admitted
    /// request, or the refusal.
    ///
    /// Not a boxed future: axum's router already boxes the future of every route, and a box of
    /// our own was one more allocation (and a copy of the future into it) on every request.
    /// Only a validator that must be awaited (a key fetch, an introspection call) is boxed.
    pub struct ResponseFuture<S: Service<Request<Body>>> {
        #[pin]
        kind: Kind<S>,
    }
}

pin_project! {
    #[project = KindProjection]
    enum Kind<S: Service<Request<Body>>> {
        // Admitted: steps 2 to 4 and the wrapped service.
        Serve {
            #[pin]
            serve: Serve<S>,
        },
        // Refused, or a body declared too large: the answer is known.
        Answered {
            answer: Ready<Result<Response, Infallible>>,
        },
        // The validator must be awaited first.
        Pending {
            future: BoxFuture<'static, Result<Response, Infallible>>,
        },
    }
}

impl<S: Service<Request<Body>>> ResponseFuture<S> {
    fn answered(response: Response) -> Self {
        Self {
            kind: Kind::Answered {
                answer: std::future::ready(Ok(response)),
            },
        }
    }
}

impl<S: Service<Request<Body>>> std::fmt::Debug for ResponseFuture<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S> Future for ResponseFuture<S>
where
    S: Service<Request<Body>, Error = Infallible>,
    S::Response: IntoResponse,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProjection::Serve { serve } => serve.poll(cx),
            KindProjection::Answered { answer } => Pin::new(answer).poll(cx),
            KindProjection::Pending { future } => future.as_mut().poll(cx),
        }
    }
}

pin_project! {
    /// Steps 2 to 4 for an admitted request ([`ResourceGuard`]), around the wrapped service's
    /// call.
    ///
    /// Written out by hand rather than as an `async fn`: an `async fn` keeps its arguments for
    /// its whole life and gives every value alive across two awaits a slot of its own (the
    /// `async fn` this replaced took 1,528 bytes under axum's router, this 488); this keeps the
    /// request's parts only while the body arrives, and the wrapped service's future only after.
    struct Serve<S: Service<Request<Body>>> {
        shared: Arc<Shared<S>>,
        inner: S,
        admitted: Admitted,
        // The `Mcp-Session-Id` presented, if any.
        presented: Option<String>,
        #[pin]
        phase: Phase<S::Future>,
    }
}

pin_project! {
    #[project = PhaseProjection]
    enum Phase<F> {
        // Gathering a `POST` body for the tool scopes (step 2).
        Body {
            parts: Option<Parts>,
            body: Body,
            buffer: Option<BodyBuffer>,
        },
        // The wrapped service has the request.
        Call {
            #[pin]
            future: F,
        },
    }
}

impl<S> Serve<S>
where
    S: Service<Request<Body>, Error = Infallible>,
    S::Response: IntoResponse,
{
    /// Serves `request`, whose bearer `admitted` describes, through `inner`; a body declared
    /// larger than the limit is refused at once (413).
    fn start(
        shared: Arc<Shared<S>>,
        mut inner: S,
        request: Request<Body>,
        admitted: Admitted,
    ) -> ResponseFuture<S> {
        let presented = request
            .headers()
            .get(&SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let guard = &shared.layer.guard;
        // Tool scopes need the JSON-RPC body; read it only when some tool has a requirement.
        let phase = if guard.inspects_bodies() && request.method() == Method::POST {
            let (parts, body) = request.into_parts();
            // A declared length over the limit is refused before anything is read.
            if usize::try_from(HttpBody::size_hint(&body).lower())
                .map_or(true, |len| len > guard.body_limit())
            {
                return ResponseFuture::answered(into_response(body_too_large()));
            }
            Phase::Body {
                parts: Some(parts),
                body,
                buffer: Some(BodyBuffer::new(guard.body_limit())),
            }
        } else {
            let verdict =
                guard.check_session(&admitted, presented.as_deref(), &CalledTools::none());
            Phase::Call {
                future: call(&shared.layer, &mut inner, request, &admitted, verdict),
            }
        };
        ResponseFuture {
            kind: Kind::Serve {
                serve: Self {
                    shared,
                    inner,
                    admitted,
                    presented,
                    phase,
                },
            },
        }
    }

    /// Polled by [`ResponseFuture`] only: the body phase, then the wrapped service's call.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Response, Infallible>> {
        let mut this = self.project();
        let guard = &this.shared.layer.guard;
        loop {
            match this.phase.as_mut().project() {
                PhaseProjection::Body {
                    parts,
                    body,
                    buffer,
                } => {
                    let Some(buffered) = buffer.as_mut() else {
                        unreachable!("a body phase always holds its buffer until it ends");
                    };
                    match ready!(Pin::new(body).poll_frame(cx)) {
                        Some(Ok(frame)) => {
                            // Trailers carry no JSON-RPC; only data frames make the body.
                            if let Ok(data) = frame.into_data()
                                && buffered.push(data).is_err()
                            {
                                return Poll::Ready(Ok(into_response(body_too_large())));
                            }
                            continue;
                        }
                        // A body that fails to arrive is answered as one too large to read.
                        Some(Err(_)) => {
                            return Poll::Ready(Ok(into_response(body_too_large())));
                        }
                        None => {}
                    }
                    let bytes = buffer.take().map(BodyBuffer::finish).unwrap_or_default();
                    // The session is checked while the body is at hand: its audit event names
                    // the tools called, borrowed from the body.
                    let verdict = match guard.check_tools(this.admitted, &bytes) {
                        Ok(tools) => {
                            guard.check_session(this.admitted, this.presented.as_deref(), &tools)
                        }
                        Err(refusal) => return Poll::Ready(Ok(into_response(refusal))),
                    };
                    let Some(parts) = parts.take() else {
                        unreachable!("a body phase always holds the parts until it ends");
                    };
                    let request = Request::from_parts(parts, Body::from(bytes));
                    let future = call(
                        &this.shared.layer,
                        this.inner,
                        request,
                        this.admitted,
                        verdict,
                    );
                    this.phase.set(Phase::Call { future });
                }
                PhaseProjection::Call { future } => {
                    let response = match ready!(future.poll(cx)) {
                        Ok(response) => response.into_response(),
                        Err(never) => match never {},
                    };
                    let issued = response
                        .headers()
                        .get(&SESSION_HEADER)
                        .and_then(|v| v.to_str().ok());
                    guard.after_response(
                        this.admitted,
                        this.presented.as_deref(),
                        issued,
                        response.status().is_success(),
                    );
                    return Poll::Ready(Ok(response));
                }
            }
        }
    }
}

/// Hands the admitted request to the wrapped service (the session verdict applied, the
/// principal and the context in its extensions).
fn call<S: Service<Request<Body>>>(
    layer: &AuthLayer,
    inner: &mut S,
    mut request: Request<Body>,
    admitted: &Admitted,
    verdict: SessionVerdict,
) -> S::Future {
    if verdict == SessionVerdict::Foreign {
        // The MCP server then answers exactly as for an unknown session, whatever the method.
        request
            .headers_mut()
            .insert(SESSION_HEADER, HeaderValue::from_static(FOREIGN_SESSION));
    }
    request
        .extensions_mut()
        .insert(admitted.principal().clone());
    request.extensions_mut().insert(thread_context(layer));
    inner.call(request)
}

/// This thread's copy of `layer`'s context, for the request extensions.
///
/// The context goes into every request, and the MCP server clones the extensions again: each
/// clone and drop is an atomic operation on the `Arc`'s count. With one `Arc` for all threads,
/// every such operation first pulls the count's cache line from the core that touched it
/// last; a copy per thread keeps those operations on one core. Each thread keeps the copies of
/// the last few layers it served.
fn thread_context(layer: &AuthLayer) -> Arc<AuthContext> {
    const KEPT: usize = 4;
    /// The slot to fill next, and the copies by layer id.
    type Copies = (usize, [Option<(u64, Arc<AuthContext>)>; KEPT]);
    thread_local! {
        static COPIES: RefCell<Copies> = RefCell::default();
    }
    COPIES.with(|copies| {
        let (next, kept) = &mut *copies.borrow_mut();
        if let Some((_, copy)) = kept.iter().flatten().find(|(id, _)| *id == layer.id) {
            return Arc::clone(copy);
        }
        let copy = Arc::new(AuthContext::clone(&layer.context));
        kept[*next] = Some((layer.id, Arc::clone(&copy)));
        *next = (*next + 1) % KEPT;
        copy
    })
}

/// Answers `err` with this resource's challenge; for handlers that check scopes themselves.
pub fn refuse(err: &AuthError, ctx: &AuthContext) -> Response {
    error_response(err, &ctx.challenge)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use mcp_auth_core::Principal;
    use mcp_auth_core::metadata::ResourceUri;
    use mcp_auth_core::test_util::StaticValidator;

    use super::*;

    /// A service that counts how often it is cloned.
    struct Counted(Arc<AtomicUsize>);

    impl Clone for Counted {
        fn clone(&self) -> Self {
            self.0.fetch_add(1, Ordering::SeqCst);
            Self(Arc::clone(&self.0))
        }
    }

    impl Service<Request<Body>> for Counted {
        type Response = &'static str;
        type Error = Infallible;
        type Future = std::future::Ready<Result<&'static str, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: Request<Body>) -> Self::Future {
            std::future::ready(Ok("inner"))
        }
    }

    fn request(token: &str) -> Request<Body> {
        Request::post("/mcp")
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn each_call_clones_the_wrapped_service_once_and_the_service_is_reusable() {
        let validator = StaticValidator::new().with_token(
            "good",
            Principal::builder("alice")
                .expires_at_unix(u64::MAX / 2)
                .build(),
        );
        let resource =
            ProtectedResource::new(ResourceUri::parse("https://mcp.example.com/mcp").unwrap());
        let clones = Arc::new(AtomicUsize::new(0));
        let mut service = AuthLayer::new(Arc::new(validator), resource)
            .insecure_without_session_binding()
            .layer(Counted(Arc::clone(&clones)));
        for round in 1..=3 {
            // The same instance, polled and called again, as tower allows.
            std::future::poll_fn(|cx| service.poll_ready(cx))
                .await
                .unwrap();
            let response = service.call(request("good")).await.unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(clones.load(Ordering::SeqCst), round);
        }
        // As axum's router uses it: a clone of the stack per request, polled, called once.
        for round in 4..=6 {
            let response = tower::ServiceExt::oneshot(service.clone(), request("good"))
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(clones.load(Ordering::SeqCst), round);
        }
        // A refusal never reaches the wrapped service, but its ready copy is spent all the same.
        let refused = tower::ServiceExt::oneshot(service.clone(), request("bad"))
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
    }

    #[tokio::test]
    async fn the_future_of_an_admitted_request_fits_the_allocators_thread_cache() {
        // A router: its future is the one of the `Route` that `Router::layer` wraps.
        let router: axum::Router =
            axum::Router::new().route("/mcp", axum::routing::post(|| async { "ok" }));
        let validator = StaticValidator::new().with_token(
            "good",
            Principal::builder("alice")
                .scopes("greet".parse().unwrap())
                .expires_at_unix(u64::MAX / 2)
                .build(),
        );
        let resource =
            ProtectedResource::new(ResourceUri::parse("https://mcp.example.com/mcp").unwrap());
        // Tool scopes configured, so a POST's future reads the body before the call.
        let mut service = AuthLayer::new(Arc::new(validator), resource)
            .tool_scopes("hello", "greet".parse().unwrap())
            .layer(router);
        std::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .unwrap();
        let mut call = request("good");
        *call.body_mut() = Body::from(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hello"}}"#,
        );
        let future = service.call(call);
        // glibc's per-thread cache takes blocks of up to 1,032 bytes, and axum's router boxes
        // this future; the `async fn` this replaced took 1,528.
        let size = std::mem::size_of_val(&future);
        assert!(size <= 1032, "the future takes {size} bytes");
        let response = future.await.unwrap();
        assert_eq!(response.status(), 200);
    }

    /// Answers with the `resource_metadata` URL of the context the layer put in the request.
    #[derive(Clone)]
    struct ShowContext;

    impl Service<Request<Body>> for ShowContext {
        type Response = String;
        type Error = Infallible;
        type Future = std::future::Ready<Result<String, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request<Body>) -> Self::Future {
            let context = request.extensions().get::<Arc<AuthContext>>().unwrap();
            std::future::ready(Ok(context
                .challenge()
                .resource_metadata_url()
                .unwrap()
                .to_owned()))
        }
    }

    /// Asserts that an authenticated request through `service` sees the context `expected`.
    async fn assert_shows(service: &RequireAuth<ShowContext>, expected: &str) {
        let response = tower::ServiceExt::oneshot(service.clone(), request("good"))
            .await
            .unwrap();
        let body = axum::body::to_bytes(response.into_body(), 1 << 10)
            .await
            .unwrap();
        assert_eq!(body, expected.as_bytes());
    }

    #[tokio::test]
    async fn each_layer_hands_requests_its_own_context_from_every_thread() {
        let validator = Arc::new(
            StaticValidator::new().with_token(
                "good",
                Principal::builder("alice")
                    .expires_at_unix(u64::MAX / 2)
                    .build(),
            ),
        );
        // More layers than a thread keeps copies of, served in turn on one thread and then on
        // others: every answer names the layer's own resource.
        let services: Vec<_> = (0..6)
            .map(|n| {
                let uri = format!("https://mcp{n}.example.com/mcp");
                let resource = ProtectedResource::new(ResourceUri::parse(&uri).unwrap());
                let expected = resource
                    .challenge_context()
                    .resource_metadata_url()
                    .unwrap()
                    .to_owned();
                let layer =
                    AuthLayer::new(validator.clone(), resource).insecure_without_session_binding();
                (layer.layer(ShowContext), expected)
            })
            .collect();
        for _ in 0..3 {
            for (service, expected) in &services {
                assert_shows(service, expected).await;
            }
        }
        let services = Arc::new(services);
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let services = Arc::clone(&services);
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    runtime.block_on(async {
                        for (service, expected) in services.iter().rev() {
                            assert_shows(service, expected).await;
                        }
                    });
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    }
}
