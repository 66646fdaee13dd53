//! The plain wizard: the same questions as the full-screen one, as inquire prompts,
//! then the install with plain output (indicatif bars). Used with `--plain`,
//! `TERM=dumb`, a terminal smaller than 80x24, or when stdout is not a terminal.
//! The values and their validation are the full-screen wizard's ([`Draft`]).

use std::fmt::Write as _;
use std::path::PathBuf;

use inquire::validator::Validation;
use inquire::{InquireError, Password, PasswordDisplayMode, Select, Text};

use crate::answers::{self, Answers, SAVED_ANSWERS, Secret};
use crate::engine::evidence_line;
use crate::host::Host;
use crate::phases::Level;
use crate::plan;
use crate::probes::{dns, system};
use crate::ui::driver::{Driver, MakeDriver};
use crate::ui::plain;
use crate::ui::tui::draft::{Caps, Draft, Field, Kind, Prefill, Step, strength};

/// Why a question got no answer.
#[derive(Debug, thiserror::Error)]
enum Stop {
    #[error("{0}")]
    Prompt(#[from] InquireError),
    #[error("end of input before every question had an answer")]
    Eof,
    #[error("cannot read the answer: {0}")]
    Io(#[from] std::io::Error),
}

type Asked<T> = Result<T, Stop>;

/// How the plain wizard asks. `Editor`: inquire's line editor (cursor movement,
/// colour), for `--plain` on a capable terminal. `Lines`: bare text, one answer per
/// line read from stdin, and not one escape sequence written — for `TERM=dumb`,
/// serial consoles, `script` transcripts and piped input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Editor,
    Lines,
}

impl Style {
    fn detect() -> Self {
        use std::io::IsTerminal;
        let dumb = matches!(std::env::var("TERM").as_deref(), Err(_) | Ok("" | "dumb"));
        if dumb || !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
            Style::Lines
        } else {
            Style::Editor
        }
    }
}

/// A validator for one field: the draft with this value, checked by `from_json`.
fn check(d: &Draft, f: Field, s: &str) -> Option<String> {
    let mut c = d.clone();
    c.set_text(f, s);
    c.edited(f);
    c.errors_in(&[f])
        .first()
        .map(|(_, e)| format!("{} {} (fix: {})", e.field, e.problem, e.fix))
}

fn validator(
    d: &Draft,
    f: Field,
) -> impl Fn(&str) -> Result<Validation, inquire::CustomUserError> + Clone + 'static {
    let d = d.clone();
    move |s: &str| {
        Ok(match check(&d, f, s) {
            Some(e) => Validation::Invalid(e.into()),
            None => Validation::Valid,
        })
    }
}

mod lines {
    //! Bare-text prompts: a line out, a line in.
    use std::io::{BufRead, Write};

    use super::{Asked, Stop};

    pub fn read(prompt: &str) -> Asked<String> {
        let mut out = std::io::stdout().lock();
        write!(out, "{prompt}")?;
        out.flush()?;
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line)? == 0 {
            return Err(Stop::Eof);
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }

    /// Reads a line with the terminal's echo off (termios, not an escape sequence),
    /// restored on every path out.
    pub fn read_hidden(prompt: &str) -> Asked<String> {
        use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
        let stdin = std::io::stdin();
        let saved = tcgetattr(&stdin).ok();
        if let Some(t) = &saved {
            let mut quiet = t.clone();
            quiet.local_modes -= LocalModes::ECHO;
            let _ = tcsetattr(&stdin, OptionalActions::Now, &quiet);
        }
        let r = read(prompt);
        if let Some(t) = &saved {
            let _ = tcsetattr(&stdin, OptionalActions::Now, t);
            println!();
        }
        r
    }

    /// A numbered menu; Enter keeps `start`. Returns the index chosen.
    pub fn choose(label: &str, options: &[String], start: usize, help: &str) -> Asked<usize> {
        println!("{label}");
        for (i, o) in options.iter().enumerate() {
            let mark = if i == start { '*' } else { ' ' };
            println!("{mark} {}) {o}", i + 1);
        }
        if !help.is_empty() {
            println!("  ({help})");
        }
        loop {
            let a = read(&format!("Choose 1-{} [{}]: ", options.len(), start + 1))?;
            if a.trim().is_empty() {
                return Ok(start);
            }
            match a.trim().parse::<usize>() {
                Ok(n) if (1..=options.len()).contains(&n) => return Ok(n - 1),
                _ => println!("  ✗ type a number from 1 to {}", options.len()),
            }
        }
    }
}

