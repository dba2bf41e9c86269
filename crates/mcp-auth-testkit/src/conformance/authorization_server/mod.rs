//! The authorization-server half of the conformance suite (feature `server`): the embedded
//! authorization server ([`mcp_auth_server`]) mounted by each adapter, every endpoint called
//! over real HTTP, and two adapters' answers compared exchange by exchange.
//!
//! [`AuthorizationServer::handle`] is framework-free; what an adapter adds is the mount: which
//! paths reach it, how the body is read (and refused past
//! [`MAX_BODY`](mcp_auth_server::http::MAX_BODY)), which peer address is passed on, and how
//! the response is written back. Those are what the cases exercise. Each adapter's test binary
//! implements [`AuthorizationServerUnderTest`], whose `serve` mounts the server it is given
//! (every path of [`AuthorizationServer::paths`], nothing else) on a fresh `127.0.0.1:0`
//! listener, passing the peer address.
//!
//! The server is built by the suite from a [`Scenario`], the same for every adapter: a fixed
//! issuer ([`ISSUER`], so that no listening port appears in any answer), a fixed Ed25519
//! signing key (so that the JWKS and `kid` are identical), a
//! [`ManualClock`](mcp_auth_core::clock::ManualClock) standing at [`NOW`] (token times, rate
//! limits), two preconfigured clients ([`PUBLIC_CLIENT`], [`CONFIDENTIAL_CLIENT`]) and one user
//! ([`USERNAME`]).
//!
//! What is still random per server (registered `client_id`s and secrets, codes, access and
//! refresh tokens, cookie values, CSRF tokens) is named by the case that reads it with
//! [`Harness::placeholder`]; [`compare`] replaces each such value by `<name>` in both
//! transcripts before comparing them byte for byte. A random value a case forgot to name
//! makes the comparison fail, never pass.
//!
//! Status, every response header but `date` and framing (so `content-type`, `cache-control`,
//! `pragma`, `www-authenticate`, `allow`, `retry-after`, `location`, `set-cookie`, the CSP and
//! frame headers, CORS) and the body are compared.
//!
//! # Example
//!
//! ```
//! use futures::future::LocalBoxFuture;
//! use mcp_auth_server::server::AuthorizationServer;
//! use mcp_auth_testkit::conformance::Running;
//! use mcp_auth_testkit::conformance::authorization_server::AuthorizationServerUnderTest;
//!
//! // In crates/mcp-auth-<adapter>/tests/conformance/main.rs:
//! struct MyAdapter;
//!
//! impl AuthorizationServerUnderTest for MyAdapter {
//!     fn name(&self) -> &'static str {
//!         "mine"
//!     }
//!
//!     fn serve(&self, server: AuthorizationServer) -> LocalBoxFuture<'static, Running> {
//!         Box::pin(async move {
//!             let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//!             let addr = listener.local_addr().unwrap();
//!             // Mount every path of `server.paths()` on `listener`, with the peer address.
//!             let task = tokio::spawn(async move { drop((listener, server)) });
//!             Running::new(addr, move || task.abort())
//!         })
//!     }
//! }
//!
//! mcp_auth_testkit::conformance_tests!(authorization_server: MyAdapter);
//! # fn main() {}
//! ```

pub mod cases;
pub mod expect;
mod scenario;

use std::fmt;
use std::panic::AssertUnwindSafe;

use futures::FutureExt as _;
use futures::future::LocalBoxFuture;
use mcp_auth_server::server::AuthorizationServer;

use super::harness::{Recorded, Recorder, Running, Server, compare_recorded};

pub use scenario::{
    CODE_CHALLENGE, CODE_VERIFIER, CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET, ISSUER, NOW, PASSWORD,
    PUBLIC_CLIENT, REDIRECT_URI, Scenario, TENANT_ISSUER, USERNAME,
};

/// An adapter that can mount the authorization server: implemented once per adapter in its
/// test binary.
pub trait AuthorizationServerUnderTest {
    /// A short name for messages (`"axum"`, `"actix"`).
    fn name(&self) -> &'static str;

    /// Serves `server` with the adapter's mount (every path of
    /// [`AuthorizationServer::paths`]) on a fresh `127.0.0.1:0` listener, passing the peer
    /// address of each request on.
    fn serve(&self, server: AuthorizationServer) -> LocalBoxFuture<'static, Running>;
}

/// Runs one authorization-server case against one adapter, recording every exchange.
pub struct Harness<'a> {
    adapter: &'a dyn AuthorizationServerUnderTest,
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
    fn new(adapter: &'a dyn AuthorizationServerUnderTest) -> Self {
        Self {
            adapter,
            recorder: Recorder::new(adapter.name()),
        }
    }

    /// The adapter's name.
    pub fn adapter(&self) -> &'static str {
        self.adapter.name()
    }

    /// Starts the authorization server of `scenario` and serves it with the adapter.
    pub async fn start(&self, scenario: &Scenario) -> Server<'_> {
        let server = scenario.start().await;
        let running = self.adapter.serve(server).await;
        self.recorder.server(running)
    }

    /// Names `value` as random per server (a `client_id`, code, token, cookie value): in the
    /// transcripts [`compare`] reads, it becomes `<name>`. Cases name every such value they
    /// receive, before or after the exchanges that carry it.
    pub fn placeholder(&self, name: &str, value: &str) {
        self.recorder.placeholder(name, value);
    }
}

/// An authorization-server conformance case.
pub type Case = for<'h> fn(&'h Harness<'h>) -> LocalBoxFuture<'h, ()>;

/// Runs `case` against `adapter`.
///
/// # Panics
///
/// When the case's expectations fail.
pub async fn run(adapter: &dyn AuthorizationServerUnderTest, case: Case) {
    let harness = Harness::new(adapter);
    case(&harness).await;
}

/// Runs `case` against `a` and then `b`, and fails when the two transcripts (placeholders
/// applied) differ in any status, non-transport header or body, or when either adapter misses
/// an expectation.
///
/// # Panics
///
/// On the first divergence, showing both exchanges; else with the first adapter's failure.
pub async fn compare(
    a: &dyn AuthorizationServerUnderTest,
    b: &dyn AuthorizationServerUnderTest,
    case: Case,
) {
    let a = record(a, case).await;
    let b = record(b, case).await;
    compare_recorded(a, b);
}

async fn record(adapter: &dyn AuthorizationServerUnderTest, case: Case) -> Recorded {
    let harness = Harness::new(adapter);
    let outcome = AssertUnwindSafe(case(&harness)).catch_unwind().await;
    (adapter.name(), outcome, harness.recorder.into_transcript())
}
