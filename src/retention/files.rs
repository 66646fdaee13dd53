//! Removing the files of deleted file infos, only under the file store directory.
//!
//! Paths come from the database (`FileInfo.Path`, `ThumbnailPath`, `PreviewPath`,
//! relative to `FileSettings.Directory`), so they are checked before anything is
//! removed: relative, no `..`, and the resolved parent directory still inside the
//! store (a symlinked directory cannot lead the job elsewhere).

use std::path::{Component, Path, PathBuf};

/// What happened to one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// Already gone (an earlier run, or never uploaded completely).
    Missing,
    /// Not removed because the path is not a plain file inside the store.
    Refused(String),
    Failed(String),
}

/// The absolute path of `rel` under `root`, or why it is refused.
pub fn resolve(root: &Path, rel: &str) -> Result<PathBuf, String> {
    let p = Path::new(rel);
    if rel.contains('\0') || p.is_absolute() {
        return Err(format!("{rel:?} is not a relative path"));
    }
    if p.components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!("{rel:?} leaves the file store"));
    }
    Ok(root.join(p))
}

/// Removes `rel` under `root`, then its directory if that is now empty.
pub fn remove(root: &Path, rel: &str) -> Removal {
    let full = match resolve(root, rel) {
        Ok(p) => p,
        Err(why) => return Removal::Refused(why),
    };
    let meta = match std::fs::symlink_metadata(&full) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Removal::Missing,
        Err(e) => return Removal::Failed(format!("{}: {e}", full.display())),
    };
    if meta.is_dir() {
        return Removal::Refused(format!("{} is a directory", full.display()));
    }
    // The directory the file is in must really be inside the store.
    let inside = match (
        full.parent().map(std::fs::canonicalize),
        std::fs::canonicalize(root),
    ) {
        (Some(Ok(parent)), Ok(root)) => parent.starts_with(&root),
        _ => false,
    };
    if !inside {
        return Removal::Refused(format!(
            "{} resolves outside {}",
            full.display(),
            root.display()
        ));
    }
    if let Err(e) = crate::host::local::remove_file(&full) {
        return Removal::Failed(format!("{}: {e}", full.display()));
    }
    // Mattermost keeps each upload in a directory of its own; drop it when empty.
    if let Some(dir) = full.parent().filter(|d| *d != root) {
        let _ = crate::host::local::remove_dir(dir);
    }
    Removal::Removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_files_and_their_empty_directory_only_inside_the_store() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("data");
        let rel = "20240101/teams/t/channels/c/users/u/f1/photo.png";
        std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
        std::fs::write(root.join(rel), b"x").unwrap();
        std::fs::write(
            root.join("20240101/teams/t/channels/c/users/u/f1/photo_thumb.jpg"),
            b"x",
        )
        .unwrap();
        assert_eq!(remove(&root, rel), Removal::Removed);
        assert!(
            root.join("20240101/teams/t/channels/c/users/u/f1").is_dir(),
            "not empty yet"
        );
        assert_eq!(
            remove(
                &root,
                "20240101/teams/t/channels/c/users/u/f1/photo_thumb.jpg"
            ),
            Removal::Removed
        );
        assert!(
            !root.join("20240101/teams/t/channels/c/users/u/f1").exists(),
            "empty upload directory removed"
        );
        assert!(
            root.join("20240101/teams/t/channels/c/users/u").is_dir(),
            "only that one"
        );
        assert_eq!(remove(&root, rel), Removal::Missing);

        let outside = tmp.path().join("secret");
        std::fs::write(&outside, b"keep").unwrap();
        for bad in ["../secret", "/etc/passwd", "a/../../secret"] {
            assert!(matches!(remove(&root, bad), Removal::Refused(_)), "{bad}");
        }
        std::os::unix::fs::symlink(tmp.path(), root.join("link")).unwrap();
        assert!(matches!(remove(&root, "link/secret"), Removal::Refused(_)));
        assert!(outside.exists());
        assert!(
            matches!(remove(&root, "20240101"), Removal::Refused(_)),
            "never a directory"
        );
    }
}
