//! The shared vocabulary: what every layer names and none owns — phase ids, check
//! levels and checks, the phase error with its fix, the stop request, Mattermost
//! versions, editions, database engines, proxies and TLS choices.
//!
//! A leaf: it imports nothing from this crate, so any module may import it (the
//! architecture test, tests/integration/architecture.rs, keeps `src/` free of
//! module cycles). The old paths (`phases::PhaseId`, `answers::Proxy`,
//! `releases::Version`, `engine::Cancel`, ...) re-export these.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseId {
    Preflight,
    Data,
    Packages,
    Database,
    Mattermost,
    Service,
    Proxy,
    Tls,
    Admin,
    Housekeeping,
    Acceptance,
}

impl PhaseId {
    pub const ALL: [Self; 11] = [
        Self::Preflight,
        Self::Data,
        Self::Packages,
        Self::Database,
        Self::Mattermost,
        Self::Service,
        Self::Proxy,
        Self::Tls,
        Self::Admin,
        Self::Housekeeping,
        Self::Acceptance,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Preflight => "preflight",
            Self::Data => "data",
            Self::Packages => "packages",
            Self::Database => "database",
            Self::Mattermost => "mattermost",
            Self::Service => "service",
            Self::Proxy => "proxy",
            Self::Tls => "tls",
            Self::Admin => "admin",
            Self::Housekeeping => "housekeeping",
            Self::Acceptance => "acceptance",
        }
    }
}

impl fmt::Display for PhaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    /// Worth reading; does not stop the install.
    Warn,
    Fail,
}

/// One named fact about the box, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub phase: PhaseId,
    pub name: String,
    pub level: Level,
    pub detail: String,
    /// What to do about a failure, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// For a file that differs: a unified diff, current → planned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl Check {
    pub fn ok(phase: PhaseId, name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            phase,
            name: name.into(),
            level: Level::Ok,
            detail: detail.into(),
            fix: None,
            diff: None,
        }
    }

    pub fn fail(phase: PhaseId, name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            level: Level::Fail,
            ..Self::ok(phase, name, detail)
        }
    }

    pub fn warn(phase: PhaseId, name: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            level: Level::Warn,
            ..Self::ok(phase, name, detail)
        }
    }

    pub fn when(
        phase: PhaseId,
        ok: bool,
        name: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        if ok {
            Self::ok(phase, name, detail)
        } else {
            Self::fail(phase, name, detail)
        }
    }

    #[must_use]
    pub fn with_diff(mut self, diff: String) -> Self {
        self.diff = Some(diff);
        self
    }

    #[must_use]
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    pub fn passed(&self) -> bool {
        self.level != Level::Fail
    }
}

/// Why a phase (or a lifecycle step) could not finish: what went wrong, of which
/// kind, in words, with the operator's fix when known. The layers below keep their
/// own typed errors (`host::HostError`, `state::StateError`, `FetchError`,
/// `answers::Invalid`, ...); converted here, each keeps its words and fix, and its
/// [`ErrorKind`] says which layer failed, so callers decide on the kind, never on
/// the words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{cause}")]
pub struct PhaseError {
    pub kind: ErrorKind,
    pub cause: String,
    pub fix: Option<String>,
}

/// Which way a phase failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The phase found the box or the answers not as it needs them, or its work
    /// did not verify.
    Failed,
    /// A command could not start, failed, or ran past its deadline.
    Command,
    /// A file or directory on the box could not be read or changed.
    Io,
    /// The tool's own records (journal, ownership, answers) cannot be kept.
    Records,
    /// The Mattermost release could not be downloaded or verified.
    Download,
    /// The operator stopped the run (Ctrl-C, SIGTERM); the next run continues.
    Stopped,
}

impl PhaseError {
    pub fn new(cause: impl Into<String>) -> Self {
        Self::of(ErrorKind::Failed, cause)
    }

    pub fn of(kind: ErrorKind, cause: impl Into<String>) -> Self {
        Self {
            kind,
            cause: cause.into(),
            fix: None,
        }
    }

    /// The operator stopped the run; the next run continues it.
    pub fn stopped(cause: impl Into<String>) -> Self {
        Self::of(ErrorKind::Stopped, cause)
            .fix("run the same command again: it continues from here")
    }

