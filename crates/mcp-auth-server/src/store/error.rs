//! [`StoreError`]: why a store operation failed.
//!
//! Outcomes a caller must act on (a replayed code, a reused refresh token, an expired grant) are
//! not errors: they are the [`CodeRedemption`](super::CodeRedemption) and
//! [`Rotation`](super::Rotation) results. An error means the store could not answer.

use mcp_auth_core::BoxError;

/// A store operation failed.
///
/// No variant carries a secret: keys are stored and reported only as [`TokenHash`]es, and
/// backend errors are kept as the [`source`](std::error::Error::source), whose messages name
/// tables and constraints, never bound values.
///
/// [`TokenHash`]: super::TokenHash
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An insert hit an existing key: a code, refresh token or signing key id that is already
    /// stored. Server-generated secrets of 128 bits or more do not collide by chance, so this
    /// points to a caller storing the same value twice.
    #[error("a {0} with this key is already stored")]
    Conflict(&'static str),

    /// [`Store::rotate_refresh`](super::Store::rotate_refresh) was given a new record that does
    /// not continue the old token's family, client and subject. Nothing was changed.
    #[error(
        "the new refresh token must keep the family, client and subject of the one it replaces"
    )]
    InvalidRotation,

    /// A value cannot be represented by the backend (a time beyond `i64::MAX` seconds).
    #[error("{0} is out of the range the store can hold")]
    OutOfRange(&'static str),

    /// Stored data could not be read back (a column holding something this version never
    /// writes). The message names the column, not its value.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),

    /// The database schema was migrated by a newer version of this crate.
    #[error(
        "the database schema is at version {found}, newer than the {supported} this version of \
         mcp-auth-server knows; upgrade it"
    )]
    SchemaTooNew {
        /// The newest migration recorded in the database.
        found: i64,
        /// The newest migration this build carries.
        supported: i64,
    },

    /// The backend failed (connection lost, disk full, lock timeout).
    #[error("the storage backend failed")]
    Backend(#[source] BoxError),
}

impl StoreError {
    /// Wraps a backend error.
    pub fn backend(error: impl Into<BoxError>) -> Self {
        Self::Backend(error.into())
    }
}
