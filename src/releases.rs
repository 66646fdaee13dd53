//! The bundled table of Mattermost releases and their SHA-256, and version resolution.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::answers::{DbEngine, Edition, VersionSpec};

const TABLE_JSON: &str = include_str!("../assets/mattermost-releases.json");

/// Where official tarballs live; a mirror uses the same layout.
pub const OFFICIAL_BASE_URL: &str = "https://releases.mattermost.com";

/// The last release line that can run on MySQL/MariaDB.
pub const LAST_MYSQL_LINE: Version = Version::new(10, 11, u32::MAX);

/// A Mattermost version `X.Y.Z`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// PostgreSQL major version this Mattermost needs at least.
    pub fn min_postgresql(self) -> u32 {
        if self.major >= 11 { 14 } else { 13 }
    }

    pub fn supports_mysql(self) -> bool {
        self <= LAST_MYSQL_LINE
    }
}

impl FromStr for Version {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('.').collect();
        let num = |p: &str| -> Result<u32, String> {
            if p.is_empty()
                || !p.bytes().all(|b| b.is_ascii_digit())
                || (p.len() > 1 && p.starts_with('0'))
            {
                return Err(format!("\"{s}\" is not a version of the form X.Y.Z"));
            }
            p.parse()
                .map_err(|_| format!("\"{s}\" is not a version of the form X.Y.Z"))
        };
        match parts.as_slice() {
            [a, b, c] => Ok(Self::new(num(a)?, num(b)?, num(c)?)),
            _ => Err(format!("\"{s}\" is not a version of the form X.Y.Z")),
        }
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

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

/// The file name of a release tarball, as published.
pub fn tarball_name(version: Version, edition: Edition) -> String {
    match edition {
        Edition::Enterprise => format!("mattermost-{version}-linux-amd64.tar.gz"),
        Edition::Team => format!("mattermost-team-{version}-linux-amd64.tar.gz"),
    }
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

/// The published SHA-256 of a release, when the table has it.
pub fn published_sha256(version: Version, edition: Edition) -> Option<&'static str> {
    table()
        .iter()
        .find(|r| r.version == version && r.edition == edition)
        .map(|r| r.sha256.as_str())
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
    fn version_parsing() {
        assert_eq!("10.11.23".parse(), Ok(Version::new(10, 11, 23)));
        for bad in ["10.11", "v10.11.2", "10.11.x", "10.011.1", "1.2.3.4", ""] {
            assert!(bad.parse::<Version>().is_err(), "{bad}");
        }
        assert!(Version::new(10, 11, 99).supports_mysql());
        assert!(!Version::new(11, 0, 0).supports_mysql());
    }
}
