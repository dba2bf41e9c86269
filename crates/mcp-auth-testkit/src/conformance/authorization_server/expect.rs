//! The exact answers of the authorization server, written out literally (not computed by the
//! code under test).

use crate::conformance::Exchange;

/// The Content-Security-Policy of the authorization endpoint's error pages and redirects.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The Content-Security-Policy of the login and consent pages of a client redirecting to
/// [`super::REDIRECT_URI`]: its origin may be the target of the form's redirect.
pub const CSP_WITH_REDIRECT_ORIGIN: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http://127.0.0.1:9; frame-ancestors 'none'; base-uri 'none'";

/// `Content-Type` of the pages.
pub const HTML: &str = "text/html; charset=utf-8";

/// The `WWW-Authenticate` of a failed HTTP Basic client authentication.
pub const BASIC_CHALLENGE: &str = r#"Basic realm="mcp-auth""#;

/// An OAuth error body (RFC 6749 section 5.2): `error` and `error_description`, in that order.
pub fn oauth_error(error: &str, description: &str) -> String {
    format!(r#"{{"error":"{error}","error_description":"{description}"}}"#)
}

/// Whether an answer is open to other origins (`Access-Control-Allow-Origin: *`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cors {
    /// The endpoint answers any origin.
    Any,
    /// The endpoint answers no cross-origin request.
    None,
}

/// Asserts `ex` is a JSON answer of the server: exactly `status`, `Content-Type:
/// application/json`, `Cache-Control: no-store`, `Pragma: no-cache`, the CORS header as
/// `cors` says, no challenge, no `Retry-After`, and exactly `body`.
pub fn json(ex: &Exchange, status: u16, cors: Cors, body: &str) {
    json_with(ex, status, cors, None, None, body);
}

/// [`json`] with an expected `WWW-Authenticate` and `Retry-After`.
pub fn json_with(
    ex: &Exchange,
    status: u16,
    cors: Cors,
    challenge: Option<&str>,
    retry_after: Option<&str>,
    body: &str,
) {
    let label = &ex.label;
    assert_eq!(ex.status, status, "{label}: status\n{ex:?}");
    assert_eq!(
        ex.header("content-type"),
        Some("application/json"),
        "{label}: Content-Type"
    );
    assert_eq!(
        ex.header("cache-control"),
        Some("no-store"),
        "{label}: Cache-Control"
    );
    assert_eq!(ex.header("pragma"), Some("no-cache"), "{label}: Pragma");
    assert_cors(ex, cors);
    assert_eq!(
        ex.header("www-authenticate"),
        challenge,
        "{label}: WWW-Authenticate"
    );
    assert_eq!(
        ex.header("retry-after"),
        retry_after,
        "{label}: Retry-After"
    );
    assert_eq!(ex.text(), body, "{label}: body");
}

/// Asserts `Access-Control-Allow-Origin` is `*` or absent, and that credentials are never
/// allowed.
pub fn assert_cors(ex: &Exchange, cors: Cors) {
    let expected = match cors {
        Cors::Any => Some("*"),
        Cors::None => None,
    };
    assert_eq!(
        ex.header("access-control-allow-origin"),
        expected,
        "{}: Access-Control-Allow-Origin",
        ex.label
    );
    assert!(
        ex.all("access-control-allow-credentials").is_empty(),
        "{}: credentials allowed",
        ex.label
    );
}

/// Asserts the security headers of every answer of the authorization endpoint, with `csp`.
pub fn secure_headers(ex: &Exchange, csp: &str) {
    let label = &ex.label;
    assert_eq!(
        ex.header("content-security-policy"),
        Some(csp),
        "{label}: CSP"
    );
    assert_eq!(
        ex.header("x-frame-options"),
        Some("DENY"),
        "{label}: X-Frame-Options"
    );
    assert_eq!(
        ex.header("x-content-type-options"),
        Some("nosniff"),
        "{label}: X-Content-Type-Options"
    );
    assert_eq!(
        ex.header("referrer-policy"),
        Some("no-referrer"),
        "{label}: Referrer-Policy"
    );
    assert_eq!(
        ex.header("cache-control"),
        Some("no-store"),
        "{label}: Cache-Control"
    );
    assert_eq!(ex.header("pragma"), Some("no-cache"), "{label}: Pragma");
    assert_cors(ex, Cors::None);
}

/// Asserts `ex` is an HTML page of the authorization endpoint: `status`, the security headers
/// with `csp`, no redirect, and a body containing every one of `fragments`.
pub fn page(ex: &Exchange, status: u16, csp: &str, fragments: &[&str]) {
    let label = &ex.label;
    assert_eq!(ex.status, status, "{label}: status\n{ex:?}");
    assert_eq!(
        ex.header("content-type"),
        Some(HTML),
        "{label}: Content-Type"
    );
    secure_headers(ex, csp);
    assert_eq!(ex.header("location"), None, "{label}: Location");
    let text = ex.text();
    assert!(
        text.starts_with("<!DOCTYPE html>\n"),
        "{label}: not a page\n{text}"
    );
    for fragment in fragments {
        assert!(
            text.contains(fragment),
            "{label}: no {fragment:?} in\n{text}"
        );
    }
}

/// Asserts `ex` is a redirect (`status` 302 or 303) of the authorization endpoint to exactly
/// `location`, with the security headers and no body.
pub fn redirect(ex: &Exchange, status: u16, location: &str) {
    let label = &ex.label;
    assert_eq!(ex.status, status, "{label}: status\n{ex:?}");
    assert_eq!(ex.header("location"), Some(location), "{label}: Location");
    secure_headers(ex, CSP);
    assert_eq!(ex.header("content-type"), None, "{label}: Content-Type");
    assert!(ex.body.is_empty(), "{label}: body\n{ex:?}");
}

/// The `Set-Cookie` value the authorization endpoint writes for cookie `name` with `value`
/// (`__Host-` cookies: `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`), living `max_age`
/// seconds (0 clears it).
pub fn set_cookie(name: &str, value: &str, max_age: u64) -> String {
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax")
}

/// The name of the cookie holding a pending authorization request.
pub const REQUEST_COOKIE: &str = "__Host-mcp-auth-request";
/// The name of the cookie holding a login session.
pub const SESSION_COOKIE: &str = "__Host-mcp-auth-session";
