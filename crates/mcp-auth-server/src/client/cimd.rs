//! Client ID Metadata Documents (MCP authorization, 2025-11-25): a `client_id` that is an
//! `https` URL names a JSON document describing the client, which the server fetches instead
//! of requiring a registration.
//!
//! [`CimdResolver::resolve`] fetches (or takes from its cache) the document at the
//! `client_id`, checks it, checks that the requested redirect URI is one it lists, and returns
//! the [`ClientRecord`] (source [`ClientSource::Metadata`]).
//!
//! # The URL
//!
//! `https`, with a path other than `/`, without fragment or user information, at most
//! [`MAX_CLIENT_ID_URL_LEN`] bytes, and written in normalized form (so no `.`/`..` segments,
//! lowercase host, no default port): the document must repeat it exactly.
//!
//! # Fetching safely
//!
//! The URL comes from whoever starts an authorization request, so the fetch must not become a
//! way into the server's network (SSRF):
//!
//! - the host is resolved first, and the fetch is refused if any address is not public
//!   ([`is_public_ip`]: private, loopback, link-local, unique-local, CGNAT, multicast,
//!   broadcast, unspecified, documentation ranges, and IPv6 forms embedding such an IPv4
//!   address). Nothing is sent in that case;
//! - the connection goes to the address that was checked (the client is pinned to it), so a
//!   second DNS answer cannot swap in another (DNS rebinding); proxies from the environment
//!   are not used;
//! - redirects are not followed, the whole fetch takes at most [`MAX_FETCH_TIME`], the body at
//!   most [`MAX_DOCUMENT_SIZE`], and the content type must be JSON.
//!
//! [`CimdPolicy::insecure_allow_private_targets`] lifts the address check and allows `http`,
//! for tests and local development only.
//!
//! # The document
//!
//! Its `client_id` equals the URL; its metadata follows the rules of
//! [`registration`](super::registration) (redirect URIs, grant and response types, name,
//! scope); `token_endpoint_auth_method` is `none` or absent (`private_key_jwt` is not
//! supported, and a document cannot carry a shared secret, so `client_secret` is refused).
//!
//! # Caching
//!
//! Valid documents are cached for their `Cache-Control` `max-age`, at most
//! [`MAX_CACHE_TTL`]; [`DEFAULT_CACHE_TTL`] without one; not at all with `no-store` or
//! `no-cache`. Concurrent resolutions of one URL share a single fetch. Failures are not cached.
//!
//! # Example
//!
//! ```no_run
//! use mcp_auth_server::client::cimd::{CimdPolicy, CimdResolver};
//!
//! # async fn run() -> Result<(), mcp_auth_server::client::cimd::CimdError> {
//! let resolver = CimdResolver::new(CimdPolicy::default());
//! let client = resolver
//!     .resolve("https://app.example.com/oauth/client.json", "https://app.example.com/callback")
//!     .await?;
//! assert_eq!(client.client_id, "https://app.example.com/oauth/client.json");
//! # Ok(())
//! # }
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use moka::Expiry;
use moka::future::Cache;
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HeaderMap};
use serde::Deserialize;
use url::{Host, Url};

use super::redirect;
use super::registration::{
    RegistrationError, RegistrationPolicy, RegistrationRequest, TokenEndpointAuthMethod, validate,
};
use crate::store::{ClientRecord, ClientSource};

/// The longest a fetch may take, DNS resolution included: 5 s.
pub const MAX_FETCH_TIME: Duration = Duration::from_secs(5);

/// The largest document accepted: 64 KiB.
pub const MAX_DOCUMENT_SIZE: usize = 64 * 1024;

/// How long a document is cached when it says nothing: 5 minutes.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

/// The longest a document is cached, whatever it says: 24 hours.
pub const MAX_CACHE_TTL: Duration = Duration::from_secs(24 * 3600);

/// The longest `client_id` URL accepted, in bytes.
pub const MAX_CLIENT_ID_URL_LEN: usize = 2_000;

/// The default number of documents cached.
pub const DEFAULT_CACHE_CAPACITY: u64 = 10_000;