    #[must_use]
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Asks a running install to stop at the next safe point (between phases, or inside
/// a download or a wait). The box is then in a state the next run finishes.
#[derive(Debug, Clone, Default)]
pub struct Cancel(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

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

/// The database engine Mattermost stores its data in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DbEngine {
    /// PostgreSQL from the distribution (13 or newer; 14 or newer for Mattermost 11).
    Postgresql,
    /// Debian's MariaDB: the hand-run guide's path, for Mattermost <= 10.11 only.
    Mariadb,
    /// Oracle MySQL 8, already installed by the operator; Mattermost <= 10.11 only.
    Mysql,
}

impl DbEngine {
    pub const ALL: [&str; 3] = ["postgresql", "mariadb", "mysql"];

    pub fn name(self) -> &'static str {
        match self {
            Self::Postgresql => "postgresql",
            Self::Mariadb => "mariadb",
            Self::Mysql => "mysql",
        }
    }

    pub fn is_mysql_family(self) -> bool {
        matches!(self, Self::Mariadb | Self::Mysql)
    }
}

/// Enterprise (free without a license: "Entry") or Team (MIT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Edition {
    /// Enterprise: runs free without a license ("Entry").
    Enterprise,
    /// Team Edition (MIT).
    Team,
}

impl Edition {
    pub fn name(self) -> &'static str {
        match self {
            Self::Enterprise => "enterprise",
            Self::Team => "team",
        }
    }
}

/// Which Mattermost release to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSpec {
    /// The newest extended-support release in the bundled table.
    Esr,
    /// The newest release in the bundled table.
    Latest,
    /// An exact version.
    Exact(Version),
}

impl std::fmt::Display for VersionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Esr => f.write_str("esr"),
            Self::Latest => f.write_str("latest"),
            Self::Exact(v) => write!(f, "{v}"),
        }
    }
}

impl Serialize for VersionSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The reverse proxy in front of Mattermost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Proxy {
    /// Apache with the modules the site needs.
    Apache,
    /// nginx.
    Nginx,
}

impl Proxy {
    pub fn name(self) -> &'static str {
        match self {
            Self::Apache => "apache",
            Self::Nginx => "nginx",
        }
    }
}

/// TLS in front of the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    /// Plain http; the end screen warns about it.
    None,
    /// A certificate from Let's Encrypt (or another ACME server) via certbot.
    Letsencrypt,
    /// A certificate and key the operator already has (`tls_cert`, `tls_key`).
    Existing,
}

impl Tls {
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Letsencrypt => "letsencrypt",
            Self::Existing => "existing",
        }
    }
}

/// What one machine does in a topology of several (`machines` in the answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything on one box: today's install (the default).
    All,
    /// PostgreSQL for the app machines, on the private network only.
    Database,
    /// Mattermost, against the database machine (or a managed PostgreSQL) and object storage.
    App,
    /// nginx in front of the app machines, with TLS.
    Proxy,
}

impl Role {
    /// The role of one machine of several, by its name in the answers (`all` is a
    /// single box, not a machine's role).
    pub fn of_machine(name: &str) -> Option<Self> {
        match name {
            "database" => Some(Self::Database),
            "app" => Some(Self::App),
            "proxy" => Some(Self::Proxy),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Database => "database",
            Self::App => "app",
            Self::Proxy => "proxy",
        }
    }
}

/// How Mattermost's PostgreSQL driver (lib/pq) secures the connection: its
/// `sslmode` values (github.com/lib/pq conn.go, ssl.go).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    /// No TLS: only on this box, over the loopback.
    Disable,
    /// TLS, certificate not checked (lib/pq checks the chain when a CA file is given).
    Require,
    /// TLS, certificate chain checked against `db_ca_file`.
    VerifyCa,
    /// TLS, chain and host name checked: what a managed database should get.
    VerifyFull,
}

impl SslMode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// The modes that check the server's certificate against a CA file.
    pub fn verifies(self) -> bool {
        matches!(self, Self::VerifyCa | Self::VerifyFull)
    }
}
