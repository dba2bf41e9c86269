//! Starting apps, sending requests, recording what came back, comparing two adapters.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;

use base64::Engine as _;
use futures::FutureExt as _;
use futures::future::LocalBoxFuture;
use reqwest::Method;

use super::scenario::Scenario;

/// An adapter the suite can start apps with: implemented once per adapter in its test binary.
pub trait AdapterUnderTest {
    /// A short name for messages (`"axum"`, `"actix"`).
    fn name(&self) -> &'static str;

    /// Serves, on a fresh `127.0.0.1:0` listener, the app described in
    /// [`crate::conformance`] with its middleware configured by `scenario`.
    fn start(&self, scenario: Scenario) -> LocalBoxFuture<'static, Running>;
}

/// A running app; stopped when dropped.
pub struct Running {
    addr: SocketAddr,
    stop: Option<Box<dyn FnOnce()>>,
}

impl fmt::Debug for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// An app listening on `addr`; `stop` is called on drop.
    pub fn new(addr: SocketAddr, stop: impl FnOnce() + 'static) -> Self {
        Self {
            addr,
            stop: Some(Box::new(stop)),
        }
    }

    /// Where the app listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

/// The body of a [`Req`].
#[derive(Debug, Clone)]
enum ReqBody {
    None,
    Full(Vec<u8>),
    Chunked(Vec<Vec<u8>>),
}

/// A request a case sends.
#[derive(Debug, Clone)]
pub struct Req {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: ReqBody,
    note: String,
    uncompared: Vec<String>,
    local_address: Option<IpAddr>,
}

impl Req {
    /// `method path`, no headers, no body.
    pub fn new(method: Method, path: &str) -> Self {
        Self {
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            body: ReqBody::None,
            note: String::new(),
            uncompared: Vec::new(),
            local_address: None,
        }
    }

    /// `GET path`.
    pub fn get(path: &str) -> Self {
        Self::new(Method::GET, path)
    }

    /// `POST path`.
    pub fn post(path: &str) -> Self {
        Self::new(Method::POST, path)
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
            .note(token)
    }

    /// Adds a header (repeatable: a second call with the same name adds a second field).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = ReqBody::Full(body.into());
        self
    }

    /// Sets a JSON body (`Content-Type: application/json`).
    pub fn json(self, body: &serde_json::Value) -> Self {
        self.header("content-type", "application/json")
            .body(body.to_string())
    }

    /// Sets an `application/x-www-form-urlencoded` body of `pairs`, in order.
    pub fn form(self, pairs: &[(&str, &str)]) -> Self {
        let body = pairs
            .iter()
            .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }

    /// Adds `Authorization: Basic` with the form-encoded `client_id` and `secret` (RFC 6749
    /// section 2.3.1).
    pub fn basic(self, client_id: &str, secret: &str) -> Self {
        let credentials = format!("{}:{}", form_encode(client_id), form_encode(secret));
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        self.header("authorization", &format!("Basic {encoded}"))
    }

    /// Adds a `Cookie` header with the `(name, value)` pairs.
    pub fn cookies(self, cookies: &[(&str, &str)]) -> Self {
        let value = cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        self.header("cookie", &value)
    }

    /// Sends the body in `chunks`, without `Content-Length`.
    pub fn chunked(mut self, chunks: Vec<Vec<u8>>) -> Self {
        self.body = ReqBody::Chunked(chunks);
        self
    }

    /// Sends from `address` (a loopback address other than `127.0.0.1`, to be another caller
    /// for the server's per-address limits); the label notes it.
    pub fn from_address(mut self, address: IpAddr) -> Self {
        self.local_address = Some(address);
        self.note(&format!("from {address}"))
    }

    /// Adds a note to the label of the recorded exchange.
    pub fn note(mut self, note: &str) -> Self {
        if !self.note.is_empty() {
            self.note.push_str(", ");
        }
        self.note.push_str(note);
        self
    }

    /// Leaves header `name` out of [`compare`] for this exchange (never out of the case's own
    /// assertions): for a header the web framework writes around the middleware, where the
    /// adapter has no say. Each use says why.
    pub fn compare_without(mut self, name: &str) -> Self {
        self.uncompared.push(name.to_ascii_lowercase());
        self
    }

    fn label(&self) -> String {
        if self.note.is_empty() {
            format!("{} {}", self.method, self.path)
        } else {
            format!("{} {} [{}]", self.method, self.path, self.note)
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of one name or value: unreserved characters
/// as they are, space as `+`, every other byte as `%XX`.
pub(crate) fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Response headers left out of transcripts: framing and clock, which servers may legitimately
/// write differently.
const TRANSPORT_HEADERS: &[&str] = &[
    "date",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
];

/// One request and what came back: status, every header but `date` and framing headers (names
/// in lower case, values in order), and the body.
#[derive(Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The request, e.g. `POST /mcp [alice-token]`.
    pub label: String,
    /// The status code.
    pub status: u16,
    /// Response headers by name.
    pub headers: BTreeMap<String, Vec<String>>,
    /// The response body.
    pub body: Vec<u8>,
    /// Headers [`compare`] leaves out ([`Req::compare_without`]).
    pub uncompared: Vec<String>,
}

impl fmt::Debug for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} -> {}", self.label, self.status)?;
        for (name, values) in &self.headers {
            for value in values {
                writeln!(f, "  {name}: {value}")?;
            }
        }
        write!(f, "  body: {:?}", String::from_utf8_lossy(&self.body))
    }
}

