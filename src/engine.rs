//! Runs the phases in order: probe, apply only what differs, verify. The tarball
//! download overlaps the apt phase. The engine reports through events and returns
//! a summary; it never prints.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::answers::{Answers, SAVED_ANSWERS};
use crate::events::Event;
use crate::host::{FileSpec, Host};
use crate::phases::mattermost::fetch::FetchError;
use crate::phases::{self, Check, Ctx, Level, LocalEdits, Phase, PhaseError, PhaseId};
use crate::plan::{Plan, Source};
use crate::state::Journal;
use crate::state::journal::PhaseState;
pub use crate::vocab::Cancel;

#[path = "engine_steps.rs"]
pub mod steps;
pub use steps::{StepFailure, Steps, run_steps};

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
    host.add_secret(&crate::phases::database::literal(a.db_password.expose()));
    if let Some(s3) = &a.s3 {
        host.add_secret(s3.secret_access_key.expose());
    }
    if let Some(pw) = a.admin.as_ref().and_then(|ad| ad.password.as_ref()) {
        // Raw, and as it travels in the local-mode API's JSON bodies.
        let pw = pw.expose();
        host.add_secret(pw);
        let json = serde_json::Value::String(pw.to_owned()).to_string();
        host.add_secret(json.trim_matches('"'));
    }
}

/// The journal of this run; written only once some phase has work to do, so a run
/// on a healthy box leaves the box untouched.
struct RunJournal<'j> {
    journal: &'j mut Journal,
    inputs: String,
    dirty: bool,
}

impl RunJournal<'_> {
    /// Records a phase's state; on disk once the run has changed something. A journal
    /// that cannot be written stops the run: an interrupted run must be recognisable.
    fn mark(&mut self, host: &Host, id: PhaseId, state: PhaseState) -> Result<(), PhaseError> {
        self.journal.record(id, state, &self.inputs);
        if self.dirty || state != PhaseState::Verified {
            self.dirty = true;
            self.journal.save(host).map_err(bookkeeping)?;
        }
        Ok(())
    }
}

/// A failed write of the tool's own records, as the run's error.
fn bookkeeping(e: crate::host::HostError) -> PhaseError {
    crate::state::StateError::Write(e).into()
}

