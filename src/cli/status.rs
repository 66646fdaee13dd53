//! `mattermost-setup status [--json]`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::Outcome;
use crate::engine;
use crate::events;
use crate::host::{BACKUP_DIR, Host, files};
use crate::phases::{Check, Level, PhaseId};
use crate::ui::plain;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
    /// Check against this answers file instead of the saved one.
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
}

pub fn run(args: &Args) -> Outcome {
    let host = Host::system(events::discard());
    let answers = match &args.answers {
        Some(path) => match super::load_answers(path, &host) {
            Ok(a) => a,
            Err(code) => return Outcome::with_log(code, &host),
        },
        None => match super::installed_answers(
            "status",
            " or unreadable; run `mattermost-setup install` first, or pass --answers FILE.",
            &host,
        ) {
            Ok(a) => a,
            Err(out) => return out,
        },
    };
    let plan = match super::plan_for("status", &answers, &host) {
        Ok(p) => p,
        Err(out) => return out,
    };
    let mut checks = engine::status(&host, &answers, &plan);
    checks.extend(secret_backups_checks(&host.path(Path::new(BACKUP_DIR))));
    let failed = checks.iter().filter(|c| c.level == Level::Fail).count();
    if args.json {
        let doc = serde_json::json!({ "ok": failed == 0, "failed": failed, "checks": checks, "log": host.log_path() });
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
