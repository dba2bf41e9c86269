#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use argon2::{Algorithm, Argon2, PasswordHasher as _, PasswordVerifier as _, Version};
use async_trait::async_trait;
use mcp_auth_core::clock::ManualClock;

use super::*;

/// The cheapest Argon2id parameters, to keep the tests fast.
fn cheap() -> HashParams {
    HashParams::new(8, 1, 1).unwrap()
}

fn hash(password: &str) -> String {
    hash_password_with(&Password::new(password), &cheap()).unwrap()
}

fn users() -> StaticUsers {
    StaticUsers::new([
        StaticUser::new("alice", hash("alice-password"))
            .with_email("alice@example.com")
            .with_display_name("Alice"),
        StaticUser::new("bob", hash("bob-password")).with_subject("user-0002"),
    ])
    .unwrap()
}

const IP: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));

fn pw(password: &str) -> Password {
    Password::new(password)
}

#[tokio::test]
async fn right_password_signs_in() {
    let users = users();
    let alice = users
        .authenticate("alice", &pw("alice-password"), IP)
        .await
        .unwrap();
    assert_eq!(
        alice,
        AuthenticatedUser {
            subject: "alice".to_owned(),
            username: "alice".to_owned(),
            email: Some("alice@example.com".to_owned()),
            display_name: Some("Alice".to_owned()),
        }
    );
    let bob = users
        .authenticate("bob", &pw("bob-password"), None)
        .await
        .unwrap();
    assert_eq!(bob.subject, "user-0002");
    assert_eq!(bob.email, None);
}

#[tokio::test]
async fn unknown_user_and_wrong_password_give_identical_errors() {
    let users = users();
    let wrong = users
        .authenticate("alice", &pw("bob-password"), IP)
        .await
        .unwrap_err();
    let unknown = users
        .authenticate("carol", &pw("alice-password"), IP)
        .await
        .unwrap_err();
    let empty = users.authenticate("", &pw(""), IP).await.unwrap_err();
    // Usernames are case-sensitive.
    let case = users
        .authenticate("Alice", &pw("alice-password"), IP)
        .await
        .unwrap_err();
    for error in [&wrong, &unknown, &empty, &case] {
        assert_eq!(error, &LoginError::InvalidCredentials);
        assert_eq!(error.to_string(), "invalid username or password");
        assert_eq!(format!("{error:?}"), format!("{wrong:?}"));
    }
}

#[test]
fn verification_works_outside_a_runtime() {
    let users = users();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // A current-thread runtime without the blocking pool enabled still has `spawn_blocking`;
    // futures::executor has no runtime at all and takes the inline path.
    let inline =
        futures::executor::block_on(users.authenticate("alice", &pw("alice-password"), IP));
    assert!(inline.is_ok());
    let in_runtime = runtime.block_on(users.authenticate("alice", &pw("alice-password"), IP));
    assert!(in_runtime.is_ok());
}

#[test]
fn only_argon2id_hashes_are_accepted() {
    let salt = b"0123456789abcdef";
    for algorithm in [Algorithm::Argon2i, Algorithm::Argon2d] {
        let other = Argon2::new(algorithm, Version::V0x13, cheap().argon2_params().unwrap())
            .hash_password_with_salt(b"pw", salt)
            .unwrap()
            .to_string();
        let error = StaticUsers::new([StaticUser::new("alice", other)]).unwrap_err();
        assert!(
            matches!(&error, UserConfigError::NotArgon2id { username, .. } if username == "alice"),
            "{error:?}"
        );
        assert!(error.to_string().contains("only argon2id"));
    }

    let pbkdf2 = "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo";
    assert!(matches!(
        StaticUsers::new([StaticUser::new("alice", pbkdf2)]),
        Err(UserConfigError::NotArgon2id { algorithm, .. }) if algorithm == "pbkdf2-sha256"
    ));

    for invalid in [
        "",
        "alice-password",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        // No salt, no output.
        "$argon2id$v=19$m=8,t=1,p=1",
        // Memory below the minimum.
        "$argon2id$v=19$m=1,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo",
    ] {
        let error = StaticUsers::new([StaticUser::new("alice", invalid)]).unwrap_err();
        assert!(
            matches!(&error, UserConfigError::InvalidHash { username, .. } if username == "alice"),
            "{invalid:?}: {error:?}"
        );
    }
}

