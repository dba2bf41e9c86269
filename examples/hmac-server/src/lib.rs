//! An rmcp MCP server over streamable HTTP, protected by mcp-auth with HMAC (HS256) tokens.
//!
//! Tools: `whoami` returns the caller's subject, email and scopes; `hello` needs scope `greet`.
//! The library part builds the [`axum::Router`] so tests can serve it on an ephemeral port.
//!
//! # Example
//!
//! ```
//! use hmac_server::{Settings, app};
//!
//! let settings = Settings::for_address("127.0.0.1:8000".parse().unwrap(), vec![9u8; 32]).unwrap();
//! let router = app(&settings).unwrap();
//! # let _ = router;
//! ```

pub mod bench;

use std::net::SocketAddr;
use std::sync::Arc;

use mcp_auth_axum::{AuthLayer, metadata_router};
use mcp_auth_core::cache::{CacheConfig, CachedValidator};
use mcp_auth_core::metadata::{ProtectedResource, ResourceUri, ResourceUriError};
use mcp_auth_core::{Scopes, TokenValidator};
use mcp_auth_providers::config::{Config, ConfigError};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::model::{CallToolResult, ContentBlock, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, ServerHandler, tool, tool_handler, tool_router};
use serde_json::json;

/// Scopes this server knows.
pub const SCOPES: &str = "mcp:tools greet";

/// The MCP server: two tools.
#[derive(Debug, Clone)]
pub struct DemoServer {
    tool_router: ToolRouter<Self>,
}

impl Default for DemoServer {
    fn default() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }
}

#[tool_router]
impl DemoServer {
    /// Who is calling: subject, email, username, scopes, client.
    #[tool(description = "Return the caller's identity: subject, email and scopes")]
    async fn whoami(
        &self,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let principal = mcp_auth_axum::rmcp::principal(&parts)?;
        let identity = json!({
            "subject": principal.subject(),
            "email": principal.email(),
            "username": principal.username(),
            "scopes": principal.scopes().iter().map(ToString::to_string).collect::<Vec<_>>(),
            "client_id": principal.client_id(),
        });
        Ok(CallToolResult::success(vec![ContentBlock::text(
            identity.to_string(),
        )]))
    }

    /// A greeting; needs scope `greet` (also enforced by the layer, which answers 403).
    #[tool(description = "Say hello to the caller (requires scope `greet`)")]
    async fn hello(
        &self,
        Extension(parts): Extension<http::request::Parts>,
    ) -> Result<CallToolResult, ErrorData> {
        let principal = mcp_auth_axum::rmcp::require_scopes(&parts, "greet")?;
        Ok(CallToolResult::success(vec![ContentBlock::text(format!(
            "Hello, {}!",
            principal.username()
        ))]))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for DemoServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// Why the server could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The validator configuration is wrong.
    #[error(transparent)]
    Config(ConfigError),
    /// The resource URI is wrong.
    #[error("MCP_RESOURCE_URI is invalid: {0}")]
    Resource(ResourceUriError),
}

/// Everything the server needs.
pub struct Settings {
    /// Where to listen.
    pub bind: SocketAddr,
    /// The protected resource (its URI is also the token audience by default).
    pub resource: ProtectedResource,
    /// The token validator, behind the validation cache.
    pub validator: Arc<dyn TokenValidator>,
    /// The same validator without the cache.
    pub uncached: Arc<dyn TokenValidator>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// Settings from a validator [`Config`]: the resource is `resource_uri`, the audience
    /// defaults to it.
    ///
    /// # Errors
    ///
    /// [`SettingsError`] naming what is wrong.
    pub fn new(
        bind: SocketAddr,
        resource_uri: &str,
        mut config: Config,
    ) -> Result<Self, SettingsError> {
        let uri = ResourceUri::parse(resource_uri).map_err(SettingsError::Resource)?;
        let scopes: Scopes = SCOPES.parse().unwrap_or_default();
        let mut resource = ProtectedResource::new(uri)
            .scopes_supported(scopes)
            // A client starts with the basic scope and steps up to `greet` when `hello` asks.
            .challenge_scopes("mcp:tools".parse().unwrap_or_default())
            .resource_name("mcp-auth HMAC demo");
        if let Some(issuer) = &config.issuer {
            resource = resource.authorization_server(issuer.clone());
        }
        if config.audience.is_none() {
            config.audience = Some(resource_uri.to_owned());
        }
        if config.provider.is_none() {
            config.provider = Some("hmac".to_owned());
        }
        let validator = config.build().map_err(SettingsError::Config)?;
        let uncached = validator.clone();
        let validator: Arc<dyn TokenValidator> =
            Arc::new(CachedValidator::new(validator, CacheConfig::default()));
        Ok(Self {
            bind,
            resource,
            validator,
            uncached,
        })
    }

