//! Integration tests: one binary, modules per area.

mod freshbox_housekeeping;
mod freshbox_install;
mod freshbox_lifecycle;
mod freshbox_nginx;
mod freshbox_tls;
mod retention;
mod support;
mod wizard_freshbox;
mod wizard_pty;
mod wizard_screenshots;
