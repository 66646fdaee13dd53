//! Test-only: declared under `#[cfg(test)]` in its parent, so outside the layering
//! of `src/` (tests may reach any module).
//! Screens: every one rendered with `TestBackend` at 80x24 and 120x40 and compared
//! with the reviewed snapshots in `snapshots/`; colours that carry meaning asserted;
//! and the state machine driven by keys and engine events (no terminal, no I/O).

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use super::app::{App, Cmd, DiskInfo, Modal, Msg, Outcome, RunFailure, RunSummary, Screen};
use super::draft::{Caps, Draft, Field, Prefill, Step};
use super::theme::Theme;
use super::ui;
use crate::answers::{SavedFiles, Secret};
use crate::events::Event;
use crate::phases::{Check, PhaseId};
use crate::probes::dns::{self, Scope};

const LOG: &str = "/var/log/mattermost-setup/2026-11-25T131925Z-2997.log";
const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn typed(app: &mut App, text: &str) -> Vec<Cmd> {
    text.chars()
        .flat_map(|c| app.update(key(KeyCode::Char(c))))
        .collect()
}

fn app() -> App {
    let draft = Draft::new(
        Secret::new("Q7sJ2mXv9LpR4tYw8ZcN3bKd6HfA1gEu"),
        Caps::minimal(),
        Prefill::default(),
    );
    App::new(draft, PathBuf::from(LOG))
}

fn preflight_checks() -> Vec<Check> {
    let p = PhaseId::Preflight;
    vec![
        Check::ok(p, "running as root", "effective uid 0"),
        Check::ok(p, "operating system", "Debian GNU/Linux 12 (bookworm)"),
        Check::ok(p, "architecture", "x86_64"),
        Check::warn(p, "memory", "1.9 GiB: below the recommended 2 GiB"),
        Check::ok(p, "free disk for the data directory", "38.2 GiB free for /opt/mattermost/data"),
        Check::fail(p, "port 80", "used by nginx (pid 812)")
            .with_fix("port 80 is for the Apache proxy: stop and disable the other program, or move it to another port"),
        Check::ok(p, "port 8065", "free"),
        Check::ok(p, "systemd is the init system", "yes"),
        Check::ok(p, "dpkg lock", "free"),
    ]
}

/// An app on the given step, the domain typed and the DNS answer in.
fn at(step: Step) -> App {
    let mut a = app();
    a.update(Msg::Preflight(preflight_checks()));
    a.update(key(KeyCode::Enter));
    typed(&mut a, "chat.example.com");
    a.update(Msg::Dns(dns::compare(
        "chat.example.com",
        Ok(vec!["203.0.113.7".parse().unwrap()]),
        vec![("192.168.1.10".parse().unwrap(), Scope::Private)],
    )));
    for _ in 0..40 {
        if a.screen == Screen::Wizard(step) {
            break;
        }
        a.update(key(KeyCode::Enter));
        if a.screen == Screen::Wizard(Step::Storage) {
            a.update(Msg::Disk(DiskInfo {
                path: "/opt/mattermost/data".into(),
                measured_at: "/opt".into(),
                free: Some(38 * 1024 * 1024 * 1024),
                exists: false,
                dirs: Vec::new(),
            }));
        }
    }
    assert_eq!(a.screen, Screen::Wizard(step));
    a
}

fn render(a: &App, w: u16, h: u16, theme: Theme) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| ui::draw(f, a, theme)).unwrap();
    t
}

fn snap(name: &str, a: &App) {
    for (w, h) in SIZES {
        let t = render(a, w, h, Theme::default_color());
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), t.backend().to_string());
    }
}

const PLAN: &str = "Mattermost 11.7.9 (enterprise) for http://chat.example.com
  download https://releases.mattermost.com/11.7.9/mattermost-11.7.9-linux-amd64.tar.gz
  SHA-256 a22e631ae4a1f704c2bcf45ad8dcc377184081c50954a9269b7f62bd663a7a04 (from the bundled releases table)

Packages (apt-get install, only those missing):
  ca-certificates postgresql postgresql-client apache2

Database (postgresql, postgresql.service):
  - role mmuser with LOGIN and the answers' password
  - database mattermost, owner mmuser, encoding UTF8

Files:
  ~ /etc/apache2/sites-available/mattermost.conf (changed; the current file is backed up first):
    --- /etc/apache2/sites-available/mattermost.conf (now)
    +++ /etc/apache2/sites-available/mattermost.conf (planned)
    @@ -1,3 +1,3 @@
     <VirtualHost *:80>
    -    ServerName old.example.com
    +    ServerName chat.example.com

