//! Signing users in: the [`UserAuthenticator`] trait, the built-in user list
//! ([`StaticUsers`], Argon2id hashes) and throttling of failed logins ([`LoginThrottle`],
//! [`ThrottledAuthenticator`]).
//!
//! # Example
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::sync::Arc;
//! use mcp_auth_core::clock::SystemClock;
//! use mcp_auth_server::user::{
//!     HashParams, LoginError, LoginThrottle, Password, StaticUser, StaticUsers,
//!     ThrottlePolicy, ThrottledAuthenticator, UserAuthenticator, hash_password_with,
//! };
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! // Real deployments use `hash_password` (OWASP parameters) or `mcp-auth hash-password`;
//! // the cheapest parameters keep this example fast.
//! let cheap = HashParams::new(8, 1, 1).unwrap();
//! let hash = hash_password_with(&Password::new("correct horse"), &cheap).unwrap();
//! let users = StaticUsers::new([StaticUser::new("alice", hash).with_email("alice@example.com")])
//!     .unwrap();
//! let login = ThrottledAuthenticator::new(
//!     users,
//!     LoginThrottle::new(ThrottlePolicy::default(), Arc::new(SystemClock)),
//! );
//! let ip = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
//!
//! let alice = login.authenticate("alice", &Password::new("correct horse"), ip).await.unwrap();
//! assert_eq!(alice.subject, "alice");
//! assert_eq!(alice.email.as_deref(), Some("alice@example.com"));
//!
//! let wrong = login.authenticate("alice", &Password::new("battery staple"), ip).await;
//! let unknown = login.authenticate("mallory", &Password::new("correct horse"), ip).await;
//! assert_eq!(wrong.unwrap_err(), LoginError::InvalidCredentials);
//! assert_eq!(unknown.unwrap_err(), LoginError::InvalidCredentials);
//! # });
//! ```

mod password;
mod static_users;
mod throttle;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use password::{HashParams, Password, PasswordHashError, hash_password, hash_password_with};
pub use static_users::{StaticUser, StaticUsers, UserConfigError};
pub use throttle::{LoginAttempt, LoginThrottle, ThrottlePolicy, ThrottledAuthenticator};

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser {
    /// The stable subject identifier (the `sub` of the tokens issued for this user).
    pub subject: String,
    /// The login name.
    pub username: String,
    /// The email address, if known.
    pub email: Option<String>,
    /// The name to display, if known.
    pub display_name: Option<String>,
}

/// Why a login failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// Unknown username or wrong password: the same error for both, so a login form does not
    /// reveal which usernames exist.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Too many failed logins for this username or from this address.
    #[error("too many failed logins; retry in {} s", retry_after.as_secs().max(1))]
    Throttled {
        /// How long until a login is allowed again.
        retry_after: Duration,
    },
    /// The credentials could not be checked. The message is for logs, not for the user.
    #[error("login failed: {0}")]
    Internal(String),
}

/// Checks a username and password.
///
/// Implementations must answer [`LoginError::InvalidCredentials`] alike for an unknown username
/// and a wrong password, and should spend the same time on both. Object-safe: use it as
/// `Arc<dyn UserAuthenticator>`.
#[async_trait]
pub trait UserAuthenticator: Send + Sync {
    /// Checks `password` for `username`; `client_ip` is the caller's address, when known.
    ///
    /// # Errors
    ///
    /// [`LoginError`].
    async fn authenticate(
        &self,
        username: &str,
        password: &Password,
        client_ip: Option<IpAddr>,
    ) -> Result<AuthenticatedUser, LoginError>;
}

#[async_trait]
impl<T: UserAuthenticator + ?Sized> UserAuthenticator for Arc<T> {
    async fn authenticate(
        &self,
        username: &str,
        password: &Password,
        client_ip: Option<IpAddr>,
    ) -> Result<AuthenticatedUser, LoginError> {
        (**self).authenticate(username, password, client_ip).await
    }
}

#[cfg(test)]
mod tests;