#[test]
fn usernames_are_checked() {
    let h = hash("x");
    assert_eq!(
        StaticUsers::new([StaticUser::new("", h.clone())]).unwrap_err(),
        UserConfigError::EmptyUsername
    );
    assert_eq!(
        StaticUsers::new([StaticUser::new("a", h.clone()), StaticUser::new("a", h)]).unwrap_err(),
        UserConfigError::DuplicateUsername("a".to_owned())
    );
}

#[test]
fn hash_password_round_trip_with_owasp_parameters() {
    let password = pw("correct horse battery staple");
    let phc = hash_password(&password).unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    Argon2::default()
        .verify_password(password.expose_secret().as_bytes(), phc.as_str())
        .unwrap();
    assert!(
        Argon2::default()
            .verify_password(b"correct horse battery stapler", phc.as_str())
            .is_err()
    );
    assert_eq!(HashParams::default(), HashParams::OWASP);
    assert_eq!(
        (
            HashParams::OWASP.m_cost_kib(),
            HashParams::OWASP.t_cost(),
            HashParams::OWASP.p_cost()
        ),
        (19_456, 2, 1)
    );
}

#[tokio::test]
async fn hashes_are_salted_and_accepted_by_static_users() {
    let first = hash("same");
    let second = hash("same");
    assert_ne!(first, second);
    assert!(first.starts_with("$argon2id$v=19$m=8,t=1,p=1$"));
    let users = StaticUsers::new([StaticUser::new("u", first)]).unwrap();
    assert!(users.authenticate("u", &pw("same"), None).await.is_ok());
    assert!(HashParams::new(1, 1, 1).is_err());
    assert!(HashParams::new(8, 0, 1).is_err());
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let password = pw("hunter2-secret");
    assert_eq!(format!("{password:?}"), "Password([redacted])");
    let user = StaticUser::new("alice", hash("pw"));
    let debug = format!("{user:?}");
    assert!(!debug.contains("argon2id"), "{debug}");
    assert!(debug.contains("alice"));
    let users = users();
    assert_eq!(
        format!("{users:?}"),
        r#"StaticUsers { users: ["alice", "bob"] }"#
    );
    assert_eq!(users.len(), 2);
    assert!(!users.is_empty());
}

#[test]
fn static_users_deserialize_from_configuration() {
    let user: StaticUser = serde_json::from_value(serde_json::json!({
        "username": "alice",
        "password_hash": hash("pw"),
        "email": "alice@example.com",
    }))
    .unwrap();
    assert_eq!(user.email.as_deref(), Some("alice@example.com"));
    assert_eq!(user.subject, None);
    let unknown_field = serde_json::from_value::<StaticUser>(serde_json::json!({
        "username": "alice",
        "password_hash": "x",
        "password": "pw",
    }));
    assert!(unknown_field.is_err());
}

/// Counts the password checks that reach the wrapped authenticator.
struct Counting {
    inner: StaticUsers,
    calls: AtomicUsize,
}

#[async_trait]
impl UserAuthenticator for Counting {
    async fn authenticate(
        &self,
        username: &str,
        password: &Password,
        client_ip: Option<IpAddr>,
    ) -> Result<AuthenticatedUser, LoginError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.authenticate(username, password, client_ip).await
    }
}

fn throttled(policy: ThrottlePolicy) -> (ManualClock, ThrottledAuthenticator<Counting>) {
    let clock = ManualClock::at_unix(1_700_000_000);
    let inner = Counting {
        inner: users(),
        calls: AtomicUsize::new(0),
    };
    let throttle = LoginThrottle::new(policy, Arc::new(clock.clone()));
    (clock, ThrottledAuthenticator::new(inner, throttle))
}

fn calls(auth: &ThrottledAuthenticator<Counting>) -> usize {
    auth.inner().calls.load(Ordering::SeqCst)
}

async fn login(
    auth: &ThrottledAuthenticator<Counting>,
    username: &str,
    password: &str,
    ip: Option<IpAddr>,
) -> Result<AuthenticatedUser, LoginError> {
    auth.authenticate(username, &pw(password), ip).await
}

