//! `cargo xtask bench load`: requests per second through a real MCP server, with and without
//! authentication.
//!
//! For every selected server in [`SERVERS`] this first starts the server's bench binary once per
//! mode in [`MODES`] (one process per adapter and mode, all kept running until the end), checks
//! one request by hand on each (right status, right answer, and a request without a token
//! refused exactly when the mode authenticates) and warms each up once with `wrk`. Then come the
//! rounds, which only run `wrk` at a fixed concurrency against the running servers, one server
//! at a time (an idle server costs nothing), so a round takes seconds.
//!
//! The machines this runs on are small and shared, and their speed drifts. So within a round an
//! adapter's three modes run back to back, and each ratio compares runs seconds apart; from
//! round to round the order of the modes cycles through all six permutations ([`round_order`])
//! and the order of the adapters alternates, so that no mode is always first or last. Each
//! figure reported is the median over the rounds, and each ratio to the same adapter's ceiling
//! (its `none` mode) the median over the rounds of that round's ratio. Server CPU per request
//! comes from `/proc/PID/stat` read around each measured run. When `perf` can count them (probed
//! once at start-up, see [`probe_perf`]; never installed by the bench), each run also measures
//! server instructions per request (`perf stat -e instructions:u`, user space only), and their
//! ratio to the ceiling: the steadiest measure of what authentication adds, nearly independent
//! of other load on the machine. Otherwise that column shows `-` and the report says why. The
//! result is a table on stdout, `target/bench/load.md` and `target/bench/load.svg`.
//!
//! A bench binary (`examples/hmac-server/src/bin/bench-server.rs` for axum,
//! `examples/actix-server/src/bin/actix-bench-server.rs` for actix-web) takes
//! `--mode none|cached|uncached`, listens on an ephemeral loopback port, prints the address and
//! then a bearer token on stdout, and serves stateless JSON MCP at `/mcp`.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::chart;
use crate::Result;
use crate::cmd::{Cmd, project_root, quote};

/// A server the load bench drives.
struct Server {
    /// The HTTP adapter it is built on (first column of the table).
    adapter: &'static str,
    /// Cargo package holding the bench binary.
    package: &'static str,
    /// The bench binary.
    binary: &'static str,
}

/// Every server benchmarked, in table order: the same demo MCP server on each adapter.
const SERVERS: &[Server] = &[
    Server {
        adapter: "axum",
        package: "hmac-server",
        binary: "bench-server",
    },
    Server {
        adapter: "actix-web",
        package: "hmac-actix-server",
        binary: "actix-bench-server",
    },
];

/// An authentication mode of a bench binary.
struct Mode {
    /// Value of `--mode`.
    arg: &'static str,
    /// Name in the table.
    label: &'static str,
    /// Whether the server checks the token (a request without one must get 401).
    authenticates: bool,
    /// Target throughput as a fraction of the same server's ceiling, if any.
    target: Option<f64>,
}

/// The modes, the ceiling (no authentication) first: ratios are taken against it.
const MODES: &[Mode] = &[
    Mode {
        arg: "none",
        label: "none (ceiling)",
        authenticates: false,
        target: None,
    },
    Mode {
        arg: "cached",
        label: "cached",
        authenticates: true,
        target: Some(0.95),
    },
    Mode {
        arg: "uncached",
        label: "uncached (HS256)",
        authenticates: true,
        target: Some(0.90),
    },
];

/// The JSON-RPC request every client sends: call the `whoami` tool.
const BODY: &str =
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#;

/// Environment variable through which `wrk` gets the token (keeps it off the command line).
const TOKEN_VAR: &str = "MCP_BENCH_TOKEN";

/// The hardware event `perf stat` counts in the servers: instructions retired in user space.
const PERF_EVENT: &str = "instructions:u";

/// Why there is no instruction count when `perf` is not on `PATH`.
const PERF_MISSING: &str = "perf is not installed (Debian: `apt-get install linux-perf`; \
                            Ubuntu: `apt-get install linux-tools-generic`)";

/// Longest wait for `perf stat -p` to attach to a server before the measured run starts anyway.
const PERF_ATTACH_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest wait for `perf stat` to print its count and exit after SIGINT before it is killed.
const PERF_STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// How long to wait for a bench binary to print its address and token.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest a bench may keep its servers up. A bench binary's token is valid for an hour from
/// its start, and the servers run for the whole bench: stay well inside that.
const MAX_SPAN: Duration = Duration::from_secs(50 * 60);

/// The orders of the modes (indices into [`MODES`]) within an adapter's turn: round `r`,
/// counted from 1, uses entry `(r - 1) % 6`. These are all six permutations: the three
/// rotations of the natural order, then the three of its reverse, so rounds 1 to 3 (and 4 to 6,
/// and so on) put each mode once first, once in the middle and once last, and any six
/// consecutive rounds twice. The array type stops compiling if the number of modes changes.
const MODE_ORDERS: [[usize; MODES.len()]; 6] = [
    [0, 1, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
    [1, 0, 2],
    [0, 2, 1],
];

/// Settings of one load bench run.
#[derive(Debug, Clone)]
struct Options {
    /// wrk threads.
    threads: u32,
    /// wrk connections (concurrent clients).
    connections: u32,
    /// Measured seconds per run.
    duration: u64,
    /// Warm-up seconds per server, once after it starts (not measured).
    warmup: u64,
    /// Rounds over every server and mode; figures are medians over rounds.
    rounds: u32,
    /// The servers to measure, as indices into [`SERVERS`], in table order.
    servers: Vec<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            threads: 2,
            connections: 32,
            duration: 3,
            warmup: 1,
            rounds: 12,
            servers: (0..SERVERS.len()).collect(),
        }
    }
}

/// Help for the load bench's arguments.
const USAGE: &str = "\
cargo xtask bench load [-- OPTIONS]
  --duration D     measured time per run (default 3s; D is N, Ns, Nm)
  --warmup D       unmeasured warm-up of each server, once after it starts (default 1s; 0 to skip)
  --rounds N       rounds of one wrk run per server and mode, the order varying from round to
                   round; medians reported (default 12)
  --connections N  concurrent connections (default 32)
  --threads N      wrk threads (default 2)
  --adapter A      only these servers (axum, actix-web; repeat or comma-separate; default all)";

impl Options {
    /// Parses `--duration 5s` and friends (also `--duration=5s`).
    fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        let mut adapter_given = false;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) => (name, Some(value.to_owned())),
                None => (arg.as_str(), None),
            };
            if matches!(name, "-h" | "--help") {
                return Err(format!("usage:\n{USAGE}"));
            }
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next().cloned())
                    .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
            };
            match name {
                "--duration" => options.duration = parse_seconds(&value()?)?,
                "--warmup" => options.warmup = parse_seconds(&value()?)?,
                "--rounds" => options.rounds = parse_count(name, &value()?)?,
                "--connections" => options.connections = parse_count(name, &value()?)?,
                "--threads" => options.threads = parse_count(name, &value()?)?,
                "--adapter" => {
                    if !adapter_given {
                        options.servers.clear();
                        adapter_given = true;
                    }
                    for adapter in value()?.split(',') {
                        let index = parse_adapter(adapter)?;
                        if !options.servers.contains(&index) {
                            options.servers.push(index);
                        }
                    }
                    options.servers.sort_unstable();
                }
                _ => return Err(format!("unknown load bench option `{arg}`\n{USAGE}")),
            }
        }
        if options.duration == 0 {
            return Err("--duration must be at least 1s".to_owned());
        }
        if options.threads > options.connections {
            return Err(
                "--threads cannot exceed --connections (wrk needs a connection per thread)"
                    .to_owned(),
            );
        }
        let span = options.span();
        if span > MAX_SPAN {
            return Err(format!(
                "these settings keep the servers up for about {} min, longer than {} min (their \
                 tokens are valid for an hour); use fewer --rounds or a shorter --duration",
                span.as_secs().div_ceil(60),
                MAX_SPAN.as_secs() / 60
            ));
        }
        Ok(options)
    }

    /// A rough upper bound on how long the servers stay up: every warm-up and every measured
    /// run, each with a second to spare for starting wrk and the server.
    fn span(&self) -> Duration {
        let servers = (self.servers.len() * MODES.len()) as u64;
        let warmups = servers.saturating_mul(self.warmup.saturating_add(1));
        let runs = servers
            .saturating_mul(u64::from(self.rounds))
            .saturating_mul(self.duration.saturating_add(1));
        Duration::from_secs(warmups.saturating_add(runs))
    }
}

/// The runs of round `round` (from 1), in order, as (index into [`SERVERS`], index into
/// [`MODES`]) pairs: every selected server and mode once.
///
/// An adapter's modes run back to back, so each ratio to its ceiling compares runs seconds
/// apart. The modes follow [`MODE_ORDERS`] (round `r` uses entry `(r - 1) % 6`, the same for
/// every adapter), and the adapters go in table order in odd rounds and reversed in even ones,
/// so that no mode and no adapter is systematically first or last.
fn round_order(round: u32, servers: &[usize]) -> Vec<(usize, usize)> {
    let index = usize::try_from(round.saturating_sub(1)).unwrap_or(0) % MODE_ORDERS.len();
    let modes = MODE_ORDERS[index];
    let mut servers = servers.to_vec();
    if round.is_multiple_of(2) {
        servers.reverse();
    }
    servers
        .into_iter()
        .flat_map(|s| modes.map(|m| (s, m)))
        .collect()
}

