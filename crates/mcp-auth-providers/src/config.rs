//! Building a validator from configuration: environment variables or a TOML file (feature
//! `config`).
//!
//! | setting | environment variable | TOML key | used by |
//! |---|---|---|---|
//! | provider name: `hmac`, `okta`, `google`, `azure`, `cognito`, `oidc` or `introspection` | `OAUTH_PROVIDER` | `provider` | all |
//! | audience (this resource) | `OAUTH_AUDIENCE` | `audience` | hmac, okta, oidc; azure (or `client_id`); introspection (optional) |
//! | issuer | `OAUTH_ISSUER` | `issuer` | oidc; hmac and introspection (optional); okta (instead of `domain`); cognito (instead of `region` + `user_pool_id`) |
//! | current secret | `JWT_SECRET` | `secret` | hmac |
//! | older secrets still accepted, comma-separated | `JWT_PREVIOUS_SECRETS` | `previous_secrets` | hmac |
//! | clock-skew leeway in seconds (default 60, max 300) | `OAUTH_LEEWAY_SECS` | `leeway_secs` | hmac, oidc |
//! | Okta org URL, e.g. `https://dev-1.okta.com` | `OAUTH_DOMAIN` | `domain` | okta |
//! | Okta authorization server: a custom server id (default `default`), or `org` | `OAUTH_AUTHORIZATION_SERVER` | `authorization_server` | okta |
//! | OAuth client id | `OAUTH_CLIENT_ID` | `client_id` | google, cognito, introspection; azure (an extra accepted audience) |
//! | client secret at the introspection endpoint | `OAUTH_CLIENT_SECRET` | `client_secret` | introspection |
//! | Entra ID tenant: a tenant id (GUID), a comma-separated list of them, or `common` / `organizations` for any tenant | `OAUTH_TENANT` | `tenant` | azure |
//! | AWS region, e.g. `eu-west-1` | `OAUTH_REGION` | `region` | cognito |
//! | user pool id, e.g. `eu-west-1_AbCdEf123` | `OAUTH_USER_POOL_ID` | `user_pool_id` | cognito |
//! | RFC 7662 introspection endpoint URL | `OAUTH_INTROSPECTION_ENDPOINT` | `introspection_endpoint` | introspection |
//! | Cognito tokens accepted: `access` (default), `id` or `both` | `OAUTH_TOKEN_USE` | `token_use` | cognito |
//! | also accept OpenID Connect ID tokens (default false; not recommended) | `OAUTH_ACCEPT_ID_TOKENS` | `accept_id_tokens` | okta, azure, oidc |
//! | allow plain `http` for discovery, keys and introspection (default false; local development only) | `OAUTH_INSECURE_ALLOW_HTTP` | `insecure_allow_http` | every provider but hmac |
//!
//! Required settings, by provider:
//!
//! | provider | required |
//! |---|---|
//! | `hmac` | `audience`, `secret` |
//! | `okta` | `domain` (or `issuer`), `audience` |
//! | `google` | `client_id` |
//! | `azure` | `tenant`, `audience` (or `client_id`) |
//! | `cognito` | `region` + `user_pool_id` (or `issuer`), `client_id` |
//! | `oidc` | `issuer`, `audience` |
//! | `introspection` | `introspection_endpoint`, `client_id`, `client_secret` |
//!
//! - A secret is taken as its UTF-8 bytes, or decoded from base64 when written `base64:<value>`
//!   (what `mcp-auth secret` prints). The client secret is used as written.
//! - Booleans are `true`/`false` in TOML; in the environment also `1`/`0`, `yes`/`no`, `on`/`off`.
//! - Okta: without `domain`, an `issuer` of the form `{domain}/oauth2/{id}` gives both the domain
//!   and the authorization server; any other `issuer` stands in for `domain`. With both, the
//!   issuer must be the one `domain` and `authorization_server` make.
//! - Cognito: with `region`, `user_pool_id` and `issuer` all set, the issuer must be the pool's.
//! - `leeway_secs` is refused for the presets and introspection, which do not take one, rather
//!   than silently ignored.
//!
//! [`Config::build`] builds `hmac` only. Every other provider needs crate feature `oidc` and
//! [`Config::build_async`], which discovers the issuer and fetches its keys once, so an
//! unreachable issuer, an issuer mismatch or an empty key set shows at startup as
//! [`ConfigError::Provider`].
//!
//! # Example
//!
//! ```
//! use mcp_auth_providers::config::Config;
//!
//! let config = Config::from_toml_str(r#"
//!     provider = "hmac"
//!     audience = "https://mcp.example.com/mcp"
//!     secret = "base64:q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="
//! "#).unwrap();
//! let validator = config.build().unwrap();
//!
//! let missing = Config::from_toml_str(r#"provider = "hmac""#).unwrap().build().unwrap_err();
//! assert_eq!(missing.to_string(), "setting `audience` (OAUTH_AUDIENCE) is required for provider hmac");
//! ```
//!
//! A remote provider:
//!
//! ```no_run
//! use mcp_auth_providers::config::Config;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::from_toml_str(r#"
//!     provider = "okta"
//!     domain = "https://dev-123456.okta.com"
//!     audience = "api://mcp-server"
//! "#)?;
//! let validator = config.build_async().await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mcp_auth_core::{SecretBytes, TokenValidator};
use serde::Deserialize;
use zeroize::Zeroizing;

/// Why a configuration could not become a validator. Each variant names the setting at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is absent.
    #[error("setting `{setting}` ({env}) is required for provider {provider}")]
    Missing {
        /// TOML key.
        setting: &'static str,
        /// Environment variable.
        env: &'static str,
        /// Provider that needs it.
        provider: String,
    },
    /// Neither of two settings, one of which is required, is present.
    #[error(
        "setting `{setting}` ({env}) or `{alternative}` ({alternative_env}) is required for provider {provider}"
    )]
    MissingEither {
        /// TOML key of the usual setting.
        setting: &'static str,
        /// Its environment variable.
        env: &'static str,
        /// TOML key of the setting that may stand in for it.
        alternative: &'static str,
        /// Its environment variable.
        alternative_env: &'static str,
        /// Provider that needs it.
        provider: String,
    },
    /// A setting has a value that cannot be used.
    #[error("setting `{setting}` ({env}) is invalid: {reason}")]
    Invalid {
        /// TOML key.
        setting: &'static str,
        /// Environment variable.
        env: &'static str,
        /// Why (never contains a secret).
        reason: String,
    },
    /// The provider name is not known.
    #[error(
        "setting `provider` (OAUTH_PROVIDER) is {0:?}; known providers: hmac, okta, google, azure, cognito, oidc, introspection"
    )]
    UnknownProvider(String),
    /// The provider is known but its crate feature is off.
    #[error("provider {provider} needs mcp-auth-providers feature `{feature}`")]
    FeatureDisabled {
        /// The provider.
        provider: String,
        /// The feature to enable.
        feature: &'static str,
    },
    /// [`Config::build`] was called for a provider that only [`Config::build_async`] builds.
    #[error(
        "provider {provider} is set up asynchronously (discovery and key fetch): call `Config::build_async().await`; `Config::build` builds provider hmac only"
    )]
    NeedsAsync {
        /// The provider.
        provider: String,
    },
    /// The provider could not be set up: its issuer is unreachable, names another issuer, or
    /// publishes no usable key.
    #[cfg(feature = "oidc")]
    #[error("provider {provider} could not be set up: {source}")]
    Provider {
        /// The provider.
        provider: String,
        /// What failed.
        #[source]
        source: crate::oidc::IssuerError,
    },
    /// The TOML file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed or has an unknown key.
    #[error("invalid configuration TOML: {0}")]
    Toml(String),
}

