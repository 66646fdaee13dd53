//! The one seam between the engine and the box: every command and every file write
//! goes through [`Host`], which logs it (secrets redacted), backs files up before
//! changing them and writes atomically.

pub mod command;
pub mod dns;
#[cfg(test)]
pub mod fake;
pub mod files;
pub mod http;
pub mod local;
pub mod log;
pub mod ops;
pub mod pgtls;
pub mod s3;
pub mod secret;
pub mod tree;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub use command::{
    Cmd, DATA_TIMEOUT, DEFAULT_TIMEOUT, Output, PACKAGE_TIMEOUT, Runner, SystemRunner,
};
pub use files::{FileSpec, FileState, WriteOutcome};
pub use log::RunLog;
pub use ops::Ops;

use crate::events::{Event, EventSink};

/// Where backups of changed files go, one directory per run.
pub const BACKUP_DIR: &str = "/var/backups/mattermost-setup";

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("could not run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    /// The command ran past its [`Cmd::timeout`]; it was killed.
    #[error("`{command}` did not finish within {} and was stopped", humantime::format_duration(*.timeout))]
    TimedOut {
        command: String,
        timeout: std::time::Duration,
    },
    #[error("`{command}` failed with {status}: {stderr_tail}")]
    CommandFailed {
        command: String,
        status: String,
        stderr_tail: String,
    },
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct Host {
    root: PathBuf,
    log: RunLog,
    events: EventSink,
    runner: Box<dyn Runner>,
    backup_dir: PathBuf,
}

impl Host {
    /// The real box: files under `/`, programs run for real, log under /var/log.
    pub fn system(events: EventSink) -> Self {
        Self::new(
            PathBuf::from("/"),
            RunLog::create(Path::new(log::LOG_DIR)),
            events,
            Box::new(SystemRunner),
        )
    }

    /// Any root and runner: unit tests point this at a temp dir and a scripted runner.
    pub fn new(root: PathBuf, log: RunLog, events: EventSink, runner: Box<dyn Runner>) -> Self {
        let backup_dir = root
            .join(BACKUP_DIR.trim_start_matches('/'))
            .join(now_stamp());
        Self {
            root,
            log,
            events,
            runner,
            backup_dir,
        }
    }

    pub fn log_path(&self) -> &Path {
        self.log.path()
    }

    pub fn events(&self) -> &EventSink {
        &self.events
    }

    pub fn add_secret(&self, s: &str) {
        self.log.add_secret(s);
    }

    pub fn redact(&self, s: &str) -> String {
        self.log.redact(s)
    }

    /// A line for the log and the front end's log view.
    pub fn note(&self, text: &str) {
        let line = self.log.line(text);
        pause_point(&line);
        (self.events)(Event::Log { line });
    }

    /// A line for the log file only (command output, evidence).
    pub fn note_quiet(&self, text: &str) {
        let line = self.log.line(text);
        pause_point(&line);
    }

    /// The real path of an absolute path on the box.
    pub fn path(&self, p: &Path) -> PathBuf {
        self.root.join(p.strip_prefix("/").unwrap_or(p))
    }

    /// The box path of a real path under the root (the inverse of [`Host::path`]): for
    /// a file in a temporary directory made under a box directory. A path outside the
    /// root comes back as it is.
    pub fn on_box(&self, real: &Path) -> PathBuf {
        real.strip_prefix(&self.root)
            .map_or_else(|_| real.to_owned(), |rel| Path::new("/").join(rel))
    }

    /// Runs a command and returns its output whatever the exit code; logs both.
    pub fn probe(&self, cmd: &Cmd) -> Result<Output, HostError> {
        self.exec(cmd, None, false)
    }

    /// Runs a command that must succeed.
    pub fn run(&self, cmd: &Cmd) -> Result<Output, HostError> {
        let out = self.exec(cmd, None, true)?;
        check(cmd, &out, &self.log)?;
        Ok(out)
    }

    /// Runs a command that must succeed, handing each output line to `on_line`.
    pub fn run_streaming(
        &self,
        cmd: &Cmd,
        on_line: &mut dyn FnMut(&str),
    ) -> Result<Output, HostError> {
        let log = &self.log;
        let mut tee = |l: &str| {
            let clean = log.line(&format!("  | {l}"));
            pause_point(&clean);
            on_line(clean.trim_start_matches("  | "));
        };
        let out = self.exec(cmd, Some(&mut tee), true)?;
        check(cmd, &out, &self.log)?;
        Ok(out)
    }

    fn exec(
        &self,
        cmd: &Cmd,
        on_line: Option<&mut dyn FnMut(&str)>,
        loud: bool,
    ) -> Result<Output, HostError> {
        let shown = cmd.display();
        let stdin_note = if cmd.stdin.is_some() { " <stdin>" } else { "" };
        let env_note: String = cmd.env.iter().fold(String::new(), |mut acc, (k, _)| {
            acc.push(' ');
            acc.push_str(k);
            acc.push_str("=…");
            acc
        });
        let line = format!("$ {shown}{stdin_note}{env_note}");
        if loud {
            self.note(&line);
        } else {
            self.note_quiet(&line);
        }
        let streaming = on_line.is_some();
        let start = std::time::Instant::now();
        let out = match self.runner.run(cmd, on_line) {
            Ok(out) => out,
            Err(source) if source.kind() == std::io::ErrorKind::TimedOut => {
                let e = HostError::TimedOut {
                    command: self.log.redact(&shown),
                    timeout: cmd.timeout,
                };
                self.note(&format!("  {e}"));
                return Err(e);
            }
            Err(source) => {
                return Err(HostError::Spawn {
                    program: cmd.program.clone(),
                    source,
                });
            }
        };
        let status = out
            .code
            .map_or_else(|| "signal".to_owned(), |c| c.to_string());
        let mut record = format!(
            "  exit {status} after {:.2}s",
            start.elapsed().as_secs_f64()
        );
        if !streaming {
            for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                if !text.trim().is_empty() {
                    record.push_str(&format!("\n  {name}:\n{}", indent(&tail(text, 60))));
                }
            }
        }
        self.note_quiet(&record);
        Ok(out)
    }

    /// Reads a file on the box; `None` when it does not exist.
    pub fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, HostError> {
        match std::fs::read(self.path(path)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(HostError::Io {
                action: "cannot read",
                path: path.to_owned(),
                source,
            }),
        }
    }

    pub fn file_state(&self, spec: &FileSpec) -> Result<FileState, HostError> {
        files::state(&self.path(&spec.path), spec).map_err(|source| HostError::Io {
            action: "cannot inspect",
            path: spec.path.clone(),
            source,
        })
    }

    /// Writes a file when it differs (backup first, atomic), logging what happened.
    pub fn write_file(&self, spec: &FileSpec) -> Result<WriteOutcome, HostError> {
        let outcome = files::write(&self.path(&spec.path), spec, Some(&self.backup_dir)).map_err(
            |source| HostError::Io {
                action: "cannot write",
                path: spec.path.clone(),
                source,
            },
        )?;
        let p = spec.path.display();
        match &outcome {
            WriteOutcome::Unchanged => self.note_quiet(&format!("file {p}: up to date")),
            WriteOutcome::Metadata => self.note(&format!(
                "file {p}: fixed mode/owner to {:o} {:?}",
                spec.mode, spec.owner
            )),
            WriteOutcome::Created => self.note(&format!(
                "file {p}: created ({} bytes, mode {:o})",
                spec.content.len(),
                spec.mode
            )),
            WriteOutcome::Updated { backup } => {
                self.note(&format!(
                    "file {p}: updated, previous version saved as {}",
                    backup.display()
                ));
            }
        }
        Ok(outcome)
    }

    /// Writes the tool's own bookkeeping (journal, records): logged to the file only.
    pub fn write_file_quiet(&self, spec: &FileSpec) -> Result<WriteOutcome, HostError> {
        files::write(&self.path(&spec.path), spec, None).map_err(|source| HostError::Io {
            action: "cannot write",
            path: spec.path.clone(),
            source,
        })
    }

    /// Backs a file up without changing it (before a command rewrites it).
    pub fn backup(&self, path: &Path) -> Result<PathBuf, HostError> {
        let b =
            files::backup(&self.path(path), &self.backup_dir).map_err(|source| HostError::Io {
                action: "cannot back up",
                path: path.to_owned(),
                source,
            })?;
        self.note(&format!(
            "file {}: saved as {}",
            path.display(),
            b.display()
        ));
        Ok(b)
    }

    /// Mode bits and `(uid, gid)` of a file on the box, to rewrite it as it is.
    pub fn mode_and_owner(&self, path: &Path) -> Option<(u32, (u32, u32))> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(self.path(path)).ok()?;
        Some((m.mode() & 0o7777, (m.uid(), m.gid())))
    }

    pub fn lookup_user(&self, name: &str) -> Option<(u32, u32)> {
        files::lookup_user(&self.root, name)
    }
}

