//! The engine behind the wizard: the [`Driver`] `cli` hands the front ends. It owns
//! the host (made here, with the front end's event sink) and runs the preflight
//! probe and the install; the front ends only render what it reports.

use std::time::Instant;

use crate::answers::Answers;
use crate::engine::{self, Unfinished};
use crate::events::EventSink;
use crate::host::Host;
use crate::phases::{Check, Ctx, Phase, PhaseId};
use crate::plan::{Plan, PlanError};
use crate::probes::dns;
use crate::ui::driver::Driver;
use crate::ui::tui::app::{RunFailure, RunSummary};
use crate::vocab::Cancel;

pub struct EngineDriver {
    host: Host,
    unfinished: Unfinished,
}

impl EngineDriver {
    /// The system host, its events going to `sink`.
    pub fn boxed(sink: EventSink, unfinished: Unfinished) -> Box<dyn Driver> {
        Box::new(Self {
            host: Host::system(sink),
            unfinished,
        })
    }
}

impl Driver for EngineDriver {
    fn host(&self) -> &Host {
        &self.host
    }

    fn plan(&self, a: &Answers) -> Result<Plan, PlanError> {
        Plan::on_box(&self.host, a)
    }

    fn preflight(&self, a: &Answers) -> Vec<Check> {
        let plan = match self.plan(a) {
            Ok(p) => p,
            Err(e) => {
                return vec![
                    Check::fail(PhaseId::Preflight, "plan", e.to_string()).with_fix(e.fix()),
                ];
            }
        };
        crate::phases::preflight::Preflight
            .probe(&Ctx::new(&self.host, a, &plan))
            .unwrap_or_else(|e| vec![Check::fail(PhaseId::Preflight, "probe", e.cause)])
    }

    fn install(&self, a: &Answers, cancel: &Cancel) -> Result<RunSummary, RunFailure> {
        let started = Instant::now();
        let host = &self.host;
        let plan = self.plan(a).map_err(|e| RunFailure {
            phase: PhaseId::Preflight,
            kind: crate::vocab::ErrorKind::Failed,
            cause: format!("version: {e}"),
            fix: Some("pin a version from the bundled table, or give --sha256".into()),
        })?;
        match engine::install_with(host, a, &plan, cancel, self.unfinished) {
            Ok(reports) => Ok(RunSummary {
                url: crate::phases::tls::public_url_now(host, a, &plan),
                tls_pending: tls_pending(host, a, &plan),
                phases: reports.len(),
                changed: reports.iter().filter(|r| r.changed).count(),
                elapsed: started.elapsed(),
            }),
            Err(e) => Err(RunFailure {
                phase: e.phase,
                kind: e.error.kind,
                cause: e.error.cause,
                fix: e.error.fix,
            }),
        }
    }
}

/// After an install with Let's Encrypt that got no certificate (the domain does not
/// point here yet, or the CA refused): why, and how the certificate comes later.
fn tls_pending(host: &Host, a: &Answers, plan: &Plan) -> Option<String> {
    if a.tls != crate::answers::Tls::Letsencrypt
        || crate::phases::tls::public_url_now(host, a, plan).starts_with("https://")
    {
        return None;
    }
    let r = dns::check(host, &a.domain);
    let why = if r.resolved.is_empty() {
        format!("{} has no A/AAAA record yet.", a.domain)
    } else if r.verdict() == dns::Verdict::PointsHere {
        // The name is right: the CA refused, or was not reachable; its words.
        crate::phases::tls::load_state(&Ctx::new(host, a, plan))
            .deferred
            .unwrap_or_else(|| "the certificate was not obtained.".to_owned())
    } else {
        format!(
            "{} resolves to {}, not to this server.",
            a.domain,
            r.resolved
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Some(format!(
        "No certificate yet: {} Once {} points here, run `sudo mattermost-setup repair`: it obtains the certificate and switches the site to https.",
        why.trim_end(),
        a.domain
    ))
}
