//! Front ends: they collect answers and render engine events; `cli` runs the engine
//! for them through a [`driver::Driver`].

pub mod driver;
pub mod plain;
pub mod prompts;
pub mod tui;
