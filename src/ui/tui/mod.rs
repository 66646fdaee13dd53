//! The full-screen wizard (ratatui): preflight, the questions, the review with the
//! plan, the run dashboard, and the end screen or failure card.
//!
//! Elm-style: [`app`] holds the state, the messages and `update` (no I/O); [`ui`]
//! renders from the state only; [`event`] turns key presses and engine events into
//! messages on one channel. This module is the runtime: it owns the terminal and
//! carries out the commands `update` returns (DNS, disk, plan, save, install).

// Screens are built line by line: long rendering functions with short local names
// read better here than split up.
#![allow(
    clippy::too_many_lines,
    clippy::many_single_char_names,
    clippy::single_match_else,
    clippy::enum_glob_use,
    clippy::match_same_arms
)]

pub mod app;
mod dashboard;
pub mod draft;
pub mod event;
pub mod input;
mod screens;
pub mod theme;
pub mod ui;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use app::{App, Cmd, DiskInfo, Msg, Outcome, RunFailure, RunSummary};
use draft::{Caps, Draft, Prefill};
use theme::Theme;

use crate::answers::{self, SavedFiles, Secret};
use crate::phases::{Check, PhaseId};
use crate::plan;
use crate::probes::{dns, system};
use crate::ui::driver::{Driver, MakeDriver};
use crate::vocab::Cancel;

/// How the wizard ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Exit {
    /// Quit before installing: nothing was changed.
    Quit,
    Installed(RunSummary),
    Failed(RunFailure),
}

#[derive(Debug, Clone)]
pub struct Report {
    pub exit: Exit,
    pub log: PathBuf,
    pub saved: Option<SavedFiles>,
}

/// The preflight probe (through the driver) with answers as complete as the draft
/// allows.
pub fn preflight(driver: &dyn Driver, draft: &Draft) -> Vec<Check> {
    let mut json = draft.to_json();
    if let Some(obj) = json.as_object_mut() {
        let domain = obj.get("domain").and_then(|d| d.as_str()).unwrap_or("");
        if answers::validate::fqdn(domain).is_err() {
            obj.insert("domain".into(), "preflight.example.com".into());
        }
    }
    let a = answers::from_json(&json.to_string(), None).or_else(|_| {
        answers::from_json(
            r#"{"domain": "preflight.example.com", "db_password": "preflight-only"}"#,
            None,
        )
    });
    match a {
        Ok(a) => driver.preflight(&a),
        Err(e) => vec![Check::fail(PhaseId::Preflight, "answers", e.to_string())],
    }
}

/// Free space for a data directory (or its nearest existing parent), and whether
/// the tool may take the two directories (read-only; preflight decides the same).
pub fn measure(install: &std::path::Path, path: PathBuf, adopt: bool) -> DiskInfo {
    let found = system::free_bytes(&path);
    let root = std::path::Path::new("/");
    DiskInfo {
        dirs: crate::phases::mattermost::dirs::judge_at(
            root,
            &crate::state::Ownership::load_at(root),
            install,
            &path,
            adopt,
        ),
        exists: path.is_dir(),
        measured_at: found
            .as_ref()
            .map_or_else(|| path.clone(), |(p, _)| p.clone()),
        free: found.map(|(_, f)| f),
        path,
    }
}

