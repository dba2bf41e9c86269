//! Refresh tokens (OAuth 2.1 section 4.3, RFC 6749 section 6), rotated on every use.
//!
//! Every refresh token belongs to a family: the chain of tokens descending from one authorization
//! grant. Redeeming a token marks it used and stores its successor in the same family. Presenting
//! a used token again means two parties hold the chain, one of them an attacker, so the whole
//! family is revoked (OAuth 2.1 section 4.3.1, RFC 9700 section 4.14.2). Revocation is a flag on
//! the family rather than on each token, so tokens stored after it, such as the successor a
//! racing rotation is writing, are refused too.

use std::fmt;

use mcp_auth_core::Scopes;
use serde::{Deserialize, Serialize};

/// The identifier of a refresh token family: one per authorization grant.
///
/// Not a secret: it names the family in storage and may be carried in access tokens, so that
/// revoking the family can be checked at introspection.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FamilyId(String);

impl FamilyId {
    /// Wraps an identifier, such as a random string generated when the grant is made.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FamilyId({})", self.0)
    }
}

/// What a refresh token stands for. Stored under the token's
/// [`TokenHash`](super::TokenHash); the token itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// The family (grant) the token belongs to.
    pub family: FamilyId,
    /// The client the token was issued to; only it may redeem it (RFC 6749 section 6).
    pub client_id: String,
    /// The resource owner.
    pub subject: String,
    /// The scopes the token may obtain; a refresh may ask for fewer (RFC 6749 section 6).
    pub scopes: Scopes,
    /// The resource indicator (RFC 8707) of the grant.
    pub resource: Option<String>,
    /// When this token stops being redeemable (unix seconds).
    pub expires_at: u64,
    /// When the whole family stops being redeemable (unix seconds): the grant's absolute
    /// lifetime, which rotation does not extend.
    pub family_expires_at: u64,
}

impl RefreshRecord {
    /// Whether the token has expired at `now`, by its own or its family's lifetime.
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires_at.min(self.family_expires_at) <= now
    }

    /// Whether `next` may replace this token in a rotation: it keeps the family, the client
    /// and the subject.
    pub fn can_rotate_to(&self, next: &RefreshRecord) -> bool {
        self.family == next.family
            && self.client_id == next.client_id
            && self.subject == next.subject
    }
}

/// A stored refresh token and its state, as [`Store::get_refresh`](super::Store::get_refresh)
/// reports it (for token introspection, RFC 7662, and revocation, RFC 7009).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshEntry {
    /// The token's record.
    pub record: RefreshRecord,
    /// Whether the token was already rotated away (redeemed).
    pub used: bool,
    /// Whether its family has been revoked.
    pub family_revoked: bool,
}

impl RefreshEntry {
    /// Whether the token could be redeemed at `now`: not used, family not revoked, not
    /// expired. This is `active` in the sense of RFC 7662 section 2.2.
    pub fn is_active(&self, now: u64) -> bool {
        !self.used && !self.family_revoked && !self.record.is_expired(now)
    }
}

/// The outcome of [`Store::rotate_refresh`](super::Store::rotate_refresh).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The old token was current: it is now used and the new one is stored. Carries the old
    /// token's record.
    Rotated(RefreshRecord),
    /// The old token had already been rotated away: a stolen token is being replayed, or the
    /// legitimate client is presenting one the attacker already used. The store has revoked
    /// the whole family in the same transaction (OAuth 2.1 section 4.3.1, RFC 9700 section
    /// 4.14.2); the request must be refused.
    Reused {
        /// The family now revoked.
        family: FamilyId,
    },
    /// The token's family is revoked.
    Revoked,
    /// The token, or its family, has expired.
    Expired,
    /// No such token (never issued, or purged).
    Unknown,
}