impl Exchange {
    /// Every value of header `name`.
    pub fn all(&self, name: &str) -> &[String] {
        self.headers.get(name).map_or(&[], Vec::as_slice)
    }

    /// The one value of header `name`, if present.
    ///
    /// # Panics
    ///
    /// When the header is present more than once.
    pub fn header(&self, name: &str) -> Option<&str> {
        match self.all(name) {
            [] => None,
            [one] => Some(one),
            many => panic!("{}: {name} sent {} times: {many:?}", self.label, many.len()),
        }
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends requests and records every exchange, for one adapter in one case; shared by both
/// halves of the suite.
pub(crate) struct Recorder {
    adapter: &'static str,
    http: reqwest::Client,
    transcript: RefCell<Vec<Exchange>>,
    placeholders: RefCell<Vec<(String, String)>>,
}

impl Recorder {
    pub(crate) fn new(adapter: &'static str) -> Self {
        Self {
            adapter,
            http: http_client(None),
            transcript: RefCell::new(Vec::new()),
            placeholders: RefCell::new(Vec::new()),
        }
    }

    pub(crate) fn adapter(&self) -> &'static str {
        self.adapter
    }

    /// Records that `value` is random per server, to be shown as `<name>` in the transcript
    /// [`compare`] reads (never in what [`Server::send`] returns). Only the
    /// authorization-server cases meet such values.
    #[cfg(feature = "server")]
    pub(crate) fn placeholder(&self, name: &str, value: &str) {
        if value.is_empty() {
            return;
        }
        let mut placeholders = self.placeholders.borrow_mut();
        if !placeholders.iter().any(|(known, _)| known == value) {
            placeholders.push((value.to_owned(), format!("<{name}>")));
        }
    }

    pub(crate) fn server(&self, running: Running) -> Server<'_> {
        Server {
            recorder: self,
            origin: format!("http://{}", running.addr()),
            _running: running,
        }
    }

    /// The transcript, each placeholder's value replaced by its name everywhere (label, header
    /// values, body); longer values first, so that a value containing another is replaced
    /// whole.
    pub(crate) fn into_transcript(self) -> Vec<Exchange> {
        let mut placeholders = self.placeholders.into_inner();
        placeholders.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        let mut transcript = self.transcript.into_inner();
        for ex in &mut transcript {
            for (value, name) in &placeholders {
                ex.label = ex.label.replace(value.as_str(), name);
                for values in ex.headers.values_mut() {
                    for header in values.iter_mut() {
                        *header = header.replace(value.as_str(), name);
                    }
                }
                ex.body = replace_bytes(&ex.body, value.as_bytes(), name.as_bytes());
            }
        }
        transcript
    }
}

/// The suite's HTTP client, sending from `local_address` if given.
fn http_client(local_address: Option<IpAddr>) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        // Redirects are answers to compare, not to follow.
        .redirect(reqwest::redirect::Policy::none())
        .local_address(local_address)
        .build()
        .unwrap_or_else(|e| panic!("HTTP client: {e}"))
}

/// `haystack` with every occurrence of `needle` (not empty) replaced by `with`.
fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while !rest.is_empty() {
        if rest.starts_with(needle) {
            out.extend_from_slice(with);
            rest = &rest[needle.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

/// Runs one case against one adapter, recording every exchange.
pub struct Harness<'a> {
    adapter: &'a dyn AdapterUnderTest,
    recorder: Recorder,
}

impl fmt::Debug for Harness<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("adapter", &self.adapter.name())
            .finish_non_exhaustive()
    }
}

impl<'a> Harness<'a> {
    fn new(adapter: &'a dyn AdapterUnderTest) -> Self {
        Self {
            adapter,
            recorder: Recorder::new(adapter.name()),
        }
    }

    /// The adapter's name.
    pub fn adapter(&self) -> &'static str {
        self.adapter.name()
    }

    /// Starts an app for `scenario`.
    pub async fn start(&self, scenario: Scenario) -> Server<'_> {
        let running = self.adapter.start(scenario).await;
        self.recorder.server(running)
    }
}