Services:
  - postgresql.service: enabled, running
";

fn review() -> App {
    let mut a = at(Step::Review);
    a.update(Msg::PlanText(PLAN.into()));
    a
}

/// A run in the middle of the packages phase, the download going on beside it.
fn mid_run() -> App {
    let mut a = review();
    let cmds = a.update(key(KeyCode::Enter));
    assert!(matches!(cmds.as_slice(), [Cmd::Install(_)]), "{cmds:?}");
    let e = |a: &mut App, ev: Event| {
        a.update(Msg::Engine(ev));
    };
    a.update(Msg::Tick(Duration::from_secs(1)));
    e(
        &mut a,
        Event::PhaseStarted {
            phase: PhaseId::Preflight,
        },
    );
    e(
        &mut a,
        Event::PhaseVerified {
            phase: PhaseId::Preflight,
            changed: false,
            evidence: vec!["✓ running as root: effective uid 0".into()],
            elapsed: Duration::from_millis(40),
        },
    );
    e(
        &mut a,
        Event::PhaseStarted {
            phase: PhaseId::Data,
        },
    );
    e(
        &mut a,
        Event::PhaseVerified {
            phase: PhaseId::Data,
            changed: false,
            evidence: vec!["✓ data directory in place: /opt/mattermost/data".into()],
            elapsed: Duration::from_millis(1),
        },
    );
    e(
        &mut a,
        Event::PhaseStarted {
            phase: PhaseId::Packages,
        },
    );
    e(
        &mut a,
        Event::Step {
            phase: PhaseId::Packages,
            message: "installing postgresql postgresql-client apache2".into(),
        },
    );
    for i in 0..40 {
        e(
            &mut a,
            Event::Log {
                line: format!(
                    "13:19:{:02} [packages] Unpacking libpq5:amd64 (15.8-0+deb12u1) line {i}",
                    20 + i % 40
                ),
            },
        );
    }
    e(
        &mut a,
        Event::Progress {
            phase: PhaseId::Packages,
            label: "apt-get install: Setting up postgresql-15 (15.8-0+deb12u1) ...".into(),
            done: 412,
            total: None,
        },
    );
    e(
        &mut a,
        Event::Progress {
            phase: PhaseId::Mattermost,
            label: "downloading".into(),
            done: 40 << 20,
            total: Some(400 << 20),
        },
    );
    a.update(Msg::Tick(Duration::from_secs(11)));
    e(
        &mut a,
        Event::Progress {
            phase: PhaseId::Mattermost,
            label: "downloading".into(),
            done: 160 << 20,
            total: Some(400 << 20),
        },
    );
    e(
        &mut a,
        Event::Warning {
            message:
                "dpkg lock: held by unattended-upgr (pid 77); apt will wait for it up to 10 minutes"
                    .into(),
        },
    );
    a
}

fn failed() -> App {
    let mut a = mid_run();
    let f = RunFailure {
        phase: PhaseId::Database,
        kind: crate::vocab::ErrorKind::Command,
        cause: "`psql -v ON_ERROR_STOP=1` failed with exit code 2: psql: error: connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: No such file or directory".into(),
        fix: Some("systemctl status postgresql shows why the server is not running; fix it and run mattermost-setup again".into()),
    };
    a.update(Msg::Engine(Event::PhaseVerified {
        phase: PhaseId::Packages,
        changed: true,
        evidence: vec![],
        elapsed: Duration::from_secs(9),
    }));
    a.update(Msg::Engine(Event::PhaseStarted {
        phase: PhaseId::Database,
    }));
    a.update(Msg::Engine(Event::PhaseFailed {
        phase: f.phase,
        cause: f.cause.clone(),
        fix: f.fix.clone(),
    }));
    a.update(Msg::Finished(Err(f)));
    a
}

/// A service failure whose fix carries the unit's last 20 journal lines.
#[test]
fn a_long_journal_keeps_the_log_path_and_the_newest_lines_on_the_card() {
    let mut a = mid_run();
    let journal: Vec<String> = (1..=20)
        .map(|i| format!("Nov 29 03:00:{i:02} box mattermost[42]: journal line {i:02}"))
        .collect();
    let f = RunFailure {
        phase: PhaseId::Service,
        kind: crate::vocab::ErrorKind::Failed,
        cause: "Mattermost did not start: Mattermost exited (result: exit-code)".into(),
        fix: Some(format!(
            "a wrong database password is the usual cause; `journalctl -u mattermost.service -n 20 --no-pager` says:\n{}",
            journal.join("\n")
        )),
    };
    a.update(Msg::Finished(Err(f)));
    let t = render(&a, 80, 24, Theme::default_color());
    let text = t.backend().to_string();
    assert!(text.contains("journal line 20"), "{text}");
    assert!(text.contains("more lines in the log"), "{text}");
    assert!(text.contains("r: retry"), "{text}");
    assert!(text.contains("log "), "{text}");
}

