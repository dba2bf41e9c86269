//! Integration tests of mcp-auth-server, in one binary so that CI links it once: client
//! resolution over real HTTP (`client`), the token, revocation and introspection endpoints
//! (`endpoints`), the whole server through its one entry point (`server`) and the store
//! conformance suite against every backend (`store`).

mod client;
mod endpoints;
mod server;
mod store;
