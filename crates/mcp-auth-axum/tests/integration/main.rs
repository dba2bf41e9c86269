//! Integration tests of mcp-auth-axum, in one binary so that CI links it once: the layer and
//! extractors (`layer`), the shared conformance suite (`conformance`), the mounted
//! authorization server (`server`) and its pages in headless Chromium (`browser`).

mod browser;
mod conformance;
mod layer;
mod server;
