//! The resource server's decision procedure, framework-free: every adapter (axum, actix-web)
//! runs these steps and only translates requests and responses (feature `guard`).
//!
//! For each request, before routing:
//!
//! 1. [`ResourceGuard::authenticate`]: the one `Authorization: Bearer` header is read
//!    ([`crate::bearer`]; a token in the query is refused), the token validated, the scopes every
//!    request needs checked. (Adapters call [`ResourceGuard::authenticate_now`], which decides
//!    without awaiting whenever the validator can answer at once, and await
//!    [`ResourceGuard::finish_authentication`] only when it cannot.)
//! 2. [`ResourceGuard::check_tools`]: for a `POST` when tool scopes are configured, the
//!    JSON-RPC body's `tools/call`s are checked (403 `insufficient_scope` for step-up);
//! 3. [`ResourceGuard::check_session`]: an `Mcp-Session-Id` opened by another principal is
//!    replaced by [`FOREIGN_SESSION`], so the MCP server answers as for an unknown session;
//! 4. [`ResourceGuard::after_response`]: a session the MCP server issued is bound to the
//!    principal; a deleted one is unbound.
//!
//! Refusals come back as [`ErrorResponse`]s (RFC 6750 challenges with RFC 9728
//! `resource_metadata`) and are audited through `tracing` target [`AUDIT_TARGET`]. Adapters
//! write them with [`refusal_headers`], answer an oversized body with [`body_too_large`], and
//! their in-handler scope checks (rmcp tool handlers) answer with [`handler_require_scopes`].
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use mcp_auth_core::guard::ResourceGuard;
//! use mcp_auth_core::metadata::{ProtectedResource, ResourceUri};
//! use mcp_auth_core::{validator_fn, AuthError, BearerToken, Principal};
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap(); rt.block_on(async {
//! let validator = validator_fn(|_t: BearerToken| async { Ok(Principal::builder("alice").scopes("mcp:tools".parse().unwrap()).build()) });
//! let resource = ProtectedResource::new(ResourceUri::parse("https://mcp.example.com/mcp").unwrap());
//! let guard = ResourceGuard::new(Arc::new(validator), resource).tool_scopes("hello", "greet".parse().unwrap());
//!
//! let missing = guard.authenticate("POST", "/mcp", None::<&[u8]>, None).await.unwrap_err();
//! assert_eq!(missing.status, 401);
//!
//! let admitted = guard.authenticate("POST", "/mcp", [b"Bearer t".as_slice()], None).await.unwrap();
//! let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"hello"}}"#;
//! let step_up = guard.check_tools(&admitted, body).unwrap_err();
//! assert_eq!(step_up.status, 403);
//! # });
//! ```

mod audit;
mod body;
mod session;
mod tool_scope;
mod wire;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

pub use audit::AUDIT_TARGET;
pub use body::{BodyBuffer, BodyTooLarge};
pub use session::{FOREIGN_SESSION, MCP_SESSION_ID};
pub use tool_scope::CalledTools;
pub use wire::{
    HandlerRefusal, JSONRPC_INSUFFICIENT_SCOPE, JSONRPC_INTERNAL_ERROR, REFUSAL_CACHE_CONTROL,
    REFUSAL_CONTENT_TYPE, body_too_large, handler_principal, handler_require_scopes,
    refusal_headers,
};

use self::session::{Owner, SessionBindings};
use self::tool_scope::ToolScopes;
use crate::bearer::{
    MALFORMED, bearer_credentials, parse_bearer_credentials, single_authorization,
};
use crate::challenge::ChallengeContext;
use crate::error::{AuthError, ErrorResponse};
use crate::metadata::ProtectedResource;
use crate::principal::Principal;
use crate::scope::Scopes;
use crate::secret::{BearerToken, Fingerprint, digest_of};
use crate::validator::TokenValidator;

/// The largest request body inspected for tool scopes (4 MiB); adapters answer 413 above it.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

struct Inner {
    validator: Arc<dyn TokenValidator>,
    challenge: ChallengeContext,
    required: Scopes,
    tools: ToolScopes,
    sessions: Option<SessionBindings>,
    max_body: usize,
}

/// The resource server's policy; cheap to clone.
#[derive(Clone)]
pub struct ResourceGuard {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ResourceGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceGuard")
            .field("challenge", &self.inner.challenge)
            .field("required", &self.inner.required)
            .field("tools", &self.inner.tools)
            .field("session_binding", &self.inner.sessions.is_some())
            .finish_non_exhaustive()
    }
}

/// A request that passed [`ResourceGuard::authenticate`].
#[derive(Debug, Clone)]
pub struct Admitted {
    principal: Principal,
    token: Presented,
    /// For the audit events and the `DELETE` check; the common methods and paths cost no
    /// allocation.
    method: Cow<'static, str>,
    path: Cow<'static, str>,
}

impl Admitted {
    /// The authenticated principal.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The token's fingerprint, for logs.
    pub fn fingerprint(&self) -> Fingerprint {
        self.token.fingerprint()
    }
}

/// What the guard keeps of an admitted request's token: only its fingerprint is read after
/// admission, for the audit events (computed only if an event is recorded, or
/// [`Admitted::fingerprint`] is called, and only once with the cache's key).
#[derive(Debug, Clone)]
pub(crate) enum Presented {
    /// The token, read from the request.
    Token(BearerToken),
    /// The SHA-256 of a token the validator recalled without it being read
    /// ([`TokenValidator::recall`]).
    Recalled([u8; 32]),
}

impl Presented {
    pub(crate) fn fingerprint(&self) -> Fingerprint {
        match self {
            Self::Token(token) => token.fingerprint(),
            Self::Recalled(digest) => Fingerprint::of_digest(digest),
        }
    }
}

/// Step 1 as far as it went without awaiting ([`ResourceGuard::authenticate_now`]).
#[derive(Debug)]
#[must_use = "a pending authentication admits nobody until it is finished"]
pub enum Authentication {
    /// Decided: admitted, or refused (already audited).
    Done(Result<Admitted, ErrorResponse>),
    /// The validator must be awaited: pass this to [`ResourceGuard::finish_authentication`].
    Pending(PendingAuthentication),
}

/// A request whose token awaits the validator ([`Authentication::Pending`]).
#[derive(Debug)]
pub struct PendingAuthentication {
    token: BearerToken,
    method: Cow<'static, str>,
    path: Cow<'static, str>,
}

/// What to do with a presented `Mcp-Session-Id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionVerdict {
    /// Pass the request on as it is.
    Pass,
    /// The session belongs to another principal: replace the header with [`FOREIGN_SESSION`].
    Foreign,
}

