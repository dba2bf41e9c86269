//! The authorization-server cases, one per endpoint or behaviour of the mount. Each starts
//! the server it needs and asserts exact answers; [`super::compare`] additionally checks that
//! two adapters answered identically.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::future::LocalBoxFuture;
use reqwest::Method;
use serde_json::{Value, json};

use super::expect::{
    self, BASIC_CHALLENGE, CSP, CSP_WITH_REDIRECT_ORIGIN, Cors, REQUEST_COOKIE, SESSION_COOKIE,
    oauth_error, set_cookie,
};
use super::{
    CODE_CHALLENGE, CODE_VERIFIER, CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET, Case, Harness, NOW,
    PASSWORD, PUBLIC_CLIENT, REDIRECT_URI, Scenario, TENANT_ISSUER, USERNAME,
};
use crate::conformance::harness::form_encode;
use crate::conformance::{Exchange, RESOURCE_URI, Req, Server};
use crate::oidc::TestKey;

/// The `state` of every authorization request.
const STATE: &str = "xyz-42";
/// The issuer as the `iss` parameter of a redirect (RFC 9207), form-encoded.
const ISS_PARAM: &str = "iss=https%3A%2F%2Fauth.example.com";
/// The body limit of the mount (`mcp_auth_server::http::MAX_BODY`), written out.
const MAX_BODY: usize = 64 * 1024;

fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// A valid authorization request of `client_id`: code, PKCE `S256`, `state`, scope
/// `mcp:tools`, the resource.
fn request_params(client_id: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT_URI),
        ("code_challenge", CODE_CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", STATE),
        ("scope", "mcp:tools"),
        ("resource", RESOURCE_URI),
    ]
}

/// [`request_params`] with `name` left out (`None`) or replaced.
fn request_with(client_id: &str, name: &str, value: Option<&str>) -> String {
    let params: Vec<(&str, &str)> = request_params(client_id)
        .into_iter()
        .filter_map(|(n, v)| match (n == name, value) {
            (false, _) => Some((n, v)),
            (true, Some(replaced)) => Some((n, replaced)),
            (true, None) => None,
        })
        .collect();
    with_query("/authorize", &params)
}

/// The value `ex` sets for cookie `name`, named as a placeholder.
fn cookie(h: &Harness<'_>, ex: &Exchange, name: &str) -> String {
    let prefix = format!("{name}=");
    let value = ex
        .all("set-cookie")
        .iter()
        .find_map(|c| c.strip_prefix(&prefix))
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("{}: no cookie {name}\n{ex:?}", ex.label))
        .to_owned();
    h.placeholder(name, &value);
    value
}

/// The CSRF token of the form on the page `ex`, named as a placeholder.
fn csrf(h: &Harness<'_>, ex: &Exchange) -> String {
    let text = ex.text();
    let marker = r#"<input type="hidden" name="csrf" value=""#;
    let value = text
        .split_once(marker)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(value, _)| value.to_owned())
        .unwrap_or_else(|| panic!("{}: no CSRF field\n{text}", ex.label));
    h.placeholder("csrf", &value);
    value
}

/// The code of the redirect `ex`, named as placeholder `name`.
fn redirect_code(h: &Harness<'_>, ex: &Exchange, name: &str) -> String {
    let prefix = format!("{REDIRECT_URI}?code=");
    let value = ex
        .header("location")
        .and_then(|location| location.strip_prefix(&prefix))
        .and_then(|rest| rest.split('&').next())
        .unwrap_or_else(|| panic!("{}: no code\n{ex:?}", ex.label))
        .to_owned();
    h.placeholder(name, &value);
    value
}

/// The string member `member` of the JSON body of `ex`, named as placeholder `name`.
fn secret_member(h: &Harness<'_>, ex: &Exchange, member: &str, name: &str) -> String {
    let body: Value = serde_json::from_slice(&ex.body).unwrap_or_default();
    let value = body[member]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no {member}\n{ex:?}", ex.label))
        .to_owned();
    h.placeholder(name, &value);
    value
}

/// The decoded header and claims of a JWT.
fn jwt_parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut decode = || {
        parts
            .next()
            .and_then(|part| URL_SAFE_NO_PAD.decode(part).ok())
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .unwrap_or_else(|| panic!("not a JWT: {token}"))
    };
    (decode(), decode())
}

/// The `kid` of [`TestKey::Ed25519`]: its RFC 7638 thumbprint.
const KID: &str = "4Am-LXaZBzJcNp5KMKIEgbPASaOOX4cy75HRkP2MV_4";

/// Asserts an access token minted by the scenario's server for `client_id` and `subject`.
fn assert_access_token(token: &str, client_id: &str, subject: &str, scope: &str) {
    let (header, claims) = jwt_parts(token);
    assert_eq!(
        header,
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": KID}),
        "{token}"
    );
    assert_eq!(claims["iss"], "https://auth.example.com");
    assert_eq!(claims["sub"], subject);
    assert_eq!(claims["aud"], RESOURCE_URI);
    assert_eq!(claims["client_id"], client_id);
    assert_eq!(claims["scope"], scope);
    assert_eq!(claims["iat"], NOW);
    assert_eq!(claims["exp"], NOW + 3600);
}

/// Asserts the body of `ex` is [`JWKS`], member order aside: the server builds the key as a
/// `serde_json::Value`, whose member order follows serde_json's `preserve_order` feature, which
/// any crate of a build may turn on. Both adapters of one build still answer byte for byte
/// alike ([`super::compare`]).
fn assert_jwks(ex: &Exchange) {
    let served: Value = serde_json::from_slice(&ex.body).unwrap_or_default();
    let expected: Value = serde_json::from_str(JWKS).unwrap_or_default();
    assert_eq!(served, expected, "{}\n{ex:?}", ex.label);
    assert!(expected["keys"].is_array());
}

