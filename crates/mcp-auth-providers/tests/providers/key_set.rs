//! The remote key set under load and outage: single flight, cooldown, stale keys, cache epoch,
//! and header parameters that must never make the validator fetch anything.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mcp_auth_core::cache::{CacheConfig, CachedValidator};
use mcp_auth_core::challenge::ChallengeContext;
use mcp_auth_core::{AuthError, InvalidTokenReason, TokenValidator};
use mcp_auth_providers::jwt::ClaimsPolicy;
use mcp_auth_providers::oidc::{
    Fetcher, Issuer, JwtValidator, KeySource, RefreshPolicy, RemoteKeySet,
};
use mcp_auth_testkit::oidc::vendor::random_uuid;
use mcp_auth_testkit::oidc::{DEFAULT_AUDIENCE, Endpoint, Fault, OidcProvider, TestKey};
use serde_json::json;
use tokio::task::JoinSet;

use crate::support::{
    COOLDOWN, assert_refused, fetch_policy, options, options_with, validate, wait_out_cooldown,
};

/// How many concurrent validations the stampede and flood tests make.
const CROWD: usize = 1_000;

/// How long the key set takes to answer in the stampede tests.
const SLOW_JWKS: Duration = Duration::from_millis(300);

/// Validates every token concurrently; returns the results in no particular order.
async fn all_at_once(
    validator: &Arc<dyn TokenValidator>,
    tokens: Vec<String>,
) -> Vec<Result<(), AuthError>> {
    let mut tasks = JoinSet::new();
    for token in tokens {
        let validator = validator.clone();
        tasks.spawn(async move { validate(&*validator, &token).await.map(|_| ()) });
    }
    let mut results = Vec::with_capacity(CROWD);
    while let Some(result) = tasks.join_next().await {
        results.push(result.unwrap());
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stampede_of_a_new_kid_costs_one_fetch() {
    let idp = OidcProvider::start().await;
    let v = Issuer::discover(&idp.issuer(), options())
        .await
        .unwrap()
        .validator(DEFAULT_AUDIENCE);
    assert_eq!(idp.fetches(Endpoint::Jwks), 1);
    // The provider rotates; the validator has not seen the new kid yet. The key set answers in
    // 300 ms, as a provider across the internet may: the crowd arrives while the one fetch is
    // under way, and must wait for it rather than be turned away.
    idp.rotate_keys();
    idp.set_fault_on(Endpoint::Jwks, Fault::Slow(SLOW_JWKS));
    // Ten distinct tokens (RSA signing is slow in debug builds), each sent a hundred times.
    let distinct: Vec<String> = (0..10)
        .map(|i| {
            idp.jwt()
                .key(TestKey::RsaRotated)
                .subject(&format!("user-{i}"))
                .sign()
        })
        .collect();
    let tokens: Vec<String> = distinct.iter().cycle().take(CROWD).cloned().collect();
    wait_out_cooldown().await;

    let results = all_at_once(&v, tokens).await;
    let accepted = results.iter().filter(|r| r.is_ok()).count();
    let extra_fetches = idp.fetches(Endpoint::Jwks) - 1;
    let first_refusal = results.iter().find_map(|r| r.as_ref().err());
    eprintln!("stampede: {accepted}/{CROWD} accepted, {extra_fetches} extra JWKS fetches");
    assert_eq!(
        (accepted, extra_fetches),
        (CROWD, 1),
        "stampede: {accepted}/{CROWD} accepted, {extra_fetches} extra JWKS fetches; first refusal: {first_refusal:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cold_start_stampede_costs_one_fetch() {
    // A key set that has fetched nothing yet, hit by a crowd at once.
    let idp = OidcProvider::start().await;
    let keys = RemoteKeySet::new(
        idp.jwks_uri(&idp.issuer()).parse().unwrap(),
        Fetcher::new(fetch_policy()).unwrap(),
        options().refresh,
    );
    let v: Arc<dyn TokenValidator> = Arc::new(JwtValidator::new(
        KeySource::Remote(keys.clone()),
        ClaimsPolicy::new(DEFAULT_AUDIENCE).issuer(idp.issuer()),
    ));
    let token = idp.jwt().sign();
    idp.set_fault_on(Endpoint::Jwks, Fault::Slow(SLOW_JWKS));
    let results = all_at_once(&v, vec![token; CROWD]).await;
    let accepted = results.iter().filter(|r| r.is_ok()).count();
    let fetches = idp.fetches(Endpoint::Jwks);
    let first_refusal = results.iter().find_map(|r| r.as_ref().err());
    eprintln!("cold start stampede: {accepted}/{CROWD} accepted, {fetches} JWKS fetches");
    assert_eq!(
        (accepted, fetches),
        (CROWD, 1),
        "cold start: {accepted}/{CROWD} accepted, {fetches} JWKS fetches; first refusal: {first_refusal:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flood_of_random_kids_costs_at_most_one_fetch_per_cooldown() {
    let idp = OidcProvider::start().await;
    // A cooldown long enough for the whole flood to fall within one.
    let cooldown = Duration::from_secs(1);
    let v = Issuer::discover(
        &idp.issuer(),
        options_with(RefreshPolicy {
            refresh_interval: Duration::from_secs(600),
            cooldown,
            max_stale: Duration::from_secs(24 * 3600),
        }),
    )
    .await
    .unwrap()
    .validator(DEFAULT_AUDIENCE);
    let tokens: Vec<String> = (0..CROWD)
        .map(|_| {
            idp.jwt()
                .key(TestKey::Ed25519)
                .kid(&format!("flood-{}", random_uuid()))
                .sign()
        })
        .collect();
    tokio::time::sleep(cooldown + Duration::from_millis(50)).await;
    let before = idp.fetches(Endpoint::Jwks);

    let results = all_at_once(&v, tokens).await;
    let extra_fetches = idp.fetches(Endpoint::Jwks) - before;
    let unknown = results
        .iter()
        .filter(|r| {
            matches!(
                r,
                Err(AuthError::InvalidToken(InvalidTokenReason::UnknownKey))
            )
        })
        .count();
    eprintln!("flood: {unknown}/{CROWD} refused UnknownKey, {extra_fetches} extra JWKS fetches");
    assert_eq!(unknown, CROWD, "every flood token refused UnknownKey");
    assert!(
        extra_fetches <= 1,
        "flood: {extra_fetches} extra JWKS fetches for {CROWD} random kids"
    );
    // Known keys still work, without another fetch.
    validate(&*v, &idp.jwt().sign()).await.unwrap();
    assert_eq!(idp.fetches(Endpoint::Jwks), before + extra_fetches);
}

#[tokio::test]
async fn outage_known_keys_serve_until_max_stale_then_unavailable() {
    let idp = OidcProvider::start().await;
    let v = Issuer::discover(
        &idp.issuer(),
        options_with(RefreshPolicy {
            refresh_interval: Duration::from_millis(100),
            cooldown: COOLDOWN,
            max_stale: Duration::from_millis(500),
        }),
    )
    .await
    .unwrap()
    .validator(DEFAULT_AUDIENCE);
    let token = idp.jwt().sign();
    validate(&*v, &token).await.unwrap();
    idp.stop().await;
    // Known keys keep working while the provider is gone ...
    validate(&*v, &token).await.unwrap();

    // ... until max_stale has passed since the last good fetch.
    let mut outcome = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        match validate(&*v, &token).await {
            Ok(_) => {}
            Err(err) => {
                outcome = Some(err);
                break;
            }
        }
    }
    let err = outcome.expect("known keys expire after max_stale");
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
    assert!(response.retry_after.is_some_and(|s| s >= 1), "{response:?}");
    assert!(response.www_authenticate.is_none(), "not a token problem");

    // The provider comes back: keys are fetched again.
    idp.restart().await;
    let mut recovered = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if validate(&*v, &token).await.is_ok() {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "keys fetched again once the provider is back");
}

#[tokio::test]
async fn cold_outage_is_unavailable_not_invalid_token() {
    let idp = OidcProvider::start().await;
    let jwks_uri = idp.jwks_uri(&idp.issuer()).parse().unwrap();
    idp.stop().await;
    let cooldown = Duration::from_secs(1);
    let keys = RemoteKeySet::new(
        jwks_uri,
        Fetcher::new(fetch_policy()).unwrap(),
        RefreshPolicy {
            refresh_interval: Duration::from_secs(600),
            cooldown,
            max_stale: Duration::from_secs(24 * 3600),
        },
    );
    let v = JwtValidator::new(
        KeySource::Remote(keys.clone()),
        ClaimsPolicy::new(DEFAULT_AUDIENCE).issuer(idp.issuer()),
    );
    let token = idp.jwt().sign();
    let unknown_kid = idp.jwt().kid("never-published").sign();

    let err = validate(&v, &token).await.unwrap_err();
    assert!(
        matches!(
            err,
            AuthError::Unavailable {
                retry_after: Some(_),
                source: Some(_)
            }
        ),
        "{err:?}"
    );
    let response = err.to_response(&ChallengeContext::new());
    assert_eq!(response.status, 503);
    assert!(response.retry_after.is_some_and(|s| s >= 1), "{response:?}");
    assert_eq!(keys.fetch_count(), 1);

    // Within the cooldown: still 503 (even for an unknown kid), and no new attempt.
    for token in [&token, &unknown_kid, &token] {
        let err = validate(&v, token).await.unwrap_err();
        assert!(matches!(err, AuthError::Unavailable { .. }), "{err:?}");
    }
    assert_eq!(keys.fetch_count(), 1, "no refetch within the cooldown");

    // Back up: after the cooldown the keys are fetched.
    idp.restart().await;
    tokio::time::sleep(cooldown + Duration::from_millis(50)).await;
    validate(&v, &token).await.unwrap();
    assert_eq!(keys.fetch_count(), 2);
    assert_eq!(idp.fetches(Endpoint::Jwks), 1);
}

#[tokio::test]
async fn key_leaving_the_set_voids_cached_validations() {
    let idp = OidcProvider::start().await;
    let inner = Issuer::discover(&idp.issuer(), options())
        .await
        .unwrap()
        .validator(DEFAULT_AUDIENCE);
    let cached = CachedValidator::new(inner, CacheConfig::default());
    let old = idp.jwt().sign();
    validate(&cached, &old).await.unwrap();
    validate(&cached, &old).await.unwrap();
    assert_eq!(cached.cache_epoch(), 0);

    idp.rotate_keys();
    wait_out_cooldown().await;
    // A token of the new key makes the set refresh; the old RSA key is gone.
    validate(&cached, &idp.jwt().key(TestKey::RsaRotated).sign())
        .await
        .unwrap();
    assert!(cached.cache_epoch() > 0, "the epoch moved");
    assert_refused!(
        validate(&cached, &old).await,
        InvalidTokenReason::UnknownKey
    );
    // Keys that stayed (P-256) still validate.
    validate(&cached, &idp.jwt().key(TestKey::P256).sign())
        .await
        .unwrap();
}

#[tokio::test]
async fn header_jwk_jku_x5u_x5c_never_cause_a_fetch() {
    let idp = OidcProvider::start().await;
    let v = Issuer::discover(&idp.issuer(), options())
        .await
        .unwrap()
        .validator(DEFAULT_AUDIENCE);
    let counts = || Endpoint::ALL.map(|e| idp.fetches(e));
    let before = counts();
    let hostile_headers = |builder: mcp_auth_testkit::oidc::JwtBuilder| {
        builder
            .header_param("jwk", TestKey::RsaRotated.jwk())
            .header_param("jku", json!(idp.tokeninfo_endpoint()))
            .header_param("x5u", json!(idp.introspection_endpoint()))
            .header_param(
                "x5c",
                json!([STANDARD.encode(TestKey::RsaRotated.public_der())]),
            )
    };

    // Signed by the attacker's key, which the header carries: only configured keys count.
    let no_kid = hostile_headers(idp.jwt().key(TestKey::RsaRotated).no_kid()).sign();
    assert_refused!(
        validate(&*v, &no_kid).await,
        InvalidTokenReason::BadSignature
    );
    let published_kid =
        hostile_headers(idp.jwt().key(TestKey::RsaRotated).kid(TestKey::Rsa.kid())).sign();
    assert_refused!(
        validate(&*v, &published_kid).await,
        InvalidTokenReason::BadSignature
    );
    // A genuine token carrying the same headers is verified with the configured key.
    validate(&*v, &hostile_headers(idp.jwt()).sign())
        .await
        .unwrap();
    assert_eq!(counts(), before, "no fetch of any kind");

    // An unknown kid refetches the configured jwks_uri only, never the jku/x5u.
    wait_out_cooldown().await;
    let own_kid = hostile_headers(idp.jwt().key(TestKey::RsaRotated)).sign();
    assert_refused!(
        validate(&*v, &own_kid).await,
        InvalidTokenReason::UnknownKey
    );
    let after = counts();
    assert_eq!(after[1], before[1] + 1, "the configured key set, once");
    assert_eq!(
        (after[0], after[2], after[3]),
        (before[0], before[2], before[3]),
        "jku (tokeninfo) and x5u (introspection) never fetched"
    );
}

/// `jwk` without its `kid`.
fn without_kid(key: TestKey) -> serde_json::Value {
    let mut jwk = key.jwk();
    jwk.as_object_mut().unwrap().remove("kid");
    jwk
}

#[tokio::test]
async fn kidless_key_leaving_the_set_voids_cached_validations() {
    // Some providers publish a single key without `kid`; tokens then carry none either.
    let idp = OidcProvider::start().await;
    idp.set_jwks(json!({"keys": [without_kid(TestKey::Rsa), TestKey::P256.jwk()]}));
    let inner = Issuer::discover(&idp.issuer(), options())
        .await
        .unwrap()
        .validator(DEFAULT_AUDIENCE);
    let cached = CachedValidator::new(inner.clone(), CacheConfig::default());
    let old = idp.jwt().no_kid().sign();
    validate(&cached, &old).await.unwrap();

    // The provider replaces its kid-less key; a token with an unknown kid makes the set refresh.
    idp.set_jwks(json!({"keys": [without_kid(TestKey::RsaRotated), TestKey::P256.jwk()]}));
    wait_out_cooldown().await;
    let before = idp.fetches(Endpoint::Jwks);
    assert_refused!(
        validate(&cached, &idp.jwt().kid("unknown").sign()).await,
        InvalidTokenReason::UnknownKey
    );
    assert_eq!(
        idp.fetches(Endpoint::Jwks),
        before + 1,
        "the set was refreshed"
    );
    validate(&*inner, &idp.jwt().key(TestKey::RsaRotated).no_kid().sign())
        .await
        .unwrap();
    // Without the cache the old token is refused ...
    assert_refused!(
        validate(&*inner, &old).await,
        InvalidTokenReason::BadSignature
    );
    // ... and the cache must not vouch for it either.
    assert_refused!(
        validate(&cached, &old).await,
        InvalidTokenReason::BadSignature
    );
}

#[tokio::test]
async fn key_replaced_under_the_same_kid_voids_cached_validations() {
    let idp = OidcProvider::start().await;
    let inner = Issuer::discover(&idp.issuer(), options())
        .await
        .unwrap()
        .validator(DEFAULT_AUDIENCE);
    let cached = CachedValidator::new(inner.clone(), CacheConfig::default());
    let old = idp.jwt().sign();
    validate(&cached, &old).await.unwrap();

    // The provider puts another key under the RSA kid; every other key stays.
    let mut replacement = TestKey::RsaRotated.jwk();
    replacement["kid"] = json!(TestKey::Rsa.kid());
    let mut jwks = TestKey::jwks(&[TestKey::P256, TestKey::P384, TestKey::Ed25519]);
    jwks["keys"].as_array_mut().unwrap().push(replacement);
    idp.set_jwks(jwks);
    wait_out_cooldown().await;
    assert_refused!(
        validate(&cached, &idp.jwt().kid("unknown").sign()).await,
        InvalidTokenReason::UnknownKey
    );
    assert_refused!(
        validate(&*inner, &old).await,
        InvalidTokenReason::BadSignature
    );
    assert_refused!(
        validate(&cached, &old).await,
        InvalidTokenReason::BadSignature
    );
}

#[tokio::test]
async fn background_refresh_drops_a_removed_key() {
    let idp = OidcProvider::start().await;
    let v = Issuer::discover(
        &idp.issuer(),
        options_with(RefreshPolicy {
            refresh_interval: Duration::from_millis(100),
            cooldown: Duration::from_millis(100),
            max_stale: Duration::from_secs(24 * 3600),
        }),
    )
    .await
    .unwrap()
    .validator(DEFAULT_AUDIENCE);
    let old = idp.jwt().sign();
    validate(&*v, &old).await.unwrap();
    idp.rotate_keys();
    // No unknown kid is needed: the periodic refresh notices the rotation by itself.
    let mut outcome = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Err(err) = validate(&*v, &old).await {
            outcome = Some(err);
            break;
        }
    }
    let err = outcome.expect("the removed key stops being accepted");
    assert!(
        matches!(err, AuthError::InvalidToken(InvalidTokenReason::UnknownKey)),
        "{err:?}"
    );
    validate(&*v, &idp.jwt().key(TestKey::RsaRotated).sign())
        .await
        .unwrap();
}

#[tokio::test]
async fn unknown_kid_while_the_provider_is_down_is_unavailable() {
    // The provider may have rotated while unreachable: the token may be fine, so 503, not 401.
    let idp = OidcProvider::start().await;
    let v = Issuer::discover(&idp.issuer(), options())
        .await
        .unwrap()
        .validator(DEFAULT_AUDIENCE);
    let known = idp.jwt().sign();
    let new_kid = idp.jwt().key(TestKey::RsaRotated).sign();
    idp.stop().await;
    wait_out_cooldown().await;
    let err = validate(&*v, &new_kid).await.unwrap_err();
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
    // Known keys keep working meanwhile.
    validate(&*v, &known).await.unwrap();
    // Within the cooldown that failed refetch started, the answer is the same: the provider is
    // still unreachable, nothing has been learnt about the kid.
    let err = validate(&*v, &new_kid).await.unwrap_err();
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