/// `10`, `10s`, `2m` as seconds.
fn parse_seconds(text: &str) -> Result<u64> {
    let (number, unit) = match text.strip_suffix('s') {
        Some(n) => (n, 1),
        None => match text.strip_suffix('m') {
            Some(n) => (n, 60),
            None => (text, 1),
        },
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| format!("`{text}` is not a duration in whole seconds or minutes (10s, 2m)"))
}

/// The index in [`SERVERS`] of the server built on `adapter` (`actix` for `actix-web` too).
fn parse_adapter(adapter: &str) -> Result<usize> {
    let adapter = adapter.trim();
    SERVERS
        .iter()
        .position(|s| s.adapter == adapter || s.adapter.split('-').next() == Some(adapter))
        .ok_or_else(|| {
            let known: Vec<&str> = SERVERS.iter().map(|s| s.adapter).collect();
            format!("unknown adapter `{adapter}`; known: {}", known.join(", "))
        })
}

/// A positive whole number.
fn parse_count(name: &str, text: &str) -> Result<u32> {
    text.parse::<u32>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{name} takes a positive whole number, not `{text}`"))
}

/// What one wrk run measured.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Completed requests.
    requests: u64,
    /// Requests per second.
    rps: f64,
    /// Median latency, microseconds.
    p50_us: f64,
    /// 99th percentile latency, microseconds.
    p99_us: f64,
    /// Server CPU time (user + system) per request, microseconds; NaN where unknown. Less
    /// sensitive than throughput to other programs sharing the machine.
    cpu_us: f64,
    /// Server instructions retired in user space per request (`perf stat -e instructions:u`);
    /// NaN where unknown. The steadiest figure: nearly independent of other load.
    instructions: f64,
}

/// One measured run.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// Index into [`SERVERS`].
    server: usize,
    /// Index into [`MODES`].
    mode: usize,
    /// Round, from 1.
    round: u32,
    /// Position within its round, from 1.
    slot: usize,
    /// The measurement.
    sample: Sample,
}

/// Medians over the rounds of one server and mode.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Row {
    /// Adapter name.
    pub(crate) adapter: &'static str,
    /// Mode label.
    pub(crate) label: &'static str,
    /// Median requests per second.
    pub(crate) rps: f64,
    /// Lowest and highest requests per second over the rounds.
    pub(crate) rps_range: (f64, f64),
    /// Median p50 latency, microseconds.
    p50_us: f64,
    /// Median p99 latency, microseconds.
    p99_us: f64,
    /// Median server CPU time per request, microseconds (NaN where unknown).
    cpu_us: f64,
    /// Server CPU per request relative to the same adapter's ceiling (median of per-round
    /// ratios).
    cpu_ratio: f64,
    /// Median server instructions per request (NaN where unknown).
    instructions: f64,
    /// Server instructions per request relative to the same adapter's ceiling (median of
    /// per-round ratios).
    instructions_ratio: f64,
    /// Throughput relative to the same adapter's ceiling: the median over rounds of each
    /// round's ratio.
    pub(crate) ratio: f64,
    /// A confidence interval of at least 95% for that median ([`median_interval`]); `None`
    /// under six rounds.
    ratio_interval: Option<(f64, f64)>,
    /// The same adapter's ceiling: its median requests per second.
    pub(crate) ceiling_rps: f64,
    /// Target ratio, if the mode has one.
    pub(crate) target: Option<f64>,
}

/// Runs `cargo xtask bench load [-- OPTIONS]`.
pub(crate) fn run(args: &[String]) -> Result {
    let options = Options::parse(args)?;
    let root = project_root();
    let target_dir = target_dir()?;
    let out_dir = target_dir.join("bench");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let wrk = ensure_wrk()?;
    let mut machine = Machine::read(&wrk);
    let perf = probe_perf();
    match &perf {
        Ok(path) => eprintln!(
            "--> counting server instructions per request with `{} stat -e {PERF_EVENT}`",
            path.display()
        ),
        Err(why) => eprintln!("--> no server instructions per request: {why}"),
    }
    machine.perf = match &perf {
        Ok(path) => Ok(perf_version(path)),
        Err(why) => Err(why.clone()),
    };
    let perf = perf.ok();

    let mut commands = Vec::new();
    let mut binaries = vec![PathBuf::new(); SERVERS.len()];
    for &index in &options.servers {
        let server = &SERVERS[index];
        let build = Cmd::cargo().args([
            "build",
            "--release",
            "-p",
            server.package,
            "--bin",
            server.binary,
        ]);
        build.run()?;
        commands.push(build.to_string());
        let binary = target_dir.join("release").join(format!(
            "{}{}",
            server.binary,
            std::env::consts::EXE_SUFFIX
        ));
        if !binary.is_file() {
            return Err(format!(
                "built {} but found no {}",
                server.binary,
                binary.display()
            ));
        }
        binaries[index] = binary;
    }

    let script = out_dir.join("load.lua");
    std::fs::write(&script, lua_script())
        .map_err(|e| format!("cannot write {}: {e}", script.display()))?;
    let script_arg = shown_path(&script, &root, &target_dir);
    let ticks_per_second = clock_ticks_per_second();

    // Every server of every selected adapter, started, checked and warmed up once; they stay up
    // until `servers` is dropped (at the end, or on an error).
    let mut servers = Vec::new();
    for &server in &options.servers {
        let shown_binary = shown_path(&binaries[server], &root, &target_dir);
        for mode in 0..MODES.len() {
            servers.push(Running::start(
                server,
                mode,
                &binaries[server],
                &shown_binary,
                &options,
                &script_arg,
                &mut commands,
            )?);
        }
    }

    let mut runs = Vec::new();
    for round in 1..=options.rounds {
        let order = round_order(round, &options.servers);
        let total = order.len();
        for (slot, (server, mode)) in order.into_iter().enumerate() {
            let slot = slot + 1;
            eprintln!(
                "--> round {round}/{}, run {slot}/{total}: {} {}",
                options.rounds, SERVERS[server].adapter, MODES[mode].label
            );
            let running = servers
                .iter_mut()
                .find(|r| r.server == server && r.mode == mode)
                .ok_or("no running server for a run of the round")?;
            let sample = running.measure(ticks_per_second, perf.as_deref())?;
            eprintln!(
                "    {:.0} requests/s, p50 {}, p99 {}, server CPU {} and {} instructions per \
                 request ({} requests)",
                sample.rps,
                format_latency(sample.p50_us),
                format_latency(sample.p99_us),
                format_cpu(sample.cpu_us),
                format_instructions(sample.instructions),
                sample.requests
            );
            runs.push(Run {
                server,
                mode,
                round,
                slot,
                sample,
            });
        }
    }
    // The measured runs, each server's command once: it is the same every round.
    commands.push(format!(
        "# {} rounds; each runs every command below once, in its own order (see \"Every round\")",
        options.rounds
    ));
    if perf.is_some() {
        commands.push(format!(
            "perf stat -x, -e {PERF_EVENT} -p <server pid>  # around every measured run: started \
             just before wrk, stopped with SIGINT after it"
        ));
    }
    for running in &servers {
        commands.push(format!("{}  # x{} rounds", running.run, options.rounds));
    }
    // Stops every server.
    drop(servers);
    machine.loadavg_end = loadavg();
    let rows = summarize(&runs, &options.servers);
    let table = text_table(&rows, &options);
    println!();
    print!("{table}");
    if let Err(why) = &machine.perf {
        println!("\nno server instructions per request (`-`): {why}");
    }
    println!();
    print!("{}", chart::text_bars(&rows));

    let report = markdown(&rows, &runs, &options, &machine, &commands);
    let md = out_dir.join("load.md");
    std::fs::write(&md, report).map_err(|e| format!("cannot write {}: {e}", md.display()))?;
    let svg = out_dir.join("load.svg");
    let title = format!(
        "MCP tools/call throughput, wrk -t{} -c{} -d{}s, median of {} rounds",
        options.threads, options.connections, options.duration, options.rounds
    );
    std::fs::write(&svg, chart::bars(&title, &rows))
        .map_err(|e| format!("cannot write {}: {e}", svg.display()))?;
    println!(
        "\nwrote {} and {}",
        shown_path(&md, &root, &target_dir),
        shown_path(&svg, &root, &target_dir)
    );
    Ok(())
}

/// The cargo target directory (honours `CARGO_TARGET_DIR` and `build.target-dir`).
pub(crate) fn target_dir() -> Result<PathBuf> {
    let metadata = Cmd::cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .probe()
        .ok_or("`cargo metadata` failed")?;
    json_string_field(&metadata, "target_directory")
        .map(PathBuf::from)
        .ok_or_else(|| "no target_directory in `cargo metadata` output".to_owned())
}

