//! The token endpoint's grants: authorization_code, refresh_token, client_credentials.

use http::{Method, StatusCode};
use serde_json::json;

use crate::endpoints::support::{
    Auth, BASIC, BASIC_SECRET, ISSUER, NO_REFRESH, NOW, OTHER_RESOURCE, POST, POST_SECRET, PUBLIC,
    PUBLIC_CC, REDIRECT, RESOURCE, Server, VERIFIER, jwt_claims, raw_request, request,
};

const DAY: u64 = 86_400;

#[tokio::test]
async fn authorization_code_for_a_public_client() {
    let server = Server::memory().await;
    let code = server.code(PUBLIC, Some(RESOURCE)).await;
    let answer = server.redeem(&code, Auth::Public(PUBLIC)).await;
    let (access, refresh) = answer.tokens();
    assert_eq!(answer.body["expires_in"], 3600);
    assert_eq!(answer.body["scope"], "mcp:read mcp:tools");
    assert_eq!(answer.body.as_object().unwrap().len(), 5);
    let refresh = refresh.unwrap();
    // 256 random bits, base64url.
    assert_eq!(refresh.len(), 43);
    let claims = jwt_claims(&access);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], RESOURCE);
    assert_eq!(claims["client_id"], PUBLIC);
    assert_eq!(claims["scope"], "mcp:read mcp:tools");
    assert_eq!(claims["iat"], NOW + 5);
    assert_eq!(claims["exp"], NOW + 5 + 3600);
}

#[tokio::test]
async fn authorization_code_for_confidential_clients() {
    let server = Server::memory().await;
    // Basic, with the resource repeated; the client registered refresh_token.
    let code = server.code(BASIC, Some(OTHER_RESOURCE)).await;
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("resource", OTHER_RESOURCE),
    ];
    let answer = server
        .token(request(&params, Auth::Basic(BASIC, BASIC_SECRET)), NOW)
        .await;
    let (access, refresh) = answer.tokens();
    assert!(refresh.is_some());
    assert_eq!(jwt_claims(&access)["aud"], OTHER_RESOURCE);

    // Post; no refresh_token grant registered: no refresh token. A code without a resource
    // gives a token for the first allowed resource.
    let code = server.code(POST, None).await;
    let answer = server.redeem(&code, Auth::Post(POST, POST_SECRET)).await;
    let (access, refresh) = answer.tokens();
    assert_eq!(refresh, None);
    assert!(answer.body.get("refresh_token").is_none());
    assert_eq!(jwt_claims(&access)["aud"], RESOURCE);
}

#[tokio::test]
async fn no_refresh_token_without_the_grant() {
    let server = Server::memory().await;
    let code = server.code(NO_REFRESH, Some(RESOURCE)).await;
    let (_, refresh) = server
        .redeem(&code, Auth::Public(NO_REFRESH))
        .await
        .tokens();
    assert_eq!(refresh, None);
}

