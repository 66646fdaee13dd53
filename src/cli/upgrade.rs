//! `mattermost-setup upgrade [--version X]`

use std::process::ExitCode;

use super::Outcome;
use crate::engine::Cancel;
use crate::host::Host;
use crate::lifecycle::{reconfigure, upgrade};
use crate::ui::plain;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Target: "esr" (default), "latest" or an exact version X.Y.Z.
    #[arg(long, default_value = "esr")]
    pub version: String,
    /// SHA-256 of the target tarball, for a version the bundled table does not list
    /// (instead of the check by Mattermost's GPG signature).
    #[arg(long)]
    pub sha256: Option<String>,
    /// Echo every log line.
    #[arg(long, short)]
    pub verbose: bool,
}

pub fn run(args: &Args) -> Outcome {
    let host = Host::system(plain::sink(args.verbose));
    let saved =
        match super::installed_answers("upgrade", "; run `mattermost-setup install` first.", &host)
        {
            Ok(a) => a,
            Err(out) => return out,
        };
    if let Err(out) = super::single_box_only("upgrade", &saved, &host) {
        return out;
    }
    let mut changes = serde_json::json!({ "version": args.version });
    if let Some(s) = &args.sha256 {
        changes["sha256"] = serde_json::Value::from(s.clone());
    } else {
        changes["sha256"] = serde_json::Value::Null;
    }
    let answers = match reconfigure::merge(&saved, &changes.to_string()) {
        Ok(a) => a,
        Err(invalid) => {
            eprintln!("upgrade: {invalid}");
            return Outcome::with_log(ExitCode::from(2), &host);
        }
    };
    match upgrade::upgrade(&host, &answers, &Cancel::default()) {
        Ok(o) => {
            println!(
                "Upgraded Mattermost {} -> {}: config, logs, plugins, client/plugins and data were carried over.\n\
                 Database dump: {}\nPrevious release kept in {} (delete it once you are satisfied).",
                o.from,
                o.to,
                o.dump.display(),
                o.previous_tree.display()
            );
            Outcome::with_log(ExitCode::SUCCESS, &host)
        }
        Err(e) => {
            println!("✗ upgrade: {}", e.cause);
            if let Some(f) = e.fix {
                println!("  fix: {f}");
            }
            Outcome::with_log(ExitCode::from(1), &host)
        }
    }
}
