//! Command-line interface: one module per subcommand, dispatched from a clap enum.

pub mod backup;
pub mod bench;
pub mod driver;
pub mod generate;
pub mod install;
pub mod plan;
pub mod reconfigure;
pub mod repair;
pub mod restore;
pub mod retention;
pub mod status;
pub mod uninstall;
pub mod upgrade;
pub mod wizard;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::answers::{self, Answers};

/// What `--version` prints after the name: the version, the git commit it was built
/// from (build.rs; `MATTERMOST_SETUP_COMMIT` overrides it for builds outside git) and
/// the date of the bundled releases table.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("MATTERMOST_SETUP_BUILD_COMMIT"),
    ", releases table ",
    env!("MATTERMOST_SETUP_TABLE_DATE"),
    ")"
);

/// Turns a fresh Debian/Ubuntu server into a verified Mattermost server.
#[derive(Debug, Parser)]
#[command(name = "mattermost-setup", version = VERSION, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub wizard: wizard::Args,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install (or converge) Mattermost from an answers file, asking nothing.
    Install(install::Args),
    /// Print what an install would do: packages, files with diffs, services, database. Changes nothing.
    Plan(plan::Args),
    /// Read-only checks of every phase against the saved answers. Exit code: 0 every
    /// check passes, 1 a check fails, 2 a usage or answers problem, 3 not installed
    /// (no install, or uninstalled). `--json` always prints one JSON document.
    Status(status::Args),
    /// Converge only what drifted from the saved answers (hand-edited files: keep or restore).
    Repair(repair::Args),
    /// Change answers (domain, data directory, database password, ...) and converge.
    Reconfigure(reconfigure::Args),
    /// Upgrade Mattermost: checks, database dump, new release beside the old, health gate, rollback.
    Upgrade(upgrade::Args),
    /// Remove what mattermost-setup created; data and the database stay unless confirmed.
    Uninstall(uninstall::Args),
    /// Delete messages older than N days with their reactions, files and threads (run daily by a timer).
    Retention(retention::Args),
    /// One archive with a consistent database dump, the data, plugins, config.json and
    /// the answers, taken while Mattermost keeps serving; `--verify FILE` checks one.
    Backup(backup::Args),
    /// Make a backup archive into a working server (here, or on a new machine):
    /// installs its release, puts back the database and files, verifies. The domain,
    /// data directory and passwords may change.
    Restore(restore::Args),
    /// Benchmark hook for benches/run.sh: the download phase (and unpack) alone, timed.
    #[command(hide = true)]
    BenchDownload(bench::Args),
    /// Packaging: man pages, shell completions, the answers JSON Schema.
    #[command(hide = true)]
    Generate(generate::Args),
}

/// What a command ended with: the exit code, and whether to point at the log.
pub struct Outcome {
    pub code: ExitCode,
    pub log: Option<PathBuf>,
}

pub fn run(cli: Cli) -> Outcome {
    let name = match &cli.command {
        Some(Command::Install(_)) => Some("install"),
        Some(Command::Repair(_)) => Some("repair"),
        Some(Command::Reconfigure(_)) => Some("reconfigure"),
        Some(Command::Upgrade(_)) => Some("upgrade"),
        Some(Command::Backup(_)) => Some("backup"),
        None => Some("mattermost-setup"),
        _ => None,
    };
    // Only with a restore record on disk: a command must not add a log file otherwise.
    let restoring = std::path::Path::new(crate::lifecycle::restore::RESTORE_RECORD).exists();
    if let Some(command) = name.filter(|_| restoring) {
        let host = read_only_host(command, crate::ui::plain::sink(false));
        if let Some(why) = crate::lifecycle::restore::refusal(&host, command) {
            return refuse(&host, &why);
        }
    }
    match cli.command {
        Some(Command::Install(a)) => install::run(&a),
        Some(Command::Plan(a)) => plan::run(&a),
        Some(Command::Status(a)) => status::run(&a),
        Some(Command::Repair(a)) => repair::run(&a),
        Some(Command::Reconfigure(a)) => reconfigure::run(&a),
        Some(Command::Upgrade(a)) => upgrade::run(&a),
        Some(Command::Uninstall(a)) => uninstall::run(&a),
        Some(Command::Retention(a)) => retention::run(&a),
        Some(Command::Backup(a)) => backup::run(&a),
        Some(Command::Restore(a)) => restore::run(&a),
        Some(Command::BenchDownload(a)) => bench::run(&a),
        Some(Command::Generate(a)) => generate::run(&a),
        None => wizard::run(&cli.wizard),
    }
}

/// The answers of the last install on this box, if any.
pub fn saved_answers() -> Option<Answers> {
    let text = std::fs::read_to_string(answers::SAVED_ANSWERS).ok()?;
    answers::from_saved_json(&text).ok()
}

/// Reads and validates an answers file, printing (and logging) every problem on failure.
pub fn load_answers(path: &std::path::Path, host: &crate::host::Host) -> Result<Answers, ExitCode> {
    let saved = saved_answers();
    let mut a = answers::load(path, saved.as_ref()).map_err(|invalid| {
        let msg = format!("{}: {invalid}", path.display());
        host.note_quiet(&msg);
        eprintln!("{msg}");
        ExitCode::from(2)
    })?;
    if !a.machines.is_empty() && a.node.is_none() {
        a.node = Some(this_node(&a, host).map_err(|msg| {
            let msg = format!("{}: {msg}", path.display());
            host.note_quiet(&msg);
            eprintln!("{msg}");
            ExitCode::from(2)
        })?);
    }
    Ok(a)
}

