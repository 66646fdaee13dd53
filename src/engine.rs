//! Runs the phases in order: probe, apply only what differs, verify. The tarball
//! download overlaps the apt phase. The engine reports through events and returns
//! a summary; it never prints.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::answers::{Answers, SAVED_ANSWERS};
use crate::events::Event;
use crate::host::{FileSpec, Host};
use crate::phases::{self, Check, Ctx, Level, Phase, PhaseError, PhaseId};
use crate::plan::{Plan, Source};

/// How one phase went.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseReport {
    pub phase: PhaseId,
    pub changed: bool,
    pub elapsed: Duration,
    pub checks: Vec<Check>,
}

#[derive(Debug, thiserror::Error)]
#[error("phase {phase} failed: {error}")]
pub struct InstallError {
    pub phase: PhaseId,
    pub error: PhaseError,
    pub done: Vec<PhaseReport>,
}

/// Registers every form the database password travels in, so none reaches the log.
pub fn register_secrets(host: &Host, a: &Answers) {
    host.add_secret(a.db_password.expose());
    host.add_secret(&crate::dsn::escaped_password(a));
    host.add_secret(&crate::phases::database::postgres::literal(
        a.db_password.expose(),
    ));
    host.add_secret(&crate::phases::database::mysql::literal(
        a.db_password.expose(),
    ));
}

fn run_phase(ctx: &mut Ctx, phase: &dyn Phase) -> Result<PhaseReport, PhaseError> {
    let id = phase.id();
    let start = Instant::now();
    (ctx.host.events())(Event::PhaseStarted { phase: id });
    ctx.host.note(&format!("== phase {id}: probe"));
    let found = phase.probe(ctx)?;
    log_checks(ctx.host, &found);
    let todo: Vec<&Check> = found.iter().filter(|c| c.level == Level::Fail).collect();
    let changed = if todo.is_empty() {
        ctx.host.note(&format!("== phase {id}: up to date"));
        false
    } else {
        if id == PhaseId::Preflight {
            return Err(blocking(&todo));
        }
        ctx.host.note(&format!(
            "== phase {id}: apply ({} to converge)",
            todo.len()
        ));
        phase.apply(ctx)?;
        true
    };
    let checks = if changed { phase.verify(ctx)? } else { found };
    if changed {
        ctx.host.note(&format!("== phase {id}: verify"));
        log_checks(ctx.host, &checks);
    }
    let failed: Vec<&Check> = checks.iter().filter(|c| c.level == Level::Fail).collect();
    if !failed.is_empty() {
        return Err(blocking(&failed));
    }
    for w in checks.iter().filter(|c| c.level == Level::Warn) {
        (ctx.host.events())(Event::Warning {
            message: format!("{}: {}", w.name, w.detail),
        });
    }
    let elapsed = start.elapsed();
    (ctx.host.events())(Event::PhaseVerified {
        phase: id,
        changed,
        evidence: checks.iter().map(evidence_line).collect(),
        elapsed,
    });
    Ok(PhaseReport {
        phase: id,
        changed,
        elapsed,
        checks,
    })
}

/// "✓ name: detail" / "! name: detail": the mark carries the level without colour.
pub fn evidence_line(c: &Check) -> String {
    let mark = match c.level {
        Level::Ok => '✓',
        Level::Warn => '!',
        Level::Fail => '✗',
    };
    format!("{mark} {}: {}", c.name, c.detail)
}

fn blocking(failed: &[&Check]) -> PhaseError {
    let cause = failed
        .iter()
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect::<Vec<_>>()
        .join("\n");
    let fixes: Vec<&str> = failed.iter().filter_map(|c| c.fix.as_deref()).collect();
    PhaseError {
        cause,
        fix: (!fixes.is_empty()).then(|| fixes.join("\n")),
    }
}

fn log_checks(host: &Host, checks: &[Check]) {
    for c in checks {
        let mark = match c.level {
            Level::Ok => "ok  ",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        };
        host.note_quiet(&format!("   [{mark}] {}: {}", c.name, c.detail));
    }
}