fn finished() -> App {
    let mut a = mid_run();
    // Every phase after preflight, whatever phases this build has.
    let evidence = |phase: PhaseId| match phase {
        PhaseId::Packages => {
            "✓ packages installed: ca-certificates postgresql postgresql-client apache2"
        }
        PhaseId::Database => "✓ login as mmuser: connected to mattermost",
        PhaseId::Mattermost => "✓ config.json: 8 keys as planned",
        PhaseId::Service => "✓ ping: GET /api/v4/system/ping answered OK",
        PhaseId::Proxy => "✓ apache2 configtest: Syntax OK",
        PhaseId::Acceptance => "✓ websocket through Apache: 101 Switching Protocols",
        _ => "✓ nothing to do: as the answers say",
    };
    let rest: Vec<PhaseId> = PhaseId::ALL
        .iter()
        .copied()
        .filter(|p| *p != PhaseId::Preflight)
        .collect();
    for &phase in &rest {
        a.update(Msg::Engine(Event::PhaseStarted { phase }));
        a.update(Msg::Engine(Event::PhaseVerified {
            phase,
            changed: matches!(
                phase,
                PhaseId::Packages
                    | PhaseId::Database
                    | PhaseId::Mattermost
                    | PhaseId::Service
                    | PhaseId::Proxy
            ),
            evidence: vec![evidence(phase).into()],
            elapsed: Duration::from_millis(1200),
        }));
    }
    a.update(Msg::Finished(Ok(RunSummary {
        url: "http://chat.example.com".into(),
        tls_pending: None,
        phases: PhaseId::ALL.len(),
        changed: 5,
        elapsed: Duration::from_millis(12_600),
    })));
    a
}

#[test]
fn screen_preflight() {
    let mut a = app();
    snap("preflight_checking", &a);
    a.update(Msg::Preflight(preflight_checks()));
    snap("preflight", &a);
}

#[test]
fn screen_domain() {
    let a = at(Step::Domain);
    snap("domain", &a);
    let mut bad = app();
    bad.update(Msg::Preflight(vec![]));
    bad.update(key(KeyCode::Enter));
    typed(&mut bad, "localhost");
    bad.update(key(KeyCode::Enter));
    assert_eq!(
        bad.screen,
        Screen::Wizard(Step::Domain),
        "an invalid name does not go on"
    );
    snap("domain_invalid", &bad);
}

#[test]
fn screen_machines() {
    let mut a = at(Step::Machines);
    assert_eq!(
        a.draft.fields(Step::Machines),
        [Field::Machines, Field::LicenseFile]
    );
    snap("machines_one", &a);
    a.draft.caps = Caps {
        nginx: true,
        letsencrypt: true,
        existing_tls: true,
    };
    a.update(key(KeyCode::Right)); // Several machines
    assert_eq!(a.draft.value(Field::Proxy), "nginx");
    // Enter goes to the list, which needs an answer, then to this machine's name:
    // none of the machines has this box's addresses (none are known here).
    a.update(key(KeyCode::Enter));
    assert_eq!(a.focused(), Some(Field::MachineList));
    typed(
        &mut a,
        "db1 database 10.0.0.10, app1 app 10.0.0.21, web proxy 10.0.0.30",
    );
    a.update(key(KeyCode::Enter));
    assert_eq!(a.focused(), Some(Field::Node));
    a.update(key(KeyCode::Enter));
    assert_eq!(a.screen, Screen::Wizard(Step::Machines));
    snap("machines_several_unknown_node", &a);
    typed(&mut a, "app1");
    snap("machines_several", &a);
    a.update(key(KeyCode::Enter));
    assert_eq!(a.screen, Screen::Wizard(Step::Database));
    let json = a.draft.to_json();
    assert_eq!(json["machines"][1]["role"], "app");
    assert_eq!(json["node"], "app1");
}

#[test]
fn screen_database() {
    snap("database_generated", &at(Step::Database));
    let mut a = at(Step::Database);
    for _ in 0..3 {
        a.update(key(KeyCode::Down));
    }
    a.update(key(KeyCode::Right));
    a.update(key(KeyCode::Enter));
    typed(&mut a, "correct horse 9");
    a.update(key(KeyCode::Enter));
    typed(&mut a, "correct horse 8");
    a.update(key(KeyCode::Enter));
    assert_eq!(
        a.screen,
        Screen::Wizard(Step::Database),
        "a mismatch does not go on"
    );
    snap("database_typed_mismatch", &a);
}

