//! The wizard's state, the messages that change it, and `update`: no I/O. Whatever
//! must touch the box (DNS, disk, the plan's diffs, saving, the install) is returned
//! as a [`Cmd`] for the runtime (`mod.rs`) to carry out; results come back as [`Msg`].

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::draft::{Draft, Field, Kind, Step};
use super::input::Input;
use crate::answers::Answers;
use crate::answers::SavedFiles;
use crate::events::Event;
use crate::phases::{Check, Level, PhaseId};
use crate::probes::dns::DnsReport;

/// Lines of log kept for the dashboard.
const LOG_KEEP: usize = 5000;

/// Everything that can happen to the wizard.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key press (releases and repeats are filtered out in event.rs).
    Key(KeyEvent),
    /// The terminal changed size: the next draw adapts.
    Resize,
    /// Time since the wizard started.
    Tick(Duration),
    /// The preflight findings (read-only probe).
    Preflight(Vec<Check>),
    Dns(DnsReport),
    Disk(DiskInfo),
    /// The plan in words, with diffs against the box.
    PlanText(String),
    Saved(Result<SavedFiles, String>),
    /// An event from the install engine.
    Engine(Event),
    /// The install thread finished.
    Finished(Result<RunSummary, RunFailure>),
    /// SIGTERM or SIGHUP (a shutdown, a closed ssh session): stop like a confirmed
    /// Ctrl-C — at the next safe point if an install runs — then leave.
    Terminate,
}

/// Side effects for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    CheckDns(String),
    /// Free space of the data directory, and the verdicts on both directories.
    MeasureDisk {
        install: PathBuf,
        data: PathBuf,
        adopt: bool,
    },
    RenderPlan(Box<Answers>),
    Save {
        answers: Box<Answers>,
        path: PathBuf,
    },
    Install(Box<Answers>),
    /// Ask the running install to stop at the next safe point.
    Cancel,
    Quit,
}

/// Free space for the data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskInfo {
    pub path: PathBuf,
    /// The directory whose filesystem was measured (the path or its nearest parent).
    pub measured_at: PathBuf,
    pub free: Option<u64>,
    pub exists: bool,
    /// Whether the tool may take the install and data directories, with the
    /// evidence (preflight refuses the same ones).
    pub dirs: Vec<crate::phases::mattermost::dirs::Verdict>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// Where Mattermost answers now: https once the certificate is in place.
    pub url: String,
    /// Let's Encrypt was deferred (the domain does not point here yet): what to do.
    pub tls_pending: Option<String>,
    pub phases: usize,
    pub changed: usize,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFailure {
    pub phase: PhaseId,
    pub kind: crate::vocab::ErrorKind,
    pub cause: String,
    pub fix: Option<String>,
}

