//! The adapter conformance suite: written once, run against every web-framework adapter, and
//! able to run two adapters side by side and fail on any difference in what they answer.
//!
//! The testkit depends on no adapter (the adapters' tests depend on the testkit). Each adapter's
//! test binary implements [`AdapterUnderTest`], whose `start` serves this app on
//! `127.0.0.1:0` with the middleware configured from a [`Scenario`] (validator, resource,
//! `require_scopes`, `tool_scopes`, `max_body`, session binding):
//!
//! | route | behind the middleware | handler |
//! |---|---|---|
//! | any method `/mcp` | yes | echo: 200, the request body, headers from [`echo_headers`] (the `Mcp-Session-Id` it saw as [`SEEN_SESSION`]; [`ISSUE_SESSION`] turned into a response `Mcp-Session-Id`) |
//! | `GET /me` | yes | `Authenticated` extractor; 200 `application/json` [`principal_body`] |
//! | `GET /admin` | yes, and `RequireScopes(`[`ADMIN_SCOPE`]`)` | as `/me` |
//! | `GET /open` | no | as `/me` (the extractor must answer 500) |
//! | `GET /open-admin` | no, but `RequireScopes(`[`ADMIN_SCOPE`]`)` | 200 `reached` (must not be reached) |
//! | metadata routes of the scenario's resource | no | the adapter's metadata routes |
//!
//! [`conformance_tests!`](crate::conformance_tests) turns every case into a `#[tokio::test]`
//! asserting exact statuses, challenges, headers and bodies;
//! [`conformance_compare!`](crate::conformance_compare) runs each case against two adapters and
//! also requires their transcripts (status, every header but date and framing, body) to be
//! identical. Neither follows redirects: a redirect is an answer like any other.
//!
//! With feature `server`, `authorization_server` does the same for the embedded authorization
//! server as each adapter mounts it: every endpoint, its refusals, CORS, body limit and rate
//! limits (`conformance_tests!(authorization_server: adapter)`,
//! `conformance_compare!(authorization_server: a, b)`).
//!
//! # Example
//!
//! ```
//! use futures::future::LocalBoxFuture;
//! use mcp_auth_testkit::conformance::{AdapterUnderTest, Running, Scenario};
//!
//! // In crates/mcp-auth-<adapter>/tests/conformance/main.rs:
//! struct MyAdapter;
//!
//! impl AdapterUnderTest for MyAdapter {
//!     fn name(&self) -> &'static str {
//!         "mine"
//!     }
//!
//!     fn start(&self, scenario: Scenario) -> LocalBoxFuture<'static, Running> {
//!         Box::pin(async move {
//!             let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//!             let addr = listener.local_addr().unwrap();
//!             // Serve the route table above on `listener`, configured from `scenario`.
//!             let task = tokio::spawn(async move { drop((listener, scenario)) });
//!             Running::new(addr, move || task.abort())
//!         })
//!     }
//! }
//!
//! mcp_auth_testkit::conformance_tests!(MyAdapter);
//! # fn main() {}
//! ```

