//! The release installed on this box. `version: "esr"` (or `"latest"`) in the answers
//! names a moving target: the bundled releases table of a newer build resolves it to a
//! newer release. What is installed is a fact of the box, recorded when the release is
//! put in place (`release.json`, written by the mattermost phase and by `upgrade`'s
//! commit) and moved by `upgrade` only. Every other command plans against it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::answers::{Answers, VersionSpec};
use crate::host::Host;
use crate::releases::Version;

/// What this tool installed, for the next run to compare with.
pub const RELEASE_RECORD: &str = "/var/lib/mattermost-setup/release.json";

/// The release put in place: written by the mattermost phase and by `upgrade`'s commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    pub version: String,
    pub edition: String,
    pub sha256: String,
    pub install_dir: PathBuf,
}

/// The release record, when one is there and readable.
pub fn record(host: &Host) -> Option<ReleaseRecord> {
    let bytes = host.read(Path::new(RELEASE_RECORD)).ok()??;
    serde_json::from_slice(&bytes).ok()
}

/// The installed version for `answers`' install directory.
pub fn version(host: &Host, answers: &Answers) -> Option<Version> {
    record(host)
        .filter(|r| r.install_dir == answers.install_dir)
        .and_then(|r| r.version.parse().ok())
}

/// The answers a plan for this box is made from: a moving version ("esr", "latest")
/// becomes the release installed here, with the SHA-256 recorded when it was
/// verified (a newer table may not list it). An exact version is the operator's
/// word and stays: a different one is refused by the install ("use upgrade").
/// The saved answers are not changed.
pub fn pinned(host: &Host, answers: &Answers) -> Answers {
    let mut a = answers.clone();
    if matches!(a.version, VersionSpec::Exact(_)) {
        return a;
    }
    let Some(r) = record(host).filter(|r| r.install_dir == answers.install_dir) else {
        return a;
    };
    let Ok(v) = r.version.parse::<Version>() else {
        return a;
    };
    a.version = VersionSpec::Exact(v);
    if r.edition == a.edition.name() {
        a.sha256 = Some(r.sha256);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(version: &str) -> Answers {
        crate::answers::from_json(
            &format!(r#"{{"domain": "chat.example.com", "version": "{version}", "db_password": "x-secret-1"}}"#),
            None,
        )
        .unwrap()
    }

    fn record_on(host: &Host, version: &str, install_dir: &str) {
        let rec = ReleaseRecord {
            version: version.into(),
            edition: "enterprise".into(),
            sha256: "ab".repeat(32),
            install_dir: install_dir.into(),
        };
        let p = host.path(Path::new(RELEASE_RECORD));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, serde_json::to_vec(&rec).unwrap()).unwrap();
    }

    #[test]
    fn a_moving_version_plans_the_installed_release() {
        let dir = tempfile::tempdir().unwrap();
        let host = crate::state::test_host::host(dir.path());
        let esr = answers("esr");
        // Nothing installed: the table decides.
        assert_eq!(pinned(&host, &esr), esr);
        record_on(&host, "11.7.90", "/opt/mattermost");
        let p = pinned(&host, &esr);
        assert_eq!(p.version, VersionSpec::Exact(Version::new(11, 7, 90)));
        assert_eq!(p.sha256.as_deref(), Some("ab".repeat(32).as_str()));
        let plan = crate::plan::Plan::new(&p).unwrap();
        assert_eq!(plan.release.version, Version::new(11, 7, 90));
        assert_eq!(plan.release.sha256, "ab".repeat(32));
        assert_eq!(
            pinned(&host, &answers("latest")).version,
            VersionSpec::Exact(Version::new(11, 7, 90))
        );
        // An exact version is the operator's word.
        let exact = answers("11.10.0");
        assert_eq!(pinned(&host, &exact), exact);
        // A record of another install directory says nothing about this one.
        record_on(&host, "11.7.90", "/srv/mattermost");
        assert_eq!(pinned(&host, &esr), esr);
    }
}
