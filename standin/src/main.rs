//! `bin/mattermost` of the stand-in: `version`, and `server` (the default).

use std::process::ExitCode;

use mattermost_standin::build_info;
use mattermost_standin::server::{self, ServerOptions};

const USAGE: &str = "Mattermost stand-in (test-only replacement for the Mattermost server)

Usage:
  mattermost [flags]
  mattermost [command]

Available Commands:
  server      Run the Mattermost server
  version     Display version information

Flags:
  -c, --config string   Configuration file to use.
  -h, --help            help for mattermost
";

/// Real subcommands the stand-in does not implement.
const UNSUPPORTED: &[&str] = &[
    "db",
    "jobserver",
    "export",
    "import",
    "config",
    "plugin",
    "user",
    "team",
    "channel",
    "command",
    "sampledata",
    "ldap",
    "license",
    "logs",
    "permissions",
    "reset",
    "roles",
    "test",
    "webhook",
    "integrity",
    "docs",
    "completion",
];

enum Cli {
    Help,
    Version,
    Server(ServerOptions),
}

fn parse(args: &[String]) -> Result<Cli, String> {
    let mut opts = ServerOptions::default();
    let mut command: Option<&str> = None;
    let mut help = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "-h" | "--help" => help = true,
            "-c" | "--config" => {
                i += 1;
                let v = args
                    .get(i)
                    .ok_or_else(|| format!("flag needs an argument: {a}"))?;
                opts.config = Some(v.clone());
            }
            // Deprecated flag of `version`, accepted and ignored.
            "--skip-server-start" => {}
            _ if a.starts_with("--config=") => {
                opts.config = Some(a["--config=".len()..].to_string());
            }
            _ if a.starts_with("-c") && a.len() > 2 && !a.starts_with("--") => {
                opts.config = Some(a[2..].trim_start_matches('=').to_string());
            }
            _ if a.starts_with('-') && a.len() > 1 => {
                return Err(format!("unknown flag: {a}"));
            }
            _ if command.is_none() => command = Some(a),
            // Extra positional arguments are ignored, as cobra does.
            _ => {}
        }
        i += 1;
    }
    if help {
        return Ok(Cli::Help);
    }
    match command {
        None | Some("server") => Ok(Cli::Server(opts)),
        Some("version") => Ok(Cli::Version),
        Some("help") => Ok(Cli::Help),
        Some(c) if UNSUPPORTED.contains(&c) => Err(format!(
            "command {c:?} is not supported by the Mattermost stand-in"
        )),
        Some(c) => Err(format!("unknown command {c:?} for \"mattermost\"")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args) {
        Ok(Cli::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Cli::Version) => {
            print!("{}", build_info::version_text());
            ExitCode::SUCCESS
        }
        Ok(Cli::Server(opts)) => {
            let code = server::run(&opts);
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Err(msg) => {
            eprintln!("Error: {msg}");
            eprintln!("Run 'mattermost --help' for usage.");
            ExitCode::FAILURE
        }
    }
}
