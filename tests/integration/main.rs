//! Integration tests: one binary, modules per area.

mod freshbox_install;
mod support;
mod freshbox_lifecycle;
