//! A server under test: a store, an issuer, registered clients, and helpers to call the
//! token, revocation and introspection endpoints as a client would.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode};
use mcp_auth_core::Scopes;
use mcp_auth_server::http::Request;
use mcp_auth_server::introspect::introspect_endpoint;
use mcp_auth_server::keys::{SigningAlgorithm, SigningKeys};
use mcp_auth_server::pkce::CodeChallenge;
use mcp_auth_server::revoke::revoke_endpoint;
use mcp_auth_server::store::{
    ApplicationType, AuthorizationGrant, ClientRecord, ClientSource, MemoryStore, Store, TokenHash,
};
use mcp_auth_server::token::{AccessTokenIssuer, TokenDeps, token_endpoint};
use serde_json::Value;

pub(crate) const NOW: u64 = 1_700_000_000;
pub(crate) const ISSUER: &str = "https://auth.example.com";
pub(crate) const RESOURCE: &str = "https://mcp.example.com/mcp";
pub(crate) const OTHER_RESOURCE: &str = "https://files.example.com/mcp";
pub(crate) const REDIRECT: &str = "https://app.example.com/callback";
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// Public client: authorization_code + refresh_token.
pub(crate) const PUBLIC: &str = "public-app";
/// Public client without the refresh_token grant.
pub(crate) const NO_REFRESH: &str = "no-refresh-app";
/// Public client that registered client_credentials (which it still may not use).
pub(crate) const PUBLIC_CC: &str = "public-cc-app";
/// client_secret_basic: every grant, scope "mcp:read mcp:tools".
pub(crate) const BASIC: &str = "basic-app";
pub(crate) const BASIC_SECRET: &str = "basic-secret-0123456789";
/// client_secret_post: authorization_code and client_credentials, no registered scope.
pub(crate) const POST: &str = "post-app";
pub(crate) const POST_SECRET: &str = "post-secret-0123456789";

/// A response: status, headers, JSON body (`Null` when empty).
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Answer {
    /// The `error` code of an error answer.
    pub(crate) fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    /// Asserts an error answer: status and code, not cached.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: StatusCode, error: &str) {
        assert_eq!(
            (self.status, self.error()),
            (status, error),
            "body: {}",
            self.body
        );
        assert_eq!(self.headers[CACHE_CONTROL], "no-store");
    }

    /// Asserts a 200 token response and returns (access token, refresh token).
    #[track_caller]
    pub(crate) fn tokens(&self) -> (String, Option<String>) {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
        assert_eq!(self.headers[CACHE_CONTROL], "no-store");
        assert_eq!(self.body["token_type"], "Bearer");
        let access = self.body["access_token"].as_str().unwrap().to_owned();
        let refresh = self.body["refresh_token"].as_str().map(str::to_owned);
        (access, refresh)
    }
}

