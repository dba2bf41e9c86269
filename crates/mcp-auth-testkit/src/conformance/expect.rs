//! The exact answers, written out literally (not computed by the code under test).

use super::harness::Exchange;

/// The metadata URL of [`super::RESOURCE_URI`], as challenges name it.
pub const METADATA_URL: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

/// The challenge of a request without a token.
pub fn missing_token() -> String {
    format!(r#"Bearer resource_metadata="{METADATA_URL}", scope="mcp:tools""#)
}

/// The body of a request without a token.
pub const MISSING_TOKEN_BODY: &str =
    r#"{"error":"unauthorized","error_description":"an access token is required"}"#;

/// The challenge and body of a refused token.
pub fn invalid_token(description: &str) -> (String, String) {
    (
        format!(
            r#"Bearer resource_metadata="{METADATA_URL}", error="invalid_token", error_description="{description}""#
        ),
        format!(r#"{{"error":"invalid_token","error_description":"{description}"}}"#),
    )
}

/// The challenge and body of a malformed request.
pub fn invalid_request(description: &str) -> (String, String) {
    (
        format!(
            r#"Bearer resource_metadata="{METADATA_URL}", error="invalid_request", error_description="{description}""#
        ),
        format!(r#"{{"error":"invalid_request","error_description":"{description}"}}"#),
    )
}

/// The challenge and body of a token lacking `scope`.
pub fn insufficient_scope(scope: &str) -> (String, String) {
    (
        format!(
            r#"Bearer resource_metadata="{METADATA_URL}", scope="{scope}", error="insufficient_scope", error_description="the token lacks a scope this request needs""#
        ),
        r#"{"error":"insufficient_scope","error_description":"the token lacks a scope this request needs"}"#
            .to_owned(),
    )
}

/// The body of a 503.
pub const UNAVAILABLE_BODY: &str = r#"{"error":"temporarily_unavailable"}"#;
/// The body of a 500.
pub const SERVER_ERROR_BODY: &str = r#"{"error":"server_error"}"#;
/// The body of a 413.
pub const TOO_LARGE_BODY: &str =
    r#"{"error":"invalid_request","error_description":"the request body is too large"}"#;

/// Asserts `ex` is a refusal: exactly `status`, the one `challenge` (or none), no
/// `Retry-After`, JSON `body`, `Cache-Control: no-store`.
pub fn refusal(ex: &Exchange, status: u16, challenge: Option<&str>, body: &str) {
    refusal_retry(ex, status, challenge, None, body);
}

/// [`refusal`] with an expected `Retry-After`.
pub fn refusal_retry(
    ex: &Exchange,
    status: u16,
    challenge: Option<&str>,
    retry_after: Option<&str>,
    body: &str,
) {
    let label = &ex.label;
    assert_eq!(ex.status, status, "{label}: status\n{ex:?}");
    let expected: Vec<String> = challenge.iter().map(|c| (*c).to_owned()).collect();
    assert_eq!(
        ex.all("www-authenticate"),
        expected.as_slice(),
        "{label}: WWW-Authenticate"
    );
    assert_eq!(
        ex.header("retry-after"),
        retry_after,
        "{label}: Retry-After"
    );
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
    assert_eq!(ex.text(), body, "{label}: body");
}

/// Asserts `ex` is 200 with a body of exactly `body`.
pub fn ok(ex: &Exchange, body: &[u8]) {
    assert_eq!(ex.status, 200, "{}: status\n{ex:?}", ex.label);
    assert!(ex.all("www-authenticate").is_empty(), "{ex:?}");
    assert!(
        ex.body == body,
        "{}: body of {} bytes, expected {}",
        ex.label,
        ex.body.len(),
        body.len()
    );
}
