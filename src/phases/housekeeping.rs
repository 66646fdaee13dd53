//! Housekeeping (optional; on when `retention_days` is set): message retention as a
//! daily systemd timer. The job is this installer's own `retention` subcommand
//! (`retention`, a layer above), copied to a fixed path so the timer does not depend
//! on where the operator ran the installer from, and run as the service user.
//!
//! The gate after a change is a dry run as that user against the real database:
//! it proves the program, the config.json it reads, the database login and the
//! tables are all there, and shows what the first run will delete.

use std::path::{Path, PathBuf};

use super::database::{ensure_unit, unit_checks};
use super::{Check, Ctx, Phase, PhaseError, PhaseId};
use crate::host::{Cmd, FileSpec, FileState, Host};
use crate::plan::SERVICE_USER;
use crate::plan::retention_timer::{PROGRAM, SERVICE_PATH, SERVICE_UNIT, TIMER_PATH, TIMER_UNIT};
use crate::state::Ownership;
use crate::state::ownership::FileOrigin;

const P: PhaseId = PhaseId::Housekeeping;

pub struct Housekeeping;

/// The running installer, to be copied to [`PROGRAM`].
fn program_spec() -> Result<FileSpec, PhaseError> {
    let exe = std::env::current_exe()
        .map_err(|e| PhaseError::new(format!("cannot find this program's own file: {e}")))?;
    let content = std::fs::read(&exe)
        .map_err(|e| PhaseError::new(format!("cannot read {}: {e}", exe.display())))?;
    Ok(FileSpec {
        path: PathBuf::from(PROGRAM),
        content,
        mode: 0o755,
        owner: None,
    })
}

fn unit_specs(ctx: &Ctx) -> Vec<FileSpec> {
    [SERVICE_PATH, TIMER_PATH]
        .iter()
        .filter_map(|p| ctx.plan.file(p))
        .map(super::planned_spec)
        .collect()
}

fn unit_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The dry run, as the service user, the way the timer runs the job.
fn dry_run(ctx: &Ctx, days: u32) -> Check {
    let a = ctx.answers;
    let config = a.config_json();
    let config = config.to_string_lossy();
    let days = days.to_string();
    let cmd = Cmd::as_user(
        SERVICE_USER,
        PROGRAM,
        &[
            "retention",
            "--dry-run",
            "--json",
            "--config",
            &config,
            "--days",
            &days,
            "--keep-pinned",
            if a.retention_keep_pinned {
                "true"
            } else {
                "false"
            },
        ],
    );
    let name = format!("retention dry run as {SERVICE_USER}");
    match ctx.host.probe(&cmd) {
        Ok(out) if out.success() => {
            let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
            let n = |k: &str| report["deleted"][k].as_u64().unwrap_or(0);
            Check::ok(
                P,
                name,
                format!(
                    "the first run deletes {} posts, {} files (posts created before {})",
                    n("posts"),
                    n("files"),
                    report["cutoff"].as_str().unwrap_or("?")
                ),
            )
        }
        Ok(out) => Check::fail(P, name, ctx.host.redact(out.stderr.trim())).with_fix(
            "the message names the problem: the database login, config.json, or a missing table",
        ),
        Err(e) => Check::fail(P, name, e.to_string()),
    }
}

/// The copy of the installer the timer runs. A copy of another build that is exactly
/// what the tool wrote (a newer installer checking an older install, or the other way
/// round) works: a warning, not a failure, so `status` from any build stays green.
/// Only a copy nobody can vouch for (changed by hand, unknown) fails.
fn program_check(ctx: &Ctx) -> Result<Check, PhaseError> {
    let spec = program_spec()?;
    let state = ctx.host.file_state(&spec)?;
    let name = format!("retention program {PROGRAM}");
    let fix = "install or repair copies this installer there";
    Ok(match state {
        FileState::Same => Check::ok(P, name, "this installer's build"),
        FileState::ContentDiffers => {
            let current = ctx.host.read(&spec.path)?.unwrap_or_default();
            match ctx.own.file_origin(&spec.path, &current) {
                FileOrigin::AsWritten => Check::warn(
                    P,
                    name,
                    "another build of mattermost-setup, as it was copied there; the timer runs that one",
                )
                .with_fix("`mattermost-setup install` from this build replaces it when it has work to do"),
                _ => Check::fail(P, name, "changed since mattermost-setup copied it there")
                    .with_fix(fix),
            }
        }
        FileState::Missing => Check::fail(P, name, "missing").with_fix(fix),
        FileState::MetadataDiffers => Check::fail(P, name, "mode or owner changed").with_fix(fix),
    })
}

