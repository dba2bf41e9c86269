//! Audit events: who (subject, client, token fingerprint), what (method, path, tool), outcome.
//!
//! Emitted through `tracing` with target `mcp_auth::audit`, so they can be routed to their own
//! sink. Tokens never appear; their SHA-256 prefix does.

use super::Presented;
use crate::error::AuthError;
use crate::principal::Principal;

/// The audit target.
pub const AUDIT_TARGET: &str = "mcp_auth::audit";

pub(crate) fn allowed(
    principal: &Principal,
    token: &Presented,
    method: &str,
    path: &str,
    tools: &super::CalledTools<'_>,
) {
    tracing::info!(
        target: AUDIT_TARGET,
        outcome = "allowed",
        subject = principal.subject(),
        client_id = principal.client_id().unwrap_or(""),
        token = %FingerprintOf(Some(token)),
        method,
        path,
        tools = %tools,
    );
}

/// Whether an [`allowed`] event would be recorded (a subscriber takes `info` events of
/// [`AUDIT_TARGET`]): what it names need not be worked out otherwise.
pub(crate) fn allowed_is_recorded() -> bool {
    tracing::enabled!(target: AUDIT_TARGET, tracing::Level::INFO)
}

pub(crate) fn refused(
    err: &AuthError,
    token: Option<&Presented>,
    subject: Option<&str>,
    method: &str,
    path: &str,
) {
    let token = FingerprintOf(token);
    if err.is_server_fault() {
        // Internal faults are logged in full here and answered without detail.
        tracing::error!(
            target: AUDIT_TARGET,
            outcome = "error",
            error = %err,
            source = ?std::error::Error::source(err),
            token = %token,
            method,
            path,
        );
    } else {
        tracing::info!(
            target: AUDIT_TARGET,
            outcome = "refused",
            reason = %err,
            subject = subject.unwrap_or(""),
            token = %token,
            method,
            path,
        );
    }
}

pub(crate) fn foreign_session(admitted: &super::Admitted) {
    tracing::warn!(
        target: AUDIT_TARGET,
        outcome = "refused",
        reason = "session belongs to another principal",
        subject = admitted.principal.subject(),
        token = %FingerprintOf(Some(&admitted.token)),
        method = admitted.method.as_ref(),
        path = admitted.path.as_ref(),
    );
}

/// A token's fingerprint, or nothing when no token was read: the SHA-256 is computed only if
/// the event is recorded (and then once per token).
struct FingerprintOf<'t>(Option<&'t Presented>);

impl std::fmt::Display for FingerprintOf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(token) => token.fingerprint().fmt(f),
            None => Ok(()),
        }
    }
}
