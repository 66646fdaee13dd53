//! Does the domain point at this server? A and AAAA answers beside this host's own
//! addresses, each mismatch explained — never a hard block: behind NAT the public
//! address is not on any interface, and hairpin NAT cannot be relied on.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::net::{IpAddr, ToSocketAddrs};

use serde::Serialize;

use crate::host::{Cmd, Host};

/// What kind of address this is, in the words an operator needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Public,
    /// RFC 1918 / unique-local: only reachable inside a network, usually behind NAT.
    Private,
    /// 100.64.0.0/10: the provider's NAT (CGNAT).
    CarrierNat,
    Loopback,
    LinkLocal,
}

pub fn scope(ip: IpAddr) -> Scope {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Scope::Loopback
            } else if v4.is_link_local() {
                Scope::LinkLocal
            } else if v4.is_private() {
                Scope::Private
            } else if o[0] == 100 && (64..128).contains(&o[1]) {
                Scope::CarrierNat
            } else {
                Scope::Public
            }
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            if v6.is_loopback() {
                Scope::Loopback
            } else if seg[0] & 0xffc0 == 0xfe80 {
                Scope::LinkLocal
            } else if seg[0] & 0xfe00 == 0xfc00 {
                Scope::Private
            } else {
                Scope::Public
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsReport {
    pub domain: String,
    /// A and AAAA answers (empty when the name does not resolve).
    pub resolved: Vec<IpAddr>,
    /// Why resolution failed, if it did.
    pub error: Option<String>,
    /// This host's addresses, loopback and link-local left out.
    pub local: Vec<(IpAddr, Scope)>,
    /// One paragraph per finding; empty when the name points here.
    pub findings: Vec<String>,
    /// The name resolves to an address of this host.
    pub points_here: bool,
}

/// What the DNS answers mean for reaching this server by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// An A/AAAA answer is an address of this host.
    PointsHere,
    /// A public answer while this host has only private addresses: NAT, which works
    /// when the router forwards ports 80 and 443 (not testable from inside).
    BehindNat,
    /// Public answers, none of them ours, while this host has a public address.
    Elsewhere,
    /// Only private, carrier-NAT or loopback answers: no public CA can connect.
    NotPublic,
    /// No answer at all.
    Unresolved,
}

impl DnsReport {
    pub fn verdict(&self) -> Verdict {
        if self.resolved.is_empty() {
            return Verdict::Unresolved;
        }
        if self.points_here {
            return Verdict::PointsHere;
        }
        if !self.resolved.iter().any(|ip| scope(*ip) == Scope::Public) {
            return Verdict::NotPublic;
        }
        if self.local.iter().any(|(_, s)| *s == Scope::Public) {
            Verdict::Elsewhere
        } else {
            Verdict::BehindNat
        }
    }

    /// Whether a public ACME CA (Let's Encrypt) can be expected to reach this server
    /// on port 80 by this name. Behind NAT it can, when the router forwards the port;
    /// that cannot be tested from inside (no hairpin NAT), so it is tried.
    pub fn public_ca_can_reach(&self) -> bool {
        matches!(self.verdict(), Verdict::PointsHere | Verdict::BehindNat)
    }

    /// The findings as one line of evidence.
    pub fn summary(&self) -> String {
        let answers = if self.resolved.is_empty() {
            "no A/AAAA record".to_owned()
        } else {
            self.resolved
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self.verdict() {
            Verdict::PointsHere => format!("{} -> {answers}: this server", self.domain),
            _ => format!("{} -> {answers}. {}", self.domain, self.findings.join(" ")),
        }
    }
}

/// This host's addresses, from `ip -o addr show`.
pub fn local_addresses(host: &Host) -> Vec<(IpAddr, Scope)> {
    let out = host
        .probe(&Cmd::new("ip", &["-o", "addr", "show"]))
        .map(|o| o.stdout)
        .unwrap_or_default();
    parse_ip_addr(&out)
}

pub fn parse_ip_addr(out: &str) -> Vec<(IpAddr, Scope)> {
    out.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let family = f.nth(2)?;
            if family != "inet" && family != "inet6" {
                return None;
            }
            let ip: IpAddr = f.next()?.split('/').next()?.parse().ok()?;
            let s = scope(ip);
            (s != Scope::Loopback && s != Scope::LinkLocal).then_some((ip, s))
        })
        .collect()
}

/// Resolves the domain with the system resolver (A and AAAA).
pub fn resolve(domain: &str) -> Result<Vec<IpAddr>, String> {
    let mut ips: Vec<IpAddr> = (domain, 80)
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .map(|sa| sa.ip())
        .collect();
    ips.sort();
    ips.dedup();
    Ok(ips)
}

