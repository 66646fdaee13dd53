//! mattermost-setup: answers → plan → phases over one host seam → events → front ends.

// One door to the box: outside src/host/ no code changes a file, opens a socket or
// builds an HTTP client itself (clippy.toml's disallowed-methods/-types). Test code
// may build its fixtures with std::fs; the non-test build is checked.
#![cfg_attr(test, allow(clippy::disallowed_methods, clippy::disallowed_types))]

pub mod answers;
pub mod cli;
pub mod dsn;
pub mod engine;
#[cfg(test)]
mod engine_tests;
pub mod events;
pub mod grammar;
pub mod host;
pub mod lifecycle;
pub mod phases;
pub mod plan;
pub mod probes;
pub mod releases;
pub mod retention;
pub mod state;
pub mod ui;
pub mod vocab;