    /// Settings for `http://{bind}/mcp` with one HMAC secret.
    ///
    /// # Errors
    ///
    /// [`SettingsError`] for a short secret.
    pub fn for_address(bind: SocketAddr, secret: Vec<u8>) -> Result<Self, SettingsError> {
        let mut config = Config::default();
        config.secret = Some(format!("base64:{}", base64_encode(&secret)));
        Self::new(bind, &format!("http://{bind}/mcp"), config)
    }
}

/// Standard base64 of `bytes`.
pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// How requests to `/mcp` are authenticated. Everything but [`AuthMode::Cached`] exists for
/// `cargo xtask bench`, which measures what authentication costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// The validator behind the validation cache (what [`app`] serves).
    Cached,
    /// The validator alone: every request verifies its token's signature.
    Uncached,
    /// No authentication at all: the ceiling a benchmark compares against. Never deploy this.
    InsecureNone,
}

/// Options of [`app_with`].
#[derive(Debug, Clone, Copy)]
pub struct AppOptions {
    /// Authentication mode.
    pub auth: AuthMode,
    /// Serve MCP statelessly with JSON responses (no `Mcp-Session-Id`).
    pub stateless: bool,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            auth: AuthMode::Cached,
            stateless: false,
        }
    }
}

/// The whole application: the protected MCP endpoint at `/mcp` and the metadata routes.
///
/// # Errors
///
/// None today; kept fallible for settings checked at build time.
pub fn app(settings: &Settings) -> Result<axum::Router, SettingsError> {
    app_with(settings, AppOptions::default())
}

/// [`app`] with explicit options.
///
/// # Errors
///
/// As [`app`].
pub fn app_with(settings: &Settings, options: AppOptions) -> Result<axum::Router, SettingsError> {
    let validator = match options.auth {
        AuthMode::Cached => settings.validator.clone(),
        AuthMode::Uncached => settings.uncached.clone(),
        AuthMode::InsecureNone => {
            return Ok(axum::Router::new()
                .nest_service("/mcp", mcp_service(&settings.resource, options.stateless))
                .merge(metadata_router(&settings.resource)));
        }
    };
    Ok(protected_app(
        validator,
        &settings.resource,
        options.stateless,
    ))
}

/// The demo MCP endpoint at `/mcp` behind [`AuthLayer`] with `validator` (tool `hello` needs
/// scope `greet`), and `resource`'s metadata routes: [`app_with`] serves it with the HMAC
/// validator, `mcp-auth serve` with the embedded authorization server's.
///
/// `stateless`: JSON responses without `Mcp-Session-Id`, and so without session binding.
pub fn protected_app(
    validator: Arc<dyn TokenValidator>,
    resource: &ProtectedResource,
    stateless: bool,
) -> axum::Router {
    let mut auth = AuthLayer::new(validator, resource.clone())
        .tool_scopes("hello", "greet".parse().unwrap_or_default());
    if stateless {
        auth = auth.insecure_without_session_binding();
    }
    axum::Router::new()
        .nest_service("/mcp", mcp_service(resource, stateless))
        .layer(auth)
        .merge(metadata_router(resource))
}

/// The rmcp streamable HTTP service of [`DemoServer`] for `resource`.
fn mcp_service(
    resource: &ProtectedResource,
    stateless: bool,
) -> StreamableHttpService<DemoServer, LocalSessionManager> {
    let mut config = StreamableHttpServerConfig::default();
    // rmcp refuses Host headers other than loopback by default (DNS rebinding); allow the
    // configured host too.
    if let Some(host) = url_host(resource.uri().as_str()) {
        config.allowed_hosts.push(host);
    }
    if stateless {
        config.legacy_session_mode = false;
        config.json_response = true;
    }
    StreamableHttpService::new(|| Ok(DemoServer::default()), Default::default(), config)
}

