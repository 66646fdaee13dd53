//! Test-only stand-in for the Mattermost server.
//!
//! The real Mattermost release tarball cannot be downloaded on the machines
//! where the installer's tests run, so those tests install this stand-in
//! instead. It keeps the parts of the real server's contract an installer
//! depends on (CLI, config lookup and validation, database login with the
//! configured `DataSource`, directories, logging, `sd_notify`, ping and
//! WebSocket endpoints) and fails where the real server fails.

pub mod api;
pub mod build_info;
pub mod cluster;
pub mod config;
pub mod db;
pub mod dsn;
pub mod error;
pub mod filestore;
pub mod http;
pub mod license;
pub mod log;
pub mod notify;
pub mod paths;
pub mod pgtls;
pub mod pgwire;
pub mod server;
pub mod store;
pub mod util;
pub mod ws;

pub use error::{Error, Result};