/// Why a client ID metadata document was not accepted. Messages never repeat the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CimdError {
    /// The `client_id` is not an acceptable metadata URL (see the [module docs](self)).
    #[error("the client_id is not an acceptable client metadata URL")]
    InvalidUrl,
    /// The host is, or resolves to, an address that is not public.
    #[error("the client metadata host resolves to a non-public address")]
    ForbiddenTarget,
    /// The host could not be resolved.
    #[error("the client metadata host could not be resolved")]
    Dns,
    /// The connection failed.
    #[error("the client metadata document could not be fetched")]
    Unreachable,
    /// The fetch took longer than the time limit.
    #[error("fetching the client metadata document timed out")]
    Timeout,
    /// A status other than 200; redirects are not followed.
    #[error("the client metadata URL answered HTTP {0}")]
    Status(u16),
    /// The content type is not JSON.
    #[error("the client metadata document is not served as JSON")]
    ContentType,
    /// The document exceeds the size cap.
    #[error("the client metadata document is too large")]
    TooLarge,
    /// The body is not a JSON object of client metadata.
    #[error("the client metadata document is not a valid JSON object")]
    MalformedDocument,
    /// The document's `client_id` differs from its URL.
    #[error("the client metadata document's client_id does not match its URL")]
    ClientIdMismatch,
    /// The document holds a `client_secret`, which a public document cannot keep secret.
    #[error("a client metadata document must not contain a client_secret")]
    SecretInDocument,
    /// `token_endpoint_auth_method` other than `none`.
    #[error("unsupported token_endpoint_auth_method in client metadata document")]
    UnsupportedAuthMethod,
    /// The metadata breaks a registration rule.
    #[error("invalid client metadata document: {0}")]
    InvalidMetadata(RegistrationError),
    /// The requested redirect URI is not one the document lists.
    #[error("the redirect_uri is not registered in the client metadata document")]
    RedirectUriNotRegistered,
}

/// Limits and switches of a [`CimdResolver`].
#[derive(Debug, Clone)]
pub struct CimdPolicy {
    timeout: Duration,
    max_document_size: usize,
    default_ttl: Duration,
    max_ttl: Duration,
    cache_capacity: u64,
    allow_private_targets: bool,
    registration: RegistrationPolicy,
    /// Root certificates trusted besides the system's.
    extra_roots: Vec<reqwest::Certificate>,
}

impl Default for CimdPolicy {
    /// 5 s, 64 KiB, cached 5 minutes by default and 24 hours at most, public `https` targets
    /// only, no scope restriction.
    fn default() -> Self {
        Self {
            timeout: MAX_FETCH_TIME,
            max_document_size: MAX_DOCUMENT_SIZE,
            default_ttl: DEFAULT_CACHE_TTL,
            max_ttl: MAX_CACHE_TTL,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            allow_private_targets: false,
            registration: RegistrationPolicy::new(),
            extra_roots: Vec::new(),
        }
    }
}

