//! Files: compare before writing, back up before changing, write atomically.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A file as the plan wants it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileSpec {
    pub path: PathBuf,
    #[serde(skip)]
    pub content: Vec<u8>,
    pub mode: u32,
    /// `(uid, gid)`; `None` keeps root (or whoever runs us).
    pub owner: Option<(u32, u32)>,
}

/// What writing a file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Content, mode and owner were already right: nothing was touched.
    Unchanged,
    /// Only mode or owner were fixed.
    Metadata,
    Created,
    /// The previous content was copied to `backup` first.
    Updated {
        backup: PathBuf,
    },
}

impl WriteOutcome {
    pub fn changed(&self) -> bool {
        *self != Self::Unchanged
    }
}

/// What a file on disk looks like compared with its spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Missing,
    Same,
    ContentDiffers,
    MetadataDiffers,
}

pub fn state(real: &Path, spec: &FileSpec) -> std::io::Result<FileState> {
    let meta = match fs::symlink_metadata(real) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::Missing),
        Err(e) => return Err(e),
    };
    if !meta.is_file() || fs::read(real)? != spec.content {
        return Ok(FileState::ContentDiffers);
    }
    if meta.mode() & 0o7777 != spec.mode
        || spec
            .owner
            .is_some_and(|(u, g)| (meta.uid(), meta.gid()) != (u, g))
    {
        return Ok(FileState::MetadataDiffers);
    }
    Ok(FileState::Same)
}

/// Writes `spec` at `real`: nothing when it already matches; otherwise a backup of the
/// old file under `backup_root`, then temp file + fsync + rename + directory fsync,
/// so a crash leaves either the old or the new file, never half of one.
/// With `backup_root` `None` (the tool's own bookkeeping) no backup is made.
pub fn write(
    real: &Path,
    spec: &FileSpec,
    backup_root: Option<&Path>,
) -> std::io::Result<WriteOutcome> {
    match state(real, spec)? {
        FileState::Same => Ok(WriteOutcome::Unchanged),
        FileState::MetadataDiffers => {
            apply_meta(real, spec)?;
            Ok(WriteOutcome::Metadata)
        }
        FileState::Missing => {
            write_atomic(real, spec)?;
            Ok(WriteOutcome::Created)
        }
        FileState::ContentDiffers => {
            let backup = match backup_root {
                Some(root) => backup(real, root)?,
                None => PathBuf::new(),
            };
            write_atomic(real, spec)?;
            Ok(WriteOutcome::Updated { backup })
        }
    }
}

/// Copies `real` to `backup_root/<absolute path>`, keeping its mode, in a 0700 tree.
pub fn backup(real: &Path, backup_root: &Path) -> std::io::Result<PathBuf> {
    let rel = real.strip_prefix("/").unwrap_or(real);
    let mut target = backup_root.join(rel);
    let mut n = 1;
    while target.exists() {
        target = backup_root.join(format!("{}.{n}", rel.display()));
        n += 1;
    }
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent)?;
        fs::set_permissions(backup_root, fs::Permissions::from_mode(0o700))?;
    }
    fs::copy(real, &target)?;
    Ok(target)
}

fn apply_meta(path: &Path, spec: &FileSpec) -> std::io::Result<()> {
    if let Some((uid, gid)) = spec.owner {
        std::os::unix::fs::lchown(path, Some(uid), Some(gid))?;
    }
    fs::set_permissions(path, fs::Permissions::from_mode(spec.mode))
}

fn write_atomic(real: &Path, spec: &FileSpec) -> std::io::Result<()> {
    let dir = real
        .parent()
        .ok_or_else(|| std::io::Error::other("a file path needs a directory"))?;
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".mattermost-setup-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    // Mode and owner before content: a secret is never readable by others, not even
    // for a moment.
    apply_meta(tmp.path(), spec)?;
    tmp.write_all(&spec.content)?;
    tmp.as_file().sync_all()?;
    tmp.persist(real).map_err(|e| e.error)?;
    fs::File::open(dir)?.sync_all()
}

/// `(uid, gid)` of a user in `<root>/etc/passwd`.
pub fn lookup_user(root: &Path, name: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string(root.join("etc/passwd")).ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 4 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(path: &Path, content: &str, mode: u32) -> FileSpec {
        FileSpec {
            path: path.to_owned(),
            content: content.as_bytes().to_vec(),
            mode,
            owner: None,
        }
    }

    #[test]
    fn create_then_unchanged_then_backup_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let backups = dir.path().join("backups");
        let f = dir.path().join("etc/app.conf");
        assert_eq!(
            write(&f, &spec(&f, "a\n", 0o640), Some(&backups)).unwrap(),
            WriteOutcome::Created
        );
        let mtime = fs::metadata(&f).unwrap().modified().unwrap();
        assert_eq!(
            write(&f, &spec(&f, "a\n", 0o640), Some(&backups)).unwrap(),
            WriteOutcome::Unchanged
        );
        assert_eq!(fs::metadata(&f).unwrap().modified().unwrap(), mtime);
        assert_eq!(
            write(&f, &spec(&f, "a\n", 0o600), Some(&backups)).unwrap(),
            WriteOutcome::Metadata
        );
        let WriteOutcome::Updated { backup } =
            write(&f, &spec(&f, "b\n", 0o600), Some(&backups)).unwrap()
        else {
            panic!("expected an update");
        };
        assert_eq!(fs::read_to_string(&backup).unwrap(), "a\n");
        assert_eq!(fs::read_to_string(&f).unwrap(), "b\n");
        assert_eq!(fs::metadata(&f).unwrap().mode() & 0o777, 0o600);
        // No temp files left behind.
        let names: Vec<_> = fs::read_dir(f.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["app.conf"]);
    }

    #[test]
    fn users_are_looked_up_in_passwd() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("etc")).unwrap();
        fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nmattermost:x:998:997::/opt/mattermost:/usr/sbin/nologin\n",
        )
        .unwrap();
        assert_eq!(lookup_user(dir.path(), "mattermost"), Some((998, 997)));
        assert_eq!(lookup_user(dir.path(), "nobody"), None);
    }
}
