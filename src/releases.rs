//! The bundled table of Mattermost releases and their SHA-256, and version resolution.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::vocab::{DbEngine, Edition, VersionSpec};

const TABLE_JSON: &str = include_str!("../assets/mattermost-releases.json");

/// Where official tarballs live; a mirror uses the same layout.
pub const OFFICIAL_BASE_URL: &str = "https://releases.mattermost.com";

pub use crate::vocab::{LAST_MYSQL_LINE, Version};

#[derive(Debug, Deserialize)]
struct Table {
    releases: Vec<RawRelease>,
}

#[derive(Debug, Deserialize)]
struct RawRelease {
    version: String,
    edition: String,
    arch: String,
    sha256: String,
    esr: bool,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: Version,
    pub edition: Edition,
    pub sha256: String,
    pub esr: bool,
}

/// Hidden test hook: a releases table file read at run time instead of the bundled
/// one, to play a build with another table (e.g. a newer ESR) without a second
/// compile. Honoured only for a regular file owned by root (or the running user)
/// that nobody else can write, since the table is where checksums come from.
pub const TABLE_OVERRIDE_ENV: &str = "MATTERMOST_SETUP_RELEASES_TABLE";

fn override_table() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let path = std::env::var_os(TABLE_OVERRIDE_ENV).filter(|p| !p.is_empty())?;
    let meta = std::fs::symlink_metadata(&path).ok()?;
    let me = rustix::process::getuid().as_raw();
    let trusted =
        meta.is_file() && (meta.uid() == 0 || meta.uid() == me) && meta.mode() & 0o022 == 0;
    // An untrusted override gives an empty table: nothing resolves, nothing installs.
    Some(if trusted {
        std::fs::read_to_string(&path).unwrap_or_default()
    } else {
        String::new()
    })
}

/// The parsed table (parsed once; ~250 rows).
pub fn table() -> &'static [Release] {
    static TABLE: OnceLock<Vec<Release>> = OnceLock::new();
    TABLE.get_or_init(|| parse_table(override_table().as_deref().unwrap_or(TABLE_JSON)))
}

fn parse_table(json: &str) -> Vec<Release> {
    let raw: Table = serde_json::from_str(json).unwrap_or(Table { releases: vec![] });
    let mut rows: Vec<Release> = raw
        .releases
        .into_iter()
        .filter(|r| r.arch == "amd64")
        .filter_map(|r| {
            Some(Release {
                version: r.version.parse().ok()?,
                edition: match r.edition.as_str() {
                    "enterprise" => Edition::Enterprise,
                    "team" => Edition::Team,
                    _ => return None,
                },
                sha256: r.sha256,
                esr: r.esr,
            })
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.version));
    rows
}

/// Mattermost's name for this machine's architecture in tarball names: `amd64` on
/// x86_64, `arm64` on aarch64 (mattermost-facts.md §1.1); others keep Rust's name
/// (and preflight refuses them: Mattermost publishes no tarball for them).
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// The file name of a release tarball for `arch`, as published.
pub fn tarball_name_for(version: Version, edition: Edition, arch: &str) -> String {
    match edition {
        Edition::Enterprise => format!("mattermost-{version}-linux-{arch}.tar.gz"),
        Edition::Team => format!("mattermost-team-{version}-linux-{arch}.tar.gz"),
    }
}

/// The file name of a release tarball for this machine, as published.
pub fn tarball_name(version: Version, edition: Edition) -> String {
    tarball_name_for(version, edition, host_arch())
}

/// The download URL under a base laid out like releases.mattermost.com.
pub fn tarball_url(base: &str, version: Version, edition: Edition) -> String {
    format!(
        "{}/{version}/{}",
        base.trim_end_matches('/'),
        tarball_name(version, edition)
    )
}

/// The newest release matching `spec` that can run on `engine`, or why there is none.
pub fn resolve(spec: &VersionSpec, edition: Edition, engine: DbEngine) -> Result<Version, String> {
    let rows = table().iter().filter(|r| r.edition == edition);
    let fits = |r: &&Release| !engine.is_mysql_family() || r.version.supports_mysql();
    match spec {
        VersionSpec::Exact(v) => Ok(*v),
        VersionSpec::Esr => rows
            .filter(|r| r.esr)
            .find(fits)
            .map(|r| r.version)
            .ok_or_else(|| "the bundled table has no ESR release".into()),
        VersionSpec::Latest => rows
            .clone()
            .find(fits)
            .map(|r| r.version)
            .ok_or_else(|| "the bundled table is empty".into()),
    }
}