/// An app started by a case.
pub struct Server<'h> {
    recorder: &'h Recorder,
    origin: String,
    _running: Running,
}

impl fmt::Debug for Server<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Server<'_> {
    /// Sends `req`, records the exchange and returns it.
    ///
    /// # Panics
    ///
    /// When the request cannot be sent or the response read.
    pub async fn send(&self, req: Req) -> Exchange {
        let adapter = self.recorder.adapter();
        let label = req.label();
        let uncompared = req.uncompared.clone();
        let http = match req.local_address {
            Some(address) => http_client(Some(address)),
            None => self.recorder.http.clone(),
        };
        let mut builder = http.request(req.method.clone(), format!("{}{}", self.origin, req.path));
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder = match req.body {
            ReqBody::None => builder,
            ReqBody::Full(bytes) => builder.body(bytes),
            ReqBody::Chunked(chunks) => {
                let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
                    chunks.into_iter().map(Ok).collect();
                builder.body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
            }
        };
        let response = builder
            .send()
            .await
            .unwrap_or_else(|e| panic!("{adapter}: {label}: {e}"));
        let status = response.status().as_u16();
        let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in response.headers() {
            if TRANSPORT_HEADERS.contains(&name.as_str()) {
                continue;
            }
            headers
                .entry(name.as_str().to_owned())
                .or_default()
                .push(String::from_utf8_lossy(value.as_bytes()).into_owned());
        }
        let body = response
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{adapter}: {label}: body: {e}"))
            .to_vec();
        let exchange = Exchange {
            label,
            status,
            headers,
            body,
            uncompared,
        };
        self.recorder.transcript.borrow_mut().push(exchange.clone());
        exchange
    }
}

/// A conformance case: sends requests through [`Harness::start`]ed apps and asserts the exact
/// answers.
pub type Case = for<'h> fn(&'h Harness<'h>) -> LocalBoxFuture<'h, ()>;

/// Runs `case` against `adapter`.
///
/// # Panics
///
/// When the case's expectations fail.
pub async fn run(adapter: &dyn AdapterUnderTest, case: Case) {
    let harness = Harness::new(adapter);
    case(&harness).await;
}

/// Runs `case` against `a` and then `b`, and fails when the two transcripts differ in any
/// status, non-transport header or body, or when either adapter misses an expectation.
///
/// # Panics
///
/// On the first divergence, showing both exchanges; else with the first adapter's failure.
pub async fn compare(a: &dyn AdapterUnderTest, b: &dyn AdapterUnderTest, case: Case) {
    let a = record(a, case).await;
    let b = record(b, case).await;
    compare_recorded(a, b);
}

/// What one adapter did in one case: its name, whether the case's expectations held, and its
/// transcript with placeholders applied.
pub(crate) type Recorded = (&'static str, Outcome, Vec<Exchange>);

/// Fails on the first exchange where `a` and `b` differ, then on a different number of
/// exchanges, then with the first adapter whose expectations failed.
pub(crate) fn compare_recorded(a: Recorded, b: Recorded) {
    let (a_name, a_outcome, a_transcript) = a;
    let (b_name, b_outcome, b_transcript) = b;
    for (i, (x, y)) in a_transcript.iter().zip(&b_transcript).enumerate() {
        assert!(
            comparable(x) == comparable(y),
            "exchange #{i} diverges\n--- {a_name}\n{x:?}\n--- {b_name}\n{y:?}"
        );
    }
    assert_eq!(
        a_transcript.len(),
        b_transcript.len(),
        "{a_name} made {} exchanges, {b_name} {}",
        a_transcript.len(),
        b_transcript.len()
    );
    for (name, outcome) in [(a_name, a_outcome), (b_name, b_outcome)] {
        if let Err(panic) = outcome {
            eprintln!("expectation failed on {name}");
            std::panic::resume_unwind(panic);
        }
    }
}

/// `ex` without the headers it leaves out of comparisons.
fn comparable(ex: &Exchange) -> Exchange {
    let mut ex = ex.clone();
    for name in &ex.uncompared {
        ex.headers.remove(name);
    }
    ex
}

/// Whether a case ran to its end (`Ok`) or which panic stopped it.
pub(crate) type Outcome = Result<(), Box<dyn std::any::Any + Send>>;

async fn record(adapter: &dyn AdapterUnderTest, case: Case) -> Recorded {
    let harness = Harness::new(adapter);
    let outcome = AssertUnwindSafe(case(&harness)).catch_unwind().await;
    (adapter.name(), outcome, harness.recorder.into_transcript())
}
