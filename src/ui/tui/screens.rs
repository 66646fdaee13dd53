//! The wizard's screens: preflight, one form per step, and the review.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Padding, Paragraph};

use super::app::App;
use super::draft::{Field, Kind, Step, strength};
use super::theme::Theme;
use super::ui::wrap;
use crate::answers::{SAVED_ANSWERS, Tls};
use crate::phases::{Check, Level};
use crate::probes::dns::{DnsReport, Scope, Verdict};
use crate::probes::system::human_bytes;

/// Width of the label column, marker included.
const LABEL: usize = 23;

fn block(title: String, theme: Theme) -> Block<'static> {
    Block::bordered()
        .title(Span::styled(title, theme.bold()))
        .padding(Padding::horizontal(1))
}

/// A check as "✓ ok    name: detail", the fix below a failure.
pub fn check_lines(c: &Check, width: usize, theme: Theme) -> Vec<Line<'static>> {
    let (sym, word, style) = match c.level {
        Level::Ok => (theme.sym_ok(), "ok  ", theme.ok()),
        Level::Warn => (theme.sym_warn(), "warn", theme.warn()),
        Level::Fail => (theme.sym_fail(), "FAIL", theme.fail()),
    };
    let text = format!("{}: {}", c.name, c.detail.lines().next().unwrap_or(""));
    let mut out = Vec::new();
    for (i, l) in wrap(&text, width.saturating_sub(8)).into_iter().enumerate() {
        if i == 0 {
            out.push(Line::from(vec![
                Span::styled(format!("{sym} {word}"), style),
                Span::raw(format!("  {l}")),
            ]));
        } else {
            out.push(Line::raw(format!("        {l}")));
        }
    }
    if c.level == Level::Fail {
        if let Some(fix) = &c.fix {
            for (i, l) in wrap(fix, width.saturating_sub(13)).into_iter().enumerate() {
                let lead = if i == 0 {
                    "        fix: "
                } else {
                    "             "
                };
                out.push(Line::from(vec![
                    Span::raw(lead),
                    Span::styled(l, theme.bold()),
                ]));
            }
        }
    }
    out
}

pub fn preflight(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let b = block(" Preflight: is this server ready? ".into(), theme);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let w = usize::from(inner.width);
    let mut lines: Vec<Line> = vec![Line::styled(
        "Read-only checks of this server. Nothing has been changed, and nothing will be before you choose Install.",
        theme.dim(),
    )];
    lines = lines
        .into_iter()
        .flat_map(|l| {
            wrap(&l.spans[0].content, w)
                .into_iter()
                .map(|s| Line::styled(s, theme.dim()))
        })
        .collect();
    lines.push(Line::raw(""));
    let mut verdict: Vec<Line<'static>> = Vec::new();
    match &app.preflight {
        None => lines.push(Line::styled(
            format!("{} checking…", theme.sym_running()),
            theme.running(),
        )),
        Some(checks) => {
            // Problems first: on a small terminal they are what must stay in view.
            let rank = |c: &&Check| match c.level {
                Level::Fail => 0,
                Level::Warn => 1,
                Level::Ok => 2,
            };
            let mut sorted: Vec<&Check> = checks.iter().collect();
            sorted.sort_by_key(rank);
            for c in sorted {
                lines.extend(check_lines(c, w, theme));
            }
            if app.draft.prefill.saved.is_some() {
                for l in wrap(
                    &format!(
                        "An earlier install was found ({SAVED_ANSWERS}): its answers are filled in and its database password is kept."
                    ),
                    w,
                ) {
                    verdict.push(Line::raw(l));
                }
            }
            let blocking = app.blocking().len();
            if blocking == 0 {
                verdict.push(Line::from(vec![
                    Span::styled(format!("{} ready", theme.sym_ok()), theme.ok()),
                    Span::raw(": press Enter for the questions."),
                ]));
            } else {
                let text = format!(
                    "{blocking} problem{} above block{} the install (see fix). You can still answer the questions and save them; the install stops at preflight until fixed.",
                    if blocking == 1 { "" } else { "s" },
                    if blocking == 1 { "s" } else { "" }
                );
                for (i, l) in wrap(&text, w.saturating_sub(2)).into_iter().enumerate() {
                    if i == 0 {
                        verdict.push(Line::from(vec![
                            Span::styled(format!("{} ", theme.sym_fail()), theme.fail()),
                            Span::raw(l),
                        ]));
                    } else {
                        verdict.push(Line::raw(format!("  {l}")));
                    }
                }
            }
        }
    }
    let n = u16::try_from(verdict.len()).unwrap_or(0);
    let [list, summary] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(n)]).areas(inner);
    frame.render_widget(Paragraph::new(verdict), summary);
    render_scrolled(frame, list, lines, None);
}

