//! Validator faults are 5xx and never leak their cause.

use std::sync::Arc;
use std::time::Duration;

use mcp_auth_core::{AuthError, BearerToken, Principal, TokenValidator, validator_fn};
use reqwest::{Method, StatusCode};

use crate::layer::support::TestServer;

/// Text of the underlying faults; must never reach a client.
const SECRET_CAUSE: &str = "jwks.internal.example refused: password=hunter2";

#[tokio::test]
async fn unavailable_is_503_with_retry_after_and_no_challenge() {
    let validator: Arc<dyn TokenValidator> = Arc::new(validator_fn(|_token: BearerToken| async {
        Err::<Principal, _>(AuthError::Unavailable {
            retry_after: Some(Duration::from_secs(7)),
            source: Some(SECRET_CAUSE.into()),
        })
    }));
    let server = TestServer::start(validator, |l| l).await;
    for (method, path) in [(Method::GET, "/me"), (Method::POST, "/mcp")] {
        let response = server
            .request(method.clone(), path, Some("any-token"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {path}"
        );
        assert_eq!(response.headers()["retry-after"], "7");
        assert!(response.headers().get("www-authenticate").is_none());
        let body = response.text().await.unwrap();
        assert_eq!(body, r#"{"error":"temporarily_unavailable"}"#);
        assert!(
            !body.contains("hunter2") && !body.contains("jwks"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn unavailable_without_hint_still_has_retry_after() {
    let validator: Arc<dyn TokenValidator> = Arc::new(validator_fn(|_token: BearerToken| async {
        Err::<Principal, _>(AuthError::Unavailable {
            retry_after: None,
            source: None,
        })
    }));
    let server = TestServer::start(validator, |l| l).await;
    let response = server
        .request(Method::GET, "/me", Some("any-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
}

#[tokio::test]
async fn internal_is_500_server_error_without_leak() {
    let validator: Arc<dyn TokenValidator> = Arc::new(validator_fn(|_token: BearerToken| async {
        Err::<Principal, _>(AuthError::Internal(SECRET_CAUSE.into()))
    }));
    let server = TestServer::start(validator, |l| l).await;
    let response = server
        .request(Method::GET, "/me", Some("any-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response.headers().get("www-authenticate").is_none());
    assert!(response.headers().get("retry-after").is_none());
    let body = response.text().await.unwrap();
    assert_eq!(body, r#"{"error":"server_error"}"#);
}

#[tokio::test]
async fn faults_are_not_reached_without_a_token() {
    // A request without credentials is answered 401 before the validator is consulted.
    let validator: Arc<dyn TokenValidator> = Arc::new(validator_fn(|_token: BearerToken| async {
        Err::<Principal, _>(AuthError::Internal(SECRET_CAUSE.into()))
    }));
    let server = TestServer::start(validator, |l| l).await;
    let response = server
        .request(Method::GET, "/me", None)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
