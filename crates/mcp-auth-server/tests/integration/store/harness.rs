//! What a backend provides to the conformance suite, and the macro that instantiates the suite.

use std::sync::Arc;

use mcp_auth_server::store::Store;

/// A store under test, with what the suite needs to look behind the trait.
pub(crate) trait Backend: Sized + Send + Sync + 'static {
    /// A fresh, empty store.
    async fn open() -> Self;

    /// The store under test.
    fn store(&self) -> Arc<dyn Store>;

    /// Another handle on the same state, the way a second replica would reach it (another
    /// connection pool where the backend allows one).
    async fn replica(&self) -> Arc<dyn Store>;

    /// Everything stored, as raw bytes (table cells, or the memory store's full `Debug`), to
    /// look for secrets in.
    async fn raw_contents(&self) -> Vec<u8>;

    /// Releases what `open` created (pools, schema, files).
    async fn close(self);
}

/// A client record, for the migration tests of the SQL backends.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn a_client() -> mcp_auth_server::store::ClientRecord {
    mcp_auth_server::store::ClientRecord {
        client_id: "client-1".to_owned(),
        client_secret_hash: None,
        redirect_uris: vec!["http://127.0.0.1/cb".to_owned()],
        client_name: None,
        grant_types: vec!["authorization_code".to_owned()],
        response_types: vec!["code".to_owned()],
        token_endpoint_auth_method: "none".to_owned(),
        scope: None,
        application_type: mcp_auth_server::store::ApplicationType::Web,
        source: mcp_auth_server::store::ClientSource::Dynamic,
        created_at: 1,
        metadata_expires_at: None,
    }
}

/// Whether `haystack` contains `needle`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random lowercase hex string of `bytes` random bytes.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).unwrap();
    hex(&buf)
}

/// One `#[tokio::test]` per conformance case, against `$backend`. The backend is closed
/// whether the case passes or panics.
macro_rules! conformance_tests {
    ($backend:ty) => {
        $crate::store::harness::conformance_tests!(
            @cases $backend;
            clients_round_trip,
            delete_client_revokes_what_it_was_granted,
            code_is_single_use,
            code_replay_names_the_family_chosen_at_issue,
            expired_code_is_refused,
            unknown_code,
            duplicate_code_conflicts,
            refresh_round_trip,
            rotation_chain,
            reused_refresh_token_revokes_the_family,
            expired_refresh_token_is_refused,
            rotation_must_continue_the_family,
            revoke_family_refuses_every_token,
            revoke_refresh_revokes_its_family,
            consents_round_trip,
            signing_keys_round_trip,
            purge_removes_only_what_expired,
            secrets_are_stored_hashed,
            concurrent_take_code_has_one_winner,
            concurrent_rotation_has_one_winner,
        );
    };
    (@cases $backend:ty; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let backend = <$backend as $crate::store::harness::Backend>::open().await;
                let outcome = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
                    $crate::store::conformance::$case(&backend),
                ))
                .await;
                $crate::store::harness::Backend::close(backend).await;
                if let Err(panic) = outcome {
                    std::panic::resume_unwind(panic);
                }
            }
        )*
    };
}

pub(crate) use conformance_tests;
