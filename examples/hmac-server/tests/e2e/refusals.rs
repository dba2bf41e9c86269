//! Every refusal, with its exact status and `WWW-Authenticate` challenge.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcp_auth_core::{InvalidRequestReason, InvalidTokenReason};
use mcp_auth_testkit::{TokenFactory, now};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestServer, assert_accepted, assert_refused, initialize_body};

/// Asserts `token` is refused with 401 `invalid_token` for `reason`.
async fn assert_token_refused(server: &TestServer, token: &str, reason: InvalidTokenReason) {
    let response = server.post_initialize(Some(token)).await;
    assert_refused(
        response,
        StatusCode::UNAUTHORIZED,
        &server.invalid_token_challenge(reason),
    )
    .await;
}

/// Asserts `token` is accepted.
async fn assert_token_accepted(server: &TestServer, token: &str) {
    assert_accepted(server.post_initialize(Some(token)).await).await;
}

#[tokio::test]
async fn missing_token_is_401_with_metadata_and_scope() {
    let server = TestServer::start().await;
    let response = server.post_initialize(None).await;
    assert_refused(
        response,
        StatusCode::UNAUTHORIZED,
        &format!(
            r#"Bearer resource_metadata="{}/.well-known/oauth-protected-resource/mcp", scope="mcp:tools""#,
            server.origin
        ),
    )
    .await;
}

#[tokio::test]
async fn every_method_without_token_is_401_never_405() {
    let server = TestServer::start().await;
    for method in [
        Method::GET,
        Method::POST,
        Method::DELETE,
        Method::PUT,
        Method::PATCH,
        Method::OPTIONS,
        Method::HEAD,
    ] {
        let response = server
            .mcp_request(method.clone(), "", None)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method}");
        assert_eq!(
            response.headers().get("www-authenticate").unwrap(),
            server.missing_token_challenge().as_str(),
            "{method}"
        );
    }
}

#[tokio::test]
async fn valid_token_is_accepted() {
    let server = TestServer::start().await;
    let token = server.tokens.claims().scope("mcp:tools").sign();
    assert_token_accepted(&server, &token).await;
}

#[tokio::test]
async fn alg_none_in_every_casing_is_refused() {
    let server = TestServer::start().await;
    for alg in ["none", "None", "NONE", "nOnE"] {
        // No signature at all.
        let unsigned = server.tokens.claims().unsigned(alg);
        assert!(unsigned.ends_with('.'), "{unsigned}");
        assert_token_refused(&server, &unsigned, InvalidTokenReason::DisallowedAlgorithm).await;
        // A signature made with the right secret over the `none` header.
        let signed = server
            .tokens
            .claims()
            .raw_header(json!({"alg": alg, "typ": "JWT"}))
            .sign();
        assert!(!signed.ends_with('.'), "{signed}");
        assert_token_refused(&server, &signed, InvalidTokenReason::DisallowedAlgorithm).await;
        // Some junk signature.
        let junk = format!("{unsigned}c2lnbmF0dXJl");
        assert_token_refused(&server, &junk, InvalidTokenReason::DisallowedAlgorithm).await;
    }
}

#[tokio::test]
async fn tampered_payload_is_refused() {
    let server = TestServer::start().await;
    let token = server.tokens.claims().subject("alice").sign();
    let forged_claims = server
        .tokens
        .claims()
        .subject("admin")
        .scope("mcp:tools greet")
        .claims_json();
    let parts: Vec<&str> = token.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged_claims.to_string()),
        parts[2]
    );
    assert_token_refused(&server, &tampered, InvalidTokenReason::BadSignature).await;
}

#[tokio::test]
async fn wrong_secret_is_refused() {
    let server = TestServer::start().await;
    let other = TokenFactory::hs256(
        b"another-secret-of-at-least-32-bytes-long!!",
        &server.resource,
    );
    let token = other.claims().scope("mcp:tools").sign();
    assert_token_refused(&server, &token, InvalidTokenReason::BadSignature).await;
}

#[tokio::test]
async fn expiry_honours_the_default_leeway_on_both_sides() {
    let server = TestServer::start().await;
    // Leeway 60 s: 50 s past exp is still accepted (10 s of margin for the clock to tick)...
    let inside = server.tokens.claims().exp_in(-50).sign();
    assert_token_accepted(&server, &inside).await;
    // ...70 s past exp is not.
    let outside = server.tokens.claims().exp_in(-70).sign();
    assert_token_refused(&server, &outside, InvalidTokenReason::Expired).await;
}

