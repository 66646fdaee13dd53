//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
//! Upgrade's crash recovery and rollback, and uninstall, through the fake host.

// b(ox), a(nswers), p(lan), r(esult), t(race): the tests' vocabulary.
#![allow(clippy::many_single_char_names)]

mod uninstall;
mod upgrade;
