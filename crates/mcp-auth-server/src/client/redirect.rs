//! Redirect URIs: which ones a client may register, and when a requested one matches.
//!
//! A [`RedirectUri`] is validated when it is built:
//!
//! - absolute, at most [`MAX_REDIRECT_URI_LEN`] bytes, printable ASCII only (no whitespace,
//!   no control characters, no backslash), without a fragment (RFC 6749 section 3.1.2) and
//!   without user information;
//! - `https` with any host; or
//! - `http` only on a loopback host written `127.0.0.1`, `[::1]` or `localhost` (RFC 8252
//!   sections 7.3 and 8.3); or
//! - a private-use scheme of a native app, which must contain a dot, as in
//!   `com.example.app:/callback` (RFC 8252 section 7.1).
//!
//! `javascript:`, `data:`, `vbscript:` and `file:` are refused whatever their casing; a leading
//! space or control character is refused as any other.
//!
//! [`matches()`] compares by exact string (OAuth 2.1 section 4.1.1), with one exception: on an
//! `http` loopback redirect URI the port may differ, since a native app listens on whatever
//! port the system gives it (RFC 8252 section 7.3). The host, path and query must still be
//! identical. RFC 8252 section 8.3 recommends the IP literals over `localhost`; `localhost` is
//! accepted too (with the same port flexibility) because widely used MCP clients register it.
//!
//! # Example
//!
//! ```
//! use mcp_auth_server::client::redirect::{RedirectUri, matches};
//!
//! assert!(RedirectUri::new("https://app.example.com/callback").is_ok());
//! assert!(RedirectUri::new("http://app.example.com/callback").is_err());
//! assert!(RedirectUri::new("JavaScript:alert(1)").is_err());
//!
//! assert!(matches("http://127.0.0.1/cb", "http://127.0.0.1:53124/cb"));
//! assert!(!matches("https://app.example.com/cb", "https://app.example.com/cb/"));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

/// The longest redirect URI accepted, in bytes.
pub const MAX_REDIRECT_URI_LEN: usize = 2_000;

/// Schemes never accepted, compared case-insensitively.
const FORBIDDEN_SCHEMES: [&str; 6] = ["javascript", "data", "vbscript", "file", "blob", "about"];

/// Hosts accepted for plain `http`, exactly as written.
const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "[::1]", "localhost"];

/// A redirect URI that passed the rules of the [module docs](self). It keeps the exact string
/// given, since redirect URIs are compared as strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedirectUri {
    uri: String,
    kind: RedirectUriKind,
}

/// Which rule admitted a [`RedirectUri`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RedirectUriKind {
    /// An `https` URI.
    Https,
    /// An `http` URI on a loopback host (`127.0.0.1`, `[::1]`, `localhost`).
    Loopback,
    /// A private-use (reverse domain name) scheme of a native app.
    PrivateUse,
}

/// Why a redirect URI was refused. The messages never repeat the URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidRedirectUri {
    /// Longer than [`MAX_REDIRECT_URI_LEN`].
    #[error("the redirect URI is too long")]
    TooLong,
    /// Holds whitespace, a control character, a backslash or a non-ASCII character.
    #[error("the redirect URI contains a forbidden character")]
    ForbiddenCharacter,
    /// Not an absolute URI.
    #[error("the redirect URI is not an absolute URI")]
    NotAbsolute,
    /// Has a fragment (RFC 6749 section 3.1.2).
    #[error("the redirect URI must not contain a fragment")]
    Fragment,
    /// Has user information (`user@host`).
    #[error("the redirect URI must not contain user information")]
    UserInfo,
    /// A scheme that can run code or read local files (`javascript:`, `data:`...).
    #[error("the redirect URI uses a forbidden scheme")]
    ForbiddenScheme,
    /// Plain `http` on a host that is not loopback.
    #[error("plain http redirect URIs are only allowed on loopback hosts")]
    PlainHttpNotLoopback,
    /// A scheme that is neither `https`, loopback `http` nor a private-use scheme with a dot.
    #[error("the redirect URI scheme is not allowed")]
    UnsupportedScheme,
}

impl RedirectUri {
    /// Validates a redirect URI.
    ///
    /// # Errors
    ///
    /// [`InvalidRedirectUri`] naming the rule broken.
    pub fn new(uri: impl Into<String>) -> Result<Self, InvalidRedirectUri> {
        let uri = uri.into();
        let kind = classify(&uri)?;
        Ok(Self { uri, kind })
    }