#[tokio::test]
async fn missing_or_mistyped_exp_is_refused() {
    let server = TestServer::start().await;
    let token = server.tokens.claims().remove("exp").sign();
    assert_token_refused(&server, &token, InvalidTokenReason::MissingClaim("exp")).await;
    let token = server
        .tokens
        .claims()
        .set("exp", json!((now() + 3600).to_string()))
        .sign();
    assert_token_refused(&server, &token, InvalidTokenReason::MissingClaim("exp")).await;
}

#[tokio::test]
async fn nbf_in_the_future_is_refused_beyond_the_leeway() {
    let server = TestServer::start().await;
    let later = server.tokens.claims().set("nbf", json!(now() + 120)).sign();
    assert_token_refused(&server, &later, InvalidTokenReason::NotYetValid).await;
    let within = server.tokens.claims().set("nbf", json!(now() + 30)).sign();
    assert_token_accepted(&server, &within).await;
}

#[tokio::test]
async fn iat_in_the_future_is_refused_beyond_the_leeway() {
    let server = TestServer::start().await;
    let later = server.tokens.claims().set("iat", json!(now() + 120)).sign();
    assert_token_refused(&server, &later, InvalidTokenReason::IssuedInFuture).await;
    let within = server.tokens.claims().set("iat", json!(now() + 30)).sign();
    assert_token_accepted(&server, &within).await;
}

#[tokio::test]
async fn audience_must_name_this_resource() {
    let server = TestServer::start().await;
    let missing = server.tokens.claims().remove("aud").sign();
    assert_token_refused(&server, &missing, InvalidTokenReason::MissingClaim("aud")).await;
    let wrong = server
        .tokens
        .claims()
        .set("aud", json!("http://127.0.0.1:1/mcp"))
        .sign();
    assert_token_refused(&server, &wrong, InvalidTokenReason::Audience).await;
    let wrong_list = server
        .tokens
        .claims()
        .set("aud", json!(["https://a.example", "https://b.example"]))
        .sign();
    assert_token_refused(&server, &wrong_list, InvalidTokenReason::Audience).await;
    let number = server.tokens.claims().set("aud", json!(42)).sign();
    assert_token_refused(&server, &number, InvalidTokenReason::MissingClaim("aud")).await;
    let with_number = server
        .tokens
        .claims()
        .set("aud", json!([server.resource, 42]))
        .sign();
    assert_token_refused(
        &server,
        &with_number,
        InvalidTokenReason::MissingClaim("aud"),
    )
    .await;
    let empty = server.tokens.claims().set("aud", json!([])).sign();
    assert_token_refused(&server, &empty, InvalidTokenReason::MissingClaim("aud")).await;
    // The resource among others is fine.
    let listed = server
        .tokens
        .claims()
        .set("aud", json!(["https://a.example", server.resource]))
        .sign();
    assert_token_accepted(&server, &listed).await;
}

#[tokio::test]
async fn issuer_must_match_when_configured() {
    let server = TestServer::start_with_issuer().await;
    let good = server.tokens.claims().sign();
    assert_token_accepted(&server, &good).await;
    let wrong = server
        .tokens
        .claims()
        .set("iss", json!("https://evil.example"))
        .sign();
    assert_token_refused(&server, &wrong, InvalidTokenReason::Issuer).await;
    let missing = server.tokens.claims().remove("iss").sign();
    assert_token_refused(&server, &missing, InvalidTokenReason::MissingClaim("iss")).await;
    let mistyped = server.tokens.claims().set("iss", json!(7)).sign();
    assert_token_refused(&server, &mistyped, InvalidTokenReason::MissingClaim("iss")).await;
}

#[tokio::test]
async fn missing_subject_is_refused() {
    let server = TestServer::start().await;
    let token = server.tokens.claims().remove("sub").sign();
    assert_token_refused(&server, &token, InvalidTokenReason::MissingClaim("sub")).await;
}

#[tokio::test]
async fn crit_header_is_refused() {
    let server = TestServer::start().await;
    let token = server
        .tokens
        .claims()
        .raw_header(json!({"alg": "HS256", "crit": ["exp"]}))
        .sign();
    assert_token_refused(&server, &token, InvalidTokenReason::CriticalHeader).await;
}

#[tokio::test]
async fn oversized_token_is_refused() {
    let server = TestServer::start().await;
    let token = server
        .tokens
        .claims()
        .set("padding", json!("x".repeat(8192)))
        .sign();
    assert!(token.len() > 8192, "{}", token.len());
    assert_token_refused(&server, &token, InvalidTokenReason::TooLong).await;
}

