//! The authorization server's metadata: RFC 8414 (`/.well-known/oauth-authorization-server`)
//! and OpenID Connect Discovery 1.0 (`/.well-known/openid-configuration`).
//!
//! MCP clients read one of these documents to find the endpoints; they build its URL from the
//! issuer identifier that the protected resource metadata (RFC 9728) names, and check that the
//! document's `issuer` is that identifier exactly (RFC 8414 section 3.3). So the [`Issuer`] is
//! kept exactly as configured, never normalized, and every endpoint URL is the issuer followed
//! by the endpoint's path.
//!
//! For an issuer with a path (`https://example.com/tenant`), the documents are served at the
//! path-inserted locations of RFC 8414 section 3.1 and, for OpenID Connect, also at the
//! path-appended location of OIDC Discovery section 4: MCP clients try those three (MCP
//! authorization, "Authorization Server Metadata Discovery"). See
//! [`Issuer::well_known_routes`].
//!
//! # Example
//!
//! ```
//! use mcp_auth_server::metadata::{AuthorizationServerMetadata, Issuer, MetadataDocument};
//!
//! let issuer = Issuer::parse("https://auth.example.com").unwrap();
//! let builder = AuthorizationServerMetadata::builder(issuer.clone())
//!     .scopes_supported("mcp:tools".parse().unwrap());
//! let doc = builder.oauth_authorization_server();
//! assert_eq!(doc.issuer, "https://auth.example.com");
//! assert_eq!(doc.token_endpoint, "https://auth.example.com/token");
//! assert_eq!(doc.code_challenge_methods_supported, ["S256"]);
//!
//! let routes = issuer.well_known_routes();
//! assert_eq!(routes[0].path, "/.well-known/oauth-authorization-server");
//! assert_eq!(routes[0].document, MetadataDocument::OAuthAuthorizationServer);
//! assert_eq!(routes[1].path, "/.well-known/openid-configuration");
//! ```

use mcp_auth_core::Scopes;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::keys::SigningAlgorithm;

/// The RFC 8414 well-known suffix.
pub const OAUTH_AUTHORIZATION_SERVER_PATH: &str = "/.well-known/oauth-authorization-server";

/// The OpenID Connect Discovery well-known suffix.
pub const OPENID_CONFIGURATION_PATH: &str = "/.well-known/openid-configuration";

/// Why an issuer identifier was refused (RFC 8414 section 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerError {
    /// Not an absolute URL with a host.
    #[error("the issuer is not an absolute URL: {0}")]
    NotAbsolute(String),
    /// Not `https` (plain `http` is allowed for loopback hosts only, unless opted out).
    #[error("the issuer must use https (http is allowed for localhost, 127.0.0.1 and [::1] only)")]
    NotHttps,
    /// Has a query or a fragment (RFC 8414 section 2: it has none).
    #[error("the issuer must have no query and no fragment")]
    QueryOrFragment,
    /// Has user information.
    #[error("the issuer must not contain user information")]
    UserInfo,
}

/// The issuer identifier (RFC 8414 section 2), kept exactly as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    raw: String,
    url: Url,
}

impl Issuer {
    /// Parses an issuer: absolute, `https` (or `http` on a loopback host), no query, no
    /// fragment, no user information.
    ///
    /// # Errors
    ///
    /// [`IssuerError`] naming the rule that failed.
    pub fn parse(raw: &str) -> Result<Self, IssuerError> {
        Self::parse_with(raw, false)
    }

    /// Like [`Issuer::parse`] but accepts plain `http` on any host: for a closed test network
    /// only. Behind a TLS-terminating proxy the issuer is still the `https` URL clients see; an
    /// `http` issuer also makes the login cookies lose `Secure` and the `__Host-` prefix.
    ///
    /// # Errors
    ///
    /// As [`Issuer::parse`], less the https rule.
    pub fn insecure_http(raw: &str) -> Result<Self, IssuerError> {
        Self::parse_with(raw, true)
    }

