//! The database: PostgreSQL (default) or MariaDB/MySQL (Mattermost <= 10.11).
//! Verified by logging in as the application user, as Mattermost will.

pub mod credentials;
pub mod mysql;
pub mod postgres;
pub mod server;

use std::path::Path;

use super::{Check, Ctx, Phase, PhaseError, PhaseId};
use crate::answers::{Answers, DbEngine};
use crate::host::{Cmd, Host, Output};
use crate::plan;

const P: PhaseId = PhaseId::Database;

pub struct Database;

/// A SQL string literal in the standard's form: quotes doubled, every other
/// character (backslash included) as it is. Both engines read it so only in the
/// session modes [`postgres::SESSION`] and [`mysql::SESSION`] set, whatever the
/// server's configuration says: every script that carries a literal starts with
/// one of them.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The plan's superuser script after `session` (which pins how its literals are
/// read) and `before` (statements from what the phase found), the password put in
/// as a literal. For the client's stdin only.
pub fn planned_script(plan: &plan::Plan, a: &Answers, session: &str, before: &str) -> String {
    let mut sql = format!("{session}{before}");
    let pw = literal(a.db_password.expose());
    for statement in &plan.database.script {
        sql.push_str(&statement.replace(plan::database::PASSWORD, &pw));
        sql.push('\n');
    }
    sql
}

/// The unit of the cluster on port 5432: as the plan's facts found it, or asked now
/// when they did not (PostgreSQL is installed during the run).
pub fn cluster_unit(ctx: &Ctx) -> Option<String> {
    match &ctx.plan.facts.postgres_unit {
        Some(plan::facts::PostgresUnit::Found(unit)) => Some(unit.clone()),
        _ => plan::facts::cluster_unit(ctx.host),
    }
}

/// Runs `sql` as the application user, the way Mattermost logs in; the password
/// travels in a password file made for the call (see [`credentials`]).
pub fn login(host: &Host, a: &Answers, sql: &str) -> Result<Output, PhaseError> {
    match a.db_engine {
        DbEngine::Postgresql => postgres::login(host, a, sql),
        DbEngine::Mariadb | DbEngine::Mysql => mysql::login(host, a, sql),
    }
}

/// Writes a password file for one client call under `/run` (a root-only tmpfs on
/// the box: the password never reaches a disk), or the temp directory where the
/// box has no `/run` (tests with another root).
fn password_file(host: &Host, contents: &[u8]) -> Result<credentials::PasswordFile, PhaseError> {
    let run = host.path(Path::new("/run"));
    let parent = if run.is_dir() {
        run
    } else {
        std::env::temp_dir()
    };
    credentials::PasswordFile::create(&parent, contents).map_err(|e| {
        PhaseError::new(format!(
            "cannot write the database password file for the client in {}: {e}",
            parent.display()
        ))
        .fix("check that the directory exists and is writable by root")
    })
}

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

    fn applies(&self, a: &crate::answers::Answers) -> bool {
        a.role() != crate::vocab::Role::Proxy
    }

    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        if ctx.answers.remote_db().is_some() {
            return postgres::probe(ctx);
        }
        let mut checks = unit_checks(ctx, P, ctx.plan.database.unit)?;
        if !checks.iter().all(Check::passed) {
            return Ok(checks);
        }
        checks.extend(match ctx.answers.db_engine {
            DbEngine::Postgresql => postgres::probe(ctx)?,
            DbEngine::Mariadb | DbEngine::Mysql => mysql::probe(ctx)?,
        });
        // MariaDB's own unit restarts it after a crash (Restart=on-abort); Debian's
        // PostgreSQL unit does not, so the tool adds that for the cluster it uses.
        if ctx.answers.db_engine == DbEngine::Postgresql {
            checks.extend(postgres::restart_check(ctx)?);
        }
        if ctx.answers.role() == crate::vocab::Role::Database {
            checks.extend(server::probe(ctx)?);
        }
        Ok(checks)
    }

    fn apply(&self, ctx: &mut Ctx) -> Result<(), PhaseError> {
        if let Some(r) = ctx.answers.remote_db() {
            // Nothing on this box to converge: the probe's failure is the answer.
            let failed: Vec<String> = postgres::probe(ctx)?
                .into_iter()
                .filter(|c| !c.passed())
                .map(|c| format!("{}: {}", c.name, c.detail))
                .collect();
            let a = ctx.answers;
            return Err(PhaseError::new(format!(
                "the database at {}:{} is not ready for Mattermost: {}",
                r.host,
                r.port,
                failed.join("; ")
            ))
            .fix(if a.db_host.is_some() {
                format!(
                    "as the database's administrator: CREATE ROLE {u} LOGIN PASSWORD '...'; CREATE DATABASE {d} OWNER {u} ENCODING 'UTF8'; (PostgreSQL 15+: \\c {d} then ALTER SCHEMA public OWNER TO {u};), then run the installer again",
                    u = a.db_user,
                    d = a.db_name
                )
            } else {
                "run the installer on the database machine first (same answers file), copy its /etc/mattermost-setup/postgresql-ca.pem here, then run it again here".to_owned()
            }));
        }
        let started = ensure_unit(ctx, P, ctx.plan.database.unit)?;
        match ctx.answers.db_engine {
            DbEngine::Postgresql => {
                // The role and database again only when they are not as planned (a
                // run that only adds the crash-restart drop-in leaves them alone).
                let in_place = !started && postgres::probe(ctx)?.iter().all(Check::passed);
                if !in_place {
                    postgres::apply(ctx)?;
                }
                postgres::ensure_restart(ctx)?;
                if ctx.answers.role() == crate::vocab::Role::Database {
                    server::apply(ctx)?;
                }
                Ok(())
            }
            DbEngine::Mariadb | DbEngine::Mysql => mysql::apply(ctx),
        }
    }
}
