//! OAuth 2.0 Protected Resource Metadata (RFC 9728) and the canonical resource URI (RFC 8707).
//!
//! MCP clients find the authorization server through this document: the 401 challenge names its
//! URL in `resource_metadata`, or clients try the well-known locations of RFC 9728 section 3.
//!
//! # Example
//!
//! ```
//! use mcp_auth_core::metadata::{ProtectedResource, ResourceUri};
//!
//! let resource = ProtectedResource::new(ResourceUri::parse("https://mcp.example.com/mcp").unwrap())
//!     .authorization_server("https://auth.example.com")
//!     .scopes_supported("mcp:tools greet".parse().unwrap());
//! assert_eq!(
//!     resource.metadata_url(),
//!     "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
//! );
//! assert_eq!(
//!     resource.well_known_paths(),
//!     vec!["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]
//! );
//! let doc = resource.metadata();
//! assert_eq!(doc.resource, "https://mcp.example.com/mcp");
//! assert_eq!(doc.bearer_methods_supported, vec!["header"]);
//! ```

use serde::{Deserialize, Serialize};
use url::Url;

use crate::challenge::ChallengeContext;
use crate::scope::Scopes;

/// The well-known URI suffix of RFC 9728 section 3.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// Headers of the metadata document response (`GET`), besides [`METADATA_CORS_HEADERS`]: the
/// document is JSON and the same for everyone, so shared caches may keep it for an hour.
pub const METADATA_HEADERS: [(&str, &str); 2] = [
    ("content-type", "application/json"),
    ("cache-control", "public, max-age=3600"),
];

/// The `Allow` header of the 405 that the metadata routes answer to other methods.
pub const METADATA_ALLOW: &str = "GET, HEAD, OPTIONS";

/// CORS headers of the metadata routes, on the document and on the `OPTIONS` preflight
/// (answered 204): any origin may read the document, so browser-based MCP clients can discover
/// the authorization server.
pub const METADATA_CORS_HEADERS: [(&str, &str); 4] = [
    ("access-control-allow-origin", "*"),
    ("access-control-allow-methods", "GET, OPTIONS"),
    (
        "access-control-allow-headers",
        "mcp-protocol-version, content-type",
    ),
    ("access-control-max-age", "86400"),
];

/// Why a resource URI was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceUriError {
    /// Not an absolute URI.
    #[error("resource URI is not an absolute URL: {0}")]
    NotAbsolute(String),
    /// Has a fragment (RFC 8707 section 2: MUST NOT include a fragment).
    #[error("resource URI must not have a fragment")]
    Fragment,
    /// Not `https` (plain `http` is allowed for loopback hosts only, unless opted out).
    #[error(
        "resource URI must use https (http is allowed for localhost, 127.0.0.1 and [::1] only)"
    )]
    NotHttps,
    /// Has user information.
    #[error("resource URI must not contain user information")]
    UserInfo,
}

/// The canonical URI of this MCP server (RFC 8707 section 2; MCP "Canonical Server URI").
///
/// Kept exactly as configured: it is what the metadata document says and what token audiences
/// are compared against. A client that adds or drops one trailing slash still matches
/// ([`ResourceUri::matches`]), but a slash you did not configure is never emitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceUri {
    raw: String,
    url: Url,
}

impl ResourceUri {
    /// Parses a resource URI: absolute, https (or http on a loopback host), no fragment, no
    /// user information.
    ///
    /// # Errors
    ///
    /// [`ResourceUriError`] saying which rule failed.
    pub fn parse(raw: &str) -> Result<Self, ResourceUriError> {
        Self::parse_with(raw, false)
    }

    /// Like [`ResourceUri::parse`] but accepts plain `http` on any host.
    ///
    /// # Errors
    ///
    /// As [`ResourceUri::parse`], less the https rule.
    pub fn insecure_http(raw: &str) -> Result<Self, ResourceUriError> {
        Self::parse_with(raw, true)
    }

    fn parse_with(raw: &str, allow_http: bool) -> Result<Self, ResourceUriError> {
        let url = Url::parse(raw).map_err(|_| ResourceUriError::NotAbsolute(raw.to_owned()))?;
        if url.cannot_be_a_base() || url.host_str().is_none() {
            return Err(ResourceUriError::NotAbsolute(raw.to_owned()));
        }
        if url.fragment().is_some() || raw.contains('#') {
            return Err(ResourceUriError::Fragment);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ResourceUriError::UserInfo);
        }
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        match url.scheme() {
            "https" => {}
            "http" if loopback || allow_http => {}
            _ => return Err(ResourceUriError::NotHttps),
        }
        Ok(Self {
            raw: raw.to_owned(),
            url,
        })
    }

    /// The URI exactly as configured.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether `candidate` names this resource: equal, or equal but for one trailing slash.
    pub fn matches(&self, candidate: &str) -> bool {
        let ours = self.raw.as_str();
        candidate == ours
            || candidate.strip_suffix('/') == Some(ours)
            || ours.strip_suffix('/') == Some(candidate)
    }

    /// The path of the resource without a terminating slash (`""` for the origin itself).
    fn trimmed_path(&self) -> &str {
        self.url.path().trim_end_matches('/')
    }

    /// The metadata URL of RFC 9728 section 3.1: the well-known suffix inserted between the
    /// host and the path.
    pub fn metadata_url(&self) -> String {
        let mut url = self.url.origin().ascii_serialization();
        url.push_str(WELL_KNOWN_PATH);
        url.push_str(self.trimmed_path());
        if let Some(query) = self.url.query() {
            url.push('?');
            url.push_str(query);
        }
        url
    }

    /// The paths this server answers with its metadata: the path-inserted form first, then the
    /// root form that clients of the 2025-03-26 revision try.
    pub fn well_known_paths(&self) -> Vec<String> {
        let mut paths = Vec::with_capacity(2);
        let path = self.trimmed_path();
        if !path.is_empty() {
            paths.push(format!("{WELL_KNOWN_PATH}{path}"));
        }
        paths.push(WELL_KNOWN_PATH.to_owned());
        paths
    }
}

