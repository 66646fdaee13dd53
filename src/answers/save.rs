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

/// The answers as saved for replay: each secret replaced by its `*_file` key, the
/// path given here (`None`: that secret is not in the answers). Without `node`:
/// with several machines the same file goes to each, and each finds itself.
pub fn replay_json(a: &Answers, files: &SecretFiles) -> String {
    let mut v: Value = serde_json::from_str(&a.to_json_with_secrets()).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("node");
        for (key, file) in [
            ("db_password", Some(&files.db_password)),
            ("admin_password", files.admin_password.as_ref()),
            ("s3_secret_access_key", files.s3_secret.as_ref()),
        ] {
            if obj.remove(key).is_some() {
                if let Some(f) = file {
                    obj.insert(
                        format!("{key}_file"),
                        Value::String(f.to_string_lossy().into_owned()),
                    );
                }
            }
        }
    }
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// Where the secrets of saved answers go, one 0600 file each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFiles {
    pub db_password: PathBuf,
    pub admin_password: Option<PathBuf>,
    pub s3_secret: Option<PathBuf>,
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
/// beside it: `NAME.db-password` and, when they are set, `NAME.admin-password` and
/// `NAME.s3-secret`.
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
    let files = SecretFiles {
        db_password: dir.join(format!("{stem}.db-password")),
        admin_password: a
            .admin
            .as_ref()
            .and_then(|ad| ad.password.as_ref())
            .map(|_| dir.join(format!("{stem}.admin-password"))),
        s3_secret: a.s3.as_ref().map(|_| dir.join(format!("{stem}.s3-secret"))),
    };
    let mut secrets = Vec::new();
    for (file, secret) in [
        (Some(&files.db_password), Some(&a.db_password)),
        (
            files.admin_password.as_ref(),
            a.admin.as_ref().and_then(|ad| ad.password.as_ref()),
        ),
        (
            files.s3_secret.as_ref(),
            a.s3.as_ref().map(|s3| &s3.secret_access_key),
        ),
    ] {
        if let (Some(file), Some(secret)) = (file, secret) {
            write(file, format!("{}\n", secret.expose()).as_bytes(), 0o600)?;
            secrets.push(file.clone());
        }
    }
    write(&path, replay_json(a, &files).as_bytes(), 0o644)?;
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

    #[test]
    fn the_object_storage_secret_is_saved_apart_and_the_file_fits_every_machine() {
        let mut a = from_json(
            r#"{"domain": "chat.example.com", "db_password": "shared-password-1",
                "machines": [
                    {"name": "db1", "role": "database", "address": "10.0.0.10"},
                    {"name": "app1", "role": "app", "address": "10.0.0.21"},
                    {"name": "web", "role": "proxy", "address": "10.0.0.30"}],
                "s3_bucket": "chat-files", "s3_endpoint": "10.0.0.5:7480", "s3_ssl": false,
                "s3_access_key_id": "AKID", "s3_secret_access_key": "s3cr3t/with+chars"}"#,
            None,
        )
        .unwrap();
        a.node = Some("app1".into());
        let dir = tempfile::tempdir().unwrap();
        let saved = save_for_replay(&a, &dir.path().join("cluster.json")).unwrap();
        let text = std::fs::read_to_string(&saved.answers).unwrap();
        assert!(
            !text.contains("s3cr3t"),
            "the secret is in the answers: {text}"
        );
        assert!(!text.contains("shared-password"), "{text}");
        assert!(
            !text.contains("\"node\""),
            "node is this box's only: {text}"
        );
        let s3_file = dir.path().join("cluster.s3-secret");
        assert_eq!(
            saved.secrets,
            [dir.path().join("cluster.db-password"), s3_file.clone()]
        );
        assert_eq!(
            std::fs::read_to_string(&s3_file).unwrap(),
            "s3cr3t/with+chars\n"
        );
        assert_eq!(
            std::fs::metadata(&s3_file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let back = from_json(&text, None).unwrap();
        assert_eq!(back.node, None);
        assert_eq!(
            Answers {
                node: a.node.clone(),
                ..back
            },
            a
        );
    }
}
