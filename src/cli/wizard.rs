//! `mattermost-setup` with no subcommand: the interactive wizard. Full screen on a
//! terminal of at least 80x24; plain prompts with `--plain`, `TERM=dumb`, a smaller
//! terminal, or when stdout is not a terminal. Without a terminal to ask on, it says
//! how to run unattended.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use super::Outcome;
use crate::ui::prompts::Ended;
use crate::ui::tui::{self, Exit, draft::Prefill};

/// Flags of the wizard (no subcommand). `--plain` also applies to subcommands.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// Plain prompts and output instead of the full-screen wizard.
    #[arg(long, global = true)]
    pub plain: bool,
    /// Air-gapped servers: download from this mirror, laid out like
    /// releases.mattermost.com (VERSION/FILE below it).
    #[arg(long, value_name = "URL")]
    pub download_base_url: Option<String>,
    /// Air-gapped servers: install this tarball, already on the server.
    #[arg(long, value_name = "FILE", conflicts_with = "download_base_url")]
    pub tarball: Option<PathBuf>,
    /// The SHA-256 of a release that is not in the bundled table (instead of the
    /// check by Mattermost's GPG signature).
    #[arg(long, value_name = "HEX")]
    pub sha256: Option<String>,
    /// Pre-select this exact Mattermost version (X.Y.Z).
    #[arg(long, value_name = "X.Y.Z")]
    pub mattermost_version: Option<String>,
    /// Let's Encrypt from another ACME directory (answers key `acme_server`): Let's
    /// Encrypt's staging server, a private CA.
    #[arg(long, value_name = "URL")]
    pub acme_server: Option<String>,
    /// The PEM bundle certbot trusts for --acme-server (answers key `acme_ca_bundle`).
    #[arg(long, value_name = "FILE")]
    pub acme_ca_bundle: Option<PathBuf>,
}

pub const UNATTENDED_HINT: &str = "\
Run unattended instead: write an answers file (at least {\"domain\": \"chat.example.com\"}) and run
  mattermost-setup plan --answers answers.json
  mattermost-setup install --answers answers.json --yes
See `mattermost-setup --help`.";

/// Why the plain front end is used, if it is.
pub fn plain_reason(
    args: &Args,
    stdout_tty: bool,
    term: Option<&str>,
    size: Option<(u16, u16)>,
) -> Option<String> {
    if args.plain {
        return Some("--plain".into());
    }
    match term {
        None | Some("" | "dumb") => return Some("TERM is dumb or unset".into()),
        _ => {}
    }
    if !stdout_tty {
        return Some("stdout is not a terminal".into());
    }
    match size {
        Some((w, h)) if w >= tui::ui::MIN_WIDTH && h >= tui::ui::MIN_HEIGHT => None,
        Some((w, h)) => Some(format!(
            "the terminal is {w}x{h}, smaller than {}x{}",
            tui::ui::MIN_WIDTH,
            tui::ui::MIN_HEIGHT
        )),
        None => Some("the terminal size is unknown".into()),
    }
}

fn prefill(args: &Args) -> Prefill {
    Prefill {
        saved: super::saved_answers(),
        download_base_url: args.download_base_url.clone(),
        tarball: args.tarball.clone(),
        sha256: args.sha256.clone().map(|s| s.to_ascii_lowercase()),
        version: args.mattermost_version.clone(),
        acme_server: args.acme_server.clone(),
        acme_ca_bundle: args.acme_ca_bundle.clone(),
        // Filled by the front end from the box's addresses.
        addresses: Vec::new(),
    }
}

pub fn run(args: &Args) -> Outcome {
    if !std::io::stdin().is_terminal() {
        eprintln!("mattermost-setup: no terminal to ask the questions on.\n{UNATTENDED_HINT}");
        return Outcome {
            code: ExitCode::from(2),
            log: None,
        };
    }
    if !installed() {
        if let Some(out) = offer_restore() {
            return out;
        }
    }
    if installed() {
        match menu() {
            Some(MenuChoice::Reconfigure) => {}
            Some(choice) => return run_choice(choice),
            None => {
                return nothing_changed();
            }
        }
    }
    let term = std::env::var("TERM").ok();
    let reason = plain_reason(
        args,
        std::io::stdout().is_terminal(),
        term.as_deref(),
        crossterm::terminal::size().ok(),
    );
    if let Some(why) = reason {
        if !args.plain {
            eprintln!("(plain prompts: {why})");
        }
        return plain(prefill(args));
    }
    match tui::run(prefill(args), &engine_driver) {
        Ok(report) => finish(&report),
        Err(e) => {
            eprintln!("(plain prompts: the full-screen wizard could not start: {e})");
            plain(prefill(args))
        }
    }
}