/// Asserts `ex` is a public JSON document: 200, `Cache-Control: cache_control`, open to any
/// origin; `HEAD` without the body.
fn assert_public_document(ex: &Exchange, cache_control: &str) {
    let label = &ex.label;
    assert_eq!(ex.status, 200, "{label}\n{ex:?}");
    assert_eq!(
        ex.header("content-type"),
        Some("application/json"),
        "{label}"
    );
    assert_eq!(ex.header("cache-control"), Some(cache_control), "{label}");
    assert_eq!(ex.header("pragma"), None, "{label}");
    assert!(ex.all("www-authenticate").is_empty(), "{label}");
    expect::assert_cors(ex, Cors::Any);
}

/// Signs [`USERNAME`] in and allows `client_id`, asserting every step: the code and the
/// login session cookie.
async fn sign_in_and_allow(
    h: &Harness<'_>,
    server: &Server<'_>,
    client_id: &str,
) -> (String, String) {
    let ex = server
        .send(Req::get(&with_query(
            "/authorize",
            &request_params(client_id),
        )))
        .await;
    let request_cookie = cookie(h, &ex, REQUEST_COOKIE);
    let token = csrf(h, &ex);
    expect::page(&ex, 200, CSP_WITH_REDIRECT_ORIGIN, &["<h1>Sign in</h1>"]);
    let pending = [(REQUEST_COOKIE, request_cookie.as_str())];

    let ex = server
        .send(Req::post("/authorize").cookies(&pending).form(&[
            ("csrf", &token),
            ("username", USERNAME),
            ("password", PASSWORD),
        ]))
        .await;
    let session = cookie(h, &ex, SESSION_COOKIE);
    expect::redirect(&ex, 303, "/authorize");
    assert_eq!(
        ex.all("set-cookie"),
        &[set_cookie(SESSION_COOKIE, &session, 600)][..]
    );
    let both = [
        (REQUEST_COOKIE, request_cookie.as_str()),
        (SESSION_COOKIE, session.as_str()),
    ];

    let ex = server.send(Req::get("/authorize").cookies(&both)).await;
    expect::page(
        &ex,
        200,
        CSP_WITH_REDIRECT_ORIGIN,
        &[
            "<h1>Authorize <strong>",
            "<li><code>mcp:tools</code></li>",
            &format!("<p>On: <code>{RESOURCE_URI}</code></p>"),
            &format!(r#"<input type="hidden" name="csrf" value="{token}">"#),
            r#"<button type="submit" name="decision" value="allow">Allow</button>"#,
        ],
    );
    assert!(ex.all("set-cookie").is_empty(), "{ex:?}");

    let ex = server
        .send(
            Req::post("/authorize")
                .cookies(&both)
                .form(&[("csrf", &token), ("decision", "allow")]),
        )
        .await;
    let code = redirect_code(h, &ex, "code");
    expect::redirect(
        &ex,
        303,
        &format!("{REDIRECT_URI}?code={code}&state={STATE}&{ISS_PARAM}"),
    );
    assert_eq!(
        ex.all("set-cookie"),
        &[set_cookie(REQUEST_COOKIE, "", 0)][..]
    );
    (code, session)
}

/// The token request redeeming `code` for the public client.
fn redeem(code: &str) -> Req {
    Req::post("/token").form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", CODE_VERIFIER),
        ("client_id", PUBLIC_CLIENT),
    ])
}

