//! Changing answers on an installed box: the new answers are laid over the saved
//! ones, then the box converges. A changed data directory is moved first (see
//! [`crate::phases::datamove`]: rename on the same filesystem, a resumable verified copy
//! otherwise — the old copy is kept, never deleted).

use serde_json::Value;

use crate::answers::validate::Invalid;
use crate::answers::{self, Answers};

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
