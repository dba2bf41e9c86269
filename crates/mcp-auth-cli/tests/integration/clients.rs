//! rmcp's OAuth client against the embedded authorization server, as the two kinds of client
//! that do not register dynamically: a pre-registered confidential client (client secret,
//! `client_secret_basic`) and a client identified by its client ID metadata document (an
//! https URL, served with the testkit's private CA). A person signs in and consents in headless
//! Chromium; the MCP endpoint is the demo server `mcp-auth serve` runs
//! (`hmac_server::protected_app`).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use mcp_auth_axum::authorization_server_router;
use mcp_auth_core::metadata::ResourceUri;
use mcp_auth_server::client::cimd::CimdPolicy;
use mcp_auth_server::client::registration::PreconfiguredClient;
use mcp_auth_server::metadata::Issuer;
use mcp_auth_server::server::{AuthorizationServer, RateLimits, ServerConfig};
use mcp_auth_server::store::{MemoryStore, TokenHash};
use mcp_auth_server::user::{HashParams, Password, StaticUser, StaticUsers, hash_password_with};
use mcp_auth_testkit::browser::Browser;
use rmcp::ServiceExt as _;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::auth::{AuthClient, AuthorizationManager, AuthorizationRequest, OAuthState};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

const USERNAME: &str = "alice";
const PASSWORD: &str = "correct horse battery";
const CONFIDENTIAL_ID: &str = "notes-service";
const CONFIDENTIAL_SECRET: &str = "a-long-random-client-secret-0123456789abcdef";

/// The authorization server and the protected demo MCP endpoint on one port, and a page for
/// the client's redirect URI on another.
struct Deployment {
    server: AuthorizationServer,
    mcp_url: String,
    redirect_uri: String,
}

impl Deployment {
    /// Starts everything; `configure` adjusts the server configuration (clients, CIMD).
    async fn start(configure: impl FnOnce(&mut ServerConfig, &str)) -> Self {
        let callback = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let redirect_uri = format!("http://{}/callback", callback.local_addr().unwrap());
        let page = Router::new().route(
            "/callback",
            get(|| async { axum::response::Html("<p>You can close this window.</p>") }),
        );
        tokio::spawn(async move { axum::serve(callback, page).await });

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let resource = ResourceUri::parse(&format!("{base}/mcp")).unwrap();
        let mut config = ServerConfig::new(Issuer::parse(&base).unwrap(), resource.as_str());
        config.scopes_supported = "mcp:tools greet".parse().unwrap();
        config.default_scopes = "mcp:tools".parse().unwrap();
        config.rate_limits = RateLimits::unlimited();
        configure(&mut config, &redirect_uri);
        let cheap = HashParams::new(8, 1, 1).unwrap();
        let hash = hash_password_with(&Password::new(PASSWORD), &cheap).unwrap();
        let users = StaticUsers::new([StaticUser::new(USERNAME, hash)]).unwrap();
        let server =
            AuthorizationServer::start(config, Arc::new(MemoryStore::new()), Arc::new(users))
                .await
                .unwrap();

        let prm = server.protected_resource(resource.clone());
        let app = hmac_server::protected_app(server.validator(resource.as_str()), &prm, false)
            .merge(authorization_server_router(server.clone()));
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        Self {
            server,
            mcp_url: resource.as_str().to_owned(),
            redirect_uri,
        }
    }

    /// rmcp's authorization code flow with `request`, a person at the pages in Chromium;
    /// returns the authorized client.
    async fn authorize(&self, request: AuthorizationRequest) -> AuthClient<reqwest::Client> {
        let manager = AuthorizationManager::new_allowing_private_addresses(self.mcp_url.as_str())
            .await
            .unwrap();
        let mut state = OAuthState::Unauthorized(manager);
        state.start_authorization(request).await.unwrap();
        let authorization_url = state.get_authorization_url().await.unwrap();

        let browser = Browser::launch().await;
        let page = browser.new_page().await;
        page.goto(&authorization_url).await;
        page.sign_in(USERNAME, PASSWORD).await;
        page.decide(true).await;
        let callback = page
            .wait_for_url(|url| url.starts_with(&self.redirect_uri))
            .await;

        state.handle_callback_url(&callback).await.unwrap();
        let manager = state.into_authorization_manager().unwrap();
        AuthClient::new(reqwest::Client::default(), manager)
    }

    /// Opens an MCP session with `auth` and calls `whoami`; then forces a token refresh and
    /// calls it again. Returns both identities.
    async fn whoami_twice(&self, auth: AuthClient<reqwest::Client>) -> (Value, Value) {
        let transport = StreamableHttpClientTransport::with_client(
            auth.clone(),
            StreamableHttpClientTransportConfig::with_uri(self.mcp_url.as_str()),
        );
        let client = ClientConfig::default().serve(transport).await.unwrap();
        let first = whoami(&client).await;
        let before = auth.get_access_token().await.unwrap();
        auth.auth_manager
            .lock()
            .await
            .refresh_token()
            .await
            .unwrap();
        assert_ne!(auth.get_access_token().await.unwrap(), before);
        let second = whoami(&client).await;
        let _ = client.cancel().await;
        (first, second)
    }
}