fn throttled_for(secs: u64) -> LoginError {
    LoginError::Throttled {
        retry_after: Duration::from_secs(secs),
    }
}

#[tokio::test]
async fn throttling_starts_after_the_limit_and_lifts_after_the_window() {
    let (clock, auth) = throttled(ThrottlePolicy::default());
    for _ in 0..5 {
        assert_eq!(
            login(&auth, "alice", "guess", IP).await,
            Err(LoginError::InvalidCredentials)
        );
    }
    // Locked for a minute, even with the right password, and no password work is done.
    assert_eq!(
        login(&auth, "alice", "alice-password", IP).await,
        Err(throttled_for(60))
    );
    assert_eq!(calls(&auth), 5);
    assert_eq!(
        auth.throttle().retry_after("alice", None),
        Some(Duration::from_secs(60))
    );
    let message = throttled_for(60).to_string();
    assert!(message.contains("retry in 60 s"), "{message}");

    // After the lockout, one more guess; failing it doubles the lockout.
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        login(&auth, "alice", "guess", IP).await,
        Err(LoginError::InvalidCredentials)
    );
    assert_eq!(
        login(&auth, "alice", "guess", IP).await,
        Err(throttled_for(120))
    );
    clock.advance(Duration::from_secs(120));
    login(&auth, "alice", "guess", IP).await.unwrap_err();
    assert_eq!(
        login(&auth, "alice", "guess", IP).await,
        Err(throttled_for(240))
    );

    // After a quiet window the failures are forgotten: five guesses again before a lockout.
    clock.advance(Duration::from_secs(240 + 15 * 60));
    assert_eq!(auth.throttle().retry_after("alice", IP), None);
    for _ in 0..5 {
        assert_eq!(
            login(&auth, "alice", "guess", IP).await,
            Err(LoginError::InvalidCredentials)
        );
    }
    assert_eq!(
        login(&auth, "alice", "guess", IP).await,
        Err(throttled_for(60))
    );
    // Other usernames are not affected.
    login(&auth, "bob", "bob-password", IP).await.unwrap();
}

#[tokio::test]
async fn lockouts_are_capped() {
    let (clock, auth) = throttled(ThrottlePolicy {
        max_failures_per_username: 1,
        ..ThrottlePolicy::default()
    });
    let mut expected = 60;
    for _ in 0..8 {
        login(&auth, "alice", "guess", IP).await.unwrap_err();
        let Err(LoginError::Throttled { retry_after }) = login(&auth, "alice", "guess", IP).await
        else {
            panic!("not throttled");
        };
        assert_eq!(retry_after, Duration::from_secs(expected));
        clock.advance(retry_after);
        expected = (expected * 2).min(15 * 60);
    }
}

#[tokio::test]
async fn success_resets_the_username_counter() {
    let (_, auth) = throttled(ThrottlePolicy::default());
    for _ in 0..4 {
        login(&auth, "alice", "guess", IP).await.unwrap_err();
    }
    login(&auth, "alice", "alice-password", IP).await.unwrap();
    for _ in 0..4 {
        assert_eq!(
            login(&auth, "alice", "guess", IP).await,
            Err(LoginError::InvalidCredentials)
        );
    }
    login(&auth, "alice", "alice-password", IP).await.unwrap();
}

#[tokio::test]
async fn unknown_usernames_are_throttled_alike() {
    let (_, auth) = throttled(ThrottlePolicy::default());
    for _ in 0..5 {
        assert_eq!(
            login(&auth, "nobody", "guess", None).await,
            Err(LoginError::InvalidCredentials)
        );
    }
    assert_eq!(
        login(&auth, "nobody", "guess", None).await,
        Err(throttled_for(60))
    );
}

#[tokio::test]
async fn failures_from_one_address_are_throttled_across_usernames() {
    let (clock, auth) = throttled(ThrottlePolicy::default());
    for i in 0..20 {
        login(&auth, &format!("user{i}"), "guess", IP)
            .await
            .unwrap_err();
    }
    assert_eq!(
        login(&auth, "alice", "alice-password", IP).await,
        Err(throttled_for(60))
    );
    // Another address is not affected.
    let other = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)));
    login(&auth, "alice", "alice-password", other)
        .await
        .unwrap();
    clock.advance(Duration::from_secs(60));
    login(&auth, "alice", "alice-password", IP).await.unwrap();
}