/// The published SHA-256 of a release's tarball for this machine, when the table
/// has it (Mattermost publishes SHA-256 for amd64 tarballs only).
pub fn published_sha256(version: Version, edition: Edition) -> Option<&'static str> {
    published_sha256_for(version, edition, host_arch())
}

/// [`published_sha256`] for the tarball of `arch`.
pub fn published_sha256_for(
    version: Version,
    edition: Edition,
    arch: &str,
) -> Option<&'static str> {
    if arch != "amd64" {
        return None;
    }
    table()
        .iter()
        .find(|r| r.version == version && r.edition == edition)
        .map(|r| r.sha256.as_str())
}

/// Mattermost's release signing key: "Mattermost Build <dev-ops@mattermost.com>",
/// the key of its apt repository and of the `.sig` beside every tarball
/// (mattermost-facts.md §1.4; mattermost-omnibus scripts/repo-setup.sh pins it too).
pub const SIGNING_FINGERPRINT: &str = "A1B31D46F0F3A10B02CF2D44F8F2C31744774B28";
/// Where Mattermost publishes that key (docs: product-overview/version-archive.rst).
pub const SIGNING_KEY_URL: &str = "https://deb.packages.mattermost.com/pubkey.gpg";
/// Hidden test hooks, like [`TABLE_OVERRIDE_ENV`]: the key's URL, the pinned
/// fingerprint (an override is warned about on every run that uses it), and a local
/// key file read instead of the download (trusted only as the table override is).
pub const KEY_URL_ENV: &str = "MATTERMOST_SETUP_SIGNING_KEY_URL";
pub const FINGERPRINT_ENV: &str = "MATTERMOST_SETUP_SIGNING_FINGERPRINT";
pub const KEYRING_ENV: &str = "MATTERMOST_SETUP_SIGNING_KEYRING";

/// The key a release with no known SHA-256 must be signed by, and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SigningKey {
    pub key_url: String,
    /// Upper-case hex, no spaces.
    pub fingerprint: String,
    pub fingerprint_overridden: bool,
    /// A local key file used instead of downloading `key_url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyring: Option<std::path::PathBuf>,
}

impl Default for SigningKey {
    fn default() -> Self {
        Self {
            key_url: SIGNING_KEY_URL.to_owned(),
            fingerprint: SIGNING_FINGERPRINT.to_owned(),
            fingerprint_overridden: false,
            keyring: None,
        }
    }
}

impl SigningKey {
    /// Mattermost's key, with the test hooks' overrides when they are set.
    pub fn from_env() -> Self {
        let var = |k| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let mut key = Self::default();
        if let Some(url) = var(KEY_URL_ENV) {
            url.trim().clone_into(&mut key.key_url);
        }
        if let Some(fpr) = var(FINGERPRINT_ENV) {
            let fpr: String = fpr
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_uppercase();
            key.fingerprint_overridden = fpr != SIGNING_FINGERPRINT;
            key.fingerprint = fpr;
        }
        key.keyring = var(KEYRING_ENV).map(std::path::PathBuf::from);
        key
    }
}

/// How a tarball is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Integrity {
    /// By its SHA-256; `from` says where the value comes from.
    Sha256 { sha256: String, from: &'static str },
    /// By Mattermost's detached GPG signature (`.sig` beside the tarball).
    Signature(SigningKey),
}

