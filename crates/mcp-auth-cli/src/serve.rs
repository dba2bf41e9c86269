//! `mcp-auth serve`: the embedded authorization server and a demo MCP endpoint it protects, in
//! one axum app on one listener.
//!
//! - `/mcp`: an rmcp streamable HTTP endpoint with the demo tools of `hmac_server::DemoServer`
//!   (`whoami`, and `hello`, which needs scope `greet`), behind `mcp_auth_axum::AuthLayer` with
//!   the server's in-process validator;
//! - `/.well-known/oauth-protected-resource/mcp`: its RFC 9728 metadata, naming the issuer;
//! - every path of the authorization server (metadata, JWKS, registration, authorization,
//!   token, revocation, introspection).
//!
//! Standard output: the bound address first (`listening on ADDR`), then the issuer and the MCP
//! endpoint, the generated `admin` password when one was generated, and `ready` last. Logs
//! go to standard error.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcp_auth_axum::authorization_server_router;
use mcp_auth_core::Scopes;
use mcp_auth_core::metadata::ResourceUri;
use mcp_auth_server::metadata::Issuer;
use mcp_auth_server::server::{AuthorizationServer, ServerConfig};
use mcp_auth_server::store::{MemoryStore, PostgresStore, SqliteStore, Store};
use mcp_auth_server::user::{Password, StaticUser, StaticUsers, hash_password};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::CliError;

/// Scopes the server lists and clients may request.
const SCOPES_SUPPORTED: &str = "mcp:tools greet";
/// Scopes granted when a request names none.
const DEFAULT_SCOPES: &str = "mcp:tools";
/// Where a generated `admin` user is kept (its password hash only) for persistent stores.
const GENERATED_USERS_FILE: &str = "mcp-auth-users.toml";

/// Arguments of `mcp-auth serve`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Without --users, an `admin` user is created with a random password, \
    printed once. With a persistent store its hash is kept in ./mcp-auth-users.toml, and later \
    starts reuse it."
)]
pub(crate) struct ServeArgs {
    /// The address to listen on (port 0 picks a free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8000")]
    bind: SocketAddr,
    /// The store: sqlite://PATH (created if missing), postgres://..., or memory
    #[arg(long, value_name = "URL", default_value = "sqlite://mcp-auth.db")]
    store: String,
    /// A TOML file of users: `[[user]]` tables with username, password_hash (PHC, see
    /// `mcp-auth hash-password`) and optional email, subject, display_name
    #[arg(long, value_name = "PATH")]
    users: Option<PathBuf>,
    /// The issuer identifier (default http://{bind address})
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    /// Accept a plain http issuer on a non-loopback host (cookies lose __Host- and Secure);
    /// implied for loopback http issuers
    #[arg(long)]
    insecure_http: bool,
}

/// The `--users` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    /// The users.
    #[serde(default)]
    user: Vec<StaticUser>,
}

/// Runs the server until Ctrl-C.
///
/// # Errors
///
/// A [`CliError`] when the configuration is refused or the server cannot start.
pub(crate) fn run(args: &ServeArgs) -> Result<(), CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(args))
}

async fn serve(args: &ServeArgs) -> Result<(), CliError> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();

    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| CliError::new(format!("cannot listen on {}: {e}", args.bind)))?;
    let bound = listener
        .local_addr()
        .map_err(|e| CliError::new(format!("cannot read the bound address: {e}")))?;

    let issuer_raw = args
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    let issuer_raw = issuer_raw.trim_end_matches('/').to_owned();
    let issuer = if args.insecure_http {
        Issuer::insecure_http(&issuer_raw)
    } else {
        Issuer::parse(&issuer_raw)
    }
    .map_err(|e| {
        CliError::new(format!(
            "invalid issuer {issuer_raw}: {e} (a plain http issuer on a non-loopback host \
             needs --insecure-http)"
        ))
    })?;
    let http = issuer_raw.starts_with("http://");
    let resource_raw = format!("{issuer_raw}/mcp");
    let resource = if http {
        ResourceUri::insecure_http(&resource_raw)
    } else {
        ResourceUri::parse(&resource_raw)
    }
    .map_err(|e| CliError::new(format!("invalid resource {resource_raw}: {e}")))?;

    let (store, persistent) = open_store(&args.store).await?;
    let (users, generated) = load_users(args.users.as_deref(), persistent)?;

    let mut config = ServerConfig::new(issuer, resource.as_str());
    config.scopes_supported = parse_scopes(SCOPES_SUPPORTED)?;
    config.default_scopes = parse_scopes(DEFAULT_SCOPES)?;
    let server = AuthorizationServer::start(config, store, Arc::new(users))
        .await
        .map_err(|e| CliError::new(format!("the authorization server cannot start: {e}")))?;

    let app = app(&server, &resource)?;

    println!("listening on {bound}");
    println!("issuer: {issuer_raw}");
    println!("MCP endpoint: {resource_raw}");
    match generated {
        Some(Generated::Printed(password)) => {
            println!("admin password: {}", password.as_str());
            if persistent {
                println!(
                    "(shown once: only its hash is kept, in {GENERATED_USERS_FILE}; delete that \
                     file to get a new one)"
                );
            } else {
                println!("(shown once: the memory store forgets it when the server stops)");
            }
        }
        Some(Generated::Kept) => {
            println!(
                "users: {GENERATED_USERS_FILE} (the admin password was printed at first start)"
            );
        }
        None => {}
    }
    println!("ready (Ctrl-C to stop)");

    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| CliError::new(format!("the server failed: {e}")))
}

