//! Unpack into a staging directory beside the install directory, then move entries
//! into place without overwriting anything (like `cp -an`), so an interrupted run is
//! finished by the next one and existing config, logs, plugins and data are kept.

use std::fs::File;
use std::path::{Component, Path, PathBuf};

use crate::events::Event;
use crate::host::Host;
use crate::phases::{PhaseError, PhaseId};

const P: PhaseId = PhaseId::Mattermost;

/// The staging directory for `install_dir`: same parent, so renames are atomic.
pub fn staging_dir(install_dir: &Path) -> PathBuf {
    let name = install_dir
        .file_name()
        .map_or_else(|| "mattermost".into(), |n| n.to_string_lossy().into_owned());
    install_dir.with_file_name(format!(".{name}.mattermost-setup-staging"))
}

/// Written into the staging directory, beside `mattermost/`, once an unpack ahead of
/// the Mattermost phase has completed; names the tarball's SHA-256.
const AHEAD_MARKER: &str = ".unpacked-ahead-sha256-";

/// Unpacks ahead of the Mattermost phase (in the download's thread, while apt works):
/// [`unpack`] into `staging` (a box path), then the marker that lets [`unpacked_ahead`]
/// find it.
pub fn unpack_ahead(
    host: &Host,
    tarball: &Path,
    staging: &Path,
    sha256: &str,
) -> Result<PathBuf, PhaseError> {
    let top = unpack(host, tarball, staging)?;
    host.write_own(&staging.join(format!("{AHEAD_MARKER}{sha256}")), b"")
        .map_err(|e| {
            PhaseError::new(format!(
                "cannot write in the staging directory {}: {e}",
                host.path(staging).display()
            ))
        })?;
    Ok(top)
}

/// The tree a completed [`unpack_ahead`] of the tarball with this SHA-256 left in
/// `staging`; `None` when there is none (never done, interrupted, another tarball).
pub fn unpacked_ahead(staging: &Path, sha256: &str) -> Option<PathBuf> {
    let top = staging.join("mattermost");
    (sha256.len() == 64
        && staging.join(format!("{AHEAD_MARKER}{sha256}")).is_file()
        && top.join("bin/mattermost").is_file())
    .then_some(top)
}

/// Unpacks `tarball` into `staging` (a box path, emptied first) and returns
/// `staging/mattermost` as a real path.
pub fn unpack(host: &Host, tarball: &Path, staging: &Path) -> Result<PathBuf, PhaseError> {
    let err = |what: &str, e: &dyn std::fmt::Display| {
        PhaseError::new(format!("cannot unpack {}: {what}: {e}", tarball.display())).fix(
            "the tarball may be damaged: remove it from /var/cache/mattermost-setup and run again",
        )
    };
    let box_staging = staging;
    let staging = &host.path(box_staging);
    if staging.exists() {
        host.remove_dir_all(box_staging)
            .map_err(|e| err("cannot clear the staging directory", &e))?;
    }
    host.create_dir_all(box_staging)
        .map_err(|e| err("cannot create the staging directory", &e))?;
    let file = File::open(tarball).map_err(|e| err("cannot open", &e))?;
    let total = file.metadata().map_or(0, |m| m.len());
    let reader = ProgressReader::new(file, total, host);
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(false);
    for entry in archive.entries().map_err(|e| err("not a tar.gz", &e))? {
        let mut entry = entry.map_err(|e| err("damaged entry", &e))?;
        let path = entry.path().map_err(|e| err("bad path", &e))?.into_owned();
        let mut comps = path.components();
        if comps.next() != Some(Component::Normal("mattermost".as_ref()))
            || path
                .components()
                .any(|c| matches!(c, Component::ParentDir | Component::RootDir))
        {
            return Err(err(
                "unexpected entry (not under mattermost/)",
                &path.display(),
            ));
        }
        // No log line per entry: the phase logs the unpack as a whole.
        host.bulk()
            .unpack_entry_in(&mut entry, box_staging)
            .map_err(|e| err("cannot write", &e))?;
    }
    let top = staging.join("mattermost");
    if !top.join("bin/mattermost").is_file() {
        return Err(err(
            "no mattermost/bin/mattermost inside",
            &"not a Mattermost server tarball",
        ));
    }
    Ok(top)
}

struct ProgressReader<'h, R> {
    inner: R,
    done: u64,
    total: u64,
    last: u64,
    host: &'h Host,
}

impl<'h, R> ProgressReader<'h, R> {
    fn new(inner: R, total: u64, host: &'h Host) -> Self {
        Self {
            inner,
            done: 0,
            total,
            last: 0,
            host,
        }
    }
}

