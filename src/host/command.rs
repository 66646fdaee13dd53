//! Commands: what to run, and the real runner (duct).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::{BufRead, BufReader};
use std::time::Duration;

/// How long a command may run unless its caller says otherwise: systemctl, psql,
/// mmctl and the like finish in seconds; five minutes is far beyond a healthy run and
/// still an end for one that hangs.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// apt-get and dpkg: downloads and package scripts on a slow mirror or a small box.
pub const PACKAGE_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// Work that grows with the data (dumps, copies of the data directory).
pub const DATA_TIMEOUT: Duration = Duration::from_secs(12 * 60 * 60);

/// A command to run. Secrets go in `stdin` or `env`, never in `args`: `ps` shows argv
/// to every user of the box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub program: String,
    pub args: Vec<String>,
    pub stdin: Option<Vec<u8>>,
    pub env: Vec<(String, String)>,
    /// Standard output goes to this file (created 0600) instead of memory: dumps.
    pub stdout_file: Option<std::path::PathBuf>,
    /// The child is killed when it runs longer than this ([`DEFAULT_TIMEOUT`] unless
    /// set with [`Cmd::timeout`]).
    pub timeout: Duration,
}

impl Default for Cmd {
    fn default() -> Self {
        Self {
            program: String::new(),
            args: Vec::new(),
            stdin: None,
            env: Vec::new(),
            stdout_file: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// A command that ran past its [`Cmd::timeout`] and was killed.
#[derive(Debug, thiserror::Error)]
#[error("`{command}` did not finish within {} and was stopped", humantime::format_duration(*.timeout))]
pub struct TimedOut {
    pub command: String,
    pub timeout: Duration,
}

impl Cmd {
    pub fn new(program: &str, args: &[&str]) -> Self {
        Self {
            program: program.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            ..Self::default()
        }
    }

    #[must_use]
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    #[must_use]
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    #[must_use]
    pub fn stdout_to(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.stdout_file = Some(path.into());
        self
    }

    /// How long this command may run before it is killed.
    #[must_use]
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit;
        self
    }

    #[must_use]
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// Runs the command as another system user (runuser keeps our argv discipline:
    /// no shell, no string splicing).
    pub fn as_user(user: &str, program: &str, args: &[&str]) -> Self {
        let mut all = vec!["-u", user, "--", program];
        all.extend_from_slice(args);
        Self::new("runuser", &all)
    }

    /// The command line as a log shows it.
    pub fn display(&self) -> String {
        let mut s = self.program.clone();
        for a in &self.args {
            s.push(' ');
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c)) {
                s.push('\'');
                s.push_str(&a.replace('\'', "'\\''"));
                s.push('\'');
            } else {
                s.push_str(a);
            }
        }
        s
    }
}

/// What a finished command gave back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// The process seam: the real one runs programs, tests script the answers.
pub trait Runner: Send + Sync {
    /// Runs to completion. With `on_line`, stdout and stderr are merged and each line
    /// is handed over as it arrives (apt's progress), and returned in `stdout`.
    fn run(&self, cmd: &Cmd, on_line: Option<&mut dyn FnMut(&str)>) -> std::io::Result<Output>;
}

/// Runs real programs with duct; a child that outlives its [`Cmd::timeout`] is killed
/// and the run fails with an [`std::io::ErrorKind::TimedOut`] error carrying [`TimedOut`].
pub struct SystemRunner;

fn timed_out(cmd: &Cmd) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        TimedOut {
            command: cmd.display(),
            timeout: cmd.timeout,
        },
    )
}

/// Waits for a started command until its deadline; kills it past that.
fn wait_or_kill<'h>(
    handle: &'h duct::Handle,
    cmd: &Cmd,
) -> std::io::Result<&'h std::process::Output> {
    let deadline = std::time::Instant::now().checked_add(cmd.timeout);
    let finished = match deadline {
        Some(d) => handle.wait_deadline(d)?,
        None => Some(handle.wait()?),
    };
    if let Some(out) = finished {
        return Ok(out);
    }
    handle.kill()?;
    // Reap it; a grandchild that keeps the pipes open must not hold us here.
    let _ = handle.wait_timeout(Duration::from_secs(2));
    Err(timed_out(cmd))
}