#[tokio::test]
async fn malformed_tokens_are_refused() {
    let server = TestServer::start().await;
    for token in [
        "not-a-jwt",
        "a.b.c",
        "e30.e30",
        "e30.e30.c2ln.e30.c2ln",
        // A JSON header that is not an object.
        "WzFd.e30.c2ln",
    ] {
        assert_token_refused(&server, token, InvalidTokenReason::Malformed).await;
    }
}

#[tokio::test]
async fn header_that_is_not_a_json_object_is_refused() {
    // RFC 7515 section 4: the JOSE header is a JSON object. An array that a lenient decoder could
    // map onto the header fields must not pass, even when signed with the right secret.
    let server = TestServer::start().await;
    let sign_with_header = |header: serde_json::Value| {
        let claims = server.tokens.claims().scope("mcp:tools").claims_json();
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = jsonwebtoken::crypto::sign(
            signing_input.as_bytes(),
            &jsonwebtoken::EncodingKey::from_secret(mcp_auth_testkit::TEST_SECRET),
            jsonwebtoken::Algorithm::HS256,
        )
        .unwrap();
        format!("{signing_input}.{signature}")
    };
    // Control: the same construction with an object header passes.
    assert_token_accepted(&server, &sign_with_header(json!({"alg": "HS256"}))).await;
    for header in [
        json!(["HS256", null, null, null]),
        json!(["HS256"]),
        json!("HS256"),
    ] {
        let token = sign_with_header(header);
        assert_token_refused(&server, &token, InvalidTokenReason::Malformed).await;
    }
}

#[tokio::test]
async fn two_authorization_headers_are_400() {
    let server = TestServer::start().await;
    let token = server.tokens.claims().sign();
    let response = server
        .mcp_request(Method::POST, "", Some(&token))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(CONTENT_TYPE, "application/json")
        .body(initialize_body().to_string())
        .send()
        .await
        .unwrap();
    assert_refused(
        response,
        StatusCode::BAD_REQUEST,
        &server.invalid_request_challenge(InvalidRequestReason::DuplicateAuthorization),
    )
    .await;
}

#[tokio::test]
async fn non_bearer_schemes_are_400() {
    let server = TestServer::start().await;
    for value in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Token abc"] {
        let response = server
            .mcp_request(Method::POST, "", None)
            .header(AUTHORIZATION, value)
            .header(CONTENT_TYPE, "application/json")
            .body(initialize_body().to_string())
            .send()
            .await
            .unwrap();
        assert_refused(
            response,
            StatusCode::BAD_REQUEST,
            &server.invalid_request_challenge(InvalidRequestReason::MalformedAuthorization),
        )
        .await;
    }
}

#[tokio::test]
async fn token_in_query_is_400_with_or_without_header() {
    let server = TestServer::start().await;
    let token = server.tokens.claims().scope("mcp:tools").sign();
    let query = format!("?access_token={token}");
    for header in [None, Some(token.as_str())] {
        let response = server
            .mcp_request(Method::POST, &query, header)
            .header(CONTENT_TYPE, "application/json")
            .body(initialize_body().to_string())
            .send()
            .await
            .unwrap();
        assert_refused(
            response,
            StatusCode::BAD_REQUEST,
            &server.invalid_request_challenge(InvalidRequestReason::TokenInQuery),
        )
        .await;
    }
}

#[tokio::test]
async fn token_in_query_under_a_percent_encoded_name_is_400() {
    // RFC 3986 section 6.2.2.2: percent-encoded unreserved characters are equivalent to the
    // characters themselves, so each of these names is `access_token` to a form decoder.
    let server = TestServer::start().await;
    let token = server.tokens.claims().scope("mcp:tools").sign();
    let mut accepted = Vec::new();
    for name in [
        "access%5Ftoken",
        "access%5ftoken",
        "%61ccess_token",
        "access_toke%6E",
        "%61%63%63%65%73%73%5F%74%6F%6B%65%6E",
    ] {
        let response = server
            .mcp_request(Method::POST, &format!("?{name}={token}"), Some(&token))
            .header(CONTENT_TYPE, "application/json")
            .body(initialize_body().to_string())
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::BAD_REQUEST {
            assert_refused(
                response,
                StatusCode::BAD_REQUEST,
                &server.invalid_request_challenge(InvalidRequestReason::TokenInQuery),
            )
            .await;
        } else {
            accepted.push(format!("{name} -> {}", response.status()));
        }
    }
    assert!(
        accepted.is_empty(),
        "query names not refused as access_token: {accepted:?}"
    );
}