fn url_host(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    if let Some(v6) = authority.strip_prefix('[') {
        // `[::1]:8000` or `[::1]`: the host is the bracketed literal.
        return v6.split_once(']').map(|(host, _)| format!("[{host}]"));
    }
    Some(
        authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .to_owned(),
    )
}

/// How the example binaries start: settings from the environment, a secret generated when
/// `JWT_SECRET` is unset, and the banner they print.
///
/// Environment: `MCP_BIND` (default given by the binary), `MCP_RESOURCE_URI` (default
/// `http://{MCP_BIND}/mcp`), and the validator settings of `mcp_auth_providers::config`.
#[derive(Debug)]
pub struct DevSetup {
    /// The server settings.
    pub settings: Settings,
    /// The canonical resource URI.
    pub resource_uri: String,
    /// A development token, when the secret was generated for this run: (secret, token).
    generated: Option<(Vec<u8>, String)>,
}

impl DevSetup {
    /// Reads the environment; generates a secret (and a token for it) when `JWT_SECRET` is unset.
    ///
    /// # Errors
    ///
    /// A message naming the setting at fault.
    pub fn from_env(default_bind: &str) -> Result<Self, Box<dyn std::error::Error>> {
        let bind: SocketAddr = std::env::var("MCP_BIND")
            .unwrap_or_else(|_| default_bind.to_owned())
            .parse()
            .map_err(|e| format!("MCP_BIND is not a socket address: {e}"))?;
        let resource_uri =
            std::env::var("MCP_RESOURCE_URI").unwrap_or_else(|_| format!("http://{bind}/mcp"));
        let mut config = Config::from_env()?;
        let mut secret = None;
        if config.secret.is_none() {
            let mut fresh = vec![0u8; 32];
            getrandom::fill(&mut fresh).map_err(|e| format!("no randomness: {e}"))?;
            config.secret = Some(format!("base64:{}", base64_encode(&fresh)));
            secret = Some(fresh);
        }
        let audience = config
            .audience
            .clone()
            .unwrap_or_else(|| resource_uri.clone());
        let issuer = config.issuer.clone();
        let settings = Settings::new(bind, &resource_uri, config)?;
        let generated = match secret {
            Some(secret) => {
                let token = dev_token(&secret, &audience, issuer.as_deref(), "dev-user")?;
                Some((secret, token))
            }
            None => None,
        };
        Ok(Self {
            settings,
            resource_uri,
            generated,
        })
    }

    /// The banner: where the server is, and the generated secret and token if any.
    pub fn banner(&self, server: &str) -> String {
        use std::fmt::Write as _;
        let uri = &self.resource_uri;
        let mut out = String::new();
        let _ = writeln!(out, "MCP server ({server}) protected by mcp-auth at {uri}");
        let _ = writeln!(out, "metadata: {}", self.settings.resource.metadata_url());
        if let Some((secret, token)) = &self.generated {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "JWT_SECRET was not set; generated one for this run only:"
            );
            let _ = writeln!(out, "  JWT_SECRET=base64:{}", base64_encode(secret));
            let _ = writeln!(
                out,
                "A token for local use (sub dev-user, scopes \"{SCOPES}\", valid 1 hour):"
            );
            let _ = writeln!(out, "  {token}");
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "Try: curl -i -X POST {uri} -H 'Authorization: Bearer <token>' \\"
            );
            let _ = writeln!(
                out,
                "       -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \\"
            );
            let _ = writeln!(
                out,
                "       -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{{}},\"clientInfo\":{{\"name\":\"curl\",\"version\":\"0\"}}}}}}'"
            );
        }
        out
    }
}

/// Mints an HS256 development token for `subject` with every scope of [`SCOPES`], valid one hour.
///
/// # Errors
///
/// When the clock is before 1970 or signing fails.
pub fn dev_token(
    secret: &[u8],
    audience: &str,
    issuer: Option<&str>,
    subject: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let mut claims = json!({
        "sub": subject,
        "aud": audience,
        "scope": SCOPES,
        "iat": now,
        "exp": now + 3600,
    });
    if let Some(issuer) = issuer {
        claims["iss"] = issuer.into();
    }
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )?)
}
