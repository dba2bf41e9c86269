//! The HTML pages of the authorization endpoint: login, consent and errors.
//!
//! Plain HTML with an inline style sheet, no script, no external resource. Everything that
//! comes from a request or a client registration is escaped with [`escape`]: `client_name`,
//! `client_id`, scopes and redirect hosts are attacker-controlled.
//!
//! Form field names are stable (see the [authorize module docs](super#forms)).

use bytes::Bytes;
use http::StatusCode;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue,
    PRAGMA, REFERRER_POLICY, RETRY_AFTER, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};

use crate::http::Response;

/// The Content-Security-Policy of every page and redirect: no script, no external resource,
/// inline style only, forms posting back to this origin, never framed.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The same policy with `extra_form_action` (a CSP source expression such as
/// `https://app.example.com` or `com.example.app:`) also allowed as a form target.
///
/// Chromium and Safari apply `form-action` to the redirects that follow a form submission
/// (w3c/webappsec-csp#8), and the login and consent forms end in a redirect to the client's
/// `redirect_uri`: their pages name that origin, already shown to the user, beside `'self'`.
pub(crate) fn policy_with_form_target(extra_form_action: &str) -> String {
    CONTENT_SECURITY_POLICY_VALUE.replacen(
        "form-action 'self'",
        &format!("form-action 'self' {extra_form_action}"),
        1,
    )
}

/// Escapes text for an HTML element or a double- or single-quoted attribute value.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Sets the security headers of every response of the authorization endpoint (`csp` or the
/// default policy), and `Cache-Control: no-store`.
pub(crate) fn secure_headers(headers: &mut HeaderMap, csp: Option<&str>) {
    let csp = csp
        .and_then(|value| HeaderValue::from_str(value).ok())
        .unwrap_or(HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE));
    headers.insert(CONTENT_SECURITY_POLICY, csp);
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
}

/// An HTML response with the security headers; `csp` overrides the default policy.
pub(crate) fn html(status: StatusCode, body: String, csp: Option<&str>) -> Response {
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(headers, csp);
    response
}

/// An error page: `status`, a fixed message, no redirect.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let body = document(
        "Authorization failed",
        &format!(
            "<h1>Authorization failed</h1>\n<p class=\"error\" role=\"alert\">{}</p>\n\
             <p>Return to the application and try again.</p>",
            escape(message)
        ),
    );
    html(status, body, None)
}

/// The 405 answer to a method other than GET and POST.
pub(crate) fn method_not_allowed() -> Response {
    let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.");
    response.headers_mut().insert(
        HeaderName::from_static("allow"),
        HeaderValue::from_static("GET, POST"),
    );
    response
}

/// The 429 page after too many failed logins, with `Retry-After`.
pub(crate) fn throttled(retry_after_secs: u64) -> Response {
    let body = document(
        "Too many attempts",
        &format!(
            "<h1>Too many attempts</h1>\n<p class=\"error\" role=\"alert\">Too many failed \
             sign-in attempts. Try again in {retry_after_secs} seconds.</p>"
        ),
    );
    let mut response = html(StatusCode::TOO_MANY_REQUESTS, body, None);
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

/// What the login and consent pages say about the client.
pub(crate) struct ClientView<'a> {
    /// `client_name`, or `client_id` without one.
    pub(crate) label: &'a str,
    /// `client_id`.
    pub(crate) client_id: &'a str,
    /// The host (or private-use scheme) of the redirect URI.
    pub(crate) redirect_host: &'a str,
}

/// The login page. `error` is a fixed message shown above the form.
pub(crate) fn login(
    client: &ClientView<'_>,
    action: &str,
    csrf: &str,
    error: Option<&str>,
) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape(e)))
        .unwrap_or_default();
    document(
        "Sign in",
        &format!(
            "<h1>Sign in</h1>\n\
             <p>to continue to <strong>{label}</strong></p>\n\
             {error}\
             <form method=\"post\" action=\"{action}\">\n\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
             <label for=\"username\">Username</label>\n\
             <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" required autofocus>\n\
             <label for=\"password\">Password</label>\n\
             <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\n\
             <button type=\"submit\">Sign in</button>\n\
             </form>",
            label = escape(client.label),
            action = escape(action),
            csrf = escape(csrf),
        ),
    )
}

/// The consent page: who asks, where the answer goes, what for; Allow and Deny.
pub(crate) fn consent(
    client: &ClientView<'_>,
    user: &str,
    scopes: &[&str],
    resource: Option<&str>,
    action: &str,
    csrf: &str,
) -> String {
    let scopes = if scopes.is_empty() {
        "<p>No specific permissions are requested.</p>\n".to_owned()
    } else {
        let items: String = scopes
            .iter()
            .map(|scope| format!("<li><code>{}</code></li>\n", escape(scope)))
            .collect();
        format!("<p>It asks for these permissions:</p>\n<ul class=\"scopes\">\n{items}</ul>\n")
    };
    let resource = resource
        .map(|r| format!("<p>On: <code>{}</code></p>\n", escape(r)))
        .unwrap_or_default();
    document(
        "Authorize access",
        &format!(
            "<h1>Authorize <strong>{label}</strong></h1>\n\
             <p><strong>{label}</strong> (client ID <code>{client_id}</code>) wants to access \
             your account <strong>{user}</strong>.</p>\n\
             <p>If you allow it, you will be sent to <strong>{host}</strong>.</p>\n\
             {scopes}{resource}\
             <form method=\"post\" action=\"{action}\">\n\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
             <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\n\
             <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\n\
             </form>",
            label = escape(client.label),
            client_id = escape(client.client_id),
            user = escape(user),
            host = escape(client.redirect_host),
            action = escape(action),
            csrf = escape(csrf),
        ),
    )
}

/// A whole HTML document around `main` (already escaped).
fn document(title: &str, main: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{main}\n\
         </main>\n</body>\n</html>\n",
        title = escape(title),
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f4f5;margin:0;\
padding:2rem 1rem;color:#18181b}main{max-width:26rem;margin:0 auto;background:#fff;\
padding:1.5rem 2rem;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}\
h1{font-size:1.4rem}label{display:block;margin-top:1rem}input[type=text],\
input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;margin-top:.25rem}\
button{margin-top:1.25rem;margin-right:.5rem;padding:.5rem 1.25rem}code{word-break:break-all}\
.error{color:#b91c1c}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert(\"x\" & 'y')</script>"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn form_target_is_added_to_form_action_only() {
        let csp = policy_with_form_target("https://app.example.com");
        assert_eq!(
            csp,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' \
             https://app.example.com; frame-ancestors 'none'; base-uri 'none'"
        );
    }

    #[test]
    fn throttled_page_has_retry_after() {
        let response = throttled(42);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[RETRY_AFTER], "42");
    }
}
