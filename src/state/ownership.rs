//! ownership.json: what this tool created (and may therefore remove) versus what
//! was already on the box, and the SHA-256 of every whole file it wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::host::{Host, HostError};

pub const PATH: &str = "/var/lib/mattermost-setup/ownership.json";

/// A whole file the tool wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// SHA-256 of what the tool last wrote.
    pub written: String,
    /// SHA-256 of a hand-edited version the operator chose to keep (repair --keep-local).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_local: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    /// Whole files written by the tool.
    pub files: BTreeMap<PathBuf, FileRecord>,
    /// Things the tool created, by kind: "package", "user", "db_role", "database",
    /// "directory", "unit", "apache_module", "apache_site".
    pub created: BTreeMap<String, BTreeSet<String>>,
    /// Things that were there before the tool touched the box, by the same kinds.
    pub preexisting: BTreeMap<String, BTreeSet<String>>,
    /// Directories that existed before the tool and that it was allowed to take over
    /// (empty when it found them, or a Mattermost layout the operator adopted with
    /// `adopt_existing`): their owner and mode are the tool's to set from then on.
    /// Directories it created are in `created["directory"]`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub taken_over: BTreeSet<String>,
}

impl Ownership {
    pub fn load(host: &Host) -> Self {
        host.read(Path::new(PATH))
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// The record of a box whose `/` is `root`, read without a `Host` (the wizard).
    pub fn load_at(root: &Path) -> Self {
        std::fs::read(root.join(PATH.trim_start_matches('/')))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, host: &Host) -> Result<(), HostError> {
        super::save_json(host, PATH, self)
    }

    /// Records that the tool created `name` of `kind` (unless it pre-existed).
    pub fn created(&mut self, kind: &str, name: &str) {
        if !self.preexisting.get(kind).is_some_and(|s| s.contains(name)) {
            self.created
                .entry(kind.to_owned())
                .or_default()
                .insert(name.to_owned());
        }
    }

    /// Records that `name` of `kind` was already there (first sighting wins).
    pub fn found(&mut self, kind: &str, name: &str) {
        if !self.created.get(kind).is_some_and(|s| s.contains(name)) {
            self.preexisting
                .entry(kind.to_owned())
                .or_default()
                .insert(name.to_owned());
        }
    }

    /// Records that the pre-existing directory `dir` is now managed by the tool.
    pub fn take_over(&mut self, dir: &str) {
        self.taken_over.insert(dir.to_owned());
    }

    /// Whether the tool may set the owner and mode of `dir` (and what is inside it):
    /// it created the directory, or took it over.
    pub fn manages_dir(&self, dir: &str) -> bool {
        self.did_create("directory", dir) || self.taken_over.contains(dir)
    }

    pub fn did_create(&self, kind: &str, name: &str) -> bool {
        self.created.get(kind).is_some_and(|s| s.contains(name))
    }

    pub fn wrote(&mut self, path: &Path, content: &[u8]) {
        self.files.insert(
            path.to_owned(),
            FileRecord {
                written: super::sha256_hex(content),
                kept_local: None,
            },
        );
    }

    /// How a managed file on disk relates to what the tool wrote.
    pub fn file_origin(&self, path: &Path, current: &[u8]) -> FileOrigin {
        let sha = super::sha256_hex(current);
        match self.files.get(path) {
            None => FileOrigin::Unknown,
            Some(r) if r.kept_local.as_deref() == Some(sha.as_str()) => FileOrigin::KeptLocal,
            Some(r) if r.written == sha => FileOrigin::AsWritten,
            Some(_) => FileOrigin::EditedByHand,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOrigin {
    /// Not a file this tool wrote (or no record yet).
    Unknown,
    /// Exactly what the tool last wrote.
    AsWritten,
    /// Changed since the tool wrote it.
    EditedByHand,
    /// Edited by hand, and the operator chose to keep it.
    KeptLocal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_of_a_file() {
        let mut o = Ownership::default();
        let p = Path::new("/etc/x.conf");
        assert_eq!(o.file_origin(p, b"a"), FileOrigin::Unknown);
        o.wrote(p, b"a");
        assert_eq!(o.file_origin(p, b"a"), FileOrigin::AsWritten);
        assert_eq!(o.file_origin(p, b"b"), FileOrigin::EditedByHand);
        o.files.get_mut(p).unwrap().kept_local = Some(crate::state::sha256_hex(b"b"));
        assert_eq!(o.file_origin(p, b"b"), FileOrigin::KeptLocal);
    }

    #[test]
    fn preexisting_things_are_never_claimed() {
        let mut o = Ownership::default();
        o.found("apache_module", "rewrite");
        o.created("apache_module", "rewrite");
        o.created("apache_module", "proxy_wstunnel");
        assert!(!o.did_create("apache_module", "rewrite"));
        assert!(o.did_create("apache_module", "proxy_wstunnel"));
    }
}