impl Runner for SystemRunner {
    fn run(&self, cmd: &Cmd, on_line: Option<&mut dyn FnMut(&str)>) -> std::io::Result<Output> {
        let mut expr = duct::cmd(&cmd.program, &cmd.args).unchecked();
        for (k, v) in &cmd.env {
            expr = expr.env(k, v);
        }
        expr = match &cmd.stdin {
            Some(bytes) => expr.stdin_bytes(bytes.clone()),
            None => expr.stdin_null(),
        };
        if let Some(on_line) = on_line {
            return stream(cmd, &expr, on_line);
        }
        if let Some(path) = &cmd.stdout_file {
            use std::os::unix::fs::OpenOptionsExt;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .mode(0o600)
                .open(path)?;
            let handle = expr.stdout_file(file).stderr_capture().start()?;
            let out = wait_or_kill(&handle, cmd)?;
            return Ok(Output {
                code: out.status.code(),
                stdout: String::new(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        let handle = expr.stdout_capture().stderr_capture().start()?;
        let out = wait_or_kill(&handle, cmd)?;
        Ok(Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// Standard output and error merged, each line handed over as it arrives; a watchdog
/// kills the child at its deadline (which ends the stream).
fn stream(
    cmd: &Cmd,
    expr: &duct::Expression,
    on_line: &mut dyn FnMut(&str),
) -> std::io::Result<Output> {
    let reader = expr.stderr_to_stdout().reader()?;
    let fired = std::sync::atomic::AtomicBool::new(false);
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let result = std::thread::scope(|scope| {
        let (reader, fired) = (&reader, &fired);
        scope.spawn(move || {
            if finished.recv_timeout(cmd.timeout) == Err(std::sync::mpsc::RecvTimeoutError::Timeout)
            {
                fired.store(true, std::sync::atomic::Ordering::SeqCst);
                let _ = reader.kill();
            }
        });
        let read = read_lines(reader, on_line);
        drop(done);
        read
    });
    if fired.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(timed_out(cmd));
    }
    let all = result?;
    let code = reader.try_wait()?.and_then(|o| o.status.code());
    Ok(Output {
        code,
        stdout: all,
        stderr: String::new(),
    })
}

fn read_lines(
    reader: &duct::ReaderHandle,
    on_line: &mut dyn FnMut(&str),
) -> std::io::Result<String> {
    let mut all = String::new();
    let mut lines = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if lines.read_until(b'\n', &mut buf)? == 0 {
            return Ok(all);
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        on_line(line);
        all.push_str(line);
        all.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_runner_captures_and_passes_stdin() {
        let out = SystemRunner
            .run(
                &Cmd::new("sh", &["-c", "cat; echo err >&2; exit 3"]).stdin("hello"),
                None,
            )
            .unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, "hello");
        assert_eq!(out.stderr, "err\n");
    }

    #[test]
    fn streaming_hands_over_each_line() {
        let mut seen = Vec::new();
        let out = SystemRunner
            .run(
                &Cmd::new("sh", &["-c", "echo one; echo two >&2; exit 0"]),
                Some(&mut |l: &str| seen.push(l.to_owned())),
            )
            .unwrap();
        assert!(out.success());
        assert_eq!(seen, ["one", "two"]);
    }

    #[test]
    fn a_command_past_its_timeout_is_killed_and_named() {
        let cmd = Cmd::new("sleep", &["30"]).timeout(Duration::from_millis(300));
        let start = std::time::Instant::now();
        let err = SystemRunner.run(&cmd, None).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(
            err.to_string(),
            "`sleep 30` did not finish within 300ms and was stopped"
        );
    }

    #[test]
    fn a_streaming_command_past_its_timeout_is_killed() {
        let cmd = Cmd::new("sh", &["-c", "echo started; exec sleep 30"])
            .timeout(Duration::from_millis(500));
        let mut seen = Vec::new();
        let start = std::time::Instant::now();
        let err = SystemRunner
            .run(&cmd, Some(&mut |l: &str| seen.push(l.to_owned())))
            .unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(seen, ["started"]);
    }

    #[test]
    fn every_command_has_a_timeout_and_long_work_can_ask_for_more() {
        assert_eq!(
            Cmd::new("systemctl", &["daemon-reload"]).timeout,
            DEFAULT_TIMEOUT
        );
        assert_eq!(
            Cmd::as_user("postgres", "psql", &[]).timeout,
            DEFAULT_TIMEOUT
        );
        assert_eq!(
            Cmd::new("apt-get", &[]).timeout(PACKAGE_TIMEOUT).timeout,
            PACKAGE_TIMEOUT
        );
        let quick = Cmd::new("true", &[]).timeout(Duration::from_secs(2));
        assert!(SystemRunner.run(&quick, None).unwrap().success());
    }

    #[test]
    fn display_quotes_what_a_shell_would_split() {
        let c = Cmd::new("psql", &["-c", "select 1", "it's"]);
        assert_eq!(c.display(), "psql -c 'select 1' 'it'\\''s'");
    }
}
