//! The end-to-end gate, as a user would meet the server: through the proxy with the
//! domain as Host, ping and a WebSocket upgrade; the database login; the unit.

use std::net::SocketAddr;

use super::database::unit_checks;
use super::{Check, Ctx, Phase, PhaseError, PhaseId};
use crate::answers::DbEngine;
use crate::probes::http;

const P: PhaseId = PhaseId::Acceptance;

pub struct Acceptance;

impl Phase for Acceptance {
    fn id(&self) -> PhaseId {
        P
    }

    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        let proxy = SocketAddr::from(([127, 0, 0, 1], 80));
        let domain = &ctx.answers.domain;
        let site = ctx.answers.site_url();
        let mut checks = Vec::new();
        checks.push(match http::get(proxy, domain, "/api/v4/system/ping") {
            Ok(r) if r.status == 200 && r.body.contains("\"OK\"") => Check::ok(
                P,
                format!("{site}/api/v4/system/ping through the proxy"),
                format!("200 {}", r.body.trim()),
            ),
            Ok(r) => Check::fail(
                P,
                format!("{site}/api/v4/system/ping through the proxy"),
                format!("HTTP {}: {:.200}", r.status, r.body.trim()),
            ),
            Err(e) => Check::fail(
                P,
                format!("{site}/api/v4/system/ping through the proxy"),
                e.to_string(),
            ),
        });
        checks.push(match http::websocket(proxy, domain, "/api/v4/websocket", &site) {
            Ok(u) if u.status == 101 && u.accept_ok => Check::ok(P, "WebSocket through the proxy", "101 Switching Protocols, accept key valid"),
            Ok(u) => Check::fail(P, "WebSocket through the proxy", format!("HTTP {} (accept key valid: {})", u.status, u.accept_ok))
                .with_fix("check that proxy_wstunnel is enabled and the vhost's RewriteRule is intact (status names both)"),
            Err(e) => Check::fail(P, "WebSocket through the proxy", e.to_string()),
        });
        let login = match ctx.answers.db_engine {
            DbEngine::Postgresql => super::database::postgres::probe(ctx)?,
            DbEngine::Mariadb | DbEngine::Mysql => super::database::mysql::probe(ctx)?,
        };
        checks.extend(
            login
                .into_iter()
                .filter(|c| c.name.starts_with("login as"))
                .map(|c| Check { phase: P, ..c }),
        );
        checks.extend(unit_checks(ctx, P, "mattermost.service")?);
        Ok(checks)
    }

    fn apply(&self, _ctx: &mut Ctx) -> Result<(), PhaseError> {
        Ok(())
    }

    /// Right after a reload Apache may still be switching workers: give the whole
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
