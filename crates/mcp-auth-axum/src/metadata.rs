//! Routes serving the Protected Resource Metadata document (RFC 9728 section 3), at the
//! path-inserted location and at the root, readable by browser clients (CORS).
//!
//! # Example
//!
//! ```
//! use mcp_auth_core::metadata::{ProtectedResource, ResourceUri};
//!
//! let resource = ProtectedResource::new(ResourceUri::parse("https://mcp.example.com/mcp").unwrap());
//! // Serves /.well-known/oauth-protected-resource/mcp and /.well-known/oauth-protected-resource
//! let router: axum::Router = mcp_auth_axum::metadata_router(&resource);
//! # let _ = router;
//! ```

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use axum::routing::get;
use http::StatusCode;
use http::header::{HeaderName, HeaderValue};
use mcp_auth_core::metadata::{
    METADATA_ALLOW, METADATA_CORS_HEADERS, METADATA_HEADERS, ProtectedResource,
};

/// A router answering `GET` and `HEAD` (and CORS preflight `OPTIONS`) on every well-known path
/// of `resource`, and 405 with [`METADATA_ALLOW`] to other methods. Merge it beside, not
/// behind, the [`crate::AuthLayer`]: the document is public.
pub fn metadata_router<S: Clone + Send + Sync + 'static>(
    resource: &ProtectedResource,
) -> Router<S> {
    let document = resource.metadata_json();
    let mut router = Router::new();
    for path in resource.well_known_paths() {
        let document = document.clone();
        router = router.route(
            &path,
            get(move || {
                let document = document.clone();
                async move { metadata_response(document) }
            })
            .options(|| async { preflight_response() })
            .fallback(|| async { method_not_allowed() }),
        );
    }
    router
}

fn insert_all(response: &mut Response, headers: &[(&'static str, &'static str)]) {
    for &(name, value) in headers {
        response.headers_mut().insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
}

fn metadata_response(document: String) -> Response {
    let mut response = Response::new(Body::from(document));
    insert_all(&mut response, &METADATA_HEADERS);
    insert_all(&mut response, &METADATA_CORS_HEADERS);
    response
}

fn preflight_response() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    insert_all(&mut response, &METADATA_CORS_HEADERS);
    response
}

fn method_not_allowed() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    insert_all(&mut response, &[("allow", METADATA_ALLOW)]);
    response
}
