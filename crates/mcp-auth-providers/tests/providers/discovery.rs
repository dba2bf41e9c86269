//! Discovery and the first key-set fetch: the forms tried, and every way a provider can fail.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mcp_auth_providers::oidc::{
    DiscoveryError, FetchError, FetchPolicy, Issuer, IssuerError, KeySetError,
};
use mcp_auth_testkit::oidc::{DEFAULT_AUDIENCE, Endpoint, Fault, OidcProvider, TestKey};
use serde_json::json;

use crate::support::{options, options_with, validate};

/// The last fetch error of a discovery that found no document.
fn not_found(err: IssuerError) -> FetchError {
    match err {
        IssuerError::Discovery(DiscoveryError::NotFound { last, .. }) => last,
        other => panic!("expected DiscoveryError::NotFound, got {other:?}"),
    }
}

/// The fetch error of a key set that could not be fetched.
fn key_set_fetch(err: IssuerError) -> FetchError {
    match err {
        IssuerError::KeySet(KeySetError::Fetch(err)) => err,
        other => panic!("expected KeySetError::Fetch, got {other:?}"),
    }
}

#[tokio::test]
async fn discovery_oidc_form() {
    let idp = OidcProvider::start().await;
    let issuer = idp.okta_issuer();
    let found = Issuer::discover(&issuer, options()).await.unwrap();
    let metadata = found.metadata();
    assert_eq!(metadata.issuer, issuer);
    assert_eq!(metadata.source.as_str(), idp.discovery_url(&issuer));
    assert_eq!(metadata.jwks_uri.as_str(), idp.jwks_uri(&issuer));
    assert_eq!(
        metadata.introspection_endpoint.as_ref().map(|u| u.as_str()),
        Some(idp.introspection_endpoint().as_str())
    );
    assert_eq!(idp.fetches(Endpoint::Discovery), 1);
    assert_eq!(
        idp.fetches(Endpoint::Jwks),
        1,
        "keys fetched once at startup"
    );
    assert_eq!(found.keys().current().unwrap().keys().len(), 4);
}

#[tokio::test]
async fn discovery_falls_back_to_rfc8414() {
    // The testkit serves every form for every issuer, so an authorization server with only the
    // RFC 8414 document is served here; its jwks_uri is the testkit's.
    let idp = OidcProvider::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/as", listener.local_addr().unwrap());
    let doc = json!({"issuer": issuer, "jwks_uri": idp.jwks_uri(&idp.issuer())});
    let misses = Arc::new(AtomicUsize::new(0));
    let counted = misses.clone();
    let app = axum::Router::new()
        .route(
            "/.well-known/oauth-authorization-server/as",
            axum::routing::get(move || async move { axum::Json(doc) }),
        )
        .fallback(move || async move {
            counted.fetch_add(1, Ordering::SeqCst);
            (axum::http::StatusCode::NOT_FOUND, "not found")
        });
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let found = Issuer::discover(&issuer, options()).await.unwrap();
    assert_eq!(
        found.metadata().source.path(),
        "/.well-known/oauth-authorization-server/as"
    );
    assert_eq!(
        misses.load(Ordering::SeqCst),
        2,
        "both OIDC forms tried first"
    );
    assert_eq!(idp.fetches(Endpoint::Jwks), 1);
    let v = found.validator(DEFAULT_AUDIENCE);
    validate(&*v, &idp.jwt().issuer(&issuer).sign())
        .await
        .unwrap();
    server.abort();
}

