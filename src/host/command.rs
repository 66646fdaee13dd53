//! Commands: what to run, and the real runner (duct).

use std::io::{BufRead, BufReader};

/// A command to run. Secrets go in `stdin` or `env`, never in `args`: `ps` shows argv
/// to every user of the box.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cmd {
    pub program: String,
    pub args: Vec<String>,
    pub stdin: Option<Vec<u8>>,
    pub env: Vec<(String, String)>,
    /// Standard output goes to this file (created 0600) instead of memory: dumps.
    pub stdout_file: Option<std::path::PathBuf>,
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

/// Runs real programs with duct.
pub struct SystemRunner;

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
            let reader = expr.stderr_to_stdout().reader()?;
            let mut all = String::new();
            let mut lines = BufReader::new(&reader);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                if lines.read_until(b'\n', &mut buf)? == 0 {
                    break;
                }
                let line = String::from_utf8_lossy(&buf);
                let line = line.trim_end_matches(['\n', '\r']);
                on_line(line);
                all.push_str(line);
                all.push('\n');
            }
            let code = reader.try_wait()?.and_then(|o| o.status.code());
            return Ok(Output {
                code,
                stdout: all,
                stderr: String::new(),
            });
        }
        if let Some(path) = &cmd.stdout_file {
            use std::os::unix::fs::OpenOptionsExt;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .mode(0o600)
                .open(path)?;
            let out = expr.stdout_file(file).stderr_capture().run()?;
            return Ok(Output {
                code: out.status.code(),
                stdout: String::new(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        let out = expr.stdout_capture().stderr_capture().run()?;
        Ok(Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
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
    fn display_quotes_what_a_shell_would_split() {
        let c = Cmd::new("psql", &["-c", "select 1", "it's"]);
        assert_eq!(c.display(), "psql -c 'select 1' 'it'\\''s'");
    }
}
