//! `mattermost-setup restore FILE [--domain D] [--data-dir DIR] [--answers FILE] [--replace]`
//! (see [`crate::lifecycle::restore`]).

use std::path::PathBuf;
use std::process::ExitCode;

use super::Outcome;
use crate::engine::Cancel;
use crate::host::Host;
use crate::lifecycle::restore;
use crate::ui::plain;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive made by `mattermost-setup backup`.
    #[arg(value_name = "FILE")]
    pub archive: PathBuf,
    /// Serve the restored server under another domain (config.json's mentions of the
    /// old one are renamed).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Put the data directory somewhere else than the archive's answers say.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Other answers to change, as a JSON file of answers keys laid over the archive's
    /// (e.g. a new `db_password`, `proxy`, `tls`); secrets go here, never on the
    /// command line.
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// Replace the install on this box (a backup of it is taken first).
    #[arg(long)]
    pub replace: bool,
    /// Do not ask for confirmation of --replace (required when there is no terminal).
    #[arg(long, short)]
    pub yes: bool,
    /// Echo every log line.
    #[arg(long, short)]
    pub verbose: bool,
}

/// The changes laid over the archive's answers, as one JSON object.
fn changes(args: &Args) -> Result<String, String> {
    let mut over = match &args.answers {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--answers {}: cannot read: {e}", path.display()))?;
            let v: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| format!("--answers {}: not valid JSON: {e}", path.display()))?;
            if !v.is_object() {
                return Err(format!(
                    "--answers {}: must be a JSON object of answers keys",
                    path.display()
                ));
            }
            v
        }
        None => serde_json::json!({}),
    };
    if let Some(d) = &args.domain {
        over["domain"] = serde_json::Value::from(d.clone());
    }
    if let Some(d) = &args.data_dir {
        over["data_dir"] = serde_json::Value::from(d.to_string_lossy().into_owned());
    }
    Ok(over.to_string())
}

pub fn run(args: &Args) -> Outcome {
    let host = Host::system(plain::sink(args.verbose));
    host.note_quiet(&format!(
        "mattermost-setup {} restore {}",
        env!("CARGO_PKG_VERSION"),
        args.archive.display()
    ));
    let changes = match changes(args) {
        Ok(c) => c,
        Err(e) => return super::refuse(&host, &format!("restore: {e}")),
    };
    let archive = std::path::absolute(&args.archive).unwrap_or_else(|_| args.archive.clone());
    if args.replace && restore::unfinished(&host).is_none() {
        if let Err(out) = super::confirm(
            &host,
            "restore",
            "Replace the Mattermost install on this box with the archive? A backup of it is taken first. [y/N] ",
            args.yes,
        ) {
            return out;
        }
    }
    println!(
        "Restoring {} — log: {}",
        archive.display(),
        host.log_path().display()
    );
    match restore::restore(&host, &archive, &changes, args.replace, &Cancel::default()) {
        Ok(r) => {
            let url = crate::plan::Plan::new(&r.answers).map_or_else(
                |_| r.answers.site_url(),
                |p| crate::phases::tls::public_url_now(&host, &r.answers, &p),
            );
            println!(
                "\nRestored Mattermost {} from {} (taken {} on {}): {} members, {} bytes; {} phases verified.\n\
                 Mattermost is up at {url}.",
                r.manifest.mattermost_version.as_deref().unwrap_or("?"),
                archive.display(),
                r.manifest.created,
                r.manifest.domain,
                r.manifest.members.len(),
                r.manifest.total_bytes(),
                r.reports.len(),
            );
            if !r.renamed_keys.is_empty() {
                println!(
                    "config.json: {} -> {} in {}",
                    r.manifest.domain,
                    r.answers.domain,
                    r.renamed_keys.join(", ")
                );
            }
            if let Some(b) = &r.safety_backup {
                println!(
                    "The install it replaced was backed up first: {}",
                    b.display()
                );
            }
            Outcome::with_log(ExitCode::SUCCESS, &host)
        }
        Err(e) => {
            host.note_quiet(&format!("restore: {e}"));
            println!("✗ restore: {e}");
            if let Some(f) = e.fix() {
                println!("  fix: {f}");
            }
            if e.changed_nothing() {
                println!("  Nothing was changed.");
            }
            let code = if e.changed_nothing() { 2 } else { 1 };
            Outcome::with_log(ExitCode::from(code), &host)
        }
    }
}
