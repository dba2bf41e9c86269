//! The introspection endpoint (RFC 7662).

use http::StatusCode;
use serde_json::json;

use crate::endpoints::support::{
    Answer, Auth, BASIC, BASIC_SECRET, ISSUER, NOW, POST, POST_SECRET, PUBLIC, RESOURCE, Server,
    jwt_claims, request,
};

async fn introspect(server: &Server, token: &str, now: u64) -> Answer {
    let answer = server
        .introspect(
            request(&[("token", token)], Auth::Basic(BASIC, BASIC_SECRET)),
            now,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "body: {}", answer.body);
    assert_eq!(answer.headers[http::header::CACHE_CONTROL], "no-store");
    answer
}

#[tokio::test]
async fn a_valid_access_token_is_active_with_its_claims() {
    let server = Server::memory().await;
    let (access, _) = server.public_tokens().await;
    let jti_free = jwt_claims(&access);
    let answer = introspect(&server, &access, NOW + 100).await;
    assert_eq!(
        answer.body,
        json!({
            "active": true,
            "scope": "mcp:read mcp:tools",
            "client_id": PUBLIC,
            "sub": "alice",
            "aud": RESOURCE,
            "iss": ISSUER,
            "exp": jti_free["exp"],
            "iat": jti_free["iat"],
            "token_type": "Bearer",
        })
    );
    // Past its expiry (no leeway): inactive.
    let exp = jti_free["exp"].as_u64().unwrap();
    assert_eq!(
        introspect(&server, &access, exp + 1).await.body,
        json!({"active": false})
    );
}

#[tokio::test]
async fn a_client_credentials_token_is_active() {
    let server = Server::memory().await;
    let (access, _) = server
        .token(
            request(
                &[("grant_type", "client_credentials")],
                Auth::Post(POST, POST_SECRET),
            ),
            NOW,
        )
        .await
        .tokens();
    let answer = server
        .introspect(
            request(&[("token", &access)], Auth::Post(POST, POST_SECRET)),
            NOW,
        )
        .await;
    assert_eq!(answer.body["active"], true);
    assert_eq!(answer.body["sub"], POST);
    assert_eq!(answer.body["client_id"], POST);
}

#[tokio::test]
async fn refresh_tokens_active_until_used_revoked_or_expired() {
    let server = Server::memory().await;
    let (_, refresh) = server.public_tokens().await;
    let answer = introspect(&server, &refresh, NOW + 10).await;
    assert_eq!(
        answer.body,
        json!({
            "active": true,
            "scope": "mcp:read mcp:tools",
            "client_id": PUBLIC,
            "sub": "alice",
            "aud": RESOURCE,
            "iss": ISSUER,
            "exp": NOW + 5 + 30 * 86_400,
        })
    );
    // Expired.
    assert_eq!(
        introspect(&server, &refresh, NOW + 5 + 30 * 86_400)
            .await
            .body,
        json!({"active": false})
    );
    // Used.
    let (_, next) = server
        .refresh(&refresh, Auth::Public(PUBLIC), &[], NOW + 20)
        .await
        .tokens();
    assert_eq!(
        introspect(&server, &refresh, NOW + 30).await.body,
        json!({"active": false})
    );
    // Revoked.
    let next = next.unwrap();
    assert_eq!(
        introspect(&server, &next, NOW + 30).await.body["active"],
        true
    );
    server
        .revoke(request(&[("token", &next)], Auth::Public(PUBLIC)))
        .await;
    assert_eq!(
        introspect(&server, &next, NOW + 40).await.body,
        json!({"active": false})
    );
}

#[tokio::test]
async fn invalid_tokens_are_inactive_without_detail() {
    let server = Server::memory().await;
    let (access, _) = server.public_tokens().await;
    let mut tampered = access.clone();
    tampered.pop();
    tampered.push(if access.ends_with('A') { 'B' } else { 'A' });
    for token in ["never-issued", "a.b.c", tampered.as_str()] {
        assert_eq!(
            introspect(&server, token, NOW + 10).await.body,
            json!({"active": false}),
            "{token}"
        );
    }
}

#[tokio::test]
async fn only_confidential_clients_may_introspect() {
    let server = Server::memory().await;
    let (access, _) = server.public_tokens().await;
    server
        .introspect(request(&[("token", &access)], Auth::Public(PUBLIC)), NOW)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    server
        .introspect(
            request(&[("token", &access)], Auth::Basic(BASIC, "wrong")),
            NOW,
        )
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    server
        .introspect(request(&[], Auth::Basic(BASIC, BASIC_SECRET)), NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
}
