//! Client authentication at the token endpoint: every failure is `401 invalid_client`
//! (with the Basic challenge when the header was tried), two methods are `invalid_request`.

use http::StatusCode;
use http::header::WWW_AUTHENTICATE;
use mcp_auth_server::store::{ApplicationType, ClientRecord, ClientSource, TokenHash};

use crate::endpoints::support::{
    Answer, Auth, BASIC, BASIC_SECRET, NOW, POST, POST_SECRET, PUBLIC, REDIRECT, Server, request,
};

const CC: [(&str, &str); 1] = [("grant_type", "client_credentials")];
const CHALLENGE: &str = "Basic realm=\"mcp-auth\"";

#[track_caller]
fn assert_invalid_client(answer: &Answer, basic: bool) {
    answer.assert_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(
        answer.body["error_description"],
        "client authentication failed"
    );
    let challenge = answer.headers.get(WWW_AUTHENTICATE);
    if basic {
        assert_eq!(challenge.unwrap(), CHALLENGE);
    } else {
        assert!(challenge.is_none());
    }
}

async fn cc(server: &Server, auth: Auth<'_>) -> Answer {
    server.token(request(&CC, auth), NOW).await
}

#[tokio::test]
async fn each_method_authenticates_its_clients() {
    let server = Server::memory().await;
    cc(&server, Auth::Basic(BASIC, BASIC_SECRET)).await.tokens();
    cc(&server, Auth::Post(POST, POST_SECRET)).await.tokens();
    // A public client authenticates with its id (and is then refused this grant).
    cc(&server, Auth::Public(PUBLIC))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    // With Basic, a body client_id repeating the header's is accepted.
    let params = [("grant_type", "client_credentials"), ("client_id", BASIC)];
    server
        .token(request(&params, Auth::Basic(BASIC, BASIC_SECRET)), NOW)
        .await
        .tokens();
}

#[tokio::test]
async fn basic_credentials_are_form_urlencoded() {
    let server = Server::memory().await;
    let id = "app:with spaces+plus";
    let secret = "s3cr:t/with%&=+ chars";
    server
        .store
        .put_client(ClientRecord {
            client_id: id.to_owned(),
            client_secret_hash: Some(TokenHash::of(secret)),
            redirect_uris: vec![REDIRECT.to_owned()],
            client_name: None,
            grant_types: vec!["client_credentials".to_owned()],
            response_types: Vec::new(),
            token_endpoint_auth_method: "client_secret_basic".to_owned(),
            scope: Some("mcp:read".to_owned()),
            application_type: ApplicationType::Web,
            source: ClientSource::Preconfigured,
            created_at: NOW,
            metadata_expires_at: None,
        })
        .await
        .unwrap();
    cc(&server, Auth::Basic(id, secret)).await.tokens();
}

#[tokio::test]
async fn unknown_clients_are_invalid_client() {
    let server = Server::memory().await;
    assert_invalid_client(&cc(&server, Auth::Public("nobody")).await, false);
    assert_invalid_client(&cc(&server, Auth::Post("nobody", "secret")).await, false);
    assert_invalid_client(&cc(&server, Auth::Basic("nobody", "secret")).await, true);
}

#[tokio::test]
async fn wrong_secrets_are_invalid_client() {
    let server = Server::memory().await;
    assert_invalid_client(&cc(&server, Auth::Basic(BASIC, "wrong")).await, true);
    assert_invalid_client(&cc(&server, Auth::Basic(BASIC, "")).await, true);
    assert_invalid_client(&cc(&server, Auth::Post(POST, "wrong")).await, false);
    // Another client's secret.
    assert_invalid_client(&cc(&server, Auth::Post(POST, BASIC_SECRET)).await, false);
}

#[tokio::test]
async fn the_registered_method_must_be_used() {
    let server = Server::memory().await;
    // Right secret, wrong method.
    assert_invalid_client(&cc(&server, Auth::Post(BASIC, BASIC_SECRET)).await, false);
    assert_invalid_client(&cc(&server, Auth::Basic(POST, POST_SECRET)).await, true);
    // A confidential client presenting only its id.
    assert_invalid_client(&cc(&server, Auth::Public(BASIC)).await, false);
    // A public client presenting a secret.
    assert_invalid_client(&cc(&server, Auth::Post(PUBLIC, "anything")).await, false);
    assert_invalid_client(&cc(&server, Auth::Basic(PUBLIC, "anything")).await, true);
}

