//! `mattermost-setup generate man DIR | completions SHELL | schema` (hidden): what the
//! packages ship beside the binary, generated from the binary's own definitions, so
//! the man pages and completions always match the clap definitions of this build and
//! an operator with only the static binary can generate them too.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;

use super::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, clap::Subcommand)]
pub enum What {
    /// Man pages (roff): mattermost-setup.1 and one mattermost-setup-COMMAND.1 per
    /// subcommand, written into DIR.
    Man {
        /// The directory to write the pages into (created if missing).
        dir: PathBuf,
    },
    /// The completion script for SHELL, on stdout.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The JSON Schema of the answers file, on stdout (assets/answers.schema.json).
    Schema,
}

pub fn run(args: &Args) -> Outcome {
    let result = match &args.what {
        What::Man { dir } => crate::host::local::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(Cli::command(), dir))
            .map_err(|e| format!("generate man: cannot write into {}: {e}", dir.display())),
        What::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut public_command(), "mattermost-setup", &mut out);
            write_stdout(&out)
        }
        What::Schema => write_stdout(crate::answers::schema_json().as_bytes()),
    };
    match result {
        Ok(()) => Outcome {
            code: ExitCode::SUCCESS,
            log: None,
        },
        Err(e) => {
            eprintln!("{e}");
            Outcome {
                code: ExitCode::FAILURE,
                log: None,
            }
        }
    }
}

/// The command line without its hidden subcommands (clap_complete would offer them).
fn public_command() -> clap::Command {
    let full = Cli::command();
    let mut cmd = clap::Command::new("mattermost-setup").version(super::VERSION);
    if let Some(about) = full.get_about() {
        cmd = cmd.about(about.clone());
    }
    for arg in full.get_arguments() {
        cmd = cmd.arg(arg.clone());
    }
    for sub in full.get_subcommands().filter(|s| !s.is_hide_set()) {
        cmd = cmd.subcommand(sub.clone());
    }
    cmd
}

fn write_stdout(bytes: &[u8]) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| format!("generate: cannot write to stdout: {e}"))
}
