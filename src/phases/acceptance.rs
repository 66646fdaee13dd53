//! The end-to-end gate, as a user would meet the server: through the proxy on this
//! host's loopback with the domain as Host (and as SNI over TLS) — never through DNS
//! or hairpin NAT. Ping and a WebSocket upgrade over https once the certificate is in
//! place (http otherwise); http redirecting to https; the served certificate chain
//! trusted (system store plus acme_ca_bundle) with its days left; SiteURL equal to the
//! public URL; the proxy's upload limit at least Mattermost's MaxFileSize; the
//! database login; the unit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use super::database::unit_checks;
use super::tls::cert::{self, Trust};
use super::{Check, Ctx, Phase, PhaseError, PhaseId};
use crate::answers::{DbEngine, Role, Tls};
use crate::plan::{proxy_site_path, templates};
use crate::probes::http;

const P: PhaseId = PhaseId::Acceptance;
const PING: &str = "/api/v4/system/ping";
const WS: &str = "/api/v4/websocket";
/// Fewer days left than this fails the gate; up to [`super::tls::RENEW_DAYS`] warns.
const CERT_FAIL_DAYS: i64 = 7;

pub struct Acceptance;

fn ping_check(name: String, r: std::io::Result<http::Response>) -> Check {
    match r {
        Ok(r) if r.status == 200 && r.body.contains("\"OK\"") => {
            Check::ok(P, name, format!("200 {}", r.body.trim()))
        }
        Ok(r) => Check::fail(
            P,
            name,
            format!("HTTP {}: {:.200}", r.status, r.body.trim()),
        ),
        Err(e) => Check::fail(P, name, e.to_string()),
    }
}

fn ws_check(name: &str, u: std::io::Result<http::Upgrade>) -> Check {
    match u {
        Ok(u) if u.status == 101 && u.accept_ok => {
            Check::ok(P, name, "101 Switching Protocols, accept key valid")
        }
        Ok(u) => Check::fail(
            P,
            name,
            format!("HTTP {} (accept key valid: {})", u.status, u.accept_ok),
        )
        .with_fix("check the proxy site's WebSocket location (status names the site file) and that SiteURL matches the URL users type"),
        Err(e) => Check::fail(P, name, e.to_string()),
    }
}

