//! `mattermost-setup repair [--keep-local | --restore]`: converge only what drifted.

use std::io::IsTerminal;
use std::process::ExitCode;

use super::Outcome;
use crate::engine::{self, RunOptions};
use crate::host::Host;
use crate::phases::{Level, LocalEdits};
use crate::ui::plain;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep managed files that were edited by hand (status then warns about them).
    #[arg(long, conflicts_with = "restore")]
    pub keep_local: bool,
    /// Replace hand-edited managed files with the planned ones (backups are kept).
    #[arg(long)]
    pub restore: bool,
    /// Echo every log line.
    #[arg(long, short)]
    pub verbose: bool,
}

pub fn run(args: &Args) -> Outcome {
    let host = Host::system(plain::sink(args.verbose));
    let answers = match super::installed_answers(
        "repair",
        "; run `mattermost-setup install` first.",
        &host,
    ) {
        Ok(a) => a,
        Err(out) => return out,
    };
    let plan = match super::plan_for("repair", &answers, &host) {
        Ok(p) => p,
        Err(out) => return out,
    };
    let checks = engine::status(&host, &answers, &plan, crate::lifecycle::UNFINISHED);
    let drift: Vec<_> = checks
        .iter()
        .filter(|c| c.level == Level::Fail)
        .cloned()
        .collect();
    if drift.is_empty() {
        println!("Nothing to repair: every check passes.");
        return Outcome::with_log(ExitCode::SUCCESS, &host);
    }
    println!("Drift found:\n{}", plain::status_table(&drift));
    let hand_edited = drift
        .iter()
        .any(|c| c.diff.is_some() && c.fix.as_deref().is_some_and(|f| f.contains("--keep-local")));
    let policy = if args.keep_local {
        LocalEdits::Keep
    } else if args.restore {
        LocalEdits::Restore
    } else if !hand_edited {
        LocalEdits::Refuse
    } else if std::io::stdin().is_terminal() {
        match plain::ask(
            "Files above were edited by hand. [k]eep your versions, [r]estore the planned ones (yours are backed up), or [q]uit? ",
        )
        .as_str()
        {
            "k" | "K" => LocalEdits::Keep,
            "r" | "R" => LocalEdits::Restore,
            _ => {
                println!("Nothing was changed.");
                return Outcome::with_log(ExitCode::from(1), &host);
            }
        }
    } else {
        eprintln!(
            "repair: managed files were edited by hand; choose --keep-local or --restore (nothing was changed)."
        );
        return Outcome::with_log(ExitCode::from(2), &host);
    };
    let opts = RunOptions {
        command: "repair".into(),
        local_edits: policy,
        cancel: engine::Cancel::default(),
        unfinished: crate::lifecycle::UNFINISHED,
    };
    match engine::converge(&host, &answers, &plan, &opts) {
        Ok(_) => {
            let after = engine::status(&host, &answers, &plan, crate::lifecycle::UNFINISHED);
            let failed = after.iter().filter(|c| c.level == Level::Fail).count();
            if failed == 0 {
                println!("\nRepaired: every check passes.");
                Outcome::with_log(ExitCode::SUCCESS, &host)
            } else {
                println!(
                    "\n{failed} check(s) still fail:\n{}",
                    plain::status_table(&after)
                );
                Outcome::with_log(ExitCode::from(1), &host)
            }
        }
        Err(e) => {
            println!(
                "\nThe repair stopped in phase {}; fix the cause and run it again.",
                e.phase
            );
            Outcome::with_log(ExitCode::from(1), &host)
        }
    }
}
