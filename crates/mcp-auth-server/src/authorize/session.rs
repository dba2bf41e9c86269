//! What the authorization endpoint remembers between a user's requests: pending authorization
//! requests (each with its CSRF token) and login sessions, in process memory.
//!
//! Both are keyed by random 256-bit identifiers (base64url, 43 characters) that travel in
//! cookies; both expire after [`SESSION_TTL`] (10 minutes) by default, and each kind is capped
//! at [`DEFAULT_CAPACITY`] entries: when full, expired entries are dropped first, then the
//! oldest (with one lifetime for all, the one closest to expiry). The caller owns the clock: every operation takes `now` in unix seconds.
//!
//! The state is per process. Behind a load balancer with several replicas, route a user's
//! requests to one replica (sticky sessions) or the login and consent steps will not find
//! their pending request.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcp_auth_core::Scopes;
use subtle::ConstantTimeEq;

use crate::user::AuthenticatedUser;

/// How long a pending authorization request or a login session lives: 10 minutes.
pub const SESSION_TTL: Duration = Duration::from_secs(600);

/// How many pending requests, and how many login sessions, are kept at most: 10,000 each.
pub const DEFAULT_CAPACITY: usize = 10_000;

/// A random 256-bit value in base64url without padding (43 characters), or the error of the
/// system's random source.
pub(crate) fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// An authorization request that passed validation and waits for the user to sign in and
/// consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingRequest {
    /// The client's `client_id`.
    pub(crate) client_id: String,
    /// The client's `client_name`, if it has one.
    pub(crate) client_name: Option<String>,
    /// The validated redirect URI, as the client sent it (or the one registered).
    pub(crate) redirect_uri: String,
    /// The PKCE `S256` challenge.
    pub(crate) code_challenge: String,
    /// The client's `state`, echoed in the redirect.
    pub(crate) state: Option<String>,
    /// The scopes requested (or the defaults).
    pub(crate) scopes: Scopes,
    /// The RFC 8707 resource indicator, if any.
    pub(crate) resource: Option<String>,
    /// The CSRF token the login and consent forms must echo.
    pub(crate) csrf: String,
}

impl PendingRequest {
    /// Whether `token` is this request's CSRF token, compared in constant time.
    pub(crate) fn csrf_matches(&self, token: &str) -> bool {
        self.csrf.as_bytes().ct_eq(token.as_bytes()).into()
    }
}

/// A signed-in user, as remembered by a login session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LoginSession {
    /// The user.
    pub(crate) user: AuthenticatedUser,
}

#[derive(Debug)]
struct Entry<T> {
    value: T,
    expires_at: u64,
}

/// A map with expiry and a cap.
///
/// Every entry lives the same time from its insertion, so insertion order is expiry order: a
/// queue of ids in that order finds the expired and the oldest entries at its front, at a
/// constant cost per insertion. (Scanning the map for them cost a pass over all 10,000 entries
/// per login once the map was full, and anyone able to start logins can keep it full.)
#[derive(Debug)]
struct Bounded<T> {
    entries: HashMap<String, Entry<T>>,
    /// Ids in insertion order; may still hold ids of entries taken or expired since.
    order: VecDeque<String>,
}