impl CimdPolicy {
    /// Sets the time limit of a fetch (capped at [`MAX_FETCH_TIME`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.min(MAX_FETCH_TIME);
        self
    }

    /// Sets the document size cap (capped at [`MAX_DOCUMENT_SIZE`]).
    pub fn max_document_size(mut self, bytes: usize) -> Self {
        self.max_document_size = bytes.min(MAX_DOCUMENT_SIZE);
        self
    }

    /// Sets how long a document without `max-age` is cached (capped by the maximum).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// Sets the longest a document is cached (capped at [`MAX_CACHE_TTL`]).
    pub fn max_ttl(mut self, ttl: Duration) -> Self {
        self.max_ttl = ttl.min(MAX_CACHE_TTL);
        self
    }

    /// Sets how many documents are cached.
    pub fn cache_capacity(mut self, documents: u64) -> Self {
        self.cache_capacity = documents;
        self
    }

    /// Restricts documents as registrations are restricted (e.g. allowed scopes).
    pub fn registration_policy(mut self, policy: RegistrationPolicy) -> Self {
        self.registration = policy;
        self
    }

    /// Allows documents on private, loopback and other non-public addresses, and over plain
    /// `http`: for tests and local development only. A server with this set can be made to
    /// send requests into its own network.
    pub fn insecure_allow_private_targets(mut self) -> Self {
        self.allow_private_targets = true;
        self
    }

    /// Trusts the PEM certificates in `pem` as roots, besides the system's, when fetching
    /// documents: for clients whose documents are served under a private CA (and for tests).
    ///
    /// # Errors
    ///
    /// [`InvalidCertificates`] when `pem` holds no certificate or one that does not parse.
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, InvalidCertificates> {
        let certificates =
            reqwest::Certificate::from_pem_bundle(pem).map_err(|_| InvalidCertificates)?;
        if certificates.is_empty() {
            return Err(InvalidCertificates);
        }
        // PEM parsing only decodes base64; building a client parses each certificate, so a
        // bad one is refused here rather than failing every fetch later.
        reqwest::Client::builder()
            .tls_certs_only(certificates.iter().cloned())
            .build()
            .map_err(|_| InvalidCertificates)?;
        self.extra_roots.extend(certificates);
        Ok(self)
    }

    /// Whether non-public targets and `http` are allowed.
    pub fn allows_private_targets(&self) -> bool {
        self.allow_private_targets
    }
}

/// The PEM given to [`CimdPolicy::add_root_certificates_pem`] holds no usable certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no valid PEM certificate")]
pub struct InvalidCertificates;

/// A validated document in the cache, with how long it may stay.
#[derive(Debug, Clone)]
struct Cached {
    record: Arc<ClientRecord>,
    ttl: Duration,
}

/// Expires each cached document after its own time to live.
struct PerDocumentTtl;

