//! What the lifecycle commands leave unfinished for the next run of any command to
//! settle — an upgrade cut short (finished or rolled back) — and what `status` says
//! of it and of a data move waiting, handed to the engine as [`UNFINISHED`] by
//! `cli`, so the engine imports no lifecycle code (the layers: README, "How it is
//! built"). The data move itself is a phase (`phases::datamove`).

use std::path::Path;

use super::upgrade;
use crate::engine::Unfinished;
use crate::host::Host;
use crate::phases::datamove;
use crate::vocab::Check;

/// The engine's hooks for work left unfinished on the box.
pub const UNFINISHED: Unfinished = Unfinished {
    recover: upgrade::recover,
    leftovers,
};

/// Read-only, for `status`: an upgrade's leftovers, then an unfinished data move.
pub fn leftovers(host: &Host, install_dir: &Path) -> Vec<Check> {
    let mut all = upgrade::leftovers(host, install_dir);
    all.extend(datamove::checks(host));
    all
}
