//! Shared setup and the checks every preset goes through.

use std::time::Duration;

use mcp_auth_core::{AuthError, BearerToken, InvalidTokenReason, Principal, TokenValidator};
use mcp_auth_providers::Algorithm;
use mcp_auth_providers::oidc::{FetchPolicy, IssuerOptions, RefreshPolicy};
use mcp_auth_testkit::oidc::{Endpoint, JwtBuilder, OidcProvider, TestKey};

/// The key-set cooldown used by most tests: short, because an unknown `kid` (and every fetch)
/// starts it, and a test that needs a refetch must wait it out.
pub(crate) const COOLDOWN: Duration = Duration::from_millis(200);

/// What the provider publishes when a test wants the weak RSA 1024 key in the set too.
pub(crate) const KEYS_WITH_WEAK: &[TestKey] = &[
    TestKey::Rsa,
    TestKey::RsaWeak,
    TestKey::P256,
    TestKey::P384,
    TestKey::Ed25519,
];

/// Plain HTTP allowed (the provider is on 127.0.0.1), short cooldown, no background refresh
/// during a test.
pub(crate) fn options() -> IssuerOptions {
    options_with(RefreshPolicy {
        refresh_interval: Duration::from_secs(600),
        cooldown: COOLDOWN,
        max_stale: Duration::from_secs(24 * 3600),
    })
}

/// As [`options`], with other refresh timings.
pub(crate) fn options_with(refresh: RefreshPolicy) -> IssuerOptions {
    IssuerOptions {
        fetch: fetch_policy(),
        refresh,
    }
}

/// The default fetch policy with plain HTTP allowed.
pub(crate) fn fetch_policy() -> FetchPolicy {
    FetchPolicy::default().insecure_allow_http()
}

/// Sleeps past the [`COOLDOWN`] started by the last fetch.
pub(crate) async fn wait_out_cooldown() {
    tokio::time::sleep(COOLDOWN + Duration::from_millis(50)).await;
}

/// Validates `token`.
pub(crate) async fn validate(
    validator: &dyn TokenValidator,
    token: &str,
) -> Result<Principal, AuthError> {
    validator.validate(&BearerToken::new(token)).await
}

/// Asserts that a validation result is `Err(AuthError::InvalidToken(<pattern>))`.
macro_rules! assert_refused {
    ($result:expr, $reason:pat $(,)?) => {{
        let result = $result;
        assert!(
            matches!(result, Err(mcp_auth_core::AuthError::InvalidToken($reason))),
            "expected InvalidToken({}), got {:?}",
            stringify!($reason),
            result
        );
    }};
}
pub(crate) use assert_refused;