fn ask_text(d: &mut Draft, f: Field, style: Style) -> Asked<()> {
    let label = format!("{}:", f.label());
    let current = d.text(f).to_owned();
    let v = match style {
        Style::Editor => Text::new(&label)
            .with_initial_value(&current)
            .with_help_message(f.help())
            .with_validator(validator(d, f))
            .prompt()?,
        Style::Lines => {
            println!("  ({})", f.help());
            loop {
                let a = lines::read(&format!("{label} [{current}] "))?;
                let a = if a.trim().is_empty() {
                    current.clone()
                } else {
                    a
                };
                match check(d, f, a.trim()) {
                    Some(e) => println!("  ✗ {e}"),
                    None => break a,
                }
            }
        }
    };
    d.set_text(f, v.trim());
    d.edited(f);
    Ok(())
}

fn ask_secret(d: &mut Draft, f: Field, again: Field, style: Style) -> Asked<()> {
    let label = format!("{}:", f.label());
    let v = match style {
        Style::Editor => Password::new(&label)
            .with_display_mode(PasswordDisplayMode::Masked)
            .with_custom_confirmation_message("Again:")
            .with_custom_confirmation_error_message("The two entries differ; type it again.")
            .with_help_message(f.help())
            .with_validator(validator(d, f))
            .prompt()?,
        Style::Lines => {
            println!("  ({}; not shown while typed)", f.help());
            loop {
                let a = lines::read_hidden(&format!("{label} "))?;
                if let Some(e) = check(d, f, &a) {
                    println!("  ✗ {e}");
                    continue;
                }
                if lines::read_hidden("Again: ")? == a {
                    break a;
                }
                println!("  ✗ the two entries differ; type it again.");
            }
        }
    };
    d.set_text(f, &v);
    d.set_text(again, &v);
    let (words, bits) = strength(&v);
    println!("  strength: {words} (~{bits} bits)");
    Ok(())
}

/// A key pasted once, hidden (the object storage secret); Enter keeps the one the
/// earlier install saved.
fn ask_key(d: &mut Draft, f: Field, style: Style) -> Asked<()> {
    let label = format!("{}:", f.label());
    let kept = d.text(f).to_owned();
    let help = if kept.is_empty() {
        f.help().to_owned()
    } else {
        format!("{} Enter keeps the saved one.", f.help())
    };
    let v = match style {
        Style::Editor => Password::new(&label)
            .with_display_mode(PasswordDisplayMode::Masked)
            .without_confirmation()
            .with_help_message(&help)
            .prompt()?,
        Style::Lines => {
            println!("  ({help}; not shown while typed)");
            lines::read_hidden(&format!("{label} "))?
        }
    };
    if !v.is_empty() {
        d.set_text(f, &v);
    }
    Ok(())
}

fn ask_choice(d: &mut Draft, f: Field, style: Style) -> Asked<()> {
    let opts = d.options(f);
    for o in opts.iter().filter(|o| !o.enabled) {
        println!("  ({}: {})", o.label, o.note);
    }
    let offered: Vec<String> = opts
        .iter()
        .filter(|o| o.enabled)
        .map(|o| {
            if o.note.is_empty() {
                o.label.clone()
            } else {
                format!("{} — {}", o.label, o.note)
            }
        })
        .collect();
    let values: Vec<&str> = opts.iter().filter(|o| o.enabled).map(|o| o.value).collect();
    let start = values.iter().position(|v| *v == d.value(f)).unwrap_or(0);
    let label = format!("{}:", f.label());
    if let Some(i) = select(&label, &offered, start, f.help(), style)? {
        d.pick(f, values[i]);
    }
    Ok(())
}

/// One of `options`, by index; `None` if the answer matched none (cannot happen).
fn select(
    label: &str,
    options: &[String],
    start: usize,
    help: &str,
    style: Style,
) -> Asked<Option<usize>> {
    match style {
        Style::Editor => {
            let chosen = Select::new(label, options.to_vec())
                .with_starting_cursor(start)
                .with_help_message(help)
                .prompt()?;
            Ok(options.iter().position(|o| *o == chosen))
        }
        Style::Lines => lines::choose(label, options, start, help).map(Some),
    }
}

fn print_dns(r: &dns::DnsReport) {
    let answers: Vec<String> = r.resolved.iter().map(ToString::to_string).collect();
    let local: Vec<String> = r
        .local
        .iter()
        .map(|(ip, s)| format!("{ip} ({s:?})").to_lowercase())
        .collect();
    println!(
        "  DNS A/AAAA for {}: {}",
        r.domain,
        if answers.is_empty() {
            "none".into()
        } else {
            answers.join(", ")
        }
    );
    println!(
        "  this server: {}",
        if local.is_empty() {
            "none found".into()
        } else {
            local.join(", ")
        }
    );
    if r.points_here {
        println!("  ✓ points at this server");
    }
    for f in &r.findings {
        println!("  ! {f}");
    }
    if !r.points_here {
        println!("  (this never blocks the install)");
    }
}