impl Expiry<String, Cached> for PerDocumentTtl {
    fn expire_after_create(
        &self,
        _url: &String,
        value: &Cached,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Fetches, checks and caches client ID metadata documents.
#[derive(Debug, Clone)]
pub struct CimdResolver {
    policy: CimdPolicy,
    cache: Cache<String, Cached>,
}

impl CimdResolver {
    /// A resolver with `policy` and an empty cache.
    pub fn new(policy: CimdPolicy) -> Self {
        let cache = Cache::builder()
            .max_capacity(policy.cache_capacity)
            .expire_after(PerDocumentTtl)
            .build();
        Self { policy, cache }
    }

    /// The policy.
    pub fn policy(&self) -> &CimdPolicy {
        &self.policy
    }

    /// Whether `client_id` names a metadata document (an `https` URL, or `http` when private
    /// targets are allowed) rather than a registered client.
    pub fn is_metadata_client_id(&self, client_id: &str) -> bool {
        client_id.starts_with("https://")
            || (self.policy.allow_private_targets && client_id.starts_with("http://"))
    }

    /// The client described by the document at `client_id_url`, provided it lists
    /// `requested_redirect_uri` (compared as in [`redirect::matches()`]).
    ///
    /// # Errors
    ///
    /// [`CimdError`] saying which check failed.
    pub async fn resolve(
        &self,
        client_id_url: &str,
        requested_redirect_uri: &str,
    ) -> Result<ClientRecord, CimdError> {
        let url = check_url(client_id_url, self.policy.allow_private_targets)?;
        let cached = self
            .cache
            .try_get_with(client_id_url.to_owned(), self.fetch(&url))
            .await
            .map_err(|e| (*e).clone())?;
        let listed = cached
            .record
            .redirect_uris
            .iter()
            .any(|registered| redirect::matches(registered, requested_redirect_uri));
        if !listed {
            return Err(CimdError::RedirectUriNotRegistered);
        }
        Ok(ClientRecord::clone(&cached.record))
    }

    /// Drops the cached document of `client_id_url`, if any.
    pub async fn invalidate(&self, client_id_url: &str) {
        self.cache.invalidate(client_id_url).await;
    }

    async fn fetch(&self, url: &Url) -> Result<Cached, CimdError> {
        tokio::time::timeout(self.policy.timeout, self.fetch_within_time(url))
            .await
            .map_err(|_| CimdError::Timeout)?
    }

    async fn fetch_within_time(&self, url: &Url) -> Result<Cached, CimdError> {
        let pinned = self.vet_target(url).await?;
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.policy.timeout)
            .connect_timeout(self.policy.timeout)
            .https_only(!self.policy.allow_private_targets)
            .no_proxy()
            .tls_certs_merge(self.policy.extra_roots.iter().cloned())
            .user_agent(concat!("mcp-auth/", env!("CARGO_PKG_VERSION")));
        if let Some((domain, addr)) = &pinned {
            builder = builder.resolve(domain, *addr);
        }
        let client = builder.build().map_err(|_| CimdError::Unreachable)?;
        let failed = |e: reqwest::Error| {
            if e.is_timeout() {
                CimdError::Timeout
            } else {
                CimdError::Unreachable
            }
        };
        let mut response = client
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(failed)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(CimdError::Status(status));
        }
        if !is_json(response.headers()) {
            return Err(CimdError::ContentType);
        }
        let limit = self.policy.max_document_size;
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(CimdError::TooLarge);
        }
        let ttl = cache_ttl(
            response.headers(),
            self.policy.default_ttl,
            self.policy.max_ttl,
        );
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > limit {
                return Err(CimdError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let record = validate_document(url.as_str(), &body, &self.policy.registration, now, ttl)?;
        Ok(Cached {
            record: Arc::new(record),
            ttl,
        })
    }

    /// Checks the host's addresses; for a domain, returns the address to pin the connection
    /// to.
    async fn vet_target(&self, url: &Url) -> Result<Option<(String, SocketAddr)>, CimdError> {
        let allow_private = self.policy.allow_private_targets;
        let port = url.port_or_known_default().ok_or(CimdError::InvalidUrl)?;
        let domain = match url.host() {
            Some(Host::Ipv4(ip)) if allow_private || is_public_ip(IpAddr::V4(ip)) => {
                return Ok(None);
            }
            Some(Host::Ipv6(ip)) if allow_private || is_public_ip(IpAddr::V6(ip)) => {
                return Ok(None);
            }
            Some(Host::Ipv4(_) | Host::Ipv6(_)) => return Err(CimdError::ForbiddenTarget),
            Some(Host::Domain(domain)) => domain,
            None => return Err(CimdError::InvalidUrl),
        };
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((domain, port))
            .await
            .map_err(|_| CimdError::Dns)?
            .collect();
        let first = *addrs.first().ok_or(CimdError::Dns)?;
        if !allow_private && !addrs.iter().all(|addr| is_public_ip(addr.ip())) {
            return Err(CimdError::ForbiddenTarget);
        }
        Ok(Some((domain.to_owned(), first)))
    }
}

/// Checks a `client_id` URL (see the [module docs](self)).
fn check_url(raw: &str, allow_http: bool) -> Result<Url, CimdError> {
    if raw.len() > MAX_CLIENT_ID_URL_LEN {
        return Err(CimdError::InvalidUrl);
    }
    let url = Url::parse(raw).map_err(|_| CimdError::InvalidUrl)?;
    let scheme_ok = match url.scheme() {
        "https" => true,
        "http" => allow_http,
        _ => false,
    };
    let valid = scheme_ok
        // The normalized form only: no dot segments, no default port, lowercase host, no
        // stray whitespace, so that the document can repeat the URL exactly.
        && url.as_str() == raw
        && url.fragment().is_none()
        && !raw.contains('#')
        && url.username().is_empty()
        && url.password().is_none()
        && url.host().is_some()
        && url.path() != "/";
    if valid {
        Ok(url)
    } else {
        Err(CimdError::InvalidUrl)
    }
}

/// Whether the response says JSON (`application/json` or `application/*+json`).
fn is_json(headers: &HeaderMap) -> bool {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// How long to cache a document, from its `Cache-Control`: `no-store` and `no-cache` mean not
/// at all; `max-age` is capped at `max`; an invalid `max-age` counts as 0; `default` (capped)
/// applies without one.
fn cache_ttl(headers: &HeaderMap, default: Duration, max: Duration) -> Duration {
    let mut max_age: Option<Duration> = None;
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(value) = value.to_str() else {
            return Duration::ZERO;
        };
        for directive in value.split(',') {
            let directive = directive.trim();
            let (name, argument) = match directive.split_once('=') {
                Some((name, argument)) => (name.trim(), Some(argument.trim())),
                None => (directive, None),
            };
            if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                return Duration::ZERO;
            }
            if name.eq_ignore_ascii_case("max-age") && max_age.is_none() {
                let seconds = argument
                    .map(|a| a.trim_matches('"'))
                    .filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()))
                    .map_or(0, |a| a.parse::<u64>().unwrap_or(u64::MAX));
                max_age = Some(Duration::from_secs(seconds));
            }
        }
    }
    max_age.unwrap_or(default).min(max)
}