/// How a request authenticates its client.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// No credentials at all.
    Nothing,
    /// `client_id` in the body.
    Public(&'a str),
    /// `Authorization: Basic` with the id and secret form-encoded.
    Basic(&'a str, &'a str),
    /// `client_id` and `client_secret` in the body.
    Post(&'a str, &'a str),
    /// A raw `Authorization` header value.
    Header(&'a str),
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A POST with a form body of `params`, authenticated with `auth`.
pub(crate) fn request(params: &[(&str, &str)], auth: Auth<'_>) -> Request {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut header = None;
    match auth {
        Auth::Nothing => {}
        Auth::Public(id) => pairs.push(("client_id".into(), id.into())),
        Auth::Post(id, secret) => {
            pairs.push(("client_id".into(), id.into()));
            pairs.push(("client_secret".into(), secret.into()));
        }
        Auth::Basic(id, secret) => {
            let raw = format!("{}:{}", encode(id), encode(secret));
            header = Some(format!("Basic {}", STANDARD.encode(raw)));
        }
        Auth::Header(value) => header = Some(value.to_owned()),
    }
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    raw_request(Method::POST, body, header.as_deref())
}

/// A request with a body as given.
pub(crate) fn raw_request(method: Method, body: String, authorization: Option<&str>) -> Request {
    let mut builder = http::Request::builder()
        .method(method)
        .uri("https://auth.example.com/token")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(value) = authorization {
        builder = builder.header(AUTHORIZATION, value);
    }
    builder.body(Bytes::from(body)).unwrap()
}

/// The claims of a JWT, unverified.
pub(crate) fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn client(id: &str, method: &str, secret: Option<&str>, grants: &[&str]) -> ClientRecord {
    ClientRecord {
        client_id: id.to_owned(),
        client_secret_hash: secret.map(TokenHash::of),
        redirect_uris: vec![REDIRECT.to_owned()],
        client_name: None,
        grant_types: grants.iter().map(|g| (*g).to_owned()).collect(),
        response_types: vec!["code".to_owned()],
        token_endpoint_auth_method: method.to_owned(),
        scope: None,
        application_type: ApplicationType::Web,
        source: ClientSource::Dynamic,
        created_at: NOW - 100,
        metadata_expires_at: None,
    }
}

/// The authorization server's state and configuration.
pub(crate) struct Server {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) issuer: AccessTokenIssuer,
    pub(crate) resources: Vec<String>,
    pub(crate) scopes: Scopes,
    #[cfg(feature = "cimd")]
    pub(crate) cimd: Option<mcp_auth_server::client::cimd::CimdResolver>,
}

impl Server {
    /// A server on a fresh [`MemoryStore`].
    pub(crate) async fn memory() -> Self {
        Self::on(Arc::new(MemoryStore::new())).await
    }

    /// A server on `store`, with the test clients registered.
    pub(crate) async fn on(store: Arc<dyn Store>) -> Self {
        let keys = SigningKeys::load(store.as_ref(), SigningAlgorithm::Es256, NOW)
            .await
            .unwrap();
        let issuer = AccessTokenIssuer::new(ISSUER, Arc::new(keys));
        let all = ["authorization_code", "refresh_token", "client_credentials"];
        let mut basic = client(BASIC, "client_secret_basic", Some(BASIC_SECRET), &all);
        basic.scope = Some("mcp:read mcp:tools".to_owned());
        for record in [
            client(PUBLIC, "none", None, &all[..2]),
            client(NO_REFRESH, "none", None, &all[..1]),
            client(PUBLIC_CC, "none", None, &["client_credentials"]),
            basic,
            client(
                POST,
                "client_secret_post",
                Some(POST_SECRET),
                &["authorization_code", "client_credentials"],
            ),
        ] {
            store.put_client(record).await.unwrap();
        }
        Self {
            store,
            issuer,
            resources: vec![RESOURCE.to_owned(), OTHER_RESOURCE.to_owned()],
            scopes: "mcp:read mcp:tools mcp:admin".parse().unwrap(),
            #[cfg(feature = "cimd")]
            cimd: None,
        }
    }

    pub(crate) fn deps(&self) -> TokenDeps<'_> {
        let deps = TokenDeps::new(
            self.store.as_ref(),
            &self.issuer,
            &self.resources,
            &self.scopes,
        );
        #[cfg(feature = "cimd")]
        if let Some(resolver) = &self.cimd {
            return deps.with_cimd(resolver);
        }
        deps
    }

    /// Stores an authorization code for `client_id` (scopes "mcp:read mcp:tools", PKCE with
    /// [`VERIFIER`], valid 60 s from [`NOW`]) and returns it.
    pub(crate) async fn code(&self, client_id: &str, resource: Option<&str>) -> String {
        let code = format!("code-{}", URL_SAFE_NO_PAD.encode(rand_bytes()));
        self.store
            .put_code(
                TokenHash::of(&code),
                AuthorizationGrant {
                    client_id: client_id.to_owned(),
                    redirect_uri: REDIRECT.to_owned(),
                    code_challenge: CodeChallenge::s256_of(VERIFIER),
                    resource: resource.map(str::to_owned),
                    scopes: "mcp:read mcp:tools".parse().unwrap(),
                    subject: "alice".to_owned(),
                    expires_at: NOW + 60,
                    issued_family: None,
                },
            )
            .await
            .unwrap();
        code
    }

    pub(crate) async fn token(&self, req: Request, now: u64) -> Answer {
        answer(token_endpoint(&req, &self.deps(), now).await)
    }

    pub(crate) async fn revoke(&self, req: Request) -> Answer {
        answer(revoke_endpoint(&req, &self.deps()).await)
    }

    pub(crate) async fn introspect(&self, req: Request, now: u64) -> Answer {
        answer(introspect_endpoint(&req, &self.deps(), now).await)
    }

    /// Redeems `code` for `client` with the right verifier and redirect URI.
    pub(crate) async fn redeem(&self, code: &str, auth: Auth<'_>) -> Answer {
        let params = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        self.token(request(&params, auth), NOW + 5).await
    }

    /// Refreshes with `refresh_token` at `now`, with extra parameters.
    pub(crate) async fn refresh(
        &self,
        refresh_token: &str,
        auth: Auth<'_>,
        extra: &[(&str, &str)],
        now: u64,
    ) -> Answer {
        let mut params = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        params.extend_from_slice(extra);
        self.token(request(&params, auth), now).await
    }

    /// A public client's tokens from a fresh code: (access, refresh).
    pub(crate) async fn public_tokens(&self) -> (String, String) {
        let code = self.code(PUBLIC, Some(RESOURCE)).await;
        let (access, refresh) = self.redeem(&code, Auth::Public(PUBLIC)).await.tokens();
        (access, refresh.unwrap())
    }
}

fn rand_bytes() -> [u8; 16] {
    let mut buf = [0u8; 16];
    getrandom::fill(&mut buf).unwrap();
    buf
}

fn answer(response: mcp_auth_server::http::Response) -> Answer {
    let (parts, body) = response.into_parts();
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap()
    };
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}
