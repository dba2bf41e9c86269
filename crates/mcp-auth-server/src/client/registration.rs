//! Dynamic client registration (RFC 7591) and preconfigured clients, checked by one set of
//! rules.
//!
//! [`register`] turns a [`RegistrationRequest`] into the [`ClientRecord`] to store and the
//! [`RegistrationResponse`] to send back. The server picks the `client_id` (`mcp_` and 128
//! random bits) and, for a confidential client, a 256-bit `client_secret` that appears in the
//! response once and is stored only as its [`TokenHash`].
//!
//! # Rules
//!
//! | metadata | accepted |
//! |---|---|
//! | `redirect_uris` | 1 to [`MAX_REDIRECT_URIS`] [`RedirectUri`]s; required with `authorization_code` |
//! | `token_endpoint_auth_method` | `none`, `client_secret_basic` (the RFC 7591 default), `client_secret_post` |
//! | `grant_types` | `authorization_code` (default), `refresh_token`, `client_credentials` |
//! | `response_types` | `code`, exactly when `authorization_code` is a grant type (RFC 7591 section 2.1) |
//! | `client_name` | up to [`MAX_CLIENT_NAME_CHARS`] characters, no control or bidi characters |
//! | `client_uri`, `logo_uri` | `https` URLs (checked, not retained) |
//! | `scope` | scope tokens of RFC 6749 section 3.3, within [`RegistrationPolicy::allowed_scopes`] |
//! | `application_type` | `web` (default) or `native` |
//! | `software_id`, `software_version` | up to [`MAX_SOFTWARE_FIELD_LEN`] bytes (checked, not retained) |
//!
//! Besides: `refresh_token` needs `authorization_code`, and `client_credentials` needs a
//! confidential authentication method. Metadata this server does not know is ignored (RFC 7591
//! section 2).
//!
//! Errors carry the codes of RFC 7591 section 3.2.2 and a fixed description: the input is never
//! repeated back.
//!
//! # Example
//!
//! ```
//! use mcp_auth_server::client::registration::{
//!     RegistrationPolicy, RegistrationRequest, register,
//! };
//!
//! let body = br#"{"redirect_uris": ["http://127.0.0.1/callback"],
//!                 "token_endpoint_auth_method": "none",
//!                 "grant_types": ["authorization_code", "refresh_token"],
//!                 "client_name": "My MCP client"}"#;
//! let request = RegistrationRequest::from_json(body).unwrap();
//! let (record, response) = register(request, &RegistrationPolicy::new(), 1_700_000_000).unwrap();
//! assert!(record.client_id.starts_with("mcp_"));
//! assert_eq!(response.client_id, record.client_id);
//! assert!(response.client_secret.is_none()); // a public client
//!
//! let err = RegistrationRequest::from_json(br#"{"redirect_uris": ["javascript:alert(1)"]}"#)
//!     .and_then(|request| register(request, &RegistrationPolicy::new(), 1_700_000_000))
//!     .unwrap_err();
//! assert_eq!(err.code(), "invalid_redirect_uri");
//! ```

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcp_auth_core::Scopes;
use serde::{Deserialize, Serialize, Serializer};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::redirect::RedirectUri;
use crate::store::{ApplicationType, ClientRecord, ClientSource, TokenHash};

/// The largest registration request body accepted: 16 KiB.
pub const MAX_REGISTRATION_BODY: usize = 16 * 1024;

/// The most redirect URIs a client may register.
pub const MAX_REDIRECT_URIS: usize = 10;

/// The longest `client_name`, in characters.
pub const MAX_CLIENT_NAME_CHARS: usize = 200;

/// The longest `software_id` or `software_version`, in bytes.
pub const MAX_SOFTWARE_FIELD_LEN: usize = 200;

/// The longest `scope` value, in bytes.
pub const MAX_SCOPE_LEN: usize = 1_000;

/// The longest `client_uri` or `logo_uri`, in bytes.
pub const MAX_URL_LEN: usize = 2_000;

/// The longest preconfigured `client_id`, in bytes.
pub const MAX_CLIENT_ID_LEN: usize = 200;

/// The prefix of server-generated client identifiers.
pub const CLIENT_ID_PREFIX: &str = "mcp_";

const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
const GRANT_REFRESH_TOKEN: &str = "refresh_token";
const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
const RESPONSE_CODE: &str = "code";

/// A client registration request (RFC 7591 section 3.1): the client metadata of section 2
/// that this server understands. Other members are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationRequest {
    /// Redirection endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// `none`, `client_secret_basic` or `client_secret_post`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// Grant types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    /// Response types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types: Option<Vec<String>>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Home page of the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// Logo of the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// Space-delimited scopes the client may request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `web` or `native`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_type: Option<String>,
    /// Identifier of the client software.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_id: Option<String>,
    /// Version of the client software.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
}

