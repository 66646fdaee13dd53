//! What the lifecycle commands leave unfinished for the next run of any command to
//! settle — an upgrade cut short (finished or rolled back), a data directory on its
//! way to another place — handed to the engine as [`UNFINISHED`] by `cli`, so the
//! engine imports no lifecycle code (the layers: README, "How it is built").

use std::path::Path;

use super::{datamove, upgrade};
use crate::answers::{Answers, SAVED_ANSWERS};
use crate::engine::Unfinished;
use crate::events::Event;
use crate::host::Host;
use crate::vocab::{Check, PhaseError, PhaseId};

/// The engine's hooks for work left unfinished on the box.
pub const UNFINISHED: Unfinished = Unfinished {
    recover: upgrade::recover,
    move_data: move_data_if_changed,
    leftovers,
};

/// Read-only, for `status`: an upgrade's leftovers, then an unfinished data move.
pub fn leftovers(host: &Host, install_dir: &Path) -> Vec<Check> {
    let mut all = upgrade::leftovers(host, install_dir);
    all.extend(datamove::checks(host));
    all
}

/// Moves the data when the saved answers name another data directory that still
/// exists on disk, or continues a move an earlier run left unfinished (never
/// deletes: see [`datamove`]). Answers that stay on the old directory leave
/// an unfinished move waiting (`status` names it); Mattermost serves the old copy.
pub fn move_data_if_changed(host: &Host, answers: &Answers) -> Result<(), PhaseError> {
    let step = |message: String| {
        (host.events())(Event::Step {
            phase: PhaseId::Mattermost,
            message,
        });
    };
    if let Some(r) = datamove::unfinished(host)? {
        if r.to == answers.data_dir {
            step(datamove::move_data(host, &r.from, &r.to)?);
        }
        return Ok(());
    }
    let Some(text) = host.read(Path::new(SAVED_ANSWERS))? else {
        return Ok(());
    };
    let Ok(saved) = crate::answers::from_saved_json(&String::from_utf8_lossy(&text)) else {
        return Ok(());
    };
    if saved.data_dir == answers.data_dir || !host.path(&saved.data_dir).exists() {
        return Ok(());
    }
    step(datamove::move_data(
        host,
        &saved.data_dir,
        &answers.data_dir,
    )?);
    Ok(())
}
