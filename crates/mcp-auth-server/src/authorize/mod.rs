//! The authorization endpoint (OAuth 2.1 section 4.1.1, RFC 6749 section 4.1): validates the
//! authorization request, signs the user in, asks for consent and redirects back to the client
//! with a code.
//!
//! One function, [`authorize_endpoint`], answers both methods on one path
//! ([`AuthorizeDeps::endpoint_path`], e.g. `/authorize`):
//!
//! 1. `GET endpoint_path?response_type=code&client_id=..&redirect_uri=..&code_challenge=..&code_challenge_method=S256&state=..&scope=..&resource=..`
//!    validates the request. If the user has a login session and has already granted the
//!    client the requested scopes, it answers `302` to the redirect URI with a code at once.
//!    Otherwise it stores a pending request (its id in a cookie) and shows the login page or,
//!    for a signed-in user, the consent page.
//! 2. `POST endpoint_path` with `username`, `password` and `csrf` signs the user in and answers
//!    `303` to `GET endpoint_path` (no query), which resumes the pending request held in the
//!    cookie: consent page, or a code if consent was given before.
//! 3. `POST endpoint_path` with `decision` (`allow` or `deny`) and `csrf` answers `303` to the
//!    redirect URI with `code`, `state` and `iss` (RFC 9207), or with
//!    `error=access_denied`. Consent is remembered per user and client in the
//!    [`Store`].
//!
//! # Validation and errors
//!
//! `client_id` and `redirect_uri` are checked first: the client must be registered in the
//! store, or (feature `cimd`, with a resolver) be an `https` `client_id` naming a client ID
//! metadata document; the redirect URI must match a registered one exactly (the port of an
//! `http` loopback URI may differ, RFC 8252 section 7.3) and may be omitted only when exactly
//! one is registered. Until they have passed, an error is an HTML page (400) and never a
//! redirect (RFC 6749 section 4.1.2.1). After, errors redirect to the redirect URI with `error`,
//! a fixed `error_description`, `state` and `iss`:
//!
//! | condition | `error` |
//! |---|---|
//! | a parameter repeated | `invalid_request` |
//! | `response_type` missing | `invalid_request` |
//! | `response_type` other than `code` | `unsupported_response_type` |
//! | client registered without the `code` response type | `unauthorized_client` |
//! | `code_challenge` missing or malformed, method missing or not `S256` | `invalid_request` |
//! | `resource` not one of [`AuthorizeDeps::allowed_resources`] | `invalid_target` |
//! | a scope malformed, not in [`AuthorizeDeps::scopes_supported`] or outside the client's `scope` | `invalid_scope` |
//! | the user pressed Deny | `access_denied` |
//!
//! Without `scope`, [`AuthorizeDeps::default_scopes`] are requested. Without `resource`, the
//! grant has none. When `redirect_uri` is omitted, the grant records the registered one.
//!
//! # Forms
//!
//! The pages are plain HTML (no script) with stable field names, for people and for browser
//! automation alike:
//!
//! - login page: `<form method="post">` with inputs `username`, `password` and a hidden
//!   `csrf`, and one submit button;
//! - consent page: `<form method="post">` with a hidden `csrf` and two submit buttons named
//!   `decision`, with values `allow` and `deny`.
//!
//! # Security
//!
//! - **CSRF.** Each pending request has a random 256-bit CSRF token, echoed by its forms and
//!   compared in constant time with the one of the pending request named by the request
//!   cookie. A POST without a valid pair is answered 403 and changes nothing. The cookies are
//!   `SameSite=Lax` as well.
//! - **Cookies.** `__Host-mcp-auth-request` (pending request) and `__Host-mcp-auth-session`
//!   (login session): `Secure; HttpOnly; SameSite=Lax; Path=/`, `Max-Age` the session
//!   lifetime. [`CookiePolicy::insecure_http_cookies`] drops `Secure` and the `__Host-` prefix
//!   (names `mcp-auth-request`, `mcp-auth-session`) for development over plain http.
//! - **Headers.** Every response carries [`pages::CONTENT_SECURITY_POLICY_VALUE`],
//!   `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`
//!   and `Cache-Control: no-store`. The login and consent pages add the redirect URI's origin
//!   to `form-action`, because Chromium and Safari check that directive against the redirect
//!   that follows a form submission too.
//! - **Escaping.** All text on the pages is HTML-escaped: `client_name` is chosen by whoever
//!   registered the client.
//! - **Login.** An unknown username and a wrong password get the same message, "Invalid
//!   username or password"; a throttled login (see [`crate::user::ThrottledAuthenticator`]) is
//!   answered 429 with `Retry-After`.
//! - **Codes.** 256 random bits, stored only as their hash ([`TokenHash`]), valid
//!   [`AuthorizeDeps::code_lifetime`] (60 seconds by default) and bound to the client,
//!   redirect URI, PKCE challenge, resource, scopes and user.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use mcp_auth_core::Scopes;
//! use mcp_auth_server::authorize::{
//!     AuthorizeDeps, AuthorizeSessions, CookiePolicy, DEFAULT_CODE_LIFETIME, authorize_endpoint,
//! };
//! use mcp_auth_server::store::MemoryStore;
//! use mcp_auth_server::user::StaticUsers;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let users = StaticUsers::new([]).unwrap();
//! let sessions = AuthorizeSessions::new();
//! let resources = vec!["https://mcp.example.com/mcp".to_owned()];
//! let supported: Scopes = "mcp:tools".parse().unwrap();
//! let deps = AuthorizeDeps {
//!     store: &store,
//!     users: &users,
//!     issuer: "https://auth.example.com",
//!     endpoint_path: "/authorize",
//!     allowed_resources: &resources,
//!     scopes_supported: &supported,
//!     default_scopes: &supported,
//!     sessions: &sessions,
//!     cookies: CookiePolicy::default(),
//!     client_ip: None,
//! #   #[cfg(feature = "cimd")]
//!     cimd: None,
//!     code_lifetime: DEFAULT_CODE_LIFETIME,
//! };
//! let request = http::Request::get("/authorize?client_id=unknown")
//!     .body(bytes::Bytes::new())
//!     .unwrap();
//! let response = authorize_endpoint(&request, &deps, 1_700_000_000).await;
//! // An unknown client: an error page, never a redirect.
//! assert_eq!(response.status(), 400);
//! assert!(response.headers().get("location").is_none());
//! # });
//! ```