    /// The URI, exactly as registered.
    pub fn as_str(&self) -> &str {
        &self.uri
    }

    /// Which rule admitted it.
    pub fn kind(&self) -> RedirectUriKind {
        self.kind
    }

    /// The URI as a `String`.
    pub fn into_string(self) -> String {
        self.uri
    }

    /// Whether `requested` (from an authorization request) matches this registered URI: see
    /// [`matches()`].
    pub fn matches(&self, requested: &str) -> bool {
        if self.uri == requested {
            return true;
        }
        self.kind == RedirectUriKind::Loopback
            && classify(requested) == Ok(RedirectUriKind::Loopback)
            && loopback_equal_but_port(&self.uri, requested)
    }
}

/// Whether the redirect URI `requested` matches the registered `registered`: identical
/// strings, or `http` loopback URIs identical but for the port (RFC 8252 section 7.3). A
/// `registered` value that is not a valid [`RedirectUri`] matches nothing.
pub fn matches(registered: &str, requested: &str) -> bool {
    RedirectUri::new(registered).is_ok_and(|registered| registered.matches(requested))
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)
    }
}

impl FromStr for RedirectUri {
    type Err = InvalidRedirectUri;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl AsRef<str> for RedirectUri {
    fn as_ref(&self) -> &str {
        &self.uri
    }
}

impl Serialize for RedirectUri {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.uri)
    }
}

impl<'de> Deserialize<'de> for RedirectUri {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let uri = String::deserialize(deserializer)?;
        Self::new(uri).map_err(serde::de::Error::custom)
    }
}

/// Applies every rule; returns which kind of redirect URI this is.
fn classify(uri: &str) -> Result<RedirectUriKind, InvalidRedirectUri> {
    if uri.len() > MAX_REDIRECT_URI_LEN {
        return Err(InvalidRedirectUri::TooLong);
    }
    // Printable ASCII only: this refuses leading whitespace and control characters (which URL
    // parsers strip, turning "\tjavascript:" into "javascript:"), and backslashes (which
    // parsers read as '/' in special schemes).
    if uri
        .bytes()
        .any(|b| !(0x21..=0x7e).contains(&b) || b == b'\\')
    {
        return Err(InvalidRedirectUri::ForbiddenCharacter);
    }
    // Check the scheme on the raw text before any parser gets a say.
    let scheme = uri
        .split_once(':')
        .map(|(scheme, _)| scheme)
        .ok_or(InvalidRedirectUri::NotAbsolute)?;
    if FORBIDDEN_SCHEMES
        .iter()
        .any(|forbidden| scheme.eq_ignore_ascii_case(forbidden))
    {
        return Err(InvalidRedirectUri::ForbiddenScheme);
    }
    if uri.contains('#') {
        return Err(InvalidRedirectUri::Fragment);
    }
    let parsed = Url::parse(uri).map_err(|_| InvalidRedirectUri::NotAbsolute)?;
    if parsed.cannot_be_a_base() && !parsed.scheme().contains('.') {
        return Err(InvalidRedirectUri::UnsupportedScheme);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(InvalidRedirectUri::UserInfo);
    }
    match parsed.scheme() {
        "https" => {
            if authority(uri).is_some_and(|a| a.contains('@')) {
                return Err(InvalidRedirectUri::UserInfo);
            }
            Ok(RedirectUriKind::Https)
        }
        "http" => {
            let (host, _) = loopback_parts(uri).ok_or(InvalidRedirectUri::PlainHttpNotLoopback)?;
            if LOOPBACK_HOSTS.contains(&host) {
                Ok(RedirectUriKind::Loopback)
            } else {
                Err(InvalidRedirectUri::PlainHttpNotLoopback)
            }
        }
        other if other.contains('.') => Ok(RedirectUriKind::PrivateUse),
        _ => Err(InvalidRedirectUri::UnsupportedScheme),
    }
}

/// The authority of a `scheme://authority...` URI, as written.
fn authority(uri: &str) -> Option<&str> {
    let (_, rest) = uri.split_once("://")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    Some(&rest[..end])
}