/// Renders lines, scrolled so that `keep` (a row) is visible.
fn render_scrolled(
    frame: &mut Frame,
    area: Rect,
    lines: Vec<Line<'static>>,
    keep: Option<usize>,
) -> u16 {
    let h = usize::from(area.height);
    let top = match keep {
        Some(row) if row >= h => row + 1 - h,
        _ => 0,
    };
    let top = u16::try_from(top).unwrap_or(0);
    frame.render_widget(Paragraph::new(lines).scroll((top, 0)), area);
    top
}

fn intro(step: Step) -> &'static str {
    match step {
        Step::Domain => {
            "Which name will people type to reach Mattermost? Its DNS A (and AAAA) record should point at this server."
        }
        Step::Machines => {
            "Everything on this server, or a database machine, app machines running Mattermost and an nginx proxy, each set up by this installer with the same answers."
        }
        Step::Database => {
            "Mattermost keeps messages and settings in a database. The installer creates it, and a user that can log in from this server only."
        }
        Step::Storage => {
            "Where the Mattermost release is unpacked, and where uploaded files are kept."
        }
        Step::Release => {
            "Which Mattermost to install. The download is checked against its published SHA-256, or Mattermost's GPG signature, before anything is unpacked."
        }
        Step::Proxy => {
            "What answers on ports 80 and 443 and passes requests and WebSockets to Mattermost on 127.0.0.1:8065, and its TLS certificate."
        }
        Step::Admin => {
            "Optional. Without it, the first account created in the browser becomes the system admin."
        }
        Step::Review => "",
    }
}