pub mod pages;
pub mod session;

use std::net::IpAddr;
use std::time::Duration;

use http::header::{COOKIE, HeaderValue, SET_COOKIE};
use http::{Method, StatusCode};
use mcp_auth_core::Scopes;

#[cfg(feature = "cimd")]
use crate::client::cimd::{CimdError, CimdResolver};
use crate::client::redirect;
use crate::error::{ErrorCode, OAuthError, log_fault};
use crate::http::{Request, Response, found, param, see_other};
use crate::pkce::{CodeChallenge, PkceError};
use crate::store::{AuthorizationGrant, ClientRecord, Store, TokenHash};
use crate::user::{LoginError, Password, UserAuthenticator};

use pages::ClientView;
pub use session::AuthorizeSessions;
use session::{LoginSession, PendingRequest, random_token};

/// The lifetime of an authorization code: 60 seconds (OAuth 2.1 section 4.1.2).
pub const DEFAULT_CODE_LIFETIME: Duration = Duration::from_secs(60);

/// The message of a failed login, the same for an unknown username and a wrong password.
pub const INVALID_CREDENTIALS_MESSAGE: &str = "Invalid username or password";

/// How the endpoint's cookies are marked.
///
/// The default ([`CookiePolicy::secure`]) uses the `__Host-` prefix and the `Secure`
/// attribute, so browsers only send the cookies over https and no subdomain can set them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookiePolicy {
    secure: bool,
}

