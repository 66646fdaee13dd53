//! The firewall of a database or app machine: an nftables table of the tool's own
//! (`inet mattermost_setup`), loaded by a oneshot unit of its own. Nothing else in
//! the ruleset is touched; the table only rejects, on the ports the tool opened,
//! what does not come from the machines that need them:
//! - database machine: 5432 from the app machines only;
//! - app machine: 8065 from the proxy only, and (cluster) 8074 from the other apps.
//!
//! Loopback is always let through. `nft -f` replaces the table atomically (the
//! `table` + `delete table` + definition idiom), so a reload never leaves a gap.

use std::net::IpAddr;
use std::path::PathBuf;

use super::PlannedFile;
use crate::answers::Answers;
use crate::answers::topology::{APP_PORT, GOSSIP_PORT};
use crate::vocab::Role;

pub const RULES_PATH: &str = "/etc/mattermost-setup/firewall.nft";
pub const UNIT_PATH: &str = "/etc/systemd/system/mattermost-setup-firewall.service";
pub const UNIT: &str = "mattermost-setup-firewall.service";
pub const TABLE: &str = "mattermost_setup";

/// (protocol, port, who may connect) on this machine.
fn rules(a: &Answers) -> Vec<(&'static str, u16, Vec<IpAddr>)> {
    let of = |role| a.machines_of(role).map(|m| m.address).collect::<Vec<_>>();
    match a.role() {
        Role::Database => vec![("tcp", 5432, of(Role::App))],
        Role::App => {
            let mut r = vec![("tcp", APP_PORT, of(Role::Proxy))];
            if a.clustered() {
                let apps = of(Role::App);
                r.push(("tcp", GOSSIP_PORT, apps.clone()));
                r.push(("udp", GOSSIP_PORT, apps));
            }
            r
        }
        Role::All | Role::Proxy => Vec::new(),
    }
}

/// One line for the plan: which port admits whom.
pub fn summary(a: &Answers) -> String {
    rules(a)
        .iter()
        .map(|(proto, port, from)| {
            let from: Vec<String> = from.iter().map(ToString::to_string).collect();
            format!("{proto} {port} only from {}", from.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn set(addrs: &[IpAddr], v6: bool) -> Option<String> {
    let list: Vec<String> = addrs
        .iter()
        .filter(|a| a.is_ipv6() == v6)
        .map(ToString::to_string)
        .collect();
    (!list.is_empty()).then(|| format!("{{ {} }}", list.join(", ")))
}

/// The ruleset file.
pub fn ruleset(a: &Answers) -> String {
    let mut body = String::new();
    for (proto, port, from) in rules(a) {
        for (family, v6) in [("ip", false), ("ip6", true)] {
            if let Some(s) = set(&from, v6) {
                body.push_str(&format!(
                    "        {proto} dport {port} {family} saddr {s} accept\n"
                ));
            }
        }
        body.push_str(&if proto == "tcp" {
            format!("        tcp dport {port} reject with tcp reset\n")
        } else {
            format!("        {proto} dport {port} drop\n")
        });
    }
    format!(
        "#!/usr/sbin/nft -f\n\
         # Written by mattermost-setup for machine {name} ({role}). Loaded by {UNIT}.\n\
         # Only this table is the tool's; the rest of the ruleset is left alone.\n\
         table inet {TABLE}\n\
         delete table inet {TABLE}\n\
         table inet {TABLE} {{\n\
         \x20   chain input {{\n\
         \x20       type filter hook input priority filter; policy accept;\n\
         \x20       iif \"lo\" accept\n\
         {body}\
         \x20   }}\n\
         }}\n",
        name = a.this_machine().map_or("", |m| m.name.as_str()),
        role = a.role().name(),
    )
}

/// The unit that loads the table at boot and again after nftables.service
/// (re)loads the system's ruleset, which flushes every table.
pub fn unit() -> String {
    format!(
        "# Written by mattermost-setup.\n\
         [Unit]\n\
         Description=mattermost-setup firewall (nftables table inet {TABLE})\n\
         After=nftables.service\n\
         PartOf=nftables.service\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         RemainAfterExit=yes\n\
         ExecStart=/usr/sbin/nft -f {RULES_PATH}\n\
         ExecReload=/usr/sbin/nft -f {RULES_PATH}\n\
         ExecStop=/usr/sbin/nft delete table inet {TABLE}\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target nftables.service\n"
    )
}

/// The firewall's files, on the machines that have one.
pub fn planned(a: &Answers) -> Vec<PlannedFile> {
    if rules(a).is_empty() {
        return Vec::new();
    }
    vec![
        PlannedFile {
            path: PathBuf::from(RULES_PATH),
            mode: 0o644,
            owner: "root",
            content: ruleset(a),
        },
        PlannedFile {
            path: PathBuf::from(UNIT_PATH),
            mode: 0o644,
            owner: "root",
            content: unit(),
        },
    ]
}