impl ResourceGuard {
    /// A guard validating with `validator`, answering challenges for `resource`. Session binding
    /// is on.
    pub fn new(validator: Arc<dyn TokenValidator>, resource: ProtectedResource) -> Self {
        Self {
            inner: Arc::new(Inner {
                validator,
                challenge: resource.challenge_context(),
                required: Scopes::new(),
                tools: ToolScopes::default(),
                sessions: Some(SessionBindings::new(
                    100_000,
                    Duration::from_secs(24 * 3600),
                )),
                max_body: DEFAULT_MAX_BODY,
            }),
        }
    }

    fn edit(self, f: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            validator: shared.validator.clone(),
            challenge: shared.challenge.clone(),
            required: shared.required.clone(),
            tools: shared.tools.clone(),
            sessions: shared.sessions.clone(),
            max_body: shared.max_body,
        });
        f(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Scopes every request must carry (403 `insufficient_scope` otherwise).
    pub fn require_scopes(self, scopes: Scopes) -> Self {
        self.edit(|s| s.required.extend(&scopes))
    }

    /// Scopes a `tools/call` of `tool` must carry.
    pub fn tool_scopes(self, tool: impl Into<String>, scopes: Scopes) -> Self {
        let tool = tool.into();
        self.edit(|s| s.tools.insert(tool, scopes))
    }

    /// Largest body inspected for tool scopes (default 4 MiB).
    pub fn max_body(self, bytes: usize) -> Self {
        self.edit(|s| s.max_body = bytes)
    }

    /// Turns session binding off: only for servers that run stateless (no `Mcp-Session-Id`).
    pub fn insecure_without_session_binding(self) -> Self {
        self.edit(|s| s.sessions = None)
    }

    /// The challenge parameters of this resource.
    pub fn challenge(&self) -> &ChallengeContext {
        &self.inner.challenge
    }

    /// Renders `err` with this resource's challenge.
    pub fn refuse(&self, err: &AuthError) -> ErrorResponse {
        err.to_response(&self.inner.challenge)
    }

    /// Whether `POST` bodies must be read for [`ResourceGuard::check_tools`].
    pub fn inspects_bodies(&self) -> bool {
        !self.inner.tools.is_empty()
    }

    /// The body limit for [`ResourceGuard::check_tools`].
    pub fn body_limit(&self) -> usize {
        self.inner.max_body
    }

    /// Step 1: reads the bearer token from the `Authorization` header values and the raw query,
    /// validates it, and checks the scopes every request needs.
    ///
    /// `authorization` yields the raw value of each `Authorization` header: pass the framework's
    /// header iterator as it is ([`extract_bearer`](crate::bearer::extract_bearer)).
    ///
    /// # Errors
    ///
    /// The response to send (400, 401, 403, 500 or 503), already audited.
    pub async fn authenticate<I>(
        &self,
        method: &str,
        path: &str,
        authorization: I,
        query: Option<&str>,
    ) -> Result<Admitted, ErrorResponse>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        match self.authenticate_now(method, path, authorization, query) {
            Authentication::Done(decided) => decided,
            Authentication::Pending(pending) => self.finish_authentication(pending).await,
        }
    }

    /// Step 1 as far as it goes without awaiting: [`ResourceGuard::authenticate`] for adapters
    /// that save an `await` (and the state it keeps) when the validator answers at once, as a
    /// cache hit or an HMAC check does ([`TokenValidator::validate_now`]).
    ///
    /// A refusal is decided here whenever it can be (a missing or malformed header never
    /// reaches the validator); otherwise [`Authentication::Pending`] carries the token to
    /// [`ResourceGuard::finish_authentication`].
    pub fn authenticate_now<I>(
        &self,
        method: &str,
        path: &str,
        authorization: I,
        query: Option<&str>,
    ) -> Authentication
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let refused = |err: AuthError| {
            audit::refused(&err, None, None, method, path);
            Authentication::Done(Err(self.refuse(&err)))
        };
        let value = match single_authorization(authorization, query) {
            Ok(value) => value,
            Err(err) => return refused(err),
        };
        let value = value.as_ref();
        let validator = &self.inner.validator;
        // A validator that recalls (a cache) is asked first, by the digest of the bytes in the
        // token's place: on a hit they are a token it accepted before, so their syntax is
        // known good, and the check, the copy and its zeroizing are spared (over half of what
        // a cache hit costs).
        let mut digest = None;
        if validator.recalls()
            && let Some(raw) = bearer_credentials(value)
        {
            let known = digest_of(raw);
            if let Some(principal) = validator.recall(&known) {
                return Authentication::Done(self.conclude(
                    Presented::Recalled(known),
                    Ok(principal),
                    method_name(method),
                    path_name(path),
                ));
            }
            digest = Some(known);
        }
        let Some(token) = parse_bearer_credentials(value) else {
            return refused(MALFORMED);
        };
        let token = BearerToken::with_digest(token.to_owned(), digest);
        match validator.validate_now(&token) {
            Some(verdict) => Authentication::Done(self.conclude(
                Presented::Token(token),
                verdict,
                method_name(method),
                path_name(path),
            )),
            None => Authentication::Pending(PendingAuthentication {
                token,
                method: method_name(method),
                path: path_name(path),
            }),
        }
    }

    /// Awaits the validator for a token [`ResourceGuard::authenticate_now`] could not decide.
    ///
    /// # Errors
    ///
    /// As [`ResourceGuard::authenticate`].
    pub async fn finish_authentication(
        &self,
        pending: PendingAuthentication,
    ) -> Result<Admitted, ErrorResponse> {
        let PendingAuthentication {
            token,
            method,
            path,
        } = pending;
        let verdict = self.inner.validator.validate(&token).await;
        self.conclude(Presented::Token(token), verdict, method, path)
    }

    /// Admits the bearer of `token` on the validator's `verdict`, if it holds the scopes every
    /// request needs.
    fn conclude(
        &self,
        token: Presented,
        verdict: Result<Principal, AuthError>,
        method: Cow<'static, str>,
        path: Cow<'static, str>,
    ) -> Result<Admitted, ErrorResponse> {
        let principal = match verdict {
            Ok(principal) => principal,
            Err(err) => {
                audit::refused(&err, Some(&token), None, &method, &path);
                return Err(self.refuse(&err));
            }
        };
        let admitted = Admitted {
            principal,
            token,
            method,
            path,
        };
        self.require(&admitted, &self.inner.required)?;
        Ok(admitted)
    }

    fn require(&self, admitted: &Admitted, needed: &Scopes) -> Result<(), ErrorResponse> {
        admitted.principal.require_scopes(needed).map_err(|err| {
            audit::refused(
                &err,
                Some(&admitted.token),
                Some(admitted.principal.subject()),
                &admitted.method,
                &admitted.path,
            );
            self.refuse(&err)
        })
    }

    /// Step 2: checks the tools a JSON-RPC body calls against their required scopes. Returns
    /// the tools called, for the audit event of [`ResourceGuard::check_session`]; they borrow
    /// from `body`.
    ///
    /// # Errors
    ///
    /// 403 `insufficient_scope` naming every scope the called tools need.
    pub fn check_tools<'b>(
        &self,
        admitted: &Admitted,
        body: &'b [u8],
    ) -> Result<CalledTools<'b>, ErrorResponse> {
        let tools = &self.inner.tools;
        // The names are read for the audit event only if it is recorded.
        let (tools, needed) = if tools.named_in(body) || audit::allowed_is_recorded() {
            tools.requirements(body)
        } else {
            (CalledTools::none(), Cow::Owned(Scopes::new()))
        };
        self.require(admitted, &needed)?;
        Ok(tools)
    }

    /// Step 3: what to do with the presented `Mcp-Session-Id`, if any; also emits the
    /// "allowed" audit event for the request.
    pub fn check_session(
        &self,
        admitted: &Admitted,
        session: Option<&str>,
        tools: &CalledTools<'_>,
    ) -> SessionVerdict {
        let foreign = match (&self.inner.sessions, session) {
            (Some(sessions), Some(session)) => {
                sessions.check(session, &admitted.principal.identity_key()) == Some(false)
            }
            _ => false,
        };
        if foreign {
            audit::foreign_session(admitted);
            SessionVerdict::Foreign
        } else {
            audit::allowed(
                &admitted.principal,
                &admitted.token,
                &admitted.method,
                &admitted.path,
                tools,
            );
            SessionVerdict::Pass
        }
    }

    /// Step 4: after the MCP server answered: binds a newly issued session to the principal,
    /// or unbinds a session the principal deleted.
    pub fn after_response(
        &self,
        admitted: &Admitted,
        presented: Option<&str>,
        issued: Option<&str>,
        success: bool,
    ) {
        let Some(sessions) = &self.inner.sessions else {
            return;
        };
        match (presented, issued) {
            (None, Some(issued)) => {
                let owner: Owner = Arc::new((
                    admitted.principal.issuer().map(str::to_owned),
                    admitted.principal.subject().to_owned(),
                ));
                sessions.bind(issued.to_owned(), owner);
            }
            // Only the owner's DELETE reaches the real session (others carry FOREIGN_SESSION).
            (Some(session), _)
                if admitted.method.eq_ignore_ascii_case("DELETE")
                    && success
                    && sessions.check(session, &admitted.principal.identity_key())
                        == Some(true) =>
            {
                sessions.unbind(session);
            }
            _ => {}
        }
    }
}

