//! What the engine tells its front ends. The engine never prints; it sends these.

use std::sync::Arc;
use std::time::Duration;

use crate::vocab::PhaseId;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A phase begins its probe.
    PhaseStarted { phase: PhaseId },
    /// A phase passed its gate. `changed` is false when the probe found nothing to do.
    PhaseVerified {
        phase: PhaseId,
        changed: bool,
        evidence: Vec<String>,
        elapsed: Duration,
    },
    /// A phase failed; the run stops here.
    PhaseFailed {
        phase: PhaseId,
        cause: String,
        fix: Option<String>,
    },
    /// One action inside a phase, in words.
    Step { phase: PhaseId, message: String },
    /// Bytes or items of the current work.
    Progress {
        phase: PhaseId,
        label: String,
        done: u64,
        total: Option<u64>,
    },
    /// Network work failed and is tried again after `delay` (`attempt` of `attempts`).
    Retry {
        phase: PhaseId,
        what: String,
        cause: String,
        attempt: u32,
        attempts: u32,
        delay: Duration,
    },
    /// Something the operator should read, that does not stop the run.
    Warning { message: String },
    /// A line that went to the log file (already redacted).
    Log { line: String },
}

/// Where events go: the plain printer, the full-screen UI, or a test recorder.
pub type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

/// A sink that drops everything.
pub fn discard() -> EventSink {
    Arc::new(|_| {})
}
