//! The shared conformance suite (`mcp_auth_testkit::conformance`) against the actix-web
//! adapter: exact statuses, challenges, headers and bodies (`actix::*`), and every case run
//! against the axum adapter too, failing on any difference between the two (`parity::*`).
//! With feature `server`, the same for every endpoint of the mounted authorization server
//! (`actix::authorization_server::*`, `parity::authorization_server::*`).

#![allow(clippy::unwrap_used, reason = "tests")]

mod app;
#[path = "../../../../mcp-auth-axum/tests/integration/conformance/app.rs"]
mod axum_app;

mod actix {
    mcp_auth_testkit::conformance_tests!(crate::conformance::app::Actix);

    #[cfg(feature = "server")]
    mod authorization_server {
        mcp_auth_testkit::conformance_tests!(
            authorization_server: crate::conformance::app::Actix
        );
    }
}

mod parity {
    mcp_auth_testkit::conformance_compare!(
        crate::conformance::axum_app::Axum,
        crate::conformance::app::Actix
    );

    #[cfg(feature = "server")]
    mod authorization_server {
        mcp_auth_testkit::conformance_compare!(
            authorization_server: crate::conformance::axum_app::Axum,
            crate::conformance::app::Actix
        );
    }
}