fn ask_step(d: &mut Draft, step: Step, host: &Host, style: Style) -> Asked<()> {
    println!("\n== {} ==", step.title());
    let mut i = 0;
    loop {
        let fields = d.fields(step);
        let Some(&f) = fields.get(i) else { break };
        match f.kind() {
            Kind::Text => ask_text(d, f, style)?,
            Kind::Choice => ask_choice(d, f, style)?,
            Kind::Secret if f == Field::S3Secret => ask_key(d, f, style)?,
            Kind::Secret => {
                let again = if f == Field::DbPassword {
                    Field::DbPasswordAgain
                } else {
                    Field::AdminPasswordAgain
                };
                ask_secret(d, f, again, style)?;
                i += 1; // the confirmation was asked with it
            }
        }
        i += 1;
        if f == Field::DbPasswordMode && d.value(f) == "generate" {
            println!(
                "  generated password (shown once): {}",
                d.generated.expose()
            );
            println!("  it is kept (mode 600) in {SAVED_ANSWERS}");
        }
    }
    match step {
        Step::Domain => {
            let r = dns::check(host, d.text(Field::Domain));
            print_dns(&r);
            // Let's Encrypt now when the name points here, later otherwise.
            d.dns_checked(&r);
            match d.value(Field::Tls) {
                "letsencrypt" => println!(
                    "  TLS: Let's Encrypt is pre-selected; the certificate is obtained during the install."
                ),
                "later" => println!(
                    "  TLS: Let's Encrypt later is pre-selected: the install runs on http now. Once {} points at this server, `sudo mattermost-setup repair` obtains the certificate and switches the site to https.",
                    d.text(Field::Domain)
                ),
                _ => {}
            }
        }
        Step::Storage => {
            let path = std::path::PathBuf::from(d.text(Field::DataDir));
            if let Some((at, free)) = system::free_bytes(&path) {
                println!(
                    "  free space: {} on the filesystem of {}",
                    system::human_bytes(free),
                    at.display()
                );
            }
            if !path.is_dir() {
                println!(
                    "  {} does not exist yet: it is created during the install",
                    path.display()
                );
            }
        }
        _ => {}
    }
    Ok(())
}

fn review(a: &Answers, driver: &dyn Driver) -> String {
    let mut s = String::from("\n== Review (nothing on this server has changed yet) ==\n");
    let admin = a.admin.as_ref().map_or_else(
        || "none".to_owned(),
        |ad| format!("{} <{}>, password ********", ad.username, ad.email),
    );
    for (k, v) in [
        ("domain", format!("{} → {}", a.domain, a.site_url())),
        (
            "machines",
            a.this_machine().map_or_else(
                || "this server only".to_owned(),
                |m| {
                    format!(
                        "this is {} ({}) of {}",
                        m.name,
                        m.role.name(),
                        a.machines.len()
                    )
                },
            ),
        ),
        (
            "database",
            format!(
                "{}, database {}, user {}, password ********",
                a.db_engine.name(),
                a.db_name,
                a.db_user
            ),
        ),
        (
            "storage",
            format!(
                "install {}, data {}",
                a.install_dir.display(),
                a.data_dir.display()
            ),
        ),
        ("release", format!("{} {}", a.edition.name(), a.version)),
        ("proxy", format!("{}, TLS {}", a.proxy.name(), a.tls.name())),
        ("admin", admin),
    ] {
        let _ = writeln!(s, "  {k:<9} {v}");
    }
    match driver.plan(a) {
        Ok(p) => {
            s.push('\n');
            s.push_str(&plan::render_text(&p, driver.host()));
        }
        Err(e) => {
            let _ = writeln!(s, "no plan: {e}");
        }
    }
    s
}

/// How the plain wizard ended; `cli` turns it into the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Nothing was installed and nothing on this server was changed.
    NothingChanged,
    /// The wizard could not go on (no random source, or no plan for the answers).
    Refused { log: PathBuf },
    /// The install finished and every phase is verified.
    Installed { log: PathBuf },
    /// The install stopped in a phase; the next run continues it.
    Failed { log: PathBuf },
}

fn nothing_changed() -> Ended {
    println!("Nothing was installed; nothing on this server was changed.");
    Ended::NothingChanged
}