pub fn form(frame: &mut Frame, area: Rect, app: &App, step: Step, theme: Theme) {
    let title = format!(
        " {} · step {} of {} ",
        step.title(),
        step.index() + 1,
        Step::ALL.len()
    );
    let b = block(title, theme);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let [content, help] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(2)]).areas(inner);
    let w = usize::from(content.width);
    let vw = w.saturating_sub(LABEL).max(10);
    let d = &app.draft;
    let mut lines: Vec<Line<'static>> = wrap(intro(step), w)
        .into_iter()
        .map(|l| Line::styled(l, theme.dim()))
        .collect();
    lines.push(Line::raw(""));
    let fields = d.fields(step);
    let errors = d.errors_in(&fields);
    let mut cursor: Option<(usize, usize)> = None;
    let mut focus_row = 0;
    for (i, &f) in fields.iter().enumerate() {
        let focused = i == app.focus;
        if focused {
            focus_row = lines.len();
        }
        let marker = if focused { theme.sym_focus() } else { " " };
        let label = format!("{marker} {:<width$}", f.label(), width = LABEL - 2);
        let label_style = if focused { theme.bold() } else { Style::new() };
        match f.kind() {
            Kind::Text | Kind::Secret => {
                let input = d.input(f).cloned().unwrap_or_default();
                let shown: Vec<char> = if f.kind() == Kind::Secret {
                    std::iter::repeat_n(theme.mask_char(), input.value().chars().count()).collect()
                } else {
                    input.value().chars().collect()
                };
                let room = vw.saturating_sub(1);
                let start = input.cursor().saturating_sub(room);
                let visible: String = shown.iter().skip(start).take(room).collect();
                let value = if focused {
                    cursor = Some((lines.len(), LABEL + input.cursor() - start));
                    Span::styled(format!("{visible:<vw$}"), theme.input())
                } else if visible.is_empty() {
                    Span::styled("(empty)".to_owned(), theme.dim())
                } else {
                    Span::raw(visible)
                };
                lines.push(Line::from(vec![Span::styled(label, label_style), value]));
            }
            Kind::Choice => {
                let sel = d.selected(f);
                for (j, o) in d.options(f).iter().enumerate() {
                    let on = j == sel;
                    let lead = if j == 0 {
                        label.clone()
                    } else {
                        " ".repeat(LABEL)
                    };
                    let text = if o.note.is_empty() {
                        format!("{} {}", theme.radio(on), o.label)
                    } else {
                        format!("{} {} — {}", theme.radio(on), o.label, o.note)
                    };
                    let style = if !o.enabled {
                        theme.dim()
                    } else if on && focused {
                        theme.focus()
                    } else if on {
                        theme.bold()
                    } else {
                        Style::new()
                    };
                    for (k, part) in wrap(&text, vw).into_iter().enumerate() {
                        let lead = if k == 0 {
                            lead.clone()
                        } else {
                            " ".repeat(LABEL + 4)
                        };
                        lines.push(Line::from(vec![
                            Span::styled(
                                lead,
                                if j == 0 && k == 0 {
                                    label_style
                                } else {
                                    Style::new()
                                },
                            ),
                            Span::styled(part, style),
                        ]));
                    }
                }
            }
        }
        // Below the field: its problem once touched, or a hint.
        let pad = " ".repeat(LABEL);
        let err = errors
            .iter()
            .find(|(g, _)| *g == f)
            .filter(|_| app.touched.contains(&f));
        if let Some((_, e)) = err {
            for (k, l) in wrap(&format!("{} {}", e.field, e.problem), vw.saturating_sub(2))
                .into_iter()
                .enumerate()
            {
                let sym = if k == 0 { theme.sym_fail() } else { " " };
                lines.push(Line::from(vec![
                    Span::raw(pad.clone()),
                    Span::styled(format!("{sym} {l}"), theme.fail()),
                ]));
            }
            for l in wrap(&format!("fix: {}", e.fix), vw.saturating_sub(2)) {
                lines.push(Line::raw(format!("{pad}  {l}")));
            }
        } else if matches!(f, Field::DbPassword | Field::AdminPassword) && !d.text(f).is_empty() {
            let (words, bits) = strength(d.text(f));
            let (sym, style) = match bits {
                0..50 => (theme.sym_warn(), theme.warn()),
                _ => (theme.sym_ok(), theme.ok()),
            };
            let text = if bits == 0 {
                format!("{sym} strength: {words}")
            } else {
                format!("{sym} strength: {words} (~{bits} bits)")
            };
            lines.push(Line::from(vec![
                Span::raw(pad.clone()),
                Span::styled(text, style),
            ]));
        } else if matches!(f, Field::DbPasswordAgain | Field::AdminPasswordAgain)
            && !d.text(f).is_empty()
            && errors.iter().all(|(g, _)| *g != f)
        {
            lines.push(Line::from(vec![
                Span::raw(pad.clone()),
                Span::styled(format!("{} matches", theme.sym_ok()), theme.ok()),
            ]));
        }
    }
    lines.push(Line::raw(""));
    lines.extend(step_info(app, step, w, theme));
    let top = render_scrolled(
        frame,
        content,
        lines,
        Some(focus_row.max(cursor.map_or(0, |c| c.0))),
    );
    if let Some((row, col)) = cursor {
        if let (Ok(row), Ok(col)) = (u16::try_from(row), u16::try_from(col)) {
            if row >= top && row - top < content.height {
                frame.set_cursor_position((
                    content.x + col.min(content.width - 1),
                    content.y + row - top,
                ));
            }
        }
    }
    if let Some(f) = app.focused() {
        let hl: Vec<Line> = wrap(f.help(), usize::from(help.width))
            .into_iter()
            .take(2)
            .map(|l| Line::styled(l, theme.dim()))
            .collect();
        frame.render_widget(Paragraph::new(hl), help);
    }
}