#[test]
fn screen_storage() {
    snap("storage", &at(Step::Storage));
}

#[test]
fn screen_release() {
    snap("release", &at(Step::Release));
    let mut a = at(Step::Release);
    a.update(key(KeyCode::Down));
    a.update(key(KeyCode::Left));
    a.update(key(KeyCode::Enter));
    typed(&mut a, "11.7.90");
    a.update(key(KeyCode::Enter));
    // A version the table does not list goes on: its GPG signature is checked at
    // install (phases/mattermost/signature.rs).
    assert_eq!(a.screen, Screen::Wizard(Step::Proxy));
}

#[test]
fn screen_proxy() {
    snap("proxy", &at(Step::Proxy));
    // A build whose validation accepts nginx and TLS offers them, with their fields.
    let mut a = at(Step::Proxy);
    a.draft.caps = Caps {
        nginx: true,
        letsencrypt: true,
        existing_tls: true,
    };
    a.update(key(KeyCode::Right)); // nginx
    a.update(key(KeyCode::Down));
    a.update(key(KeyCode::Right)); // Let's Encrypt
    // Enter goes to the first field that needs an answer: the e-mail, then the terms.
    a.update(key(KeyCode::Enter));
    assert_eq!(a.focused(), Some(Field::LetsencryptEmail));
    typed(&mut a, "admin@example.com");
    a.update(key(KeyCode::Enter));
    assert_eq!(a.focused(), Some(Field::LetsencryptAgree));
    a.update(key(KeyCode::Enter));
    assert_eq!(
        a.screen,
        Screen::Wizard(Step::Proxy),
        "the terms are not agreed yet"
    );
    snap("proxy_letsencrypt", &a);
    a.update(key(KeyCode::Right));
    a.update(key(KeyCode::Enter));
    assert_eq!(a.screen, Screen::Wizard(Step::Admin));
    let json = a.draft.to_json();
    assert_eq!(json["proxy"], "nginx");
    assert_eq!(json["tls"], "letsencrypt");
    assert_eq!(json["letsencrypt_email"], "admin@example.com");
    assert_eq!(json["letsencrypt_agree_tos"], true);
}

#[test]
fn screen_admin() {
    let mut a = at(Step::Admin);
    a.update(key(KeyCode::Right));
    a.update(key(KeyCode::Enter));
    typed(&mut a, "boss");
    a.update(key(KeyCode::Enter));
    typed(&mut a, "boss@example");
    a.update(key(KeyCode::Enter));
    snap("admin", &a);
}

#[test]
fn screen_review_and_save() {
    let mut a = review();
    snap("review", &a);
    a.update(key(KeyCode::Char('s')));
    snap("save_dialog", &a);
    let cmds = a.update(key(KeyCode::Enter));
    let [Cmd::Save { path, .. }] = cmds.as_slice() else {
        panic!("{cmds:?}")
    };
    assert_eq!(path, &PathBuf::from("mattermost-answers.json"));
    a.update(Msg::Saved(Ok(SavedFiles {
        answers: "/root/mattermost-answers.json".into(),
        secrets: vec!["/root/mattermost-answers.db-password".into()],
    })));
    snap("save_done", &a);
}

#[test]
fn screen_quit_dialog() {
    let mut a = at(Step::Domain);
    a.update(ctrl('c'));
    assert_eq!(a.modal, Some(Modal::ConfirmQuit));
    snap("quit_dialog", &a);
    assert_eq!(a.update(key(KeyCode::Char('y'))), vec![Cmd::Quit]);
}

#[test]
fn screen_dashboard() {
    snap("dashboard_running", &mid_run());
    let mut a = mid_run();
    a.update(ctrl('c'));
    snap("dashboard_stop_dialog", &a);
    assert_eq!(a.update(key(KeyCode::Char('y'))), vec![Cmd::Cancel]);
    snap("dashboard_stopping", &a);
}

#[test]
fn screen_failure_card() {
    snap("dashboard_failed", &failed());
}

#[test]
fn screen_end() {
    snap("end", &finished());
}

#[test]
fn screen_too_small() {
    let a = at(Step::Domain);
    let t = render(&a, 60, 20, Theme::default_color());
    insta::assert_snapshot!("too_small_60x20", t.backend().to_string());
}