/// Where the wizard is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Preflight,
    Wizard(Step),
    Run,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modal {
    ConfirmQuit,
    ConfirmStop,
    Save {
        path: Input,
        result: Option<Result<SavedFiles, String>>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseState {
    Waiting,
    Running,
    Verified {
        changed: bool,
    },
    Failed,
    /// Not run because the install stopped earlier.
    NotRun,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseRow {
    pub id: PhaseId,
    pub state: PhaseState,
    pub started: Option<Duration>,
    pub elapsed: Option<Duration>,
    pub evidence: Vec<String>,
    pub step: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub phase: PhaseId,
    pub label: String,
    pub done: u64,
    pub total: Option<u64>,
    /// (clock, done) of the first report, for the rate.
    pub first: (Duration, u64),
    pub last: Duration,
}

impl Progress {
    /// Bytes (or items) per second since the first report.
    pub fn rate(&self) -> Option<f64> {
        let secs = self.last.saturating_sub(self.first.0).as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        (secs >= 0.5).then(|| self.done.saturating_sub(self.first.1) as f64 / secs)
    }

    pub fn finished(&self) -> bool {
        self.total.is_some_and(|t| self.done >= t)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Running,
    Done(RunSummary),
    Failed(RunFailure),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunState {
    pub answers: Answers,
    pub title: String,
    pub phases: Vec<PhaseRow>,
    pub progress: Vec<Progress>,
    pub log: VecDeque<String>,
    /// Lines scrolled up from the end; 0 follows the tail.
    pub scroll: usize,
    pub warnings: Vec<String>,
    pub started: Duration,
    pub stopping: bool,
    pub attempt: u32,
    pub outcome: Outcome,
}

impl RunState {
    pub fn new(answers: Answers, title: String, started: Duration, attempt: u32) -> Self {
        Self {
            answers,
            title,
            phases: PhaseId::ALL
                .iter()
                .map(|&id| PhaseRow {
                    id,
                    state: PhaseState::Waiting,
                    started: None,
                    elapsed: None,
                    evidence: Vec::new(),
                    step: None,
                })
                .collect(),
            progress: Vec::new(),
            log: VecDeque::new(),
            scroll: 0,
            warnings: Vec::new(),
            started,
            stopping: false,
            attempt,
            outcome: Outcome::Running,
        }
    }

    fn row(&mut self, id: PhaseId) -> Option<&mut PhaseRow> {
        self.phases.iter_mut().find(|r| r.id == id)
    }

    fn push_log(&mut self, line: String) {
        self.log.push_back(line);
        if self.log.len() > LOG_KEEP {
            self.log.pop_front();
        }
        if self.scroll > 0 {
            // Keep the view still while the operator reads.
            self.scroll = (self.scroll + 1).min(self.log.len());
        }
    }

    pub fn running(&self) -> bool {
        self.outcome == Outcome::Running
    }

    fn engine(&mut self, e: Event, now: Duration) {
        match e {
            Event::PhaseStarted { phase } => {
                if let Some(r) = self.row(phase) {
                    r.state = PhaseState::Running;
                    r.started = Some(now);
                    r.elapsed = None;
                }
            }
            Event::PhaseVerified {
                phase,
                changed,
                evidence,
                elapsed,
            } => {
                if let Some(r) = self.row(phase) {
                    r.state = PhaseState::Verified { changed };
                    r.elapsed = Some(elapsed);
                    r.evidence = evidence;
                    r.step = None;
                }
                self.progress.retain(|p| p.phase != phase);
            }
            Event::PhaseFailed { phase, .. } => {
                if let Some(r) = self.row(phase) {
                    r.state = PhaseState::Failed;
                    r.elapsed = r.started.map(|s| now.saturating_sub(s));
                }
            }
            Event::Step { phase, message } => {
                if let Some(r) = self.row(phase) {
                    r.step = Some(message);
                }
            }
            Event::Progress {
                phase,
                label,
                done,
                total,
            } => {
                // apt labels carry the current line: one bar per phase and kind of work.
                let kind = label.split(':').next().unwrap_or("").to_owned();
                match self
                    .progress
                    .iter_mut()
                    .find(|p| p.phase == phase && p.label.split(':').next() == Some(kind.as_str()))
                {
                    Some(p) => {
                        if done < p.done {
                            p.first = (now, done);
                        }
                        p.label = label;
                        p.done = done;
                        p.total = total;
                        p.last = now;
                    }
                    None => self.progress.push(Progress {
                        phase,
                        label,
                        done,
                        total,
                        first: (now, done),
                        last: now,
                    }),
                }
            }
            Event::Retry {
                phase,
                what,
                cause,
                attempt,
                attempts,
                delay,
            } => {
                // Shown under the bars in "Current work"; the log gets the host's line.
                let line = format!(
                    "{what} interrupted ({cause}); attempt {attempt} of {attempts} in {:.0}s",
                    delay.as_secs_f64().ceil()
                );
                if let Some(r) = self.row(phase) {
                    r.step = Some(line.clone());
                }
                self.warnings.push(line);
            }
            Event::Warning { message } => {
                self.push_log(format!("! warning: {message}"));
                self.warnings.push(message);
            }
            Event::Log { line } => self.push_log(line),
        }
    }
}

/// The whole state of the wizard.
#[derive(Debug, Clone)]
pub struct App {
    pub screen: Screen,
    pub draft: Draft,
    /// Index into the current step's fields.
    pub focus: usize,
    /// Fields whose problems are shown (left once, or "next" was tried).
    pub touched: HashSet<Field>,
    /// Editing from the review: continuing returns there.
    pub editing: bool,
    pub preflight: Option<Vec<Check>>,
    pub dns: Option<DnsReport>,
    pub disk: Option<DiskInfo>,
    pub plan_text: Option<String>,
    /// The answers the review shows (validated).
    pub reviewed: Option<Answers>,
    pub review_scroll: u16,
    pub modal: Option<Modal>,
    pub run: Option<RunState>,
    pub clock: Duration,
    pub log_path: PathBuf,
    /// The answers saved for replay, if the operator did.
    pub saved: Option<SavedFiles>,
    pub quit: bool,
    /// A signal asked to leave: quit as soon as the running install has stopped.
    pub quit_after_run: bool,
}

/// Where answers are saved for replay unless the operator types another path.
pub const DEFAULT_SAVE_PATH: &str = "mattermost-answers.json";

impl App {
    pub fn new(draft: Draft, log_path: PathBuf) -> Self {
        Self {
            screen: Screen::Preflight,
            draft,
            focus: 0,
            touched: HashSet::new(),
            editing: false,
            preflight: None,
            dns: None,
            disk: None,
            plan_text: None,
            reviewed: None,
            review_scroll: 0,
            modal: None,
            run: None,
            clock: Duration::ZERO,
            log_path,
            saved: None,
            quit: false,
            quit_after_run: false,
        }
    }

    /// The fields of the current screen.
    pub fn fields(&self) -> Vec<Field> {
        match self.screen {
            Screen::Wizard(step) => self.draft.fields(step),
            _ => Vec::new(),
        }
    }

    pub fn focused(&self) -> Option<Field> {
        self.fields().get(self.focus).copied()
    }

    /// Preflight findings that stop an install.
    pub fn blocking(&self) -> Vec<&Check> {
        self.preflight
            .iter()
            .flatten()
            .filter(|c| c.level == Level::Fail)
            .collect()
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Cmd> {
        match msg {
            Msg::Key(k) => self.key(k),
            Msg::Resize => Vec::new(),
            Msg::Tick(t) => {
                self.clock = t;
                Vec::new()
            }
            Msg::Preflight(checks) => {
                self.preflight = Some(checks);
                Vec::new()
            }
            Msg::Dns(r) => {
                if r.domain == self.draft.text(Field::Domain).trim().to_ascii_lowercase() {
                    self.draft.dns_checked(&r);
                    self.dns = Some(r);
                }
                Vec::new()
            }
            Msg::Disk(d) => {
                if d.path.as_os_str() == self.draft.text(Field::DataDir) {
                    self.draft.adoptable = d.dirs.iter().any(|v| v.adoptable);
                    self.disk = Some(d);
                }
                Vec::new()
            }
            Msg::PlanText(t) => {
                self.plan_text = Some(t);
                Vec::new()
            }
            Msg::Saved(r) => {
                if let Ok(files) = &r {
                    self.saved = Some(files.clone());
                }
                if let Some(Modal::Save { result, .. }) = &mut self.modal {
                    *result = Some(r);
                }
                Vec::new()
            }
            Msg::Engine(e) => {
                let now = self.clock;
                if let Some(run) = &mut self.run {
                    run.engine(e, now);
                }
                Vec::new()
            }
            Msg::Finished(r) => {
                if let Some(run) = &mut self.run {
                    for row in &mut run.phases {
                        if matches!(row.state, PhaseState::Waiting | PhaseState::Running) {
                            row.state = PhaseState::NotRun;
                        }
                    }
                    run.progress.clear();
                    run.stopping = false;
                    run.outcome = match r {
                        Ok(s) => Outcome::Done(s),
                        Err(f) => {
                            if let Some(row) = run.phases.iter_mut().find(|p| p.id == f.phase) {
                                row.state = PhaseState::Failed;
                            }
                            Outcome::Failed(f)
                        }
                    };
                }
                if matches!(self.modal, Some(Modal::ConfirmStop)) {
                    self.modal = None;
                }
                if self.quit_after_run {
                    return self.quit();
                }
                Vec::new()
            }
            Msg::Terminate => match &mut self.run {
                Some(r) if r.running() => {
                    r.stopping = true;
                    self.modal = None;
                    self.quit_after_run = true;
                    vec![Cmd::Cancel]
                }
                _ => self.quit(),
            },
        }
    }

    fn key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        if let Some(modal) = self.modal.clone() {
            return self.modal_key(modal, k);
        }
        if ctrl && k.code == KeyCode::Char('c') {
            self.modal = Some(match &self.run {
                Some(r) if r.running() => Modal::ConfirmStop,
                Some(_) => return self.quit(),
                None => Modal::ConfirmQuit,
            });
            return Vec::new();
        }
        match self.screen {
            Screen::Preflight => match k.code {
                KeyCode::Enter if self.preflight.is_some() => self.go(Step::Domain),
                KeyCode::Esc | KeyCode::Char('q') => {
                    self.modal = Some(Modal::ConfirmQuit);
                    Vec::new()
                }
                _ => Vec::new(),
            },
            Screen::Wizard(Step::Review) => self.review_key(k),
            Screen::Wizard(step) => self.form_key(step, k),
            Screen::Run => self.run_key(k),
        }
    }

    fn quit(&mut self) -> Vec<Cmd> {
        self.quit = true;
        vec![Cmd::Quit]
    }

    fn modal_key(&mut self, modal: Modal, k: KeyEvent) -> Vec<Cmd> {
        let yes = matches!(k.code, KeyCode::Char('y' | 'Y'));
        let no = matches!(k.code, KeyCode::Char('n' | 'N') | KeyCode::Esc);
        match modal {
            Modal::ConfirmQuit => {
                if yes {
                    self.modal = None;
                    return self.quit();
                }
                if no {
                    self.modal = None;
                }
                Vec::new()
            }
            Modal::ConfirmStop => {
                if yes {
                    self.modal = None;
                    if let Some(r) = &mut self.run {
                        r.stopping = true;
                    }
                    return vec![Cmd::Cancel];
                }
                if no {
                    self.modal = None;
                }
                Vec::new()
            }
            Modal::Save { mut path, result } => {
                if result.is_some() {
                    // Any key closes the result.
                    self.modal = None;
                    return Vec::new();
                }
                match k.code {
                    KeyCode::Esc => {
                        self.modal = None;
                        return Vec::new();
                    }
                    KeyCode::Enter => {
                        let answers = self
                            .run
                            .as_ref()
                            .map(|r| r.answers.clone())
                            .or_else(|| self.reviewed.clone());
                        self.modal = Some(Modal::Save {
                            path: path.clone(),
                            result: None,
                        });
                        return match answers {
                            Some(a) if !path.value().trim().is_empty() => vec![Cmd::Save {
                                answers: Box::new(a),
                                path: PathBuf::from(path.value().trim()),
                            }],
                            _ => Vec::new(),
                        };
                    }
                    _ => edit_text(&mut path, k),
                }
                self.modal = Some(Modal::Save { path, result });
                Vec::new()
            }
        }
    }

    /// Enters a wizard step with the focus on the first field that still needs an
    /// answer (the e-mail for Let's Encrypt), or on its first field.
    fn go(&mut self, step: Step) -> Vec<Cmd> {
        self.screen = Screen::Wizard(step);
        let fields = self.draft.fields(step);
        self.focus = self
            .draft
            .errors_in(&fields)
            .first()
            .and_then(|(f, _)| fields.iter().position(|g| g == f))
            .unwrap_or(0);
        self.review_scroll = 0;
        let mut cmds = Vec::new();
        match step {
            Step::Domain => cmds.extend(self.dns_cmd()),
            Step::Storage => cmds.extend(self.disk_cmd()),
            Step::Review => match self.draft.validate() {
                Ok(a) => {
                    self.plan_text = None;
                    self.reviewed = Some(a.clone());
                    cmds.push(Cmd::RenderPlan(Box::new(a)));
                }
                Err(_) => self.reviewed = None,
            },
            _ => {}
        }
        cmds
    }

    fn dns_cmd(&self) -> Option<Cmd> {
        let d = self.draft.text(Field::Domain).trim().to_ascii_lowercase();
        crate::answers::validate::fqdn(&d)
            .is_ok()
            .then_some(Cmd::CheckDns(d))
    }

    fn disk_cmd(&self) -> Option<Cmd> {
        let p = PathBuf::from(self.draft.text(Field::DataDir));
        p.is_absolute().then(|| Cmd::MeasureDisk {
            install: PathBuf::from(self.draft.text(Field::InstallDir)),
            data: p,
            adopt: self.draft.value(Field::AdoptExisting) == "yes",
        })
    }

    fn form_key(&mut self, step: Step, k: KeyEvent) -> Vec<Cmd> {
        let fields = self.draft.fields(step);
        let Some(&field) = fields.get(self.focus) else {
            self.focus = 0;
            return Vec::new();
        };
        let kind = field.kind();
        match k.code {
            KeyCode::Esc => {
                self.touched.insert(field);
                if self.editing {
                    return self.go(Step::Review);
                }
                return match step.prev() {
                    Some(p) => {
                        let cmds = self.go(p);
                        self.focus = self.draft.fields(p).len().saturating_sub(1);
                        cmds
                    }
                    None => {
                        self.screen = Screen::Preflight;
                        Vec::new()
                    }
                };
            }
            KeyCode::Tab | KeyCode::Down => {
                self.touched.insert(field);
                self.focus = (self.focus + 1).min(fields.len() - 1);
                return Vec::new();
            }
            KeyCode::BackTab | KeyCode::Up => {
                self.touched.insert(field);
                self.focus = self.focus.saturating_sub(1);
                return Vec::new();
            }
            // Enter continues from any field: defaults that are right need one key per
            // screen. While a field of the screen still needs an answer, Enter goes
            // there instead (its problem shows once Enter is pressed on it), so typing
            // a value and Enter walks through the fields that need one.
            KeyCode::Enter => {
                self.touched.insert(field);
                let errors = self.draft.errors_in(&fields);
                if errors.iter().any(|(f, _)| *f == field) {
                    return Vec::new();
                }
                if let Some((first, _)) = errors.first() {
                    self.focus = fields.iter().position(|f| f == first).unwrap_or(0);
                    return Vec::new();
                }
                return self.go(if self.editing {
                    Step::Review
                } else {
                    step.next()
                });
            }
            _ => {}
        }
        let before = self.draft.to_json();
        match kind {
            Kind::Choice => match k.code {
                KeyCode::Left => self.draft.cycle(field, -1),
                KeyCode::Right | KeyCode::Char(' ') => self.draft.cycle(field, 1),
                _ => {}
            },
            Kind::Text | Kind::Secret => {
                if let Some(input) = self.draft.input_mut(field) {
                    edit_text(input, k);
                }
                self.draft.edited(field);
            }
        }
        if self.draft.to_json() == before {
            return Vec::new();
        }
        // Fields may have appeared or gone: keep the focus on this one.
        if let Some(i) = self.draft.fields(step).iter().position(|f| *f == field) {
            self.focus = i;
        }
        let mut cmds = Vec::new();
        match field {
            Field::Domain => {
                self.dns = None;
                cmds.extend(self.dns_cmd());
            }
            Field::InstallDir | Field::DataDir | Field::AdoptExisting => {
                self.disk = None;
                cmds.extend(self.disk_cmd());
            }
            _ => {}
        }
        cmds
    }

    fn review_key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        match k.code {
            KeyCode::Enter | KeyCode::Char('i') => match self.reviewed.clone() {
                Some(a) => self.start_install(a),
                None => Vec::new(),
            },
            KeyCode::Esc | KeyCode::Backspace | KeyCode::Char('b') => {
                self.editing = false;
                let cmds = self.go(Step::Admin);
                self.focus = self.draft.fields(Step::Admin).len().saturating_sub(1);
                cmds
            }
            KeyCode::Char(c @ '1'..='7') => {
                let i = usize::from(c as u8 - b'1');
                self.editing = true;
                self.go(Step::ALL[i])
            }
            KeyCode::Char('s') if self.reviewed.is_some() => {
                self.open_save();
                Vec::new()
            }
            KeyCode::Char('q') => {
                self.modal = Some(Modal::ConfirmQuit);
                Vec::new()
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.review_scroll = self.review_scroll.saturating_add(1);
                Vec::new()
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.review_scroll = self.review_scroll.saturating_sub(1);
                Vec::new()
            }
            KeyCode::PageDown | KeyCode::Char(' ') => {
                self.review_scroll = self.review_scroll.saturating_add(10);
                Vec::new()
            }
            KeyCode::PageUp => {
                self.review_scroll = self.review_scroll.saturating_sub(10);
                Vec::new()
            }
            KeyCode::Home => {
                self.review_scroll = 0;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn open_save(&mut self) {
        let path = match &self.saved {
            Some(s) => s.answers.to_string_lossy().into_owned(),
            None => DEFAULT_SAVE_PATH.to_owned(),
        };
        self.modal = Some(Modal::Save {
            path: Input::new(path),
            result: None,
        });
    }

    fn start_install(&mut self, a: Answers) -> Vec<Cmd> {
        let attempt = self.run.as_ref().map_or(1, |r| r.attempt + 1);
        let title = match crate::plan::Plan::new(&a) {
            Ok(p) => format!(
                "Mattermost {} ({}) for {}",
                p.release.version, p.release.edition, p.site_url
            ),
            Err(_) => format!("Mattermost for {}", a.site_url()),
        };
        self.run = Some(RunState::new(a.clone(), title, self.clock, attempt));
        self.screen = Screen::Run;
        vec![Cmd::Install(Box::new(a))]
    }

    fn run_key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        let Some(run) = &mut self.run else {
            return Vec::new();
        };
        let page = 10;
        match k.code {
            KeyCode::Up | KeyCode::Char('k') => run.scroll = (run.scroll + 1).min(run.log.len()),
            KeyCode::Down | KeyCode::Char('j') => run.scroll = run.scroll.saturating_sub(1),
            KeyCode::PageUp => run.scroll = (run.scroll + page).min(run.log.len()),
            KeyCode::PageDown => run.scroll = run.scroll.saturating_sub(page),
            KeyCode::Home => run.scroll = run.log.len(),
            KeyCode::End => run.scroll = 0,
            KeyCode::Char('r') if matches!(run.outcome, Outcome::Failed(_)) => {
                let a = run.answers.clone();
                return self.start_install(a);
            }
            KeyCode::Char('s') if !run.running() => self.open_save(),
            KeyCode::Char('q') | KeyCode::Enter | KeyCode::Esc if !run.running() => {
                return self.quit();
            }
            KeyCode::Char('q') | KeyCode::Esc => self.modal = Some(Modal::ConfirmStop),
            _ => {}
        }
        Vec::new()
    }
}

/// Line editing shared by every text input.
fn edit_text(input: &mut Input, k: KeyEvent) {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    match k.code {
        KeyCode::Char('u') if ctrl => input.clear(),
        KeyCode::Char('a') if ctrl => input.home(),
        KeyCode::Char('e') if ctrl => input.end(),
        KeyCode::Char(c) if !ctrl => input.insert(c),
        KeyCode::Backspace => input.backspace(),
        KeyCode::Delete => input.delete(),
        KeyCode::Left => input.left(),
        KeyCode::Right => input.right(),
        KeyCode::Home => input.home(),
        KeyCode::End => input.end(),
        _ => {}
    }
}
