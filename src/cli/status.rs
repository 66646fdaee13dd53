//! `mattermost-setup status [--json]`

use std::path::PathBuf;
use std::process::ExitCode;

use super::Outcome;
use crate::engine;
use crate::events;
use crate::host::Host;
use crate::phases::Level;
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
    let checks = engine::status(&host, &answers, &plan);
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
