//! `cargo xtask ci`: every check CI runs, in order, stopping at the first failure.

use std::time::{Duration, Instant};

use crate::Result;
use crate::cmd::Cmd;
use crate::disk;
use crate::postgres::{self, Database};

/// Library and binary crates, and the examples, that are also linted on their own (with
/// their default features, as a user builds them), so that a crate which only compiles thanks
/// to workspace feature unification fails.
const CRATES: &[&str] = &[
    "mcp-auth-core",
    "mcp-auth-providers",
    "mcp-auth-axum",
    "mcp-auth-actix",
    "mcp-auth-cli",
    "mcp-auth-server",
    "hmac-server",
    "hmac-actix-server",
];

/// Crates whose library is additionally linted with `--no-default-features`.
const NO_DEFAULT_FEATURES_CRATES: &[&str] = &["mcp-auth-core", "mcp-auth-providers"];

/// Crates checked feature by feature with cargo-hack.
const FEATURE_MATRIX_CRATES: &[&str] = &[
    "mcp-auth-core",
    "mcp-auth-providers",
    "mcp-auth-axum",
    "mcp-auth-actix",
    "mcp-auth-server",
];

/// Runs all CI steps; `args` must be empty.
pub(crate) fn run(args: &[String]) -> Result {
    if let Some(arg) = args.first() {
        return Err(format!("`ci` takes no arguments (got `{arg}`)"));
    }
    let mut ci = Ci::default();
    let started = Instant::now();
    let result = ci.run_all();
    ci.print_summary(started.elapsed());
    result
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The step succeeded.
    Passed,
    /// The step failed; CI stopped there.
    Failed,
}

/// Record of one step that ran.
#[derive(Debug)]
struct StepRecord {
    /// Step name, as shown in the logs.
    name: String,
    /// Wall-clock time the step took.
    took: Duration,
    /// Whether it passed.
    outcome: Outcome,
}

/// State of a CI run: the steps run so far.
#[derive(Debug, Default)]
struct Ci {
    /// Steps in the order they ran.
    steps: Vec<StepRecord>,
}

impl Ci {
    /// Runs every step in order; the first failure ends the run.
    fn run_all(&mut self) -> Result {
        self.step("disk space", disk::check_room_for_full_run)?;

        self.step("fmt", || {
            Cmd::cargo().args(["fmt", "--all", "--", "--check"]).run()
        })?;

        self.step("clippy: workspace, all features", || {
            clippy()
                .args(["--workspace", "--all-targets", "--all-features"])
                .args(DENY_WARNINGS)
                .run()
        })?;

        for package in CRATES {
            self.step(&format!("clippy: {package}"), || {
                clippy()
                    .args(["-p", package, "--all-targets"])
                    .args(DENY_WARNINGS)
                    .run()
            })?;
        }

        for package in NO_DEFAULT_FEATURES_CRATES {
            self.step(&format!("clippy: {package}, no default features"), || {
                clippy()
                    .args(["-p", package, "--lib", "--no-default-features"])
                    .args(DENY_WARNINGS)
                    .run()
            })?;
        }

        self.step("feature matrix (cargo-hack)", || {
            require_cargo_subcommand("hack", "cargo-hack")?;
            Cmd::cargo()
                .args(["hack", "check", "--each-feature", "--no-dev-deps"])
                .args(FEATURE_MATRIX_CRATES.iter().flat_map(|p| ["-p", p]))
                .run()
        })?;

        // Kept alive until the end of the run; a throwaway cluster is stopped
        // when it is dropped, whether CI passes or fails.
        let database = self.step("database", Database::acquire)?;
        let with_database = |cmd: Cmd| {
            cmd.env_shown_as(
                postgres::ENV_VAR,
                database.url(),
                postgres::redact(database.url()),
            )
        };

        self.step("headless Chromium", require_chromium)?;

        self.step("tests (nextest)", || {
            require_cargo_subcommand("nextest", "cargo-nextest")?;
            with_database(Cmd::cargo().args([
                "nextest",
                "run",
                "--workspace",
                "--all-features",
                "--no-fail-fast",
            ]))
            .run()
        })?;

        self.step("doctests", || {
            with_database(Cmd::cargo().args(["test", "--workspace", "--all-features", "--doc"]))
                .run()
        })?;

        // The authorization-server bench has a PostgreSQL row.
        self.step("benches compile and run once (test mode)", || {
            with_database(Cmd::cargo().args(["test", "--workspace", "--all-features", "--benches"]))
                .run()
        })?;

        self.step("docs", || {
            Cmd::cargo()
                .args(["doc", "--workspace", "--no-deps", "--all-features"])
                .env("RUSTDOCFLAGS", "-D warnings")
                .run()
        })?;

        drop(database);
        Ok(())
    }

