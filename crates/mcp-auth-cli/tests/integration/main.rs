//! Integration tests of the `mcp-auth` binary, run as a child process, and of rmcp's OAuth
//! client against the server it runs (`clients`), in one test binary so that CI links it once.

mod clients;
mod commands;
mod doctor;
mod hash_password;
mod serve;
