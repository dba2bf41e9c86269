//! Token validators for mcp-auth.
//!
//! # Example
//!
//! ```
//! use mcp_auth_providers::hmac::HmacValidator;
//! use mcp_auth_core::cache::{CacheConfig, CachedValidator};
//!
//! let validator = HmacValidator::builder("https://mcp.example.com/mcp")
//!     .secret(std::env::var("JWT_SECRET").unwrap_or_else(|_| "x".repeat(32)).into_bytes())
//!     .build()
//!     .expect("a secret of at least 32 bytes");
//! // Cache successes so repeated calls skip the signature check.
//! let validator = CachedValidator::new(validator, CacheConfig::default());
//! # let _ = validator;
//! ```
//!
//! # Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `hmac` | yes | [`hmac::HmacValidator`]: HS256/384/512 with shared secrets, rotation |
//! | `config` | yes | [`config::Config`]: a validator from environment variables or TOML |
//! | `oidc` | no | [`oidc`]: asymmetric JWTs with keys from OIDC discovery and JWKS |

#[cfg(feature = "config")]
pub mod config;

/// The JWS algorithms, re-exported so allow-lists need no direct `jsonwebtoken` dependency.
#[cfg(any(feature = "hmac", feature = "oidc"))]
pub use jsonwebtoken::Algorithm;
#[cfg(feature = "hmac")]
pub mod hmac;
#[cfg(feature = "oidc")]
pub mod introspection;
#[cfg(feature = "oidc")]
pub mod jwk;
#[cfg(any(feature = "hmac", feature = "oidc"))]
pub mod jwt;
#[cfg(feature = "oidc")]
pub mod multi_issuer;
#[cfg(feature = "oidc")]
pub mod oidc;
#[cfg(feature = "oidc")]
pub mod presets;