#[tokio::test]
async fn two_methods_are_an_invalid_request() {
    let server = Server::memory().await;
    let params = [
        ("grant_type", "client_credentials"),
        ("client_id", BASIC),
        ("client_secret", BASIC_SECRET),
    ];
    server
        .token(request(&params, Auth::Basic(BASIC, BASIC_SECRET)), NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    // Header and body naming different clients.
    let params = [("grant_type", "client_credentials"), ("client_id", POST)];
    server
        .token(request(&params, Auth::Basic(BASIC, BASIC_SECRET)), NOW)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn malformed_authorization_headers_are_invalid_client() {
    let server = Server::memory().await;
    for header in [
        "Basic !!!not-base64!!!",
        "Basic",
        "Basic Zm9v",             // "foo": no colon
        "Basic OnNlY3JldA==",     // ":secret": empty id
        "Basic YmFzaWMtYXBwOiV6", // "basic-app:%z": bad escape
        "Bearer abc.def.ghi",
    ] {
        assert_invalid_client(&cc(&server, Auth::Header(header)).await, true);
    }
}

#[tokio::test]
async fn no_credentials_at_all() {
    let server = Server::memory().await;
    assert_invalid_client(&cc(&server, Auth::Nothing).await, false);
    // A secret without an id.
    let params = [
        ("grant_type", "client_credentials"),
        ("client_secret", POST_SECRET),
    ];
    assert_invalid_client(
        &server.token(request(&params, Auth::Nothing), NOW).await,
        false,
    );
}

#[cfg(feature = "cimd")]
mod metadata_documents {
    use mcp_auth_server::client::cimd::{CimdPolicy, CimdResolver};
    use mcp_auth_server::store::{FamilyId, RefreshRecord};

    use super::*;
    use crate::endpoints::support::{RESOURCE, VERIFIER};

    const DOC_CLIENT: &str = "https://app.example.com/oauth/client.json";

    async fn with_family(server: &Server, client_id: &str, token: &str) {
        server
            .store
            .put_refresh(
                TokenHash::of(token),
                RefreshRecord {
                    family: FamilyId::new("doc-family"),
                    client_id: client_id.to_owned(),
                    subject: "alice".to_owned(),
                    scopes: "mcp:read".parse().unwrap(),
                    resource: Some(RESOURCE.to_owned()),
                    expires_at: NOW + 1000,
                    family_expires_at: NOW + 2000,
                },
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn refresh_by_a_metadata_client_needs_no_document() {
        let mut server = Server::memory().await;
        with_family(&server, DOC_CLIENT, "doc-refresh-1").await;
        // Without a resolver the client is unknown.
        assert_invalid_client(
            &server
                .refresh("doc-refresh-1", Auth::Public(DOC_CLIENT), &[], NOW)
                .await,
            false,
        );
        server.cimd = Some(CimdResolver::new(CimdPolicy::default()));
        let (_, next) = server
            .refresh("doc-refresh-1", Auth::Public(DOC_CLIENT), &[], NOW)
            .await
            .tokens();
        assert!(next.is_some());
        // Such a client is public: no secret, no client_credentials.
        assert_invalid_client(&cc(&server, Auth::Post(DOC_CLIENT, "secret")).await, false);
        cc(&server, Auth::Public(DOC_CLIENT))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "unauthorized_client");
    }

    #[tokio::test]
    async fn unresolvable_documents_are_invalid_client() {
        let mut server = Server::memory().await;
        server.cimd = Some(CimdResolver::new(
            CimdPolicy::default().insecure_allow_private_targets(),
        ));
        // Nothing listens on port 1: the document cannot be fetched.
        let client_id = "http://127.0.0.1:1/oauth/client.json";
        let params = [
            ("grant_type", "authorization_code"),
            ("code", "some-code"),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        assert_invalid_client(
            &server
                .token(request(&params, Auth::Public(client_id)), NOW)
                .await,
            false,
        );
    }
}

/// Clients authenticate before anything else is looked at: a refused client spends no code
/// and rotates no refresh token.
#[tokio::test]
async fn a_refused_client_changes_nothing() {
    let server = Server::memory().await;
    let code = server
        .code(BASIC, Some(crate::endpoints::support::RESOURCE))
        .await;
    for (auth, basic) in [
        (Auth::Basic(BASIC, "wrong"), true),
        (Auth::Post(BASIC, BASIC_SECRET), false),
        (Auth::Public(BASIC), false),
        (Auth::Basic("nobody", BASIC_SECRET), true),
    ] {
        assert_invalid_client(&server.redeem(&code, auth).await, basic);
    }
    // Two methods at once: a malformed request, without the Basic challenge.
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", crate::endpoints::support::VERIFIER),
        ("client_secret", BASIC_SECRET),
    ];
    let answer = server
        .token(request(&params, Auth::Basic(BASIC, BASIC_SECRET)), NOW)
        .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        answer.body["error_description"],
        "more than one client authentication method was used"
    );
    assert!(answer.headers.get(WWW_AUTHENTICATE).is_none());

    let (_, refresh) = server
        .redeem(&code, Auth::Basic(BASIC, BASIC_SECRET))
        .await
        .tokens();
    let refresh = refresh.unwrap();
    assert_invalid_client(
        &server
            .refresh(&refresh, Auth::Basic(BASIC, "wrong"), &[], NOW + 10)
            .await,
        true,
    );
    assert_invalid_client(
        &server
            .refresh(&refresh, Auth::Public(BASIC), &[], NOW + 10)
            .await,
        false,
    );
    server
        .refresh(&refresh, Auth::Basic(BASIC, BASIC_SECRET), &[], NOW + 20)
        .await
        .tokens();
}