impl Default for CookiePolicy {
    fn default() -> Self {
        Self::secure()
    }
}

impl CookiePolicy {
    /// `__Host-` prefixed, `Secure` cookies: the policy for any deployment over https.
    pub const fn secure() -> Self {
        Self { secure: true }
    }

    /// Cookies without `Secure` nor the `__Host-` prefix, which browsers accept over plain
    /// `http` (e.g. `http://localhost` during development). Never use it in production.
    pub const fn insecure_http_cookies() -> Self {
        Self { secure: false }
    }

    /// Whether cookies are `Secure` and `__Host-` prefixed.
    pub const fn is_secure(&self) -> bool {
        self.secure
    }

    /// The name of the cookie holding the pending authorization request's id.
    pub const fn request_cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-mcp-auth-request"
        } else {
            "mcp-auth-request"
        }
    }

    /// The name of the cookie holding the login session's id.
    pub const fn session_cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-mcp-auth-session"
        } else {
            "mcp-auth-session"
        }
    }

    /// A `Set-Cookie` value setting `name` to `value` for `max_age` seconds.
    fn set(&self, name: &str, value: &str, max_age: u64) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly{secure}; SameSite=Lax"
        ))
        .ok()
    }
}

/// What [`authorize_endpoint`] needs from the server.
pub struct AuthorizeDeps<'a> {
    /// Clients, codes and consents.
    pub store: &'a dyn Store,
    /// Checks usernames and passwords (wrap it in a
    /// [`ThrottledAuthenticator`](crate::user::ThrottledAuthenticator)).
    pub users: &'a dyn UserAuthenticator,
    /// The issuer identifier, sent as `iss` with every redirect (RFC 9207).
    pub issuer: &'a str,
    /// The path the endpoint is mounted on (e.g. `/authorize`), where forms post back.
    pub endpoint_path: &'a str,
    /// The `resource` values (RFC 8707) a client may ask for.
    pub allowed_resources: &'a [String],
    /// The scopes a client may ask for.
    pub scopes_supported: &'a Scopes,
    /// The scopes granted to a request without `scope`.
    pub default_scopes: &'a Scopes,
    /// Pending requests and login sessions, shared by every call.
    pub sessions: &'a AuthorizeSessions,
    /// How cookies are marked.
    pub cookies: CookiePolicy,
    /// The caller's address, for login throttling.
    pub client_ip: Option<IpAddr>,
    /// Resolves `https` client ids naming a client ID metadata document; `None` to accept
    /// registered clients only.
    #[cfg(feature = "cimd")]
    pub cimd: Option<&'a CimdResolver>,
    /// How long a code may be redeemed ([`DEFAULT_CODE_LIFETIME`]).
    pub code_lifetime: Duration,
}

impl std::fmt::Debug for AuthorizeDeps<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizeDeps")
            .field("issuer", &self.issuer)
            .field("endpoint_path", &self.endpoint_path)
            .field("allowed_resources", &self.allowed_resources)
            .field("cookies", &self.cookies)
            .field("code_lifetime", &self.code_lifetime)
            .finish_non_exhaustive()
    }
}

/// The authorization endpoint: answers `GET` (an authorization request, or the resumption of
/// a pending one) and `POST` (the login and consent forms) on
/// [`AuthorizeDeps::endpoint_path`]; other methods get 405. `now` is the time in unix seconds.
///
/// See the [module docs](self) for the flow, the errors and the form fields.
pub async fn authorize_endpoint(req: &Request, deps: &AuthorizeDeps<'_>, now: u64) -> Response {
    match *req.method() {
        Method::GET => get(req, deps, now).await,
        Method::POST => post(req, deps, now).await,
        _ => pages::method_not_allowed(),
    }
}

// ---------------------------------------------------------------------------------------------
// GET

