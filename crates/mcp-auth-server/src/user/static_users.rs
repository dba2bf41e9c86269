//! The built-in user list: usernames with Argon2id password hashes.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordVerifier as _};
use async_trait::async_trait;
use serde::Deserialize;

use super::password::{HashParams, Password, PasswordHashError, hash_to_phc};
use super::{AuthenticatedUser, LoginError, UserAuthenticator};

/// One user of the built-in list, as configured.
///
/// `password_hash` is an Argon2id PHC string, as printed by `mcp-auth hash-password` or
/// [`hash_password`](super::hash_password). The subject (`sub` of the tokens) defaults to the
/// username.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticUser {
    /// The login name.
    pub username: String,
    /// The Argon2id hash of the password, as a PHC string.
    pub password_hash: String,
    /// The stable subject identifier; the username when absent.
    #[serde(default)]
    pub subject: Option<String>,
    /// The email address.
    #[serde(default)]
    pub email: Option<String>,
    /// The name to display.
    #[serde(default)]
    pub display_name: Option<String>,
}

impl StaticUser {
    /// A user with a username and an Argon2id PHC hash.
    pub fn new(username: impl Into<String>, password_hash: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password_hash: password_hash.into(),
            subject: None,
            email: None,
            display_name: None,
        }
    }

    /// Sets the email address.
    #[must_use]
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets the display name.
    #[must_use]
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets the subject identifier (the username by default).
    #[must_use]
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }
}

impl fmt::Debug for StaticUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The hash is not printed: it allows offline guessing.
        f.debug_struct("StaticUser")
            .field("username", &self.username)
            .field("password_hash", &"[redacted]")
            .field("subject", &self.subject)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .finish()
    }
}

/// The user list cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserConfigError {
    /// A user has an empty username.
    #[error("a user has an empty username")]
    EmptyUsername,
    /// Two users share a username.
    #[error("username {0:?} appears more than once")]
    DuplicateUsername(String),
    /// A user's hash is not a PHC string with a salt and a hash.
    #[error("the password hash of user {username:?} is not a valid PHC string: {reason}")]
    InvalidHash {
        /// The user.
        username: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A user's hash uses another algorithm than Argon2id.
    #[error(
        "the password hash of user {username:?} uses {algorithm}; only argon2id is accepted \
         (create one with `mcp-auth hash-password`)"
    )]
    NotArgon2id {
        /// The user.
        username: String,
        /// The algorithm of the hash.
        algorithm: String,
    },
    /// The dummy hash for unknown usernames could not be computed.
    #[error(transparent)]
    Hash(#[from] PasswordHashError),
}

/// A user with the parsed hash.
struct UserEntry {
    hash: Arc<PasswordHash>,
    user: AuthenticatedUser,
}

/// The built-in user list: a [`UserAuthenticator`] over [`StaticUser`]s.
///
/// Unknown usernames cost the same work as wrong passwords: the password is checked against a
/// dummy hash made with the users' parameters, and both give [`LoginError::InvalidCredentials`].
/// Verification runs on Tokio's blocking pool when called within a Tokio runtime.
pub struct StaticUsers {
    users: HashMap<String, UserEntry>,
    dummy: Arc<PasswordHash>,
}

impl StaticUsers {
    /// Builds the list, checking every hash.
    ///
    /// This computes one Argon2id hash (the dummy for unknown users), with the parameters most
    /// users' hashes have ([`HashParams::OWASP`] when there are no users).
    ///
    /// # Errors
    ///
    /// [`UserConfigError`] for an empty or repeated username, or a hash that is not an Argon2id
    /// PHC string with valid parameters, a salt and an output.
    pub fn new(users: impl IntoIterator<Item = StaticUser>) -> Result<Self, UserConfigError> {
        let mut entries = HashMap::new();
        let mut param_counts: Vec<(HashParams, usize)> = Vec::new();
        for user in users {
            if user.username.is_empty() {
                return Err(UserConfigError::EmptyUsername);
            }
            let (hash, params) = parse_hash(&user.username, &user.password_hash)?;
            match param_counts.iter_mut().find(|(p, _)| *p == params) {
                Some((_, count)) => *count += 1,
                None => param_counts.push((params, 1)),
            }
            let authenticated = AuthenticatedUser {
                subject: user.subject.unwrap_or_else(|| user.username.clone()),
                username: user.username.clone(),
                email: user.email,
                display_name: user.display_name,
            };
            match entries.entry(user.username) {
                Entry::Occupied(taken) => {
                    return Err(UserConfigError::DuplicateUsername(taken.key().clone()));
                }
                Entry::Vacant(slot) => {
                    slot.insert(UserEntry {
                        hash: Arc::new(hash),
                        user: authenticated,
                    });
                }
            }
        }
        // The most common parameters; the first seen on a tie.
        let mut dummy_params = HashParams::OWASP;
        let mut best = 0;
        for (params, count) in param_counts {
            if count > best {
                best = count;
                dummy_params = params;
            }
        }
        // The dummy is only ever checked for unknown usernames, whose logins fail whatever the
        // outcome: its password need not be secret.
        let dummy = hash_to_phc(b"mcp-auth dummy password", &dummy_params)?;
        Ok(Self {
            users: entries,
            dummy: Arc::new(dummy),
        })
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the list is empty (every login then fails).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

impl fmt::Debug for StaticUsers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.users.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("StaticUsers")
            .field("users", &names)
            .finish()
    }
}

#[async_trait]
impl UserAuthenticator for StaticUsers {
    async fn authenticate(
        &self,
        username: &str,
        password: &Password,
        _client_ip: Option<IpAddr>,
    ) -> Result<AuthenticatedUser, LoginError> {
        let entry = self.users.get(username);
        let hash = entry.map_or_else(|| Arc::clone(&self.dummy), |e| Arc::clone(&e.hash));
        let matches = verify_off_thread(password.clone(), hash).await?;
        match entry {
            Some(entry) if matches => Ok(entry.user.clone()),
            _ => Err(LoginError::InvalidCredentials),
        }
    }
}

/// Parses and checks a configured hash.
fn parse_hash(username: &str, phc: &str) -> Result<(PasswordHash, HashParams), UserConfigError> {
    let invalid = |reason: String| UserConfigError::InvalidHash {
        username: username.to_owned(),
        reason,
    };
    let hash = PasswordHash::new(phc).map_err(|e| invalid(e.to_string()))?;
    if Algorithm::try_from(hash.algorithm.as_str()) != Ok(Algorithm::Argon2id) {
        return Err(UserConfigError::NotArgon2id {
            username: username.to_owned(),
            algorithm: hash.algorithm.as_str().to_owned(),
        });
    }
    let params = Params::try_from(&hash).map_err(|e| invalid(e.to_string()))?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(invalid("the salt or the hash output is missing".to_owned()));
    }
    if let Some(version) = hash.version {
        argon2::Version::try_from(version).map_err(|e| invalid(e.to_string()))?;
    }
    Ok((hash, HashParams::from_argon2(&params)))
}

/// Checks a password against a hash, on Tokio's blocking pool when in a Tokio runtime.
async fn verify_off_thread(
    password: Password,
    hash: Arc<PasswordHash>,
) -> Result<bool, LoginError> {
    let verify = move || -> Result<bool, LoginError> {
        match Argon2::default().verify_password(password.expose_secret().as_bytes(), &*hash) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(e) => Err(LoginError::Internal(format!(
                "password verification failed: {e}"
            ))),
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime
            .spawn_blocking(verify)
            .await
            .map_err(|e| LoginError::Internal(format!("password verification task failed: {e}")))?,
        Err(_) => verify(),
    }
}
