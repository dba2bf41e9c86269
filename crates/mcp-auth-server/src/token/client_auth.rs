//! Client authentication at the token, revocation and introspection endpoints (RFC 6749
//! section 2.3.1, OAuth 2.1 section 2.4).
//!
//! # Public interface
//!
//! ```text
//! pub struct AuthenticatedClient { pub client: ClientRecord, pub method: TokenEndpointAuthMethod }
//! pub struct ClientAuthError { pub error: OAuthError, pub basic_attempted: bool }
//! ClientAuthError::response(&self) -> Response
//! pub async fn authenticate_client(req: &Request, params: &[(String, String)], deps: &TokenDeps<'_>)
//!     -> Result<AuthenticatedClient, ClientAuthError>
//! ```
//!
//! # Methods
//!
//! | method | the request carries |
//! |---|---|
//! | `none` (public client) | `client_id` in the body, nothing else |
//! | `client_secret_basic` | `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` |
//! | `client_secret_post` | `client_id` and `client_secret` in the body |
//!
//! Exactly one method per request: a Basic header together with `client_secret` in the body
//! is `invalid_request` (RFC 6749 section 2.3), as is a body `client_id` naming another client
//! than the header. The method used must be the one the client registered
//! (`token_endpoint_auth_method`), and a secret is checked against its stored SHA-256 in
//! constant time ([`TokenHash::matches`]).
//!
//! Every failure to authenticate, unknown client included, is the same
//! `401 invalid_client`, with `WWW-Authenticate: Basic realm="mcp-auth"` when the client tried
//! the `Authorization` header (RFC 6749 section 5.2).
//!
//! # Clients identified by a metadata document
//!
//! With feature `cimd` and a resolver in `TokenDeps::cimd`, a `client_id` that is a
//! metadata document URL and not in the store is resolved: with the request's `redirect_uri`
//! when it has one (the `authorization_code` grant). Requests without one (refresh, revocation)
//! cannot ask the resolver, which checks a redirect URI; such a client is then taken as a
//! public client registered for `refresh_token` only, which is safe since a document cannot
//! name any other authentication method and the refresh token itself is bound to the client.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};

use crate::client::registration::TokenEndpointAuthMethod;
use crate::error::{ErrorCode, OAuthError};
use crate::http::{Request, Response, param};
use crate::store::{ClientRecord, TokenHash};
use crate::token::endpoint::{TokenDeps, fault};

/// The `WWW-Authenticate` challenge sent when Basic authentication failed.
pub const BASIC_CHALLENGE: &str = "Basic realm=\"mcp-auth\"";

/// Standard base64, padding optional (RFC 7617 uses padded base64; some clients drop it).
const BASIC_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A client that authenticated, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedClient {
    /// Its registration.
    pub client: ClientRecord,
    /// The method it authenticated with (its registered one).
    pub method: TokenEndpointAuthMethod,
}

impl AuthenticatedClient {
    /// Whether the client registered `grant_type`.
    pub fn registered(&self, grant_type: &str) -> bool {
        self.client.grant_types.iter().any(|g| g == grant_type)
    }
}

/// Why a client was not authenticated: `invalid_client` (401), `invalid_request` (400) for
/// two methods at once, or `server_error` when the store failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuthError {
    /// The error to send.
    pub error: OAuthError,
    /// Whether the client tried the `Authorization` header.
    pub basic_attempted: bool,
}

impl ClientAuthError {
    fn invalid_client(basic_attempted: bool) -> Self {
        Self {
            error: OAuthError::new(ErrorCode::InvalidClient, "client authentication failed"),
            basic_attempted,
        }
    }

    fn invalid_request(description: &'static str) -> Self {
        Self {
            error: OAuthError::new(ErrorCode::InvalidRequest, description),
            basic_attempted: false,
        }
    }

    /// The response: the error's JSON, plus `WWW-Authenticate: Basic realm="mcp-auth"` on a
    /// 401 when the client tried Basic.
    pub fn response(&self) -> Response {
        let mut response = self.error.response();
        if self.basic_attempted && self.error.error == ErrorCode::InvalidClient {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static(BASIC_CHALLENGE));
        }
        response
    }
}

/// The credentials a request presents.
struct Presented<'a> {
    client_id: String,
    secret: Option<String>,
    method: TokenEndpointAuthMethod,
    redirect_uri: Option<&'a str>,
}

/// Authenticates the client of a token, revocation or introspection request whose form body
/// is `params`.
///
/// # Errors
///
/// [`ClientAuthError`], ready to answer with [`ClientAuthError::response`].
pub async fn authenticate_client(
    req: &Request,
    params: &[(String, String)],
    deps: &TokenDeps<'_>,
) -> Result<AuthenticatedClient, ClientAuthError> {
    let presented = presented(req, params)?;
    let basic = presented.method == TokenEndpointAuthMethod::ClientSecretBasic;
    let Some(client) = find_client(deps, &presented).await? else {
        // Same work as a wrong secret, so an unknown client is not told apart by timing.
        if let Some(secret) = &presented.secret {
            let _ = TokenHash::of("").matches(secret);
        }
        return Err(ClientAuthError::invalid_client(basic));
    };
    let registered = TokenEndpointAuthMethod::parse(&client.token_endpoint_auth_method);
    if registered != Some(presented.method) {
        return Err(ClientAuthError::invalid_client(basic));
    }
    if presented.method.is_confidential() {
        let matches = match (&client.client_secret_hash, &presented.secret) {
            (Some(hash), Some(secret)) => hash.matches(secret),
            _ => false,
        };
        if !matches {
            return Err(ClientAuthError::invalid_client(basic));
        }
    }
    Ok(AuthenticatedClient {
        client,
        method: presented.method,
    })
}

