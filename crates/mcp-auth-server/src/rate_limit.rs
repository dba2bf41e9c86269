//! Per-client rate limiting of the authorization server's endpoints: a token bucket per
//! (endpoint, client, IP address), in bounded memory.
//!
//! A refused request gets a [`RetryAfter`]: answer `429 Too Many Requests` with its
//! [`RetryAfter::header_value`] in a `Retry-After` header (RFC 6585 section 4, RFC 9110 section
//! 10.2.3).
//!
//! The buckets are GCRA token buckets: each stores one instant, so the memory per key is small
//! and a bucket that has refilled completely is forgotten. When the table is full, full buckets
//! are dropped first (forgetting them changes nothing), then the buckets closest to full.
//!
//! # Example
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::sync::Arc;
//! use std::time::Duration;
//! use mcp_auth_core::clock::ManualClock;
//! use mcp_auth_server::rate_limit::{Limit, RateLimitKey, RateLimiter};
//!
//! let clock = ManualClock::at_unix(1_700_000_000);
//! // 10 requests per minute on the token endpoint, in bursts of up to 3.
//! let limiter = RateLimiter::new(Arc::new(clock.clone()))
//!     .with_limit("token", Limit::per_minute(10).with_burst(3));
//! let key = RateLimitKey::new("token", Some("client-1"), IpAddr::V4(Ipv4Addr::LOCALHOST));
//!
//! for _ in 0..3 {
//!     assert!(limiter.check(&key).is_ok());
//! }
//! let refused = limiter.check(&key).unwrap_err();
//! assert_eq!(refused.duration(), Duration::from_secs(6));
//! assert_eq!(refused.header_value(), "6");
//!
//! clock.advance(Duration::from_secs(6));
//! assert!(limiter.check(&key).is_ok());
//! ```

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mcp_auth_core::clock::SharedClock;

/// Number of buckets kept by default (about 100 bytes each, plus the client id).
pub const DEFAULT_CAPACITY: usize = 100_000;

/// A rate: `burst` requests at once, refilled at one request per `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    interval: Duration,
    burst: u32,
}

impl Limit {
    /// `requests` per `period` on average, in bursts of up to `requests`.
    ///
    /// A `requests` of 0 is taken as 1.
    pub fn new(requests: u32, period: Duration) -> Self {
        let requests = requests.max(1);
        Self {
            interval: (period / requests).max(Duration::from_nanos(1)),
            burst: requests,
        }
    }

    /// `requests` per second.
    pub fn per_second(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(1))
    }

    /// `requests` per minute.
    pub fn per_minute(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(60))
    }

    /// The same average rate, with bursts of up to `burst` requests (at least 1).
    #[must_use]
    pub fn with_burst(self, burst: u32) -> Self {
        Self {
            burst: burst.max(1),
            ..self
        }
    }

    /// Time for one request's worth of capacity to come back.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Largest number of requests accepted at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// The time a full bucket takes to refill from empty.
    fn span(&self) -> Duration {
        self.interval.saturating_mul(self.burst)
    }
}

/// What a request is counted against: the endpoint, the client and the caller's IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateLimitKey {
    endpoint: &'static str,
    client_id: Option<Box<str>>,
    ip: IpAddr,
}

impl RateLimitKey {
    /// The key of a request to `endpoint` by `client_id` (`None` when the request names no
    /// client) from `ip`.
    ///
    /// The client id of an unauthenticated request is whatever the caller sent: a caller who
    /// varies it gets a fresh bucket per value. Limit such endpoints by IP address alone (pass
    /// `None`), or pass the id only once the client is authenticated or known to be registered.
    pub fn new(endpoint: &'static str, client_id: Option<&str>, ip: IpAddr) -> Self {
        Self {
            endpoint,
            client_id: client_id.map(Box::from),
            ip,
        }
    }

    /// The endpoint name.
    pub fn endpoint(&self) -> &'static str {
        self.endpoint
    }
}

impl fmt::Display for RateLimitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let client = self.client_id.as_deref().unwrap_or("-");
        write!(f, "{} {client} {}", self.endpoint, self.ip)
    }
}

/// A refused request: how long until the same request would be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limit exceeded; retry after {} s", self.seconds())]
pub struct RetryAfter(Duration);

impl RetryAfter {
    /// The exact wait.
    pub fn duration(&self) -> Duration {
        self.0
    }

