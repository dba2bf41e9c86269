//! The Entra ID (Azure AD) preset against v1 and v2 tokens, single- and multi-tenant.

use std::sync::Arc;

use mcp_auth_core::{InvalidTokenReason, TokenValidator};
use mcp_auth_providers::presets::azure::{Azure, Tenants, TokenVersions};
use mcp_auth_testkit::oidc::vendor::{
    AZURE_APP_ID_URI, AZURE_CALLER_APP_ID, AZURE_CLIENT_ID, AZURE_ROLES, AZURE_SUBJECT,
    AZURE_TENANT_ID, AZURE_UPN,
};
use mcp_auth_testkit::oidc::{JwtBuilder, OidcProvider};
use serde_json::json;

use crate::support::{
    KEYS_WITH_WEAK, assert_hostile_tokens_refused, assert_refused, assert_rotation,
    assert_unknown_kid_refetches_once, assert_weak_key_dropped, options, validate,
};

const OTHER_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const THIRD_TENANT: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

fn preset(idp: &OidcProvider, tenants: Tenants) -> Azure {
    Azure::new(tenants, AZURE_CLIENT_ID)
        .also_accept_audience(AZURE_APP_ID_URI)
        .authority(idp.base_url(), idp.base_url())
        .options(options())
}

async fn azure(idp: &OidcProvider) -> Arc<dyn TokenValidator> {
    preset(idp, Tenants::One(AZURE_TENANT_ID.to_owned()))
        .build()
        .await
        .unwrap()
}

/// A v2 access token of `tenant`, with the issuer Entra ID gives that tenant.
fn v2_of(idp: &OidcProvider, tenant: &str) -> JwtBuilder {
    idp.azure_v2()
        .set("tid", json!(tenant))
        .issuer(&format!("{}/{tenant}/v2.0", idp.base_url()))
}

#[tokio::test]
async fn azure_v2_access_token_maps_tid_scp_string_and_roles() {
    let idp = OidcProvider::start().await;
    let v = azure(&idp).await;
    let token = idp.azure_v2().set("groups", json!(["g-1"])).sign();
    let p = validate(&*v, &token).await.unwrap();
    assert_eq!(p.subject(), AZURE_SUBJECT);
    assert_eq!(p.tenant(), Some(AZURE_TENANT_ID));
    assert_eq!(p.scopes().to_string(), "mcp.read mcp.write");
    assert_eq!(p.roles(), AZURE_ROLES);
    assert_eq!(p.groups(), ["g-1"]);
    assert_eq!(p.client_id(), Some(AZURE_CALLER_APP_ID));
    assert_eq!(p.username(), AZURE_UPN);
    assert_eq!(p.issuer(), Some(idp.azure_v2_issuer().as_str()));
}

#[tokio::test]
async fn azure_v1_issuer_has_trailing_slash() {
    let idp = OidcProvider::start().await;
    let v = azure(&idp).await;
    let v1 = idp.azure_v1().sign();
    let p = validate(&*v, &v1).await.unwrap();
    assert!(idp.azure_v1_issuer().ends_with('/'));
    assert_eq!(p.issuer(), Some(idp.azure_v1_issuer().as_str()));
    // v1 names the caller in appid and the user in upn.
    assert_eq!(p.client_id(), Some(AZURE_CALLER_APP_ID));
    assert_eq!(p.username(), AZURE_UPN);
    assert_eq!(p.tenant(), Some(AZURE_TENANT_ID));
    assert_eq!(p.audiences(), [AZURE_APP_ID_URI]);
    // Without the slash it is not the v1 issuer.
    let trimmed = idp
        .azure_v1()
        .issuer(idp.azure_v1_issuer().trim_end_matches('/'))
        .sign();
    assert_refused!(validate(&*v, &trimmed).await, InvalidTokenReason::Issuer);
    // v2 only: the v1 token is refused, the v2 one accepted.
    let v2_only = preset(&idp, Tenants::One(AZURE_TENANT_ID.to_owned()))
        .versions(TokenVersions::V2)
        .build()
        .await
        .unwrap();
    assert_refused!(validate(&*v2_only, &v1).await, InvalidTokenReason::Issuer);
    validate(&*v2_only, &idp.azure_v2().sign()).await.unwrap();
}

#[tokio::test]
async fn azure_id_token_without_scp_or_roles_is_refused() {
    let idp = OidcProvider::start().await;
    let v = azure(&idp).await;
    // Its aud is our client id, so only its shape gives it away.
    assert_refused!(
        validate(&*v, &idp.azure_id_token().sign()).await,
        InvalidTokenReason::WrongTokenType
    );
    // A nonce marks an ID token even with scp.
    let with_scp = idp.azure_id_token().set("scp", json!("mcp.read")).sign();
    assert_refused!(
        validate(&*v, &with_scp).await,
        InvalidTokenReason::WrongTokenType
    );
}

