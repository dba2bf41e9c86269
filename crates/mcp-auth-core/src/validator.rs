//! The [`TokenValidator`] trait: turns a bearer token into a [`Principal`] or an [`AuthError`].
//!
//! Implement it to plug in your own token format, or pass an async closure.
//!
//! # Example
//!
//! ```
//! use mcp_auth_core::{validator_fn, AuthError, BearerToken, InvalidTokenReason, Principal, TokenValidator};
//!
//! # tokio_test();
//! # fn tokio_test() { let rt = tokio::runtime::Builder::new_current_thread().build().unwrap(); rt.block_on(async {
//! let validator = validator_fn(|token: BearerToken| async move {
//!     if token.expose_secret() == "letmein" {
//!         Ok(Principal::builder("alice").build())
//!     } else {
//!         Err(AuthError::InvalidToken(InvalidTokenReason::BadSignature))
//!     }
//! });
//! let principal = validator.validate(&BearerToken::new("letmein")).await.unwrap();
//! assert_eq!(principal.subject(), "alice");
//! # }); }
//! ```

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use crate::error::AuthError;
use crate::principal::Principal;
use crate::secret::BearerToken;

/// Validates access tokens. Object-safe: adapters hold an `Arc<dyn TokenValidator>`.
#[async_trait]
pub trait TokenValidator: Send + Sync + 'static {
    /// Verifies `token` and returns the caller it identifies.
    ///
    /// # Errors
    ///
    /// [`AuthError::InvalidToken`] for a token that must be refused; [`AuthError::Unavailable`]
    /// or [`AuthError::Internal`] for faults of the server, which are answered 5xx.
    async fn validate(&self, token: &BearerToken) -> Result<Principal, AuthError>;

    /// The answer [`TokenValidator::validate`] would give, when it can be had without waiting:
    /// a cache hit, or a check that needs no I/O (an HMAC signature). `None` means "await
    /// `validate`". The guard asks this first: an `async fn` in this trait is a boxed future,
    /// and on the hot path that allocation was a visible part of a request's cost.
    ///
    /// An implementation must answer exactly as `validate` would, or not at all. The default
    /// never answers.
    fn validate_now(&self, token: &BearerToken) -> Option<Result<Principal, AuthError>> {
        let _ = token;
        None
    }

    /// Whether this validator can answer [`TokenValidator::recall`]: the guard computes a
    /// token's SHA-256 before reading its syntax only for validators that say so. The default
    /// is `false`.
    fn recalls(&self) -> bool {
        false
    }

    /// The principal this validator already accepted a token for, given that token's SHA-256,
    /// without looking at the token: a cache hit ([`crate::cache::CachedValidator`]).
    ///
    /// The guard asks this (when [`TokenValidator::recalls`]) before it parses the
    /// `Authorization` header's token, and an answer spares it the parse, the token's copy and
    /// that copy's zeroizing: the bytes with this digest are a token that was accepted before.
    /// So an implementation must answer only with what `validate` answered for the token with
    /// this digest, still valid now, or not at all. The default never answers.
    fn recall(&self, digest: &[u8; 32]) -> Option<Principal> {
        let _ = digest;
        None
    }

    /// A number that moves when earlier validations may no longer hold, for example when a
    /// signing key left the provider's key set. [`crate::cache::CachedValidator`] discards
    /// entries made under another epoch. Validators whose verdicts never go stale keep the
    /// default, 0.
    fn cache_epoch(&self) -> u64 {
        0
    }
}

impl std::fmt::Debug for dyn TokenValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("dyn TokenValidator")
    }
}

#[async_trait]
impl<V: TokenValidator + ?Sized> TokenValidator for Arc<V> {
    async fn validate(&self, token: &BearerToken) -> Result<Principal, AuthError> {
        (**self).validate(token).await
    }

    fn validate_now(&self, token: &BearerToken) -> Option<Result<Principal, AuthError>> {
        (**self).validate_now(token)
    }

    fn recalls(&self) -> bool {
        (**self).recalls()
    }

    fn recall(&self, digest: &[u8; 32]) -> Option<Principal> {
        (**self).recall(digest)
    }

    fn cache_epoch(&self) -> u64 {
        (**self).cache_epoch()
    }
}

#[async_trait]
impl<V: TokenValidator + ?Sized> TokenValidator for Box<V> {
    async fn validate(&self, token: &BearerToken) -> Result<Principal, AuthError> {
        (**self).validate(token).await
    }

    fn validate_now(&self, token: &BearerToken) -> Option<Result<Principal, AuthError>> {
        (**self).validate_now(token)
    }

    fn recalls(&self) -> bool {
        (**self).recalls()
    }

    fn recall(&self, digest: &[u8; 32]) -> Option<Principal> {
        (**self).recall(digest)
    }

    fn cache_epoch(&self) -> u64 {
        (**self).cache_epoch()
    }
}

/// A validator made from an async closure; see [`validator_fn`].
#[derive(Clone)]
pub struct FnValidator<F>(F);

impl<F> std::fmt::Debug for FnValidator<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnValidator")
    }
}

/// Makes a validator from an async closure that takes the token by value.
///
/// This is the closure form of [`TokenValidator`] (as `tower::service_fn` is for services): a
/// blanket `impl TokenValidator for F where F: Fn(..)` cannot coexist with the impls for
/// `Arc<V>` and `Box<V>`, which adapters rely on.
pub fn validator_fn<F, Fut>(f: F) -> FnValidator<F>
where
    F: Fn(BearerToken) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Principal, AuthError>> + Send + 'static,
{
    FnValidator(f)
}

#[async_trait]
impl<F, Fut> TokenValidator for FnValidator<F>
where
    F: Fn(BearerToken) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Principal, AuthError>> + Send + 'static,
{
    async fn validate(&self, token: &BearerToken) -> Result<Principal, AuthError> {
        (self.0)(token.clone()).await
    }
}