/// What a step shows below its fields: DNS, the generated password, free space...
fn step_info(app: &App, step: Step, w: usize, theme: Theme) -> Vec<Line<'static>> {
    let d = &app.draft;
    let mut out = Vec::new();
    let para = |out: &mut Vec<Line<'static>>, text: &str, style: Style, indent: usize| {
        for l in wrap(text, w.saturating_sub(indent)) {
            out.push(Line::styled(format!("{}{l}", " ".repeat(indent)), style));
        }
    };
    match step {
        Step::Domain => match (
            &app.dns,
            crate::answers::validate::fqdn(d.text(Field::Domain).trim()),
        ) {
            (_, Err(_)) => {}
            (None, Ok(())) => out.push(Line::styled(
                format!("DNS {} looking up A/AAAA records…", theme.sym_running()),
                theme.running(),
            )),
            (Some(r), Ok(())) => out.extend(dns_lines(r, w, theme)),
        },
        Step::Machines if d.several() => {
            if let Some(m) = d.this_machine() {
                out.push(Line::styled(
                    format!(
                        "{} this server is {} ({}, {})",
                        theme.sym_ok(),
                        m.name,
                        m.role.name(),
                        m.address
                    ),
                    theme.ok(),
                ));
            }
            match d.validate() {
                Ok(a) => para(&mut out, &super::draft::machines_order(&a), theme.dim(), 0),
                Err(_) => para(
                    &mut out,
                    "Save the answers at the review and copy them to each machine; set up the database machine first, then the app machines, then the proxy.",
                    theme.dim(),
                    0,
                ),
            }
        }
        Step::Machines => {}
        Step::Database => match d.value(Field::DbPasswordMode) {
            "generate" => {
                out.push(Line::from(vec![
                    Span::raw("Generated password: "),
                    Span::styled(d.generated.expose().to_owned(), theme.bold()),
                ]));
                para(
                    &mut out,
                    &format!(
                        "Shown here only. It is kept (mode 600) in {SAVED_ANSWERS}; the review shows it masked."
                    ),
                    theme.dim(),
                    0,
                );
            }
            "keep" => para(
                &mut out,
                "The existing install's password is kept: it is never regenerated.",
                theme.dim(),
                0,
            ),
            _ => {}
        },
        Step::Storage => match &app.disk {
            None => out.push(Line::styled(
                format!("{} measuring free space…", theme.sym_running()),
                theme.running(),
            )),
            Some(disk) => {
                const GIB: u64 = 1024 * 1024 * 1024;
                let (sym, style) = match disk.free {
                    Some(f) if f < 2 * GIB => (theme.sym_fail(), theme.fail()),
                    Some(f) if f < 10 * GIB => (theme.sym_warn(), theme.warn()),
                    Some(_) => (theme.sym_ok(), theme.ok()),
                    None => (theme.sym_warn(), theme.warn()),
                };
                let free = disk.free.map_or_else(|| "unknown".to_owned(), human_bytes);
                out.push(Line::from(vec![
                    Span::styled(format!("{sym} free space: {free}"), style),
                    Span::raw(format!(
                        " on the filesystem of {}",
                        disk.measured_at.display()
                    )),
                ]));
                if disk.free.is_some_and(|f| f < 10 * GIB) {
                    para(
                        &mut out,
                        "  below the recommended 10 GiB (2 GiB is the minimum).",
                        theme.warn(),
                        0,
                    );
                }
                let exists = if disk.exists {
                    format!("{} exists and is used as it is.", disk.path.display())
                } else {
                    format!(
                        "{} does not exist yet: it is created (owner mattermost) during the install.",
                        disk.path.display()
                    )
                };
                if disk.dirs.is_empty() {
                    para(&mut out, &exists, Style::new(), 0);
                }
                // Whether the tool may take each directory, with the evidence.
                for v in &disk.dirs {
                    let (sym, style) = if v.take.is_ok() {
                        (theme.sym_ok(), theme.ok())
                    } else {
                        (theme.sym_fail(), theme.fail())
                    };
                    para(
                        &mut out,
                        &format!("{sym} {}: {}", v.path.display(), v.detail()),
                        style,
                        0,
                    );
                    if let Err((_, fix)) = &v.take {
                        if !v.adoptable {
                            para(&mut out, &format!("  {fix}"), Style::new(), 0);
                        }
                    }
                }
                if d.adoptable {
                    para(
                        &mut out,
                        "A Mattermost that mattermost-setup did not install is there. \"Take it over\" keeps its files and config and gives them to the mattermost user; \"Leave it\" means choosing other directories.",
                        theme.warn(),
                        0,
                    );
                }
            }
        },
        Step::Release => {
            // The release does not depend on the later steps' answers (the TLS
            // e-mail, the admin), which may not be given yet.
            let mut upto = d.clone();
            upto.select(Field::Tls, "none");
            upto.select(Field::Admin, "no");
            if let Ok(a) = upto.validate() {
                match crate::plan::Plan::new(&a) {
                    Ok(p) => {
                        out.push(Line::from(vec![Span::styled(
                            format!(
                                "{} installs Mattermost {} ({})",
                                theme.sym_ok(),
                                p.release.version,
                                p.release.edition
                            ),
                            theme.ok(),
                        )]));
                        let from = match &p.release.source {
                            crate::plan::Source::Url(u) => u.clone(),
                            crate::plan::Source::File(f) => f.display().to_string(),
                        };
                        para(&mut out, &format!("from {from}"), theme.dim(), 2);
                        let check = match &p.release.signature {
                            None => format!("SHA-256 from the {}", p.release.sha256_from),
                            Some(k) => {
                                format!("checked by its GPG signature, key {}", k.fingerprint)
                            }
                        };
                        para(&mut out, &check, theme.dim(), 2);
                    }
                    Err(e) => para(&mut out, &e.to_string(), theme.warn(), 0),
                }
            }
            para(
                &mut out,
                &format!(
                    "Database: {}. Mattermost 11 and later need PostgreSQL 14 or newer; MariaDB and MySQL stop at 10.11.",
                    d.value(Field::DbEngine)
                ),
                theme.dim(),
                0,
            );
        }
        Step::Proxy => out.extend(tls_lines(app, w, theme)),
        Step::Admin | Step::Review => {}
    }
    out
}

