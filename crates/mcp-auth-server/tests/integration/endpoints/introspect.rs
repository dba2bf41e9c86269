//! The introspection endpoint (RFC 7662).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::{ALLOW, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use http::{Method, StatusCode};
use serde_json::json;

use crate::endpoints::support::{
    Answer, Auth, BASIC, BASIC_SECRET, ISSUER, NOW, POST, POST_SECRET, PUBLIC, RESOURCE, Server,
    jwt_claims, raw_request, request,
};

const CHALLENGE: &str = "Basic realm=\"mcp-auth\"";

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

/// Every refused introspection request: the exact error, the Basic challenge when the header
/// was tried, and never a word about the token.
#[tokio::test]
async fn introspection_refusals() {
    let server = Server::memory().await;
    let (access, refresh) = server.public_tokens().await;
    for token in [access.as_str(), refresh.as_str()] {
        let params = [("token", token)];
        for (auth, basic) in [
            (Auth::Basic(BASIC, "wrong"), true),
            (Auth::Basic("nobody", BASIC_SECRET), true),
            (Auth::Header("Bearer abc"), true),
            (Auth::Post(BASIC, BASIC_SECRET), false),
            (Auth::Post(POST, "wrong"), false),
            // A public client is known, but may not introspect (RFC 7662 section 4).
            (Auth::Public(PUBLIC), false),
            (Auth::Nothing, false),
        ] {
            let answer = server.introspect(request(&params, auth), NOW).await;
            answer.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
            assert_eq!(
                answer
                    .headers
                    .get(WWW_AUTHENTICATE)
                    .map(|v| v.to_str().unwrap()),
                basic.then_some(CHALLENGE)
            );
            assert!(answer.body.get("active").is_none());
        }
        // Two authentication methods at once.
        let params = [("token", token), ("client_secret", BASIC_SECRET)];
        let answer = server
            .introspect(request(&params, Auth::Basic(BASIC, BASIC_SECRET)), NOW)
            .await;
        answer.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
        assert!(answer.body.get("active").is_none());
    }
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{BASIC}:{BASIC_SECRET}"))
    );
    // A repeated token, a body that is not a form, another method.
    let repeated = format!("token={access}&token={refresh}");
    server
        .introspect(raw_request(Method::POST, repeated, Some(&basic)), NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    // A form body labelled as JSON: refused for its media type, not for what it says.
    let mut json = raw_request(Method::POST, format!("token={access}"), Some(&basic));
    json.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    server
        .introspect(json, NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    let answer = server
        .introspect(
            raw_request(Method::GET, format!("token={access}"), Some(&basic)),
            NOW,
        )
        .await;
    answer.assert_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    assert_eq!(answer.headers[ALLOW], "POST");
    // The right request still answers.
    assert_eq!(
        introspect(&server, &refresh, NOW + 10).await.body["active"],
        true
    );
}
