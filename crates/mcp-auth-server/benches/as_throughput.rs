//! Authorization server throughput per store: how many authorization codes, token exchanges,
//! refresh token rotations and complete sign-in flows per second the embedded server answers
//! with each [`Store`] backend, the memory store being the baseline.
//!
//! Every request goes through [`AuthorizationServer::handle`], in process: no sockets, no HTTP
//! framework, so the figures are the server's own work (routing, validation, Argon2, signing,
//! the store). Rate limits are off ([`RateLimits::unlimited`]); login throttling keeps its
//! default policy, and each worker signs in as a user of its own from an address of its own, as
//! distinct browsers would. The test users' passwords are hashed with cheap Argon2 parameters
//! (8 KiB, 1 pass), so a login costs microseconds rather than the production ~50 ms: the flow
//! rate measures the server, not the password hash.
//!
//! For each store, in every round, on a fresh server and a fresh, empty store:
//!
//! 1. setup, not measured: each worker registers a client and signs in once through the real
//!    flow (so the consent is remembered and the worker holds a login session);
//! 2. **authorize**: `GET /authorize` with the login session, answered with a redirect carrying
//!    a code at once (consent given before). This is how the codes of step 3 are prepared: through
//!    the real `/authorize` endpoint, for `--duration` (or until `--max-ops` codes);
//! 3. **code exchange**: `POST /token` with `grant_type=authorization_code` and the PKCE
//!    verifier, for every code of step 2: a signed access token and a refresh token each;
//! 4. **refresh rotation**: `POST /token` with `grant_type=refresh_token`, once for each refresh
//!    token of step 3;
//! 5. **full flow**: for `--duration`, each worker loops over a complete flow: `POST /register`
//!    (a new public client), `GET /authorize` (login page), `POST /authorize` (sign in), `GET
//!    /authorize` (consent page, as the browser follows the redirect), `POST /authorize`
//!    (allow), `POST /token` (the code for tokens): six requests per flow.
//!
//! Every response is checked (status, and the code or tokens it must carry); one wrong answer
//! fails the run. A short unreported pass on the memory store warms the process up; then rounds
//! alternate the order of the stores; each figure is the median over the rounds, and each
//! store's ratio is against the memory store's median of the same run.
//!
//! Stores: `memory`; `sqlite` (a file in a fresh temporary directory, WAL, as
//! `SqliteStore::open` makes it); `postgres` (feature `postgres`; a schema of its own, created
//! for the round and dropped after, in the database at `DATABASE_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/test`). When the PostgreSQL row is selected and the
//! database cannot be reached, the run fails and says so; it is never skipped silently.
//!
//! - `cargo bench -p mcp-auth-server --features postgres --bench as_throughput [-- OPTIONS]`
//!   (`cargo xtask bench as` runs this, with `--markdown target/bench/as.md`): the full run,
//!   3 rounds of 3 s phases, about a minute per store;
//! - `cargo test --benches` runs this binary without `--bench`: a reduced run (8 codes and 4
//!   flows per store, one round) that checks every step answers as it should.

#![allow(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::StatusCode;
use http::header::{COOKIE, LOCATION, SET_COOKIE};
use mcp_auth_server::http::Response;
use mcp_auth_server::metadata::Issuer;
use mcp_auth_server::server::{AuthorizationServer, RateLimits, ServerConfig};
use mcp_auth_server::store::{MemoryStore, Store};
use mcp_auth_server::user::{HashParams, Password, StaticUser, StaticUsers, hash_password_with};
use serde_json::{Value, json};

const ISSUER: &str = "https://auth.example.com";
const RESOURCE: &str = "https://mcp.example.com/mcp";
const REDIRECT: &str = "https://app.example.com/callback";
const PASSWORD: &str = "correct horse battery staple";
/// The PKCE pair of RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// Where the PostgreSQL rows connect when `DATABASE_URL` is unset.
#[cfg(feature = "postgres")]
const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

// ---------------------------------------------------------------------------------------------
// Options

/// A store backend the bench can run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Backend {
    Memory,
    Sqlite,
    Postgres,
}

impl Backend {
    const ALL: [Self; 3] = [Self::Memory, Self::Sqlite, Self::Postgres];

