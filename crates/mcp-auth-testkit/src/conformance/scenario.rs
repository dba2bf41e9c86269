//! What an app under test is configured with, and the pieces of its handlers that must be
//! identical across adapters.

use std::sync::Arc;
use std::time::Duration;

use mcp_auth_core::cache::{CacheConfig, CachedValidator};
use mcp_auth_core::metadata::{ProtectedResource, ResourceUri};
use mcp_auth_core::{
    AuthError, BearerToken, InvalidTokenReason, Principal, Scopes, TokenValidator, validator_fn,
};
use serde::Serialize;

/// The resource every scenario protects unless told otherwise. Fixed (not the listening
/// address) so two servers on different ports answer with identical challenges.
pub const RESOURCE_URI: &str = "https://mcp.example.com/mcp";

/// A token of `alice` (email `alice@example.com`) with `mcp:tools`.
pub const ALICE: &str = "alice-token";
/// A token of `bob` with `mcp:tools`.
pub const BOB: &str = "bob-token";
/// A token of `root` with `mcp:tools greet admin`.
pub const ROOT: &str = "root-token";
/// A token the validator refuses as expired.
pub const EXPIRED: &str = "expired-token";
/// A token whose validation is unavailable, retry after 7 seconds.
pub const UNAVAILABLE: &str = "unavailable-token";
/// A token whose validation is unavailable, with no retry hint.
pub const UNAVAILABLE_NO_HINT: &str = "unavailable-nohint-token";
/// A token whose validation fails inside the server.
pub const INTERNAL: &str = "internal-token";

/// Text of the underlying faults; must never reach a client.
pub const SECRET_CAUSE: &str = "jwks.internal.example refused: password=hunter2";

/// The request header the echo handler turns into a response `Mcp-Session-Id` (a fake MCP
/// server opening a session).
pub const ISSUE_SESSION: &str = "x-issue-session";
/// The response header in which the echo handler reports the `Mcp-Session-Id` it received.
pub const SEEN_SESSION: &str = "x-seen-session";
/// `Content-Type` of the echo handler's response.
pub const ECHO_CONTENT_TYPE: &str = "application/octet-stream";
/// The scope [`crate::conformance`]'s `/admin` and `/open-admin` routes require.
pub const ADMIN_SCOPE: &str = "admin";

/// The validator of every scenario: answers per token as the constants of this module say;
/// any other token has a bad signature.
pub fn scripted_validator() -> Arc<dyn TokenValidator> {
    Arc::new(validator_fn(|token: BearerToken| async move {
        let scopes = |s: &str| s.parse::<Scopes>().unwrap_or_default();
        match token.expose_secret() {
            ALICE => Ok(Principal::builder("alice")
                .email("alice@example.com")
                .scopes(scopes("mcp:tools"))
                .build()),
            BOB => Ok(Principal::builder("bob")
                .scopes(scopes("mcp:tools"))
                .build()),
            ROOT => Ok(Principal::builder("root")
                .scopes(scopes("mcp:tools greet admin"))
                .build()),
            EXPIRED => Err(AuthError::InvalidToken(InvalidTokenReason::Expired)),
            UNAVAILABLE => Err(AuthError::Unavailable {
                retry_after: Some(Duration::from_secs(7)),
                source: Some(SECRET_CAUSE.into()),
            }),
            UNAVAILABLE_NO_HINT => Err(AuthError::Unavailable {
                retry_after: None,
                source: None,
            }),
            INTERNAL => Err(AuthError::Internal(SECRET_CAUSE.into())),
            _ => Err(AuthError::InvalidToken(InvalidTokenReason::BadSignature)),
        }
    }))
}

/// How the middleware of an app under test is configured. Starters apply every field with
/// their adapter's own builder methods.
#[derive(Debug, Clone)]
pub struct Scenario {
    resource: ProtectedResource,
    require_scopes: Option<Scopes>,
    tool_scopes: Vec<(String, Scopes)>,
    max_body: Option<usize>,
    session_binding: bool,
    validation_cache: bool,
}

impl Default for Scenario {
    fn default() -> Self {
        Self::new()
    }
}

impl Scenario {
    /// [`RESOURCE_URI`], scopes `mcp:tools greet admin` (the 401 asks for `mcp:tools`), an
    /// authorization server, nothing else required, session binding on.
    pub fn new() -> Self {
        Self::for_resource(RESOURCE_URI)
    }

