//! A validation cache: skips signature checks for tokens seen recently (feature `cache`).
//!
//! Keyed by the SHA-256 of the token, so the cache never holds a token. Only successes are
//! cached. An entry lives for `min(ttl, exp - now)`, and `exp` is checked again on every hit, so
//! a cached token is never accepted after it expires (a fixed-TTL cache would accept it for up to
//! the TTL). Capacity is bounded: memory stays flat under a flood of distinct tokens.
//!
//! The shared cache is moka's. In front of it each thread keeps copies of the last four entries
//! it used (a thread mostly sees the same few tokens again), checked exactly as shared entries;
//! [`CachedValidator::invalidate_all`] voids the copies too.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use mcp_auth_core::cache::{CacheConfig, CachedValidator};
//! use mcp_auth_core::{validator_fn, BearerToken, Principal, TokenValidator};
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap(); rt.block_on(async {
//! let inner = validator_fn(|_token: BearerToken| async {
//!     Ok(Principal::builder("alice").expires_at_unix(u64::MAX / 2).build())
//! });
//! let cached = CachedValidator::new(inner, CacheConfig::default().max_capacity(1_000).ttl(Duration::from_secs(60)));
//! let token = BearerToken::new("t");
//! assert_eq!(cached.validate(&token).await.unwrap().subject(), "alice");
//! assert_eq!(cached.validate(&token).await.unwrap().subject(), "alice"); // served from the cache
//! # });
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use moka::Expiry;
use moka::sync::Cache;

use crate::clock::{SharedClock, system_clock};
use crate::error::AuthError;
use crate::principal::Principal;
use crate::secret::BearerToken;
use crate::validator::TokenValidator;

/// Settings of a [`CachedValidator`].
#[derive(Debug, Clone)]
pub struct CacheConfig {
    max_capacity: u64,
    ttl: Duration,
    clock: SharedClock,
}

impl Default for CacheConfig {
    /// 10,000 entries, 5 minutes, the system clock.
    fn default() -> Self {
        Self {
            max_capacity: 10_000,
            ttl: Duration::from_secs(300),
            clock: system_clock(),
        }
    }
}

impl CacheConfig {
    /// Maximum number of cached principals.
    pub fn max_capacity(mut self, entries: u64) -> Self {
        self.max_capacity = entries;
        self
    }

    /// Longest time an entry lives (shortened to the token's remaining lifetime).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The clock used to compare `exp` (inject a manual clock in tests).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }
}

#[derive(Clone)]
struct Entry {
    principal: Principal,
    epoch: u64,
    lifetime: Duration,
    /// When moka's timer started: the entry is gone at `created + lifetime`.
    created: Instant,
}

struct EntryLifetime;

impl Expiry<[u8; 32], Entry> for EntryLifetime {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Entry,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.lifetime)
    }
}

/// Wraps a validator with a bounded cache of recent successes.
pub struct CachedValidator<V> {
    inner: V,
    cache: Cache<[u8; 32], Entry>,
    ttl: Duration,
    clock: SharedClock,
    /// Tells this cache's entries apart in the per-thread front ([`recent`]).
    id: u64,
    /// Bumped by [`CachedValidator::invalidate_all`]: front entries of an older generation are
    /// void.
    generation: AtomicU64,
}

impl<V: std::fmt::Debug> std::fmt::Debug for CachedValidator<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedValidator")
            .field("inner", &self.inner)
            .field("entries", &self.cache.entry_count())
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl<V: TokenValidator> CachedValidator<V> {
    /// Wraps `inner`.
    pub fn new(inner: V, config: CacheConfig) -> Self {
        let cache = Cache::builder()
            .max_capacity(config.max_capacity)
            .expire_after(EntryLifetime)
            .build();
        Self {
            inner,
            cache,
            ttl: config.ttl,
            clock: config.clock,
            id: recent::new_cache_id(),
            generation: AtomicU64::new(0),
        }
    }

    /// The wrapped validator.
    pub fn get_ref(&self) -> &V {
        &self.inner
    }

    /// Drops every cached entry (e.g. after a key was revoked).
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.cache.invalidate_all();
    }

    /// Number of cached entries (approximate; moka counts lazily).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Runs pending cache maintenance; useful before reading [`CachedValidator::entry_count`].
    pub async fn run_pending_tasks(&self) {
        self.cache.run_pending_tasks();
    }
}

