//! The engine for lifecycles that are not install: a list of named steps, journaled
//! as each starts and ends (`state::steps`), stopped between steps when the caller's
//! [`Cancel`] is set, and continued by the next run after an interruption — the same guarantees as the
//! phases of an install. A step list is written so that each step, run again, finds
//! what is already done and does nothing more; what a run cut short left behind is
//! said before anything else happens. The lifecycle (`lifecycle::uninstall`, ...)
//! implements [`Steps`]; the engine knows nothing of what the steps do.

use crate::events::Event;
use crate::host::Host;
use crate::state::steps::{StepJournal, StepState};
use crate::vocab::{Cancel, PhaseError};

/// A lifecycle as the engine runs it.
pub trait Steps {
    /// The command, for the journal and the log ("uninstall", ...).
    fn command(&self) -> &'static str;
    /// The steps, in order.
    fn steps(&self) -> Vec<&'static str>;
    /// Runs one step; run again after an interruption, it does only what is left.
    fn run(&mut self, host: &Host, step: &'static str) -> Result<(), PhaseError>;
    /// After every step is done and the journal is gone (e.g. removing the state
    /// directory once it is empty).
    fn after(&mut self, _host: &Host) -> Result<(), PhaseError> {
        Ok(())
    }
}

/// Why a step list stopped.
#[derive(Debug, thiserror::Error)]
#[error("{command}: step {step} failed: {error}")]
pub struct StepFailure {
    pub command: &'static str,
    pub step: &'static str,
    pub error: PhaseError,
}

/// Runs `list`'s steps in order (see the module doc).
pub fn run_steps(host: &Host, list: &mut dyn Steps, cancel: &Cancel) -> Result<(), StepFailure> {
    let command = list.command();
    let failure = |step, error: PhaseError| {
        let error = super::redacted(host, error);
        host.note(&format!(
            "== {command}: step {step} FAILED: {}",
            error.cause
        ));
        StepFailure {
            command,
            step,
            error,
        }
    };
    let bookkeeping = |e: crate::host::HostError| {
        PhaseError::new(format!("cannot keep the journal {}: {e}", crate::state::steps::PATH))
            .fix("free space or fix permissions under /var/lib/mattermost-setup, then run the command again")
    };
    if let Some(prev) = StepJournal::load(host) {
        let message = format!(
            "the previous `{}` (started {}) did not finish: it stopped {}; {}",
            prev.command,
            prev.started,
            prev.stopped(),
            if prev.command == command {
                "this run continues it".to_owned()
            } else {
                format!("run `mattermost-setup {}` again to finish it", prev.command)
            }
        );
        host.note(&message);
        (host.events())(Event::Warning { message });
    }
    let mut journal = StepJournal::begin(command, host.log_path());
    for step in list.steps() {
        if cancel.is_cancelled() {
            return Err(failure(
                step,
                PhaseError::stopped("stopped by the operator before this step"),
            ));
        }
        host.note(&format!("== {command}: step {step}"));
        journal
            .record(host, step, StepState::Started)
            .map_err(|e| failure(step, bookkeeping(e)))?;
        match list.run(host, step) {
            Ok(()) => journal
                .record(host, step, StepState::Done)
                .map_err(|e| failure(step, bookkeeping(e)))?,
            Err(error) => {
                // Best effort: the run already fails with `error`.
                let _ = journal.record(host, step, StepState::Failed);
                return Err(failure(step, error));
            }
        }
    }
    StepJournal::finish(host).map_err(|e| failure("finish", bookkeeping(e)))?;
    list.after(host).map_err(|e| failure("finish", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake::FakeBox;
    use crate::state::steps::PATH;

    /// Three steps; `fail_at` fails once; `ran` records what ran.
    struct Three {
        fail_at: Option<&'static str>,
        ran: Vec<&'static str>,
        after: bool,
    }

    impl Steps for Three {
        fn command(&self) -> &'static str {
            "test"
        }
        fn steps(&self) -> Vec<&'static str> {
            vec!["one", "two", "three"]
        }
        fn run(&mut self, _: &Host, step: &'static str) -> Result<(), PhaseError> {
            self.ran.push(step);
            if self.fail_at == Some(step) {
                self.fail_at = None;
                return Err(PhaseError::new("it broke").fix("try again"));
            }
            Ok(())
        }
        fn after(&mut self, _: &Host) -> Result<(), PhaseError> {
            self.after = true;
            Ok(())
        }
    }

    #[test]
    fn a_failed_step_is_journaled_and_the_next_run_says_so_and_finishes() {
        let b = FakeBox::empty();
        let mut l = Three {
            fail_at: Some("two"),
            ran: Vec::new(),
            after: false,
        };
        let e = run_steps(&b.host, &mut l, &Cancel::default()).unwrap_err();
        assert_eq!((e.step, e.error.fix.as_deref()), ("two", Some("try again")));
        assert_eq!(e.error.kind, crate::vocab::ErrorKind::Failed);
        assert_eq!(l.ran, ["one", "two"]);
        assert!(!l.after);
        let j = StepJournal::load(&b.host).unwrap();
        assert!(j.stopped().starts_with("in step two (failed at "), "{j:?}");
        assert!(b.warnings().is_empty());

        run_steps(&b.host, &mut l, &Cancel::default()).unwrap();
        assert_eq!(l.ran, ["one", "two", "one", "two", "three"]);
        assert!(l.after);
        assert!(!b.exists(PATH), "a finished run leaves no journal");
        let warned = b.warnings();
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(
            warned[0].contains("the previous `test`")
                && warned[0].contains("this run continues it"),
            "{warned:?}"
        );
    }

    #[test]
    fn a_run_killed_in_a_step_is_seen_and_ctrl_c_stops_between_steps() {
        let b = FakeBox::empty();
        // What kill -9 in step "two" leaves: its start, not its end.
        let mut j = StepJournal::begin("test", b.host.log_path());
        j.record(&b.host, "one", StepState::Done).unwrap();
        j.record(&b.host, "two", StepState::Started).unwrap();
        assert!(
            StepJournal::load(&b.host)
                .unwrap()
                .stopped()
                .starts_with("in step two (started at ")
        );
        let cancel = Cancel::default();
        cancel.cancel();
        let mut l = Three {
            fail_at: None,
            ran: Vec::new(),
            after: false,
        };
        let e = run_steps(&b.host, &mut l, &cancel).unwrap_err();
        assert_eq!(e.step, "one");
        assert_eq!(e.error.kind, crate::vocab::ErrorKind::Stopped);
        assert!(l.ran.is_empty(), "nothing runs once stopped");
        assert!(b.exists(PATH), "the journal stays for the next run");
    }
}
