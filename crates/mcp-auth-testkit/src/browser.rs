//! Headless Chromium, driven over the Chrome DevTools Protocol, for tests of the pages a person
//! sees (login, consent, errors).
//!
//! [`Browser::launch`] starts Chromium with a fresh profile and `--remote-debugging-port=0`,
//! reads the port it chose from the profile's `DevToolsActivePort` file, and talks to it over a
//! WebSocket on 127.0.0.1. Each [`Page`] is a tab. The browser is real: it applies the pages'
//! Content-Security-Policy, `X-Frame-Options`, cookie prefixes and `SameSite`, and follows the
//! redirects after a form submission as a person's browser would.
//!
//! Chromium is required: when it is missing, [`Browser::launch`] panics with the command that
//! installs it (`apt-get install chromium`; `.ci/run` does). Set `CHROMIUM` to use another
//! binary.
//!
//! Every page records the Content-Security-Policy violations it causes (a listener added
//! before any of the page's own content runs), so a test can assert that a page works under
//! its own policy: [`Page::csp_violations`].
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() {
//! use mcp_auth_testkit::browser::Browser;
//!
//! let browser = Browser::launch().await;
//! let page = browser.new_page().await;
//! page.goto("http://127.0.0.1:8080/authorize?...").await;
//! page.sign_in("alice", "correct horse").await; // types, clicks, waits for the next page
//! page.decide(true).await; // Allow on the consent page
//! page.wait_for_url(|url| url.contains("code=")).await;
//! assert!(page.csp_violations().await.is_empty());
//! # }
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// How long any one wait (start-up, a command, a navigation) may take before the test fails.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Flags for a quiet, sandbox-free headless Chromium on a machine without a network: without
/// the background-networking flags Chromium keeps trying to reach Google's hosts.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
];

/// Installed before any document of a page runs its own content: collects the page's
/// Content-Security-Policy violations in `window.__cspViolations`.
const CSP_LISTENER: &str = r"
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline'));
});
";

/// Replies awaited by id.
type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A running headless Chromium; killed, with its profile removed, on drop.
#[derive(Debug)]
pub struct Browser {
    /// The Chromium process.
    child: Child,
    /// The temporary profile directory: held so that it is removed on drop, after the
    /// process is gone.
    _profile: tempfile::TempDir,
    /// The DevTools connection.
    cdp: Arc<Cdp>,
}

/// One tab of a [`Browser`].
#[derive(Debug)]
pub struct Page {
    /// The DevTools connection, shared with the browser.
    cdp: Arc<Cdp>,
    /// The DevTools session attached to this tab.
    session: String,
}

/// A cookie as the browser holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    /// Cookie name.
    pub name: String,
    /// Cookie value.
    pub value: String,
    /// `Path` attribute.
    pub path: String,
    /// Whether the cookie is `Secure`.
    pub secure: bool,
    /// Whether the cookie is `HttpOnly`.
    pub http_only: bool,
    /// `SameSite` as Chromium reports it (`Lax`, `Strict`, `None`), if set.
    pub same_site: Option<String>,
    /// Whether it is a session cookie (no `Max-Age` or `Expires`).
    pub session: bool,
}

/// The DevTools WebSocket: commands go out through a writer task; a reader task routes
/// replies to their callers.
#[derive(Debug)]
struct Cdp {
    /// Outgoing messages.
    outgoing: mpsc::UnboundedSender<String>,
    /// Callers waiting for a reply, by command id.
    pending: Pending,
    /// The next command id.
    next_id: AtomicU64,
}

