//! Passwords and their Argon2id hashes (PHC strings).

use std::fmt;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, Version};
use zeroize::Zeroizing;

/// A password as typed by a user: redacted `Debug`, zeroized on drop.
#[derive(Clone)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(Zeroizing::new(password.into()))
    }

    /// The password text.
    ///
    /// # Security Warning
    ///
    /// Do not log, print or persist the returned text.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the password is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl From<String> for Password {
    fn from(password: String) -> Self {
        Self::new(password)
    }
}

/// Argon2id cost parameters for new hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
}

impl HashParams {
    /// The OWASP Password Storage Cheat Sheet's recommendation for Argon2id: 19 MiB of memory,
    /// 2 iterations, 1 degree of parallelism. The default.
    pub const OWASP: Self = Self {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };

    /// Custom parameters: memory in KiB, iterations, parallelism.
    ///
    /// # Errors
    ///
    /// [`PasswordHashError`] when Argon2 refuses them (memory below 8 KiB per lane, no
    /// iteration, no lane).
    pub fn new(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, PasswordHashError> {
        let params = Self {
            m_cost_kib,
            t_cost,
            p_cost,
        };
        params.argon2_params()?;
        Ok(params)
    }

    /// Memory cost in KiB.
    pub fn m_cost_kib(&self) -> u32 {
        self.m_cost_kib
    }

    /// Number of iterations.
    pub fn t_cost(&self) -> u32 {
        self.t_cost
    }

    /// Degree of parallelism.
    pub fn p_cost(&self) -> u32 {
        self.p_cost
    }

    pub(crate) fn argon2_params(&self) -> Result<Params, PasswordHashError> {
        Params::new(self.m_cost_kib, self.t_cost, self.p_cost, None)
            .map_err(|e| PasswordHashError(e.to_string()))
    }

    pub(crate) fn from_argon2(params: &Params) -> Self {
        Self {
            m_cost_kib: params.m_cost(),
            t_cost: params.t_cost(),
            p_cost: params.p_cost(),
        }
    }
}

impl Default for HashParams {
    fn default() -> Self {
        Self::OWASP
    }
}

/// Hashing a password failed (bad parameters or no system randomness for the salt).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct PasswordHashError(String);

/// Hashes a password with Argon2id, [`HashParams::OWASP`] and a random 16-byte salt, as a PHC
/// string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) for
/// [`StaticUser`](super::StaticUser).
///
/// This takes tens of milliseconds of CPU: do not call it on an async executor thread.
///
/// # Errors
///
/// [`PasswordHashError`] when the system's random number generator fails.
pub fn hash_password(password: &Password) -> Result<String, PasswordHashError> {
    hash_password_with(password, &HashParams::OWASP)
}

/// Hashes a password with Argon2id and the given parameters, as a PHC string.
///
/// # Errors
///
/// [`PasswordHashError`] when the system's random number generator fails.
pub fn hash_password_with(
    password: &Password,
    params: &HashParams,
) -> Result<String, PasswordHashError> {
    Ok(hash_to_phc(password.expose_secret().as_bytes(), params)?.to_string())
}

/// Hashes bytes with Argon2id and a random salt.
pub(crate) fn hash_to_phc(
    password: &[u8],
    params: &HashParams,
) -> Result<PasswordHash, PasswordHashError> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.argon2_params()?)
        .hash_password(password)
        .map_err(|e| PasswordHashError(e.to_string()))
}
