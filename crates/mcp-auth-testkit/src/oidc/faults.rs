//! Fault switches and fetch counters of an [`OidcProvider`](super::OidcProvider).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::lock;

/// The kinds of endpoint a provider serves; faults and counters are kept per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`, every
    /// form, every issuer.
    Discovery,
    /// The `jwks_uri` of every issuer.
    Jwks,
    /// `POST /introspect` (RFC 7662).
    Introspection,
    /// `GET /tokeninfo` (Google style).
    TokenInfo,
}

impl Endpoint {
    /// Every kind.
    pub const ALL: [Endpoint; 4] = [
        Endpoint::Discovery,
        Endpoint::Jwks,
        Endpoint::Introspection,
        Endpoint::TokenInfo,
    ];

    fn index(self) -> usize {
        match self {
            Endpoint::Discovery => 0,
            Endpoint::Jwks => 1,
            Endpoint::Introspection => 2,
            Endpoint::TokenInfo => 3,
        }
    }
}

/// A misbehaviour, switched on with [`OidcProvider::set_fault`] (every endpoint) or
/// [`OidcProvider::set_fault_on`] (one kind) and off with [`OidcProvider::clear_faults`].
/// Several faults combine; requests are still counted.
///
/// [`OidcProvider::set_fault`]: super::OidcProvider::set_fault
/// [`OidcProvider::set_fault_on`]: super::OidcProvider::set_fault_on
/// [`OidcProvider::clear_faults`]: super::OidcProvider::clear_faults
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer 503 `{"error":"temporarily_unavailable"}` with `Retry-After: 30`. For refused
    /// connections use [`OidcProvider::stop`](super::OidcProvider::stop).
    Down,
    /// Delay every response by this long (before any other fault applies).
    Slow(Duration),
    /// Serve the normal body with `Content-Type: text/html; charset=utf-8`.
    WrongContentType,
    /// Pad the normal JSON body past 1 MiB (a top-level `"x-padding"` member), with a
    /// `Content-Length`.
    Oversized,
    /// As [`Fault::Oversized`], sent chunked (no `Content-Length`), in 64 KiB chunks.
    OversizedChunked,
    /// Answer `302 Found` with this `Location`.
    Redirect(String),
    /// JWKS only: serve `{"keys":[]}`.
    EmptyKeySet,
    /// Discovery only: the document's `issuer` is this value instead of the real one.
    IssuerMismatch(String),
}

/// The bytes [`Fault::Oversized`] adds: 1 MiB + 1 KiB.
pub const OVERSIZED_PADDING: usize = 1024 * 1024 + 1024;

/// The faults in force on one endpoint kind.
#[derive(Debug, Clone, Default)]
pub(crate) struct FaultState {
    pub(crate) down: bool,
    pub(crate) slow: Option<Duration>,
    pub(crate) wrong_content_type: bool,
    /// `Some(chunked)`.
    pub(crate) oversized: Option<bool>,
    pub(crate) redirect: Option<String>,
    pub(crate) empty_key_set: bool,
    pub(crate) issuer_mismatch: Option<String>,
}

impl FaultState {
    fn apply(&mut self, fault: Fault) {
        match fault {
            Fault::Down => self.down = true,
            Fault::Slow(delay) => self.slow = Some(delay),
            Fault::WrongContentType => self.wrong_content_type = true,
            Fault::Oversized => self.oversized = Some(false),
            Fault::OversizedChunked => self.oversized = Some(true),
            Fault::Redirect(to) => self.redirect = Some(to),
            Fault::EmptyKeySet => self.empty_key_set = true,
            Fault::IssuerMismatch(issuer) => self.issuer_mismatch = Some(issuer),
        }
    }
}

/// Faults and counters for every endpoint kind.
#[derive(Debug, Default)]
pub(crate) struct Switchboard {
    faults: [Mutex<FaultState>; 4],
    counters: [AtomicU64; 4],
}

impl Switchboard {
    pub(crate) fn set(&self, endpoint: Endpoint, fault: Fault) {
        lock(&self.faults[endpoint.index()]).apply(fault);
    }

    pub(crate) fn clear(&self, endpoint: Endpoint) {
        *lock(&self.faults[endpoint.index()]) = FaultState::default();
    }

    pub(crate) fn get(&self, endpoint: Endpoint) -> FaultState {
        lock(&self.faults[endpoint.index()]).clone()
    }

    pub(crate) fn count(&self, endpoint: Endpoint) {
        self.counters[endpoint.index()].fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn fetches(&self, endpoint: Endpoint) -> u64 {
        self.counters[endpoint.index()].load(Ordering::SeqCst)
    }

    pub(crate) fn reset_fetches(&self) {
        for counter in &self.counters {
            counter.store(0, Ordering::SeqCst);
        }
    }
}
