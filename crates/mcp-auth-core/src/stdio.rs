//! Authentication for MCP servers on the stdio transport.
//!
//! The MCP authorization spec says stdio servers do not use the OAuth flow but take credentials
//! from the environment. [`authenticate_from_env`] validates the token found there once, at
//! startup, with the same validator an HTTP server would use.
//!
//! # Example
//!
//! ```no_run
//! use mcp_auth_core::stdio::{authenticate_from_env, DEFAULT_TOKEN_VAR};
//! # async fn run(validator: impl mcp_auth_core::TokenValidator) -> Result<(), Box<dyn std::error::Error>> {
//! let principal = authenticate_from_env(&validator, DEFAULT_TOKEN_VAR).await?;
//! eprintln!("serving {}", principal.subject());
//! # Ok(()) }
//! ```

use crate::error::AuthError;
use crate::principal::Principal;
use crate::secret::BearerToken;
use crate::validator::TokenValidator;

/// The environment variable read by default: `MCP_AUTH_TOKEN`.
pub const DEFAULT_TOKEN_VAR: &str = "MCP_AUTH_TOKEN";

/// Why stdio authentication failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StdioAuthError {
    /// The variable is unset, empty or not valid Unicode.
    #[error("environment variable {0} holds no access token")]
    MissingToken(String),
    /// The token was refused.
    #[error("the access token in {var} was refused: {source}")]
    Refused {
        /// The variable read.
        var: String,
        /// Why.
        #[source]
        source: AuthError,
    },
}

/// Reads the token in `var` (surrounding whitespace trimmed) and validates it.
///
/// # Errors
///
/// [`StdioAuthError`] naming the variable; the token itself never appears in the error.
pub async fn authenticate_from_env<V>(validator: &V, var: &str) -> Result<Principal, StdioAuthError>
where
    V: TokenValidator + ?Sized,
{
    authenticate_from_lookup(validator, var, |name| std::env::var(name).ok()).await
}

/// Like [`authenticate_from_env`], reading variables through `lookup` (for tests, or another
/// source of variables).
///
/// # Errors
///
/// As [`authenticate_from_env`].
pub async fn authenticate_from_lookup<V>(
    validator: &V,
    var: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Principal, StdioAuthError>
where
    V: TokenValidator + ?Sized,
{
    let token = lookup(var)
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| StdioAuthError::MissingToken(var.to_owned()))?;
    validator
        .validate(&BearerToken::new(token))
        .await
        .map_err(|source| StdioAuthError::Refused {
            var: var.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::InvalidTokenReason;
    use crate::validator::validator_fn;

    fn validator() -> impl TokenValidator {
        validator_fn(|token: BearerToken| async move {
            if token.expose_secret() == "good" {
                Ok(Principal::builder("svc").build())
            } else {
                Err(AuthError::InvalidToken(InvalidTokenReason::BadSignature))
            }
        })
    }

    #[tokio::test]
    async fn reads_trims_and_validates() {
        let p = authenticate_from_lookup(&validator(), "T", |_| Some(" good\n".to_owned()))
            .await
            .unwrap();
        assert_eq!(p.subject(), "svc");
    }

    #[tokio::test]
    async fn missing_and_refused_name_the_variable_not_the_token() {
        let err = authenticate_from_lookup(&validator(), "T", |_| Some("  ".to_owned()))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable T holds no access token"
        );
        let err = authenticate_from_lookup(&validator(), "T", |_| Some("s3cret-bad".to_owned()))
            .await
            .unwrap_err();
        assert!(matches!(err, StdioAuthError::Refused { .. }));
        assert!(!err.to_string().contains("s3cret-bad"), "{err}");
        assert!(err.to_string().contains("signature"), "{err}");
    }
}