/// Provider configuration. Secrets are held as text until a build decodes them; they are
/// redacted by `Debug` and zeroized on drop.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Provider name: `hmac`, `okta`, `google`, `azure`, `cognito`, `oidc` or `introspection`.
    pub provider: Option<String>,
    /// The audience tokens must carry (usually this server's canonical URI).
    pub audience: Option<String>,
    /// The issuer tokens must carry.
    pub issuer: Option<String>,
    /// The current HMAC secret.
    pub secret: Option<String>,
    /// Older HMAC secrets still accepted.
    #[serde(default)]
    pub previous_secrets: Vec<String>,
    /// Leeway in seconds.
    pub leeway_secs: Option<u64>,
    /// Okta org URL, e.g. `https://dev-1.okta.com`.
    pub domain: Option<String>,
    /// Okta authorization server: a custom server id (`default` when unset), or `org`.
    pub authorization_server: Option<String>,
    /// OAuth client id (google, azure, cognito, introspection).
    pub client_id: Option<String>,
    /// Client secret at the introspection endpoint.
    pub client_secret: Option<String>,
    /// Entra ID tenant: a GUID, a comma-separated list of GUIDs, `common` or `organizations`.
    pub tenant: Option<String>,
    /// AWS region of a Cognito user pool.
    pub region: Option<String>,
    /// Cognito user pool id.
    pub user_pool_id: Option<String>,
    /// RFC 7662 introspection endpoint URL.
    pub introspection_endpoint: Option<String>,
    /// Cognito tokens accepted: `access`, `id` or `both`.
    pub token_use: Option<String>,
    /// Also accept OpenID Connect ID tokens (okta, azure, oidc).
    #[serde(default)]
    pub accept_id_tokens: bool,
    /// Allow plain `http` URLs for discovery, keys and introspection: local development only.
    #[serde(default)]
    pub insecure_allow_http: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("provider", &self.provider)
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("previous_secrets", &self.previous_secrets.len())
            .field("leeway_secs", &self.leeway_secs)
            .field("domain", &self.domain)
            .field("authorization_server", &self.authorization_server)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("tenant", &self.tenant)
            .field("region", &self.region)
            .field("user_pool_id", &self.user_pool_id)
            .field("introspection_endpoint", &self.introspection_endpoint)
            .field("token_use", &self.token_use)
            .field("accept_id_tokens", &self.accept_id_tokens)
            .field("insecure_allow_http", &self.insecure_allow_http)
            .finish()
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.secret.zeroize();
        self.previous_secrets.zeroize();
        self.client_secret.zeroize();
    }
}

/// The providers a configuration can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    Hmac,
    Okta,
    Google,
    Azure,
    Cognito,
    Oidc,
    Introspection,
}

impl Provider {
    fn parse(name: &str) -> Result<Self, ConfigError> {
        Ok(match name.trim().to_ascii_lowercase().as_str() {
            "hmac" => Self::Hmac,
            "okta" => Self::Okta,
            "google" => Self::Google,
            "azure" => Self::Azure,
            "cognito" => Self::Cognito,
            "oidc" => Self::Oidc,
            "introspection" => Self::Introspection,
            other => return Err(ConfigError::UnknownProvider(other.to_owned())),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Hmac => "hmac",
            Self::Okta => "okta",
            Self::Google => "google",
            Self::Azure => "azure",
            Self::Cognito => "cognito",
            Self::Oidc => "oidc",
            Self::Introspection => "introspection",
        }
    }
}

/// Reads a boolean environment variable.
fn parse_bool(value: &str, setting: &'static str, env: &'static str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::Invalid {
            setting,
            env,
            reason: "expected true or false (or 1/0, yes/no, on/off)".to_owned(),
        }),
    }
}

/// A serde type error without the value it quotes (which may be a secret):
/// `invalid type: string "x", expected a boolean` becomes
/// `invalid type: string, expected a boolean`.
fn without_value(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: ", "invalid length "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some(at) = rest.rfind(", expected ")
        {
            let kind = rest.split([' ', ',']).next().unwrap_or_default();
            return format!("{prefix}{kind}{}", &rest[at..]);
        }
    }
    message.to_owned()
}

/// The keys of [`Config`], to name one in a TOML error without echoing anything else.
const TOML_KEYS: &[&str] = &[
    "provider",
    "audience",
    "issuer",
    "secret",
    "previous_secrets",
    "leeway_secs",
    "domain",
    "authorization_server",
    "client_id",
    "client_secret",
    "tenant",
    "region",
    "user_pool_id",
    "introspection_endpoint",
    "token_use",
    "accept_id_tokens",
    "insecure_allow_http",
];

/// A TOML error as text: the line and, when it is a known key, the key; never the value.
fn toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = without_value(error.message());
    let Some(start) = error.span().map(|span| span.start) else {
        return message;
    };
    let Some(before) = text.get(..start) else {
        return message;
    };
    let line_no = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or_default();
    let key = line
        .split_once('=')
        .map(|(key, _)| key.trim())
        .filter(|key| TOML_KEYS.contains(key));
    match key {
        Some(key) => format!("line {line_no}, key `{key}`: {message}"),
        None => format!("line {line_no}: {message}"),
    }
}

impl Config {
    /// Reads the settings from the process environment.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for a leeway that is not a number or a boolean that is not one.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (environment variable name to value); for tests and
    /// for other sources of variables.
    ///
    /// # Errors
    ///
    /// As [`Config::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let leeway_secs = match get("OAUTH_LEEWAY_SECS") {
            Some(v) => Some(v.trim().parse().map_err(|_| ConfigError::Invalid {
                setting: "leeway_secs",
                env: "OAUTH_LEEWAY_SECS",
                reason: "not a whole number of seconds".to_owned(),
            })?),
            None => None,
        };
        let flag = |setting, env| match get(env) {
            Some(v) => parse_bool(&v, setting, env),
            None => Ok(false),
        };
        let accept_id_tokens = flag("accept_id_tokens", "OAUTH_ACCEPT_ID_TOKENS")?;
        let insecure_allow_http = flag("insecure_allow_http", "OAUTH_INSECURE_ALLOW_HTTP")?;
        Ok(Self {
            provider: get("OAUTH_PROVIDER"),
            audience: get("OAUTH_AUDIENCE"),
            issuer: get("OAUTH_ISSUER"),
            secret: get("JWT_SECRET"),
            previous_secrets: get("JWT_PREVIOUS_SECRETS")
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            leeway_secs,
            domain: get("OAUTH_DOMAIN"),
            authorization_server: get("OAUTH_AUTHORIZATION_SERVER"),
            client_id: get("OAUTH_CLIENT_ID"),
            client_secret: get("OAUTH_CLIENT_SECRET"),
            tenant: get("OAUTH_TENANT"),
            region: get("OAUTH_REGION"),
            user_pool_id: get("OAUTH_USER_POOL_ID"),
            introspection_endpoint: get("OAUTH_INTROSPECTION_ENDPOINT"),
            token_use: get("OAUTH_TOKEN_USE"),
            accept_id_tokens,
            insecure_allow_http,
        })
    }

    /// Parses TOML text.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Toml`] for bad syntax, an unknown key or a value of the wrong type; the
    /// message gives the line and the key, never the value.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Toml(toml_error(text, &e)))
    }

    /// Reads and parses a TOML file.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Io`] or [`ConfigError::Toml`].
    pub fn from_toml_file(path: impl AsRef<std::path::Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
                    path: path.display().to_string(),
                    source,
                })?,
            );
        Self::from_toml_str(&text)
    }

    fn provider(&self) -> Result<Provider, ConfigError> {
        let name = self.provider.as_deref().ok_or(ConfigError::Missing {
            setting: "provider",
            env: "OAUTH_PROVIDER",
            provider: "(any)".to_owned(),
        })?;
        Provider::parse(name)
    }

    /// Builds the validator the configuration names: provider `hmac` only, as every other
    /// provider is set up over the network (see [`Config::build_async`]).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the setting at fault; [`ConfigError::NeedsAsync`] for a provider
    /// other than `hmac`.
    pub fn build(&self) -> Result<Arc<dyn TokenValidator>, ConfigError> {
        match self.provider()? {
            Provider::Hmac => self.build_hmac(),
            other => Err(ConfigError::NeedsAsync {
                provider: other.name().to_owned(),
            }),
        }
    }

    /// Builds the validator the configuration names, any provider. Remote providers (feature
    /// `oidc`) discover their issuer and fetch its keys once, so configuration faults show now.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the setting at fault, or [`ConfigError::Provider`] when the
    /// issuer is unreachable, names another issuer or publishes no usable key.
    pub async fn build_async(&self) -> Result<Arc<dyn TokenValidator>, ConfigError> {
        match self.provider()? {
            Provider::Hmac => self.build_hmac(),
            remote => self.build_remote(remote).await,
        }
    }

    #[cfg(feature = "hmac")]
    fn build_hmac(&self) -> Result<Arc<dyn TokenValidator>, ConfigError> {
        use crate::hmac::{HmacConfigError, HmacValidator};
        let missing = |setting, env| ConfigError::Missing {
            setting,
            env,
            provider: "hmac".to_owned(),
        };
        let audience = self
            .audience
            .as_deref()
            .ok_or(missing("audience", "OAUTH_AUDIENCE"))?;
        let secret = self
            .secret
            .as_deref()
            .ok_or(missing("secret", "JWT_SECRET"))?;
        let mut builder =
            HmacValidator::builder(audience).secret(decode_secret(secret, "secret", "JWT_SECRET")?);
        for previous in &self.previous_secrets {
            builder = builder.secret(decode_secret(
                previous,
                "previous_secrets",
                "JWT_PREVIOUS_SECRETS",
            )?);
        }
        if let Some(issuer) = &self.issuer {
            builder = builder.issuer(issuer.clone());
        }
        if let Some(secs) = self.leeway_secs {
            builder = builder.leeway(std::time::Duration::from_secs(secs));
        }
        builder
            .build()
            .map(|v| Arc::new(v) as Arc<dyn TokenValidator>)
            .map_err(|e| {
                let (setting, env) = match e {
                    HmacConfigError::SecretTooShort { index: 0, .. }
                    | HmacConfigError::NoSecret => ("secret", "JWT_SECRET"),
                    HmacConfigError::SecretTooShort { .. } => {
                        ("previous_secrets", "JWT_PREVIOUS_SECRETS")
                    }
                    HmacConfigError::EmptyAudience => ("audience", "OAUTH_AUDIENCE"),
                    HmacConfigError::LeewayTooLarge(_) => ("leeway_secs", "OAUTH_LEEWAY_SECS"),
                    _ => ("provider", "OAUTH_PROVIDER"),
                };
                ConfigError::Invalid {
                    setting,
                    env,
                    reason: e.to_string(),
                }
            })
    }

    #[cfg(not(feature = "hmac"))]
    fn build_hmac(&self) -> Result<Arc<dyn TokenValidator>, ConfigError> {
        Err(ConfigError::FeatureDisabled {
            provider: "hmac".to_owned(),
            feature: "hmac",
        })
    }

    #[cfg(not(feature = "oidc"))]
    async fn build_remote(
        &self,
        provider: Provider,
    ) -> Result<Arc<dyn TokenValidator>, ConfigError> {
        Err(ConfigError::FeatureDisabled {
            provider: provider.name().to_owned(),
            feature: "oidc",
        })
    }
}

