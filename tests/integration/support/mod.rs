//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod databases;
pub mod freshbox;
pub mod mirror;