    fn parse_with(raw: &str, allow_http: bool) -> Result<Self, IssuerError> {
        let url = Url::parse(raw).map_err(|_| IssuerError::NotAbsolute(raw.to_owned()))?;
        if url.cannot_be_a_base() || url.host_str().is_none() {
            return Err(IssuerError::NotAbsolute(raw.to_owned()));
        }
        if url.query().is_some() || url.fragment().is_some() || raw.contains(['?', '#']) {
            return Err(IssuerError::QueryOrFragment);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(IssuerError::UserInfo);
        }
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        match url.scheme() {
            "https" => {}
            "http" if loopback || allow_http => {}
            _ => return Err(IssuerError::NotHttps),
        }
        Ok(Self {
            raw: raw.to_owned(),
            url,
        })
    }

    /// The issuer exactly as configured: the `iss` of tokens and the `issuer` of metadata.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The issuer's path without a terminating `/` (`""` for an issuer without a path).
    fn trimmed_path(&self) -> &str {
        self.url.path().trim_end_matches('/')
    }

    /// The URL of an endpoint: `path` (`/token`) appended to the issuer (its terminating `/`
    /// dropped). An absolute `http(s)://` URL is returned as it is.
    pub fn endpoint(&self, path: &str) -> String {
        if path.starts_with("https://") || path.starts_with("http://") {
            return path.to_owned();
        }
        let base = self.raw.trim_end_matches('/');
        if path.starts_with('/') {
            format!("{base}{path}")
        } else {
            format!("{base}/{path}")
        }
    }

    /// The RFC 8414 metadata URL (section 3.1): the well-known suffix inserted between the
    /// host and the issuer's path.
    pub fn oauth_metadata_url(&self) -> String {
        format!(
            "{}{OAUTH_AUTHORIZATION_SERVER_PATH}{}",
            self.url.origin().ascii_serialization(),
            self.trimmed_path()
        )
    }

    /// The paths (on the issuer's origin) where the metadata documents are served, in the
    /// order MCP clients try them: RFC 8414 path-inserted, then OpenID Connect path-inserted,
    /// then OpenID Connect path-appended (OIDC Discovery section 4). Without an issuer path,
    /// the last two are the same and listed once.
    pub fn well_known_routes(&self) -> Vec<WellKnownRoute> {
        let path = self.trimmed_path();
        let mut routes = vec![
            WellKnownRoute {
                path: format!("{OAUTH_AUTHORIZATION_SERVER_PATH}{path}"),
                document: MetadataDocument::OAuthAuthorizationServer,
            },
            WellKnownRoute {
                path: format!("{OPENID_CONFIGURATION_PATH}{path}"),
                document: MetadataDocument::OpenIdConfiguration,
            },
        ];
        if !path.is_empty() {
            routes.push(WellKnownRoute {
                path: format!("{path}{OPENID_CONFIGURATION_PATH}"),
                document: MetadataDocument::OpenIdConfiguration,
            });
        }
        routes
    }
}

impl std::fmt::Display for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Which metadata document a route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetadataDocument {
    /// RFC 8414 authorization server metadata.
    OAuthAuthorizationServer,
    /// OpenID Connect Discovery 1.0 provider configuration.
    OpenIdConfiguration,
}

/// A path on the issuer's origin that serves a metadata document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WellKnownRoute {
    /// The path, e.g. `/.well-known/oauth-authorization-server/tenant`.
    pub path: String,
    /// The document served there.
    pub document: MetadataDocument,
}