/// The string value of the first `"key":"..."` in `json` (enough for cargo metadata; std-only).
fn json_string_field(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let mut value = String::new();
    let mut chars = json[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

/// `path` as shown in commands and reports: relative to the project root when inside it, so no
/// machine's absolute paths end up in a report.
fn shown_path(path: &Path, root: &Path, target_dir: &Path) -> String {
    if let Ok(relative) = path.strip_prefix(root) {
        return relative.display().to_string();
    }
    match path.strip_prefix(target_dir) {
        Ok(relative) => format!("$CARGO_TARGET_DIR/{}", relative.display()),
        Err(_) => path.display().to_string(),
    }
}

/// The path of `wrk`, installing it with apt-get when missing and running as root.
fn ensure_wrk() -> Result<PathBuf> {
    if let Some(path) = find_in_path("wrk") {
        return Ok(path);
    }
    let hint = "the load bench needs `wrk` (https://github.com/wg/wrk): \
                `sudo apt-get install wrk` on Debian/Ubuntu, `brew install wrk` on macOS";
    let root = Cmd::new("id")
        .arg("-u")
        .probe()
        .is_some_and(|uid| uid.trim() == "0");
    if !root || find_in_path("apt-get").is_none() {
        return Err(format!("wrk not found; {hint}"));
    }
    eprintln!("wrk not found; installing the Debian package (running as root)");
    Cmd::new("apt-get").arg("update").run()?;
    Cmd::new("apt-get")
        .args(["install", "-y", "wrk"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()?;
    find_in_path("wrk")
        .ok_or_else(|| format!("apt-get installed wrk but it is not on PATH; {hint}"))
}

/// The first executable file called `name` on `PATH`.
fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
        .find(|candidate| candidate.is_file())
}

/// The wrk script: POST the `whoami` call with the MCP headers, and print a machine-readable
/// summary line when done.
fn lua_script() -> String {
    format!(
        r#"-- Generated by `cargo xtask bench load`: one MCP tools/call (whoami) per request.
local token = os.getenv("{TOKEN_VAR}")
if token == nil or token == "" then
  error("{TOKEN_VAR} is not set")
end
wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "XTASK requests=%d duration_us=%d status=%d connect=%d read=%d write=%d timeout=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"#
    )
}

/// A bench binary running in the background; killed when dropped.
struct ServerProcess {
    /// The process.
    child: Child,
    /// Where it listens.
    addr: SocketAddr,
    /// A token it accepts.
    token: String,
}

impl ServerProcess {
    /// Starts `binary --mode MODE` and reads its address and token.
    fn start(binary: &Path, mode: &str) -> Result<Self> {
        let mut child = Command::new(binary)
            .args(["--mode", mode])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        // Read on a thread so a server that never prints cannot hang the bench.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let addr = lines.next().and_then(std::result::Result::ok);
            let token = lines.next().and_then(std::result::Result::ok);
            let _ = tx.send((addr, token));
        });
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: String::new(),
        };
        let (addr, token) = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok((Some(addr), Some(token))) => (addr, token),
            Ok(_) => {
                return Err(format!(
                    "{} exited before printing its address and token",
                    binary.display()
                ));
            }
            Err(_) => {
                return Err(format!(
                    "{} printed no address and token within {STARTUP_TIMEOUT:?}",
                    binary.display()
                ));
            }
        };
        server.addr = addr
            .trim()
            .parse()
            .map_err(|e| format!("{} printed `{addr}`, not an address: {e}", binary.display()))?;
        server.token = token.trim().to_owned();
        Ok(server)
    }

    /// Fails if the process has exited.
    fn check_alive(&mut self) -> Result {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("the server process has exited ({status})")),
            Err(e) => Err(format!("cannot check the server process: {e}")),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bench server kept running for every round: one per selected adapter and mode.
struct Running {
    /// Index into [`SERVERS`].
    server: usize,
    /// Index into [`MODES`].
    mode: usize,
    /// The process (stopped when this is dropped).
    process: ServerProcess,
    /// The measured wrk run, the same every round.
    run: Cmd,
}

impl Running {
    /// Starts `binary --mode MODE`, checks one request by hand and warms the server up.
    fn start(
        server: usize,
        mode: usize,
        binary: &Path,
        shown_binary: &str,
        options: &Options,
        script: &str,
        commands: &mut Vec<String>,
    ) -> Result<Self> {
        let name = server_name(server, mode);
        eprintln!("--> starting the {name}");
        let arg = MODES[mode].arg;
        let process = ServerProcess::start(binary, arg)?;
        commands.push(format!("{} --mode {arg} &", quote(shown_binary)));
        preflight(&process, &MODES[mode]).map_err(|e| format!("{name}: {e}"))?;
        let wrk = |seconds: u64| {
            Cmd::new("wrk")
                .current_dir(project_root())
                .env_shown_as(
                    TOKEN_VAR,
                    &process.token,
                    "<token printed by the server>".to_owned(),
                )
                .arg(format!("-t{}", options.threads))
                .arg(format!("-c{}", options.connections))
                .arg(format!("-d{seconds}s"))
                .arg("--latency")
                .args(["-s", script])
                .arg(format!("http://{}/mcp", process.addr))
        };
        let run = wrk(options.duration);
        if options.warmup > 0 {
            let warmup = wrk(options.warmup);
            let output = warmup.run_captured()?;
            commands.push(format!("{warmup}  # warm-up"));
            parse_wrk(&output).map_err(|e| format!("{name}, warm-up: {e}"))?;
        }
        let mut running = Self {
            server,
            mode,
            process,
            run,
        };
        running.check_alive()?;
        Ok(running)
    }

    /// One measured wrk run, with the server's CPU time per request and, given `perf` (see
    /// [`probe_perf`]), its user-space instructions per request. A failure of perf only leaves
    /// that figure unknown (NaN) for this run.
    fn measure(&mut self, ticks_per_second: Option<f64>, perf: Option<&Path>) -> Result<Sample> {
        self.check_alive()?;
        let pid = self.process.child.id();
        let counter = perf.and_then(|perf| PerfCounter::start(perf, pid));
        let cpu_before = cpu_ticks(pid);
        let output = self.run.run_captured();
        let cpu_after = cpu_ticks(pid);
        let instructions = counter.and_then(PerfCounter::finish);
        let output = output?;
        self.check_alive()?;
        let mut sample = parse_wrk(&output).map_err(|e| format!("{}: {e}", self.name()))?;
        if let (Some(before), Some(after), Some(per_second)) =
            (cpu_before, cpu_after, ticks_per_second)
        {
            let seconds = after.saturating_sub(before) as f64 / per_second;
            sample.cpu_us = seconds * 1e6 / sample.requests as f64;
        }
        if let Some(instructions) = instructions.filter(|&n| n > 0.0) {
            sample.instructions = instructions / sample.requests as f64;
        }
        Ok(sample)
    }

    /// Fails, naming the server, if its process has exited.
    fn check_alive(&mut self) -> Result {
        let name = self.name();
        self.process
            .check_alive()
            .map_err(|e| format!("{name} (pid {}): {e}", self.process.child.id()))
    }

    /// `axum cached server`.
    fn name(&self) -> String {
        server_name(self.server, self.mode)
    }
}

/// What `perf stat -x,` printed for [`PERF_EVENT`].
#[derive(Debug, Clone, Copy, PartialEq)]
enum PerfCount {
    /// The count (summed over the lines of a hybrid CPU's core types).
    Counted(f64),
    /// `<not supported>`: the machine has no such counter (as in many virtual machines).
    NotSupported,
    /// `<not counted>`: the counter exists but never ran (or the task never did).
    NotCounted,
    /// No line for the event at all: perf failed (see its messages).
    Missing,
}

