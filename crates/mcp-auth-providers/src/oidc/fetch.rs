//! Fetching JSON documents from an identity provider, within limits.
//!
//! Discovery documents and key sets decide which tokens are trusted, so every fetch is bounded:
//! a time limit (5 s at most), a body-size cap, no redirects (a redirect could lead anywhere),
//! a JSON content type, and `https` only unless the caller opted into
//! [`FetchPolicy::insecure_allow_http`] for local development.

use std::time::Duration;

use url::Url;

/// The longest a fetch may take: 5 s.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(5);

/// The default body cap: 256 KiB (real key sets are a few KiB).
pub const DEFAULT_MAX_BODY: usize = 256 * 1024;

/// Why a fetch failed. The messages name the URL, never a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL is not `https` and plain HTTP was not allowed.
    #[error("{0} is not an https URL (plain http needs insecure_allow_http)")]
    NotHttps(String),
    /// Connection failure or timeout.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A status other than 200 (redirects included: they are not followed).
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The content type is not JSON.
    #[error("{url} answered with content type {content_type:?}, not JSON")]
    ContentType {
        /// The URL.
        url: String,
        /// What it said.
        content_type: String,
    },
    /// The body exceeds the cap.
    #[error("{url} answered with a body over {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: usize,
    },
}

/// Limits applied to every fetch.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    timeout: Duration,
    max_body: usize,
    allow_http: bool,
}

impl Default for FetchPolicy {
    /// 5 s, 256 KiB, https only.
    fn default() -> Self {
        Self {
            timeout: MAX_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
            allow_http: false,
        }
    }
}

impl FetchPolicy {
    /// Sets the time limit (capped at 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.min(MAX_TIMEOUT);
        self
    }

    /// Sets the body cap.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Allows plain `http` URLs: for an identity provider on localhost during development and
    /// tests only. Keys fetched over plain HTTP can be replaced by anyone on the path.
    pub fn insecure_allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Whether plain HTTP is allowed.
    pub fn allows_http(&self) -> bool {
        self.allow_http
    }

    /// Checks a URL against the scheme rule.
    ///
    /// # Errors
    ///
    /// [`FetchError::NotHttps`].
    pub fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.allow_http => Ok(()),
            _ => Err(FetchError::NotHttps(url.to_string())),
        }
    }
}

/// An HTTP client bound to a [`FetchPolicy`].
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: FetchPolicy,
}

impl Fetcher {
    /// A client with `policy`.
    ///
    /// # Errors
    ///
    /// When the TLS backend cannot be initialised.
    pub fn new(policy: FetchPolicy) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .https_only(!policy.allow_http)
            .user_agent(concat!("mcp-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Unreachable {
                url: String::new(),
                reason: e.to_string(),
            })?;
        Ok(Self { client, policy })
    }

    /// The policy.
    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// GETs `url` and returns the body, enforcing every limit.
    ///
    /// # Errors
    ///
    /// [`FetchError`] saying which limit or fault.
    pub async fn get_json(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        self.policy.check_url(url)?;
        self.send(self.client.get(url.clone()), url).await
    }

    /// POSTs a form to `url` (with HTTP Basic client authentication when given) and returns the
    /// JSON body, enforcing every limit. Used for RFC 7662 introspection and token info, so that
    /// tokens travel in bodies, never in URLs.
    ///
    /// # Errors
    ///
    /// [`FetchError`] saying which limit or fault.
    pub async fn post_form_json(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic_auth: Option<(&str, &str)>,
    ) -> Result<Vec<u8>, FetchError> {
        self.policy.check_url(url)?;
        let mut request = self.client.post(url.clone()).form(form);
        if let Some((user, password)) = basic_auth {
            // RFC 6749 section 2.3.1: client id and secret are form-urlencoded before Basic.
            let encode =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            request = request.basic_auth(encode(user), Some(encode(password)));
        }
        self.send(request, url).await
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<Vec<u8>, FetchError> {
        let shown = url.to_string();
        let unreachable = |e: reqwest::Error| FetchError::Unreachable {
            url: shown.clone(),
            reason: if e.is_timeout() {
                "timed out".to_owned()
            } else {
                "connection failed".to_owned()
            },
        };
        let mut response = request
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(FetchError::Status { url: shown, status });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !(essence == "application/json" || essence.ends_with("+json")) {
            return Err(FetchError::ContentType {
                url: shown,
                content_type,
            });
        }
        let limit = self.policy.max_body;
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(FetchError::TooLarge { url: shown, limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge { url: shown, limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
