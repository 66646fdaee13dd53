//! Rendering: a pure function of the state. The frame has a header (the steps), a
//! body (the current screen), and a footer (the keys). Works from 80x24 up; smaller
//! terminals get a message until they grow.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::app::{App, Modal, Outcome, Screen};
use super::draft::Step;
use super::theme::Theme;
use super::{dashboard, screens};

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Draws the whole frame.
pub fn draw(frame: &mut Frame, app: &App, theme: Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area, theme);
        return;
    }
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(header_line(app, theme, header.width)),
        header,
    );
    match app.screen {
        Screen::Preflight => screens::preflight(frame, body, app, theme),
        Screen::Wizard(Step::Review) => screens::review(frame, body, app, theme),
        Screen::Wizard(step) => screens::form(frame, body, app, step, theme),
        Screen::Run => dashboard::draw(frame, body, app, theme),
    }
    frame.render_widget(
        Paragraph::new(footer_line(app, theme)).style(theme.dim()),
        footer,
    );
    if let Some(m) = &app.modal {
        modal(frame, area, m, app, theme);
    }
}

fn too_small(frame: &mut Frame, area: Rect, theme: Theme) {
    let text = format!(
        "The terminal is {}x{}; mattermost-setup needs at least {MIN_WIDTH}x{MIN_HEIGHT}. \
         Enlarge the window (the screen redraws), or quit with Ctrl-C and run \
         `mattermost-setup --plain`. A running install goes on meanwhile.",
        area.width, area.height
    );
    let lines: Vec<Line> = wrap(&text, usize::from(area.width.max(1)))
        .into_iter()
        .map(|l| Line::styled(l, theme.warn()))
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

fn header_line(app: &App, theme: Theme, width: u16) -> Line<'static> {
    let mut spans = Vec::new();
    // The wide form (name, "Preflight", two spaces between steps) needs 115 columns.
    let wide = width >= 115;
    spans.push(Span::styled(
        if wide { " mattermost-setup │ " } else { " " },
        theme.accent(),
    ));
    let current = match app.screen {
        Screen::Wizard(s) => Some(s),
        _ => None,
    };
    if app.screen == Screen::Run {
        let what = app.run.as_ref().map_or("", |r| match r.outcome {
            Outcome::Running if r.stopping => "Stopping at the next safe point",
            Outcome::Running => "Installing",
            Outcome::Done(_) => "Installed",
            Outcome::Failed(_) => "Install stopped",
        });
        spans.push(Span::styled(what.to_owned(), theme.bold()));
        if let Some(r) = &app.run {
            spans.push(Span::raw(format!("{}{}", theme.sep(), r.title)));
        }
        return Line::from(spans);
    }
    if app.screen == Screen::Preflight && wide {
        spans.push(Span::styled(
            "Preflight ",
            theme.focus().patch(theme.bold()),
        ));
        spans.push(Span::raw(" "));
    }
    for (i, s) in Step::ALL.iter().enumerate() {
        let label = format!("{} {}", i + 1, s.title());
        let style = match current {
            Some(c) if c == *s => theme.focus().patch(theme.bold()),
            Some(c) if s.index() < c.index() => Style::new(),
            _ => theme.dim(),
        };
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(if wide { "  " } else { " " }));
    }
    Line::from(spans)
}

fn footer_line(app: &App, theme: Theme) -> Line<'static> {
    let sep = theme.sep();
    let keys: Vec<&str> = match app.screen {
        Screen::Preflight if app.preflight.is_none() => {
            vec!["checking this server…", "Ctrl-C quit"]
        }
        Screen::Preflight => vec!["Enter continue", "q quit"],
        Screen::Wizard(Step::Review) => {
            if app.reviewed.is_some() {
                vec![
                    "Enter install",
                    "1-7 edit",
                    "s save answers",
                    "↑↓ PgDn scroll",
                    "Esc back",
                    "q quit",
                ]
            } else {
                vec!["1-7 edit", "Esc back", "q quit"]
            }
        }
        Screen::Wizard(_) => vec![
            "Enter continue",
            "Tab/↑↓ field",
            "←→ space choose",
            "Esc back",
            "Ctrl-C quit",
        ],
        Screen::Run => match app.run.as_ref().map(|r| &r.outcome) {
            Some(Outcome::Running) => vec!["Ctrl-C stop safely", "↑↓ PgUp PgDn Home End log"],
            Some(Outcome::Failed(_)) => vec!["r retry", "s save answers", "↑↓ log", "q quit"],
            _ => vec!["Enter/q quit", "s save answers"],
        },
    };
    Line::from(format!(" {}", keys.join(sep)))
}