    fn name(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// The crate feature that compiles the backend in.
    fn compiled(self) -> bool {
        match self {
            Self::Memory => true,
            Self::Sqlite => cfg!(feature = "sqlite"),
            Self::Postgres => cfg!(feature = "postgres"),
        }
    }
}

/// How much work a run does.
#[derive(Debug, Clone)]
struct Options {
    /// Stores, in table order; memory first when present (the baseline).
    stores: Vec<Backend>,
    /// Rounds over every store; figures are medians over rounds.
    rounds: u32,
    /// Concurrent workers (tasks on a two-thread runtime).
    workers: usize,
    /// Time given to each timed phase (authorize, full flow).
    duration: Duration,
    /// Most operations in a timed phase (bounds the exchange and refresh phases too).
    max_ops: usize,
    /// Where to write the markdown report, if anywhere.
    markdown: Option<String>,
    /// Whether this is the reduced `cargo test --benches` run.
    reduced: bool,
}

const USAGE: &str = "\
as_throughput [OPTIONS]
  --stores LIST    memory,sqlite,postgres (default: every store compiled in)
  --rounds N       rounds, alternating store order; medians reported (default 3)
  --workers N      concurrent requests in flight (default 8)
  --duration D     time per timed phase, e.g. 3s or 1500ms (default 3s)
  --max-ops N      most codes (and exchanges, rotations) per round (default 50000)
  --markdown PATH  also write the report as markdown to PATH";

impl Options {
    fn full() -> Self {
        Self {
            stores: Backend::ALL.into_iter().filter(|b| b.compiled()).collect(),
            rounds: 3,
            workers: 8,
            duration: Duration::from_secs(3),
            max_ops: 50_000,
            markdown: None,
            reduced: false,
        }
    }

    /// The `cargo test --benches` run: every step a few times, to prove it works.
    fn reduced() -> Self {
        Self {
            rounds: 1,
            workers: 4,
            // Bounded by count, not time: 8 codes and 4 flows even in a slow debug build.
            duration: Duration::from_secs(60),
            max_ops: 8,
            reduced: true,
            ..Self::full()
        }
    }

    /// `cargo bench` passes `--bench`; `cargo test --benches` passes nothing (or test harness
    /// flags, which are ignored there).
    fn from_args(args: &[String]) -> Result<Self, String> {
        if !args.iter().any(|a| a == "--bench") {
            return Ok(Self::reduced());
        }
        let mut options = Self::full();
        let mut args = args.iter().filter(|a| *a != "--bench");
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
                "--stores" => options.stores = parse_stores(&value()?)?,
                "--rounds" => options.rounds = parse_count(name, &value()?)?,
                "--workers" => options.workers = parse_count(name, &value()?)? as usize,
                "--duration" => options.duration = parse_duration(&value()?)?,
                "--max-ops" => options.max_ops = parse_count(name, &value()?)? as usize,
                "--markdown" => options.markdown = Some(value()?),
                _ => return Err(format!("unknown option `{arg}`\n{USAGE}")),
            }
        }
        Ok(options)
    }
}

fn parse_stores(list: &str) -> Result<Vec<Backend>, String> {
    let mut stores = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let backend = Backend::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| format!("unknown store `{name}`; known: memory, sqlite, postgres"))?;
        if !backend.compiled() {
            return Err(format!(
                "store `{name}` is not compiled in: run with `--features {name}`"
            ));
        }
        if !stores.contains(&backend) {
            stores.push(backend);
        }
    }
    if stores.is_empty() {
        return Err("--stores names no store".to_owned());
    }
    stores.sort_unstable();
    Ok(stores)
}

fn parse_count(name: &str, text: &str) -> Result<u32, String> {
    text.parse::<u32>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{name} takes a positive whole number, not `{text}`"))
}