impl<R: std::io::Read> std::io::Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.done - self.last >= 8 * 1024 * 1024 || (n == 0 && self.done > 0) {
            self.last = self.done;
            (self.host.events())(Event::Progress {
                phase: P,
                label: "unpacking".into(),
                done: self.done,
                total: Some(self.total),
            });
        }
        Ok(n)
    }
}

/// Moves every entry of `from` that `to` lacks into `to` (box paths); recurses into
/// directories both have. Never replaces an existing file. Returns how many entries
/// moved.
pub fn merge_no_clobber(host: &Host, from: &Path, to: &Path) -> std::io::Result<usize> {
    if !host.path(to).exists() {
        if let Some(parent) = to.parent() {
            host.create_dir_all(parent)?;
        }
        host.rename(from, to)?;
        return Ok(1);
    }
    let mut moved = 0;
    for entry in std::fs::read_dir(host.path(from))? {
        let entry = entry?;
        let (src, dest) = (from.join(entry.file_name()), to.join(entry.file_name()));
        let is_dir = entry.file_type()?.is_dir();
        match std::fs::symlink_metadata(host.path(&dest)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                host.rename(&src, &dest)?;
                moved += 1;
            }
            Err(e) => return Err(e),
            Ok(m) if m.is_dir() && is_dir => moved += merge_no_clobber(host, &src, &dest)?,
            Ok(_) => {}
        }
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_existing_files_and_fills_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let (from, to) = (dir.path().join("from"), dir.path().join("to"));
        std::fs::create_dir_all(from.join("config")).unwrap();
        std::fs::create_dir_all(from.join("bin")).unwrap();
        std::fs::write(from.join("config/config.json"), "new").unwrap();
        std::fs::write(from.join("bin/mattermost"), "bin").unwrap();
        std::fs::create_dir_all(to.join("config")).unwrap();
        std::fs::write(to.join("config/config.json"), "mine").unwrap();
        let host = crate::state::test_host::host(dir.path());
        merge_no_clobber(&host, Path::new("/from"), Path::new("/to")).unwrap();
        assert_eq!(
            std::fs::read_to_string(to.join("config/config.json")).unwrap(),
            "mine"
        );
        assert_eq!(
            std::fs::read_to_string(to.join("bin/mattermost")).unwrap(),
            "bin"
        );
    }

    /// A small tarball shaped like a release: mattermost/bin/mattermost and a config.
    fn release_tarball(dir: &Path) -> PathBuf {
        let path = dir.join("mattermost-test.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            File::create(&path).unwrap(),
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        for (name, body) in [
            ("mattermost/bin/mattermost", &b"#!/bin/sh\n"[..]),
            ("mattermost/config/config.json", b"{}"),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o755);
            h.set_cksum();
            tar.append_data(&mut h, name, body).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
        path
    }

    fn host(dir: &Path) -> Host {
        Host::new(
            dir.to_owned(),
            crate::host::RunLog::create(&dir.join("log")),
            std::sync::Arc::new(|_| {}),
            Box::new(crate::host::SystemRunner),
        )
    }

    #[test]
    fn an_unpack_ahead_is_found_only_complete_and_for_the_same_tarball() {
        let dir = tempfile::tempdir().unwrap();
        let host = host(dir.path());
        let tarball = release_tarball(dir.path());
        let staging = dir.path().join(".mattermost.mattermost-setup-staging");
        let sha = "ab".repeat(32);
        assert_eq!(unpacked_ahead(&staging, &sha), None);
        let top = unpack_ahead(
            &host,
            &tarball,
            Path::new("/.mattermost.mattermost-setup-staging"),
            &sha,
        )
        .unwrap();
        assert_eq!(unpacked_ahead(&staging, &sha), Some(top.clone()));
        assert!(top.join("config/config.json").is_file());
        // Another release's SHA-256: not this tree.
        assert_eq!(unpacked_ahead(&staging, &"cd".repeat(32)), None);
        // A plain unpack (as an interrupted one restarts) empties the staging first:
        // no marker survives it.
        unpack(
            &host,
            &tarball,
            Path::new("/.mattermost.mattermost-setup-staging"),
        )
        .unwrap();
        assert_eq!(unpacked_ahead(&staging, &sha), None);
        // The tree without its binary (a damaged staging) is not used either.
        unpack_ahead(
            &host,
            &tarball,
            Path::new("/.mattermost.mattermost-setup-staging"),
            &sha,
        )
        .unwrap();
        std::fs::remove_file(top.join("bin/mattermost")).unwrap();
        assert_eq!(unpacked_ahead(&staging, &sha), None);
    }

    #[test]
    fn staging_is_a_hidden_sibling() {
        assert_eq!(
            staging_dir(Path::new("/opt/mattermost")),
            Path::new("/opt/.mattermost.mattermost-setup-staging")
        );
    }
}