async fn whoami(client: &rmcp::service::RunningService<rmcp::RoleClient, ClientConfig>) -> Value {
    let result = client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .unwrap();
    assert_ne!(result.is_error, Some(true), "{result:?}");
    serde_json::from_str(&result.content[0].as_text().unwrap().text).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn preregistered_confidential_client_signs_in_calls_tools_and_refreshes() {
    let deployment = Deployment::start(|config, redirect_uri| {
        config.preconfigured_clients.push(PreconfiguredClient {
            client_id: CONFIDENTIAL_ID.to_owned(),
            client_secret_hash: Some(TokenHash::of(CONFIDENTIAL_SECRET)),
            redirect_uris: vec![redirect_uri.to_owned()],
            client_name: Some("Notes service".to_owned()),
            grant_types: Some(vec![
                "authorization_code".to_owned(),
                "refresh_token".to_owned(),
            ]),
            response_types: None,
            token_endpoint_auth_method: Some("client_secret_basic".to_owned()),
            scope: None,
            application_type: None,
        });
    })
    .await;

    let auth = deployment
        .authorize(
            AuthorizationRequest::new(&deployment.redirect_uri)
                .with_preregistered_client(CONFIDENTIAL_ID)
                .with_client_secret(CONFIDENTIAL_SECRET),
        )
        .await;
    let (first, second) = deployment.whoami_twice(auth).await;
    for identity in [&first, &second] {
        assert_eq!(identity["subject"], USERNAME);
        assert_eq!(identity["client_id"], CONFIDENTIAL_ID);
    }

    // The same client with a wrong secret: the code exchange is refused.
    let manager = AuthorizationManager::new_allowing_private_addresses(deployment.mcp_url.as_str())
        .await
        .unwrap();
    let mut state = OAuthState::Unauthorized(manager);
    state
        .start_authorization(
            AuthorizationRequest::new(&deployment.redirect_uri)
                .with_preregistered_client(CONFIDENTIAL_ID)
                .with_client_secret("not-the-secret-0123456789abcdef0123456789"),
        )
        .await
        .unwrap();
    let browser = Browser::launch().await;
    let page = browser.new_page().await;
    page.goto(&state.get_authorization_url().await.unwrap())
        .await;
    page.sign_in(USERNAME, PASSWORD).await;
    // Consent was given to this client a moment ago: straight back with a code.
    let callback = page
        .wait_for_url(|url| url.starts_with(&deployment.redirect_uri))
        .await;
    let refused = state.handle_callback_url(&callback).await.unwrap_err();
    assert!(refused.to_string().contains("invalid_client"), "{refused}");
    // No registration happened on the way: the server knows only the configured client.
    assert!(
        deployment
            .server
            .store()
            .get_client(CONFIDENTIAL_ID)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn client_id_metadata_document_client_signs_in_calls_tools_and_refreshes() {
    // The client's metadata document, over https with the testkit's CA: its URL is the
    // client_id (clients send only https ones), so it is known only once bound.
    let document: Arc<std::sync::Mutex<Value>> = Arc::default();
    let served = Arc::clone(&document);
    let documents = Router::new().route(
        "/oauth/client.json",
        get(move || {
            let body = served.lock().unwrap().clone();
            async move { axum::Json(body) }
        }),
    );
    let tls = mcp_auth_testkit::tls::serve_https(documents).await;
    let client_id = format!("https://127.0.0.1:{}/oauth/client.json", tls.port());

    let deployment = Deployment::start(|config, _| {
        config.cimd = Some(
            CimdPolicy::default()
                // 127.0.0.1 is not a public address.
                .insecure_allow_private_targets()
                .add_root_certificates_pem(mcp_auth_testkit::tls::CA_PEM.as_bytes())
                .unwrap(),
        );
    })
    .await;
    *document.lock().unwrap() = json!({
        "client_id": client_id,
        "client_name": "Notes desktop",
        "redirect_uris": [deployment.redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
    });

    let metadata: Value = reqwest::get(format!(
        "{}/.well-known/oauth-authorization-server",
        deployment.server.issuer().as_str()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(metadata["client_id_metadata_document_supported"], true);

    let auth = deployment
        .authorize(
            AuthorizationRequest::new(&deployment.redirect_uri)
                .with_client_metadata_url(&client_id),
        )
        .await;
    let (first, second) = deployment.whoami_twice(auth).await;
    for identity in [&first, &second] {
        assert_eq!(identity["subject"], USERNAME);
        assert_eq!(identity["client_id"], client_id);
    }
    // Resolved from the document, not registered: the store holds no such client.
    assert!(
        deployment
            .server
            .store()
            .get_client(&client_id)
            .await
            .unwrap()
            .is_none()
    );
}