/// `3s`, `1500ms` or `3` (seconds).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let parsed = if let Some(ms) = text.strip_suffix("ms") {
        ms.parse().ok().map(Duration::from_millis)
    } else {
        text.strip_suffix('s')
            .unwrap_or(text)
            .parse()
            .ok()
            .map(Duration::from_secs)
    };
    parsed
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{text}` is not a duration such as 3s or 1500ms"))
}

// ---------------------------------------------------------------------------------------------
// Stores

/// A store for one round, with whatever must be cleaned up after it.
struct RoundStore {
    store: Arc<dyn Store>,
    /// Keeps the SQLite file's directory alive until the round ends.
    _dir: Option<tempfile::TempDir>,
    #[cfg(feature = "postgres")]
    schema: Option<postgres::Schema>,
}

impl RoundStore {
    async fn open(backend: Backend) -> Result<Self, String> {
        match backend {
            Backend::Memory => Ok(Self {
                store: Arc::new(MemoryStore::new()),
                _dir: None,
                #[cfg(feature = "postgres")]
                schema: None,
            }),
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                let dir =
                    tempfile::tempdir().map_err(|e| format!("no temporary directory: {e}"))?;
                let store = mcp_auth_server::store::SqliteStore::open(dir.path().join("auth.db"))
                    .await
                    .map_err(|e| format!("cannot open the SQLite store: {e}"))?;
                Ok(Self {
                    store: Arc::new(store),
                    _dir: Some(dir),
                    #[cfg(feature = "postgres")]
                    schema: None,
                })
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let schema = postgres::Schema::create().await?;
                let store = schema.store().await?;
                Ok(Self {
                    store: Arc::new(store),
                    _dir: None,
                    schema: Some(schema),
                })
            }
            #[allow(unreachable_patterns, reason = "reachable only without some features")]
            other => Err(format!("store `{}` is not compiled in", other.name())),
        }
    }

    async fn close(self) -> Result<(), String> {
        drop(self.store);
        #[cfg(feature = "postgres")]
        if let Some(schema) = self.schema {
            schema.drop().await?;
        }
        Ok(())
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    //! A schema of its own per round in the database at `DATABASE_URL`, dropped afterwards.

    use std::str::FromStr as _;

    use mcp_auth_server::store::PostgresStore;
    use mcp_auth_server::store::sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

    use super::DEFAULT_DATABASE_URL;

    pub(super) struct Schema {
        url: String,
        name: String,
        admin: PgPool,
    }

    /// `DATABASE_URL`, or the local default.
    fn database_url() -> String {
        std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
    }

    /// `url` with any password hidden, for messages.
    fn redacted(url: &str) -> String {
        match (url.find("://"), url.rfind('@')) {
            (Some(start), Some(at)) if url[start + 3..at].contains(':') => {
                let colon = start + 3 + url[start + 3..at].find(':').unwrap_or(0);
                format!("{}***{}", &url[..=colon], &url[at..])
            }
            _ => url.to_owned(),
        }
    }

    impl Schema {
        pub(super) async fn create() -> Result<Self, String> {
            let url = database_url();
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(std::time::Duration::from_secs(5))
                .connect(&url)
                .await
                .map_err(|e| {
                    format!(
                        "the postgres row needs a PostgreSQL database, and {} cannot be reached \
                         ({e}). Set DATABASE_URL (`cargo xtask bench as` finds or starts one), \
                         or leave the row out with --stores memory,sqlite",
                        redacted(&url)
                    )
                })?;
            let mut random = [0u8; 6];
            getrandom::fill(&mut random).map_err(|e| format!("no randomness: {e}"))?;
            let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
            let name = format!("mcp_auth_bench_{suffix}");
            mcp_auth_server::store::sqlx::query(&format!("CREATE SCHEMA {name}"))
                .execute(&admin)
                .await
                .map_err(|e| format!("cannot create schema {name}: {e}"))?;
            Ok(Self { url, name, admin })
        }

        /// A store (a pool of its own, default size, migrated) working in this schema.
        pub(super) async fn store(&self) -> Result<PostgresStore, String> {
            let options = PgConnectOptions::from_str(&self.url)
                .map_err(|e| format!("DATABASE_URL: {e}"))?
                .options([("search_path", self.name.as_str())]);
            PostgresStore::connect_with(options)
                .await
                .map_err(|e| format!("cannot open the PostgreSQL store: {e}"))
        }

        pub(super) async fn drop(self) -> Result<(), String> {
            mcp_auth_server::store::sqlx::query(&format!("DROP SCHEMA {} CASCADE", self.name))
                .execute(&self.admin)
                .await
                .map_err(|e| format!("cannot drop schema {}: {e}", self.name))?;
            self.admin.close().await;
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The server and the requests a browser and a client make

/// One worker's identity: a user of its own, signing in from an address of its own.
fn username(worker: usize) -> String {
    format!("user-{worker}")
}

fn address(worker: usize) -> IpAddr {
    // 198.18.0.0/15 is reserved for benchmarks (RFC 2544).
    let [_, _, high, low] = u32::try_from(worker).unwrap_or(0).to_be_bytes();
    IpAddr::V4(Ipv4Addr::new(198, 18, high, low))
}

async fn start_server(
    store: Arc<dyn Store>,
    workers: usize,
) -> Result<AuthorizationServer, String> {
    let cheap = HashParams::new(8, 1, 1).map_err(|e| format!("hash parameters: {e}"))?;
    let hash = hash_password_with(&Password::new(PASSWORD), &cheap)
        .map_err(|e| format!("cannot hash the password: {e}"))?;
    let users = StaticUsers::new((0..workers).map(|w| StaticUser::new(username(w), hash.clone())))
        .map_err(|e| format!("users: {e}"))?;
    let issuer = Issuer::parse(ISSUER).map_err(|e| format!("issuer: {e}"))?;
    let mut config = ServerConfig::new(issuer, RESOURCE);
    config.scopes_supported = "mcp:tools mcp:read"
        .parse()
        .map_err(|e| format!("scopes: {e:?}"))?;
    config.default_scopes = "mcp:tools".parse().map_err(|e| format!("scopes: {e:?}"))?;
    config.rate_limits = RateLimits::unlimited();
    // Codes are prepared before they are redeemed: long enough that none expires in between.
    config.code_lifetime = Duration::from_secs(600);
    AuthorizationServer::start(config, store, Arc::new(users))
        .await
        .map_err(|e| format!("the server did not start: {e}"))
}

/// The cookies a browser would keep.
#[derive(Debug, Clone, Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn store(&mut self, response: &Response) {
        for value in response.headers().get_all(SET_COOKIE) {
            let Some(pair) = value.to_str().ok().and_then(|v| v.split(';').next()) else {
                continue;
            };
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    self.0.remove(name);
                } else {
                    self.0.insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A client of the server: one worker's browser and OAuth client.
struct Caller {
    server: AuthorizationServer,
    ip: IpAddr,
}

impl Caller {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Response, String> {
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(body.map_or_else(Bytes::new, Bytes::from))
            .map_err(|e| format!("bad request {method} {uri}: {e}"))?;
        Ok(self.server.handle(request, Some(self.ip)).await)
    }

    async fn post_form(
        &self,
        uri: &str,
        params: &[(&str, &str)],
        jar: Option<&Jar>,
    ) -> Result<Response, String> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let cookie = jar.map(Jar::header);
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        if let Some(cookie) = &cookie {
            headers.push((COOKIE.as_str(), cookie));
        }
        self.call("POST", uri, &headers, Some(body)).await
    }

    async fn get(&self, uri: &str, jar: &Jar) -> Result<Response, String> {
        let cookie = jar.header();
        self.call("GET", uri, &[(COOKIE.as_str(), &cookie)], None)
            .await
    }

    /// `POST /register`: a new public client; its `client_id`.
    async fn register(&self) -> Result<String, String> {
        let body = json!({
            "redirect_uris": [REDIRECT],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "client_name": "throughput bench",
        });
        let response = self
            .call(
                "POST",
                "/register",
                &[("content-type", "application/json")],
                Some(body.to_string()),
            )
            .await?;
        let answer = expect_json(&response, StatusCode::CREATED, "POST /register")?;
        text(&answer, "client_id", "POST /register")
    }

    /// Signs in and consents through the pages, as a browser: login page, login, consent
    /// page, allow. The code the consent redirects with.
    async fn sign_in_and_consent(
        &self,
        client_id: &str,
        user: &str,
        jar: &mut Jar,
    ) -> Result<String, String> {
        let login_page = self.get(&authorize_uri(client_id), jar).await?;
        expect_status(&login_page, StatusCode::OK, "GET /authorize (login page)")?;
        jar.store(&login_page);
        let token = csrf(&login_page, "login page")?;
        let signed_in = self
            .post_form(
                "/authorize",
                &[("username", user), ("password", PASSWORD), ("csrf", &token)],
                Some(jar),
            )
            .await?;
        expect_status(&signed_in, StatusCode::SEE_OTHER, "POST /authorize (login)")?;
        jar.store(&signed_in);
        let consent_page = self.get("/authorize", jar).await?;
        expect_status(
            &consent_page,
            StatusCode::OK,
            "GET /authorize (consent page)",
        )?;
        jar.store(&consent_page);
        let token = csrf(&consent_page, "consent page")?;
        let allowed = self
            .post_form(
                "/authorize",
                &[("decision", "allow"), ("csrf", &token)],
                Some(jar),
            )
            .await?;
        jar.store(&allowed);
        code_from_redirect(&allowed, "POST /authorize (consent)")
    }

    /// `GET /authorize` for a signed-in user who consented before: a code at once.
    async fn authorize(&self, client_id: &str, jar: &Jar) -> Result<String, String> {
        let response = self.get(&authorize_uri(client_id), jar).await?;
        code_from_redirect(&response, "GET /authorize (consent remembered)")
    }

    /// `POST /token`, `authorization_code` with PKCE: the refresh token issued.
    async fn exchange(&self, client_id: &str, code: &str) -> Result<String, String> {
        let response = self
            .post_form(
                "/token",
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", REDIRECT),
                    ("client_id", client_id),
                    ("code_verifier", VERIFIER),
                    ("resource", RESOURCE),
                ],
                None,
            )
            .await?;
        tokens(&response, "POST /token (authorization_code)")
    }

    /// `POST /token`, `refresh_token`: the rotated refresh token.
    async fn refresh(&self, client_id: &str, refresh_token: &str) -> Result<String, String> {
        let response = self
            .post_form(
                "/token",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                    ("client_id", client_id),
                ],
                None,
            )
            .await?;
        let rotated = tokens(&response, "POST /token (refresh_token)")?;
        if rotated == refresh_token {
            return Err("POST /token (refresh_token) did not rotate the refresh token".to_owned());
        }
        Ok(rotated)
    }
}

fn authorize_uri(client_id: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("state", "bench"),
            ("scope", "mcp:tools"),
            ("resource", RESOURCE),
        ])
        .finish();
    format!("/authorize?{query}")
}

fn expect_status(response: &Response, status: StatusCode, what: &str) -> Result<(), String> {
    if response.status() == status {
        Ok(())
    } else {
        Err(format!(
            "{what} answered {} (expected {status}): {}",
            response.status(),
            String::from_utf8_lossy(response.body())
                .chars()
                .take(300)
                .collect::<String>()
        ))
    }
}

fn expect_json(response: &Response, status: StatusCode, what: &str) -> Result<Value, String> {
    expect_status(response, status, what)?;
    serde_json::from_slice(response.body()).map_err(|e| format!("{what}: not JSON: {e}"))
}

fn text(value: &Value, field: &str, what: &str) -> Result<String, String> {
    value[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{what}: no `{field}` in {value}"))
}

/// Checks a token response: a bearer access token and a refresh token; returns the latter.
fn tokens(response: &Response, what: &str) -> Result<String, String> {
    let answer = expect_json(response, StatusCode::OK, what)?;
    if answer["token_type"] != "Bearer" || text(&answer, "access_token", what)?.is_empty() {
        return Err(format!("{what}: no bearer access token in {answer}"));
    }
    text(&answer, "refresh_token", what)
}

/// The CSRF token of a page's form.
fn csrf(page: &Response, what: &str) -> Result<String, String> {
    let html = std::str::from_utf8(page.body()).map_err(|_| format!("{what} is not UTF-8"))?;
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .ok_or_else(|| format!("{what} has no csrf field"))?;
    let end = html[start..]
        .find('"')
        .map(|i| start + i)
        .ok_or_else(|| format!("{what}: unterminated csrf field"))?;
    Ok(html[start..end].to_owned())
}

/// The `code` of a redirect to the client (302 or 303), with our `state` and `iss`.
fn code_from_redirect(response: &Response, what: &str) -> Result<String, String> {
    if !matches!(response.status(), StatusCode::FOUND | StatusCode::SEE_OTHER) {
        expect_status(response, StatusCode::FOUND, what)?;
    }
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| format!("{what}: redirect without Location"))?;
    let url = url::Url::parse(location).map_err(|e| format!("{what}: Location {location}: {e}"))?;
    let params: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    if !location.starts_with(REDIRECT)
        || params.get("state").map(String::as_str) != Some("bench")
        || params.get("iss").map(String::as_str) != Some(ISSUER)
    {
        return Err(format!("{what}: unexpected redirect {location}"));
    }
    params
        .get("code")
        .cloned()
        .ok_or_else(|| format!("{what}: redirect without a code: {location}"))
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// What one phase measured.
#[derive(Debug, Clone, Default)]
struct Phase {
    /// Operations completed.
    ops: usize,
    /// Wall time of the phase.
    elapsed: Duration,
    /// Each operation's latency.
    latencies: Vec<Duration>,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send>>;

/// Runs `op(worker, index)` on `workers` concurrent tasks, for indices `0..max_ops`, until the
/// deadline if there is one. Returns the measurement and each operation's output by index.
async fn run_phase<T: Send + 'static>(
    workers: usize,
    max_ops: usize,
    duration: Option<Duration>,
    op: Arc<dyn Fn(usize, usize) -> BoxFuture<T> + Send + Sync>,
) -> Result<(Phase, Vec<T>), String> {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = duration.map(|d| start + d);
    let mut tasks = Vec::with_capacity(workers);
    for worker in 0..workers {
        let next = next.clone();
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= max_ops {
                    break;
                }
                let began = Instant::now();
                let output = op(worker, index).await?;
                done.push((index, began.elapsed(), output));
            }
            Ok::<_, String>(done)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(
            task.await
                .map_err(|e| format!("a worker panicked: {e}"))??,
        );
    }
    let elapsed = start.elapsed();
    all.sort_by_key(|(index, _, _)| *index);
    let phase = Phase {
        ops: all.len(),
        elapsed,
        latencies: all.iter().map(|(_, latency, _)| *latency).collect(),
    };
    Ok((
        phase,
        all.into_iter().map(|(_, _, output)| output).collect(),
    ))
}

/// The four phases of one store in one round.
#[derive(Debug, Clone)]
struct Measurement {
    backend: Backend,
    round: u32,
    authorize: Phase,
    exchange: Phase,
    refresh: Phase,
    flow: Phase,
}

/// What a worker set up before the measured phases.
struct Session {
    client_id: String,
    jar: Jar,
}

async fn measure(backend: Backend, round: u32, options: &Options) -> Result<Measurement, String> {
    let opened = RoundStore::open(backend).await?;
    let server = start_server(opened.store.clone(), options.workers).await?;
    let caller = |worker: usize| Caller {
        server: server.clone(),
        ip: address(worker),
    };

    // Setup: a client, a login session and a remembered consent per worker.
    let mut sessions = Vec::with_capacity(options.workers);
    for worker in 0..options.workers {
        let caller = caller(worker);
        let client_id = caller.register().await?;
        let mut jar = Jar::default();
        let code = caller
            .sign_in_and_consent(&client_id, &username(worker), &mut jar)
            .await?;
        caller.exchange(&client_id, &code).await?;
        sessions.push(Session { client_id, jar });
    }
    let sessions = Arc::new(sessions);

    // Authorize: codes through the real endpoint, for `duration` or `max_ops` codes.
    let op = {
        let (server, sessions) = (server.clone(), sessions.clone());
        Arc::new(move |worker: usize, _| -> BoxFuture<(usize, String)> {
            let caller = Caller {
                server: server.clone(),
                ip: address(worker),
            };
            let sessions = sessions.clone();
            Box::pin(async move {
                let session = &sessions[worker];
                let code = caller.authorize(&session.client_id, &session.jar).await?;
                Ok((worker, code))
            })
        })
    };
    let (authorize, codes) =
        run_phase(options.workers, options.max_ops, Some(options.duration), op).await?;

    // Code exchange: every code once.
    let codes = Arc::new(codes);
    let op = {
        let (server, sessions, codes) = (server.clone(), sessions.clone(), codes.clone());
        Arc::new(
            move |worker: usize, index: usize| -> BoxFuture<(usize, String)> {
                let caller = Caller {
                    server: server.clone(),
                    ip: address(worker),
                };
                let (sessions, codes) = (sessions.clone(), codes.clone());
                Box::pin(async move {
                    let (owner, code) = &codes[index];
                    let refresh = caller.exchange(&sessions[*owner].client_id, code).await?;
                    Ok((*owner, refresh))
                })
            },
        )
    };
    let (exchange, refresh_tokens) = run_phase(options.workers, codes.len(), None, op).await?;
    if exchange.ops != codes.len() {
        return Err(format!(
            "{} of {} codes were exchanged",
            exchange.ops,
            codes.len()
        ));
    }

    // Refresh: every refresh token rotated once.
    let refresh_tokens = Arc::new(refresh_tokens);
    let op = {
        let (server, sessions, tokens) = (server.clone(), sessions.clone(), refresh_tokens.clone());
        Arc::new(move |worker: usize, index: usize| -> BoxFuture<()> {
            let caller = Caller {
                server: server.clone(),
                ip: address(worker),
            };
            let (sessions, tokens) = (sessions.clone(), tokens.clone());
            Box::pin(async move {
                let (owner, token) = &tokens[index];
                caller.refresh(&sessions[*owner].client_id, token).await?;
                Ok(())
            })
        })
    };
    let (refresh, _) = run_phase(options.workers, refresh_tokens.len(), None, op).await?;

    // Full flows: a new client, the pages, the code for tokens.
    let flows = if options.reduced {
        options.max_ops / 2
    } else {
        options.max_ops
    };
    let op = {
        let server = server.clone();
        Arc::new(move |worker: usize, _| -> BoxFuture<()> {
            let caller = Caller {
                server: server.clone(),
                ip: address(worker),
            };
            Box::pin(async move {
                let client_id = caller.register().await?;
                // A fresh browser: signs in anew each time.
                let mut jar = Jar::default();
                let code = caller
                    .sign_in_and_consent(&client_id, &username(worker), &mut jar)
                    .await?;
                caller.exchange(&client_id, &code).await?;
                Ok(())
            })
        })
    };
    let (flow, _) = run_phase(options.workers, flows, Some(options.duration), op).await?;

    drop(server);
    opened.close().await?;
    Ok(Measurement {
        backend,
        round,
        authorize,
        exchange,
        refresh,
        flow,
    })
}

// ---------------------------------------------------------------------------------------------
// Reporting

/// A measured phase as the report shows it.
struct Column {
    /// Name in the tables.
    name: &'static str,
    /// What one operation is.
    what: &'static str,
    /// Where a measurement keeps it.
    of: fn(&Measurement) -> &Phase,
}

/// The phases, in table order.
const PHASES: [Column; 4] = [
    Column {
        name: "authorize",
        what: "`GET /authorize` answered with a code (signed in, consent remembered)",
        of: |m| &m.authorize,
    },
    Column {
        name: "code exchange",
        what: "`POST /token` `authorization_code` + PKCE: access and refresh token",
        of: |m| &m.exchange,
    },
    Column {
        name: "refresh rotation",
        what: "`POST /token` `refresh_token`: new access token, rotated refresh token",
        of: |m| &m.refresh,
    },
    Column {
        name: "full flow",
        what: "register, login page, login, consent page, consent, token: 6 requests",
        of: |m| &m.flow,
    },
];

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => f64::midpoint(values[n / 2 - 1], values[n / 2]),
    }
}

fn thousands(value: f64) -> String {
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

fn latency(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

/// Median rate of `phase` for `backend` over the rounds, with the lowest and highest.
fn rates(
    all: &[Measurement],
    backend: Backend,
    phase: fn(&Measurement) -> &Phase,
) -> (f64, f64, f64) {
    let values: Vec<f64> = all
        .iter()
        .filter(|m| m.backend == backend)
        .map(|m| phase(m).rate())
        .collect();
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (median(values), low, high)
}

/// Median of a latency percentile of `phase` for `backend` over the rounds.
fn latency_median(
    all: &[Measurement],
    backend: Backend,
    phase: fn(&Measurement) -> &Phase,
    p: f64,
) -> Duration {
    let values = all
        .iter()
        .filter(|m| m.backend == backend)
        .map(|m| phase(m).percentile(p).as_secs_f64())
        .collect();
    Duration::from_secs_f64(median(values).max(0.0))
}

/// The tables: rates with ratios to memory, then latencies.
fn tables(all: &[Measurement], options: &Options) -> String {
    let baseline = options.stores.contains(&Backend::Memory);
    let mut out = String::from("| store |");
    let mut rule = String::from("|---|");
    for Column { name, .. } in &PHASES {
        let _ = write!(out, " {name} /s | rounds min-max |");
        rule.push_str("---:|---:|");
        if baseline {
            out.push_str(" vs memory |");
            rule.push_str("---:|");
        }
    }
    out.push('\n');
    out.push_str(&rule);
    out.push('\n');
    for &backend in &options.stores {
        let _ = write!(out, "| {} |", backend.name());
        for &Column { of: phase, .. } in &PHASES {
            let (rate, low, high) = rates(all, backend, phase);
            let _ = write!(
                out,
                " {} | {}-{} |",
                thousands(rate),
                thousands(low),
                thousands(high)
            );
            if baseline {
                let (memory, _, _) = rates(all, Backend::Memory, phase);
                let _ = write!(out, " {:.1}% |", rate / memory * 100.0);
            }
        }
        out.push('\n');
    }
    out.push_str("\nLatency of one operation (median over rounds of each round's p50 / p99):\n\n");
    out.push_str("| store |");
    for Column { name, .. } in &PHASES {
        let _ = write!(out, " {name} p50 | p99 |");
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|---:|".repeat(PHASES.len()));
    out.push('\n');
    for &backend in &options.stores {
        let _ = write!(out, "| {} |", backend.name());
        for &Column { of: phase, .. } in &PHASES {
            let _ = write!(
                out,
                " {} | {} |",
                latency(latency_median(all, backend, phase, 50.0)),
                latency(latency_median(all, backend, phase, 99.0))
            );
        }
        out.push('\n');
    }
    out
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".to_owned(),
        |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

/// The current time as `YYYY-MM-DD HH:MM UTC` (civil-from-days, std only).
fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's days-to-civil algorithm, for days since 1970-01-01.
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

fn report(all: &[Measurement], options: &Options, start: &str, load_start: &str) -> String {
    let mut md = String::from("# Authorization server throughput\n\n");
    let _ = writeln!(
        md,
        "Generated by `cargo bench -p mcp-auth-server --bench as_throughput` on {start}. Every \
         request goes through `AuthorizationServer::handle` in process (no sockets), {} \
         concurrent workers on a {}-thread runtime; timed phases last {} ms (at most {} \
         operations); median of {} rounds whose store order alternates. Ratios are against the \
         memory store of the same run. Rate limits off; test users hashed with Argon2id \
         m=8 KiB, t=1, p=1.\n",
        options.workers,
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        options.duration.as_millis(),
        options.max_ops,
        options.rounds
    );
    md.push_str("| phase | one operation |\n|---|---|\n");
    for Column { name, what, .. } in &PHASES {
        let _ = writeln!(md, "| {name} | {what} |");
    }
    md.push('\n');
    md.push_str(&tables(all, options));
    md.push_str("\n## Every round\n\n| round | store |");
    for Column { name, .. } in &PHASES {
        let _ = write!(md, " {name} (ops, /s) |");
    }
    md.push_str("\n|---:|---|");
    md.push_str(&"---:|".repeat(PHASES.len()));
    md.push('\n');
    let mut ordered: Vec<&Measurement> = all.iter().collect();
    ordered.sort_by_key(|m| (m.backend, m.round));
    for m in ordered {
        let _ = write!(md, "| {} | {} |", m.round, m.backend.name());
        for &Column { of: phase, .. } in &PHASES {
            let p = phase(m);
            let _ = write!(md, " {}, {} |", p.ops, thousands(p.rate()));
        }
        md.push('\n');
    }
    let _ = writeln!(
        md,
        "\nLoad average (1, 5, 15 min): {load_start} at start, {} at end. CPUs: {}.",
        loadavg(),
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    );
    md
}

fn run(options: &Options) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}"))?;
    let start = utc_now();
    let load_start = loadavg();
    println!(
        "as_throughput ({} run): stores {}, {} workers, {} ms phases, at most {} operations, \
         {} round(s); load average {load_start}",
        if options.reduced { "reduced" } else { "full" },
        options
            .stores
            .iter()
            .map(|b| b.name())
            .collect::<Vec<_>>()
            .join(", "),
        options.workers,
        options.duration.as_millis(),
        options.max_ops,
        options.rounds
    );
    // A database that cannot be reached fails the run now, not after the other stores ran.
    #[cfg(feature = "postgres")]
    if options.stores.contains(&Backend::Postgres) {
        runtime.block_on(async { postgres::Schema::create().await?.drop().await })?;
    }
    // One short unreported pass first: the process's first requests (page faults, the
    // allocator growing its pools) would otherwise land in the first store's first round.
    if !options.reduced {
        let warm_up = Options {
            duration: options.duration.min(Duration::from_millis(500)),
            max_ops: options.max_ops.min(2_000),
            ..options.clone()
        };
        runtime
            .block_on(measure(Backend::Memory, 0, &warm_up))
            .map_err(|e| format!("memory store, warm-up: {e}"))?;
    }
    let mut all = Vec::new();
    for round in 1..=options.rounds {
        let mut order = options.stores.clone();
        if round % 2 == 0 {
            order.reverse();
        }
        for backend in order {
            let m = runtime
                .block_on(measure(backend, round, options))
                .map_err(|e| format!("{} store, round {round}: {e}", backend.name()))?;
            println!(
                "round {round} {:<8} authorize {:>7.0}/s  exchange {:>7.0}/s  refresh {:>7.0}/s  \
                 full flow {:>6.0}/s  ({} codes, {} flows)",
                backend.name(),
                m.authorize.rate(),
                m.exchange.rate(),
                m.refresh.rate(),
                m.flow.rate(),
                m.exchange.ops,
                m.flow.ops
            );
            all.push(m);
        }
    }
    println!("\n{}", tables(&all, options));
    println!("load average at end: {}", loadavg());
    if let Some(path) = &options.markdown {
        std::fs::write(path, report(&all, options, &start, &load_start))
            .map_err(|e| format!("cannot write {path}: {e}"))?;
        println!("wrote {path}");
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = Options::from_args(&args).and_then(|options| run(&options));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("as_throughput: {message}");
            ExitCode::FAILURE
        }
    }
}
