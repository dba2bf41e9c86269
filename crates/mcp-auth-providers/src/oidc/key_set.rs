//! A remote JSON Web Key Set, kept fresh and bounded in what it costs the identity provider.
//!
//! - Keys are fetched on first use and refreshed every `refresh_interval` (in the background:
//!   requests keep using the keys they have).
//! - A token with an unknown `kid` triggers at most one refetch per `cooldown`; concurrent
//!   requests share that one fetch (single flight), so a stampede of 1,000 requests carrying a
//!   new `kid` costs one fetch, and a flood of random `kid`s costs one fetch per cooldown.
//! - When the provider is down, known keys keep working for `max_stale` after the last good
//!   fetch. With no usable keys the answer is 503 with `Retry-After`, never 401: the token may be
//!   fine.
//! - A key that leaves the set stops being accepted at once: the set's epoch moves, and the
//!   validation cache drops what those keys vouched for.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use mcp_auth_core::{AuthError, InvalidTokenReason};
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use super::fetch::{FetchError, Fetcher};
use crate::jwk::{JwkSet, JwkSetError};

/// Refresh timings of a [`RemoteKeySet`].
#[derive(Debug, Clone)]
pub struct RefreshPolicy {
    /// How often keys are refreshed in the background (default 10 minutes).
    pub refresh_interval: Duration,
    /// Least time between two fetches caused by unknown `kid`s or failures (default 30 s).
    pub cooldown: Duration,
    /// How long known keys stay usable after the last good fetch while the provider is down
    /// (default 24 hours).
    pub max_stale: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            refresh_interval: Duration::from_secs(600),
            cooldown: Duration::from_secs(30),
            max_stale: Duration::from_secs(24 * 3600),
        }
    }
}

/// Why a key set fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeySetError {
    /// The fetch failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The document is not a key set.
    #[error("{url}: {source}")]
    Parse {
        /// The URL.
        url: String,
        /// Why.
        #[source]
        source: JwkSetError,
    },
    /// The set holds no usable key.
    #[error("{url} holds no usable signing key ({dropped} dropped by the key rules)")]
    Empty {
        /// The URL.
        url: String,
        /// Keys dropped.
        dropped: usize,
    },
}

struct Snapshot {
    keys: Arc<JwkSet>,
    fetched_at: Instant,
}

struct Inner {
    jwks_uri: Url,
    fetcher: Fetcher,
    policy: RefreshPolicy,
    current: RwLock<Option<Snapshot>>,
    /// When the last fetch (good or bad) started; guards the cooldown.
    last_attempt: RwLock<Option<Instant>>,
    refresh: Mutex<()>,
    last_error: RwLock<Option<KeySetError>>,
    epoch: AtomicU64,
    fetches: AtomicU64,
}

/// The keys at a `jwks_uri`.
#[derive(Clone)]
pub struct RemoteKeySet {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RemoteKeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteKeySet")
            .field("jwks_uri", &self.inner.jwks_uri.as_str())
            .field("fetches", &self.fetch_count())
            .finish_non_exhaustive()
    }
}

impl RemoteKeySet {
    /// A key set at `jwks_uri`; nothing is fetched until first use or [`RemoteKeySet::refresh`].
    pub fn new(jwks_uri: Url, fetcher: Fetcher, policy: RefreshPolicy) -> Self {
        Self {
            inner: Arc::new(Inner {
                jwks_uri,
                fetcher,
                policy,
                current: RwLock::new(None),
                last_attempt: RwLock::new(None),
                refresh: Mutex::new(()),
                last_error: RwLock::new(None),
                epoch: AtomicU64::new(0),
                fetches: AtomicU64::new(0),
            }),
        }
    }

    /// The key set URL.
    pub fn jwks_uri(&self) -> &Url {
        &self.inner.jwks_uri
    }

    /// How many fetches were made.
    pub fn fetch_count(&self) -> u64 {
        self.inner.fetches.load(Ordering::SeqCst)
    }

    /// Moves whenever a refresh removes a key; cached validations from an older epoch are void.
    pub fn epoch(&self) -> u64 {
        self.inner.epoch.load(Ordering::SeqCst)
    }

    /// The keys held now, if any.
    pub fn current(&self) -> Option<Arc<JwkSet>> {
        self.read_current().map(|(keys, _)| keys)
    }

    fn read_current(&self) -> Option<(Arc<JwkSet>, Instant)> {
        self.inner
            .current
            .read()
            .ok()
            .and_then(|c| c.as_ref().map(|s| (s.keys.clone(), s.fetched_at)))
    }

    fn last_attempt(&self) -> Option<Instant> {
        self.inner.last_attempt.read().ok().and_then(|a| *a)
    }

    /// Fetches the set now (waiting for, rather than duplicating, a fetch under way).
    ///
    /// # Errors
    ///
    /// [`KeySetError`]; the keys held before stay in place.
    pub async fn refresh(&self) -> Result<Arc<JwkSet>, KeySetError> {
        let started = Instant::now();
        let _guard = self.inner.refresh.lock().await;
        // Another task fetched while we waited: share its outcome instead of fetching again,
        // so a crowd of waiters costs the provider one request even when it is down.
        if self
            .last_attempt()
            .is_some_and(|attempt| attempt >= started)
        {
            return match self.read_current() {
                Some((keys, fetched_at)) if fetched_at >= started => Ok(keys),
                _ => Err(self
                    .inner
                    .last_error
                    .read()
                    .ok()
                    .and_then(|e| e.clone())
                    .unwrap_or(KeySetError::Fetch(FetchError::Unreachable {
                        url: self.inner.jwks_uri.to_string(),
                        reason: "fetch failed".to_owned(),
                    }))),
            };
        }
        let result = self.fetch_locked().await;
        if let (Err(err), Ok(mut last)) = (&result, self.inner.last_error.write()) {
            *last = Some(err.clone());
        }
        result
    }