/// The count of [`PERF_EVENT`] in what `perf stat -x,` printed on stderr: CSV lines of the form
/// `<count>,<unit>,<event>,<run time>,<percentage>,...`, the count being `<not supported>` or
/// `<not counted>` when there is none. A hybrid CPU prints one line per core type
/// (`cpu_core/instructions/u`, `cpu_atom/instructions/u`): the counted ones are summed.
fn parse_perf_count(stderr: &str) -> PerfCount {
    let (mut sum, mut counted, mut not_supported, mut not_counted) = (0.0, false, false, false);
    for line in stderr.lines() {
        let mut fields = line.trim().split(',');
        let (Some(count), Some(_unit), Some(event)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if !event.contains("instructions") {
            continue;
        }
        match count.trim() {
            "<not supported>" => not_supported = true,
            "<not counted>" => not_counted = true,
            count => {
                if let Ok(n) = count.parse::<u64>() {
                    // Counts stay far below 2^53: the conversion is exact.
                    sum += n as f64;
                    counted = true;
                }
            }
        }
    }
    if counted {
        PerfCount::Counted(sum)
    } else if not_supported {
        PerfCount::NotSupported
    } else if not_counted {
        PerfCount::NotCounted
    } else {
        PerfCount::Missing
    }
}

/// `perf` when `perf stat -x, -e instructions:u -- true` counts instructions here, or why not
/// (not installed, not supported on this machine, not permitted by `perf_event_paranoid`,
/// another failure). Never fails the bench and never installs anything.
fn probe_perf() -> Result<PathBuf> {
    let Some(perf) = find_in_path("perf") else {
        return Err(PERF_MISSING.to_owned());
    };
    let output = Command::new(&perf)
        .args(["stat", "-x,", "-e", PERF_EVENT, "--", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", perf.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .ok()
        .and_then(|text| text.trim().parse().ok());
    match parse_perf_count(&stderr) {
        PerfCount::Counted(n) if n > 0.0 => Ok(perf),
        count => Err(perf_unavailable(count, &stderr, paranoid)),
    }
}

/// Why `perf stat` gave no instruction count (`count`), from its `stderr` and the kernel's
/// `perf_event_paranoid` setting, if known.
fn perf_unavailable(count: PerfCount, stderr: &str, paranoid: Option<i32>) -> String {
    match count {
        PerfCount::NotSupported => {
            format!(
                "`{PERF_EVENT}` is not supported on this machine (no hardware counters, as in \
                 many virtual machines)"
            )
        }
        PerfCount::NotCounted | PerfCount::Counted(_) => {
            format!(
                "`{PERF_EVENT}` is not counted on this machine (the counter exists but counted \
                 nothing)"
            )
        }
        PerfCount::Missing => {
            let lower = stderr.to_lowercase();
            let denied = lower.contains("perf_event_paranoid")
                || lower.contains("permission")
                || lower.contains("access to performance monitoring");
            if denied || paranoid.is_some_and(|p| p > 2) {
                let setting = paranoid.map_or_else(|| "unknown".to_owned(), |p| p.to_string());
                format!(
                    "permission: kernel.perf_event_paranoid is {setting}; counting your own \
                     processes needs 2 or less (`sudo sysctl kernel.perf_event_paranoid=2`)"
                )
            } else {
                let first = stderr
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("no output");
                format!("`perf stat -e {PERF_EVENT}` failed: {first}")
            }
        }
    }
}

/// `perf version 6.1.18`, or just `perf` if it does not say.
fn perf_version(perf: &Path) -> String {
    Cmd::new(perf)
        .arg("--version")
        .probe()
        .and_then(|v| v.lines().next().map(|l| l.trim().to_owned()))
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "perf".to_owned())
}

/// `perf stat -x, -e instructions:u -p PID` counting a server during one measured run: started
/// just before wrk, stopped with SIGINT after it by [`PerfCounter::finish`]; killed if dropped
/// before (when the run fails).
struct PerfCounter {
    /// The perf process, until it is stopped.
    child: Option<Child>,
}

impl PerfCounter {
    /// Starts counting the user-space instructions of process `pid` (all its threads) and
    /// waits, briefly, until perf has attached; `None` if perf cannot be started.
    fn start(perf: &Path, pid: u32) -> Option<Self> {
        let mut child = Command::new(perf)
            .args(["stat", "-x,", "-e", PERF_EVENT, "-p", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        // perf prints nothing until it stops, so watch its file descriptors instead: one
        // counter per thread of the server, enabled as it is opened. An idle server executes
        // nothing meanwhile, so waiting costs no accuracy; starting too early would.
        let threads = std::fs::read_dir(format!("/proc/{pid}/task")).map_or(1, Iterator::count);
        let deadline = Instant::now() + PERF_ATTACH_TIMEOUT;
        while Instant::now() < deadline
            && matches!(child.try_wait(), Ok(None))
            && perf_event_fds(child.id()) < threads.max(1)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        Some(Self { child: Some(child) })
    }

    /// Stops perf with SIGINT (it then prints its count) and returns the count, or `None` if
    /// perf failed or counted nothing.
    fn finish(mut self) -> Option<f64> {
        let mut child = self.child.take()?;
        // Only signal a perf still running: an exited one is reaped, and its pid may be reused.
        if matches!(child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let deadline = Instant::now() + PERF_STOP_TIMEOUT;
        while matches!(child.try_wait(), Ok(None)) {
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // perf wrote its few lines and exited: they are all in the pipe.
        let mut stderr = String::new();
        child.stderr.take()?.read_to_string(&mut stderr).ok()?;
        match parse_perf_count(&stderr) {
            PerfCount::Counted(n) => Some(n),
            _ => None,
        }
    }
}

impl Drop for PerfCounter {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How many perf event file descriptors process `pid` holds (Linux; 0 if unknown).
fn perf_event_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |entries| {
        entries
            .filter_map(std::result::Result::ok)
            .filter(|entry| {
                std::fs::read_link(entry.path())
                    .is_ok_and(|target| target.as_os_str() == "anon_inode:[perf_event]")
            })
            .count()
    })
}

/// `axum cached server`, for messages.
fn server_name(server: usize, mode: usize) -> String {
    format!("{} {} server", SERVERS[server].adapter, MODES[mode].label)
}

/// User plus system CPU time of process `pid` so far, in clock ticks (Linux), or `None`.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name, which may hold spaces: state is the first,
    // utime and stime (fields 14 and 15 of proc(5)) the twelfth and thirteenth.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second for [`cpu_ticks`] (`getconf CLK_TCK`), or `None`.
fn clock_ticks_per_second() -> Option<f64> {
    Cmd::new("getconf")
        .arg("CLK_TCK")
        .probe()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|&t| t > 0.0)
}

/// One request by hand before the load: the tool answers for the bench user, and a request
/// without a token is refused exactly when the mode authenticates. wrk only counts statuses; this
/// catches a server answering 200 with an error inside, or a mode that is not what it says.
fn preflight(server: &ServerProcess, mode: &Mode) -> Result {
    let (status, body) = post(server.addr, Some(&server.token))?;
    if status != 200 || !body.contains(r#""isError":false"#) || !body.contains("bench-user") {
        return Err(format!(
            "the whoami call got status {status} and body {body}; expected 200 with the bench user"
        ));
    }
    let (status, _) = post(server.addr, None)?;
    let expected = if mode.authenticates { 401 } else { 200 };
    if status != expected {
        return Err(format!(
            "mode `{}`: a request without a token got {status}, expected {expected}",
            mode.arg
        ));
    }
    Ok(())
}

/// POSTs [`BODY`] to `/mcp` over a fresh connection; the status and the body.
fn post(addr: SocketAddr, token: Option<&str>) -> Result<(u16, String)> {
    let io = |e: std::io::Error| format!("request to {addr} failed: {e}");
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(io)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(io)?;
    let mut request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-06-18\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        BODY.len()
    );
    if let Some(token) = token {
        let _ = write!(request, "Authorization: Bearer {token}\r\n");
    }
    request.push_str("\r\n");
    request.push_str(BODY);
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(io)?;
    let status = response
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("not an HTTP/1.1 response: {response:.200}"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    Ok((status, body))
}

/// The figures of the `XTASK ...` line the script prints; fails on any non-2xx/3xx response or
/// socket error.
fn parse_wrk(output: &str) -> Result<Sample> {
    let line = output
        .lines()
        .find_map(|l| l.strip_prefix("XTASK "))
        .ok_or_else(|| format!("wrk printed no summary line:\n{output}"))?;
    let field = |name: &str| -> Result<f64> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("no {name} in wrk summary `{line}`"))
    };
    let errors: Vec<String> = ["status", "connect", "read", "write", "timeout"]
        .iter()
        .filter_map(|name| match field(name) {
            Ok(n) => (n > 0.0).then(|| Ok(format!("{name} {n}"))),
            Err(e) => Some(Err(e)),
        })
        .collect::<Result<_>>()?;
    if !errors.is_empty() {
        return Err(format!(
            "wrk saw failed requests ({}; `status` counts responses other than 2xx/3xx):\n{output}",
            errors.join(", ")
        ));
    }
    let requests = field("requests")?;
    let duration_us = field("duration_us")?;
    if requests < 1.0 || duration_us <= 0.0 {
        return Err(format!("wrk completed no requests:\n{output}"));
    }
    Ok(Sample {
        // A whole, non-negative count parsed from `%d`: the cast is exact.
        requests: requests as u64,
        rps: requests / (duration_us / 1e6),
        p50_us: field("p50_us")?,
        p99_us: field("p99_us")?,
        cpu_us: f64::NAN,
        instructions: f64::NAN,
    })
}

/// Median of `values` (mean of the middle two for an even count), ignoring NaN (unknown)
/// values; NaN if every value is unknown.
fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| !v.is_nan());
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => f64::midpoint(values[n / 2 - 1], values[n / 2]),
    }
}

