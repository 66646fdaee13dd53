//! The database: PostgreSQL (default) or MariaDB/MySQL (Mattermost <= 10.11).
//! Verified by logging in as the application user, as Mattermost will.

pub mod mysql;
pub mod postgres;

use super::{Check, Ctx, Phase, PhaseError, PhaseId};
use crate::answers::DbEngine;
use crate::host::Cmd;
use crate::plan;

const P: PhaseId = PhaseId::Database;

pub struct Database;

/// `systemctl is-active` / `is-enabled` of a unit, as checks.
pub fn unit_checks(ctx: &Ctx, phase: PhaseId, unit: &str) -> Result<Vec<Check>, PhaseError> {
    let active = ctx
        .host
        .probe(&Cmd::new("systemctl", &["is-active", unit]))?;
    let enabled = ctx
        .host
        .probe(&Cmd::new("systemctl", &["is-enabled", unit]))?;
    let a = active.stdout.trim();
    let e = enabled.stdout.trim();
    Ok(vec![
        Check::when(phase, a == "active", format!("{unit} running"), a).with_fix(format!(
            "systemctl start {unit}; journalctl -u {unit} says why it stopped"
        )),
        Check::when(phase, e == "enabled", format!("{unit} enabled at boot"), e)
            .with_fix(format!("systemctl enable {unit}")),
    ])
}

/// Starts and enables a unit when it is not.
pub fn ensure_unit(ctx: &Ctx, phase: PhaseId, unit: &str) -> Result<bool, PhaseError> {
    let checks = unit_checks(ctx, phase, unit)?;
    if checks.iter().all(Check::passed) {
        return Ok(false);
    }
    ctx.step(phase, format!("enabling and starting {unit}"));
    ctx.host
        .run(&Cmd::new("systemctl", &["enable", "--now", unit]))?;
    Ok(true)
}

impl Phase for Database {
    fn id(&self) -> PhaseId {
        P
    }

    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        let mut checks = unit_checks(ctx, P, plan::db_unit(ctx.answers.db_engine))?;
        if !checks.iter().all(Check::passed) {
            return Ok(checks);
        }
        checks.extend(match ctx.answers.db_engine {
            DbEngine::Postgresql => postgres::probe(ctx)?,
            DbEngine::Mariadb | DbEngine::Mysql => mysql::probe(ctx)?,
        });
        Ok(checks)
    }

    fn apply(&self, ctx: &mut Ctx) -> Result<(), PhaseError> {
        ensure_unit(ctx, P, plan::db_unit(ctx.answers.db_engine))?;
        match ctx.answers.db_engine {
            DbEngine::Postgresql => postgres::apply(ctx),
            DbEngine::Mariadb | DbEngine::Mysql => mysql::apply(ctx),
        }
    }
}