/// The metadata document (RFC 8414 section 2; OpenID Connect Discovery 1.0 section 3 adds
/// `subject_types_supported` and `id_token_signing_alg_values_supported`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier, exactly as configured.
    pub issuer: String,
    /// The authorization endpoint.
    pub authorization_endpoint: String,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The dynamic client registration endpoint (RFC 7591).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// The revocation endpoint (RFC 7009).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// How clients authenticate at the revocation endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    /// The introspection endpoint (RFC 7662).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// How callers authenticate at the introspection endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// The JWK Set of the keys that sign tokens.
    pub jwks_uri: String,
    /// The scopes clients may request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// Only `code` (OAuth 2.1 has no implicit grant).
    pub response_types_supported: Vec<String>,
    /// Only `query`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_modes_supported: Vec<String>,
    /// `authorization_code`, `refresh_token`, `client_credentials`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types_supported: Vec<String>,
    /// Only `S256` (OAuth 2.1: `plain` is not offered).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_challenge_methods_supported: Vec<String>,
    /// How clients authenticate at the token endpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Whether a `client_id` may be the URL of a client ID metadata document.
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
    /// Whether authorization responses carry `iss` (RFC 9207).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// OpenID Connect: `public` (no pairwise identifiers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject_types_supported: Vec<String>,
    /// OpenID Connect: the algorithm that signs ID tokens (the active key's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token_signing_alg_values_supported: Vec<String>,
}

impl AuthorizationServerMetadata {
    /// A builder for `issuer`'s documents, with the default endpoint paths.
    pub fn builder(issuer: Issuer) -> MetadataBuilder {
        MetadataBuilder::new(issuer)
    }

