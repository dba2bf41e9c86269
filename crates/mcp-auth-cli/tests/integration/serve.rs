//! `mcp-auth serve` end to end: the binary over real HTTP, a real rmcp client with its OAuth
//! support (discovery, dynamic registration, PKCE, code exchange, refresh), and the test
//! playing the browser at the login and consent pages.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE, WWW_AUTHENTICATE};
use rmcp::ServiceExt as _;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::auth::{AuthClient, AuthorizationManager, AuthorizationRequest, OAuthState};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// The running binary; killed on drop.
struct Served {
    child: Child,
    stdout: BufReader<ChildStdout>,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// Starts `mcp-auth serve` on a free port with the given extra arguments, in `dir`.
    fn start(args: &[&str], dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-auth"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let first = read_line(&mut stdout);
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        Self {
            child,
            stdout,
            base: format!("http://{addr}"),
        }
    }

    /// The value of the banner line starting with `prefix`, or `None` when the banner (up to
    /// its `ready` line) has none. Reads the whole banner.
    fn banner_value(&mut self, prefix: &str) -> Option<String> {
        let mut found = None;
        loop {
            let line = read_line(&mut self.stdout);
            if line.starts_with("ready") || line.is_empty() {
                return found;
            }
            if let Some(value) = line.strip_prefix(prefix) {
                found = Some(value.to_owned());
            }
        }
    }

    fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }
}

fn read_line(reader: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    line.trim_end().to_owned()
}

/// The cookies a browser would keep, by name.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn store(&mut self, response: &reqwest::Response) {
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

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The CSRF token of a page's form.
fn csrf(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a csrf field") + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_owned()
}

/// Plays the browser: login page, sign in, consent; returns the redirect to the client.
async fn browse(authorization_url: &str, base: &str, password: &str) -> String {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut jar = Jar::default();

    let login = browser.get(authorization_url).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    jar.store(&login);
    let token = csrf(&login.text().await.unwrap());

    let signed_in = browser
        .post(format!("{base}/authorize"))
        .header(COOKIE, jar.header())
        .form(&[
            ("username", "admin"),
            ("password", password),
            ("csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    jar.store(&signed_in);
    let next = signed_in.headers()[LOCATION].to_str().unwrap().to_owned();

    let consent = browser
        .get(format!("{base}{next}"))
        .header(COOKIE, jar.header())
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status(), StatusCode::OK);
    jar.store(&consent);
    let page = consent.text().await.unwrap();
    assert!(page.contains("e2e"), "the consent page names the client");
    let token = csrf(&page);

    let allowed = browser
        .post(format!("{base}/authorize"))
        .header(COOKIE, jar.header())
        .form(&[("decision", "allow"), ("csrf", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::SEE_OTHER);
    let location = allowed.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with(REDIRECT), "{location}");
    location
}

async fn whoami(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ClientConfig>,
) -> serde_json::Value {
    let result = client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .unwrap();
    assert_ne!(result.is_error, Some(true), "{result:?}");
    let text = result.content[0].as_text().unwrap().text.clone();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn rmcp_oauth_client_signs_in_calls_tools_and_refreshes() {
    let dir = tempfile::tempdir().unwrap();
    let mut served = Served::start(&["--store", "memory"], dir.path());
    let password = served.banner_value("admin password: ").expect("a password");
    let mcp_url = served.mcp_url();

    // Without a token: 401 naming the protected resource metadata.
    let anonymous = reqwest::Client::new()
        .post(&mcp_url)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let challenge = anonymous.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.contains(&format!(
            "resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
            served.base
        )),
        "{challenge}"
    );

    // Discovery and dynamic registration by rmcp, the browser by hand.
    let manager = AuthorizationManager::new_allowing_private_addresses(mcp_url.as_str())
        .await
        .unwrap();
    let mut state = OAuthState::Unauthorized(manager);
    state
        .start_authorization(AuthorizationRequest::new(REDIRECT).with_client_name("e2e"))
        .await
        .unwrap();
    let authorization_url = state.get_authorization_url().await.unwrap();
    let callback = browse(&authorization_url, &served.base, &password).await;
    state.handle_callback_url(&callback).await.unwrap();
    let manager = state.into_authorization_manager().unwrap();

    // The MCP session, with the bearer token rmcp got.
    let auth_client = AuthClient::new(reqwest::Client::default(), manager);
    let transport = StreamableHttpClientTransport::with_client(
        auth_client.clone(),
        StreamableHttpClientTransportConfig::with_uri(mcp_url.as_str()),
    );
    let client = ClientConfig::default().serve(transport).await.unwrap();
    let identity = whoami(&client).await;
    assert_eq!(identity["subject"], "admin");
    assert_eq!(identity["username"], "admin");
    // rmcp asked for every scope the resource metadata lists.
    assert_eq!(
        identity["scopes"],
        serde_json::json!(["greet", "mcp:tools"])
    );

    // A forced refresh: a new access token, which the server accepts.
    let before = auth_client.get_access_token().await.unwrap();
    auth_client
        .auth_manager
        .lock()
        .await
        .refresh_token()
        .await
        .unwrap();
    let after = auth_client.get_access_token().await.unwrap();
    assert_ne!(before, after);
    assert_eq!(whoami(&client).await["subject"], "admin");

    // `hello` needs scope `greet`, granted.
    let hello = client
        .call_tool(CallToolRequestParams::new("hello"))
        .await
        .unwrap();
    assert_eq!(hello.content[0].as_text().unwrap().text, "Hello, admin!");
    let _ = client.cancel().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_store_keeps_the_generated_admin_hash_only() {
    let dir = tempfile::tempdir().unwrap();
    let password = {
        let mut served = Served::start(&[], dir.path());
        served.banner_value("admin password: ").expect("a password")
    };
    assert!(dir.path().join("mcp-auth.db").exists());
    let kept = std::fs::read_to_string(dir.path().join("mcp-auth-users.toml")).unwrap();
    assert!(kept.contains("$argon2id$"));
    assert!(!kept.contains(&password));

    // A second start reuses the user and prints no password.
    let mut served = Served::start(&[], dir.path());
    assert!(served.banner_value("admin password: ").is_none());
    let metadata = reqwest::get(format!(
        "{}/.well-known/oauth-authorization-server",
        served.base
    ))
    .await
    .unwrap();
    assert_eq!(metadata.status(), StatusCode::OK);
    let document: serde_json::Value = metadata.json().await.unwrap();
    assert_eq!(document["issuer"], served.base);
}
