//! Mattermost's cluster mode as an app machine sees it (issue 13): is this server a
//! member of the cluster, and which of the other app machines are?
//!
//! `/api/v4/cluster/status` needs a system admin's session (api4/cluster.go
//! `getClusterStatus`; the local-mode socket has no cluster route), which the
//! installer does not keep. What the servers themselves record is used instead: a
//! clustered server registers in the `ClusterDiscovery` table under its cluster
//! name, with its advertised address and gossip port, and refreshes `LastPingAt`
//! every minute (server/channels/app/platform/cluster_discovery.go,
//! `ClusterDiscoveryService.Start`, `DiscoveryServiceWritePing` = 60 s). A member is
//! a row pinged within [`FRESH_MS`] whose gossip port answers from here (which also
//! proves the firewall lets app machines gossip).
//!
//! This server not being a member fails (cluster mode did not start: the license,
//! or `ClusterSettings`). Another app machine not being one is a warning: it may not
//! be set up yet, or be stopped for maintenance, and the proxy balances around it.

use std::net::SocketAddr;

use crate::answers::{Answers, topology::GOSSIP_PORT};
use crate::host::Host;
use crate::vocab::{Check, PhaseId, Role};

/// `model.CDSTypeApp`.
const CDS_TYPE_APP: &str = "mattermost_cluster";

/// A row pinged within this many milliseconds is a live server: two and a half
/// times the 60 s ping interval.
pub const FRESH_MS: i64 = 150_000;

/// The servers registered under the cluster's name: address, gossip port, and the
/// milliseconds since each last pinged, by the database's clock.
pub fn sql(cluster: &str) -> String {
    format!(
        "SELECT hostname, gossipport, \
         (extract(epoch from now()) * 1000)::bigint - lastpingat \
         FROM clusterdiscovery WHERE type = {} AND clustername = {} \
         ORDER BY lastpingat DESC",
        super::database::literal(CDS_TYPE_APP),
        super::database::literal(cluster)
    )
}

/// One row of [`sql`]'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub host: String,
    pub gossip_port: u16,
    pub age_ms: i64,
}

/// `psql -A -t` rows: `host|port|age`.
pub fn parse(out: &str) -> Vec<Registered> {
    out.lines()
        .filter_map(|l| {
            let mut f = l.trim().split('|');
            Some(Registered {
                host: f.next()?.to_owned(),
                gossip_port: f.next()?.parse().ok()?,
                age_ms: f.next()?.parse().ok()?,
            })
        })
        .collect()
}

/// The cluster checks of an app machine among several (none otherwise).
pub fn checks(host: &Host, a: &Answers, phase: PhaseId) -> Vec<Check> {
    if a.role() != Role::App || !a.clustered() {
        return Vec::new();
    }
    let name = format!("cluster {}", a.cluster());
    let rows = match super::database::login(host, a, &sql(a.cluster())) {
        Ok(out) if out.success() => parse(&out.stdout),
        Ok(out) => {
            return vec![Check::fail(
                phase,
                name,
                format!(
                    "cannot read ClusterDiscovery: {}",
                    host.redact(out.stderr.trim())
                ),
            )];
        }
        Err(e) => return vec![Check::fail(phase, name, e.to_string())],
    };
    judge(
        a,
        &rows,
        &|at| crate::host::http::tcp_open(at).is_ok(),
        phase,
    )
}

