//! `mattermost-setup reconfigure --answers CHANGES`: change answers on an installed
//! box (domain, data directory, database password, ...) and converge.

use std::path::PathBuf;
use std::process::ExitCode;

use super::Outcome;
use crate::engine::{self, RunOptions};
use crate::host::Host;
use crate::lifecycle::reconfigure;
use crate::phases::LocalEdits;
use crate::ui::plain;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A JSON file with only the keys to change; the saved answers supply the rest.
    #[arg(long, value_name = "FILE")]
    pub answers: PathBuf,
    /// Echo every log line.
    #[arg(long, short)]
    pub verbose: bool,
}

pub fn run(args: &Args) -> Outcome {
    let host = Host::system(plain::sink(args.verbose));
    let saved = match super::installed_answers(
        "reconfigure",
        "; run `mattermost-setup install` first.",
        &host,
    ) {
        Ok(a) => a,
        Err(out) => return out,
    };
    let changes = match std::fs::read_to_string(&args.answers) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("reconfigure: cannot read {}: {e}", args.answers.display());
            return Outcome::with_log(ExitCode::from(2), &host);
        }
    };
    let answers = match reconfigure::merge(&saved, &changes) {
        Ok(a) => a,
        Err(invalid) => {
            eprintln!("{}: {invalid}", args.answers.display());
            return Outcome::with_log(ExitCode::from(2), &host);
        }
    };
    if answers == saved {
        println!("Nothing changes: these answers are the ones installed.");
        return Outcome::with_log(ExitCode::SUCCESS, &host);
    }
    let plan = match super::plan_for("reconfigure", &answers, &host) {
        Ok(p) => p,
        Err(out) => return out,
    };
    engine::register_secrets(&host, &saved);
    let opts = RunOptions {
        command: "reconfigure".into(),
        local_edits: LocalEdits::Refuse,
        cancel: engine::Cancel::default(),
        unfinished: crate::lifecycle::UNFINISHED,
    };
    match engine::converge(&host, &answers, &plan, &opts) {
        Ok(_) => {
            println!(
                "\nReconfigured: Mattermost is up at {} and every phase is verified.",
                plan.site_url
            );
            Outcome::with_log(ExitCode::SUCCESS, &host)
        }
        Err(e) => {
            println!(
                "\nThe reconfigure stopped in phase {}; fix the cause and run it again.",
                e.phase
            );
            Outcome::with_log(ExitCode::from(1), &host)
        }
    }
}
