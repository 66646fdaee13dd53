//! Plain output: one line per step, ✓/!/✗ with words, indicatif bars for bytes.
//! Used when there is no terminal UI (pipes, CI, --plain, TERM=dumb).

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressStyle};

use crate::events::{Event, EventSink};
use crate::phases::{Check, Level, PhaseId};

#[derive(Default)]
struct Bars {
    drawn: HashMap<(PhaseId, String), ProgressBar>,
    /// Without bars: the last quarter printed per piece of work.
    quarters: HashMap<(PhaseId, String), u64>,
    /// Without bars: when each piece of work was first reported (for the estimate).
    started: HashMap<(PhaseId, String), std::time::Instant>,
}

/// Whether progress may be drawn as bars (which redraw with `\r` and escape
/// sequences): only on a terminal that understands them.
fn bars_allowed() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
        && !matches!(std::env::var("TERM").as_deref(), Err(_) | Ok("" | "dumb"))
}

/// "  downloading: 50% (200.0 MiB of 400.0 MiB, about 40s left)" at 0, 25, 50, 75
/// and 100 %: text only, for dumb terminals, logs and transcripts. The estimate is
/// the rate so far (`elapsed` since the first report) applied to what is left.
fn quarter_line(
    b: &mut Bars,
    phase: PhaseId,
    label: &str,
    done: u64,
    total: u64,
    elapsed: std::time::Duration,
) -> Option<String> {
    let q = (done.min(total) * 4).checked_div(total).unwrap_or(4);
    let last = b
        .quarters
        .entry((phase, label.to_owned()))
        .or_insert(u64::MAX);
    if *last == q {
        return None;
    }
    *last = q;
    let left = total.saturating_sub(done);
    let estimate = if done > 0 && left > 0 {
        let ms = elapsed.as_millis() * u128::from(left) / u128::from(done);
        let secs = u64::try_from(ms.div_ceil(1000)).unwrap_or(u64::MAX);
        format!(
            ", about {} left",
            humantime::format_duration(std::time::Duration::from_secs(secs))
        )
    } else {
        String::new()
    };
    Some(format!(
        "  {label}: {}% ({} of {}{estimate})",
        q * 25,
        crate::probes::system::human_bytes(done),
        crate::probes::system::human_bytes(total)
    ))
}

