//! The run dashboard: every phase with its state and time, the current work with a
//! progress bar, a scrollable tail of the log; then the end screen or the failure card.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph};

use super::app::{App, Outcome, PhaseState, Progress, RunFailure, RunState, RunSummary};
use super::theme::Theme;
use super::ui::{clip, dur, wrap};
use crate::answers::{SAVED_ANSWERS, Tls};
use crate::probes::system::human_bytes;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let Some(run) = &app.run else { return };
    match &run.outcome {
        Outcome::Done(s) => end_screen(frame, area, app, run, s, theme),
        Outcome::Running | Outcome::Failed(_) => {
            // Every phase in view, the log gets the rest; a failure card gets more room.
            let table = u16::try_from(run.phases.len())
                .unwrap_or(9)
                .saturating_add(2);
            let top_h = if matches!(run.outcome, Outcome::Failed(_)) {
                area.height.saturating_sub(8).max(table)
            } else {
                table
            };
            let [top, log] =
                Layout::vertical([Constraint::Length(top_h), Constraint::Fill(1)]).areas(area);
            let table_w = u16::try_from(name_width(run) + 2 + 9 + 7 + 2).unwrap_or(31);
            let [phases, right] =
                Layout::horizontal([Constraint::Length(table_w), Constraint::Fill(1)]).areas(top);
            phase_table(frame, phases, app, run, theme);
            match &run.outcome {
                Outcome::Failed(f) => failure_card(frame, right, app, f, theme),
                _ => current_work(frame, right, app, run, theme),
            }
            log_tail(frame, log, run, theme);
        }
    }
}

/// Width of the phase-name column: the longest name and a space.
fn name_width(run: &RunState) -> usize {
    run.phases
        .iter()
        .map(|r| r.id.name().len())
        .max()
        .unwrap_or(10)
        + 1
}

fn state_words(s: PhaseState, theme: Theme) -> (&'static str, &'static str, Style) {
    match s {
        PhaseState::Waiting => (" ", "waiting", theme.dim()),
        PhaseState::Running => (theme.sym_running(), "running", theme.running()),
        PhaseState::Verified { changed: true } => (theme.sym_ok(), "done", theme.ok()),
        PhaseState::Verified { changed: false } => (theme.sym_ok(), "in place", theme.ok()),
        PhaseState::Failed => (theme.sym_fail(), "FAILED", theme.fail()),
        PhaseState::NotRun => ("-", "not run", theme.dim()),
    }
}

