//! Read-only looks at the box that several phases share.

// Networking is the host's (src/host/): re-exported where the probes were.
pub use crate::host::{dns, http};
pub mod ports;
pub mod system;
