//! OAuth scopes (RFC 6749 section 3.3): space-delimited, case-sensitive scope tokens.
//!
//! # Example
//!
//! ```
//! use mcp_auth_core::scope::Scopes;
//!
//! let granted: Scopes = "read greet".parse().unwrap();
//! let needed: Scopes = "greet".parse().unwrap();
//! assert!(granted.contains_all(&needed));
//! assert_eq!(needed.missing_from(&"read".parse().unwrap()).to_string(), "greet");
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// A scope value did not follow the `scope-token` syntax of RFC 6749 section 3.3.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scope token contains a character outside %x21 / %x23-5B / %x5D-7E")]
pub struct InvalidScope;

/// One scope token.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(String);

impl Scope {
    /// Parses one scope token.
    ///
    /// # Errors
    ///
    /// [`InvalidScope`] when the token is empty or holds a character RFC 6749 section 3.3 forbids
    /// (space, `"`, `\`, controls, non-ASCII). Such characters could otherwise break out of the
    /// quoted `scope` parameter of a `WWW-Authenticate` challenge.
    pub fn new(token: impl Into<String>) -> Result<Self, InvalidScope> {
        let token = token.into();
        let valid = !token.is_empty()
            && token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if valid {
            Ok(Self(token))
        } else {
            Err(InvalidScope)
        }
    }

    /// The scope token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A set of scopes, ordered for stable output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a set from scope tokens.
    ///
    /// # Errors
    ///
    /// [`InvalidScope`] when any token is invalid.
    pub fn from_tokens<I, S>(tokens: I) -> Result<Self, InvalidScope>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        tokens.into_iter().map(Scope::new).collect()
    }

    /// Parses a space-delimited `scope` claim leniently: tokens that are not valid scope tokens
    /// are dropped rather than failing the whole token, since they can never satisfy a check.
    pub fn from_claim_lossy(claim: &str) -> Self {
        // Inserted one by one: collecting would gather them in a vector and sort it first,
        // which for a claim's few scopes costs more than the inserts (this runs for every
        // token validated).
        let mut scopes = BTreeSet::new();
        for token in claim.split(' ') {
            if let Ok(scope) = Scope::new(token) {
                scopes.insert(scope);
            }
        }
        Self(scopes)
    }

    /// Whether the set holds `scope`.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.0 == scope)
    }

    /// Whether every scope of `needed` is in this set.
    pub fn contains_all(&self, needed: &Scopes) -> bool {
        needed.0.is_subset(&self.0)
    }

    /// The scopes of `self` that `granted` lacks.
    pub fn missing_from(&self, granted: &Scopes) -> Scopes {
        Self(self.0.difference(&granted.0).cloned().collect())
    }

    /// Adds a scope.
    pub fn insert(&mut self, scope: Scope) {
        self.0.insert(scope);
    }

    /// Adds every scope of `other`.
    pub fn extend(&mut self, other: &Scopes) {
        self.0.extend(other.0.iter().cloned());
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Iterates over the scopes in order.
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }
}

impl FromStr for Scopes {
    type Err = InvalidScope;

    /// Parses a space-delimited scope string strictly (configuration input).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(' ')
            .filter(|t| !t.is_empty())
            .map(Scope::new)
            .collect()
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<T: IntoIterator<Item = Scope>>(iter: T) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Display for Scopes {
    /// Space-delimited, as in the `scope` parameter (RFC 6749 section 3.3).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&scope.0)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_token_syntax() {
        assert!(Scope::new("mcp:tools").is_ok());
        for bad in ["", "a b", "a\"b", "a\\b", "caf\u{e9}", "a\nb"] {
            assert_eq!(Scope::new(bad), Err(InvalidScope), "{bad:?}");
        }
    }

    #[test]
    fn lossy_claim_parse_drops_invalid_tokens() {
        let s = Scopes::from_claim_lossy("read  write \"x");
        assert_eq!(s.to_string(), "read write");
    }

    #[test]
    fn scope_comparison_is_case_sensitive() {
        let granted: Scopes = "Greet".parse().unwrap();
        assert!(!granted.contains("greet"));
    }
}
