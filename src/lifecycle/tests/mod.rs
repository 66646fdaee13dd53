//! Upgrade's crash recovery and rollback, and uninstall, through the fake host.

// b(ox), a(nswers), p(lan), r(esult), t(race): the tests' vocabulary.
#![allow(clippy::many_single_char_names)]

mod uninstall;
mod upgrade;