/// The decision, in order: the bundled table for the releases (and architecture)
/// it lists; else the `sha256` answer (`--sha256`), the operator's explicit word;
/// else Mattermost's GPG signature — for a download only: a local tarball with
/// neither is refused (`None`), as there is nothing to verify it with.
pub fn integrity(
    version: Version,
    edition: Edition,
    arch: &str,
    answer: Option<&str>,
    local_file: bool,
    key: impl FnOnce() -> SigningKey,
) -> Option<Integrity> {
    if let Some(s) = published_sha256_for(version, edition, arch) {
        return Some(Integrity::Sha256 {
            sha256: s.to_owned(),
            from: "bundled releases table",
        });
    }
    if let Some(s) = answer {
        return Some(Integrity::Sha256 {
            sha256: s.to_owned(),
            from: "answers (sha256)",
        });
    }
    (!local_file).then(|| Integrity::Signature(key()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_bundled_and_sorted() {
        let t = table();
        assert!(t.len() >= 240, "{}", t.len());
        assert!(t.windows(2).all(|w| w[0].version >= w[1].version));
    }

    #[test]
    fn esr_for_postgresql_is_the_newest_esr() {
        let v = resolve(&VersionSpec::Esr, Edition::Enterprise, DbEngine::Postgresql).unwrap();
        assert_eq!(v, Version::new(11, 7, 9));
    }

    #[test]
    fn mysql_family_never_resolves_past_10_11() {
        for spec in [VersionSpec::Esr, VersionSpec::Latest] {
            let v = resolve(&spec, Edition::Team, DbEngine::Mariadb).unwrap();
            assert_eq!(v, Version::new(10, 11, 23), "{spec}");
        }
    }

    #[test]
    fn latest_is_the_newest_release() {
        let v = resolve(
            &VersionSpec::Latest,
            Edition::Enterprise,
            DbEngine::Postgresql,
        )
        .unwrap();
        assert_eq!(v, Version::new(11, 10, 0));
    }

    #[test]
    fn published_hashes_and_urls() {
        let v = Version::new(11, 10, 0);
        assert_eq!(
            published_sha256(v, Edition::Enterprise),
            Some("8ae404ed0c0fbab2b01c00c031b9d0f3e17c51007e3bb3401bebaf3e60da0c3e")
        );
        assert_eq!(
            published_sha256(Version::new(11, 99, 0), Edition::Team),
            None
        );
        assert_eq!(
            tarball_url(OFFICIAL_BASE_URL, v, Edition::Team),
            "https://releases.mattermost.com/11.10.0/mattermost-team-11.10.0-linux-amd64.tar.gz"
        );
    }

    #[test]
    fn integrity_order_table_then_answer_then_signature() {
        let listed = Version::new(11, 10, 0);
        let table_sha = "8ae404ed0c0fbab2b01c00c031b9d0f3e17c51007e3bb3401bebaf3e60da0c3e";
        let given = "ab".repeat(32);
        let key = || SigningKey::default();
        let sha = |s: &str, from| {
            Some(Integrity::Sha256 {
                sha256: s.to_owned(),
                from,
            })
        };
        // 1. The table, for what it lists, whatever else is given.
        for answer in [None, Some(given.as_str())] {
            for local in [false, true] {
                assert_eq!(
                    integrity(listed, Edition::Enterprise, "amd64", answer, local, key),
                    sha(table_sha, "bundled releases table")
                );
            }
        }
        // 2. The answer: a version the table does not list, or arm64 (no published hash).
        let newer = Version::new(11, 99, 0);
        assert_eq!(
            integrity(newer, Edition::Team, "amd64", Some(&given), false, key),
            sha(&given, "answers (sha256)")
        );
        assert_eq!(
            integrity(
                listed,
                Edition::Enterprise,
                "arm64",
                Some(&given),
                false,
                key
            ),
            sha(&given, "answers (sha256)")
        );
        // 3. The signature, with Mattermost's pinned key.
        for (v, arch) in [(newer, "amd64"), (listed, "arm64")] {
            assert_eq!(
                integrity(v, Edition::Enterprise, arch, None, false, key),
                Some(Integrity::Signature(SigningKey {
                    key_url: "https://deb.packages.mattermost.com/pubkey.gpg".into(),
                    fingerprint: "A1B31D46F0F3A10B02CF2D44F8F2C31744774B28".into(),
                    fingerprint_overridden: false,
                    keyring: None,
                }))
            );
            // A local file has no signature to download: the operator gives sha256.
            assert_eq!(
                integrity(v, Edition::Enterprise, arch, None, true, key),
                None
            );
        }
        assert_eq!(
            tarball_name_for(newer, Edition::Team, "arm64"),
            "mattermost-team-11.99.0-linux-arm64.tar.gz"
        );
    }

    #[test]
    fn version_parsing() {
        assert_eq!("10.11.23".parse(), Ok(Version::new(10, 11, 23)));
        for bad in ["10.11", "v10.11.2", "10.11.x", "10.011.1", "1.2.3.4", ""] {
            assert!(bad.parse::<Version>().is_err(), "{bad}");
        }
        assert!(Version::new(10, 11, 99).supports_mysql());
        assert!(!Version::new(11, 0, 0).supports_mysql());
    }
}
