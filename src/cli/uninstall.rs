//! `mattermost-setup uninstall [--purge-data --confirm DOMAIN]`

use std::io::IsTerminal;
use std::process::ExitCode;

use super::Outcome;
use crate::host::Host;
use crate::lifecycle::uninstall;
use crate::ui::plain;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also delete the data directory, config, logs, plugins, the database and its user,
    /// and every backup, database dump, downloaded tarball and old release tree.
    #[arg(long)]
    pub purge_data: bool,
    /// With --purge-data: the domain, typed out, to confirm the data removal.
    #[arg(long, value_name = "DOMAIN")]
    pub confirm: Option<String>,
    /// Do not ask before removing the program (data is kept).
    #[arg(long, short)]
    pub yes: bool,
}

pub fn run(args: &Args) -> Outcome {
    let host = Host::system(plain::sink(false));
    let answers = match super::installed_answers("uninstall", ".", &host) {
        Ok(a) => a,
        Err(out) => return out,
    };
    let tty = std::io::stdin().is_terminal();
    if args.purge_data {
        let typed = match &args.confirm {
            Some(c) => c.clone(),
            None if tty => plain::ask(&format!(
                "This deletes ALL messages, files and the database of {}, with every backup and database dump. Type the domain to confirm: ",
                answers.domain
            )),
            None => String::new(),
        };
        if typed != answers.domain {
            eprintln!(
                "uninstall: the data removal was not confirmed (pass --confirm {} or type it); nothing was changed.",
                answers.domain
            );
            return Outcome::with_log(ExitCode::from(2), &host);
        }
    } else if !args.yes {
        if !tty {
            eprintln!(
                "uninstall: no terminal to confirm on; add --yes (data, config and the database are kept)."
            );
            return Outcome::with_log(ExitCode::from(2), &host);
        }
        if !plain::confirm(
            "Remove the Mattermost program, service and proxy site? Data and the database are kept. [y/N] ",
        ) {
            println!("Nothing was changed.");
            return Outcome::with_log(ExitCode::from(1), &host);
        }
    }
    crate::engine::register_secrets(&host, &answers);
    match uninstall::uninstall(&host, &answers, args.purge_data) {
        Ok(r) => {
            println!("Removed:");
            for x in &r.removed {
                println!("  - {x}");
            }
            println!("Kept:");
            for x in &r.kept {
                println!("  - {x}");
            }
            Outcome::with_log(ExitCode::SUCCESS, &host)
        }
        Err(e) => {
            println!("✗ uninstall: {}", e.cause);
            Outcome::with_log(ExitCode::from(1), &host)
        }
    }
}