/// The colour of the first cell showing `symbol`.
fn color_of(t: &Terminal<TestBackend>, symbol: &str) -> Color {
    let buf = t.backend().buffer();
    buf.content()
        .iter()
        .find(|c| c.symbol() == symbol)
        .map_or_else(|| panic!("no {symbol} on screen"), |c| c.fg)
}

#[test]
fn colours_carry_meaning_next_to_symbols_and_go_with_no_color() {
    let mut a = app();
    a.update(Msg::Preflight(preflight_checks()));
    let t = render(&a, 80, 24, Theme::default_color());
    assert_eq!(color_of(&t, "✓"), Color::Green);
    assert_eq!(color_of(&t, "!"), Color::Yellow);
    assert_eq!(color_of(&t, "✗"), Color::Red);
    let t = render(&failed(), 80, 24, Theme::default_color());
    assert_eq!(color_of(&t, "✗"), Color::Red);
    let no_color = Theme {
        color: false,
        unicode: true,
    };
    for a in [&a, &failed(), &mid_run(), &finished(), &at(Step::Database)] {
        let t = render(a, 120, 40, no_color);
        for c in t.backend().buffer().content() {
            assert_eq!(
                (c.fg, c.bg),
                (Color::Reset, Color::Reset),
                "colour at {:?}",
                c.symbol()
            );
        }
    }
    // Without UTF-8 the marks become ASCII, and stay next to their words.
    let ascii = render(
        &a,
        80,
        24,
        Theme {
            color: true,
            unicode: false,
        },
    )
    .backend()
    .to_string();
    assert!(
        ascii.contains("x FAIL  port 80") && ascii.contains("+ ok    port 8065"),
        "{ascii}"
    );
}

#[test]
fn the_answers_are_what_was_typed() {
    let mut a = at(Step::Storage);
    a.update(key(KeyCode::Down));
    a.update(ctrl('u'));
    typed(&mut a, "/srv/mm/data");
    a.update(key(KeyCode::Enter));
    a.update(key(KeyCode::Right)); // team
    a.update(key(KeyCode::Down));
    a.update(key(KeyCode::Right)); // latest
    a.update(key(KeyCode::Enter));
    assert_eq!(a.screen, Screen::Wizard(Step::Proxy));
    a.update(key(KeyCode::Enter));
    a.update(key(KeyCode::Enter));
    assert_eq!(a.screen, Screen::Wizard(Step::Review));
    let r = a.reviewed.clone().unwrap();
    assert_eq!(r.domain, "chat.example.com");
    assert_eq!(r.data_dir, PathBuf::from("/srv/mm/data"));
    assert_eq!(r.edition.name(), "team");
    assert_eq!(r.version.to_string(), "latest");
    assert_eq!(r.db_password.expose(), "Q7sJ2mXv9LpR4tYw8ZcN3bKd6HfA1gEu");
    // Edit a step from the review and come back to it.
    a.update(key(KeyCode::Char('1')));
    assert_eq!(a.screen, Screen::Wizard(Step::Domain));
    a.update(ctrl('u'));
    typed(&mut a, "mm.example.org");
    a.update(key(KeyCode::Enter));
    assert_eq!(a.screen, Screen::Wizard(Step::Review));
    assert_eq!(a.reviewed.as_ref().unwrap().domain, "mm.example.org");
    assert_eq!(a.draft.text(Field::DataDir), "/srv/mm/data");
}

#[test]
fn nothing_is_installed_before_install_and_a_failure_can_be_retried() {
    let mut a = review();
    let mut cmds = Vec::new();
    for k in [KeyCode::Char('b'), KeyCode::Enter, KeyCode::Esc] {
        cmds.extend(a.update(key(k)));
    }
    assert!(
        cmds.iter().all(|c| !matches!(c, Cmd::Install(_))),
        "{cmds:?}"
    );
    let mut f = failed();
    assert!(matches!(
        f.run.as_ref().unwrap().outcome,
        Outcome::Failed(_)
    ));
    let cmds = f.update(key(KeyCode::Char('r')));
    assert!(matches!(cmds.as_slice(), [Cmd::Install(_)]));
    assert_eq!(f.run.as_ref().unwrap().attempt, 2);
    assert_eq!(f.run.as_ref().unwrap().outcome, Outcome::Running);
    // Ctrl-C on a finished run quits at once.
    let mut done = finished();
    assert_eq!(done.update(ctrl('c')), vec![Cmd::Quit]);
}

