//! A complete authorization code flow through `handle`: register, authorize (login, consent),
//! redeem the code, validate the access token in process, refresh.

use std::collections::BTreeMap;

use http::StatusCode;
use http::header::LOCATION;
use mcp_auth_core::BearerToken;
use mcp_auth_server::http::Response;
use serde_json::json;

use crate::server::support::{ISSUER, Jar, PASSWORD, RESOURCE, Server, USERNAME, body, csrf};

const REDIRECT: &str = "https://app.example.com/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The query parameters of a redirect's `Location`.
fn location_params(response: &Response) -> BTreeMap<String, String> {
    let location = response.headers()[LOCATION].to_str().unwrap();
    let url = url::Url::parse(location).unwrap();
    assert_eq!(
        format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap(),
            url.path()
        ),
        REDIRECT
    );
    url.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn register_authorize_token_validate_refresh() {
    let server = Server::start().await;

    // 1. Dynamic registration of a public client.
    let registered = server
        .post_json(
            "/register",
            &json!({
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "client_name": "Flow test",
            }),
        )
        .await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let client_id = body(&registered)["client_id"].as_str().unwrap().to_owned();

    // 2. The authorization request: the login page.
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "xyz"),
            ("scope", "mcp:tools"),
            ("resource", RESOURCE),
        ])
        .finish();
    let mut jar = Jar::default();
    let login_page = server.get(&format!("/authorize?{query}")).await;
    assert_eq!(login_page.status(), StatusCode::OK);
    jar.store(&login_page);
    let token = csrf(&login_page);

    // 3. Sign in: back to the endpoint, which shows the consent page.
    let cookie = jar.header();
    let signed_in = server
        .post_form_with(
            "/authorize",
            &[
                ("username", USERNAME),
                ("password", PASSWORD),
                ("csrf", &token),
            ],
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()[LOCATION], "/authorize");
    jar.store(&signed_in);
    let cookie = jar.header();
    let consent_page = server
        .call("GET", "/authorize", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(consent_page.status(), StatusCode::OK);
    assert!(
        std::str::from_utf8(consent_page.body())
            .unwrap()
            .contains("Flow test")
    );
    let token = csrf(&consent_page);

    // 4. Consent: redirected to the client with a code, its state and our issuer.
    let allowed = server
        .post_form_with(
            "/authorize",
            &[("decision", "allow"), ("csrf", &token)],
            &[("cookie", &cookie)],
        )
        .await;
    assert_eq!(allowed.status(), StatusCode::SEE_OTHER);
    let params = location_params(&allowed);
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], ISSUER);
    let code = params["code"].clone();

    // 5. Redeem the code.
    let tokens = server
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", &client_id),
                ("code_verifier", VERIFIER),
                ("resource", RESOURCE),
            ],
        )
        .await;
    assert_eq!(tokens.status(), StatusCode::OK, "{:?}", body(&tokens));
    assert_eq!(tokens.headers()["access-control-allow-origin"], "*");
    let answer = body(&tokens);
    assert_eq!(answer["token_type"], "Bearer");
    let access = answer["access_token"].as_str().unwrap().to_owned();
    let refresh = answer["refresh_token"].as_str().unwrap().to_owned();

    // 6. The MCP endpoint's validator accepts it, for this resource only.
    let validator = server.server.validator(RESOURCE);
    let principal = validator
        .validate(&BearerToken::new(access.clone()))
        .await
        .unwrap();
    assert_eq!(principal.subject(), USERNAME);
    assert_eq!(principal.client_id(), Some(client_id.as_str()));
    assert!(principal.has_scope("mcp:tools"));
    assert!(
        server
            .server
            .validator("https://other.example.com/mcp")
            .validate(&BearerToken::new(access))
            .await
            .is_err()
    );

    // 7. Refresh: a new access token (valid) and a rotated refresh token.
    let refreshed = server
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", &client_id),
            ],
        )
        .await;
    let answer = body(&refreshed);
    assert_eq!(refreshed.status(), StatusCode::OK, "{answer:?}");
    let new_refresh = answer["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, refresh);
    let access = answer["access_token"].as_str().unwrap().to_owned();
    let principal = validator.validate(&BearerToken::new(access)).await.unwrap();
    assert_eq!(principal.subject(), USERNAME);
    // 8. The code is single use; its replay revokes the grant (OAuth 2.1 section 4.1.3).
    let replay = server
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", &client_id),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(&replay)["error"], "invalid_grant");

    let revoked = server
        .post_form(
            "/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &new_refresh),
                ("client_id", &client_id),
            ],
        )
        .await;
    assert_eq!(body(&revoked)["error"], "invalid_grant");
}