async fn get(req: &Request, deps: &AuthorizeDeps<'_>, now: u64) -> Response {
    // The consent step after a login: no query, the pending request named by the cookie.
    if req.uri().query().is_none_or(str::is_empty)
        && let Some(id) = cookie(req, deps.cookies.request_cookie_name())
        && let Some(pending) = deps.sessions.pending(id, now)
    {
        return proceed(req, deps, now, Proceed::Existing(id), pending).await;
    }
    let pending = match validate(req, deps).await {
        Ok(pending) => pending,
        Err(Rejection::Page(message)) => return pages::error(StatusCode::BAD_REQUEST, message),
        Err(Rejection::Redirect(redirect)) => return redirect.respond(deps, RedirectKind::Get),
        Err(Rejection::ServerError) => return server_error_page(),
    };
    proceed(req, deps, now, Proceed::New, pending).await
}

/// Whether the pending request is already stored (under this id) or still to be.
enum Proceed<'a> {
    New,
    Existing(&'a str),
}

/// Shows the login page, the consent page, or (consent already given) redirects with a code.
async fn proceed(
    req: &Request,
    deps: &AuthorizeDeps<'_>,
    now: u64,
    stored: Proceed<'_>,
    pending: PendingRequest,
) -> Response {
    let login = login_session(req, deps, now);
    if let Some(login) = &login {
        match deps
            .store
            .get_consent(&login.user.subject, &pending.client_id)
            .await
        {
            Ok(Some(granted)) if granted.contains_all(&pending.scopes) => {
                // A stored pending request is used up first, so that it yields one code.
                if let Proceed::Existing(id) = stored
                    && deps.sessions.take_pending(id, now).is_none()
                {
                    return expired_form_page();
                }
                let mut response = issue_code(deps, now, &pending, &login.user.subject)
                    .await
                    .respond(deps, RedirectKind::Get);
                if let Proceed::Existing(_) = stored {
                    clear_cookie(&mut response, deps, deps.cookies.request_cookie_name());
                }
                return response;
            }
            Ok(_) => {}
            Err(e) => return fault_page("authorize: get_consent", &e),
        }
    }
    let mut set_cookie = None;
    if let Proceed::New = stored {
        match deps.sessions.insert_pending(pending.clone(), now) {
            Ok(id) => set_cookie = Some(id),
            Err(e) => return fault_page("authorize: pending request id", &e),
        }
    }
    let mut response = match &login {
        Some(login) => consent_page(deps, &pending, &login.user.username),
        None => login_page(deps, &pending, StatusCode::OK, None),
    };
    if let Some(id) = set_cookie {
        add_cookie(&mut response, deps, deps.cookies.request_cookie_name(), &id);
    }
    response
}

/// Why a request was refused.
enum Rejection {
    /// Before the redirect URI was validated: an error page with this message.
    Page(&'static str),
    /// After: a redirect to the client.
    Redirect(ErrorRedirect),
    /// The store or the random source failed (and was logged).
    ServerError,
}

/// An error to send to the client's redirect URI.
struct ErrorRedirect {
    redirect_uri: String,
    state: Option<String>,
    error: OAuthError,
}

#[derive(Clone, Copy)]
enum RedirectKind {
    /// `302 Found`, answering a GET.
    Get,
    /// `303 See Other`, answering a POST.
    Post,
}

impl ErrorRedirect {
    fn respond(self, deps: &AuthorizeDeps<'_>, kind: RedirectKind) -> Response {
        let code = serde_json::to_value(self.error.error)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "server_error".to_owned());
        let mut params = vec![("error", code.as_str())];
        if let Some(description) = self.error.error_description {
            params.push(("error_description", description));
        }
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        params.push(("iss", deps.issuer));
        redirect_response(&append_query(&self.redirect_uri, &params), kind)
    }
}

/// A successful or failed outcome that ends at the client's redirect URI.
enum Outcome {
    Code {
        redirect_uri: String,
        code: String,
        state: Option<String>,
    },
    Error(ErrorRedirect),
}