impl RegistrationRequest {
    /// Parses a request body: at most [`MAX_REGISTRATION_BODY`] bytes of a JSON object.
    /// Never panics, whatever the bytes.
    ///
    /// # Errors
    ///
    /// [`RegistrationError::BodyTooLarge`] or [`RegistrationError::MalformedRequest`] (not JSON,
    /// not an object, a member of the wrong type, a duplicated member).
    pub fn from_json(body: &[u8]) -> Result<Self, RegistrationError> {
        if body.len() > MAX_REGISTRATION_BODY {
            return Err(RegistrationError::BodyTooLarge);
        }
        // A struct also deserializes from a JSON array, positionally: insist on an object.
        let first = body.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            return Err(RegistrationError::MalformedRequest);
        }
        serde_json::from_slice(body).map_err(|_| RegistrationError::MalformedRequest)
    }
}

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenEndpointAuthMethod {
    /// A public client: no authentication.
    None,
    /// HTTP Basic with the client secret (RFC 6749 section 2.3.1).
    ClientSecretBasic,
    /// The client secret in the request body.
    ClientSecretPost,
}

impl TokenEndpointAuthMethod {
    /// The registered value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }

    /// Parses a registered value; `None` for methods this server does not support
    /// (`private_key_jwt`, `client_secret_jwt`, ...).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "none" => Some(Self::None),
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            _ => None,
        }
    }

    /// Whether the client holds a secret.
    pub fn is_confidential(self) -> bool {
        self != Self::None
    }
}

/// What the server allows clients to register.
#[derive(Debug, Clone, Default)]
pub struct RegistrationPolicy {
    allowed_scopes: Option<Scopes>,
}

impl RegistrationPolicy {
    /// No restriction beyond the rules of the [module docs](self).
    pub fn new() -> Self {
        Self::default()
    }

    /// Restricts the `scope` a client may register to these scopes: a request naming another
    /// scope is refused.
    pub fn allowed_scopes(mut self, scopes: Scopes) -> Self {
        self.allowed_scopes = Some(scopes);
        self
    }

    /// The scopes clients may register, if restricted.
    pub fn scopes(&self) -> Option<&Scopes> {
        self.allowed_scopes.as_ref()
    }
}

/// A client secret in clear, shown once in the registration response. Its `Debug` is
/// redacted and its memory zeroed on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// The secret.
    ///
    /// # Security Warning
    ///
    /// Send it to the client in the registration response; do not log or store it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

impl Serialize for ClientSecret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// The client information response (RFC 7591 section 3.2.1): the identifier, the secret of a
/// confidential client, and the metadata as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistrationResponse {
    /// The server-chosen client identifier.
    pub client_id: String,
    /// The client secret, for confidential clients only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<ClientSecret>,
    /// When the identifier was issued (unix seconds).
    pub client_id_issued_at: u64,
    /// `0` (the secret does not expire) when a secret is issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<u64>,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Registered authentication method.
    pub token_endpoint_auth_method: String,
    /// Registered grant types.
    pub grant_types: Vec<String>,
    /// Registered response types.
    pub response_types: Vec<String>,
    /// Registered name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Registered scopes, normalized (sorted, without duplicates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `web` or `native`.
    pub application_type: String,
}

/// Why a registration was refused (RFC 7591 section 3.2.2). [`code`](Self::code) and
/// [`description`](Self::description) form the error response; neither repeats the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// The body exceeds [`MAX_REGISTRATION_BODY`].
    #[error("the registration request is too large")]
    BodyTooLarge,
    /// The body is not a JSON object of client metadata.
    #[error("the registration request is not a valid JSON object of client metadata")]
    MalformedRequest,
    /// `redirect_uris` is missing or empty although `authorization_code` is a grant type.
    #[error("redirect_uris is required for the authorization_code grant")]
    RedirectUrisMissing,
    /// More than [`MAX_REDIRECT_URIS`] redirect URIs.
    #[error("too many redirect_uris")]
    TooManyRedirectUris,
    /// A redirect URI breaks the rules of [`super::redirect`].
    #[error(
        "a redirect URI is invalid: it must be https, http on a loopback host, or a private-use scheme, without a fragment"
    )]
    InvalidRedirectUri,
    /// An authentication method other than `none`, `client_secret_basic`, `client_secret_post`.
    #[error("unsupported token_endpoint_auth_method")]
    UnsupportedAuthMethod,
    /// `grant_types` is empty.
    #[error("grant_types must not be empty")]
    NoGrantTypes,
    /// A grant type other than `authorization_code`, `refresh_token`, `client_credentials`.
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    /// A response type other than `code`.
    #[error("unsupported response type")]
    UnsupportedResponseType,
    /// `response_types` holds `code` exactly when `grant_types` holds `authorization_code`.
    #[error("grant_types and response_types are inconsistent")]
    InconsistentGrantAndResponseTypes,
    /// `refresh_token` without `authorization_code`.
    #[error("the refresh_token grant requires the authorization_code grant")]
    RefreshWithoutAuthorizationCode,
    /// `client_credentials` for a public client.
    #[error("the client_credentials grant requires a confidential client")]
    PublicClientCredentials,
    /// `client_name` empty, too long, or with control characters.
    #[error("invalid client_name")]
    InvalidClientName,
    /// `client_uri` or `logo_uri` not an https URL.
    #[error("client_uri and logo_uri must be https URLs")]
    InvalidClientUri,
    /// `scope` not a space-delimited list of scope tokens.
    #[error("invalid scope")]
    InvalidScope,
    /// `scope` names a scope the server does not allow.
    #[error("scope contains a value the server does not allow")]
    ScopeNotAllowed,
    /// `application_type` neither `web` nor `native`.
    #[error("application_type must be web or native")]
    InvalidApplicationType,
    /// `software_id` or `software_version` too long or with control characters.
    #[error("invalid software_id or software_version")]
    InvalidSoftwareField,
    /// The system random source failed; answer HTTP 500 `server_error`.
    #[error("the server could not generate credentials")]
    RandomUnavailable,
}

