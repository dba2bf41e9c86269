use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};

use super::*;
use crate::oidc::test_http::{get, post_form, request};

fn path<'a>(idp: &OidcProvider, url: &'a str) -> &'a str {
    url.strip_prefix(idp.base_url())
        .expect("URL on this provider")
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn basic() -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{INTROSPECTION_CLIENT_ID}:{INTROSPECTION_CLIENT_SECRET}"
        ))
    )
}

/// Verifies `token` the way a resource server would: discovery, then the JWKS it names, then
/// the key with the token's `kid`.
async fn verify_via_discovery(idp: &OidcProvider, token: &str, issuer: &str) -> Value {
    let doc = get(idp.addr(), path(idp, &idp.discovery_url(issuer)))
        .await
        .json();
    assert_eq!(doc["issuer"], issuer);
    let jwks_uri = doc["jwks_uri"].as_str().unwrap().to_owned();
    let body = get(idp.addr(), path(idp, &jwks_uri)).await.body;
    let set: JwkSet = serde_json::from_slice(&body).unwrap();
    let header = decode_header(token).unwrap();
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid published");
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.validate_aud = false;
    decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .expect("token verifies with the published key")
        .claims
}

#[tokio::test]
async fn discovery_in_every_form_for_every_issuer() {
    let idp = OidcProvider::start().await;
    let issuers = [
        idp.issuer(),
        idp.okta_issuer(),
        idp.azure_v2_issuer(),
        idp.azure_v1_issuer(),
        idp.cognito_issuer(),
        idp.add_issuer("/tenant-b"),
    ];
    assert_eq!(issuers[0], format!("http://{}", idp.addr()));
    assert!(issuers[1].ends_with("/oauth2/default"));
    assert!(issuers[2].ends_with(&format!("/{}/v2.0", vendor::AZURE_TENANT_ID)));
    assert!(issuers[3].ends_with(&format!("/{}/", vendor::AZURE_TENANT_ID)));
    assert!(issuers[4].ends_with("/us-east-1_Ab129faBb"));
    // The default issuer and the vendors' (Google and Okta's org AS share the base).
    assert_eq!(idp.issuers().len(), issuers.len());
    assert_eq!(idp.issuers()[..5], issuers[..5]);
    for issuer in &issuers {
        let issuer_path = path(&idp, issuer).trim_end_matches('/');
        let urls = [
            idp.discovery_url(issuer),
            format!(
                "{}/.well-known/openid-configuration{issuer_path}",
                idp.base_url()
            ),
            idp.rfc8414_url(issuer),
        ];
        for url in urls {
            let response = get(idp.addr(), path(&idp, &url)).await;
            assert_eq!(response.status, 200, "{url}");
            assert_eq!(response.header("content-type"), Some("application/json"));
            let doc = response.json();
            assert_eq!(doc["issuer"], json!(issuer), "{url}");
            assert_eq!(doc["jwks_uri"], json!(idp.jwks_uri(issuer)));
            assert_eq!(
                doc["introspection_endpoint"],
                json!(idp.introspection_endpoint())
            );
            assert_eq!(doc["token_endpoint"], json!(idp.token_endpoint()));
            assert_eq!(doc, idp.discovery_document(issuer));
        }
    }
    assert_eq!(idp.fetches(Endpoint::Discovery), 3 * issuers.len() as u64);
    // The v1 issuer keeps its trailing slash; URLs built on it do not double it.
    assert!(idp.jwks_uri(&issuers[3]).ends_with(&format!(
        "{}/.well-known/jwks.json",
        vendor::AZURE_TENANT_ID
    )));

    for unknown in [
        "/.well-known/openid-configuration/nope",
        "/nope/.well-known/openid-configuration",
        "/nope/.well-known/jwks.json",
        "/elsewhere",
    ] {
        assert_eq!(get(idp.addr(), unknown).await.status, 404, "{unknown}");
    }
    assert_eq!(idp.fetches(Endpoint::Discovery), 3 * issuers.len() as u64);
    assert_eq!(idp.fetches(Endpoint::Jwks), 0);
    let token = post_form(idp.addr(), "/token", &[], "grant_type=password").await;
    assert_eq!(token.status, 400);
    assert_eq!(token.json()["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn patch_discovery_edits_and_removes_members() {
    let idp = OidcProvider::start().await;
    let issuer = idp.issuer();
    idp.patch_discovery(
        &issuer,
        json!({"introspection_endpoint": null, "x-extra": 1}),
    );
    let doc = get(idp.addr(), "/.well-known/openid-configuration")
        .await
        .json();
    assert!(doc.get("introspection_endpoint").is_none());
    assert_eq!(doc["x-extra"], 1);
}

#[tokio::test]
async fn jwks_publishes_the_configured_keys_and_flips_on_rotation() {
    let idp = OidcProvider::start().await;
    let issuer = idp.issuer();
    let jwks_path = path(&idp, &idp.jwks_uri(&issuer)).to_owned();
    let default: Vec<_> = TestKey::DEFAULT_SET
        .iter()
        .map(|k| k.kid().to_owned())
        .collect();
    let rotated: Vec<_> = TestKey::ROTATED_SET
        .iter()
        .map(|k| k.kid().to_owned())
        .collect();

    let served = get(idp.addr(), &jwks_path).await.json();
    assert_eq!(kids(&served), default);
    assert_eq!(served, TestKey::jwks(TestKey::DEFAULT_SET));

    idp.rotate_keys();
    let served = get(idp.addr(), &jwks_path).await.json();
    assert_eq!(kids(&served), rotated);
    assert!(!kids(&served).contains(&TestKey::Rsa.kid().to_owned()));
    // An issuer added after rotation publishes the rotated set too.
    let late = idp.add_issuer("/late");
    assert_eq!(kids(&idp.jwks(&late)), rotated);

    idp.restore_keys();
    assert_eq!(kids(&get(idp.addr(), &jwks_path).await.json()), default);

    // Per issuer.
    let other = idp.add_issuer("/other");
    idp.set_issuer_keys(&other, &[TestKey::P256]);
    let other_path = path(&idp, &idp.jwks_uri(&other)).to_owned();
    assert_eq!(
        kids(&get(idp.addr(), &other_path).await.json()),
        vec![TestKey::P256.kid()]
    );
    assert_eq!(kids(&get(idp.addr(), &jwks_path).await.json()), default);

    // Raw documents, valid or not.
    idp.set_issuer_jwks(&other, json!({"keys": [TestKey::Rsa.jwk_with_alg(None)]}));
    let raw = get(idp.addr(), &other_path).await.json();
    assert!(raw["keys"][0].get("alg").is_none());
    idp.set_jwks(json!({"not": "a key set"}));
    assert_eq!(
        get(idp.addr(), &jwks_path).await.json(),
        json!({"not": "a key set"})
    );
    assert_eq!(idp.fetches(Endpoint::Jwks), 7);
}

#[tokio::test]
async fn entra_key_set_urls() {
    let idp = OidcProvider::start().await;
    let v2 = idp.azure_v2_issuer();
    idp.set_issuer_keys(&v2, &[TestKey::P256]);
    let tenant = format!("/{}/discovery/v2.0/keys", vendor::AZURE_TENANT_ID);
    assert_eq!(
        kids(&get(idp.addr(), &tenant).await.json()),
        vec![TestKey::P256.kid()]
    );
    let common = get(idp.addr(), "/common/discovery/v2.0/keys").await.json();
    assert_eq!(common, TestKey::jwks(TestKey::DEFAULT_SET));
    idp.rotate_keys();
    let common = get(idp.addr(), "/common/discovery/keys").await.json();
    assert_eq!(common, TestKey::jwks(TestKey::ROTATED_SET));
    idp.set_fault_on(Endpoint::Jwks, Fault::EmptyKeySet);
    let common = get(idp.addr(), "/common/discovery/v2.0/keys").await.json();
    assert_eq!(common, json!({"keys": []}));
    assert_eq!(idp.fetches(Endpoint::Jwks), 4);
    assert_eq!(
        get(idp.addr(), "/a/b/discovery/v2.0/keys").await.status,
        404
    );
}

#[tokio::test]
async fn counters_count_per_endpoint_and_reset() {
    let idp = OidcProvider::start().await;
    get(idp.addr(), "/.well-known/openid-configuration").await;
    get(idp.addr(), "/.well-known/jwks.json").await;
    get(idp.addr(), "/.well-known/jwks.json").await;
    post_form(idp.addr(), "/introspect", &[], "token=x").await;
    get(idp.addr(), "/tokeninfo?access_token=x").await;
    get(idp.addr(), "/tokeninfo?access_token=y").await;
    get(idp.addr(), "/tokeninfo?access_token=z").await;
    let counts: Vec<u64> = Endpoint::ALL.iter().map(|e| idp.fetches(*e)).collect();
    assert_eq!(counts, vec![1, 2, 1, 3]);
    idp.reset_fetches();
    assert!(Endpoint::ALL.iter().all(|e| idp.fetches(*e) == 0));
}

#[tokio::test]
async fn down_answers_503_and_counts() {
    let idp = OidcProvider::start().await;
    idp.set_fault(Fault::Down);
    for p in [
        "/.well-known/openid-configuration",
        "/.well-known/jwks.json",
        "/tokeninfo",
    ] {
        let response = get(idp.addr(), p).await;
        assert_eq!(response.status, 503, "{p}");
        assert_eq!(response.header("retry-after"), Some("30"));
    }
    assert_eq!(
        post_form(idp.addr(), "/introspect", &[], "").await.status,
        503
    );
    assert!(Endpoint::ALL.iter().all(|e| idp.fetches(*e) == 1));
    idp.clear_faults();
    assert_eq!(get(idp.addr(), "/.well-known/jwks.json").await.status, 200);
}

#[tokio::test]
async fn faults_can_target_one_endpoint() {
    let idp = OidcProvider::start().await;
    idp.set_fault_on(Endpoint::Jwks, Fault::Down);
    assert_eq!(
        get(idp.addr(), "/.well-known/openid-configuration")
            .await
            .status,
        200
    );
    assert_eq!(get(idp.addr(), "/.well-known/jwks.json").await.status, 503);
    idp.clear_faults_on(Endpoint::Jwks);
    assert_eq!(get(idp.addr(), "/.well-known/jwks.json").await.status, 200);
}

#[tokio::test]
async fn slow_delays_responses() {
    let idp = OidcProvider::start().await;
    idp.set_fault_on(Endpoint::Jwks, Fault::Slow(Duration::from_millis(300)));
    let started = Instant::now();
    let response = get(idp.addr(), "/.well-known/jwks.json").await;
    assert_eq!(response.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    get(idp.addr(), "/.well-known/openid-configuration").await;
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn wrong_content_type_keeps_the_body() {
    let idp = OidcProvider::start().await;
    idp.set_fault(Fault::WrongContentType);
    let response = get(idp.addr(), "/.well-known/jwks.json").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(response.json(), TestKey::jwks(TestKey::DEFAULT_SET));
}

#[tokio::test]
async fn oversized_bodies_with_and_without_length() {
    let idp = OidcProvider::start().await;
    idp.set_fault_on(Endpoint::Jwks, Fault::Oversized);
    let response = get(idp.addr(), "/.well-known/jwks.json").await;
    assert_eq!(response.status, 200);
    assert!(response.body.len() > 1024 * 1024);
    let length: usize = response.header("content-length").unwrap().parse().unwrap();
    assert_eq!(length, response.body.len());
    // Still a valid key set: only the size is wrong.
    assert_eq!(kids(&response.json()).len(), TestKey::DEFAULT_SET.len());

    idp.set_fault_on(Endpoint::Discovery, Fault::OversizedChunked);
    let response = get(idp.addr(), "/.well-known/openid-configuration").await;
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert!(response.header("content-length").is_none());
    assert!(response.body.len() > 1024 * 1024);
    assert_eq!(response.json()["issuer"], json!(idp.issuer()));
}

#[tokio::test]
async fn redirect_answers_302() {
    let idp = OidcProvider::start().await;
    let target = format!("{}/elsewhere/jwks.json", idp.base_url());
    idp.set_fault_on(Endpoint::Jwks, Fault::Redirect(target.clone()));
    let response = get(idp.addr(), "/.well-known/jwks.json").await;
    assert_eq!(response.status, 302);
    assert_eq!(response.header("location"), Some(target.as_str()));
}

#[tokio::test]
async fn empty_key_set_and_issuer_mismatch() {
    let idp = OidcProvider::start().await;
    let other = idp.okta_issuer();
    idp.set_fault(Fault::EmptyKeySet);
    idp.set_fault(Fault::IssuerMismatch(other.clone()));
    assert_eq!(
        get(idp.addr(), "/.well-known/jwks.json").await.json(),
        json!({"keys": []})
    );
    let doc = get(idp.addr(), "/.well-known/openid-configuration")
        .await
        .json();
    assert_eq!(doc["issuer"], json!(other));
    // The mismatch applies to discovery only; the key set fault to the JWKS only.
    assert_eq!(doc["jwks_uri"], json!(idp.jwks_uri(&idp.issuer())));
    idp.clear_faults();
    let doc = get(idp.addr(), "/.well-known/openid-configuration")
        .await
        .json();
    assert_eq!(doc["issuer"], json!(idp.issuer()));
}

#[tokio::test]
async fn stop_refuses_connections_and_restart_serves_again() {
    let idp = OidcProvider::start().await;
    let addr = idp.addr();
    assert!(idp.is_running());
    idp.stop().await;
    assert!(!idp.is_running());
    let refused = request(addr, "GET", "/.well-known/jwks.json", &[], b"").await;
    assert_eq!(
        refused.map(|r| r.status).unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );
    idp.restart().await;
    assert_eq!(get(addr, "/.well-known/jwks.json").await.status, 200);
    assert_eq!(idp.fetches(Endpoint::Jwks), 1);
}

#[tokio::test]
async fn introspection_answers_registered_tokens_to_authenticated_clients() {
    let idp = OidcProvider::start().await;
    let exp = crate::now() + 600;
    idp.register_token(
        "opaque-1",
        json!({"scope": "mcp:tools", "client_id": "c1", "sub": "alice", "exp": exp, "iss": idp.issuer()}),
    );
    let auth = basic();
    let active = post_form(
        idp.addr(),
        "/introspect",
        &[("Authorization", &auth)],
        "token=opaque-1",
    )
    .await;
    assert_eq!(active.status, 200);
    let body = active.json();
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "mcp:tools");
    assert_eq!(body["exp"], exp);

    let unknown = post_form(
        idp.addr(),
        "/introspect",
        &[("Authorization", &auth)],
        "token=nope",
    )
    .await;
    assert_eq!(unknown.json(), json!({"active": false}));

    // client_secret_post
    let form = format!(
        "token=opaque-1&client_id={INTROSPECTION_CLIENT_ID}&client_secret={INTROSPECTION_CLIENT_SECRET}"
    );
    assert_eq!(
        post_form(idp.addr(), "/introspect", &[], &form)
            .await
            .json()["active"],
        true
    );

    // Wrong or missing credentials.
    let wrong = format!(
        "Basic {}",
        STANDARD.encode(format!("{INTROSPECTION_CLIENT_ID}:wrong"))
    );
    let denied = post_form(
        idp.addr(),
        "/introspect",
        &[("Authorization", &wrong)],
        "token=opaque-1",
    )
    .await;
    assert_eq!(denied.status, 401);
    assert_eq!(denied.json()["error"], "invalid_client");
    assert!(
        denied
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(
        post_form(idp.addr(), "/introspect", &[], "token=opaque-1")
            .await
            .status,
        401
    );

    // Changed credentials.
    idp.set_introspection_client("rs", "s3cret");
    let auth2 = format!("Basic {}", STANDARD.encode("rs:s3cret"));
    assert_eq!(
        post_form(
            idp.addr(),
            "/introspect",
            &[("Authorization", &auth2)],
            "token=opaque-1"
        )
        .await
        .json()["active"],
        true
    );
    assert_eq!(
        post_form(
            idp.addr(),
            "/introspect",
            &[("Authorization", &auth)],
            "token=opaque-1"
        )
        .await
        .status,
        401
    );

    // Missing token, wrong method.
    assert_eq!(
        post_form(idp.addr(), "/introspect", &[("Authorization", &auth2)], "")
            .await
            .status,
        400
    );
    assert_eq!(get(idp.addr(), "/introspect").await.status, 405);

    // Expired and revoked tokens are inactive.
    idp.register_token("expired", json!({"exp": crate::now() - 1}));
    let expired = post_form(
        idp.addr(),
        "/introspect",
        &[("Authorization", &auth2)],
        "token=expired",
    )
    .await;
    assert_eq!(expired.json(), json!({"active": false}));
    idp.revoke_token("opaque-1");
    let revoked = post_form(
        idp.addr(),
        "/introspect",
        &[("Authorization", &auth2)],
        "token=opaque-1",
    )
    .await;
    assert_eq!(revoked.json(), json!({"active": false}));
    assert_eq!(idp.fetches(Endpoint::Introspection), 11);
}

#[tokio::test]
async fn introspection_decodes_form_encoding() {
    let idp = OidcProvider::start().await;
    idp.register_token("a b+c/=", json!({"sub": "x"}));
    let auth = basic();
    let response = post_form(
        idp.addr(),
        "/introspect",
        &[("Authorization", &auth)],
        "token=a+b%2Bc%2F%3D",
    )
    .await;
    assert_eq!(response.json()["active"], true);
}

#[tokio::test]
async fn tokeninfo_answers_like_google() {
    let idp = OidcProvider::start().await;
    let token = idp.google_access_token();
    assert!(token.starts_with("ya29."));
    let response = get(idp.addr(), &format!("/tokeninfo?access_token={token}")).await;
    assert_eq!(response.status, 200);
    let info = response.json();
    assert_eq!(info["aud"], vendor::GOOGLE_CLIENT_ID);
    assert_eq!(info["azp"], vendor::GOOGLE_CLIENT_ID);
    assert_eq!(info["sub"], vendor::GOOGLE_SUBJECT);
    assert_eq!(info["scope"], vendor::GOOGLE_SCOPE);
    assert_eq!(info["email"], vendor::USER_EMAIL);
    assert_eq!(info["email_verified"], "true");
    let exp: u64 = info["exp"]
        .as_str()
        .expect("exp is a string")
        .parse()
        .unwrap();
    assert!(exp > crate::now());
    let expires_in: u64 = info["expires_in"].as_str().unwrap().parse().unwrap();
    assert!((3500..=3599).contains(&expires_in));

    let post = post_form(
        idp.addr(),
        "/tokeninfo",
        &[],
        &format!("access_token={token}"),
    )
    .await;
    assert_eq!(post.json(), info);

    for query in ["/tokeninfo?access_token=ya29.unknown", "/tokeninfo"] {
        let unknown = get(idp.addr(), query).await;
        assert_eq!(unknown.status, 400);
        assert_eq!(unknown.json()["error"], "invalid_token");
    }
    let mut claims = vendor::google_access_claims();
    claims["exp"] = json!(crate::now() - 5);
    idp.register_token("ya29.expired", claims);
    assert_eq!(
        get(idp.addr(), "/tokeninfo?access_token=ya29.expired")
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn vendor_tokens_verify_against_the_served_keys() {
    let idp = OidcProvider::start().await;
    for vendor in Vendor::ALL {
        let issuer = idp.vendor_issuer(vendor);
        let token = idp.mint(vendor).sign();
        let claims = verify_via_discovery(&idp, &token, &issuer).await;
        assert_eq!(claims["iss"], json!(issuer), "{vendor:?}");
    }
    // The shortcuts mint the same shapes.
    let checks = [
        (idp.okta().claims_json(), idp.okta_issuer()),
        (idp.okta_org().claims_json(), idp.issuer()),
        (idp.okta_id_token().claims_json(), idp.okta_issuer()),
        (idp.google().claims_json(), idp.google_issuer()),
        (idp.azure_v2().claims_json(), idp.azure_v2_issuer()),
        (idp.azure_v1().claims_json(), idp.azure_v1_issuer()),
        (idp.azure_id_token().claims_json(), idp.azure_v2_issuer()),
        (idp.cognito_access().claims_json(), idp.cognito_issuer()),
        (idp.cognito_id().claims_json(), idp.cognito_issuer()),
    ];
    for (claims, issuer) in checks {
        assert_eq!(claims["iss"], json!(issuer));
    }
    assert_eq!(idp.okta_org().claims_json()["aud"], json!(idp.issuer()));
    assert!(idp.azure_v1_issuer().ends_with('/'));
}

#[tokio::test]
async fn rs256_es256_eddsa_verify_with_served_jwks() {
    let idp = OidcProvider::start().await;
    let issuer = idp.issuer();
    for (key, alg) in [
        (TestKey::Rsa, Algorithm::RS256),
        (TestKey::Rsa, Algorithm::PS256),
        (TestKey::P256, Algorithm::ES256),
        (TestKey::P384, Algorithm::ES384),
        (TestKey::Ed25519, Algorithm::EdDSA),
    ] {
        let token = idp.jwt().key(key).alg(alg).sign();
        let claims = verify_via_discovery(&idp, &token, &issuer).await;
        assert_eq!(claims["aud"], DEFAULT_AUDIENCE);
    }
}

#[tokio::test]
async fn rotation_moves_tokens_from_old_to_new_key() {
    let idp = OidcProvider::start().await;
    let issuer = idp.issuer();
    let old = idp.jwt().sign();
    let new = idp.jwt().key(TestKey::RsaRotated).sign();
    verify_via_discovery(&idp, &old, &issuer).await;
    idp.rotate_keys();
    verify_via_discovery(&idp, &new, &issuer).await;
    let set: JwkSet = serde_json::from_value(idp.jwks(&issuer)).unwrap();
    assert!(set.find(TestKey::Rsa.kid()).is_none());
}

#[tokio::test]
async fn weak_key_can_be_published_and_signs_validly() {
    let idp = OidcProvider::start().await;
    idp.set_keys(&[TestKey::Rsa, TestKey::RsaWeak]);
    let served = get(idp.addr(), "/.well-known/jwks.json").await.json();
    let weak = served["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == TestKey::RsaWeak.kid())
        .expect("weak key published")
        .clone();
    assert_eq!(weak, TestKey::RsaWeak.jwk());
    let token = idp.jwt().key(TestKey::RsaWeak).sign();
    let (input, signature) = token.rsplit_once('.').unwrap();
    assert!(TestKey::RsaWeak.verify(input.as_bytes(), signature, Algorithm::RS256));
}

#[test]
fn form_decoding() {
    let form = form_decode("a=1&b=x+y&c=%41%2b&d&e=%zz&f=%4");
    assert_eq!(form["a"], "1");
    assert_eq!(form["b"], "x y");
    assert_eq!(form["c"], "A+");
    assert_eq!(form["d"], "");
    assert_eq!(form["e"], "%zz");
    assert_eq!(form["f"], "%4");
}