fn run_phase(
    ctx: &mut Ctx,
    phase: &dyn Phase,
    journal: &mut RunJournal,
) -> Result<PhaseReport, PhaseError> {
    let id = phase.id();
    let start = Instant::now();
    (ctx.host.events())(Event::PhaseStarted { phase: id });
    ctx.host.note(&format!("== phase {id}: probe"));
    let found = phase.probe(ctx)?;
    log_checks(ctx.host, &found);
    let todo: Vec<&Check> = found.iter().filter(|c| c.level == Level::Fail).collect();
    let mut looked_again = false;
    let changed = if todo.is_empty() {
        ctx.host.note(&format!("== phase {id}: up to date"));
        false
    } else if phase.only_reads() {
        // Nothing to apply: the gate looks again (a proxy reloaded a moment ago may
        // still be switching workers), and passing then is not a change.
        ctx.host.note(&format!(
            "== phase {id}: {} check(s) failed at first; looking again",
            todo.len()
        ));
        looked_again = true;
        false
    } else {
        if id == PhaseId::Preflight {
            return Err(blocking(&todo));
        }
        journal.mark(ctx.host, id, PhaseState::Started)?;
        ctx.host.note(&format!(
            "== phase {id}: apply ({} to converge)",
            todo.len()
        ));
        phase.apply(ctx)?;
        true
    };
    let checks = if changed || looked_again {
        phase.verify(ctx)?
    } else {
        found
    };
    if changed || looked_again {
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
        kind: crate::vocab::ErrorKind::Failed,
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

/// Saves the answers (secrets included) 0600 root, so re-runs reuse the password;
/// an admin password already dropped (the account exists) stays dropped.
pub fn save_answers(host: &Host, a: &Answers) -> Result<(), PhaseError> {
    let previous = host
        .read(Path::new(SAVED_ANSWERS))?
        .and_then(|t| crate::answers::from_saved_json(&String::from_utf8_lossy(&t)).ok());
    let a = crate::answers::to_keep(a, previous.as_ref());
    host.write_file(&FileSpec {
        path: Path::new(SAVED_ANSWERS).to_owned(),
        content: a.to_json_with_secrets().into_bytes(),
        mode: 0o600,
        owner: Some((0, 0)),
    })?;
    Ok(())
}

/// Benchmark hook (benches/run.sh, box C; see benches/README.md): set to 1, the tarball
/// download starts only once apt is done, in the hand-run guide's order, instead of
/// alongside apt. Not for operators: it only makes an install slower.
pub const BENCH_SERIAL_ENV: &str = "MATTERMOST_SETUP_BENCH_SERIAL";

fn serial_download() -> bool {
    std::env::var(BENCH_SERIAL_ENV).is_ok_and(|v| v == "1")
}

/// Whether a due download may start before phase `id`: alongside apt (before the
/// packages phase, or the database phase when HTTPS had to wait for ca-certificates),
/// or, `serial`, only after apt.
fn download_may_start(id: PhaseId, serial: bool) -> bool {
    match id {
        PhaseId::Packages => !serial,
        PhaseId::Database => true,
        _ => false,
    }
}

/// Does the release need fetching on this run (not already in place)?
fn needs_tarball(ctx: &Ctx) -> bool {
    ctx.answers.runs_mattermost()
        && phases::mattermost::binary_version(ctx) != Some(ctx.plan.release.version)
}

/// What other commands leave on the box for the next run to settle first — an
/// upgrade cut short, a data directory on its way to another place — handed in by
/// the caller (`lifecycle::UNFINISHED`, wired by `cli`), so the engine imports no
/// lifecycle code.
#[derive(Debug, Clone, Copy)]
pub struct Unfinished {
    /// Finishes or rolls back an upgrade of `install_dir` cut short; what it did.
    pub recover: fn(&Host, &Path) -> Result<Option<String>, PhaseError>,
    /// Read-only, for `status`: what an upgrade or a data move cut short left behind.
    pub leftovers: fn(&Host, &Path) -> Vec<Check>,
}

/// How a run treats the box.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The command, for the journal ("install", "repair", ...).
    pub command: String,
    pub local_edits: LocalEdits,
    pub cancel: Cancel,
    pub unfinished: Unfinished,
}

/// The whole install: every phase, in order, converging only what differs.
pub fn install(
    host: &Host,
    answers: &Answers,
    plan: &Plan,
    unfinished: Unfinished,
) -> Result<Vec<PhaseReport>, InstallError> {
    install_with(host, answers, plan, &Cancel::default(), unfinished)
}

/// [`install`] that stops early when `cancel` is set.
pub fn install_with(
    host: &Host,
    answers: &Answers,
    plan: &Plan,
    cancel: &Cancel,
    unfinished: Unfinished,
) -> Result<Vec<PhaseReport>, InstallError> {
    let opts = RunOptions {
        command: "install".into(),
        local_edits: LocalEdits::Refuse,
        cancel: cancel.clone(),
        unfinished,
    };
    converge(host, answers, plan, &opts)
}

/// Hash of what the phases work from, for the journal.
fn inputs_hash(plan: &Plan) -> String {
    let json = serde_json::to_vec(plan).unwrap_or_default();
    crate::state::sha256_hex(&json)[..16].to_owned()
}

/// Runs every phase, probing first and applying only what differs; journals each
/// phase and keeps the ownership record up to date.
pub fn converge(
    host: &Host,
    answers: &Answers,
    plan: &Plan,
    opts: &RunOptions,
) -> Result<Vec<PhaseReport>, InstallError> {
    converge_with(host, answers, plan, opts, &phases::all())
}

/// [`converge`] over the phases `all` (unit tests run the journal logic over
/// stand-in phases).
pub(crate) fn converge_with(
    host: &Host,
    answers: &Answers,
    plan: &Plan,
    opts: &RunOptions,
    all: &[&dyn Phase],
) -> Result<Vec<PhaseReport>, InstallError> {
    register_secrets(host, answers);
    let cancel = &opts.cancel;
    let inputs = inputs_hash(plan);
    let mut resuming = false;
    let replanned;
    let mut plan = plan;
    match (opts.unfinished.recover)(host, &answers.install_dir) {
        Ok(Some(message)) => {
            (host.events())(Event::Warning { message });
            resuming = true;
            // A finished upgrade moved the installed release: plan against it.
            if let Ok(p) = Plan::on_box(host, &crate::state::installed::pinned(host, answers)) {
                replanned = p;
                plan = &replanned;
            }
        }
        Ok(None) => {}
        Err(error) => return Err(fail(host, PhaseId::Mattermost, error, &[])),
    }
    if let Some(prev) = Journal::load(host) {
        if let Some(where_) = prev.interrupted_in() {
            let message = format!(
                "the previous run (`{}`, started {}) did not finish: it stopped {where_}; this run continues it",
                prev.command, prev.started
            );
            host.note(&message);
            (host.events())(Event::Warning { message });
            resuming = true;
        }
    }
    let mut journal = Journal::begin(&opts.command, host.log_path().to_owned());
    // When finishing an interrupted run, this run's journal replaces it even if
    // nothing is left to do.
    let mut rj = RunJournal {
        journal: &mut journal,
        inputs,
        dirty: resuming,
    };
    let mut done: Vec<PhaseReport> = Vec::new();
    // Whether the tarball still has to be fetched, and what apt installs meanwhile.
    let mut download_due = false;
    let mut unpack_ahead = false;
    let mut apt_installs: Vec<&str> = Vec::new();
    std::thread::scope(|scope| {
        let mut ctx = Ctx::new(host, answers, plan);
        ctx.cancel = cancel.clone();
        ctx.local_edits = opts.local_edits;
        // A damaged ownership record stops the run before anything changes: saving
        // over it would erase what the tool created.
        if let Some(e) = ctx.own.damage() {
            return Err(fail(host, PhaseId::Preflight, e.into(), &done));
        }
        for &phase in all.iter().filter(|p| p.applies(answers)) {
            let id = phase.id();
            if cancel.is_cancelled() {
                let error = PhaseError::stopped("stopped by the operator before this phase");
                return Err(fail(host, id, error, &done));
            }
            if id == PhaseId::Packages {
                // Preflight passed, and the data phase moved the data if the answers
                // moved it (with the saved answers still naming the old place).
                // Save the answers first, so an interrupted run keeps its generated
                // secret.
                if let Err(error) = save_answers(host, answers) {
                    return Err(fail(host, id, error, &done));
                }
                download_due = needs_tarball(&ctx);
                // A fresh install (no Mattermost there at all) is also unpacked ahead.
                unpack_ahead = download_due && phases::mattermost::binary_version(&ctx).is_none();
                if download_due {
                    apt_installs = phases::packages::missing(&ctx).unwrap_or_default();
                }
            }
            // The download only needs the network, not the packages: it starts
            // alongside apt, or right after it when HTTPS had to wait for
            // ca-certificates.
            if download_due && download_may_start(id, serial_download()) {
                let https =
                    matches!(&plan.release.source, Source::Url(u) if u.starts_with("https://"));
                let ca_ready = host
                    .path(Path::new("/etc/ssl/certs/ca-certificates.crt"))
                    .exists();
                if !https || ca_ready {
                    download_due = false;
                    let release = &plan.release;
                    host.note("[mattermost] starting the tarball download alongside apt");
                    let ahead = unpack_ahead.then_some(answers.install_dir.as_path());
                    ctx.tarball =
                        Some(scope.spawn(move || fetch_and_tell(host, release, ahead, cancel)));
                }
            }
            // Nothing after apt starts before the download is settled: a failed
            // download stops the run with only apt's work done.
            let wait = !matches!(id, PhaseId::Preflight | PhaseId::Packages);
            if wait && ctx.tarball.as_ref().is_some_and(|h| !h.is_finished()) {
                host.note(&format!(
                    "[mattermost] waiting for the tarball download before phase {id}"
                ));
            }
            if let Err(error) = ctx.collect_fetch(wait) {
                let error = download_failed(error, &apt_installs, &done);
                return Err(fail(host, PhaseId::Mattermost, error, &done));
            }
            let mut result = run_phase(&mut ctx, phase, &mut rj);
            if id != PhaseId::Preflight {
                if let Err(e) = ctx.own.save(host) {
                    // The phase's own error first: it is what happened; the lost
                    // bookkeeping is said too.
                    let lost = PhaseError::from(e);
                    result = Err(match result {
                        Ok(_) => lost,
                        Err(first) => PhaseError {
                            kind: first.kind,
                            cause: format!("{}\nalso: {}", first.cause, lost.cause),
                            fix: first.fix.or(lost.fix),
                        },
                    });
                }
            }
            match result {
                Ok(report) => {
                    host.note(&format!(
                        "== phase {id}: verified in {:.2}s",
                        report.elapsed.as_secs_f64()
                    ));
                    if let Err(error) = rj.mark(host, id, PhaseState::Verified) {
                        return Err(fail(host, id, error, &done));
                    }
                    done.push(report);
                    if id == PhaseId::Admin {
                        if let Err(error) = phases::admin::forget_password(&ctx) {
                            return Err(fail(host, id, error, &done));
                        }
                    }
                }
                Err(error) => {
                    if id != PhaseId::Preflight {
                        // Best effort: the run already fails with `error`.
                        let _ = rj.mark(host, id, PhaseState::Failed);
                    }
                    return Err(fail(host, id, error, &done));
                }
            }
        }
        if rj.dirty {
            if let Err(e) = rj.journal.finish(host) {
                return Err(fail(host, PhaseId::Acceptance, bookkeeping(e), &done));
            }
        }
        Ok(())
    })?;
    Ok(done)
}

/// The background download: a failure is told at once (as a warning), while the
/// work already running (apt) finishes; the engine stops before the next phase.
/// With `unpack_into` (the install directory of a fresh install), the verified
/// tarball is also unpacked into its staging directory while apt still works; the
/// Mattermost phase then only moves it into place (or unpacks again, should this
/// have failed).
fn fetch_and_tell(
    host: &Host,
    release: &crate::plan::ReleasePlan,
    unpack_into: Option<&Path>,
    cancel: &Cancel,
) -> Result<std::path::PathBuf, FetchError> {
    let result = phases::mattermost::fetch::fetch(host, release, cancel);
    if let (Ok(tarball), Some(install_dir)) = (&result, unpack_into) {
        if !cancel.is_cancelled() {
            let box_staging = phases::mattermost::unpack::staging_dir(install_dir);
            let staging = host.path(&box_staging);
            let started = Instant::now();
            host.note(&format!(
                "[mattermost] unpacking {} into {} alongside apt",
                tarball.display(),
                staging.display()
            ));
            let sha = phases::mattermost::signature::recorded_sha256(release, tarball)
                .unwrap_or_default();
            match phases::mattermost::unpack::unpack_ahead(host, tarball, &box_staging, &sha) {
                Ok(_) => host.note(&format!(
                    "[mattermost] unpacked into {} alongside apt in {:.1}s",
                    staging.display(),
                    started.elapsed().as_secs_f64()
                )),
                Err(e) => host.note(&format!(
                    "[mattermost] unpacking ahead failed ({}); the mattermost phase unpacks again",
                    e.cause
                )),
            }
        }
    }
    if let Err(e) = &result {
        if !matches!(e, FetchError::Cancelled { .. }) {
            let message = format!(
                "the Mattermost download failed: {e}. What is running now finishes; nothing else starts"
            );
            host.note(&format!("[mattermost] {message}"));
            (host.events())(Event::Warning { message });
        }
    }
    result
}

/// A failed download, with what this run changed before it: only apt's packages
/// can have been installed, as no later phase starts before the download settles.
fn download_failed(error: PhaseError, apt_installed: &[&str], done: &[PhaseReport]) -> PhaseError {
    let apt_ran = done
        .iter()
        .any(|r| r.phase == PhaseId::Packages && r.changed);
    let account = if apt_ran && !apt_installed.is_empty() {
        format!(
            "Before it failed, this run installed these packages with apt (they stay, and the next run uses them): {}. Nothing else was started: no database, no Mattermost files, no service.",
            apt_installed.join(" ")
        )
    } else {
        "This run installed nothing: no packages, no database, no Mattermost files, no service."
            .to_owned()
    };
    PhaseError {
        cause: format!("{}\n{account}", error.cause),
        ..error
    }
}

/// `error` with every secret the host knows redacted from its words, for the log
/// and the operator.
fn redacted(host: &Host, error: PhaseError) -> PhaseError {
    PhaseError {
        cause: host.redact(&error.cause),
        ..error
    }
}

fn fail(host: &Host, phase: PhaseId, error: PhaseError, done: &[PhaseReport]) -> InstallError {
    let error = redacted(host, error);
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
pub fn status(host: &Host, answers: &Answers, plan: &Plan, unfinished: Unfinished) -> Vec<Check> {
    register_secrets(host, answers);
    let ctx = Ctx::new(host, answers, plan);
    let mut all = Vec::new();
    if let Some(e) = ctx.own.damage() {
        all.push(
            Check::fail(PhaseId::Preflight, "ownership record", e.to_string())
                .with_fix(e.way_out()),
        );
    }
    for phase in phases::all().into_iter().filter(|p| p.applies(answers)) {
        match phase.probe(&ctx) {
            Ok(checks) => all.extend(checks),
            Err(e) => all.push(Check::fail(phase.id(), "probe", e.cause)),
        }
    }
    all.extend((unfinished.leftovers)(host, &answers.install_dir));
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A gate whose first look fails (a proxy still switching workers) and whose
    /// second passes; applying it would be a bug.
    struct FlakyGate {
        looks: AtomicUsize,
        reads_only: bool,
    }

    impl Phase for FlakyGate {
        fn id(&self) -> PhaseId {
            PhaseId::Acceptance
        }
        fn probe(&self, _: &Ctx) -> Result<Vec<Check>, PhaseError> {
            let n = self.looks.fetch_add(1, Ordering::SeqCst);
            Ok(vec![Check::when(
                PhaseId::Acceptance,
                n > 0,
                "ping through the proxy",
                if n > 0 { "200" } else { "502" },
            )])
        }
        fn apply(&self, _: &mut Ctx) -> Result<(), PhaseError> {
            assert!(!self.reads_only, "a gate that only reads was applied");
            Ok(())
        }
        fn only_reads(&self) -> bool {
            self.reads_only
        }
    }

    fn run_gate(reads_only: bool) -> (PhaseReport, bool, String) {
        let dir = tempfile::tempdir().unwrap();
        let host = crate::state::test_host::host(dir.path());
        let a = crate::answers::from_json(r#"{"domain": "chat.example.com"}"#, None).unwrap();
        let plan = Plan::new(&a).unwrap();
        let mut ctx = Ctx::new(&host, &a, &plan);
        let mut journal = Journal::begin("install", dir.path().join("log"));
        let mut rj = RunJournal {
            journal: &mut journal,
            inputs: String::new(),
            dirty: false,
        };
        let gate = FlakyGate {
            looks: AtomicUsize::new(0),
            reads_only,
        };
        let report = run_phase(&mut ctx, &gate, &mut rj).unwrap();
        let dirty = rj.dirty;
        let log = std::fs::read_to_string(host.log_path()).unwrap();
        (report, dirty, log)
    }

    #[test]
    fn a_gate_that_passes_on_a_second_look_is_no_change() {
        let (report, dirty, log) = run_gate(true);
        assert!(!report.changed, "{report:?}");
        assert!(report.checks.iter().all(Check::passed), "{report:?}");
        assert!(!dirty, "a second look must not start the run journal");
        assert!(log.contains("failed at first; looking again"), "{log}");
    }

    #[test]
    fn a_phase_that_applies_is_a_change() {
        let (report, dirty, _) = run_gate(false);
        assert!(report.changed);
        assert!(dirty);
    }

    fn packages_report(changed: bool) -> PhaseReport {
        PhaseReport {
            phase: PhaseId::Packages,
            changed,
            elapsed: Duration::ZERO,
            checks: vec![],
        }
    }

    #[test]
    fn the_download_starts_alongside_apt_unless_the_benchmark_asks_for_the_guides_order() {
        let starts = |serial| {
            PhaseId::ALL
                .into_iter()
                .filter(|id| download_may_start(*id, serial))
                .collect::<Vec<_>>()
        };
        assert_eq!(starts(false), [PhaseId::Packages, PhaseId::Database]);
        assert_eq!(starts(true), [PhaseId::Database]);
    }

    #[test]
    fn a_failed_download_says_what_apt_installed_and_that_nothing_else_started() {
        let e = PhaseError::new(
            "download of http://m/x.tar.gz failed: the connection closed after 5 of 10 bytes",
        )
        .fix("set download_base_url or tarball");
        let e = download_failed(e, &["postgresql", "apache2"], &[packages_report(true)]);
        assert!(
            e.cause.starts_with(
                "download of http://m/x.tar.gz failed: the connection closed after 5 of 10 bytes\n"
            ),
            "{}",
            e.cause
        );
        assert!(e.cause.contains("installed these packages with apt (they stay, and the next run uses them): postgresql apache2."), "{}", e.cause);
        assert!(
            e.cause.contains("Nothing else was started: no database"),
            "{}",
            e.cause
        );
        assert!(
            !e.fix
                .as_deref()
                .unwrap_or("")
                .contains("nothing was installed")
        );

        let e = download_failed(
            PhaseError::new("x"),
            &["postgresql"],
            &[packages_report(false)],
        );
        assert!(e.cause.ends_with("This run installed nothing: no packages, no database, no Mattermost files, no service."), "{}", e.cause);
    }

    #[test]
    fn a_journal_that_cannot_be_written_stops_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let host = crate::state::test_host::host(dir.path());
        // Something in the way of the journal: even root cannot write it.
        std::fs::create_dir_all(host.path(Path::new(crate::state::journal::PATH))).unwrap();
        let mut journal = Journal::begin("repair", host.log_path().to_owned());
        let mut rj = RunJournal {
            journal: &mut journal,
            inputs: "x".into(),
            dirty: false,
        };
        // Nothing changed yet: nothing to write.
        rj.mark(&host, PhaseId::Preflight, PhaseState::Verified)
            .unwrap();
        let e = rj
            .mark(&host, PhaseId::Service, PhaseState::Started)
            .unwrap_err();
        assert!(e.cause.contains(crate::state::journal::PATH), "{}", e.cause);
        assert!(e.fix.unwrap().contains("must be writable"));
    }

    /// The engine settles what an upgrade cut short through the caller's hook, first
    /// of all: before the data move, before any phase.
    #[test]
    fn an_unfinished_upgrade_is_settled_through_the_callers_hook_before_anything() {
        fn recover(_: &Host, install: &Path) -> Result<Option<String>, PhaseError> {
            Err(PhaseError::new(format!("recover of {}", install.display())))
        }
        fn leftovers(_: &Host, _: &Path) -> Vec<Check> {
            Vec::new()
        }
        let dir = tempfile::tempdir().unwrap();
        let host = crate::state::test_host::host(dir.path());
        let a = crate::answers::from_json(r#"{"domain": "chat.example.com"}"#, None).unwrap();
        let opts = RunOptions {
            command: "install".into(),
            local_edits: LocalEdits::Refuse,
            cancel: Cancel::default(),
            unfinished: Unfinished { recover, leftovers },
        };
        let e = converge(&host, &a, &Plan::new(&a).unwrap(), &opts).unwrap_err();
        assert_eq!(e.phase, PhaseId::Mattermost);
        assert_eq!(e.error.cause, "recover of /opt/mattermost");
        assert!(e.done.is_empty());
        assert!(Journal::load(&host).is_none(), "a journal was written");
    }
}