impl RegistrationError {
    /// The `error` code: `invalid_redirect_uri` or `invalid_client_metadata` (RFC 7591 section
    /// 3.2.2), or `server_error` for [`RegistrationError::RandomUnavailable`].
    pub fn code(&self) -> &'static str {
        match self {
            Self::RedirectUrisMissing | Self::TooManyRedirectUris | Self::InvalidRedirectUri => {
                "invalid_redirect_uri"
            }
            Self::RandomUnavailable => "server_error",
            _ => "invalid_client_metadata",
        }
    }

    /// The `error_description`: a fixed text.
    pub fn description(&self) -> String {
        self.to_string()
    }

    /// The HTTP status to answer with: 400, 413 for an oversized body, 500 when the server
    /// failed.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::BodyTooLarge => 413,
            Self::RandomUnavailable => 500,
            _ => 400,
        }
    }

    /// The error response body.
    pub fn response(&self) -> RegistrationErrorResponse {
        RegistrationErrorResponse {
            error: self.code(),
            error_description: self.description(),
        }
    }
}

/// The JSON body of a registration error (RFC 7591 section 3.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistrationErrorResponse {
    /// The error code.
    pub error: &'static str,
    /// A fixed, human-readable description.
    pub error_description: String,
}

/// Client metadata that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValidMetadata {
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) auth_method: TokenEndpointAuthMethod,
    pub(crate) grant_types: Vec<String>,
    pub(crate) response_types: Vec<String>,
    pub(crate) client_name: Option<String>,
    pub(crate) scope: Option<String>,
    pub(crate) application_type: ApplicationType,
}

/// Checks client metadata against every rule. `default_auth` applies when the request names
/// no `token_endpoint_auth_method`.
pub(crate) fn validate(
    request: &RegistrationRequest,
    policy: &RegistrationPolicy,
    default_auth: TokenEndpointAuthMethod,
) -> Result<ValidMetadata, RegistrationError> {
    let auth_method = match &request.token_endpoint_auth_method {
        Some(method) => TokenEndpointAuthMethod::parse(method)
            .ok_or(RegistrationError::UnsupportedAuthMethod)?,
        None => default_auth,
    };

    let grant_types = match &request.grant_types {
        None => vec![GRANT_AUTHORIZATION_CODE.to_owned()],
        Some(list) if list.is_empty() => return Err(RegistrationError::NoGrantTypes),
        Some(list) => {
            let known = [
                GRANT_AUTHORIZATION_CODE,
                GRANT_REFRESH_TOKEN,
                GRANT_CLIENT_CREDENTIALS,
            ];
            if !list.iter().all(|g| known.contains(&g.as_str())) {
                return Err(RegistrationError::UnsupportedGrantType);
            }
            dedup(list)
        }
    };
    let has_grant = |g: &str| grant_types.iter().any(|x| x == g);
    let authorization_code = has_grant(GRANT_AUTHORIZATION_CODE);

    let response_types = match &request.response_types {
        None if authorization_code => vec![RESPONSE_CODE.to_owned()],
        None => Vec::new(),
        Some(list) => {
            if !list.iter().all(|r| r == RESPONSE_CODE) {
                return Err(RegistrationError::UnsupportedResponseType);
            }
            dedup(list)
        }
    };
    if response_types.is_empty() == authorization_code {
        return Err(RegistrationError::InconsistentGrantAndResponseTypes);
    }
    if has_grant(GRANT_REFRESH_TOKEN) && !authorization_code {
        return Err(RegistrationError::RefreshWithoutAuthorizationCode);
    }
    if has_grant(GRANT_CLIENT_CREDENTIALS) && !auth_method.is_confidential() {
        return Err(RegistrationError::PublicClientCredentials);
    }

    let redirect_uris = match &request.redirect_uris {
        Some(list) if list.len() > MAX_REDIRECT_URIS => {
            return Err(RegistrationError::TooManyRedirectUris);
        }
        Some(list) => {
            for uri in list {
                RedirectUri::new(uri.as_str())
                    .map_err(|_| RegistrationError::InvalidRedirectUri)?;
            }
            dedup(list)
        }
        None => Vec::new(),
    };
    if authorization_code && redirect_uris.is_empty() {
        return Err(RegistrationError::RedirectUrisMissing);
    }

    if let Some(name) = &request.client_name {
        check_client_name(name)?;
    }
    for uri in [&request.client_uri, &request.logo_uri]
        .into_iter()
        .flatten()
    {
        check_https_url(uri)?;
    }
    for field in [&request.software_id, &request.software_version]
        .into_iter()
        .flatten()
    {
        if field.len() > MAX_SOFTWARE_FIELD_LEN || field.chars().any(char::is_control) {
            return Err(RegistrationError::InvalidSoftwareField);
        }
    }

    let scope = match &request.scope {
        None => None,
        Some(scope) => Some(check_scope(scope, policy)?),
    };
    let application_type = match &request.application_type {
        None => ApplicationType::Web,
        Some(value) => {
            ApplicationType::parse(value).ok_or(RegistrationError::InvalidApplicationType)?
        }
    };

    Ok(ValidMetadata {
        redirect_uris,
        auth_method,
        grant_types,
        response_types,
        client_name: request.client_name.clone(),
        scope,
        application_type,
    })
}

