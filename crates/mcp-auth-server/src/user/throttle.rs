//! Throttling of failed logins, per username and per client IP address.

use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use mcp_auth_core::clock::SharedClock;

use super::{AuthenticatedUser, LoginError, Password, UserAuthenticator};
use crate::rate_limit::{BoundedMap, Evictable, since_epoch};

/// When failed logins are throttled.
///
/// Failures are counted per username and per client IP address (per /64 for IPv6, what one
/// host usually holds). Once a counter reaches its maximum, logins for that username (or from
/// that address) are refused for `base_lockout`; each further failure after a lockout doubles
/// it, up to `max_lockout`. A counter is forgotten after `window` without failure (counted from
/// the end of the lockout, if any), and a successful login resets the username's counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures per username before a lockout (at least 1).
    pub max_failures_per_username: u32,
    /// Failures per client IP address before a lockout (at least 1).
    pub max_failures_per_ip: u32,
    /// Quiet time after which failures are forgotten.
    pub window: Duration,
    /// The first lockout.
    pub base_lockout: Duration,
    /// The longest lockout.
    pub max_lockout: Duration,
    /// Counters kept per kind (usernames, addresses); the least recently failed unlocked ones
    /// are dropped first when full.
    pub capacity: usize,
}

impl Default for ThrottlePolicy {
    /// 5 failures per username and 20 per address within 15 minutes; lockouts from 1 minute,
    /// doubling, up to 15 minutes; 100,000 counters per kind.
    fn default() -> Self {
        Self {
            max_failures_per_username: 5,
            max_failures_per_ip: 20,
            window: Duration::from_secs(15 * 60),
            base_lockout: Duration::from_secs(60),
            max_lockout: Duration::from_secs(15 * 60),
            capacity: 100_000,
        }
    }
}

/// A failure counter.
#[derive(Debug, Clone, Copy)]
struct Counter {
    failures: u32,
    last_failure: Duration,
    locked_until: Duration,
}

impl Counter {
    fn new(now: Duration) -> Self {
        Self {
            failures: 0,
            last_failure: now,
            locked_until: Duration::ZERO,
        }
    }

    /// Forgets the failures after a quiet window (unless still locked).
    fn decay(&mut self, now: Duration, window: Duration) {
        if self.is_stale_after(now, window) {
            self.failures = 0;
        }
    }

    fn is_stale_after(&self, now: Duration, window: Duration) -> bool {
        // The quiet window starts when the last failure's lockout (if any) ends, so the longest
        // lockout does not hand out a fresh budget of guesses.
        let quiet_since = self.last_failure.max(self.locked_until);
        now.saturating_sub(quiet_since) >= window
    }

    fn retry_after(&self, now: Duration) -> Option<Duration> {
        (self.locked_until > now).then(|| self.locked_until - now)
    }

    /// Counts one failure, locking when the maximum is reached.
    fn fail(&mut self, now: Duration, max: u32, policy: &ThrottlePolicy) {
        self.failures = self.failures.saturating_add(1);
        self.last_failure = now;
        if self.failures >= max {
            let doublings = (self.failures - max).min(31);
            let lockout = policy
                .base_lockout
                .saturating_mul(1 << doublings)
                .min(policy.max_lockout);
            self.locked_until = self.locked_until.max(now.saturating_add(lockout));
        }
    }

    /// Takes back one failure counted in advance.
    fn undo(&mut self, now: Duration, max: u32) {
        self.failures = self.failures.saturating_sub(1);
        if self.failures < max {
            self.locked_until = self.locked_until.min(now);
        }
    }
}

/// A counter with the window it decays over, for the bounded map.
#[derive(Debug, Clone, Copy)]
struct Slot {
    counter: Counter,
    window: Duration,
}

impl Evictable for Slot {
    /// Unlocked before locked, then least recently failed first.
    type Rank = (Duration, Duration);

    fn is_stale(&self, now: Duration) -> bool {
        self.counter.is_stale_after(now, self.window)
    }

    fn rank(&self) -> Self::Rank {
        (self.counter.locked_until, self.counter.last_failure)
    }
}

/// Counters of failed logins per username and per client address.
///
/// Use it through [`ThrottledAuthenticator`], or directly: [`LoginThrottle::begin`] before
/// checking a password, then report the outcome on the returned [`LoginAttempt`].
#[derive(Debug)]
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    clock: SharedClock,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    usernames: BoundedMap<String, Slot>,
    addresses: BoundedMap<IpAddr, Slot>,
}