#[test]
fn a_download_retry_shows_under_the_bars() {
    let mut a = mid_run();
    a.update(Msg::Engine(Event::Retry {
        phase: PhaseId::Mattermost,
        what: "download of mattermost.tar.gz".into(),
        cause: "no data for 30s".into(),
        attempt: 2,
        attempts: 5,
        delay: Duration::from_secs(2),
    }));
    let screen = render(&a, 120, 40, Theme::default_color())
        .backend()
        .to_string();
    assert!(
        screen.contains(
            "download of mattermost.tar.gz interrupted (no data for 30s); attempt 2 of 5 in 2s"
        ),
        "{screen}"
    );
}

#[test]
fn the_log_scrolls_and_follows() {
    let mut a = mid_run();
    let tail = |a: &App| {
        render(a, 80, 24, Theme::default_color())
            .backend()
            .to_string()
    };
    assert!(tail(&a).contains("line 39"));
    for _ in 0..20 {
        a.update(key(KeyCode::Up));
    }
    assert!(!tail(&a).contains("line 39"));
    assert!(tail(&a).contains("20 lines up"));
    a.update(key(KeyCode::End));
    assert!(tail(&a).contains("line 39"));
}

#[test]
fn sigterm_stops_a_running_install_at_a_safe_point_then_quits() {
    // Before any install: leave at once (the runtime restores the terminal).
    let mut r = review();
    assert_eq!(r.update(Msg::Terminate), vec![Cmd::Quit]);
    assert!(r.quit);
    // During one: cancel, keep the screen until the engine has stopped, then quit.
    let mut a = mid_run();
    assert_eq!(a.update(Msg::Terminate), vec![Cmd::Cancel]);
    assert!(!a.quit);
    assert!(a.run.as_ref().unwrap().stopping);
    let cmds = a.update(Msg::Finished(Err(RunFailure {
        phase: PhaseId::Packages,
        kind: crate::vocab::ErrorKind::Stopped,
        cause: "stopped by the operator".into(),
        fix: None,
    })));
    assert_eq!(cmds, vec![Cmd::Quit]);
    assert!(a.quit);
}

/// Issue 8: directories holding a Mattermost the tool did not install: the storage
/// step shows the evidence and asks; the answer is the `adopt_existing` key.
#[test]
fn an_existing_mattermost_is_shown_and_adopting_it_is_asked() {
    use crate::phases::mattermost::dirs::Verdict;
    let mut a = at(Step::Storage);
    assert_eq!(
        a.draft.fields(Step::Storage).len(),
        2,
        "no question without evidence"
    );
    let verdict = |take, adoptable| Verdict {
        key: "install_dir",
        path: "/opt/mattermost".into(),
        take,
        adoptable,
    };
    a.update(Msg::Disk(DiskInfo {
        path: "/opt/mattermost/data".into(),
        measured_at: "/opt".into(),
        free: Some(38 * 1024 * 1024 * 1024),
        exists: true,
        dirs: vec![verdict(
            Err((
                "/opt/mattermost already holds a Mattermost installation (bin/mattermost, config/config.json) that mattermost-setup did not create".into(),
                "add adopt_existing".into(),
            )),
            true,
        )],
    }));
    assert!(
        a.draft
            .fields(Step::Storage)
            .contains(&Field::AdoptExisting)
    );
    let screen = render(&a, 120, 40, Theme::default_color())
        .backend()
        .to_string();
    assert!(screen.contains("Existing Mattermost"), "{screen}");
    assert!(
        screen.contains("bin/mattermost, config/config.json"),
        "{screen}"
    );
    assert!(screen.contains("Take it over"), "{screen}");
    assert_eq!(a.draft.to_json().get("adopt_existing"), None);
    a.draft.select(Field::AdoptExisting, "yes");
    assert_eq!(a.draft.to_json()["adopt_existing"], true);
    let answers = a.draft.validate().unwrap();
    assert!(answers.adopt_existing);
    // A directory of other files: refused with the fix, nothing to adopt.
    let mut a = at(Step::Storage);
    a.update(Msg::Disk(DiskInfo {
        path: "/opt/mattermost/data".into(),
        measured_at: "/opt".into(),
        free: Some(38 * 1024 * 1024 * 1024),
        exists: true,
        dirs: vec![verdict(
            Err((
                "/opt/mattermost is not empty (notes.txt)".into(),
                "choose a new or empty directory".into(),
            )),
            false,
        )],
    }));
    assert!(
        !a.draft
            .fields(Step::Storage)
            .contains(&Field::AdoptExisting)
    );
    let screen = render(&a, 120, 40, Theme::default_color())
        .backend()
        .to_string();
    assert!(
        screen.contains("is not empty (notes.txt)") && screen.contains("choose a new or empty"),
        "{screen}"
    );
}

