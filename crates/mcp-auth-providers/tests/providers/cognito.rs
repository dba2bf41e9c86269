//! The Cognito preset: access tokens without `aud`, `token_use`, `cognito:groups`.

use std::sync::Arc;

use mcp_auth_core::{InvalidTokenReason, TokenValidator};
use mcp_auth_providers::presets::cognito::{Cognito, TokenUse};
use mcp_auth_testkit::oidc::OidcProvider;
use mcp_auth_testkit::oidc::vendor::{
    COGNITO_CLIENT_ID, COGNITO_GROUPS, COGNITO_SUBJECT, COGNITO_USERNAME, USER_EMAIL,
};
use serde_json::json;

use crate::support::{
    KEYS_WITH_WEAK, assert_hostile_tokens_refused, assert_refused, assert_rotation,
    assert_unknown_kid_refetches_once, assert_weak_key_dropped, options, validate,
};

async fn cognito(idp: &OidcProvider, token_use: TokenUse) -> Arc<dyn TokenValidator> {
    Cognito::with_issuer(idp.cognito_issuer(), COGNITO_CLIENT_ID)
        .token_use(token_use)
        .options(options())
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn cognito_access_token_maps_scope_groups_and_username() {
    let idp = OidcProvider::start().await;
    let v = cognito(&idp, TokenUse::Access).await;
    let p = validate(&*v, &idp.cognito_access().sign()).await.unwrap();
    assert_eq!(p.subject(), COGNITO_SUBJECT);
    assert_eq!(p.scopes().to_string(), "email mcp-api/tools.read openid");
    assert_eq!(p.client_id(), Some(COGNITO_CLIENT_ID));
    assert_eq!(p.groups(), COGNITO_GROUPS);
    assert_eq!(p.username(), COGNITO_USERNAME);
    assert_eq!(p.issuer(), Some(idp.cognito_issuer().as_str()));
}

#[tokio::test]
async fn cognito_access_token_has_no_aud_checks_client_id() {
    let idp = OidcProvider::start().await;
    let v = cognito(&idp, TokenUse::Access).await;
    let access = idp.cognito_access();
    assert!(access.claims_json().get("aud").is_none());
    validate(&*v, &access.clone().sign()).await.unwrap();
    assert_refused!(
        validate(
            &*v,
            &access
                .clone()
                .set("client_id", json!("another-client"))
                .sign()
        )
        .await,
        InvalidTokenReason::Audience
    );
    assert_refused!(
        validate(&*v, &access.clone().remove("client_id").sign()).await,
        InvalidTokenReason::Audience
    );
    // Another app client, once allowed, is accepted.
    let two = Cognito::with_issuer(idp.cognito_issuer(), "another-client")
        .also_client(COGNITO_CLIENT_ID)
        .options(options())
        .build()
        .await
        .unwrap();
    validate(&*two, &access.sign()).await.unwrap();
}

#[tokio::test]
async fn cognito_id_token_refused_unless_token_use_id() {
    let idp = OidcProvider::start().await;
    let access_only = cognito(&idp, TokenUse::Access).await;
    let id = idp.cognito_id().sign();
    assert_refused!(
        validate(&*access_only, &id).await,
        InvalidTokenReason::WrongTokenType
    );

    let ids = cognito(&idp, TokenUse::Id).await;
    let p = validate(&*ids, &id).await.unwrap();
    assert_eq!(p.username(), COGNITO_USERNAME);
    assert_eq!(p.email(), Some(USER_EMAIL));
    assert_eq!(p.groups(), COGNITO_GROUPS);
    // TokenUse::Id refuses access tokens.
    assert_refused!(
        validate(&*ids, &idp.cognito_access().sign()).await,
        InvalidTokenReason::WrongTokenType
    );
    // An ID token for another app client.
    assert_refused!(
        validate(&*ids, &idp.cognito_id().audience("another-client").sign()).await,
        InvalidTokenReason::Audience
    );

    let both = cognito(&idp, TokenUse::Both).await;
    validate(&*both, &id).await.unwrap();
    validate(&*both, &idp.cognito_access().sign())
        .await
        .unwrap();
}

#[tokio::test]
async fn cognito_missing_token_use_is_refused() {
    let idp = OidcProvider::start().await;
    let v = cognito(&idp, TokenUse::Both).await;
    assert_refused!(
        validate(&*v, &idp.cognito_access().remove("token_use").sign()).await,
        InvalidTokenReason::MissingClaim("token_use")
    );
    assert_refused!(
        validate(
            &*v,
            &idp.cognito_access()
                .set("token_use", json!("refresh"))
                .sign()
        )
        .await,
        InvalidTokenReason::WrongTokenType
    );
}

#[tokio::test]
async fn cognito_refuses_another_pool() {
    let idp = OidcProvider::start().await;
    let v = cognito(&idp, TokenUse::Access).await;
    let other_pool = idp.add_issuer("/us-east-1_Zz999zzZz");
    assert_refused!(
        validate(&*v, &idp.cognito_access().issuer(&other_pool).sign()).await,
        InvalidTokenReason::Issuer
    );
}

#[tokio::test]
async fn cognito_refuses_hostile_tokens() {
    let idp = OidcProvider::start().await;
    idp.set_keys(KEYS_WITH_WEAK);
    let v = cognito(&idp, TokenUse::Access).await;
    assert_hostile_tokens_refused(&*v, &idp.cognito_access()).await;
    assert_weak_key_dropped(&idp, &idp.cognito_issuer(), &*v, &idp.cognito_access()).await;
}

#[tokio::test]
async fn cognito_unknown_kid_refetches_once() {
    let idp = OidcProvider::start().await;
    let v = cognito(&idp, TokenUse::Access).await;
    assert_unknown_kid_refetches_once(&idp, &*v, &idp.cognito_access()).await;
}

#[tokio::test]
async fn cognito_rotated_key_is_refused() {
    let idp = OidcProvider::start().await;
    let v = cognito(&idp, TokenUse::Access).await;
    assert_rotation(&idp, &*v, &idp.cognito_access()).await;
}