/// Decodes a configured secret: `base64:<standard base64>` or the UTF-8 bytes of the text.
#[cfg_attr(
    not(feature = "hmac"),
    allow(dead_code, reason = "used by the hmac provider only")
)]
fn decode_secret(
    value: &str,
    setting: &'static str,
    env: &'static str,
) -> Result<SecretBytes, ConfigError> {
    match value.strip_prefix("base64:") {
        Some(encoded) => STANDARD
            .decode(encoded.trim())
            .map(SecretBytes::new)
            .map_err(|_| ConfigError::Invalid {
                setting,
                env,
                reason: "value after `base64:` is not valid base64".to_owned(),
            }),
        None => Ok(SecretBytes::new(value.as_bytes().to_vec())),
    }
}

/// The remote providers (feature `oidc`).
#[cfg(feature = "oidc")]
mod remote {
    use std::sync::Arc;
    use std::time::Duration;

    use mcp_auth_core::TokenValidator;
    use url::Url;

    use super::{Config, ConfigError, Provider};
    use crate::introspection::Introspection;
    use crate::jwt::ClaimsPolicy;
    use crate::jwt::claims::MAX_LEEWAY;
    use crate::oidc::{
        AccessTokenRules, FetchError, FetchPolicy, Issuer, IssuerError, IssuerOptions,
    };
    use crate::presets::azure::{Azure, Tenants};
    use crate::presets::cognito::{Cognito, TokenUse};
    use crate::presets::google::Google;
    use crate::presets::okta::{AuthorizationServer, Okta};

    /// A provider set up, ready to fetch what it needs.
    enum Plan {
        /// Nothing to fetch.
        Hmac,
        Okta(Okta),
        Google(Google),
        Azure(Azure),
        Cognito(Cognito),
        Oidc {
            issuer: String,
            policy: ClaimsPolicy,
            options: IssuerOptions,
            accept_id_tokens: bool,
        },
        Introspection(Introspection, FetchPolicy),
    }

    use crate::presets::azure::is_guid;

    /// Whether `text` is non-empty and made of ASCII letters, digits and `extra` only (safe in a
    /// URL path or host).
    fn is_identifier(text: &str, extra: &[u8]) -> bool {
        !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    }

