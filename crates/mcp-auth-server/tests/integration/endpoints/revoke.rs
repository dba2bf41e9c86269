//! The revocation endpoint (RFC 7009).

use http::StatusCode;
use http::header::CACHE_CONTROL;

use crate::endpoints::support::{
    Answer, Auth, BASIC, BASIC_SECRET, NOW, PUBLIC, RESOURCE, Server, request,
};

#[track_caller]
fn assert_ok(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::OK, "body: {}", answer.body);
    assert_eq!(answer.body, serde_json::Value::Null);
    assert_eq!(answer.headers[CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_family() {
    let server = Server::memory().await;
    let (_, first) = server.public_tokens().await;
    let (_, second) = server
        .refresh(&first, Auth::Public(PUBLIC), &[], NOW + 10)
        .await
        .tokens();
    let second = second.unwrap();
    // Revoking the current token (a public client authenticates with its id).
    assert_ok(
        &server
            .revoke(request(&[("token", &second)], Auth::Public(PUBLIC)))
            .await,
    );
    server
        .refresh(&second, Auth::Public(PUBLIC), &[], NOW + 20)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Revoking again is still a success.
    assert_ok(
        &server
            .revoke(request(&[("token", &second)], Auth::Public(PUBLIC)))
            .await,
    );
}

#[tokio::test]
async fn any_hint_is_accepted() {
    let server = Server::memory().await;
    for hint in ["refresh_token", "access_token", "something_else"] {
        let (_, refresh) = server.public_tokens().await;
        let params = [("token", refresh.as_str()), ("token_type_hint", hint)];
        assert_ok(&server.revoke(request(&params, Auth::Public(PUBLIC))).await);
        server
            .refresh(&refresh, Auth::Public(PUBLIC), &[], NOW + 20)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

#[tokio::test]
async fn another_clients_token_is_not_revoked() {
    let server = Server::memory().await;
    let (_, refresh) = server.public_tokens().await;
    assert_ok(
        &server
            .revoke(request(
                &[("token", &refresh)],
                Auth::Basic(BASIC, BASIC_SECRET),
            ))
            .await,
    );
    server
        .refresh(&refresh, Auth::Public(PUBLIC), &[], NOW + 20)
        .await
        .tokens();
}

#[tokio::test]
async fn unknown_and_access_tokens_are_answered_200() {
    let server = Server::memory().await;
    assert_ok(
        &server
            .revoke(request(&[("token", "never-issued")], Auth::Public(PUBLIC)))
            .await,
    );
    let (access, _) = server.public_tokens().await;
    let params = [
        ("token", access.as_str()),
        ("token_type_hint", "access_token"),
    ];
    assert_ok(&server.revoke(request(&params, Auth::Public(PUBLIC))).await);
    // A JWT access token stays valid until it expires.
    let answer = server
        .introspect(
            request(&[("token", &access)], Auth::Basic(BASIC, BASIC_SECRET)),
            NOW + 10,
        )
        .await;
    assert_eq!(answer.body["active"], true);
    assert_eq!(answer.body["aud"], RESOURCE);
}

#[tokio::test]
async fn errors() {
    let server = Server::memory().await;
    server
        .revoke(request(&[], Auth::Public(PUBLIC)))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    server
        .revoke(request(&[("token", "x")], Auth::Public("nobody")))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    server
        .revoke(request(&[("token", "x")], Auth::Basic(BASIC, "wrong")))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let body = "token=a&token=b&client_id=public-app".to_owned();
    server
        .revoke(crate::endpoints::support::raw_request(
            http::Method::POST,
            body,
            None,
        ))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
}
