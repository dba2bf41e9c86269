//! The revocation endpoint (RFC 7009).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use http::{Method, StatusCode};

use crate::endpoints::support::{
    Answer, Auth, BASIC, BASIC_SECRET, NOW, PUBLIC, RESOURCE, Server, raw_request, request,
};

const CHALLENGE: &str = "Basic realm=\"mcp-auth\"";

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

/// Every refused revocation request, by the client that owns the token: the exact error, and
/// the token still redeemable afterwards.
#[tokio::test]
async fn refused_revocations_revoke_nothing() {
    let server = Server::memory().await;
    let code = server.code(BASIC, Some(RESOURCE)).await;
    let (_, refresh) = server
        .redeem(&code, Auth::Basic(BASIC, BASIC_SECRET))
        .await
        .tokens();
    let refresh = refresh.unwrap();
    let token = [("token", refresh.as_str())];

    // Client authentication failures: 401, with the Basic challenge when the header was tried.
    for (auth, basic) in [
        (Auth::Basic(BASIC, "wrong"), true),
        (Auth::Header("Basic !!!"), true),
        (Auth::Post(BASIC, BASIC_SECRET), false),
        (Auth::Public(BASIC), false),
        (Auth::Nothing, false),
    ] {
        let answer = server.revoke(request(&token, auth)).await;
        answer.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
        assert_eq!(
            answer
                .headers
                .get(WWW_AUTHENTICATE)
                .map(|v| v.to_str().unwrap()),
            basic.then_some(CHALLENGE)
        );
    }
    // Two authentication methods at once.
    let params = [("token", refresh.as_str()), ("client_secret", BASIC_SECRET)];
    let answer = server
        .revoke(request(&params, Auth::Basic(BASIC, BASIC_SECRET)))
        .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(answer.headers.get(WWW_AUTHENTICATE).is_none());
    // A repeated token, a body that is not a form, another method.
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{BASIC}:{BASIC_SECRET}"))
    );
    let repeated = format!("token={refresh}&token={refresh}");
    server
        .revoke(raw_request(Method::POST, repeated, Some(&basic)))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    // A form body labelled as JSON: refused for its media type, not for what it says.
    let mut json = raw_request(Method::POST, format!("token={refresh}"), Some(&basic));
    json.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    server
        .revoke(json)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    let answer = server
        .revoke(raw_request(
            Method::GET,
            format!("token={refresh}"),
            Some(&basic),
        ))
        .await;
    answer.assert_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    assert_eq!(answer.headers[ALLOW], "POST");

    // None of these revoked the token; the right request does.
    let (_, rotated) = server
        .refresh(&refresh, Auth::Basic(BASIC, BASIC_SECRET), &[], NOW + 10)
        .await
        .tokens();
    let rotated = rotated.unwrap();
    assert_ok(
        &server
            .revoke(request(
                &[("token", &rotated)],
                Auth::Basic(BASIC, BASIC_SECRET),
            ))
            .await,
    );
    server
        .refresh(&rotated, Auth::Basic(BASIC, BASIC_SECRET), &[], NOW + 20)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}
