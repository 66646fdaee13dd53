//! Upgrade's crash recovery and rollback, and uninstall, through the fake host.

mod uninstall;
mod upgrade;
