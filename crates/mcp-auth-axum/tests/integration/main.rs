//! Integration tests of mcp-auth-axum, in one binary so that CI links it once: the layer and
//! extractors (`layer`), the shared conformance suite (`conformance`) and the mounted
//! authorization server (`server`).

mod conformance;
mod layer;
mod server;
