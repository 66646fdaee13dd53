//! Changing answers on an installed box: the new answers are laid over the saved
//! ones, then the box converges. A changed data directory is moved first (rename on
//! the same filesystem, copy otherwise — the old copy is kept, never deleted).

use std::path::Path;

use serde_json::Value;

use crate::answers::validate::Invalid;
use crate::answers::{self, Answers};
use crate::host::{Cmd, Host};
use crate::phases::PhaseError;

/// The saved answers with `changes` (a JSON object of answers keys) laid over them.
pub fn merge(saved: &Answers, changes: &str) -> Result<Answers, Invalid> {
    let mut base: Value = serde_json::from_str(&saved.to_json_with_secrets())
        .map_err(|e| Invalid::single("answers", e.to_string(), "report this bug"))?;
    let over: Value = serde_json::from_str(changes).map_err(|e| {
        Invalid::single(
            "answers",
            format!("is not valid JSON: {e}"),
            "fix the JSON syntax",
        )
    })?;
    let (Some(b), Some(o)) = (base.as_object_mut(), over.as_object()) else {
        return Err(Invalid::single(
            "answers",
            "must be a JSON object",
            "write {\"domain\": \"...\"}",
        ));
    };
    for (k, v) in o {
        // A secret given as a file replaces the saved inline one.
        if let Some(stem) = k.strip_suffix("_file") {
            b.remove(stem);
        }
        b.insert(k.clone(), v.clone());
    }
    answers::from_json(&base.to_string(), Some(saved))
}

/// Moves the data from `from` to `to` with Mattermost stopped. Same filesystem: one
/// rename. Otherwise a copy that keeps owners and modes; the old directory stays
/// where it was, renamed with a `.moved-to-…` note, for the operator to delete.
pub fn move_data(host: &Host, from: &Path, to: &Path) -> Result<String, PhaseError> {
    let (src, dst) = (host.path(from), host.path(to));
    if !src.exists() {
        return Ok(format!(
            "{} does not exist; nothing to move",
            from.display()
        ));
    }
    if dst.exists() && std::fs::read_dir(&dst).map_or(true, |mut d| d.next().is_some()) {
        return Err(
            PhaseError::new(format!("{} already exists and is not empty", to.display()))
                .fix("choose an empty or new directory for data_dir, or move the data yourself"),
        );
    }
    // The new directory is the tool's, recorded before the move: the mattermost
    // phase sets its owner and mode (it takes only directories it manages).
    let mut own = crate::state::Ownership::load(host);
    let key = to.to_string_lossy();
    if dst.exists() {
        own.found("directory", &key);
        own.take_over(&key);
    } else {
        own.created("directory", &key);
    }
    own.save(host)?;
    host.run(&Cmd::new("systemctl", &["stop", "mattermost.service"]))?;
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| PhaseError::new(format!("cannot create {}: {e}", parent.display())))?;
    }
    if dst.exists() {
        let _ = std::fs::remove_dir(&dst);
    }
    match std::fs::rename(&src, &dst) {
        Ok(()) => {
            host.note(&format!(
                "[reconfigure] moved {} to {}",
                from.display(),
                to.display()
            ));
            Ok(format!("moved {} to {}", from.display(), to.display()))
        }
        Err(_) => {
            let (s, d) = (
                src.to_string_lossy().into_owned(),
                dst.to_string_lossy().into_owned(),
            );
            host.run(&Cmd::new("cp", &["-a", "--", &s, &d]).timeout(crate::host::DATA_TIMEOUT))?;
            let kept = format!("{s}.moved-to-{}", to.to_string_lossy().replace('/', "_"));
            std::fs::rename(&src, &kept)
                .map_err(|e| PhaseError::new(format!("cannot rename {s}: {e}")))?;
            Ok(format!(
                "copied {} to {}; the old copy is kept as {kept} (delete it once you are satisfied)",
                from.display(),
                to.display()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_laid_over_the_saved_answers() {
        let saved = answers::from_json(
            r#"{"domain": "old.example.com", "db_password": "first secret"}"#,
            None,
        )
        .unwrap();
        let new = merge(&saved, r#"{"domain": "new.example.com"}"#).unwrap();
        assert_eq!(new.domain, "new.example.com");
        assert_eq!(new.db_password, saved.db_password);
        let new = merge(&saved, r#"{"db_password": "second secret"}"#).unwrap();
        assert_eq!(new.db_password.expose(), "second secret");
        assert_eq!(new.domain, "old.example.com");
    }
}