/// A wizard as on a server where Let's Encrypt is offered (this build's validation
/// accepts it), the domain typed and `dns` as the DNS check's answer.
fn tls_app(dns: Result<Vec<std::net::IpAddr>, String>) -> App {
    let draft = Draft::new(
        Secret::new("Q7sJ2mXv9LpR4tYw8ZcN3bKd6HfA1gEu"),
        Caps {
            nginx: true,
            letsencrypt: true,
            existing_tls: true,
        },
        Prefill::default(),
    );
    let mut a = App::new(draft, PathBuf::from(LOG));
    a.update(Msg::Preflight(preflight_checks()));
    a.update(key(KeyCode::Enter));
    typed(&mut a, "chat.example.com");
    a.update(Msg::Dns(dns::compare(
        "chat.example.com",
        dns,
        vec![("203.0.113.7".parse().unwrap(), Scope::Public)],
    )));
    a
}

fn points_here() -> Vec<std::net::IpAddr> {
    vec!["203.0.113.7".parse().unwrap()]
}

fn points_elsewhere() -> Vec<std::net::IpAddr> {
    vec!["198.51.100.20".parse().unwrap()]
}

/// Issue 11: TLS on by default. The DNS check pre-selects Let's Encrypt now when the
/// domain points here, "later" otherwise; both are `tls: letsencrypt` (the TLS phase
/// asks the CA once the name points here; `repair` does it later). A choice the
/// operator made, or a saved `none`, is never changed by the DNS check.
#[test]
fn the_dns_check_preselects_lets_encrypt_now_or_later() {
    let a = tls_app(Ok(points_here()));
    assert_eq!(a.draft.value(Field::Tls), "letsencrypt");
    let a = tls_app(Ok(points_elsewhere()));
    assert_eq!(a.draft.value(Field::Tls), "later");
    let a = tls_app(Err("no such host".into()));
    assert_eq!(a.draft.value(Field::Tls), "later");
    assert_eq!(
        a.draft.to_json()["tls"],
        "letsencrypt",
        "later is letsencrypt"
    );
    // The DNS answer changes with the domain: the pre-selection follows it...
    let mut a = tls_app(Ok(points_elsewhere()));
    a.draft.dns_checked(&dns::compare(
        "chat.example.com",
        Ok(points_here()),
        vec![("203.0.113.7".parse().unwrap(), Scope::Public)],
    ));
    assert_eq!(a.draft.value(Field::Tls), "letsencrypt");
    // ...until the operator chooses.
    a.draft.cycle(Field::Tls, -1);
    assert_eq!(a.draft.value(Field::Tls), "none");
    a.draft.dns_checked(&dns::compare(
        "chat.example.com",
        Ok(points_here()),
        vec![("203.0.113.7".parse().unwrap(), Scope::Public)],
    ));
    assert_eq!(a.draft.value(Field::Tls), "none");
    // Saved answers without TLS stay without it.
    let saved = crate::answers::from_json(
        r#"{"domain":"chat.example.com","db_password":"the old one!"}"#,
        None,
    )
    .unwrap();
    let mut d = Draft::new(
        Secret::new("x-generated-1234"),
        Caps {
            nginx: true,
            letsencrypt: true,
            existing_tls: true,
        },
        Prefill {
            saved: Some(saved),
            ..Prefill::default()
        },
    );
    d.dns_checked(&dns::compare(
        "chat.example.com",
        Ok(points_here()),
        vec![("203.0.113.7".parse().unwrap(), Scope::Public)],
    ));
    assert_eq!(d.value(Field::Tls), "none");
    // Without Let's Encrypt in this build, nothing changes: plain http as before.
    let mut m = app();
    m.update(Msg::Dns(dns::compare(
        "",
        Ok(points_here()),
        vec![("203.0.113.7".parse().unwrap(), Scope::Public)],
    )));
    assert_eq!(m.draft.value(Field::Tls), "none");
}

