//! OAuth error responses (RFC 6749 section 5.2, RFC 7009 section 2.2.1, RFC 7591 section 3.2.2,
//! RFC 6750 for resource errors): one type, one mapping to status and body; and the log of the
//! server's internal faults ([`SERVER_LOG_TARGET`]).

use std::borrow::Cow;
use std::fmt::Write as _;

use http::StatusCode;
use serde::Serialize;

use crate::http::{Response, json};

/// The `error` codes the server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// Malformed request: missing or repeated parameter, unsupported value.
    InvalidRequest,
    /// Client authentication failed (401 with `WWW-Authenticate` when Basic was used).
    InvalidClient,
    /// The code, refresh token or credentials are invalid, expired, revoked or not the client's.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// A requested scope is invalid or exceeds what was granted.
    InvalidScope,
    /// The `resource` parameter is invalid (RFC 8707 section 2).
    InvalidTarget,
    /// The resource owner or server denied the request.
    AccessDenied,
    /// `response_type` is not supported.
    UnsupportedResponseType,
    /// RFC 7009: the token type is not supported.
    UnsupportedTokenType,
    /// RFC 7591: a redirect URI is invalid.
    InvalidRedirectUri,
    /// RFC 7591: client metadata is invalid.
    InvalidClientMetadata,
    /// Too many requests (answered 429 with `Retry-After`).
    TemporarilyUnavailable,
    /// A fault of the server; no detail is sent.
    ServerError,
}

/// An OAuth error: code and fixed-text description (never an echo of the request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OAuthError {
    /// The error code.
    pub error: ErrorCode,
    /// Fixed, human-readable text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<&'static str>,
}

impl OAuthError {
    /// An error with a description.
    pub fn new(error: ErrorCode, description: &'static str) -> Self {
        Self {
            error,
            error_description: Some(description),
        }
    }