/// An event sink that prints to stdout. `verbose` also echoes every log line.
pub fn sink(verbose: bool) -> EventSink {
    let bars = Arc::new(Mutex::new(Bars::default()));
    let draw_bars = bars_allowed();
    Arc::new(move |e: Event| {
        let mut out = std::io::stdout().lock();
        match e {
            Event::PhaseStarted { phase } => {
                let _ = writeln!(out, "… {phase}");
            }
            Event::PhaseVerified {
                phase,
                changed,
                elapsed,
                evidence,
            } => {
                // Preflight's findings are worth reading even when all is well.
                if phase == PhaseId::Preflight {
                    for e in &evidence {
                        let _ = writeln!(out, "  {e}");
                    }
                }
                if let Ok(mut b) = bars.lock() {
                    b.drawn.retain(|(p, _), bar| {
                        if *p == phase {
                            bar.finish_and_clear();
                        }
                        *p != phase
                    });
                }
                let what = if changed {
                    "done and verified"
                } else {
                    "already in place, verified"
                };
                let _ = writeln!(out, "✓ {phase}: {what} ({:.1}s)", elapsed.as_secs_f64());
            }
            Event::PhaseFailed { phase, cause, fix } => {
                let _ = writeln!(out, "✗ {phase} FAILED:");
                for l in cause.lines() {
                    let _ = writeln!(out, "    {l}");
                }
                if let Some(fix) = fix {
                    for (i, l) in fix.lines().enumerate() {
                        let _ = writeln!(out, "  {} {l}", if i == 0 { "fix:" } else { "    " });
                    }
                }
            }
            Event::Step { phase, message } => {
                let _ = writeln!(out, "  {phase}: {message}");
            }
            Event::Warning { message } => {
                let _ = writeln!(out, "! warning: {message}");
            }
            Event::Retry {
                phase,
                what,
                cause,
                attempt,
                attempts,
                delay,
            } => {
                let line = format!(
                    "  ↻ {phase}: {what} interrupted: {cause}; attempt {attempt} of {attempts} in {:.0}s",
                    delay.as_secs_f64().ceil()
                );
                // Above a live bar, not through it.
                let bar = bars.lock().ok().and_then(|b| {
                    b.drawn
                        .iter()
                        .find(|((p, _), _)| *p == phase)
                        .map(|(_, bar)| bar.clone())
                });
                match bar {
                    Some(bar) => bar.suspend(|| {
                        let _ = writeln!(out, "{line}");
                    }),
                    None => {
                        let _ = writeln!(out, "{line}");
                    }
                }
            }
            Event::Progress {
                phase,
                label,
                done,
                total,
            } => {
                // Byte counts get a bar; line counters (apt) are not worth one.
                let Some(total) = total else { return };
                if !draw_bars {
                    if let Ok(mut b) = bars.lock() {
                        let elapsed = b
                            .started
                            .entry((phase, label.clone()))
                            .or_insert_with(std::time::Instant::now)
                            .elapsed();
                        if let Some(line) =
                            quarter_line(&mut b, phase, &label, done, total, elapsed)
                        {
                            let _ = writeln!(out, "{line}");
                        }
                    }
                    return;
                }
                if let Ok(mut b) = bars.lock() {
                    let bar = b.drawn.entry((phase, label.clone())).or_insert_with(|| {
                        let bar = ProgressBar::new(total);
                        bar.set_style(
                            ProgressStyle::with_template("  {msg:12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                                .unwrap_or_else(|_| ProgressStyle::default_bar())
                                .progress_chars("=> "),
                        );
                        bar.set_message(label.clone());
                        bar
                    });
                    bar.set_position(done);
                    if done >= total {
                        bar.finish_and_clear();
                    }
                }
            }
            Event::Log { line } => {
                if verbose {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
    })
}

/// A status table: phase, state in words and a mark, check, detail.
pub fn status_table(checks: &[Check]) -> String {
    let mut s = String::new();
    let width = checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(10)
        .min(60);
    for c in checks {
        let mark = match c.level {
            Level::Ok => "✓ ok  ",
            Level::Warn => "! warn",
            Level::Fail => "✗ FAIL",
        };
        let detail: String = c
            .detail
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(100)
            .collect();
        s.push_str(&format!(
            "{mark}  {:<11} {:<width$}  {detail}\n",
            c.phase.name(),
            c.name
        ));
        if let Some(diff) = &c.diff {
            for l in diff.lines() {
                s.push_str(&format!("        {:<11} {l}\n", ""));
            }
        }
        if c.level == Level::Fail {
            if let Some(fix) = &c.fix {
                s.push_str(&format!("        {:<11} fix: {fix}\n", ""));
            }
        }
    }
    s
}

/// Asks one question on the terminal: prints `prompt`, reads a line, returns it
/// trimmed (empty at the end of input).
pub fn ask(prompt: &str) -> String {
    print!("{prompt}");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    line.trim().to_owned()
}

/// A `[y/N]` question: yes only for `y`, `Y` or `yes`; anything else, the end of
/// input included, is no.
pub fn confirm(prompt: &str) -> bool {
    is_yes(&ask(prompt))
}

fn is_yes(answer: &str) -> bool {
    matches!(answer, "y" | "Y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_y_or_yes_confirms() {
        for yes in ["y", "Y", "yes"] {
            assert!(is_yes(yes), "{yes}");
        }
        for no in ["", "n", "N", "no", "YES", "yes please", "q"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }

    #[test]
    fn without_bars_progress_is_a_text_line_per_quarter() {
        let mut b = Bars::default();
        let lines: Vec<String> = [0, 10, 30, 60, 70, 99, 100, 100]
            .iter()
            .filter_map(|&d| {
                // One byte a second: the estimate is what is left, in seconds.
                let elapsed = std::time::Duration::from_secs(d);
                quarter_line(&mut b, PhaseId::Mattermost, "downloading", d, 100, elapsed)
            })
            .collect();
        assert_eq!(
            lines,
            [
                "  downloading: 0% (0 B of 100 B)",
                "  downloading: 25% (30 B of 100 B, about 1m 10s left)",
                "  downloading: 50% (60 B of 100 B, about 40s left)",
                "  downloading: 75% (99 B of 100 B, about 1s left)",
                "  downloading: 100% (100 B of 100 B)",
            ]
        );
    }
}
