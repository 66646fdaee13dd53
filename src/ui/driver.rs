//! What a front end may ask of the program that runs it. `cli` alone makes the host
//! and runs the engine; the full-screen wizard and the plain prompts collect the
//! answers, render the events, and reach the box only through a [`Driver`]: its host
//! for read-only looks while the operator answers (DNS, free space, the plan's
//! diffs), the preflight probe, and the install itself (start, and cancel through
//! the [`Cancel`] they hand it).

use crate::answers::Answers;
use crate::events::EventSink;
use crate::host::Host;
use crate::plan::{Plan, PlanError};
use crate::ui::tui::app::{RunFailure, RunSummary};
use crate::vocab::{Cancel, Check};

pub trait Driver: Sync {
    /// The box, for read-only looks and notes in the log.
    fn host(&self) -> &Host;
    /// The plan of `a` on this box (its facts read, nothing changed): what
    /// `mattermost-setup plan` prints and the install runs.
    fn plan(&self, a: &Answers) -> Result<Plan, PlanError>;
    /// The preflight probe (read-only) for answers as complete as the operator's.
    fn preflight(&self, a: &Answers) -> Vec<Check>;
    /// Runs the install of `a`, its events going to the sink the driver was made
    /// with, until it is done, fails, or `cancel` stops it at a safe point.
    fn install(&self, a: &Answers, cancel: &Cancel) -> Result<RunSummary, RunFailure>;
}

/// How a front end gets its driver: it gives the sink its events are to reach.
pub type MakeDriver<'a> = &'a dyn Fn(EventSink) -> Box<dyn Driver>;
