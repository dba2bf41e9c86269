//! The conformance app on actix-web (the route table of `mcp_auth_testkit::conformance`) and,
//! with feature `server`, the authorization server mounted by `configure_authorization_server`.

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures::future::LocalBoxFuture;
use mcp_auth_actix::{AuthMiddleware, Authenticated, RequireScopes, metadata_service};
use mcp_auth_testkit::conformance::{
    AdapterUnderTest, ISSUE_SESSION, Running, Scenario, echo_headers, principal_body,
};

/// Starts the conformance app with [`AuthMiddleware`].
pub(crate) struct Actix;

async fn echo(request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let value = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let mut response = HttpResponse::Ok();
    for header in echo_headers(value(mcp_auth_actix::MCP_SESSION_ID), value(ISSUE_SESSION)) {
        response.insert_header(header);
    }
    response.body(body)
}

async fn me(Authenticated(principal): Authenticated) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(principal_body(&principal))
}

fn middleware(scenario: &Scenario) -> AuthMiddleware {
    let mut auth = AuthMiddleware::new(scenario.validator(), scenario.resource().clone());
    if let Some(scopes) = scenario.require_scopes() {
        auth = auth.require_scopes(scopes.clone());
    }
    for (tool, scopes) in scenario.tool_scopes() {
        auth = auth.tool_scopes(tool.clone(), scopes.clone());
    }
    if let Some(bytes) = scenario.max_body() {
        auth = auth.max_body(bytes);
    }
    if !scenario.session_binding() {
        auth = auth.insecure_without_session_binding();
    }
    auth
}

fn configure(scenario: &Scenario, auth: &AuthMiddleware, config: &mut web::ServiceConfig) {
    config
        .service(metadata_service(scenario.resource()))
        .service(
            web::resource("/mcp")
                .wrap(auth.clone())
                .route(web::route().to(echo)),
        )
        .service(
            web::resource("/me")
                .wrap(auth.clone())
                .route(web::get().to(me)),
        )
        .service(
            web::resource("/admin")
                .wrap(RequireScopes::new(scenario.admin_scopes()))
                .wrap(auth.clone())
                .route(web::get().to(me)),
        )
        .service(web::resource("/open").route(web::get().to(me)))
        .service(
            web::resource("/open-admin")
                .wrap(RequireScopes::new(scenario.admin_scopes()))
                .route(web::get().to(|| async { "reached" })),
        );
}

impl AdapterUnderTest for Actix {
    fn name(&self) -> &'static str {
        "actix"
    }

    fn start(&self, scenario: Scenario) -> LocalBoxFuture<'static, Running> {
        Box::pin(async move {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            // One middleware for every worker, so they share session bindings.
            let auth = middleware(&scenario);
            let server = HttpServer::new(move || {
                let (scenario, auth) = (scenario.clone(), auth.clone());
                App::new().configure(move |config| configure(&scenario, &auth, config))
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
            let handle: ServerHandle = server.handle();
            let task = tokio::spawn(server);
            Running::new(addr, move || {
                drop(handle.stop(false));
                task.abort();
            })
        })
    }
}

#[cfg(feature = "server")]
impl mcp_auth_testkit::conformance::authorization_server::AuthorizationServerUnderTest for Actix {
    fn name(&self) -> &'static str {
        "actix"
    }

    fn serve(
        &self,
        server: mcp_auth_server::server::AuthorizationServer,
    ) -> LocalBoxFuture<'static, Running> {
        Box::pin(async move {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let running = HttpServer::new(move || {
                App::new().configure(mcp_auth_actix::configure_authorization_server(
                    server.clone(),
                ))
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
            let handle: ServerHandle = running.handle();
            let task = tokio::spawn(running);
            Running::new(addr, move || {
                drop(handle.stop(false));
                task.abort();
            })
        })
    }
}