/// A distribution-free confidence interval of at least 95% for the median of `values` (NaN
/// skipped): the values of ranks `k` and `n + 1 - k`, for the largest `k` with
/// P(Binomial(n, 1/2) < k) <= 2.5%. `None` under six values, where no such interval exists.
///
/// The load bench reports it beside each ratio: on a shared machine one run's median can miss
/// by several points, and the interval says how far this run can be trusted.
fn median_interval(mut values: Vec<f64>) -> Option<(f64, f64)> {
    values.retain(|v| !v.is_nan());
    values.sort_by(f64::total_cmp);
    let n = values.len();
    // P(B = j) for j = k, built up term by term; `below` is P(B < k). (n is at most a few
    // hundred rounds, see `MAX_SPAN`, so 2^-n does not underflow.)
    let mut term = 0.5_f64.powi(i32::try_from(n).ok()?);
    let (mut below, mut k) = (0.0, 0);
    while k < n / 2 && below + term <= 0.025 {
        below += term;
        k += 1;
        term = term * (n - k + 1) as f64 / k as f64;
    }
    (k > 0).then(|| (values[k - 1], values[n - k]))
}

/// Medians per server and mode, with ratios to each server's ceiling (the first mode).
///
/// A ratio is the median over rounds of that round's ratio: each run against the ceiling of
/// its own round, a few seconds apart. On a shared machine whose speed drifts over minutes,
/// those pairs are far steadier than the ratio of two medians taken over the whole run.
fn summarize(runs: &[Run], servers: &[usize]) -> Vec<Row> {
    let mut rows = Vec::new();
    for &s in servers {
        let server = &SERVERS[s];
        let of = |m: usize, f: fn(&Sample) -> f64| {
            median(
                runs.iter()
                    .filter(|r| r.server == s && r.mode == m)
                    .map(|r| f(&r.sample))
                    .collect(),
            )
        };
        let ceiling = of(0, |x| x.rps);
        // Each round's figure for mode `m` divided by the same round's ceiling.
        let pairs = |m: usize, f: fn(&Sample) -> f64| -> Vec<f64> {
            runs.iter()
                .filter(|r| r.server == s && r.mode == m)
                .filter_map(|r| {
                    runs.iter()
                        .find(|c| c.server == s && c.mode == 0 && c.round == r.round)
                        .map(|c| f(&r.sample) / f(&c.sample))
                })
                .collect()
        };
        let paired = |m: usize, f: fn(&Sample) -> f64| median(pairs(m, f));
        for (m, mode) in MODES.iter().enumerate() {
            let rps = of(m, |x| x.rps);
            let all = runs
                .iter()
                .filter(|r| r.server == s && r.mode == m)
                .map(|r| r.sample.rps);
            let rps_range = (
                all.clone().fold(f64::INFINITY, f64::min),
                all.fold(f64::NEG_INFINITY, f64::max),
            );
            rows.push(Row {
                adapter: server.adapter,
                label: mode.label,
                rps,
                rps_range,
                p50_us: of(m, |x| x.p50_us),
                p99_us: of(m, |x| x.p99_us),
                cpu_us: of(m, |x| x.cpu_us),
                cpu_ratio: paired(m, |x| x.cpu_us),
                instructions: of(m, |x| x.instructions),
                instructions_ratio: paired(m, |x| x.instructions),
                ratio: paired(m, |x| x.rps),
                ratio_interval: median_interval(pairs(m, |x| x.rps)),
                ceiling_rps: ceiling,
                target: mode.target,
            });
        }
    }
    rows
}

/// `1.23 ms` or `456 µs`.
fn format_latency(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

/// `61.2 µs`, or `n/a`.
fn format_cpu(us: f64) -> String {
    if us.is_finite() {
        format!("{us:.1} µs")
    } else {
        "n/a".to_owned()
    }
}

/// `214.0k` instructions (`1.23M` from a million), or `-` where unknown.
fn format_instructions(instructions: f64) -> String {
    if !instructions.is_finite() {
        "-".to_owned()
    } else if instructions >= 1e6 {
        format!("{:.2}M", instructions / 1e6)
    } else {
        format!("{:.1}k", instructions / 1e3)
    }
}

/// A ratio of instructions per request, `107.4%`, or `-` where unknown (like the column).
fn format_instructions_ratio(ratio: f64) -> String {
    if ratio.is_finite() {
        format_ratio(ratio)
    } else {
        "-".to_owned()
    }
}

/// `103.2%`, or `n/a`.
fn format_ratio(ratio: f64) -> String {
    if ratio.is_finite() {
        format!("{:.1}%", ratio * 100.0)
    } else {
        "n/a".to_owned()
    }
}

/// `12,345`.
pub(crate) fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `12,001-13,456`: the spread of requests/s over the rounds.
fn range(row: &Row) -> String {
    format!(
        "{}-{}",
        thousands(row.rps_range.0),
        thousands(row.rps_range.1)
    )
}

/// PASS or SHORT for a row with a target.
fn verdict(row: &Row) -> Option<(f64, &'static str)> {
    row.target
        .map(|t| (t, if row.ratio >= t { "PASS" } else { "SHORT" }))
}

/// `95% CI 89.1-95.3%`, and whether the interval holds `target` (then this run cannot tell
/// which side of it the median really lies).
fn interval_note(row: &Row, target: f64) -> String {
    match row.ratio_interval {
        None => "(too few rounds for a 95% interval)".to_owned(),
        Some((low, high)) => {
            let side = if low >= target {
                "above the target"
            } else if high < target {
                "below the target"
            } else {
                "holds the target: this run cannot tell"
            };
            format!("(95% CI {}: {side})", format_interval(row.ratio_interval))
        }
    }
}

/// `89.1-95.3%`, or `-`.
fn format_interval(interval: Option<(f64, f64)>) -> String {
    interval.map_or_else(
        || "-".to_owned(),
        |(low, high)| format!("{:.1}-{:.1}%", low * 100.0, high * 100.0),
    )
}

/// The table printed on stdout, with the target verdicts.
fn text_table(rows: &[Row], options: &Options) -> String {
    let mut out = format!(
        "load bench: wrk -t{} -c{} -d{}s, median of {} rounds\n\n",
        options.threads, options.connections, options.duration, options.rounds
    );
    let _ = writeln!(
        out,
        "{:<10} {:<18} {:>11} {:>15} {:>9} {:>9} {:>10} {:>9} {:>10} {:>10} {:>10}",
        "adapter",
        "config",
        "requests/s",
        "rounds min-max",
        "p50",
        "p99",
        "vs ceiling",
        "CPU/req",
        "vs ceiling",
        "instr/req",
        "vs ceiling"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "{:<10} {:<18} {:>11} {:>15} {:>9} {:>9} {:>10} {:>9} {:>10} {:>10} {:>10}",
            row.adapter,
            row.label,
            thousands(row.rps),
            range(row),
            format_latency(row.p50_us),
            format_latency(row.p99_us),
            format_ratio(row.ratio),
            format_cpu(row.cpu_us),
            format_ratio(row.cpu_ratio),
            format_instructions(row.instructions),
            format_instructions_ratio(row.instructions_ratio)
        );
    }
    out.push_str("\ntargets (a measurement: SHORT does not fail the command):\n");
    for row in rows {
        if let Some((target, word)) = verdict(row) {
            let _ = writeln!(
                out,
                "  {:<10} {:<18} >= {:.0}% of ceiling: {:>5.1}%  {word:<5}  {}",
                row.adapter,
                row.label,
                target * 100.0,
                row.ratio * 100.0,
                interval_note(row, target)
            );
        }
    }
    out
}

/// Facts about the machine, for the report.
struct Machine {
    /// Logical CPUs available.
    cpus: usize,
    /// CPU model (Linux), if known.
    cpu_model: Option<String>,
    /// Kernel release (Linux), if known.
    kernel: Option<String>,
    /// Load averages when the bench started (Linux), if known.
    loadavg: Option<String>,
    /// Load averages when it ended.
    loadavg_end: Option<String>,
    /// Start time, UTC.
    date: String,
    /// `wrk -v` first line.
    wrk: String,
    /// `perf --version` when perf can count the servers' instructions, or why it cannot.
    perf: Result<String>,
    /// `rustc -V`.
    rustc: Option<String>,
    /// Commit, with a note when the tree has changes.
    commit: Option<String>,
}