#[tokio::test]
async fn code_replay_is_refused_and_revokes_the_family() {
    let server = Server::memory().await;
    let code = server.code(PUBLIC, Some(RESOURCE)).await;
    let (_, refresh) = server.redeem(&code, Auth::Public(PUBLIC)).await.tokens();
    let refresh = refresh.unwrap();

    server
        .redeem(&code, Auth::Public(PUBLIC))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // What the first redemption issued is revoked.
    server
        .refresh(&refresh, Auth::Public(PUBLIC), &[], NOW + 10)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn pkce_verifier_must_match() {
    let server = Server::memory().await;
    let wrong = "x".repeat(43);
    for verifier in [Some(wrong.as_str()), None] {
        let code = server.code(PUBLIC, Some(RESOURCE)).await;
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        if let Some(verifier) = verifier {
            params.push(("code_verifier", verifier));
        }
        server
            .token(request(&params, Auth::Public(PUBLIC)), NOW)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

#[tokio::test]
async fn redirect_uri_must_match_exactly() {
    let server = Server::memory().await;
    let code = server.code(PUBLIC, Some(RESOURCE)).await;
    let other = format!("{REDIRECT}/");
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", other.as_str()),
        ("code_verifier", VERIFIER),
    ];
    server
        .token(request(&params, Auth::Public(PUBLIC)), NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // Missing: a malformed request (the code is not consumed).
    let code = server.code(PUBLIC, Some(RESOURCE)).await;
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
    ];
    server
        .token(request(&params, Auth::Public(PUBLIC)), NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    server.redeem(&code, Auth::Public(PUBLIC)).await.tokens();
}

#[tokio::test]
async fn code_of_another_client_is_refused() {
    let server = Server::memory().await;
    let code = server.code(BASIC, Some(RESOURCE)).await;
    server
        .redeem(&code, Auth::Public(PUBLIC))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn expired_and_unknown_codes_are_refused() {
    let server = Server::memory().await;
    let code = server.code(PUBLIC, Some(RESOURCE)).await;
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    server
        .token(request(&params, Auth::Public(PUBLIC)), NOW + 61)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    server
        .redeem("never-issued", Auth::Public(PUBLIC))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn resource_must_be_the_codes() {
    let server = Server::memory().await;
    let code = server.code(PUBLIC, Some(RESOURCE)).await;
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("resource", OTHER_RESOURCE),
    ];
    server
        .token(request(&params, Auth::Public(PUBLIC)), NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_target");
}

#[tokio::test]
async fn refresh_tokens_rotate() {
    let server = Server::memory().await;
    let (_, first) = server.public_tokens().await;
    let answer = server
        .refresh(&first, Auth::Public(PUBLIC), &[], NOW + DAY)
        .await;
    let (access, second) = answer.tokens();
    let second = second.unwrap();
    assert_ne!(second, first);
    assert_eq!(answer.body["scope"], "mcp:read mcp:tools");
    let claims = jwt_claims(&access);
    assert_eq!(
        (&claims["sub"], &claims["aud"], &claims["iat"]),
        (&json!("alice"), &json!(RESOURCE), &json!(NOW + DAY))
    );
    // The successor is redeemable, and the resource may be repeated.
    let (_, third) = server
        .refresh(
            &second,
            Auth::Public(PUBLIC),
            &[("resource", RESOURCE)],
            NOW + 2 * DAY,
        )
        .await
        .tokens();
    assert!(third.is_some());
}

#[tokio::test]
async fn refresh_token_reuse_revokes_the_family() {
    let server = Server::memory().await;
    let (_, first) = server.public_tokens().await;
    let (_, second) = server
        .refresh(&first, Auth::Public(PUBLIC), &[], NOW + 10)
        .await
        .tokens();
    server
        .refresh(&first, Auth::Public(PUBLIC), &[], NOW + 20)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // The token rotated to is refused too.
    server
        .refresh(&second.unwrap(), Auth::Public(PUBLIC), &[], NOW + 30)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn refresh_reuse_with_a_bad_scope_still_revokes() {
    let server = Server::memory().await;
    let (_, first) = server.public_tokens().await;
    let (_, second) = server
        .refresh(&first, Auth::Public(PUBLIC), &[], NOW + 10)
        .await
        .tokens();
    server
        .refresh(
            &first,
            Auth::Public(PUBLIC),
            &[("scope", "mcp:admin")],
            NOW + 20,
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    server
        .refresh(&second.unwrap(), Auth::Public(PUBLIC), &[], NOW + 30)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn scope_may_narrow_never_widen() {
    let server = Server::memory().await;
    let (_, first) = server.public_tokens().await;
    let answer = server
        .refresh(
            &first,
            Auth::Public(PUBLIC),
            &[("scope", "mcp:read")],
            NOW + 10,
        )
        .await;
    let (access, second) = answer.tokens();
    assert_eq!(answer.body["scope"], "mcp:read");
    assert_eq!(jwt_claims(&access)["scope"], "mcp:read");

    // Widening is refused, and the token is not consumed by the refusal.
    let second = second.unwrap();
    for wider in ["mcp:read mcp:admin", "mcp:admin"] {
        server
            .refresh(&second, Auth::Public(PUBLIC), &[("scope", wider)], NOW + 20)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    // The narrowed refresh keeps the grant's full scope for the next refresh.
    let answer = server
        .refresh(&second, Auth::Public(PUBLIC), &[], NOW + 30)
        .await;
    answer.tokens();
    assert_eq!(answer.body["scope"], "mcp:read mcp:tools");
}

#[tokio::test]
async fn refresh_resource_must_stay_the_same() {
    let server = Server::memory().await;
    let (_, first) = server.public_tokens().await;
    server
        .refresh(
            &first,
            Auth::Public(PUBLIC),
            &[("resource", OTHER_RESOURCE)],
            NOW + 10,
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_target");
    server
        .refresh(&first, Auth::Public(PUBLIC), &[], NOW + 10)
        .await
        .tokens();
}

#[tokio::test]
async fn refresh_is_bound_to_its_client_and_lifetime() {
    let server = Server::memory().await;
    let (_, first) = server.public_tokens().await;
    server
        .refresh(&first, Auth::Basic(BASIC, BASIC_SECRET), &[], NOW + 10)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Another client's attempt does not consume it.
    server
        .refresh(&first, Auth::Public(PUBLIC), &[], NOW + 10)
        .await
        .tokens();

    let (_, token) = server.public_tokens().await;
    server
        .refresh(&token, Auth::Public(PUBLIC), &[], NOW + 30 * DAY + 5)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    server
        .refresh("never-issued", Auth::Public(PUBLIC), &[], NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    server
        .token(
            request(&[("grant_type", "refresh_token")], Auth::Public(PUBLIC)),
            NOW,
        )
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn refresh_family_has_an_absolute_lifetime() {
    let server = Server::memory().await;
    let (_, mut token) = server.public_tokens().await;
    // Rotating every 25 days keeps each token fresh, but not past 90 days from the grant.
    for step in 1..=3 {
        let (_, next) = server
            .refresh(&token, Auth::Public(PUBLIC), &[], NOW + step * 25 * DAY)
            .await
            .tokens();
        token = next.unwrap();
    }
    server
        .refresh(&token, Auth::Public(PUBLIC), &[], NOW + 90 * DAY + 10)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn client_credentials_for_confidential_clients() {
    let server = Server::memory().await;
    let cc = [("grant_type", "client_credentials")];
    // Default: the client's registered scope, the first resource, the client as subject.
    let answer = server
        .token(request(&cc, Auth::Basic(BASIC, BASIC_SECRET)), NOW)
        .await;
    let (access, refresh) = answer.tokens();
    assert_eq!(refresh, None);
    assert_eq!(answer.body["scope"], "mcp:read mcp:tools");
    let claims = jwt_claims(&access);
    assert_eq!(
        (&claims["sub"], &claims["client_id"], &claims["aud"]),
        (&json!(BASIC), &json!(BASIC), &json!(RESOURCE))
    );

    // A narrower scope and another allowed resource.
    let params = [
        ("grant_type", "client_credentials"),
        ("scope", "mcp:read"),
        ("resource", OTHER_RESOURCE),
    ];
    let answer = server
        .token(request(&params, Auth::Basic(BASIC, BASIC_SECRET)), NOW)
        .await;
    let (access, _) = answer.tokens();
    assert_eq!(answer.body["scope"], "mcp:read");
    assert_eq!(jwt_claims(&access)["aud"], OTHER_RESOURCE);

    // Beyond the registered scope; an unknown resource.
    let params = [("grant_type", "client_credentials"), ("scope", "mcp:admin")];
    server
        .token(request(&params, Auth::Basic(BASIC, BASIC_SECRET)), NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_scope");
    let params = [
        ("grant_type", "client_credentials"),
        ("resource", "https://elsewhere.example/mcp"),
    ];
    server
        .token(request(&params, Auth::Basic(BASIC, BASIC_SECRET)), NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_target");

    // No registered scope: the server's supported scopes.
    let answer = server
        .token(request(&cc, Auth::Post(POST, POST_SECRET)), NOW)
        .await;
    answer.tokens();
    assert_eq!(answer.body["scope"], "mcp:admin mcp:read mcp:tools");
}

#[tokio::test]
async fn client_credentials_is_refused_to_public_clients() {
    let server = Server::memory().await;
    let cc = [("grant_type", "client_credentials")];
    // Registered for it, but public.
    server
        .token(request(&cc, Auth::Public(PUBLIC_CC)), NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    // Not registered for it.
    server
        .token(request(&cc, Auth::Public(PUBLIC)), NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn grants_the_client_did_not_register_are_refused() {
    let server = Server::memory().await;
    let (_, refresh) = server.public_tokens().await;
    server
        .refresh(&refresh, Auth::Post(POST, POST_SECRET), &[], NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    let code = server.code(PUBLIC_CC, Some(RESOURCE)).await;
    server
        .redeem(&code, Auth::Public(PUBLIC_CC))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn unsupported_or_missing_grant_type() {
    let server = Server::memory().await;
    for grant in [
        "password",
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        server
            .token(
                request(&[("grant_type", grant)], Auth::Basic(BASIC, BASIC_SECRET)),
                NOW,
            )
            .await
            .assert_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    server
        .token(request(&[], Auth::Basic(BASIC, BASIC_SECRET)), NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn malformed_requests() {
    let server = Server::memory().await;
    // A repeated parameter.
    let body = "grant_type=client_credentials&scope=mcp:read&scope=mcp:tools".to_owned();
    let basic = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{BASIC}:{BASIC_SECRET}")
        )
    );
    server
        .token(raw_request(Method::POST, body, Some(&basic)), NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    let body = "grant_type=client_credentials&grant_type=client_credentials".to_owned();
    server
        .token(raw_request(Method::POST, body, Some(&basic)), NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");

    // Not a form.
    let mut req = raw_request(
        Method::POST,
        r#"{"grant_type":"client_credentials"}"#.to_owned(),
        Some(&basic),
    );
    req.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    server
        .token(req, NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");

    // Not a POST.
    let answer = server
        .token(raw_request(Method::GET, String::new(), Some(&basic)), NOW)
        .await;
    answer.assert_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    assert_eq!(answer.headers[http::header::ALLOW], "POST");

    // A form with a charset parameter is a form.
    let mut req = raw_request(
        Method::POST,
        "grant_type=client_credentials".to_owned(),
        Some(&basic),
    );
    req.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-www-form-urlencoded; charset=UTF-8"),
    );
    server.token(req, NOW).await.tokens();
}

#[tokio::test]
async fn a_missing_code_is_an_invalid_request() {
    let server = Server::memory().await;
    for code in [None, Some("")] {
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        if let Some(code) = code {
            params.push(("code", code));
        }
        let answer = server
            .token(request(&params, Auth::Public(PUBLIC)), NOW)
            .await;
        answer.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
        assert_eq!(answer.body["error_description"], "code is required");
    }
}

/// The code is taken once ([`Store::take_code`]) and then checked: a redemption that fails a
/// check spends it (the check could only fail for someone who holds the code but not the rest
/// of the grant), so the right request afterwards is refused as well and nothing is issued.
///
/// [`Store::take_code`]: mcp_auth_server::store::Store::take_code
#[tokio::test]
async fn a_redemption_failing_its_checks_spends_the_code() {
    /// A redemption differing from the right one: `params` replace or (empty) remove its
    /// parameters.
    struct Attempt<'a> {
        params: &'a [(&'a str, &'a str)],
        auth: Auth<'a>,
        error: &'a str,
        description: &'a str,
    }
    const VERIFIER_MISMATCH: &str = "code_verifier is missing or does not match the code challenge";
    let server = Server::memory().await;
    let wrong_verifier = "x".repeat(43);
    let other_redirect = format!("{REDIRECT}/");
    let public = Auth::Public(PUBLIC);
    let attempts = [
        Attempt {
            params: &[("code_verifier", &wrong_verifier)],
            auth: public,
            error: "invalid_grant",
            description: VERIFIER_MISMATCH,
        },
        Attempt {
            params: &[("code_verifier", "")],
            auth: public,
            error: "invalid_grant",
            description: VERIFIER_MISMATCH,
        },
        Attempt {
            params: &[("redirect_uri", &other_redirect)],
            auth: public,
            error: "invalid_grant",
            description: "redirect_uri does not match the authorization request",
        },
        Attempt {
            params: &[("resource", OTHER_RESOURCE)],
            auth: public,
            error: "invalid_target",
            description: "the resource does not match the grant",
        },
        Attempt {
            params: &[],
            auth: Auth::Basic(BASIC, BASIC_SECRET),
            error: "invalid_grant",
            description: "the authorization code is invalid, expired or already used",
        },
    ];
    for attempt in attempts {
        let code = server.code(PUBLIC, Some(RESOURCE)).await;
        let mut params = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        for (name, value) in attempt.params {
            params.retain(|(n, _)| n != name);
            if !value.is_empty() {
                params.push((name, value));
            }
        }
        let answer = server.token(request(&params, attempt.auth), NOW).await;
        answer.assert_error(StatusCode::BAD_REQUEST, attempt.error);
        assert_eq!(answer.body["error_description"], attempt.description);
        assert!(answer.body.get("access_token").is_none());
        server
            .redeem(&code, public)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    // A control: the same redemption, right at the first try, succeeds.
    let code = server.code(PUBLIC, Some(RESOURCE)).await;
    server.redeem(&code, public).await.tokens();
}

#[tokio::test]
async fn malformed_scopes_are_invalid_scope_and_spend_nothing() {
    let server = Server::memory().await;
    let (_, refresh) = server.public_tokens().await;
    for malformed in ["mcp:read \"x\"", "mcp:read \\x"] {
        let answer = server
            .refresh(
                &refresh,
                Auth::Public(PUBLIC),
                &[("scope", malformed)],
                NOW + 10,
            )
            .await;
        answer.assert_error(StatusCode::BAD_REQUEST, "invalid_scope");
        assert_eq!(answer.body["error_description"], "the scope is malformed");
        let params = [("grant_type", "client_credentials"), ("scope", malformed)];
        let answer = server
            .token(request(&params, Auth::Basic(BASIC, BASIC_SECRET)), NOW)
            .await;
        answer.assert_error(StatusCode::BAD_REQUEST, "invalid_scope");
        assert_eq!(answer.body["error_description"], "the scope is malformed");
    }
    // The refresh token was not rotated by the refusals.
    server
        .refresh(&refresh, Auth::Public(PUBLIC), &[], NOW + 20)
        .await
        .tokens();
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused_without_being_spent() {
    let server = Server::memory().await;
    let (_, first) = server.public_tokens().await;
    let (_, second) = server
        .refresh(&first, Auth::Public(PUBLIC), &[], NOW + 10)
        .await
        .tokens();
    let second = second.unwrap();
    // The first one is spent; the second one expires 30 days after its rotation.
    let expired_at = NOW + 10 + 30 * DAY;
    let answer = server
        .refresh(&second, Auth::Public(PUBLIC), &[], expired_at)
        .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        answer.body["error_description"],
        "the refresh token is invalid, expired or revoked"
    );
    // The refusal spent nothing: a second earlier, the token is still redeemable.
    server
        .refresh(&second, Auth::Public(PUBLIC), &[], expired_at - 1)
        .await
        .tokens();
}