cases! {
    /// Both metadata documents at the issuer's well-known paths: 200, public, cacheable, open
    /// to any origin, byte for byte the documents below; `HEAD` without the body.
    async fn metadata_documents(h) {
        let server = h.start(&Scenario::new()).await;
        for (path, document) in [
            ("/.well-known/oauth-authorization-server", OAUTH_METADATA),
            ("/.well-known/openid-configuration", OPENID_METADATA),
        ] {
            let ex = server
                .send(Req::get(path).header("origin", "https://app.example.com"))
                .await;
            assert_public_document(&ex, "public, max-age=3600");
            assert_eq!(ex.text(), document, "{path}");
            let ex = server.send(Req::new(Method::HEAD, path)).await;
            assert_public_document(&ex, "public, max-age=3600");
            assert!(ex.body.is_empty(), "{ex:?}");
        }
    }

    /// An issuer with a path: the documents at the RFC 8414 path-inserted locations and the
    /// OpenID Connect path-appended one, naming endpoints under the path, which answer.
    async fn metadata_for_an_issuer_with_a_path(h) {
        let server = h.start(&Scenario::new().with_issuer(TENANT_ISSUER)).await;
        for path in [
            "/.well-known/oauth-authorization-server/tenant",
            "/.well-known/openid-configuration/tenant",
            "/tenant/.well-known/openid-configuration",
        ] {
            let ex = server.send(Req::get(path)).await;
            assert_public_document(&ex, "public, max-age=3600");
            let document: Value = serde_json::from_slice(&ex.body).unwrap_or_default();
            assert_eq!(document["issuer"], TENANT_ISSUER, "{path}");
            assert_eq!(
                document["token_endpoint"],
                "https://auth.example.com/tenant/token",
                "{path}"
            );
            assert_eq!(
                document["jwks_uri"],
                "https://auth.example.com/tenant/jwks.json",
                "{path}"
            );
        }
        let ex = server.send(Req::get("/tenant/jwks.json")).await;
        assert_public_document(&ex, "public, max-age=300");
        assert_jwks(&ex);
        let ex = server
            .send(Req::post("/tenant/token").form(&[("grant_type", "password")]))
            .await;
        expect::json_with(
            &ex,
            401,
            Cors::Any,
            None,
            None,
            &oauth_error("invalid_client", "client authentication failed"),
        );
    }

    /// The JWK Set: the fixed Ed25519 key, 200, cacheable for 5 minutes, open to any origin.
    async fn jwks_document(h) {
        let server = h.start(&Scenario::new()).await;
        let ex = server.send(Req::get("/jwks.json")).await;
        assert_public_document(&ex, "public, max-age=300");
        assert_jwks(&ex);
        let jwks: Value = serde_json::from_slice(&ex.body).unwrap_or_default();
        assert_eq!(jwks["keys"][0]["x"], TestKey::Ed25519.jwk()["x"]);
        let ex = server.send(Req::new(Method::HEAD, "/jwks.json")).await;
        assert_public_document(&ex, "public, max-age=300");
        assert!(ex.body.is_empty(), "{ex:?}");
    }

    /// Dynamic registration (RFC 7591): a public and a confidential client get 201 with their
    /// information; a bad redirect URI, another content type and malformed JSON get 400.
    async fn register_and_its_refusals(h) {
        let server = h.start(&Scenario::new()).await;
        let public = json!({
            "client_name": "Conformance app",
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
        });
        let ex = server.send(Req::post("/register").json(&public)).await;
        let client_id = secret_member(h, &ex, "client_id", "public_client_id");
        assert!(client_id.starts_with("mcp_"), "{client_id}");
        expect::json(
            &ex,
            201,
            Cors::Any,
            &REGISTERED_PUBLIC.replace("<client_id>", &client_id),
        );

        let confidential = json!({"redirect_uris": ["https://app.example.com/callback"]});
        let ex = server.send(Req::post("/register").json(&confidential)).await;
        let client_id = secret_member(h, &ex, "client_id", "confidential_client_id");
        let secret = secret_member(h, &ex, "client_secret", "client_secret");
        expect::json(
            &ex,
            201,
            Cors::Any,
            &REGISTERED_CONFIDENTIAL
                .replace("<client_id>", &client_id)
                .replace("<client_secret>", &secret),
        );

        for (req, body) in [
            (
                Req::post("/register").json(&json!({"redirect_uris": ["ftp://app.example.com/cb"]})),
                oauth_error("invalid_redirect_uri", INVALID_REDIRECT_URI),
            ),
            (
                Req::post("/register")
                    .header("content-type", "text/plain")
                    .body(public.to_string())
                    .note("text/plain"),
                oauth_error("invalid_client_metadata", MALFORMED_REGISTRATION),
            ),
            (
                Req::post("/register")
                    .header("content-type", "application/json")
                    .body(r#"{"redirect_uris": ["#)
                    .note("malformed JSON"),
                oauth_error("invalid_client_metadata", MALFORMED_REGISTRATION),
            ),
        ] {
            let ex = server.send(req).await;
            expect::json(&ex, 400, Cors::Any, &body);
        }
    }

    /// A valid authorization request without a login session: the login page, with the
    /// client's name escaped, a CSRF field and the pending request's cookie.
    async fn authorize_login_page(h) {
        let server = h.start(&Scenario::new()).await;
        let ex = server
            .send(Req::get(&with_query("/authorize", &request_params(PUBLIC_CLIENT))))
            .await;
        let request_cookie = cookie(h, &ex, REQUEST_COOKIE);
        let token = csrf(h, &ex);
        expect::page(
            &ex,
            200,
            CSP_WITH_REDIRECT_ORIGIN,
            &[
                "<title>Sign in</title>",
                "<p>to continue to <strong>Conformance &lt;Public&gt;</strong></p>",
                r#"<form method="post" action="/authorize">"#,
                &format!(r#"<input type="hidden" name="csrf" value="{token}">"#),
                r#"<input id="password" name="password" type="password""#,
            ],
        );
        assert_eq!(token.len(), 43, "256 bits in base64url");
        assert_eq!(
            ex.all("set-cookie"),
            &[set_cookie(REQUEST_COOKIE, &request_cookie, 600)][..]
        );
    }

    /// Before the client and redirect URI are verified, errors are a 400 page, never a
    /// redirect, and set no cookie.
    async fn authorize_unknown_client_is_a_page(h) {
        let server = h.start(&Scenario::new()).await;
        for (path, message) in [
            (
                with_query("/authorize", &request_params("nobody")),
                "The client is unknown.",
            ),
            (
                request_with(PUBLIC_CLIENT, "client_id", None),
                "The client_id parameter is missing.",
            ),
            (
                request_with(PUBLIC_CLIENT, "redirect_uri", Some("https://evil.example.com/cb")),
                "The redirect_uri is not registered for this client.",
            ),
        ] {
            let ex = server.send(Req::get(&path)).await;
            expect::page(
                &ex,
                400,
                CSP,
                &[
                    "<title>Authorization failed</title>",
                    &format!(r#"<p class="error" role="alert">{message}</p>"#),
                ],
            );
            assert!(ex.all("set-cookie").is_empty(), "{ex:?}");
        }
    }

    /// Once the redirect URI is verified, errors (PKCE, response type, scope, resource)
    /// redirect to it with `error`, `error_description`, `state` and `iss`.
    async fn authorize_bad_pkce_redirects(h) {
        let server = h.start(&Scenario::new()).await;
        for (path, error) in [
            (
                request_with(PUBLIC_CLIENT, "code_challenge", None),
                "error=invalid_request&error_description=PKCE+is+required%3A+code_challenge+is+missing.",
            ),
            (
                request_with(PUBLIC_CLIENT, "code_challenge_method", Some("plain")),
                "error=invalid_request&error_description=PKCE+code_challenge_method+must+be+S256.",
            ),
            (
                request_with(PUBLIC_CLIENT, "code_challenge", Some("short")),
                "error=invalid_request&error_description=The+code_challenge+is+malformed.",
            ),
            (
                request_with(PUBLIC_CLIENT, "response_type", Some("token")),
                "error=unsupported_response_type&error_description=Only+the+code+response+type+is+supported.",
            ),
            (
                request_with(PUBLIC_CLIENT, "scope", Some("admin")),
                "error=invalid_scope&error_description=A+requested+scope+is+not+supported.",
            ),
            (
                request_with(PUBLIC_CLIENT, "resource", Some("https://elsewhere.example.com/mcp")),
                "error=invalid_target&error_description=The+requested+resource+is+not+served+by+this+authorization+server.",
            ),
        ] {
            let ex = server.send(Req::get(&path)).await;
            expect::redirect(
                &ex,
                302,
                &format!("{REDIRECT_URI}?{error}&state={STATE}&{ISS_PARAM}"),
            );
            assert!(ex.all("set-cookie").is_empty(), "{ex:?}");
        }
    }

    /// A form posted without the pending request's cookie and CSRF token is 403 and changes
    /// nothing; a repeated field is 400.
    async fn authorize_post_without_csrf_is_403(h) {
        let server = h.start(&Scenario::new()).await;
        let ex = server
            .send(Req::get(&with_query("/authorize", &request_params(PUBLIC_CLIENT))))
            .await;
        let request_cookie = cookie(h, &ex, REQUEST_COOKIE);
        let token = csrf(h, &ex);
        let pending = [(REQUEST_COOKIE, request_cookie.as_str())];
        let login = [("username", USERNAME), ("password", PASSWORD)];
        let expired = "This form has expired or did not come from this site. Start again from the application.";
        for req in [
            Req::post("/authorize").form(&login).note("no cookie, no csrf"),
            Req::post("/authorize")
                .form(&[("csrf", &token), ("username", USERNAME), ("password", PASSWORD)])
                .note("no cookie"),
            Req::post("/authorize").cookies(&pending).form(&login).note("no csrf"),
            Req::post("/authorize")
                .cookies(&pending)
                .form(&[("csrf", "forged"), ("username", USERNAME), ("password", PASSWORD)])
                .note("forged csrf"),
        ] {
            let ex = server.send(req).await;
            expect::page(&ex, 403, CSP, &[&format!(r#"<p class="error" role="alert">{expired}</p>"#)]);
            assert!(ex.all("set-cookie").is_empty(), "{ex:?}");
        }
        let ex = server
            .send(
                Req::post("/authorize")
                    .cookies(&pending)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(format!("csrf={token}&csrf={token}"))
                    .note("repeated csrf"),
            )
            .await;
        expect::page(&ex, 400, CSP, &["A form field is repeated."]);
        // The pending request survived: the genuine form still signs in.
        let ex = server
            .send(Req::post("/authorize").cookies(&pending).form(&[
                ("csrf", &token),
                ("username", USERNAME),
                ("password", PASSWORD),
            ]))
            .await;
        cookie(h, &ex, SESSION_COOKIE);
        expect::redirect(&ex, 303, "/authorize");
    }

    /// Failed logins show the login page again with a fixed message; after five failures for
    /// one username the login is throttled: a 429 page with `Retry-After`.
    async fn authorize_login_failures_and_throttle(h) {
        let server = h.start(&Scenario::new()).await;
        let ex = server
            .send(Req::get(&with_query("/authorize", &request_params(PUBLIC_CLIENT))))
            .await;
        let request_cookie = cookie(h, &ex, REQUEST_COOKIE);
        let token = csrf(h, &ex);
        let pending = [(REQUEST_COOKIE, request_cookie.as_str())];
        let ex = server
            .send(
                Req::post("/authorize")
                    .cookies(&pending)
                    .form(&[("csrf", &token), ("username", USERNAME)]),
            )
            .await;
        expect::page(
            &ex,
            200,
            CSP_WITH_REDIRECT_ORIGIN,
            &[r#"<p class="error" role="alert">Enter your username and password.</p>"#],
        );
        for attempt in 1..=5 {
            let ex = server
                .send(
                    Req::post("/authorize")
                        .cookies(&pending)
                        .form(&[("csrf", &token), ("username", USERNAME), ("password", "wrong")])
                        .note(&format!("attempt {attempt}")),
                )
                .await;
            expect::page(
                &ex,
                200,
                CSP_WITH_REDIRECT_ORIGIN,
                &[r#"<p class="error" role="alert">Invalid username or password</p>"#],
            );
            assert!(ex.all("set-cookie").is_empty(), "{ex:?}");
        }
        let ex = server
            .send(Req::post("/authorize").cookies(&pending).form(&[
                ("csrf", &token),
                ("username", USERNAME),
                ("password", PASSWORD),
            ]))
            .await;
        expect::page(
            &ex,
            429,
            CSP,
            &["Too many failed sign-in attempts. Try again in 60 seconds."],
        );
        assert_eq!(ex.header("retry-after"), Some("60"), "{ex:?}");
        assert!(ex.all("set-cookie").is_empty(), "{ex:?}");
    }

    /// The whole authorization code grant: login, consent, code, token (an RFC 9068 JWT and a
    /// refresh token), replay refused, consent remembered, refresh rotated, a spent refresh
    /// token refused.
    async fn authorization_code_flow(h) {
        let server = h.start(&Scenario::new()).await;
        let (code, session) = sign_in_and_allow(h, &server, PUBLIC_CLIENT).await;
        let ex = server.send(redeem(&code)).await;
        let access = secret_member(h, &ex, "access_token", "access_token");
        let refresh = secret_member(h, &ex, "refresh_token", "refresh_token");
        expect::json(
            &ex,
            200,
            Cors::Any,
            &format!(
                r#"{{"access_token":"{access}","token_type":"Bearer","expires_in":3600,"refresh_token":"{refresh}","scope":"mcp:tools"}}"#
            ),
        );
        assert_access_token(&access, PUBLIC_CLIENT, USERNAME, "mcp:tools");

        let refresh_request = |token: &str| {
            Req::post("/token").form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", PUBLIC_CLIENT),
            ])
        };
        let ex = server.send(refresh_request(&refresh)).await;
        let access = secret_member(h, &ex, "access_token", "refreshed_access_token");
        let rotated = secret_member(h, &ex, "refresh_token", "rotated_refresh_token");
        assert_ne!(rotated, refresh);
        expect::json(
            &ex,
            200,
            Cors::Any,
            &format!(
                r#"{{"access_token":"{access}","token_type":"Bearer","expires_in":3600,"refresh_token":"{rotated}","scope":"mcp:tools"}}"#
            ),
        );
        let ex = server.send(refresh_request(&refresh).note("spent")).await;
        expect::json(&ex, 400, Cors::Any, &oauth_error("invalid_grant", REFRESH_INVALID));
        // Presenting the spent token revoked the family (RFC 9700 section 4.14.2).
        let ex = server.send(refresh_request(&rotated).note("revoked family")).await;
        expect::json(&ex, 400, Cors::Any, &oauth_error("invalid_grant", REFRESH_INVALID));

        let ex = server.send(redeem(&code).note("replay")).await;
        expect::json(&ex, 400, Cors::Any, &oauth_error("invalid_grant", CODE_INVALID));

        // Consent is remembered: a new request with the login session gets a code at once,
        // which redeems.
        let ex = server
            .send(
                Req::get(&with_query("/authorize", &request_params(PUBLIC_CLIENT)))
                    .cookies(&[(SESSION_COOKIE, &session)]),
            )
            .await;
        let second = redirect_code(h, &ex, "second_code");
        expect::redirect(
            &ex,
            302,
            &format!("{REDIRECT_URI}?code={second}&state={STATE}&{ISS_PARAM}"),
        );
        assert!(ex.all("set-cookie").is_empty(), "{ex:?}");
        let ex = server.send(redeem(&second)).await;
        secret_member(h, &ex, "access_token", "second_access_token");
        secret_member(h, &ex, "refresh_token", "second_refresh_token");
        assert_eq!(ex.status, 200, "{ex:?}");
    }

    /// The user presses Deny: 303 to the redirect URI with `access_denied`; the pending
    /// request is gone.
    async fn consent_denied_redirects(h) {
        let server = h.start(&Scenario::new()).await;
        let ex = server
            .send(Req::get(&with_query("/authorize", &request_params(PUBLIC_CLIENT))))
            .await;
        let request_cookie = cookie(h, &ex, REQUEST_COOKIE);
        let token = csrf(h, &ex);
        let ex = server
            .send(
                Req::post("/authorize")
                    .cookies(&[(REQUEST_COOKIE, &request_cookie)])
                    .form(&[("csrf", &token), ("username", USERNAME), ("password", PASSWORD)]),
            )
            .await;
        let session = cookie(h, &ex, SESSION_COOKIE);
        let both = [
            (REQUEST_COOKIE, request_cookie.as_str()),
            (SESSION_COOKIE, session.as_str()),
        ];
        let deny = || {
            Req::post("/authorize")
                .cookies(&both)
                .form(&[("csrf", &token), ("decision", "deny")])
        };
        let ex = server.send(deny()).await;
        expect::redirect(
            &ex,
            303,
            &format!(
                "{REDIRECT_URI}?error=access_denied&error_description=The+user+denied+the+authorization+request.&state={STATE}&{ISS_PARAM}"
            ),
        );
        assert_eq!(
            ex.all("set-cookie"),
            &[set_cookie(REQUEST_COOKIE, "", 0)][..]
        );
        let ex = server.send(deny().note("again")).await;
        assert_eq!(ex.status, 403, "{ex:?}");
    }

    /// Token endpoint refusals (RFC 6749 section 5.2): 400 for the request's faults, 401
    /// `invalid_client` (with the Basic challenge when Basic was tried).
    async fn token_errors(h) {
        let server = h.start(&Scenario::new()).await;
        let public = ("client_id", PUBLIC_CLIENT);
        let cases = [
            (
                Req::post("/token").form(&[("grant_type", "password"), public]),
                400,
                None,
                oauth_error("unsupported_grant_type", "the grant type is not supported"),
            ),
            (
                Req::post("/token").form(&[
                    ("grant_type", "authorization_code"),
                    ("code", "not-a-code"),
                    ("redirect_uri", REDIRECT_URI),
                    ("code_verifier", CODE_VERIFIER),
                    public,
                ]),
                400,
                None,
                oauth_error("invalid_grant", CODE_INVALID),
            ),
            (
                Req::post("/token")
                    .basic(CONFIDENTIAL_CLIENT, "wrong-secret")
                    .form(&[("grant_type", "client_credentials")]),
                401,
                Some(BASIC_CHALLENGE),
                oauth_error("invalid_client", "client authentication failed"),
            ),
            (
                Req::post("/token").form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", CONFIDENTIAL_CLIENT),
                    ("client_secret", CONFIDENTIAL_SECRET),
                ]),
                401,
                None,
                oauth_error("invalid_client", "client authentication failed"),
            ),
            (
                Req::post("/token").form(&[("grant_type", "password"), ("client_id", "nobody")]),
                401,
                None,
                oauth_error("invalid_client", "client authentication failed"),
            ),
            (
                Req::post("/token").form(&[public]),
                400,
                None,
                oauth_error("invalid_request", "grant_type is required"),
            ),
            (
                Req::post("/token").form(&[("grant_type", "authorization_code"), public]),
                400,
                None,
                oauth_error("invalid_request", "code is required"),
            ),
            (
                Req::post("/token").form(&[("grant_type", "client_credentials"), public]),
                400,
                None,
                oauth_error("unauthorized_client", "the client is not registered for this grant type"),
            ),
            (
                Req::post("/token").json(&json!({"grant_type": "client_credentials"})),
                400,
                None,
                oauth_error("invalid_request", "the body must be application/x-www-form-urlencoded"),
            ),
            (
                Req::post("/token")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("grant_type=password&grant_type=password")
                    .note("repeated"),
                400,
                None,
                oauth_error("invalid_request", "a parameter was repeated"),
            ),
        ];
        for (req, status, challenge, body) in cases {
            let ex = server.send(req).await;
            expect::json_with(&ex, status, Cors::Any, challenge, None, &body);
        }
    }

    /// `client_credentials` for the confidential client (HTTP Basic): an access token whose
    /// subject is the client, no refresh token.
    async fn client_credentials_grant(h) {
        let server = h.start(&Scenario::new()).await;
        let ex = server
            .send(
                Req::post("/token")
                    .basic(CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET)
                    .form(&[("grant_type", "client_credentials"), ("scope", "greet")]),
            )
            .await;
        let access = secret_member(h, &ex, "access_token", "access_token");
        expect::json(
            &ex,
            200,
            Cors::Any,
            &format!(
                r#"{{"access_token":"{access}","token_type":"Bearer","expires_in":3600,"scope":"greet"}}"#
            ),
        );
        assert_access_token(&access, CONFIDENTIAL_CLIENT, CONFIDENTIAL_CLIENT, "greet");
    }

    /// Revocation (RFC 7009): 200 with no body whatever the token; 400 without one; 401 for a
    /// failed client authentication.
    async fn revoke_endpoint(h) {
        let server = h.start(&Scenario::new()).await;
        let (code, _) = sign_in_and_allow(h, &server, PUBLIC_CLIENT).await;
        let ex = server.send(redeem(&code)).await;
        secret_member(h, &ex, "access_token", "access_token");
        let refresh = secret_member(h, &ex, "refresh_token", "refresh_token");
        for token in [refresh.as_str(), "unknown-token"] {
            let ex = server
                .send(Req::post("/revoke").form(&[("token", token), ("client_id", PUBLIC_CLIENT)]))
                .await;
            assert_eq!(ex.status, 200, "{ex:?}");
            assert_eq!(ex.header("cache-control"), Some("no-store"));
            assert_eq!(ex.header("pragma"), Some("no-cache"));
            assert_eq!(ex.header("content-type"), None);
            expect::assert_cors(&ex, Cors::Any);
            assert!(ex.body.is_empty(), "{ex:?}");
        }
        // The revoked refresh token no longer works.
        let ex = server
            .send(Req::post("/token").form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh),
                ("client_id", PUBLIC_CLIENT),
            ]))
            .await;
        expect::json(&ex, 400, Cors::Any, &oauth_error("invalid_grant", REFRESH_INVALID));
        let ex = server
            .send(Req::post("/revoke").form(&[("client_id", PUBLIC_CLIENT)]))
            .await;
        expect::json(&ex, 400, Cors::Any, &oauth_error("invalid_request", "token is required"));
        let ex = server
            .send(
                Req::post("/revoke")
                    .basic(CONFIDENTIAL_CLIENT, "wrong-secret")
                    .form(&[("token", "x")]),
            )
            .await;
        expect::json_with(
            &ex,
            401,
            Cors::Any,
            Some(BASIC_CHALLENGE),
            None,
            &oauth_error("invalid_client", "client authentication failed"),
        );
    }

    /// Introspection (RFC 7662): confidential clients only (401 otherwise, the Basic challenge
    /// when Basic failed); a live access token is described, anything else is inactive; never
    /// open to other origins.
    async fn introspect_endpoint(h) {
        let server = h.start(&Scenario::new()).await;
        let invalid_client = oauth_error("invalid_client", "client authentication failed");
        let ex = server
            .send(Req::post("/introspect").form(&[("token", "x")]))
            .await;
        expect::json(&ex, 401, Cors::None, &invalid_client);
        let ex = server
            .send(Req::post("/introspect").form(&[("token", "x"), ("client_id", PUBLIC_CLIENT)]))
            .await;
        expect::json(
            &ex,
            401,
            Cors::None,
            &oauth_error("invalid_client", "only confidential clients may introspect tokens"),
        );
        let ex = server
            .send(Req::post("/introspect").basic(CONFIDENTIAL_CLIENT, "wrong").form(&[("token", "x")]))
            .await;
        expect::json_with(&ex, 401, Cors::None, Some(BASIC_CHALLENGE), None, &invalid_client);

        let confidential = || Req::post("/introspect").basic(CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET);
        let ex = server.send(confidential().form(&[("token", "unknown-token")])).await;
        expect::json(&ex, 200, Cors::None, r#"{"active":false}"#);
        let ex = server.send(confidential().form(&[])).await;
        expect::json(&ex, 400, Cors::None, &oauth_error("invalid_request", "token is required"));

        let ex = server
            .send(
                Req::post("/token")
                    .basic(CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET)
                    .form(&[("grant_type", "client_credentials")]),
            )
            .await;
        let access = secret_member(h, &ex, "access_token", "access_token");
        let ex = server.send(confidential().form(&[("token", &access)])).await;
        expect::json(&ex, 200, Cors::None, INTROSPECTED);
    }

    /// A known path with a method it does not serve: 405 with `Allow`, the JSON error, no
    /// CORS header.
    async fn wrong_methods_are_405(h) {
        let server = h.start(&Scenario::new()).await;
        for (name, path, allow) in [
            ("GET", "/token", "POST, OPTIONS"),
            ("HEAD", "/token", "POST, OPTIONS"),
            ("PUT", "/register", "POST, OPTIONS"),
            ("DELETE", "/revoke", "POST, OPTIONS"),
            ("GET", "/introspect", "POST"),
            ("OPTIONS", "/introspect", "POST"),
            ("PUT", "/authorize", "GET, POST"),
            ("OPTIONS", "/authorize", "GET, POST"),
            ("DELETE", "/jwks.json", "GET, HEAD, OPTIONS"),
            ("POST", "/.well-known/oauth-authorization-server", "GET, HEAD, OPTIONS"),
            ("PATCH", "/.well-known/openid-configuration", "GET, HEAD, OPTIONS"),
        ] {
            let method = Method::from_bytes(name.as_bytes()).unwrap_or(Method::GET);
            let ex = server.send(Req::new(method, path)).await;
            let body = if name == "HEAD" {
                String::new()
            } else {
                oauth_error("invalid_request", "method not allowed")
            };
            expect::json(&ex, 405, Cors::None, &body);
            assert_eq!(ex.header("allow"), Some(allow), "{ex:?}");
        }
    }

    /// CORS preflights of the endpoints open to browsers: 204, any origin, the methods and
    /// headers each allows, no credentials, no body.
    async fn cors_preflights(h) {
        let server = h.start(&Scenario::new()).await;
        for (path, methods, headers) in [
            ("/.well-known/oauth-authorization-server", "GET, HEAD, OPTIONS", "mcp-protocol-version"),
            ("/.well-known/openid-configuration", "GET, HEAD, OPTIONS", "mcp-protocol-version"),
            ("/jwks.json", "GET, HEAD, OPTIONS", "mcp-protocol-version"),
            ("/register", "POST, OPTIONS", "authorization, content-type"),
            ("/token", "POST, OPTIONS", "authorization, content-type"),
            ("/revoke", "POST, OPTIONS", "authorization, content-type"),
        ] {
            let ex = server
                .send(
                    Req::new(Method::OPTIONS, path)
                        .header("origin", "https://app.example.com")
                        .header("access-control-request-method", "POST")
                        .header("access-control-request-headers", "content-type"),
                )
                .await;
            assert_eq!(ex.status, 204, "{ex:?}");
            expect::assert_cors(&ex, Cors::Any);
            assert_eq!(ex.header("access-control-allow-methods"), Some(methods), "{path}");
            assert_eq!(ex.header("access-control-allow-headers"), Some(headers), "{path}");
            assert_eq!(ex.header("access-control-max-age"), Some("86400"), "{path}");
            assert_eq!(ex.header("content-type"), None, "{path}");
            assert!(ex.body.is_empty(), "{ex:?}");
        }
    }

    /// A body over 64 KiB, declared or chunked: 413 with the server's JSON error (and its CORS
    /// header where the endpoint has one), after the method check; a body of exactly 64 KiB
    /// reaches the endpoint.
    async fn body_over_limit_is_413(h) {
        let server = h.start(&Scenario::new()).await;
        let too_large = oauth_error("invalid_request", "the request body is too large");
        let oversized = || vec![b'a'; MAX_BODY + 1];
        let form = "application/x-www-form-urlencoded";
        for (path, cors) in [
            ("/token", Cors::Any),
            ("/register", Cors::Any),
            ("/revoke", Cors::Any),
            ("/introspect", Cors::None),
            ("/authorize", Cors::None),
        ] {
            let ex = server
                .send(Req::post(path).header("content-type", form).body(oversized()))
                .await;
            expect::json(&ex, 413, cors, &too_large);
            let chunks = oversized().chunks(4096).map(<[u8]>::to_vec).collect();
            let ex = server
                .send(Req::post(path).header("content-type", form).chunked(chunks).note("chunked"))
                .await;
            expect::json(&ex, 413, cors, &too_large);
        }
        let ex = server
            .send(Req::get("/.well-known/oauth-authorization-server").body(oversized()))
            .await;
        expect::json(&ex, 413, Cors::Any, &too_large);
        // The method is checked first.
        let ex = server.send(Req::new(Method::PUT, "/token").body(oversized())).await;
        expect::json(&ex, 405, Cors::None, &oauth_error("invalid_request", "method not allowed"));
        // Exactly at the limit: the token endpoint reads it.
        let mut exact = format!("grant_type=password&client_id={PUBLIC_CLIENT}&pad=");
        exact.push_str(&"x".repeat(MAX_BODY - exact.len()));
        let ex = server
            .send(Req::post("/token").header("content-type", form).body(exact).note("64 KiB"))
            .await;
        expect::json(
            &ex,
            400,
            Cors::Any,
            &oauth_error("unsupported_grant_type", "the grant type is not supported"),
        );
    }

    /// Over a rate limit (here `/register`, 2 per minute per address): 429
    /// `temporarily_unavailable` with `Retry-After`; other endpoints and other callers are not
    /// affected, since the mount passes the peer address on.
    async fn rate_limit_is_429(h) {
        let server = h.start(&Scenario::new().with_register_limit(2)).await;
        let request = json!({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"});
        for n in 1..=2 {
            let ex = server.send(Req::post("/register").json(&request).note(&format!("#{n}"))).await;
            secret_member(h, &ex, "client_id", &format!("client_id_{n}"));
            assert_eq!(ex.status, 201, "{ex:?}");
        }
        let ex = server.send(Req::post("/register").json(&request).note("#3")).await;
        expect::json_with(
            &ex,
            429,
            Cors::Any,
            None,
            Some("30"),
            &oauth_error("temporarily_unavailable", "too many requests; retry later"),
        );
        let ex = server
            .send(Req::post("/token").form(&[("grant_type", "password"), ("client_id", PUBLIC_CLIENT)]))
            .await;
        expect::json(
            &ex,
            400,
            Cors::Any,
            &oauth_error("unsupported_grant_type", "the grant type is not supported"),
        );
        // Another caller has its own bucket; an adapter passing no address would put every
        // caller in one. (All of 127.0.0.0/8 is loopback on Linux; other systems often answer
        // on 127.0.0.1 alone.)
        if cfg!(target_os = "linux") {
            let other = std::net::IpAddr::from([127, 0, 0, 2]);
            let ex = server
                .send(Req::post("/register").json(&request).from_address(other))
                .await;
            secret_member(h, &ex, "client_id", "client_id_other_caller");
            assert_eq!(ex.status, 201, "{ex:?}");
        }
    }

    /// Paths the server does not serve are not answered by it: 404 from the framework, with
    /// none of the server's headers; the issuer's path is honoured.
    async fn unknown_paths_are_404(h) {
        for (scenario, paths) in [
            (
                Scenario::new(),
                &[
                    "/nope",
                    "/token/extra",
                    "/authorize/",
                    "/.well-known/oauth-authorization-server/tenant",
                    "/tenant/token",
                ][..],
            ),
            (
                Scenario::new().with_issuer(TENANT_ISSUER),
                &["/token", "/.well-known/oauth-authorization-server", "/tenant/nope"][..],
            ),
        ] {
            let server = h.start(&scenario).await;
            for path in paths {
                for method in [Method::GET, Method::POST] {
                    let ex = server
                        .send(Req::new(method, path).note(scenario.issuer()))
                        .await;
                    assert_eq!(ex.status, 404, "{ex:?}");
                    assert_eq!(ex.header("pragma"), None, "{ex:?}");
                    assert_eq!(ex.header("cache-control"), None, "{ex:?}");
                    expect::assert_cors(&ex, Cors::None);
                    assert!(ex.body.is_empty(), "{ex:?}");
                }
            }
        }
    }
}

const CODE_INVALID: &str = "the authorization code is invalid, expired or already used";
const REFRESH_INVALID: &str = "the refresh token is invalid, expired or revoked";
const INVALID_REDIRECT_URI: &str = "a redirect URI is invalid: it must be https, http on a loopback host, or a private-use scheme, without a fragment";
const MALFORMED_REGISTRATION: &str =
    "the registration request is not a valid JSON object of client metadata";

/// The RFC 8414 document of [`super::ISSUER`].
const OAUTH_METADATA: &str = concat!(
    r#"{"issuer":"https://auth.example.com","#,
    r#""authorization_endpoint":"https://auth.example.com/authorize","#,
    r#""token_endpoint":"https://auth.example.com/token","#,
    r#""registration_endpoint":"https://auth.example.com/register","#,
    r#""revocation_endpoint":"https://auth.example.com/revoke","#,
    r#""revocation_endpoint_auth_methods_supported":["none","client_secret_basic","client_secret_post"],"#,
    r#""introspection_endpoint":"https://auth.example.com/introspect","#,
    r#""introspection_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],"#,
    r#""jwks_uri":"https://auth.example.com/jwks.json","#,
    r#""scopes_supported":["greet","mcp:tools"],"#,
    r#""response_types_supported":["code"],"#,
    r#""response_modes_supported":["query"],"#,
    r#""grant_types_supported":["authorization_code","refresh_token","client_credentials"],"#,
    r#""code_challenge_methods_supported":["S256"],"#,
    r#""token_endpoint_auth_methods_supported":["none","client_secret_basic","client_secret_post"],"#,
    r#""client_id_metadata_document_supported":true,"#,
    r#""authorization_response_iss_parameter_supported":true}"#,
);
/// The OpenID Connect discovery document of [`super::ISSUER`]: the same, plus the two members
/// OpenID Connect Discovery requires.
const OPENID_METADATA: &str = concat!(
    r#"{"issuer":"https://auth.example.com","#,
    r#""authorization_endpoint":"https://auth.example.com/authorize","#,
    r#""token_endpoint":"https://auth.example.com/token","#,
    r#""registration_endpoint":"https://auth.example.com/register","#,
    r#""revocation_endpoint":"https://auth.example.com/revoke","#,
    r#""revocation_endpoint_auth_methods_supported":["none","client_secret_basic","client_secret_post"],"#,
    r#""introspection_endpoint":"https://auth.example.com/introspect","#,
    r#""introspection_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post"],"#,
    r#""jwks_uri":"https://auth.example.com/jwks.json","#,
    r#""scopes_supported":["greet","mcp:tools"],"#,
    r#""response_types_supported":["code"],"#,
    r#""response_modes_supported":["query"],"#,
    r#""grant_types_supported":["authorization_code","refresh_token","client_credentials"],"#,
    r#""code_challenge_methods_supported":["S256"],"#,
    r#""token_endpoint_auth_methods_supported":["none","client_secret_basic","client_secret_post"],"#,
    r#""client_id_metadata_document_supported":true,"#,
    r#""authorization_response_iss_parameter_supported":true,"#,
    r#""subject_types_supported":["public"],"id_token_signing_alg_values_supported":["EdDSA"]}"#,
);
/// The JWK Set: the Ed25519 fixture key, `kid` its thumbprint.
const JWKS: &str = concat!(
    r#"{"keys":[{"alg":"EdDSA","crv":"Ed25519","kid":"4Am-LXaZBzJcNp5KMKIEgbPASaOOX4cy75HRkP2MV_4","#,
    r#""kty":"OKP","use":"sig","x":"gTOGgapanrMg1xjTuvwve05UewazurtcdXAOc0zqn7s"}]}"#,
);
/// The 201 answer to the public client's registration, `<client_id>` standing for its id.
const REGISTERED_PUBLIC: &str = concat!(
    r#"{"client_id":"<client_id>","client_id_issued_at":1767225600,"#,
    r#""redirect_uris":["http://127.0.0.1:9/callback"],"token_endpoint_auth_method":"none","#,
    r#""grant_types":["authorization_code","refresh_token"],"response_types":["code"],"#,
    r#""client_name":"Conformance app","application_type":"web"}"#,
);
/// The 201 answer to the confidential client's registration (`client_secret_basic`, the RFC
/// 7591 default), `<client_id>` and `<client_secret>` standing for its credentials.
const REGISTERED_CONFIDENTIAL: &str = concat!(
    r#"{"client_id":"<client_id>","client_secret":"<client_secret>","#,
    r#""client_id_issued_at":1767225600,"client_secret_expires_at":0,"#,
    r#""redirect_uris":["https://app.example.com/callback"],"#,
    r#""token_endpoint_auth_method":"client_secret_basic","grant_types":["authorization_code"],"#,
    r#""response_types":["code"],"application_type":"web"}"#,
);
/// The introspection of the confidential client's `client_credentials` token.
const INTROSPECTED: &str = concat!(
    r#"{"active":true,"scope":"greet mcp:tools","client_id":"conformance-confidential","#,
    r#""sub":"conformance-confidential","aud":"https://mcp.example.com/mcp","#,
    r#""iss":"https://auth.example.com","exp":1767229200,"iat":1767225600,"token_type":"Bearer"}"#,
);
