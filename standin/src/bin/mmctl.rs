//! `bin/mmctl` of the stand-in. For now only `mmctl version`.

use std::process::ExitCode;

use mattermost_standin::build_info;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let positional: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if positional.first() == Some(&"version") {
        println!(
            "mmctl:\nVersion:\t{v}\nBuiltDate:\t{d}\nCommitDate:\t{d}\nGitCommit:\t{h}\nGitTreeState:\tclean\nGoVersion:\tstandin\nCompiler:\trustc\nPlatform:\tlinux/amd64",
            v = build_info::VERSION,
            d = build_info::BUILD_DATE,
            h = build_info::BUILD_HASH,
        );
        return ExitCode::SUCCESS;
    }
    eprintln!("mmctl stand-in: command not supported yet");
    ExitCode::FAILURE
}
