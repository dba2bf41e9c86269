//! Test support for mcp-auth (not published): mint tokens of any shape, good or hostile, and
//! serve them from a real OpenID Connect provider on 127.0.0.1.
//!
//! - [`TokenFactory`] / [`ClaimsBuilder`]: HMAC (HS256/384/512) tokens.
//! - [`oidc`]: fixture keys of every supported type ([`oidc::TestKey`]), JWT minting with any
//!   key, algorithm or header ([`oidc::JwtBuilder`]), vendor-shaped tokens (Okta, Google, Entra
//!   ID, Cognito), and [`oidc::OidcProvider`], an HTTP server with discovery, JWKS,
//!   introspection, Google tokeninfo and fault switches.
//! - [`conformance`]: the adapter conformance suite, run against each web-framework adapter and
//!   comparing two adapters' answers byte for byte.
//! - [`browser`] (feature `browser`): headless Chromium driven over the DevTools protocol, for
//!   tests of the login and consent pages.
//! - [`tls`] (feature `tls`): an https server on 127.0.0.1 with a test-only CA.
//!
//! # Example
//!
//! ```
//! use mcp_auth_testkit::TokenFactory;
//!
//! let factory = TokenFactory::hs256(b"0123456789abcdef0123456789abcdef", "https://mcp.test/mcp");
//! let token = factory.claims().subject("alice").scope("greet").sign();
//! assert_eq!(token.split('.').count(), 3);
//! ```

#[cfg(feature = "browser")]
pub mod browser;
pub mod conformance;
mod hmac;
pub mod oidc;
#[cfg(feature = "tls")]
pub mod tls;

pub use hmac::{ClaimsBuilder, TEST_SECRET, TokenFactory, now};
