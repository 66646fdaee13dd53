//! The systemd unit: written when it differs, daemon-reload only then, enabled,
//! started (or restarted when the release or config changed), and the gate is
//! Mattermost answering /api/v4/system/ping.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::database::{ensure_unit, unit_checks};
use super::{Check, Ctx, Phase, PhaseError, PhaseId};
use crate::host::{Cmd, FileSpec};
use crate::plan::{SERVICE, UNIT_PATH, UPSTREAM};
use crate::probes::http;

const P: PhaseId = PhaseId::Service;
const UNIT: &str = "mattermost.service";
/// How long a (re)started server may take to answer ping. Real first starts run
/// the database migrations, which take a while on small boxes.
const PING_WAIT: Duration = Duration::from_secs(300);

pub struct Service;

fn unit_spec(ctx: &Ctx) -> FileSpec {
    let f = ctx
        .plan
        .file(UNIT_PATH)
        .map(|f| f.content.clone())
        .unwrap_or_default();
    FileSpec {
        path: PathBuf::from(UNIT_PATH),
        content: f.into_bytes(),
        mode: 0o644,
        owner: None,
    }
}

/// Ping straight at Mattermost.
pub fn ping_check(ctx: &Ctx, phase: PhaseId) -> Check {
    match http::get(
        crate::plan::UPSTREAM_ADDR,
        &ctx.answers.domain,
        "/api/v4/system/ping",
    ) {
        Ok(r) if r.status == 200 && r.body.contains("\"OK\"") => Check::ok(
            phase,
            format!("Mattermost answers on {UPSTREAM}"),
            format!(
                "ping 200 {}, version {}",
                r.body.trim(),
                r.header("X-Version-ID").unwrap_or("?")
            ),
        ),
        Ok(r) => Check::fail(
            phase,
            format!("Mattermost answers on {UPSTREAM}"),
            format!("ping {}: {}", r.status, r.body.trim()),
        ),
        Err(e) => Check::fail(
            phase,
            format!("Mattermost answers on {UPSTREAM}"),
            e.to_string(),
        ),
    }
}

/// Why the service is not up, from journald and Mattermost's own log.
fn diagnose(ctx: &Ctx) -> String {
    let journal = ctx
        .host
        .probe(&Cmd::new(
            "journalctl",
            &["-u", UNIT, "-n", "15", "--no-pager", "-o", "cat"],
        ))
        .map(|o| o.stdout)
        .unwrap_or_default();
    let log = ctx
        .host
        .read(&ctx.answers.install_path("logs/mattermost.log"))
        .ok()
        .flatten()
        .map(|b| {
            let t = String::from_utf8_lossy(&b).into_owned();
            t.lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    ctx.host.redact(&format!(
        "journal:\n{}\nmattermost.log:\n{}",
        journal.trim(),
        log.trim()
    ))
}

impl Phase for Service {
    fn id(&self) -> PhaseId {
        P
    }

    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        let mut checks = vec![ctx.managed_check(P, &unit_spec(ctx))?];
        if ctx.restart_mattermost {
            checks.push(Check::fail(
                P,
                "mattermost restart",
                "pending: the release or config.json changed in this run",
            ));
        }
        checks.extend(unit_checks(ctx, P, UNIT)?);
        checks.push(ping_check(ctx, P));
        Ok(checks)
    }

    fn apply(&self, ctx: &mut Ctx) -> Result<(), PhaseError> {
        let host = ctx.host;
        let spec = unit_spec(ctx);
        if host.read(&spec.path)?.is_none() {
            ctx.claim("unit", UNIT)?;
        }
        if ctx.write_managed(P, &spec)?.changed() {
            host.run(&Cmd::new("systemctl", &["daemon-reload"]))?;
            ctx.restart_mattermost = true;
        }
        let was_active = host
            .probe(&Cmd::new("systemctl", &["is-active", UNIT]))?
            .stdout
            .trim()
            == "active";
        let started = ensure_unit(ctx, P, UNIT).map_err(|e| {
            PhaseError::new(format!("{SERVICE} did not start: {}\n{}", e.cause, diagnose(ctx)))
                .fix("read the journal lines above; a wrong database password or an unwritable data directory are the usual causes")
        })?;
        if was_active && !started && ctx.restart_mattermost {
            ctx.step(P, "restarting mattermost for the new release or settings");
            host.run(&Cmd::new("systemctl", &["restart", UNIT]))?;
        }
        ctx.restart_mattermost = false;
        ctx.step(P, "waiting for /api/v4/system/ping");
        let deadline = Instant::now() + PING_WAIT;
        loop {
            let c = ping_check(ctx, P);
            if c.passed() {
                host.note(&format!("[service] {}", c.detail));
                return Ok(());
            }
            if ctx.cancel.is_cancelled() {
                return Err(PhaseError::new(
                    "stopped by the operator while waiting for Mattermost",
                )
                .fix("run the same command again: it continues from here"));
            }
            if Instant::now() > deadline {
                return Err(PhaseError::new(format!(
                    "Mattermost did not answer ping within {}s: {}\n{}",
                    PING_WAIT.as_secs(),
                    c.detail,
                    diagnose(ctx)
                )));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}