/// A token the cache could not answer for, and what storing its fresh principal needs: all
/// read before validating, so an epoch or generation that moves meanwhile voids the entry.
struct Miss {
    key: [u8; 32],
    now: u64,
    epoch: u64,
    slot: recent::Slot,
}

impl<V: TokenValidator> CachedValidator<V> {
    /// The cached principal of the token whose SHA-256 is `key`, or the [`Miss`] to store a
    /// fresh one with.
    fn lookup(&self, key: [u8; 32]) -> Result<Principal, Miss> {
        let now = self.clock.unix_now();
        // Read before validating: if the epoch moves meanwhile, the entry is already void.
        let epoch = self.inner.cache_epoch();
        let generation = self.generation.load(Ordering::Acquire);
        let usable = |entry: &Entry| {
            // Recheck exp on every hit: moka's timer and our clock may disagree, and an expired
            // token must never pass. An entry from another epoch (a key was withdrawn since) is
            // validated afresh.
            entry.epoch == epoch
                && entry
                    .principal
                    .expires_at_unix()
                    .is_some_and(|exp| exp > now)
        };
        let slot = recent::Slot {
            cache: self.id,
            generation,
            key,
        };
        if let Some(entry) = recent::get(&slot)
            && usable(&entry)
            && entry.created.elapsed() < entry.lifetime
        {
            return Ok(entry.principal);
        }
        // moka's synchronous cache: a lookup never waits, and unlike the async one it costs no
        // future per call (this runs on every request).
        if let Some(entry) = self.cache.get(&key) {
            if usable(&entry) {
                recent::put(slot, &entry);
                return Ok(entry.principal);
            }
            self.cache.invalidate(&key);
        }
        Err(Miss {
            key,
            now,
            epoch,
            slot,
        })
    }

    /// Caches `principal`, just validated after `miss`.
    fn store(&self, miss: Miss, principal: &Principal) {
        // A principal without exp is not cached: its lifetime is unknown.
        let Some(exp) = principal.expires_at_unix() else {
            return;
        };
        let remaining = Duration::from_secs(exp.saturating_sub(miss.now));
        let lifetime = remaining.min(self.ttl);
        if lifetime.is_zero() {
            return;
        }
        let entry = Entry {
            principal: principal.clone(),
            epoch: miss.epoch,
            lifetime,
            created: Instant::now(),
        };
        if self.generation.load(Ordering::Acquire) == miss.slot.generation {
            recent::put(miss.slot, &entry);
        }
        self.cache.insert(miss.key, entry);
    }
}

#[async_trait]
impl<V: TokenValidator> TokenValidator for CachedValidator<V> {
    async fn validate(&self, token: &BearerToken) -> Result<Principal, AuthError> {
        let miss = match self.lookup(token.digest()) {
            Ok(principal) => return Ok(principal),
            Err(miss) => miss,
        };
        let principal = self.inner.validate(token).await?;
        self.store(miss, &principal);
        Ok(principal)
    }

    /// A hit answers at once; a miss does when the wrapped validator does.
    fn validate_now(&self, token: &BearerToken) -> Option<Result<Principal, AuthError>> {
        let miss = match self.lookup(token.digest()) {
            Ok(principal) => return Some(Ok(principal)),
            Err(miss) => miss,
        };
        let principal = match self.inner.validate_now(token)? {
            Ok(principal) => principal,
            Err(err) => return Some(Err(err)),
        };
        self.store(miss, &principal);
        Some(Ok(principal))
    }

    /// A cache hit: what `validate` answered for the token with this digest, checked as every
    /// hit is (its epoch, its `exp`, its lifetime). Only successes are cached, and only after
    /// `validate` or `validate_now`, so the token was read and accepted before.
    fn recalls(&self) -> bool {
        true
    }

    fn recall(&self, digest: &[u8; 32]) -> Option<Principal> {
        self.lookup(*digest).ok()
    }

    fn cache_epoch(&self) -> u64 {
        self.inner.cache_epoch()
    }
}

