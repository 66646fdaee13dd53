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
    let (answers, mut p) = match super::answers_and_plan(&args.answers, &host) {
        Ok(x) => x,
        Err(out) => return out,
    };
    // The crash-restart drop-in of the PostgreSQL cluster, named after the cluster on
    // the box or the one apt will create (see phases::database::postgres). Only the
    // printed plan needs it: the database phase finds the cluster itself, so install
    // and status do not pay for this probe twice.
    if answers.db_engine == crate::answers::DbEngine::Postgresql {
        use crate::phases::database::postgres;
        if let Some(unit) =
            postgres::cluster_unit(&host).or_else(|| postgres::predicted_cluster_unit(&host))
        {
            let spec = postgres::restart_dropin(&unit);
            p.files.push(crate::plan::PlannedFile {
                path: spec.path,
                mode: spec.mode,
                owner: "root",
                content: String::from_utf8_lossy(&spec.content).into_owned(),
            });
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&p).unwrap_or_default());
        return Outcome::with_log(ExitCode::SUCCESS, &host);
    }
    crate::engine::register_secrets(&host, &answers);
    print!("{}", host.redact(&plan::render_text(&p, &host)));
    Outcome::with_log(ExitCode::SUCCESS, &host)
}