    async fn fetch_locked(&self) -> Result<Arc<JwkSet>, KeySetError> {
        let inner = &self.inner;
        if let Ok(mut attempt) = inner.last_attempt.write() {
            *attempt = Some(Instant::now());
        }
        inner.fetches.fetch_add(1, Ordering::SeqCst);
        let url = inner.jwks_uri.to_string();
        let body = inner.fetcher.get_json(&inner.jwks_uri).await?;
        let set = JwkSet::parse(&body).map_err(|source| KeySetError::Parse {
            url: url.clone(),
            source,
        })?;
        if set.is_empty() {
            return Err(KeySetError::Empty {
                url,
                dropped: set.dropped(),
            });
        }
        let set = Arc::new(set);
        if let Ok(mut current) = inner.current.write() {
            if let Some(old) = current.as_ref()
                && !set.contains_all_of(&old.keys)
            {
                inner.epoch.fetch_add(1, Ordering::SeqCst);
            }
            *current = Some(Snapshot {
                keys: set.clone(),
                fetched_at: Instant::now(),
            });
        }
        tracing::debug!(jwks_uri = %inner.jwks_uri, keys = set.keys().len(), dropped = set.dropped(), "key set fetched");
        Ok(set)
    }

    fn cooling_down(&self) -> Option<Duration> {
        let last = self.last_attempt()?;
        let elapsed = last.elapsed();
        (elapsed < self.inner.policy.cooldown).then(|| self.inner.policy.cooldown - elapsed)
    }

    fn unavailable(&self, retry_after: Duration, source: Option<KeySetError>) -> AuthError {
        AuthError::Unavailable {
            retry_after: Some(retry_after.max(Duration::from_secs(1))),
            source: source.map(|e| Box::new(e) as _),
        }
    }

    /// Keys usable now: fetched if there are none (or they are past `max_stale`), refreshed in
    /// the background when older than `refresh_interval`.
    async fn usable(&self) -> Result<Arc<JwkSet>, AuthError> {
        let policy = &self.inner.policy;
        match self.read_current() {
            Some((keys, fetched_at)) if fetched_at.elapsed() < policy.max_stale => {
                if fetched_at.elapsed() >= policy.refresh_interval && self.cooling_down().is_none()
                {
                    self.refresh_in_background();
                }
                Ok(keys)
            }
            _ => {
                if let Some(wait) = self.cooling_down() {
                    // A fetch is under way or just happened: wait for it, then use its keys
                    // if it succeeded (single flight also for a cold start).
                    self.wait_for_fetch_in_progress().await;
                    if let Some((keys, fetched_at)) = self.read_current()
                        && fetched_at.elapsed() < policy.max_stale
                    {
                        return Ok(keys);
                    }
                    return Err(self.unavailable(wait, None));
                }
                self.refresh()
                    .await
                    .map_err(|e| self.unavailable(policy.cooldown, Some(e)))
            }
        }
    }

    /// Waits until no fetch holds the refresh lock.
    async fn wait_for_fetch_in_progress(&self) {
        drop(self.inner.refresh.lock().await);
    }

    fn refresh_in_background(&self) {
        // Only when no fetch is under way; the spawned task takes the lock itself.
        if let Ok(guard) = self.inner.refresh.try_lock() {
            drop(guard);
            let this = self.clone();
            tokio::spawn(async move {
                if let Err(err) = this.refresh().await {
                    tracing::warn!(jwks_uri = %this.inner.jwks_uri, error = %err, "background key refresh failed; keeping known keys");
                }
            });
        }
    }

    /// The key for a token's `kid` (or the keys allowing its `alg` when it has none).
    ///
    /// # Errors
    ///
    /// [`AuthError::Unavailable`] when no keys can be had; [`InvalidTokenReason::UnknownKey`]
    /// when the `kid` is not in the set even after an allowed refetch.
    pub async fn keys_for(&self, kid: Option<&str>) -> Result<Arc<JwkSet>, AuthError> {
        let keys = self.usable().await?;
        let Some(kid) = kid else {
            return Ok(keys);
        };
        if keys.by_kid(kid).is_some() {
            return Ok(keys);
        }
        // Unknown kid: the provider may have rotated. Refetch at most once per cooldown.
        if let Some(wait) = self.cooling_down() {
            // Share the fetch under way (a stampede of a new kid costs one fetch), then judge.
            self.wait_for_fetch_in_progress().await;
            if let Some((fresh, fetched_at)) = self.read_current() {
                if fresh.by_kid(kid).is_some() {
                    return Ok(fresh);
                }
                // The last attempt failed: the provider is down, the token may be fine.
                if self
                    .last_attempt()
                    .is_some_and(|attempt| attempt > fetched_at)
                {
                    return Err(self.unavailable(wait, None));
                }
            }
            return Err(AuthError::InvalidToken(InvalidTokenReason::UnknownKey));
        }
        match self.refresh().await {
            Ok(fresh) if fresh.by_kid(kid).is_some() => Ok(fresh),
            Ok(_) => Err(AuthError::InvalidToken(InvalidTokenReason::UnknownKey)),
            // The provider may have rotated while it is unreachable: the token may be fine.
            Err(err) => Err(self.unavailable(self.inner.policy.cooldown, Some(err))),
        }
    }
}
