//! A real OpenID Connect provider for tests, served over HTTP on 127.0.0.1.
//!
//! - [`TestKey`]: fixture keys (RSA 2048 and a rotated one, a weak RSA 1024, P-256, P-384,
//!   Ed25519) with their public JWKs.
//! - [`JwtBuilder`]: a JWT of any claims and header signed by any fixture key and algorithm,
//!   plus hostile forms (RS256 -> HS256 confusion, `none`, r = s = 0 ECDSA).
//! - [`Vendor`] and the [`vendor`] constants: Okta, Google, Entra ID (v1, v2) and Cognito shaped
//!   tokens.
//! - [`OidcProvider`]: discovery (OIDC and RFC 8414 forms) for any number of issuers, JWKS,
//!   RFC 7662 introspection, Google tokeninfo, runtime [`Fault`]s and per-[`Endpoint`] fetch
//!   counters.
//!
//! # Example
//!
//! ```
//! use mcp_auth_testkit::oidc::{Endpoint, Fault, OidcProvider, TestKey};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let idp = OidcProvider::start().await;
//! let token = idp.okta().subject("alice@example.com").sign();
//! let issuer = idp.okta_issuer(); // "http://127.0.0.1:<port>/oauth2/default"
//! assert!(issuer.ends_with("/oauth2/default"));
//! assert_eq!(token.split('.').count(), 3);
//! // Discovery at `{issuer}/.well-known/openid-configuration` names
//! // `{issuer}/.well-known/jwks.json`, which serves TestKey::DEFAULT_SET.
//! idp.rotate_keys(); // now TestKey::ROTATED_SET
//! idp.set_fault_on(Endpoint::Jwks, Fault::Down); // JWKS answers 503
//! assert_eq!(idp.fetches(Endpoint::Jwks), 0);
//! idp.stop().await; // connections are now refused
//! # }
//! ```

mod faults;
mod keys;
mod server;
mod token;
pub mod vendor;
mod weak_rsa;

use std::sync::{Mutex, MutexGuard, PoisonError};

pub use faults::{Endpoint, Fault, OVERSIZED_PADDING};
pub use keys::TestKey;
pub use server::{
    DEFAULT_AUDIENCE, INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET, OidcProvider,
};
pub use token::JwtBuilder;
pub use vendor::Vendor;

/// Locks, ignoring poisoning (a panicking test must not break the others' server).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod test_http;