fn phase_table(frame: &mut Frame, area: Rect, app: &App, run: &RunState, theme: Theme) {
    let title = if run.attempt > 1 {
        format!(" Phases (run {}) ", run.attempt)
    } else {
        " Phases ".to_owned()
    };
    let b = Block::bordered().title(title);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let name_w = name_width(run);
    let lines: Vec<Line> = run
        .phases
        .iter()
        .map(|r| {
            let (sym, word, style) = state_words(r.state, theme);
            let time = match (r.state, r.elapsed, r.started) {
                (PhaseState::Running, _, Some(s)) => dur(app.clock.saturating_sub(s)),
                (_, Some(e), _) => dur(e),
                _ => String::new(),
            };
            Line::from(vec![
                Span::styled(format!("{sym} "), style),
                Span::raw(format!("{:<name_w$}", r.id.name())),
                Span::styled(format!("{word:<9}"), style),
                Span::raw(format!("{time:>7}")),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn bar(p: &Progress, width: usize, theme: Theme) -> String {
    let (full, empty) = theme.bar();
    match p.total {
        Some(t) if t > 0 => {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let n = ((p.done.min(t) as f64 / t as f64) * width as f64).round() as usize;
            let mut s: String = std::iter::repeat_n(full, n).collect();
            s.extend(std::iter::repeat_n(empty, width - n));
            s
        }
        _ => String::new(),
    }
}

fn progress_lines(p: &Progress, w: usize, theme: Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let (kind, detail) = match p.label.split_once(": ") {
        Some((k, d)) => (k.to_owned(), Some(d.to_owned())),
        None => (p.label.clone(), None),
    };
    match p.total {
        Some(t) => {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let rate = p
                .rate()
                .map(|r| format!(" {}/s", human_bytes(r as u64)))
                .unwrap_or_default();
            let pct = (p.done.min(t) * 100).checked_div(t).unwrap_or(100);
            out.push(Line::from(vec![
                Span::styled(format!("{}: ", p.phase), theme.bold()),
                Span::raw(format!("{kind} {pct}%")),
            ]));
            let text = format!(" {} / {}{rate}", human_bytes(p.done), human_bytes(t));
            let bw = w.saturating_sub(text.chars().count() + 2).clamp(5, 40);
            out.push(Line::from(vec![
                Span::raw("["),
                Span::styled(bar(p, bw, theme), theme.running()),
                Span::raw("]"),
                Span::raw(text),
            ]));
        }
        None => {
            out.push(Line::from(vec![
                Span::styled(format!("{}: ", p.phase), theme.bold()),
                Span::raw(if p.done == 0 {
                    kind
                } else {
                    format!("{kind}: {} lines", p.done)
                }),
            ]));
            if let Some(d) = detail {
                out.push(Line::styled(
                    format!("  {}", clip(&d, w.saturating_sub(2))),
                    theme.dim(),
                ));
            }
        }
    }
    out
}

fn current_work(frame: &mut Frame, area: Rect, app: &App, run: &RunState, theme: Theme) {
    let elapsed = dur(app.clock.saturating_sub(run.started));
    let b = Block::bordered()
        .title(" Current work ")
        .title(ratatui::text::Line::from(format!(" {elapsed} ")).right_aligned())
        .padding(Padding::horizontal(1));
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let w = usize::from(inner.width);
    let mut lines: Vec<Line> = Vec::new();
    if run.stopping {
        lines.push(Line::styled(
            format!("{} stopping at the next safe point…", theme.sym_warn()),
            theme.warn(),
        ));
    }
    for r in run.phases.iter().filter(|r| r.state == PhaseState::Running) {
        let step = r
            .step
            .clone()
            .unwrap_or_else(|| "checking what is there".into());
        for (i, l) in wrap(&step, w.saturating_sub(r.id.name().len() + 2))
            .into_iter()
            .take(2)
            .enumerate()
        {
            if i == 0 {
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("{} {}: ", theme.sym_running(), r.id),
                        theme.running(),
                    ),
                    Span::raw(l),
                ]));
            } else {
                lines.push(Line::raw(format!("  {l}")));
            }
        }
    }
    for p in run.progress.iter().filter(|p| !p.finished()) {
        lines.extend(progress_lines(p, w, theme));
    }
    if let Some(wn) = run.warnings.last() {
        lines.push(Line::styled(
            format!("{} {}", theme.sym_warn(), clip(wn, w.saturating_sub(2))),
            theme.warn(),
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn log_tail(frame: &mut Frame, area: Rect, run: &RunState, theme: Theme) {
    let title = if run.scroll > 0 {
        format!(" Log ({} lines up; End follows) ", run.scroll)
    } else {
        " Log ".to_owned()
    };
    let b = Block::bordered()
        .title(title)
        .padding(Padding::horizontal(1));
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let h = usize::from(inner.height);
    let w = usize::from(inner.width);
    let end = run.log.len().saturating_sub(run.scroll);
    let start = end.saturating_sub(h);
    let lines: Vec<Line> = run
        .log
        .range(start..end)
        .map(|l| {
            let style = if l.starts_with("! ") {
                theme.warn()
            } else if l.contains("FAILED") {
                theme.fail()
            } else {
                Style::new()
            };
            Line::styled(clip(l, w), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn failure_card(frame: &mut Frame, area: Rect, app: &App, f: &RunFailure, theme: Theme) {
    let stopped = f.kind == crate::vocab::ErrorKind::Stopped;
    let title = if stopped {
        format!(" {} Stopped before {} ", theme.sym_warn(), f.phase)
    } else {
        format!(" {} Failed: {} ", theme.sym_fail(), f.phase)
    };
    let style = if stopped { theme.warn() } else { theme.fail() };
    let b = Block::bordered()
        .title(Span::styled(title, style))
        .border_style(style)
        .padding(Padding::horizontal(1));
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let w = usize::from(inner.width);
    let mut lines: Vec<Line> = Vec::new();
    let label = |lines: &mut Vec<Line<'static>>, name: &str, text: &str, st: Style| {
        for (i, l) in wrap(text, w.saturating_sub(7)).into_iter().enumerate() {
            let lead = if i == 0 {
                format!("{name:<6} ")
            } else {
                " ".repeat(7)
            };
            lines.push(Line::from(vec![
                Span::styled(lead, theme.bold()),
                Span::styled(l, st),
            ]));
        }
    };
    label(&mut lines, "cause", &f.cause, Style::new());
    let mut fix_lines = Vec::new();
    match &f.fix {
        Some(fix) => label(&mut fix_lines, "fix", fix, theme.bold()),
        None => label(
            &mut fix_lines,
            "fix",
            "not known: the log has every command and its output",
            Style::new(),
        ),
    }
    let mut tail = Vec::new();
    label(
        &mut tail,
        "log",
        &app.log_path.display().to_string(),
        Style::new(),
    );
    let retry = if stopped {
        "r: run again; it continues from here."
    } else {
        "r: retry; what is done and verified is skipped."
    };
    for l in wrap(retry, w) {
        tail.push(Line::styled(l, theme.dim()));
    }
    // A long fix (the journal's last lines) keeps its first line and its newest lines,
    // so the log path and the retry hint stay on the card.
    let over =
        (lines.len() + fix_lines.len() + tail.len()).saturating_sub(usize::from(inner.height));
    if over > 0 && fix_lines.len() > 2 {
        let cut = (over + 1).min(fix_lines.len() - 2);
        fix_lines.drain(1..=cut);
        fix_lines.insert(
            1,
            Line::styled(
                format!("{}… {cut} more lines in the log", " ".repeat(7)),
                theme.dim(),
            ),
        );
    }
    lines.extend(fix_lines);
    lines.extend(tail);
    frame.render_widget(Paragraph::new(lines), inner);
}

fn end_screen(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    run: &RunState,
    s: &RunSummary,
    theme: Theme,
) {
    let b = Block::bordered()
        .title(Span::styled(
            format!(" {} Mattermost is up ", theme.sym_ok()),
            theme.ok(),
        ))
        .padding(Padding::horizontal(1));
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let w = usize::from(inner.width);
    let name_w = name_width(run);
    let mut lines: Vec<Line> = vec![Line::from(vec![
        Span::raw("Open "),
        Span::styled(s.url.clone(), theme.accent()),
        Span::raw(format!(
            "   ({} phases verified, {} changed, {})",
            s.phases,
            s.changed,
            dur(s.elapsed)
        )),
    ])];
    for r in &run.phases {
        let (sym, word, style) = state_words(r.state, theme);
        let evidence = r
            .evidence
            .iter()
            .rev()
            .find(|e| !e.starts_with('!'))
            .map(|e| e.trim_start_matches(['✓', '!', '✗', ' ']).to_owned())
            .unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(format!("{sym} "), style),
            Span::raw(format!("{:<name_w$}", r.id.name())),
            Span::styled(format!("{word:<9}"), style),
            Span::raw(clip(&evidence, w.saturating_sub(name_w + 11))),
        ]));
    }
    lines.push(Line::styled("Files".to_owned(), theme.bold()));
    let mut files = vec![
        format!("answers + database password (600): {SAVED_ANSWERS}"),
        format!("log of this run: {}", app.log_path.display()),
    ];
    if let Some(saved) = &app.saved {
        files.push(format!(
            "replay copy: {} (secrets beside it, 600)",
            saved.answers.display()
        ));
    }
    for f in files {
        for l in wrap(&f, w.saturating_sub(2)) {
            lines.push(Line::raw(format!("  {l}")));
        }
    }
    lines.push(Line::styled("Next".to_owned(), theme.bold()));
    let mut next = Vec::new();
    match &run.answers.admin {
        Some(a) => next.push(format!(
            "Open {} and sign in as {}, the system admin.",
            s.url, a.username
        )),
        None => next.push(format!(
            "Open {} and create the first account: it becomes the system admin.",
            s.url
        )),
    }
    if run.answers.tls == Tls::None {
        next.push("Plain http: add TLS before people log in.".into());
    }
    if let Some(t) = &s.tls_pending {
        next.push(t.clone());
    }
    next.push("`mattermost-setup status` checks it all; run it again to repair.".into());
    for n in next {
        for (i, l) in wrap(&n, w.saturating_sub(2)).into_iter().enumerate() {
            lines.push(Line::raw(format!("{} {l}", if i == 0 { "-" } else { " " })));
        }
    }
    let _ = theme.dim();
    frame.render_widget(Paragraph::new(lines), inner);
}