/// Compares what the name resolves to with this host's addresses.
pub fn compare(
    domain: &str,
    resolved: Result<Vec<IpAddr>, String>,
    local: Vec<(IpAddr, Scope)>,
) -> DnsReport {
    let (resolved, error) = match resolved {
        Ok(r) => (r, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let mut findings = Vec::new();
    let points_here = resolved.iter().any(|ip| local.iter().any(|(l, _)| l == ip));
    let only_private_here = !local.is_empty() && local.iter().all(|(_, s)| *s != Scope::Public);
    if resolved.is_empty() {
        findings.push(format!(
            "{domain} does not resolve{}. Create an A record (and AAAA for IPv6) at your DNS provider pointing to this \
             server's public address. Users cannot reach the server by name until it exists, and Let's Encrypt cannot \
             issue a certificate; the install can go on and `repair` obtains the certificate later.",
            error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()
        ));
    } else if !points_here {
        let list: Vec<String> = resolved
            .iter()
            .map(|ip| format!("{ip} ({:?})", scope(*ip)).to_lowercase())
            .collect();
        if only_private_here && resolved.iter().any(|ip| scope(*ip) == Scope::Public) {
            findings.push(format!(
                "{domain} resolves to {} while this server has only private addresses: it is behind NAT. That is fine \
                 when the router forwards ports 80 and 443 of that public address to this server; check the forwarding \
                 from outside your network (testing from inside often fails without hairpin NAT).",
                list.join(", ")
            ));
        } else {
            findings.push(format!(
                "{domain} resolves to {}, which is not an address of this server. If the DNS record is new it may still \
                 be propagating; if a proxy or load balancer sits in front (Cloudflare, a provider firewall), make sure it \
                 forwards ports 80 and 443 here. Otherwise correct the A/AAAA record.",
                list.join(", ")
            ));
        }
    }
    for ip in &resolved {
        match scope(*ip) {
            Scope::Private | Scope::CarrierNat => findings.push(format!(
                "{domain} resolves to the private address {ip}: only machines on the same network can reach it, and \
                 Let's Encrypt cannot validate it. Fine for an internal server with an existing certificate."
            )),
            Scope::Loopback => findings.push(format!(
                "{domain} resolves to the loopback address {ip} (probably a line in /etc/hosts): other machines cannot use it."
            )),
            Scope::Public | Scope::LinkLocal => {}
        }
    }
    DnsReport {
        domain: domain.to_owned(),
        resolved,
        error,
        local,
        findings,
        points_here,
    }
}

/// Resolves and compares, reading this host's addresses through the host seam.
pub fn check(host: &Host, domain: &str) -> DnsReport {
    compare(domain, resolve(domain), local_addresses(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn scopes() {
        assert_eq!(scope(ip("10.1.2.3")), Scope::Private);
        assert_eq!(scope(ip("192.168.1.1")), Scope::Private);
        assert_eq!(scope(ip("100.72.0.1")), Scope::CarrierNat);
        assert_eq!(scope(ip("203.0.113.7")), Scope::Public);
        assert_eq!(scope(ip("fd00::1")), Scope::Private);
        assert_eq!(scope(ip("fe80::1")), Scope::LinkLocal);
        assert_eq!(scope(ip("2001:db8::1")), Scope::Public);
    }

    #[test]
    fn parses_ip_addr_output() {
        let out = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                   2: eth0    inet 10.0.2.15/24 brd 10.0.2.255 scope global eth0\n\
                   2: eth0    inet6 fe80::1/64 scope link\n\
                   2: eth0    inet6 2001:db8::5/64 scope global\n";
        assert_eq!(
            parse_ip_addr(out),
            [
                (ip("10.0.2.15"), Scope::Private),
                (ip("2001:db8::5"), Scope::Public)
            ]
        );
    }

    #[test]
    fn pointing_here_has_no_findings() {
        let r = compare(
            "chat.example.com",
            Ok(vec![ip("203.0.113.7")]),
            vec![(ip("203.0.113.7"), Scope::Public)],
        );
        assert!(r.points_here);
        assert!(r.findings.is_empty());
    }

    #[test]
    fn nat_is_explained_not_blocked() {
        let r = compare(
            "chat.example.com",
            Ok(vec![ip("203.0.113.7")]),
            vec![(ip("192.168.1.10"), Scope::Private)],
        );
        assert!(!r.points_here);
        assert_eq!(r.findings.len(), 1);
        assert!(r.findings[0].contains("behind NAT"), "{}", r.findings[0]);
    }

    #[test]
    fn verdicts_decide_whether_a_public_ca_can_connect() {
        let v = |resolved: Result<Vec<IpAddr>, String>, local: &[&str]| {
            let r = compare(
                "chat.example.com",
                resolved,
                local.iter().map(|l| (ip(l), scope(ip(l)))).collect(),
            );
            (r.verdict(), r.public_ca_can_reach())
        };
        assert_eq!(
            v(Ok(vec![ip("203.0.113.7")]), &["203.0.113.7"]),
            (Verdict::PointsHere, true)
        );
        assert_eq!(
            v(Ok(vec![ip("203.0.113.7")]), &["192.168.1.10"]),
            (Verdict::BehindNat, true)
        );
        assert_eq!(
            v(Ok(vec![ip("198.51.100.1")]), &["203.0.113.7"]),
            (Verdict::Elsewhere, false)
        );
        assert_eq!(
            v(Ok(vec![ip("127.0.0.1")]), &["10.0.2.15"]),
            (Verdict::NotPublic, false)
        );
        assert_eq!(
            v(Ok(vec![ip("10.0.0.5")]), &["10.0.2.15"]),
            (Verdict::NotPublic, false)
        );
        assert_eq!(
            v(Err("no such host".into()), &["10.0.2.15"]),
            (Verdict::Unresolved, false)
        );
    }

    #[test]
    fn unresolvable_and_private_answers() {
        let r = compare(
            "chat.example.com",
            Err("no such host".into()),
            vec![(ip("203.0.113.7"), Scope::Public)],
        );
        assert!(r.findings[0].contains("does not resolve (no such host)"));
        let r = compare(
            "chat.example.com",
            Ok(vec![ip("10.0.0.5")]),
            vec![(ip("203.0.113.7"), Scope::Public)],
        );
        assert!(
            r.findings
                .iter()
                .any(|f| f.contains("private address 10.0.0.5"))
        );
    }
}
