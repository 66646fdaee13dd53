//! Files: compare before writing, back up before changing, write atomically.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

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

/// How many runs' backups of files holding secrets are kept.
pub const SECRET_BACKUP_RUNS: usize = 3;

/// Whether a backup copy may hold a secret: the saved answers (database password)
/// and Mattermost's config.json (its DataSource), also as `NAME.N` copies.
pub fn holds_secret(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    ["answers.json", "config.json"].iter().any(|s| {
        name.strip_prefix(s).is_some_and(|rest| {
            rest.is_empty()
                || rest
                    .strip_prefix('.')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    })
}

/// The run stamp of a backup directory (`2026-11-29T025104Z`, or an upgrade's
/// `upgrade-A-to-B-<stamp>`), which orders the runs; `None` for other entries.
fn run_stamp(name: &str) -> Option<&str> {
    let stamp = name.get(name.len().checked_sub(18)?..)?;
    let b = stamp.as_bytes();
    let shape = b.iter().enumerate().all(|(i, c)| match i {
        4 | 7 => *c == b'-',
        10 => *c == b'T',
        17 => *c == b'Z',
        _ => c.is_ascii_digit(),
    });
    (shape && (name.len() == 18 || name.starts_with("upgrade-"))).then_some(stamp)
}

/// The run directories under `base`, newest first.
fn runs(base: &Path) -> Vec<PathBuf> {
    let mut runs: Vec<(String, PathBuf)> = fs::read_dir(base)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            run_stamp(&name).map(|s| (s.to_owned(), e.path()))
        })
        .collect();
    runs.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    runs.into_iter().map(|(_, p)| p).collect()
}

/// Backup files holding secrets under `dir` (symbolic links not followed).
fn secret_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
    {
        match e.file_type() {
            Ok(t) if t.is_dir() => secret_files(&e.path(), out),
            Ok(t) if t.is_file() && holds_secret(&e.file_name()) => out.push(e.path()),
            _ => {}
        }
    }
}

/// Every backup that holds a secret under `base` (the backups directory), newest
/// run first, with its mode.
pub fn secret_backups(base: &Path) -> Vec<(PathBuf, u32)> {
    let mut all = Vec::new();
    for run in runs(base) {
        let mut files = Vec::new();
        secret_files(&run, &mut files);
        files.sort();
        all.extend(files.into_iter().map(|f| {
            let mode = fs::symlink_metadata(&f).map_or(0, |m| m.mode() & 0o7777);
            (f, mode)
        }));
    }
    all
}

/// Deletes the backups holding secrets of all but the newest `keep` runs under
/// `base` (other backups stay), then directories left empty. Returns what went.
pub fn prune_secret_backups(base: &Path, keep: usize) -> std::io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for run in runs(base).into_iter().skip(keep) {
        let mut files = Vec::new();
        secret_files(&run, &mut files);
        for f in files {
            fs::remove_file(&f)?;
            removed.push(f);
        }
        remove_empty_dirs(&run);
    }
    Ok(removed)
}

fn remove_empty_dirs(dir: &Path) {
    for e in fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
    {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_empty_dirs(&e.path());
        }
    }
    let _ = fs::remove_dir(dir);
}

/// Copies `real` to `backup_root/<absolute path>`, keeping its mode, in a 0700 tree
/// (a copy holding a secret is 0600). The first backup of a run prunes the secrets
/// of older runs: only the last [`SECRET_BACKUP_RUNS`] keep them.
pub fn backup(real: &Path, backup_root: &Path) -> std::io::Result<PathBuf> {
    let new_run = !backup_root.exists();
    let target = backup_copy(real, backup_root)?;
    if holds_secret(target.file_name().unwrap_or_default()) {
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600))?;
    }
    if new_run {
        if let Some(base) = backup_root.parent() {
            prune_secret_backups(base, SECRET_BACKUP_RUNS)?;
        }
    }
    Ok(target)
}

fn backup_copy(real: &Path, backup_root: &Path) -> std::io::Result<PathBuf> {
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

    #[test]
    fn the_stamp_in_names_is_the_one_run_stamp_reads() {
        let now = crate::host::now_stamp();
        assert_eq!(run_stamp(&now), Some(now.as_str()));
        let upgrade = format!("upgrade-10.11.1-to-10.11.2-{now}");
        assert_eq!(run_stamp(&upgrade), Some(now.as_str()));
    }

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
    fn secrets_are_backed_up_for_the_last_runs_only() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("backups");
        let answers = dir.path().join("etc/mattermost-setup/answers.json");
        let vhost = dir.path().join("etc/apache2/sites-available/mm.conf");
        fs::create_dir_all(answers.parent().unwrap()).unwrap();
        fs::create_dir_all(vhost.parent().unwrap()).unwrap();
        fs::write(&vhost, "vhost").unwrap();
        // An upgrade's directory counts as a run too.
        let upgrade = base.join("upgrade-10.11.1-to-11.0.0-2026-01-01T000000Z");
        fs::create_dir_all(upgrade.join("config")).unwrap();
        fs::write(upgrade.join("config/config.json"), "old secret").unwrap();
        fs::write(upgrade.join("mattermost-10.11.1.pgdump"), "dump").unwrap();
        for day in 2..=6 {
            fs::write(&answers, format!("secret {day}")).unwrap();
            fs::set_permissions(&answers, fs::Permissions::from_mode(0o644)).unwrap();
            let run = base.join(format!("2026-01-0{day}T000000Z"));
            let b = backup(&answers, &run).unwrap();
            assert_eq!(fs::metadata(&b).unwrap().mode() & 0o777, 0o600);
            backup(&answers, &run).unwrap(); // a second copy in the same run: answers.json.1
            backup(&vhost, &run).unwrap();
        }
        let kept = secret_backups(&base);
        let runs: std::collections::BTreeSet<String> = kept
            .iter()
            .map(|(p, _)| {
                p.strip_prefix(&base)
                    .unwrap()
                    .components()
                    .next()
                    .unwrap()
                    .as_os_str()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            runs.into_iter().collect::<Vec<_>>(),
            [
                "2026-01-04T000000Z",
                "2026-01-05T000000Z",
                "2026-01-06T000000Z"
            ]
        );
        assert_eq!(kept.len(), 6, "{kept:?}");
        assert!(kept.iter().all(|(_, m)| *m == 0o600));
        // Other backups and the upgrade's dump stay; nothing else is touched.
        assert!(
            base.join("2026-01-02T000000Z")
                .join(vhost.strip_prefix("/").unwrap())
                .exists()
        );
        assert!(upgrade.join("mattermost-10.11.1.pgdump").exists());
        assert!(!upgrade.join("config").exists());
        assert!(
            holds_secret("config.json.2".as_ref()) && !holds_secret("config.json.bak".as_ref())
        );
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
