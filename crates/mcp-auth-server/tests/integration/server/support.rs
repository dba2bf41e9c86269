//! A server under test, called through `handle` with a manual clock.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::header::SET_COOKIE;
use mcp_auth_core::clock::ManualClock;
use mcp_auth_server::http::Response;
use mcp_auth_server::metadata::Issuer;
use mcp_auth_server::server::{AuthorizationServer, RateLimits, ServerConfig, ServerError};
use mcp_auth_server::store::{MemoryStore, Store};
use mcp_auth_server::user::{HashParams, Password, StaticUser, StaticUsers, hash_password_with};
use serde_json::Value;

pub(crate) const NOW: u64 = 1_700_000_000;
pub(crate) const ISSUER: &str = "https://auth.example.com";
pub(crate) const RESOURCE: &str = "https://mcp.example.com/mcp";
pub(crate) const USERNAME: &str = "alice";
pub(crate) const PASSWORD: &str = "correct horse";

const CALLER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) server: AuthorizationServer,
    pub(crate) clock: ManualClock,
}

fn users() -> StaticUsers {
    let cheap = HashParams::new(8, 1, 1).unwrap();
    let hash = hash_password_with(&Password::new(PASSWORD), &cheap).unwrap();
    StaticUsers::new([StaticUser::new(USERNAME, hash)]).unwrap()
}

/// Starts a server for `issuer` (no rate limits unless `configure` sets some).
pub(crate) async fn try_start(
    issuer: &str,
    configure: impl FnOnce(&mut ServerConfig),
) -> Result<Server, ServerError> {
    try_start_on(Arc::new(MemoryStore::new()), issuer, configure).await
}

/// Starts a server for `issuer` on `store`.
pub(crate) async fn try_start_on(
    store: Arc<dyn Store>,
    issuer: &str,
    configure: impl FnOnce(&mut ServerConfig),
) -> Result<Server, ServerError> {
    let clock = ManualClock::at_unix(NOW);
    let mut config = ServerConfig::new(Issuer::parse(issuer).unwrap(), RESOURCE);
    config.scopes_supported = "mcp:tools mcp:read".parse().unwrap();
    config.default_scopes = "mcp:tools".parse().unwrap();
    config.rate_limits = RateLimits::unlimited();
    config.clock = Arc::new(clock.clone());
    configure(&mut config);
    let server = AuthorizationServer::start(config, store, Arc::new(users())).await?;
    Ok(Server { server, clock })
}

impl Server {
    pub(crate) async fn start() -> Self {
        Self::start_with(ISSUER, |_| {}).await
    }

    pub(crate) async fn start_with(
        issuer: &str,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Self {
        try_start(issuer, configure).await.unwrap()
    }

    pub(crate) async fn call_from(
        &self,
        ip: IpAddr,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Response {
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(body.map_or_else(Bytes::new, Bytes::from))
            .unwrap();
        self.server.handle(request, Some(ip)).await
    }

    pub(crate) async fn call(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Response {
        self.call_from(CALLER, method, uri, headers, body).await
    }

    pub(crate) async fn get(&self, uri: &str) -> Response {
        self.call("GET", uri, &[], None).await
    }

    pub(crate) async fn post_json(&self, uri: &str, value: &Value) -> Response {
        let headers = [("content-type", "application/json")];
        self.call("POST", uri, &headers, Some(value.to_string()))
            .await
    }

    /// A POST of `json`, sent as it is with `Content-Type: application/json`.
    #[cfg(feature = "sqlite")]
    pub(crate) async fn post_json_text(&self, uri: &str, json: String) -> Response {
        let headers = [("content-type", "application/json")];
        self.call("POST", uri, &headers, Some(json)).await
    }

    pub(crate) async fn post_form(&self, uri: &str, params: &[(&str, &str)]) -> Response {
        self.post_form_with(uri, params, &[]).await
    }

    pub(crate) async fn post_form_with(
        &self,
        uri: &str,
        params: &[(&str, &str)],
        extra: &[(&str, &str)],
    ) -> Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        headers.extend_from_slice(extra);
        self.call("POST", uri, &headers, Some(body)).await
    }
}

/// The cookies a browser would keep.
#[derive(Default)]
pub(crate) struct Jar(BTreeMap<String, String>);

impl Jar {
    pub(crate) fn store(&mut self, response: &Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub(crate) fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The CSRF token of the page's form.
pub(crate) fn csrf(page: &Response) -> String {
    let html = std::str::from_utf8(page.body()).unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a csrf field") + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_owned()
}

/// The body of a response as text (HTML pages).
pub(crate) fn text(response: &Response) -> &str {
    std::str::from_utf8(response.body()).unwrap()
}

/// The JSON body of a response.
pub(crate) fn body(response: &Response) -> Value {
    serde_json::from_slice(response.body()).unwrap()
}

/// `token`'s claims under a header of type `typ`, signed with the server's active key.
pub(crate) fn resign_with_typ(server: &AuthorizationServer, token: &str, typ: &str) -> String {
    let key = server.signing_keys().active();
    let header = serde_json::json!({"alg": key.alg().as_str(), "typ": typ, "kid": key.kid()});
    let claims = token.split('.').nth(1).unwrap();
    let input = format!(
        "{}.{claims}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap())
    );
    let signature = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}
