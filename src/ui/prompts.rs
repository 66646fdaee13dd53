//! The plain wizard (placeholder while it is written).

use std::process::ExitCode;

use crate::cli::Outcome;
use crate::ui::tui::draft::Prefill;

pub fn run(_prefill: Prefill) -> Outcome {
    eprintln!("{}", crate::cli::wizard::UNATTENDED_HINT);
    Outcome {
        code: ExitCode::from(2),
        log: None,
    }
}
