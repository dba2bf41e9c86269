//! Authorization codes (RFC 6749 section 4.1.2, OAuth 2.1 section 4.1.2): single use, short-lived,
//! bound to everything the token request must match.

use mcp_auth_core::Scopes;

use super::FamilyId;

/// What an authorization code stands for: the grant the token endpoint turns into tokens.
///
/// Stored under the code's [`TokenHash`](super::TokenHash); the code itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationGrant {
    /// The client the code was issued to; the token request must come from it (RFC 6749
    /// section 4.1.3).
    pub client_id: String,
    /// The `redirect_uri` of the authorization request, which the token request must repeat
    /// (RFC 6749 section 4.1.3).
    pub redirect_uri: String,
    /// The PKCE `code_challenge` (method `S256`, RFC 7636 section 4.2; OAuth 2.1 requires PKCE).
    pub code_challenge: String,
    /// The resource indicator (RFC 8707) the tokens will be audience-restricted to.
    pub resource: Option<String>,
    /// The scopes granted.
    pub scopes: Scopes,
    /// The resource owner who authorized the client.
    pub subject: String,
    /// When the code stops being redeemable (unix seconds). OAuth 2.1 section 4.1.2 recommends
    /// a lifetime of at most 60 seconds (RFC 6749 section 4.1.2 allows 10 minutes).
    pub expires_at: u64,
    /// The refresh token family the code's redemption issues. Choosing it when the code is
    /// issued means a replay can always name what to revoke, even one racing the first
    /// redemption; otherwise [`Store::set_code_family`](super::Store::set_code_family) records
    /// it after the fact.
    pub issued_family: Option<FamilyId>,
}

/// The outcome of [`Store::take_code`](super::Store::take_code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First redemption: the grant, now consumed. The store keeps the consumed code until it
    /// expires so a second redemption is recognised.
    Fresh(AuthorizationGrant),
    /// The code was already redeemed. The request must be refused and what the first
    /// redemption issued revoked: OAuth 2.1 section 4.1.3, RFC 6749 section 10.5. `family`
    /// names the refresh token family to revoke, if known.
    ///
    /// A consumed code is reported as replayed even after its expiry, for as long as the store
    /// still holds it: a replay is a sign of a leaked code whatever the clock says.
    Replayed {
        /// The refresh token family the first redemption issued.
        family: Option<FamilyId>,
    },
    /// The code was never redeemed and has expired.
    Expired,
    /// No such code (never issued, or purged).
    Unknown,
}
