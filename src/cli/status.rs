//! `mattermost-setup status [--json]`
//!
//! Exit codes: 0 every check passes, 1 a check fails, 2 a usage or answers problem,
//! [`NOT_INSTALLED`] when there is no install (never installed, or uninstalled).
//! With `--json`, stdout is always one JSON document, whatever happened.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::Outcome;
use crate::answers::{self, Answers};
use crate::engine;
use crate::events;
use crate::host::{BACKUP_DIR, Host, files};
use crate::phases::{Check, Level, PhaseId};
use crate::ui::plain;

/// Exit code of `status` when Mattermost is not installed on this box.
pub const NOT_INSTALLED: u8 = 3;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Check against this answers file instead of the saved one.
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
}

/// Why `status` has nothing to check: the exit code and the message.
struct Stop {
    code: u8,
    message: String,
}

/// The saved answers of an install that is (at least partly) on this box.
fn installed(host: &Host) -> Result<Answers, Stop> {
    let path = answers::SAVED_ANSWERS;
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Stop {
                code: NOT_INSTALLED,
                message: format!(
                    "not installed: no install found ({path} is missing); `mattermost-setup install` installs, or pass --answers FILE"
                ),
            });
        }
        Err(e) => {
            return Err(Stop {
                code: 2,
                message: format!("status: cannot read {path}: {e}"),
            });
        }
    };
    let a = answers::from_saved_json(&text).map_err(|e| Stop {
        code: 2,
        message: format!("status: {path}: {e}"),
    })?;
    // Uninstall keeps the answers (they hold the database password) with the data;
    // the release, its record and the journal go.
    let anything = crate::state::installed::record(host).is_some()
        || host.path(&a.install_path("bin/mattermost")).exists()
        || host
            .path(std::path::Path::new(crate::state::journal::PATH))
            .exists()
        || host
            .path(std::path::Path::new(
                crate::lifecycle::upgrade::UPGRADE_RECORD,
            ))
            .exists();
    if !anything {
        return Err(Stop {
            code: NOT_INSTALLED,
            message: format!(
                "not installed: Mattermost is not in {} (uninstalled); the answers are kept in {path} for a later `mattermost-setup install`",
                a.install_dir.display()
            ),
        });
    }
    Ok(a)
}

fn stop(args: &Args, host: &Host, s: &Stop) -> Outcome {
    host.note_quiet(&s.message);
    if args.json {
        let doc = serde_json::json!({
            "installed": if s.code == NOT_INSTALLED { serde_json::Value::Bool(false) } else { serde_json::Value::Null },
            "ok": false,
            "failed": 0,
            "checks": [],
            "message": s.message,
            "log": host.log_path(),
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else if s.code == NOT_INSTALLED {
        println!("{}", s.message);
    } else {
        eprintln!("{}", s.message);
    }
    Outcome::with_log(ExitCode::from(s.code), host)
}

pub fn run(args: &Args) -> Outcome {
    let host = super::read_only_host("status", events::discard());
    let answers = match &args.answers {
        Some(path) => match answers::load(path, super::saved_answers().as_ref()) {
            Ok(a) => a,
            Err(invalid) => {
                let message = format!("{}: {invalid}", path.display());
                return stop(args, &host, &Stop { code: 2, message });
            }
        },
        None => match installed(&host) {
            Ok(a) => a,
            Err(s) => return stop(args, &host, &s),
        },
    };
    let plan =
        match crate::plan::Plan::on_box(&host, &crate::state::installed::pinned(&host, &answers)) {
            Ok(p) => p,
            Err(e) => {
                let message = format!("status: {e}");
                return stop(args, &host, &Stop { code: 2, message });
            }
        };
    let mut checks = engine::status(&host, &answers, &plan, crate::lifecycle::UNFINISHED);
    checks.extend(secret_backups_checks(&host.path(Path::new(BACKUP_DIR))));
    checks.extend(crate::lifecycle::restore::checks(&host));
    let failed = checks.iter().filter(|c| c.level == Level::Fail).count();
    if args.json {
        let doc = serde_json::json!({ "installed": true, "ok": failed == 0, "failed": failed, "checks": checks, "log": host.log_path() });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        print!("{}", plain::status_table(&checks));
        println!(
            "\n{}",
            if failed == 0 {
                "All checks pass.".to_owned()
            } else {
                format!("{failed} check(s) fail.")
            }
        );
    }
    let code = if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    };
    Outcome::with_log(code, &host)
}

/// The backups that hold a secret (old answers, old config.json with its database
/// password), one line each, so the operator knows where copies of secrets are. Only
/// the last few runs keep them, mode 600; a looser mode fails.
fn secret_backups_checks(base: &Path) -> Vec<Check> {
    let found = files::secret_backups(base);
    if found.is_empty() {
        return vec![Check::ok(
            PhaseId::Housekeeping,
            "backups holding secrets",
            "none",
        )];
    }
    found
        .iter()
        .map(|(p, mode)| {
            let name = format!(
                "backup holding secrets (last {} runs only)",
                files::SECRET_BACKUP_RUNS
            );
            let detail = format!("{} (mode {mode:o})", p.display());
            // No bit for group or others: the low six bits are all zero.
            if mode.trailing_zeros() >= 6 {
                Check::ok(PhaseId::Housekeeping, name, detail)
            } else {
                Check::fail(PhaseId::Housekeeping, name, detail)
                    .with_fix("chmod 600 it: it holds passwords")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn backups_with_secrets_are_listed_and_a_loose_mode_fails() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(secret_backups_checks(dir.path())[0].detail, "none");
        let f = dir
            .path()
            .join("2026-01-02T000000Z/etc/mattermost-setup/answers.json");
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(&f, "secret").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let c = &secret_backups_checks(dir.path())[0];
        assert!(
            c.passed() && c.detail == format!("{} (mode 600)", f.display()),
            "{c:?}"
        );
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(!secret_backups_checks(dir.path())[0].passed());
    }
}
