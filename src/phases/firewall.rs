//! The firewall of a database or app machine (see [`crate::plan::firewall`]): the
//! plan's rules file and unit written, the table loaded and checked live.

use super::{Check, Ctx, PhaseError, PhaseId};
use crate::host::{Cmd, FileSpec};
use crate::plan::firewall;

/// The plan's firewall files (none on a single box or the proxy).
fn firewall_files<'p>(ctx: &Ctx<'p>) -> Vec<&'p crate::plan::PlannedFile> {
    [firewall::RULES_PATH, firewall::UNIT_PATH]
        .iter()
        .filter_map(|p| ctx.plan.file(p))
        .collect()
}

/// The firewall's files, unit and live table (database and app machines).
pub fn checks(ctx: &Ctx, phase: PhaseId) -> Result<Vec<Check>, PhaseError> {
    let mut checks = Vec::new();
    for f in firewall_files(ctx) {
        checks.push(ctx.managed_check(phase, &crate::phases::planned_spec(f))?);
    }
    if checks.is_empty() {
        return Ok(checks);
    }
    let active = ctx
        .host
        .probe(&Cmd::new("systemctl", &["is-active", firewall::UNIT]))?;
    let table = ctx.host.probe(&Cmd::new(
        "nft",
        &["list", "table", "inet", firewall::TABLE],
    ))?;
    checks.push(
        Check::when(
            phase,
            active.stdout.trim() == "active" && table.success(),
            format!("firewall table inet {}", firewall::TABLE),
            if table.success() {
                active.stdout.trim().to_owned()
            } else {
                "not loaded".to_owned()
            },
        )
        .with_fix(format!("systemctl restart {}", firewall::UNIT)),
    );
    Ok(checks)
}

/// Writes the firewall's files and (re)loads the table.
pub fn ensure(ctx: &mut Ctx, phase: PhaseId) -> Result<(), PhaseError> {
    let specs: Vec<FileSpec> = firewall_files(ctx)
        .into_iter()
        .map(crate::phases::planned_spec)
        .collect();
    if specs.is_empty() {
        return Ok(());
    }
    let mut changed = false;
    for spec in &specs {
        ctx.claim("file", &spec.path.to_string_lossy())?;
        changed |= ctx.write_managed(phase, spec)?.changed();
    }
    if changed {
        ctx.host.run(&Cmd::new("systemctl", &["daemon-reload"]))?;
    }
    // Reloaded only when the rules changed or the table is not loaded (a phase's
    // apply may run for another reason, e.g. a Mattermost restart).
    if !changed && checks(ctx, phase)?.iter().all(Check::passed) {
        return Ok(());
    }
    ctx.step(
        phase,
        format!("firewall: {}", firewall::summary(ctx.answers)),
    );
    ctx.host
        .run(&Cmd::new("systemctl", &["enable", firewall::UNIT]))?;
    ctx.host
        .run(&Cmd::new("systemctl", &["restart", firewall::UNIT]))?;
    Ok(())
}
