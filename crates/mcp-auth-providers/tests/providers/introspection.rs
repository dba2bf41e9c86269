//! RFC 7662 introspection against the testkit's `/introspect`.

use std::sync::Arc;
use std::time::Duration;

use mcp_auth_core::challenge::ChallengeContext;
use mcp_auth_core::{AuthError, InvalidTokenReason, TokenValidator};
use mcp_auth_providers::introspection::Introspection;
use mcp_auth_testkit::now;
use mcp_auth_testkit::oidc::{
    DEFAULT_AUDIENCE, Endpoint, Fault, INTROSPECTION_CLIENT_ID, INTROSPECTION_CLIENT_SECRET,
    OidcProvider,
};
use serde_json::{Value, json};

use crate::support::{assert_refused, fetch_policy, validate};

fn introspection(idp: &OidcProvider) -> Introspection {
    Introspection::new(
        idp.introspection_endpoint().parse().unwrap(),
        INTROSPECTION_CLIENT_ID,
        INTROSPECTION_CLIENT_SECRET,
    )
}

fn build(introspection: Introspection) -> Arc<dyn TokenValidator> {
    introspection.build(fetch_policy()).unwrap()
}

/// An active opaque token's introspection answer (without `active`).
fn claims(idp: &OidcProvider) -> Value {
    json!({
        "sub": "user-42",
        "scope": "mcp:tools mcp:read",
        "client_id": "client-7",
        "username": "alice",
        "aud": DEFAULT_AUDIENCE,
        "iss": idp.issuer(),
        "token_type": "Bearer",
        "exp": now() + 3600,
    })
}

#[tokio::test]
async fn introspection_active_token_maps_into_the_principal() {
    let idp = OidcProvider::start().await;
    let v = build(
        introspection(&idp)
            .audience(DEFAULT_AUDIENCE)
            .issuer(idp.issuer()),
    );
    idp.register_token("opaque-active", claims(&idp));
    let p = validate(&*v, "opaque-active").await.unwrap();
    assert_eq!(p.subject(), "user-42");
    assert_eq!(p.scopes().to_string(), "mcp:read mcp:tools");
    assert_eq!(p.client_id(), Some("client-7"));
    assert_eq!(p.username(), "alice");
    assert_eq!(p.audiences(), [DEFAULT_AUDIENCE]);
    assert!(p.claim("active").is_none());
    assert_eq!(idp.fetches(Endpoint::Introspection), 1);
}

#[tokio::test]
async fn introspection_client_credentials_token_names_the_client() {
    let idp = OidcProvider::start().await;
    let v = build(introspection(&idp));
    idp.register_token(
        "opaque-client",
        json!({"client_id": "svc-1", "scope": "mcp:tools", "exp": now() + 3600}),
    );
    let p = validate(&*v, "opaque-client").await.unwrap();
    assert_eq!(p.subject(), "svc-1");
    assert_eq!(p.client_id(), Some("svc-1"));
}

#[tokio::test]
async fn introspection_inactive_token_is_refused() {
    let idp = OidcProvider::start().await;
    let v = build(introspection(&idp));
    assert_refused!(
        validate(&*v, "never-issued").await,
        InvalidTokenReason::Inactive
    );
    let mut expired = claims(&idp);
    expired["exp"] = json!(now() - 10);
    idp.register_token("opaque-expired", expired);
    assert_refused!(
        validate(&*v, "opaque-expired").await,
        InvalidTokenReason::Inactive
    );
    idp.register_token("opaque-revoked", claims(&idp));
    idp.revoke_token("opaque-revoked");
    assert_refused!(
        validate(&*v, "opaque-revoked").await,
        InvalidTokenReason::Inactive
    );
}

#[tokio::test]
async fn introspection_wrong_client_secret_is_a_server_fault() {
    let idp = OidcProvider::start().await;
    idp.register_token("opaque-active", claims(&idp));
    let v = build(Introspection::new(
        idp.introspection_endpoint().parse().unwrap(),
        INTROSPECTION_CLIENT_ID,
        "not-the-secret",
    ));
    let err = validate(&*v, "opaque-active").await.unwrap_err();
    assert!(matches!(err, AuthError::Internal(_)), "{err:?}");
    assert_eq!(err.to_response(&ChallengeContext::new()).status, 500);
}

#[tokio::test]
async fn introspection_endpoint_down_is_unavailable() {
    let idp = OidcProvider::start().await;
    idp.register_token("opaque-active", claims(&idp));
    let v = build(introspection(&idp));
    idp.set_fault_on(Endpoint::Introspection, Fault::Down);
    let err = validate(&*v, "opaque-active").await.unwrap_err();
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
    idp.clear_faults();
    idp.stop().await;
    let err = validate(&*v, "opaque-active").await.unwrap_err();
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
    let response = err.to_response(&ChallengeContext::new());
    assert_eq!(response.status, 503);
    assert!(response.retry_after.is_some());
}

#[tokio::test]
async fn introspection_audience_is_checked() {
    let idp = OidcProvider::start().await;
    let v = build(introspection(&idp).audience(DEFAULT_AUDIENCE));
    let mut no_aud = claims(&idp);
    no_aud.as_object_mut().unwrap().remove("aud");
    idp.register_token("opaque-no-aud", no_aud);
    assert_refused!(
        validate(&*v, "opaque-no-aud").await,
        InvalidTokenReason::MissingClaim("aud")
    );
    let mut other = claims(&idp);
    other["aud"] = json!("https://other.example/mcp");
    idp.register_token("opaque-other-aud", other);
    assert_refused!(
        validate(&*v, "opaque-other-aud").await,
        InvalidTokenReason::Audience
    );
    let mut list = claims(&idp);
    list["aud"] = json!(["https://other.example/mcp", DEFAULT_AUDIENCE]);
    idp.register_token("opaque-aud-list", list);
    validate(&*v, "opaque-aud-list").await.unwrap();
}

#[tokio::test]
async fn introspection_issuer_is_checked() {
    let idp = OidcProvider::start().await;
    let v = build(introspection(&idp).issuer("https://other-issuer.example"));
    idp.register_token("opaque-active", claims(&idp));
    assert_refused!(
        validate(&*v, "opaque-active").await,
        InvalidTokenReason::Issuer
    );
}

#[tokio::test]
async fn introspection_result_is_cached_no_longer_than_exp() {
    let idp = OidcProvider::start().await;
    let v = build(introspection(&idp));
    let exp = now() + 2;
    let mut short = claims(&idp);
    short["exp"] = json!(exp);
    idp.register_token("opaque-short", short);
    validate(&*v, "opaque-short").await.unwrap();
    validate(&*v, "opaque-short").await.unwrap();
    assert_eq!(
        idp.fetches(Endpoint::Introspection),
        1,
        "second call served from the cache"
    );
    // Wait until the wall clock has passed exp (bounded).
    for _ in 0..40 {
        if now() > exp {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(now() > exp);
    let err = validate(&*v, "opaque-short").await.unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::InvalidToken(InvalidTokenReason::Inactive | InvalidTokenReason::Expired)
        ),
        "{err:?}"
    );
    assert_eq!(
        idp.fetches(Endpoint::Introspection),
        2,
        "the expired entry was not served from the cache"
    );
}

#[tokio::test]
async fn introspection_failures_are_not_cached() {
    let idp = OidcProvider::start().await;
    let v = build(introspection(&idp));
    assert!(validate(&*v, "opaque-later").await.is_err());
    idp.register_token("opaque-later", claims(&idp));
    validate(&*v, "opaque-later").await.unwrap();
    assert_eq!(idp.fetches(Endpoint::Introspection), 2);
}