#[tokio::test]
async fn ipv6_addresses_are_counted_per_64() {
    let (_, auth) = throttled(ThrottlePolicy {
        max_failures_per_ip: 2,
        ..ThrottlePolicy::default()
    });
    let host = |last: u16| {
        Some(IpAddr::V6(Ipv6Addr::new(
            0x2001, 0xdb8, 0, 1, 0, 0, 0, last,
        )))
    };
    login(&auth, "u1", "guess", host(1)).await.unwrap_err();
    login(&auth, "u2", "guess", host(2)).await.unwrap_err();
    assert_eq!(
        login(&auth, "alice", "alice-password", host(3)).await,
        Err(throttled_for(60))
    );
    let next_net = Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 0, 0, 0, 1)));
    login(&auth, "alice", "alice-password", next_net)
        .await
        .unwrap();
    // An IPv4-mapped address shares the IPv4 address's counter.
    let mapped = Some(IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped()));
    login(&auth, "u3", "guess", mapped).await.unwrap_err();
    login(&auth, "u4", "guess", IP).await.unwrap_err();
    assert_eq!(
        auth.throttle().retry_after("anyone", IP),
        Some(Duration::from_secs(60))
    );
}

#[test]
fn attempts_are_counted_before_the_password_is_checked() {
    let clock = ManualClock::at_unix(1_700_000_000);
    let throttle = LoginThrottle::new(ThrottlePolicy::default(), Arc::new(clock));
    // Five concurrent attempts, none settled yet (or dropped, as by a cancelled request).
    let pending: Vec<_> = (0..5)
        .map(|_| throttle.begin("alice", IP).unwrap())
        .collect();
    assert_eq!(
        throttle.begin("alice", IP).unwrap_err(),
        Duration::from_secs(60)
    );
    // Internal errors take the attempt back; successes reset the username.
    let mut pending = pending.into_iter();
    pending.next().unwrap().inconclusive();
    let attempt = throttle.begin("alice", IP).unwrap();
    attempt.succeeded();
    throttle.begin("alice", IP).unwrap().failed();
    drop(pending);
    assert_eq!(throttle.retry_after("alice", IP), None);
    assert_eq!(throttle.policy().max_failures_per_username, 5);
}

#[tokio::test]
async fn internal_errors_are_not_counted() {
    struct Broken;

    #[async_trait]
    impl UserAuthenticator for Broken {
        async fn authenticate(
            &self,
            _: &str,
            _: &Password,
            _: Option<IpAddr>,
        ) -> Result<AuthenticatedUser, LoginError> {
            Err(LoginError::Internal("directory unreachable".to_owned()))
        }
    }

    let throttle = LoginThrottle::new(
        ThrottlePolicy::default(),
        Arc::new(ManualClock::at_unix(1_700_000_000)),
    );
    let auth: Arc<dyn UserAuthenticator> = Arc::new(ThrottledAuthenticator::new(Broken, throttle));
    for _ in 0..10 {
        assert!(matches!(
            auth.authenticate("alice", &pw("x"), IP).await,
            Err(LoginError::Internal(_))
        ));
    }
}

#[tokio::test]
async fn throttle_memory_is_bounded() {
    let (clock, auth) = throttled(ThrottlePolicy {
        capacity: 64,
        ..ThrottlePolicy::default()
    });
    for i in 0..1_000u32 {
        let ip = Some(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)));
        login(&auth, &format!("user{i}"), "guess", ip)
            .await
            .unwrap_err();
        assert!(auth.throttle().counters() <= (64, 64));
    }
    // Locked counters are kept over unlocked ones.
    for _ in 0..5 {
        login(&auth, "alice", "guess", None).await.unwrap_err();
    }
    for i in 0..1_000u32 {
        login(&auth, &format!("later{i}"), "guess", None)
            .await
            .unwrap_err();
    }
    assert_eq!(
        login(&auth, "alice", "alice-password", None).await,
        Err(throttled_for(60))
    );
    clock.advance(Duration::from_secs(60));
    login(&auth, "alice", "alice-password", None).await.unwrap();
}