#[tokio::test]
async fn discovery_issuer_mismatch_names_both() {
    let idp = OidcProvider::start().await;
    let issuer = idp.okta_issuer();
    idp.set_fault_on(
        Endpoint::Discovery,
        Fault::IssuerMismatch("https://evil.example".into()),
    );
    let err = Issuer::discover(&issuer, options()).await.unwrap_err();
    let message = err.to_string();
    match err {
        IssuerError::Discovery(DiscoveryError::IssuerMismatch {
            found, expected, ..
        }) => {
            assert_eq!(found, "https://evil.example");
            assert_eq!(expected, issuer);
        }
        other => panic!("expected IssuerMismatch, got {other:?}"),
    }
    assert!(message.contains("https://evil.example"), "{message}");
    assert!(message.contains(&issuer), "{message}");
    assert_eq!(
        idp.fetches(Endpoint::Jwks),
        0,
        "no keys from a mismatched document"
    );

    // A trailing slash is another issuer.
    idp.clear_faults();
    let err = Issuer::discover(&format!("{issuer}/"), options())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            IssuerError::Discovery(DiscoveryError::IssuerMismatch { .. })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn discovery_empty_key_set_is_an_error() {
    let idp = OidcProvider::start().await;
    idp.set_fault_on(Endpoint::Jwks, Fault::EmptyKeySet);
    let err = Issuer::discover(&idp.issuer(), options())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            IssuerError::KeySet(KeySetError::Empty { dropped: 0, .. })
        ),
        "{err:?}"
    );
    // Only unusable keys (weak RSA, a symmetric key) is as empty.
    idp.clear_faults();
    let mut jwks = TestKey::jwks(&[TestKey::RsaWeak]);
    jwks["keys"]
        .as_array_mut()
        .unwrap()
        .push(json!({"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "kid": "hmac"}));
    idp.set_jwks(jwks);
    let err = Issuer::discover(&idp.issuer(), options())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            IssuerError::KeySet(KeySetError::Empty { dropped: 2, .. })
        ),
        "{err:?}"
    );
    // Not a key set at all.
    idp.set_jwks(json!([TestKey::Rsa.jwk()]));
    let err = Issuer::discover(&idp.issuer(), options())
        .await
        .unwrap_err();
    assert!(
        matches!(err, IssuerError::KeySet(KeySetError::Parse { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn discovery_unreachable_issuer_is_an_error() {
    let idp = OidcProvider::start().await;
    let issuer = idp.issuer();
    idp.stop().await;
    let last = not_found(Issuer::discover(&issuer, options()).await.unwrap_err());
    assert!(
        matches!(last, FetchError::Unreachable { ref reason, .. } if reason == "connection failed"),
        "{last:?}"
    );
}

#[tokio::test]
async fn discovery_provider_down_is_an_error() {
    let idp = OidcProvider::start().await;
    idp.set_fault_on(Endpoint::Discovery, Fault::Down);
    let last = not_found(
        Issuer::discover(&idp.issuer(), options())
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(last, FetchError::Status { status: 503, .. }),
        "{last:?}"
    );
    idp.clear_faults();
    idp.set_fault_on(Endpoint::Jwks, Fault::Down);
    let err = key_set_fetch(
        Issuer::discover(&idp.issuer(), options())
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(err, FetchError::Status { status: 503, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn discovery_redirect_is_not_followed() {
    let idp = OidcProvider::start().await;
    let issuer = idp.issuer();
    // A redirect to the real key set: following it would be harmless here, and still refused.
    idp.set_fault_on(Endpoint::Discovery, Fault::Redirect(idp.jwks_uri(&issuer)));
    let last = not_found(Issuer::discover(&issuer, options()).await.unwrap_err());
    assert!(
        matches!(last, FetchError::Status { status: 302, .. }),
        "{last:?}"
    );
    assert_eq!(idp.fetches(Endpoint::Jwks), 0, "redirect not followed");

    idp.clear_faults();
    idp.set_fault_on(Endpoint::Jwks, Fault::Redirect(idp.discovery_url(&issuer)));
    let discovery_before = idp.fetches(Endpoint::Discovery);
    let err = key_set_fetch(Issuer::discover(&issuer, options()).await.unwrap_err());
    assert!(
        matches!(err, FetchError::Status { status: 302, .. }),
        "{err:?}"
    );
    assert_eq!(
        idp.fetches(Endpoint::Discovery),
        discovery_before + 1,
        "only the discovery itself, no redirect followed"
    );
}

#[tokio::test]
async fn discovery_wrong_content_type_is_an_error() {
    let idp = OidcProvider::start().await;
    idp.set_fault_on(Endpoint::Discovery, Fault::WrongContentType);
    let last = not_found(
        Issuer::discover(&idp.issuer(), options())
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(last, FetchError::ContentType { ref content_type, .. } if content_type.starts_with("text/html")),
        "{last:?}"
    );
    idp.clear_faults();
    idp.set_fault_on(Endpoint::Jwks, Fault::WrongContentType);
    let err = key_set_fetch(
        Issuer::discover(&idp.issuer(), options())
            .await
            .unwrap_err(),
    );
    assert!(matches!(err, FetchError::ContentType { .. }), "{err:?}");
}

#[tokio::test]
async fn discovery_oversized_documents_are_refused() {
    let idp = OidcProvider::start().await;
    for fault in [Fault::Oversized, Fault::OversizedChunked] {
        idp.clear_faults();
        idp.set_fault_on(Endpoint::Discovery, fault.clone());
        let last = not_found(
            Issuer::discover(&idp.issuer(), options())
                .await
                .unwrap_err(),
        );
        assert!(
            matches!(last, FetchError::TooLarge { .. }),
            "{fault:?}: {last:?}"
        );
        idp.clear_faults();
        idp.set_fault_on(Endpoint::Jwks, fault.clone());
        let err = key_set_fetch(
            Issuer::discover(&idp.issuer(), options())
                .await
                .unwrap_err(),
        );
        assert!(
            matches!(err, FetchError::TooLarge { .. }),
            "{fault:?}: {err:?}"
        );
    }
    // Under a larger cap, the padded key set is fine.
    idp.clear_faults();
    idp.set_fault_on(Endpoint::Jwks, Fault::OversizedChunked);
    let mut big = options();
    big.fetch = big.fetch.max_body(4 * 1024 * 1024);
    Issuer::discover(&idp.issuer(), big).await.unwrap();
}

#[tokio::test]
async fn discovery_slow_provider_times_out() {
    let idp = OidcProvider::start().await;
    let quick = || {
        let mut options = options();
        options.fetch = options.fetch.timeout(Duration::from_millis(300));
        options
    };
    idp.set_fault_on(Endpoint::Jwks, Fault::Slow(Duration::from_secs(3)));
    let err = key_set_fetch(Issuer::discover(&idp.issuer(), quick()).await.unwrap_err());
    assert!(
        matches!(err, FetchError::Unreachable { ref reason, .. } if reason == "timed out"),
        "{err:?}"
    );
    idp.clear_faults();
    idp.set_fault_on(Endpoint::Discovery, Fault::Slow(Duration::from_secs(3)));
    let last = not_found(Issuer::discover(&idp.issuer(), quick()).await.unwrap_err());
    assert!(
        matches!(last, FetchError::Unreachable { ref reason, .. } if reason == "timed out"),
        "{last:?}"
    );
}

#[tokio::test]
async fn discovery_requires_https_by_default() {
    let idp = OidcProvider::start().await;
    let mut strict = options_with(options().refresh);
    strict.fetch = FetchPolicy::default();
    let err = Issuer::discover(&idp.issuer(), strict).await.unwrap_err();
    let last = not_found(err);
    assert!(matches!(last, FetchError::NotHttps(_)), "{last:?}");
    assert_eq!(idp.fetches(Endpoint::Discovery), 0);
    // Nor may an https issuer's document point at an http key set.
    let err = Issuer::with_jwks_uri(
        "https://idp.example",
        idp.jwks_uri(&idp.issuer()).parse().unwrap(),
        mcp_auth_providers::oidc::IssuerOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, IssuerError::Fetch(FetchError::NotHttps(_))),
        "{err:?}"
    );
    assert_eq!(idp.fetches(Endpoint::Jwks), 0);
}