impl Machine {
    /// Reads what it can; missing facts stay `None`.
    fn read(wrk: &Path) -> Self {
        let read = |path: &str| std::fs::read_to_string(path).ok();
        let first_line = |text: String| text.lines().next().map(|l| l.trim().to_owned());
        let wrk_version = Command::new(wrk)
            .arg("-v")
            .stdin(Stdio::null())
            .output()
            .ok()
            .and_then(|o| first_line(String::from_utf8_lossy(&o.stdout).into_owned()))
            .map(|line| match line.split_once(" Copyright") {
                Some((version, _)) => version.to_owned(),
                None => line,
            })
            .unwrap_or_else(|| "wrk (version unknown)".to_owned());
        let commit = Cmd::new("git")
            .current_dir(project_root())
            .args(["rev-parse", "--short", "HEAD"])
            .probe()
            .map(|hash| {
                let dirty = Cmd::new("git")
                    .current_dir(project_root())
                    .args(["status", "--porcelain", "--untracked-files=no"])
                    .probe()
                    .is_some_and(|s| !s.trim().is_empty());
                let hash = hash.trim().to_owned();
                if dirty {
                    format!("{hash} with uncommitted changes")
                } else {
                    hash
                }
            });
        Self {
            cpus: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            cpu_model: read("/proc/cpuinfo").and_then(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            }),
            kernel: read("/proc/sys/kernel/osrelease").and_then(first_line),
            loadavg: loadavg(),
            loadavg_end: None,
            date: utc_now(),
            wrk: wrk_version,
            perf: Err("not probed".to_owned()),
            rustc: Cmd::new("rustc").arg("-V").probe().and_then(first_line),
            commit,
        }
    }
}

