//! Logging like Mattermost's `mlog`: JSON lines to the console (stdout,
//! which is the journal under systemd) and appended to
//! `<LogSettings.FileLocation or ./logs>/mattermost.log`.
//!
//! Every message passes through [`Logger::scrub`], which replaces registered
//! secrets (the database password in all its spellings) with `****`.

use std::fmt::Write as _;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value};

use crate::config::LogSettings;
use crate::error::{Error, Result};
use crate::util::{format_timestamp, now_millis};

/// Name of the log file inside the log directory.
pub const LOG_FILENAME: &str = "mattermost.log";

/// Log levels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    /// Parses `DEBUG`, `INFO`, `WARN`, `ERROR` (any case); unknown → INFO.
    pub fn parse(s: &str) -> Level {
        match s.to_ascii_lowercase().as_str() {
            "debug" | "trace" => Level::Debug,
            "warn" | "warning" => Level::Warn,
            "error" | "critical" | "fatal" => Level::Error,
            _ => Level::Info,
        }
    }
}

struct Sink {
    level: Level,
    json: bool,
}

struct Inner {
    console: Option<Sink>,
    file: Option<(File, Sink)>,
    secrets: Vec<String>,
}

/// Thread-safe logger.
pub struct Logger {
    inner: Mutex<Inner>,
}

impl Default for Logger {
    fn default() -> Self {
        Self::console_only()
    }
}

impl Logger {
    /// Console-only JSON logger at INFO, used until the config is loaded.
    pub fn console_only() -> Self {
        Self {
            inner: Mutex::new(Inner {
                console: Some(Sink {
                    level: Level::Info,
                    json: true,
                }),
                file: None,
                secrets: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies `LogSettings`: console on/off and level, and opens the log
    /// file (creating its directory). Returns the log file path, if any.
    pub fn configure(&self, s: &LogSettings) -> Result<Option<PathBuf>> {
        let console = s.enable_console.then(|| Sink {
            level: Level::parse(&s.console_level),
            json: s.console_json,
        });
        let mut file = None;
        let mut path_out = None;
        if s.enable_file {
            let dir = log_dir(&s.file_location);
            if !dir.is_dir() {
                DirBuilder::new()
                    .recursive(true)
                    .mode(0o755)
                    .create(&dir)
                    .map_err(|e| {
                        Error::new(format!(
                            "failed to create log directory {}: {e}",
                            crate::paths::display_abs(&dir)
                        ))
                    })?;
            }
            let path = dir.join(LOG_FILENAME);
            let f = OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| {
                    Error::new(format!(
                        "failed to open log file {}: {e}",
                        crate::paths::display_abs(&path)
                    ))
                })?;
            file = Some((
                f,
                Sink {
                    level: Level::parse(&s.file_level),
                    json: s.file_json,
                },
            ));
            path_out = Some(path);
        }
        let mut inner = self.lock();
        inner.console = console;
        inner.file = file;
        Ok(path_out)
    }

    /// Registers a secret that must never be printed. Secrets shorter than
    /// four characters are not scrubbed from free text (that would mangle
    /// every message); the DataSource itself is always logged redacted.
    pub fn add_secret(&self, secret: &str) {
        if secret.chars().count() < 4 {
            return;
        }
        let mut inner = self.lock();
        if !inner.secrets.iter().any(|s| s == secret) {
            inner.secrets.push(secret.to_string());
            // Longest first so that a secret containing another is fully hidden.
            inner.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// Replaces every registered secret in `s` with `****`.
    pub fn scrub(&self, s: &str) -> String {
        scrub_with(&self.lock().secrets, s)
    }

    /// Logs `msg` with extra string fields.
    pub fn log(&self, level: Level, msg: &str, fields: &[(&str, &str)]) {
        let mut inner = self.lock();
        let secrets = inner.secrets.clone();
        let ts = format_timestamp(now_millis());
        let msg = scrub_with(&secrets, msg);
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_string(), scrub_with(&secrets, v)))
            .collect();
        if let Some(sink) = &inner.console {
            if level >= sink.level {
                let line = render(sink.json, &ts, level, &msg, &fields);
                let mut out = std::io::stdout().lock();
                // A closed stdout must not take the server down.
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
        }
        if let Some((file, sink)) = &mut inner.file {
            if level >= sink.level {
                let line = render(sink.json, &ts, level, &msg, &fields);
                let _ = writeln!(file, "{line}");
            }
        }
    }

    pub fn debug(&self, msg: &str, fields: &[(&str, &str)]) {
        self.log(Level::Debug, msg, fields);
    }

    pub fn info(&self, msg: &str, fields: &[(&str, &str)]) {
        self.log(Level::Info, msg, fields);
    }

    pub fn warn(&self, msg: &str, fields: &[(&str, &str)]) {
        self.log(Level::Warn, msg, fields);
    }

    pub fn error(&self, msg: &str, fields: &[(&str, &str)]) {
        self.log(Level::Error, msg, fields);
    }
}

/// `FileLocation` → directory holding `mattermost.log` (the real server
/// always joins `mattermost.log` onto it). Empty means the `logs` directory
/// found next to the install, or `./logs` (created) if there is none.
pub fn log_dir(file_location: &str) -> PathBuf {
    if file_location.is_empty() {
        return crate::paths::find_dir("logs").unwrap_or_else(|| PathBuf::from("./logs"));
    }
    PathBuf::from(file_location)
}

fn scrub_with(secrets: &[String], s: &str) -> String {
    let mut out = s.to_string();
    for secret in secrets {
        if !secret.is_empty() && out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "****");
        }
    }
    out
}

fn render(json: bool, ts: &str, level: Level, msg: &str, fields: &[(String, String)]) -> String {
    if json {
        let mut m = Map::new();
        m.insert("timestamp".into(), Value::String(ts.to_string()));
        m.insert("level".into(), Value::String(level.as_str().into()));
        m.insert("msg".into(), Value::String(msg.to_string()));
        m.insert("caller".into(), Value::String("standin".into()));
        for (k, v) in fields {
            m.insert(k.clone(), Value::String(v.clone()));
        }
        Value::Object(m).to_string()
    } else {
        let mut line = format!("{:<5} [{ts}] {msg}", level.as_str());
        for (k, v) in fields {
            let _ = write!(line, " {k}=\"{v}\"");
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_longest_first() {
        let secrets = vec!["abc%40def".to_string(), "abc@def".to_string()];
        assert_eq!(
            scrub_with(&secrets, "x abc@def y abc%40def"),
            "x **** y ****"
        );
    }

    #[test]
    fn levels() {
        assert_eq!(Level::parse("INFO"), Level::Info);
        assert_eq!(Level::parse("debug"), Level::Debug);
        assert_eq!(Level::parse("ERROR"), Level::Error);
        assert!(Level::Warn > Level::Info);
    }
}
