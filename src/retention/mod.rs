//! Message retention for installs without Mattermost's Enterprise data retention:
//! `mattermost-setup retention`, run daily by `mattermost-retention.timer` as the
//! service user.
//!
//! It reads the database and file store from Mattermost's config.json, deletes the
//! posts older than N days with everything that depends on them — in batches, each
//! one transaction — and removes the files on disk only after that transaction
//! committed. `--dry-run` counts instead, in a read-only transaction. The SQL is in
//! [`sql`], the connection in [`target`], the file removal in [`files`].

pub mod files;
pub mod sql;
pub mod target;
/// The timer's units are installer planning: they live in the plan.
pub use crate::plan::retention_timer as units;

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;

use crate::host::{Cmd, Runner};
use sql::Policy;
use target::{Dialect, Target};

pub use crate::plan::retention_timer::{PROGRAM, SERVICE_UNIT, TIMER_UNIT};
/// Posts per transaction (Mattermost's own retention job deletes 3000 at a time).
pub const DEFAULT_BATCH: u32 = 5000;
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("{}: {problem}", path.display())]
    Config { path: PathBuf, problem: String },
    #[error("could not run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} failed ({status}) on {database}: {stderr_tail}")]
    Sql {
        program: String,
        status: String,
        database: String,
        stderr_tail: String,
    },
    #[error("cannot write the password file for the database client in {}: {source}", dir.display())]
    PasswordFile {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Protocol(String),
}

impl RetentionError {
    /// What to do about it.
    pub fn fix(&self) -> &'static str {
        match self {
            Self::Config { .. } => {
                "pass --config with the path of Mattermost's config.json (default: the one of the saved install)"
            }
            Self::Spawn { .. } => {
                "install the database client: postgresql-client, or mariadb-client / default-mysql-client"
            }
            Self::Sql { .. } => {
                "check that the database is running and that config.json's DataSource still logs in; nothing was deleted by the failed transaction"
            }
            Self::PasswordFile { .. } => {
                "make the temporary directory ($TMPDIR, or /tmp) writable for the user the job runs as"
            }
            Self::Protocol(_) => "run again with --dry-run to see what the database returns",
        }
    }
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub days: u32,
    pub keep_pinned: bool,
    pub batch_size: u32,
    pub dry_run: bool,
    /// "Now", epoch milliseconds.
    pub now_ms: i64,
}

impl Options {
    pub fn policy(&self) -> Policy {
        Policy {
            cutoff_ms: self.now_ms - i64::from(self.days) * DAY_MS,
            keep_pinned: self.keep_pinned,
        }
    }
}

/// Rows deleted (or, in a dry run, that would be).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub posts: u64,
    pub reactions: u64,
    pub file_infos: u64,
    /// Files on disk (originals, thumbnails, previews).
    pub files: u64,
    pub threads: u64,
    pub thread_memberships: u64,
    /// `flagged_post` preferences ("saved posts").
    pub saved_posts: u64,
}

impl Counts {
    fn add(&mut self, o: &Self) {
        self.posts += o.posts;
        self.reactions += o.reactions;
        self.file_infos += o.file_infos;
        self.files += o.files;
        self.threads += o.threads;
        self.thread_memberships += o.thread_memberships;
        self.saved_posts += o.saved_posts;
    }

    fn set(&mut self, name: &str, n: u64) -> bool {
        let slot = match name {
            "posts" => &mut self.posts,
            "reactions" => &mut self.reactions,
            "file_infos" => &mut self.file_infos,
            "threads" => &mut self.threads,
            "thread_memberships" => &mut self.thread_memberships,
            "saved_posts" => &mut self.saved_posts,
            _ => return false,
        };
        *slot = n;
        true
    }

    /// "12 posts, 3 reactions, ..." for the log.
    pub fn summary(&self) -> String {
        format!(
            "{} posts, {} reactions, {} file infos ({} files on disk), {} threads, {} thread memberships, {} saved-post preferences",
            self.posts,
            self.reactions,
            self.file_infos,
            self.files,
            self.threads,
            self.thread_memberships,
            self.saved_posts
        )
    }
}

