//! The Google preset: ID tokens verified locally, opaque `ya29.` access tokens via tokeninfo.

use std::sync::Arc;

use mcp_auth_core::{AuthError, InvalidTokenReason, TokenValidator};
use mcp_auth_providers::presets::google::Google;
use mcp_auth_testkit::oidc::vendor::{
    GOOGLE_CLIENT_ID, GOOGLE_HOSTED_DOMAIN, GOOGLE_SUBJECT, USER_EMAIL, google_access_claims,
    google_opaque_token,
};
use mcp_auth_testkit::oidc::{Endpoint, Fault, OidcProvider};
use serde_json::json;

use crate::support::{
    KEYS_WITH_WEAK, assert_hostile_tokens_refused, assert_refused, assert_rotation,
    assert_unknown_kid_refetches_once, assert_weak_key_dropped, options, validate,
};

fn preset(idp: &OidcProvider) -> Google {
    Google::new(GOOGLE_CLIENT_ID)
        .endpoints(idp.google_issuer(), idp.tokeninfo_endpoint())
        .options(options())
}

async fn google(idp: &OidcProvider) -> Arc<dyn TokenValidator> {
    preset(idp).build().await.unwrap()
}

#[tokio::test]
async fn google_id_token_maps_sub_email_and_azp() {
    let idp = OidcProvider::start().await;
    let v = google(&idp).await;
    let p = validate(&*v, &idp.google().sign()).await.unwrap();
    assert_eq!(p.subject(), GOOGLE_SUBJECT);
    assert_eq!(p.email(), Some(USER_EMAIL));
    assert_eq!(p.username(), USER_EMAIL);
    assert_eq!(p.client_id(), Some(GOOGLE_CLIENT_ID));
    assert_eq!(p.audiences(), [GOOGLE_CLIENT_ID]);
}

#[tokio::test]
async fn google_id_token_issuer_with_or_without_scheme() {
    let idp = OidcProvider::start().await;
    let v = google(&idp).await;
    // `https://accounts.google.com` form (here the provider's http base URL).
    let with_scheme = idp.google().issuer(&idp.issuer()).sign();
    validate(&*v, &with_scheme).await.unwrap();
    // `accounts.google.com` form.
    let bare = idp.google().issuer(&idp.host()).sign();
    let p = validate(&*v, &bare).await.unwrap();
    assert_eq!(p.issuer(), Some(idp.host().as_str()));
    // Anything else is not Google.
    let evil = idp
        .google()
        .issuer("https://accounts.google.com.evil.example")
        .sign();
    assert_refused!(validate(&*v, &evil).await, InvalidTokenReason::Issuer);
    let prefixed = idp.google().issuer(&format!("{}/x", idp.issuer())).sign();
    assert_refused!(validate(&*v, &prefixed).await, InvalidTokenReason::Issuer);
}

#[tokio::test]
async fn google_id_token_for_another_client_is_refused() {
    let idp = OidcProvider::start().await;
    let v = google(&idp).await;
    let other = idp
        .google()
        .audience("999-other.apps.googleusercontent.com")
        .sign();
    assert_refused!(validate(&*v, &other).await, InvalidTokenReason::Audience);
}

#[tokio::test]
async fn google_hosted_domain_restricts_hd() {
    let idp = OidcProvider::start().await;
    let ours = preset(&idp)
        .hosted_domain(GOOGLE_HOSTED_DOMAIN)
        .build()
        .await
        .unwrap();
    validate(&*ours, &idp.google().sign()).await.unwrap();
    assert_refused!(
        validate(&*ours, &idp.google().remove("hd").sign()).await,
        InvalidTokenReason::Audience
    );
    let theirs = preset(&idp)
        .hosted_domain("other.example")
        .build()
        .await
        .unwrap();
    assert_refused!(
        validate(&*theirs, &idp.google().sign()).await,
        InvalidTokenReason::Audience
    );
    // Opaque access tokens: the domain of the account's email.
    let opaque = idp.google_access_token();
    assert_eq!(
        validate(&*ours, &opaque).await.unwrap().email(),
        Some(USER_EMAIL)
    );
    assert_refused!(
        validate(&*theirs, &opaque).await,
        InvalidTokenReason::Audience
    );
}