    /// The wait in whole seconds, rounded up and at least 1: the `Retry-After` value.
    pub fn seconds(&self) -> u64 {
        let secs = self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0);
        secs.max(1)
    }

    /// The `Retry-After` header value (delay-seconds).
    pub fn header_value(&self) -> String {
        self.seconds().to_string()
    }
}

/// A token-bucket rate limiter per [`RateLimitKey`], with a [`Limit`] per endpoint.
///
/// Requests to an endpoint with no limit and no default limit are always accepted.
#[derive(Debug)]
pub struct RateLimiter {
    clock: SharedClock,
    limits: HashMap<&'static str, Limit>,
    default_limit: Option<Limit>,
    buckets: Mutex<BoundedMap<RateLimitKey, Tat>>,
}

impl RateLimiter {
    /// A limiter with no limits yet, keeping up to [`DEFAULT_CAPACITY`] buckets.
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            limits: HashMap::new(),
            default_limit: None,
            buckets: Mutex::new(BoundedMap::new(DEFAULT_CAPACITY)),
        }
    }

    /// Sets the limit of one endpoint.
    #[must_use]
    pub fn with_limit(mut self, endpoint: &'static str, limit: Limit) -> Self {
        self.limits.insert(endpoint, limit);
        self
    }

    /// Sets the limit of the endpoints that have none of their own.
    #[must_use]
    pub fn with_default_limit(mut self, limit: Limit) -> Self {
        self.default_limit = Some(limit);
        self
    }

    /// Sets the largest number of buckets kept (at least 1).
    #[must_use]
    pub fn with_capacity(self, capacity: usize) -> Self {
        Self {
            buckets: Mutex::new(BoundedMap::new(capacity)),
            ..self
        }
    }

    /// The limit applied to `endpoint`, if any.
    pub fn limit_for(&self, endpoint: &str) -> Option<Limit> {
        self.limits.get(endpoint).copied().or(self.default_limit)
    }

    /// Counts a request now (by the limiter's clock).
    ///
    /// # Errors
    ///
    /// [`RetryAfter`] when the key's bucket is empty; the refused request is not counted.
    pub fn check(&self, key: &RateLimitKey) -> Result<(), RetryAfter> {
        self.check_at(key, self.clock.now())
    }

    /// Counts a request made at `now`.
    ///
    /// # Errors
    ///
    /// [`RetryAfter`] when the key's bucket is empty; the refused request is not counted.
    pub fn check_at(&self, key: &RateLimitKey, now: SystemTime) -> Result<(), RetryAfter> {
        let Some(limit) = self.limit_for(key.endpoint) else {
            return Ok(());
        };
        let now = since_epoch(now);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        // GCRA: the bucket is the "theoretical arrival time" (TAT) of the next request; a request
        // is accepted when it does not push the TAT more than `span` into the future.
        let tat = buckets.get(key).map_or(now, |tat| tat.at.max(now));
        let next = tat.saturating_add(limit.interval);
        let allowed_until = now.saturating_add(limit.span());
        if next > allowed_until {
            return Err(RetryAfter(next - allowed_until));
        }
        buckets.insert(key.clone(), Tat { at: next }, now);
        Ok(())
    }

    /// Number of buckets held.
    pub fn len(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A bucket: the instant at which it is full again.
#[derive(Debug, Clone, Copy)]
struct Tat {
    at: Duration,
}

impl Evictable for Tat {
    type Rank = Duration;

    fn is_stale(&self, now: Duration) -> bool {
        self.at <= now
    }

    fn rank(&self) -> Duration {
        self.at
    }
}

/// Time since the Unix epoch; 0 for a clock set before it.
pub(crate) fn since_epoch(time: SystemTime) -> Duration {
    time.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// An entry of a [`BoundedMap`].
pub(crate) trait Evictable {
    /// Order of eviction: the lowest rank goes first.
    type Rank: Ord + Copy;

    /// Whether the entry can be dropped without changing any decision (it holds no state that
    /// a fresh entry would not).
    fn is_stale(&self, now: Duration) -> bool;

    /// The entry's rank among live entries when some must be evicted.
    fn rank(&self) -> Self::Rank;
}

/// A map holding at most `capacity` entries.
///
/// Inserting a new key into a full map first drops the stale entries; if that frees less than
/// an eighth of the capacity, it then evicts the lowest-ranked live entries down to seven
/// eighths, so the cost of a sweep is spread over many insertions.
#[derive(Debug)]
pub(crate) struct BoundedMap<K, V> {
    entries: HashMap<K, V>,
    capacity: usize,
}

impl<K: Hash + Eq, V: Evictable> BoundedMap<K, V> {
    /// An empty map for at most `capacity` entries (at least 1).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// The entry of `key`.
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key)
    }

    /// The entry of `key`, mutably.
    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get_mut(key)
    }

    /// Removes the entry of `key`.
    pub(crate) fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.remove(key)
    }

    /// Sets the entry of `key`, making room first when the key is new and the map is full.
    pub(crate) fn insert(&mut self, key: K, value: V, now: Duration) {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.make_room(now);
        }
        self.entries.insert(key, value);
    }

    /// The entry of `key`, created with `default` (making room first) when absent.
    pub(crate) fn entry_or_insert_with(
        &mut self,
        key: K,
        now: Duration,
        default: impl FnOnce() -> V,
    ) -> &mut V {
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            self.make_room(now);
        }
        self.entries.entry(key).or_insert_with(default)
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    fn make_room(&mut self, now: Duration) {
        self.entries.retain(|_, value| !value.is_stale(now));
        let target = self.capacity - self.capacity.div_ceil(8);
        if self.entries.len() <= target {
            return;
        }
        let excess = self.entries.len() - target;
        let mut ranks: Vec<V::Rank> = self.entries.values().map(Evictable::rank).collect();
        let (_, &mut threshold, _) = ranks.select_nth_unstable(excess - 1);
        // Evict everything ranked below the threshold, then entries at the threshold until
        // enough are gone.
        let mut at_threshold = excess - ranks.iter().filter(|&&r| r < threshold).count();
        self.entries.retain(|_, value| {
            let rank = value.rank();
            if rank < threshold {
                false
            } else if rank == threshold && at_threshold > 0 {
                at_threshold -= 1;
                false
            } else {
                true
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::sync::Arc;

    use mcp_auth_core::clock::{Clock as _, ManualClock};

    use super::*;

    const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    fn setup(limit: Limit) -> (ManualClock, RateLimiter) {
        let clock = ManualClock::at_unix(1_700_000_000);
        let limiter = RateLimiter::new(Arc::new(clock.clone())).with_limit("token", limit);
        (clock, limiter)
    }

    fn key(client: &str) -> RateLimitKey {
        RateLimitKey::new("token", Some(client), IP)
    }

    #[test]
    fn burst_then_limited_with_retry_after() {
        // One request per 2 s, bursts of 5.
        let (_, limiter) = setup(Limit::new(30, Duration::from_secs(60)).with_burst(5));
        for _ in 0..5 {
            limiter.check(&key("c")).unwrap();
        }
        let refused = limiter.check(&key("c")).unwrap_err();
        assert_eq!(refused.duration(), Duration::from_secs(2));
        assert_eq!(refused.seconds(), 2);
        assert_eq!(refused.header_value(), "2");
        // Refusals are not counted: the wait does not grow.
        assert_eq!(limiter.check(&key("c")).unwrap_err(), refused);
    }

    #[test]
    fn refills_over_time() {
        let (clock, limiter) = setup(Limit::per_second(2).with_burst(4));
        for _ in 0..4 {
            limiter.check(&key("c")).unwrap();
        }
        assert_eq!(
            limiter.check(&key("c")).unwrap_err().duration(),
            Duration::from_millis(500)
        );

        clock.advance(Duration::from_millis(200));
        let refused = limiter.check(&key("c")).unwrap_err();
        assert_eq!(refused.duration(), Duration::from_millis(300));
        // Sub-second waits round up to one second.
        assert_eq!(refused.seconds(), 1);

        clock.advance(Duration::from_millis(300));
        limiter.check(&key("c")).unwrap();
        limiter.check(&key("c")).unwrap_err();

        // After the full refill time the whole burst is available again, and no more.
        clock.advance(Duration::from_secs(2));
        for _ in 0..4 {
            limiter.check(&key("c")).unwrap();
        }
        limiter.check(&key("c")).unwrap_err();
    }

    #[test]
    fn keys_are_independent() {
        let (_, limiter) = setup(Limit::per_minute(1));
        limiter.check(&key("a")).unwrap();
        limiter.check(&key("a")).unwrap_err();

        limiter.check(&key("b")).unwrap();
        limiter
            .check(&RateLimitKey::new("token", None, IP))
            .unwrap();
        limiter
            .check(&RateLimitKey::new(
                "token",
                Some("a"),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ))
            .unwrap();
        // Another endpoint without a limit of its own (and no default): unlimited.
        for _ in 0..100 {
            limiter
                .check(&RateLimitKey::new("register", Some("a"), IP))
                .unwrap();
        }
        assert_eq!(limiter.len(), 4);
    }

    #[test]
    fn default_limit_applies_to_other_endpoints() {
        let clock = ManualClock::at_unix(1_700_000_000);
        let limiter = RateLimiter::new(Arc::new(clock))
            .with_limit("token", Limit::per_minute(3))
            .with_default_limit(Limit::per_minute(1));
        assert_eq!(limiter.limit_for("token"), Some(Limit::per_minute(3)));
        assert_eq!(limiter.limit_for("authorize"), Some(Limit::per_minute(1)));
        let authorize = RateLimitKey::new("authorize", None, IP);
        limiter.check(&authorize).unwrap();
        assert_eq!(
            limiter.check(&authorize).unwrap_err().duration(),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn check_at_uses_the_given_time() {
        let (clock, limiter) = setup(Limit::per_minute(1));
        limiter.check(&key("c")).unwrap();
        limiter.check(&key("c")).unwrap_err();
        let later = clock.now() + Duration::from_secs(60);
        limiter.check_at(&key("c"), later).unwrap();
    }

    #[test]
    fn memory_is_bounded_under_a_flood_of_keys() {
        let (clock, limiter) = setup(Limit::per_minute(10).with_burst(2));
        let limiter = limiter.with_capacity(1_000);

        // A victim spends its burst.
        limiter.check(&key("victim")).unwrap();
        limiter.check(&key("victim")).unwrap();
        limiter.check(&key("victim")).unwrap_err();

        // A flood of distinct keys, every one of them fresh.
        for i in 0..20_000 {
            limiter.check(&key(&format!("flood-{i}"))).unwrap();
            assert!(limiter.len() <= 1_000);
        }
        assert!(limiter.len() <= 1_000);

        // Once buckets have refilled they are dropped first, without changing any decision.
        clock.advance(Duration::from_secs(60));
        for i in 0..1_000 {
            limiter.check(&key(&format!("second-{i}"))).unwrap();
        }
        assert!(limiter.len() <= 1_000);
    }

    #[test]
    fn full_buckets_are_dropped_before_live_ones() {
        let (clock, limiter) = setup(Limit::per_minute(1));
        let limiter = limiter.with_capacity(8);
        limiter.check(&key("early")).unwrap();
        clock.advance(Duration::from_secs(1));
        // Seven more keys fill the table.
        for i in 0..7 {
            limiter.check(&key(&format!("k{i}"))).unwrap();
        }
        // 60 s after the first request only its bucket is full again: making room drops it
        // (which changes nothing) and keeps the seven live ones.
        clock.advance(Duration::from_secs(59));
        limiter.check(&key("new")).unwrap();
        assert_eq!(limiter.len(), 8);
        for i in 0..7 {
            limiter.check(&key(&format!("k{i}"))).unwrap_err();
        }
        limiter.check(&key("early")).unwrap();
    }

    #[test]
    fn bounded_map_evicts_lowest_ranks_first() {
        let mut map = BoundedMap::new(8);
        let now = Duration::from_secs(1_000);
        for i in 0..8u64 {
            map.insert(
                i,
                Tat {
                    at: now + Duration::from_secs(i + 1),
                },
                now,
            );
        }
        map.insert(
            100,
            Tat {
                at: now + Duration::from_secs(50),
            },
            now,
        );
        // 8 - ceil(8 / 8) = 7 kept before the insertion, so 8 after it.
        assert_eq!(map.len(), 8);
        assert!(map.get(&0).is_none());
        assert!(map.get(&1).is_some());
        assert!(map.get(&100).is_some());
        assert!(map.get_mut(&7).is_some());
        assert!(map.remove(&7).is_some());
        assert_eq!(map.len(), 7);
    }

    #[test]
    fn limit_constructors() {
        let limit = Limit::per_minute(10);
        assert_eq!(limit.interval(), Duration::from_secs(6));
        assert_eq!(limit.burst(), 10);
        assert_eq!(limit.with_burst(0).burst(), 1);
        assert_eq!(Limit::new(0, Duration::from_secs(5)).burst(), 1);
        assert_eq!(key("c").to_string(), "token c 192.0.2.1");
        assert_eq!(
            RateLimitKey::new("token", None, IP).to_string(),
            "token - 192.0.2.1"
        );
        assert_eq!(key("c").endpoint(), "token");
    }
}
