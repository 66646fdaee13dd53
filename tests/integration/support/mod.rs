//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod artifacts;
pub mod databases;
pub mod freshbox;
pub mod mirror;
pub mod netlab;
pub mod plan;
