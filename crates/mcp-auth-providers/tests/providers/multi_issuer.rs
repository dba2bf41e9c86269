//! Several issuers behind one resource, each with its own keys.

use std::sync::Arc;

use mcp_auth_core::{InvalidTokenReason, TokenValidator};
use mcp_auth_providers::multi_issuer::MultiIssuer;
use mcp_auth_providers::oidc::Issuer;
use mcp_auth_testkit::oidc::{DEFAULT_AUDIENCE, OidcProvider, TestKey};

use crate::support::{assert_refused, options, validate, wait_out_cooldown};

struct Setup {
    idp: OidcProvider,
    a: String,
    b: String,
    router: Arc<dyn TokenValidator>,
}

/// Issuer A publishes the RSA key; issuer B the rotated RSA key and P-256.
async fn setup() -> Setup {
    let idp = OidcProvider::start().await;
    let a = idp.add_issuer("/tenant-a");
    let b = idp.add_issuer("/tenant-b");
    idp.set_issuer_keys(&a, &[TestKey::Rsa]);
    idp.set_issuer_keys(&b, &[TestKey::RsaRotated, TestKey::P256]);
    let va = Issuer::discover(&a, options())
        .await
        .unwrap()
        .validator(DEFAULT_AUDIENCE);
    let vb = Issuer::discover(&b, options())
        .await
        .unwrap()
        .validator(DEFAULT_AUDIENCE);
    let router: Arc<dyn TokenValidator> = Arc::new(
        MultiIssuer::new()
            .issuer(a.clone(), va)
            .issuer(b.clone(), vb),
    );
    Setup { idp, a, b, router }
}

#[tokio::test]
async fn multi_issuer_accepts_each_issuers_own_tokens() {
    let Setup { idp, a, b, router } = setup().await;
    let p = validate(&*router, &idp.jwt().issuer(&a).sign())
        .await
        .unwrap();
    assert_eq!(p.issuer(), Some(a.as_str()));
    let p = validate(
        &*router,
        &idp.jwt().issuer(&b).key(TestKey::RsaRotated).sign(),
    )
    .await
    .unwrap();
    assert_eq!(p.issuer(), Some(b.as_str()));
    validate(&*router, &idp.jwt().issuer(&b).key(TestKey::P256).sign())
        .await
        .unwrap();
}

#[tokio::test]
async fn multi_issuer_refuses_a_token_signed_with_another_issuers_key() {
    let Setup { idp, a, b, router } = setup().await;
    wait_out_cooldown().await;
    // Claims A, signed with B's key under B's kid: A has no such key (after a refetch).
    assert_refused!(
        validate(
            &*router,
            &idp.jwt().issuer(&a).key(TestKey::RsaRotated).sign()
        )
        .await,
        InvalidTokenReason::UnknownKey
    );
    assert_refused!(
        validate(&*router, &idp.jwt().issuer(&a).key(TestKey::P256).sign()).await,
        InvalidTokenReason::UnknownKey
    );
    // Claims A, signed with B's key under A's kid.
    let forged = idp
        .jwt()
        .issuer(&a)
        .key(TestKey::RsaRotated)
        .kid(TestKey::Rsa.kid())
        .sign();
    assert_refused!(
        validate(&*router, &forged).await,
        InvalidTokenReason::BadSignature
    );
    // Claims B, signed with A's key.
    assert_refused!(
        validate(&*router, &idp.jwt().issuer(&b).sign()).await,
        InvalidTokenReason::UnknownKey
    );
}

#[tokio::test]
async fn multi_issuer_unknown_issuer_is_refused() {
    let Setup { idp, router, .. } = setup().await;
    assert_refused!(
        validate(&*router, &idp.jwt().sign()).await,
        InvalidTokenReason::Issuer
    );
    assert_refused!(
        validate(&*router, &idp.jwt().issuer("https://evil.example").sign()).await,
        InvalidTokenReason::Issuer
    );
    assert_refused!(
        validate(&*router, &idp.jwt().remove("iss").sign()).await,
        InvalidTokenReason::MissingClaim("iss")
    );
    assert_refused!(
        validate(&*router, "not-a-jwt").await,
        InvalidTokenReason::Malformed
    );
}