#[tokio::test]
async fn google_opaque_access_token_via_tokeninfo() {
    let idp = OidcProvider::start().await;
    let v = google(&idp).await;
    let token = idp.google_access_token();
    assert!(token.starts_with("ya29."));
    let p = validate(&*v, &token).await.unwrap();
    assert_eq!(p.subject(), GOOGLE_SUBJECT);
    assert_eq!(p.email(), Some(USER_EMAIL));
    assert_eq!(p.client_id(), Some(GOOGLE_CLIENT_ID));
    assert_eq!(
        p.scopes().to_string(),
        "https://www.googleapis.com/auth/userinfo.email openid"
    );
    assert_eq!(idp.fetches(Endpoint::TokenInfo), 1);
    assert_eq!(idp.fetches(Endpoint::Jwks), 1, "opaque tokens need no keys");
}

#[tokio::test]
async fn google_opaque_token_for_another_client_is_refused() {
    let idp = OidcProvider::start().await;
    let v = google(&idp).await;
    let mut claims = google_access_claims();
    claims["aud"] = json!("999-other.apps.googleusercontent.com");
    claims["azp"] = json!("999-other.apps.googleusercontent.com");
    let other = google_opaque_token();
    idp.register_token(&other, claims);
    assert_refused!(validate(&*v, &other).await, InvalidTokenReason::Audience);
    // Our aud, another azp.
    let mut claims = google_access_claims();
    claims["azp"] = json!("999-other.apps.googleusercontent.com");
    let mixed = google_opaque_token();
    idp.register_token(&mixed, claims);
    assert_refused!(validate(&*v, &mixed).await, InvalidTokenReason::Audience);
}

#[tokio::test]
async fn google_unknown_opaque_token_is_inactive() {
    let idp = OidcProvider::start().await;
    let v = google(&idp).await;
    assert_refused!(
        validate(&*v, &google_opaque_token()).await,
        InvalidTokenReason::Inactive
    );
    // Revoked.
    let token = idp.google_access_token();
    idp.revoke_token(&token);
    assert_refused!(validate(&*v, &token).await, InvalidTokenReason::Inactive);
}

#[tokio::test]
async fn google_tokeninfo_answer_is_cached() {
    let idp = OidcProvider::start().await;
    let v = google(&idp).await;
    let token = idp.google_access_token();
    validate(&*v, &token).await.unwrap();
    assert_eq!(idp.fetches(Endpoint::TokenInfo), 1);
    validate(&*v, &token).await.unwrap();
    assert_eq!(idp.fetches(Endpoint::TokenInfo), 1, "served from the cache");
    // Refusals are not cached.
    let unknown = google_opaque_token();
    assert!(validate(&*v, &unknown).await.is_err());
    assert!(validate(&*v, &unknown).await.is_err());
    assert_eq!(idp.fetches(Endpoint::TokenInfo), 3);
}

#[tokio::test]
async fn google_tokeninfo_down_is_unavailable() {
    let idp = OidcProvider::start().await;
    let v = google(&idp).await;
    idp.set_fault_on(Endpoint::TokenInfo, Fault::Down);
    let err = validate(&*v, &idp.google_access_token()).await.unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::Unavailable {
                retry_after: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn google_refuses_hostile_tokens() {
    let idp = OidcProvider::start().await;
    idp.set_keys(KEYS_WITH_WEAK);
    let v = google(&idp).await;
    assert_hostile_tokens_refused(&*v, &idp.google()).await;
    assert_weak_key_dropped(&idp, &idp.google_issuer(), &*v, &idp.google()).await;
}

#[tokio::test]
async fn google_unknown_kid_refetches_once() {
    let idp = OidcProvider::start().await;
    let v = google(&idp).await;
    assert_unknown_kid_refetches_once(&idp, &*v, &idp.google()).await;
}

#[tokio::test]
async fn google_rotated_key_is_refused() {
    let idp = OidcProvider::start().await;
    let v = google(&idp).await;
    assert_rotation(&idp, &*v, &idp.google()).await;
}
