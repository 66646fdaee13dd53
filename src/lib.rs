//! mattermost-setup: answers → plan → phases over one host seam → events → front ends.

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
