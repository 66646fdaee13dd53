//! Life after the first install: reconfigure, upgrade and uninstall. Repair is the
//! engine's converge with a policy for hand-edited files (see `engine::converge`).

pub mod backup;
pub mod cache;
pub mod reconfigure;
pub mod restore;
pub mod unfinished;
pub mod uninstall;
pub mod upgrade;

#[cfg(test)]
mod tests;

pub use unfinished::UNFINISHED;