/// Which of the answers' machines this box is: the one whose address is on one of
/// its interfaces.
fn this_node(a: &Answers, host: &crate::host::Host) -> Result<String, String> {
    answers::topology::find_node(&a.machines, &own_addresses(host)?).map_err(|e| {
        let fix = match e {
            answers::topology::NodeError::NotListed { .. } => {
                "add \"node\": \"NAME\" (the machine's name in machines) or fix the addresses"
            }
            answers::topology::NodeError::Several { .. } => "add \"node\": \"NAME\"",
        };
        format!("{e}; {fix}")
    })
}

/// This box's addresses (`ip -o addr`).
pub fn own_addresses(host: &crate::host::Host) -> Result<Vec<std::net::IpAddr>, String> {
    let out = host
        .probe(&crate::host::Cmd::new("ip", &["-o", "addr", "show"]))
        .map_err(|e| format!("cannot list this machine's addresses: {e}"))?;
    Ok(local_addresses(&out.stdout))
}

/// The addresses in `ip -o addr show` output.
fn local_addresses(listing: &str) -> Vec<std::net::IpAddr> {
    crate::host::dns::parse_ip_addr(listing)
        .into_iter()
        .map(|(a, _)| a)
        .collect()
}

/// The host of a read-only command: its log is `<log dir>/<command>.log`, replaced
/// by each run (see [`crate::host::RunLog::last_run`]).
pub fn read_only_host(command: &str, events: crate::events::EventSink) -> crate::host::Host {
    crate::host::Host::new(
        PathBuf::from("/"),
        crate::host::RunLog::last_run(std::path::Path::new(crate::host::log::LOG_DIR), command),
        events,
        Box::new(crate::host::SystemRunner),
    )
}

/// Prints a usage problem and ends the command with exit code 2 (and the log path).
pub fn refuse(host: &crate::host::Host, message: &str) -> Outcome {
    host.note_quiet(message);
    eprintln!("{message}");
    Outcome::with_log(ExitCode::from(2), host)
}

/// The saved answers of this box's install, or the refusal of a `command` that needs
/// one; `hint` says what to do instead.
pub fn installed_answers(
    command: &str,
    hint: &str,
    host: &crate::host::Host,
) -> Result<Answers, Outcome> {
    saved_answers().ok_or_else(|| {
        refuse(
            host,
            &format!(
                "{command}: no install found ({} is missing){hint}",
                answers::SAVED_ANSWERS
            ),
        )
    })
}

/// `backup` and `upgrade` work on a single box only (for now): on a machine of
/// several they are refused before anything changes, with what to do instead.
pub fn single_box_only(
    command: &str,
    answers: &Answers,
    host: &crate::host::Host,
) -> Result<(), Outcome> {
    let Some(m) = answers.this_machine() else {
        return Ok(());
    };
    Err(refuse(
        host,
        &format!(
            "{command}: this box is machine {} ({}) of several; {command} works on a single box only. \
             Back up the database machine with pg_dump -Fc and the bucket with the object store's own tools; \
             an upgrade of several machines is not supported yet (every app machine must move at once). Nothing was changed.",
            m.name,
            m.role.name()
        ),
    ))
}

/// The plan for `answers` on this box, or the refusal naming `who` (a command or a
/// file). A moving version ("esr", "latest") is the release installed here: only
/// `upgrade` moves it (see [`crate::state::installed`]).
pub fn plan_for(
    who: &str,
    answers: &Answers,
    host: &crate::host::Host,
) -> Result<crate::plan::Plan, Outcome> {
    crate::plan::Plan::on_box(host, &crate::state::installed::pinned(host, answers))
        .map_err(|e| refuse(host, &format!("{who}: {e}")))
}

/// An answers file read and validated, and its plan on this box; or the refusal
/// (exit code 2, the problem named, the log path).
pub fn answers_and_plan(
    path: &std::path::Path,
    host: &crate::host::Host,
) -> Result<(Answers, crate::plan::Plan), Outcome> {
    let answers = load_answers(path, host).map_err(|code| Outcome::with_log(code, host))?;
    let plan = plan_for(&format!("{}: version", path.display()), &answers, host)?;
    Ok((answers, plan))
}

/// Asks `question` (ending in "[y/N] ") on the terminal unless `yes`; without a
/// terminal the command is refused (exit 2), and a "no" ends it (exit 1): in both
/// cases nothing was changed.
pub fn confirm(
    host: &crate::host::Host,
    command: &str,
    question: &str,
    yes: bool,
) -> Result<(), Outcome> {
    use std::io::IsTerminal;
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(refuse(
            host,
            &format!("{command}: no terminal to confirm on; add --yes. Nothing was changed."),
        ));
    }
    if crate::ui::plain::confirm(question) {
        Ok(())
    } else {
        println!("Nothing was changed.");
        Err(Outcome::with_log(ExitCode::from(1), host))
    }
}

impl Outcome {
    pub fn with_log(code: ExitCode, host: &crate::host::Host) -> Self {
        Self {
            code,
            log: Some(host.log_path().to_owned()),
        }
    }
}

#[cfg(test)]
mod node_tests {
    #[test]
    fn addresses_are_read_from_ip_o_addr() {
        let listing = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                       3: eth1    inet 10.77.0.21/24 scope global eth1\n\
                       3: eth1    inet6 fe80::1/64 scope link \\       valid_lft forever\n";
        let got: Vec<String> = super::local_addresses(listing)
            .iter()
            .map(ToString::to_string)
            .collect();
        // Loopback and link-local addresses are no machine's (answers refuse them).
        assert_eq!(got, ["10.77.0.21"]);
    }
}
