//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
//! Every phase through the fake host (`host::fake`): probe on an empty box reports
//! what is missing, apply issues the expected commands and writes, verify passes
//! after, and a converged box has nothing to do.

// b(ox), a(nswers), p(lan), r(esult), t(race): the tests' vocabulary.
#![allow(clippy::many_single_char_names)]

mod admin;
mod converged;
mod database;
mod datamove;
mod housekeeping;
mod mariadb;
mod mattermost;
mod packages;
mod preflight;
mod proxy;
mod service;
mod tls;
mod topology;

use crate::answers::Answers;
use crate::host::fake::FakeBox;
use crate::phases::{Check, Ctx, Level, Phase};
use crate::plan::Plan;

/// Answers from JSON (the domain is always set).
pub fn answers(extra: &str) -> Answers {
    let sep = if extra.trim().is_empty() { "" } else { ", " };
    let text = format!(r#"{{"domain": "chat.example.com"{sep}{extra}}}"#);
    crate::answers::from_json(&text, None).expect("valid answers")
}

pub fn plan(a: &Answers) -> Plan {
    Plan::new(a).expect("a plan")
}

/// The names of the failing checks.
pub fn failing(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c.level == Level::Fail)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect()
}

/// Probe, and when something fails, apply then verify: the engine's order.
/// Returns (probe, verify) checks; verify is `None` when nothing was to do.
pub fn converge_phase(
    b: &FakeBox,
    a: &Answers,
    p: &Plan,
    phase: &dyn Phase,
) -> (Vec<Check>, Option<Vec<Check>>) {
    let mut ctx = Ctx::new(&b.host, a, p);
    let found = phase.probe(&ctx).expect("probe");
    if failing(&found).is_empty() {
        return (found, None);
    }
    phase.apply(&mut ctx).expect("apply");
    ctx.own.save(&b.host).expect("save ownership");
    let after = phase.verify(&ctx).expect("verify");
    (found, Some(after))
}
