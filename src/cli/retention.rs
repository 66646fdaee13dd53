//! `mattermost-setup retention [--dry-run] [--days N] [--config FILE] ...`: deletes
//! messages older than N days (see [`crate::retention`]). The housekeeping phase
//! installs a timer that runs it daily as the service user.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use super::Outcome;
use crate::host::SystemRunner;
use crate::retention::{self, Options, Report, target};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Count what would be deleted (posts, reactions, files, ...); change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Delete messages older than this many days [default: `retention_days` of the saved install].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub days: Option<u32>,
    /// Keep pinned posts [default: true, or `retention_keep_pinned` of the saved install].
    #[arg(long, value_name = "BOOL")]
    pub keep_pinned: Option<bool>,
    /// Mattermost's config.json: the database and the file store [default: the saved install's].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Posts deleted per transaction.
    #[arg(long, default_value_t = retention::DEFAULT_BATCH, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
    /// Append what was deleted to this file.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn append(log: Option<&Path>, line: &str) {
    let Some(path) = log else { return };
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now());
    let opened = crate::host::local::open_append(path, 0o640);
    match opened {
        Ok(mut f) => {
            let _ = writeln!(f, "{stamp} {line}");
        }
        Err(e) => eprintln!("retention: cannot write {}: {e}", path.display()),
    }
}

fn fail(msg: &str, fix: &str, log: Option<&Path>) -> Outcome {
    eprintln!("retention: {msg}\n  fix: {fix}");
    append(log, &format!("FAILED: {msg}"));
    Outcome {
        code: ExitCode::from(1),
        log: log.map(Path::to_owned),
    }
}

fn print_table(r: &Report) {
    let c = &r.deleted;
    let rows = [
        ("posts", c.posts),
        ("reactions", c.reactions),
        ("file infos", c.file_infos),
        ("files on disk", c.files),
        ("threads", c.threads),
        ("thread memberships", c.thread_memberships),
        ("saved-post preferences", c.saved_posts),
    ];
    println!(
        "Message retention{}: posts created before {} ({} days{})",
        if r.dry_run {
            " (dry run: nothing is deleted)"
        } else {
            ""
        },
        r.cutoff,
        r.days,
        if r.keep_pinned {
            ", pinned posts kept"
        } else {
            ""
        }
    );
    println!("  database: {}", r.database);
    println!("  {}:", if r.dry_run { "would delete" } else { "deleted" });
    for (name, n) in rows {
        println!("    {name:<24}{n:>10}");
    }
    if let (Some(p), Some(t)) = (r.kept_pinned, r.kept_thread_roots) {
        println!("  kept although older:");
        println!("    {:<24}{p:>10}", "pinned posts");
        println!("    {:<24}{t:>10}", "thread roots");
        println!("    (a thread root stays while a reply in it is newer or pinned)");
    }
    if r.files_missing > 0 {
        println!("  files listed but already gone: {}", r.files_missing);
    }
    for p in &r.file_problems {
        println!("  ! {p}");
    }
}

pub fn run(args: &Args) -> Outcome {
    let log = args.log.as_deref();
    let saved = if args.days.is_none() || args.config.is_none() || args.keep_pinned.is_none() {
        super::saved_answers()
    } else {
        None
    };
    let Some(days) = args
        .days
        .or_else(|| saved.as_ref().and_then(|a| a.retention_days))
    else {
        return fail(
            "no retention period: --days is missing and the saved install has no retention_days",
            "pass --days N (as root, the saved answers in /etc/mattermost-setup are used)",
            log,
        );
    };
    let keep_pinned = args
        .keep_pinned
        .or_else(|| saved.as_ref().map(|a| a.retention_keep_pinned))
        .unwrap_or(true);
    let config = args.config.clone().unwrap_or_else(|| {
        saved.as_ref().map_or_else(
            || PathBuf::from("/opt/mattermost/config/config.json"),
            crate::answers::Answers::config_json,
        )
    });
    let target = match target::load(&config) {
        Ok(t) => t,
        Err(e) => return fail(&e.to_string(), e.fix(), log),
    };
    let opts = Options {
        days,
        keep_pinned,
        batch_size: args.batch_size,
        dry_run: args.dry_run,
        now_ms: now_ms(),
    };
    let quiet = args.json;
    let mut sink = |line: &str| {
        if !quiet && !opts.dry_run {
            println!("{line}");
        }
        append(log, line);
    };
    match retention::run(&target, &opts, &SystemRunner, &mut sink) {
        Ok(report) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else if report.dry_run {
                print_table(&report);
            }
            let code = if report.file_problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "retention: {} file(s) could not be removed (listed above); the database rows are gone",
                    report.file_problems.len()
                );
                ExitCode::from(1)
            };
            Outcome {
                code,
                log: args.log.clone(),
            }
        }
        Err(e) => fail(&e.to_string(), e.fix(), log),
    }
}