impl Browser {
    /// Starts headless Chromium with an empty profile.
    ///
    /// # Panics
    ///
    /// When Chromium is not installed or does not start within 20 seconds; the message says
    /// how to install it.
    pub async fn launch() -> Self {
        let binary = chromium_binary();
        let profile = tempfile::tempdir().expect("create a temporary Chromium profile");
        let log = std::fs::File::create(profile.path().join("chromium.log"))
            .expect("create the Chromium log");
        let child = Command::new(&binary)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            // Chromium keeps its singleton socket in TMPDIR; inside the profile, it goes with
            // the profile even when the process is killed.
            .env("TMPDIR", profile.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "could not start Chromium ({}): {e}. Install it with \
                     `apt-get install chromium` (.ci/run does), or set CHROMIUM to its path",
                    binary.display()
                )
            });
        let mut child = KillOnDrop(Some(child));
        let url = wait_for_devtools(&mut child, profile.path()).await;
        let cdp = Arc::new(Cdp::connect(&url).await);
        Self {
            child: child.0.take().expect("the child is still held"),
            _profile: profile,
            cdp,
        }
    }

    /// Opens a new tab on `about:blank`, with the CSP violation listener installed.
    pub async fn new_page(&self) -> Page {
        let target = self
            .cdp
            .call(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let target_id = target["targetId"].as_str().expect("a target id").to_owned();
        let attached = self
            .cdp
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
            )
            .await;
        let page = Page {
            cdp: Arc::clone(&self.cdp),
            session: attached["sessionId"]
                .as_str()
                .expect("a session id")
                .to_owned(),
        };
        page.call("Page.enable", json!({})).await;
        page.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": CSP_LISTENER}),
        )
        .await;
        page
    }
}