/// Below the TLS choice: what the DNS check means for it (the domain's answers beside
/// this server's addresses when they differ), and what happens when.
fn tls_lines(app: &App, w: usize, theme: Theme) -> Vec<Line<'static>> {
    let d = &app.draft;
    let domain = d.text(Field::Domain).trim().to_owned();
    let mut out = Vec::new();
    let mut para = |text: &str, style: Style| {
        for l in wrap(text, w) {
            out.push(Line::styled(l, style));
        }
    };
    let dns = app.dns.as_ref();
    let answers = |r: &DnsReport| {
        if r.resolved.is_empty() {
            "no A/AAAA record".to_owned()
        } else {
            join(r.resolved.iter().map(ToString::to_string))
        }
    };
    let local = |r: &DnsReport| {
        if r.local.is_empty() {
            "none found".to_owned()
        } else {
            join(r.local.iter().map(|(ip, _)| ip.to_string()))
        }
    };
    let later = "The install runs on http now. Once the A/AAAA record points here, `sudo mattermost-setup repair` obtains the certificate and switches the site to https.";
    match (d.value(Field::Tls), dns.map(|r| (r, r.verdict()))) {
        ("none", _) => para(
            "Without TLS the site is plain http: fine to try it out; add TLS before people log in.",
            theme.dim(),
        ),
        ("letsencrypt" | "later", Some((r, Verdict::PointsHere))) => para(
            &format!(
                "{} {domain} points at this server ({}): the certificate is obtained during the install, and certbot.timer renews it.",
                theme.sym_ok(),
                answers(r)
            ),
            theme.ok(),
        ),
        ("letsencrypt" | "later", Some((r, Verdict::BehindNat))) => para(
            &format!(
                "{} {domain} resolves to {} and this server has only private addresses ({}): it is behind NAT. The certificate is asked for during the install and comes when the router forwards port 80 here; if not, the site stays on http and `sudo mattermost-setup repair` asks again.",
                theme.sym_warn(),
                answers(r),
                local(r)
            ),
            theme.warn(),
        ),
        ("letsencrypt" | "later", Some((r, _))) => {
            let found = if r.resolved.is_empty() {
                format!("{domain} has no A/AAAA record yet")
            } else {
                format!("{domain} resolves to {}", answers(r))
            };
            para(
                &format!(
                    "{} {found}; this server has {}. Let's Encrypt cannot check the name yet.",
                    theme.sym_warn(),
                    local(r)
                ),
                theme.warn(),
            );
            para(later, Style::new());
        }
        ("letsencrypt" | "later", None) => para(
            "Let's Encrypt asks for the certificate during the install when the domain points here; otherwise the site stays on http until `sudo mattermost-setup repair` once it does.",
            theme.dim(),
        ),
        _ => {}
    }
    out
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