/// The list without repeated values, in first-seen order.
fn dedup(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for value in list {
        if !out.contains(value) {
            out.push(value.clone());
        }
    }
    out
}

/// Characters that reorder or hide text, which could disguise a name on the consent screen.
fn is_invisible_or_bidi(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

fn check_client_name(name: &str) -> Result<(), RegistrationError> {
    let chars = name.chars().count();
    let valid = chars > 0
        && chars <= MAX_CLIENT_NAME_CHARS
        && !name.trim().is_empty()
        && !name
            .chars()
            .any(|c| c.is_control() || is_invisible_or_bidi(c));
    if valid {
        Ok(())
    } else {
        Err(RegistrationError::InvalidClientName)
    }
}

fn check_https_url(value: &str) -> Result<(), RegistrationError> {
    if value.len() > MAX_URL_LEN || value.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
        return Err(RegistrationError::InvalidClientUri);
    }
    let url = url::Url::parse(value).map_err(|_| RegistrationError::InvalidClientUri)?;
    if url.scheme() != "https" || !url.username().is_empty() || url.password().is_some() {
        return Err(RegistrationError::InvalidClientUri);
    }
    Ok(())
}

/// Checks a `scope` value; returns it normalized.
fn check_scope(scope: &str, policy: &RegistrationPolicy) -> Result<String, RegistrationError> {
    if scope.len() > MAX_SCOPE_LEN {
        return Err(RegistrationError::InvalidScope);
    }
    let scopes =
        Scopes::from_tokens(scope.split(' ')).map_err(|_| RegistrationError::InvalidScope)?;
    if let Some(allowed) = policy.scopes()
        && !allowed.contains_all(&scopes)
    {
        return Err(RegistrationError::ScopeNotAllowed);
    }
    Ok(scopes.to_string())
}

/// `bytes` random bytes from the system source, base64url without padding.
fn random_token(bytes: usize) -> Result<String, RegistrationError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|_| RegistrationError::RandomUnavailable)?;
    let token = URL_SAFE_NO_PAD.encode(&buf);
    buf.zeroize();
    Ok(token)
}

/// Registers a client (RFC 7591 section 3): validates `request`, picks the identifier and,
/// for a confidential client, the secret. Store the record; send the response (the only place
/// the secret ever appears in clear).
///
/// # Errors
///
/// [`RegistrationError`]: answer with [`RegistrationError::http_status`] and
/// [`RegistrationError::response`].
pub fn register(
    request: RegistrationRequest,
    policy: &RegistrationPolicy,
    now: u64,
) -> Result<(ClientRecord, RegistrationResponse), RegistrationError> {
    let metadata = validate(&request, policy, TokenEndpointAuthMethod::ClientSecretBasic)?;
    let client_id = format!("{CLIENT_ID_PREFIX}{}", random_token(16)?);
    let client_secret = if metadata.auth_method.is_confidential() {
        Some(ClientSecret(random_token(32)?))
    } else {
        None
    };
    let record = ClientRecord {
        client_id: client_id.clone(),
        client_secret_hash: client_secret
            .as_ref()
            .map(|secret| TokenHash::of(secret.expose_secret())),
        redirect_uris: metadata.redirect_uris.clone(),
        client_name: metadata.client_name.clone(),
        grant_types: metadata.grant_types.clone(),
        response_types: metadata.response_types.clone(),
        token_endpoint_auth_method: metadata.auth_method.as_str().to_owned(),
        scope: metadata.scope.clone(),
        application_type: metadata.application_type,
        source: ClientSource::Dynamic,
        created_at: now,
        metadata_expires_at: None,
    };
    let response = RegistrationResponse {
        client_id,
        client_secret_expires_at: client_secret.as_ref().map(|_| 0),
        client_secret,
        client_id_issued_at: now,
        redirect_uris: metadata.redirect_uris,
        token_endpoint_auth_method: metadata.auth_method.as_str().to_owned(),
        grant_types: metadata.grant_types,
        response_types: metadata.response_types,
        client_name: metadata.client_name,
        scope: metadata.scope,
        application_type: metadata.application_type.as_str().to_owned(),
    };
    Ok((record, response))
}