/// A metadata document: registration metadata plus its `client_id`.
#[derive(Deserialize)]
struct Document {
    client_id: String,
    #[serde(default)]
    client_secret: Option<serde::de::IgnoredAny>,
    #[serde(flatten)]
    metadata: RegistrationRequest,
}

/// Checks a fetched document and builds the client record.
fn validate_document(
    url: &str,
    body: &[u8],
    policy: &RegistrationPolicy,
    now: u64,
    ttl: Duration,
) -> Result<ClientRecord, CimdError> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(CimdError::MalformedDocument);
    }
    let document: Document =
        serde_json::from_slice(body).map_err(|_| CimdError::MalformedDocument)?;
    if document.client_id != url {
        return Err(CimdError::ClientIdMismatch);
    }
    if document.client_secret.is_some() {
        return Err(CimdError::SecretInDocument);
    }
    match document.metadata.token_endpoint_auth_method.as_deref() {
        None | Some("none") => {}
        Some(_) => return Err(CimdError::UnsupportedAuthMethod),
    }
    let metadata = validate(&document.metadata, policy, TokenEndpointAuthMethod::None)
        .map_err(CimdError::InvalidMetadata)?;
    Ok(ClientRecord {
        client_id: document.client_id,
        client_secret_hash: None,
        redirect_uris: metadata.redirect_uris,
        client_name: metadata.client_name,
        grant_types: metadata.grant_types,
        response_types: metadata.response_types,
        token_endpoint_auth_method: metadata.auth_method.as_str().to_owned(),
        scope: metadata.scope,
        application_type: metadata.application_type,
        source: ClientSource::Metadata(url.to_owned()),
        created_at: now,
        metadata_expires_at: Some(now.saturating_add(ttl.as_secs())),
    })
}

