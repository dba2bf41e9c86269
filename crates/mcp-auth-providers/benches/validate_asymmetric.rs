//! Asymmetric token validation: RS256, ES256 and EdDSA through [`JwtValidator`], uncached and
//! behind [`CachedValidator`], each beside a bare `jsonwebtoken::decode` of the same token (the
//! floor: signature plus `exp`/`aud`/`iss` checks, nothing else).
//!
//! Keys come from the test key fixtures, held in a fixed key set so no network is involved:
//! what is measured is the validation itself, which is what a request pays once the issuer's
//! keys are fetched.
//!
//! Run with `cargo bench -p mcp-auth-providers --bench validate_asymmetric`; `-- --test` runs
//! each case once.

#![allow(clippy::unwrap_used, reason = "benchmark setup")]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput};
use jsonwebtoken::{Algorithm, Validation};
use mcp_auth_core::cache::{CacheConfig, CachedValidator};
use mcp_auth_core::{BearerToken, TokenValidator};
use mcp_auth_providers::jwk::JwkSet;
use mcp_auth_providers::jwt::ClaimsPolicy;
use mcp_auth_providers::oidc::{JwtValidator, KeySource};
use mcp_auth_testkit::oidc::{JwtBuilder, TestKey};
use serde_json::{Map, Value, json};
use tokio::runtime::Builder;

const AUDIENCE: &str = "https://mcp.example.com/mcp";
const ISSUER: &str = "https://auth.example.com";

fn token(key: TestKey) -> String {
    JwtBuilder::new(key)
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .subject("user-1")
        .scope("mcp:tools greet")
        .set("client_id", json!("mcp-inspector"))
        .set("email", json!("user-1@example.com"))
        .iat_in(0)
        .exp_in(3600)
        .sign()
}

fn main() {
    let mut criterion = Criterion::default()
        .configure_from_args()
        .without_plots()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    let runtime = Builder::new_current_thread().enable_all().build().unwrap();
    let jwks = TestKey::jwks(TestKey::DEFAULT_SET);
    let set = Arc::new(JwkSet::parse(jwks.to_string().as_bytes()).unwrap());
    let validator = JwtValidator::new(
        KeySource::Static(set),
        ClaimsPolicy::new(AUDIENCE).issuer(ISSUER),
    );

    for (name, key, alg) in [
        ("rs256", TestKey::Rsa, Algorithm::RS256),
        ("es256", TestKey::P256, Algorithm::ES256),
        ("eddsa", TestKey::Ed25519, Algorithm::EdDSA),
    ] {
        let token = token(key);
        let bearer = BearerToken::new(token.clone());
        let decoding = key.decoding_key();
        let mut validation = Validation::new(alg);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        // Every path must accept the token before it is timed.
        jsonwebtoken::decode::<Map<String, Value>>(&token, &decoding, &validation).unwrap();
        runtime.block_on(validator.validate(&bearer)).unwrap();
        let cached = CachedValidator::new(validator.clone(), CacheConfig::default());
        runtime.block_on(cached.validate(&bearer)).unwrap();

        let mut group = criterion.benchmark_group(name);
        group.throughput(Throughput::Elements(1));
        group.bench_function("floor/jsonwebtoken_decode", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Map<String, Value>>(
                    black_box(&token),
                    &decoding,
                    &validation,
                )
                .unwrap()
            });
        });
        group.bench_function("uncached", |b| {
            b.to_async(&runtime)
                .iter(|| async { validator.validate(black_box(&bearer)).await.unwrap() });
        });
        group.bench_function("cached_hit", |b| {
            b.to_async(&runtime)
                .iter(|| async { cached.validate(black_box(&bearer)).await.unwrap() });
        });
        group.finish();
    }
    criterion.final_summary();
}