/// What a run did (or would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub dry_run: bool,
    pub database: String,
    pub days: u32,
    pub keep_pinned: bool,
    pub cutoff_ms: i64,
    /// The cutoff as an RFC 3339 UTC time.
    pub cutoff: String,
    /// Deleted; in a dry run, what would be deleted.
    pub deleted: Counts,
    /// Old pinned posts left alone (dry run only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_pinned: Option<u64>,
    /// Old thread roots left alone because a reply is kept (dry run only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_thread_roots: Option<u64>,
    pub batches: u32,
    /// Files the database listed that were already gone.
    pub files_missing: u64,
    /// Files that could not (or must not) be removed, with the reason.
    pub file_problems: Vec<String>,
}

fn rfc3339(ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Runs SQL through the client; returns the output rows split into fields.
fn exec(
    target: &Target,
    runner: &dyn Runner,
    sql: &str,
) -> Result<Vec<Vec<String>>, RetentionError> {
    let c = &target.connection;
    let programs: &[&str] = match c.dialect {
        Dialect::Postgres => &["psql"],
        Dialect::Mysql => &["mariadb", "mysql"],
    };
    let mut last_err = None;
    for program in programs {
        let (cmd, password_file) = c.client(program)?;
        let cmd: Cmd = cmd.stdin(sql.as_bytes().to_vec());
        let ran = runner.run(&cmd, None);
        drop(password_file);
        match ran {
            Ok(out) if out.success() => {
                let sep = if c.dialect == Dialect::Postgres {
                    '|'
                } else {
                    '\t'
                };
                return Ok(out
                    .stdout
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| l.split(sep).map(|f| f.trim().to_owned()).collect())
                    .collect());
            }
            Ok(out) => {
                let text = if out.stderr.trim().is_empty() {
                    &out.stdout
                } else {
                    &out.stderr
                };
                let lines: Vec<&str> = text.trim_end().lines().collect();
                let tail = lines[lines.len().saturating_sub(6)..].join("\n");
                return Err(RetentionError::Sql {
                    program: (*program).to_owned(),
                    status: out
                        .code
                        .map_or_else(|| "killed by a signal".into(), |n| format!("exit code {n}")),
                    database: c.describe(),
                    stderr_tail: tail.replace(c.password(), "********"),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                last_err = Some(RetentionError::Spawn {
                    program: (*program).to_owned(),
                    source: e,
                });
            }
            Err(e) => {
                return Err(RetentionError::Spawn {
                    program: (*program).to_owned(),
                    source: e,
                });
            }
        }
    }
    Err(last_err.unwrap_or_else(|| RetentionError::Protocol("no database client".into())))
}

fn unhex(s: &str) -> Result<String, RetentionError> {
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    bytes
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| {
            RetentionError::Protocol(format!("a file path is not hex-encoded UTF-8: {s:?}"))
        })
}

/// Counts and file paths from the output rows.
/// What one client run printed: counts, other named numbers, file paths, and
/// whether the transaction committed.
struct Parsed {
    counts: Counts,
    extra: Vec<(String, u64)>,
    paths: Vec<String>,
    committed: bool,
}

fn parse(rows: &[Vec<String>]) -> Result<Parsed, RetentionError> {
    let mut counts = Counts::default();
    let mut extra = Vec::new();
    let mut paths = Vec::new();
    let mut file_rows = 0u64;
    let mut saw_file_infos = false;
    let mut committed = false;
    for row in rows {
        match row.first().map(String::as_str) {
            Some("count") => {
                let (Some(name), Some(n)) =
                    (row.get(1), row.get(2).and_then(|n| n.parse::<u64>().ok()))
                else {
                    return Err(RetentionError::Protocol(format!("unexpected line {row:?}")));
                };
                saw_file_infos |= name == "file_infos";
                if !counts.set(name, n) {
                    extra.push((name.clone(), n));
                }
            }
            Some("file") => {
                file_rows += 1;
                for h in row.iter().skip(1) {
                    let p = unhex(h)?;
                    if !p.is_empty() {
                        paths.push(p);
                    }
                }
            }
            Some("committed") => committed = true,
            _ => return Err(RetentionError::Protocol(format!("unexpected line {row:?}"))),
        }
    }
    if !saw_file_infos {
        counts.file_infos = file_rows;
    }
    Ok(Parsed {
        counts,
        extra,
        paths,
        committed,
    })
}

/// The whole job. `log` receives one line per event worth keeping (the CLI sends
/// them to stdout, i.e. the journal, and to the log file).
pub fn run(
    target: &Target,
    opts: &Options,
    runner: &dyn Runner,
    log: &mut dyn FnMut(&str),
) -> Result<Report, RetentionError> {
    let policy = opts.policy();
    let mut report = Report {
        dry_run: opts.dry_run,
        database: target.connection.describe(),
        days: opts.days,
        keep_pinned: opts.keep_pinned,
        cutoff_ms: policy.cutoff_ms,
        cutoff: rfc3339(policy.cutoff_ms),
        deleted: Counts::default(),
        kept_pinned: None,
        kept_thread_roots: None,
        batches: 0,
        files_missing: 0,
        file_problems: Vec::new(),
    };
    let what = format!(
        "posts created before {} ({} days{}) in {}, files in {}",
        report.cutoff,
        opts.days,
        if opts.keep_pinned {
            ", pinned posts kept"
        } else {
            ""
        },
        report.database,
        target.files.display()
    );
    if opts.dry_run {
        count(target, &policy, runner, &mut report)?;
        log(&format!(
            "dry run: {what}: would delete {}; nothing was changed",
            report.deleted.summary()
        ));
    } else {
        delete(
            target,
            &policy,
            opts.batch_size.max(1),
            runner,
            &mut report,
            log,
        )?;
        log(&format!(
            "{what}: deleted {} in {} transaction{}{}",
            report.deleted.summary(),
            report.batches,
            if report.batches == 1 { "" } else { "s" },
            if report.files_missing > 0 {
                format!("; {} listed files were already gone", report.files_missing)
            } else {
                String::new()
            }
        ));
    }
    Ok(report)
}

/// The dry run: counts in one read-only snapshot, files checked on disk.
fn count(
    target: &Target,
    policy: &Policy,
    runner: &dyn Runner,
    report: &mut Report,
) -> Result<(), RetentionError> {
    let rows = exec(
        target,
        runner,
        &sql::dry_run(target.connection.dialect, policy),
    )?;
    let Parsed {
        mut counts,
        extra,
        paths,
        ..
    } = parse(&rows)?;
    for p in &paths {
        match files::resolve(&target.files, p) {
            Ok(full) if std::fs::symlink_metadata(&full).is_ok() => counts.files += 1,
            Ok(_) => report.files_missing += 1,
            Err(why) => report.file_problems.push(why),
        }
    }
    let get = |name: &str| extra.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
    report.kept_pinned = get("kept_pinned");
    report.kept_thread_roots = get("kept_thread_roots");
    report.deleted = counts;
    Ok(())
}

/// Batches until one is short: each one transaction, its files removed once it
/// committed.
fn delete(
    target: &Target,
    policy: &Policy,
    limit: u32,
    runner: &dyn Runner,
    report: &mut Report,
    log: &mut dyn FnMut(&str),
) -> Result<(), RetentionError> {
    let d = target.connection.dialect;
    loop {
        let rows = exec(target, runner, &sql::delete_batch(d, policy, limit))?;
        let Parsed {
            mut counts,
            paths,
            committed,
            ..
        } = parse(&rows)?;
        if !committed {
            return Err(RetentionError::Protocol(
                "the transaction did not report its commit; no file was removed".into(),
            ));
        }
        report.batches += 1;
        // Only now that the rows are gone for good: the files.
        for p in &paths {
            match files::remove(&target.files, p) {
                files::Removal::Removed => counts.files += 1,
                files::Removal::Missing => report.files_missing += 1,
                files::Removal::Refused(why) | files::Removal::Failed(why) => {
                    log(&format!("file not removed: {why}"));
                    report.file_problems.push(why);
                }
            }
        }
        if counts.posts > 0 {
            log(&format!(
                "batch {}: deleted {}",
                report.batches,
                counts.summary()
            ));
        }
        report.deleted.add(&counts);
        if counts.posts < u64::from(limit) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Output;
    use std::fmt::Write as _;
    use std::sync::Mutex;

    /// Answers every client run with the next scripted output; records the commands.
    struct Script {
        outputs: Mutex<Vec<Output>>,
        seen: Mutex<Vec<Cmd>>,
    }

    impl Runner for Script {
        fn run(&self, cmd: &Cmd, _: Option<&mut dyn FnMut(&str)>) -> std::io::Result<Output> {
            self.seen.lock().unwrap().push(cmd.clone());
            let mut o = self.outputs.lock().unwrap();
            Ok(if o.is_empty() {
                Output::default()
            } else {
                o.remove(0)
            })
        }
    }

    fn ok(stdout: &str) -> Output {
        Output {
            code: Some(0),
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    fn hexs(s: &str) -> String {
        s.bytes().fold(String::new(), |mut o, b| {
            let _ = write!(o, "{b:02x}");
            o
        })
    }

    fn target(dir: &std::path::Path) -> Target {
        Target {
            connection: target::parse_postgres(
                "postgres://mm:s3cret-pw@localhost:5432/mm?sslmode=disable",
            )
            .unwrap(),
            files: dir.to_owned(),
        }
    }

    fn opts(dry_run: bool, batch: u32) -> Options {
        Options {
            days: 30,
            keep_pinned: true,
            batch_size: batch,
            dry_run,
            now_ms: 1_800_000_000_000,
        }
    }

    #[test]
    fn batches_until_a_short_one_and_removes_files_after_each_commit() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/1.png"), b"x").unwrap();
        let batch1 = format!(
            "count|reactions|2\ncount|thread_memberships|1\ncount|threads|1\ncount|saved_posts|1\nfile|{}|{}|\ncount|posts|2\ncommitted\n",
            hexs("a/1.png"),
            hexs("a/1_thumb.png")
        );
        let script = Script {
            outputs: Mutex::new(vec![
                ok(&batch1),
                ok("count|reactions|0\ncount|posts|1\ncommitted\n"),
            ]),
            seen: Mutex::new(Vec::new()),
        };
        let mut lines = Vec::new();
        let r = run(&target(dir.path()), &opts(false, 2), &script, &mut |l| {
            lines.push(l.to_owned());
        })
        .unwrap();
        assert_eq!(r.batches, 2);
        assert_eq!(r.deleted.posts, 3);
        assert_eq!(r.deleted.file_infos, 1);
        assert_eq!(r.deleted.files, 1);
        assert_eq!(r.files_missing, 1, "the thumbnail was not there");
        assert!(!dir.path().join("a/1.png").exists());
        assert_eq!(r.cutoff_ms, 1_800_000_000_000 - 30 * DAY_MS);
        let seen = script.seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        for c in seen.iter() {
            assert!(!c.display().contains("s3cret-pw"));
            assert!(String::from_utf8_lossy(c.stdin.as_ref().unwrap()).contains("LIMIT 2"));
        }
        assert!(
            lines.last().unwrap().contains("deleted 3 posts"),
            "{lines:?}"
        );
    }

    #[test]
    fn nothing_is_removed_without_the_commit_marker() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"x").unwrap();
        let script = Script {
            outputs: Mutex::new(vec![ok(&format!("file|{}||\ncount|posts|1\n", hexs("f")))]),
            seen: Mutex::new(Vec::new()),
        };
        let err = run(&target(dir.path()), &opts(false, 10), &script, &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("commit"), "{err}");
        assert!(dir.path().join("f").exists());
    }

    #[test]
    fn a_failed_transaction_reports_the_client_error_without_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let script = Script {
            outputs: Mutex::new(vec![Output {
                code: Some(3),
                stdout: String::new(),
                stderr: "psql: error: password s3cret-pw rejected".into(),
            }]),
            seen: Mutex::new(Vec::new()),
        };
        let err = run(&target(dir.path()), &opts(false, 10), &script, &mut |_| {}).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("psql failed (exit code 3)"), "{text}");
        assert!(!text.contains("s3cret-pw"), "{text}");
    }

    #[test]
    fn dry_run_counts_files_that_exist() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("here"), b"x").unwrap();
        let out = format!(
            "count|posts|4\ncount|reactions|1\ncount|file_infos|2\ncount|threads|0\ncount|thread_memberships|0\ncount|saved_posts|1\ncount|kept_pinned|2\ncount|kept_thread_roots|1\nfile|{}||\nfile|{}||\n",
            hexs("here"),
            hexs("gone")
        );
        let script = Script {
            outputs: Mutex::new(vec![ok(&out)]),
            seen: Mutex::new(Vec::new()),
        };
        let r = run(&target(dir.path()), &opts(true, 10), &script, &mut |_| {}).unwrap();
        assert_eq!(r.deleted.posts, 4);
        assert_eq!(r.deleted.files, 1);
        assert_eq!(r.files_missing, 1);
        assert_eq!((r.kept_pinned, r.kept_thread_roots), (Some(2), Some(1)));
        assert!(dir.path().join("here").exists());
        let sql = String::from_utf8(script.seen.lock().unwrap()[0].stdin.clone().unwrap()).unwrap();
        assert!(sql.contains("READ ONLY") && !sql.contains("DELETE"));
    }
}