impl<T: Clone> Bounded<T> {
    fn new() -> Self {
        Self {
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn insert(&mut self, id: String, value: T, expires_at: u64, now: u64, capacity: usize) {
        let capacity = capacity.max(1);
        // Expired entries, and ids of entries already gone, leave from the front.
        while let Some(front) = self.order.front() {
            match self.entries.get(front) {
                Some(entry) if entry.expires_at > now => break,
                Some(_) => {
                    self.entries.remove(front);
                    self.order.pop_front();
                }
                None => {
                    self.order.pop_front();
                }
            }
        }
        // Still full: the oldest go.
        while self.entries.len() >= capacity {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        // Ids of entries taken since stay queued until they reach the front; keep the queue
        // within twice the cap (each compaction pays for the `capacity` insertions before it).
        if self.order.len() >= 2 * capacity {
            let entries = &self.entries;
            self.order.retain(|queued| entries.contains_key(queued));
        }
        self.order.push_back(id.clone());
        self.entries.insert(id, Entry { value, expires_at });
    }

    fn get(&mut self, id: &str, now: u64) -> Option<T> {
        match self.entries.get(id) {
            Some(entry) if entry.expires_at > now => Some(entry.value.clone()),
            Some(_) => {
                self.entries.remove(id);
                None
            }
            None => None,
        }
    }

    fn take(&mut self, id: &str, now: u64) -> Option<T> {
        self.entries
            .remove(id)
            .filter(|entry| entry.expires_at > now)
            .map(|entry| entry.value)
    }

    fn live(&self, now: u64) -> usize {
        self.entries
            .values()
            .filter(|entry| entry.expires_at > now)
            .count()
    }
}

#[derive(Debug)]
struct Inner {
    pending: Bounded<PendingRequest>,
    logins: Bounded<LoginSession>,
}

/// Pending authorization requests and login sessions of the authorization endpoint: bounded,
/// expiring, in memory (see the [module docs](self)).
///
/// Create one per server and pass it to every call through
/// [`AuthorizeDeps::sessions`](super::AuthorizeDeps::sessions).
#[derive(Debug)]
pub struct AuthorizeSessions {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Inner>,
}

impl Default for AuthorizeSessions {
    fn default() -> Self {
        Self::new()
    }
}

impl AuthorizeSessions {
    /// Sessions living [`SESSION_TTL`], at most [`DEFAULT_CAPACITY`] of each kind.
    pub fn new() -> Self {
        Self::with_limits(SESSION_TTL, DEFAULT_CAPACITY)
    }

    /// Sessions living `ttl` (whole seconds, at least one), at most `capacity` (at least one)
    /// of each kind.
    pub fn with_limits(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl: Duration::from_secs(ttl.as_secs().max(1)),
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                pending: Bounded::new(),
                logins: Bounded::new(),
            }),
        }
    }

    /// How long a pending request or login session lives (also the cookies' `Max-Age`).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How many pending authorization requests are live at `now`.
    pub fn pending_count(&self, now: u64) -> usize {
        self.lock().pending.live(now)
    }