/// Interruption tests: with `MATTERMOST_SETUP_PAUSE_AT=<text>` the run stops for an
/// hour right after logging a line containing `<text>`, so a test can kill it at
/// exactly that point. Unset (always, outside tests), this costs one lookup.
fn pause_point(line: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let at = AT.get_or_init(|| {
        std::env::var("MATTERMOST_SETUP_PAUSE_AT")
            .ok()
            .filter(|s| !s.is_empty())
    });
    if let Some(at) = at {
        if line.contains(at.as_str()) {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

fn check(cmd: &Cmd, out: &Output, log: &RunLog) -> Result<(), HostError> {
    if out.success() {
        return Ok(());
    }
    let text = if out.stderr.trim().is_empty() {
        &out.stdout
    } else {
        &out.stderr
    };
    Err(HostError::CommandFailed {
        command: log.redact(&cmd.display()),
        status: out
            .code
            .map_or_else(|| "a signal".to_owned(), |c| format!("exit code {c}")),
        stderr_tail: log.redact(&tail(text, 8)),
    })
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Now, in UTC, as it stands in the names of run logs, backup directories and
/// archives: RFC 3339 to the second without colons (`2026-11-29T025104Z`), so the
/// names sort by time (`files::run_stamp` reads it back).
pub fn now_stamp() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .replace(':', "")
}
