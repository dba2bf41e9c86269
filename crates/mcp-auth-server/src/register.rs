//! The client registration endpoint (RFC 7591): `POST /register`.
//!
//! The body is a JSON object of client metadata, checked by the rules of
//! [`registration`](crate::client::registration). A valid request is answered `201 Created`
//! with the client information response (RFC 7591 section 3.2.1, `Cache-Control: no-store`
//! since it may carry the client secret) after the client is stored.
//!
//! | situation | status | `error` |
//! |---|---|---|
//! | registered | 201 | |
//! | `Content-Type` present and not JSON | 400 | `invalid_client_metadata` |
//! | body over [`MAX_REGISTRATION_BODY`] | 413 | `invalid_client_metadata` |
//! | invalid metadata | 400 | `invalid_redirect_uri` or `invalid_client_metadata` |
//! | registration disabled | 403 | `access_denied` |
//! | store or random source failed | 500 | `server_error` |
//!
//! **Disabled registration.** RFC 7591 lets a server refuse registrations but names no error
//! for "this server does not register clients". A disabled server leaves
//! `registration_endpoint` out of its metadata, so well-behaved clients never call it; a
//! client that does anyway gets `403 Forbidden` with `access_denied`, the answer of RFC 7591
//! section 3 to a registration the server does not permit (as for a missing initial access
//! token), rather than a `400` that would blame the client's metadata.
//!
//! [`MAX_REGISTRATION_BODY`]: crate::client::registration::MAX_REGISTRATION_BODY

use std::sync::Arc;

use http::header::CONTENT_TYPE;
use http::{Method, StatusCode};

use crate::client::registration::{
    RegistrationError, RegistrationPolicy, RegistrationRequest, register,
};
use crate::error::{ErrorCode, OAuthError, log_fault};
use crate::http::{Request, Response, json};
use crate::store::Store;

/// What the registration endpoint needs.
#[derive(Clone)]
pub struct RegisterDeps {
    /// Where registered clients are stored.
    pub store: Arc<dyn Store>,
    /// What clients may register.
    pub policy: RegistrationPolicy,
    /// Whether dynamic registration is open; when not, every request is answered 403.
    pub enabled: bool,
}

impl std::fmt::Debug for RegisterDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterDeps")
            .field("policy", &self.policy)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// Handles `POST /register` at `now` (unix seconds). See the [module docs](self) for the
/// answers.
pub async fn register_endpoint(req: Request, deps: &RegisterDeps, now: u64) -> Response {
    if req.method() != Method::POST {
        return OAuthError::new(ErrorCode::InvalidRequest, "registration requires POST").response();
    }
    if !deps.enabled {
        return json(
            StatusCode::FORBIDDEN,
            &OAuthError::new(
                ErrorCode::AccessDenied,
                "dynamic client registration is disabled on this server",
            ),
        );
    }
    if let Some(content_type) = req.headers().get(CONTENT_TYPE)
        && !is_json(content_type.as_bytes())
    {
        return error_response(RegistrationError::MalformedRequest);
    }
    let outcome = RegistrationRequest::from_json(req.body())
        .and_then(|request| register(request, &deps.policy, now));
    let (record, response) = match outcome {
        Ok(registered) => registered,
        Err(err @ RegistrationError::RandomUnavailable) => {
            log_fault("register: generate credentials", &err);
            return error_response(err);
        }
        Err(err) => return error_response(err),
    };
    if let Err(e) = deps.store.put_client(record).await {
        log_fault("register: put_client", &e);
        return OAuthError::new(ErrorCode::ServerError, "the client could not be stored")
            .response();
    }
    json(StatusCode::CREATED, &response)
}

/// Whether a `Content-Type` is `application/json` (parameters such as `charset` allowed).
fn is_json(value: &[u8]) -> bool {
    let essence = value.split(|b| *b == b';').next().unwrap_or_default();
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(b"application/json")
}

fn error_response(err: RegistrationError) -> Response {
    let status = StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    json(status, &err.response())
}

#[cfg(test)]
#[cfg(feature = "memory")]
mod tests {
    use super::*;
    use crate::store::{ClientSource, MemoryStore, TokenHash};
    use bytes::Bytes;
    use serde_json::{Value, json as j};

    const NOW: u64 = 1_700_000_000;

    fn deps(store: Arc<MemoryStore>, enabled: bool) -> RegisterDeps {
        RegisterDeps {
            store,
            policy: RegistrationPolicy::new(),
            enabled,
        }
    }

    fn post(body: &Value, content_type: Option<&str>) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/register");
        if let Some(ct) = content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        builder
            .body(Bytes::from(serde_json::to_vec(body).unwrap()))
            .unwrap()
    }

    fn body(response: &Response) -> Value {
        serde_json::from_slice(response.body()).unwrap()
    }

    #[tokio::test]
    async fn registers_and_stores_a_confidential_client() {
        let store = Arc::new(MemoryStore::new());
        let request = post(
            &j!({"redirect_uris": ["https://app.example.com/cb"], "client_name": "App"}),
            Some("application/json; charset=utf-8"),
        );
        let response = register_endpoint(request, &deps(store.clone(), true), NOW).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let info = body(&response);
        let client_id = info["client_id"].as_str().unwrap();
        let secret = info["client_secret"].as_str().unwrap();
        assert_eq!(info["client_id_issued_at"], NOW);
        assert_eq!(info["token_endpoint_auth_method"], "client_secret_basic");
        let stored = store.get_client(client_id).await.unwrap().unwrap();
        assert_eq!(stored.source, ClientSource::Dynamic);
        assert_eq!(stored.client_secret_hash, Some(TokenHash::of(secret)));
        assert_eq!(stored.redirect_uris, ["https://app.example.com/cb"]);
    }

    #[tokio::test]
    async fn refusals() {
        let store = Arc::new(MemoryStore::new());
        let open = deps(store.clone(), true);

        let bad_uri = post(&j!({"redirect_uris": ["javascript:alert(1)"]}), None);
        let response = register_endpoint(bad_uri, &open, NOW).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(body(&response)["error"], "invalid_redirect_uri");

        let form = post(
            &j!({"redirect_uris": ["https://a.example/cb"]}),
            Some("application/x-www-form-urlencoded"),
        );
        let response = register_endpoint(form, &open, NOW).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(body(&response)["error"], "invalid_client_metadata");

        let huge = j!({"client_name": "x".repeat(20_000)});
        let response = register_endpoint(post(&huge, None), &open, NOW).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

        let closed = deps(store.clone(), false);
        let ok = post(&j!({"redirect_uris": ["https://a.example/cb"]}), None);
        let response = register_endpoint(ok, &closed, NOW).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(body(&response)["error"], "access_denied");
    }
}