#[tokio::test]
async fn azure_refuses_another_audience() {
    let idp = OidcProvider::start().await;
    let v = azure(&idp).await;
    let token = idp
        .azure_v2()
        .audience("00000003-0000-0000-c000-000000000000")
        .sign();
    assert_refused!(validate(&*v, &token).await, InvalidTokenReason::Audience);
}

#[tokio::test]
async fn azure_single_tenant_refuses_another_tenant() {
    let idp = OidcProvider::start().await;
    let v = azure(&idp).await;
    assert_refused!(
        validate(&*v, &v2_of(&idp, OTHER_TENANT).sign()).await,
        InvalidTokenReason::Issuer
    );
    // A tid that is not a GUID cannot name an issuer.
    let bad_tid = idp.azure_v2().set("tid", json!("common")).sign();
    assert_refused!(
        validate(&*v, &bad_tid).await,
        InvalidTokenReason::MissingClaim("tid")
    );
}

#[tokio::test]
async fn azure_multi_tenant_checks_issuer_against_tid() {
    let idp = OidcProvider::start().await;
    let v = preset(&idp, Tenants::Any).build().await.unwrap();
    // Any tenant, each with its own issuer.
    let p = validate(&*v, &v2_of(&idp, OTHER_TENANT).sign())
        .await
        .unwrap();
    assert_eq!(p.tenant(), Some(OTHER_TENANT));
    validate(&*v, &idp.azure_v2().sign()).await.unwrap();
    // tid says one tenant, iss another: refused.
    let mismatch = v2_of(&idp, OTHER_TENANT)
        .issuer(&idp.azure_v2_issuer())
        .sign();
    assert_refused!(validate(&*v, &mismatch).await, InvalidTokenReason::Issuer);
    // An issuer of another authority with a matching tid: refused.
    let foreign = v2_of(&idp, OTHER_TENANT)
        .issuer(&format!("https://login.evil.example/{OTHER_TENANT}/v2.0"))
        .sign();
    assert_refused!(validate(&*v, &foreign).await, InvalidTokenReason::Issuer);
}

#[tokio::test]
async fn azure_multi_tenant_allow_list() {
    let idp = OidcProvider::start().await;
    let v = preset(
        &idp,
        Tenants::List(vec![AZURE_TENANT_ID.to_owned(), OTHER_TENANT.to_owned()]),
    )
    .build()
    .await
    .unwrap();
    validate(&*v, &idp.azure_v2().sign()).await.unwrap();
    let p = validate(&*v, &v2_of(&idp, OTHER_TENANT).sign())
        .await
        .unwrap();
    assert_eq!(p.tenant(), Some(OTHER_TENANT));
    assert_refused!(
        validate(&*v, &v2_of(&idp, THIRD_TENANT).sign()).await,
        InvalidTokenReason::Issuer
    );
    // A listed tid cannot vouch for an unlisted tenant's issuer.
    let mismatch = v2_of(&idp, THIRD_TENANT)
        .set("tid", json!(OTHER_TENANT))
        .sign();
    assert_refused!(validate(&*v, &mismatch).await, InvalidTokenReason::Issuer);
}

#[tokio::test]
async fn azure_refuses_hostile_tokens() {
    let idp = OidcProvider::start().await;
    idp.set_keys(KEYS_WITH_WEAK);
    let v = azure(&idp).await;
    assert_hostile_tokens_refused(&*v, &idp.azure_v2()).await;
    assert_weak_key_dropped(&idp, &idp.azure_v2_issuer(), &*v, &idp.azure_v2()).await;
}

#[tokio::test]
async fn azure_unknown_kid_refetches_once() {
    let idp = OidcProvider::start().await;
    let v = azure(&idp).await;
    assert_unknown_kid_refetches_once(&idp, &*v, &idp.azure_v2()).await;
}

#[tokio::test]
async fn azure_rotated_key_is_refused() {
    let idp = OidcProvider::start().await;
    let v = azure(&idp).await;
    assert_rotation(&idp, &*v, &idp.azure_v2()).await;
}

#[tokio::test]
async fn azure_multi_tenant_rotated_key_is_refused() {
    // `common` keys come from the Entra ID key URL, without discovery.
    let idp = OidcProvider::start().await;
    let v = preset(&idp, Tenants::Any).build().await.unwrap();
    assert_rotation(&idp, &*v, &v2_of(&idp, OTHER_TENANT)).await;
}