/// Whether a fetch may connect to `ip`: false for every address that is not globally
/// routable unicast, among them private (10/8, 172.16/12, 192.168/16), loopback (127/8,
/// `::1`), link-local (169.254/16, `fe80::/10`), unique-local (`fc00::/7`), CGNAT
/// (100.64/10), unspecified, multicast, broadcast, reserved and documentation ranges, and IPv6
/// addresses embedding a non-public IPv4 address (IPv4-mapped, 6to4). NAT64, Teredo and
/// IPv4-compatible addresses are refused outright.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let non_public = a == 0 // "this network", unspecified
        || a == 10 // private
        || (a == 100 && (64..=127).contains(&b)) // CGNAT
        || a == 127 // loopback
        || (a == 169 && b == 254) // link-local
        || (a == 172 && (16..=31).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168) // private
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224; // multicast, reserved, broadcast
    !non_public
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // Only global unicast (2000::/3) is public; this excludes ::, ::1, IPv4-compatible,
    // NAT64 (64:ff9b::/96), discard (100::/64), unique-local, link-local, site-local and
    // multicast.
    if s[0] & 0xe000 != 0x2000 {
        return false;
    }
    if s[0] == 0x2002 {
        // 6to4: the IPv4 address of the tunnel end is embedded.
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return is_public_v4(v4);
    }
    if s[0] == 0x3fff && s[1] & 0xf000 == 0 {
        return false; // documentation (3fff::/20)
    }
    if s[0] == 0x2001 {
        let non_public = s[1] == 0 // Teredo
            || s[1] == 0x0db8 // documentation
            || s[1] & 0xfff0 == 0x0010 // ORCHID
            || (s[1] == 0x0002 && s[2] == 0); // benchmarking
        return !non_public;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn v4(s: &str) -> bool {
        is_public_ip(IpAddr::V4(s.parse().unwrap()))
    }

    fn v6(s: &str) -> bool {
        is_public_ip(IpAddr::V6(s.parse().unwrap()))
    }

    #[test]
    fn ipv4_classification() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.0.1",
            "192.168.255.255",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!v4(ip), "{ip} must not be public");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.169.0.1",
            "169.253.1.1",
            "223.255.255.254",
        ] {
            assert!(v4(ip), "{ip} is public");
        }
    }

    #[test]
    fn ipv6_classification() {
        for ip in [
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:192.168.1.1",
            "::ffff:100.64.0.1",
            "::ffff:0.0.0.0",
            "::ffff:255.255.255.255",
            "64:ff9b::a00:1",
            "64:ff9b::808:808",
            "100::1",
            "fe80::1",
            "febf:ffff::1",
            "fec0::1",
            "fc00::1",
            "fd12:3456:789a::1",
            "ff02::1",
            "ff05::2",
            "2001:db8::1",
            "2001::1",
            "2001:10::1",
            "2001:2::1",
            "2002:7f00:1::1",
            "2002:a00:1::1",
            "2002:c0a8:101::1",
            "3fff:abc::1",
            "4000::1",
        ] {
            assert!(!v6(ip), "{ip} must not be public");
        }
        for ip in [
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "2002:808:808::1",
        ] {
            assert!(v6(ip), "{ip} is public");
        }
    }

    #[test]
    fn url_rules() {
        for url in [
            "https://app.example.com/client.json",
            "https://app.example.com:8443/oauth/client",
            "https://app.example.com/c?v=1",
        ] {
            assert!(check_url(url, false).is_ok(), "{url}");
        }
        for url in [
            "https://app.example.com",
            "https://app.example.com/",
            "https://app.example.com/client#frag",
            "https://app.example.com/client#",
            "https://user@app.example.com/client",
            "https://user:pw@app.example.com/client",
            "https://App.Example.com/client",
            "https://app.example.com:443/client",
            "https://app.example.com/a/../client",
            "https://app.example.com/./client",
            " https://app.example.com/client",
            "http://app.example.com/client",
            "ftp://app.example.com/client",
            "app.example.com/client",
            "",
        ] {
            assert_eq!(check_url(url, false), Err(CimdError::InvalidUrl), "{url:?}");
        }
        assert!(check_url("http://127.0.0.1:8080/client", true).is_ok());
        let long = format!(
            "https://app.example.com/{}",
            "a".repeat(MAX_CLIENT_ID_URL_LEN)
        );
        assert_eq!(check_url(&long, false), Err(CimdError::InvalidUrl));
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn cache_control() {
        let default = DEFAULT_CACHE_TTL;
        let max = MAX_CACHE_TTL;
        let ttl = |values: &[&str]| cache_ttl(&headers(values), default, max);
        assert_eq!(ttl(&[]), default);
        assert_eq!(ttl(&["public"]), default);
        assert_eq!(ttl(&["max-age=60"]), Duration::from_secs(60));
        assert_eq!(ttl(&["public, MAX-AGE=\"120\""]), Duration::from_secs(120));
        assert_eq!(ttl(&["max-age=99999999999999999999999"]), max);
        assert_eq!(ttl(&["max-age=864000"]), max);
        assert_eq!(ttl(&["max-age=0"]), Duration::ZERO);
        assert_eq!(ttl(&["max-age=-1"]), Duration::ZERO);
        assert_eq!(ttl(&["max-age=abc"]), Duration::ZERO);
        assert_eq!(ttl(&["max-age=60, no-store"]), Duration::ZERO);
        assert_eq!(ttl(&["max-age=60", "no-cache"]), Duration::ZERO);
        assert_eq!(ttl(&["max-age=60", "max-age=10"]), Duration::from_secs(60));
        assert_eq!(
            cache_ttl(&headers(&[]), Duration::from_secs(10 * 86_400), max),
            max
        );
    }

    #[test]
    fn json_content_types() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/client-metadata+json"));
        assert!(!with("text/plain"));
        assert!(!with("text/json+html"));
        assert!(!with("application/jsonp"));
        assert!(!is_json(&HeaderMap::new()));
    }

    const URL: &str = "https://app.example.com/client.json";

    fn document(extra: serde_json::Value) -> Vec<u8> {
        let mut doc = serde_json::json!({
            "client_id": URL,
            "client_name": "Example",
            "redirect_uris": ["https://app.example.com/cb", "http://127.0.0.1/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none"
        });
        if let (Some(doc), Some(extra)) = (doc.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                doc.insert(k.clone(), v.clone());
            }
        }
        serde_json::to_vec(&doc).unwrap()
    }

    fn check(body: &[u8]) -> Result<ClientRecord, CimdError> {
        validate_document(
            URL,
            body,
            &RegistrationPolicy::new(),
            1_000,
            Duration::from_secs(60),
        )
    }

    #[test]
    fn document_rules() {
        let record = check(&document(serde_json::json!({}))).unwrap();
        assert_eq!(record.client_id, URL);
        assert_eq!(record.source, ClientSource::Metadata(URL.to_owned()));
        assert_eq!(record.token_endpoint_auth_method, "none");
        assert_eq!(record.client_secret_hash, None);
        assert_eq!(record.created_at, 1_000);
        assert_eq!(record.metadata_expires_at, Some(1_060));

        // Absent method means none.
        let mut doc: serde_json::Value =
            serde_json::from_slice(&document(serde_json::json!({}))).unwrap();
        doc.as_object_mut()
            .unwrap()
            .remove("token_endpoint_auth_method");
        assert!(check(&serde_json::to_vec(&doc).unwrap()).is_ok());

        let cases = [
            (
                serde_json::json!({"client_id": "https://app.example.com/other.json"}),
                CimdError::ClientIdMismatch,
            ),
            (
                serde_json::json!({"client_id": "https://app.example.com/client.json/"}),
                CimdError::ClientIdMismatch,
            ),
            (
                serde_json::json!({"client_secret": "s"}),
                CimdError::SecretInDocument,
            ),
            (
                serde_json::json!({"token_endpoint_auth_method": "private_key_jwt"}),
                CimdError::UnsupportedAuthMethod,
            ),
            (
                serde_json::json!({"token_endpoint_auth_method": "client_secret_basic"}),
                CimdError::UnsupportedAuthMethod,
            ),
            (
                serde_json::json!({"redirect_uris": []}),
                CimdError::InvalidMetadata(RegistrationError::RedirectUrisMissing),
            ),
            (
                serde_json::json!({"redirect_uris": ["javascript:alert(1)"]}),
                CimdError::InvalidMetadata(RegistrationError::InvalidRedirectUri),
            ),
            (
                serde_json::json!({"grant_types": ["client_credentials"], "response_types": []}),
                CimdError::InvalidMetadata(RegistrationError::PublicClientCredentials),
            ),
            (
                serde_json::json!({"client_name": "a\u{0}"}),
                CimdError::InvalidMetadata(RegistrationError::InvalidClientName),
            ),
        ];
        for (extra, expected) in cases {
            assert_eq!(check(&document(extra.clone())), Err(expected), "{extra}");
        }
        for body in [
            &b"[]"[..],
            b"",
            b"{",
            b"{\"client_id\": 5}",
            b"{\"redirect_uris\": []}",
        ] {
            assert_eq!(check(body), Err(CimdError::MalformedDocument), "{body:?}");
        }
    }
}