    /// The HTTP status for this error at the token, revocation, introspection or registration
    /// endpoint (RFC 6749 section 5.2: 400 unless client authentication failed).
    pub fn status(&self) -> StatusCode {
        match self.error {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::TemporarilyUnavailable => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The JSON response (`Cache-Control: no-store`).
    pub fn response(&self) -> Response {
        json(self.status(), self)
    }
}

/// The `tracing` target of the server's internal-fault events.
///
/// When a request fails on the server's side (the [`Store`](crate::store::Store), the signing
/// keys, password hashing or the system random source), the client gets a fixed `server_error`
/// answer without detail, and one event is recorded at `ERROR` level with this target: the
/// failed `operation` (e.g. `token: take_code`) and the `error` with its whole
/// [`source`](std::error::Error::source) chain, `password=` values and URL passwords masked.
/// No token or secret is ever part of the event.
pub const SERVER_LOG_TARGET: &str = "mcp_auth::server";

/// Records an internal fault of `operation` (at `ERROR`, target [`SERVER_LOG_TARGET`]). The
/// caller answers the request without detail.
pub(crate) fn log_fault(operation: &'static str, err: &dyn std::error::Error) {
    tracing::error!(
        target: SERVER_LOG_TARGET,
        operation,
        error = %redact(&chain(err)),
        "internal fault; answered without detail",
    );
}

/// `err` and its sources, joined by `: ` (a source whose text its parent already shows is not
/// repeated).
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(next) = source {
        let part = next.to_string();
        if !text.contains(&part) {
            let _ = write!(text, ": {part}");
        }
        source = next.source();
    }
    text
}

/// Keys whose `key=value` value is masked.
const SECRET_KEYS: [&str; 4] = ["password", "passwd", "pwd", "secret"];

/// `text` with the password of URLs (`scheme://user:password@host`) and the values of
/// `password=`-like pairs replaced by `***`.
fn redact(text: &str) -> Cow<'_, str> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    // URL userinfo: `://user:password@`, within one authority.
    let mut from = 0;
    while let Some(at) = text[from..].find("://") {
        let start = from + at + 3;
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '"' | '\'' | ')'))
            .map_or(text.len(), |i| start + i);
        let authority = &text[start..end];
        if let Some(userinfo_end) = authority.rfind('@')
            && let Some(colon) = authority[..userinfo_end].find(':')
        {
            spans.push((start + colon + 1, start + userinfo_end));
        }
        from = end.max(start);
    }
    // `password=value`, `password='value'`, `client_secret=value`, ...
    let lower = text.to_ascii_lowercase();
    for key in SECRET_KEYS {
        let mut from = 0;
        while let Some(at) = lower[from..].find(key) {
            let key_start = from + at;
            let mut value_start = key_start + key.len();
            from = value_start;
            let bounded = !lower[..key_start]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric());
            let rest = &lower[value_start..];
            let trimmed = rest.trim_start_matches(' ');
            if !bounded || !trimmed.starts_with('=') {
                continue;
            }
            value_start += rest.len() - trimmed.len() + 1;
            value_start +=
                lower[value_start..].len() - lower[value_start..].trim_start_matches(' ').len();
            let value_end = match lower[value_start..].chars().next() {
                Some(quote @ ('\'' | '"')) => lower[value_start + 1..]
                    .find(quote)
                    .map_or(text.len(), |i| value_start + 1 + i + 1),
                _ => lower[value_start..]
                    .find(|c: char| {
                        c.is_whitespace() || matches!(c, '&' | ';' | ',' | ')' | '"' | '\'')
                    })
                    .map_or(text.len(), |i| value_start + i),
            };
            if value_end > value_start {
                spans.push((value_start, value_end));
            }
        }
    }
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end) in spans {
        if end <= copied {
            continue;
        }
        out.push_str(&text[copied..start.max(copied)]);
        out.push_str("***");
        copied = end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_masks_passwords_only() {
        for (text, expected) in [
            ("no secret here", "no secret here"),
            (
                "connection to db.internal:5432 refused (user=mcp_auth password=hunter2)",
                "connection to db.internal:5432 refused (user=mcp_auth password=***)",
            ),
            (
                "bad url postgres://app:s3cr3t@db:5432/auth?sslmode=require",
                "bad url postgres://app:***@db:5432/auth?sslmode=require",
            ),
            ("postgres://app@db/auth", "postgres://app@db/auth"),
            ("http://db:5432/x", "http://db:5432/x"),
            (
                "host=db PASSWORD = 'a b' client_secret=xyz&pwd=1;passwords=2",
                "host=db PASSWORD = *** client_secret=***&pwd=***;passwords=2",
            ),
            ("password=", "password="),
            ("trailing password=p@ss", "trailing password=***"),
        ] {
            assert_eq!(redact(text), expected, "{text}");
        }
    }

    #[test]
    fn chain_joins_sources_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error, bool);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                if self.1 {
                    write!(f, "outer: {}", self.0)
                } else {
                    f.write_str("outer")
                }
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let inner = || std::io::Error::other("disk full");
        assert_eq!(chain(&Outer(inner(), false)), "outer: disk full");
        assert_eq!(chain(&Outer(inner(), true)), "outer: disk full");
    }

    #[test]
    fn redact_never_panics_on_odd_text() {
        let pieces = [
            "password", "=", "'", "\"", "://", ":", "@", " ", "ü", "€x", "secret", "PWD", "/", "a",
        ];
        // Every sequence of up to four pieces: no panic, and a password value never survives.
        let mut texts = vec![String::new()];
        for _ in 0..4 {
            let mut longer = Vec::new();
            for text in &texts {
                for piece in pieces {
                    longer.push(format!("{text}{piece}"));
                }
            }
            texts.extend(longer);
        }
        for text in &texts {
            let _ = redact(text);
            let with_value = format!("{text} password=hunter2 ü");
            assert!(!redact(&with_value).contains("hunter2"), "{with_value}");
        }
    }
}
