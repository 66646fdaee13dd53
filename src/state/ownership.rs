//! ownership.json: what this tool created (and may therefore remove) versus what
//! was already on the box, and the SHA-256 of every whole file it wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::StateError;
use crate::host::Host;

pub const PATH: &str = "/var/lib/mattermost-setup/ownership.json";
/// The record as it was before the last save that changed it.
pub const PREVIOUS: &str = "/var/lib/mattermost-setup/ownership.json.previous";

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
    /// Set when the record on disk could not be read: this value is then empty, and
    /// must never be saved over it.
    #[serde(skip)]
    damaged: Option<(String, Option<PathBuf>)>,
    /// Directories that existed before the tool and that it was allowed to take over
    /// (empty when it found them, or a Mattermost layout the operator adopted with
    /// `adopt_existing`): their owner and mode are the tool's to set from then on.
    /// Directories it created are in `created["directory"]`.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub taken_over: BTreeSet<String>,
}

impl Ownership {
    /// The record, or an empty one when there is none yet. A damaged record gives
    /// an empty value that refuses to be saved (see [`Ownership::damage`]), so
    /// read-only callers (status) still work and nothing overwrites it.
    pub fn load(host: &Host) -> Self {
        Self::load_checked(host).unwrap_or_else(|e| Self {
            damaged: Some(match e {
                StateError::Damaged {
                    reason, previous, ..
                } => (reason, previous),
                StateError::Write(e) => (e.to_string(), None),
            }),
            ..Self::default()
        })
    }

    /// The record, or why it cannot be used (its path, the previous copy, the way out).
    pub fn load_checked(host: &Host) -> Result<Self, StateError> {
        let damaged = |reason: String| StateError::Damaged {
            path: PATH.into(),
            reason,
            previous: host
                .path(Path::new(PREVIOUS))
                .is_file()
                .then(|| PREVIOUS.into()),
        };
        match host.read(Path::new(PATH)) {
            Ok(None) => Ok(Self::default()),
            Ok(Some(bytes)) => {
                serde_json::from_slice(&bytes).map_err(|e| damaged(format!("not valid JSON: {e}")))
            }
            Err(e) => Err(damaged(e.to_string())),
        }
    }

    /// Why the record on disk is unusable, when it is.
    pub fn damage(&self) -> Option<StateError> {
        self.damaged
            .as_ref()
            .map(|(reason, previous)| StateError::Damaged {
                path: PATH.into(),
                reason: reason.clone(),
                previous: previous.clone(),
            })
    }

    /// Writes the record (atomically, 0600). The version it replaces is kept as
    /// [`PREVIOUS`]. A value loaded from a damaged record is never saved.
    pub fn save(&self, host: &Host) -> Result<(), StateError> {
        if let Some(e) = self.damage() {
            return Err(e);
        }
        let mut text = serde_json::to_string_pretty(self).map_err(|e| StateError::Damaged {
            path: PATH.into(),
            reason: format!("cannot be encoded: {e}"),
            previous: None,
        })?;
        text.push('\n');
        let current = host.read(Path::new(PATH))?;
        if current.as_deref() == Some(text.as_bytes()) {
            return Ok(());
        }
        if let Some(old) = current {
            host.write_file_quiet(&crate::host::FileSpec {
                path: PREVIOUS.into(),
                content: old,
                mode: 0o600,
                owner: None,
            })?;
        }
        host.write_file_quiet(&crate::host::FileSpec {
            path: PATH.into(),
            content: text.into_bytes(),
            mode: 0o600,
            owner: None,
        })?;
        Ok(())
    }

    /// The record of a box whose `/` is `root`, read without a `Host` (the wizard).
    pub fn load_at(root: &Path) -> Self {
        std::fs::read(root.join(PATH.trim_start_matches('/')))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
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
    fn a_damaged_record_is_reported_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let host = crate::state::test_host::host(dir.path());
        let mut o = Ownership::default();
        o.created("unit", "mattermost.service");
        o.save(&host).unwrap();
        o.created("user", "mattermost");
        o.save(&host).unwrap();
        // The save before is kept beside it.
        let prev = std::fs::read_to_string(host.path(Path::new(PREVIOUS))).unwrap();
        assert!(
            prev.contains("mattermost.service") && !prev.contains("\"user\""),
            "{prev}"
        );

        let real = host.path(Path::new(PATH));
        std::fs::write(&real, b"{\"files\": {\"/etc/x\": tru").unwrap();
        let e = Ownership::load_checked(&host).unwrap_err();
        let text = format!("{e}");
        assert!(text.contains(PATH) && text.contains("damaged"), "{text}");
        assert!(
            e.way_out().contains(&format!("cp {PREVIOUS} {PATH}")),
            "{}",
            e.way_out()
        );

        // The forgiving load (status) gives an empty record that refuses to be saved.
        let mut loaded = Ownership::load(&host);
        assert!(loaded.damage().is_some());
        loaded.created("unit", "other.service");
        let e = loaded.save(&host).unwrap_err();
        assert!(e.to_string().contains(PATH), "{e}");
        let pe = crate::phases::PhaseError::from(e);
        assert!(pe.fix.unwrap().contains("by hand"));
        assert_eq!(
            std::fs::read(&real).unwrap(),
            b"{\"files\": {\"/etc/x\": tru"
        );
    }

    #[test]
    fn a_failed_save_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let host = crate::state::test_host::host(dir.path());
        // Something in the way of the record (a directory): even root cannot write.
        std::fs::create_dir_all(host.path(Path::new(PATH))).unwrap();
        let mut o = Ownership::default();
        o.created("unit", "mattermost.service");
        let e = o.save(&host).unwrap_err();
        assert!(matches!(e, StateError::Write(_)), "{e:?}");
        assert!(e.to_string().contains(PATH), "{e}");
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