    /// How many login sessions are live at `now`.
    pub fn login_count(&self, now: u64) -> usize {
        self.lock().logins.live(now)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn expiry(&self, now: u64) -> u64 {
        now.saturating_add(self.ttl.as_secs())
    }

    /// Stores a pending request under a fresh id, returned (an error if no randomness).
    pub(crate) fn insert_pending(
        &self,
        request: PendingRequest,
        now: u64,
    ) -> Result<String, getrandom::Error> {
        let id = random_token()?;
        let expires_at = self.expiry(now);
        self.lock()
            .pending
            .insert(id.clone(), request, expires_at, now, self.capacity);
        Ok(id)
    }

    /// The live pending request `id`.
    pub(crate) fn pending(&self, id: &str, now: u64) -> Option<PendingRequest> {
        self.lock().pending.get(id, now)
    }

    /// Removes and returns the live pending request `id`: only one caller gets it.
    pub(crate) fn take_pending(&self, id: &str, now: u64) -> Option<PendingRequest> {
        self.lock().pending.take(id, now)
    }

    /// Starts a login session for `user` under a fresh id, returned (an error if no randomness).
    pub(crate) fn insert_login(
        &self,
        user: AuthenticatedUser,
        now: u64,
    ) -> Result<String, getrandom::Error> {
        let id = random_token()?;
        let expires_at = self.expiry(now);
        self.lock().logins.insert(
            id.clone(),
            LoginSession { user },
            expires_at,
            now,
            self.capacity,
        );
        Ok(id)
    }

    /// The live login session `id`.
    pub(crate) fn login(&self, id: &str, now: u64) -> Option<LoginSession> {
        self.lock().logins.get(id, now)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

    use super::*;

    fn request(csrf: &str) -> PendingRequest {
        PendingRequest {
            client_id: "c".to_owned(),
            client_name: None,
            redirect_uri: "https://app.example/cb".to_owned(),
            code_challenge: "x".to_owned(),
            state: None,
            scopes: Scopes::new(),
            resource: None,
            csrf: csrf.to_owned(),
        }
    }

    fn user(name: &str) -> AuthenticatedUser {
        AuthenticatedUser {
            subject: name.to_owned(),
            username: name.to_owned(),
            email: None,
            display_name: None,
        }
    }

    #[test]
    fn ids_are_256_bit_and_distinct() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let sessions = AuthorizeSessions::new();
        let now = 1_000;
        let id = sessions.insert_pending(request("t"), now).unwrap();
        assert!(sessions.pending(&id, now + 599).is_some());
        assert!(sessions.pending(&id, now + 600).is_none());
        let login = sessions.insert_login(user("alice"), now).unwrap();
        assert_eq!(
            sessions.login(&login, now + 1).unwrap().user.subject,
            "alice"
        );
        assert!(sessions.login(&login, now + 600).is_none());
        assert!(sessions.login("unknown", now).is_none());
    }

    #[test]
    fn pending_requests_are_taken_once() {
        let sessions = AuthorizeSessions::new();
        let id = sessions.insert_pending(request("t"), 10).unwrap();
        assert!(sessions.take_pending(&id, 11).is_some());
        assert!(sessions.take_pending(&id, 11).is_none());
        assert!(sessions.pending(&id, 11).is_none());
    }

    #[test]
    fn capacity_evicts_expired_then_oldest() {
        let sessions = AuthorizeSessions::with_limits(Duration::from_secs(100), 2);
        let first = sessions.insert_pending(request("1"), 0).unwrap();
        let second = sessions.insert_pending(request("2"), 50).unwrap();
        // Full: the entry closest to expiry (the first) goes.
        let third = sessions.insert_pending(request("3"), 60).unwrap();
        assert!(sessions.pending(&first, 60).is_none());
        assert!(sessions.pending(&second, 60).is_some());
        assert!(sessions.pending(&third, 60).is_some());
        assert_eq!(sessions.pending_count(60), 2);
        // At 155 the second has expired and is dropped rather than the third.
        let fourth = sessions.insert_pending(request("4"), 155).unwrap();
        assert!(sessions.pending(&third, 155).is_some());
        assert!(sessions.pending(&fourth, 155).is_some());
        assert_eq!(sessions.pending_count(155), 2);
        // Login sessions have their own cap.
        assert_eq!(sessions.login_count(155), 0);
    }

    #[test]
    fn csrf_comparison() {
        let pending = request("abc");
        assert!(pending.csrf_matches("abc"));
        assert!(!pending.csrf_matches("abd"));
        assert!(!pending.csrf_matches("ab"));
        assert!(!pending.csrf_matches(""));
    }

    #[test]
    fn taken_entries_do_not_pile_up_in_the_eviction_queue() {
        let mut bounded = Bounded::new();
        for i in 0..10_000u64 {
            let id = format!("id{i}");
            bounded.insert(id.clone(), i, 1_000, 0, 100);
            // Taken at once, as a pending request is at consent.
            assert_eq!(bounded.take(&id, 0), Some(i));
            assert!(bounded.order.len() <= 200, "queue {}", bounded.order.len());
        }
        assert!(bounded.entries.is_empty());
        // Full of live entries: each insertion evicts exactly the oldest.
        for i in 0..150u64 {
            bounded.insert(format!("live{i}"), i, 1_000, 0, 100);
        }
        assert_eq!(bounded.entries.len(), 100);
        assert!(bounded.get("live49", 0).is_none());
        assert_eq!(bounded.get("live50", 0), Some(50));
        assert_eq!(bounded.get("live149", 0), Some(149));
        assert_eq!(bounded.live(0), 100);
    }
}