/// The whole app: the protected MCP endpoint, its metadata and the authorization server.
fn app(server: &AuthorizationServer, resource: &ResourceUri) -> Result<axum::Router, CliError> {
    let prm = server
        .protected_resource(resource.clone())
        .challenge_scopes(parse_scopes(DEFAULT_SCOPES)?)
        .resource_name("mcp-auth serve");
    Ok(
        hmac_server::protected_app(server.validator(resource.as_str()), &prm, false)
            .merge(authorization_server_router(server.clone())),
    )
}

fn parse_scopes(raw: &str) -> Result<Scopes, CliError> {
    raw.parse()
        .map_err(|_| CliError::new(format!("invalid scopes: {raw}")))
}

/// Opens the store named by `url`; the flag says whether it outlives the process.
async fn open_store(url: &str) -> Result<(Arc<dyn Store>, bool), CliError> {
    let failed = |e: &dyn std::fmt::Display| CliError::new(format!("cannot open the store: {e}"));
    if url == "memory" {
        return Ok((Arc::new(MemoryStore::new()), false));
    }
    if url.starts_with("sqlite:") {
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let store = SqliteStore::connect(url).await.map_err(|e| failed(&e))?;
        return Ok((Arc::new(store), !memory));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = PostgresStore::connect(url).await.map_err(|e| failed(&e))?;
        return Ok((Arc::new(store), true));
    }
    Err(CliError::new(format!(
        "unknown store {url:?}: use sqlite://PATH, postgres://... or memory"
    )))
}

/// What became of a generated `admin` user.
enum Generated {
    /// Created now: its password, to print once.
    Printed(Zeroizing<String>),
    /// Created at an earlier start and read back from [`GENERATED_USERS_FILE`].
    Kept,
}

/// The users: from `--users`, else the generated `admin`.
fn load_users(
    path: Option<&Path>,
    persistent: bool,
) -> Result<(StaticUsers, Option<Generated>), CliError> {
    if let Some(path) = path {
        return Ok((read_users(path)?, None));
    }
    let kept = Path::new(GENERATED_USERS_FILE);
    if persistent && kept.exists() {
        return Ok((read_users(kept)?, Some(Generated::Kept)));
    }
    let password = generate_password()?;
    let hash = hash_password(&Password::new(password.as_str()))
        .map_err(|e| CliError::new(format!("cannot hash the admin password: {e}")))?;
    if persistent {
        write_generated(kept, &hash)?;
    }
    let users = StaticUsers::new([StaticUser::new("admin", hash)])
        .map_err(|e| CliError::new(format!("invalid users: {e}")))?;
    Ok((users, Some(Generated::Printed(password))))
}

fn read_users(path: &Path) -> Result<StaticUsers, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::new(format!("cannot read {}: {e}", path.display())))?;
    let file: UsersFile = toml::from_str(&text)
        .map_err(|e| CliError::new(format!("invalid users file {}: {e}", path.display())))?;
    if file.user.is_empty() {
        return Err(CliError::new(format!(
            "{} names no user ([[user]] tables)",
            path.display()
        )));
    }
    StaticUsers::new(file.user)
        .map_err(|e| CliError::new(format!("invalid users in {}: {e}", path.display())))
}

/// A random password: 24 bytes, base64url (32 characters).
fn generate_password() -> Result<Zeroizing<String>, CliError> {
    let mut bytes = Zeroizing::new([0u8; 24]);
    getrandom::fill(bytes.as_mut_slice())
        .map_err(|e| CliError::new(format!("no randomness: {e}")))?;
    Ok(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_slice())))
}

/// Writes the generated user's hash (never the password), readable by the owner only.
fn write_generated(path: &Path, hash: &str) -> Result<(), CliError> {
    let text = format!(
        "# Generated by `mcp-auth serve`: the admin password was printed once at first start.\n\
         # Delete this file to generate a new one.\n\n\
         [[user]]\nusername = \"admin\"\npassword_hash = \"{hash}\"\n"
    );
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let failed = |e: std::io::Error| CliError::new(format!("cannot write {}: {e}", path.display()));
    let mut file = options.open(path).map_err(failed)?;
    std::io::Write::write_all(&mut file, text.as_bytes()).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_file_parses() {
        let file: UsersFile = toml::from_str(
            "[[user]]\nusername = \"alice\"\npassword_hash = \"$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\"\nemail = \"alice@example.com\"\n",
        )
        .expect("parses");
        assert_eq!(file.user.len(), 1);
        assert_eq!(file.user[0].username, "alice");
        assert_eq!(file.user[0].email.as_deref(), Some("alice@example.com"));
    }

    #[test]
    fn generated_passwords_differ() {
        let a = generate_password().expect("random");
        let b = generate_password().expect("random");
        assert_eq!(a.len(), 32);
        assert_ne!(*a, *b);
    }
}
