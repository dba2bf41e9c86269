//! [`CimdResolver`] against a local server. Loopback is not a public address, so every test
//! that fetches uses `insecure_allow_private_targets`; the others check that without it
//! nothing is ever sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use mcp_auth_server::client::cimd::{
    CimdError, CimdPolicy, CimdResolver, InvalidCertificates, MAX_DOCUMENT_SIZE,
};
use mcp_auth_server::client::registration::RegistrationError;
use mcp_auth_server::store::ClientSource;

const REDIRECT: &str = "http://127.0.0.1/callback";

/// A document server that counts the requests for each path.
#[derive(Clone)]
struct Server {
    base: String,
    port: u16,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Server {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = Self::at(format!("http://127.0.0.1:{port}"), port);
        let app = Router::new().fallback(serve).with_state(server.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        server
    }

    /// The same documents over https, with a certificate of the testkit's private CA.
    async fn start_https() -> Self {
        // The state names the server's own URL, known only once it is bound: the router reads
        // it from a slot filled right after binding.
        let shared: Arc<Mutex<Option<Self>>> = Arc::default();
        let for_router = Arc::clone(&shared);
        let app = Router::new().fallback(move |uri: Uri| {
            let server = for_router
                .lock()
                .unwrap()
                .clone()
                .expect("state set before requests");
            async move { serve(State(server), uri).await }
        });
        let addr = mcp_auth_testkit::tls::serve_https(app).await;
        let server = Self::at(format!("https://127.0.0.1:{}", addr.port()), addr.port());
        *shared.lock().unwrap() = Some(server.clone());
        server
    }

    fn at(base: String, port: u16) -> Self {
        Self {
            base,
            port,
            hits: Arc::default(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn total_hits(&self) -> usize {
        self.hits.lock().unwrap().values().sum()
    }

    fn document(&self, path: &str, extra: serde_json::Value) -> String {
        let mut doc = serde_json::json!({
            "client_id": self.url(path),
            "client_name": "Test client",
            "redirect_uris": [REDIRECT, "https://app.example.com/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        });
        for (k, v) in extra.as_object().unwrap() {
            doc.as_object_mut().unwrap().insert(k.clone(), v.clone());
        }
        doc.to_string()
    }
}

fn json(cache_control: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, cache_control),
        ],
        body,
    )
        .into_response()
}

async fn serve(State(server): State<Server>, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    *server.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let none = serde_json::json!({});
    match path.as_str() {
        "/good" => json("max-age=60", server.document(&path, none)),
        "/no-store" => json("no-store", server.document(&path, none)),
        "/short" => json("max-age=1", server.document(&path, none)),
        "/mismatch" => json("", server.document("/elsewhere", none)),
        "/big" => {
            let padding = "x".repeat(MAX_DOCUMENT_SIZE);
            json(
                "",
                server.document(&path, serde_json::json!({ "padding": padding })),
            )
        }
        "/text" => (
            [(header::CONTENT_TYPE, "text/plain")],
            server.document(&path, none),
        )
            .into_response(),
        "/redirect" => {
            (StatusCode::FOUND, [(header::LOCATION, server.url("/good"))]).into_response()
        }
        "/secret" => json(
            "",
            server.document(&path, serde_json::json!({ "client_secret": "s3cr3t" })),
        ),
        "/jwt" => json(
            "",
            server.document(
                &path,
                serde_json::json!({ "token_endpoint_auth_method": "private_key_jwt" }),
            ),
        ),
        "/bad-redirect" => json(
            "",
            server.document(
                &path,
                serde_json::json!({ "redirect_uris": ["https://app.example.com/cb#frag"] }),
            ),
        ),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn insecure() -> CimdResolver {
    CimdResolver::new(CimdPolicy::default().insecure_allow_private_targets())
}

#[tokio::test]
async fn good_document_resolves_and_is_cached() {
    let server = Server::start().await;
    let resolver = insecure();
    let url = server.url("/good");
    let client = resolver.resolve(&url, REDIRECT).await.unwrap();
    assert_eq!(client.client_id, url);
    assert_eq!(client.source, ClientSource::Metadata(url.clone()));
    assert_eq!(client.client_name.as_deref(), Some("Test client"));
    assert_eq!(client.token_endpoint_auth_method, "none");
    assert_eq!(client.client_secret_hash, None);
    let expires = client.metadata_expires_at.unwrap();
    assert_eq!(expires - client.created_at, 60);

    // A loopback redirect URI with another port matches (RFC 8252 section 7.3).
    let again = resolver
        .resolve(&url, "http://127.0.0.1:51234/callback")
        .await
        .unwrap();
    assert_eq!(again.client_id, url);
    let other = resolver
        .resolve(&url, "https://app.example.com/cb")
        .await
        .unwrap();
    assert_eq!(other.client_id, url);
    assert_eq!(server.hits("/good"), 1, "max-age=60 is honoured");

    // Once invalidated, the document is fetched again.
    resolver.invalidate(&url).await;
    resolver.resolve(&url, REDIRECT).await.unwrap();
    assert_eq!(server.hits("/good"), 2);
}

#[tokio::test]
async fn concurrent_resolutions_share_one_fetch() {
    let server = Server::start().await;
    let resolver = insecure();
    let url = server.url("/good");
    let results = futures::future::join_all((0..8).map(|_| resolver.resolve(&url, REDIRECT))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(server.hits("/good"), 1);
}

#[tokio::test]
async fn no_store_and_expired_documents_are_fetched_again() {
    let server = Server::start().await;
    let resolver = insecure();
    let url = server.url("/no-store");
    resolver.resolve(&url, REDIRECT).await.unwrap();
    resolver.resolve(&url, REDIRECT).await.unwrap();
    assert_eq!(server.hits("/no-store"), 2);

    let url = server.url("/short");
    resolver.resolve(&url, REDIRECT).await.unwrap();
    resolver.resolve(&url, REDIRECT).await.unwrap();
    assert_eq!(server.hits("/short"), 1);
    // max-age=1: once it has passed, the next resolution fetches again.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    resolver.resolve(&url, REDIRECT).await.unwrap();
    assert_eq!(server.hits("/short"), 2);
}

#[tokio::test]
async fn redirect_uri_must_be_listed() {
    let server = Server::start().await;
    let resolver = insecure();
    let url = server.url("/good");
    for requested in [
        "https://evil.example/cb",
        "http://127.0.0.1/callback/x",
        "http://localhost/callback",
        "https://app.example.com/cb/",
        "https://app.example.com/cb#x",
    ] {
        assert_eq!(
            resolver.resolve(&url, requested).await,
            Err(CimdError::RedirectUriNotRegistered),
            "{requested}"
        );
    }
    // The document itself was fetched once and cached; only the check failed.
    assert_eq!(server.hits("/good"), 1);
}

#[tokio::test]
async fn bad_documents_are_refused_and_not_cached() {
    let server = Server::start().await;
    let resolver = insecure();
    let cases = [
        ("/mismatch", CimdError::ClientIdMismatch),
        ("/big", CimdError::TooLarge),
        ("/text", CimdError::ContentType),
        ("/redirect", CimdError::Status(302)),
        ("/missing", CimdError::Status(404)),
        ("/secret", CimdError::SecretInDocument),
        ("/jwt", CimdError::UnsupportedAuthMethod),
        (
            "/bad-redirect",
            CimdError::InvalidMetadata(RegistrationError::InvalidRedirectUri),
        ),
    ];
    for (path, expected) in &cases {
        let url = server.url(path);
        assert_eq!(
            resolver.resolve(&url, REDIRECT).await.unwrap_err(),
            *expected,
            "{path}"
        );
        assert_eq!(
            resolver.resolve(&url, REDIRECT).await.unwrap_err(),
            *expected,
            "{path}"
        );
        assert_eq!(server.hits(path), 2, "{path}: failures are not cached");
    }
    // The redirect was not followed.
    assert_eq!(server.hits("/good"), 0);
}

#[tokio::test]
async fn invalid_urls_are_refused_before_any_request() {
    let server = Server::start().await;
    let resolver = insecure();
    for url in [
        server.url("/"),
        server.url(""),
        server.url("/good#frag"),
        server.url("/a/../good"),
        format!("http://user@127.0.0.1:{}/good", server.port),
        format!("ftp://127.0.0.1:{}/good", server.port),
    ] {
        assert_eq!(
            resolver.resolve(&url, REDIRECT).await,
            Err(CimdError::InvalidUrl),
            "{url}"
        );
    }
    assert_eq!(server.total_hits(), 0);
}

#[tokio::test]
async fn private_targets_are_refused_without_the_insecure_flag() {
    let server = Server::start().await;
    let resolver = CimdResolver::new(CimdPolicy::default());
    let port = server.port;
    for url in [
        format!("https://127.0.0.1:{port}/good"),
        format!("https://localhost:{port}/good"),
        format!("https://[::1]:{port}/good"),
        format!("https://[::ffff:7f00:1]:{port}/good"),
        format!("https://10.0.0.1:{port}/good"),
        format!("https://169.254.169.254:{port}/latest/meta-data"),
    ] {
        assert_eq!(
            resolver.resolve(&url, REDIRECT).await,
            Err(CimdError::ForbiddenTarget),
            "{url}"
        );
    }
    // Non-normalized forms are refused by the URL rules first, and so is plain http.
    assert_eq!(
        resolver
            .resolve(&format!("https://[::ffff:127.0.0.1]:{port}/good"), REDIRECT)
            .await,
        Err(CimdError::InvalidUrl)
    );
    assert_eq!(
        resolver.resolve(&server.url("/good"), REDIRECT).await,
        Err(CimdError::InvalidUrl)
    );
    assert_eq!(server.total_hits(), 0, "nothing was sent");
    assert!(resolver.is_metadata_client_id("https://app.example.com/c.json"));
    assert!(!resolver.is_metadata_client_id(&server.url("/good")));
    assert!(insecure().is_metadata_client_id(&server.url("/good")));
    assert!(!resolver.is_metadata_client_id("mcp_abc"));
}

#[tokio::test]
async fn https_documents_under_a_private_ca_need_its_root() {
    let server = Server::start_https().await;
    let url = server.url("/good");

    // The system's roots do not include the testkit's CA: the TLS handshake fails.
    let untrusting = insecure();
    assert_eq!(
        untrusting.resolve(&url, REDIRECT).await.unwrap_err(),
        CimdError::Unreachable
    );

    let policy = CimdPolicy::default()
        .insecure_allow_private_targets()
        .add_root_certificates_pem(mcp_auth_testkit::tls::CA_PEM.as_bytes())
        .unwrap();
    let client = CimdResolver::new(policy)
        .resolve(&url, REDIRECT)
        .await
        .unwrap();
    assert_eq!(client.client_id, url);
    assert_eq!(server.hits("/good"), 1, "one fetch over TLS");

    for not_a_certificate in [
        &b""[..],
        b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n",
    ] {
        assert_eq!(
            CimdPolicy::default()
                .add_root_certificates_pem(not_a_certificate)
                .unwrap_err(),
            InvalidCertificates
        );
    }
}
