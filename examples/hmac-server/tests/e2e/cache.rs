//! The validation cache never outlives a token.

use std::time::Duration;

use mcp_auth_core::InvalidTokenReason;
use mcp_auth_testkit::now;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestServer, assert_accepted, assert_refused};

#[tokio::test]
async fn cached_token_is_refused_once_expired() {
    let server = TestServer::start_with(|config| config.leeway_secs = Some(0)).await;
    // Valid for 2-3 s more (3 s so that a second ticking before the first request is harmless).
    let exp = now() + 3;
    let token = server
        .tokens
        .claims()
        .scope("mcp:tools")
        .set("exp", json!(exp))
        .sign();
    // Accepted, then served from the cache.
    assert_accepted(server.post_initialize(Some(&token)).await).await;
    assert_accepted(server.post_initialize(Some(&token)).await).await;

    // Wait until exp has passed (bounded: at most about 5 s).
    for _ in 0..50 {
        if now() >= exp {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(now() >= exp, "the clock did not reach exp");

    let response = server.post_initialize(Some(&token)).await;
    assert_refused(
        response,
        StatusCode::UNAUTHORIZED,
        &server.invalid_token_challenge(InvalidTokenReason::Expired),
    )
    .await;
}
