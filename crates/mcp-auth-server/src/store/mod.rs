//! The authorization server's state, behind one [`Store`] trait.
//!
//! | backend | feature | for |
//! |---|---|---|
//! | [`MemoryStore`] | `memory` | tests and ephemeral servers: state lives as long as the process |
//! | [`SqliteStore`] | `sqlite` | the embedded durable default: one file |
//! | [`PostgresStore`] | `postgres` | several replicas sharing state |
//!
//! # What is stored, and how
//!
//! - **Clients** ([`ClientRecord`]): dynamic registrations (RFC 7591), preconfigured clients and
//!   cached client metadata documents.
//! - **Authorization codes** ([`AuthorizationGrant`]): single use, about 60 seconds.
//! - **Refresh tokens** ([`RefreshRecord`]): rotated on every use, grouped in families.
//! - **Consents**: the scopes a user granted a client, so the consent screen is shown once.
//! - **Signing keys** ([`SigningKeyRecord`]).
//!
//! Codes, refresh tokens and client secrets are stored as their [`TokenHash`] (SHA-256) and
//! looked up by it: the store never sees them in clear, so a copy of it holds no usable
//! credential. Signing keys are the exception (the server must sign with them).
//!
//! # Atomicity
//!
//! [`Store::take_code`] and [`Store::rotate_refresh`] are take-once: of any number of concurrent
//! calls with the same code or token, on one server or on several replicas sharing a
//! database, exactly one succeeds. Every backend guarantees it (a mutex; a conditional `UPDATE`
//! or `BEGIN IMMEDIATE` transaction in SQLite; a conditional `UPDATE` or row lock in
//! PostgreSQL), and the conformance tests check it with 50 concurrent callers.
//!
//! # Time
//!
//! Operations that compare times take `now` (unix seconds) from the caller, so the server's
//! clock decides and tests control it. An instant `t` with `expires_at <= t` is expired.
//!
//! # Example
//!
//! ```
//! use mcp_auth_server::store::{
//!     FamilyId, MemoryStore, RefreshRecord, Rotation, Store, TokenHash,
//! };
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let now = 1_700_000_000;
//! let record = |expires_at| RefreshRecord {
//!     family: FamilyId::new("family-1"),
//!     client_id: "client-1".into(),
//!     subject: "alice".into(),
//!     scopes: "mcp:tools".parse().unwrap(),
//!     resource: Some("https://mcp.example.com/mcp".into()),
//!     expires_at,
//!     family_expires_at: now + 30 * 86_400,
//! };
//! store.put_refresh(TokenHash::of("rt-1"), record(now + 86_400)).await.unwrap();
//!
//! // The client redeems rt-1 and receives rt-2.
//! let rotation = store
//!     .rotate_refresh(TokenHash::of("rt-1"), TokenHash::of("rt-2"), record(now + 86_400), now)
//!     .await
//!     .unwrap();
//! assert!(matches!(rotation, Rotation::Rotated(_)));
//!
//! // rt-1 presented again: someone else holds the chain; the family is revoked, rt-2 with it.
//! let rotation = store
//!     .rotate_refresh(TokenHash::of("rt-1"), TokenHash::of("rt-3"), record(now + 86_400), now)
//!     .await
//!     .unwrap();
//! assert_eq!(rotation, Rotation::Reused { family: FamilyId::new("family-1") });
//! let rotation = store
//!     .rotate_refresh(TokenHash::of("rt-2"), TokenHash::of("rt-4"), record(now + 86_400), now)
//!     .await
//!     .unwrap();
//! assert_eq!(rotation, Rotation::Revoked);
//! # });
//! ```

use async_trait::async_trait;
use mcp_auth_core::Scopes;

mod client;
mod code;
mod error;
mod hash;
#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
mod refresh;
mod signing_key;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use client::{ApplicationType, ClientRecord, ClientSource};
pub use code::{AuthorizationGrant, CodeRedemption};
pub use error::StoreError;
pub use hash::{InvalidTokenHash, TokenHash};
#[cfg(feature = "memory")]
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use refresh::{FamilyId, RefreshEntry, RefreshRecord, Rotation};
pub use signing_key::SigningKeyRecord;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
/// The SQL toolkit the SQLite and PostgreSQL stores are built on, for
/// [`SqliteStore::from_pool`] and [`PostgresStore::from_pool`].
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sqlx;

/// How many records [`Store::purge_expired`] deleted, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PurgeCounts {
    /// Authorization codes past their expiry, redeemed or not.
    pub codes: u64,
    /// Refresh tokens that can no longer be redeemed nor tell a reuse: unused tokens past their
    /// own expiry, and every token of a family past the family's expiry.
    pub refresh_tokens: u64,
    /// Refresh token families past their expiry (with their revocation flag).
    pub refresh_families: u64,
    /// Client records past `metadata_expires_at`.
    pub clients: u64,
    /// Signing keys past `not_after`.
    pub signing_keys: u64,
}