    /// Runs one named step, timing it and recording its outcome.
    fn step<T>(&mut self, name: &str, body: impl FnOnce() -> Result<T>) -> Result<T> {
        eprintln!("\n==> {name}");
        let started = Instant::now();
        let result = body();
        let outcome = if result.is_ok() {
            Outcome::Passed
        } else {
            Outcome::Failed
        };
        self.steps.push(StepRecord {
            name: name.to_owned(),
            took: started.elapsed(),
            outcome,
        });
        result.map_err(|e| format!("step `{name}` failed: {e}"))
    }

    /// Prints the per-step timings and the overall result.
    fn print_summary(&self, total: Duration) {
        let width = self.steps.iter().map(|s| s.name.len()).max().unwrap_or(0);
        eprintln!("\n==> summary");
        for step in &self.steps {
            let mark = match step.outcome {
                Outcome::Passed => "ok",
                Outcome::Failed => "FAILED",
            };
            eprintln!("  {:<width$}  {:>8}  {mark}", step.name, seconds(step.took));
        }
        eprintln!("  {:<width$}  {:>8}", "total", seconds(total));
        // Measured so that disk::FULL_RUN_GIB can be kept honest.
        if let Ok(used) = disk::used_kib(&disk::target_dir()) {
            eprintln!(
                "  target dir now holds {} (a full run is budgeted at {} GiB)",
                disk::gib(used),
                disk::FULL_RUN_GIB
            );
        }
        match self.steps.iter().find(|s| s.outcome == Outcome::Failed) {
            Some(failed) => eprintln!("ci FAILED at step `{}`", failed.name),
            None => eprintln!("ci passed"),
        }
    }
}

/// Trailing arguments that make clippy fail on any warning.
const DENY_WARNINGS: [&str; 3] = ["--", "-D", "warnings"];

/// `cargo clippy`, arguments to follow.
fn clippy() -> Cmd {
    Cmd::cargo().arg("clippy")
}

/// Fails with an install hint unless `cargo <subcommand>` is available.
fn require_cargo_subcommand(subcommand: &str, crate_name: &str) -> Result {
    match Cmd::cargo().args([subcommand, "--version"]).probe() {
        Some(_) => Ok(()),
        None => Err(format!(
            "`cargo {subcommand}` is not installed; install it with \
             `cargo install --locked {crate_name}` (or run .ci/run, which installs it)"
        )),
    }
}

/// Fails with an install hint unless Chromium, which the login and consent page tests drive,
/// can be started (`$CHROMIUM`, else `chromium` on PATH).
fn require_chromium() -> Result {
    let binary = std::env::var_os("CHROMIUM").unwrap_or_else(|| "chromium".into());
    match Cmd::new(&binary).arg("--version").probe() {
        Some(version) => {
            eprintln!("{}", version.trim());
            Ok(())
        }
        None => Err(format!(
            "`{} --version` failed: the login and consent page tests need headless Chromium. \
             Install it with `apt-get install chromium` (.ci/run does), or set CHROMIUM to \
             its path",
            binary.to_string_lossy()
        )),
    }
}

/// A duration as seconds with one decimal, e.g. `12.3s`.
fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}