/// The engine behind either front end, over the system host.
fn engine_driver(sink: crate::events::EventSink) -> Box<dyn crate::ui::driver::Driver> {
    super::driver::EngineDriver::boxed(sink, crate::lifecycle::UNFINISHED)
}

/// The plain wizard, its end as the exit code: 0 installed, 1 nothing changed or the
/// install stopped, 2 it could not go on.
fn plain(prefill: Prefill) -> Outcome {
    let (code, log) = match crate::ui::prompts::run(prefill, &engine_driver) {
        Ended::NothingChanged => (1, None),
        Ended::Refused { log } => (2, Some(log)),
        Ended::Installed { log } => (0, Some(log)),
        Ended::Failed { log } => (1, Some(log)),
    };
    Outcome {
        code: ExitCode::from(code),
        log,
    }
}

/// Whether this box has an install made by this tool.
fn installed() -> bool {
    std::path::Path::new(crate::answers::SAVED_ANSWERS).exists()
        && std::path::Path::new(crate::phases::mattermost::RELEASE_RECORD).exists()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MenuChoice {
    Status,
    Repair,
    Reconfigure,
    Upgrade,
    Uninstall,
}

const MENU: [(&str, MenuChoice); 5] = [
    ("Status — check every phase, read-only", MenuChoice::Status),
    ("Repair — fix only what drifted", MenuChoice::Repair),
    (
        "Reconfigure — the wizard, filled with the current answers",
        MenuChoice::Reconfigure,
    ),
    (
        "Upgrade — a newer Mattermost, with a backup and automatic rollback",
        MenuChoice::Upgrade,
    ),
    (
        "Uninstall — remove what was installed (data is kept)",
        MenuChoice::Uninstall,
    ),
];

/// The menu for a box that already has an install; `None` when the operator leaves.
fn menu() -> Option<MenuChoice> {
    let labels: Vec<&str> = MENU.iter().map(|(l, _)| *l).collect();
    let picked = inquire::Select::new(
        "Mattermost is installed here. What do you want to do?",
        labels,
    )
    .with_help_message("↑↓ to move, Enter to choose, Esc to leave")
    .prompt_skippable()
    .ok()
    .flatten()?;
    MENU.iter().find(|(l, _)| *l == picked).map(|(_, c)| *c)
}

fn run_choice(choice: MenuChoice) -> Outcome {
    match choice {
        MenuChoice::Status => super::status::run(&super::status::Args {
            json: false,
            answers: None,
        }),
        MenuChoice::Repair => super::repair::run(&super::repair::Args {
            keep_local: false,
            restore: false,
            verbose: false,
        }),
        MenuChoice::Upgrade => {
            let version = inquire::Text::new("Upgrade to which version?")
                .with_default("esr")
                .with_help_message("esr, latest, or an exact X.Y.Z from the bundled releases table")
                .prompt_skippable()
                .ok()
                .flatten();
            match version {
                Some(version) => super::upgrade::run(&super::upgrade::Args {
                    version,
                    sha256: None,
                    verbose: false,
                }),
                None => Outcome {
                    code: ExitCode::SUCCESS,
                    log: None,
                },
            }
        }
        MenuChoice::Uninstall => super::uninstall::run(&super::uninstall::Args {
            purge_data: false,
            confirm: None,
            yes: false,
        }),
        MenuChoice::Reconfigure => Outcome {
            code: ExitCode::SUCCESS,
            log: None,
        },
    }
}

/// The operator left a question: nothing on the box was touched.
fn nothing_changed() -> Outcome {
    println!("Nothing was changed.");
    Outcome {
        code: ExitCode::SUCCESS,
        log: None,
    }
}

/// Where the wizard looks for backup archives on a fresh box: the backup
/// directory, the current directory and root's home (where an archive copied from
/// the old server usually lands).
fn archive_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(crate::lifecycle::backup::DEFAULT_DIR)];
    if let Ok(cwd) = std::env::current_dir() {
        dirs.push(cwd);
    }
    dirs.push(std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from));
    dirs.dedup();
    dirs
}