fn modal(frame: &mut Frame, area: Rect, m: &Modal, app: &App, theme: Theme) {
    let (title, lines): (&str, Vec<Line>) = match m {
        Modal::ConfirmQuit => (
            " Quit? ",
            vec![
                Line::raw("Nothing on this server has been changed."),
                Line::raw(""),
                Line::from(vec![
                    Span::styled("y", theme.bold()),
                    Span::raw(" quit    "),
                    Span::styled("n", theme.bold()),
                    Span::raw(" go on"),
                ]),
            ],
        ),
        Modal::ConfirmStop => (
            " Stop the install? ",
            vec![
                Line::raw("The install stops at the next safe point: the current step"),
                Line::raw("finishes, nothing is left half-written. Running"),
                Line::raw("mattermost-setup again finishes the install from there."),
                Line::raw(""),
                Line::from(vec![
                    Span::styled("y", theme.bold()),
                    Span::raw(" stop    "),
                    Span::styled("n", theme.bold()),
                    Span::raw(" keep installing"),
                ]),
            ],
        ),
        Modal::Save { path, result } => {
            let mut l = vec![
                Line::raw("For an unattended replay of this install. The passwords go"),
                Line::raw("to separate files (mode 600) next to it."),
                Line::raw(""),
            ];
            match result {
                None => {
                    l.push(Line::from(vec![
                        Span::raw("File: "),
                        Span::styled(format!("{:<50}", path.value()), theme.input()),
                    ]));
                    l.push(Line::raw(""));
                    l.push(Line::styled("Enter save    Esc cancel", theme.dim()));
                }
                Some(Ok(files)) => {
                    l.push(Line::from(vec![
                        Span::styled(theme.sym_ok(), theme.ok()),
                        Span::raw(format!(" saved {}", files.answers.display())),
                    ]));
                    for s in &files.secrets {
                        l.push(Line::raw(format!("  secret (600): {}", s.display())));
                    }
                    l.push(Line::raw("Replay it on this or another server with:"));
                    l.push(Line::styled(
                        format!(
                            "  mattermost-setup install --answers {} --yes",
                            files.answers.display()
                        ),
                        theme.bold(),
                    ));
                    if let Some(a) = app.reviewed.as_ref().filter(|a| !a.machines.is_empty()) {
                        l.push(Line::raw(super::draft::machines_order(a)));
                    }
                    l.push(Line::styled("any key closes", theme.dim()));
                }
                Some(Err(e)) => {
                    l.push(Line::from(vec![
                        Span::styled(theme.sym_fail(), theme.fail()),
                        Span::raw(format!(" not saved: {e}")),
                    ]));
                    l.push(Line::styled("any key closes", theme.dim()));
                }
            }
            (" Save answers ", l)
        }
    };
    let width = area.width.saturating_sub(4).min(76);
    let inner_w = usize::from(width.saturating_sub(4));
    let mut wrapped: Vec<Line> = Vec::new();
    for l in lines {
        if l.width() > inner_w && l.spans.len() == 1 {
            let style = l.spans[0].style;
            for w in wrap(&l.spans[0].content, inner_w) {
                wrapped.push(Line::styled(w, style));
            }
        } else {
            wrapped.push(l);
        }
    }
    let height = u16::try_from(wrapped.len())
        .unwrap_or(20)
        .saturating_add(2)
        .min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(title).border_style(theme.accent());
    frame.render_widget(
        Paragraph::new(wrapped).block(block.padding(ratatui::widgets::Padding::horizontal(1))),
        rect,
    );
    if let Modal::Save { path, result: None } = m {
        let cursor = u16::try_from(path.cursor())
            .unwrap_or(0)
            .min(width.saturating_sub(10));
        frame.set_cursor_position((rect.x + 2 + 6 + cursor, rect.y + 1 + 3));
    }
    let _ = app;
}

/// Word-wraps `text` to `width` columns (long words are cut).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for para in text.split('\n') {
        // Keep a paragraph's indentation on every line it wraps to.
        let indent = para.len() - para.trim_start_matches(' ').len();
        let indent = if indent * 2 > width { 0 } else { indent };
        let para = &para[indent..];
        let width = width - indent;
        let pad = " ".repeat(indent);
        let start = out.len();
        let mut line = String::new();
        let mut len = 0;
        for word in para.split(' ') {
            let wl = word.chars().count();
            // A word longer than a line is cut where the line ends, not moved down.
            if len > 0 && len + 1 + wl > width && wl <= width {
                out.push(std::mem::take(&mut line));
                len = 0;
            }
            if len > 0 {
                line.push(' ');
                len += 1;
            }
            if wl > width {
                let mut chars: Vec<char> = word.chars().collect();
                while chars.len() + len > width {
                    let take = width.saturating_sub(len).max(1);
                    line.extend(chars.drain(..take));
                    out.push(std::mem::take(&mut line));
                    len = 0;
                }
                len += chars.len();
                line.extend(chars);
            } else {
                line.push_str(word);
                len += wl;
            }
        }
        out.push(line);
        for l in &mut out[start..] {
            l.insert_str(0, &pad);
        }
    }
    out
}

/// "0.4s", "12.3s", "2m05s".
pub fn dur(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else {
        let m = d.as_secs() / 60;
        format!("{m}m{:02}s", d.as_secs() % 60)
    }
}

/// Cuts to `width` characters with an ellipsis.
pub fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(width.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}