/// A Chromium process killed if start-up fails half-way (a panic while waiting for it).
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits for Chromium to write its DevTools port and browser path into the profile, and
/// returns the browser's WebSocket URL.
async fn wait_for_devtools(child: &mut KillOnDrop, profile: &Path) -> String {
    let file = profile.join("DevToolsActivePort");
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(&file) {
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                return format!("ws://127.0.0.1:{port}{path}");
            }
        }
        if let Some(Ok(Some(status))) = child.0.as_mut().map(Child::try_wait) {
            panic!(
                "Chromium exited at start-up ({status}); its output:\n{}",
                read_log(profile)
            );
        }
        assert!(
            started.elapsed() < TIMEOUT,
            "Chromium did not open its DevTools port within {TIMEOUT:?}; its output:\n{}",
            read_log(profile)
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Page {
    /// Navigates to `url` and waits until the document has loaded.
    pub async fn goto(&self, url: &str) {
        let navigated = self.call("Page.navigate", json!({"url": url})).await;
        if let Some(error) = navigated.get("errorText").and_then(Value::as_str) {
            // A navigation the browser refused (a blocked redirect, say) still leaves a page.
            eprintln!("browser: navigation to {url} ended with {error}");
        }
        self.wait_until_loaded().await;
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its value.
    ///
    /// # Panics
    ///
    /// When the expression throws.
    pub async fn eval(&self, expression: &str) -> Value {
        match self.try_eval(expression).await {
            Ok(value) => value,
            Err(error) => panic!("`{expression}` threw in the page: {error}"),
        }
    }

    /// The page's current URL.
    pub async fn url(&self) -> String {
        self.eval("location.href")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.eval("document.body ? document.body.innerText : ''")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Types `text` into the element matching `selector`, as keyboard input.
    pub async fn type_into(&self, selector: &str, text: &str) {
        self.focus(selector).await;
        self.call("Input.insertText", json!({ "text": text })).await;
    }

    /// Clicks the element matching `selector` with the mouse, at its centre.
    ///
    /// # Panics
    ///
    /// When no element matches.
    pub async fn click(&self, selector: &str) {
        let selector_js = serde_json::to_string(selector).expect("a string serializes");
        let rect = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({selector_js}); if (!e) return null; \
                 e.scrollIntoView(); const r = e.getBoundingClientRect(); \
                 return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
            ))
            .await;
        let (Some(x), Some(y)) = (rect[0].as_f64(), rect[1].as_f64()) else {
            panic!("nothing matches `{selector}` on {}", self.url().await);
        };
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            )
            .await;
        }
    }

    /// Clicks the element matching `selector` and waits until the document it leads to (after
    /// any redirects) has loaded: for form submissions and links.
    pub async fn click_and_wait(&self, selector: &str) {
        // A mark on the current document's window: gone once another document replaced it.
        self.eval("window.__mcpAuthOldDocument = true").await;
        self.click(selector).await;
        let started = Instant::now();
        loop {
            let state = self
                .try_eval("window.__mcpAuthOldDocument === undefined && document.readyState")
                .await;
            if state.as_ref().is_ok_and(|s| s == "complete") {
                return;
            }
            assert!(
                started.elapsed() < TIMEOUT,
                "clicking `{selector}` led nowhere within {TIMEOUT:?}; the page is {} and shows:\n{}",
                self.url().await,
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// On mcp-auth-server's login page: types `username` and `password` and submits, as a
    /// person would; returns once the next page has loaded. The field names are the stable
    /// ones the authorization endpoint documents.
    pub async fn sign_in(&self, username: &str, password: &str) {
        self.type_into("input[name=username]", username).await;
        self.type_into("input[name=password]", password).await;
        self.click_and_wait("form button[type=submit], form input[type=submit]")
            .await;
    }

    /// Whether the page is mcp-auth-server's consent page (a form with `decision` buttons).
    pub async fn is_consent_page(&self) -> bool {
        self.try_eval("!!document.querySelector('button[name=decision]')")
            .await
            .is_ok_and(|found| found == Value::Bool(true))
    }

    /// On mcp-auth-server's consent page: presses Allow (`true`) or Deny; returns once the
    /// page the browser was sent to (the client's redirect URI) has loaded.
    ///
    /// # Panics
    ///
    /// When the page is not a consent page.
    pub async fn decide(&self, allow: bool) {
        assert!(
            self.is_consent_page().await,
            "not a consent page: {}\n{}",
            self.url().await,
            self.text().await
        );
        let value = if allow { "allow" } else { "deny" };
        self.click_and_wait(&format!("button[name=decision][value={value}]"))
            .await;
    }

    /// Waits until the page's URL satisfies `done` and its document has loaded; returns the
    /// URL.
    ///
    /// # Panics
    ///
    /// After 20 seconds, naming the URL the page is on.
    pub async fn wait_for_url(&self, done: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            if let Ok(state) = self
                .try_eval("JSON.stringify([location.href, document.readyState])")
                .await
            {
                let state: Value =
                    serde_json::from_str(state.as_str().unwrap_or("[]")).unwrap_or_default();
                let url = state[0].as_str().unwrap_or_default();
                if done(url) && state[1] == "complete" {
                    return url.to_owned();
                }
                assert!(
                    started.elapsed() < TIMEOUT,
                    "the page stayed at {url} for {TIMEOUT:?}; it shows:\n{}",
                    self.text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The Content-Security-Policy violations of the current document, as
    /// `"<directive> blocked <uri>"`.
    pub async fn csp_violations(&self) -> Vec<String> {
        let value = self.eval("window.__cspViolations || []").await;
        serde_json::from_value(value).expect("a list of strings")
    }

    /// Every cookie the browser holds for `url`.
    pub async fn cookies(&self, url: &str) -> Vec<Cookie> {
        let reply = self
            .call("Network.getCookies", json!({ "urls": [url] }))
            .await;
        reply["cookies"]
            .as_array()
            .map(|cookies| {
                cookies
                    .iter()
                    .map(|c| Cookie {
                        name: c["name"].as_str().unwrap_or_default().to_owned(),
                        value: c["value"].as_str().unwrap_or_default().to_owned(),
                        path: c["path"].as_str().unwrap_or_default().to_owned(),
                        secure: c["secure"].as_bool().unwrap_or(false),
                        http_only: c["httpOnly"].as_bool().unwrap_or(false),
                        same_site: c["sameSite"].as_str().map(str::to_owned),
                        session: c["session"].as_bool().unwrap_or(false),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The frames of the page (the top one first), each as (URL, URL it failed to load, if
    /// any). A frame the browser refused to render, such as a page that forbids framing,
    /// shows an error document and names the refused URL as its unreachable URL.
    pub async fn frames(&self) -> Vec<(String, Option<String>)> {
        fn walk(node: &Value, out: &mut Vec<(String, Option<String>)>) {
            let frame = &node["frame"];
            out.push((
                frame["url"].as_str().unwrap_or_default().to_owned(),
                frame["unreachableUrl"].as_str().map(str::to_owned),
            ));
            for child in node["childFrames"].as_array().into_iter().flatten() {
                walk(child, out);
            }
        }
        let tree = self.call("Page.getFrameTree", json!({})).await;
        let mut out = Vec::new();
        walk(&tree["frameTree"], &mut out);
        out
    }

    /// Saves a PNG screenshot of the page to `path` (for a person to look at; the tests
    /// assert on the DOM).
    pub async fn screenshot(&self, path: &Path) {
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let data = shot["data"].as_str().unwrap_or_default();
        let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data)
            .expect("the screenshot is base64");
        std::fs::write(path, png).expect("write the screenshot");
    }

    /// Sends a DevTools command to this tab.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.cdp.call(Some(&self.session), method, params).await
    }

    /// Focuses the element matching `selector`.
    async fn focus(&self, selector: &str) {
        let selector_js = serde_json::to_string(selector).expect("a string serializes");
        let found = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({selector_js}); \
                 if (!e) return false; e.focus(); return true; }})()"
            ))
            .await;
        assert!(
            found == Value::Bool(true),
            "nothing matches `{selector}` on {}",
            self.url().await
        );
    }

    /// Waits until the document of the current URL has loaded.
    async fn wait_until_loaded(&self) {
        self.wait_for_url(|_| true).await;
    }

    /// Evaluates `expression`; `Err` with the exception's description when it throws or the
    /// document is being replaced.
    async fn try_eval(&self, expression: &str) -> Result<Value, String> {
        let reply = self
            .cdp
            .try_call(
                Some(&self.session),
                "Runtime.evaluate",
                json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
            )
            .await?;
        if let Some(exception) = reply.get("exceptionDetails") {
            return Err(exception["exception"]["description"]
                .as_str()
                .or_else(|| exception["text"].as_str())
                .unwrap_or("an exception")
                .to_owned());
        }
        Ok(reply["result"]["value"].clone())
    }
}

impl Cdp {
    /// Connects to the browser endpoint at `url` and starts the reader and writer tasks.
    async fn connect(url: &str) -> Self {
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .unwrap_or_else(|e| panic!("could not connect to Chromium's DevTools at {url}: {e}"));
        let (mut sink, mut stream) = socket.split();
        let (outgoing, mut to_send) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(text) = to_send.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
        });
        let pending = Pending::default();
        let routes = Arc::clone(&pending);
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                // Events carry no id; only replies are routed.
                let Some(id) = value.get("id").and_then(Value::as_u64) else {
                    continue;
                };
                let waiting = routes.lock().expect("not poisoned").remove(&id);
                if let Some(reply_to) = waiting {
                    let _ = reply_to.send(value);
                }
            }
        });
        Self {
            outgoing,
            pending,
            next_id: AtomicU64::new(1),
        }
    }

    /// Sends a command and returns its result.
    ///
    /// # Panics
    ///
    /// When the browser answers with an error or not within the timeout.
    async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        match self.try_call(session, method, params).await {
            Ok(result) => result,
            Err(error) => panic!("DevTools command {method} failed: {error}"),
        }
    }

    /// Sends a command; `Err` with the browser's message when it answers with an error.
    async fn try_call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        let (reply_to, reply) = oneshot::channel();
        self.pending
            .lock()
            .expect("not poisoned")
            .insert(id, reply_to);
        self.outgoing
            .send(command.to_string())
            .map_err(|_| "the DevTools connection is closed".to_owned())?;
        let reply = tokio::time::timeout(TIMEOUT, reply)
            .await
            .map_err(|_| format!("no answer to {method} within {TIMEOUT:?}"))?
            .map_err(|_| "the DevTools connection closed".to_owned())?;
        if let Some(error) = reply.get("error") {
            return Err(error["message"]
                .as_str()
                .unwrap_or("unknown error")
                .to_owned());
        }
        Ok(reply["result"].clone())
    }
}

/// The Chromium binary: `$CHROMIUM`, else the first of `chromium`, `chromium-browser`,
/// `google-chrome` on `PATH`.
fn chromium_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "headless Chromium is required for the page tests and was not found on PATH \
         (chromium, chromium-browser, google-chrome). Install it with \
         `apt-get install chromium` (.ci/run does), or set CHROMIUM to its path"
    );
}

/// Chromium's own output, for a failure message.
fn read_log(profile: &Path) -> String {
    std::fs::read_to_string(profile.join("chromium.log")).unwrap_or_default()
}