/// The served chain's days left, against the same roots the handshake trusted.
fn served_cert_check(
    chain: &[rustls::pki_types::CertificateDer<'static>],
    domain: &str,
    trust: &Trust,
) -> Check {
    let name = "certificate served on 443";
    let Some(not_after) = cert::not_after(chain, domain, trust) else {
        return Check::fail(P, name, "the served chain does not verify for the domain");
    };
    let days = cert::days_between(SystemTime::now(), not_after);
    let detail = format!(
        "chain of {} trusted by {}; valid for {domain} until {} ({days} days left)",
        chain.len(),
        trust.sources.join(" + "),
        cert::date(not_after)
    );
    if days > super::tls::RENEW_DAYS {
        Check::ok(P, name, detail)
    } else if days >= CERT_FAIL_DAYS {
        Check::warn(P, name, detail)
            .with_fix("renewal is due: `certbot renew` (Let's Encrypt) or replace the certificate")
    } else {
        Check::fail(P, name, detail).with_fix(
            "renew the certificate now: `certbot renew` (Let's Encrypt) or replace the files",
        )
    }
}

/// Mattermost's `FileSettings.MaxFileSize` in config.json now, or its default: the
/// check compares the box with itself (an admin may have raised it since the plan).
fn max_file_size(ctx: &Ctx) -> u64 {
    ctx.host
        .read(&ctx.plan.config_json)
        .ok()
        .flatten()
        .and_then(|b| crate::plan::upload_limit_of(&b))
        .unwrap_or(crate::plan::UPLOAD_LIMIT)
}

fn upload_check(ctx: &Ctx) -> Check {
    let want = max_file_size(ctx);
    let path = proxy_site_path(ctx.answers.proxy);
    let name = "proxy upload limit >= MaxFileSize";
    let site = ctx
        .host
        .read(&path)
        .ok()
        .flatten()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    match templates::declared_body_limit(ctx.answers.proxy, &site) {
        Some(0) => Check::ok(
            P,
            name,
            format!("no limit in {} (MaxFileSize {want})", path.display()),
        ),
        Some(n) if n >= want => Check::ok(
            P,
            name,
            format!("{n} bytes in {} (MaxFileSize {want})", path.display()),
        ),
        Some(n) => Check::fail(
            P,
            name,
            format!(
                "{n} bytes in {}, but MaxFileSize is {want}: larger uploads fail with 413",
                path.display()
            ),
        )
        .with_fix("mattermost-setup repair rewrites the site with the right limit"),
        None => Check::fail(P, name, format!("no limit found in {}", path.display())),
    }
}

impl Phase for Acceptance {
    fn id(&self) -> PhaseId {
        P
    }

    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        let a = ctx.answers;
        let mut checks = Vec::new();
        match a.role() {
            Role::Database => {
                checks.extend(login_checks(ctx)?);
                checks.extend(unit_checks(ctx, P, ctx.plan.database.unit)?);
                return Ok(checks);
            }
            Role::Proxy => {
                checks.extend(through_proxy(ctx)?);
                checks.push(upload_check(ctx));
                // Each upstream on its own, as the proxy reaches it.
                for m in a.machines_of(Role::App) {
                    let at = SocketAddr::new(m.address, crate::answers::topology::APP_PORT);
                    checks.push(ping_check(
                        format!("app machine {} ({at}){PING}", m.name),
                        http::get(at, &a.domain, PING),
                    ));
                }
                return Ok(checks);
            }
            Role::App => {
                let at = crate::plan::listen_addr(a);
                let site = super::tls::public_url(ctx);
                checks.push(super::service::ping_check(ctx, P));
                checks.push(ws_check(
                    &format!("WebSocket on {at}"),
                    http::websocket(at, &a.domain, WS, &site),
                ));
            }
            Role::All => checks.extend(through_proxy(ctx)?),
        }
        checks.push(site_url_check(ctx));
        if a.runs_proxy() {
            checks.push(upload_check(ctx));
        }
        checks.extend(login_checks(ctx)?);
        if let Some(s3) = &a.s3 {
            checks.extend(super::objectstore::checks(ctx.host, s3, P));
        }
        checks.extend(super::cluster::checks(ctx.host, a, P));
        checks.extend(unit_checks(ctx, P, "mattermost.service")?);
        Ok(checks)
    }

    fn apply(&self, _ctx: &mut Ctx) -> Result<(), PhaseError> {
        Ok(())
    }

    fn only_reads(&self) -> bool {
        true
    }

    /// Right after a reload the proxy may still be switching workers: give the whole
    /// chain a few seconds before calling it broken.
    fn verify(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let checks = self.probe(ctx)?;
            if checks.iter().all(Check::passed) || std::time::Instant::now() > deadline {
                return Ok(checks);
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }
}

/// The application user's login, as Mattermost logs in.
fn login_checks(ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
    let login = match ctx.answers.db_engine {
        DbEngine::Postgresql => super::database::postgres::probe(ctx)?,
        DbEngine::Mariadb | DbEngine::Mysql => super::database::mysql::probe(ctx)?,
    };
    Ok(login
        .into_iter()
        .filter(|c| c.name.starts_with("login as"))
        .map(|c| Check { phase: P, ..c })
        .collect())
}

/// Ping and WebSocket through the proxy on this box, with the certificate checks.
fn through_proxy(ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
    let http80 = SocketAddr::from(([127, 0, 0, 1], 80));
    let https443 = SocketAddr::from(([127, 0, 0, 1], 443));
    let domain = &ctx.answers.domain;
    let site = super::tls::public_url(ctx);
    let mut checks = Vec::new();
    if site.starts_with("https://") {
        let trust = Trust::load(ctx.host, ctx.answers.acme_ca_bundle.as_deref());
        let client = http::tls_client(Arc::clone(&trust.roots))
            .map_err(|e| PhaseError::new(e.to_string()))?;
        let name = format!("{site}{PING} through the proxy");
        checks.push(match http::get_tls(https443, domain, PING, &client) {
                Ok(r) => ping_check(name, Ok(r)),
                Err(e) => Check::fail(P, name, e.to_string())
                    .with_fix("an invalid certificate is named above (UnknownIssuer: the chain or the CA; NotValidForName: the domain)"),
            });
        // The chain is read from the WebSocket's own verified handshake.
        match http::websocket_tls(https443, domain, WS, &site, &client) {
            Ok((u, hs)) => {
                checks.push(served_cert_check(&hs.chain, domain, &trust));
                checks.push(ws_check("WebSocket (wss) through the proxy", Ok(u)));
            }
            Err(e) => checks.push(ws_check("WebSocket (wss) through the proxy", Err(e))),
        }
        let name = format!("http://{domain}/ redirects to https");
        checks.push(match http::get(http80, domain, PING) {
            Ok(r) if r.status == 301 && r.header("Location") == Some(&format!("{site}{PING}")) => {
                Check::ok(P, name, format!("301 Location: {site}{PING}"))
            }
            Ok(r) => Check::fail(
                P,
                name,
                format!(
                    "HTTP {} Location: {}",
                    r.status,
                    r.header("Location").unwrap_or("(none)")
                ),
            ),
            Err(e) => Check::fail(P, name, e.to_string()),
        });
    } else {
        checks.push(ping_check(
            format!("{site}{PING} through the proxy"),
            http::get(http80, domain, PING),
        ));
        checks.push(ws_check(
            "WebSocket through the proxy",
            http::websocket(http80, domain, WS, &site),
        ));
        if ctx.answers.tls != Tls::None {
            checks.push(Check::warn(
                P,
                "TLS",
                format!("not in place yet: the server answers on {site} (see the tls phase)"),
            ));
        }
    }
    Ok(checks)
}

fn site_url_check(ctx: &Ctx) -> Check {
    let site = super::tls::public_url(ctx);
    let now = ctx
        .host
        .read(&ctx.plan.config_json)
        .ok()
        .flatten()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| {
            v.get("ServiceSettings")?
                .get("SiteURL")?
                .as_str()
                .map(str::to_owned)
        });
    Check::when(
        P,
        now.as_deref() == Some(site.as_str()),
        "SiteURL equals the public URL",
        format!(
            "{} (public URL {site})",
            now.as_deref().unwrap_or("(unset)")
        ),
    )
}