/// The plain wizard, from preflight to the installed server.
#[allow(clippy::too_many_lines)]
pub fn run(prefill: Prefill, make: MakeDriver<'_>) -> Ended {
    let style = Style::detect();
    let driver = make(plain::sink(false));
    let host = driver.host();
    host.note_quiet(&format!(
        "mattermost-setup {} plain wizard",
        env!("CARGO_PKG_VERSION")
    ));
    let Ok(generated) = Secret::generate() else {
        eprintln!("the system random source failed; give db_password in an answers file instead");
        return Ended::Refused {
            log: host.log_path().to_owned(),
        };
    };
    let prefill = Prefill {
        addresses: dns::local_addresses(host)
            .into_iter()
            .map(|(a, _)| a)
            .collect(),
        ..prefill
    };
    let mut d = Draft::new(generated, Caps::detect(), prefill);
    println!(
        "mattermost-setup {}: preflight (read-only)",
        env!("CARGO_PKG_VERSION")
    );
    let checks = crate::ui::tui::preflight(&*driver, &d);
    for c in &checks {
        println!("  {}", evidence_line(c));
        if c.level == Level::Fail {
            if let Some(fix) = &c.fix {
                println!("      fix: {fix}");
            }
        }
    }
    let blocking = checks.iter().filter(|c| c.level == Level::Fail).count();
    if blocking > 0 {
        println!(
            "✗ {blocking} problem(s) above block the install; you can still answer and save the answers."
        );
    }
    if d.prefill.saved.is_some() {
        println!("An earlier install was found ({SAVED_ANSWERS}): its answers are filled in.");
    }
    let mut steps: Vec<Step> = Step::ALL
        .iter()
        .copied()
        .filter(|s| *s != Step::Review)
        .collect();
    loop {
        for step in std::mem::take(&mut steps) {
            if let Err(e) = ask_step(&mut d, step, host, style) {
                eprintln!("{e}");
                return nothing_changed();
            }
        }
        let answers = match d.validate() {
            Ok(a) => a,
            Err(errs) => {
                for (_, e) in errs {
                    println!("✗ {} {} (fix: {})", e.field, e.problem, e.fix);
                }
                steps = Step::ALL
                    .iter()
                    .copied()
                    .filter(|s| *s != Step::Review)
                    .collect();
                continue;
            }
        };
        print!("{}", review(&answers, &*driver));
        let choices = [
            "Install now",
            "Save the answers (for an unattended replay)",
            "Change the answers",
            "Quit",
        ]
        .map(str::to_owned);
        let choice = match select("Next:", &choices, 0, "", style) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{e}");
                return nothing_changed();
            }
        };
        match choice {
            Some(0) => return install(&*driver, &answers),
            Some(1) => {
                let path = match style {
                    Style::Editor => Text::new("Save to:")
                        .with_initial_value(super::tui::app::DEFAULT_SAVE_PATH)
                        .prompt()
                        .map_err(Stop::from),
                    Style::Lines => lines::read(&format!(
                        "Save to: [{}] ",
                        super::tui::app::DEFAULT_SAVE_PATH
                    ))
                    .map(|p| {
                        if p.trim().is_empty() {
                            super::tui::app::DEFAULT_SAVE_PATH.to_owned()
                        } else {
                            p
                        }
                    }),
                };
                match path
                    .map(|p| answers::save_for_replay(&answers, std::path::Path::new(p.trim())))
                {
                    Ok(Ok(files)) => {
                        println!(
                            "✓ saved {} (passwords in {}, mode 600)",
                            files.answers.display(),
                            files
                                .secrets
                                .iter()
                                .map(|p| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                        println!(
                            "  replay: mattermost-setup install --answers {} --yes",
                            files.answers.display()
                        );
                        if !answers.machines.is_empty() {
                            println!("  {}", crate::ui::tui::draft::machines_order(&answers));
                        }
                    }
                    Ok(Err(e)) => println!("✗ not saved: {e}"),
                    Err(e) => println!("✗ not saved: {e}"),
                }
            }
            Some(2) => {
                steps = Step::ALL
                    .iter()
                    .copied()
                    .filter(|s| *s != Step::Review)
                    .collect();
            }
            _ => return nothing_changed(),
        }
    }
}

fn install(driver: &dyn Driver, a: &Answers) -> Ended {
    let log = driver.host().log_path().to_owned();
    let plan = match driver.plan(a) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("version: {e}");
            return Ended::Refused { log };
        }
    };
    println!(
        "Installing Mattermost {} ({}) for {} — log: {}",
        plan.release.version,
        plan.release.edition,
        plan.site_url,
        log.display()
    );
    match driver.install(a, &crate::vocab::Cancel::default()) {
        Ok(s) => {
            println!(
                "\nMattermost is up at {} ({} phases verified, {} changed, {:.1}s).\n\
                 Answers (with the database password, mode 600): {SAVED_ANSWERS}\n\
                 Next: open {} and create the first account; it becomes the system admin.",
                s.url,
                s.phases,
                s.changed,
                s.elapsed.as_secs_f64(),
                s.url
            );
            if let Some(t) = &s.tls_pending {
                println!("{t}");
            }
            Ended::Installed { log }
        }
        Err(f) => {
            println!(
                "\nThe install stopped in phase {}. Nothing verified so far was undone; fix the cause and run mattermost-setup again to continue.",
                f.phase
            );
            Ended::Failed { log }
        }
    }
}
