//! "Save answers": the same install, replayable unattended with
//! `mattermost-setup install --answers FILE --yes`. The answers file holds no secret;
//! each password goes to its own 0600 file next to it, referenced by the
//! `db_password_file` / `admin_password_file` keys that [`super::from_json`] reads.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Answers;

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedFiles {
    /// The answers, without secrets (mode 0644).
    pub answers: PathBuf,
    /// One file per secret (mode 0600).
    pub secrets: Vec<PathBuf>,
}

/// The answers as saved for replay: secrets replaced by `*_file` keys pointing at
/// `secret_files` (key → path).
pub fn replay_json(a: &Answers, db_password_file: &Path, admin_password_file: &Path) -> String {
    let mut v: Value = serde_json::from_str(&a.to_json_with_secrets()).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("db_password");
        obj.insert(
            "db_password_file".into(),
            Value::String(db_password_file.to_string_lossy().into_owned()),
        );
        if obj.remove("admin_password").is_some() {
            obj.insert(
                "admin_password_file".into(),
                Value::String(admin_password_file.to_string_lossy().into_owned()),
            );
        }
    }
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// `a` without the admin password (the account exists).
pub fn without_admin_password(a: &Answers) -> Answers {
    let mut kept = a.clone();
    if let Some(admin) = &mut kept.admin {
        admin.password = None;
    }
    kept
}

/// What the tool keeps in its saved answers for `a`: everything, secrets included,
/// except an admin password the saved answers (`previous`) already dropped for the
/// same account — the account exists, so the password is not kept again.
pub fn to_keep(a: &Answers, previous: Option<&Answers>) -> Answers {
    let dropped = match (&a.admin, previous.and_then(|p| p.admin.as_ref())) {
        (Some(now), Some(before)) => now.username == before.username && before.password.is_none(),
        _ => false,
    };
    if dropped {
        without_admin_password(a)
    } else {
        a.clone()
    }
}

/// Writes `path` (made absolute against the current directory) and the secret files
/// beside it: `NAME.db-password` and, with an admin, `NAME.admin-password`.
pub fn save_for_replay(a: &Answers, path: &Path) -> std::io::Result<SavedFiles> {
    let path = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()?.join(path)
    };
    let stem = path.file_stem().map_or_else(
        || "answers".to_owned(),
        |s| s.to_string_lossy().into_owned(),
    );
    let dir = path.parent().unwrap_or(Path::new("/")).to_owned();
    crate::host::local::create_dir_all(&dir)?;
    let db_file = dir.join(format!("{stem}.db-password"));
    let admin_file = dir.join(format!("{stem}.admin-password"));
    write(
        &db_file,
        format!("{}\n", a.db_password.expose()).as_bytes(),
        0o600,
    )?;
    let mut secrets = vec![db_file.clone()];
    if let Some(pw) = a.admin.as_ref().and_then(|ad| ad.password.as_ref()) {
        write(&admin_file, format!("{}\n", pw.expose()).as_bytes(), 0o600)?;
        secrets.push(admin_file.clone());
    }
    write(
        &path,
        replay_json(a, &db_file, &admin_file).as_bytes(),
        0o644,
    )?;
    Ok(SavedFiles {
        answers: path,
        secrets,
    })
}

fn write(path: &Path, content: &[u8], mode: u32) -> std::io::Result<()> {
    crate::host::local::write_atomic(path, content, mode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::from_json;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_dropped_admin_password_stays_dropped() {
        let a = from_json(
            r#"{"domain": "chat.example.com", "admin_username": "boss",
                "admin_email": "boss@example.com", "admin_password": "admin secret 1"}"#,
            None,
        )
        .unwrap();
        let kept = without_admin_password(&a);
        let text = kept.to_json_with_secrets();
        assert!(
            !text.contains("admin secret") && !text.contains("admin_password"),
            "{text}"
        );
        // The saved file reads back; an operator's file without the password does not
        // (unless the saved answers say the account exists).
        let saved = crate::answers::from_saved_json(&text).unwrap();
        assert_eq!(saved, kept);
        assert!(from_json(&text, None).is_err());
        assert_eq!(from_json(&text, Some(&saved)).unwrap(), kept);
        // The same answers again (with the password): it is not kept again.
        assert_eq!(to_keep(&a, Some(&saved)), kept);
        assert_eq!(to_keep(&a, None), a);
        // Another account: its password is kept until it exists.
        let other = from_json(
            r#"{"domain": "chat.example.com", "admin_username": "chief",
                "admin_email": "chief@example.com", "admin_password": "admin secret 2"}"#,
            None,
        )
        .unwrap();
        assert_eq!(to_keep(&other, Some(&saved)), other);
        assert!(from_json(
            r#"{"domain": "chat.example.com", "admin_username": "chief", "admin_email": "chief@example.com"}"#,
            Some(&saved)
        )
        .is_err());
    }

    #[test]
    fn saved_answers_replay_to_the_same_answers_with_secrets_apart() {
        let a = from_json(
            r#"{"domain": "chat.example.com", "db_password": "p@ss w0rd'\"x",
                "admin_username": "boss", "admin_email": "boss@example.com",
                "admin_password": "admin secret 1", "edition": "team"}"#,
            None,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let saved = save_for_replay(&a, &dir.path().join("answers.json")).unwrap();
        let text = std::fs::read_to_string(&saved.answers).unwrap();
        assert!(!text.contains("p@ss"), "{text}");
        assert!(!text.contains("admin secret"), "{text}");
        assert_eq!(saved.secrets.len(), 2);
        for s in &saved.secrets {
            let mode = std::fs::metadata(s).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", s.display());
        }
        assert_eq!(from_json(&text, None).unwrap(), a);
    }
}
