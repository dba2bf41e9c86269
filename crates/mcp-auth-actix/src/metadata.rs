//! Routes serving the Protected Resource Metadata document (RFC 9728 section 3), at the
//! path-inserted location and at the root, readable by browser clients (CORS).
//!
//! # Example
//!
//! ```
//! use actix_web::App;
//! use mcp_auth_core::metadata::{ProtectedResource, ResourceUri};
//!
//! let resource = ProtectedResource::new(ResourceUri::parse("https://mcp.example.com/mcp").unwrap());
//! // Serves /.well-known/oauth-protected-resource/mcp and /.well-known/oauth-protected-resource
//! let app = App::new().service(mcp_auth_actix::metadata_service(&resource));
//! // or, in a `configure` function:
//! let app2 = App::new().configure(mcp_auth_actix::configure_metadata(&resource));
//! # let _ = (app, app2);
//! ```

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::Method;
use actix_web::{HttpResponse, HttpResponseBuilder, web};
use mcp_auth_core::metadata::{
    METADATA_ALLOW, METADATA_CORS_HEADERS, METADATA_HEADERS, ProtectedResource,
};

/// The metadata routes of one resource: `GET` and `HEAD` answer the document, `OPTIONS` the
/// CORS preflight (204), other methods 405 with `Allow: GET, HEAD, OPTIONS`. Register it
/// beside, not inside, the scope that [`crate::AuthMiddleware`] wraps: the document is public.
#[derive(Debug, Clone)]
pub struct MetadataService {
    document: String,
    paths: Vec<String>,
}

/// The metadata routes of `resource`, for `App::service`.
pub fn metadata_service(resource: &ProtectedResource) -> MetadataService {
    MetadataService {
        document: resource.metadata_json(),
        paths: resource.well_known_paths(),
    }
}

/// The metadata routes of `resource`, for `App::configure` (or a `ServiceConfig`).
pub fn configure_metadata(resource: &ProtectedResource) -> impl FnOnce(&mut web::ServiceConfig) {
    let service = metadata_service(resource);
    move |config| {
        config.service(service);
    }
}

fn with_headers(mut builder: HttpResponseBuilder, headers: &[(&str, &str)]) -> HttpResponseBuilder {
    for &(name, value) in headers {
        builder.insert_header((name, value));
    }
    builder
}

fn document_response(document: String) -> HttpResponse {
    let builder = with_headers(HttpResponse::Ok(), &METADATA_HEADERS);
    with_headers(builder, &METADATA_CORS_HEADERS).body(document)
}

fn preflight_response() -> HttpResponse {
    with_headers(HttpResponse::NoContent(), &METADATA_CORS_HEADERS).finish()
}

impl HttpServiceFactory for MetadataService {
    fn register(self, config: &mut AppService) {
        for path in &self.paths {
            let document = self.document.clone();
            let get = move || {
                let document = document.clone();
                async move { document_response(document) }
            };
            web::resource(path.as_str())
                .route(web::get().to(get.clone()))
                .route(web::head().to(get))
                .route(web::method(Method::OPTIONS).to(|| async { preflight_response() }))
                .default_service(web::to(|| async {
                    with_headers(
                        HttpResponse::MethodNotAllowed(),
                        &[("allow", METADATA_ALLOW)],
                    )
                    .finish()
                }))
                .register(config);
        }
    }
}
