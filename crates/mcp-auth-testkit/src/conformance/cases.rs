//! The cases, one per behaviour. Each starts the apps it needs and asserts exact answers;
//! [`super::compare`] additionally checks that two adapters answered identically.

use futures::future::LocalBoxFuture;
use mcp_auth_core::guard::FOREIGN_SESSION;
use reqwest::Method;
use serde_json::{Value, json};

use super::expect::{
    self, MISSING_TOKEN_BODY, SERVER_ERROR_BODY, TOO_LARGE_BODY, UNAVAILABLE_BODY,
};
use super::harness::{Case, Harness, Req};
use super::scenario::{
    ALICE, BOB, ECHO_CONTENT_TYPE, EXPIRED, INTERNAL, ISSUE_SESSION, ROOT, SECRET_CAUSE,
    SEEN_SESSION, Scenario, UNAVAILABLE, UNAVAILABLE_NO_HINT,
};

const METHODS: [&str; 7] = ["POST", "GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"];

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap_or(Method::GET)
}

fn call(id: u64, tool: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool}})
}

/// 64 KiB of every byte value, not valid UTF-8 and not JSON.
fn binary_payload() -> Vec<u8> {
    (0..64 * 1024u32).map(|i| (i % 251) as u8).collect()
}

fn alice_body() -> &'static str {
    r#"{"subject":"alice","email":"alice@example.com","scopes":"mcp:tools"}"#
}

fn root_body() -> &'static str {
    r#"{"subject":"root","email":null,"scopes":"admin greet mcp:tools"}"#
}

