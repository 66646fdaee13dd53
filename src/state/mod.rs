//! What the tool remembers on the box, under /var/lib/mattermost-setup: a journal of
//! phase results (so an interrupted run is recognised and finished) and an ownership
//! record of everything it created (so uninstall removes only that, and a managed
//! file edited by hand can be told apart from one the plan changed).

pub mod journal;
pub mod ownership;

pub use journal::Journal;
pub use ownership::Ownership;

/// The tool's state directory.
pub const STATE_DIR: &str = "/var/lib/mattermost-setup";

/// SHA-256 of bytes, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::phases::mattermost::fetch::hex(&sha2::Sha256::digest(bytes))
}

/// Writes one of the tool's own records: pretty JSON, 0600, atomically, no backup.
pub fn save_json(
    host: &crate::host::Host,
    path: &str,
    value: &impl serde::Serialize,
) -> Result<(), crate::host::HostError> {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    host.write_file_quiet(&crate::host::FileSpec {
        path: path.into(),
        content: text.into_bytes(),
        mode: 0o600,
        owner: None,
    })?;
    Ok(())
}