    fn parse_tenants(value: &str) -> Result<Tenants, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            setting: "tenant",
            env: "OAUTH_TENANT",
            reason,
        };
        let value = value.trim();
        if value.eq_ignore_ascii_case("common") || value.eq_ignore_ascii_case("organizations") {
            return Ok(Tenants::Any);
        }
        let ids: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        if ids.is_empty() {
            return Err(invalid("no tenant given".to_owned()));
        }
        for id in &ids {
            if !is_guid(id) {
                return Err(invalid(format!(
                    "{id:?} is not a tenant id (a GUID such as \
                     72f988bf-86f1-41af-91ab-2d7cd011db47); use tenant ids, a comma-separated \
                     list of them, or `common` / `organizations` for any tenant"
                )));
            }
        }
        Ok(match ids.as_slice() {
            [one] => Tenants::One((*one).to_owned()),
            _ => Tenants::List(ids.iter().map(|id| (*id).to_owned()).collect()),
        })
    }

    fn parse_token_use(value: &str) -> Result<TokenUse, ConfigError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "access" => Ok(TokenUse::Access),
            "id" => Ok(TokenUse::Id),
            "both" => Ok(TokenUse::Both),
            _ => Err(ConfigError::Invalid {
                setting: "token_use",
                env: "OAUTH_TOKEN_USE",
                reason: format!("{:?} is not one of access, id, both", value.trim()),
            }),
        }
    }

    /// `value` if set and not blank.
    fn present(value: Option<&String>) -> Option<&str> {
        value.map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    impl Config {
        fn missing(
            &self,
            provider: Provider,
            setting: &'static str,
            env: &'static str,
        ) -> ConfigError {
            ConfigError::Missing {
                setting,
                env,
                provider: provider.name().to_owned(),
            }
        }

        fn require(
            &self,
            provider: Provider,
            value: Option<&String>,
            setting: &'static str,
            env: &'static str,
        ) -> Result<String, ConfigError> {
            present(value)
                .map(str::to_owned)
                .ok_or_else(|| self.missing(provider, setting, env))
        }

        fn issuer_options(&self) -> IssuerOptions {
            let mut options = IssuerOptions::default();
            if self.insecure_allow_http {
                options.fetch = options.fetch.insecure_allow_http();
            }
            options
        }

        /// Refuses `leeway_secs` for a provider that cannot apply it.
        fn no_leeway(&self, provider: Provider) -> Result<(), ConfigError> {
            match self.leeway_secs {
                None => Ok(()),
                Some(_) => Err(ConfigError::Invalid {
                    setting: "leeway_secs",
                    env: "OAUTH_LEEWAY_SECS",
                    reason: format!(
                        "provider {} does not take a leeway (only hmac and oidc do); unset it",
                        provider.name()
                    ),
                }),
            }
        }

        fn plan(&self, provider: Provider) -> Result<Plan, ConfigError> {
            let options = self.issuer_options();
            Ok(match provider {
                Provider::Okta => Plan::Okta(self.okta(options)?),
                Provider::Google => {
                    self.no_leeway(provider)?;
                    let client_id = self.require(
                        provider,
                        self.client_id.as_ref(),
                        "client_id",
                        "OAUTH_CLIENT_ID",
                    )?;
                    Plan::Google(Google::new(client_id).options(options))
                }
                Provider::Azure => Plan::Azure(self.azure(options)?),
                Provider::Cognito => Plan::Cognito(self.cognito(options)?),
                Provider::Oidc => {
                    let issuer =
                        self.require(provider, self.issuer.as_ref(), "issuer", "OAUTH_ISSUER")?;
                    let audience = self.require(
                        provider,
                        self.audience.as_ref(),
                        "audience",
                        "OAUTH_AUDIENCE",
                    )?;
                    let mut policy = ClaimsPolicy::new(audience);
                    if let Some(secs) = self.leeway_secs {
                        if secs > MAX_LEEWAY.as_secs() {
                            return Err(ConfigError::Invalid {
                                setting: "leeway_secs",
                                env: "OAUTH_LEEWAY_SECS",
                                reason: format!(
                                    "leeway of {secs} s exceeds the maximum of {} s",
                                    MAX_LEEWAY.as_secs()
                                ),
                            });
                        }
                        policy = policy.leeway(Duration::from_secs(secs));
                    }
                    Plan::Oidc {
                        issuer,
                        policy,
                        options,
                        accept_id_tokens: self.accept_id_tokens,
                    }
                }
                Provider::Introspection => {
                    Plan::Introspection(self.introspection()?, options.fetch)
                }
                Provider::Hmac => Plan::Hmac,
            })
        }

        fn okta(&self, options: IssuerOptions) -> Result<Okta, ConfigError> {
            let provider = Provider::Okta;
            self.no_leeway(provider)?;
            let invalid = |setting, env, reason: String| ConfigError::Invalid {
                setting,
                env,
                reason,
            };
            let audience = self.require(
                provider,
                self.audience.as_ref(),
                "audience",
                "OAUTH_AUDIENCE",
            )?;
            let configured_server = present(self.authorization_server.as_ref())
                .map(|id| {
                    if id.eq_ignore_ascii_case("org") {
                        Ok(AuthorizationServer::Org)
                    } else if is_identifier(id, b"-_") {
                        Ok(AuthorizationServer::Custom(id.to_owned()))
                    } else {
                        Err(invalid(
                            "authorization_server",
                            "OAUTH_AUTHORIZATION_SERVER",
                            format!(
                                "{id:?} is not an authorization server id (letters, digits, `-` \
                                 and `_`), nor `org`"
                            ),
                        ))
                    }
                })
                .transpose()?;
            let issuer = present(self.issuer.as_ref());
            let (domain, server) = match (present(self.domain.as_ref()), issuer) {
                (Some(domain), _) => (domain.to_owned(), configured_server),
                (None, Some(issuer)) => {
                    match issuer.trim_end_matches('/').rsplit_once("/oauth2/") {
                        Some((domain, id)) if is_identifier(id, b"-_") => {
                            let from_issuer = AuthorizationServer::Custom(id.to_owned());
                            if configured_server
                                .as_ref()
                                .is_some_and(|server| *server != from_issuer)
                            {
                                return Err(invalid(
                                    "authorization_server",
                                    "OAUTH_AUTHORIZATION_SERVER",
                                    format!("issuer {issuer:?} names authorization server {id:?}"),
                                ));
                            }
                            (domain.to_owned(), Some(from_issuer))
                        }
                        _ => (issuer.to_owned(), configured_server),
                    }
                }
                (None, None) => {
                    return Err(ConfigError::MissingEither {
                        setting: "domain",
                        env: "OAUTH_DOMAIN",
                        alternative: "issuer",
                        alternative_env: "OAUTH_ISSUER",
                        provider: provider.name().to_owned(),
                    });
                }
            };
            let parsed = Url::parse(&domain).ok().filter(|url| {
                url.host_str().is_some()
                    && url.path().trim_end_matches('/').is_empty()
                    && url.query().is_none()
                    && url.fragment().is_none()
            });
            if parsed.is_none() {
                let setting = if present(self.domain.as_ref()).is_some() {
                    ("domain", "OAUTH_DOMAIN")
                } else {
                    ("issuer", "OAUTH_ISSUER")
                };
                return Err(invalid(
                    setting.0,
                    setting.1,
                    format!(
                        "{domain:?} is not an Okta org URL such as https://dev-123456.okta.com \
                         (or an issuer such as https://dev-123456.okta.com/oauth2/default)"
                    ),
                ));
            }
            let mut okta = Okta::new(domain, audience)
                .authorization_server(
                    server.unwrap_or_else(|| AuthorizationServer::Custom("default".to_owned())),
                )
                .options(options);
            if let (Some(_), Some(issuer)) = (present(self.domain.as_ref()), issuer)
                && issuer.trim_end_matches('/') != okta.issuer()
            {
                return Err(invalid(
                    "issuer",
                    "OAUTH_ISSUER",
                    format!(
                        "{issuer:?} is not the issuer {:?} that `domain` and \
                         `authorization_server` make; unset one of them",
                        okta.issuer()
                    ),
                ));
            }
            if self.accept_id_tokens {
                okta = okta.accept_id_tokens();
            }
            Ok(okta)
        }

        fn azure(&self, options: IssuerOptions) -> Result<Azure, ConfigError> {
            let provider = Provider::Azure;
            self.no_leeway(provider)?;
            let tenants = parse_tenants(&self.require(
                provider,
                self.tenant.as_ref(),
                "tenant",
                "OAUTH_TENANT",
            )?)?;
            let client_id = present(self.client_id.as_ref());
            let audience = present(self.audience.as_ref())
                .or(client_id)
                .ok_or_else(|| ConfigError::MissingEither {
                    setting: "audience",
                    env: "OAUTH_AUDIENCE",
                    alternative: "client_id",
                    alternative_env: "OAUTH_CLIENT_ID",
                    provider: provider.name().to_owned(),
                })?;
            let mut azure = Azure::new(tenants, audience).options(options);
            if let Some(client_id) = client_id
                && client_id != audience
            {
                azure = azure.also_accept_audience(client_id);
            }
            if self.accept_id_tokens {
                azure = azure.accept_id_tokens();
            }
            Ok(azure)
        }

        fn cognito(&self, options: IssuerOptions) -> Result<Cognito, ConfigError> {
            let provider = Provider::Cognito;
            self.no_leeway(provider)?;
            if self.accept_id_tokens {
                return Err(ConfigError::Invalid {
                    setting: "accept_id_tokens",
                    env: "OAUTH_ACCEPT_ID_TOKENS",
                    reason: "provider cognito chooses its tokens with `token_use` \
                             (OAUTH_TOKEN_USE): access, id or both"
                        .to_owned(),
                });
            }
            let token_use = match present(self.token_use.as_ref()) {
                Some(value) => parse_token_use(value)?,
                None => TokenUse::Access,
            };
            let region = present(self.region.as_ref());
            let pool = present(self.user_pool_id.as_ref());
            let issuer = present(self.issuer.as_ref());
            let pool_issuer = match (region, pool) {
                (Some(region), Some(pool)) => {
                    if !is_identifier(region, b"-") {
                        return Err(ConfigError::Invalid {
                            setting: "region",
                            env: "OAUTH_REGION",
                            reason: format!("{region:?} is not an AWS region such as eu-west-1"),
                        });
                    }
                    if !is_identifier(pool, b"-_") {
                        return Err(ConfigError::Invalid {
                            setting: "user_pool_id",
                            env: "OAUTH_USER_POOL_ID",
                            reason: format!(
                                "{pool:?} is not a user pool id such as eu-west-1_AbCdEf123"
                            ),
                        });
                    }
                    if let Some((pool_region, _)) = pool.split_once('_')
                        && pool_region != region
                    {
                        return Err(ConfigError::Invalid {
                            setting: "user_pool_id",
                            env: "OAUTH_USER_POOL_ID",
                            reason: format!(
                                "user pool {pool:?} is in region {pool_region:?}, not {region:?}"
                            ),
                        });
                    }
                    Some(crate::presets::cognito::Cognito::issuer_for(region, pool))
                }
                (Some(_), None) if issuer.is_none() => {
                    return Err(self.missing(provider, "user_pool_id", "OAUTH_USER_POOL_ID"));
                }
                (None, Some(_)) if issuer.is_none() => {
                    return Err(self.missing(provider, "region", "OAUTH_REGION"));
                }
                _ => None,
            };
            let issuer = match (pool_issuer, issuer) {
                (Some(made), Some(given)) if made != given.trim_end_matches('/') => {
                    return Err(ConfigError::Invalid {
                        setting: "issuer",
                        env: "OAUTH_ISSUER",
                        reason: format!(
                            "{given:?} is not the issuer {made:?} of the user pool that `region` \
                             and `user_pool_id` name; unset one of them"
                        ),
                    });
                }
                (Some(made), _) => made,
                (None, Some(given)) => given.to_owned(),
                (None, None) => {
                    return Err(ConfigError::MissingEither {
                        setting: "user_pool_id",
                        env: "OAUTH_USER_POOL_ID",
                        alternative: "issuer",
                        alternative_env: "OAUTH_ISSUER",
                        provider: provider.name().to_owned(),
                    });
                }
            };
            let client_id = self.require(
                provider,
                self.client_id.as_ref(),
                "client_id",
                "OAUTH_CLIENT_ID",
            )?;
            Ok(Cognito::with_issuer(issuer, client_id)
                .token_use(token_use)
                .options(options))
        }

        fn introspection(&self) -> Result<Introspection, ConfigError> {
            let provider = Provider::Introspection;
            self.no_leeway(provider)?;
            let endpoint = self.require(
                provider,
                self.introspection_endpoint.as_ref(),
                "introspection_endpoint",
                "OAUTH_INTROSPECTION_ENDPOINT",
            )?;
            let endpoint = Url::parse(&endpoint).map_err(|_| ConfigError::Invalid {
                setting: "introspection_endpoint",
                env: "OAUTH_INTROSPECTION_ENDPOINT",
                reason: format!("{endpoint:?} is not a URL"),
            })?;
            let client_id = self.require(
                provider,
                self.client_id.as_ref(),
                "client_id",
                "OAUTH_CLIENT_ID",
            )?;
            // Not trimmed: a secret is used exactly as written.
            let client_secret = self
                .client_secret
                .as_ref()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| self.missing(provider, "client_secret", "OAUTH_CLIENT_SECRET"))?;
            let mut introspection = Introspection::new(endpoint, client_id, client_secret.clone());
            if let Some(audience) = present(self.audience.as_ref()) {
                introspection = introspection.audience(audience);
            }
            if let Some(issuer) = present(self.issuer.as_ref()) {
                introspection = introspection.issuer(issuer);
            }
            Ok(introspection)
        }

        pub(super) async fn build_remote(
            &self,
            provider: Provider,
        ) -> Result<Arc<dyn TokenValidator>, ConfigError> {
            let failed = |source: IssuerError| ConfigError::Provider {
                provider: provider.name().to_owned(),
                source,
            };
            match self.plan(provider)? {
                Plan::Hmac => self.build_hmac(),
                Plan::Okta(okta) => okta.build().await.map_err(failed),
                Plan::Google(google) => google.build().await.map_err(failed),
                Plan::Azure(azure) => azure.build().await.map_err(failed),
                Plan::Cognito(cognito) => cognito.build().await.map_err(failed),
                Plan::Oidc {
                    issuer,
                    policy,
                    options,
                    accept_id_tokens,
                } => {
                    let issuer = Issuer::discover(&issuer, options).await.map_err(failed)?;
                    Ok(Arc::new(
                        issuer
                            .jwt_validator(policy)
                            .rules(Arc::new(AccessTokenRules { accept_id_tokens })),
                    ))
                }
                Plan::Introspection(introspection, fetch) => {
                    introspection.build(fetch).map_err(|e| match e {
                        FetchError::NotHttps(_) => ConfigError::Invalid {
                            setting: "introspection_endpoint",
                            env: "OAUTH_INTROSPECTION_ENDPOINT",
                            reason: e.to_string(),
                        },
                        other => failed(IssuerError::Fetch(other)),
                    })
                }
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned()).unwrap()
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn env_builds_hmac() {
        let c = env(&[
            ("OAUTH_PROVIDER", "hmac"),
            ("OAUTH_AUDIENCE", "a"),
            ("JWT_SECRET", SECRET),
        ]);
        assert!(c.build().is_ok());
    }

    #[test]
    fn errors_name_the_setting() {
        let c = env(&[
            ("OAUTH_PROVIDER", "hmac"),
            ("OAUTH_AUDIENCE", "a"),
            ("JWT_SECRET", "short"),
        ]);
        let err = c.build().err().unwrap().to_string();
        assert!(
            err.starts_with("setting `secret` (JWT_SECRET) is invalid"),
            "{err}"
        );
        assert!(!err.contains("short\""), "{err}");
        let c = env(&[("OAUTH_PROVIDER", "hmac"), ("JWT_SECRET", SECRET)]);
        assert!(
            c.build()
                .err()
                .unwrap()
                .to_string()
                .contains("OAUTH_AUDIENCE")
        );
        let c = env(&[("OAUTH_PROVIDER", "hmca")]);
        assert!(matches!(c.build(), Err(ConfigError::UnknownProvider(p)) if p == "hmca"));
        let c = env(&[
            ("OAUTH_PROVIDER", "hmac"),
            ("OAUTH_AUDIENCE", "a"),
            ("JWT_SECRET", SECRET),
            ("JWT_PREVIOUS_SECRETS", "x"),
        ]);
        assert!(
            c.build()
                .err()
                .unwrap()
                .to_string()
                .contains("JWT_PREVIOUS_SECRETS")
        );
        let c = env(&[
            ("OAUTH_PROVIDER", "hmac"),
            ("OAUTH_AUDIENCE", "a"),
            ("JWT_SECRET", SECRET),
            ("OAUTH_LEEWAY_SECS", "301"),
        ]);
        assert!(
            c.build()
                .err()
                .unwrap()
                .to_string()
                .contains("OAUTH_LEEWAY_SECS")
        );
        assert!(
            Config::from_lookup(|k| (k == "OAUTH_LEEWAY_SECS").then(|| "x".to_owned())).is_err()
        );
    }

    #[test]
    fn toml_rejects_unknown_keys_and_bad_base64() {
        assert!(matches!(
            Config::from_toml_str("provider = \"hmac\"\nsecrte = \"x\""),
            Err(ConfigError::Toml(_))
        ));
        let c =
            Config::from_toml_str("provider = \"hmac\"\naudience = \"a\"\nsecret = \"base64:!!\"")
                .unwrap();
        assert!(c.build().err().unwrap().to_string().contains("`secret`"));
    }

    #[test]
    fn debug_redacts_secret() {
        let c = env(&[("JWT_SECRET", SECRET)]);
        assert!(!format!("{c:?}").contains(SECRET));
    }

    #[test]
    fn debug_redacts_client_secret() {
        let c = env(&[
            ("OAUTH_CLIENT_SECRET", "introspection-password-42"),
            ("OAUTH_CLIENT_ID", "rs"),
        ]);
        let shown = format!("{c:?}");
        assert!(!shown.contains("introspection-password-42"), "{shown}");
        assert!(
            shown.contains("client_secret: Some(\"[redacted]\")"),
            "{shown}"
        );
        assert!(shown.contains("client_id: Some(\"rs\")"), "{shown}");
    }

    #[test]
    fn every_setting_is_read_from_env_and_toml() {
        let from_env = env(&[
            ("OAUTH_PROVIDER", "cognito"),
            ("OAUTH_DOMAIN", "https://dev-1.okta.com"),
            ("OAUTH_AUTHORIZATION_SERVER", "org"),
            ("OAUTH_CLIENT_ID", "cid"),
            ("OAUTH_CLIENT_SECRET", "cs"),
            ("OAUTH_TENANT", "common"),
            ("OAUTH_REGION", "eu-west-1"),
            ("OAUTH_USER_POOL_ID", "eu-west-1_Abc"),
            ("OAUTH_INTROSPECTION_ENDPOINT", "https://idp/introspect"),
            ("OAUTH_TOKEN_USE", "both"),
            ("OAUTH_ACCEPT_ID_TOKENS", "yes"),
            ("OAUTH_INSECURE_ALLOW_HTTP", "1"),
        ]);
        let from_toml = Config::from_toml_str(
            r#"
            provider = "cognito"
            domain = "https://dev-1.okta.com"
            authorization_server = "org"
            client_id = "cid"
            client_secret = "cs"
            tenant = "common"
            region = "eu-west-1"
            user_pool_id = "eu-west-1_Abc"
            introspection_endpoint = "https://idp/introspect"
            token_use = "both"
            accept_id_tokens = true
            insecure_allow_http = true
            "#,
        )
        .unwrap();
        assert_eq!(format!("{from_env:?}"), format!("{from_toml:?}"));
        assert_eq!(from_env.domain.as_deref(), Some("https://dev-1.okta.com"));
        assert_eq!(from_env.user_pool_id.as_deref(), Some("eu-west-1_Abc"));
        assert!(from_env.accept_id_tokens && from_env.insecure_allow_http);
        let unset = env(&[]);
        assert!(!unset.accept_id_tokens && !unset.insecure_allow_http);
    }

    #[test]
    fn booleans_parse_or_name_the_setting() {
        for (text, value) in [("TRUE", true), ("on", true), ("0", false), (" no ", false)] {
            assert_eq!(
                env(&[("OAUTH_ACCEPT_ID_TOKENS", text)]).accept_id_tokens,
                value
            );
        }
        let err = Config::from_lookup(|k| (k == "OAUTH_ACCEPT_ID_TOKENS").then(|| "maybe".into()))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "setting `accept_id_tokens` (OAUTH_ACCEPT_ID_TOKENS) is invalid: expected true or \
             false (or 1/0, yes/no, on/off)"
        );
        let err = Config::from_lookup(|k| (k == "OAUTH_INSECURE_ALLOW_HTTP").then(|| "2".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("setting `insecure_allow_http` (OAUTH_INSECURE_ALLOW_HTTP)"),
            "{err}"
        );
        // In TOML a boolean must be a boolean; the error names the key, not the value.
        let err = Config::from_toml_str("provider = \"oidc\"\naccept_id_tokens = \"sure-42\"")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid configuration TOML: line 2, key `accept_id_tokens`: invalid type: string, \
             expected a boolean"
        );
        // Nor does a value of the wrong type elsewhere, which may be a secret.
        let err = Config::from_toml_str("previous_secrets = \"old-secret-7\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("key `previous_secrets`"), "{err}");
        assert!(!err.contains("old-secret-7"), "{err}");
    }

    #[test]
    fn toml_errors_never_echo_an_unknown_line() {
        // A secret pasted on a line of its own reads as a key: it must not be echoed.
        let err = Config::from_toml_str("provider = \"hmac\"\nq83vEjRWeJCrze8SNFZ4kKvN7xI=")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("q83vEjRWeJCrze8SNFZ4kKvN7xI"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn unknown_provider_lists_every_provider() {
        let err = env(&[("OAUTH_PROVIDER", "auth0")]).build().unwrap_err();
        assert_eq!(
            err.to_string(),
            "setting `provider` (OAUTH_PROVIDER) is \"auth0\"; known providers: hmac, okta, \
             google, azure, cognito, oidc, introspection"
        );
    }

    #[test]
    fn build_on_a_remote_provider_says_to_use_build_async() {
        for name in [
            "okta",
            "google",
            "azure",
            "cognito",
            "oidc",
            "introspection",
        ] {
            let err = env(&[("OAUTH_PROVIDER", name)]).build().unwrap_err();
            assert!(matches!(&err, ConfigError::NeedsAsync { provider } if provider == name));
            let text = err.to_string();
            assert!(text.contains("build_async"), "{text}");
            assert!(text.starts_with(&format!("provider {name} ")), "{text}");
        }
        let err = env(&[("OAUTH_PROVIDER", "Okta")]).build().unwrap_err();
        assert_eq!(
            err.to_string(),
            "provider okta is set up asynchronously (discovery and key fetch): call \
             `Config::build_async().await`; `Config::build` builds provider hmac only"
        );
    }

    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn build_async_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let c = env(&[("OAUTH_PROVIDER", "oidc")]);
        let future = c.build_async();
        assert_send(&future);
        assert!(block_on(future).is_err());
    }

    #[test]
    fn build_async_builds_hmac() {
        let c = env(&[
            ("OAUTH_PROVIDER", "hmac"),
            ("OAUTH_AUDIENCE", "a"),
            ("JWT_SECRET", SECRET),
        ]);
        assert!(block_on(c.build_async()).is_ok());
        let c = env(&[("OAUTH_PROVIDER", "hmac"), ("OAUTH_AUDIENCE", "a")]);
        assert!(matches!(
            block_on(c.build_async()),
            Err(ConfigError::Missing {
                setting: "secret",
                ..
            })
        ));
    }

    #[cfg(not(feature = "oidc"))]
    #[test]
    fn remote_providers_need_the_oidc_feature() {
        let err = block_on(env(&[("OAUTH_PROVIDER", "okta")]).build_async()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "provider okta needs mcp-auth-providers feature `oidc`"
        );
    }

    #[cfg(feature = "oidc")]
    mod remote {
        use super::*;

        use mcp_auth_core::{AuthError, BearerToken, InvalidTokenReason};
        use mcp_auth_testkit::oidc::{JwtBuilder, TestKey};
        use serde_json::{Value, json};

        const GUID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        const GUID2: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

        fn error(pairs: &[(&str, &str)]) -> String {
            block_on(env(pairs).build_async())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        }

        /// Asserts that building with `pairs` fails for want of `setting` (`env`).
        fn assert_missing(pairs: &[(&str, &str)], setting: &str, env: &str, provider: &str) {
            assert_eq!(
                error(pairs),
                format!("setting `{setting}` ({env}) is required for provider {provider}"),
                "{pairs:?}"
            );
        }

        fn assert_invalid(pairs: &[(&str, &str)], setting: &str, env: &str) -> String {
            let err = error(pairs);
            assert!(
                err.starts_with(&format!("setting `{setting}` ({env}) is invalid: ")),
                "{pairs:?}: {err}"
            );
            err
        }

        #[test]
        fn okta_requires_domain_or_issuer_and_audience() {
            assert_eq!(
                error(&[("OAUTH_PROVIDER", "okta"), ("OAUTH_AUDIENCE", "api://x")]),
                "setting `domain` (OAUTH_DOMAIN) or `issuer` (OAUTH_ISSUER) is required for \
                 provider okta"
            );
            assert_missing(
                &[
                    ("OAUTH_PROVIDER", "okta"),
                    ("OAUTH_DOMAIN", "https://dev-1.okta.com"),
                ],
                "audience",
                "OAUTH_AUDIENCE",
                "okta",
            );
            assert_missing(
                &[
                    ("OAUTH_PROVIDER", "okta"),
                    ("OAUTH_ISSUER", "https://dev-1.okta.com"),
                ],
                "audience",
                "OAUTH_AUDIENCE",
                "okta",
            );
        }

        #[test]
        fn okta_settings_are_checked() {
            let base = [("OAUTH_PROVIDER", "okta"), ("OAUTH_AUDIENCE", "api://x")];
            let with = |extra: &[(&'static str, &'static str)]| {
                let mut pairs = base.to_vec();
                pairs.extend_from_slice(extra);
                pairs
            };
            assert_invalid(
                &with(&[("OAUTH_DOMAIN", "dev-1.okta.com")]),
                "domain",
                "OAUTH_DOMAIN",
            );
            assert_invalid(
                &with(&[("OAUTH_DOMAIN", "https://dev-1.okta.com/oauth2/default")]),
                "domain",
                "OAUTH_DOMAIN",
            );
            assert_invalid(
                &with(&[
                    ("OAUTH_DOMAIN", "https://dev-1.okta.com"),
                    ("OAUTH_AUTHORIZATION_SERVER", "../evil"),
                ]),
                "authorization_server",
                "OAUTH_AUTHORIZATION_SERVER",
            );
            let err = assert_invalid(
                &with(&[
                    ("OAUTH_DOMAIN", "https://dev-1.okta.com"),
                    ("OAUTH_ISSUER", "https://dev-1.okta.com/oauth2/other"),
                ]),
                "issuer",
                "OAUTH_ISSUER",
            );
            assert!(
                err.contains("https://dev-1.okta.com/oauth2/default"),
                "{err}"
            );
            assert_invalid(
                &with(&[
                    ("OAUTH_ISSUER", "https://dev-1.okta.com/oauth2/aus1"),
                    ("OAUTH_AUTHORIZATION_SERVER", "aus2"),
                ]),
                "authorization_server",
                "OAUTH_AUTHORIZATION_SERVER",
            );
            assert_invalid(
                &with(&[
                    ("OAUTH_DOMAIN", "https://dev-1.okta.com"),
                    ("OAUTH_LEEWAY_SECS", "30"),
                ]),
                "leeway_secs",
                "OAUTH_LEEWAY_SECS",
            );
        }

        #[test]
        fn google_requires_client_id() {
            assert_missing(
                &[("OAUTH_PROVIDER", "google"), ("OAUTH_AUDIENCE", "x")],
                "client_id",
                "OAUTH_CLIENT_ID",
                "google",
            );
        }

        #[test]
        fn azure_requires_tenant_and_audience_or_client_id() {
            assert_missing(
                &[("OAUTH_PROVIDER", "azure"), ("OAUTH_AUDIENCE", "api://x")],
                "tenant",
                "OAUTH_TENANT",
                "azure",
            );
            assert_eq!(
                error(&[("OAUTH_PROVIDER", "azure"), ("OAUTH_TENANT", GUID)]),
                "setting `audience` (OAUTH_AUDIENCE) or `client_id` (OAUTH_CLIENT_ID) is \
                 required for provider azure"
            );
            for bad in ["consumers", "contoso.onmicrosoft.com", ",", "common,x"] {
                let err = assert_invalid(
                    &[
                        ("OAUTH_PROVIDER", "azure"),
                        ("OAUTH_TENANT", bad),
                        ("OAUTH_CLIENT_ID", GUID2),
                    ],
                    "tenant",
                    "OAUTH_TENANT",
                );
                assert!(err.contains("GUID") || err.contains("no tenant"), "{err}");
            }
        }

        #[test]
        fn cognito_requires_a_pool_and_client_id() {
            assert_eq!(
                error(&[("OAUTH_PROVIDER", "cognito"), ("OAUTH_CLIENT_ID", "c")]),
                "setting `user_pool_id` (OAUTH_USER_POOL_ID) or `issuer` (OAUTH_ISSUER) is \
                 required for provider cognito"
            );
            assert_missing(
                &[("OAUTH_PROVIDER", "cognito"), ("OAUTH_REGION", "eu-west-1")],
                "user_pool_id",
                "OAUTH_USER_POOL_ID",
                "cognito",
            );
            assert_missing(
                &[
                    ("OAUTH_PROVIDER", "cognito"),
                    ("OAUTH_USER_POOL_ID", "eu-west-1_A"),
                ],
                "region",
                "OAUTH_REGION",
                "cognito",
            );
            assert_missing(
                &[
                    ("OAUTH_PROVIDER", "cognito"),
                    ("OAUTH_REGION", "eu-west-1"),
                    ("OAUTH_USER_POOL_ID", "eu-west-1_A"),
                ],
                "client_id",
                "OAUTH_CLIENT_ID",
                "cognito",
            );
            assert_missing(
                &[
                    ("OAUTH_PROVIDER", "cognito"),
                    (
                        "OAUTH_ISSUER",
                        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_A",
                    ),
                ],
                "client_id",
                "OAUTH_CLIENT_ID",
                "cognito",
            );
        }

        #[test]
        fn cognito_settings_are_checked() {
            let pool = [
                ("OAUTH_PROVIDER", "cognito"),
                ("OAUTH_REGION", "eu-west-1"),
                ("OAUTH_USER_POOL_ID", "eu-west-1_A"),
                ("OAUTH_CLIENT_ID", "c"),
            ];
            let with = |extra: &[(&'static str, &'static str)]| {
                let mut pairs = pool.to_vec();
                pairs.extend_from_slice(extra);
                pairs
            };
            let err = assert_invalid(
                &with(&[("OAUTH_TOKEN_USE", "refresh")]),
                "token_use",
                "OAUTH_TOKEN_USE",
            );
            assert!(err.contains("access, id, both"), "{err}");
            assert_invalid(
                &with(&[("OAUTH_ACCEPT_ID_TOKENS", "true")]),
                "accept_id_tokens",
                "OAUTH_ACCEPT_ID_TOKENS",
            );
            assert_invalid(
                &with(&[(
                    "OAUTH_ISSUER",
                    "https://cognito-idp.us-east-1.amazonaws.com/x",
                )]),
                "issuer",
                "OAUTH_ISSUER",
            );
            let err = assert_invalid(
                &[
                    ("OAUTH_PROVIDER", "cognito"),
                    ("OAUTH_REGION", "us-east-1"),
                    ("OAUTH_USER_POOL_ID", "eu-west-1_A"),
                    ("OAUTH_CLIENT_ID", "c"),
                ],
                "user_pool_id",
                "OAUTH_USER_POOL_ID",
            );
            assert!(err.contains("\"eu-west-1\""), "{err}");
            assert_invalid(
                &[
                    ("OAUTH_PROVIDER", "cognito"),
                    ("OAUTH_REGION", "eu-west-1/../x"),
                    ("OAUTH_USER_POOL_ID", "A"),
                    ("OAUTH_CLIENT_ID", "c"),
                ],
                "region",
                "OAUTH_REGION",
            );
        }

        #[test]
        fn oidc_requires_issuer_and_audience() {
            assert_missing(
                &[("OAUTH_PROVIDER", "oidc"), ("OAUTH_AUDIENCE", "a")],
                "issuer",
                "OAUTH_ISSUER",
                "oidc",
            );
            assert_missing(
                &[
                    ("OAUTH_PROVIDER", "oidc"),
                    ("OAUTH_ISSUER", "https://idp.test"),
                ],
                "audience",
                "OAUTH_AUDIENCE",
                "oidc",
            );
            assert_invalid(
                &[
                    ("OAUTH_PROVIDER", "oidc"),
                    ("OAUTH_ISSUER", "https://idp.test"),
                    ("OAUTH_AUDIENCE", "a"),
                    ("OAUTH_LEEWAY_SECS", "301"),
                ],
                "leeway_secs",
                "OAUTH_LEEWAY_SECS",
            );
        }

        #[test]
        fn introspection_requires_endpoint_client_id_and_secret() {
            let mut pairs = vec![("OAUTH_PROVIDER", "introspection")];
            assert_missing(
                &pairs,
                "introspection_endpoint",
                "OAUTH_INTROSPECTION_ENDPOINT",
                "introspection",
            );
            pairs.push((
                "OAUTH_INTROSPECTION_ENDPOINT",
                "https://idp.test/introspect",
            ));
            assert_missing(&pairs, "client_id", "OAUTH_CLIENT_ID", "introspection");
            pairs.push(("OAUTH_CLIENT_ID", "rs"));
            assert_missing(
                &pairs,
                "client_secret",
                "OAUTH_CLIENT_SECRET",
                "introspection",
            );
            pairs.push(("OAUTH_CLIENT_SECRET", "s3cret"));
            // Nothing is fetched at build time.
            assert!(block_on(env(&pairs).build_async()).is_ok());
        }

        #[test]
        fn introspection_over_http_needs_insecure_allow_http() {
            let mut pairs = vec![
                ("OAUTH_PROVIDER", "introspection"),
                (
                    "OAUTH_INTROSPECTION_ENDPOINT",
                    "http://127.0.0.1:1/introspect",
                ),
                ("OAUTH_CLIENT_ID", "rs"),
                ("OAUTH_CLIENT_SECRET", "s3cret"),
            ];
            let err = assert_invalid(
                &pairs,
                "introspection_endpoint",
                "OAUTH_INTROSPECTION_ENDPOINT",
            );
            assert!(err.contains("insecure_allow_http"), "{err}");
            pairs.push(("OAUTH_INSECURE_ALLOW_HTTP", "true"));
            assert!(block_on(env(&pairs).build_async()).is_ok());
            assert_invalid(
                &[
                    ("OAUTH_PROVIDER", "introspection"),
                    ("OAUTH_INTROSPECTION_ENDPOINT", "not a url"),
                    ("OAUTH_CLIENT_ID", "rs"),
                    ("OAUTH_CLIENT_SECRET", "s3cret"),
                ],
                "introspection_endpoint",
                "OAUTH_INTROSPECTION_ENDPOINT",
            );
        }

        /// A 2048-bit RSA JWK that parses (it is not a real key).
        fn fake_jwks() -> Value {
            use base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let mut n = vec![0xC5u8; 256];
            n[0] = 0xE1;
            json!({"keys": [{"kty": "RSA", "kid": "fake", "n": URL_SAFE_NO_PAD.encode(n), "e": "AQAB"}]})
        }

        /// An identity provider on 127.0.0.1: discovery under any path prefix (the issuer is
        /// the prefix, or `issuer` when given) and the key set at `/jwks`.
        async fn idp(issuer: Option<&str>, jwks: Value) -> String {
            use axum::http::{StatusCode, Uri};
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let (origin, issuer) = (base.clone(), issuer.map(str::to_owned));
            let app = axum::Router::new().fallback(move |uri: Uri| {
                let (origin, issuer, jwks) = (origin.clone(), issuer.clone(), jwks.clone());
                async move {
                    let path = uri.path();
                    if path == "/jwks" {
                        return (StatusCode::OK, axum::Json(jwks));
                    }
                    match path.strip_suffix("/.well-known/openid-configuration") {
                        Some(prefix) => (
                            StatusCode::OK,
                            axum::Json(json!({
                                "issuer": issuer.unwrap_or_else(|| format!("{origin}{prefix}")),
                                "jwks_uri": format!("{origin}/jwks"),
                            })),
                        ),
                        None => (StatusCode::NOT_FOUND, axum::Json(json!({}))),
                    }
                }
            });
            tokio::spawn(async move { axum::serve(listener, app).await });
            base
        }

        fn config(pairs: &[(&str, &str)]) -> Config {
            let mut pairs = pairs.to_vec();
            pairs.push(("OAUTH_INSECURE_ALLOW_HTTP", "true"));
            env(&pairs)
        }

        #[tokio::test]
        async fn oidc_okta_and_cognito_build_against_a_local_issuer() {
            let base = idp(None, fake_jwks()).await;
            let issuer = format!("{base}/tenant");
            let oidc = config(&[
                ("OAUTH_PROVIDER", "oidc"),
                ("OAUTH_ISSUER", &issuer),
                ("OAUTH_AUDIENCE", "a"),
            ]);
            assert!(oidc.build_async().await.is_ok());
            // Okta: `{domain}/oauth2/default`, from the domain or from the issuer.
            let okta = config(&[
                ("OAUTH_PROVIDER", "okta"),
                ("OAUTH_DOMAIN", &base),
                ("OAUTH_AUDIENCE", "api://default"),
            ]);
            assert!(okta.build_async().await.is_ok());
            let okta_issuer = format!("{base}/oauth2/aus1");
            let okta = config(&[
                ("OAUTH_PROVIDER", "okta"),
                ("OAUTH_ISSUER", &okta_issuer),
                ("OAUTH_AUDIENCE", "api://default"),
            ]);
            assert!(okta.build_async().await.is_ok());
            let cognito = config(&[
                ("OAUTH_PROVIDER", "cognito"),
                ("OAUTH_ISSUER", &issuer),
                ("OAUTH_CLIENT_ID", "c"),
                ("OAUTH_TOKEN_USE", "id"),
            ]);
            assert!(cognito.build_async().await.is_ok());
        }

        #[tokio::test]
        async fn http_issuer_without_insecure_allow_http_is_refused() {
            let base = idp(None, fake_jwks()).await;
            let c = env(&[
                ("OAUTH_PROVIDER", "oidc"),
                ("OAUTH_ISSUER", &base),
                ("OAUTH_AUDIENCE", "a"),
            ]);
            let err = c.build_async().await.unwrap_err().to_string();
            assert!(
                err.starts_with("provider oidc could not be set up: "),
                "{err}"
            );
            assert!(err.contains("insecure_allow_http"), "{err}");
        }

        #[tokio::test]
        async fn discovery_failures_become_provider_errors() {
            let base = idp(Some("https://elsewhere.example"), fake_jwks()).await;
            let err = config(&[
                ("OAUTH_PROVIDER", "oidc"),
                ("OAUTH_ISSUER", &base),
                ("OAUTH_AUDIENCE", "a"),
            ])
            .build_async()
            .await
            .unwrap_err();
            assert!(
                matches!(&err, ConfigError::Provider { provider, .. } if provider == "oidc"),
                "{err:?}"
            );
            let text = err.to_string();
            assert!(text.contains("\"https://elsewhere.example\""), "{text}");
            assert!(
                text.contains(&format!("expected exactly \"{base}\"")),
                "{text}"
            );

            let empty = idp(None, json!({"keys": []})).await;
            let err = config(&[
                ("OAUTH_PROVIDER", "okta"),
                ("OAUTH_DOMAIN", &empty),
                ("OAUTH_AUDIENCE", "a"),
            ])
            .build_async()
            .await
            .unwrap_err()
            .to_string();
            assert!(
                err.starts_with("provider okta could not be set up: key set: "),
                "{err}"
            );
            assert!(err.contains("no usable signing key"), "{err}");

            let closed = {
                let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                format!("http://{}", listener.local_addr().unwrap())
            };
            let err = config(&[
                ("OAUTH_PROVIDER", "oidc"),
                ("OAUTH_ISSUER", &closed),
                ("OAUTH_AUDIENCE", "a"),
            ])
            .build_async()
            .await
            .unwrap_err()
            .to_string();
            assert!(err.contains("cannot reach"), "{err}");
        }

        #[tokio::test]
        async fn oidc_settings_reach_the_validator() {
            let base = idp(None, TestKey::jwks(&[TestKey::Rsa])).await;
            let id_token = JwtBuilder::new(TestKey::Rsa)
                .issuer(&base)
                .audience("a")
                .subject("alice")
                .exp_in(-90)
                .set("nonce", json!("n"))
                .sign();
            let validate = |pairs: &[(&str, &str)]| {
                let c = config(pairs);
                let token = BearerToken::new(id_token.clone());
                async move {
                    let validator = c.build_async().await.unwrap();
                    validator.validate(&token).await
                }
            };
            let base_pairs = [
                ("OAUTH_PROVIDER", "oidc"),
                ("OAUTH_ISSUER", base.as_str()),
                ("OAUTH_AUDIENCE", "a"),
            ];
            // Expired 90 s ago: beyond the default 60 s leeway, within 120 s.
            assert!(matches!(
                validate(&base_pairs).await,
                Err(AuthError::InvalidToken(InvalidTokenReason::Expired))
            ));
            let mut lenient = base_pairs.to_vec();
            lenient.push(("OAUTH_LEEWAY_SECS", "120"));
            assert!(matches!(
                validate(&lenient).await,
                Err(AuthError::InvalidToken(InvalidTokenReason::WrongTokenType))
            ));
            lenient.push(("OAUTH_ACCEPT_ID_TOKENS", "true"));
            let principal = validate(&lenient).await.unwrap();
            assert_eq!(principal.subject(), "alice");
        }
    }
}