cases! {
    /// No `Authorization` header: 401 with the discovery challenge, whatever the method and
    /// route (no 405 or 404 before the 401).
    async fn missing_token_on_every_method(h) {
        let server = h.start(Scenario::new()).await;
        for name in METHODS {
            let ex = server.send(Req::new(method(name), "/mcp")).await;
            let body = if name == "HEAD" { "" } else { MISSING_TOKEN_BODY };
            expect::refusal(&ex, 401, Some(&expect::missing_token()), body);
        }
        for path in ["/me", "/admin"] {
            let ex = server.send(Req::get(path)).await;
            expect::refusal(&ex, 401, Some(&expect::missing_token()), MISSING_TOKEN_BODY);
        }
        // A method `/me` does not serve: still 401. (axum's method router adds `Allow: GET,HEAD`
        // around the layer's answer; actix-web does not. Neither reveals more than that.)
        let ex = server
            .send(Req::post("/me").body("x").compare_without("allow"))
            .await;
        expect::refusal(&ex, 401, Some(&expect::missing_token()), MISSING_TOKEN_BODY);
    }

    /// A token the validator refuses: 401 `invalid_token` with the validator's reason.
    async fn unknown_token_is_invalid_token(h) {
        let server = h.start(Scenario::new()).await;
        let (challenge, body) = expect::invalid_token("the token signature is invalid");
        for req in [
            Req::post("/mcp").bearer("nobody-token").body("{}"),
            Req::get("/me").bearer("nobody-token"),
            Req::get("/admin").bearer("nobody-token"),
        ] {
            let ex = server.send(req).await;
            expect::refusal(&ex, 401, Some(&challenge), &body);
        }
    }

    /// An expired token: 401 `invalid_token`, "the token has expired".
    async fn expired_token_is_invalid_token(h) {
        let server = h.start(Scenario::new()).await;
        let (challenge, body) = expect::invalid_token("the token has expired");
        let ex = server.send(Req::post("/mcp").bearer(EXPIRED).body("{}")).await;
        expect::refusal(&ex, 401, Some(&challenge), &body);
    }

    /// `Authorization` values that are not `Bearer <b64token>`: 400 `invalid_request`; the
    /// scheme is case-insensitive.
    async fn malformed_authorization_is_invalid_request(h) {
        let server = h.start(Scenario::new()).await;
        let (challenge, body) =
            expect::invalid_request("the Authorization header is not a Bearer credential");
        for value in [
            "Basic YWxpY2U6cHc=",
            "Bearer",
            "Bearer ",
            "Token alice-token",
            "Bearer alice-token extra",
            "Bearer alice-token,",
            "Bearer\talice-token",
            "Bearer \u{e4}",
        ] {
            let req = Req::post("/mcp").header("authorization", value).note(value).body("{}");
            let ex = server.send(req).await;
            expect::refusal(&ex, 400, Some(&challenge), &body);
        }
        let ex = server
            .send(Req::get("/me").header("authorization", "bEaReR   alice-token"))
            .await;
        expect::ok(&ex, alice_body().as_bytes());
    }

    /// Two `Authorization` headers, even both valid: 400 `invalid_request`.
    async fn duplicate_authorization_is_invalid_request(h) {
        let server = h.start(Scenario::new()).await;
        let (challenge, body) = expect::invalid_request("more than one Authorization header");
        let ex = server
            .send(Req::get("/me").bearer(ALICE).bearer(ALICE))
            .await;
        expect::refusal(&ex, 400, Some(&challenge), &body);
        let ex = server.send(Req::post("/mcp").bearer(ALICE).bearer(ROOT).body("{}")).await;
        expect::refusal(&ex, 400, Some(&challenge), &body);
    }

    /// An `access_token` in the query: 400 `invalid_request`, with or without a header, its
    /// name percent-decoded; other query parameters are fine.
    async fn token_in_query_is_invalid_request(h) {
        let server = h.start(Scenario::new()).await;
        let (challenge, body) =
            expect::invalid_request("access tokens are not accepted in the URI query");
        for req in [
            Req::get(&format!("/me?access_token={ALICE}")),
            Req::get(&format!("/me?access_token={ALICE}")).bearer(ALICE),
            Req::post("/mcp?x=1&access%5Ftoken=abc").bearer(ALICE).body("{}"),
            Req::post("/mcp?access_token").body("{}"),
        ] {
            let ex = server.send(req).await;
            expect::refusal(&ex, 400, Some(&challenge), &body);
        }
        let ex = server.send(Req::get("/me?token=1&x").bearer(ALICE)).await;
        expect::ok(&ex, alice_body().as_bytes());
    }

    /// With a validation cache, which the guard asks by the token's digest before it reads
    /// the token, a cached token is admitted again, spelled as the parser reads it (any case of
    /// the scheme, any number of spaces); the refusals of the cases above stand as without it.
    async fn cached_token_is_read_as_any_other(h) {
        let server = h.start(Scenario::new().with_validation_cache()).await;
        for value in ["Bearer alice-token", "Bearer alice-token", "bEaReR   alice-token"] {
            let ex = server.send(Req::get("/me").header("authorization", value).note(value)).await;
            expect::ok(&ex, alice_body().as_bytes());
        }
        let (challenge, body) =
            expect::invalid_request("the Authorization header is not a Bearer credential");
        for value in [
            "Bearer\talice-token",
            "Token alice-token",
            "Bearer alice-token,",
            "Bearer alice-token extra",
            "alice-token",
        ] {
            let req = Req::get("/me").header("authorization", value).note(value);
            let ex = server.send(req).await;
            expect::refusal(&ex, 400, Some(&challenge), &body);
        }
        let (challenge, body) = expect::invalid_request("more than one Authorization header");
        let ex = server.send(Req::get("/me").bearer(ALICE).bearer(ALICE)).await;
        expect::refusal(&ex, 400, Some(&challenge), &body);
        let (challenge, body) =
            expect::invalid_request("access tokens are not accepted in the URI query");
        let ex = server
            .send(Req::get(&format!("/me?access_token={ALICE}")).bearer(ALICE))
            .await;
        expect::refusal(&ex, 400, Some(&challenge), &body);
    }

    /// A valid token reaches the handler, which reads the principal (`Authenticated`).
    async fn principal_reaches_the_handler(h) {
        let server = h.start(Scenario::new()).await;
        let ex = server.send(Req::get("/me").bearer(ALICE)).await;
        expect::ok(&ex, alice_body().as_bytes());
        assert_eq!(ex.header("content-type"), Some("application/json"));
        let ex = server.send(Req::get("/me").bearer(ROOT)).await;
        expect::ok(&ex, root_body().as_bytes());
        let ex = server.send(Req::post("/mcp").bearer(ALICE).body("hello")).await;
        expect::ok(&ex, b"hello");
        assert_eq!(ex.header("content-type"), Some(ECHO_CONTENT_TYPE));
        assert!(ex.header(SEEN_SESSION).is_none());
    }

    /// Scopes required of every request (`require_scopes`): 403 `insufficient_scope` naming
    /// them, on every route behind the middleware.
    async fn require_scopes_on_every_request(h) {
        let server = h.start(Scenario::new().with_require_scopes("greet")).await;
        let (challenge, body) = expect::insufficient_scope("greet");
        for req in [Req::get("/me").bearer(ALICE), Req::post("/mcp").bearer(ALICE).body("{}")] {
            let ex = server.send(req).await;
            expect::refusal(&ex, 403, Some(&challenge), &body);
        }
        let ex = server.send(Req::get("/me").bearer(ROOT)).await;
        expect::ok(&ex, root_body().as_bytes());
    }

    /// Scopes required by one route (`RequireScopes`): 403 naming them; the scope passes.
    async fn require_scopes_per_route(h) {
        let server = h.start(Scenario::new()).await;
        let (challenge, body) = expect::insufficient_scope("admin");
        let ex = server.send(Req::get("/admin").bearer(ALICE)).await;
        expect::refusal(&ex, 403, Some(&challenge), &body);
        let ex = server.send(Req::get("/admin").bearer(ROOT)).await;
        expect::ok(&ex, root_body().as_bytes());
        let ex = server.send(Req::get("/me").bearer(ALICE)).await;
        expect::ok(&ex, alice_body().as_bytes());
    }

    /// Scopes per tool (`tool_scopes`): a `tools/call` of the tool, alone or in a batch, is
    /// 403 naming the tool's scopes; other tools and other methods pass, bodies intact.
    async fn tool_scopes_single_and_batch(h) {
        let server = h.start(Scenario::new().with_tool_scopes("hello", "greet")).await;
        let (challenge, body) = expect::insufficient_scope("greet");
        let batch = json!([
            {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            call(2, "whoami"),
            call(3, "hello"),
        ]);
        for message in [call(1, "hello"), batch.clone()] {
            let ex = server.send(Req::post("/mcp").bearer(ALICE).json(&message)).await;
            expect::refusal(&ex, 403, Some(&challenge), &body);
        }
        let whoami = call(1, "whoami");
        let ex = server.send(Req::post("/mcp").bearer(ALICE).json(&whoami)).await;
        expect::ok(&ex, whoami.to_string().as_bytes());
        let ex = server.send(Req::post("/mcp").bearer(ROOT).json(&batch)).await;
        expect::ok(&ex, batch.to_string().as_bytes());
        let ex = server.send(Req::get("/mcp").bearer(ALICE)).await;
        expect::ok(&ex, b"");
        let ex = server.send(Req::post("/mcp").bearer(ALICE).body("not json")).await;
        expect::ok(&ex, b"not json");
    }

    /// A body over the inspection limit: 413 (declared or chunked); at the limit it passes;
    /// without a token it is still 401 (authentication first).
    async fn body_over_limit_is_413(h) {
        let server = h
            .start(Scenario::new().with_tool_scopes("hello", "greet").with_max_body(1024))
            .await;
        let big = json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "whoami", "arguments": {"pad": "x".repeat(2048)}}
        });
        let ex = server.send(Req::post("/mcp").bearer(ROOT).json(&big)).await;
        expect::refusal(&ex, 413, None, TOO_LARGE_BODY);
        let chunks = (0..8).map(|_| vec![b' '; 256]).collect();
        let ex = server
            .send(Req::post("/mcp").bearer(ROOT).chunked(chunks).note("chunked"))
            .await;
        expect::refusal(&ex, 413, None, TOO_LARGE_BODY);
        let exact = vec![b' '; 1024];
        let ex = server.send(Req::post("/mcp").bearer(ROOT).body(exact.clone())).await;
        expect::ok(&ex, &exact);
        let ex = server.send(Req::post("/mcp").json(&big)).await;
        expect::refusal(&ex, 401, Some(&expect::missing_token()), MISSING_TOKEN_BODY);
    }

    /// Bodies reach the handler byte for byte, read for tool scopes or not, sized or chunked.
    async fn body_passes_through(h) {
        for scenario in [Scenario::new(), Scenario::new().with_tool_scopes("hello", "greet")] {
            let server = h.start(scenario).await;
            let payload = binary_payload();
            let ex = server.send(Req::post("/mcp").bearer(ROOT).body(payload.clone())).await;
            expect::ok(&ex, &payload);
            let chunks = payload.chunks(1000).map(<[u8]>::to_vec).collect();
            let ex = server
                .send(Req::post("/mcp").bearer(ROOT).chunked(chunks).note("chunked"))
                .await;
            expect::ok(&ex, &payload);
            let ex = server.send(Req::post("/mcp").bearer(ROOT)).await;
            expect::ok(&ex, b"");
        }
    }

    /// The validator cannot reach its key source: 503 with `Retry-After` (the validator's hint,
    /// else 5), no challenge, nothing of the cause.
    async fn validator_unavailable_is_503(h) {
        let server = h.start(Scenario::new().with_tool_scopes("hello", "greet")).await;
        for req in [
            Req::get("/me").bearer(UNAVAILABLE),
            Req::post("/mcp").bearer(UNAVAILABLE).body("{}"),
        ] {
            let ex = server.send(req).await;
            expect::refusal_retry(&ex, 503, None, Some("7"), UNAVAILABLE_BODY);
            assert!(!ex.text().contains("hunter2"), "{SECRET_CAUSE}");
        }
        let ex = server.send(Req::get("/me").bearer(UNAVAILABLE_NO_HINT)).await;
        expect::refusal_retry(&ex, 503, None, Some("5"), UNAVAILABLE_BODY);
    }

    /// A fault inside the validator: 500 `server_error`, no challenge, nothing of the cause.
    async fn validator_internal_is_500(h) {
        let server = h.start(Scenario::new()).await;
        for req in [
            Req::get("/me").bearer(INTERNAL),
            Req::post("/mcp").bearer(INTERNAL).body("{}"),
        ] {
            let ex = server.send(req).await;
            expect::refusal(&ex, 500, None, SERVER_ERROR_BODY);
        }
        // Without a token the validator is not consulted.
        let ex = server.send(Req::get("/me")).await;
        expect::refusal(&ex, 401, Some(&expect::missing_token()), MISSING_TOKEN_BODY);
    }

    /// `Authenticated` and `RequireScopes` on routes outside the middleware: 500, never an
    /// anonymous pass.
    async fn extractors_without_middleware_are_500(h) {
        let server = h.start(Scenario::new()).await;
        for path in ["/open", "/open-admin"] {
            for req in [Req::get(path), Req::get(path).bearer(ROOT)] {
                let ex = server.send(req).await;
                expect::refusal(&ex, 500, None, SERVER_ERROR_BODY);
            }
        }
    }

    /// The metadata document at the path-inserted and root well-known paths, public, with
    /// CORS and a public cache lifetime; `HEAD` too.
    async fn metadata_at_both_paths(h) {
        let scenario = Scenario::new();
        let document = scenario.resource().metadata_json();
        let server = h.start(scenario).await;
        for path in [
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
        ] {
            for (req, head) in [
                (Req::get(path), false),
                (Req::get(path).bearer("nobody-token"), false),
                (Req::new(Method::HEAD, path), true),
            ] {
                let ex = server.send(req).await;
                assert_eq!(ex.status, 200, "{ex:?}");
                assert_metadata_headers(&ex, true);
                if head {
                    assert!(ex.body.is_empty(), "{ex:?}");
                } else {
                    assert_eq!(ex.text(), document);
                    let doc: Value = serde_json::from_slice(&ex.body).unwrap_or_default();
                    assert_eq!(doc["resource"], "https://mcp.example.com/mcp");
                    assert_eq!(doc["authorization_servers"], json!(["https://auth.example.com"]));
                    assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
                    assert_eq!(doc["scopes_supported"], json!(["admin", "greet", "mcp:tools"]));
                }
            }
        }
    }

    /// The CORS preflight of the metadata routes: 204 with the CORS headers, no body.
    async fn metadata_preflight(h) {
        let server = h.start(Scenario::new()).await;
        for path in [
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
        ] {
            let req = Req::new(Method::OPTIONS, path)
                .header("origin", "https://app.example.com")
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "mcp-protocol-version");
            let ex = server.send(req).await;
            assert_eq!(ex.status, 204, "{ex:?}");
            assert_metadata_headers(&ex, false);
            assert!(ex.body.is_empty());
        }
    }

    /// Methods other than `GET`, `HEAD` and `OPTIONS` on the metadata routes: 405.
    async fn metadata_other_methods(h) {
        let server = h.start(Scenario::new()).await;
        for name in ["POST", "DELETE"] {
            let ex = server
                .send(Req::new(method(name), "/.well-known/oauth-protected-resource"))
                .await;
            assert_eq!(ex.status, 405, "{ex:?}");
            assert_eq!(ex.header("allow"), Some("GET, HEAD, OPTIONS"), "{ex:?}");
            assert!(ex.all("www-authenticate").is_empty());
            assert!(ex.body.is_empty());
        }
    }

    /// A resource at the origin itself has one metadata path, named by its challenge.
    async fn metadata_for_origin_resource(h) {
        let scenario = Scenario::for_resource("https://mcp.example.com");
        let document = scenario.resource().metadata_json();
        let server = h.start(scenario).await;
        let ex = server.send(Req::get("/.well-known/oauth-protected-resource")).await;
        assert_eq!(ex.status, 200, "{ex:?}");
        assert_eq!(ex.text(), document);
        assert_metadata_headers(&ex, true);
        let ex = server.send(Req::get("/me")).await;
        let challenge = concat!(
            r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource", "#,
            r#"scope="mcp:tools""#,
        );
        expect::refusal(&ex, 401, Some(challenge), MISSING_TOKEN_BODY);
    }

    /// A session opened by alice, presented with bob's token, reaches the handler as
    /// [`FOREIGN_SESSION`] (the MCP server's unknown-session answer); alice's own requests and
    /// unknown sessions pass unchanged; after alice's `DELETE` the binding is gone.
    async fn foreign_session_is_replaced(h) {
        let server = h.start(Scenario::new()).await;
        let session = "3f1c0a52-4a5e-4c3b-9a57-2f1f0c7f9e11";
        let ex = server
            .send(Req::post("/mcp").bearer(ALICE).header(ISSUE_SESSION, session).body("{}"))
            .await;
        expect::ok(&ex, b"{}");
        assert_eq!(ex.header("mcp-session-id"), Some(session));
        let seen = |token: &str, session: &str| {
            Req::post("/mcp").bearer(token).header("mcp-session-id", session).body("{}")
        };
        let ex = server.send(seen(ALICE, session)).await;
        assert_eq!(ex.header(SEEN_SESSION), Some(session), "{ex:?}");
        let ex = server.send(seen(BOB, session)).await;
        assert_eq!(ex.status, 200, "{ex:?}");
        assert_eq!(ex.header(SEEN_SESSION), Some(FOREIGN_SESSION), "{ex:?}");
        let ex = server
            .send(Req::get("/mcp").bearer(BOB).header("mcp-session-id", session))
            .await;
        assert_eq!(ex.header(SEEN_SESSION), Some(FOREIGN_SESSION), "{ex:?}");
        let unknown = "9b2d7c1e-0000-4000-8000-000000000001";
        let ex = server.send(seen(BOB, unknown)).await;
        assert_eq!(ex.header(SEEN_SESSION), Some(unknown), "{ex:?}");
        // Bob's DELETE reaches the handler as the foreign id, so it cannot end alice's session.
        let ex = server
            .send(Req::new(Method::DELETE, "/mcp").bearer(BOB).header("mcp-session-id", session))
            .await;
        assert_eq!(ex.header(SEEN_SESSION), Some(FOREIGN_SESSION), "{ex:?}");
        let ex = server.send(seen(BOB, session)).await;
        assert_eq!(ex.header(SEEN_SESSION), Some(FOREIGN_SESSION), "{ex:?}");
        // Alice's DELETE succeeds and unbinds; the id is then unknown to the middleware.
        let ex = server
            .send(Req::new(Method::DELETE, "/mcp").bearer(ALICE).header("mcp-session-id", session))
            .await;
        assert_eq!(ex.header(SEEN_SESSION), Some(session), "{ex:?}");
        let ex = server.send(seen(BOB, session)).await;
        assert_eq!(ex.header(SEEN_SESSION), Some(session), "{ex:?}");
    }

    /// Without session binding, sessions pass whoever presents them.
    async fn session_binding_off_passes_sessions(h) {
        let server = h.start(Scenario::new().without_session_binding()).await;
        let session = "5a0e7c2b-1d3f-4e6a-8b9c-0d1e2f3a4b5c";
        let ex = server
            .send(Req::post("/mcp").bearer(ALICE).header(ISSUE_SESSION, session).body("{}"))
            .await;
        assert_eq!(ex.header("mcp-session-id"), Some(session));
        let ex = server
            .send(Req::post("/mcp").bearer(BOB).header("mcp-session-id", session).body("{}"))
            .await;
        assert_eq!(ex.header(SEEN_SESSION), Some(session), "{ex:?}");
    }
}

fn assert_metadata_headers(ex: &super::harness::Exchange, document: bool) {
    let label = &ex.label;
    assert_eq!(
        ex.header("access-control-allow-origin"),
        Some("*"),
        "{label}"
    );
    assert_eq!(
        ex.header("access-control-allow-methods"),
        Some("GET, OPTIONS"),
        "{label}"
    );
    assert_eq!(
        ex.header("access-control-allow-headers"),
        Some("mcp-protocol-version, content-type"),
        "{label}"
    );
    assert_eq!(
        ex.header("access-control-max-age"),
        Some("86400"),
        "{label}"
    );
    assert!(ex.all("www-authenticate").is_empty(), "{label}");
    if document {
        assert_eq!(
            ex.header("content-type"),
            Some("application/json"),
            "{label}"
        );
        assert_eq!(
            ex.header("cache-control"),
            Some("public, max-age=3600"),
            "{label}"
        );
    } else {
        assert_eq!(ex.header("content-type"), None, "{label}");
        assert_eq!(ex.header("cache-control"), None, "{label}");
    }
}
