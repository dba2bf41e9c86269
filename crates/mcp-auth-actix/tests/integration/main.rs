//! Integration tests of mcp-auth-actix, in one binary so that CI links it once: the shared
//! conformance suite with its axum comparison (`conformance`) and the mounted authorization
//! server (`server`).

mod conformance;
mod server;
