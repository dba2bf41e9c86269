//! Binding MCP sessions to the principal that opened them (MCP security best practices,
//! "Session Hijacking").
//!
//! The MCP security best practices ("Session Hijacking") require that a session id is never
//! enough to act as someone: each `Mcp-Session-Id` the server hands out is bound to the issuer
//! and subject of the token that opened it, and a request presenting that id with another
//! principal's token reaches the MCP server with a session id that cannot exist, so it gets the
//! server's own answer for an unknown session (404 for POST and GET) and learns nothing about
//! whether the session exists.
//!
//! Bindings live in this process's memory (bounded, expiring after a day idle). A session the
//! layer never saw open (opened before a restart, or on another replica) is passed to the MCP
//! server, which answers 404 for sessions it does not hold either.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

/// The `Mcp-Session-Id` header.
pub const MCP_SESSION_ID: &str = "mcp-session-id";

/// A session id no server issues (the nil UUID; rmcp issues random v4 UUIDs). Adapters put it in
/// place of a session that belongs to another principal.
pub const FOREIGN_SESSION: &str = "00000000-0000-0000-0000-000000000000";

/// Who opened a session: (issuer, subject).
pub(crate) type Owner = Arc<(Option<String>, String)>;

/// Session id to owner, bounded and expiring when idle.
#[derive(Clone)]
pub(crate) struct SessionBindings {
    owners: Cache<String, Owner>,
}

impl SessionBindings {
    pub(crate) fn new(capacity: u64, idle: Duration) -> Self {
        Self {
            owners: Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(idle)
                .build(),
        }
    }

    /// `Some(true)` when `session` belongs to `owner`, `Some(false)` when to someone else,
    /// `None` when unknown here.
    pub(crate) fn check(&self, session: &str, owner: &(Option<&str>, &str)) -> Option<bool> {
        self.owners
            .get(session)
            .map(|bound| bound.0.as_deref() == owner.0 && bound.1 == owner.1)
    }

    pub(crate) fn bind(&self, session: String, owner: Owner) {
        self.owners.insert(session, owner);
    }

    pub(crate) fn unbind(&self, session: &str) {
        self.owners.invalidate(session);
    }
}