/// For an `http://host[:port]rest` URI as written (scheme in lowercase): the host and the
/// rest (path and query), or `None` when the text has another shape (user information, a
/// non-numeric port...).
fn loopback_parts(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return None;
    }
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, after) = authority.split_at(close + 1);
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok();
        if !valid {
            return None;
        }
    }
    Some((host, tail))
}

/// Whether two loopback `http` URIs are equal once their ports are set aside.
fn loopback_equal_but_port(registered: &str, requested: &str) -> bool {
    match (loopback_parts(registered), loopback_parts(requested)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(uri: &str) -> Result<RedirectUriKind, InvalidRedirectUri> {
        RedirectUri::new(uri).map(|r| r.kind())
    }

    #[test]
    fn accepts_https_loopback_and_private_use() {
        assert_eq!(
            kind("https://app.example.com/callback"),
            Ok(RedirectUriKind::Https)
        );
        assert_eq!(
            kind("https://app.example.com:8443/cb?x=1"),
            Ok(RedirectUriKind::Https)
        );
        assert_eq!(kind("https://app.example.com"), Ok(RedirectUriKind::Https));
        for uri in [
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "http://[::1]:51000/cb?state=x",
            "http://localhost:3000/callback",
            "http://localhost",
        ] {
            assert_eq!(kind(uri), Ok(RedirectUriKind::Loopback), "{uri}");
        }
        assert_eq!(
            kind("com.example.app:/oauth2redirect"),
            Ok(RedirectUriKind::PrivateUse)
        );
        assert_eq!(
            kind("com.example.app://callback"),
            Ok(RedirectUriKind::PrivateUse)
        );
    }

    #[test]
    fn refuses_script_and_local_schemes_in_any_form() {
        for uri in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "JAVASCRIPT://%0aalert(1)",
            "data:text/html,<script>alert(1)</script>",
            "DaTa:text/html;base64,PHNjcmlwdD4=",
            "vbscript:msgbox(1)",
            "file:///etc/passwd",
            "FILE://host/share",
        ] {
            assert_eq!(kind(uri), Err(InvalidRedirectUri::ForbiddenScheme), "{uri}");
        }
        for uri in [
            "\tjavascript:alert(1)",
            " javascript:alert(1)",
            "\u{0}javascript:alert(1)",
            "java\tscript:alert(1)",
            "\nhttps://app.example.com/cb",
            "https://app.example.com/cb ",
            "https://app.example.com/c b",
            "https://app.example.com\\@evil.example/cb",
            "https://app.example.com/caf\u{e9}",
        ] {
            assert_eq!(
                kind(uri),
                Err(InvalidRedirectUri::ForbiddenCharacter),
                "{uri:?}"
            );
        }
    }

    #[test]
    fn refuses_fragments_userinfo_and_relative() {
        assert_eq!(
            kind("https://good.example/cb#frag"),
            Err(InvalidRedirectUri::Fragment)
        );
        assert_eq!(
            kind("https://good.example/cb#"),
            Err(InvalidRedirectUri::Fragment)
        );
        assert_eq!(
            kind("https://user@good.example/cb"),
            Err(InvalidRedirectUri::UserInfo)
        );
        assert_eq!(
            kind("https://user:pw@good.example/cb"),
            Err(InvalidRedirectUri::UserInfo)
        );
        assert!(kind("http://[::1]@evil.example/cb").is_err());
        assert!(kind("http://127.0.0.1@evil.example/cb").is_err());
        assert_eq!(kind("/callback"), Err(InvalidRedirectUri::NotAbsolute));
        assert_eq!(
            kind("//app.example.com/cb"),
            Err(InvalidRedirectUri::NotAbsolute)
        );
        assert_eq!(kind(""), Err(InvalidRedirectUri::NotAbsolute));
        assert_eq!(kind("https://"), Err(InvalidRedirectUri::NotAbsolute));
    }

    #[test]
    fn plain_http_only_on_loopback_as_written() {
        for uri in [
            "http://app.example.com/cb",
            "http://127.0.0.1.evil.com/cb",
            "http://localhost.evil.com/cb",
            "http://evil.com/127.0.0.1",
            "http://127.1/cb",
            "http://0x7f000001/cb",
            "http://2130706433/cb",
            "http://[::ffff:127.0.0.1]/cb",
            "http://localhost./cb",
            "http://LOCALHOST/cb",
            "http://127.0.0.2/cb",
            "http://10.0.0.1/cb",
            "http://127.0.0.1:/cb",
            "HTTP://127.0.0.1/cb",
        ] {
            assert_eq!(
                kind(uri),
                Err(InvalidRedirectUri::PlainHttpNotLoopback),
                "{uri}"
            );
        }
        for uri in ["http://127.0.0.1:99999/cb", "http://127.0.0.1:x/cb"] {
            assert!(kind(uri).is_err(), "{uri}");
        }
    }

    #[test]
    fn refuses_other_schemes() {
        for uri in [
            "myapp:/callback",
            "myapp://callback",
            "ftp://files.example.com/cb",
            "ws://127.0.0.1/cb",
            "mailto:a@example.com",
            "urn:ietf:wg:oauth:2.0:oob",
        ] {
            assert!(kind(uri).is_err(), "{uri}");
        }
    }

    #[test]
    fn refuses_overlong() {
        let long = format!(
            "https://app.example.com/{}",
            "a".repeat(MAX_REDIRECT_URI_LEN)
        );
        assert_eq!(kind(&long), Err(InvalidRedirectUri::TooLong));
        let fits = format!("https://app.example.com/{}", "a".repeat(1_900));
        assert!(kind(&fits).is_ok());
    }

    #[test]
    fn exact_match_for_https_and_private_use() {
        let registered = "https://app.example.com/cb";
        assert!(matches(registered, registered));
        for requested in [
            "https://app.example.com/cb/",
            "https://APP.example.com/cb",
            "https://app.example.com/CB",
            "https://app.example.com/cb?x=1",
            "https://app.example.com:443/cb",
            "https://app.example.com/cb#frag",
            "https://app.example.com/cb/../cb",
            "https://app.example.com.evil.com/cb",
        ] {
            assert!(!matches(registered, requested), "{requested}");
        }
        assert!(matches("com.example.app:/cb", "com.example.app:/cb"));
        assert!(!matches("com.example.app:/cb", "com.example.app:/cb2"));
    }

    #[test]
    fn loopback_port_may_differ_nothing_else() {
        assert!(matches("http://127.0.0.1/cb", "http://127.0.0.1:53124/cb"));
        assert!(matches(
            "http://127.0.0.1:8080/cb",
            "http://127.0.0.1:9090/cb"
        ));
        assert!(matches("http://127.0.0.1:8080/cb", "http://127.0.0.1/cb"));
        assert!(matches("http://[::1]/cb?a=1", "http://[::1]:4000/cb?a=1"));
        assert!(matches("http://localhost/cb", "http://localhost:1234/cb"));
        for requested in [
            "http://127.0.0.1:53124/cb2",
            "http://127.0.0.1:53124/cb?x=1",
            "http://[::1]:53124/cb",
            "http://localhost:53124/cb",
            "http://127.0.0.1.evil.com:53124/cb",
            "http://127.0.0.1:53124@evil.com/cb",
            "http://127.0.0.1:53124/cb#x",
            "https://127.0.0.1:53124/cb",
            "http://127.0.0.1:/cb",
            "http://127.0.0.1:65536/cb",
        ] {
            assert!(!matches("http://127.0.0.1/cb", requested), "{requested}");
        }
        // No port flexibility for https, even on loopback.
        assert!(!matches(
            "https://127.0.0.1/cb",
            "https://127.0.0.1:8443/cb"
        ));
        // An invalid registered value matches nothing, not even itself.
        assert!(!matches("http://evil.example/cb", "http://evil.example/cb"));
    }

    #[test]
    fn serde_validates() {
        let uri: RedirectUri = serde_json::from_str("\"https://app.example.com/cb\"").unwrap();
        assert_eq!(uri.as_str(), "https://app.example.com/cb");
        assert_eq!(
            serde_json::to_string(&uri).unwrap(),
            "\"https://app.example.com/cb\""
        );
        assert!(serde_json::from_str::<RedirectUri>("\"javascript:alert(1)\"").is_err());
        assert_eq!(
            "http://[::1]/cb"
                .parse::<RedirectUri>()
                .unwrap()
                .to_string(),
            "http://[::1]/cb"
        );
    }

    #[test]
    fn errors_do_not_echo_the_uri() {
        let err = RedirectUri::new("https://secret.example/cb#token").unwrap_err();
        assert!(!err.to_string().contains("secret"));
    }
}