impl Outcome {
    fn respond(self, deps: &AuthorizeDeps<'_>, kind: RedirectKind) -> Response {
        match self {
            Self::Code {
                redirect_uri,
                code,
                state,
            } => {
                let mut params = vec![("code", code.as_str())];
                if let Some(state) = &state {
                    params.push(("state", state));
                }
                params.push(("iss", deps.issuer));
                redirect_response(&append_query(&redirect_uri, &params), kind)
            }
            Self::Error(error) => error.respond(deps, kind),
        }
    }
}

fn redirect_response(location: &str, kind: RedirectKind) -> Response {
    let mut response = match kind {
        RedirectKind::Get => found(location),
        RedirectKind::Post => see_other(location),
    };
    pages::secure_headers(response.headers_mut(), None);
    response
}

/// Appends `params` to the query of `uri` (which has no fragment: redirect URIs cannot).
fn append_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        serializer.append_pair(name, value);
    }
    let encoded = serializer.finish();
    let separator = match uri.find('?') {
        None => "?",
        Some(_) if uri.ends_with('?') || uri.ends_with('&') => "",
        Some(_) => "&",
    };
    format!("{uri}{separator}{encoded}")
}

/// Validates an authorization request into a pending request (with a fresh CSRF token).
async fn validate(req: &Request, deps: &AuthorizeDeps<'_>) -> Result<PendingRequest, Rejection> {
    let raw = req.uri().query().unwrap_or("");
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut repeated: Vec<String> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        if pairs.iter().any(|(n, _)| *n == name) {
            repeated.push(name.into_owned());
        } else {
            pairs.push((name.into_owned(), value.into_owned()));
        }
    }
    let is_repeated = |name: &str| repeated.iter().any(|r| r == name);

    // 1. The client and its redirect URI: errors here never redirect.
    if is_repeated("client_id") {
        return Err(Rejection::Page("The client_id parameter is repeated."));
    }
    if is_repeated("redirect_uri") {
        return Err(Rejection::Page("The redirect_uri parameter is repeated."));
    }
    let client_id =
        param(&pairs, "client_id").ok_or(Rejection::Page("The client_id parameter is missing."))?;
    let requested_redirect = param(&pairs, "redirect_uri");
    let client = find_client(deps, client_id, requested_redirect).await?;
    let redirect_uri = match requested_redirect {
        Some(requested) => {
            if !client
                .redirect_uris
                .iter()
                .any(|registered| redirect::matches(registered, requested))
            {
                return Err(Rejection::Page(
                    "The redirect_uri is not registered for this client.",
                ));
            }
            requested.to_owned()
        }
        None => match client.redirect_uris.as_slice() {
            [only] if redirect::RedirectUri::new(only.as_str()).is_ok() => only.clone(),
            [_] => {
                return Err(Rejection::Page(
                    "The client's registered redirect URI is not valid.",
                ));
            }
            _ => {
                return Err(Rejection::Page(
                    "The redirect_uri parameter is required for this client.",
                ));
            }
        },
    };

    // 2. Everything else: errors redirect to the client.
    let state = (!is_repeated("state"))
        .then(|| param(&pairs, "state").map(str::to_owned))
        .flatten();
    let fail = |error: ErrorCode, description: &'static str| {
        Rejection::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            error: OAuthError::new(error, description),
        })
    };
    if !repeated.is_empty() {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "A request parameter is repeated.",
        ));
    }
    match param(&pairs, "response_type") {
        None => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "The response_type parameter is missing.",
            ));
        }
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                "Only the code response type is supported.",
            ));
        }
    }
    // RFC 6749 section 4.1.2.1 (`unauthorized_client`): an empty list means the client registered
    // no response type at all (a `client_credentials`-only client), not "any".
    if !client.response_types.iter().any(|t| t == "code") {
        return Err(fail(
            ErrorCode::UnauthorizedClient,
            "The client is not registered for the code response type.",
        ));
    }
    let challenge = CodeChallenge::parse(
        param(&pairs, "code_challenge"),
        param(&pairs, "code_challenge_method"),
    )
    .map_err(|e| {
        let description = match e {
            PkceError::ChallengeMissing => "PKCE is required: code_challenge is missing.",
            PkceError::MethodMissing | PkceError::MethodNotSupported(_) => {
                "PKCE code_challenge_method must be S256."
            }
            PkceError::InvalidChallenge => "The code_challenge is malformed.",
        };
        fail(ErrorCode::InvalidRequest, description)
    })?;
    let resource = match param(&pairs, "resource") {
        None => None,
        Some(resource) if deps.allowed_resources.iter().any(|r| r == resource) => {
            Some(resource.to_owned())
        }
        Some(_) => {
            return Err(fail(
                ErrorCode::InvalidTarget,
                "The requested resource is not served by this authorization server.",
            ));
        }
    };
    let scopes = match param(&pairs, "scope") {
        None => deps.default_scopes.clone(),
        Some(scope) => scope
            .parse::<Scopes>()
            .map_err(|_| fail(ErrorCode::InvalidScope, "The scope parameter is malformed."))?,
    };
    let scopes = if scopes.is_empty() {
        deps.default_scopes.clone()
    } else {
        scopes
    };
    if !deps.scopes_supported.contains_all(&scopes) {
        return Err(fail(
            ErrorCode::InvalidScope,
            "A requested scope is not supported.",
        ));
    }
    if let Some(allowed) = &client.scope
        && !Scopes::from_claim_lossy(allowed).contains_all(&scopes)
    {
        return Err(fail(
            ErrorCode::InvalidScope,
            "A requested scope is not allowed for this client.",
        ));
    }
    let csrf = random_token().map_err(|e| {
        log_fault("authorize: CSRF token", &e);
        Rejection::ServerError
    })?;
    Ok(PendingRequest {
        client_id: client.client_id,
        client_name: client.client_name,
        redirect_uri,
        code_challenge: challenge.as_str().to_owned(),
        state,
        scopes,
        resource,
        csrf,
    })
}

