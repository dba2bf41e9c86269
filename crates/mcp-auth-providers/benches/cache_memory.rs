//! Validation cache memory: resident memory stays flat however many distinct tokens arrive.
//!
//! Mints distinct HS256 tokens on the fly (distinct `sub` and `jti`, never stored) and validates
//! each once through [`CachedValidator`]`<`[`HmacValidator`]`>` on a current-thread runtime, so
//! every token is a miss that inserts an entry and, once the cache is full, evicts one. Every
//! tenth of the way it runs the cache's pending maintenance and samples the entry count and the
//! process's resident memory (`VmRSS` from `/proc/self/status`; Linux only, skipped elsewhere).
//!
//! It fails (exits non-zero) if the entry count ever exceeds the capacity, or if resident memory
//! grows by more than [`MAX_GROWTH`] between the sample at one fifth of the way (the cache has
//! been full for a while by then: the baseline) and the last sample.
//!
//! - `cargo bench -p mcp-auth-providers --bench cache_memory` (cargo passes `--bench`): the full
//!   run, 1,000,000 tokens through the default cache (10,000 entries); about 15 s.
//! - `cargo test --benches` runs this binary without `--bench`: a reduced run of 20,000 tokens
//!   through a 1,000-entry cache, the same proportions, fast enough for CI in debug builds.

#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::process::ExitCode;
use std::time::Instant;

use mcp_auth_core::cache::{CacheConfig, CachedValidator};
use mcp_auth_core::{BearerToken, TokenValidator};
use mcp_auth_providers::hmac::HmacValidator;
use mcp_auth_testkit::{TEST_SECRET, TokenFactory};
use serde_json::json;

const AUDIENCE: &str = "https://mcp.example.com/mcp";
const ISSUER: &str = "https://auth.example.com";

/// Largest tolerated growth of resident memory from the baseline sample to the last one.
const MAX_GROWTH: f64 = 0.25;

/// How much work a run does.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Distinct tokens validated.
    tokens: u64,
    /// Cache capacity.
    capacity: u64,
}

impl Plan {
    /// Tokens between samples (ten samples per run).
    fn sample_every(self) -> u64 {
        self.tokens / 10
    }

    /// The sample taken as the baseline: one fifth of the way (200,000 of 1,000,000).
    fn baseline_at(self) -> u64 {
        self.tokens / 5
    }
}

/// The full run (`cargo bench`): a million tokens through the default capacity.
const FULL: Plan = Plan {
    tokens: 1_000_000,
    capacity: 10_000,
};

/// The reduced run (`cargo test --benches`).
const REDUCED: Plan = Plan {
    tokens: 20_000,
    capacity: 1_000,
};

/// One measurement point.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Tokens validated so far.
    tokens: u64,
    /// Cache entries after pending maintenance.
    entries: u64,
    /// Resident memory in KiB, where known.
    rss_kib: Option<u64>,
}

/// `VmRSS` of this process in KiB (Linux), or `None`.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A realistic token, distinct for every `i`.
fn mint(factory: &TokenFactory, i: u64) -> String {
    factory
        .claims()
        .set("sub", json!(format!("user-{i}")))
        .set("jti", json!(format!("{i:016x}")))
        .scope("mcp:tools greet")
        .set("email", json!(format!("user-{i}@example.com")))
        .set("client_id", json!("mcp-inspector-6f1c2b9e"))
        .sign()
}

/// Validates `plan.tokens` distinct tokens, sampling as it goes.
fn run(plan: Plan) -> Result<Vec<Sample>, String> {
    let validator = HmacValidator::builder(AUDIENCE)
        .secret(TEST_SECRET.to_vec())
        .issuer(ISSUER)
        .build()
        .map_err(|e| format!("cannot build the validator: {e}"))?;
    let cached = CachedValidator::new(
        validator,
        CacheConfig::default().max_capacity(plan.capacity),
    );
    let factory = TokenFactory::hs256(TEST_SECRET, AUDIENCE).with_issuer(ISSUER);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the runtime: {e}"))?;
    runtime.block_on(async {
        let mut samples = vec![Sample {
            tokens: 0,
            entries: 0,
            rss_kib: rss_kib(),
        }];
        for i in 1..=plan.tokens {
            let token = BearerToken::new(mint(&factory, i));
            let principal = cached
                .validate(&token)
                .await
                .map_err(|e| format!("token {i} was refused: {e}"))?;
            if principal.subject() != format!("user-{i}") {
                return Err(format!("token {i} gave subject {}", principal.subject()));
            }
            if i.is_multiple_of(plan.sample_every()) {
                cached.run_pending_tasks().await;
                samples.push(Sample {
                    tokens: i,
                    entries: cached.entry_count(),
                    rss_kib: rss_kib(),
                });
            }
        }
        Ok(samples)
    })
}

/// `1,000,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing.
    let full = std::env::args().any(|arg| arg == "--bench");
    let plan = if full { FULL } else { REDUCED };
    println!(
        "cache_memory ({} run): {} distinct HS256 tokens through CachedValidator<HmacValidator> \
         with capacity {}",
        if full { "full" } else { "reduced" },
        thousands(plan.tokens),
        thousands(plan.capacity)
    );
    let started = Instant::now();
    let samples = match run(plan) {
        Ok(samples) => samples,
        Err(message) => {
            eprintln!("cache_memory: {message}");
            return ExitCode::FAILURE;
        }
    };
    let elapsed = started.elapsed();

    println!("{:>10} {:>8} {:>10}", "tokens", "entries", "VmRSS");
    for sample in &samples {
        let rss = sample.rss_kib.map_or_else(
            || "n/a".to_owned(),
            |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
        );
        println!(
            "{:>10} {:>8} {:>10}",
            thousands(sample.tokens),
            thousands(sample.entries),
            rss
        );
    }
    let rate = plan.tokens as f64 / elapsed.as_secs_f64();
    println!(
        "{} tokens in {:.1} s ({rate:.0} mint + validate per second)",
        thousands(plan.tokens),
        elapsed.as_secs_f64()
    );

    let mut failed = false;
    let max_entries = samples.iter().map(|s| s.entries).max().unwrap_or(0);
    if max_entries > plan.capacity {
        eprintln!(
            "cache_memory: FAIL: {max_entries} entries, above the capacity of {}",
            plan.capacity
        );
        failed = true;
    } else {
        println!(
            "entries: at most {} (capacity {})",
            thousands(max_entries),
            thousands(plan.capacity)
        );
    }
    let baseline = samples
        .iter()
        .find(|s| s.tokens == plan.baseline_at())
        .and_then(|s| s.rss_kib);
    let last = samples.last().and_then(|s| s.rss_kib);
    match (baseline, last) {
        (Some(baseline), Some(last)) if baseline > 0 => {
            let ratio = last as f64 / baseline as f64;
            println!(
                "VmRSS at {} tokens / at {} tokens (baseline): {ratio:.3} (limit {:.2})",
                thousands(plan.tokens),
                thousands(plan.baseline_at()),
                1.0 + MAX_GROWTH
            );
            if ratio > 1.0 + MAX_GROWTH {
                eprintln!(
                    "cache_memory: FAIL: resident memory grew by {:.0}% after the cache filled",
                    (ratio - 1.0) * 100.0
                );
                failed = true;
            }
        }
        _ => println!("VmRSS unavailable on this platform: memory check skipped"),
    }
    if failed {
        ExitCode::FAILURE
    } else {
        println!("cache_memory: ok");
        ExitCode::SUCCESS
    }
}
