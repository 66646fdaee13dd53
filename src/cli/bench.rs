//! `mattermost-setup bench-download --answers FILE [--unpack DIR]` — a benchmark hook,
//! hidden from `--help`, for `benches/run.sh` (see benches/README.md): the install's
//! download phase alone (the same `fetch` an install runs: GET, SHA-256, write, fsync,
//! into /var/cache/mattermost-setup), then optionally the same unpack into DIR. Prints
//! one JSON object: seconds of each part and the process's peak RSS (VmHWM, KiB) during
//! each (the peak is reset between them). Installs nothing and changes no answers;
//! the verified tarball stays in the cache, as after an install's download.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use super::Outcome;
use crate::events;
use crate::phases::mattermost::{fetch, unpack};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The answers file (JSON): its release and download_base_url (or tarball) are used.
    #[arg(long, value_name = "FILE")]
    pub answers: PathBuf,
    /// Also unpack the tarball into this (absolute) directory, emptied first.
    #[arg(long, value_name = "DIR")]
    pub unpack: Option<PathBuf>,
}

/// `VmHWM` of this process in KiB (0 when /proc says nothing).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Resets the peak RSS to the current RSS (`clear_refs` 5, Linux 4.0+).
fn reset_peak_rss() {
    let _ = crate::host::local::write(Path::new("/proc/self/clear_refs"), b"5");
}

pub fn run(args: &Args) -> Outcome {
    let host = super::read_only_host("bench-download", events::discard());
    let (_, plan) = match super::answers_and_plan(&args.answers, &host) {
        Ok(x) => x,
        Err(out) => return out,
    };
    if let Some(dir) = &args.unpack {
        if !dir.is_absolute() {
            return super::refuse(
                &host,
                "bench-download: --unpack wants an absolute directory",
            );
        }
    }
    let cancel = crate::engine::Cancel::default();
    reset_peak_rss();
    let started = Instant::now();
    let tarball = match fetch::fetch(&host, &plan.release, &cancel) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bench-download: {e}");
            return Outcome::with_log(ExitCode::FAILURE, &host);
        }
    };
    let download_s = started.elapsed().as_secs_f64();
    let download_hwm = peak_rss_kib();
    let bytes = std::fs::metadata(&tarball).map_or(0, |m| m.len());
    let mut report = serde_json::json!({
        "tarball": tarball,
        "bytes": bytes,
        "download_s": download_s,
        "download_hwm_kib": download_hwm,
    });
    if let Some(dir) = &args.unpack {
        reset_peak_rss();
        let started = Instant::now();
        // The host maps box paths: an absolute directory is the same on the box.
        let dir = std::env::current_dir().map_or_else(|_| dir.clone(), |cwd| cwd.join(dir));
        if let Err(e) = unpack::unpack(&host, &tarball, &dir) {
            eprintln!("bench-download: {}", e.cause);
            return Outcome::with_log(ExitCode::FAILURE, &host);
        }
        report["unpack_s"] = started.elapsed().as_secs_f64().into();
        report["unpack_hwm_kib"] = peak_rss_kib().into();
    }
    println!("{report}");
    Outcome::with_log(ExitCode::SUCCESS, &host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_rss_is_read_and_reset() {
        let before = peak_rss_kib();
        assert!(before > 0, "VmHWM missing from /proc/self/status");
        // 64 MiB touched: the peak grows past what it was.
        // black_box: in a release build an unused buffer is optimised away.
        let big = std::hint::black_box(vec![1u8; 64 << 20]);
        assert_eq!(std::hint::black_box(&big)[(64 << 20) - 1], 1);
        let grown = peak_rss_kib();
        assert!(grown >= before + 60 * 1024, "{before} -> {grown}");
        drop(big);
        reset_peak_rss();
        let reset = peak_rss_kib();
        assert!(reset < grown, "the peak was not reset: {grown} -> {reset}");
    }
}
