//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
//! The engine's journal and resume logic through the fake host, over stand-in
//! phases (`engine::converge_with`): each stand-in owns one file on the box whose
//! content must be the planned domain, so a probe finds work exactly when the box
//! (or the plan) says so. The real phases are tested in `phases::tests`.

// b(ox), a(nswers), p(lan), r(esult), t(race): the tests' vocabulary.
#![allow(clippy::many_single_char_names)]

use std::path::Path;
use std::sync::Mutex;

use crate::answers::Answers;
use crate::engine::{RunOptions, Unfinished, converge_with};
use crate::events::Event;
use crate::host::fake::FakeBox;
use crate::host::{FileSpec, Host};
use crate::phases::{Check, Ctx, LocalEdits, Phase, PhaseError, PhaseId};
use crate::plan::Plan;
use crate::state::Journal;
use crate::state::journal::{PATH as JOURNAL, PhaseState};
use crate::vocab::Cancel;

/// What the stand-ins did, in order: "database probe", "proxy apply", ...
type Trace = Mutex<Vec<String>>;

struct Stub<'t> {
    id: PhaseId,
    trace: &'t Trace,
    /// apply fails (once the file is written: a phase that stopped halfway).
    broken: bool,
}

impl Stub<'_> {
    fn file(&self) -> String {
        format!("/srv/stub/{}", self.id.name())
    }
    fn log(&self, what: &str) {
        self.trace
            .lock()
            .unwrap()
            .push(format!("{} {what}", self.id.name()));
    }
    fn look(&self, ctx: &Ctx) -> Vec<Check> {
        let now = ctx.host.read(Path::new(&self.file())).unwrap();
        let ok = now.as_deref() == Some(ctx.plan.domain.as_bytes());
        vec![Check::when(
            self.id,
            ok,
            self.file(),
            if ok { "as planned" } else { "differs" },
        )]
    }
}

impl Phase for Stub<'_> {
    fn id(&self) -> PhaseId {
        self.id
    }
    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        self.log("probe");
        Ok(self.look(ctx))
    }
    fn apply(&self, ctx: &mut Ctx) -> Result<(), PhaseError> {
        self.log("apply");
        if self.broken {
            return Err(PhaseError::new("the stand-in broke").fix("fix the stand-in"));
        }
        ctx.host.write_file(&FileSpec {
            path: self.file().into(),
            content: ctx.plan.domain.clone().into_bytes(),
            mode: 0o644,
            owner: None,
        })?;
        Ok(())
    }
    fn verify(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        self.log("verify");
        Ok(self.look(ctx))
    }
}

/// The stand-ins' ids: no Packages (the engine starts the download there) and no
/// Admin (it forgets the admin password after it).
const IDS: [PhaseId; 5] = [
    PhaseId::Preflight,
    PhaseId::Database,
    PhaseId::Mattermost,
    PhaseId::Proxy,
    PhaseId::Housekeeping,
];

// The `Unfinished` hooks' signatures, whatever these stand-ins return.
#[allow(clippy::unnecessary_wraps)]
fn no_recover(_: &Host, _: &Path) -> Result<Option<String>, PhaseError> {
    Ok(None)
}
#[allow(clippy::unnecessary_wraps)]
fn rolled_back(_: &Host, _: &Path) -> Result<Option<String>, PhaseError> {
    Ok(Some("an interrupted upgrade was rolled back".into()))
}
fn no_leftovers(_: &Host, _: &Path) -> Vec<Check> {
    vec![]
}

fn opts(recover: fn(&Host, &Path) -> Result<Option<String>, PhaseError>) -> RunOptions {
    RunOptions {
        command: "install".into(),
        local_edits: LocalEdits::Refuse,
        cancel: Cancel::default(),
        unfinished: Unfinished {
            recover,
            leftovers: no_leftovers,
        },
    }
}