/// The full-screen wizard, from preflight to the end screen. Errors only when the
/// terminal cannot be set up (the caller then falls back to plain prompts).
pub fn run(prefill: Prefill, make: MakeDriver<'_>) -> std::io::Result<Report> {
    let (tx, rx) = mpsc::channel::<Msg>();
    let driver = make(event::engine_sink(tx.clone()));
    let host = driver.host();
    host.note_quiet(&format!(
        "mattermost-setup {} wizard",
        env!("CARGO_PKG_VERSION")
    ));
    let generated = Secret::generate().map_err(|e| std::io::Error::other(e.to_string()))?;
    // This server's addresses: the DNS check compares with them, and they say which
    // of several machines this is.
    let local = dns::local_addresses(host);
    let prefill = Prefill {
        addresses: local.iter().map(|(a, _)| *a).collect(),
        ..prefill
    };
    let draft = Draft::new(generated, Caps::detect(), prefill);
    let mut app = App::new(draft, host.log_path().to_owned());
    let theme = Theme::from_env();
    // SIGTERM/SIGHUP become a message: the screen is restored and the install stops
    // at a safe point instead of the process dying with the terminal in raw mode.
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ])?;
    let signal_handle = signals.handle();
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for _ in signals.forever() {
                if tx.send(Msg::Terminate).is_err() {
                    break;
                }
            }
        });
    }
    let mut terminal = match ratatui::try_init() {
        Ok(t) => t,
        Err(e) => {
            ratatui::restore();
            signal_handle.close();
            return Err(e);
        }
    };
    let start = Instant::now();
    let stop = AtomicBool::new(false);
    let dns_generation = Arc::new(AtomicU64::new(0));
    let mut cancel = Cancel::default();
    let result = std::thread::scope(|s| -> std::io::Result<()> {
        s.spawn(|| event::input_loop(&tx, &stop, start));
        {
            let (tx, driver, draft) = (tx.clone(), &*driver, app.draft.clone());
            s.spawn(move || {
                let _ = tx.send(Msg::Preflight(preflight(driver, &draft)));
            });
        }
        let outcome = (|| -> std::io::Result<()> {
            terminal.draw(|f| ui::draw(f, &app, theme))?;
            while let Ok(first) = rx.recv() {
                let mut cmds = app.update(first);
                // Batch what is already queued (log floods) into one redraw.
                while let Ok(m) = rx.try_recv() {
                    cmds.extend(app.update(m));
                }
                for c in cmds {
                    match c {
                        Cmd::CheckDns(domain) => {
                            let generation = dns_generation.fetch_add(1, Ordering::SeqCst) + 1;
                            let (tx, current, local) =
                                (tx.clone(), dns_generation.clone(), local.clone());
                            // Not scoped: a slow resolver must never hold up quitting.
                            std::thread::spawn(move || {
                                std::thread::sleep(Duration::from_millis(300));
                                if current.load(Ordering::SeqCst) == generation {
                                    let r = dns::compare(&domain, dns::resolve(&domain), local);
                                    let _ = tx.send(Msg::Dns(r));
                                }
                            });
                        }
                        Cmd::MeasureDisk {
                            install,
                            data,
                            adopt,
                        } => {
                            let _ = tx.send(Msg::Disk(measure(&install, data, adopt)));
                        }
                        Cmd::RenderPlan(a) => {
                            // Making the plan reads the box (apt can take most of a
                            // second): off the loop, so keys keep their answer time.
                            let (tx, driver) = (tx.clone(), &*driver);
                            s.spawn(move || {
                                let text = driver.plan(&a).map_or_else(
                                    |e| format!("no plan: {e}"),
                                    |p| plan::render_text(&p, driver.host()),
                                );
                                let _ = tx.send(Msg::PlanText(text));
                            });
                        }
                        Cmd::Save { answers, path } => {
                            let r = answers::save_for_replay(&answers, &path)
                                .map_err(|e| e.to_string());
                            if let Ok(files) = &r {
                                host.note(&format!(
                                    "answers saved for replay: {}",
                                    files.answers.display()
                                ));
                            }
                            let _ = tx.send(Msg::Saved(r));
                        }
                        Cmd::Install(a) => {
                            cancel = Cancel::default();
                            let (tx, driver, cancel) = (tx.clone(), &*driver, cancel.clone());
                            s.spawn(move || {
                                let _ = tx.send(Msg::Finished(driver.install(&a, &cancel)));
                            });
                        }
                        Cmd::Cancel => {
                            host.note(
                                "stop requested by the operator: stopping at the next safe point",
                            );
                            cancel.cancel();
                        }
                        Cmd::Quit => {}
                    }
                }
                if app.quit {
                    break;
                }
                terminal.draw(|f| ui::draw(f, &app, theme))?;
            }
            Ok(())
        })();
        stop.store(true, Ordering::Relaxed);
        // Never leave an install running behind a closed screen.
        cancel.cancel();
        outcome
    });
    ratatui::restore();
    signal_handle.close();
    result?;
    let exit = match app.run.map(|r| r.outcome) {
        Some(Outcome::Done(s)) => Exit::Installed(s),
        Some(Outcome::Failed(f)) => Exit::Failed(f),
        _ => Exit::Quit,
    };
    Ok(Report {
        exit,
        log: host.log_path().to_owned(),
        saved: app.saved,
    })
}
