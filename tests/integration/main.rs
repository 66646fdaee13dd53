//! Integration tests: one binary, modules per area.

mod support;
