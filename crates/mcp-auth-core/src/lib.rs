//! Core types of mcp-auth: what an MCP server needs to be an OAuth 2.1 resource server, with no
//! web framework and no HTTP client.
//!
//! Depend on this crate alone to write your own [`TokenValidator`]; pick validators from
//! `mcp-auth-providers` and an adapter (`mcp-auth-axum`) to serve them.
//!
//! # Example
//!
//! ```
//! use mcp_auth_core::metadata::{ProtectedResource, ResourceUri};
//! use mcp_auth_core::{validator_fn, AuthError, BearerToken, InvalidTokenReason, Principal, TokenValidator};
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap(); rt.block_on(async {
//! // A validator of your own: any async function from token to principal.
//! let validator = validator_fn(|token: BearerToken| async move {
//!     match token.expose_secret() {
//!         "demo-token" => Ok(Principal::builder("alice").scopes("mcp:tools".parse().unwrap()).build()),
//!         _ => Err(AuthError::InvalidToken(InvalidTokenReason::BadSignature)),
//!     }
//! });
//!
//! // What a refused request is answered with.
//! let resource = ProtectedResource::new(ResourceUri::parse("https://mcp.example.com/mcp").unwrap());
//! let err = validator.validate(&BearerToken::new("nope")).await.unwrap_err();
//! let response = err.to_response(&resource.challenge_context());
//! assert_eq!(response.status, 401);
//! assert!(response.www_authenticate.unwrap().contains(r#"error="invalid_token""#));
//! # });
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `cache` | yes | [`cache::CachedValidator`], a bounded validation cache (moka) |
//! | `guard` | yes | [`guard::ResourceGuard`], the request procedure every adapter runs |
//! | `test-util` | no | [`test_util::StaticValidator`] for your own tests |

pub mod bearer;
#[cfg(feature = "cache")]
pub mod cache;
pub mod challenge;
pub mod clock;
pub mod error;
#[cfg(feature = "guard")]
pub mod guard;
pub mod metadata;
pub mod principal;
pub mod scope;
pub mod secret;
pub mod stdio;
#[cfg(feature = "test-util")]
pub mod test_util;
pub mod validator;

pub use error::{AuthError, BoxError, ErrorResponse, InvalidRequestReason, InvalidTokenReason};
pub use principal::{Principal, principal_from_claims};
pub use scope::{Scope, Scopes};
pub use secret::{BearerToken, Fingerprint, SecretBytes};
pub use validator::{TokenValidator, validator_fn};