fn dns_lines(r: &DnsReport, w: usize, theme: Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let scope = |s: Scope| match s {
        Scope::Public => "public",
        Scope::Private => "private",
        Scope::CarrierNat => "carrier NAT",
        Scope::Loopback => "loopback",
        Scope::LinkLocal => "link-local",
    };
    let resolved = if r.resolved.is_empty() {
        "no A/AAAA record".to_owned()
    } else {
        r.resolved
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let local = if r.local.is_empty() {
        "none found".to_owned()
    } else {
        r.local
            .iter()
            .map(|(ip, s)| format!("{ip} ({})", scope(*s)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push(Line::styled(
        format!("DNS A/AAAA for {}", r.domain),
        theme.bold(),
    ));
    for (name, value) in [("answers:", resolved), ("this server:", local)] {
        for (i, l) in wrap(&value, w.saturating_sub(16)).into_iter().enumerate() {
            let lead = if i == 0 { name } else { "" };
            out.push(Line::raw(format!("  {lead:<13} {l}")));
        }
    }
    if r.points_here {
        out.push(Line::styled(
            format!("  {} points at this server", theme.sym_ok()),
            theme.ok(),
        ));
    }
    for f in &r.findings {
        for (i, l) in wrap(f, w.saturating_sub(4)).into_iter().enumerate() {
            let lead = if i == 0 {
                format!("  {} ", theme.sym_warn())
            } else {
                "    ".to_owned()
            };
            out.push(Line::from(vec![
                Span::styled(lead, theme.warn()),
                Span::raw(l),
            ]));
        }
    }
    if !r.points_here {
        out.push(Line::styled(
            "  This never blocks the install: you can go on now and fix DNS later.".to_owned(),
            theme.dim(),
        ));
    }
    out
}

pub fn review(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let b = block(
        format!(" Review · step {} of {} ", Step::ALL.len(), Step::ALL.len()),
        theme,
    );
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let w = usize::from(inner.width);
    let mut lines: Vec<Line<'static>> = Vec::new();
    let Some(a) = &app.reviewed else {
        lines.push(Line::styled(
            format!(
                "{} Some answers need fixing before the install:",
                theme.sym_fail()
            ),
            theme.fail(),
        ));
        if let Err(errs) = app.draft.validate() {
            for (f, e) in errs {
                let step = f.and_then(|f| {
                    Step::ALL
                        .iter()
                        .position(|s| app.draft.fields(*s).contains(&f))
                });
                let at = step.map_or_else(String::new, |i| format!(" (step {})", i + 1));
                for l in wrap(&format!("- {} {}{at}: {}", e.field, e.problem, e.fix), w) {
                    lines.push(Line::raw(l));
                }
            }
        }
        frame.render_widget(Paragraph::new(lines), inner);
        return;
    };
    let d = &app.draft;
    let pw = match d.value(Field::DbPasswordMode) {
        "keep" => "******** (kept)",
        "type" => "******** (typed)",
        _ => "******** (generated)",
    };
    let release = crate::plan::Plan::new(a).map_or_else(
        |e| e.to_string(),
        |p| format!("{} {} ({})", a.edition.name(), p.release.version, a.version),
    );
    let tls = match a.tls {
        Tls::None => "TLS none (plain http)".to_owned(),
        Tls::Letsencrypt if d.value(Field::Tls) == "later" => {
            "TLS letsencrypt later (http until the domain points here; `repair` obtains it)"
                .to_owned()
        }
        t => format!("TLS {}", t.name()),
    };
    let admin = a.admin.as_ref().map_or_else(
        || "none (the first account made in the browser)".to_owned(),
        |ad| format!("{} <{}>, password ********", ad.username, ad.email),
    );
    let machines = match a.this_machine() {
        None => "this server only".to_owned(),
        Some(m) => format!(
            "this is {} ({}) of {}",
            m.name,
            m.role.name(),
            a.machines
                .iter()
                .map(|m| format!("{} {} {}", m.name, m.role.name(), m.address))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let storage = match &a.s3 {
        None => format!(
            "install {}, data {}",
            a.install_dir.display(),
            a.data_dir.display()
        ),
        Some(s3) => format!(
            "install {}, files in bucket {} at {}",
            a.install_dir.display(),
            s3.bucket,
            s3.base_url()
        ),
    };
    let rows = [
        ("1", "Domain", format!("{} → {}", a.domain, a.site_url())),
        ("2", "Machines", machines),
        (
            "3",
            "Database",
            format!(
                "{}, database {}, user {}, password {pw}",
                a.db_engine.name(),
                a.db_name,
                a.db_user
            ),
        ),
        ("4", "Storage", storage),
        ("5", "Release", release),
        ("6", "Proxy", format!("{}, {tls}", a.proxy.name())),
        ("7", "Admin", admin),
    ];
    lines.push(Line::styled(
        "Answers (press 1-7 to change a step)".to_owned(),
        theme.bold(),
    ));
    for (n, name, value) in rows {
        for (i, l) in wrap(&value, w.saturating_sub(13)).into_iter().enumerate() {
            let lead = if i == 0 {
                format!("{n} {name:<10} ")
            } else {
                " ".repeat(13)
            };
            lines.push(Line::from(vec![
                Span::styled(lead, theme.accent()),
                Span::raw(l),
            ]));
        }
    }
    if let Some(u) = &a.download_base_url {
        lines.push(Line::raw(format!("  {:<10} mirror {u}", "Download")));
    }
    if let Some(t) = &a.tarball {
        lines.push(Line::raw(format!(
            "  {:<10} local file {}",
            "Download",
            t.display()
        )));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("Plan".to_owned(), theme.bold()),
        Span::styled(
            " — nothing on this server has changed yet".to_owned(),
            theme.dim(),
        ),
    ]));
    match &app.plan_text {
        None => lines.push(Line::styled(
            format!("{} reading the server for diffs…", theme.sym_running()),
            theme.running(),
        )),
        Some(text) => {
            for l in text.lines() {
                let style = if l.trim_start().starts_with("+ ")
                    || l.trim_start().starts_with('+') && !l.trim_start().starts_with("+++")
                {
                    theme.ok()
                } else if l.trim_start().starts_with('-')
                    && !l.trim_start().starts_with("- ")
                    && !l.trim_start().starts_with("---")
                {
                    theme.fail()
                } else {
                    Style::new()
                };
                for (i, part) in wrap(l, w).into_iter().enumerate() {
                    let part = if i == 0 { part } else { format!("  {part}") };
                    lines.push(Line::styled(part, style));
                }
            }
        }
    }
    let max = lines.len().saturating_sub(usize::from(inner.height));
    let top = usize::from(app.review_scroll).min(max);
    let top = u16::try_from(top).unwrap_or(0);
    frame.render_widget(Paragraph::new(lines).scroll((top, 0)), inner);
}