/// The authorization server's storage.
///
/// Implementations must make [`take_code`](Store::take_code) and
/// [`rotate_refresh`](Store::rotate_refresh) atomic across every caller sharing the state (see
/// the [module docs](self)). The trait is object safe: the server holds an `Arc<dyn Store>`.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // --- clients (RFC 7591) ---

    /// Stores a client, replacing any record with the same `client_id`.
    async fn put_client(&self, client: ClientRecord) -> Result<(), StoreError>;

    /// The client with this `client_id`, if known. Records past `metadata_expires_at` are
    /// returned until purged; the caller decides whether to fetch the metadata again.
    async fn get_client(&self, client_id: &str) -> Result<Option<ClientRecord>, StoreError>;

    /// Deletes a client, and with it what it was granted: its pending codes and consents are
    /// deleted and its refresh token families revoked (RFC 7592 section 2.3: deleting a
    /// client invalidates its grants and tokens). Returns whether the client was known.
    async fn delete_client(&self, client_id: &str) -> Result<bool, StoreError>;

    // --- authorization codes (RFC 6749 section 4.1.2, OAuth 2.1 section 4.1.2) ---

    /// Stores a freshly issued code's grant under the code's hash.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] if the hash is already stored.
    async fn put_code(&self, code: TokenHash, grant: AuthorizationGrant) -> Result<(), StoreError>;

    /// Redeems a code: [`CodeRedemption::Fresh`] for exactly one caller, however many race,
    /// after which the code is consumed but kept (until purged after expiry) so that a second
    /// redemption is answered [`CodeRedemption::Replayed`] (OAuth 2.1 section 4.1.3: a code is
    /// used once; RFC 6749 section 10.5).
    async fn take_code(&self, code: TokenHash, now: u64) -> Result<CodeRedemption, StoreError>;

    /// Records the refresh token family the code's redemption issued, so that a later replay
    /// names it. Returns whether the code is still stored.
    async fn set_code_family(&self, code: TokenHash, family: &FamilyId)
    -> Result<bool, StoreError>;

    // --- refresh tokens (OAuth 2.1 section 4.3, RFC 9700 section 4.14.2) ---

    /// Stores the first refresh token of a family (or any token the caller issues outside a
    /// rotation). If the family was revoked beforehand, the token is stored but refused.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] if the hash is already stored.
    async fn put_refresh(&self, token: TokenHash, record: RefreshRecord) -> Result<(), StoreError>;

    /// Redeems the refresh token `old` and stores `new` in its place, atomically.
    ///
    /// Of any number of concurrent calls with the same `old`, exactly one gets
    /// [`Rotation::Rotated`]. The outcomes are checked in this order: [`Rotation::Unknown`],
    /// [`Rotation::Revoked`] (family revoked), [`Rotation::Reused`] (`old` already used: the
    /// store revokes the family in the same transaction), [`Rotation::Expired`], then the
    /// rotation itself.
    ///
    /// The caller should first check, with [`get_refresh`](Store::get_refresh), that `old`
    /// was issued to the authenticated client (RFC 6749 section 6), and build `new_record`
    /// from it.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidRotation`] if `new_record` does not keep the family, client and
    /// subject of `old` (nothing is changed); [`StoreError::Conflict`] if `new` is already
    /// stored.
    async fn rotate_refresh(
        &self,
        old: TokenHash,
        new: TokenHash,
        new_record: RefreshRecord,
        now: u64,
    ) -> Result<Rotation, StoreError>;

    /// A refresh token and its state, used or not, revoked or not, for introspection
    /// (RFC 7662) and for checking who it was issued to.
    async fn get_refresh(&self, token: TokenHash) -> Result<Option<RefreshEntry>, StoreError>;

    /// Revokes a refresh token (RFC 7009) by revoking its family: RFC 7009 section 2.1 asks
    /// that revoking a refresh token also invalidate the access tokens of the same grant, and
    /// in a rotated family every other token is already used. Returns the family, or `None`
    /// for an unknown token (which RFC 7009 section 2.2 answers like a success).
    async fn revoke_refresh(&self, token: TokenHash) -> Result<Option<FamilyId>, StoreError>;

    /// Revokes a family: none of its refresh tokens, present or future, can be redeemed.
    /// Revoking a family not stored yet is remembered, for a replayed code racing its first
    /// redemption.
    async fn revoke_family(&self, family: &FamilyId) -> Result<(), StoreError>;

    /// Whether the family is revoked; introspection checks it for access tokens that name
    /// their family.
    async fn is_family_revoked(&self, family: &FamilyId) -> Result<bool, StoreError>;

    // --- consents ---

    /// Records that `subject` granted `client_id` these scopes, replacing an earlier consent.
    async fn put_consent(
        &self,
        subject: &str,
        client_id: &str,
        scopes: &Scopes,
    ) -> Result<(), StoreError>;

    /// The scopes `subject` granted `client_id`, if any.
    async fn get_consent(
        &self,
        subject: &str,
        client_id: &str,
    ) -> Result<Option<Scopes>, StoreError>;

    // --- signing keys ---

    /// Stores a new signing key.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] if the `kid` is taken: reusing a `kid` for another key would
    /// make outstanding tokens unverifiable.
    async fn put_signing_key(&self, key: SigningKeyRecord) -> Result<(), StoreError>;

    /// Every stored signing key, oldest first (by `created_at`, then `kid`).
    async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;

    /// Sets a key's `not_after`. Returns whether the key exists.
    async fn retire_signing_key(&self, kid: &str, not_after: u64) -> Result<bool, StoreError>;

    // --- housekeeping ---

    /// Deletes what has expired at `now` and is no longer needed: see [`PurgeCounts`] for
    /// what. Consumed codes and used refresh tokens are kept until then, to detect replays.
    /// Families revoked before any of their tokens was stored have no expiry and are kept.
    async fn purge_expired(&self, now: u64) -> Result<PurgeCounts, StoreError>;
}
