//! Read-only looks at the box that several phases share.

pub mod dns;
pub mod http;
pub mod ports;
pub mod system;
