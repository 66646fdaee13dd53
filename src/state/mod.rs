//! What the tool remembers on the box, under /var/lib/mattermost-setup: a journal of
//! phase results (so an interrupted run is recognised and finished), an ownership
//! record of everything it created (so uninstall removes only that, and a managed
//! file edited by hand can be told apart from one the plan changed), and the release
//! installed here (a fact of the box: only `upgrade` moves it).
//!
//! Bookkeeping is never optional: a failed write fails the run, and a damaged record
//! stops the run instead of being replaced by an empty one.

pub mod installed;
pub mod journal;
pub mod ownership;
pub mod steps;

use std::path::PathBuf;

pub use journal::Journal;
pub use ownership::Ownership;

use crate::host::HostError;

/// The tool's state directory.
pub const STATE_DIR: &str = "/var/lib/mattermost-setup";

/// Why the tool's own records cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "the record {} is damaged ({reason}); it was left as it is and nothing was changed",
        path.display()
    )]
    Damaged {
        path: PathBuf,
        reason: String,
        /// The version the run before replaced, when there is one.
        previous: Option<PathBuf>,
    },
    #[error("{0}")]
    Write(#[from] HostError),
}

impl StateError {
    /// What the operator can do about it.
    pub fn way_out(&self) -> String {
        match self {
            Self::Damaged { path, previous, .. } => {
                let p = path.display();
                let restore = previous.as_ref().map_or_else(String::new, |prev| {
                    format!(
                        "restore the copy the run before kept (`cp {} {p}`), ",
                        prev.display()
                    )
                });
                format!(
                    "{restore}or repair the JSON in {p} by hand; moving it aside makes the tool forget \
                     what it created (uninstall would then keep those things)"
                )
            }
            Self::Write(_) => format!(
                "the tool's records under {STATE_DIR} must be writable: check free space, \
                 read-only mounts and what stands at that path, then run the same command again"
            ),
        }
    }
}

impl From<StateError> for crate::vocab::PhaseError {
    fn from(e: StateError) -> Self {
        let fix = e.way_out();
        Self::of(crate::vocab::ErrorKind::Records, e.to_string()).fix(fix)
    }
}

/// SHA-256 of bytes, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// Lower-case hex; sha2 0.11 digests do not format themselves.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Writes one of the tool's own records: pretty JSON, 0600, atomically, no backup.
pub fn save_json(
    host: &crate::host::Host,
    path: &str,
    value: &impl serde::Serialize,
) -> Result<(), HostError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| HostError::Io {
        action: "cannot encode",
        path: path.into(),
        source: std::io::Error::other(e),
    })?;
    text.push('\n');
    host.write_file_quiet(&crate::host::FileSpec {
        path: path.into(),
        content: text.into_bytes(),
        mode: 0o600,
        owner: None,
    })?;
    Ok(())
}

/// Removes one of the tool's own records; one that is not there is fine.
pub fn remove_record(host: &crate::host::Host, path: &str) -> Result<(), HostError> {
    match host.remove_file(std::path::Path::new(path)) {
        Err(source) if source.kind() != std::io::ErrorKind::NotFound => Err(HostError::Io {
            action: "cannot remove",
            path: path.into(),
            source,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod test_host {
    use crate::host::{Host, RunLog};

    /// A host rooted in a temp dir whose commands all fail (none may run).
    pub fn host(root: &std::path::Path) -> Host {
        struct NoCommands;
        impl crate::host::Runner for NoCommands {
            fn run(
                &self,
                cmd: &crate::host::Cmd,
                _: Option<&mut dyn FnMut(&str)>,
            ) -> std::io::Result<crate::host::Output> {
                Err(std::io::Error::other(format!(
                    "no commands here: {}",
                    cmd.program
                )))
            }
        }
        Host::new(
            root.to_owned(),
            RunLog::create(&root.join("log")),
            crate::events::discard(),
            Box::new(NoCommands),
        )
    }
}
