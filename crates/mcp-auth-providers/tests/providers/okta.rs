//! The Okta preset against Okta-shaped tokens.

use std::sync::Arc;

use mcp_auth_core::{InvalidTokenReason, TokenValidator};
use mcp_auth_providers::Algorithm;
use mcp_auth_providers::presets::okta::{AuthorizationServer, Okta};
use mcp_auth_testkit::oidc::vendor::{OKTA_AUDIENCE, OKTA_CLIENT_ID, OKTA_USER_ID, USER_EMAIL};
use mcp_auth_testkit::oidc::{OidcProvider, TestKey};
use serde_json::json;

use crate::support::{
    KEYS_WITH_WEAK, assert_hostile_tokens_refused, assert_refused, assert_rotation,
    assert_unknown_kid_refetches_once, assert_weak_key_dropped, options, validate,
};

async fn okta(idp: &OidcProvider) -> Arc<dyn TokenValidator> {
    Okta::new(idp.base_url(), OKTA_AUDIENCE)
        .options(options())
        .build()
        .await
        .unwrap()
}

#[tokio::test]
async fn okta_access_token_maps_cid_scp_array_and_groups() {
    let idp = OidcProvider::start().await;
    let v = okta(&idp).await;
    let token = idp
        .okta()
        .set("groups", json!(["Everyone", "mcp-admins"]))
        .sign();
    let p = validate(&*v, &token).await.unwrap();
    assert_eq!(p.subject(), USER_EMAIL);
    assert_eq!(p.issuer(), Some(idp.okta_issuer().as_str()));
    assert_eq!(p.scopes().to_string(), "email mcp:tools openid");
    assert_eq!(p.client_id(), Some(OKTA_CLIENT_ID));
    assert_eq!(p.groups(), ["Everyone", "mcp-admins"]);
    assert_eq!(p.username(), USER_EMAIL);
    assert_eq!(p.claim("uid"), Some(&json!(OKTA_USER_ID)));
    assert_eq!(p.audiences(), [OKTA_AUDIENCE]);
}

#[tokio::test]
async fn okta_accepts_rs_ps_es_and_eddsa_keys() {
    let idp = OidcProvider::start().await;
    // The RSA key published without `alg` (as Entra ID publishes its keys) verifies RS* and PS*.
    let mut jwks = TestKey::jwks(&[TestKey::P256, TestKey::P384, TestKey::Ed25519]);
    jwks["keys"]
        .as_array_mut()
        .unwrap()
        .push(TestKey::Rsa.jwk_with_alg(None));
    idp.set_jwks(jwks);
    let v = okta(&idp).await;
    for (key, alg) in [
        (TestKey::Rsa, Algorithm::RS256),
        (TestKey::Rsa, Algorithm::RS512),
        (TestKey::Rsa, Algorithm::PS256),
        (TestKey::Rsa, Algorithm::PS384),
        (TestKey::P256, Algorithm::ES256),
        (TestKey::P384, Algorithm::ES384),
        (TestKey::Ed25519, Algorithm::EdDSA),
    ] {
        let token = idp.okta().key(key).alg(alg).sign();
        let p = validate(&*v, &token)
            .await
            .unwrap_or_else(|e| panic!("{key:?} {alg:?}: {e:?}"));
        assert_eq!(p.client_id(), Some(OKTA_CLIENT_ID));
    }
}

#[tokio::test]
async fn okta_id_token_is_refused() {
    let idp = OidcProvider::start().await;
    let v = okta(&idp).await;
    // As issued, its aud is the client id, not the API.
    assert_refused!(
        validate(&*v, &idp.okta_id_token().sign()).await,
        InvalidTokenReason::Audience
    );
    // Even with the API as aud: no `cid`, so not an access token.
    let id = idp.okta_id_token().audience(OKTA_AUDIENCE).sign();
    assert_refused!(validate(&*v, &id).await, InvalidTokenReason::WrongTokenType);
    // Unless asked for.
    let lenient = Okta::new(idp.base_url(), OKTA_AUDIENCE)
        .accept_id_tokens()
        .options(options())
        .build()
        .await
        .unwrap();
    assert_eq!(
        validate(&*lenient, &id).await.unwrap().subject(),
        OKTA_USER_ID
    );
}