/// The 1, 5 and 15 minute load averages (Linux), if known.
fn loadavg() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// The current time as `YYYY-MM-DD HH:MM UTC` (std-only civil-from-days).
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil algorithm, for days since 1970-01-01 (non-negative here).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// `target/bench/load.md`: medians, verdicts, every round, the machine and the commands.
fn markdown(
    rows: &[Row],
    runs: &[Run],
    options: &Options,
    machine: &Machine,
    commands: &[String],
) -> String {
    let mut md = String::from("# Load bench\n\n");
    let warmup = if options.warmup > 0 {
        format!("warmed up once with wrk for {}s", options.warmup)
    } else {
        "not warmed up".to_owned()
    };
    let _ = write!(
        md,
        "Generated by `cargo xtask bench load` on {}. Each configuration serves the same \
         stateless JSON MCP `tools/call` (`whoami`) over HTTP/1.1; `none` skips authentication \
         and is the ceiling. Each configuration is its own server process, started once, \
         checked with one request by hand, {warmup}, and kept running for every round; only one \
         wrk runs at a time. Each of {} rounds then runs wrk `-t{} -c{}` for {}s against every \
         configuration in turn: an adapter's three configurations back to back, \
         their order cycling through all six permutations from round to round and the order of \
         the adapters alternating, so that none is systematically first or last. Every figure \
         is the median over the rounds, and a ratio (vs ceiling) is the median over rounds of \
         each round's figure divided by the same adapter's ceiling in that round, measured \
         seconds apart. 95% CI is a distribution-free confidence interval of at least 95% for \
         that median, from the order statistics of the rounds' ratios: where it holds the \
         target, this run cannot tell on which side of it the ratio lies. Server and load \
         generator share the machine, so absolute figures say little; ratios within one run \
         are what matter. Server CPU per request is the server \
         process's user + system time during the measured run divided by the requests it \
         served: less sensitive than throughput to other load on the machine, it shows what \
         authentication costs the server. The last columns show server instructions per request \
         (`perf stat -e instructions:u`, user space only), and their ratio to the ceiling: the \
         steadiest measure of what authentication adds, nearly independent of other load on the \
         machine. perf counts them in the server process over each measured run, from just \
         before wrk starts until it ends, and they are divided by the requests served.",
        machine.date, options.rounds, options.threads, options.connections, options.duration,
    );
    if let Err(why) = &machine.perf {
        let _ = write!(
            md,
            " They are not measured here (`-` in the tables): {why}."
        );
    }
    md.push_str("\n\n");
    md.push_str(
        "| adapter | config | requests/s | rounds min-max | p50 | p99 | vs ceiling | 95% CI | \
         target | server CPU/request | vs ceiling | server instructions/request | vs ceiling |\n",
    );
    md.push_str("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|\n");
    for row in rows {
        let target = verdict(row).map_or_else(
            || "-".to_owned(),
            |(t, word)| format!(">= {:.0}%: **{word}**", t * 100.0),
        );
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {target} | {} | {} | {} | {} |",
            row.adapter,
            row.label,
            thousands(row.rps),
            range(row),
            format_latency(row.p50_us),
            format_latency(row.p99_us),
            format_ratio(row.ratio),
            format_interval(row.ratio_interval),
            format_cpu(row.cpu_us),
            format_ratio(row.cpu_ratio),
            format_instructions(row.instructions),
            format_instructions_ratio(row.instructions_ratio)
        );
    }
    md.push_str("\n![requests per second](load.svg)\n\n```text\n");
    md.push_str(&chart::text_bars(rows));
    md.push_str("```\n\n## Every round\n\n");
    md.push_str(
        "`run` is the position of the run within its round, which changes from round to round.\n\n",
    );
    md.push_str(
        "| round | run | adapter | config | requests | requests/s | vs ceiling (round) | p50 \
         | p99 | server CPU/request | server instructions/request |\n",
    );
    md.push_str("|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut ordered: Vec<&Run> = runs.iter().collect();
    ordered.sort_by_key(|r| (r.server, r.mode, r.round));
    for run in ordered {
        let ceiling = runs
            .iter()
            .find(|c| c.server == run.server && c.mode == 0 && c.round == run.round)
            .map_or(f64::NAN, |c| c.sample.rps);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            run.round,
            run.slot,
            SERVERS[run.server].adapter,
            MODES[run.mode].label,
            thousands(run.sample.requests as f64),
            thousands(run.sample.rps),
            format_ratio(run.sample.rps / ceiling),
            format_latency(run.sample.p50_us),
            format_latency(run.sample.p99_us),
            format_cpu(run.sample.cpu_us),
            format_instructions(run.sample.instructions)
        );
    }
    md.push_str("\n## Machine\n\n");
    let _ = writeln!(md, "- CPUs (nproc): {}", machine.cpus);
    let optional = [
        ("CPU", &machine.cpu_model),
        ("kernel", &machine.kernel),
        ("load average at start (1, 5, 15 min)", &machine.loadavg),
        ("load average at end", &machine.loadavg_end),
        ("rustc", &machine.rustc),
        ("commit", &machine.commit),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            let _ = writeln!(md, "- {name}: {value}");
        }
    }
    let _ = writeln!(md, "- load generator: {}", machine.wrk);
    match &machine.perf {
        Ok(version) => {
            let _ = writeln!(
                md,
                "- instruction counter: {version} (`perf stat -e {PERF_EVENT}`)"
            );
        }
        Err(why) => {
            let _ = writeln!(md, "- instruction counter: none ({why})");
        }
    }
    let _ = writeln!(md, "- date: {}", machine.date);
    md.push_str(
        "\n## Commands\n\nRun from the workspace root, in this order. `&` marks a server started \
         in the background (it prints its address and a token, runs for every round and is \
         stopped at the end); the wrk script is written by the bench. Each measured wrk command \
         is listed once; every round runs each of them once.\n\n```sh\n",
    );
    for command in commands {
        md.push_str(command);
        md.push('\n');
    }
    md.push_str("```\n\n## Script (load.lua)\n\n```lua\n");
    md.push_str(&lua_script());
    md.push_str("```\n");
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_and_options() {
        assert_eq!(parse_seconds("5s"), Ok(5));
        assert_eq!(parse_seconds("2m"), Ok(120));
        assert_eq!(parse_seconds("7"), Ok(7));
        assert!(parse_seconds("1.5s").is_err());
        let args: Vec<String> = ["--duration", "5s", "--rounds=2"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let options = Options::parse(&args).unwrap_or_default();
        assert_eq!((options.duration, options.rounds), (5, 2));
        assert!(Options::parse(&["--bogus".to_owned()]).is_err());
    }

    #[test]
    fn defaults_and_span() {
        let options = Options::default();
        assert_eq!(
            (options.rounds, options.duration, options.warmup),
            (12, 3, 1)
        );
        // 6 servers: 6 x 2 s of warm-up, 12 x 6 runs of 4 s.
        assert_eq!(options.span(), Duration::from_secs(12 + 288));
        assert!(Options::parse(&[]).is_ok());
        // The servers' tokens last an hour: refuse a bench that would outlive them.
        let long: Vec<String> = ["--rounds", "100", "--duration", "10s"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert!(Options::parse(&long).is_err_and(|e| e.contains("--rounds")));
    }

    /// Every round order of rounds `rounds` for `servers`.
    fn orders(
        rounds: std::ops::RangeInclusive<u32>,
        servers: &[usize],
    ) -> Vec<Vec<(usize, usize)>> {
        rounds.map(|round| round_order(round, servers)).collect()
    }

    /// The modes of `server` in the order `order` runs them.
    fn modes_of(order: &[(usize, usize)], server: usize) -> Vec<usize> {
        order
            .iter()
            .filter(|&&(s, _)| s == server)
            .map(|&(_, m)| m)
            .collect()
    }

    #[test]
    fn mode_orders_are_the_six_permutations() {
        let mut sorted: Vec<[usize; 3]> = MODE_ORDERS
            .iter()
            .map(|order| {
                let mut modes = *order;
                modes.sort_unstable();
                assert_eq!(modes, [0, 1, 2]);
                *order
            })
            .collect();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 6);
    }

    #[test]
    fn each_round_runs_every_server_and_mode_once_with_an_adapters_modes_adjacent() {
        for servers in [vec![0, 1], vec![0], vec![1]] {
            for (i, order) in orders(1..=13, &servers).into_iter().enumerate() {
                let mut sorted = order.clone();
                sorted.sort_unstable();
                let all: Vec<(usize, usize)> = servers
                    .iter()
                    .flat_map(|&s| (0..MODES.len()).map(move |m| (s, m)))
                    .collect();
                assert_eq!(sorted, all, "round {}", i + 1);
                // An adapter's runs form one block: the server changes once per adapter.
                let changes = order.windows(2).filter(|w| w[0].0 != w[1].0).count();
                assert_eq!(changes, servers.len() - 1, "round {}: {order:?}", i + 1);
            }
        }
    }

    #[test]
    fn no_mode_is_systematically_first_or_last() {
        for servers in [vec![0, 1], vec![1]] {
            for &server in &servers {
                // Over any six consecutive rounds each mode is first, in the middle and last
                // of its adapter's turn twice each; over rounds 1 to 3 once each.
                for (rounds, times) in [(1..=6, 2), (7..=12, 2), (4..=9, 2), (1..=3, 1), (4..=6, 1)]
                {
                    let turns: Vec<Vec<usize>> = orders(rounds.clone(), &servers)
                        .iter()
                        .map(|order| modes_of(order, server))
                        .collect();
                    for position in 0..MODES.len() {
                        for mode in 0..MODES.len() {
                            let count = turns.iter().filter(|t| t[position] == mode).count();
                            assert_eq!(
                                count, times,
                                "rounds {rounds:?}: mode {mode} at {position} {count} times"
                            );
                        }
                    }
                }
                // Every permutation once in six rounds.
                let mut turns: Vec<Vec<usize>> = orders(1..=6, &servers)
                    .iter()
                    .map(|order| modes_of(order, server))
                    .collect();
                turns.sort_unstable();
                turns.dedup();
                assert_eq!(turns.len(), 6);
            }
        }
    }

    #[test]
    fn adapters_alternate_every_other_round() {
        let firsts: Vec<usize> = orders(1..=4, &[0, 1]).iter().map(|o| o[0].0).collect();
        assert_eq!(firsts, [0, 1, 0, 1]);
        // Both adapters follow the same mode order within a round.
        for order in orders(1..=6, &[0, 1]) {
            assert_eq!(modes_of(&order, 0), modes_of(&order, 1));
        }
        // Over six rounds each mode opens the round twice.
        let openers: Vec<usize> = orders(1..=6, &[0, 1]).iter().map(|o| o[0].1).collect();
        for mode in 0..MODES.len() {
            assert_eq!(
                openers.iter().filter(|&&m| m == mode).count(),
                2,
                "{openers:?}"
            );
        }
    }

    #[test]
    fn selects_adapters() {
        let parse = |list: &[&str]| {
            Options::parse(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
                .map(|o| o.servers)
        };
        assert_eq!(parse(&[]), Ok(vec![0, 1]));
        assert_eq!(parse(&["--adapter", "actix"]), Ok(vec![1]));
        assert_eq!(parse(&["--adapter=actix-web,axum"]), Ok(vec![0, 1]));
        assert_eq!(
            parse(&["--adapter", "axum", "--adapter", "axum"]),
            Ok(vec![0])
        );
        assert!(parse(&["--adapter", "rocket"]).is_err());
    }

    #[test]
    fn summarizes_each_adapter_against_its_own_ceiling() {
        let sample = |rps: f64| Sample {
            requests: 1000,
            rps,
            p50_us: 1000.0,
            p99_us: 2000.0,
            cpu_us: 50.0,
            instructions: 200_000.0,
        };
        // axum: ceiling 1000, cached 960, uncached 900; actix-web: ceiling 2000, 1800, 1000.
        let figures = [[1000.0, 960.0, 900.0], [2000.0, 1800.0, 1000.0]];
        let mut runs = Vec::new();
        for (server, modes) in figures.iter().enumerate() {
            for (mode, &rps) in modes.iter().enumerate() {
                runs.push(Run {
                    server,
                    mode,
                    round: 1,
                    slot: server * MODES.len() + mode + 1,
                    sample: sample(rps),
                });
            }
        }
        let rows = summarize(&runs, &[0, 1]);
        let ratios: Vec<String> = rows.iter().map(|r| format_ratio(r.ratio)).collect();
        assert_eq!(
            ratios,
            ["100.0%", "96.0%", "90.0%", "100.0%", "90.0%", "50.0%"]
        );
        let verdicts: Vec<Option<&str>> = rows.iter().map(|r| verdict(r).map(|v| v.1)).collect();
        assert_eq!(
            verdicts,
            [
                None,
                Some("PASS"),
                Some("PASS"),
                None,
                Some("SHORT"),
                Some("SHORT")
            ]
        );
        let text = chart::text_bars(&rows);
        assert_eq!(
            text.lines().filter(|l| l.contains("/s")).count(),
            rows.len()
        );
        assert!(text.contains("uncached (HS256)") && text.contains("target 90%: SHORT"));
        let svg = chart::bars("title", &rows);
        assert_eq!(svg.matches("<rect x=").count(), rows.len());
        assert!(svg.contains("actix-web · uncached (HS256)"));
        // Only the selected servers are summarized.
        assert_eq!(summarize(&runs, &[1]).len(), MODES.len());
    }

    #[test]
    fn median_interval_takes_the_order_statistics_of_a_95_percent_interval() {
        let ranks = |n: usize| {
            let values: Vec<f64> = (1..=n).map(|i| i as f64).collect();
            median_interval(values).map(|(low, high)| (low as usize, high as usize))
        };
        // Under six values even the extremes cover less than 95%: 1 - 2 / 2^5 = 93.75%.
        assert_eq!(ranks(5), None);
        assert_eq!(ranks(0), None);
        // The published ranks (sign test tables): 6 -> 1 and 6, 12 -> 3 and 10, 36 -> 12
        // and 25, 100 -> 40 and 61.
        assert_eq!(ranks(6), Some((1, 6)));
        assert_eq!(ranks(12), Some((3, 10)));
        assert_eq!(ranks(36), Some((12, 25)));
        assert_eq!(ranks(100), Some((40, 61)));
        // Unsorted input, unknown values skipped.
        let values = vec![0.9, f64::NAN, 0.7, 1.0, 0.8, 0.95, 0.85];
        assert_eq!(median_interval(values), Some((0.7, 1.0)));
    }

    #[test]
    fn the_verdict_says_when_the_interval_holds_the_target() {
        // Twelve rounds: cached at 0.91 to 1.02 of the ceiling (median 0.965), uncached at
        // 0.81 to 0.92 (median 0.865).
        let runs = runs_of(12, |round, mode| Sample {
            requests: 1000,
            rps: match mode {
                0 => 1000.0,
                _ => 1000.0 - 100.0 * mode as f64 + 10.0 * f64::from(round),
            },
            p50_us: 1.0,
            p99_us: 2.0,
            cpu_us: 1.0,
            instructions: f64::NAN,
        });
        let rows = summarize(&runs, &[0]);
        // Ranks 3 and 10 of the twelve ratios.
        assert_eq!(format_interval(rows[1].ratio_interval), "93.0-100.0%");
        assert_eq!(format_interval(rows[2].ratio_interval), "83.0-90.0%");
        let table = text_table(&rows, &Options::default());
        let lines: Vec<&str> = table.lines().filter(|l| l.contains("of ceiling")).collect();
        assert_eq!(lines.len(), 2, "{table}");
        assert!(lines[0].contains("PASS") && lines[0].contains("holds the target"));
        assert!(lines[1].contains("SHORT") && lines[1].contains("holds the target"));
        // Every round far below: the interval says so.
        let far = |rounds: u32| {
            let runs = runs_of(rounds, |round, mode| Sample {
                requests: 1000,
                rps: 1000.0 - mode as f64 * 200.0 - f64::from(round),
                p50_us: 1.0,
                p99_us: 2.0,
                cpu_us: 1.0,
                instructions: f64::NAN,
            });
            text_table(&summarize(&runs, &[0]), &Options::default())
        };
        assert_eq!(far(12).matches("below the target").count(), 2);
        // Too few rounds for an interval.
        let few = far(3);
        assert!(few.contains("too few rounds") && !few.contains("below the target"));
    }

    #[test]
    fn ratios_pair_each_round_with_its_own_ceiling() {
        // The machine's speed drifts: round 3 runs the ceiling fast and the cached mode slow.
        // Per-round pairs give 0.90, 0.95, 0.33: median 0.90. The ratio of the two medians
        // (1,000 / 2,000) would say 0.50.
        let rounds = [(1000.0, 900.0), (2000.0, 1900.0), (3000.0, 1000.0)];
        let mut runs = Vec::new();
        for (i, (ceiling, cached)) in rounds.into_iter().enumerate() {
            for (mode, rps) in [(0, ceiling), (1, cached), (2, cached)] {
                runs.push(Run {
                    server: 0,
                    mode,
                    round: u32::try_from(i).unwrap_or(0) + 1,
                    slot: mode + 1,
                    sample: Sample {
                        requests: 1000,
                        rps,
                        p50_us: 1.0,
                        p99_us: 2.0,
                        cpu_us: 1e6 / rps,
                        instructions: 2e8 / rps,
                    },
                });
            }
        }
        let rows = summarize(&runs, &[0]);
        assert_eq!(format_ratio(rows[1].ratio), "90.0%");
        assert_eq!(format_ratio(rows[1].cpu_ratio), "111.1%");
        assert_eq!(
            format_instructions_ratio(rows[1].instructions_ratio),
            "111.1%"
        );
        assert_eq!(format_instructions(rows[0].instructions), "100.0k");
        assert!((rows[1].ceiling_rps - 2000.0).abs() < 1e-9);
        assert!((rows[1].rps - 1000.0).abs() < 1e-9);
    }

    /// Runs of server 0 over `rounds` rounds, each mode's samples from `sample(round, mode)`.
    fn runs_of(rounds: u32, sample: impl Fn(u32, usize) -> Sample) -> Vec<Run> {
        let mut runs = Vec::new();
        for round in 1..=rounds {
            for mode in 0..MODES.len() {
                runs.push(Run {
                    server: 0,
                    mode,
                    round,
                    slot: mode + 1,
                    sample: sample(round, mode),
                });
            }
        }
        runs
    }

    #[test]
    fn unknown_cpu_and_instructions_stay_unknown() {
        // No perf and no /proc: every run's CPU time and instruction count is NaN.
        let runs = runs_of(3, |_, mode| Sample {
            requests: 1000,
            rps: 1000.0 - mode as f64 * 50.0,
            p50_us: 1.0,
            p99_us: 2.0,
            cpu_us: f64::NAN,
            instructions: f64::NAN,
        });
        let rows = summarize(&runs, &[0]);
        for row in &rows {
            assert!(row.cpu_us.is_nan() && row.cpu_ratio.is_nan());
            assert!(row.instructions.is_nan() && row.instructions_ratio.is_nan());
            assert_eq!(format_instructions(row.instructions), "-");
            assert_eq!(format_instructions_ratio(row.instructions_ratio), "-");
            assert_eq!(format_cpu(row.cpu_us), "n/a");
        }
        assert_eq!(format_ratio(rows[1].ratio), "95.0%");
        let options = Options::default();
        let table = text_table(&rows, &options);
        assert!(table.contains("instr/req"));
        assert!(
            table
                .lines()
                .nth(3)
                .is_some_and(|l| l.trim_end().ends_with("-          -"))
        );
    }

    #[test]
    fn a_failed_count_drops_only_its_own_rounds() {
        // perf failed in round 2 for the cached server and in round 3 for the ceiling: the
        // medians and the per-round ratios use the rounds that have both figures.
        let runs = runs_of(4, |round, mode| {
            let per_mode = [200_000.0, 214_000.0, 260_000.0][mode];
            let lost = (round == 2 && mode == 1) || (round == 3 && mode == 0);
            Sample {
                requests: 1000,
                rps: 1000.0,
                p50_us: 1.0,
                p99_us: 2.0,
                cpu_us: 50.0,
                instructions: if lost {
                    f64::NAN
                } else {
                    per_mode * (1.0 + f64::from(round) / 1000.0)
                },
            }
        });
        let rows = summarize(&runs, &[0]);
        assert_eq!(format_instructions(rows[0].instructions), "200.4k");
        assert_eq!(format_instructions(rows[1].instructions), "214.6k");
        // Cached vs ceiling is 107.0% in rounds 1 and 4 (2 lost its cached count, 3 its
        // ceiling); uncached 130.0% in rounds 1, 2 and 4.
        assert_eq!(
            format_instructions_ratio(rows[0].instructions_ratio),
            "100.0%"
        );
        assert_eq!(
            format_instructions_ratio(rows[1].instructions_ratio),
            "107.0%"
        );
        assert_eq!(
            format_instructions_ratio(rows[2].instructions_ratio),
            "130.0%"
        );
        assert!((median(vec![f64::NAN, 1.0, -f64::NAN, 3.0]) - 2.0).abs() < 1e-12);
        assert!(median(vec![f64::NAN]).is_nan());
    }

    #[test]
    fn parses_perf_csv() {
        // `perf stat -x, -e instructions:u` on stderr.
        let counted = "187112628,,instructions:u,13339270,100.00,,\n";
        assert_eq!(parse_perf_count(counted), PerfCount::Counted(187_112_628.0));
        // Lines perf may print around it, and the count itself, are found among others.
        let noisy = "# started on Mon\n\n214000000,,instructions:u,1000,100.00,,\n\
                     Some warning, with, commas\n";
        assert_eq!(parse_perf_count(noisy), PerfCount::Counted(214_000_000.0));
        // A hybrid CPU: one line per core type, the uncounted one ignored.
        let hybrid = "1000,,cpu_core/instructions/u,10,100.00,,\n\
                      <not counted>,,cpu_atom/instructions/u,0,0.00,,\n\
                      500,,cpu_atom/instructions/u,10,100.00,,\n";
        assert_eq!(parse_perf_count(hybrid), PerfCount::Counted(1500.0));
        assert_eq!(
            parse_perf_count("<not supported>,,instructions:u,0,100.00,,\n"),
            PerfCount::NotSupported
        );
        assert_eq!(
            parse_perf_count("<not counted>,,instructions:u,0,100.00,,\n"),
            PerfCount::NotCounted
        );
        for garbage in [
            "",
            "garbage",
            "Error:\nAccess to performance monitoring and observability operations is limited.",
            "12x,,instructions:u,1,100.00,,",
            "-5,,instructions:u,1,100.00,,",
            "1000,,cycles:u,1,100.00,,",
        ] {
            assert_eq!(parse_perf_count(garbage), PerfCount::Missing, "{garbage:?}");
        }
    }

    #[test]
    fn explains_why_perf_cannot_count() {
        let why = |count, stderr, paranoid| perf_unavailable(count, stderr, paranoid);
        assert!(why(PerfCount::NotSupported, "", Some(2)).contains("not supported"));
        assert!(why(PerfCount::NotCounted, "", Some(2)).contains("not counted"));
        let denied = "Error:\nAccess to performance monitoring and observability operations is \
                      limited.\nConsider adjusting /proc/sys/kernel/perf_event_paranoid setting";
        assert!(
            why(PerfCount::Missing, denied, Some(3))
                .starts_with("permission: kernel.perf_event_paranoid is 3")
        );
        assert!(why(PerfCount::Missing, "", Some(4)).starts_with("permission"));
        assert_eq!(
            why(
                PerfCount::Missing,
                "\nWARNING: perf not found for kernel 6.1\n",
                Some(2)
            ),
            "`perf stat -e instructions:u` failed: WARNING: perf not found for kernel 6.1"
        );
    }

    #[test]
    fn formats_instructions() {
        assert_eq!(format_instructions(214_049.0), "214.0k");
        assert_eq!(format_instructions(199_300.0), "199.3k");
        assert_eq!(format_instructions(1_234_567.0), "1.23M");
        assert_eq!(format_instructions(f64::NAN), "-");
        assert_eq!(format_instructions_ratio(1.0738), "107.4%");
        assert_eq!(format_instructions_ratio(f64::INFINITY), "-");
    }

    #[test]
    fn parses_the_wrk_summary() {
        let ok = "Running\nXTASK requests=1000 duration_us=2000000 status=0 connect=0 read=0 \
                  write=0 timeout=0 p50_us=1500 p99_us=9000\n";
        let sample = parse_wrk(ok);
        assert_eq!(sample.as_ref().map(|s| s.requests), Ok(1000));
        assert!(sample.is_ok_and(|s| (s.rps - 500.0).abs() < 1e-9 && s.p99_us > s.p50_us));
        // wrk knows nothing of the server: its CPU time and instructions are filled in later.
        assert!(parse_wrk(ok).is_ok_and(|s| s.cpu_us.is_nan() && s.instructions.is_nan()));
        assert!(parse_wrk(&ok.replace("status=0", "status=3")).is_err());
        assert!(parse_wrk("no summary").is_err());
    }

    #[test]
    fn small_helpers() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert!((median(vec![3.0, 1.0, 2.0]) - 2.0).abs() < 1e-12);
        assert!((median(vec![4.0, 1.0]) - 2.5).abs() < 1e-12);
        assert_eq!(
            json_string_field(
                r#"{"a":1,"target_directory":"C:\\x\"y"}"#,
                "target_directory"
            ),
            Some(r#"C:\x"y"#.to_owned())
        );
        assert_eq!(utc_now().len(), "2026-01-01 00:00 UTC".len());
        if cfg!(target_os = "linux") {
            assert!(cpu_ticks(std::process::id()).is_some());
        }
    }
}