    /// The document as JSON.
    pub fn to_json(&self) -> String {
        // A struct of strings, booleans and lists of strings always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The default endpoint paths, relative to the issuer.
pub mod paths {
    /// The authorization endpoint.
    pub const AUTHORIZE: &str = "/authorize";
    /// The token endpoint.
    pub const TOKEN: &str = "/token";
    /// The registration endpoint.
    pub const REGISTER: &str = "/register";
    /// The revocation endpoint.
    pub const REVOKE: &str = "/revoke";
    /// The introspection endpoint.
    pub const INTROSPECT: &str = "/introspect";
    /// The JWK Set.
    pub const JWKS: &str = "/jwks.json";
}

/// Builds the metadata documents of one issuer.
///
/// Endpoints are paths appended to the issuer (absolute URLs are taken as they are); the
/// optional ones (registration, revocation, introspection) can be left out.
#[derive(Debug, Clone)]
pub struct MetadataBuilder {
    issuer: Issuer,
    authorization: String,
    token: String,
    registration: Option<String>,
    revocation: Option<String>,
    introspection: Option<String>,
    jwks: String,
    scopes: Vec<String>,
    signing_alg: SigningAlgorithm,
    client_id_metadata_documents: bool,
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

impl MetadataBuilder {
    /// The defaults: every endpoint at its [`paths`] default, no scopes listed, ES256, client
    /// ID metadata documents supported.
    pub fn new(issuer: Issuer) -> Self {
        Self {
            issuer,
            authorization: paths::AUTHORIZE.to_owned(),
            token: paths::TOKEN.to_owned(),
            registration: Some(paths::REGISTER.to_owned()),
            revocation: Some(paths::REVOKE.to_owned()),
            introspection: Some(paths::INTROSPECT.to_owned()),
            jwks: paths::JWKS.to_owned(),
            scopes: Vec::new(),
            signing_alg: SigningAlgorithm::default(),
            client_id_metadata_documents: true,
        }
    }

    /// The issuer.
    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    /// Sets the authorization endpoint path.
    pub fn authorization_endpoint(mut self, path: impl Into<String>) -> Self {
        self.authorization = path.into();
        self
    }

    /// Sets the token endpoint path.
    pub fn token_endpoint(mut self, path: impl Into<String>) -> Self {
        self.token = path.into();
        self
    }

    /// Sets the registration endpoint path, or `None` for no dynamic registration.
    pub fn registration_endpoint(mut self, path: Option<&str>) -> Self {
        self.registration = path.map(str::to_owned);
        self
    }

    /// Sets the revocation endpoint path, or `None` for none.
    pub fn revocation_endpoint(mut self, path: Option<&str>) -> Self {
        self.revocation = path.map(str::to_owned);
        self
    }

    /// Sets the introspection endpoint path, or `None` for none.
    pub fn introspection_endpoint(mut self, path: Option<&str>) -> Self {
        self.introspection = path.map(str::to_owned);
        self
    }

    /// Sets the JWK Set path.
    pub fn jwks_uri(mut self, path: impl Into<String>) -> Self {
        self.jwks = path.into();
        self
    }

    /// Lists the scopes clients may request.
    pub fn scopes_supported(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes.iter().map(|s| s.as_str().to_owned()).collect();
        self
    }

    /// Sets the algorithm of the active signing key (the OpenID document's
    /// `id_token_signing_alg_values_supported`).
    pub fn signing_algorithm(mut self, alg: SigningAlgorithm) -> Self {
        self.signing_alg = alg;
        self
    }

    /// Sets whether client ID metadata documents are accepted (default yes).
    pub fn client_id_metadata_documents(mut self, supported: bool) -> Self {
        self.client_id_metadata_documents = supported;
        self
    }

    /// The RFC 8414 document, for `/.well-known/oauth-authorization-server`.
    pub fn oauth_authorization_server(&self) -> AuthorizationServerMetadata {
        let issuer = &self.issuer;
        let revocation = self.revocation.as_deref().map(|p| issuer.endpoint(p));
        let introspection = self.introspection.as_deref().map(|p| issuer.endpoint(p));
        AuthorizationServerMetadata {
            issuer: issuer.as_str().to_owned(),
            authorization_endpoint: issuer.endpoint(&self.authorization),
            token_endpoint: issuer.endpoint(&self.token),
            registration_endpoint: self.registration.as_deref().map(|p| issuer.endpoint(p)),
            // Public clients revoke their own tokens with their client_id alone (RFC 7009
            // section 2.1 authenticates confidential clients only).
            revocation_endpoint_auth_methods_supported: if revocation.is_some() {
                strings(&["none", "client_secret_basic", "client_secret_post"])
            } else {
                Vec::new()
            },
            revocation_endpoint: revocation,
            // Introspection answers only authenticated callers (RFC 7662 section 2.1), or it
            // would tell anyone which tokens are live.
            introspection_endpoint_auth_methods_supported: if introspection.is_some() {
                strings(&["client_secret_basic", "client_secret_post"])
            } else {
                Vec::new()
            },
            introspection_endpoint: introspection,
            jwks_uri: issuer.endpoint(&self.jwks),
            scopes_supported: self.scopes.clone(),
            response_types_supported: strings(&["code"]),
            response_modes_supported: strings(&["query"]),
            grant_types_supported: strings(&[
                "authorization_code",
                "refresh_token",
                "client_credentials",
            ]),
            code_challenge_methods_supported: strings(&["S256"]),
            token_endpoint_auth_methods_supported: strings(&[
                "none",
                "client_secret_basic",
                "client_secret_post",
            ]),
            client_id_metadata_document_supported: self.client_id_metadata_documents,
            authorization_response_iss_parameter_supported: true,
            subject_types_supported: Vec::new(),
            id_token_signing_alg_values_supported: Vec::new(),
        }
    }

    /// The OpenID Connect Discovery document, for `/.well-known/openid-configuration`: the
    /// RFC 8414 document plus `subject_types_supported` and
    /// `id_token_signing_alg_values_supported`.
    pub fn openid_configuration(&self) -> AuthorizationServerMetadata {
        AuthorizationServerMetadata {
            subject_types_supported: strings(&["public"]),
            id_token_signing_alg_values_supported: vec![self.signing_alg.as_str().to_owned()],
            ..self.oauth_authorization_server()
        }
    }

    /// The document a [`WellKnownRoute`] serves.
    pub fn document(&self, which: MetadataDocument) -> AuthorizationServerMetadata {
        match which {
            MetadataDocument::OAuthAuthorizationServer => self.oauth_authorization_server(),
            MetadataDocument::OpenIdConfiguration => self.openid_configuration(),
        }
    }

    /// The JSON of `/.well-known/oauth-authorization-server`.
    pub fn oauth_authorization_server_json(&self) -> String {
        self.oauth_authorization_server().to_json()
    }

    /// The JSON of `/.well-known/openid-configuration`.
    pub fn openid_configuration_json(&self) -> String {
        self.openid_configuration().to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn builder(issuer: &str) -> MetadataBuilder {
        AuthorizationServerMetadata::builder(Issuer::parse(issuer).unwrap())
            .scopes_supported("mcp:tools mcp:read".parse().unwrap())
    }

    #[test]
    fn rfc8414_document_exactly() {
        let json: Value = serde_json::from_str(
            &builder("https://auth.example.com").oauth_authorization_server_json(),
        )
        .unwrap();
        assert_eq!(
            json,
            json!({
                "issuer": "https://auth.example.com",
                "authorization_endpoint": "https://auth.example.com/authorize",
                "token_endpoint": "https://auth.example.com/token",
                "registration_endpoint": "https://auth.example.com/register",
                "revocation_endpoint": "https://auth.example.com/revoke",
                "revocation_endpoint_auth_methods_supported":
                    ["none", "client_secret_basic", "client_secret_post"],
                "introspection_endpoint": "https://auth.example.com/introspect",
                "introspection_endpoint_auth_methods_supported":
                    ["client_secret_basic", "client_secret_post"],
                "jwks_uri": "https://auth.example.com/jwks.json",
                "scopes_supported": ["mcp:read", "mcp:tools"],
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported":
                    ["none", "client_secret_basic", "client_secret_post"],
                "client_id_metadata_document_supported": true,
                "authorization_response_iss_parameter_supported": true,
            })
        );
    }

    #[test]
    fn openid_document_adds_its_fields() {
        let builder =
            builder("https://auth.example.com").signing_algorithm(SigningAlgorithm::Rs256);
        let oauth: Value =
            serde_json::from_str(&builder.oauth_authorization_server_json()).unwrap();
        let mut openid: Value = serde_json::from_str(&builder.openid_configuration_json()).unwrap();
        assert_eq!(openid["subject_types_supported"], json!(["public"]));
        assert_eq!(
            openid["id_token_signing_alg_values_supported"],
            json!(["RS256"])
        );
        let members = openid.as_object_mut().unwrap();
        members.remove("subject_types_supported");
        members.remove("id_token_signing_alg_values_supported");
        assert_eq!(openid, oauth);
        // The documents parse back.
        let parsed: AuthorizationServerMetadata =
            serde_json::from_str(&builder.openid_configuration_json()).unwrap();
        assert_eq!(parsed, builder.openid_configuration());
    }

    #[test]
    fn issuer_with_path() {
        let builder = builder("https://example.com/tenant");
        let doc = builder.oauth_authorization_server();
        assert_eq!(doc.issuer, "https://example.com/tenant");
        assert_eq!(doc.token_endpoint, "https://example.com/tenant/token");
        assert_eq!(doc.jwks_uri, "https://example.com/tenant/jwks.json");
        let issuer = builder.issuer();
        assert_eq!(
            issuer.oauth_metadata_url(),
            "https://example.com/.well-known/oauth-authorization-server/tenant"
        );
        assert_eq!(
            issuer.well_known_routes(),
            vec![
                WellKnownRoute {
                    path: "/.well-known/oauth-authorization-server/tenant".to_owned(),
                    document: MetadataDocument::OAuthAuthorizationServer,
                },
                WellKnownRoute {
                    path: "/.well-known/openid-configuration/tenant".to_owned(),
                    document: MetadataDocument::OpenIdConfiguration,
                },
                WellKnownRoute {
                    path: "/tenant/.well-known/openid-configuration".to_owned(),
                    document: MetadataDocument::OpenIdConfiguration,
                },
            ]
        );
    }

    #[test]
    fn issuer_kept_as_given_terminating_slash_dropped_only_from_urls() {
        let issuer = Issuer::parse("https://example.com/tenant/").unwrap();
        assert_eq!(issuer.as_str(), "https://example.com/tenant/");
        assert_eq!(
            issuer.endpoint("/token"),
            "https://example.com/tenant/token"
        );
        assert_eq!(
            issuer.oauth_metadata_url(),
            "https://example.com/.well-known/oauth-authorization-server/tenant"
        );
        assert_eq!(
            issuer.well_known_routes()[2].path,
            "/tenant/.well-known/openid-configuration"
        );
        let doc = AuthorizationServerMetadata::builder(issuer).oauth_authorization_server();
        assert_eq!(doc.issuer, "https://example.com/tenant/");

        // Without a path: no slash is added, the two OpenID forms are one route.
        let root = Issuer::parse("https://auth.example.com").unwrap();
        assert_eq!(root.to_string(), "https://auth.example.com");
        assert_eq!(
            root.oauth_metadata_url(),
            "https://auth.example.com/.well-known/oauth-authorization-server"
        );
        let paths: Vec<_> = root
            .well_known_routes()
            .into_iter()
            .map(|r| r.path)
            .collect();
        assert_eq!(
            paths,
            [
                "/.well-known/oauth-authorization-server",
                "/.well-known/openid-configuration"
            ]
        );
        let slash = Issuer::parse("https://auth.example.com/").unwrap();
        assert_eq!(slash.endpoint("token"), "https://auth.example.com/token");
        assert_eq!(slash.well_known_routes().len(), 2);
    }

    #[test]
    fn endpoints_configurable_and_optional() {
        let doc = builder("http://127.0.0.1:8080")
            .authorization_endpoint("/oauth/authorize")
            .token_endpoint("https://tokens.example.com/token")
            .registration_endpoint(None)
            .revocation_endpoint(None)
            .introspection_endpoint(None)
            .jwks_uri("/keys")
            .client_id_metadata_documents(false)
            .oauth_authorization_server();
        assert_eq!(
            doc.authorization_endpoint,
            "http://127.0.0.1:8080/oauth/authorize"
        );
        assert_eq!(doc.token_endpoint, "https://tokens.example.com/token");
        assert_eq!(doc.jwks_uri, "http://127.0.0.1:8080/keys");
        let json: Value = serde_json::from_str(&doc.to_json()).unwrap();
        for absent in [
            "registration_endpoint",
            "revocation_endpoint",
            "revocation_endpoint_auth_methods_supported",
            "introspection_endpoint",
            "introspection_endpoint_auth_methods_supported",
        ] {
            assert!(json.get(absent).is_none(), "{absent}");
        }
        assert_eq!(json["client_id_metadata_document_supported"], false);
        // No scopes configured: the member is omitted.
        let bare =
            AuthorizationServerMetadata::builder(Issuer::parse("https://a.example").unwrap())
                .oauth_authorization_server();
        assert!(bare.scopes_supported.is_empty());
        assert!(!bare.to_json().contains("scopes_supported"));
    }

    #[test]
    fn refused_issuers() {
        assert_eq!(
            Issuer::parse("https://a.example/?x=1"),
            Err(IssuerError::QueryOrFragment)
        );
        assert_eq!(
            Issuer::parse("https://a.example/?"),
            Err(IssuerError::QueryOrFragment)
        );
        assert_eq!(
            Issuer::parse("https://a.example#f"),
            Err(IssuerError::QueryOrFragment)
        );
        assert_eq!(
            Issuer::parse("http://a.example"),
            Err(IssuerError::NotHttps)
        );
        assert!(Issuer::insecure_http("http://a.example").is_ok());
        assert!(Issuer::parse("http://localhost:3000").is_ok());
        assert_eq!(
            Issuer::parse("https://u:p@a.example"),
            Err(IssuerError::UserInfo)
        );
        assert!(matches!(
            Issuer::parse("/relative"),
            Err(IssuerError::NotAbsolute(_))
        ));
        assert!(matches!(
            Issuer::parse("mailto:a@b.example"),
            Err(IssuerError::NotAbsolute(_))
        ));
        assert_eq!(Issuer::parse("ftp://a.example"), Err(IssuerError::NotHttps));
    }
}
