//! The per-run log: every command, every file change, every event, with secrets
//! replaced by `********` before anything reaches the file or a front end.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::SystemTime;

/// Where run logs go on a real box.
pub const LOG_DIR: &str = "/var/log/mattermost-setup";

/// How many run logs (`<stamp>-<pid>.log`) are kept: a daily `repair` from a timer
/// keeps three weeks of them, and the directory stops growing.
pub const KEEP_RUN_LOGS: usize = 20;

/// Deletes the oldest run logs beyond `keep`. Only names the tool itself gives run
/// logs are considered (`2026-11-29T054857Z-1234.log`); other files stay.
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut logs: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| is_run_log(n))
        .collect();
    if logs.len() <= keep {
        return;
    }
    // The stamp leads the name and sorts as time does.
    logs.sort();
    for old in &logs[..logs.len() - keep] {
        let _ = std::fs::remove_file(dir.join(old));
    }
}

fn is_run_log(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".log") else {
        return false;
    };
    let Some((stamp, pid)) = stem.split_once('-').and_then(|(y, rest)| {
        // 2026-11-29T054857Z-1234: the pid follows the stamp's last '-'.
        let (date_time, pid) = rest.rsplit_once('-')?;
        Some((format!("{y}-{date_time}"), pid))
    }) else {
        return false;
    };
    let b = stamp.as_bytes();
    stamp.len() == 18
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[17] == b'Z'
        && stamp
            .bytes()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10 | 17) || c.is_ascii_digit())
        && !pid.is_empty()
        && pid.bytes().all(|c| c.is_ascii_digit())
}

pub struct RunLog {
    path: PathBuf,
    file: Mutex<Option<File>>,
    secrets: RwLock<Vec<String>>,
}

impl RunLog {
    /// Opens `<dir>/<UTC timestamp>.log`, mode 0600. When the directory cannot be
    /// used (not root, read-only), the log falls back to a private temp directory so
    /// a run always has a log to point at.
    pub fn create(dir: &Path) -> Self {
        let stamp = super::now_stamp();
        let log = Self::open(dir, &format!("{stamp}-{}.log", std::process::id()), false);
        if let Some(dir) = log.path.parent() {
            prune(dir, KEEP_RUN_LOGS);
        }
        log
    }

    /// The log of a read-only command (`status`, `plan`): one file per command,
    /// `<dir>/<command>.log`, replaced by each run, so a monitoring `status` every
    /// minute keeps one file instead of piling up thousands. Runs that may change
    /// the box use [`RunLog::create`] and keep their own log.
    pub fn last_run(dir: &Path, command: &str) -> Self {
        Self::open(dir, &format!("{command}.log"), true)
    }

    fn open(dir: &Path, name: &str, replace: bool) -> Self {
        let open = |dir: &Path| -> std::io::Result<(PathBuf, File)> {
            std::fs::create_dir_all(dir)?;
            let path = dir.join(name);
            let f = OpenOptions::new()
                .create(true)
                .append(!replace)
                .write(true)
                .truncate(replace)
                .mode(0o600)
                .open(&path)?;
            Ok((path, f))
        };
        let fallback = std::env::temp_dir().join(format!(
            "mattermost-setup-{}",
            rustix::process::getuid().as_raw()
        ));
        match open(dir).or_else(|_| open(&fallback)) {
            Ok((path, f)) => Self {
                path,
                file: Mutex::new(Some(f)),
                secrets: RwLock::new(Vec::new()),
            },
            Err(_) => Self {
                path: PathBuf::from("/dev/null"),
                file: Mutex::new(None),
                secrets: RwLock::new(Vec::new()),
            },
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Registers a value that must never be written. Register every encoding a
    /// secret travels in (raw, URL-escaped, SQL-escaped).
    pub fn add_secret(&self, secret: &str) {
        if secret.len() < 4 {
            return;
        }
        if let Ok(mut s) = self.secrets.write() {
            if !s.iter().any(|x| x == secret) {
                s.push(secret.to_owned());
                // Longest first, so an encoding that contains another is masked whole.
                s.sort_by_key(|x| std::cmp::Reverse(x.len()));
            }
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        if let Ok(secrets) = self.secrets.read() {
            for s in secrets.iter() {
                if out.contains(s.as_str()) {
                    out = out.replace(s.as_str(), "********");
                }
            }
        }
        out
    }

    /// Appends one line (redacted) and returns what was written.
    pub fn line(&self, text: &str) -> String {
        let clean = self.redact(text);
        if let Ok(mut guard) = self.file.lock() {
            if let Some(f) = guard.as_mut() {
                let stamp = humantime::format_rfc3339_millis(SystemTime::now());
                let _ = writeln!(f, "{stamp} {clean}");
            }
        }
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_only_command_keeps_one_log() {
        let dir = tempfile::tempdir().unwrap();
        for run in 0..5 {
            let log = RunLog::last_run(dir.path(), "status");
            log.line(&format!("run {run}"));
        }
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["status.log"]);
        let text = std::fs::read_to_string(dir.path().join("status.log")).unwrap();
        assert!(text.contains("run 4") && !text.contains("run 3"), "{text}");
    }

    #[test]
    fn run_logs_are_pruned_to_the_newest_and_nothing_else_goes() {
        let dir = tempfile::tempdir().unwrap();
        let old: Vec<String> = (0..KEEP_RUN_LOGS + 5)
            .map(|i| format!("2020-01-01T0000{i:02}Z-{}.log", 100 + i))
            .collect();
        for n in &old {
            std::fs::write(dir.path().join(n), "x").unwrap();
        }
        for other in [
            "status.log",
            "notes.txt",
            "2020-01-01T000000Z-x.log",
            "backup.log",
        ] {
            std::fs::write(dir.path().join(other), "kept").unwrap();
        }
        let log = RunLog::create(dir.path());
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let runs: Vec<&String> = names.iter().filter(|n| is_run_log(n)).collect();
        assert_eq!(runs.len(), KEEP_RUN_LOGS, "{names:?}");
        // This run's own log is kept, and the oldest went first.
        let mine = log.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert!(names.contains(&mine), "{names:?}");
        assert!(
            !names.contains(&old[0]) && names.contains(&old[old.len() - 1]),
            "{names:?}"
        );
        for other in [
            "status.log",
            "notes.txt",
            "2020-01-01T000000Z-x.log",
            "backup.log",
        ] {
            assert!(
                names.iter().any(|n| n == other),
                "{other} was deleted: {names:?}"
            );
        }
    }

    #[test]
    fn secrets_never_reach_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = RunLog::create(dir.path());
        log.add_secret("s3cr3t pass");
        log.add_secret("s3cr3t%20pass");
        let shown = log.line("DataSource postgres://u:s3cr3t%20pass@h/db and s3cr3t pass");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("postgres://u:********@h/db"), "{text}");
        let mode = std::fs::metadata(log.path()).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }
}