/// The checks from the registered rows; `gossips` tells whether a gossip port
/// answers from here.
pub fn judge(
    a: &Answers,
    rows: &[Registered],
    gossips: &dyn Fn(SocketAddr) -> bool,
    phase: PhaseId,
) -> Vec<Check> {
    let me = a.this_machine().map(|m| m.name.as_str());
    let mut checks = Vec::new();
    for m in a.machines_of(Role::App) {
        let at = SocketAddr::new(m.address, GOSSIP_PORT);
        let row = rows
            .iter()
            .find(|r| r.host == m.address.to_string() && r.gossip_port == GOSSIP_PORT);
        let seen = match row {
            None => "not registered".to_owned(),
            Some(r) => format!("last ping {} s ago", r.age_ms.max(0) / 1000),
        };
        let fresh = row.is_some_and(|r| r.age_ms < FRESH_MS);
        let answers = fresh && gossips(at);
        let detail = format!(
            "{seen}; gossip {at} {}",
            match (fresh, answers) {
                (false, _) => "not tried",
                (true, true) => "answers",
                (true, false) => "does not answer",
            }
        );
        let mine = Some(m.name.as_str()) == me;
        let name = if mine {
            format!(
                "{} ({}) is a member of cluster {}",
                m.name,
                m.address,
                a.cluster()
            )
        } else {
            format!(
                "app machine {} ({}) in cluster {}",
                m.name,
                m.address,
                a.cluster()
            )
        };
        checks.push(match (answers, mine) {
            (true, _) => Check::ok(phase, name, detail),
            (false, true) => Check::fail(phase, name, detail).with_fix(format!(
                "cluster mode did not start: check that {} is an Enterprise license with High Availability, and read {}/logs/mattermost.log",
                a.license_file
                    .as_ref()
                    .map_or_else(|| "the license".to_owned(), |p| p.display().to_string()),
                a.install_dir.display()
            )),
            (false, false) => Check::warn(phase, name, detail).with_fix(format!(
                "not set up yet or stopped: run mattermost-setup status on {}; the proxy sends no requests to it meanwhile",
                m.name
            )),
        });
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Level;

    fn answers() -> Answers {
        let mut a = crate::answers::from_json(
            r#"{"domain": "chat.example.com", "db_password": "shared-password-1",
                "license_file": "/root/mm.mattermost-license", "cluster_name": "chat",
                "machines": [
                    {"name": "db1", "role": "database", "address": "10.0.0.10"},
                    {"name": "app1", "role": "app", "address": "10.0.0.21"},
                    {"name": "app2", "role": "app", "address": "10.0.0.22"},
                    {"name": "web", "role": "proxy", "address": "10.0.0.30"}],
                "s3_bucket": "chat-files", "s3_endpoint": "10.0.0.5:7480",
                "s3_access_key_id": "AKID", "s3_secret_access_key": "secret"}"#,
            None,
        )
        .unwrap();
        a.node = Some("app1".into());
        a
    }

    const P: PhaseId = PhaseId::Acceptance;

    #[test]
    fn the_query_asks_for_this_clusters_servers_with_literals() {
        let q = sql("it's");
        assert!(q.contains("clustername = 'it''s'"), "{q}");
        assert!(q.contains("type = 'mattermost_cluster'"), "{q}");
        assert_eq!(
            parse("10.0.0.21|8074|1200\n10.0.0.22|8074|400000\nnoise\n"),
            [
                Registered {
                    host: "10.0.0.21".into(),
                    gossip_port: 8074,
                    age_ms: 1200
                },
                Registered {
                    host: "10.0.0.22".into(),
                    gossip_port: 8074,
                    age_ms: 400_000
                },
            ]
        );
    }

    #[test]
    fn members_are_fresh_and_gossip_and_only_this_server_missing_fails() {
        let a = answers();
        let both = parse("10.0.0.21|8074|1200\n10.0.0.22|8074|30000\n");
        let all_answer = |_: SocketAddr| true;
        let c = judge(&a, &both, &all_answer, P);
        assert_eq!(c.len(), 2);
        assert!(c.iter().all(|c| c.level == Level::Ok), "{c:?}");
        assert_eq!(c[0].name, "app1 (10.0.0.21) is a member of cluster chat");
        assert_eq!(
            c[0].detail,
            "last ping 1 s ago; gossip 10.0.0.21:8074 answers"
        );

        // app2 stopped: its row goes stale, or its gossip port stops answering.
        let stale = parse("10.0.0.21|8074|1200\n10.0.0.22|8074|400000\n");
        let c = judge(&a, &stale, &all_answer, P);
        assert_eq!((c[0].level, c[1].level), (Level::Ok, Level::Warn), "{c:?}");
        assert!(c[1].detail.starts_with("last ping 400 s ago"), "{c:?}");
        let only_me = |s: SocketAddr| s.ip().to_string() == "10.0.0.21";
        let c = judge(&a, &both, &only_me, P);
        assert_eq!(c[1].level, Level::Warn);
        assert!(c[1].detail.ends_with("does not answer"), "{c:?}");

        // This server is not registered: cluster mode did not start.
        let c = judge(&a, &parse("10.0.0.22|8074|1200\n"), &all_answer, P);
        assert_eq!(c[0].level, Level::Fail);
        assert_eq!(
            c[0].detail,
            "not registered; gossip 10.0.0.21:8074 not tried"
        );
        assert!(
            c[0].fix
                .as_deref()
                .unwrap()
                .contains("/root/mm.mattermost-license")
        );
        // Registered, but its gossip port does not answer.
        let c = judge(&a, &both, &|_| false, P);
        assert_eq!(c[0].level, Level::Fail);
    }

    #[test]
    fn the_app_machine_reads_the_registry_as_mattermost_logs_in() {
        use crate::host::fake::{FakeBox, ok};
        let b = FakeBox::empty();
        // Both rows stale: no gossip port is tried (no network in this test).
        b.reply(
            "psql",
            &[],
            ok("10.0.0.21|8074|400000\n10.0.0.22|8074|400000\n"),
        );
        let a = answers();
        let c = checks(&b.host, &a, P);
        assert_eq!(
            c.iter().map(|c| c.level).collect::<Vec<_>>(),
            [Level::Fail, Level::Warn]
        );
        let call = b
            .calls()
            .into_iter()
            .find(|c| c.line().starts_with("psql"))
            .unwrap();
        let line = call.line();
        assert!(line.contains("-h 10.0.0.10"), "{line}");
        assert!(line.contains("clustername = 'chat'"), "{line}");
        assert!(!line.contains("shared-password-1"), "{line}");

        b.reply(
            "psql",
            &[],
            crate::host::fake::fail(2, "connection refused"),
        );
        let c = checks(&b.host, &a, P);
        assert_eq!(c[0].level, Level::Fail);
        assert!(c[0].detail.contains("connection refused"), "{c:?}");
    }

    #[test]
    fn only_app_machines_of_a_cluster_check_it() {
        let b = crate::host::fake::FakeBox::empty();
        let mut a = answers();
        a.node = Some("web".into());
        assert!(checks(&b.host, &a, P).is_empty());
        let single = crate::answers::from_json(
            r#"{"domain": "chat.example.com", "db_password": "pw-123456"}"#,
            None,
        )
        .unwrap();
        assert!(checks(&b.host, &single, P).is_empty());
        assert!(b.calls().is_empty());
    }
}