impl LoginThrottle {
    /// A throttle with the given policy and clock.
    pub fn new(policy: ThrottlePolicy, clock: SharedClock) -> Self {
        let policy = ThrottlePolicy {
            max_failures_per_username: policy.max_failures_per_username.max(1),
            max_failures_per_ip: policy.max_failures_per_ip.max(1),
            ..policy
        };
        Self {
            state: Mutex::new(State {
                usernames: BoundedMap::new(policy.capacity),
                addresses: BoundedMap::new(policy.capacity),
            }),
            policy,
            clock,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &ThrottlePolicy {
        &self.policy
    }

    /// How long logins for `username` from `client_ip` are refused; `None` when they are not.
    pub fn retry_after(&self, username: &str, client_ip: Option<IpAddr>) -> Option<Duration> {
        let now = self.now();
        let state = self.lock();
        let by_user = state
            .usernames
            .get(username)
            .and_then(|slot| slot.counter.retry_after(now));
        let by_ip = client_ip
            .map(ip_bucket)
            .and_then(|ip| state.addresses.get(&ip))
            .and_then(|slot| slot.counter.retry_after(now));
        by_user.max(by_ip)
    }

    /// Starts a login attempt: refuses it when throttled, otherwise counts it as a failure in
    /// advance (so concurrent guesses cannot all slip in before the first one fails).
    ///
    /// Report the outcome with [`LoginAttempt::succeeded`] or [`LoginAttempt::inconclusive`];
    /// an attempt dropped without either stays counted as a failure.
    ///
    /// # Errors
    ///
    /// The time until the attempt would be allowed.
    pub fn begin(
        &self,
        username: &str,
        client_ip: Option<IpAddr>,
    ) -> Result<LoginAttempt<'_>, Duration> {
        let now = self.now();
        let ip = client_ip.map(ip_bucket);
        let window = self.policy.window;
        let new_slot = || Slot {
            counter: Counter::new(now),
            window,
        };
        let mut state = self.lock();
        let state = &mut *state;
        let by_user = state
            .usernames
            .get_mut(username)
            .and_then(|slot| slot.counter.retry_after(now));
        let by_ip = ip
            .and_then(|ip| state.addresses.get_mut(&ip))
            .and_then(|slot| slot.counter.retry_after(now));
        if let Some(wait) = by_user.max(by_ip) {
            return Err(wait);
        }
        let user_slot = state
            .usernames
            .entry_or_insert_with(username.to_owned(), now, new_slot);
        user_slot.counter.decay(now, window);
        user_slot
            .counter
            .fail(now, self.policy.max_failures_per_username, &self.policy);
        if let Some(ip) = ip {
            let ip_slot = state.addresses.entry_or_insert_with(ip, now, new_slot);
            ip_slot.counter.decay(now, window);
            ip_slot
                .counter
                .fail(now, self.policy.max_failures_per_ip, &self.policy);
        }
        Ok(LoginAttempt {
            throttle: self,
            username: username.to_owned(),
            ip,
        })
    }

    /// Number of counters held: (usernames, addresses).
    #[cfg(test)]
    pub(crate) fn counters(&self) -> (usize, usize) {
        let state = self.lock();
        (state.usernames.len(), state.addresses.len())
    }

    fn now(&self) -> Duration {
        since_epoch(self.clock.now())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An attempt admitted by [`LoginThrottle::begin`], counted as a failure until told otherwise.
#[derive(Debug)]
#[must_use = "report the outcome, or the attempt counts as a failure"]
pub struct LoginAttempt<'a> {
    throttle: &'a LoginThrottle,
    username: String,
    ip: Option<IpAddr>,
}

impl LoginAttempt<'_> {
    /// The password was right: resets the username's counter and takes the failure back from
    /// the address's.
    pub fn succeeded(self) {
        let now = self.throttle.now();
        let mut state = self.throttle.lock();
        state.usernames.remove(self.username.as_str());
        self.undo_ip(&mut state, now);
    }

    /// The password was wrong: the failure stays counted. Dropping the attempt does the same,
    /// so a cancelled request does not give its guess back.
    pub fn failed(self) {}

    /// The password could not be checked (an internal error): takes the failure back.
    pub fn inconclusive(self) {
        let now = self.throttle.now();
        let mut state = self.throttle.lock();
        let max = self.throttle.policy.max_failures_per_username;
        if let Some(slot) = state.usernames.get_mut(self.username.as_str()) {
            slot.counter.undo(now, max);
        }
        self.undo_ip(&mut state, now);
    }

    fn undo_ip(&self, state: &mut State, now: Duration) {
        let max = self.throttle.policy.max_failures_per_ip;
        if let Some(slot) = self.ip.and_then(|ip| state.addresses.get_mut(&ip)) {
            slot.counter.undo(now, max);
        }
    }
}

/// The address a counter is kept for: the address itself for IPv4, its /64 for IPv6.
fn ip_bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
    }
}

/// Applies a [`LoginThrottle`] to any [`UserAuthenticator`].
///
/// The throttle is checked before the password: a throttled attempt costs no password work and
/// gets [`LoginError::Throttled`], whether the password is right or not.
#[derive(Debug)]
pub struct ThrottledAuthenticator<A> {
    inner: A,
    throttle: LoginThrottle,
}

impl<A> ThrottledAuthenticator<A> {
    /// Wraps an authenticator.
    pub fn new(inner: A, throttle: LoginThrottle) -> Self {
        Self { inner, throttle }
    }

    /// The throttle.
    pub fn throttle(&self) -> &LoginThrottle {
        &self.throttle
    }

    /// The wrapped authenticator.
    pub fn inner(&self) -> &A {
        &self.inner
    }
}

#[async_trait]
impl<A: UserAuthenticator> UserAuthenticator for ThrottledAuthenticator<A> {
    async fn authenticate(
        &self,
        username: &str,
        password: &Password,
        client_ip: Option<IpAddr>,
    ) -> Result<AuthenticatedUser, LoginError> {
        let attempt = self
            .throttle
            .begin(username, client_ip)
            .map_err(|retry_after| LoginError::Throttled { retry_after })?;
        let result = self.inner.authenticate(username, password, client_ip).await;
        match &result {
            Ok(_) => attempt.succeeded(),
            Err(LoginError::InvalidCredentials) => attempt.failed(),
            Err(LoginError::Throttled { .. } | LoginError::Internal(_)) => attempt.inconclusive(),
        }
        result
    }
}
