//! Test helpers for users' own tests (feature `test-util`).
//!
//! # Example
//!
//! ```
//! use mcp_auth_core::test_util::StaticValidator;
//! use mcp_auth_core::{BearerToken, Principal, TokenValidator};
//!
//! # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap(); rt.block_on(async {
//! let validator = StaticValidator::new().with_token("t1", Principal::builder("alice").build());
//! assert_eq!(validator.validate(&BearerToken::new("t1")).await.unwrap().subject(), "alice");
//! assert!(validator.validate(&BearerToken::new("t2")).await.is_err());
//! # });
//! ```

use std::collections::HashMap;

use async_trait::async_trait;

use crate::error::{AuthError, InvalidTokenReason};
use crate::principal::Principal;
use crate::secret::BearerToken;
use crate::validator::TokenValidator;

/// A validator that accepts a fixed set of tokens; every other token is `invalid_token`.
#[derive(Debug, Clone, Default)]
pub struct StaticValidator {
    tokens: HashMap<[u8; 32], Principal>,
}

impl StaticValidator {
    /// An empty validator (refuses everything).
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts `token` as `principal`.
    pub fn with_token(mut self, token: &str, principal: Principal) -> Self {
        self.tokens
            .insert(BearerToken::new(token).digest(), principal);
        self
    }
}

#[async_trait]
impl TokenValidator for StaticValidator {
    async fn validate(&self, token: &BearerToken) -> Result<Principal, AuthError> {
        self.tokens
            .get(&token.digest())
            .cloned()
            .ok_or(AuthError::InvalidToken(InvalidTokenReason::BadSignature))
    }
}
