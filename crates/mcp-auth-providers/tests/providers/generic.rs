//! The generic issuer (`oidc::Issuer::validator`): any OpenID Connect provider.

use mcp_auth_core::InvalidTokenReason;
use mcp_auth_providers::Algorithm;
use mcp_auth_providers::jwt::ClaimsPolicy;
use mcp_auth_providers::oidc::Issuer;
use mcp_auth_testkit::oidc::{DEFAULT_AUDIENCE, OidcProvider, TestKey};
use serde_json::json;

use crate::support::{
    KEYS_WITH_WEAK, assert_hostile_tokens_refused, assert_refused, assert_rotation,
    assert_unknown_kid_refetches_once, assert_weak_key_dropped, options, validate,
};

#[tokio::test]
async fn generic_issuer_accepts_rs256_es256_es384_and_eddsa() {
    let idp = OidcProvider::start().await;
    let v = Issuer::discover(&idp.issuer(), options())
        .await
        .unwrap()
        .validator(DEFAULT_AUDIENCE);
    for key in [TestKey::Rsa, TestKey::P256, TestKey::P384, TestKey::Ed25519] {
        let token = idp.jwt().key(key).scope("mcp:tools mcp:read").sign();
        let p = validate(&*v, &token)
            .await
            .unwrap_or_else(|e| panic!("{key:?}: {e:?}"));
        assert_eq!(p.subject(), "user-1");
        assert_eq!(p.issuer(), Some(idp.issuer().as_str()));
        assert_eq!(p.scopes().to_string(), "mcp:read mcp:tools");
    }
    // No kid: the keys allowing the algorithm are tried.
    validate(&*v, &idp.jwt().no_kid().sign()).await.unwrap();
    validate(&*v, &idp.jwt().key(TestKey::P256).no_kid().sign())
        .await
        .unwrap();
    // RS384/RS512 with a key that pins RS256: refused.
    assert_refused!(
        validate(&*v, &idp.jwt().alg(Algorithm::RS512).sign()).await,
        InvalidTokenReason::DisallowedAlgorithm
    );
}

#[tokio::test]
async fn generic_issuer_refuses_id_tokens_unless_typed_at_jwt() {
    let idp = OidcProvider::start().await;
    let v = Issuer::discover(&idp.issuer(), options())
        .await
        .unwrap()
        .validator(DEFAULT_AUDIENCE);
    for marker in ["nonce", "at_hash", "c_hash"] {
        let id = idp.jwt().set(marker, json!("x")).sign();
        assert_refused!(validate(&*v, &id).await, InvalidTokenReason::WrongTokenType);
    }
    // RFC 9068 access tokens say so in typ.
    let typed = idp.jwt().set("nonce", json!("x")).typ("at+jwt").sign();
    validate(&*v, &typed).await.unwrap();
}

#[tokio::test]
async fn generic_issuer_checks_issuer_audience_and_expiry() {
    let idp = OidcProvider::start().await;
    let issuer = Issuer::discover(&idp.issuer(), options()).await.unwrap();
    let v = issuer.validator(DEFAULT_AUDIENCE);
    assert_refused!(
        validate(&*v, &idp.jwt().issuer("https://other.example").sign()).await,
        InvalidTokenReason::Issuer
    );
    assert_refused!(
        validate(&*v, &idp.jwt().audience("https://other.example/mcp").sign()).await,
        InvalidTokenReason::Audience
    );
    assert_refused!(
        validate(&*v, &idp.jwt().exp_in(-3600).sign()).await,
        InvalidTokenReason::Expired
    );
    assert_refused!(
        validate(&*v, &idp.jwt().remove("aud").sign()).await,
        InvalidTokenReason::MissingClaim("aud")
    );
    // A second audience through the policy.
    let both = issuer.jwt_validator(
        ClaimsPolicy::new("https://other.example/mcp").also_accept_audience(DEFAULT_AUDIENCE),
    );
    validate(&both, &idp.jwt().sign()).await.unwrap();
}

#[tokio::test]
async fn generic_issuer_refuses_hostile_tokens() {
    let idp = OidcProvider::start().await;
    idp.set_keys(KEYS_WITH_WEAK);
    let v = Issuer::discover(&idp.issuer(), options())
        .await
        .unwrap()
        .validator(DEFAULT_AUDIENCE);
    assert_hostile_tokens_refused(&*v, &idp.jwt()).await;
    assert_weak_key_dropped(&idp, &idp.issuer(), &*v, &idp.jwt()).await;
}

#[tokio::test]
async fn generic_unknown_kid_refetches_once() {
    let idp = OidcProvider::start().await;
    let v = Issuer::discover(&idp.issuer(), options())
        .await
        .unwrap()
        .validator(DEFAULT_AUDIENCE);
    assert_unknown_kid_refetches_once(&idp, &*v, &idp.jwt()).await;
}

#[tokio::test]
async fn generic_rotated_key_is_refused() {
    let idp = OidcProvider::start().await;
    let v = Issuer::discover(&idp.issuer(), options())
        .await
        .unwrap()
        .validator(DEFAULT_AUDIENCE);
    assert_rotation(&idp, &*v, &idp.jwt()).await;
}

#[tokio::test]
async fn generic_issuer_refuses_malformed_tokens() {
    let idp = OidcProvider::start().await;
    let v = Issuer::discover(&idp.issuer(), options())
        .await
        .unwrap()
        .validator(DEFAULT_AUDIENCE);
    let crit = idp
        .jwt()
        .header_param("crit", json!(["exp"]))
        .header_param("exp", json!(1))
        .sign();
    assert_refused!(
        validate(&*v, &crit).await,
        InvalidTokenReason::CriticalHeader
    );
    let good = idp.jwt().sign();
    assert_refused!(
        validate(&*v, &format!("{good}.e30.e30")).await,
        InvalidTokenReason::Malformed
    );
    let long = idp.jwt().set("padding", json!("x".repeat(9 * 1024))).sign();
    assert_refused!(validate(&*v, &long).await, InvalidTokenReason::TooLong);
    assert_refused!(
        validate(&*v, "not.a.jwt").await,
        InvalidTokenReason::Malformed
    );
}
