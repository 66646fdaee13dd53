//! Front ends. They only render engine events.

pub mod plain;
pub mod prompts;
pub mod tui;
