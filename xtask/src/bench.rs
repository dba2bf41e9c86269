//! `cargo xtask bench`: the project's benchmarks, by name.
//!
//! `validate` and `memory` are cargo benches of mcp-auth-providers; `load` (in `load.rs`, with
//! its SVG chart in `chart.rs`) drives the example server on axum and on actix-web with wrk;
//! `as` is the cargo bench `as_throughput` of mcp-auth-server, given a PostgreSQL database the
//! way `cargo xtask ci` finds one.

#[path = "chart.rs"]
mod chart;
#[path = "load.rs"]
mod load;

use crate::Result;
use crate::cmd::Cmd;
use crate::postgres::{self, Database};

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
        about: "requests/s through the example MCP server (axum, actix-web) with wrk: no auth \
                (ceiling), cached, uncached; writes target/bench/load.{md,svg}",
        run: load::run,
    },
    Bench {
        name: "as",
        about: "authorization server: codes, token exchanges, refresh rotations and full flows \
                per second per store (memory, SQLite, PostgreSQL); writes target/bench/as.md",
        run: authorization_server,
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

/// `cargo bench -p mcp-auth-server --features postgres --bench as_throughput -- --markdown
/// target/bench/as.md [ARGS]`, with `DATABASE_URL` found as for `cargo xtask ci` ($DATABASE_URL,
/// else a server on 127.0.0.1:5432, else a throwaway cluster) unless `--stores` leaves
/// PostgreSQL out.
fn authorization_server(extra: &[String]) -> Result {
    let out_dir = load::target_dir()?.join("bench");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let report = out_dir.join("as.md");
    let database = if named_stores(extra).is_none_or(|stores| stores.contains("postgres")) {
        Some(Database::acquire()?)
    } else {
        None
    };
    let mut cmd = Cmd::cargo()
        .args(["bench", "-p", "mcp-auth-server", "--features", "postgres"])
        .args(["--bench", "as_throughput", "--", "--markdown"])
        .arg(&report)
        .args(extra);
    if let Some(database) = &database {
        cmd = cmd.env_shown_as(
            postgres::ENV_VAR,
            database.url(),
            postgres::redact(database.url()),
        );
    }
    cmd.run()?;
    // A throwaway cluster, if one was started, stops here.
    drop(database);
    Ok(())
}

/// The value of `--stores` in `args` (`--stores LIST` or `--stores=LIST`), if given.
fn named_stores(args: &[String]) -> Option<&str> {
    args.iter().enumerate().find_map(|(i, arg)| {
        if arg == "--stores" {
            args.get(i + 1).map(String::as_str)
        } else {
            arg.strip_prefix("--stores=")
        }
    })
}

/// `cargo bench -p mcp-auth-providers --bench NAME [-- ARGS]`.
fn providers_bench(name: &str, extra: &[String]) -> Result {
    let mut cmd = Cmd::cargo().args(["bench", "-p", "mcp-auth-providers", "--bench", name]);
    if !extra.is_empty() {
        cmd = cmd.arg("--").args(extra);
    }
    cmd.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_stores_argument() {
        let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(named_stores(&args(&["--rounds", "2"])), None);
        assert_eq!(
            named_stores(&args(&["--stores", "memory,sqlite"])),
            Some("memory,sqlite")
        );
        assert_eq!(
            named_stores(&args(&["--stores=postgres"])),
            Some("postgres")
        );
        assert!(find("as").is_ok() && find("nope").is_err());
    }
}