/// Reads which method the request uses and its credentials.
fn presented<'a>(
    req: &Request,
    params: &'a [(String, String)],
) -> Result<Presented<'a>, ClientAuthError> {
    let body_id = param(params, "client_id");
    let body_secret = param(params, "client_secret");
    let redirect_uri = param(params, "redirect_uri");
    if let Some(header) = req.headers().get(AUTHORIZATION) {
        if body_secret.is_some() {
            return Err(ClientAuthError::invalid_request(
                "more than one client authentication method was used",
            ));
        }
        let (client_id, secret) =
            parse_basic(header).ok_or_else(|| ClientAuthError::invalid_client(true))?;
        if body_id.is_some_and(|id| id != client_id) {
            return Err(ClientAuthError::invalid_request(
                "client_id does not match the Authorization header",
            ));
        }
        return Ok(Presented {
            client_id,
            secret: Some(secret),
            method: TokenEndpointAuthMethod::ClientSecretBasic,
            redirect_uri,
        });
    }
    let client_id = body_id.ok_or_else(|| ClientAuthError::invalid_client(false))?;
    Ok(Presented {
        client_id: client_id.to_owned(),
        secret: body_secret.map(str::to_owned),
        method: if body_secret.is_some() {
            TokenEndpointAuthMethod::ClientSecretPost
        } else {
            TokenEndpointAuthMethod::None
        },
        redirect_uri,
    })
}

/// The client named by the request: from the store, else (feature `cimd`) from its metadata
/// document.
async fn find_client(
    deps: &TokenDeps<'_>,
    presented: &Presented<'_>,
) -> Result<Option<ClientRecord>, ClientAuthError> {
    let stored = deps
        .store
        .get_client(&presented.client_id)
        .await
        .map_err(|e| ClientAuthError {
            error: fault("client authentication: get_client", &e),
            basic_attempted: false,
        })?;
    if stored.is_some() {
        return Ok(stored);
    }
    #[cfg(feature = "cimd")]
    if let Some(resolver) = deps.cimd
        && resolver.is_metadata_client_id(&presented.client_id)
    {
        return Ok(match presented.redirect_uri {
            Some(redirect_uri) => resolver
                .resolve(&presented.client_id, redirect_uri)
                .await
                .ok(),
            None => Some(metadata_client_without_redirect(&presented.client_id)),
        });
    }
    #[cfg(not(feature = "cimd"))]
    let _ = presented.redirect_uri;
    Ok(None)
}

/// A metadata document client known only by its URL: public, `refresh_token` only.
#[cfg(feature = "cimd")]
fn metadata_client_without_redirect(client_id: &str) -> ClientRecord {
    ClientRecord {
        client_id: client_id.to_owned(),
        client_secret_hash: None,
        redirect_uris: Vec::new(),
        client_name: None,
        grant_types: vec![crate::token::endpoint::REFRESH_TOKEN.to_owned()],
        response_types: Vec::new(),
        token_endpoint_auth_method: TokenEndpointAuthMethod::None.as_str().to_owned(),
        scope: None,
        application_type: crate::store::ApplicationType::default(),
        source: crate::store::ClientSource::Metadata(client_id.to_owned()),
        created_at: 0,
        metadata_expires_at: None,
    }
}

/// Parses `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 section 2.3.1, RFC
/// 7617). `None` when anything is malformed or the id is empty.
fn parse_basic(header: &HeaderValue) -> Option<(String, String)> {
    let value = header.to_str().ok()?.trim();
    let (scheme, credentials) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = BASIC_BASE64.decode(credentials.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let id = form_decode(id)?;
    let secret = form_decode(secret)?;
    (!id.is_empty()).then_some((id, secret))
}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space, `%XX` a byte.
/// `None` for a malformed escape or a result that is not UTF-8.
fn form_decode(input: &str) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn basic(raw: &str) -> HeaderValue {
        HeaderValue::from_str(&format!("Basic {}", STANDARD.encode(raw))).unwrap()
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(
            parse_basic(&basic("my%20client:s%3Ac+r%2Bt")),
            Some(("my client".to_owned(), "s:c r+t".to_owned()))
        );
        // The first colon separates; the scheme is case-insensitive; padding is optional.
        let unpadded = format!("bAsIc {}", STANDARD.encode("a:b:c").trim_end_matches('='));
        assert_eq!(
            parse_basic(&HeaderValue::from_str(&unpadded).unwrap()),
            Some(("a".to_owned(), "b:c".to_owned()))
        );
        assert_eq!(
            parse_basic(&basic("id:")),
            Some(("id".to_owned(), String::new()))
        );
    }

    #[test]
    fn malformed_basic_is_refused() {
        for bad in [
            HeaderValue::from_static("Basic !!!notbase64"),
            HeaderValue::from_static("Bearer abc"),
            HeaderValue::from_static("Basic"),
            basic("no-colon"),
            basic(":secret"),
            basic("id:%zz"),
            basic("id:%4"),
            basic("id:%ff"),
        ] {
            assert_eq!(parse_basic(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn basic_failures_carry_the_challenge() {
        let response = ClientAuthError::invalid_client(true).response();
        assert_eq!(response.status(), http::StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[WWW_AUTHENTICATE], BASIC_CHALLENGE);
        let response = ClientAuthError::invalid_client(false).response();
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
        let response = ClientAuthError::invalid_request("x").response();
        assert_eq!(response.status(), http::StatusCode::BAD_REQUEST);
    }
}