/// The hostile forms of `good` (a valid token built on [`TestKey::Rsa`]) are all refused with
/// the exact reason, and `good` itself is accepted.
pub(crate) async fn assert_hostile_tokens_refused(
    validator: &dyn TokenValidator,
    good: &JwtBuilder,
) {
    use InvalidTokenReason::{BadSignature, DisallowedAlgorithm};

    assert_eq!(good.signing_key(), TestKey::Rsa);
    validate(validator, &good.clone().sign()).await.unwrap();

    // RS256 -> HS256 confusion: HMAC keyed with the published public key.
    assert_refused!(
        validate(validator, &good.clone().hs256_with_public_pem()).await,
        DisallowedAlgorithm
    );
    assert_refused!(
        validate(validator, &good.clone().hs256_with_public_der()).await,
        DisallowedAlgorithm
    );
    // ECDSA r = s = 0 (CVE-2022-21449) with the P-256 kid.
    assert_refused!(
        validate(validator, &good.clone().zero_signature()).await,
        BadSignature
    );
    // Header alg ES256 naming the RSA key (signed RS256 by that key).
    let mut header = good.header_json();
    header["alg"] = "ES256".into();
    assert_refused!(
        validate(validator, &good.clone().raw_header(header).sign()).await,
        DisallowedAlgorithm
    );
    // RS256 naming the P-256 key.
    assert_refused!(
        validate(validator, &good.clone().kid(TestKey::P256.kid()).sign()).await,
        DisallowedAlgorithm
    );
    // EdDSA naming the P-384 key.
    assert_refused!(
        validate(
            validator,
            &good
                .clone()
                .key(TestKey::Ed25519)
                .kid(TestKey::P384.kid())
                .sign()
        )
        .await,
        DisallowedAlgorithm
    );
    // PS256 with the RSA key, whose JWK pins RS256.
    assert_refused!(
        validate(validator, &good.clone().alg(Algorithm::PS256).sign()).await,
        DisallowedAlgorithm
    );
    // alg none, in any casing.
    for none in ["none", "None", "NONE"] {
        assert_refused!(
            validate(validator, &good.clone().unsigned(none)).await,
            DisallowedAlgorithm
        );
    }
    // Signed by another RSA key under the published kid.
    assert_refused!(
        validate(
            validator,
            &good
                .clone()
                .key(TestKey::RsaRotated)
                .kid(TestKey::Rsa.kid())
                .sign()
        )
        .await,
        BadSignature
    );
    // Payload altered after signing.
    let signed = good.clone().sign();
    let (input, signature) = signed.rsplit_once('.').unwrap();
    let other = good.clone().set("sub", "mallory".into()).sign();
    let (other_input, _) = other.rsplit_once('.').unwrap();
    assert_ne!(input, other_input);
    assert_refused!(
        validate(validator, &format!("{other_input}.{signature}")).await,
        BadSignature
    );
}

/// An unknown `kid` costs exactly one JWKS refetch, and a second one within the cooldown none.
pub(crate) async fn assert_unknown_kid_refetches_once(
    idp: &OidcProvider,
    validator: &dyn TokenValidator,
    good: &JwtBuilder,
) {
    let first = good.clone().kid("unknown-kid-1").sign();
    let second = good.clone().kid("unknown-kid-2").sign();
    wait_out_cooldown().await;
    let before = idp.fetches(Endpoint::Jwks);
    assert_refused!(
        validate(validator, &first).await,
        InvalidTokenReason::UnknownKey
    );
    assert_eq!(idp.fetches(Endpoint::Jwks), before + 1, "one refetch");
    assert_refused!(
        validate(validator, &second).await,
        InvalidTokenReason::UnknownKey
    );
    assert_eq!(
        idp.fetches(Endpoint::Jwks),
        before + 1,
        "no refetch within the cooldown"
    );
}

/// After the provider rotates its RSA key and the cooldown passes, a token of the new key is
/// accepted (one refetch) and a token of the old key refused.
pub(crate) async fn assert_rotation(
    idp: &OidcProvider,
    validator: &dyn TokenValidator,
    good: &JwtBuilder,
) {
    let old = good.clone().sign();
    let new = good.clone().key(TestKey::RsaRotated).sign();
    validate(validator, &old).await.unwrap();
    idp.rotate_keys();
    wait_out_cooldown().await;
    let before = idp.fetches(Endpoint::Jwks);
    validate(validator, &new).await.unwrap();
    assert_eq!(idp.fetches(Endpoint::Jwks), before + 1);
    assert_refused!(
        validate(validator, &old).await,
        InvalidTokenReason::UnknownKey
    );
}

/// The weak RSA 1024 key, published by the provider, was dropped: its (validly signed) token
/// names an unknown key.
pub(crate) async fn assert_weak_key_dropped(
    idp: &OidcProvider,
    issuer: &str,
    validator: &dyn TokenValidator,
    good: &JwtBuilder,
) {
    let published = idp.jwks(issuer);
    assert!(
        published["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == TestKey::RsaWeak.kid()),
        "the provider publishes the weak key"
    );
    assert_refused!(
        validate(validator, &good.clone().key(TestKey::RsaWeak).sign()).await,
        InvalidTokenReason::UnknownKey
    );
}
