//! Clients of the authorization server: which redirect URIs they may use, how they register
//! (RFC 7591) or are preconfigured, and how clients identified by a metadata document URL are
//! resolved.
//!
//! | module | what |
//! |---|---|
//! | [`redirect`] | [`RedirectUri`](redirect::RedirectUri) validation and matching (OAuth 2.1, RFC 8252) |
//! | [`registration`] | dynamic registration ([`register`](registration::register)) and [`PreconfiguredClient`](registration::PreconfiguredClient) |
//! | [`cimd`] | client ID metadata documents ([`CimdResolver`](cimd::CimdResolver)), feature `cimd` |
//!
//! Each produces a [`ClientRecord`](crate::store::ClientRecord) to keep in the
//! [`Store`](crate::store::Store) (or, for metadata documents, to use as is: the resolver
//! caches them itself).

#[cfg(feature = "cimd")]
pub mod cimd;
pub mod redirect;
pub mod registration;
