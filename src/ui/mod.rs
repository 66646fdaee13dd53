//! Front ends. They only render engine events.

pub mod plain;
