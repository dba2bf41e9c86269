//! `cargo xtask bench`: the project's benchmarks, by name.
//!
//! `validate` and `memory` are cargo benches of mcp-auth-providers; `load` (in `load.rs`, with
//! its SVG chart in `chart.rs`) drives the example server with wrk.

#[path = "chart.rs"]
mod chart;
#[path = "load.rs"]
mod load;

use crate::Result;
use crate::cmd::Cmd;

/// A benchmark that `cargo xtask bench` can run.
struct Bench {
    /// Name used on the command line.
    name: &'static str,
    /// One line saying what it measures.
    about: &'static str,
    /// Runs it, passing the extra arguments to its harness.
    run: fn(&[String]) -> Result,
}

/// Every benchmark, in the order `cargo xtask bench` runs them.
const BENCHES: &[Bench] = &[
    Bench {
        name: "validate",
        about: "criterion micro-benchmarks of token validation (mcp-auth-providers)",
        run: validate,
    },
    Bench {
        name: "load",
        about: "requests/s through the example MCP server with wrk: no auth (ceiling), cached, \
                uncached; writes target/bench/load.{md,svg}",
        run: load::run,
    },
    Bench {
        name: "memory",
        about: "validation cache memory stays flat across 1,000,000 distinct tokens",
        run: memory,
    },
];

/// Runs `cargo xtask bench [NAME]... [-- ARGS]...`.
pub(crate) fn run(args: &[String]) -> Result {
    let (names, extra) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    let selected: Vec<&Bench> = if names.is_empty() {
        BENCHES.iter().collect()
    } else {
        names.iter().map(|name| find(name)).collect::<Result<_>>()?
    };
    for bench in selected {
        eprintln!("==> bench {}: {}", bench.name, bench.about);
        (bench.run)(extra).map_err(|e| format!("bench `{}` failed: {e}", bench.name))?;
    }
    Ok(())
}

/// The benchmark called `name`, or an error listing the known ones.
fn find(name: &str) -> Result<&'static Bench> {
    BENCHES.iter().find(|b| b.name == name).ok_or_else(|| {
        let known: Vec<&str> = BENCHES.iter().map(|b| b.name).collect();
        format!("unknown benchmark `{name}`; known: {}", known.join(", "))
    })
}

/// `cargo bench -p mcp-auth-providers --bench validate [-- ARGS]`.
fn validate(extra: &[String]) -> Result {
    providers_bench("validate", extra)
}

/// `cargo bench -p mcp-auth-providers --bench cache_memory [-- ARGS]`.
fn memory(extra: &[String]) -> Result {
    providers_bench("cache_memory", extra)
}

/// `cargo bench -p mcp-auth-providers --bench NAME [-- ARGS]`.
fn providers_bench(name: &str, extra: &[String]) -> Result {
    let mut cmd = Cmd::cargo().args(["bench", "-p", "mcp-auth-providers", "--bench", name]);
    if !extra.is_empty() {
        cmd = cmd.arg("--").args(extra);
    }
    cmd.run()
}