/// `method` without an allocation when it is one of the methods of RFC 9110 section 9.
fn method_name(method: &str) -> Cow<'static, str> {
    const KNOWN: [&str; 8] = [
        "GET", "POST", "DELETE", "HEAD", "PUT", "OPTIONS", "PATCH", "TRACE",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method)
        .map_or_else(|| Cow::Owned(method.to_owned()), Cow::Borrowed)
}

/// `path` without an allocation when it is `/mcp`, the endpoint path the MCP specification's
/// examples use and most servers keep (the path is kept for every admitted request, for its
/// audit events).
fn path_name(path: &str) -> Cow<'static, str> {
    const MCP: &str = "/mcp";
    if path == MCP {
        Cow::Borrowed(MCP)
    } else {
        Cow::Owned(path.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use super::*;
    use crate::metadata::ResourceUri;
    use crate::validator::validator_fn;

    const TOKEN: &str = "the-secret-token";

    fn guard() -> ResourceGuard {
        let validator = validator_fn(|token: BearerToken| async move {
            if token.expose_secret() == TOKEN {
                Ok(Principal::builder("alice").build())
            } else {
                Err(AuthError::MissingToken)
            }
        });
        let resource =
            ProtectedResource::new(ResourceUri::parse("https://mcp.example.com/mcp").unwrap());
        ResourceGuard::new(Arc::new(validator), resource)
            .tool_scopes("hello", "greet".parse().unwrap())
    }

    /// Answers only through `validate_now`; its `validate` must not be reached.
    struct AnswersNow;

    #[async_trait::async_trait]
    impl TokenValidator for AnswersNow {
        async fn validate(&self, _token: &BearerToken) -> Result<Principal, AuthError> {
            panic!("the guard awaited validate although validate_now answered")
        }

        fn validate_now(&self, token: &BearerToken) -> Option<Result<Principal, AuthError>> {
            (token.expose_secret() == TOKEN).then(|| Ok(Principal::builder("now").build()))
        }
    }

    #[tokio::test]
    async fn an_answer_now_is_taken_without_awaiting_validate() {
        let resource =
            ProtectedResource::new(ResourceUri::parse("https://mcp.example.com/mcp").unwrap());
        let guard = ResourceGuard::new(Arc::new(AnswersNow), resource);
        let bearer = format!("Bearer {TOKEN}");
        let admitted = guard
            .authenticate("POST", "/mcp", [bearer.as_bytes()], None)
            .await
            .unwrap();
        assert_eq!(admitted.principal().subject(), "now");
        // (No refusal here: its audit call site must stay unused by tests without a
        // subscriber, see `audited`. Refusals from `validate_now` are tested with the cache and
        // the HMAC validator.)
        // A validator that never answers now (the closure form) is awaited, as before.
        let admitted = self::guard()
            .authenticate("POST", "/mcp", [bearer.as_bytes()], None)
            .await
            .unwrap();
        assert_eq!(admitted.principal().subject(), "alice");
    }

    #[tokio::test]
    async fn authenticate_now_decides_what_it_can_and_leaves_the_rest_to_finish() {
        let resource =
            ProtectedResource::new(ResourceUri::parse("https://mcp.example.com/mcp").unwrap());
        let bearer = format!("Bearer {TOKEN}");
        // A validator answering at once: decided without awaiting.
        let now = ResourceGuard::new(Arc::new(AnswersNow), resource);
        match now.authenticate_now("POST", "/mcp", [bearer.as_bytes()], None) {
            Authentication::Done(Ok(admitted)) => {
                assert_eq!(admitted.principal().subject(), "now");
            }
            other => panic!("expected an admission, got {other:?}"),
        }
        // A validator that must be awaited: pending, then finished as `authenticate` would.
        let guard = guard();
        let Authentication::Pending(pending) =
            guard.authenticate_now("DELETE", "/mcp/x", [bearer.as_bytes()], None)
        else {
            panic!("the closure validator never answers at once");
        };
        let admitted = guard.finish_authentication(pending).await.unwrap();
        let awaited = guard
            .authenticate("DELETE", "/mcp/x", [bearer.as_bytes()], None)
            .await
            .unwrap();
        assert_eq!(admitted.principal(), awaited.principal());
        assert_eq!(
            (&*admitted.method, &*admitted.path),
            (&*awaited.method, &*awaited.path)
        );
        assert_eq!((&*admitted.method, &*admitted.path), ("DELETE", "/mcp/x"));
    }

    #[tokio::test]
    async fn a_cache_hit_is_recalled_by_digest_without_reading_the_token() {
        use crate::cache::{CacheConfig, CachedValidator};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        let inner = validator_fn(move |token: BearerToken| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                assert_eq!(token.expose_secret(), TOKEN);
                Ok(Principal::builder("alice")
                    .expires_at_unix(u64::MAX / 2)
                    .build())
            }
        });
        let resource =
            ProtectedResource::new(ResourceUri::parse("https://mcp.example.com/mcp").unwrap());
        let guard = ResourceGuard::new(
            Arc::new(CachedValidator::new(inner, CacheConfig::default())),
            resource,
        );
        let bearer = format!("Bearer {TOKEN}");
        // A miss: read, parsed, validated (and cached) as always.
        let Authentication::Pending(pending) =
            guard.authenticate_now("POST", "/mcp", [bearer.as_bytes()], None)
        else {
            panic!("an empty cache cannot answer");
        };
        let first = guard.finish_authentication(pending).await.unwrap();
        assert!(matches!(first.token, Presented::Token(_)));
        // Then recalled by the digest of the bytes after `Bearer 1*SP`, with any scheme case
        // and any number of spaces, as the parser reads them.
        for header in [bearer.clone(), format!("bEARER   {TOKEN}")] {
            match guard.authenticate_now("POST", "/mcp", [header.as_bytes()], None) {
                Authentication::Done(Ok(admitted)) => {
                    assert!(matches!(admitted.token, Presented::Recalled(_)), "{header}");
                    assert_eq!(admitted.principal(), first.principal());
                    assert_eq!(admitted.fingerprint(), first.fingerprint());
                    assert_eq!(
                        admitted.fingerprint(),
                        BearerToken::new(TOKEN).fingerprint()
                    );
                    assert_eq!((&*admitted.method, &*admitted.path), ("POST", "/mcp"));
                }
                other => panic!("expected a recalled admission for {header}, got {other:?}"),
            }
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    /// Runs one allowed and one refused request under a `tracing` subscriber, returning what
    /// the audit log recorded. (One test only: `tracing` caches whether a call site is enabled
    /// process-wide, so tests racing through the same call sites with and without a subscriber
    /// would disturb each other.)
    fn audited() -> String {
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(async {
                let guard = guard();
                let header = format!("Bearer {TOKEN}");
                let admitted = guard
                    .authenticate("POST", "/mcp", [header.as_bytes()], None)
                    .await
                    .unwrap();
                let body = br#"{"method":"tools/call","params":{"name":"whoami"}}"#;
                let tools = guard.check_tools(&admitted, body).unwrap();
                guard.check_session(&admitted, None, &tools);
                assert_eq!(
                    admitted.fingerprint(),
                    BearerToken::new(TOKEN).fingerprint()
                );
                let refused = guard
                    .authenticate("GET", "/mcp/x", [b"Bearer wrong".as_slice()], None)
                    .await;
                assert!(refused.is_err());
            });
        });
        String::from_utf8(sink.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn audit_events_name_the_request_and_the_token_fingerprint_never_the_token() {
        let log = audited();
        let fingerprint = BearerToken::new(TOKEN).fingerprint().to_string();
        let wrong = BearerToken::new("wrong").fingerprint().to_string();
        let lines: Vec<&str> = log.lines().collect();
        assert_eq!(lines.len(), 2, "{log}");
        for (line, outcome, method, path, token) in [
            (lines[0], "allowed", "POST", "/mcp", &fingerprint),
            (lines[1], "refused", "GET", "/mcp/x", &wrong),
        ] {
            assert!(line.contains(AUDIT_TARGET), "{line}");
            for field in [
                format!("outcome=\"{outcome}\""),
                format!("method=\"{method}\""),
                format!("path=\"{path}\""),
                format!("token={token}"),
            ] {
                assert!(line.contains(&field), "{field} not in {line}");
            }
        }
        assert!(lines[0].contains("tools=whoami"), "{log}");
        assert!(!log.contains(TOKEN) && !log.contains("wrong "), "{log}");
    }

    #[test]
    fn common_methods_are_not_copied() {
        assert!(matches!(method_name("POST"), Cow::Borrowed("POST")));
        assert!(matches!(method_name("DELETE"), Cow::Borrowed("DELETE")));
        assert!(matches!(method_name("PROPFIND"), Cow::Owned(m) if m == "PROPFIND"));
        assert!(matches!(method_name("post"), Cow::Owned(m) if m == "post"));
    }

    #[test]
    fn the_usual_endpoint_path_is_not_copied() {
        assert!(matches!(path_name("/mcp"), Cow::Borrowed("/mcp")));
        assert!(matches!(path_name("/mcp/"), Cow::Owned(p) if p == "/mcp/"));
        assert!(matches!(path_name("/v1/mcp"), Cow::Owned(p) if p == "/v1/mcp"));
    }
}
