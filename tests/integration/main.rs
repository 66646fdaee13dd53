//! Integration tests: one binary, modules per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests build their fixtures and reach servers directly; the one-door rule of
// clippy.toml is for the tool's own code in src/.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod architecture;
mod benches;
mod db_passwords;
mod db_restore;
mod freshbox_bridge;
mod freshbox_cluster;
mod freshbox_debian;
mod freshbox_download;
mod freshbox_housekeeping;
mod freshbox_install;
mod freshbox_lifecycle;
mod freshbox_nginx;
mod freshbox_restore;
mod freshbox_signature;
mod freshbox_tls;
mod fuzz;
mod objectstore;
mod release;
mod retention;
mod support;
mod template_grammar;
mod wizard_dumb;
mod wizard_freshbox;
mod wizard_pty;
mod wizard_screenshots;