/// The client `client_id`: from the metadata document it names (feature `cimd`) or the store.
async fn find_client(
    deps: &AuthorizeDeps<'_>,
    client_id: &str,
    requested_redirect: Option<&str>,
) -> Result<ClientRecord, Rejection> {
    #[cfg(feature = "cimd")]
    if let Some(resolver) = deps.cimd
        && resolver.is_metadata_client_id(client_id)
    {
        let requested = requested_redirect.ok_or(Rejection::Page(
            "The redirect_uri parameter is required for this client.",
        ))?;
        return resolver
            .resolve(client_id, requested)
            .await
            .map_err(|e| match e {
                CimdError::RedirectUriNotRegistered => {
                    Rejection::Page("The redirect_uri is not registered for this client.")
                }
                _ => Rejection::Page("The client's metadata document could not be used."),
            });
    }
    #[cfg(not(feature = "cimd"))]
    let _ = requested_redirect;
    match deps.store.get_client(client_id).await {
        Ok(Some(client)) => Ok(client),
        Ok(None) => Err(Rejection::Page("The client is unknown.")),
        Err(e) => {
            log_fault("authorize: get_client", &e);
            Err(Rejection::ServerError)
        }
    }
}

/// Creates and stores a code for `pending`, granted by `subject`.
async fn issue_code(
    deps: &AuthorizeDeps<'_>,
    now: u64,
    pending: &PendingRequest,
    subject: &str,
) -> Outcome {
    let server_error = |operation, err: &dyn std::error::Error| {
        log_fault(operation, err);
        Outcome::Error(ErrorRedirect {
            redirect_uri: pending.redirect_uri.clone(),
            state: pending.state.clone(),
            error: OAuthError::new(
                ErrorCode::ServerError,
                "The authorization server could not issue a code.",
            ),
        })
    };
    let code = match random_token() {
        Ok(code) => code,
        Err(e) => return server_error("authorize: random code", &e),
    };
    let grant = AuthorizationGrant {
        client_id: pending.client_id.clone(),
        redirect_uri: pending.redirect_uri.clone(),
        code_challenge: pending.code_challenge.clone(),
        resource: pending.resource.clone(),
        scopes: pending.scopes.clone(),
        subject: subject.to_owned(),
        expires_at: now.saturating_add(deps.code_lifetime.as_secs()),
        issued_family: None,
    };
    if let Err(e) = deps.store.put_code(TokenHash::of(&code), grant).await {
        return server_error("authorize: put_code", &e);
    }
    Outcome::Code {
        redirect_uri: pending.redirect_uri.clone(),
        code,
        state: pending.state.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// POST

async fn post(req: &Request, deps: &AuthorizeDeps<'_>, now: u64) -> Response {
    let Ok(form) = crate::http::form(req.body()) else {
        return pages::error(StatusCode::BAD_REQUEST, "A form field is repeated.");
    };
    // CSRF: the token must be the one of the pending request named by the cookie.
    let pending = cookie(req, deps.cookies.request_cookie_name())
        .and_then(|id| Some((id, deps.sessions.pending(id, now)?)))
        .filter(|(_, pending)| {
            param(&form, "csrf").is_some_and(|token| pending.csrf_matches(token))
        });
    let Some((id, pending)) = pending else {
        return expired_form_page();
    };
    match param(&form, "decision") {
        Some(decision) => decide(req, deps, now, id, &pending, decision).await,
        None => login(deps, now, &form, &pending).await,
    }
}

/// The login form.
async fn login(
    deps: &AuthorizeDeps<'_>,
    now: u64,
    form: &[(String, String)],
    pending: &PendingRequest,
) -> Response {
    let (Some(username), Some(password)) = (param(form, "username"), param(form, "password"))
    else {
        return login_page(
            deps,
            pending,
            StatusCode::OK,
            Some("Enter your username and password."),
        );
    };
    let password = Password::new(password);
    match deps
        .users
        .authenticate(username, &password, deps.client_ip)
        .await
    {
        Ok(user) => {
            let session = match deps.sessions.insert_login(user, now) {
                Ok(session) => session,
                Err(e) => return fault_page("authorize: login session id", &e),
            };
            let mut response = see_other(deps.endpoint_path);
            pages::secure_headers(response.headers_mut(), None);
            add_cookie(
                &mut response,
                deps,
                deps.cookies.session_cookie_name(),
                &session,
            );
            response
        }
        Err(LoginError::InvalidCredentials) => login_page(
            deps,
            pending,
            StatusCode::OK,
            Some(INVALID_CREDENTIALS_MESSAGE),
        ),
        Err(LoginError::Throttled { retry_after }) => {
            let secs = retry_after
                .as_secs()
                .saturating_add(u64::from(retry_after.subsec_nanos() > 0))
                .max(1);
            pages::throttled(secs)
        }
        Err(err @ LoginError::Internal(_)) => fault_page("authorize: check credentials", &err),
    }
}

/// The consent form.
async fn decide(
    req: &Request,
    deps: &AuthorizeDeps<'_>,
    now: u64,
    id: &str,
    pending: &PendingRequest,
    decision: &str,
) -> Response {
    let Some(login) = login_session(req, deps, now) else {
        // The login session expired meanwhile: sign in again.
        return login_page(deps, pending, StatusCode::OK, None);
    };
    let allow = match decision {
        "allow" => true,
        "deny" => false,
        _ => return pages::error(StatusCode::BAD_REQUEST, "The decision is not valid."),
    };
    // Take the pending request: a second submission finds nothing.
    let Some(pending) = deps.sessions.take_pending(id, now) else {
        return expired_form_page();
    };
    let subject = &login.user.subject;
    let outcome = if allow {
        let mut granted = match deps.store.get_consent(subject, &pending.client_id).await {
            Ok(granted) => granted.unwrap_or_default(),
            Err(e) => return fault_page("authorize: get_consent (consent form)", &e),
        };
        granted.extend(&pending.scopes);
        if let Err(e) = deps
            .store
            .put_consent(subject, &pending.client_id, &granted)
            .await
        {
            return fault_page("authorize: put_consent", &e);
        }
        issue_code(deps, now, &pending, subject).await
    } else {
        Outcome::Error(ErrorRedirect {
            redirect_uri: pending.redirect_uri.clone(),
            state: pending.state.clone(),
            error: OAuthError::new(
                ErrorCode::AccessDenied,
                "The user denied the authorization request.",
            ),
        })
    };
    let mut response = outcome.respond(deps, RedirectKind::Post);
    clear_cookie(&mut response, deps, deps.cookies.request_cookie_name());
    response
}

// ---------------------------------------------------------------------------------------------
// Pages, cookies

/// The 403 answer to a form without a valid CSRF token and request cookie.
fn expired_form_page() -> Response {
    pages::error(
        StatusCode::FORBIDDEN,
        "This form has expired or did not come from this site. Start again from the application.",
    )
}

/// Logs the internal fault `err` of `operation` (see
/// [`SERVER_LOG_TARGET`](crate::error::SERVER_LOG_TARGET)) and answers the `500` page, without
/// detail.
fn fault_page(operation: &'static str, err: &dyn std::error::Error) -> Response {
    log_fault(operation, err);
    server_error_page()
}

/// The `500` page (the fault already logged).
fn server_error_page() -> Response {
    pages::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The authorization server failed. Try again later.",
    )
}

/// The host of a redirect URI for the consent page, and the CSP source of its origin.
fn redirect_target(redirect_uri: &str) -> (String, String) {
    match url::Url::parse(redirect_uri) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => (
            url.host_str().unwrap_or_default().to_owned(),
            url.origin().ascii_serialization(),
        ),
        Ok(url) => (format!("{}:", url.scheme()), format!("{}:", url.scheme())),
        Err(_) => (String::new(), "'self'".to_owned()),
    }
}

