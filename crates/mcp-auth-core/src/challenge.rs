//! The `WWW-Authenticate: Bearer` challenge (RFC 6750 section 3) with the `resource_metadata`
//! parameter of RFC 9728 section 5.1.
//!
//! Every parameter value is either configuration (validated URLs, scope tokens) or fixed text;
//! nothing a client sent is ever echoed. Values are still escaped as `quoted-string`s.
//!
//! # Example
//!
//! ```
//! use mcp_auth_core::challenge::ChallengeContext;
//! use mcp_auth_core::AuthError;
//!
//! let ctx = ChallengeContext::new()
//!     .resource_metadata("https://mcp.example.com/.well-known/oauth-protected-resource")
//!     .scope("mcp:tools".parse().unwrap());
//! let response = AuthError::MissingToken.to_response(&ctx);
//! assert_eq!(
//!     response.www_authenticate.unwrap(),
//!     r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource", scope="mcp:tools""#
//! );
//! ```

use std::fmt;

use crate::scope::Scopes;

/// The `error` codes of RFC 6750 section 3.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: the request is malformed.
    InvalidRequest,
    /// 401: the token is expired, revoked, malformed or otherwise invalid.
    InvalidToken,
    /// 403: the token lacks the needed scope.
    InsufficientScope,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
        }
    }
}

/// What a protected resource says in every challenge: where its metadata is, and which scopes
/// to ask for by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChallengeContext {
    realm: Option<String>,
    resource_metadata: Option<String>,
    scope: Option<Scopes>,
}

impl ChallengeContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the protected resource metadata URL (RFC 9728 section 5.1).
    pub fn resource_metadata(mut self, url: impl Into<String>) -> Self {
        self.resource_metadata = Some(url.into());
        self
    }

    /// Sets the scopes a client should request when it has no token (MCP scope selection).
    pub fn scope(mut self, scopes: Scopes) -> Self {
        self.scope = (!scopes.is_empty()).then_some(scopes);
        self
    }

    /// Sets the `realm` (RFC 6750 section 3).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// The default scopes.
    pub fn scopes(&self) -> Option<&Scopes> {
        self.scope.as_ref()
    }

    /// The metadata URL.
    pub fn resource_metadata_url(&self) -> Option<&str> {
        self.resource_metadata.as_deref()
    }
}

/// One `Bearer` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerChallenge {
    realm: Option<String>,
    resource_metadata: Option<String>,
    scope: Option<String>,
    error: Option<ErrorCode>,
    error_description: Option<&'static str>,
}

impl BearerChallenge {
    /// A challenge with the context's realm and metadata URL, no scope and no error.
    pub fn from_context(ctx: &ChallengeContext) -> Self {
        Self {
            realm: ctx.realm.clone(),
            resource_metadata: ctx.resource_metadata.clone(),
            scope: None,
            error: None,
            error_description: None,
        }
    }

    /// Sets the `scope` parameter when `scopes` is non-empty.
    pub fn scope_opt(mut self, scopes: Option<&Scopes>) -> Self {
        self.scope = scopes.filter(|s| !s.is_empty()).map(ToString::to_string);
        self
    }

    /// Sets the `error` and `error_description` parameters.
    pub fn error(mut self, code: ErrorCode, description: &'static str) -> Self {
        self.error = Some(code);
        self.error_description = Some(description);
        self
    }

    /// The `error` code.
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.error
    }

    /// `{"error": ..., "error_description": ...}`, for the response body.
    pub fn json_body(&self) -> String {
        let mut body = serde_json::Map::new();
        if let Some(code) = self.error {
            body.insert("error".into(), code.as_str().into());
        }
        if let Some(description) = self.error_description {
            body.insert("error_description".into(), description.into());
        }
        serde_json::Value::Object(body).to_string()
    }
}

/// Writes `value` as an RFC 9110 `quoted-string`: `"` and `\` escaped, controls dropped.
fn write_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
}

impl fmt::Display for BearerChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(160);
        out.push_str("Bearer");
        let mut sep = " ";
        let mut param = |out: &mut String, name: &str, value: &str| {
            out.push_str(sep);
            out.push_str(name);
            out.push('=');
            write_quoted(out, value);
            sep = ", ";
        };
        if let Some(realm) = &self.realm {
            param(&mut out, "realm", realm);
        }
        if let Some(url) = &self.resource_metadata {
            param(&mut out, "resource_metadata", url);
        }
        if let Some(scope) = &self.scope {
            param(&mut out, "scope", scope);
        }
        if let Some(code) = self.error {
            param(&mut out, "error", code.as_str());
        }
        if let Some(description) = self.error_description {
            param(&mut out, "error_description", description);
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AuthError, InvalidRequestReason};

    #[test]
    fn quoted_values_are_escaped() {
        let ctx = ChallengeContext::new().realm("a\"b\\c\r\n");
        let response = AuthError::MissingToken.to_response(&ctx);
        assert_eq!(
            response.www_authenticate.as_deref(),
            Some(r#"Bearer realm="a\"b\\c""#)
        );
    }

    #[test]
    fn insufficient_scope_names_the_scope() {
        let ctx = ChallengeContext::new()
            .resource_metadata("https://r/.well-known/oauth-protected-resource");
        let response = AuthError::InsufficientScope {
            required: "greet".parse().unwrap(),
        }
        .to_response(&ctx);
        assert_eq!(response.status, 403);
        assert_eq!(
            response.www_authenticate.as_deref(),
            Some(
                r#"Bearer resource_metadata="https://r/.well-known/oauth-protected-resource", scope="greet", error="insufficient_scope", error_description="the token lacks a scope this request needs""#
            )
        );
    }

    #[test]
    fn invalid_request_is_400() {
        let response = AuthError::InvalidRequest(InvalidRequestReason::DuplicateAuthorization)
            .to_response(&ChallengeContext::new());
        assert_eq!(response.status, 400);
        assert_eq!(
            response.www_authenticate.as_deref(),
            Some(
                r#"Bearer error="invalid_request", error_description="more than one Authorization header""#
            )
        );
    }

    #[test]
    fn server_faults_say_nothing() {
        let err = AuthError::Internal("database password is hunter2".into());
        let response = err.to_response(&ChallengeContext::new());
        assert_eq!(response.status, 500);
        assert_eq!(response.www_authenticate, None);
        assert!(!response.body.contains("hunter2"));
        let err = AuthError::Unavailable {
            retry_after: None,
            source: None,
        };
        let response = err.to_response(&ChallengeContext::new());
        assert_eq!((response.status, response.retry_after), (503, Some(5)));
    }
}
