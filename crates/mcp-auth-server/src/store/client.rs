//! Registered clients: the metadata of RFC 7591 section 2, and where it came from.

use serde::{Deserialize, Serialize};

use super::TokenHash;

/// A client the authorization server knows.
///
/// Field names are those of RFC 7591 section 2 (client metadata) and 3.2.1 (`client_id`), so a
/// registration request maps onto this record one to one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRecord {
    /// The client identifier (RFC 6749 section 2.2). For a client described by a metadata
    /// document, the document's URL.
    pub client_id: String,
    /// The SHA-256 of the client secret, for confidential clients
    /// (`token_endpoint_auth_method` `client_secret_basic` or `client_secret_post`). The secret
    /// itself is shown to the client once, at registration, and never stored.
    pub client_secret_hash: Option<TokenHash>,
    /// Redirection endpoints, compared by exact string match (OAuth 2.1 section 4.1.1).
    pub redirect_uris: Vec<String>,
    /// Human-readable name, shown on the consent screen.
    pub client_name: Option<String>,
    /// Grant types the client may use, e.g. `authorization_code`, `refresh_token`.
    pub grant_types: Vec<String>,
    /// Response types the client may use; `code` in OAuth 2.1.
    pub response_types: Vec<String>,
    /// How the client authenticates at the token endpoint: `none` (public client),
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt`.
    pub token_endpoint_auth_method: String,
    /// Space-delimited scopes the client may request (RFC 7591 section 2), if restricted.
    pub scope: Option<String>,
    /// Whether the client is a web or a native application (OpenID Connect Dynamic Client
    /// Registration 1.0 section 2), which decides the redirect URIs it may register (OAuth 2.1
    /// section 8.4).
    pub application_type: ApplicationType,
    /// Where the registration came from.
    pub source: ClientSource,
    /// When the record was stored (unix seconds); `client_id_issued_at` of RFC 7591 section
    /// 3.2.1 for dynamic registrations.
    pub created_at: u64,
    /// When this record lapses (unix seconds): for a metadata document, when the cached copy
    /// must be fetched again. [`Store::purge_expired`](super::Store::purge_expired) drops the
    /// record after it. `None` for records that do not lapse.
    pub metadata_expires_at: Option<u64>,
}

/// How a client came to be known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "url")]
pub enum ClientSource {
    /// Registered through the registration endpoint (RFC 7591).
    Dynamic,
    /// Declared in the server's configuration.
    Preconfigured,
    /// Described by a client ID metadata document fetched from this URL (the client's
    /// `client_id`); the record is a cache of that document.
    Metadata(String),
}

/// The kind of application, which constrains its redirect URIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationType {
    /// A web application: redirect URIs use `https` (or `http` on loopback).
    #[default]
    Web,
    /// A native application: loopback, private-use scheme or claimed `https` redirect URIs
    /// (RFC 8252).
    Native,
}

impl ApplicationType {
    /// The registered value: `web` or `native`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Native => "native",
        }
    }

    /// Parses a registered value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "web" => Some(Self::Web),
            "native" => Some(Self::Native),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_serializes_with_its_url() {
        let json =
            serde_json::to_value(ClientSource::Metadata("https://app.example/c".into())).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "metadata", "url": "https://app.example/c"})
        );
        let json = serde_json::to_value(ClientSource::Dynamic).unwrap();
        assert_eq!(json, serde_json::json!({"kind": "dynamic"}));
    }

    #[test]
    fn application_type_round_trips() {
        for kind in [ApplicationType::Web, ApplicationType::Native] {
            assert_eq!(ApplicationType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ApplicationType::parse("desktop"), None);
    }
}
