//! Tokens the authorization server issues.
//!
//! - [`access`]: JWT access tokens (RFC 9068), signed with the server's
//!   [`SigningKeys`](crate::keys::SigningKeys) and verifiable by any resource server that
//!   reads the JWKS.
//! - [`endpoint`]: the token endpoint ([`token_endpoint`]) and the dependencies it shares with
//!   revocation and introspection ([`TokenDeps`]).
//! - [`client_auth`]: client authentication at those endpoints ([`authenticate_client`]).

pub mod access;
pub mod client_auth;
pub mod endpoint;

pub use access::{
    AccessTokenClaims, AccessTokenIssuer, DEFAULT_ACCESS_TOKEN_LIFETIME, MintedAccessToken,
};
pub use client_auth::{AuthenticatedClient, ClientAuthError, authenticate_client};
pub use endpoint::{
    DEFAULT_REFRESH_FAMILY_LIFETIME, DEFAULT_REFRESH_TOKEN_LIFETIME, TokenDeps, token_endpoint,
};