fn client_view<'a>(pending: &'a PendingRequest, redirect_host: &'a str) -> ClientView<'a> {
    ClientView {
        label: pending.client_name.as_deref().unwrap_or(&pending.client_id),
        client_id: &pending.client_id,
        redirect_host,
    }
}

fn login_page(
    deps: &AuthorizeDeps<'_>,
    pending: &PendingRequest,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let (host, origin) = redirect_target(&pending.redirect_uri);
    let body = pages::login(
        &client_view(pending, &host),
        deps.endpoint_path,
        &pending.csrf,
        error,
    );
    pages::html(status, body, Some(&pages::policy_with_form_target(&origin)))
}

fn consent_page(deps: &AuthorizeDeps<'_>, pending: &PendingRequest, username: &str) -> Response {
    let (host, origin) = redirect_target(&pending.redirect_uri);
    let scopes: Vec<&str> = pending.scopes.iter().map(|s| s.as_str()).collect();
    let body = pages::consent(
        &client_view(pending, &host),
        username,
        &scopes,
        pending.resource.as_deref(),
        deps.endpoint_path,
        &pending.csrf,
    );
    pages::html(
        StatusCode::OK,
        body,
        Some(&pages::policy_with_form_target(&origin)),
    )
}

/// The value of the cookie `name`, if sent.
fn cookie<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn login_session(req: &Request, deps: &AuthorizeDeps<'_>, now: u64) -> Option<LoginSession> {
    let id = cookie(req, deps.cookies.session_cookie_name())?;
    deps.sessions.login(id, now)
}

fn add_cookie(response: &mut Response, deps: &AuthorizeDeps<'_>, name: &str, value: &str) {
    if let Some(value) = deps.cookies.set(name, value, deps.sessions.ttl().as_secs()) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

fn clear_cookie(response: &mut Response, deps: &AuthorizeDeps<'_>, name: &str) {
    if let Some(value) = deps.cookies.set(name, "", 0) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

#[cfg(all(test, feature = "memory"))]
mod tests;