impl std::fmt::Display for ResourceUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.raw)
    }
}

/// The metadata document of RFC 9728 section 2.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedResourceMetadata {
    /// The resource identifier.
    pub resource: String,
    /// Issuer identifiers of the authorization servers that issue tokens for this resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_servers: Vec<String>,
    /// The resource's own JWK Set, if it signs responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Scopes used in requests to this resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// How tokens may be presented: only `header` here (RFC 6750 section 2.1).
    #[serde(default)]
    pub bearer_methods_supported: Vec<String>,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// Documentation for developers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
    /// The resource's policy page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_policy_uri: Option<String>,
    /// The resource's terms of service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_tos_uri: Option<String>,
}

/// Everything a resource server says about itself: its URI, its metadata document, and the
/// challenge parameters derived from them.
#[derive(Debug, Clone)]
pub struct ProtectedResource {
    uri: ResourceUri,
    metadata: ProtectedResourceMetadata,
    default_scopes: Scopes,
}

impl ProtectedResource {
    /// A resource with no authorization server listed yet.
    pub fn new(uri: ResourceUri) -> Self {
        let metadata = ProtectedResourceMetadata {
            resource: uri.as_str().to_owned(),
            bearer_methods_supported: vec!["header".to_owned()],
            ..ProtectedResourceMetadata::default()
        };
        Self {
            uri,
            metadata,
            default_scopes: Scopes::new(),
        }
    }

    /// Adds an authorization server issuer.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.metadata.authorization_servers.push(issuer.into());
        self
    }

    /// Sets `scopes_supported`; they are also the scopes a 401 challenge asks for, unless
    /// [`ProtectedResource::challenge_scopes`] says otherwise.
    pub fn scopes_supported(mut self, scopes: Scopes) -> Self {
        self.metadata.scopes_supported = scopes.iter().map(ToString::to_string).collect();
        if self.default_scopes.is_empty() {
            self.default_scopes = scopes;
        }
        self
    }

    /// Sets the scopes named in the 401 challenge (MCP scope selection strategy).
    pub fn challenge_scopes(mut self, scopes: Scopes) -> Self {
        self.default_scopes = scopes;
        self
    }

    /// Sets `resource_name`.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.metadata.resource_name = Some(name.into());
        self
    }

    /// Sets `resource_documentation`.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.metadata.resource_documentation = Some(url.into());
        self
    }

    /// The resource URI.
    pub fn uri(&self) -> &ResourceUri {
        &self.uri
    }

    /// The metadata document.
    pub fn metadata(&self) -> &ProtectedResourceMetadata {
        &self.metadata
    }

    /// The metadata document as JSON.
    pub fn metadata_json(&self) -> String {
        serde_json::to_string(&self.metadata).unwrap_or_else(|_| "{}".to_owned())
    }

    /// The metadata URL named in challenges.
    pub fn metadata_url(&self) -> String {
        self.uri.metadata_url()
    }

    /// The paths that serve the metadata document.
    pub fn well_known_paths(&self) -> Vec<String> {
        self.uri.well_known_paths()
    }

    /// The challenge parameters for this resource.
    pub fn challenge_context(&self) -> ChallengeContext {
        ChallengeContext::new()
            .resource_metadata(self.metadata_url())
            .scope(self.default_scopes.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_slash_tolerated_never_added() {
        let r = ResourceUri::parse("https://h.example/mcp").unwrap();
        assert!(r.matches("https://h.example/mcp/"));
        assert!(r.matches("https://h.example/mcp"));
        assert!(!r.matches("https://h.example/mcp//"));
        assert!(!r.matches("https://h.example/MCP"));
        assert_eq!(r.as_str(), "https://h.example/mcp");
        let origin = ResourceUri::parse("https://h.example").unwrap();
        assert_eq!(origin.as_str(), "https://h.example");
        assert!(origin.matches("https://h.example/"));
        assert_eq!(
            origin.metadata_url(),
            "https://h.example/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn refused_resource_uris() {
        assert_eq!(
            ResourceUri::parse("https://h/x#f"),
            Err(ResourceUriError::Fragment)
        );
        assert_eq!(
            ResourceUri::parse("http://h.example/x"),
            Err(ResourceUriError::NotHttps)
        );
        assert!(ResourceUri::insecure_http("http://h.example/x").is_ok());
        assert!(ResourceUri::parse("http://127.0.0.1:8080/mcp").is_ok());
        assert!(ResourceUri::parse("mcp").is_err());
        assert_eq!(
            ResourceUri::parse("https://u:p@h/x"),
            Err(ResourceUriError::UserInfo)
        );
    }

    #[test]
    fn path_inserted_metadata_url_drops_terminating_slash() {
        let r = ResourceUri::parse("https://h.example:8443/a/mcp/").unwrap();
        assert_eq!(
            r.metadata_url(),
            "https://h.example:8443/.well-known/oauth-protected-resource/a/mcp"
        );
    }
}