/// The first question on a fresh box where backup archives are found: a new
/// install, or the restore of one of them (newest first) — `None` for a new install.
/// Without archives nothing is asked (the wizard starts; `mattermost-setup restore
/// FILE` restores one from elsewhere).
fn offer_restore() -> Option<Outcome> {
    use crate::lifecycle::backup;
    let found: Vec<(PathBuf, backup::Manifest)> = backup::archives_in(&archive_dirs())
        .into_iter()
        .filter_map(|p| backup::peek_manifest(&p).map(|m| (p, m)))
        .take(5)
        .collect();
    if found.is_empty() {
        return None;
    }
    let mut labels = vec!["New install — the wizard".to_owned()];
    labels.extend(found.iter().map(|(p, m)| {
        format!(
            "Restore {} — {}, Mattermost {}, taken {}",
            p.display(),
            m.domain,
            m.mattermost_version.as_deref().unwrap_or("?"),
            m.created
        )
    }));
    let picked = inquire::Select::new(
        "Backup archives are on this server. Install anew, or restore one?",
        labels.clone(),
    )
    .with_help_message("↑↓ to move, Enter to choose, Esc to leave")
    .prompt_skippable()
    .ok()
    .flatten();
    let Some(picked) = picked else {
        return Some(nothing_changed());
    };
    let i = labels.iter().position(|l| *l == picked)?;
    let (archive, manifest) = found.get(i.checked_sub(1)?)?;
    let domain = inquire::Text::new("Domain of the restored server")
        .with_default(&manifest.domain)
        .with_help_message(
            "another domain moves the server: config.json's mentions of the old one are renamed",
        )
        .prompt_skippable()
        .ok()
        .flatten();
    let Some(domain) = domain else {
        return Some(nothing_changed());
    };
    Some(super::restore::run(&super::restore::Args {
        archive: archive.clone(),
        domain: (domain != manifest.domain).then_some(domain),
        data_dir: None,
        answers: None,
        replace: false,
        yes: true,
        verbose: false,
    }))
}

/// What stays on the normal screen once the full-screen wizard is gone.
fn finish(r: &tui::Report) -> Outcome {
    if let Some(s) = &r.saved {
        println!(
            "Answers saved for replay: {} (passwords in {}, mode 600)\n  replay: mattermost-setup install --answers {} --yes",
            s.answers.display(),
            s.secrets
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            s.answers.display()
        );
    }
    let (code, log) = match &r.exit {
        Exit::Quit => {
            println!("Nothing was installed; nothing on this server was changed.");
            (u8::from(r.saved.is_none()), None)
        }
        Exit::Installed(s) => {
            println!(
                "Mattermost is up at {} ({} phases verified, {} changed, {:.1}s).\n\
                 Answers (with the database password, mode 600): {}\n\
                 Next: open {} and create the first account; it becomes the system admin.",
                s.url,
                s.phases,
                s.changed,
                s.elapsed.as_secs_f64(),
                crate::answers::SAVED_ANSWERS,
                s.url
            );
            if let Some(t) = &s.tls_pending {
                println!("{t}");
            }
            (0, Some(r.log.clone()))
        }
        Exit::Failed(f) => {
            println!("The install stopped in phase {}: {}", f.phase, f.cause);
            if let Some(fix) = &f.fix {
                println!("fix: {fix}");
            }
            println!(
                "Nothing verified so far was undone. Run mattermost-setup again to continue \
                 (or unattended: mattermost-setup install --answers {} --yes).",
                crate::answers::SAVED_ANSWERS
            );
            (1, Some(r.log.clone()))
        }
    };
    Outcome {
        code: ExitCode::from(code),
        log,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_mode_is_chosen_for_dumb_small_or_piped_terminals() {
        let a = Args::default();
        let big = Some((80, 24));
        assert_eq!(plain_reason(&a, true, Some("xterm-256color"), big), None);
        assert!(plain_reason(&a, true, Some("dumb"), big).is_some());
        assert!(plain_reason(&a, true, None, big).is_some());
        assert!(plain_reason(&a, false, Some("xterm"), big).is_some());
        assert!(
            plain_reason(&a, true, Some("xterm"), Some((79, 24)))
                .unwrap()
                .contains("79x24")
        );
        assert!(plain_reason(&a, true, Some("xterm"), Some((80, 23))).is_some());
        let p = Args {
            plain: true,
            ..Args::default()
        };
        assert_eq!(
            plain_reason(&p, true, Some("xterm"), big).as_deref(),
            Some("--plain")
        );
    }
}