/// The keypresses of a default install with TLS, besides typing the domain and the
/// e-mail: Enter on preflight, the domain, the machines, the database, the storage
/// and the release screens; on the proxy screen (the focus starts on the e-mail) Enter, Space to
/// agree to the terms, Enter; Enter on the admin screen; Enter to install on the
/// review; Enter to leave the end screen. The PTY test counts the same on a fresh box.
#[test]
fn a_default_tls_install_takes_twelve_keys_besides_the_domain_and_the_email() {
    let mut a = tls_app(Ok(points_here()));
    let mut keys = 1; // Enter on preflight (in tls_app)
    let mut press = |a: &mut App, code: KeyCode| {
        keys += 1;
        a.update(key(code))
    };
    press(&mut a, KeyCode::Enter);
    for step in [Step::Machines, Step::Database, Step::Storage, Step::Release] {
        assert_eq!(a.screen, Screen::Wizard(step));
        if step == Step::Storage {
            a.update(Msg::Disk(DiskInfo {
                path: "/opt/mattermost/data".into(),
                measured_at: "/opt".into(),
                free: Some(38 * 1024 * 1024 * 1024),
                exists: false,
                dirs: Vec::new(),
            }));
        }
        press(&mut a, KeyCode::Enter);
    }
    assert_eq!(a.screen, Screen::Wizard(Step::Proxy));
    assert_eq!(a.draft.value(Field::Tls), "letsencrypt");
    assert_eq!(a.focused(), Some(Field::LetsencryptEmail));
    snap("proxy_tls_now", &a);
    typed(&mut a, "ops@example.com");
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.focused(), Some(Field::LetsencryptAgree));
    press(&mut a, KeyCode::Char(' '));
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.screen, Screen::Wizard(Step::Admin));
    press(&mut a, KeyCode::Enter);
    assert_eq!(a.screen, Screen::Wizard(Step::Review));
    let cmds = press(&mut a, KeyCode::Enter);
    let [Cmd::Install(answers)] = cmds.as_slice() else {
        panic!("{cmds:?}")
    };
    assert_eq!(answers.tls, crate::answers::Tls::Letsencrypt);
    assert_eq!(
        answers.letsencrypt_email.as_deref(),
        Some("ops@example.com")
    );
    assert!(answers.letsencrypt_agree_tos);
    a.update(Msg::Finished(Ok(RunSummary {
        url: "https://chat.example.com".into(),
        tls_pending: None,
        phases: PhaseId::ALL.len(),
        changed: 9,
        elapsed: Duration::from_secs(60),
    })));
    assert_eq!(press(&mut a, KeyCode::Enter), vec![Cmd::Quit]);
    assert_eq!(keys, 12);
}

/// The domain points elsewhere: the proxy screen says what it resolves to and what
/// this server has, and that `repair` obtains the certificate later; the review and
/// the end screen say so too.
#[test]
fn tls_later_is_explained_on_the_proxy_review_and_end_screens() {
    let mut a = tls_app(Ok(points_elsewhere()));
    for _ in 0..5 {
        a.update(key(KeyCode::Enter));
        if a.screen == Screen::Wizard(Step::Storage) {
            a.update(Msg::Disk(DiskInfo {
                path: "/opt/mattermost/data".into(),
                measured_at: "/opt".into(),
                free: Some(38 * 1024 * 1024 * 1024),
                exists: false,
                dirs: Vec::new(),
            }));
        }
    }
    assert_eq!(a.screen, Screen::Wizard(Step::Proxy));
    assert_eq!(a.draft.value(Field::Tls), "later");
    snap("proxy_tls_later", &a);
    let screen = render(&a, 120, 40, Theme::default_color())
        .backend()
        .to_string();
    assert!(
        screen.contains("chat.example.com resolves to 198.51.100.20; this server has 203.0.113.7"),
        "{screen}"
    );
    assert!(screen.contains("sudo mattermost-setup repair"), "{screen}");
    typed(&mut a, "ops@example.com");
    a.update(key(KeyCode::Enter));
    a.update(key(KeyCode::Char(' ')));
    a.update(key(KeyCode::Enter));
    a.update(key(KeyCode::Enter));
    assert_eq!(a.screen, Screen::Wizard(Step::Review));
    let screen = render(&a, 120, 40, Theme::default_color())
        .backend()
        .to_string();
    assert!(screen.contains("TLS letsencrypt later"), "{screen}");
    a.update(key(KeyCode::Enter));
    let pending = "No certificate yet: chat.example.com resolves to 198.51.100.20, not to this server. Once chat.example.com points here, run `sudo mattermost-setup repair`: it obtains the certificate and switches the site to https.";
    a.update(Msg::Finished(Ok(RunSummary {
        url: "http://chat.example.com".into(),
        tls_pending: Some(pending.into()),
        phases: PhaseId::ALL.len(),
        changed: 9,
        elapsed: Duration::from_secs(60),
    })));
    let screen = render(&a, 120, 40, Theme::default_color())
        .backend()
        .to_string();
    assert!(screen.contains("No certificate yet"), "{screen}");
    assert!(screen.contains("sudo mattermost-setup repair"), "{screen}");
}