/// A client declared in the server's configuration, checked by the same rules as a
/// registration.
///
/// Unlike a registration, the operator picks the `client_id` and gives the SHA-256 of the
/// secret (as 64 hex digits), never the secret. Without `token_endpoint_auth_method`, the
/// client is confidential (`client_secret_basic`) if a hash is given and public (`none`)
/// otherwise.
///
/// ```
/// use mcp_auth_server::client::registration::{PreconfiguredClient, RegistrationPolicy};
///
/// let client: PreconfiguredClient = serde_json::from_str(r#"{
///     "client_id": "inspector",
///     "redirect_uris": ["http://localhost:6274/oauth/callback"]
/// }"#).unwrap();
/// let record = client.into_record(&RegistrationPolicy::new(), 1_700_000_000).unwrap();
/// assert_eq!(record.token_endpoint_auth_method, "none");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreconfiguredClient {
    /// The client identifier: 1 to [`MAX_CLIENT_ID_LEN`] printable ASCII characters, no
    /// spaces, not an `http(s)` URL (those name metadata documents).
    pub client_id: String,
    /// The SHA-256 of the client secret, for a confidential client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_hash: Option<TokenHash>,
    /// Redirection endpoints.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    /// Grant types; `authorization_code` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    /// Response types; `code` by default with `authorization_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types: Option<Vec<String>>,
    /// Authentication method; see the type's docs for the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    /// Space-delimited scopes the client may request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `web` (default) or `native`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_type: Option<String>,
}

/// Why a preconfigured client was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PreconfiguredClientError {
    /// The `client_id` is empty, too long, has a space or control character, or is an
    /// `http(s)` URL.
    #[error("invalid client_id for a preconfigured client")]
    InvalidClientId,
    /// A confidential authentication method without `client_secret_hash`.
    #[error("a confidential preconfigured client needs client_secret_hash")]
    SecretHashMissing,
    /// `client_secret_hash` given for a public client (`none`).
    #[error("a public preconfigured client must not have client_secret_hash")]
    SecretHashUnexpected,
    /// The metadata breaks a registration rule.
    #[error("invalid preconfigured client metadata: {0}")]
    Metadata(#[from] RegistrationError),
}