/// Turns the timer off and removes the units (and the program copy) this tool
/// wrote. Also what an uninstall calls. Returns what it removed.
pub fn remove(host: &Host, own: &Ownership) -> Result<Vec<String>, PhaseError> {
    let mut removed = Vec::new();
    let installed = host.path(Path::new(TIMER_PATH)).exists();
    if installed {
        let _ = host.probe(&Cmd::new("systemctl", &["disable", "--now", TIMER_UNIT]));
        let _ = host.probe(&Cmd::new("systemctl", &["stop", SERVICE_UNIT]));
        removed.push(format!("{TIMER_UNIT} stopped and disabled"));
    }
    let mut reload = false;
    for path in [SERVICE_PATH, TIMER_PATH, PROGRAM] {
        let path = Path::new(path);
        let Some(current) = host.read(path)? else {
            continue;
        };
        match own.file_origin(path, &current) {
            FileOrigin::AsWritten | FileOrigin::KeptLocal | FileOrigin::EditedByHand => {
                if path != Path::new(PROGRAM) {
                    host.backup(path)?;
                }
                host.remove_file(path).map_err(|e| {
                    PhaseError::new(format!("cannot remove {}: {e}", path.display()))
                })?;
                host.note(&format!("[housekeeping] removed {}", path.display()));
                removed.push(path.display().to_string());
                reload |= path != Path::new(PROGRAM);
            }
            // Not written by this tool: not ours to remove.
            FileOrigin::Unknown => {}
        }
    }
    if reload {
        host.run(&Cmd::new("systemctl", &["daemon-reload"]))?;
    }
    Ok(removed)
}

impl Phase for Housekeeping {
    fn id(&self) -> PhaseId {
        P
    }

    fn applies(&self, a: &crate::answers::Answers) -> bool {
        a.runs_mattermost()
    }

    fn probe(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        let Some(days) = ctx.answers.retention_days else {
            let leftover = ctx.host.path(Path::new(TIMER_PATH)).exists();
            return Ok(vec![
                Check::when(
                    P,
                    !leftover,
                    "message retention",
                    if leftover {
                        format!("off in the answers, but {TIMER_UNIT} is still installed")
                    } else {
                        "off (retention_days is not set)".to_owned()
                    },
                )
                .with_fix(format!(
                    "install or repair disables {TIMER_UNIT} and removes its units"
                )),
            ]);
        };
        let mut checks = vec![program_check(ctx)?];
        for spec in unit_specs(ctx) {
            checks.push(ctx.managed_check(P, &spec)?);
        }
        let mut timer = unit_checks(ctx, P, TIMER_UNIT)?;
        for c in &mut timer {
            c.detail = format!("{} (daily; messages older than {days} days)", c.detail);
        }
        checks.extend(timer);
        Ok(checks)
    }

    fn apply(&self, ctx: &mut Ctx) -> Result<(), PhaseError> {
        let host = ctx.host;
        if ctx.answers.retention_days.is_none() {
            ctx.step(P, format!("retention is off: removing {TIMER_UNIT}"));
            let removed = remove(host, &ctx.own)?;
            host.note(&format!("[housekeeping] removed: {}", removed.join(", ")));
            return Ok(());
        }
        let program = program_spec()?;
        if host.file_state(&program)? != FileState::Same {
            ctx.step(
                P,
                format!("copying this installer to {PROGRAM} for the timer"),
            );
            host.write_file(&program)?;
            ctx.own.wrote(&program.path, &program.content);
        }
        let timer_was_active = host
            .probe(&Cmd::new("systemctl", &["is-active", TIMER_UNIT]))?
            .stdout
            .trim()
            == "active";
        let mut changed = false;
        let mut timer_changed = false;
        for spec in unit_specs(ctx) {
            if host.read(&spec.path)?.is_none() {
                ctx.claim("unit", &unit_name(&spec.path))?;
            }
            if ctx.write_managed(P, &spec)?.changed() {
                changed = true;
                timer_changed |= spec.path == Path::new(TIMER_PATH);
            }
        }
        if changed {
            host.run(&Cmd::new("systemctl", &["daemon-reload"]))?;
        }
        ctx.step(P, format!("enabling {TIMER_UNIT}"));
        let started = ensure_unit(ctx, P, TIMER_UNIT)?;
        if timer_changed && timer_was_active && !started {
            host.run(&Cmd::new("systemctl", &["restart", TIMER_UNIT]))?;
        }
        Ok(())
    }

    fn verify(&self, ctx: &Ctx) -> Result<Vec<Check>, PhaseError> {
        let mut checks = self.probe(ctx)?;
        if let Some(days) = ctx.answers.retention_days {
            checks.push(dry_run(ctx, days));
        }
        Ok(checks)
    }
}
