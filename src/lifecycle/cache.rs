//! The tarball cache keeps the installed and the previous release (a rollback or a
//! re-install needs no download); older tarballs go at an upgrade's commit.

use std::path::{Path, PathBuf};

use crate::host::Host;
use crate::phases::mattermost::fetch::CACHE_DIR;

/// Removes the release tarballs (and partial downloads) in the cache except those
/// named in `keep`. Files that are not Mattermost release tarballs are left alone. A
/// file that cannot be removed is noted in the log: the cache is not bookkeeping.
pub fn prune(host: &Host, keep: &[String]) -> Vec<PathBuf> {
    let dir = host.path(Path::new(CACHE_DIR));
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return removed;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let tarball = name.strip_suffix(".part").unwrap_or(&name);
        let ours = name.starts_with("mattermost-")
            && tarball.ends_with("-linux-amd64.tar.gz")
            && e.file_type().is_ok_and(|t| t.is_file());
        if !ours || keep.iter().any(|k| k == &name) {
            continue;
        }
        let shown = Path::new(CACHE_DIR).join(&name);
        match host.remove_file(&shown) {
            Ok(()) => {
                host.note(&format!("[upgrade] removed the cached {}", shown.display()));
                removed.push(shown);
            }
            Err(err) => host.note(&format!(
                "[upgrade] cannot remove {}: {err}",
                shown.display()
            )),
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_named_tarballs_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let host = crate::state::test_host::host(dir.path());
        let cache = host.path(Path::new(CACHE_DIR));
        std::fs::create_dir_all(&cache).unwrap();
        for f in [
            "mattermost-11.7.90-linux-amd64.tar.gz",
            "mattermost-11.8.90-linux-amd64.tar.gz",
            "mattermost-team-11.9.90-linux-amd64.tar.gz",
            "mattermost-11.6.0-linux-amd64.tar.gz.part",
            "notes.txt",
        ] {
            std::fs::write(cache.join(f), b"x").unwrap();
        }
        let keep = [
            "mattermost-11.8.90-linux-amd64.tar.gz".to_owned(),
            "mattermost-11.7.90-linux-amd64.tar.gz".to_owned(),
        ];
        let removed = prune(&host, &keep);
        assert_eq!(removed.len(), 2, "{removed:?}");
        let mut left: Vec<_> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "mattermost-11.7.90-linux-amd64.tar.gz",
                "mattermost-11.8.90-linux-amd64.tar.gz",
                "notes.txt"
            ]
        );
    }
}
