//! Integration tests of the OIDC providers (feature `oidc`): every preset, the remote key set,
//! discovery, RFC 7662 introspection and the multi-issuer router, each run over real HTTP
//! against the testkit's OpenID Connect provider on 127.0.0.1.

#![cfg(feature = "oidc")]
#![allow(clippy::unwrap_used, reason = "tests")]

mod support;

mod azure;
mod cognito;
mod discovery;
mod generic;
mod google;
mod introspection;
mod key_set;
mod multi_issuer;
mod okta;
