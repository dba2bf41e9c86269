//! Framework-free HTTP plumbing for the endpoints: bodies in, responses out, the headers every
//! answer carries. Adapters read the body with [`LimitedBody`], convert their request type into
//! [`Request`] and send the [`Response`] back unchanged, so that every adapter answers alike.

use bytes::{Bytes, BytesMut};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, LOCATION, PRAGMA};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use crate::error::{ErrorCode, OAuthError};

/// A request as the endpoints see it: headers and a fully read (size-capped) body.
pub type Request = http::Request<Bytes>;
/// A response as the endpoints produce it.
pub type Response = http::Response<Bytes>;

/// The largest request body any endpoint reads (64 KiB); larger ones are answered 413.
pub const MAX_BODY: usize = 64 * 1024;

/// A request body as an adapter reads it for
/// [`AuthorizationServer::handle`](crate::server::AuthorizationServer::handle): chunks are
/// kept until the body is over [`MAX_BODY`], and then reading stops.
///
/// The adapter hands what it kept to `handle` either way. A body over the limit is answered
/// there, like any other request: `404`/`405`/preflight first, then `413` with the server's
/// JSON error and CORS headers. Every adapter thus answers an oversized body exactly as the
/// server does, with no error of its own, while holding at most one chunk past the limit.
///
/// # Example
///
/// ```
/// use mcp_auth_server::http::{LimitedBody, MAX_BODY};
///
/// let mut body = LimitedBody::new();
/// let chunk = vec![b'a'; 16 * 1024];
/// let mut chunks = 0;
/// while body.push(&chunk) {
///     chunks += 1;
/// }
/// // Four chunks fill the limit exactly; the fifth goes over it and reading stops.
/// assert_eq!(chunks, 4);
/// assert!(body.is_over_limit());
/// assert_eq!(body.into_bytes().len(), MAX_BODY + 16 * 1024);
/// ```
#[derive(Debug, Default)]
pub struct LimitedBody {
    bytes: BytesMut,
}

impl LimitedBody {
    /// An empty body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a chunk. Returns whether to keep reading: `false` once the body is over
    /// [`MAX_BODY`] (the rest is never read).
    pub fn push(&mut self, chunk: &[u8]) -> bool {
        if self.is_over_limit() {
            return false;
        }
        self.bytes.extend_from_slice(chunk);
        !self.is_over_limit()
    }

    /// Whether the body is over [`MAX_BODY`].
    pub fn is_over_limit(&self) -> bool {
        self.bytes.len() > MAX_BODY
    }

    /// The bytes read, for the request handed to `handle`.
    pub fn into_bytes(self) -> Bytes {
        self.bytes.freeze()
    }
}

/// The answer to a request an adapter could not read (the connection failed while the body
/// was arriving, or the request could not be converted to a [`Request`]): `400
/// invalid_request`, the same from every adapter.
pub fn unreadable_request() -> Response {
    json(
        StatusCode::BAD_REQUEST,
        &OAuthError::new(ErrorCode::InvalidRequest, "the request could not be read"),
    )
}

/// A JSON response with `Cache-Control: no-store` (RFC 6749 section 5.1: token responses, and
/// every other answer that may carry a secret).
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    no_store(headers);
    response
}

/// Sets `Cache-Control: no-store` and `Pragma: no-cache`.
pub fn no_store(headers: &mut HeaderMap) {
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
}

/// A `303 See Other` to `location` (used after a POST so a reload does not resubmit it).
pub fn see_other(location: &str) -> Response {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    no_store(response.headers_mut());
    response
}

/// A `302 Found` redirect to the client's `redirect_uri` (RFC 6749 section 4.1.2).
pub fn found(location: &str) -> Response {
    let mut response = see_other(location);
    *response.status_mut() = StatusCode::FOUND;
    response
}

/// Parses an `application/x-www-form-urlencoded` body (RFC 6749 appendix B). A parameter sent
/// twice is an error (RFC 6749 section 3.1: "Request and response parameters MUST NOT be
/// included more than once"), reported by name.
///
/// # Errors
///
/// The name of the first repeated parameter.
pub fn form(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if pairs.iter().any(|(n, _)| *n == name) {
            return Err(name.into_owned());
        }
        pairs.push((name.into_owned(), value.into_owned()));
    }
    Ok(pairs)
}

/// The value of `name` in parsed form or query pairs.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Parses a request's query string like a form.
///
/// # Errors
///
/// As [`form`].
pub fn query(request: &Request) -> Result<Vec<(String, String)>, String> {
    form(request.uri().query().unwrap_or("").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused() {
        assert_eq!(form(b"a=1&b=2&a=3"), Err("a".to_owned()));
        let pairs = form(b"code=x%2By&empty=").unwrap();
        assert_eq!(param(&pairs, "code"), Some("x+y"));
        assert_eq!(param(&pairs, "empty"), None);
    }

    #[test]
    fn limited_bodies_stop_one_chunk_past_the_limit() {
        let mut body = LimitedBody::new();
        assert!(body.push(&vec![b'a'; MAX_BODY]));
        assert!(!body.is_over_limit());
        assert!(!body.push(b"b"));
        assert!(body.is_over_limit());
        // Nothing more is kept once over.
        assert!(!body.push(b"c"));
        assert_eq!(body.into_bytes().len(), MAX_BODY + 1);
    }

    #[test]
    fn unreadable_requests_are_invalid_requests() {
        let r = unreadable_request();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            r.body().as_ref(),
            br#"{"error":"invalid_request","error_description":"the request could not be read"}"#
        );
    }

    #[test]
    fn json_responses_are_not_cached() {
        let r = json(StatusCode::OK, &serde_json::json!({"a": 1}));
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
    }
}
