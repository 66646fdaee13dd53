//! `mattermost-setup plan --answers FILE [--json]`

use std::path::PathBuf;
use std::process::ExitCode;

use super::Outcome;
use crate::events;
use crate::plan;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The answers file (JSON).
    #[arg(long, value_name = "FILE")]
    pub answers: PathBuf,
    /// Print the plan as JSON (secrets masked).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args) -> Outcome {
    let host = super::read_only_host("plan", events::discard());
    let (answers, p) = match super::answers_and_plan(&args.answers, &host) {
        Ok(x) => x,
        Err(out) => return out,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&p).unwrap_or_default());
        return Outcome::with_log(ExitCode::SUCCESS, &host);
    }
    crate::engine::register_secrets(&host, &answers);
    print!("{}", host.redact(&plan::render_text(&p, &host)));
    Outcome::with_log(ExitCode::SUCCESS, &host)
}
