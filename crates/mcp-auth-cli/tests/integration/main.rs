//! Integration tests of the `mcp-auth` binary, run as a child process, in one test binary so
//! that CI links it once.

mod commands;
mod doctor;
mod hash_password;
mod serve;