/// The last few entries each thread used, in front of the shared cache.
///
/// A server thread mostly sees the same few tokens again (one per connected client), and a hit
/// here costs a few comparisons where the shared cache (hash, concurrent map, access
/// bookkeeping) costs about ten times more. An entry here is a copy of a shared-cache entry,
/// checked exactly as one (epoch, `exp`, its lifetime), tagged with the cache it came from and
/// that cache's generation, so [`CachedValidator::invalidate_all`] voids it at once. It holds
/// no token, only the digest. Each thread keeps [`SLOTS`] entries at most.
///
/// Each entry here holds the thread's own copy of the principal ([`Principal::unshared`]).
/// A hit hands out a clone, and the request drops it: two atomic operations on the
/// principal's reference count. Were the count shared by every thread (one `Arc` from the
/// shared cache), each of those operations would first have to pull its cache line from the
/// core that touched it last.
/// A copy costs a few allocations, once per thread and token.
mod recent {
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::Entry;

    /// Entries kept per thread.
    pub(super) const SLOTS: usize = 4;

    /// Where an entry belongs: which cache, which of its generations, which token digest.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub(super) struct Slot {
        pub(super) cache: u64,
        pub(super) generation: u64,
        pub(super) key: [u8; 32],
    }

    #[derive(Default)]
    struct Recent {
        entries: [Option<(Slot, Entry)>; SLOTS],
        /// The next entry to replace: the oldest.
        next: usize,
    }

    thread_local! {
        static RECENT: RefCell<Recent> = RefCell::new(Recent::default());
    }

    /// A new cache's id, never reused in this process.
    pub(super) fn new_cache_id() -> u64 {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    /// The entry for `slot`, if this thread kept one.
    pub(super) fn get(slot: &Slot) -> Option<Entry> {
        RECENT.with(|recent| {
            recent
                .borrow()
                .entries
                .iter()
                .flatten()
                .find(|(kept, _)| kept == slot)
                .map(|(_, entry)| entry.clone())
        })
    }

    /// Keeps a copy of `entry` for `slot`, in place of the same slot's or the oldest one.
    pub(super) fn put(slot: Slot, entry: &Entry) {
        RECENT.with(|recent| {
            let mut recent = recent.borrow_mut();
            let at = match recent
                .entries
                .iter()
                .position(|kept| kept.as_ref().is_some_and(|(kept, _)| *kept == slot))
            {
                Some(same) => same,
                None => {
                    let oldest = recent.next;
                    recent.next = (oldest + 1) % SLOTS;
                    oldest
                }
            };
            // This thread's own copy: see the module's notes.
            let entry = Entry {
                principal: entry.principal.unshared(),
                ..*entry
            };
            recent.entries[at] = Some((slot, entry));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::error::InvalidTokenReason;
    use crate::validator::validator_fn;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counting(exp: u64, calls: Arc<AtomicUsize>, clock: ManualClock) -> impl TokenValidator {
        validator_fn(move |_t: BearerToken| {
            let calls = calls.clone();
            let clock = clock.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                if crate::clock::Clock::unix_now(&clock) >= exp {
                    return Err(AuthError::InvalidToken(InvalidTokenReason::Expired));
                }
                Ok(Principal::builder("s").expires_at_unix(exp).build())
            }
        })
    }

    /// A cache on a manual clock at 1,000 in front of [`counting`] with `exp` 1,010.
    fn counted_cache() -> (
        CachedValidator<impl TokenValidator>,
        Arc<AtomicUsize>,
        ManualClock,
    ) {
        let clock = ManualClock::at_unix(1_000);
        let calls = Arc::new(AtomicUsize::new(0));
        let cached = CachedValidator::new(
            counting(1_010, calls.clone(), clock.clone()),
            CacheConfig::default().clock(Arc::new(clock.clone())),
        );
        (cached, calls, clock)
    }

    #[tokio::test]
    async fn hit_skips_inner_and_expired_entry_is_refused() {
        let (cached, calls, clock) = counted_cache();
        let token = BearerToken::new("t");
        cached.validate(&token).await.unwrap();
        cached.validate(&token).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        clock.advance(Duration::from_secs(10));
        let err = cached.validate(&token).await.unwrap_err();
        assert!(matches!(
            err,
            AuthError::InvalidToken(InvalidTokenReason::Expired)
        ));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn recall_answers_a_hit_by_digest_and_checks_it_as_any_hit() {
        let (cached, calls, clock) = counted_cache();
        assert!(cached.recalls());
        let token = BearerToken::new("t");
        // Nothing is recalled before a validation accepted the token.
        assert!(cached.recall(&token.digest()).is_none());
        let validated = cached.validate(&token).await.unwrap();
        assert_eq!(cached.recall(&token.digest()), Some(validated));
        assert!(cached.recall(&BearerToken::new("u").digest()).is_none());
        // Its `exp` is checked on recall too.
        clock.advance(Duration::from_secs(10));
        assert!(cached.recall(&token.digest()).is_none());
        // A refused token is never recalled.
        assert!(cached.validate(&token).await.is_err());
        assert!(cached.recall(&token.digest()).is_none());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // Validators that keep nothing do not recall.
        let plain = counting(1_010, calls, clock);
        assert!(!plain.recalls() && plain.recall(&token.digest()).is_none());
    }

    #[derive(Debug)]
    struct Epoch(Arc<std::sync::atomic::AtomicU64>, Arc<AtomicUsize>);

    #[async_trait]
    impl TokenValidator for Epoch {
        async fn validate(&self, _token: &BearerToken) -> Result<Principal, AuthError> {
            self.1.fetch_add(1, Ordering::SeqCst);
            Ok(Principal::builder("s")
                .expires_at_unix(u64::MAX / 2)
                .build())
        }

        fn cache_epoch(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    #[tokio::test]
    async fn a_new_epoch_voids_cached_entries() {
        let epoch = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        let cached =
            CachedValidator::new(Epoch(epoch.clone(), calls.clone()), CacheConfig::default());
        let token = BearerToken::new("t");
        cached.validate(&token).await.unwrap();
        cached.validate(&token).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        epoch.store(1, Ordering::SeqCst);
        cached.validate(&token).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let clock = ManualClock::at_unix(2_000);
        let calls = Arc::new(AtomicUsize::new(0));
        let cached = CachedValidator::new(
            counting(1_000, calls.clone(), clock.clone()),
            CacheConfig::default().clock(Arc::new(clock)),
        );
        let token = BearerToken::new("t");
        assert!(cached.validate(&token).await.is_err());
        assert!(cached.validate(&token).await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn capacity_is_bounded() {
        let clock = ManualClock::at_unix(1_000);
        let calls = Arc::new(AtomicUsize::new(0));
        let cached = CachedValidator::new(
            counting(u64::MAX, calls, clock.clone()),
            CacheConfig::default()
                .max_capacity(100)
                .clock(Arc::new(clock)),
        );
        for i in 0..5_000 {
            cached
                .validate(&BearerToken::new(format!("t{i}")))
                .await
                .unwrap();
        }
        cached.run_pending_tasks().await;
        assert!(cached.entry_count() <= 100, "{}", cached.entry_count());
    }

    #[tokio::test]
    async fn invalidate_all_voids_every_copy() {
        let calls = Arc::new(AtomicUsize::new(0));
        let epoch = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let cached = CachedValidator::new(Epoch(epoch, calls.clone()), CacheConfig::default());
        let token = BearerToken::new("t");
        cached.validate(&token).await.unwrap();
        cached.validate(&token).await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "served by this thread's copy"
        );
        cached.invalidate_all();
        cached.validate(&token).await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "the thread's copy went too"
        );
        cached.validate(&token).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_entry_lives_no_longer_than_the_ttl_in_either_cache() {
        let calls = Arc::new(AtomicUsize::new(0));
        let epoch = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let cached = CachedValidator::new(
            Epoch(epoch, calls.clone()),
            CacheConfig::default().ttl(Duration::from_millis(50)),
        );
        let token = BearerToken::new("t");
        cached.validate(&token).await.unwrap();
        cached.validate(&token).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_millis(80)).await;
        cached.validate(&token).await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "expired after its lifetime"
        );
    }

    #[tokio::test]
    async fn caches_on_one_thread_keep_their_entries_apart() {
        let accepted = Arc::new(AtomicUsize::new(0));
        let epoch = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let accepting = CachedValidator::new(Epoch(epoch, accepted), CacheConfig::default());
        let refusing = CachedValidator::new(
            validator_fn(|_t: BearerToken| async {
                Err(AuthError::InvalidToken(InvalidTokenReason::BadSignature))
            }),
            CacheConfig::default(),
        );
        let token = BearerToken::new("t");
        accepting.validate(&token).await.unwrap();
        accepting.validate(&token).await.unwrap();
        assert!(refusing.validate(&token).await.is_err());
        // More tokens than the thread keeps: the oldest make way, answers stay right.
        for n in 0..10 {
            let other = BearerToken::new(format!("t{n}"));
            accepting.validate(&other).await.unwrap();
            assert!(refusing.validate(&other).await.is_err());
        }
        assert!(accepting.validate(&token).await.is_ok());
    }

    /// Answers now (no await) with `exp`, counting its calls; `validate` must never be
    /// reached when `validate_now` answers.
    #[derive(Debug)]
    struct Immediate(Arc<AtomicUsize>, Option<Result<u64, InvalidTokenReason>>);

    #[async_trait]
    impl TokenValidator for Immediate {
        async fn validate(&self, _token: &BearerToken) -> Result<Principal, AuthError> {
            match self.1 {
                // An inner validator that cannot answer now is awaited.
                None => Ok(Principal::builder("awaited")
                    .expires_at_unix(u64::MAX / 2)
                    .build()),
                Some(_) => panic!("validate called although validate_now answers"),
            }
        }

        fn validate_now(&self, _token: &BearerToken) -> Option<Result<Principal, AuthError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            self.1.map(|verdict| {
                verdict
                    .map(|exp| Principal::builder("now").expires_at_unix(exp).build())
                    .map_err(AuthError::InvalidToken)
            })
        }
    }

    #[tokio::test]
    async fn validate_now_answers_as_validate_and_fills_the_same_cache() {
        let calls = Arc::new(AtomicUsize::new(0));
        let cached = CachedValidator::new(
            Immediate(calls.clone(), Some(Ok(u64::MAX / 2))),
            CacheConfig::default(),
        );
        let token = BearerToken::new("now");
        // A miss asks the inner validator now and caches its answer...
        let first = cached.validate_now(&token).expect("answers now").unwrap();
        assert_eq!(first.subject(), "now");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // ...which both paths then hit, without asking again.
        assert_eq!(cached.validate_now(&token).unwrap().unwrap(), first);
        assert_eq!(cached.validate(&token).await.unwrap(), first);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Through the wrappers adapters hold.
        let shared: Arc<dyn TokenValidator> = Arc::new(cached);
        assert_eq!(shared.validate_now(&token).unwrap().unwrap(), first);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn validate_now_refusals_and_silence_pass_through_uncached() {
        let calls = Arc::new(AtomicUsize::new(0));
        let refusing = CachedValidator::new(
            Immediate(calls.clone(), Some(Err(InvalidTokenReason::BadSignature))),
            CacheConfig::default(),
        );
        let token = BearerToken::new("refused");
        for round in 1..=2 {
            assert!(matches!(
                refusing.validate_now(&token),
                Some(Err(AuthError::InvalidToken(
                    InvalidTokenReason::BadSignature
                )))
            ));
            assert_eq!(
                calls.load(Ordering::SeqCst),
                round,
                "refusals are not cached"
            );
        }
        // An inner validator that cannot answer now: neither can the cache, until `validate`
        // has filled it.
        let silent = CachedValidator::new(Immediate(calls, None), CacheConfig::default());
        let token = BearerToken::new("awaited");
        assert!(silent.validate_now(&token).is_none());
        let awaited = silent.validate(&token).await.unwrap();
        assert_eq!(silent.validate_now(&token).unwrap().unwrap(), awaited);
        // The validator_fn default: never answers now.
        let plain = validator_fn(|_t: BearerToken| async { Ok(Principal::builder("x").build()) });
        assert!(plain.validate_now(&token).is_none());
    }

    #[tokio::test]
    async fn each_thread_hands_out_its_own_copy_of_a_principal() {
        let epoch = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let cached = Arc::new(CachedValidator::new(
            Epoch(epoch, Arc::new(AtomicUsize::new(0))),
            CacheConfig::default(),
        ));
        let token = BearerToken::new("shared");
        // Two hits on this thread after the miss that filled the cache: its own copy.
        cached.validate(&token).await.unwrap();
        let here = cached.validate(&token).await.unwrap();
        let again = cached.validate(&token).await.unwrap();
        assert!(here.shares_count_with(&again), "one thread, one copy");
        let there = std::thread::spawn({
            let cached = Arc::clone(&cached);
            move || {
                let token = BearerToken::new("shared");
                // The shared cache's hit, then this thread's copy.
                cached.validate_now(&token).unwrap().unwrap();
                let first = cached.validate_now(&token).unwrap().unwrap();
                let second = cached.validate_now(&token).unwrap().unwrap();
                assert!(first.shares_count_with(&second));
                first
            }
        })
        .join()
        .unwrap();
        assert_eq!(there, here);
        assert!(
            !there.shares_count_with(&here),
            "another thread, another copy"
        );
    }
}