    /// [`Scenario::new`] for another resource URI.
    ///
    /// # Panics
    ///
    /// When `uri` is not a valid resource URI.
    pub fn for_resource(uri: &str) -> Self {
        let uri = ResourceUri::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
        let resource = ProtectedResource::new(uri)
            .authorization_server("https://auth.example.com")
            .scopes_supported(scopes("mcp:tools greet admin"))
            .challenge_scopes(scopes("mcp:tools"))
            .resource_name("conformance");
        Self {
            resource,
            require_scopes: None,
            tool_scopes: Vec::new(),
            max_body: None,
            session_binding: true,
            validation_cache: false,
        }
    }

    /// Requires `scopes` of every request.
    pub fn with_require_scopes(mut self, scopes: &str) -> Self {
        self.require_scopes = Some(self::scopes(scopes));
        self
    }

    /// Requires `scopes` of every `tools/call` of `tool`.
    pub fn with_tool_scopes(mut self, tool: &str, scopes: &str) -> Self {
        self.tool_scopes
            .push((tool.to_owned(), self::scopes(scopes)));
        self
    }

    /// Sets the body inspection limit.
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = Some(bytes);
        self
    }

    /// Turns session binding off.
    pub fn without_session_binding(mut self) -> Self {
        self.session_binding = false;
        self
    }

    /// Puts a validation cache ([`CachedValidator`]) in front of the validator. Its principals
    /// then expire an hour ahead: the cache keeps only principals that expire.
    pub fn with_validation_cache(mut self) -> Self {
        self.validation_cache = true;
        self
    }

    /// The validator ([`scripted_validator`], behind a cache with
    /// [`Scenario::with_validation_cache`]).
    pub fn validator(&self) -> Arc<dyn TokenValidator> {
        if !self.validation_cache {
            return scripted_validator();
        }
        let scripted = scripted_validator();
        let expiring = validator_fn(move |token: BearerToken| {
            let scripted = Arc::clone(&scripted);
            async move {
                let principal = scripted.validate(&token).await?;
                let in_an_hour = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |now| now.as_secs())
                    + 3600;
                Ok(principal.into_builder().expires_at_unix(in_an_hour).build())
            }
        });
        Arc::new(CachedValidator::new(expiring, CacheConfig::default()))
    }

    /// The protected resource.
    pub fn resource(&self) -> &ProtectedResource {
        &self.resource
    }

    /// Scopes every request needs, if any (`require_scopes`).
    pub fn require_scopes(&self) -> Option<&Scopes> {
        self.require_scopes.as_ref()
    }

    /// Scopes per tool (`tool_scopes`, in order).
    pub fn tool_scopes(&self) -> &[(String, Scopes)] {
        &self.tool_scopes
    }

    /// The body limit, if not the default (`max_body`).
    pub fn max_body(&self) -> Option<usize> {
        self.max_body
    }

    /// Whether session binding is on (otherwise `insecure_without_session_binding`).
    pub fn session_binding(&self) -> bool {
        self.session_binding
    }

    /// The scopes `/admin` and `/open-admin` require ([`ADMIN_SCOPE`]).
    pub fn admin_scopes(&self) -> Scopes {
        scopes(ADMIN_SCOPE)
    }
}

fn scopes(s: &str) -> Scopes {
    s.parse()
        .unwrap_or_else(|e| panic!("invalid scopes {s:?}: {e:?}"))
}

/// The headers of the echo handler's response, given the `Mcp-Session-Id` and
/// [`ISSUE_SESSION`] request headers it received.
pub fn echo_headers(
    session: Option<&str>,
    issue_session: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut headers = vec![("content-type", ECHO_CONTENT_TYPE.to_owned())];
    if let Some(session) = session {
        headers.push((SEEN_SESSION, session.to_owned()));
    }
    if let Some(issued) = issue_session {
        headers.push(("mcp-session-id", issued.to_owned()));
    }
    headers
}

#[derive(Serialize)]
struct Identity<'a> {
    subject: &'a str,
    email: Option<&'a str>,
    scopes: String,
}

/// The body of `/me` and `/admin` (`Content-Type: application/json`): subject, email and
/// scopes, in that order.
pub fn principal_body(principal: &Principal) -> String {
    serde_json::to_string(&Identity {
        subject: principal.subject(),
        email: principal.email(),
        scopes: principal.scopes().to_string(),
    })
    .unwrap_or_default()
}