/// Declares each case as a `pub fn(&Harness) -> LocalBoxFuture<()>` and lists them in `ALL`
/// (`Harness`, `Case` and `LocalBoxFuture` are the ones in scope where it is invoked: each
/// half of the suite has its own harness).
macro_rules! cases {
    ($($(#[doc = $doc:literal])+ async fn $name:ident($h:ident) $body:block)+) => {
        $(
            $(#[doc = $doc])+
            pub fn $name<'h>($h: &'h Harness<'h>) -> LocalBoxFuture<'h, ()> {
                Box::pin(async move $body)
            }
        )+

        /// Every case, by name.
        pub const ALL: &[(&str, Case)] = &[$((stringify!($name), $name)),+];
    };
}

#[cfg(feature = "server")]
pub mod authorization_server;
pub mod cases;
pub mod expect;
mod harness;
mod scenario;

pub use harness::{AdapterUnderTest, Case, Exchange, Harness, Req, Running, Server, compare, run};
pub use scenario::{
    ADMIN_SCOPE, ALICE, BOB, ECHO_CONTENT_TYPE, EXPIRED, INTERNAL, ISSUE_SESSION, RESOURCE_URI,
    ROOT, SECRET_CAUSE, SEEN_SESSION, Scenario, UNAVAILABLE, UNAVAILABLE_NO_HINT, echo_headers,
    principal_body, scripted_validator,
};

/// One `#[tokio::test]` per conformance case, run against `$adapter` (an expression of a type
/// implementing [`AdapterUnderTest`](crate::conformance::AdapterUnderTest)). The calling crate
/// needs `tokio` (with `macros` and `rt`).
///
/// `conformance_tests!(authorization_server: $adapter)` does the same with the
/// authorization-server cases (feature `server`; `$adapter` implements
/// `authorization_server::AuthorizationServerUnderTest`).
#[macro_export]
macro_rules! conformance_tests {
    (authorization_server: $adapter:expr) => {
        $crate::__conformance_server_cases! { __conformance_server_single ($adapter) }
    };
    ($adapter:expr) => {
        $crate::__conformance_cases! { __conformance_single ($adapter) }
    };
}

/// One `#[tokio::test]` per conformance case, run against `$a` and `$b` and failing on any
/// difference between their answers ([`compare`](crate::conformance::compare)).
///
/// `conformance_compare!(authorization_server: $a, $b)` does the same with the
/// authorization-server cases (feature `server`).
#[macro_export]
macro_rules! conformance_compare {
    (authorization_server: $a:expr, $b:expr) => {
        $crate::__conformance_server_cases! { __conformance_server_pair ($a, $b) }
    };
    ($a:expr, $b:expr) => {
        $crate::__conformance_cases! { __conformance_pair ($a, $b) }
    };
}

/// The list of cases, handed to `$callback`.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($callback:ident $args:tt) => {
        $crate::$callback! { $args [
            missing_token_on_every_method,
            unknown_token_is_invalid_token,
            expired_token_is_invalid_token,
            malformed_authorization_is_invalid_request,
            duplicate_authorization_is_invalid_request,
            token_in_query_is_invalid_request,
            cached_token_is_read_as_any_other,
            principal_reaches_the_handler,
            require_scopes_on_every_request,
            require_scopes_per_route,
            tool_scopes_single_and_batch,
            body_over_limit_is_413,
            body_passes_through,
            validator_unavailable_is_503,
            validator_internal_is_500,
            extractors_without_middleware_are_500,
            metadata_at_both_paths,
            metadata_preflight,
            metadata_other_methods,
            metadata_for_origin_resource,
            foreign_session_is_replaced,
            session_binding_off_passes_sessions,
        ] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_single {
    (($adapter:expr) [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test]
            async fn $case() {
                $crate::conformance::run(&$adapter, $crate::conformance::cases::$case).await;
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_pair {
    (($a:expr, $b:expr) [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test]
            async fn $case() {
                $crate::conformance::compare(&$a, &$b, $crate::conformance::cases::$case).await;
            }
        )*
    };
}

/// The list of authorization-server cases, handed to `$callback`.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_server_cases {
    ($callback:ident $args:tt) => {
        $crate::$callback! { $args [
            metadata_documents,
            metadata_for_an_issuer_with_a_path,
            jwks_document,
            register_and_its_refusals,
            authorize_login_page,
            authorize_unknown_client_is_a_page,
            authorize_bad_pkce_redirects,
            authorize_post_without_csrf_is_403,
            authorize_login_failures_and_throttle,
            authorization_code_flow,
            consent_denied_redirects,
            token_errors,
            client_credentials_grant,
            revoke_endpoint,
            introspect_endpoint,
            wrong_methods_are_405,
            cors_preflights,
            body_over_limit_is_413,
            rate_limit_is_429,
            unknown_paths_are_404,
        ] }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_server_single {
    (($adapter:expr) [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test]
            async fn $case() {
                $crate::conformance::authorization_server::run(
                    &$adapter,
                    $crate::conformance::authorization_server::cases::$case,
                )
                .await;
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_server_pair {
    (($a:expr, $b:expr) [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test]
            async fn $case() {
                $crate::conformance::authorization_server::compare(
                    &$a,
                    &$b,
                    $crate::conformance::authorization_server::cases::$case,
                )
                .await;
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_names {
    (() [$($case:ident),* $(,)?]) => {
        [$(stringify!($case)),*]
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_macro_lists_every_case() {
        let listed = crate::__conformance_cases! { __conformance_names () };
        let declared: Vec<&str> = super::cases::ALL.iter().map(|(name, _)| *name).collect();
        assert_eq!(listed.to_vec(), declared);
    }

    #[cfg(feature = "server")]
    #[test]
    fn the_macro_lists_every_authorization_server_case() {
        let listed = crate::__conformance_server_cases! { __conformance_names () };
        let declared: Vec<&str> = super::authorization_server::cases::ALL
            .iter()
            .map(|(name, _)| *name)
            .collect();
        assert_eq!(listed.to_vec(), declared);
    }
}
