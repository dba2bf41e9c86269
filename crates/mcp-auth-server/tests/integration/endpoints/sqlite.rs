//! One full flow against a SQLite file: code, refresh, reuse, revocation, introspection.

use std::sync::Arc;

use http::StatusCode;
use mcp_auth_server::store::SqliteStore;

use crate::endpoints::support::{
    Auth, BASIC, BASIC_SECRET, NOW, PUBLIC, RESOURCE, Server, request,
};

#[tokio::test]
async fn full_flow_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("auth.db")).await.unwrap();
    let server = Server::on(Arc::new(store)).await;

    // Code -> tokens; the code cannot be replayed.
    let code = server.code(PUBLIC, Some(RESOURCE)).await;
    let (access, first) = server.redeem(&code, Auth::Public(PUBLIC)).await.tokens();
    let first = first.unwrap();
    let introspect = |token: String| {
        let server = &server;
        async move {
            server
                .introspect(
                    request(&[("token", &token)], Auth::Basic(BASIC, BASIC_SECRET)),
                    NOW + 50,
                )
                .await
                .body["active"]
                .clone()
        }
    };
    assert_eq!(introspect(access).await, true);

    // Rotation, then reuse of the first token revokes the family.
    let (_, second) = server
        .refresh(&first, Auth::Public(PUBLIC), &[], NOW + 10)
        .await
        .tokens();
    let second = second.unwrap();
    assert_eq!(introspect(second.clone()).await, true);
    server
        .refresh(&first, Auth::Public(PUBLIC), &[], NOW + 20)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(introspect(second.clone()).await, false);
    server
        .refresh(&second, Auth::Public(PUBLIC), &[], NOW + 30)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // A second grant: code replay revokes its family; a third: revocation.
    let code = server.code(PUBLIC, Some(RESOURCE)).await;
    let (_, replayed) = server.redeem(&code, Auth::Public(PUBLIC)).await.tokens();
    server
        .redeem(&code, Auth::Public(PUBLIC))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(introspect(replayed.unwrap()).await, false);

    let (_, revoked) = server.public_tokens().await;
    let answer = server
        .revoke(request(&[("token", &revoked)], Auth::Public(PUBLIC)))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(introspect(revoked.clone()).await, false);
    server
        .refresh(&revoked, Auth::Public(PUBLIC), &[], NOW + 30)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_grant");
}