fn answers(domain: &str) -> Answers {
    crate::answers::from_json(&format!(r#"{{"domain": "{domain}"}}"#), None).unwrap()
}

/// One run over the stand-ins (`broken` names a phase whose apply fails); the trace.
fn run(
    b: &FakeBox,
    domain: &str,
    broken: Option<PhaseId>,
    o: &RunOptions,
) -> (
    Result<Vec<crate::engine::PhaseReport>, crate::engine::InstallError>,
    Vec<String>,
) {
    let trace = Trace::default();
    let stubs: Vec<Stub> = IDS
        .iter()
        .map(|&id| Stub {
            id,
            trace: &trace,
            broken: broken == Some(id),
        })
        .collect();
    let all: Vec<&dyn Phase> = stubs.iter().map(|s| s as &dyn Phase).collect();
    let a = answers(domain);
    let p = Plan::new(&a).unwrap();
    // Preflight's stand-in is always satisfied (a failing preflight stops the run).
    b.write("/srv/stub/preflight", &p.domain);
    let r = converge_with(&b.host, &a, &p, o, &all);
    let t = trace.into_inner().unwrap();
    (r, t)
}

fn journal(b: &FakeBox) -> Journal {
    Journal::load(&b.host).expect("a journal on the box")
}

fn state(j: &Journal, id: PhaseId) -> Option<PhaseState> {
    j.phases.get(id.name()).map(|e| e.state)
}

#[test]
fn a_fresh_box_applies_every_phase_and_journals_it_finished() {
    let b = FakeBox::empty();
    let (r, t) = run(&b, "chat.example.com", None, &opts(no_recover));
    let reports = r.unwrap();
    assert_eq!(reports.len(), IDS.len());
    assert!(!reports[0].changed);
    assert!(reports[1..].iter().all(|r| r.changed), "{reports:#?}");
    assert_eq!(
        &t[..4],
        [
            "preflight probe",
            "database probe",
            "database apply",
            "database verify"
        ]
    );
    let j = journal(&b);
    assert!(j.finished.is_some());
    assert_eq!(j.command, "install");
    for id in &IDS[1..] {
        assert_eq!(state(&j, *id), Some(PhaseState::Verified), "{id}");
    }
}

#[test]
fn a_healthy_box_is_only_probed_and_the_journal_is_not_rewritten() {
    let b = FakeBox::empty();
    run(&b, "chat.example.com", None, &opts(no_recover))
        .0
        .unwrap();
    // Marked, so that a rewrite within the same second shows.
    let mut j = journal(&b);
    j.command = "earlier".into();
    j.save(&b.host).unwrap();
    let before = b.read(JOURNAL).unwrap();
    let (r, t) = run(&b, "chat.example.com", None, &opts(no_recover));
    assert!(r.unwrap().iter().all(|r| !r.changed));
    assert!(t.iter().all(|l| l.ends_with(" probe")), "{t:#?}");
    assert_eq!(b.read(JOURNAL).unwrap(), before);
}

#[test]
fn a_phase_applied_but_not_verified_is_looked_at_again_and_the_run_finished() {
    let b = FakeBox::empty();
    run(&b, "chat.example.com", None, &opts(no_recover))
        .0
        .unwrap();
    // A run killed in the mattermost phase after its apply: the journal says
    // started, its work is there; the proxy's work was never done.
    let mut j = journal(&b);
    j.finished = None;
    j.record(PhaseId::Mattermost, PhaseState::Started, "x");
    j.phases.remove(PhaseId::Proxy.name());
    j.phases.remove(PhaseId::Housekeeping.name());
    j.save(&b.host).unwrap();
    std::fs::remove_file(b.path("/srv/stub/proxy")).unwrap();
    let (r, t) = run(&b, "chat.example.com", None, &opts(no_recover));
    let reports = r.unwrap();
    let w = b.warnings();
    assert!(
        w.iter()
            .any(|m| m.contains("did not finish: it stopped in phase mattermost (started at")),
        "{w:#?}"
    );
    // The interrupted phase is probed, found done, and not applied again.
    assert!(t.contains(&"mattermost probe".to_owned()));
    assert!(!t.contains(&"mattermost apply".to_owned()), "{t:#?}");
    // The work left is done.
    assert!(t.contains(&"proxy apply".to_owned()), "{t:#?}");
    assert!(
        reports
            .iter()
            .any(|r| r.phase == PhaseId::Proxy && r.changed)
    );
    let j = journal(&b);
    assert!(j.finished.is_some());
    assert_eq!(state(&j, PhaseId::Mattermost), Some(PhaseState::Verified));
    assert_eq!(j.interrupted_in(), None);
}

#[test]
fn a_phase_cut_short_before_its_work_is_applied_again() {
    let b = FakeBox::empty();
    run(&b, "chat.example.com", None, &opts(no_recover))
        .0
        .unwrap();
    let mut j = journal(&b);
    j.finished = None;
    j.record(PhaseId::Mattermost, PhaseState::Started, "x");
    j.save(&b.host).unwrap();
    std::fs::remove_file(b.path("/srv/stub/mattermost")).unwrap();
    let (r, t) = run(&b, "chat.example.com", None, &opts(no_recover));
    r.unwrap();
    assert!(t.contains(&"mattermost apply".to_owned()), "{t:#?}");
    assert!(t.contains(&"mattermost verify".to_owned()), "{t:#?}");
    assert!(journal(&b).finished.is_some());
}

#[test]
fn a_failed_phase_is_journaled_and_the_next_run_continues_it() {
    let b = FakeBox::empty();
    let (r, t) = run(
        &b,
        "chat.example.com",
        Some(PhaseId::Proxy),
        &opts(no_recover),
    );
    let e = r.unwrap_err();
    assert_eq!(e.phase, PhaseId::Proxy);
    assert_eq!(e.error.fix.as_deref(), Some("fix the stand-in"));
    assert_eq!(e.done.len(), 3);
    // Nothing after the failed phase ran.
    assert!(!t.iter().any(|l| l.starts_with("housekeeping")), "{t:#?}");
    let j = journal(&b);
    assert_eq!(j.finished, None);
    assert_eq!(state(&j, PhaseId::Proxy), Some(PhaseState::Failed));
    assert_eq!(state(&j, PhaseId::Mattermost), Some(PhaseState::Verified));
    assert!(
        j.interrupted_in()
            .unwrap()
            .starts_with("in phase proxy (failed")
    );
    assert!(b.events().iter().any(|e| matches!(
        e,
        Event::PhaseFailed {
            phase: PhaseId::Proxy,
            ..
        }
    )));
    // Fixed, the next run says what it continues and finishes.
    let (r, t) = run(&b, "chat.example.com", None, &opts(no_recover));
    r.unwrap();
    assert!(
        b.warnings()
            .iter()
            .any(|m| m.contains("it stopped in phase proxy (failed"))
    );
    assert!(!t.contains(&"database apply".to_owned()), "{t:#?}");
    assert!(t.contains(&"proxy apply".to_owned()));
    assert!(journal(&b).finished.is_some());
}

#[test]
fn an_interrupted_run_with_nothing_left_to_do_still_finishes_its_journal() {
    let b = FakeBox::empty();
    run(&b, "chat.example.com", None, &opts(no_recover))
        .0
        .unwrap();
    let mut j = journal(&b);
    j.finished = None;
    j.record(PhaseId::Housekeeping, PhaseState::Started, "x");
    j.save(&b.host).unwrap();
    let (r, t) = run(&b, "chat.example.com", None, &opts(no_recover));
    assert!(r.unwrap().iter().all(|r| !r.changed));
    assert!(t.iter().all(|l| l.ends_with(" probe")), "{t:#?}");
    let j = journal(&b);
    assert!(j.finished.is_some(), "the interrupted journal was replaced");
    assert_eq!(state(&j, PhaseId::Housekeeping), Some(PhaseState::Verified));
}

#[test]
fn changed_inputs_are_applied_again_and_journaled_with_their_new_hash() {
    let b = FakeBox::empty();
    run(&b, "chat.example.com", None, &opts(no_recover))
        .0
        .unwrap();
    let old = journal(&b).phases[PhaseId::Database.name()].inputs.clone();
    let (r, t) = run(&b, "talk.example.org", None, &opts(no_recover));
    assert!(r.unwrap()[1..].iter().all(|r| r.changed));
    assert!(t.contains(&"database apply".to_owned()));
    let new = journal(&b).phases[PhaseId::Database.name()].inputs.clone();
    assert_ne!(old, new);
    assert_eq!(b.read("/srv/stub/database").unwrap(), "talk.example.org");
}

#[test]
fn a_finished_or_rolled_back_upgrade_is_said_and_the_run_journaled() {
    let b = FakeBox::empty();
    run(&b, "chat.example.com", None, &opts(no_recover))
        .0
        .unwrap();
    let mut j = journal(&b);
    j.command = "earlier".into();
    j.save(&b.host).unwrap();
    let (r, t) = run(&b, "chat.example.com", None, &opts(rolled_back));
    r.unwrap();
    assert!(
        b.warnings()
            .contains(&"an interrupted upgrade was rolled back".to_owned())
    );
    // Nothing to apply, yet this run's journal replaces the old one.
    assert!(t.iter().all(|l| l.ends_with(" probe")), "{t:#?}");
    let j = journal(&b);
    assert_eq!(j.command, "install");
    assert!(j.finished.is_some());
}

#[test]
fn a_cancelled_run_stops_before_the_next_phase() {
    let b = FakeBox::empty();
    let o = opts(no_recover);
    o.cancel.cancel();
    let (r, t) = run(&b, "chat.example.com", None, &o);
    let e = r.unwrap_err();
    assert_eq!(e.phase, PhaseId::Preflight);
    assert_eq!(e.error.kind, crate::vocab::ErrorKind::Stopped);
    assert!(
        e.error.cause.contains("stopped by the operator"),
        "{}",
        e.error.cause
    );
    assert!(t.is_empty(), "{t:#?}");
    assert!(!b.exists(JOURNAL));
}

#[test]
fn a_damaged_ownership_record_stops_the_run_before_any_phase() {
    let b = FakeBox::empty();
    b.write("/var/lib/mattermost-setup/ownership.json", "{oops");
    let (r, t) = run(&b, "chat.example.com", None, &opts(no_recover));
    let e = r.unwrap_err();
    assert!(e.error.cause.contains("damaged"), "{}", e.error.cause);
    assert!(t.is_empty(), "{t:#?}");
    assert_eq!(
        b.read("/var/lib/mattermost-setup/ownership.json").unwrap(),
        "{oops"
    );
}
