//! What the box says and the answers do not, read once and read-only before the plan
//! is made. The plan is a function of the answers and these facts
//! ([`super::Plan::for_box`]): `plan`, `install`, `status`, `repair` and `upgrade`
//! all make it the same way, so what `plan` prints is what the phases write.

use serde::Serialize;

use crate::answers::{Answers, DbEngine};
use crate::host::{Cmd, Host, Output};

/// The facts a plan depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Facts {
    /// `FileSettings.MaxFileSize` of the config.json already there: an admin may
    /// raise it in the System Console, and the proxy's upload limit follows it.
    /// `None` on a fresh box, where the tarball's default applies.
    pub max_file_size: Option<u64>,
    /// The systemd unit of the PostgreSQL cluster Mattermost uses; `None` without a
    /// local PostgreSQL, or when neither `pg_lsclusters` nor apt can say.
    pub postgres_unit: Option<PostgresUnit>,
}

/// The unit of the PostgreSQL cluster on port 5432, and how it is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PostgresUnit {
    /// `pg_lsclusters` lists it: the cluster is there.
    Found(String),
    /// Not installed yet: the cluster the `postgresql` package will create.
    Predicted(String),
}

impl PostgresUnit {
    pub fn name(&self) -> &str {
        match self {
            Self::Found(u) | Self::Predicted(u) => u,
        }
    }
}

impl Facts {
    /// Reads the facts for `a` on this box. Read-only.
    pub fn probe(host: &Host, a: &Answers) -> Self {
        let config = host.read(&a.config_json()).ok().flatten();
        Self {
            max_file_size: config.as_deref().and_then(super::upload_limit_of),
            postgres_unit: (a.local_db() && a.db_engine == DbEngine::Postgresql)
                .then(|| {
                    cluster_unit(host)
                        .map(PostgresUnit::Found)
                        .or_else(|| predicted_cluster_unit(host).map(PostgresUnit::Predicted))
                })
                .flatten(),
        }
    }
}

/// The systemd unit of the cluster Mattermost connects to (the one on port 5432),
/// from `pg_lsclusters` (Debian's postgresql-common); `None` before PostgreSQL is
/// installed or when no cluster listens there.
pub fn cluster_unit(host: &Host) -> Option<String> {
    let out = host
        .probe(&Cmd::new("pg_lsclusters", &["--no-header"]))
        .ok()
        .filter(Output::success)?;
    cluster_on_5432(&out.stdout)
}

/// The unit of the cluster the `postgresql` package will create, before it is
/// installed: Debian's postgresql-common makes `<major>-main` on port 5432, the
/// major being the one the `postgresql` dependency package pulls in (`15+248` →
/// 15), from `apt-cache policy` (read-only). `None` when apt cannot say.
pub fn predicted_cluster_unit(host: &Host) -> Option<String> {
    let out = host
        .probe(&Cmd::new("apt-cache", &["policy", "postgresql"]))
        .ok()
        .filter(Output::success)?;
    candidate_major(&out.stdout).map(|major| format!("postgresql@{major}-main.service"))
}

/// The major version in `apt-cache policy postgresql`'s `Candidate: 15+248` line.
fn candidate_major(policy: &str) -> Option<u32> {
    let line = policy
        .lines()
        .find_map(|l| l.trim().strip_prefix("Candidate:"))?;
    line.trim().split('+').next()?.parse().ok()
}

/// `Ver Cluster Port Status Owner Data-directory Log-file` lines: the unit of the
/// cluster on port 5432.
fn cluster_on_5432(listing: &str) -> Option<String> {
    listing.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (ver, name, port) = (f.first()?, f.get(1)?, f.get(2)?);
        let plain = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        };
        (*port == "5432" && plain(ver) && plain(name))
            .then(|| format!("postgresql@{ver}-{name}.service"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_on_5432_is_found_and_odd_names_are_not_spliced() {
        let listing = "13 old  5433 down   postgres /var/lib/postgresql/13/old /var/log/postgresql/postgresql-13-old.log\n\
                       15 main 5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log\n";
        assert_eq!(
            cluster_on_5432(listing).as_deref(),
            Some("postgresql@15-main.service")
        );
        assert_eq!(
            cluster_on_5432("15 main 5433 online postgres /x /y\n"),
            None
        );
        assert_eq!(
            cluster_on_5432("15 ma/in 5432 online postgres /x /y\n"),
            None
        );
        assert_eq!(cluster_on_5432(""), None);
    }

    #[test]
    fn the_cluster_apt_will_create_is_read_from_the_candidate_version() {
        let policy = "postgresql:\n  Installed: (none)\n  Candidate: 15+248\n  Version table:\n     15+248 500\n";
        assert_eq!(candidate_major(policy), Some(15));
        assert_eq!(
            candidate_major("postgresql:\n  Installed: (none)\n  Candidate: (none)\n"),
            None
        );
        assert_eq!(candidate_major(""), None);
    }
}
