//! Token validation benchmarks: the cost of checking one realistic HS256 MCP access token.
//!
//! Every case validates the same token (sub, aud, iss, iat, exp in one hour, scope, email,
//! client_id; roughly 350 bytes):
//!
//! - `floor/jsonwebtoken_decode_hs256`: bare `jsonwebtoken::decode`, the floor to compare with;
//! - `hmac/uncached`, `hmac/uncached_async`: [`HmacValidator`] through `verify` and through the
//!   async [`TokenValidator`] trait;
//! - `hmac/cached_hit`: [`CachedValidator`] answering from its cache;
//! - `cache/contention`: 8 tasks on a 2-worker runtime, each doing 1,000 cache hits over 100
//!   distinct tokens; one iteration is one such batch of 8,000 lookups;
//! - `challenge/render/*`: building the 401 response and its `WWW-Authenticate` challenge.
//!
//! Run with `cargo bench -p mcp-auth-providers --bench validate`; add `-- --test` to run each
//! case once as a smoke test (CI). HTML plots are off to keep the run under a minute; pass
//! `--plotting-backend plotters` after `--` to get them.

#![allow(clippy::unwrap_used, reason = "benchmark setup")]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use mcp_auth_core::cache::{CacheConfig, CachedValidator};
use mcp_auth_core::challenge::ChallengeContext;
use mcp_auth_core::{AuthError, BearerToken, InvalidTokenReason, TokenValidator};
use mcp_auth_providers::hmac::HmacValidator;
use mcp_auth_testkit::{TEST_SECRET, TokenFactory};
use serde_json::{Map, Value, json};
use tokio::runtime::{Builder, Runtime};

const AUDIENCE: &str = "https://mcp.example.com/mcp";
const ISSUER: &str = "https://auth.example.com";
const RESOURCE_METADATA: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

/// Tasks in the contention case.
const TASKS: usize = 8;
/// Lookups per task in the contention case.
const LOOKUPS_PER_TASK: usize = 1_000;
/// Distinct cached tokens the contention case cycles through.
const DISTINCT_TOKENS: usize = 100;

/// A realistic MCP access token for user `sub`.
fn mint(sub: &str) -> String {
    TokenFactory::hs256(TEST_SECRET, AUDIENCE)
        .with_issuer(ISSUER)
        .claims()
        .set("sub", json!(sub))
        .scope("mcp:tools greet")
        .set("email", json!(format!("{sub}@example.com")))
        .set("client_id", json!("mcp-inspector-6f1c2b9e"))
        .sign()
}

fn hmac_validator() -> HmacValidator {
    HmacValidator::builder(AUDIENCE)
        .secret(TEST_SECRET.to_vec())
        .issuer(ISSUER)
        .build()
        .unwrap()
}

fn current_thread() -> Runtime {
    Builder::new_current_thread().enable_all().build().unwrap()
}

fn bench_floor(c: &mut Criterion, token: &str) {
    let key = DecodingKey::from_secret(TEST_SECRET);
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[AUDIENCE]);
    // Setup check: the floor accepts the token it is measured on.
    jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).unwrap();

    let mut group = c.benchmark_group("floor");
    group.throughput(Throughput::Elements(1));
    group.bench_function("jsonwebtoken_decode_hs256", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Map<String, Value>>(black_box(token), &key, &validation).unwrap()
        });
    });
    group.finish();
}

fn bench_hmac(c: &mut Criterion, token: &str) {
    let validator = hmac_validator();
    let bearer = BearerToken::new(token);
    let rt = current_thread();
    let cached = CachedValidator::new(hmac_validator(), CacheConfig::default());
    // Setup checks: the token is valid, and the cache holds it before the hit case runs.
    assert_eq!(validator.verify(token).unwrap().subject(), "user-1");
    rt.block_on(async {
        cached.validate(&bearer).await.unwrap();
        cached.run_pending_tasks().await;
    });
    assert_eq!(cached.entry_count(), 1);

    let mut group = c.benchmark_group("hmac");
    group.throughput(Throughput::Elements(1));
    group.bench_function("uncached", |b| {
        b.iter(|| validator.verify(black_box(token)).unwrap());
    });
    group.bench_function("uncached_async", |b| {
        b.to_async(&rt)
            .iter(|| async { validator.validate(black_box(&bearer)).await.unwrap() });
    });
    group.bench_function("cached_hit", |b| {
        b.to_async(&rt)
            .iter(|| async { cached.validate(black_box(&bearer)).await.unwrap() });
    });
    group.finish();
}

fn bench_contention(c: &mut Criterion) {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cached = Arc::new(CachedValidator::new(
        hmac_validator(),
        CacheConfig::default(),
    ));
    let tokens: Arc<Vec<BearerToken>> = Arc::new(
        (0..DISTINCT_TOKENS)
            .map(|i| BearerToken::new(mint(&format!("user-{i}"))))
            .collect(),
    );
    rt.block_on(async {
        for token in tokens.iter() {
            cached.validate(token).await.unwrap();
        }
        cached.run_pending_tasks().await;
    });
    // Every lookup below is a hit.
    assert_eq!(cached.entry_count(), DISTINCT_TOKENS as u64);

    let mut group = c.benchmark_group("cache");
    // One iteration is a batch of TASKS * LOOKUPS_PER_TASK lookups: criterion's time is per
    // batch, its throughput is lookups per second.
    group.throughput(Throughput::Elements((TASKS * LOOKUPS_PER_TASK) as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("contention", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let cached = Arc::clone(&cached);
            let tokens = Arc::clone(&tokens);
            async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let tasks: Vec<_> = (0..TASKS)
                        .map(|task| {
                            let cached = Arc::clone(&cached);
                            let tokens = Arc::clone(&tokens);
                            tokio::spawn(async move {
                                // Each task walks the tokens from its own offset with a stride
                                // coprime to 100: a mix of all 100 keys, different per task.
                                let mut index = task * 13;
                                for _ in 0..LOOKUPS_PER_TASK {
                                    let principal = cached.validate(&tokens[index]).await.unwrap();
                                    black_box(principal);
                                    index = (index + 7) % DISTINCT_TOKENS;
                                }
                            })
                        })
                        .collect();
                    for task in tasks {
                        task.await.unwrap();
                    }
                }
                start.elapsed()
            }
        });
    });
    group.finish();
}

fn bench_challenge(c: &mut Criterion) {
    let ctx = ChallengeContext::new()
        .resource_metadata(RESOURCE_METADATA)
        .scope("mcp:tools greet".parse().unwrap());
    let invalid = AuthError::InvalidToken(InvalidTokenReason::Expired);
    let missing = AuthError::MissingToken;
    assert_eq!(invalid.to_response(&ctx).status, 401);
    assert_eq!(missing.to_response(&ctx).status, 401);

    let mut group = c.benchmark_group("challenge");
    group.throughput(Throughput::Elements(1));
    group.bench_function("render/invalid_token", |b| {
        b.iter(|| black_box(&invalid).to_response(black_box(&ctx)));
    });
    group.bench_function("render/missing_token", |b| {
        b.iter(|| black_box(&missing).to_response(black_box(&ctx)));
    });
    group.finish();
}

fn main() {
    let token = mint("user-1");
    assert!(
        (300..=400).contains(&token.len()),
        "token is {} bytes",
        token.len()
    );
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50)
        // Rendering the HTML plots costs seconds per case; `--plotting-backend plotters` brings
        // them back.
        .without_plots()
        .configure_from_args();
    bench_floor(&mut c, &token);
    bench_hmac(&mut c, &token);
    bench_contention(&mut c);
    bench_challenge(&mut c);
    c.final_summary();
}
