//! `mattermost-setup backup [--to DIR] [--keep N]` and `backup --verify FILE`
//! (see [`crate::lifecycle::backup`]).

use std::path::PathBuf;
use std::process::ExitCode;

use super::Outcome;
use crate::host::Host;
use crate::lifecycle::backup;
use crate::ui::plain;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory for the archive (created 0700 when missing).
    #[arg(long, value_name = "DIR", default_value = backup::DEFAULT_DIR)]
    pub to: PathBuf,
    /// Keep only the newest N archives in that directory (older ones this tool made are deleted).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: Option<u32>,
    /// Check an archive against its manifest (every member's size and SHA-256); change nothing.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["to", "keep"])]
    pub verify: Option<PathBuf>,
    /// Echo every log line.
    #[arg(long, short)]
    pub verbose: bool,
}

pub fn run(args: &Args) -> Outcome {
    if let Some(file) = &args.verify {
        let host = super::read_only_host("backup-verify", plain::sink(args.verbose));
        return match backup::verify(file) {
            Ok(m) => {
                println!(
                    "✓ {}: {} members, {} bytes, each matches the manifest (Mattermost {}, {} database {}, taken {})",
                    file.display(),
                    m.members.len(),
                    m.total_bytes(),
                    m.mattermost_version.as_deref().unwrap_or("?"),
                    format!("{:?}", m.db_engine).to_lowercase(),
                    m.db_name,
                    m.created
                );
                Outcome::with_log(ExitCode::SUCCESS, &host)
            }
            Err(e) => {
                host.note_quiet(&e.to_string());
                println!("✗ {e}");
                Outcome::with_log(ExitCode::from(1), &host)
            }
        };
    }
    let host = Host::system(plain::sink(args.verbose));
    let saved = match super::installed_answers("backup", "; nothing to back up.", &host) {
        Ok(a) => a,
        Err(out) => return out,
    };
    if let Err(out) = super::single_box_only("backup", &saved, &host) {
        return out;
    }
    crate::engine::register_secrets(&host, &saved);
    let keep = args.keep.and_then(|n| usize::try_from(n).ok());
    match backup::backup(&host, &saved, &args.to, keep) {
        Ok(made) => {
            println!(
                "✓ backup {} ({} members, {} bytes; database dump, data, plugins, config.json and the answers).\n  \
                 It holds the database password and every uploaded file: it is 0600 (root only); keep it that way.\n  \
                 Check it any time: mattermost-setup backup --verify {}",
                made.archive.display(),
                made.manifest.members.len(),
                made.manifest.total_bytes(),
                made.archive.display()
            );
            for p in &made.removed_old {
                println!("  removed the older archive {}", p.display());
            }
            Outcome::with_log(ExitCode::SUCCESS, &host)
        }
        Err(e) => {
            println!("✗ backup: {}", e.cause);
            if let Some(f) = e.fix {
                println!("  fix: {f}");
            }
            Outcome::with_log(ExitCode::from(1), &host)
        }
    }
}