impl PreconfiguredClient {
    /// Checks the client and turns it into the record to store, with source
    /// [`ClientSource::Preconfigured`] and `created_at` `now`.
    ///
    /// # Errors
    ///
    /// [`PreconfiguredClientError`].
    pub fn into_record(
        self,
        policy: &RegistrationPolicy,
        now: u64,
    ) -> Result<ClientRecord, PreconfiguredClientError> {
        let id = &self.client_id;
        let lower = id.to_ascii_lowercase();
        if id.is_empty()
            || id.len() > MAX_CLIENT_ID_LEN
            || id.bytes().any(|b| !(0x21..=0x7e).contains(&b))
            || lower.starts_with("https:")
            || lower.starts_with("http:")
        {
            return Err(PreconfiguredClientError::InvalidClientId);
        }
        let request = RegistrationRequest {
            redirect_uris: Some(self.redirect_uris),
            token_endpoint_auth_method: self.token_endpoint_auth_method,
            grant_types: self.grant_types,
            response_types: self.response_types,
            client_name: self.client_name,
            scope: self.scope,
            application_type: self.application_type,
            ..RegistrationRequest::default()
        };
        let default_auth = if self.client_secret_hash.is_some() {
            TokenEndpointAuthMethod::ClientSecretBasic
        } else {
            TokenEndpointAuthMethod::None
        };
        let metadata = validate(&request, policy, default_auth)?;
        match (
            metadata.auth_method.is_confidential(),
            self.client_secret_hash.is_some(),
        ) {
            (true, false) => return Err(PreconfiguredClientError::SecretHashMissing),
            (false, true) => return Err(PreconfiguredClientError::SecretHashUnexpected),
            _ => {}
        }
        Ok(ClientRecord {
            client_id: self.client_id,
            client_secret_hash: self.client_secret_hash,
            redirect_uris: metadata.redirect_uris,
            client_name: metadata.client_name,
            grant_types: metadata.grant_types,
            response_types: metadata.response_types,
            token_endpoint_auth_method: metadata.auth_method.as_str().to_owned(),
            scope: metadata.scope,
            application_type: metadata.application_type,
            source: ClientSource::Preconfigured,
            created_at: now,
            metadata_expires_at: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn parse(json: &str) -> Result<RegistrationRequest, RegistrationError> {
        RegistrationRequest::from_json(json.as_bytes())
    }

    fn reg(json: &str) -> Result<(ClientRecord, RegistrationResponse), RegistrationError> {
        register(parse(json)?, &RegistrationPolicy::new(), NOW)
    }

    fn err(json: &str) -> RegistrationError {
        reg(json).unwrap_err()
    }

    #[test]
    fn public_client_gets_an_id_and_no_secret() {
        let (record, response) = reg(r#"{
            "redirect_uris": ["http://127.0.0.1:3000/cb", "http://127.0.0.1:3000/cb"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "Claude",
            "scope": "mcp:tools mcp:read mcp:tools",
            "application_type": "native",
            "client_uri": "https://app.example.com",
            "logo_uri": "https://app.example.com/logo.png",
            "software_id": "4NRB1-0XZABZI9E6-5SM3R",
            "software_version": "2.1",
            "contacts": ["ops@example.com"],
            "client_name#ja-Jpan-JP": "クライアント名",
            "jwks": {"keys": []}
        }"#)
        .unwrap();
        assert!(record.client_id.starts_with(CLIENT_ID_PREFIX));
        let suffix = &record.client_id[CLIENT_ID_PREFIX.len()..];
        assert_eq!(URL_SAFE_NO_PAD.decode(suffix).unwrap().len(), 16);
        assert_eq!(record.client_secret_hash, None);
        assert_eq!(record.redirect_uris, ["http://127.0.0.1:3000/cb"]);
        assert_eq!(record.grant_types, ["authorization_code", "refresh_token"]);
        assert_eq!(record.response_types, ["code"]);
        assert_eq!(record.token_endpoint_auth_method, "none");
        assert_eq!(record.scope.as_deref(), Some("mcp:read mcp:tools"));
        assert_eq!(record.application_type, ApplicationType::Native);
        assert_eq!(record.source, ClientSource::Dynamic);
        assert_eq!(record.created_at, NOW);
        assert_eq!(record.metadata_expires_at, None);

        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json["client_id"], record.client_id.as_str());
        assert_eq!(json["client_id_issued_at"], NOW);
        assert!(json.get("client_secret").is_none());
        assert!(json.get("client_secret_expires_at").is_none());
        assert_eq!(json["client_name"], "Claude");
        assert_eq!(json["application_type"], "native");
        assert_eq!(json["token_endpoint_auth_method"], "none");
    }

    #[test]
    fn default_is_a_confidential_client_with_a_hashed_secret() {
        let (record, response) =
            reg(r#"{"redirect_uris": ["https://app.example.com/cb"]}"#).unwrap();
        assert_eq!(record.token_endpoint_auth_method, "client_secret_basic");
        assert_eq!(record.grant_types, ["authorization_code"]);
        assert_eq!(record.response_types, ["code"]);
        assert_eq!(record.application_type, ApplicationType::Web);
        let secret = response.client_secret.clone().unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(secret.expose_secret())
                .unwrap()
                .len(),
            32
        );
        assert!(
            record
                .client_secret_hash
                .unwrap()
                .matches(secret.expose_secret())
        );
        assert_eq!(response.client_secret_expires_at, Some(0));
        let json = serde_json::to_value(&response).unwrap();
        assert_eq!(json["client_secret"], secret.expose_secret());
        assert_eq!(json["client_secret_expires_at"], 0);
        // The record never holds the secret in clear; Debug output never shows it.
        let stored = serde_json::to_string(&record).unwrap();
        assert!(!stored.contains(secret.expose_secret()));
        assert!(!format!("{response:?}").contains(secret.expose_secret()));
    }

    #[test]
    fn identifiers_and_secrets_are_fresh() {
        let body = r#"{"redirect_uris": ["https://app.example.com/cb"]}"#;
        let (a, ra) = reg(body).unwrap();
        let (b, rb) = reg(body).unwrap();
        assert_ne!(a.client_id, b.client_id);
        assert_ne!(ra.client_secret, rb.client_secret);
    }

    #[test]
    fn client_credentials_client() {
        let (record, response) = reg(
            r#"{"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"}"#,
        )
        .unwrap();
        assert_eq!(record.grant_types, ["client_credentials"]);
        assert!(record.response_types.is_empty());
        assert!(record.redirect_uris.is_empty());
        assert!(response.client_secret.is_some());
    }

    #[test]
    fn redirect_uri_errors() {
        for body in [
            r#"{}"#,
            r#"{"redirect_uris": []}"#,
            r#"{"redirect_uris": ["javascript:alert(1)"]}"#,
            r#"{"redirect_uris": ["https://good.example/cb#frag"]}"#,
            r#"{"redirect_uris": ["http://127.0.0.1.evil.com/cb"]}"#,
            r#"{"redirect_uris": ["https://ok.example/cb", "\tjavascript:alert(1)"]}"#,
        ] {
            let e = err(body);
            assert_eq!(e.code(), "invalid_redirect_uri", "{body}");
        }
        let many: Vec<String> = (0..=MAX_REDIRECT_URIS)
            .map(|i| format!("https://app.example.com/cb{i}"))
            .collect();
        let body = serde_json::json!({ "redirect_uris": many }).to_string();
        assert_eq!(err(&body), RegistrationError::TooManyRedirectUris);
        let ten = &many[..MAX_REDIRECT_URIS];
        let body = serde_json::json!({ "redirect_uris": ten }).to_string();
        assert!(reg(&body).is_ok());
    }

    #[test]
    fn metadata_errors() {
        let cases = [
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}"#,
                RegistrationError::UnsupportedAuthMethod,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "NONE"}"#,
                RegistrationError::UnsupportedAuthMethod,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "grant_types": []}"#,
                RegistrationError::NoGrantTypes,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "grant_types": ["implicit"]}"#,
                RegistrationError::UnsupportedGrantType,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "grant_types": ["password"]}"#,
                RegistrationError::UnsupportedGrantType,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}"#,
                RegistrationError::UnsupportedResponseType,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "response_types": ["code id_token"]}"#,
                RegistrationError::UnsupportedResponseType,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "response_types": []}"#,
                RegistrationError::InconsistentGrantAndResponseTypes,
            ),
            (
                r#"{"grant_types": ["client_credentials"], "response_types": ["code"]}"#,
                RegistrationError::InconsistentGrantAndResponseTypes,
            ),
            (
                r#"{"grant_types": ["refresh_token"], "response_types": []}"#,
                RegistrationError::RefreshWithoutAuthorizationCode,
            ),
            (
                r#"{"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}"#,
                RegistrationError::PublicClientCredentials,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "client_name": ""}"#,
                RegistrationError::InvalidClientName,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "client_name": "   "}"#,
                RegistrationError::InvalidClientName,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "client_name": "bad\nname"}"#,
                RegistrationError::InvalidClientName,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "client_name": "evil\u202egood"}"#,
                RegistrationError::InvalidClientName,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "client_uri": "http://a.example"}"#,
                RegistrationError::InvalidClientUri,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "logo_uri": "javascript:alert(1)"}"#,
                RegistrationError::InvalidClientUri,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "logo_uri": "https://u:p@a.example/l.png"}"#,
                RegistrationError::InvalidClientUri,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "scope": "a  b"}"#,
                RegistrationError::InvalidScope,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "scope": ""}"#,
                RegistrationError::InvalidScope,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "scope": "a\"b"}"#,
                RegistrationError::InvalidScope,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "application_type": "desktop"}"#,
                RegistrationError::InvalidApplicationType,
            ),
            (
                r#"{"redirect_uris": ["https://a.example/cb"], "software_id": "a\u0000b"}"#,
                RegistrationError::InvalidSoftwareField,
            ),
        ];
        for (body, expected) in cases {
            let e = err(body);
            assert_eq!(e, expected, "{body}");
            assert_eq!(e.code(), "invalid_client_metadata", "{body}");
            assert_eq!(e.http_status(), 400);
        }
        let long_name = format!(
            r#"{{"redirect_uris": ["https://a.example/cb"], "client_name": "{}"}}"#,
            "é".repeat(MAX_CLIENT_NAME_CHARS + 1)
        );
        assert_eq!(err(&long_name), RegistrationError::InvalidClientName);
        let fits = format!(
            r#"{{"redirect_uris": ["https://a.example/cb"], "client_name": "{}"}}"#,
            "é".repeat(MAX_CLIENT_NAME_CHARS)
        );
        assert!(reg(&fits).is_ok());
        let long_version = format!(
            r#"{{"redirect_uris": ["https://a.example/cb"], "software_version": "{}"}}"#,
            "1".repeat(MAX_SOFTWARE_FIELD_LEN + 1)
        );
        assert_eq!(err(&long_version), RegistrationError::InvalidSoftwareField);
    }

    #[test]
    fn scope_policy() {
        let policy =
            RegistrationPolicy::new().allowed_scopes("mcp:read mcp:tools".parse().unwrap());
        let ok =
            parse(r#"{"redirect_uris": ["https://a.example/cb"], "scope": "mcp:read"}"#).unwrap();
        assert_eq!(
            register(ok, &policy, NOW).unwrap().0.scope.as_deref(),
            Some("mcp:read")
        );
        let bad =
            parse(r#"{"redirect_uris": ["https://a.example/cb"], "scope": "mcp:read admin"}"#)
                .unwrap();
        assert_eq!(
            register(bad, &policy, NOW).unwrap_err(),
            RegistrationError::ScopeNotAllowed
        );
        let none = parse(r#"{"redirect_uris": ["https://a.example/cb"]}"#).unwrap();
        assert_eq!(register(none, &policy, NOW).unwrap().0.scope, None);
    }

    #[test]
    fn parsing_is_total_and_bounded() {
        for body in [
            &b""[..],
            b"null",
            b"[]",
            b"[[\"https://a.example/cb\"]]",
            b"\"x\"",
            b"{",
            b"{\"redirect_uris\": \"https://a.example/cb\"}",
            b"{\"redirect_uris\": [1]}",
            b"{\"client_name\": 5}",
            b"{\"scope\": \"a\", \"scope\": \"b\"}",
            b"\xff\xfe{}",
            b"{\"client_name\": \"\xff\"}",
        ] {
            assert_eq!(
                RegistrationRequest::from_json(body),
                Err(RegistrationError::MalformedRequest),
                "{body:?}"
            );
        }
        let deep = format!("{{\"x\": {}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(deep.len() > MAX_REGISTRATION_BODY);
        assert_eq!(
            RegistrationRequest::from_json(deep.as_bytes()),
            Err(RegistrationError::BodyTooLarge)
        );
        // Deep nesting within the size cap: skipped (unknown member) without recursion, or
        // refused (known member), never a stack overflow.
        let nested = format!("{{\"x\": {}{}}}", "[".repeat(8_000), "]".repeat(8_000));
        assert_eq!(
            RegistrationRequest::from_json(nested.as_bytes()),
            Ok(RegistrationRequest::default())
        );
        let nested = format!(
            "{{\"redirect_uris\": {}{}}}",
            "[".repeat(8_000),
            "]".repeat(8_000)
        );
        assert_eq!(
            RegistrationRequest::from_json(nested.as_bytes()),
            Err(RegistrationError::MalformedRequest)
        );
        assert_eq!(RegistrationError::BodyTooLarge.http_status(), 413);
        assert_eq!(
            RegistrationRequest::from_json(
                b" {\"unknown\": {\"a\": [1, 2]}, \"client_name\": null} "
            )
            .unwrap(),
            RegistrationRequest::default()
        );
    }

    #[test]
    fn error_responses_never_echo_input() {
        let marker = "zz-marker-zz";
        for body in [
            format!(r#"{{"redirect_uris": ["javascript:{marker}"]}}"#),
            format!(
                r#"{{"redirect_uris": ["https://a.example/cb"], "client_name": "{marker}\n"}}"#
            ),
            format!(
                r#"{{"redirect_uris": ["https://a.example/cb"], "grant_types": ["{marker}"]}}"#
            ),
            format!(r#"{{"redirect_uris": ["https://a.example/cb"], "scope": "{marker}\\\\"}}"#),
            format!(r#"{{"{marker}": "#),
        ] {
            let e = reg(&body).unwrap_err();
            let json = serde_json::to_string(&e.response()).unwrap();
            assert!(!json.contains(marker), "{json}");
            assert!(!format!("{e:?} {e}").contains(marker));
        }
        let response = RegistrationError::InvalidRedirectUri.response();
        assert_eq!(
            serde_json::to_value(&response).unwrap()["error"],
            "invalid_redirect_uri"
        );
    }

    #[test]
    fn preconfigured_clients_follow_the_same_rules() {
        let hash = TokenHash::of("operator-secret");
        let public: PreconfiguredClient = serde_json::from_value(serde_json::json!({
            "client_id": "inspector",
            "redirect_uris": ["http://localhost:6274/oauth/callback"],
            "client_name": "MCP Inspector",
            "grant_types": ["authorization_code", "refresh_token"],
        }))
        .unwrap();
        let record = public.into_record(&RegistrationPolicy::new(), NOW).unwrap();
        assert_eq!(record.client_id, "inspector");
        assert_eq!(record.source, ClientSource::Preconfigured);
        assert_eq!(record.token_endpoint_auth_method, "none");
        assert_eq!(record.client_secret_hash, None);

        let confidential = PreconfiguredClient {
            client_id: "backend".into(),
            client_secret_hash: Some(hash),
            redirect_uris: Vec::new(),
            client_name: None,
            grant_types: Some(vec!["client_credentials".into()]),
            response_types: None,
            token_endpoint_auth_method: None,
            scope: Some("mcp:tools".into()),
            application_type: None,
        };
        let record = confidential
            .clone()
            .into_record(&RegistrationPolicy::new(), NOW)
            .unwrap();
        assert_eq!(record.token_endpoint_auth_method, "client_secret_basic");
        assert_eq!(record.client_secret_hash, Some(hash));
        // Round trip through configuration (the hash as hex).
        let toml_like = serde_json::to_string(&confidential).unwrap();
        assert!(toml_like.contains(&hash.to_string()));

        let with = |f: &dyn Fn(&mut PreconfiguredClient)| {
            let mut client = confidential.clone();
            f(&mut client);
            client
                .into_record(&RegistrationPolicy::new(), NOW)
                .unwrap_err()
        };
        assert_eq!(
            with(&|c| c.client_id = String::new()),
            PreconfiguredClientError::InvalidClientId
        );
        assert_eq!(
            with(&|c| c.client_id = "has space".into()),
            PreconfiguredClientError::InvalidClientId
        );
        assert_eq!(
            with(&|c| c.client_id = "HTTPS://app.example.com/client".into()),
            PreconfiguredClientError::InvalidClientId
        );
        assert_eq!(
            with(&|c| c.client_id = "x".repeat(MAX_CLIENT_ID_LEN + 1)),
            PreconfiguredClientError::InvalidClientId
        );
        assert_eq!(
            with(&|c| c.client_secret_hash = None),
            PreconfiguredClientError::Metadata(RegistrationError::PublicClientCredentials)
        );
        assert_eq!(
            with(&|c| {
                c.client_secret_hash = None;
                c.token_endpoint_auth_method = Some("client_secret_post".into());
            }),
            PreconfiguredClientError::SecretHashMissing
        );
        assert_eq!(
            with(&|c| {
                c.grant_types = None;
                c.redirect_uris = vec!["http://localhost/cb".into()];
                c.token_endpoint_auth_method = Some("none".into());
            }),
            PreconfiguredClientError::SecretHashUnexpected
        );
        assert_eq!(
            with(&|c| {
                c.grant_types = None;
                c.redirect_uris = vec!["http://evil.example/cb".into()];
            }),
            PreconfiguredClientError::Metadata(RegistrationError::InvalidRedirectUri)
        );
        assert!(
            serde_json::from_value::<PreconfiguredClient>(serde_json::json!({
                "client_id": "x", "client_secret": "plain"
            }))
            .is_err()
        );
    }

    #[test]
    fn auth_method_round_trips() {
        for method in [
            TokenEndpointAuthMethod::None,
            TokenEndpointAuthMethod::ClientSecretBasic,
            TokenEndpointAuthMethod::ClientSecretPost,
        ] {
            assert_eq!(
                TokenEndpointAuthMethod::parse(method.as_str()),
                Some(method)
            );
        }
        assert_eq!(TokenEndpointAuthMethod::parse("private_key_jwt"), None);
        assert_eq!(
            format!("{:?}", ClientSecret("s3cr3t".into())),
            "ClientSecret([redacted])"
        );
    }
}
