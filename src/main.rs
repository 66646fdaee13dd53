//! The binary: parse arguments, set up TLS, run, map the outcome to an exit code and
//! always say where the log is.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = mattermost_setup::cli::Cli::parse();
    // reqwest is built without a default crypto provider (ring builds much faster than
    // aws-lc); install ring once, before any client exists.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let outcome = mattermost_setup::cli::run(cli);
    if let Some(log) = outcome.log {
        eprintln!("log: {}", log.display());
    }
    outcome.code
}
