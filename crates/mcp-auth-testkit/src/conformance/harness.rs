//! Starting apps, sending requests, recording what came back, comparing two adapters.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;

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

    /// Sends the body in `chunks`, without `Content-Length`.
    pub fn chunked(mut self, chunks: Vec<Vec<u8>>) -> Self {
        self.body = ReqBody::Chunked(chunks);
        self
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

/// Runs one case against one adapter, recording every exchange.
pub struct Harness<'a> {
    adapter: &'a dyn AdapterUnderTest,
    http: reqwest::Client,
    transcript: RefCell<Vec<Exchange>>,
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
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap_or_else(|e| panic!("HTTP client: {e}")),
            transcript: RefCell::new(Vec::new()),
        }
    }

    /// The adapter's name.
    pub fn adapter(&self) -> &'static str {
        self.adapter.name()
    }

    /// Starts an app for `scenario`.
    pub async fn start(&self, scenario: Scenario) -> Server<'_> {
        let running = self.adapter.start(scenario).await;
        Server {
            harness: self,
            origin: format!("http://{}", running.addr()),
            _running: running,
        }
    }

    fn into_transcript(self) -> Vec<Exchange> {
        self.transcript.into_inner()
    }
}

/// An app started by a case.
pub struct Server<'h> {
    harness: &'h Harness<'h>,
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
        let label = req.label();
        let uncompared = req.uncompared.clone();
        let mut builder = self
            .harness
            .http
            .request(req.method.clone(), format!("{}{}", self.origin, req.path));
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
            .unwrap_or_else(|e| panic!("{}: {label}: {e}", self.harness.adapter()));
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
            .unwrap_or_else(|e| panic!("{}: {label}: body: {e}", self.harness.adapter()))
            .to_vec();
        let exchange = Exchange {
            label,
            status,
            headers,
            body,
            uncompared,
        };
        self.harness.transcript.borrow_mut().push(exchange.clone());
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
    let (a_outcome, a_transcript) = record(a, case).await;
    let (b_outcome, b_transcript) = record(b, case).await;
    let (a_name, b_name) = (a.name(), b.name());
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

type Outcome = Result<(), Box<dyn std::any::Any + Send>>;

async fn record(adapter: &dyn AdapterUnderTest, case: Case) -> (Outcome, Vec<Exchange>) {
    let harness = Harness::new(adapter);
    let outcome = AssertUnwindSafe(case(&harness)).catch_unwind().await;
    (outcome, harness.into_transcript())
}
