//! `mattermost-setup install --answers FILE [--yes]`

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use super::Outcome;
use crate::engine;
use crate::host::Host;
use crate::ui::plain;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The answers file (JSON). Keys: domain, db_engine, db_name, db_user, db_password,
    /// install_dir, data_dir, edition, version, proxy, tls, download_base_url, tarball, sha256.
    #[arg(long, value_name = "FILE")]
    pub answers: PathBuf,
    /// Do not ask for confirmation (required when there is no terminal).
    #[arg(long, short)]
    pub yes: bool,
    /// Echo every log line.
    #[arg(long, short)]
    pub verbose: bool,
}

pub fn run(args: &Args) -> Outcome {
    let host = Host::system(plain::sink(args.verbose));
    host.note_quiet(&format!(
        "mattermost-setup {} install --answers {}",
        env!("CARGO_PKG_VERSION"),
        args.answers.display()
    ));
    let (answers, plan) = match super::answers_and_plan(&args.answers, &host) {
        Ok(x) => x,
        Err(out) => return out,
    };
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            eprintln!("install: no terminal to confirm on; add --yes to install unattended.");
            return Outcome::with_log(ExitCode::from(2), &host);
        }
        if !plain::confirm(&format!(
            "Install Mattermost {} ({}) for {} with {} and {}? `mattermost-setup plan` shows every change. [y/N] ",
            plan.release.version,
            plan.release.edition,
            plan.site_url,
            plan.database.engine,
            answers.proxy.name()
        )) {
            println!("Nothing was changed.");
            return Outcome::with_log(ExitCode::from(1), &host);
        }
    }
    match answers.this_machine() {
        Some(m) => println!(
            "Setting up machine {} ({}, {}) for Mattermost {} at {} — log: {}",
            m.name,
            m.role.name(),
            m.address,
            plan.release.version,
            plan.site_url,
            host.log_path().display()
        ),
        None => println!(
            "Installing Mattermost {} ({}) for {} — log: {}",
            plan.release.version,
            plan.release.edition,
            plan.site_url,
            host.log_path().display()
        ),
    }
    let started = std::time::Instant::now();
    match engine::install(&host, &answers, &plan, crate::lifecycle::UNFINISHED) {
        Ok(reports) => {
            let changed = reports.iter().filter(|r| r.changed).count();
            if let Some(next) = machine_done(&answers) {
                println!(
                    "\n{next} ({} phases verified, {changed} changed, {:.1}s).",
                    reports.len(),
                    started.elapsed().as_secs_f64()
                );
                return Outcome::with_log(ExitCode::SUCCESS, &host);
            }
            // http while a Let's Encrypt certificate is deferred.
            let url = crate::phases::tls::public_url_now(&host, &answers, &plan);
            println!(
                "\nMattermost is up at {} ({} phases verified, {changed} changed, {:.1}s).\n\
                 Answers (with the database password, mode 600): {}\n\
                 Next: open {} and create the first account; it becomes the system admin.",
                url,
                reports.len(),
                started.elapsed().as_secs_f64(),
                crate::answers::SAVED_ANSWERS,
                url
            );
            Outcome::with_log(ExitCode::SUCCESS, &host)
        }
        Err(e) if e.error.kind == crate::vocab::ErrorKind::Stopped => {
            println!(
                "\nStopped as asked, in phase {}. Nothing verified so far was undone; run the same command again to continue.",
                e.phase
            );
            Outcome::with_log(ExitCode::from(1), &host)
        }
        Err(e) => {
            println!(
                "\nThe install stopped in phase {}. Nothing verified so far was undone; fix the cause and run the same command again to continue.",
                e.phase
            );
            Outcome::with_log(ExitCode::from(1), &host)
        }
    }
}

/// What a machine of several is now, and what to do next; `None` on a single box.
fn machine_done(a: &crate::answers::Answers) -> Option<String> {
    use crate::vocab::Role;
    let m = a.this_machine()?;
    let names = |role| {
        a.machines_of(role)
            .map(|o| format!("{} ({})", o.name, o.address))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Some(match m.role {
        Role::Database => format!(
            "Database machine {} is ready: PostgreSQL on {}:5432 for the app machines {}.\n\
             Next: copy {} to the same path on each app machine, then run the installer there with the same answers",
            m.name,
            m.address,
            names(Role::App),
            crate::answers::topology::DB_CA_FILE
        ),
        Role::App => format!(
            "App machine {} is ready: Mattermost on {}.\n\
             Next: the other app machines, then the proxy machine {}",
            m.name,
            crate::plan::listen_addr(a),
            names(Role::Proxy)
        ),
        Role::Proxy => format!(
            "Mattermost is up at {} through {}, balancing {}",
            a.site_url(),
            m.name,
            names(Role::App)
        ),
        Role::All => return None,
    })
}