/// Saves the answers (secrets included) 0600 root, so re-runs reuse the password.
pub fn save_answers(host: &Host, a: &Answers) -> Result<(), PhaseError> {
    host.write_file(&FileSpec {
        path: Path::new(SAVED_ANSWERS).to_owned(),
        content: a.to_json_with_secrets().into_bytes(),
        mode: 0o600,
        owner: Some((0, 0)),
    })?;
    Ok(())
}

/// Does the release need fetching on this run (not already in place)?
fn needs_tarball(ctx: &Ctx) -> bool {
    phases::mattermost::binary_version(ctx) != Some(ctx.plan.release.version)
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

/// The whole install: every phase, in order, converging only what differs.
pub fn install(host: &Host, answers: &Answers, plan: &Plan) -> Result<Vec<PhaseReport>, InstallError> {
    install_with(host, answers, plan, &Cancel::default())
}

/// [`install`] that stops early when `cancel` is set.
pub fn install_with(
    host: &Host,
    answers: &Answers,
    plan: &Plan,
    cancel: &Cancel,
) -> Result<Vec<PhaseReport>, InstallError> {
    register_secrets(host, answers);
    let all = phases::all();
    let mut done: Vec<PhaseReport> = Vec::new();
    std::thread::scope(|scope| {
        let mut ctx = Ctx::new(host, answers, plan);
        ctx.cancel = cancel.clone();
        for phase in all {
            let id = phase.id();
            if cancel.is_cancelled() {
                let error = PhaseError::new("stopped by the operator before this phase")
                    .fix("run the same command again: it continues from here");
                return Err(fail(host, id, error, &done));
            }
            if id == PhaseId::Packages {
                // Preflight passed: nothing is changed before this point. Save the
                // answers first, so an interrupted run keeps its generated secret.
                if let Err(error) = save_answers(host, answers) {
                    return Err(fail(host, id, error, &done));
                }
                // The download only needs the network, not the packages: start it now.
                let https =
                    matches!(&plan.release.source, Source::Url(u) if u.starts_with("https://"));
                let ca_ready = host
                    .path(Path::new("/etc/ssl/certs/ca-certificates.crt"))
                    .exists();
                if needs_tarball(&ctx) && (!https || ca_ready) {
                    let release = &plan.release;
                    host.note("[mattermost] starting the tarball download alongside apt");
                    ctx.tarball =
                        Some(scope.spawn(move || phases::mattermost::fetch::fetch(host, release, cancel)));
                }
            }
            // A download that already failed stops the run before more changes.
            if let Err(error) = ctx.collect_fetch(false) {
                return Err(fail(host, PhaseId::Mattermost, error, &done));
            }
            match run_phase(&mut ctx, phase) {
                Ok(report) => {
                    host.note(&format!(
                        "== phase {id}: verified in {:.2}s",
                        report.elapsed.as_secs_f64()
                    ));
                    done.push(report);
                }
                Err(error) => return Err(fail(host, id, error, &done)),
            }
        }
        Ok(())
    })?;
    Ok(done)
}

fn fail(host: &Host, phase: PhaseId, error: PhaseError, done: &[PhaseReport]) -> InstallError {
    let error = PhaseError {
        cause: host.redact(&error.cause),
        fix: error.fix,
    };
    host.note(&format!("== phase {phase}: FAILED: {}", error.cause));
    if let Some(f) = &error.fix {
        host.note(&format!("   fix: {f}"));
    }
    (host.events())(Event::PhaseFailed {
        phase,
        cause: error.cause.clone(),
        fix: error.fix.clone(),
    });
    InstallError {
        phase,
        error,
        done: done.to_vec(),
    }
}

/// Read-only: every probe of every phase. Phases after a failing dependency still
/// report what they can.
pub fn status(host: &Host, answers: &Answers, plan: &Plan) -> Vec<Check> {
    register_secrets(host, answers);
    let ctx = Ctx::new(host, answers, plan);
    let mut all = Vec::new();
    for phase in phases::all() {
        match phase.probe(&ctx) {
            Ok(checks) => all.extend(checks),
            Err(e) => all.push(Check::fail(phase.id(), "probe", e.cause)),
        }
    }
    all
}
