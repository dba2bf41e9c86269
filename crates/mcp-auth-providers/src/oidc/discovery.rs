//! Finding an issuer's key set: OpenID Connect Discovery 1.0, falling back to RFC 8414.
//!
//! The document's `issuer` must equal the configured issuer exactly (OIDC Discovery section
//! 4.3, RFC 8414 section 3.3): otherwise a document served at one issuer could vouch for keys of
//! another.

use serde::Deserialize;
use url::Url;

use super::fetch::{FetchError, Fetcher};

/// What discovery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    /// The issuer, equal to the configured one.
    pub issuer: String,
    /// The key set URL.
    pub jwks_uri: Url,
    /// The RFC 7662 endpoint, if advertised.
    pub introspection_endpoint: Option<Url>,
    /// The document's URL.
    pub source: Url,
}

/// Why discovery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The issuer is not a valid URL.
    #[error("issuer {0:?} is not a valid URL")]
    InvalidIssuer(String),
    /// No metadata document could be fetched.
    #[error("no metadata document for issuer {issuer}: {last}")]
    NotFound {
        /// The issuer.
        issuer: String,
        /// The last fetch error.
        #[source]
        last: FetchError,
    },
    /// The document names another issuer.
    #[error("metadata at {source_url} names issuer {found:?}, expected exactly {expected:?}")]
    IssuerMismatch {
        /// Where the document was.
        source_url: String,
        /// What it said.
        found: String,
        /// What was configured.
        expected: String,
    },
    /// The document is not valid metadata.
    #[error("metadata at {0} is not valid JSON metadata with issuer and jwks_uri")]
    Invalid(String),
}

#[derive(Deserialize)]
struct RawMetadata {
    issuer: String,
    jwks_uri: String,
    introspection_endpoint: Option<String>,
}

/// The URLs tried for `issuer`, in order: OIDC (`{issuer}/.well-known/openid-configuration`,
/// then the path-inserted form), then RFC 8414 (path-inserted, section 3.1).
///
/// # Errors
///
/// [`DiscoveryError::InvalidIssuer`].
pub fn metadata_urls(issuer: &str) -> Result<Vec<Url>, DiscoveryError> {
    let parsed =
        Url::parse(issuer).map_err(|_| DiscoveryError::InvalidIssuer(issuer.to_owned()))?;
    if parsed.host_str().is_none() || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(DiscoveryError::InvalidIssuer(issuer.to_owned()));
    }
    let origin = parsed.origin().ascii_serialization();
    let path = parsed.path().trim_end_matches('/');
    let candidates = [
        format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ),
        format!("{origin}/.well-known/openid-configuration{path}"),
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
    ];
    let mut urls: Vec<Url> = Vec::with_capacity(3);
    for candidate in candidates {
        if let Ok(url) = Url::parse(&candidate)
            && !urls.contains(&url)
        {
            urls.push(url);
        }
    }
    Ok(urls)
}

/// Runs discovery for `issuer`.
///
/// # Errors
///
/// [`DiscoveryError`].
pub async fn discover(fetcher: &Fetcher, issuer: &str) -> Result<ProviderMetadata, DiscoveryError> {
    let mut last = None;
    for url in metadata_urls(issuer)? {
        match fetcher.get_json(&url).await {
            Ok(body) => {
                let raw: RawMetadata = serde_json::from_slice(&body)
                    .map_err(|_| DiscoveryError::Invalid(url.to_string()))?;
                if raw.issuer != issuer {
                    return Err(DiscoveryError::IssuerMismatch {
                        source_url: url.to_string(),
                        found: raw.issuer,
                        expected: issuer.to_owned(),
                    });
                }
                let jwks_uri = Url::parse(&raw.jwks_uri)
                    .map_err(|_| DiscoveryError::Invalid(url.to_string()))?;
                fetcher
                    .policy()
                    .check_url(&jwks_uri)
                    .map_err(|last| DiscoveryError::NotFound {
                        issuer: issuer.to_owned(),
                        last,
                    })?;
                return Ok(ProviderMetadata {
                    issuer: raw.issuer,
                    jwks_uri,
                    introspection_endpoint: raw
                        .introspection_endpoint
                        .and_then(|u| Url::parse(&u).ok()),
                    source: url,
                });
            }
            Err(err) => last = Some(err),
        }
    }
    Err(DiscoveryError::NotFound {
        issuer: issuer.to_owned(),
        last: last.unwrap_or(FetchError::Status {
            url: issuer.to_owned(),
            status: 404,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_for_plain_and_path_issuers() {
        let urls: Vec<String> = metadata_urls("https://id.example")
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            urls,
            vec![
                "https://id.example/.well-known/openid-configuration",
                "https://id.example/.well-known/oauth-authorization-server",
            ]
        );
        let urls: Vec<String> = metadata_urls("https://id.example/oauth2/default")
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            urls,
            vec![
                "https://id.example/oauth2/default/.well-known/openid-configuration",
                "https://id.example/.well-known/openid-configuration/oauth2/default",
                "https://id.example/.well-known/oauth-authorization-server/oauth2/default",
            ]
        );
        assert!(metadata_urls("not a url").is_err());
    }
}