#[tokio::test]
async fn okta_refuses_another_audience() {
    let idp = OidcProvider::start().await;
    let v = okta(&idp).await;
    assert_refused!(
        validate(&*v, &idp.okta().audience("api://other").sign()).await,
        InvalidTokenReason::Audience
    );
}

#[tokio::test]
async fn okta_allowed_client_ids() {
    let idp = OidcProvider::start().await;
    let only_other = Okta::new(idp.base_url(), OKTA_AUDIENCE)
        .allowed_client_ids(vec!["0oaOtherClient".to_owned()])
        .options(options())
        .build()
        .await
        .unwrap();
    assert_refused!(
        validate(&*only_other, &idp.okta().sign()).await,
        InvalidTokenReason::Audience
    );
    let ours = Okta::new(idp.base_url(), OKTA_AUDIENCE)
        .allowed_client_ids(vec!["0oaOtherClient".to_owned(), OKTA_CLIENT_ID.to_owned()])
        .options(options())
        .build()
        .await
        .unwrap();
    validate(&*ours, &idp.okta().sign()).await.unwrap();
}

#[tokio::test]
async fn okta_custom_authorization_server_issuer() {
    let idp = OidcProvider::start().await;
    let preset = Okta::new(format!("{}/", idp.base_url()), OKTA_AUDIENCE);
    assert_eq!(preset.issuer(), idp.okta_issuer());
    let v = preset.options(options()).build().await.unwrap();
    validate(&*v, &idp.okta().sign()).await.unwrap();

    // Another custom authorization server of the same org.
    let other = idp.add_issuer("/oauth2/aus9o8wzkhckw9TLa0h7");
    let other_token = idp.okta().issuer(&other).sign();
    assert_refused!(
        validate(&*v, &other_token).await,
        InvalidTokenReason::Issuer
    );
    let v_other = Okta::new(idp.base_url(), OKTA_AUDIENCE)
        .authorization_server(AuthorizationServer::Custom("aus9o8wzkhckw9TLa0h7".into()))
        .options(options())
        .build()
        .await
        .unwrap();
    validate(&*v_other, &other_token).await.unwrap();
    assert_refused!(
        validate(&*v_other, &idp.okta().sign()).await,
        InvalidTokenReason::Issuer
    );
}

#[tokio::test]
async fn okta_org_server_token_is_refused_by_the_custom_server_preset() {
    let idp = OidcProvider::start().await;
    let v = okta(&idp).await;
    // As issued its aud is the org itself.
    assert_refused!(
        validate(&*v, &idp.okta_org().sign()).await,
        InvalidTokenReason::Audience
    );
    // Same keys, our audience: the issuer gives it away.
    let org = idp.okta_org().audience(OKTA_AUDIENCE).sign();
    assert_refused!(validate(&*v, &org).await, InvalidTokenReason::Issuer);
    // The org preset accepts org tokens.
    let org_preset = Okta::new(idp.base_url(), idp.base_url())
        .authorization_server(AuthorizationServer::Org)
        .options(options())
        .build()
        .await
        .unwrap();
    validate(&*org_preset, &idp.okta_org().sign())
        .await
        .unwrap();
}

#[tokio::test]
async fn okta_refuses_hostile_tokens() {
    let idp = OidcProvider::start().await;
    idp.set_keys(KEYS_WITH_WEAK);
    let v = okta(&idp).await;
    assert_hostile_tokens_refused(&*v, &idp.okta()).await;
    assert_weak_key_dropped(&idp, &idp.okta_issuer(), &*v, &idp.okta()).await;
}

#[tokio::test]
async fn okta_unknown_kid_refetches_once() {
    let idp = OidcProvider::start().await;
    let v = okta(&idp).await;
    assert_unknown_kid_refetches_once(&idp, &*v, &idp.okta()).await;
}

#[tokio::test]
async fn okta_rotated_key_is_refused() {
    let idp = OidcProvider::start().await;
    let v = okta(&idp).await;
    assert_rotation(&idp, &*v, &idp.okta()).await;
}
